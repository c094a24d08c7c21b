//! The leave-last-positive-out protocol for next-item models, as RecBole
//! runs it (`split: {LS: valid_and_test}, order: TO, mode: full`): over
//! positives only, each user's last positive by time is the test target and
//! the one before it the validation target; models fit on what remains;
//! every item is ranked and the user's earlier positives are masked.
//!
//! At test time the history is everything before the target, the
//! validation item included (models were fit without it); at validation
//! time it is the training positives.

use rayon::prelude::*;
use recagent_core::{ItemId, Progress};
use serde::Serialize;

use super::model::{NextConfig, NextItemModel, NextKind};
use crate::error::Result;

/// Users' positives cut into training histories and two targets.
#[derive(Debug, Clone, PartialEq)]
pub struct NextSplit {
    /// Per user (indexed by user id): positives before both targets,
    /// oldest first. What models fit on.
    pub train: Vec<Vec<ItemId>>,
    /// Per user: the second-to-last positive, for users with at least three.
    pub valid: Vec<Option<ItemId>>,
    /// Per user: the last positive, for users with at least three.
    pub test: Vec<Option<ItemId>>,
    pub n_items: usize,
}

impl NextSplit {
    /// Cuts `histories` (each user's positives, oldest first, as
    /// `catalog::split::positive_histories` gives them). Users with fewer
    /// than three positives keep them all for training and are not
    /// evaluated.
    pub fn leave_last_two(histories: &[Vec<ItemId>], n_items: usize) -> Self {
        let mut train = Vec::with_capacity(histories.len());
        let mut valid = Vec::with_capacity(histories.len());
        let mut test = Vec::with_capacity(histories.len());
        for h in histories {
            if h.len() >= 3 {
                train.push(h[..h.len() - 2].to_vec());
                valid.push(Some(h[h.len() - 2]));
                test.push(Some(h[h.len() - 1]));
            } else {
                train.push(h.clone());
                valid.push(None);
                test.push(None);
            }
        }
        Self {
            train,
            valid,
            test,
            n_items,
        }
    }

    /// The training histories with each validation target put back: what a
    /// model is fit on once its settings are chosen, for test.
    pub fn train_and_valid(&self) -> Vec<Vec<ItemId>> {
        self.train
            .iter()
            .zip(&self.valid)
            .map(|(t, v)| t.iter().copied().chain(*v).collect())
            .collect()
    }

    /// Users evaluated.
    pub fn users(&self) -> usize {
        self.test.iter().filter(|t| t.is_some()).count()
    }
}

/// Which targets to score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Valid,
    Test,
}

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
    for m in masked {
        let i = m.index();
        if i != t && i < scores.len() && (scores[i] > st || (scores[i] == st && i < t)) {
            rank -= 1;
        }
    }
    rank
}

/// Hit@1/10/50 and NDCG@10 of `model` on `phase`'s targets.
pub fn evaluate(model: &NextItemModel, split: &NextSplit, phase: Phase) -> NextMetrics {
    evaluate_every(model, split, phase, 1)
}

/// Users evaluated per trial while tuning on a catalog above EASE's size,
/// where scoring every item for every user is the cost.
pub const TUNE_USERS_AT_SCALE: usize = 2000;

/// [`evaluate`] over every `stride`-th user.
fn evaluate_every(
    model: &NextItemModel,
    split: &NextSplit,
    phase: Phase,
    stride: usize,
) -> NextMetrics {
    let stride = stride.max(1);
    let ranks: Vec<usize> = (0..split.train.len())
        .into_par_iter()
        .filter(|u| u % stride == 0)
        .filter_map(|u| {
            let train = &split.train[u];
            let (target, history): (ItemId, Vec<ItemId>) = match phase {
                Phase::Valid => (split.valid[u]?, train.clone()),
                Phase::Test => {
                    let v = split.valid[u]?;
                    (split.test[u]?, train.iter().copied().chain([v]).collect())
                }
            };
            let scores = model.scores(&history);
            Some(rank_of(&scores, target, &history))
        })
        .collect();
    metrics_of(&ranks)
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

/// One setting tried on validation.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub config: NextConfig,
    pub valid: NextMetrics,
}

/// The settings of `kind` with the best validation NDCG@10 on a small grid,
/// and every trial. Blend tunes EASE and transitions on their own first,
/// then the weight between them.
pub fn tune(
    kind: NextKind,
    split: &NextSplit,
    progress: &dyn Progress,
) -> Result<(NextConfig, Vec<Trial>)> {
    let base = NextConfig::new(kind);
    // On a catalog too large for EASE, each trial reads a sample of users.
    let stride = if split.n_items > super::ease::MAX_ITEMS {
        split.train.len().div_ceil(TUNE_USERS_AT_SCALE)
    } else {
        1
    };
    let mut grid = Grid {
        split,
        stride,
        progress,
        trials: Vec::new(),
    };
    let chosen = match kind {
        NextKind::Pop => base,
        NextKind::Ease => grid.best(ease_grid(base))?.unwrap_or(base),
        NextKind::ItemKnn => grid.best(knn_grid(base))?.unwrap_or(base),
        NextKind::Transitions => grid.best(trans_grid(base))?.unwrap_or(base),
        NextKind::Blend => {
            // Above EASE's size the blend's collaborative part is item-kNN
            // (`NextItemModel::fit`), so its shrinkage is what is tuned.
            let collaborative = if split.n_items > super::ease::MAX_ITEMS {
                knn_grid(NextConfig {
                    kind: NextKind::ItemKnn,
                    ..base
                })
            } else {
                ease_grid(NextConfig {
                    kind: NextKind::Ease,
                    ..base
                })
            };
            let e = grid.best(collaborative)?.unwrap_or(base);
            let t = grid
                .best(trans_grid(NextConfig {
                    kind: NextKind::Transitions,
                    ..base
                }))?
                .unwrap_or(base);
            let c = NextConfig {
                kind: NextKind::Blend,
                lambda: e.lambda,
                shrink: e.shrink,
                neighbours: e.neighbours,
                window: t.window,
                recent: t.recent,
                decay: t.decay,
                ..base
            };
            let blends = [0.2, 0.5, 0.8, 1.2, 2.0, 3.0]
                .iter()
                .map(|&blend| NextConfig { blend, ..c })
                .collect();
            grid.best(blends)?.unwrap_or(base)
        }
    };
    Ok((chosen, grid.trials))
}

/// Fits and scores configurations on validation, keeping every trial.
struct Grid<'a> {
    split: &'a NextSplit,
    /// Every `stride`-th validation user is read.
    stride: usize,
    progress: &'a dyn Progress,
    trials: Vec<Trial>,
}

impl Grid<'_> {
    /// The configuration with the best validation nDCG@10 (`None` for an
    /// empty list).
    fn best(&mut self, configs: Vec<NextConfig>) -> Result<Option<NextConfig>> {
        let Some(kind) = configs.first().map(|c| c.kind) else {
            return Ok(None);
        };
        self.progress.stage(
            &format!("tuning {} on validation", kind.name()),
            Some(configs.len() as u64),
        );
        let mut best: Option<Trial> = None;
        for c in configs {
            let m = NextItemModel::fit(&self.split.train, self.split.n_items, &c)?;
            let t = Trial {
                config: c,
                valid: evaluate_every(&m, self.split, Phase::Valid, self.stride),
            };
            if best
                .as_ref()
                .is_none_or(|b| t.valid.ndcg10 > b.valid.ndcg10)
            {
                best = Some(t.clone());
            }
            self.trials.push(t);
            self.progress.advance(1);
        }
        self.progress.finish();
        Ok(best.map(|b| b.config))
    }
}

/// EASE's L2 weights.
fn ease_grid(c: NextConfig) -> Vec<NextConfig> {
    [25.0, 50.0, 100.0, 200.0, 400.0, 800.0]
        .iter()
        .map(|&lambda| NextConfig { lambda, ..c })
        .collect()
}

/// Item-kNN's shrinkage, with 100 neighbours.
fn knn_grid(c: NextConfig) -> Vec<NextConfig> {
    [0.0, 10.0, 50.0, 100.0]
        .iter()
        .map(|&shrink| NextConfig {
            shrink,
            neighbours: 100,
            ..c
        })
        .collect()
}

/// Transitions' window, and how many recent items count with what decay.
fn trans_grid(c: NextConfig) -> Vec<NextConfig> {
    let mut v = Vec::new();
    for window in [1, 3, 5, 10] {
        for (recent, decay) in [(1, 1.0), (3, 0.5), (5, 0.7), (10, 0.8), (20, 0.9)] {
            v.push(NextConfig {
                window,
                recent,
                decay,
                ..c
            });
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_skip_masked_items_and_break_ties_by_id() {
        let s = [0.9, 0.5, 0.5, 0.1];
        assert_eq!(rank_of(&s, ItemId(2), &[]), 2);
        assert_eq!(rank_of(&s, ItemId(2), &[ItemId(0)]), 1);
        assert_eq!(rank_of(&s, ItemId(1), &[ItemId(2)]), 1);
        assert_eq!(rank_of(&s, ItemId(0), &[ItemId(0)]), 0);
    }

    #[test]
    fn the_split_keeps_both_targets_out_of_training() {
        let h = vec![
            vec![ItemId(0), ItemId(1), ItemId(2), ItemId(3)],
            vec![ItemId(4), ItemId(5)],
        ];
        let s = NextSplit::leave_last_two(&h, 6);
        assert_eq!(s.train[0], vec![ItemId(0), ItemId(1)]);
        assert_eq!(s.valid[0], Some(ItemId(2)));
        assert_eq!(s.test[0], Some(ItemId(3)));
        assert_eq!(s.train[1], h[1]);
        assert_eq!(s.test[1], None);
        assert_eq!(s.users(), 1);
    }
}
