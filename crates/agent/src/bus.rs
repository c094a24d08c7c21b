//! The candidate bus: what the tools of one turn share.
//!
//! Candidate lists live here and never pass through the prompt; the model
//! sees the summaries the tools return (counts, a few titles, the filters in
//! force).

use std::collections::{BTreeSet, HashMap};

use recagent_core::{Filter, ItemId, Scored, StageTrace};

/// Which similarity signal put an item on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimilarWhy {
    /// People who liked the seed liked it (co-occurrence, genre-weighted).
    Collaborative,
    /// It shares cast or crew with the seed (checked relations).
    Relations,
    /// Its text (and generated knowledge) is close to the seed's.
    Story,
    /// It is of the seed's series: a sequel by title, or the same leads.
    Series,
}

/// Why an item is a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Recalled by text search.
    Search,
    /// Browsed under the filters to fill a list the text matched too few
    /// for: after every text match.
    Browse,
    /// Recalled as a film of a person the request names.
    Person,
    /// Recalled as similar to this item, by this signal.
    SimilarTo(ItemId, SimilarWhy),
    /// Recalled from the user's history by the next-item model; `cold`
    /// when there was no history and it fell back to popularity.
    ForYou { cold: bool },
}

/// Candidates and filters of one turn.
#[derive(Debug, Clone, Default)]
pub struct Bus {
    /// Recalled and not yet filtered out, best recall score first.
    pub candidates: Vec<Scored>,
    pub origin: HashMap<ItemId, Origin>,
    /// Genre and year filters in force (exclusions are kept apart).
    pub filter: Filter,
    /// The search words of this turn's text recall, for reasons.
    pub query: String,
    /// People every candidate must credit (the catalog's spelling).
    pub people: Vec<String>,
    /// People no candidate may credit.
    pub avoid_people: Vec<String>,
    /// Items left out this turn: titles the user named as seen, liked or
    /// unwanted.
    pub excluded: BTreeSet<ItemId>,
    /// Titles the user said they liked this turn (similarity seeds).
    pub seeds: Vec<ItemId>,
    /// The ranked list, once `rank_candidates` ran.
    pub ranked: Vec<Scored>,
    /// The longer ranked pool whose head is `ranked` (up to
    /// `RERANK_POOL` (tools) items), for evaluation's Recall@50.
    pub pool: Vec<ItemId>,
    /// Every history item handed to the ranker this turn.
    pub ranker_history: BTreeSet<ItemId>,
    /// Per-stage counts and times, in the order the stages ran.
    pub stages: Vec<StageTrace>,
    /// The history recall had no history and fell back to popularity.
    pub for_you_cold: bool,
}

impl Bus {
    /// Adds recalled items that are not candidates yet; returns how many
    /// were new.
    pub fn add(&mut self, hits: Vec<Scored>, origin: Origin) -> usize {
        let mut new = 0;
        for h in hits {
            if self.origin.contains_key(&h.item) {
                continue;
            }
            self.origin.insert(h.item, origin);
            self.candidates.push(h);
            new += 1;
        }
        new
    }

    /// Narrows the filter in force by `more`: wanted genres are replaced
    /// when `more` names some, avoided genres add up, year bounds tighten.
    pub fn narrow(&mut self, more: &Filter) {
        let f = &mut self.filter;
        if !more.genres_any.is_empty() {
            f.genres_any = more.genres_any.clone();
        }
        for g in &more.genres_all {
            if !f.genres_all.contains(g) {
                f.genres_all.push(g.clone());
            }
        }
        for g in &more.genres_none {
            if !f.genres_none.contains(g) {
                f.genres_none.push(g.clone());
            }
        }
        f.year_min = f.year_min.max(more.year_min);
        f.year_max = match (f.year_max, more.year_max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}
