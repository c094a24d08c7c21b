//! What a recall filter means.
//!
//! [`Filter`] is the one definition; [`Filter::matches`] is the reference
//! meaning that every backend (tantivy, Qdrant Edge, a Qdrant server, the
//! similarity lists) is tested against.

use serde::{Deserialize, Serialize};

use crate::text::genre_key;
use crate::{Item, ItemId};

/// Filters on recall. Genres compare by [`genre_key`] (case and whitespace
/// folded). Every field is optional in JSON, so a tool call may name only
/// what it needs: `{"genres_any": ["Comedy"], "year_min": 1990}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// At least one of these genres.
    pub genres_any: Vec<String>,
    /// All of these genres.
    pub genres_all: Vec<String>,
    /// None of these genres.
    pub genres_none: Vec<String>,
    /// Released in or after this year; items without a year fail.
    pub year_min: Option<u16>,
    /// Released in or before this year; items without a year fail.
    pub year_max: Option<u16>,
    /// Items never to return (already seen, disliked).
    pub exclude: Vec<ItemId>,
}

impl Filter {
    /// Whether the filter constrains nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `item` passes: the reference meaning of a filter.
    pub fn matches(&self, item: &Item) -> bool {
        let keys: Vec<String> = item.genres.iter().map(|g| genre_key(g)).collect();
        self.matches_parts(item.id, &keys, item.year)
    }

    /// [`Filter::matches`] on an item's parts, for callers that keep the
    /// genre keys precomputed. `genre_keys` must be folded by [`genre_key`].
    pub fn matches_parts(&self, id: ItemId, genre_keys: &[String], year: Option<u16>) -> bool {
        let has = |g: &String| genre_keys.contains(&genre_key(g));
        (self.genres_any.is_empty() || self.genres_any.iter().any(has))
            && self.genres_all.iter().all(has)
            && !self.genres_none.iter().any(has)
            && self.year_min.is_none_or(|lo| year.is_some_and(|y| y >= lo))
            && self.year_max.is_none_or(|hi| year.is_some_and(|y| y <= hi))
            && !self.exclude.contains(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(genres: &[&str], year: Option<u16>) -> Item {
        Item {
            id: ItemId(3),
            key: "3".into(),
            title: "T".into(),
            year,
            genres: genres.iter().map(|g| g.to_string()).collect(),
            text: String::new(),
            relations: Default::default(),
            ..Default::default()
        }
    }

    #[test]
    fn filter_meaning() {
        let it = item(&["Comedy", "Film-Noir"], Some(1994));
        let f = |json: &str| serde_json::from_str::<Filter>(json).map(|f| f.matches(&it));
        assert!(Filter::default().matches(&it));
        assert!(f(r#"{"genres_any": [" comedy ", "Horror"]}"#).unwrap());
        assert!(!f(r#"{"genres_any": ["Horror"]}"#).unwrap());
        assert!(f(r#"{"genres_all": ["COMEDY", "film-noir"]}"#).unwrap());
        assert!(!f(r#"{"genres_all": ["Comedy", "Horror"]}"#).unwrap());
        assert!(!f(r#"{"genres_none": ["Film-Noir"]}"#).unwrap());
        assert!(f(r#"{"year_min": 1994, "year_max": 1994}"#).unwrap());
        assert!(!f(r#"{"year_min": 1995}"#).unwrap());
        assert!(!f(r#"{"exclude": [3]}"#).unwrap());
        assert!(f(r#"{"exclude": [4]}"#).unwrap());
        // No year: fails any year bound, passes without one.
        let undated = item(&["Comedy"], None);
        let ymin = Filter {
            year_min: Some(1900),
            ..Filter::default()
        };
        assert!(!ymin.matches(&undated));
        assert!(Filter::default().matches(&undated));
        // Unknown fields are an error a tool caller can correct.
        assert!(serde_json::from_str::<Filter>(r#"{"genre": ["Comedy"]}"#).is_err());
    }
}
