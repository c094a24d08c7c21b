//! What the answer says besides the list: the opening sentence that says
//! what the list is, the filters in words, and the list as the prompts
//! show it. Pure functions of the request and the list.

use crate::Recommendation;
use crate::prompts::{ItemLine, fence};
use recagent_reading::Plan;

/// A genre as a word before "films": "animated", "crime", "sci-fi".
pub(crate) fn genre_word(g: &str) -> String {
    match recagent_core::genre_key(g).as_str() {
        "animation" => "animated".into(),
        "children's" | "childrens" | "children" => "children's".into(),
        "documentary" => "documentary".into(),
        other => other.to_owned(),
    }
}

/// A genre as what a list goes without: "animation", "kids' films".
pub(crate) fn genre_noun(g: &str) -> String {
    match recagent_core::genre_key(g).as_str() {
        "children's" | "childrens" | "children" => "kids' films".into(),
        "documentary" => "documentaries".into(),
        "musical" => "musicals".into(),
        "western" => "westerns".into(),
        "war" => "war films".into(),
        "thriller" => "thrillers".into(),
        "mystery" => "mysteries".into(),
        "film-noir" => "film noir".into(),
        other => other.to_owned(),
    }
}

/// A preferred genre as the mood it was likely asked as: "funny".
fn mood_word(g: &str) -> String {
    match recagent_core::genre_key(g).as_str() {
        "comedy" => "funny".into(),
        "horror" => "scary".into(),
        "romance" => "romantic".into(),
        "thriller" => "suspenseful".into(),
        "action" => "action-packed".into(),
        _ => genre_word(g),
    }
}

/// The sentence that says what the list is: "Here are 10 crime films from
/// 1980 on, like The Godfather:". A request the list had to be relaxed
/// for is described by the relaxation notes instead of its constraints.
/// `exact` is how many of the `n` items fit before anything was loosened.
pub(crate) fn opening(
    request: &Plan,
    relaxed: &[String],
    n: usize,
    exact: usize,
    cold: bool,
) -> String {
    let count = if n == 1 {
        "is one".to_owned()
    } else {
        format!("are {n}")
    };
    if !relaxed.is_empty() {
        return match exact {
            0 => format!("Nothing fit every part of that; here {count} that come close:"),
            1 => format!("Here {count}: the first fits exactly, the rest come close:"),
            e => format!("Here {count}: the first {e} fit exactly, the rest come close:"),
        };
    }
    let mut what = String::new();
    if !request.genres.is_empty() {
        // "romantic comedy films", not "romance comedy films".
        let g: Vec<String> = request
            .genres
            .iter()
            .enumerate()
            .map(|(i, g)| {
                if i + 1 < request.genres.len() && recagent_core::genre_key(g) == "romance" {
                    "romantic".to_owned()
                } else {
                    genre_word(g)
                }
            })
            .collect();
        what.push_str(&g.join(" "));
        what.push(' ');
    }
    what.push_str(if n == 1 { "film" } else { "films" });
    if request.genres.is_empty() && !request.prefer_genres.is_empty() {
        let g: Vec<String> = request
            .prefer_genres
            .iter()
            .map(|g| genre_word(g))
            .collect();
        what = format!("{} {what}", g.join(" or "));
    }
    let mut tail: Vec<String> = Vec::new();
    if !request.people.is_empty() {
        tail.push(format!("with {}", request.people.join(" and ")));
    }
    match (request.year_min, request.year_max) {
        (Some(a), Some(b)) if a == b => tail.push(format!("from {a}")),
        (Some(a), Some(b)) if a % 10 == 0 && b == a + 9 => tail.push(format!("from the {a}s")),
        (Some(a), Some(b)) => tail.push(format!("from {a} to {b}")),
        (Some(a), None) => tail.push(format!("from {a} on")),
        (None, Some(b)) => tail.push(format!("up to {b}")),
        (None, None) => {}
    }
    if !request.avoid_genres.is_empty() {
        let g: Vec<String> = request.avoid_genres.iter().map(|g| genre_noun(g)).collect();
        tail.push(format!("without {}", g.join(" or ")));
    }
    if !request.avoid_people.is_empty() {
        tail.push(format!("without {}", request.avoid_people.join(" or ")));
    }
    let mut line = format!("Here {count} {what}");
    if !tail.is_empty() {
        line.push(' ');
        line.push_str(&tail.join(" "));
    }
    if !request.genres.is_empty() && !request.prefer_genres.is_empty() {
        let g: Vec<String> = request.prefer_genres.iter().map(|g| mood_word(g)).collect();
        line.push_str(&format!(", {} ones first", g.join(" or ")));
    }
    if !request.liked_titles.is_empty() {
        let t: Vec<String> = request
            .liked_titles
            .iter()
            .map(|t| recagent_core::display_title(t))
            .collect();
        let sep = if tail.is_empty() && request.prefer_genres.is_empty() {
            " "
        } else {
            ", "
        };
        line.push_str(&format!("{sep}like {}", t.join(" and ")));
    } else if !request.intent.trim().is_empty() && relaxed.is_empty() {
        // The words searched (a theme, a plot word), as the list was
        // found by them.
        line.push_str(&format!(
            " matching \u{201c}{}\u{201d}",
            fence(request.intent.trim(), 60)
        ));
    } else if cold {
        line.push_str(" that many people liked");
    } else if request.genres.is_empty()
        && request.prefer_genres.is_empty()
        && request.people.is_empty()
        && request.intent.trim().is_empty()
    {
        line.push_str(" picked for you from what you watched");
    }
    line.push(':');
    line
}

pub(crate) fn item_lines(items: &[Recommendation]) -> Vec<ItemLine> {
    items
        .iter()
        .map(|r| ItemLine {
            title: fence(&r.title, 120),
            year: r.year,
            reason: r.reason.clone(),
        })
        .collect()
}

pub(crate) fn filter_words(f: &recagent_core::Filter) -> Vec<String> {
    let mut out = Vec::new();
    if !f.genres_any.is_empty() {
        out.push(f.genres_any.join(" or "));
    }
    match (f.year_min, f.year_max) {
        (Some(a), Some(b)) if a == b => out.push(format!("{a}")),
        (Some(a), Some(b)) => out.push(format!("{a}–{b}")),
        (Some(a), None) => out.push(format!("from {a}")),
        (None, Some(b)) => out.push(format!("up to {b}")),
        (None, None) => {}
    }
    if !f.genres_none.is_empty() {
        out.push(format!("no {}", f.genres_none.join(", no ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(genres: &[&str], avoid: &[&str]) -> Plan {
        Plan {
            genres: genres.iter().map(|g| (*g).to_owned()).collect(),
            avoid_genres: avoid.iter().map(|g| (*g).to_owned()).collect(),
            ..Plan::default()
        }
    }

    #[test]
    fn the_opening_reads_as_english() {
        let says = |p: &Plan| opening(p, &[], 10, 10, false);
        assert_eq!(
            says(&plan(&["Children"], &["Animation"])),
            "Here are 10 children's films without animation:"
        );
        assert_eq!(
            says(&plan(&["Romance"], &["Sci-Fi", "Children's"])),
            "Here are 10 romance films without sci-fi or kids' films:"
        );
        assert_eq!(
            says(&plan(&["Drama"], &["War"])),
            "Here are 10 drama films without war films:"
        );
        assert_eq!(
            says(&plan(&["Romance", "Comedy"], &["War"])),
            "Here are 10 romantic comedy films without war films:"
        );
        let heist = Plan {
            intent: "heist".into(),
            prefer_genres: vec!["Crime".into()],
            ..Plan::default()
        };
        assert_eq!(says(&heist), "Here are 10 crime films matching “heist”:");
    }
}
