//! The bring-your-own catalog format: `items.jsonl`, `users.jsonl` and
//! `interactions.jsonl`, one JSON object a line. `docs/catalogs.md` is the
//! user-facing description; the row structs here are its source of truth.
//!
//! Loading checks every row before anything is built, and every error names
//! the file, the 1-based line and the field.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use recagent_core::{Catalog, Interaction, Item, ItemId, Person, Progress, User, UserId};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};

pub const ITEMS_FILE: &str = "items.jsonl";
pub const USERS_FILE: &str = "users.jsonl";
pub const INTERACTIONS_FILE: &str = "interactions.jsonl";

/// An id as the source wrote it: a JSON string or a non-negative integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Key(pub String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a non-empty string or a non-negative integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("id must not be empty"));
                }
                Ok(Key(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Key, E> {
                if v < 0 {
                    return Err(E::custom("id must not be negative"));
                }
                Ok(Key(v.to_string()))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

/// One line of `items.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRow {
    pub id: Key,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub relations: BTreeMap<String, Vec<String>>,
    /// What the item is about (a film's synopsis).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub overview: String,
    /// A one-line pitch.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tagline: String,
    /// Themes and plot elements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// `{"name": "Stanley Kubrick", "role": "director"}`; cast carry their
    /// billing `order` (0 first). Roles: director, writer, cast, composer,
    /// producer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Person>,
    /// How many people rated it where it comes from (a vote count): the
    /// popularity prior of a catalog without ratings; 0 or absent unknown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub votes: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One line of `users.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRow {
    pub id: Key,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupation: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
}

/// One line of `interactions.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionRow {
    pub user: Key,
    pub item: Key,
    pub rating: f32,
    #[serde(default)]
    pub timestamp: i64,
}

/// Reads a JSONL file row by row, calling `f(line_no, row)`.
fn read_rows<T: for<'de> Deserialize<'de>>(
    path: &Path,
    progress: &dyn Progress,
    mut f: impl FnMut(usize, T) -> Result<()>,
) -> Result<()> {
    let file = File::open(path).map_err(Error::io(path))?;
    let len = file.metadata().map(|m| m.len()).ok();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    progress.stage(&format!("reading {name}"), len);
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let mut line_no = 0usize;
    loop {
        line.clear();
        let n = match reader.read_line(&mut line) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(Error::Malformed {
                    file: path.to_owned(),
                    line: line_no + 1,
                    field: "(line)".into(),
                    reason: "not valid UTF-8".into(),
                });
            }
            Err(e) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source: e,
                });
            }
        };
        if n == 0 {
            break;
        }
        line_no += 1;
        progress.advance(n as u64);
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let row: T = match serde_path_to_error::deserialize(&mut de) {
            Ok(row) => row,
            Err(e) => {
                let field = e.path().to_string();
                let field = if field == "." || field == "?" {
                    "(row)".to_owned()
                } else {
                    field
                };
                return Err(Error::Malformed {
                    file: path.to_owned(),
                    line: line_no,
                    field,
                    reason: e.into_inner().to_string(),
                });
            }
        };
        // Trailing content after the object is as malformed as a bad field.
        if let Err(e) = de.end() {
            return Err(malformed(path, line_no, "(row)", e.to_string()));
        }
        f(line_no, row)?;
    }
    progress.finish();
    Ok(())
}

fn malformed(path: &Path, line: usize, field: &str, reason: impl Into<String>) -> Error {
    Error::Malformed {
        file: path.to_owned(),
        line,
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Loads a catalog from a folder in the JSONL format.
///
/// `items.jsonl` is required; `users.jsonl` and `interactions.jsonl` are
/// optional. Users that appear only in interactions are added without
/// attributes, but an interaction naming an unknown item is an error, since
/// that almost always means the two files disagree.
pub fn load_dir(dir: &Path, name: &str, progress: &dyn Progress) -> Result<Catalog> {
    let items_path = dir.join(ITEMS_FILE);
    if !items_path.is_file() {
        return Err(Error::MissingFile {
            path: items_path,
            hint: "a catalog folder needs at least items.jsonl (see docs/catalogs.md)".into(),
        });
    }
    let items = load_items(&items_path, progress)?;
    let (mut users, mut user_keys) = load_users(&dir.join(USERS_FILE), progress)?;
    let interactions = load_interactions(
        &dir.join(INTERACTIONS_FILE),
        &items,
        &mut users,
        &mut user_keys,
        progress,
    )?;
    Ok(Catalog::new(name, items, users, interactions)?)
}

/// `items.jsonl`: titles and genres must not be empty, ids not repeat.
fn load_items(items_path: &Path, progress: &dyn Progress) -> Result<Vec<Item>> {
    let mut items: Vec<Item> = Vec::new();
    let mut item_keys = HashMap::new();
    read_rows(items_path, progress, |line, row: ItemRow| {
        if row.title.trim().is_empty() {
            return Err(malformed(
                items_path,
                line,
                "title",
                "title must not be empty",
            ));
        }
        for (i, g) in row.genres.iter().enumerate() {
            if g.trim().is_empty() {
                return Err(malformed(
                    items_path,
                    line,
                    &format!("genres[{i}]"),
                    "genre must not be empty",
                ));
            }
        }
        let id = ItemId(
            u32::try_from(items.len()).map_err(|_| Error::Invalid("too many items".into()))?,
        );
        if let Some(prev) = item_keys.insert(row.id.0.clone(), line) {
            return Err(malformed(
                items_path,
                line,
                "id",
                format!("duplicate id {:?} (first on line {prev})", row.id.0),
            ));
        }
        items.push(Item {
            id,
            key: row.id.0,
            title: row.title,
            year: row.year,
            genres: row.genres,
            text: row.text,
            relations: row.relations,
            overview: row.overview,
            tagline: row.tagline,
            keywords: row.keywords,
            people: row.people,
            votes: row.votes,
        });
        Ok(())
    })?;
    Ok(items)
}

/// `users.jsonl` when there is one: the users, and their row by id.
fn load_users(
    users_path: &Path,
    progress: &dyn Progress,
) -> Result<(Vec<User>, HashMap<String, UserId>)> {
    let mut users: Vec<User> = Vec::new();
    let mut user_keys: HashMap<String, UserId> = HashMap::new();
    if users_path.is_file() {
        read_rows(users_path, progress, |line, row: UserRow| {
            let id = UserId(
                u32::try_from(users.len()).map_err(|_| Error::Invalid("too many users".into()))?,
            );
            if user_keys.insert(row.id.0.clone(), id).is_some() {
                return Err(malformed(
                    users_path,
                    line,
                    "id",
                    format!("duplicate id {:?}", row.id.0),
                ));
            }
            users.push(User {
                id,
                key: row.id.0,
                age: row.age,
                gender: row.gender,
                occupation: row.occupation,
                attrs: row.attrs,
            });
            Ok(())
        })?;
    }
    Ok((users, user_keys))
}

/// `interactions.jsonl` when there is one; a user seen only here joins
/// `users` with no attributes.
fn load_interactions(
    inter_path: &Path,
    items: &[Item],
    users: &mut Vec<User>,
    user_keys: &mut HashMap<String, UserId>,
    progress: &dyn Progress,
) -> Result<Vec<Interaction>> {
    let mut interactions = Vec::new();
    if inter_path.is_file() {
        let item_by_key: HashMap<&str, ItemId> =
            items.iter().map(|i| (i.key.as_str(), i.id)).collect();
        read_rows(inter_path, progress, |line, row: InteractionRow| {
            if !row.rating.is_finite() {
                return Err(malformed(
                    inter_path,
                    line,
                    "rating",
                    "rating must be a finite number",
                ));
            }
            let Some(&item) = item_by_key.get(row.item.0.as_str()) else {
                return Err(malformed(
                    inter_path,
                    line,
                    "item",
                    format!("unknown item id {:?}: not in items.jsonl", row.item.0),
                ));
            };
            let user = match user_keys.get(&row.user.0) {
                Some(&u) => u,
                None => {
                    let id = UserId(
                        u32::try_from(users.len())
                            .map_err(|_| Error::Invalid("too many users".into()))?,
                    );
                    user_keys.insert(row.user.0.clone(), id);
                    users.push(User {
                        id,
                        key: row.user.0,
                        ..User::default()
                    });
                    id
                }
            };
            interactions.push(Interaction {
                user,
                item,
                rating: row.rating,
                timestamp: row.timestamp,
            });
            Ok(())
        })?;
    }
    Ok(interactions)
}

/// Writes a catalog into `dir` (which must exist) in the JSONL format.
pub fn write_dir(catalog: &Catalog, dir: &Path, progress: &dyn Progress) -> Result<()> {
    let items = catalog.items().iter().map(|i| ItemRow {
        id: Key(i.key.clone()),
        title: i.title.clone(),
        year: i.year,
        genres: i.genres.clone(),
        text: i.text.clone(),
        relations: i.relations.clone(),
        overview: i.overview.clone(),
        tagline: i.tagline.clone(),
        keywords: i.keywords.clone(),
        people: i.people.clone(),
        votes: i.votes,
    });
    write_rows(
        &dir.join(ITEMS_FILE),
        catalog.items().len(),
        items,
        progress,
    )?;
    let users = catalog.users().iter().map(|u| UserRow {
        id: Key(u.key.clone()),
        age: u.age,
        gender: u.gender.clone(),
        occupation: u.occupation.clone(),
        attrs: u.attrs.clone(),
    });
    write_rows(
        &dir.join(USERS_FILE),
        catalog.users().len(),
        users,
        progress,
    )?;
    let inter = catalog.interactions().iter().map(|x| InteractionRow {
        user: Key(catalog.users()[x.user.index()].key.clone()),
        item: Key(catalog.items()[x.item.index()].key.clone()),
        rating: x.rating,
        timestamp: x.timestamp,
    });
    write_rows(
        &dir.join(INTERACTIONS_FILE),
        catalog.interactions().len(),
        inter,
        progress,
    )?;
    Ok(())
}

fn write_rows<T: Serialize>(
    path: &Path,
    total: usize,
    rows: impl Iterator<Item = T>,
    progress: &dyn Progress,
) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    progress.stage(&format!("writing {name}"), Some(total as u64));
    let file = File::create(path).map_err(Error::io(path))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut pending = 0u64;
    for row in rows {
        serde_json::to_writer(&mut w, &row).map_err(|e| Error::Io {
            path: path.to_owned(),
            source: e.into(),
        })?;
        w.write_all(b"\n").map_err(Error::io(path))?;
        pending += 1;
        if pending == 4096 {
            progress.advance(pending);
            pending = 0;
        }
    }
    progress.advance(pending);
    w.into_inner()
        .map_err(|e| Error::Io {
            path: path.to_owned(),
            source: e.into_error(),
        })?
        .sync_all()
        .map_err(Error::io(path))?;
    progress.finish();
    Ok(())
}
