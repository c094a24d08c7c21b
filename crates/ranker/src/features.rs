//! From catalog rows to model inputs.
//!
//! A [`FeatureSpace`] fixes the vocabularies at training time (user and item
//! keys, genders, occupations, genres, age and year buckets) and is saved with
//! the model. Encoding against it never fails: anything unseen (a new user,
//! a new item, an unknown occupation) maps to row 0 of its field, the
//! out-of-vocabulary bucket.

use std::collections::HashMap;

use recagent_core::{Catalog, ItemId, UserId};
use serde::{Deserialize, Serialize};

/// Upper bounds of the age buckets (MovieLens's own: under 18, 18–24, …).
const AGE_EDGES: [u16; 6] = [18, 25, 35, 45, 50, 56];
/// Release years are bucketed by this many years.
const YEAR_BUCKET: u16 = 5;
const YEAR_MIN: u16 = 1900;
const YEAR_BUCKETS: usize = 30;

/// The vocabularies a model was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpace {
    pub user_keys: Vec<String>,
    pub item_keys: Vec<String>,
    pub genders: Vec<String>,
    pub occupations: Vec<String>,
    pub genres: Vec<String>,
    /// How many recent positives make the pooled history field.
    pub history_len: usize,
}

/// Row counts of each embedding table (row 0 is out-of-vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cardinalities {
    pub users: usize,
    pub items: usize,
    pub ages: usize,
    pub genders: usize,
    pub occupations: usize,
    pub years: usize,
    pub genres: usize,
}

impl FeatureSpace {
    /// Builds the vocabularies from a catalog.
    pub fn from_catalog(catalog: &Catalog, history_len: usize) -> Self {
        let mut genders: Vec<String> = catalog
            .users()
            .iter()
            .filter_map(|u| u.gender.clone())
            .collect();
        genders.sort();
        genders.dedup();
        let mut occupations: Vec<String> = catalog
            .users()
            .iter()
            .filter_map(|u| u.occupation.clone())
            .collect();
        occupations.sort();
        occupations.dedup();
        Self {
            user_keys: catalog.users().iter().map(|u| u.key.clone()).collect(),
            item_keys: catalog.items().iter().map(|i| i.key.clone()).collect(),
            genders,
            occupations,
            genres: catalog.genre_vocab(),
            history_len,
        }
    }

    pub fn cardinalities(&self) -> Cardinalities {
        Cardinalities {
            users: self.user_keys.len() + 1,
            items: self.item_keys.len() + 1,
            ages: AGE_EDGES.len() + 2,
            genders: self.genders.len() + 1,
            occupations: self.occupations.len() + 1,
            years: YEAR_BUCKETS + 1,
            genres: self.genres.len().max(1),
        }
    }
}

fn age_bucket(age: Option<u16>) -> u32 {
    match age {
        None => 0,
        Some(a) => 1 + AGE_EDGES.iter().take_while(|&&e| a >= e).count() as u32,
    }
}

fn year_bucket(year: Option<u16>) -> u32 {
    match year {
        None => 0,
        Some(y) => {
            1 + (y.saturating_sub(YEAR_MIN) / YEAR_BUCKET).min(YEAR_BUCKETS as u16 - 1) as u32
        }
    }
}

fn index_of(vocab: &[String], value: Option<&str>) -> u32 {
    value
        .and_then(|v| vocab.binary_search_by(|x| x.as_str().cmp(v)).ok())
        .map_or(0, |i| i as u32 + 1)
}

/// The user-side inputs of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct UserFeatures {
    pub user: u32,
    pub age: u32,
    pub gender: u32,
    pub occupation: u32,
    /// Item rows of recent positives, newest last; at most `history_len`.
    pub history: Vec<u32>,
    /// The catalog index of the user (`None` for one the catalog lacks):
    /// where the user's knowledge vector is looked up.
    pub row: Option<u32>,
}

/// The item-side inputs of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFeatures {
    pub item: u32,
    pub year: u32,
    /// Indexes into the genre vocabulary.
    pub genres: Vec<u32>,
}

/// A [`FeatureSpace`] bound to one catalog: per-user and per-item encodings,
/// precomputed so that encoding a request is a lookup.
#[derive(Debug, Clone)]
pub struct Encoder {
    pub space: FeatureSpace,
    users: Vec<UserFeatures>,
    items: Vec<ItemFeatures>,
}

impl Encoder {
    /// Encodes every user and item of `catalog` against `space`. Users' and
    /// items' keys are looked up, so a catalog that grew since training still
    /// works: its new entries are out-of-vocabulary.
    pub fn new(space: FeatureSpace, catalog: &Catalog) -> Self {
        let user_row: HashMap<&str, u32> = space
            .user_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i as u32 + 1))
            .collect();
        let item_row: HashMap<&str, u32> = space
            .item_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i as u32 + 1))
            .collect();
        let users = catalog
            .users()
            .iter()
            .enumerate()
            .map(|(row, u)| UserFeatures {
                row: Some(row as u32),
                user: user_row.get(u.key.as_str()).copied().unwrap_or(0),
                age: age_bucket(u.age),
                gender: index_of(&space.genders, u.gender.as_deref()),
                occupation: index_of(&space.occupations, u.occupation.as_deref()),
                history: Vec::new(),
            })
            .collect();
        let items = catalog
            .items()
            .iter()
            .map(|i| ItemFeatures {
                item: item_row.get(i.key.as_str()).copied().unwrap_or(0),
                year: year_bucket(i.year),
                genres: i
                    .genres
                    .iter()
                    .filter_map(|g| {
                        space
                            .genres
                            .binary_search_by(|x| x.as_str().cmp(g))
                            .ok()
                            .map(|x| x as u32)
                    })
                    .collect(),
            })
            .collect();
        Self {
            space,
            users,
            items,
        }
    }

    /// The encoding of a catalog user; a user the catalog lacks gets an
    /// all-out-of-vocabulary encoding.
    pub fn user(&self, user: Option<UserId>) -> UserFeatures {
        user.and_then(|u| self.users.get(u.index()).cloned())
            .unwrap_or(UserFeatures {
                user: 0,
                age: 0,
                gender: 0,
                occupation: 0,
                history: Vec::new(),
                row: None,
            })
    }

    /// The user's encoding with `history` (catalog items, oldest first) as the
    /// pooled-history field; only the last `history_len` are kept.
    pub fn user_with_history(&self, user: Option<UserId>, history: &[ItemId]) -> UserFeatures {
        let mut f = self.user(user);
        f.history = self
            .pooled_history(history)
            .into_iter()
            .map(|i| self.item(i).item)
            .collect();
        f
    }

    /// The items of `history` a model pools: the last `history_len`, less
    /// any without a trained embedding (unseen or outside the catalog).
    pub fn pooled_history(&self, history: &[ItemId]) -> Vec<ItemId> {
        let start = history.len().saturating_sub(self.space.history_len);
        history[start..]
            .iter()
            .copied()
            .filter(|&i| self.item(i).item != 0)
            .collect()
    }

    /// The encoding of a catalog item; unknown ids are out-of-vocabulary.
    pub fn item(&self, item: ItemId) -> ItemFeatures {
        self.items
            .get(item.index())
            .cloned()
            .unwrap_or(ItemFeatures {
                item: 0,
                year: 0,
                genres: Vec::new(),
            })
    }

    pub fn n_items(&self) -> usize {
        self.items.len()
    }
}
