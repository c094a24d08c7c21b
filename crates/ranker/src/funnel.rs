//! The ranking funnel: pre-rank many candidates to a few hundred, then rank
//! those with the CTR model, for one user with an explicit history.
//!
//! With a next-item model the funnel answers both questions a
//! recommendation needs, as ESMM's pCTCVR = pCTR × pCVR does:
//!
//! * P(pick): the next-item model's score, scaled to the pool's best
//!   (`pick ∈ (0, 1]`); it also does the pre-ranking;
//! * P(like | picked): the CTR model's probability `like`;
//! * final = `pick^a · like^(1−a)`, with `a` ([`Combine::pick_weight`])
//!   fit on validation episodes (`sim::crm`), never on test ones.
//!
//! The request's relevance multiplies on top of this in the agent.
//!
//! This is the composition the agent's `rank_candidates` tool, the
//! evaluation's CRM-only baseline and `recagent bench ranker` all call. It
//! is synchronous CPU work (a millisecond or two for 500 candidates); from
//! async code, run it in `spawn_blocking` on an `Arc<Funnel>`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use recagent_core::fsx::micros_since;
use recagent_core::{ItemId, Scored, Stage, StageTrace, UserId};

use crate::error::{Error, Result};
use crate::next::NextItemModel;
use crate::prerank::PreRanker;
use crate::ranker::Ranker;

/// How the funnel combines P(pick) with P(like | picked).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Combine {
    /// `a` in `pick^a · like^(1−a)`: 0 ranks by the CTR model alone, 1 by
    /// the next-item model alone.
    pub pick_weight: f32,
}

impl Default for Combine {
    /// The weight `recagent eval` fit on ML-100K's validation episodes
    /// (docs/ranker.md).
    fn default() -> Self {
        Self { pick_weight: 1.0 }
    }
}

/// Floor of a scaled pick score, so that an item the next-item model has
/// no signal for is ranked low, not removed.
const PICK_FLOOR: f32 = 1e-3;

/// One pooled candidate's two signals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    pub item: ItemId,
    /// The next-item score scaled to the pool's best (1 without a model).
    pub pick: f32,
    /// The CTR model's probability.
    pub like: f32,
}

impl Combine {
    /// The final score of one candidate.
    pub fn score(&self, s: &Signals) -> f32 {
        let a = self.pick_weight.clamp(0.0, 1.0);
        (a * s.pick.max(PICK_FLOOR).ln() + (1.0 - a) * s.like.max(1e-6).ln()).exp()
    }

    /// The `k` best of `signals` under this combination, best first.
    pub fn rank(&self, signals: &[Signals], k: usize) -> Vec<Scored> {
        let mut out: Vec<Scored> = signals
            .iter()
            .map(|s| Scored {
                item: s.item,
                score: self.score(s),
            })
            .collect();
        crate::sort_best_first(&mut out);
        out.truncate(k);
        out
    }
}

/// Who the ranking is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserContext<'a> {
    /// A catalog user, or `None` for an anonymous session.
    pub user: Option<UserId>,
    /// The user's positives, oldest first: the only history the models see.
    /// An evaluation passes the history without its held-out target.
    pub history: &'a [ItemId],
}

/// How far each stage cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunnelConfig {
    /// The pre-ranker keeps this many (skipped when there are no more).
    pub prerank_to: usize,
    /// The ranker returns this many.
    pub k: usize,
}

impl Default for FunnelConfig {
    fn default() -> Self {
        Self {
            prerank_to: 300,
            k: 10,
        }
    }
}

/// What the funnel returns.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelOutput {
    /// The `k` best candidates with the ranker's click probabilities, best
    /// first.
    pub ranked: Vec<Scored>,
    /// One entry per stage that ran: pre-rank (when it cut), then rank.
    pub stages: Vec<StageTrace>,
    /// The history items the ranker pooled (the last `history_len` it
    /// knows), for traces.
    pub pooled_history: Vec<ItemId>,
    /// Both signals of every ranked item, in `ranked` order.
    pub signals: Vec<Signals>,
    /// Whether the next-item model had nothing to go on (no history) and
    /// scored by popularity.
    pub cold: bool,
}

/// A ranker with a next-item model or a two-tower pre-ranker in front.
#[derive(Debug, Clone)]
pub struct Funnel {
    ranker: Arc<Ranker>,
    prerank: Option<Arc<PreRanker>>,
    next: Option<Arc<NextItemModel>>,
    combine: Combine,
}

impl Funnel {
    pub fn new(ranker: Arc<Ranker>, prerank: Option<Arc<PreRanker>>) -> Self {
        Self {
            ranker,
            prerank,
            next: None,
            combine: Combine::default(),
        }
    }

    /// Puts a next-item model in front: it pre-ranks (in place of the
    /// two-tower) and its P(pick) is combined with the CTR model's
    /// P(like | picked) by `combine`.
    pub fn with_next(mut self, next: Arc<NextItemModel>, combine: Combine) -> Self {
        self.next = Some(next);
        self.combine = combine;
        self
    }

    /// The same funnel with no next-item model: the CTR model (after the
    /// two-tower pre-rank, if any) ranks alone, as before next-item models
    /// existed. For ablations.
    pub fn without_next(&self) -> Funnel {
        Funnel {
            next: None,
            combine: Combine::default(),
            ..self.clone()
        }
    }

    pub fn next(&self) -> Option<&NextItemModel> {
        self.next.as_deref()
    }

    pub fn combine(&self) -> Combine {
        self.combine
    }

    pub fn ranker(&self) -> &Ranker {
        &self.ranker
    }

    pub fn prerank(&self) -> Option<&PreRanker> {
        self.prerank.as_deref()
    }

    /// Pre-ranks `candidates` to `cfg.prerank_to` and ranks those to
    /// `cfg.k`. Duplicate candidates count once; an id outside the catalog
    /// is an error naming it.
    pub fn run(
        &self,
        user: &UserContext<'_>,
        candidates: &[ItemId],
        cfg: &FunnelConfig,
    ) -> Result<FunnelOutput> {
        let (signals, stages, cold) = self.signals(user, candidates, cfg.prerank_to)?;
        let t = Instant::now();
        let ranked = match self.next {
            Some(_) => self.combine.rank(&signals, cfg.k),
            None => {
                let mut v: Vec<Scored> = signals
                    .iter()
                    .map(|s| Scored {
                        item: s.item,
                        score: s.like,
                    })
                    .collect();
                crate::sort_best_first(&mut v);
                v.truncate(cfg.k);
                v
            }
        };
        let by_item: std::collections::HashMap<ItemId, Signals> =
            signals.iter().map(|s| (s.item, *s)).collect();
        let mut stages = stages;
        if let Some(last) = stages.last_mut() {
            last.count_out = ranked.len();
            last.micros += micros_since(t);
        }
        Ok(FunnelOutput {
            signals: ranked
                .iter()
                .filter_map(|s| by_item.get(&s.item).copied())
                .collect(),
            ranked,
            stages,
            pooled_history: self.ranker.pooled_history(user.history),
            cold,
        })
    }

    /// Pre-ranks `candidates` to `prerank_to` and returns both signals of
    /// every pooled item (unordered), the stage traces, and whether the
    /// next-item model was cold. [`Funnel::run`] orders them; fitting the
    /// combination calls this once per episode and orders them many ways.
    pub fn signals(
        &self,
        user: &UserContext<'_>,
        candidates: &[ItemId],
        prerank_to: usize,
    ) -> Result<(Vec<Signals>, Vec<StageTrace>, bool)> {
        let n_items = self.ranker.encoder.n_items();
        if let Some(bad) = candidates.iter().find(|i| i.index() >= n_items) {
            return Err(Error::Invalid(format!(
                "candidate {} is not in the catalog ({n_items} items)",
                bad.0
            )));
        }
        let mut seen = HashSet::with_capacity(candidates.len());
        let unique: Vec<ItemId> = candidates
            .iter()
            .copied()
            .filter(|i| seen.insert(*i))
            .collect();
        let mut stages = Vec::with_capacity(2);
        let t = Instant::now();
        // P(pick) of the candidates only: on a large catalog the rows the
        // history touches are added up, not the whole catalog.
        let picks: Option<std::collections::HashMap<ItemId, f32>> = self
            .next
            .as_ref()
            .map(|m| m.scores_of(user.history, &unique));
        let cold = self.next.as_ref().is_some_and(|m| m.is_cold(user.history));
        let pool: Vec<ItemId> = match (&picks, &self.prerank) {
            (Some(p), _) if unique.len() > prerank_to => {
                let mut v: Vec<Scored> = unique
                    .iter()
                    .map(|&item| Scored {
                        item,
                        score: p.get(&item).copied().unwrap_or(0.0),
                    })
                    .collect();
                crate::sort_best_first(&mut v);
                v.truncate(prerank_to);
                let kept: Vec<ItemId> = v.into_iter().map(|s| s.item).collect();
                stages.push(StageTrace {
                    stage: Stage::PreRank,
                    count_in: unique.len(),
                    count_out: kept.len(),
                    micros: micros_since(t),
                });
                kept
            }
            (None, Some(pre)) if unique.len() > prerank_to => {
                let kept: Vec<ItemId> = pre
                    .top_k(user.user, user.history, &unique, prerank_to)
                    .into_iter()
                    .map(|s| s.item)
                    .collect();
                stages.push(StageTrace {
                    stage: Stage::PreRank,
                    count_in: unique.len(),
                    count_out: kept.len(),
                    micros: micros_since(t),
                });
                kept
            }
            _ => unique,
        };
        let t = Instant::now();
        let likes = self.ranker.score(user.user, user.history, &pool)?;
        let best_pick = picks.as_ref().map_or(1.0, |p| {
            pool.iter()
                .map(|i| p.get(i).copied().unwrap_or(0.0))
                .fold(0f32, f32::max)
        });
        let signals: Vec<Signals> = pool
            .iter()
            .zip(likes)
            .map(|(&item, like)| Signals {
                item,
                pick: match &picks {
                    Some(p) if best_pick > 0.0 => {
                        (p.get(&item).copied().unwrap_or(0.0) / best_pick).max(0.0)
                    }
                    _ => 1.0,
                },
                like,
            })
            .collect();
        stages.push(StageTrace {
            stage: Stage::Rank,
            count_in: pool.len(),
            count_out: pool.len(),
            micros: micros_since(t),
        });
        Ok((signals, stages, cold))
    }
}
