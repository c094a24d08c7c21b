//! Profile memory: what recagent knows about each user, kept across sessions.
//!
//! A [`Memory`] is one SQLite database (write-ahead log, one transaction per
//! change) per catalog, at `$RECAGENT_HOME/memory/NAME.sqlite`. Each user,
//! named by a free string (a catalog user key, a server API key's user, a
//! name typed in the TUI), has a [`Profile`]:
//! - natural-language facts ("my kids are 6 and 9");
//! - items liked, disliked and seen, in the order they were recorded;
//! - genres liked and avoided.
//!
//! The agent reads the profile into its filters (seen and disliked items are
//! never recommended again, avoided genres are filtered out) and into the
//! ranker's history (liked items). Every write is committed before the call
//! returns, so a process killed right after a call keeps what it reported.
//!
//! rusqlite lives here and nowhere else; its types do not leave the crate.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use recagent_core::{Catalog, ItemId, ItemJson, genre_key};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Errors of profile memory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("profile memory {path}: {reason}")]
    Database { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The longest fact kept, in characters; longer text is cut.
pub const MAX_FACT_CHARS: usize = 500;

/// What the user said about an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemFeedback {
    Liked,
    Disliked,
    Seen,
}

/// What the user said about a genre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenrePreference {
    Liked,
    Avoided,
}

/// One remembered sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub id: i64,
    pub text: String,
}

/// Everything remembered about one user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub user: String,
    pub facts: Vec<Fact>,
    /// Oldest first: this is the order the ranker's history wants.
    pub liked: Vec<ItemId>,
    pub disliked: Vec<ItemId>,
    pub seen: Vec<ItemId>,
    /// Genre names as the user (or the catalog) wrote them.
    pub liked_genres: Vec<String>,
    pub avoided_genres: Vec<String>,
}

/// A profile as `profile show --json` and the server write it: items in
/// the shape of every item recagent writes ([`ItemJson`], `id` the
/// catalog's id), facts with the ids `forget` takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProfileJson {
    pub user: String,
    pub facts: Vec<Fact>,
    pub liked: Vec<ItemJson>,
    pub disliked: Vec<ItemJson>,
    pub seen: Vec<ItemJson>,
    pub liked_genres: Vec<String>,
    pub avoided_genres: Vec<String>,
}

impl Profile {
    /// The profile with its items looked up in `catalog`.
    pub fn to_json(&self, catalog: &Catalog) -> ProfileJson {
        ProfileJson {
            user: self.user.clone(),
            facts: self.facts.clone(),
            liked: ItemJson::list(catalog, &self.liked),
            disliked: ItemJson::list(catalog, &self.disliked),
            seen: ItemJson::list(catalog, &self.seen),
            liked_genres: self.liked_genres.clone(),
            avoided_genres: self.avoided_genres.clone(),
        }
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
            && self.liked.is_empty()
            && self.disliked.is_empty()
            && self.seen.is_empty()
            && self.liked_genres.is_empty()
            && self.avoided_genres.is_empty()
    }

    /// Items never to recommend again: seen and disliked.
    pub fn excluded(&self) -> Vec<ItemId> {
        let mut out: Vec<ItemId> = self.seen.iter().chain(&self.disliked).copied().collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// What to forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forget {
    Fact(i64),
    /// Every feedback on the item.
    Item(ItemId),
    Genre(String),
    /// The whole profile.
    All,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS facts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_user ON facts(user);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    item INTEGER NOT NULL,
    feedback TEXT NOT NULL,
    UNIQUE(user, item, feedback)
);
CREATE TABLE IF NOT EXISTS genres (
    user TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    preference TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY(user, key)
);
CREATE TABLE IF NOT EXISTS conversations (
    user TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
";

/// Profile memory of one catalog. Cheap to share behind an `Arc`; calls
/// from many threads are serialised on one connection, which is what SQLite
/// does with writers anyway.
#[derive(Debug)]
pub struct Memory {
    path: PathBuf,
    conn: Mutex<Connection>,
}

fn feedback_name(f: ItemFeedback) -> &'static str {
    match f {
        ItemFeedback::Liked => "liked",
        ItemFeedback::Disliked => "disliked",
        ItemFeedback::Seen => "seen",
    }
}

fn preference_name(p: GenrePreference) -> &'static str {
    match p {
        GenrePreference::Liked => "liked",
        GenrePreference::Avoided => "avoided",
    }
}

impl Memory {
    /// Opens (creating when missing) the database at `path`, in WAL mode.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::Database {
                path: path.to_owned(),
                reason: format!("cannot create its folder: {e}"),
            })?;
        }
        let conn = Connection::open(path).map_err(|e| Error::Database {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::init(path.to_owned(), conn)
    }

    /// A database that lives only as long as this value (tests, one-off runs).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|e| Error::Database {
            path: PathBuf::from(":memory:"),
            reason: e.to_string(),
        })?;
        Self::init(PathBuf::from(":memory:"), conn)
    }

    fn init(path: PathBuf, conn: Connection) -> Result<Self> {
        let fail = |e: rusqlite::Error| Error::Database {
            path: path.clone(),
            reason: format!("{e}; if the file is not a recagent memory, move it away"),
        };
        // WAL: readers never block the writer, and a commit is durable
        // against a killed process once the call returns. NORMAL sync is
        // enough for that (only a power loss can lose the last commits).
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        conn.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Self {
            path,
            conn: Mutex::new(conn),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut guard = self.conn.lock().map_err(|_| Error::Database {
            path: self.path.clone(),
            reason: "a thread panicked while writing; reopen the memory".into(),
        })?;
        f(&mut guard).map_err(|e| Error::Database {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }

    fn check_user(user: &str) -> Result<()> {
        if user.trim().is_empty() {
            return Err(Error::Invalid("a user name must not be empty".into()));
        }
        Ok(())
    }

    /// Everything remembered about `user` (empty for a new user).
    pub fn profile(&self, user: &str) -> Result<Profile> {
        self.with(|c| {
            let mut p = Profile {
                user: user.to_owned(),
                ..Profile::default()
            };
            let mut st =
                c.prepare_cached("SELECT id, text FROM facts WHERE user = ?1 ORDER BY id")?;
            p.facts = st
                .query_map([user], |r| {
                    Ok(Fact {
                        id: r.get(0)?,
                        text: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut st =
                c.prepare_cached("SELECT item, feedback FROM items WHERE user = ?1 ORDER BY seq")?;
            let rows = st.query_map([user], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (item, fb) = row?;
                match fb.as_str() {
                    "liked" => p.liked.push(ItemId(item)),
                    "disliked" => p.disliked.push(ItemId(item)),
                    _ => p.seen.push(ItemId(item)),
                }
            }
            let mut st = c.prepare_cached(
                "SELECT name, preference FROM genres WHERE user = ?1 ORDER BY seq",
            )?;
            let rows = st.query_map([user], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (name, pref) = row?;
                if pref == "liked" {
                    p.liked_genres.push(name);
                } else {
                    p.avoided_genres.push(name);
                }
            }
            Ok(p)
        })
    }

    /// Remembers a sentence; returns its id. Blank text is refused, long
    /// text is cut to [`MAX_FACT_CHARS`], and a fact already known is not
    /// stored twice.
    pub fn add_fact(&self, user: &str, text: &str) -> Result<i64> {
        Self::check_user(user)?;
        let text: String = text.trim().chars().take(MAX_FACT_CHARS).collect();
        if text.is_empty() {
            return Err(Error::Invalid("a fact must not be empty".into()));
        }
        self.with(|c| {
            let tx = c.transaction()?;
            let known: Option<i64> = tx
                .query_row(
                    "SELECT id FROM facts WHERE user = ?1 AND text = ?2",
                    params![user, text],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match known {
                Some(id) => id,
                None => {
                    tx.execute(
                        "INSERT INTO facts(user, text) VALUES (?1, ?2)",
                        params![user, text],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            tx.commit()?;
            Ok(id)
        })
    }

    /// Records feedback on items. Liking an item drops an earlier dislike and
    /// the other way round; seen is kept beside either.
    pub fn set_items(&self, user: &str, items: &[ItemId], feedback: ItemFeedback) -> Result<()> {
        Self::check_user(user)?;
        let name = feedback_name(feedback);
        self.with(|c| {
            let tx = c.transaction()?;
            for item in items {
                let opposite = match feedback {
                    ItemFeedback::Liked => Some("disliked"),
                    ItemFeedback::Disliked => Some("liked"),
                    ItemFeedback::Seen => None,
                };
                if let Some(o) = opposite {
                    tx.execute(
                        "DELETE FROM items WHERE user = ?1 AND item = ?2 AND feedback = ?3",
                        params![user, item.0, o],
                    )?;
                }
                tx.execute(
                    "INSERT OR IGNORE INTO items(user, item, feedback) VALUES (?1, ?2, ?3)",
                    params![user, item.0, name],
                )?;
            }
            tx.commit()
        })
    }

    /// Records a genre preference; a genre is liked or avoided, not both.
    pub fn set_genre(&self, user: &str, genre: &str, preference: GenrePreference) -> Result<()> {
        Self::check_user(user)?;
        let key = genre_key(genre);
        if key.is_empty() {
            return Err(Error::Invalid("a genre must not be empty".into()));
        }
        self.with(|c| {
            let tx = c.transaction()?;
            let seq: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM genres WHERE user = ?1",
                [user],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO genres(user, key, name, preference, seq) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(user, key) DO UPDATE SET name = ?3, preference = ?4, seq = ?5",
                params![user, key, genre.trim(), preference_name(preference), seq],
            )?;
            tx.commit()
        })
    }

    /// Forgets part or all of a profile; returns how many records went.
    pub fn forget(&self, user: &str, what: &Forget) -> Result<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = match what {
                Forget::Fact(id) => tx.execute(
                    "DELETE FROM facts WHERE user = ?1 AND id = ?2",
                    params![user, id],
                )?,
                Forget::Item(item) => tx.execute(
                    "DELETE FROM items WHERE user = ?1 AND item = ?2",
                    params![user, item.0],
                )?,
                Forget::Genre(g) => tx.execute(
                    "DELETE FROM genres WHERE user = ?1 AND key = ?2",
                    params![user, genre_key(g)],
                )?,
                Forget::All => {
                    tx.execute("DELETE FROM facts WHERE user = ?1", [user])?
                        + tx.execute("DELETE FROM items WHERE user = ?1", [user])?
                        + tx.execute("DELETE FROM genres WHERE user = ?1", [user])?
                        + tx.execute("DELETE FROM conversations WHERE user = ?1", [user])?
                }
            };
            tx.commit()?;
            Ok(n)
        })
    }

    /// The state of `user`'s conversation as the agent last saved it (an
    /// opaque JSON text), so that a conversation goes on across processes
    /// and requests. `None` when there is none.
    pub fn conversation(&self, user: &str) -> Result<Option<String>> {
        self.with(|c| {
            c.query_row(
                "SELECT state FROM conversations WHERE user = ?1",
                [user],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Saves `user`'s conversation state, replacing the last one.
    pub fn save_conversation(&self, user: &str, state: &str) -> Result<()> {
        Self::check_user(user)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO conversations (user, state) VALUES (?1, ?2)
                 ON CONFLICT(user) DO UPDATE SET state = excluded.state",
                params![user, state],
            )
            .map(|_| ())
        })
    }

    /// Ends `user`'s conversation (the profile stays); `true` when there
    /// was one.
    pub fn end_conversation(&self, user: &str) -> Result<bool> {
        self.with(|c| {
            c.execute("DELETE FROM conversations WHERE user = ?1", [user])
                .map(|n| n > 0)
        })
    }

    /// Every user with something remembered, sorted.
    pub fn users(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT user FROM facts UNION SELECT user FROM items UNION SELECT user FROM genres ORDER BY 1",
            )?;
            st.query_map([], |r| r.get(0))?.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_is_exclusive_and_ordered() {
        let m = Memory::in_memory().unwrap();
        m.set_items("ann", &[ItemId(3), ItemId(1)], ItemFeedback::Liked)
            .unwrap();
        m.set_items("ann", &[ItemId(3)], ItemFeedback::Disliked)
            .unwrap();
        m.set_items("ann", &[ItemId(3), ItemId(9)], ItemFeedback::Seen)
            .unwrap();
        let p = m.profile("ann").unwrap();
        assert_eq!(p.liked, vec![ItemId(1)]);
        assert_eq!(p.disliked, vec![ItemId(3)]);
        assert_eq!(p.seen, vec![ItemId(3), ItemId(9)]);
        assert_eq!(p.excluded(), vec![ItemId(3), ItemId(9)]);
        assert!(m.profile("bob").unwrap().is_empty());
    }

    #[test]
    fn a_conversation_is_saved_replaced_and_ended() {
        let m = Memory::in_memory().unwrap();
        assert_eq!(m.conversation("ann").unwrap(), None);
        m.save_conversation("ann", "{\"turns\":1}").unwrap();
        m.save_conversation("ann", "{\"turns\":2}").unwrap();
        m.save_conversation("bob", "{}").unwrap();
        assert_eq!(
            m.conversation("ann").unwrap().as_deref(),
            Some("{\"turns\":2}")
        );
        assert!(m.end_conversation("ann").unwrap());
        assert!(!m.end_conversation("ann").unwrap());
        assert_eq!(m.conversation("ann").unwrap(), None);
        m.forget("bob", &Forget::All).unwrap();
        assert_eq!(m.conversation("bob").unwrap(), None);
        assert!(m.save_conversation(" ", "{}").is_err());
    }

    #[test]
    fn genres_fold_and_flip() {
        let m = Memory::in_memory().unwrap();
        m.set_genre("ann", "Horror", GenrePreference::Liked)
            .unwrap();
        m.set_genre("ann", " horror ", GenrePreference::Avoided)
            .unwrap();
        m.set_genre("ann", "Comedy", GenrePreference::Liked)
            .unwrap();
        let p = m.profile("ann").unwrap();
        assert_eq!(p.avoided_genres, vec!["horror"]);
        assert_eq!(p.liked_genres, vec!["Comedy"]);
        assert_eq!(m.forget("ann", &Forget::Genre("HORROR".into())).unwrap(), 1);
        assert!(m.profile("ann").unwrap().avoided_genres.is_empty());
    }

    #[test]
    fn facts_dedup_cut_and_refuse_blank() {
        let m = Memory::in_memory().unwrap();
        let a = m.add_fact("ann", "  kids are 6 and 9 ").unwrap();
        assert_eq!(m.add_fact("ann", "kids are 6 and 9").unwrap(), a);
        assert!(m.add_fact("ann", "   ").is_err());
        assert!(m.add_fact(" ", "x").is_err());
        let long = "x".repeat(MAX_FACT_CHARS + 50);
        m.add_fact("ann", &long).unwrap();
        let p = m.profile("ann").unwrap();
        assert_eq!(p.facts.len(), 2);
        assert_eq!(p.facts[1].text.chars().count(), MAX_FACT_CHARS);
        assert_eq!(m.forget("ann", &Forget::All).unwrap(), 2);
        assert!(m.users().unwrap().is_empty());
    }
}
