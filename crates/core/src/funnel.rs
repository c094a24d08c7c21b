//! The candidate funnel's vocabulary: what each stage did, for traces.
//!
//! The ranker's funnel records the pre-rank and rank stages; the agent adds
//! recall and filtering, and shows the whole trace per turn.

use serde::{Deserialize, Serialize};

use crate::ItemId;

/// A stage of the funnel: recalled → filtered → pre-ranked → ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Recall,
    Filter,
    PreRank,
    Rank,
}

/// What one stage did: candidates in and out, and the time it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTrace {
    pub stage: Stage,
    pub count_in: usize,
    pub count_out: usize,
    pub micros: u64,
}

/// An item with a score from some stage (higher is better).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub item: ItemId,
    pub score: f32,
}
