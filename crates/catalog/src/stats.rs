//! Summary figures of a catalog (`recagent data stats`).

use std::collections::HashSet;

use recagent_core::Catalog;
use serde::Serialize;

use crate::split::LabelRule;

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
