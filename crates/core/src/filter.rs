//! What a request asks of every item, and what a recall filter means.
//!
//! [`Constraint`] is the one type for the genres (required, preferred,
//! avoided), years and people a request asks for: the plan, the dialogue
//! state, the tool arguments, the labelled sets and `search` all carry it.
//! [`Filter`] is what recall runs once names are resolved;
//! [`Filter::matches`] is the reference meaning that every backend
//! (tantivy, Qdrant Edge, a Qdrant server, the similarity lists) is tested
//! against.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::text::genre_key;
use crate::{Item, ItemId};

/// The year bounds of the schemas; a bound at either edge bounds nothing.
pub const YEAR_FLOOR: u16 = 1900;
pub const YEAR_CEILING: u16 = 2030;

/// What a request asks of every item: genres required, preferred and
/// avoided, years, and people. Every field may be left empty. Its schema
/// descriptions quote no user words: a small model copies quoted examples
/// into the slots (the 0.5B filled `people` with "with Tom Hanks"). Structs that
/// carry it flatten it (`#[serde(flatten)]`), so in JSON its fields sit
/// beside their own: `{"query": "heist", "genres": ["Crime"], "year_min": 1990}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Constraint {
    /// Genres every item must have ("animated", "for my kids").
    #[serde(alias = "hard_genres", alias = "require_genres")]
    #[schemars(description = "Genres every item must have.")]
    pub genres: Vec<String>,
    /// Genres the user would enjoy but did not require ("funny" is
    /// Comedy): an item needs one of them when no genre is required;
    /// otherwise they only order the list.
    #[serde(alias = "soft_genres")]
    #[schemars(
        description = "Genres the user would enjoy: an item needs one of them when no genre is required; otherwise they only order the list."
    )]
    pub prefer_genres: Vec<String>,
    /// Genres to leave out.
    pub avoid_genres: Vec<String>,
    /// Released in or after this year.
    #[schemars(range(min = 1900, max = 2030))]
    pub year_min: Option<u16>,
    /// Released in or before this year.
    #[schemars(range(min = 1900, max = 2030))]
    pub year_max: Option<u16>,
    /// People every item must credit ("with Tom Hanks", "a Kubrick
    /// film"): actors, directors, writers, as the user named them.
    #[schemars(description = "People every item must credit (actors, directors, writers).")]
    pub people: Vec<String>,
    /// People no item may credit ("nothing with Jim Carrey").
    #[schemars(description = "People no item may credit.")]
    pub avoid_people: Vec<String>,
}

impl Constraint {
    /// Whether the constraint asks for nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether a year bound is set.
    pub fn has_years(&self) -> bool {
        self.year_min.is_some() || self.year_max.is_some()
    }

    /// The same constraint with year bounds at the schemas' edges (1900,
    /// 2030) dropped: a small model that fills every slot writes them for
    /// "any year".
    pub fn normalized(&self) -> Self {
        let inside = |y: &u16| *y > YEAR_FLOOR && *y < YEAR_CEILING;
        Self {
            year_min: self.year_min.filter(inside),
            year_max: self.year_max.filter(inside),
            ..self.clone()
        }
    }

    /// The recall filter of the genres and years, names as written:
    /// required genres all, else preferred ones any, avoided ones none.
    /// People are not a [`Filter`]: their credits are matched by name.
    pub fn filter(&self) -> Filter {
        Filter {
            genres_all: self.genres.clone(),
            genres_any: if self.genres.is_empty() {
                self.prefer_genres.clone()
            } else {
                Vec::new()
            },
            genres_none: self.avoid_genres.clone(),
            year_min: self.year_min,
            year_max: self.year_max,
            exclude: Vec::new(),
        }
    }
}

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

    /// A struct that carries the constraint, as the tools' arguments do.
    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Carrier {
        query: String,
        #[serde(flatten)]
        want: Constraint,
    }

    #[test]
    fn a_constraint_flattened_reads_its_fields_and_refuses_others() {
        let c: Carrier =
            serde_json::from_str(r#"{"query": "q", "genres": ["Crime"], "year_min": 1990}"#)
                .unwrap();
        assert_eq!(c.query, "q");
        assert_eq!(c.want.genres, ["Crime"]);
        assert_eq!(c.want.year_min, Some(1990));
        let err = serde_json::from_str::<Carrier>(r#"{"genre": ["Crime"]}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `genre`"), "{err}");
        // The names a dialogue state was stored under, and the tools' old
        // name for required genres, still read.
        let old: Carrier =
            serde_json::from_str(r#"{"hard_genres": ["A"], "soft_genres": ["B"]}"#).unwrap();
        assert_eq!(
            (old.want.genres, old.want.prefer_genres),
            (vec!["A".to_string()], vec!["B".to_string()])
        );
        let old: Carrier = serde_json::from_str(r#"{"require_genres": ["A"]}"#).unwrap();
        assert_eq!(old.want.genres, ["A"]);
    }

    #[test]
    fn preferred_genres_filter_only_where_none_is_required() {
        let it = item(&["Comedy"], Some(1994));
        let mut want = Constraint {
            prefer_genres: vec!["Comedy".into(), "Drama".into()],
            ..Constraint::default()
        };
        assert!(want.filter().matches(&it));
        want.prefer_genres = vec!["Horror".into()];
        assert!(!want.filter().matches(&it), "a preference alone filters");
        want.genres = vec!["Comedy".into()];
        assert!(
            want.filter().matches(&it),
            "beside a required genre it does not"
        );
        want.avoid_genres = vec!["comedy".into()];
        assert!(!want.filter().matches(&it));
        let edges = Constraint {
            year_min: Some(YEAR_FLOOR),
            year_max: Some(YEAR_CEILING),
            ..Constraint::default()
        };
        assert!(edges.has_years() && !edges.normalized().has_years());
    }
}
