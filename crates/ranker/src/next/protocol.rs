//! The leave-last-positive-out protocol for next-item models, as RecBole
//! runs it (`split: {LS: valid_and_test}, order: TO, mode: full`): over
//! positives only, each user's last positive by time is the test target and
//! the one before it the validation target; models fit on what remains;
//! every item is ranked and the user's earlier positives are masked.
//!
//! At test time the history is everything before the target, the
//! validation item included (models were fit without it); at validation
//! time it is the training positives.
//!
//! Two maskings are reported ([`Masking`]): RecBole's, where only the
//! user's earlier positives leave the ranking, and the product's, where
//! every film the user rated before the target does (a film rated 2 stars
//! is never recommended back).

use rayon::prelude::*;
use recagent_core::{ItemId, Progress};
use serde::Serialize;

pub use super::metrics::{NextMetrics, metrics_of, rank_of};
use super::model::{NextConfig, NextItemModel, NextKind, SeqPart};
use super::sasrec::{SasRec, SeqConfig};
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
    /// Per user: films rated below the positive threshold before the
    /// validation target (empty where the ratings are not known). The
    /// rated masking leaves them out of the ranking too.
    pub unliked_before_valid: Vec<Vec<ItemId>>,
    /// Per user: the same before the test target.
    pub unliked_before_test: Vec<Vec<ItemId>>,
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
            unliked_before_valid: vec![Vec::new(); train.len()],
            unliked_before_test: vec![Vec::new(); train.len()],
            train,
            valid,
            test,
            n_items,
        }
    }

    /// [`Self::leave_last_two`] over every user's rated films, oldest first,
    /// each with whether it is a positive (as
    /// `catalog::split::labelled_histories` gives them): the positives make
    /// the split, and the films rated below the threshold before each target
    /// are kept for the rated masking.
    pub fn leave_last_two_rated(rated: &[Vec<(ItemId, bool)>], n_items: usize) -> Self {
        let positives: Vec<Vec<ItemId>> = rated
            .iter()
            .map(|h| h.iter().filter(|r| r.1).map(|r| r.0).collect())
            .collect();
        let mut split = Self::leave_last_two(&positives, n_items);
        for (u, h) in rated.iter().enumerate() {
            let n = positives[u].len();
            if n < 3 {
                continue;
            }
            // Films rated below the threshold before the k-th positive.
            let unliked_before = |k: usize| -> Vec<ItemId> {
                let mut seen = 0;
                let mut out = Vec::new();
                for &(item, positive) in h {
                    if positive {
                        if seen == k {
                            break;
                        }
                        seen += 1;
                    } else {
                        out.push(item);
                    }
                }
                out
            };
            split.unliked_before_valid[u] = unliked_before(n - 2);
            split.unliked_before_test[u] = unliked_before(n - 1);
        }
        split
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

/// Which earlier films leave the ranking before a target is ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Masking {
    /// The user's earlier positives only: RecBole's full-sort evaluation on
    /// a positives-only data set.
    Positives,
    /// Every film the user rated before the target, at any rating: what the
    /// product does, since it never recommends a rated film back.
    Rated,
}

impl Masking {
    pub const ALL: [Masking; 2] = [Masking::Positives, Masking::Rated];

    pub fn name(self) -> &'static str {
        match self {
            Masking::Positives => "positives",
            Masking::Rated => "rated",
        }
    }
}

/// The metrics of one phase under both maskings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct MaskedMetrics {
    /// Earlier positives masked (RecBole's).
    pub positives: NextMetrics,
    /// Every earlier rated film masked (the product's).
    pub rated: NextMetrics,
}

impl MaskedMetrics {
    pub fn of(&self, masking: Masking) -> &NextMetrics {
        match masking {
            Masking::Positives => &self.positives,
            Masking::Rated => &self.rated,
        }
    }
}

/// Hit@1/10/50 and NDCG@10 of `model` on `phase`'s targets, under both
/// maskings.
pub fn evaluate(model: &NextItemModel, split: &NextSplit, phase: Phase) -> MaskedMetrics {
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
) -> MaskedMetrics {
    let stride = stride.max(1);
    let ranks: Vec<(usize, usize)> = (0..split.train.len())
        .into_par_iter()
        .filter(|u| u % stride == 0)
        .filter_map(|u| {
            let train = &split.train[u];
            let (target, history, unliked): (ItemId, Vec<ItemId>, _) = match phase {
                Phase::Valid => (split.valid[u]?, train.clone(), &split.unliked_before_valid),
                Phase::Test => {
                    let v = split.valid[u]?;
                    (
                        split.test[u]?,
                        train.iter().copied().chain([v]).collect(),
                        &split.unliked_before_test,
                    )
                }
            };
            let scores = model.scores(&history);
            let positives = rank_of(&scores, target, &history);
            let rated = match unliked.get(u) {
                Some(extra) if !extra.is_empty() => {
                    let all: Vec<ItemId> = history.iter().chain(extra).copied().collect();
                    rank_of(&scores, target, &all)
                }
                _ => positives,
            };
            Some((positives, rated))
        })
        .collect();
    let (positives, rated): (Vec<usize>, Vec<usize>) = ranks.into_iter().unzip();
    MaskedMetrics {
        positives: metrics_of(&positives),
        rated: metrics_of(&rated),
    }
}

/// The masking whose validation NDCG@10 chooses settings: RecBole's, so
/// that both sides of the comparison choose the same way (and the served
/// blend is the one chosen before the rated masking was reported).
pub const CHOOSE_BY: Masking = Masking::Positives;

/// One setting tried on validation.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub config: NextConfig,
    pub valid: MaskedMetrics,
}

/// What tuning chose.
#[derive(Debug, Clone)]
pub struct Tuned {
    pub config: NextConfig,
    pub trials: Vec<Trial>,
    /// The SASRec trained on the training histories, for `sasrec` and
    /// `blend-sasrec`: the one the test targets are scored with.
    pub sequential: Option<SeqPart>,
    /// Seconds SASRec took to train, where it was.
    pub sequential_fit_s: f64,
}

impl Tuned {
    /// The model with the chosen settings, fit on the training histories
    /// (reusing the SASRec tuning trained).
    pub fn fit(&self, split: &NextSplit) -> Result<NextItemModel> {
        self.fit_on(&split.train, split.n_items)
    }

    /// The model with the chosen settings fit on `histories`. SASRec is
    /// the one tuning trained, not trained again (that would double its
    /// minutes): it reads the newer positives as history.
    pub fn fit_on(&self, histories: &[Vec<ItemId>], n_items: usize) -> Result<NextItemModel> {
        match &self.sequential {
            Some(seq) => {
                NextItemModel::fit_with_sequential(histories, n_items, &self.config, seq.clone())
            }
            None => NextItemModel::fit(histories, n_items, &self.config),
        }
    }
}

/// The settings of `kind` with the best validation NDCG@10 on a small grid,
/// and every trial. Blend tunes EASE and transitions on their own first,
/// then the weight between them; `blend-sasrec` then trains SASRec (its
/// epochs chosen on validation) and tunes its weight, 0 included.
pub fn tune(kind: NextKind, split: &NextSplit, progress: &dyn Progress) -> Result<Tuned> {
    tune_from(NextConfig::new(kind), split, progress)
}

/// [`tune`] starting from `base`'s settings (its kind, and SASRec's seed
/// and sizes).
pub fn tune_from(base: NextConfig, split: &NextSplit, progress: &dyn Progress) -> Result<Tuned> {
    let kind = base.kind;
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
        seq: None,
        seq_fit_s: 0.0,
    };
    let blend = |grid: &mut Grid| -> Result<NextConfig> {
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
        Ok(grid.best(blends)?.unwrap_or(base))
    };
    let chosen = match kind {
        NextKind::Pop => base,
        NextKind::Ease => grid.best(ease_grid(base))?.unwrap_or(base),
        NextKind::ItemKnn => grid.best(knn_grid(base))?.unwrap_or(base),
        NextKind::Transitions => grid.best(trans_grid(base))?.unwrap_or(base),
        NextKind::Blend => blend(&mut grid)?,
        NextKind::SasRec => {
            let epochs = grid.train_sequential(base.sasrec)?;
            let c = NextConfig {
                sasrec: SeqConfig {
                    epochs,
                    ..base.sasrec
                },
                ..base
            };
            grid.best(vec![c])?.unwrap_or(c)
        }
        NextKind::BlendSasRec => {
            let b = blend(&mut grid)?;
            let epochs = grid.train_sequential(base.sasrec)?;
            let c = NextConfig {
                kind: NextKind::BlendSasRec,
                sasrec: SeqConfig {
                    epochs,
                    ..base.sasrec
                },
                ..b
            };
            let weights = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
                .iter()
                .map(|&sequential| NextConfig { sequential, ..c })
                .collect();
            grid.best(weights)?.unwrap_or(c)
        }
    };
    Ok(Tuned {
        config: chosen,
        trials: grid.trials,
        sequential: grid.seq,
        sequential_fit_s: grid.seq_fit_s,
    })
}

/// Fits and scores configurations on validation, keeping every trial.
struct Grid<'a> {
    split: &'a NextSplit,
    /// Every `stride`-th validation user is read.
    stride: usize,
    progress: &'a dyn Progress,
    trials: Vec<Trial>,
    /// The SASRec trained for this split, once.
    seq: Option<SeqPart>,
    seq_fit_s: f64,
}

impl Grid<'_> {
    /// Trains SASRec on the training histories with early stopping on
    /// validation, keeps it for the trials, and returns the chosen epochs.
    fn train_sequential(&mut self, config: SeqConfig) -> Result<usize> {
        let (m, log) = SasRec::fit(
            &self.split.train,
            &self.split.valid,
            self.split.n_items,
            config,
            self.progress,
        )?;
        tracing::info!(
            best_epoch = log.best_epoch,
            epochs = log.epochs,
            fit_s = log.fit_s,
            "SASRec trained"
        );
        self.seq = Some(SeqPart(std::sync::Arc::new(m)));
        self.seq_fit_s = log.fit_s;
        Ok(log.best_epoch.max(1))
    }

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
            let m = match (&self.seq, c.kind.is_sequential()) {
                (Some(seq), true) => NextItemModel::fit_with_sequential(
                    &self.split.train,
                    self.split.n_items,
                    &c,
                    seq.clone(),
                )?,
                _ => NextItemModel::fit(&self.split.train, self.split.n_items, &c)?,
            };
            let t = Trial {
                config: c,
                valid: evaluate_every(&m, self.split, Phase::Valid, self.stride),
            };
            if best
                .as_ref()
                .is_none_or(|b| t.valid.of(CHOOSE_BY).ndcg10 > b.valid.of(CHOOSE_BY).ndcg10)
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
    use crate::next::NextKind;

    #[test]
    fn ranks_skip_masked_items_and_break_ties_by_id() {
        let s = [0.9, 0.5, 0.5, 0.1];
        assert_eq!(rank_of(&s, ItemId(2), &[]), 2);
        assert_eq!(rank_of(&s, ItemId(2), &[ItemId(0)]), 1);
        assert_eq!(rank_of(&s, ItemId(1), &[ItemId(2)]), 1);
        assert_eq!(rank_of(&s, ItemId(0), &[ItemId(0)]), 0);
        // A film masked twice leaves the ranking once.
        assert_eq!(rank_of(&s, ItemId(3), &[ItemId(0), ItemId(0)]), 2);
    }

    #[test]
    fn the_rated_masking_keeps_only_unliked_films_before_each_target() {
        // Positives 0, 2, 4, 6; films 1, 3, 5 rated below the threshold,
        // in between; 7 rated low after the last positive.
        let rated = vec![vec![
            (ItemId(0), true),
            (ItemId(1), false),
            (ItemId(2), true),
            (ItemId(3), false),
            (ItemId(4), true),
            (ItemId(5), false),
            (ItemId(6), true),
            (ItemId(7), false),
        ]];
        let s = NextSplit::leave_last_two_rated(&rated, 8);
        assert_eq!(s.train[0], vec![ItemId(0), ItemId(2)]);
        assert_eq!(s.valid[0], Some(ItemId(4)));
        assert_eq!(s.test[0], Some(ItemId(6)));
        assert_eq!(s.unliked_before_valid[0], vec![ItemId(1), ItemId(3)]);
        assert_eq!(
            s.unliked_before_test[0],
            vec![ItemId(1), ItemId(3), ItemId(5)]
        );
    }

    /// Users walking around a ring of 30 items, each with its own stride
    /// (1, 2 or 3): the next film is the last plus the stride, which the
    /// last film alone cannot tell (transitions, EASE) and the last two
    /// can (SASRec). With `one_stride`, every user's stride is 1, and
    /// transitions know the next film exactly.
    fn ring_split(one_stride: bool) -> NextSplit {
        let n = 30;
        let histories: Vec<Vec<ItemId>> = (0..120)
            .map(|u| {
                let stride = if one_stride { 1 } else { 1 + u % 3 };
                (0..10)
                    .map(|k| ItemId(((u * 7 + k * stride) % n) as u32))
                    .collect()
            })
            .collect();
        NextSplit::leave_last_two(&histories, n)
    }

    /// A small SASRec with enough steps for 120 short histories.
    fn small_sasrec() -> NextConfig {
        let mut base = NextConfig::new(NextKind::BlendSasRec);
        base.sasrec = SeqConfig {
            hidden: 32,
            inner: 64,
            max_len: 10,
            batch: 16,
            epochs: 40,
            eval_every: 10,
            patience: 2,
            ..SeqConfig::default()
        };
        base
    }

    #[test]
    fn validation_gives_sasrec_no_weight_where_it_adds_nothing() {
        // One stride: transitions know the next film exactly.
        let split = ring_split(true);
        let tuned = tune_from(small_sasrec(), &split, &recagent_core::NoProgress).expect("tune");
        assert_eq!(tuned.config.sequential, 0.0, "{:?}", tuned.config);
        assert!(tuned.config.sasrec.epochs >= 1);
        assert!(tuned.sequential_fit_s > 0.0);
        let with = tuned.fit(&split).expect("fit");
        let blend = NextItemModel::fit(
            &split.train,
            split.n_items,
            &NextConfig {
                kind: NextKind::Blend,
                ..tuned.config
            },
        )
        .expect("fit");
        assert_eq!(
            evaluate(&with, &split, Phase::Test),
            evaluate(&blend, &split, Phase::Test)
        );
    }

    #[test]
    fn a_blend_with_sasrec_counts_it_and_reloads_the_same() {
        let split = ring_split(false);
        let cfg = NextConfig {
            sequential: 1.0,
            ..small_sasrec()
        };
        let (seq, _) = SasRec::fit(
            &split.train,
            &split.valid,
            split.n_items,
            cfg.sasrec,
            &recagent_core::NoProgress,
        )
        .expect("sasrec");
        let part = SeqPart(std::sync::Arc::new(seq));
        let with = NextItemModel::fit_with_sequential(&split.train, split.n_items, &cfg, part)
            .expect("fit");
        let zero = NextConfig {
            sequential: 0.0,
            ..cfg
        };
        let without = NextItemModel::fit_with_sequential(
            &split.train,
            split.n_items,
            &zero,
            with.sequential().expect("part").clone(),
        )
        .expect("fit");
        let h = [ItemId(3), ItemId(5)];
        assert_ne!(
            with.scores(&h),
            without.scores(&h),
            "the part's weight counts"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        with.save(dir.path()).expect("save");
        let back = NextItemModel::load(dir.path(), split.n_items).expect("load");
        assert!(back.sequential().is_some());
        for (a, b) in with.scores(&h).iter().zip(back.scores(&h)) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }

    #[test]
    fn the_rated_masking_never_ranks_a_target_lower() {
        // A popularity model: film 1 (rated low before the target) outranks
        // the target under RecBole's masking, not under the rated one.
        let rated: Vec<Vec<(ItemId, bool)>> = (0..6)
            .map(|u| {
                if u == 0 {
                    vec![
                        (ItemId(2), true),
                        (ItemId(3), true),
                        (ItemId(1), false),
                        (ItemId(4), true),
                    ]
                } else {
                    vec![(ItemId(1), true), (ItemId(4), true)]
                }
            })
            .collect();
        let split = NextSplit::leave_last_two_rated(&rated, 5);
        let pop = NextConfig::new(NextKind::Pop);
        let m = NextItemModel::fit(&split.train, 5, &pop).expect("fit");
        let e = evaluate(&m, &split, Phase::Test);
        assert_eq!(e.positives.users, 1);
        assert_eq!(e.positives.hit1, 0.0, "film 1 is more popular than 4");
        assert_eq!(e.rated.hit1, 1.0, "film 1 was rated before, so 4 is first");
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
