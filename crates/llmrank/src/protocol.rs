//! The LLMRank protocol (Hou et al., ECIR 2024): each test user's target
//! among random films the user has not seen, every scorer ranking the same
//! set, NDCG@K of the target's place; and what a report needs around it.

use rand::Rng;
use rand::seq::SliceRandom;
use recagent_core::{Episode, ItemId};
use serde::Serialize;

/// The target and `n − 1` films drawn uniformly from those the user has
/// not rated before it (and that are not the target), in a random order.
/// Fewer when the catalog has too few such films.
pub fn random_candidates(
    episode: &Episode,
    n_items: usize,
    n: usize,
    rng: &mut impl Rng,
) -> Vec<ItemId> {
    let mut taken = vec![false; n_items];
    for i in episode.seen.iter().chain(&episode.history) {
        if let Some(t) = taken.get_mut(i.index()) {
            *t = true;
        }
    }
    let mut pool: Vec<ItemId> = (0..n_items as u32)
        .map(ItemId)
        .filter(|i| !taken[i.index()] && *i != episode.target)
        .collect();
    pool.shuffle(rng);
    pool.truncate(n.saturating_sub(1));
    pool.push(episode.target);
    pool.shuffle(rng);
    pool
}

/// The target's 0-based place when `candidates` are sorted by `scores`,
/// best first, ties going to the earlier candidate; `None` when the target
/// is not among them.
pub fn place_of(scores: &[f32], candidates: &[ItemId], target: ItemId) -> Option<usize> {
    let at = candidates.iter().position(|c| *c == target)?;
    let t = scores[at];
    Some(
        scores
            .iter()
            .enumerate()
            .filter(|&(i, &s)| s > t || (s == t && i < at))
            .count(),
    )
}

/// NDCG@k of one target at `place` (0 when it is absent or at k or below).
pub fn ndcg_at(place: Option<usize>, k: usize) -> f64 {
    match place {
        Some(p) if p < k => 1.0 / ((p + 2) as f64).log2(),
        _ => 0.0,
    }
}

/// Scores standardised within one candidate set (mean 0, sd 1; all 0 when
/// they are all equal), so that two scorers' scales can be blended.
pub fn standardised(scores: &[f32]) -> Vec<f32> {
    let n = scores.len().max(1) as f32;
    let mean = scores.iter().sum::<f32>() / n;
    let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / n;
    let sd = var.sqrt();
    if sd <= f32::EPSILON {
        return vec![0.0; scores.len()];
    }
    scores.iter().map(|s| (s - mean) / sd).collect()
}

/// `(1 − w)·a + w·b` over the standardised scores of one candidate set.
pub fn blend(a: &[f32], b: &[f32], w: f32) -> Vec<f32> {
    standardised(a)
        .into_iter()
        .zip(standardised(b))
        .map(|(x, y)| (1.0 - w) * x + w * y)
        .collect()
}

/// The LLM weights a blend tries on validation.
pub const BLEND_WEIGHTS: [f32; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// One validation set for fitting a blend: both scorers' scores and the
/// target's position in the candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct BlendCase {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub candidates: Vec<ItemId>,
    pub target: ItemId,
}

/// The weight of [`BLEND_WEIGHTS`] with the best mean NDCG@10 on `cases`
/// (the smallest on a tie, so the LLM gets weight only where it earns it),
/// and the mean at every weight tried.
pub fn fit_blend(cases: &[BlendCase]) -> (f32, Vec<(f32, f64)>) {
    let curve: Vec<(f32, f64)> = BLEND_WEIGHTS
        .iter()
        .map(|&w| {
            let total: f64 = cases
                .iter()
                .map(|c| ndcg_at(place_of(&blend(&c.a, &c.b, w), &c.candidates, c.target), 10))
                .sum();
            (w, total / cases.len().max(1) as f64)
        })
        .collect();
    let best = curve
        .iter()
        .fold((0.0f32, f64::NEG_INFINITY), |best, &(w, m)| {
            if m > best.1 + 1e-12 { (w, m) } else { best }
        });
    (best.0, curve)
}

/// Mean ± sample sd over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
    pub n: usize,
}

impl MeanSd {
    pub fn of(xs: &[f64]) -> Self {
        let n = xs.len();
        let mean = xs.iter().sum::<f64>() / n.max(1) as f64;
        let sd = if n > 1 {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Self { mean, sd, n }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use recagent_core::UserId;

    use super::*;

    fn episode() -> Episode {
        Episode {
            user: UserId(0),
            target: ItemId(5),
            history: vec![ItemId(1), ItemId(2)],
            seen: vec![ItemId(1), ItemId(2), ItemId(3)],
        }
    }

    #[test]
    fn candidates_hold_the_target_and_nothing_seen() {
        let e = episode();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c = random_candidates(&e, 30, 20, &mut rng);
        assert_eq!(c.len(), 20);
        assert_eq!(c.iter().filter(|i| **i == e.target).count(), 1);
        assert!(c.iter().all(|i| !e.seen.contains(i)));
        let mut d = c.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), 20, "no film twice");
        // A catalog with too few unseen films gives what there is.
        let small = random_candidates(&e, 8, 20, &mut rng);
        assert_eq!(small.len(), 5);
    }

    #[test]
    fn place_and_ndcg_follow_the_scores_with_ties_to_the_earlier() {
        let cands = [ItemId(4), ItemId(9), ItemId(7)];
        assert_eq!(place_of(&[0.1, 0.9, 0.5], &cands, ItemId(9)), Some(0));
        assert_eq!(place_of(&[0.1, 0.9, 0.5], &cands, ItemId(4)), Some(2));
        assert_eq!(place_of(&[0.5, 0.5, 0.5], &cands, ItemId(7)), Some(2));
        assert_eq!(place_of(&[0.5, 0.5, 0.5], &cands, ItemId(4)), Some(0));
        assert_eq!(place_of(&[0.5, 0.5, 0.5], &cands, ItemId(1)), None);
        assert_eq!(ndcg_at(Some(0), 10), 1.0);
        assert!((ndcg_at(Some(1), 10) - 1.0 / 3f64.log2()).abs() < 1e-12);
        assert_eq!(ndcg_at(Some(10), 10), 0.0);
        assert_eq!(ndcg_at(None, 10), 0.0);
        assert_eq!(ndcg_at(Some(0), 1), 1.0);
        assert_eq!(ndcg_at(Some(1), 1), 0.0);
    }

    #[test]
    fn the_blend_weight_goes_where_validation_says() {
        // Scorer a finds the target in every set, b never does: the fit
        // gives b no weight; swapped, all of it.
        let case = |a: Vec<f32>, b: Vec<f32>| BlendCase {
            a,
            b,
            candidates: vec![ItemId(0), ItemId(1), ItemId(2)],
            target: ItemId(1),
        };
        let good = vec![0.0, 1.0, 0.5];
        let bad = vec![1.0, 0.0, 0.5];
        let (w, curve) = fit_blend(&[case(good.clone(), bad.clone())]);
        assert_eq!(w, 0.0);
        assert_eq!(curve.len(), BLEND_WEIGHTS.len());
        // Swapped, b takes over from the first weight that puts the
        // target first (above 0.5, where the two cancel into a tie).
        let (w, curve) = fit_blend(&[case(bad, good)]);
        assert!(w > 0.5, "{w}");
        assert_eq!(curve.last().map(|c| c.1), Some(1.0));
        assert!(curve[0].1 < 1.0);
    }

    #[test]
    fn mean_and_sample_sd() {
        let m = MeanSd::of(&[1.0, 2.0, 3.0]);
        assert_eq!(m.mean, 2.0);
        assert!((m.sd - 1.0).abs() < 1e-12);
        assert_eq!(MeanSd::of(&[4.0]).sd, 0.0);
    }
}
