//! Shared domain types of recagent.
//!
//! Everything else in the workspace speaks in these types: dense ids
//! ([`ItemId`], [`UserId`]), the catalog model ([`Item`], [`User`],
//! [`Interaction`], [`Catalog`]) and the labelled rows that the splits
//! produce ([`Labeled`], [`Episode`]). The crate does no IO of its own, so
//! that every other crate can depend on it without pulling in a runtime or a
//! file format; [`fsx`] only holds the std-only helpers that the IO crates
//! share (whole-file and whole-folder writes, elapsed micros, percentiles).
//!
//! Ids are dense `u32` indexes into the catalog's vectors. The id a data
//! source used (a MovieLens number, a SKU, a UUID) is kept as the `key`
//! string, and the catalog maps between the two.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

pub mod filter;
pub mod fsx;
pub mod funnel;
pub mod recall;
pub mod text;

pub use filter::{Constraint, Filter, YEAR_CEILING, YEAR_FLOOR};
pub use funnel::{Scored, Stage, StageTrace};
pub use recall::{SimilarHit, Source, TitleLink};
pub use text::{display_title, genre_key, person_key, words};

/// A dense index of an item in its [`Catalog`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ItemId(pub u32);

/// A dense index of a user in its [`Catalog`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UserId(pub u32);

impl ItemId {
    /// The index into [`Catalog::items`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl UserId {
    /// The index into [`Catalog::users`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One thing that can be recommended.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    /// The id the data source used.
    pub key: String,
    pub title: String,
    pub year: Option<u16>,
    pub genres: Vec<String>,
    /// Free text: a plot summary, a product description, LLM-written knowledge.
    pub text: String,
    /// Named relations to other entities, e.g. `director -> ["m.0abc"]`.
    pub relations: BTreeMap<String, Vec<String>>,
    /// What the item is about, from a real source (a film's synopsis).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub overview: String,
    /// A one-line pitch ("In space no one can hear you scream.").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tagline: String,
    /// Themes and plot elements ("heist", "road trip", "boxing").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Who made it and who is in it, cast in billing order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Person>,
    /// How many people rated it at its source (TMDB's vote count): a
    /// popularity prior for a catalog without ratings of its own; 0 unknown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub votes: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Item {
    /// The item's facts as one text for search and embeddings: tagline,
    /// overview and keywords, each where present.
    pub fn facts_text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for s in [&self.tagline, &self.overview] {
            if !s.trim().is_empty() {
                parts.push(s.trim().to_owned());
            }
        }
        if !self.keywords.is_empty() {
            parts.push(self.keywords.join(", "));
        }
        parts.join("\n")
    }

    /// People of `role`, in the order the source gave them.
    pub fn people_as(&self, role: Role) -> impl Iterator<Item = &Person> {
        self.people.iter().filter(move |p| p.role == role)
    }

    /// Whether the item credits the person whose folded name is `key`
    /// (see [`person_key`]) as its director, a writer, an actor or its
    /// composer: "a film with Tom Hanks" is not one he only produced.
    pub fn credits(&self, key: &str) -> bool {
        self.people
            .iter()
            .any(|p| p.role != Role::Producer && person_key(&p.name) == key)
    }
}

/// What a person did on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Director,
    Writer,
    Cast,
    Composer,
    Producer,
}

impl Role {
    /// The role as the JSONL format and reasons write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Director => "director",
            Role::Writer => "writer",
            Role::Cast => "cast",
            Role::Composer => "composer",
            Role::Producer => "producer",
        }
    }
}

/// A person credited on an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    pub role: Role,
    /// Billing order among the cast, 0 first; none for crew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u16>,
}

impl Person {
    pub fn new(name: impl Into<String>, role: Role, order: Option<u16>) -> Self {
        Self {
            name: name.into(),
            role,
            order,
        }
    }
}

/// One item as every JSON output writes it: `search --json`, `ask --json`,
/// the server's items and profiles, and evaluation episodes. `id` is the
/// catalog's own id ([`Item::key`]), never the dense [`ItemId`]; the title
/// is written as people write it ("The Godfather"). `score` and `reason`
/// appear where they apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemJson {
    pub id: String,
    pub title: String,
    pub year: Option<u16>,
    pub genres: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ItemJson {
    /// The item's catalog id, display title, year and genres.
    pub fn of(item: &Item) -> Self {
        Self {
            id: item.key.clone(),
            title: display_title(&item.title),
            year: item.year,
            genres: item.genres.clone(),
            score: None,
            reason: None,
        }
    }

    /// The same, for each id the catalog knows (unknown ids are skipped).
    pub fn list(catalog: &Catalog, ids: &[ItemId]) -> Vec<Self> {
        ids.iter()
            .filter_map(|&i| catalog.item(i))
            .map(Self::of)
            .collect()
    }

    pub fn with_score(mut self, score: f32) -> Self {
        self.score = Some(score);
        self
    }
}

/// Someone whose interactions are in the log.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// The id the data source used.
    pub key: String,
    pub age: Option<u16>,
    pub gender: Option<String>,
    pub occupation: Option<String>,
    /// Any other attribute, e.g. `zip`.
    pub attrs: BTreeMap<String, String>,
}

/// One rating of an item by a user.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub user: UserId,
    pub item: ItemId,
    pub rating: f32,
    /// Seconds since the Unix epoch; 0 where the source has no time.
    pub timestamp: i64,
}

/// An interaction with a binary label under the CTR protocol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Labeled {
    pub user: UserId,
    pub item: ItemId,
    pub label: bool,
    pub timestamp: i64,
}

/// A conversation episode: a user, the held-out item they should be led to,
/// the positives they had before it (oldest first), and every item they had
/// rated before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    pub user: UserId,
    pub target: ItemId,
    /// Liked before the target (rating ≥ 4), oldest first.
    pub history: Vec<ItemId>,
    /// Rated before the target, any rating, oldest first: what the user has
    /// seen, which no list may show.
    #[serde(default)]
    pub seen: Vec<ItemId>,
}

/// Errors of building a catalog from parts.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CatalogError {
    #[error("duplicate item key {key:?}")]
    DuplicateItem { key: String },
    #[error("duplicate user key {key:?}")]
    DuplicateUser { key: String },
    #[error("interaction {index} refers to {what} {id} but the catalog has only {len}")]
    DanglingId {
        index: usize,
        what: &'static str,
        id: u32,
        len: usize,
    },
    #[error("item at position {position} has id {id}; ids must equal positions")]
    IdMismatch { position: usize, id: u32 },
    #[error("the catalog has more than u32::MAX {what}")]
    TooLarge { what: &'static str },
}

/// Items, users and the interaction log, with key lookups.
///
/// **Invariant:** `items[i].id == ItemId(i)` and `users[u].id == UserId(u)`,
/// keys are unique, and every interaction points at an existing user and item.
/// [`Catalog::new`] checks this, so the rest of the code may index freely.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    name: String,
    items: Vec<Item>,
    users: Vec<User>,
    interactions: Vec<Interaction>,
    item_by_key: HashMap<String, ItemId>,
    user_by_key: HashMap<String, UserId>,
}

impl Catalog {
    /// Builds a catalog and checks its invariants.
    pub fn new(
        name: impl Into<String>,
        items: Vec<Item>,
        users: Vec<User>,
        interactions: Vec<Interaction>,
    ) -> Result<Self, CatalogError> {
        if u32::try_from(items.len()).is_err() {
            return Err(CatalogError::TooLarge { what: "items" });
        }
        if u32::try_from(users.len()).is_err() {
            return Err(CatalogError::TooLarge { what: "users" });
        }
        let mut item_by_key = HashMap::with_capacity(items.len());
        for (position, item) in items.iter().enumerate() {
            if item.id.index() != position {
                return Err(CatalogError::IdMismatch {
                    position,
                    id: item.id.0,
                });
            }
            if item_by_key.insert(item.key.clone(), item.id).is_some() {
                return Err(CatalogError::DuplicateItem {
                    key: item.key.clone(),
                });
            }
        }
        let mut user_by_key = HashMap::with_capacity(users.len());
        for (position, user) in users.iter().enumerate() {
            if user.id.index() != position {
                return Err(CatalogError::IdMismatch {
                    position,
                    id: user.id.0,
                });
            }
            if user_by_key.insert(user.key.clone(), user.id).is_some() {
                return Err(CatalogError::DuplicateUser {
                    key: user.key.clone(),
                });
            }
        }
        for (index, x) in interactions.iter().enumerate() {
            if x.item.index() >= items.len() {
                return Err(CatalogError::DanglingId {
                    index,
                    what: "item",
                    id: x.item.0,
                    len: items.len(),
                });
            }
            if x.user.index() >= users.len() {
                return Err(CatalogError::DanglingId {
                    index,
                    what: "user",
                    id: x.user.0,
                    len: users.len(),
                });
            }
        }
        Ok(Self {
            name: name.into(),
            items,
            users,
            interactions,
            item_by_key,
            user_by_key,
        })
    }

    /// The same catalog (name, users, interactions) with `items` in place
    /// of its items, checked like [`Catalog::new`]: for passes that
    /// enrich or clean items.
    pub fn with_items(&self, items: Vec<Item>) -> Result<Catalog, CatalogError> {
        Catalog::new(
            self.name.clone(),
            items,
            self.users.clone(),
            self.interactions.clone(),
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn items(&self) -> &[Item] {
        &self.items
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    pub fn interactions(&self) -> &[Interaction] {
        &self.interactions
    }

    pub fn item(&self, id: ItemId) -> Option<&Item> {
        self.items.get(id.index())
    }

    pub fn user(&self, id: UserId) -> Option<&User> {
        self.users.get(id.index())
    }

    pub fn item_by_key(&self, key: &str) -> Option<ItemId> {
        self.item_by_key.get(key).copied()
    }

    pub fn user_by_key(&self, key: &str) -> Option<UserId> {
        self.user_by_key.get(key).copied()
    }

    /// All genres that occur, sorted, so that a genre's position is stable.
    pub fn genre_vocab(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self
            .items
            .iter()
            .flat_map(|i| i.genres.iter().map(String::as_str))
            .collect();
        set.into_iter().map(str::to_owned).collect()
    }
}

/// Where recagent keeps its data, indexes and models (`$RECAGENT_HOME`).
///
/// Only path arithmetic lives here; the crates that own each kind of
/// artefact do the IO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: std::path::PathBuf,
}

impl Home {
    pub fn new(root: impl Into<std::path::PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// `data/`: one folder per catalog, in the JSONL catalog format.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.root.join("data")
    }

    /// `data/NAME/`.
    pub fn catalog_dir(&self, name: &str) -> std::path::PathBuf {
        self.data_dir().join(name)
    }

    /// `downloads/`: verified archives kept so that a refetch needs no network.
    pub fn downloads_dir(&self) -> std::path::PathBuf {
        self.root.join("downloads")
    }

    /// `index/NAME/`: built indexes for a catalog.
    pub fn index_dir(&self, name: &str) -> std::path::PathBuf {
        self.root.join("index").join(name)
    }

    /// `index/NAME/lexical/`: the tantivy index.
    pub fn lexical_dir(&self, name: &str) -> std::path::PathBuf {
        self.index_dir(name).join("lexical")
    }

    /// `index/NAME/vectors/`: the embedded Qdrant Edge shard.
    pub fn vectors_dir(&self, name: &str) -> std::path::PathBuf {
        self.index_dir(name).join("vectors")
    }

    /// `index/NAME/similar.bin`: item-to-item neighbours.
    pub fn similar_file(&self, name: &str) -> std::path::PathBuf {
        self.index_dir(name).join("similar.bin")
    }

    /// `index/NAME/build.json`: the report of the last `index build`.
    pub fn build_report_file(&self, name: &str) -> std::path::PathBuf {
        self.index_dir(name).join("build.json")
    }

    /// `index/NAME/embeddings/`: cached item embeddings (and static word
    /// tables).
    pub fn embeddings_dir(&self, name: &str) -> std::path::PathBuf {
        self.index_dir(name).join("embeddings")
    }

    /// `index/NAME/eval/`: the evaluation's models, trained with every
    /// episode target held out.
    pub fn eval_dir(&self, name: &str) -> std::path::PathBuf {
        self.index_dir(name).join("eval")
    }

    /// `knowledge/NAME/MODEL/`: the item knowledge `model` wrote for
    /// catalog `name`.
    pub fn knowledge_dir(&self, name: &str, model: &str) -> std::path::PathBuf {
        self.root.join("knowledge").join(name).join(model)
    }

    /// `memory/NAME.sqlite`: the profile memory of a catalog's users.
    pub fn memory_file(&self, name: &str) -> std::path::PathBuf {
        self.root.join("memory").join(format!("{name}.sqlite"))
    }

    /// `server/keys.txt`: the server's API keys, a line of `KEY USER` each.
    pub fn server_keys_file(&self) -> std::path::PathBuf {
        self.root.join("server").join("keys.txt")
    }

    /// `models/`: model weights.
    pub fn models_dir(&self) -> std::path::PathBuf {
        self.root.join("models")
    }

    /// `models/prompt-state/`: the saved KV state of local models' static
    /// prompt prefixes, one file per model and prompt (rebuilt when either
    /// changes; safe to delete).
    pub fn prompt_state_dir(&self) -> std::path::PathBuf {
        self.models_dir().join("prompt-state")
    }
}

/// Reports progress of long work. Library crates take `&dyn Progress` so
/// that the binary can draw bars and tests can stay quiet.
pub trait Progress: Send + Sync {
    /// Starts a new stage; `total` is the unit count when known.
    fn stage(&self, name: &str, total: Option<u64>);
    /// Advances the current stage by `n` units.
    fn advance(&self, n: u64);
    /// Ends the current stage.
    fn finish(&self);
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _name: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: u32, key: &str) -> Item {
        Item {
            id: ItemId(id),
            key: key.into(),
            title: key.into(),
            year: None,
            genres: vec![],
            text: String::new(),
            relations: BTreeMap::new(),
            ..Default::default()
        }
    }

    fn user(id: u32, key: &str) -> User {
        User {
            id: UserId(id),
            key: key.into(),
            ..User::default()
        }
    }

    #[test]
    fn an_item_is_written_with_its_catalog_id() {
        let mut godfather = item(0, "127");
        godfather.title = "Godfather, The".into();
        godfather.year = Some(1972);
        godfather.genres = vec!["Crime".into()];
        let v = serde_json::to_value(ItemJson::of(&godfather)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": "127", "title": "The Godfather", "year": 1972, "genres": ["Crime"]})
        );
        let scored = serde_json::to_value(ItemJson::of(&godfather).with_score(0.5)).unwrap();
        assert_eq!(scored["score"], 0.5);
        let c = Catalog::new("x", vec![item(0, "a"), item(1, "b")], vec![], vec![]).unwrap();
        let ids: Vec<String> = ItemJson::list(&c, &[ItemId(1), ItemId(7), ItemId(0)])
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(ids, ["b", "a"]);
    }

    #[test]
    fn catalog_rejects_broken_invariants() {
        let dup = Catalog::new("x", vec![item(0, "a"), item(1, "a")], vec![], vec![]);
        assert_eq!(
            dup.unwrap_err(),
            CatalogError::DuplicateItem { key: "a".into() }
        );

        let gap = Catalog::new("x", vec![item(1, "a")], vec![], vec![]);
        assert_eq!(
            gap.unwrap_err(),
            CatalogError::IdMismatch { position: 0, id: 1 }
        );

        let dangling = Catalog::new(
            "x",
            vec![item(0, "a")],
            vec![user(0, "u")],
            vec![Interaction {
                user: UserId(0),
                item: ItemId(3),
                rating: 5.0,
                timestamp: 0,
            }],
        );
        assert_eq!(
            dangling.unwrap_err(),
            CatalogError::DanglingId {
                index: 0,
                what: "item",
                id: 3,
                len: 1
            }
        );
    }

    #[test]
    fn catalog_looks_up_keys() {
        let c = Catalog::new(
            "x",
            vec![item(0, "a"), item(1, "b")],
            vec![user(0, "u")],
            vec![],
        )
        .unwrap();
        assert_eq!(c.item_by_key("b"), Some(ItemId(1)));
        assert_eq!(c.item_by_key("zz"), None);
        assert_eq!(c.user_by_key("u"), Some(UserId(0)));
    }
}
