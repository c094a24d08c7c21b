//! Item-to-item transitions: what a user picks within the next few picks
//! after an item, each pair weighted by `1 / gap`, and each row normalised
//! to a smoothed conditional frequency.

use recagent_core::ItemId;

use super::rows::SparseRows;

/// Smoothing added to each row's total, so that a rare item's one
/// transition does not score as a certainty.
const SMOOTHING: f32 = 5.0;

/// Transition rows from time-ordered histories: `j` follows `i` when it
/// comes at most `window` picks later.
pub fn fit(histories: &[Vec<ItemId>], n: usize, window: usize, keep: usize) -> SparseRows {
    let mut rows: Vec<std::collections::HashMap<u32, f32>> = vec![Default::default(); n];
    for h in histories {
        for (p, a) in h.iter().enumerate() {
            if a.index() >= n {
                continue;
            }
            for (gap, b) in h.iter().skip(p + 1).take(window).enumerate() {
                if b.index() < n && b != a {
                    *rows[a.index()].entry(b.0).or_default() += 1.0 / (gap as f32 + 1.0);
                }
            }
        }
    }
    let lists = rows
        .into_iter()
        .map(|r| {
            let total: f32 = r.values().sum::<f32>() + SMOOTHING;
            r.into_iter().map(|(j, w)| (j, w / total)).collect()
        })
        .collect();
    SparseRows::from_lists(lists, keep)
}
