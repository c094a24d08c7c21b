//! The ranking funnel: pre-rank many candidates to a few hundred, then rank
//! those with the CTR model, for one user with an explicit history.
//!
//! This is the composition the agent's `rank_candidates` tool, the
//! evaluation's CRM-only baseline and `recagent bench ranker` all call. It
//! is synchronous CPU work (a millisecond or two for 500 candidates); from
//! async code, run it in `spawn_blocking` on an `Arc<Funnel>`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use recagent_core::{ItemId, Scored, Stage, StageTrace, UserId};

use crate::error::{Error, Result};
use crate::prerank::PreRanker;
use crate::ranker::Ranker;

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
}

/// A ranker with an optional pre-ranker in front.
#[derive(Debug, Clone)]
pub struct Funnel {
    ranker: Arc<Ranker>,
    prerank: Option<Arc<PreRanker>>,
}

fn micros(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
}

impl Funnel {
    pub fn new(ranker: Arc<Ranker>, prerank: Option<Arc<PreRanker>>) -> Self {
        Self { ranker, prerank }
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
        let pool = match &self.prerank {
            Some(pre) if unique.len() > cfg.prerank_to => {
                let t = Instant::now();
                let kept: Vec<ItemId> = pre
                    .top_k(user.user, user.history, &unique, cfg.prerank_to)
                    .into_iter()
                    .map(|s| s.item)
                    .collect();
                stages.push(StageTrace {
                    stage: Stage::PreRank,
                    count_in: unique.len(),
                    count_out: kept.len(),
                    micros: micros(t),
                });
                kept
            }
            _ => unique,
        };
        let t = Instant::now();
        let ranked = self.ranker.rank(user.user, user.history, &pool, cfg.k)?;
        stages.push(StageTrace {
            stage: Stage::Rank,
            count_in: pool.len(),
            count_out: ranked.len(),
            micros: micros(t),
        });
        Ok(FunnelOutput {
            ranked,
            stages,
            pooled_history: self.ranker.pooled_history(user.history),
        })
    }
}
