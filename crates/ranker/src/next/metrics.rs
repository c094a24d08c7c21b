//! Full-ranking metrics of next-item models: the rank of a target among
//! unmasked items, and Hit@k / NDCG@10 over those ranks. A leaf, so that
//! the models and the protocol that tunes them both use it.

use recagent_core::ItemId;
use serde::Serialize;

/// Full-ranking metrics over users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct NextMetrics {
    pub users: usize,
    pub hit1: f64,
    pub hit10: f64,
    pub hit50: f64,
    pub ndcg10: f64,
}

/// The 0-based rank of `target` among unmasked items: items scoring higher,
/// plus equal-scoring items with a smaller id (the order rankings use).
pub fn rank_of(scores: &[f32], target: ItemId, masked: &[ItemId]) -> usize {
    let t = target.index();
    let st = scores[t];
    let mut rank = scores
        .iter()
        .enumerate()
        .filter(|&(i, &s)| s > st || (s == st && i < t))
        .count();
    let mut masked: Vec<usize> = masked.iter().map(|m| m.index()).collect();
    masked.sort_unstable();
    masked.dedup();
    for i in masked {
        if i != t && i < scores.len() && (scores[i] > st || (scores[i] == st && i < t)) {
            rank -= 1;
        }
    }
    rank
}

/// Metrics of 0-based ranks.
pub fn metrics_of(ranks: &[usize]) -> NextMetrics {
    let n = ranks.len().max(1) as f64;
    let hit = |k: usize| ranks.iter().filter(|&&r| r < k).count() as f64 / n;
    NextMetrics {
        users: ranks.len(),
        hit1: hit(1),
        hit10: hit(10),
        hit50: hit(50),
        ndcg10: ranks
            .iter()
            .filter(|&&r| r < 10)
            .map(|&r| 1.0 / ((r as f64) + 2.0).log2())
            .sum::<f64>()
            / n,
    }
}
