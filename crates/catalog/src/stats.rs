//! Summary figures of a catalog (`recagent data stats`).

use std::collections::HashSet;

use recagent_core::{Catalog, Item, Role};
use serde::Serialize;

use crate::split::LabelRule;

/// How many items carry one field, and what share of the interactions
/// those items hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub field: &'static str,
    pub items: usize,
    pub item_share: f64,
    pub interaction_share: f64,
}

/// Whether an item carries a field.
type Has = fn(&Item) -> bool;

/// The fields [`Coverage`] is reported for, and how each is read.
const FIELDS: [(&str, Has); 7] = [
    ("overview", |i| !i.overview.is_empty()),
    ("tagline", |i| !i.tagline.is_empty()),
    ("keywords", |i| !i.keywords.is_empty()),
    ("people", |i| !i.people.is_empty()),
    ("director", |i| i.people_as(Role::Director).next().is_some()),
    ("cast", |i| i.people_as(Role::Cast).next().is_some()),
    ("relations", |i| !i.relations.is_empty()),
];

/// Coverage of each film fact in `catalog`.
pub fn coverage(catalog: &Catalog) -> Vec<Coverage> {
    let mut per_item = vec![0usize; catalog.items().len()];
    for x in catalog.interactions() {
        per_item[x.item.index()] += 1;
    }
    let n = catalog.items().len().max(1) as f64;
    let total = catalog.interactions().len().max(1) as f64;
    FIELDS
        .iter()
        .map(|(field, has)| {
            let (mut items, mut inter) = (0usize, 0usize);
            for it in catalog.items() {
                if has(it) {
                    items += 1;
                    inter += per_item[it.id.index()];
                }
            }
            Coverage {
                field,
                items,
                item_share: items as f64 / n,
                interaction_share: inter as f64 / total,
            }
        })
        .collect()
}

/// What `recagent data stats --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub name: String,
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    /// Users and items that have at least one interaction.
    pub active_users: usize,
    pub active_items: usize,
    /// Interactions / (users × items).
    pub density: f64,
    pub genres: usize,
    pub items_with_relations: usize,
    /// How many items carry each film fact, and their share of the log.
    pub coverage: Vec<Coverage>,
    /// Under the CTR protocol: kept positives, kept negatives, dropped neutral.
    pub positives: usize,
    pub negatives: usize,
    pub dropped_neutral: usize,
    /// positives / (positives + negatives).
    pub positive_rate: f64,
}

pub fn stats(catalog: &Catalog, rule: LabelRule) -> Stats {
    let (mut positives, mut negatives, mut dropped) = (0, 0, 0);
    let mut users = HashSet::new();
    let mut items = HashSet::new();
    for x in catalog.interactions() {
        users.insert(x.user);
        items.insert(x.item);
        match rule.label(x.rating) {
            Some(true) => positives += 1,
            Some(false) => negatives += 1,
            None => dropped += 1,
        }
    }
    let cells = catalog.users().len() as f64 * catalog.items().len() as f64;
    let kept = positives + negatives;
    Stats {
        name: catalog.name().to_owned(),
        users: catalog.users().len(),
        items: catalog.items().len(),
        interactions: catalog.interactions().len(),
        active_users: users.len(),
        active_items: items.len(),
        density: if cells > 0.0 {
            catalog.interactions().len() as f64 / cells
        } else {
            0.0
        },
        genres: catalog.genre_vocab().len(),
        items_with_relations: catalog
            .items()
            .iter()
            .filter(|i| !i.relations.is_empty())
            .count(),
        coverage: coverage(catalog),
        positives,
        negatives,
        dropped_neutral: dropped,
        positive_rate: if kept > 0 {
            positives as f64 / kept as f64
        } else {
            0.0
        },
    }
}
