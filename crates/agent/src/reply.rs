//! Every word of the answer the agent writes itself: the opening sentence
//! that says what the list is, the filters in words, the list as the
//! prompts show it, the notes (nothing found, a cold start, a film the
//! catalog lacks, a genre once avoided), the answers to social turns, and
//! the whole answer through `reply.j2`. Pure functions of the request, the
//! list and the profile; a model's own words are only its intro.

use crate::Recommendation;
use recagent_core::{Catalog, Constraint, ItemId};
use recagent_memory::Profile;
use recagent_reading::Social;

use crate::prompts::{ItemLine, Prompts, ReplyContext, fence};
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
/// The kind of film a constraint asks for, in words: "romantic comedy
/// films", "funny or scary film", "films".
fn kind_of_film(want: &Constraint, n: usize) -> String {
    let mut what = String::new();
    if !want.genres.is_empty() {
        // "romantic comedy films", not "romance comedy films".
        let g: Vec<String> = want
            .genres
            .iter()
            .enumerate()
            .map(|(i, g)| {
                if i + 1 < want.genres.len() && recagent_core::genre_key(g) == "romance" {
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
    if want.genres.is_empty() && !want.prefer_genres.is_empty() {
        let g: Vec<String> = want.prefer_genres.iter().map(|g| genre_word(g)).collect();
        what = format!("{} {what}", g.join(" or "));
    }
    what
}

/// The rest of a constraint in words, each a phrase: "with Tom Hanks",
/// "from the 90s", "without horror", "without Jim Carrey".
fn constraint_words(want: &Constraint) -> Vec<String> {
    let mut tail: Vec<String> = Vec::new();
    if !want.people.is_empty() {
        tail.push(format!("with {}", want.people.join(" and ")));
    }
    match (want.year_min, want.year_max) {
        (Some(a), Some(b)) if a == b => tail.push(format!("from {a}")),
        (Some(a), Some(b)) if a % 10 == 0 && b == a + 9 => tail.push(format!("from the {a}s")),
        (Some(a), Some(b)) => tail.push(format!("from {a} to {b}")),
        (Some(a), None) => tail.push(format!("from {a} on")),
        (None, Some(b)) => tail.push(format!("up to {b}")),
        (None, None) => {}
    }
    if !want.avoid_genres.is_empty() {
        let g: Vec<String> = want.avoid_genres.iter().map(|g| genre_noun(g)).collect();
        tail.push(format!("without {}", g.join(" or ")));
    }
    if !want.avoid_people.is_empty() {
        tail.push(format!("without {}", want.avoid_people.join(" or ")));
    }
    tail
}

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
    let what = kind_of_film(&request.want, n);
    let tail = constraint_words(&request.want);
    let mut line = format!("Here {count} {what}");
    if !tail.is_empty() {
        line.push(' ');
        line.push_str(&tail.join(" "));
    }
    if !request.want.genres.is_empty() && !request.want.prefer_genres.is_empty() {
        let g: Vec<String> = request
            .want
            .prefer_genres
            .iter()
            .map(|g| mood_word(g))
            .collect();
        line.push_str(&format!(", {} ones first", g.join(" or ")));
    }
    if !request.liked_titles.is_empty() {
        let t: Vec<String> = request
            .liked_titles
            .iter()
            .map(|t| recagent_core::display_title(t))
            .collect();
        let sep = if tail.is_empty() && request.want.prefer_genres.is_empty() {
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
    } else if request.want.genres.is_empty()
        && request.want.prefer_genres.is_empty()
        && request.want.people.is_empty()
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

/// The note of a turn that found nothing: never an error text, a question
/// the user can answer.
pub(crate) const NOTHING_FOUND: &str = "I could not find a film that fits all of that. Could you name a film you liked, or loosen a genre or the years?";

/// The note of a list drawn from popularity for a user with no history.
pub(crate) const COLD_START: &str = "I know nothing of your taste yet, so these are the most popular films that fit; tell me one you liked and I will go from there.";

/// The question the rules ask when the request is only a film the
/// catalog does not have.
pub(crate) fn unknown_film_question(words: &str) -> String {
    format!(
        "I don't know a film called “{words}”: it is not in this catalog. What did you like about it: a genre, an actor or director, or the story (a heist, a road trip, space)? Tell me and I will find films like that."
    )
}

/// What the answer says of a film the catalog lacks, where the model
/// described it and the list follows that description.
pub(crate) fn sketch_note(words: &str, sketch: &recagent_reading::check::FilmSketch) -> String {
    let mut parts = Vec::new();
    if !sketch.genres.is_empty() {
        parts.push(
            sketch
                .genres
                .iter()
                .map(|g| g.to_lowercase())
                .collect::<Vec<_>>()
                .join(" and "),
        );
    }
    if !sketch.keywords.is_empty() {
        parts.push(
            sketch
                .keywords
                .iter()
                .map(|k| format!("“{k}”"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    format!(
        "“{words}” is not in this catalog, so these follow what I know of it: {}. Is there a film like it you liked?",
        parts.join("; ")
    )
}

/// What the answer says of a film the catalog lacks, where the list
/// follows the rest of the words.
pub(crate) fn unknown_title_note(words: &str) -> String {
    format!(
        "I could not find a film called “{words}” in this catalog, so these follow the rest of your words. Is there another film you liked?"
    )
}

/// The answer to a turn that asks for no list: thanks, a greeting, or
/// what the agent knows about the user (`listed`: a list was shown).
pub(crate) fn social_answer(
    social: Social,
    listed: bool,
    profile: &Profile,
    catalog: &Catalog,
) -> String {
    match social {
        Social::Thanks if listed => {
            "You're welcome, enjoy the film! Shall I find something else, or more like one of them?"
                .into()
        }
        Social::Thanks => "You're welcome! What would you like to watch next?".into(),
        Social::Hello => {
            "Hello! What do you feel like watching: a genre, a decade, a mood, or a film you liked?"
                .into()
        }
        Social::Profile => {
            let c = catalog;
            let titles = |ids: &[ItemId]| -> String {
                let shown: Vec<String> = ids
                    .iter()
                    .rev()
                    .take(8)
                    .filter_map(|i| c.item(*i))
                    .map(|it| recagent_core::display_title(&it.title))
                    .collect();
                let more = ids.len().saturating_sub(shown.len());
                if more > 0 {
                    format!("{} and {more} more", shown.join(", "))
                } else {
                    shown.join(", ")
                }
            };
            let mut lines = Vec::new();
            if !profile.liked.is_empty() {
                lines.push(format!("- you liked {}", titles(&profile.liked)));
            }
            if !profile.disliked.is_empty() {
                lines.push(format!("- you did not like {}", titles(&profile.disliked)));
            }
            if !profile.seen.is_empty() {
                lines.push(format!(
                    "- you have seen {} film{} I will not suggest again",
                    profile.seen.len(),
                    if profile.seen.len() == 1 { "" } else { "s" }
                ));
            }
            if !profile.liked_genres.is_empty() {
                lines.push(format!("- you like {}", profile.liked_genres.join(", ")));
            }
            if !profile.avoided_genres.is_empty() {
                lines.push(format!(
                    "- you never want {}",
                    profile.avoided_genres.join(", ")
                ));
            }
            for f in profile.facts.iter().rev().take(5) {
                lines.push(format!("- {}", f.text));
            }
            if lines.is_empty() {
                "I know nothing about your taste yet. Which film did you like lately, or which genre do you never want?".into()
            } else {
                format!(
                    "Here is what I remember about you, and use to choose your films:\n{}\nWhat would you like to watch?",
                    lines.join("\n")
                )
            }
        }
    }
}

/// The note of a list that has a genre the user once said they never
/// want, because they asked for it now.
pub(crate) fn asked_despite_never(asked: &[String]) -> String {
    format!(
        "You once told me you never want {}; these have it because you asked. Say “{} is fine” and I will stop leaving it out.",
        asked.join(" or ").to_lowercase(),
        asked.first().map(|g| g.to_lowercase()).unwrap_or_default()
    )
}

/// The whole answer: `reply.j2` over the opening, the list and the notes;
/// a template that fails to render leaves a plain opening (logged).
pub(crate) fn answer(prompts: &Prompts, context: &ReplyContext) -> String {
    prompts.render("reply.j2", context).unwrap_or_else(|e| {
        tracing::warn!("reply.j2: {e}");
        "Here is what I found:".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use recagent_core::Constraint;

    fn plan(genres: &[&str], avoid: &[&str]) -> Plan {
        Plan {
            want: Constraint {
                genres: genres.iter().map(|g| (*g).to_owned()).collect(),
                avoid_genres: avoid.iter().map(|g| (*g).to_owned()).collect(),
                ..Constraint::default()
            },
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
            want: Constraint {
                prefer_genres: vec!["Crime".into()],
                ..Constraint::default()
            },
            ..Plan::default()
        };
        assert_eq!(says(&heist), "Here are 10 crime films matching “heist”:");
    }
}
