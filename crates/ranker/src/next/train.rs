//! Training a next-item model end to end: choose its settings on the
//! validation targets, report the test targets, then fit the model that is
//! served on every positive.

use std::time::Instant;

use recagent_core::{ItemId, Progress};
use serde::Serialize;

use super::model::{NextConfig, NextItemModel, NextKind};
use super::protocol::{MaskedMetrics, NextSplit, Phase, Trial, evaluate, tune_from};
use crate::error::Result;

/// What `recagent train NAME --model ease|…` reports.
#[derive(Debug, Clone, Serialize)]
pub struct NextReport {
    pub model: String,
    pub config: NextConfig,
    pub users: usize,
    pub valid: MaskedMetrics,
    pub test: MaskedMetrics,
    /// Seconds to fit the chosen model once on the training histories
    /// (SASRec's training, with its validation reads, included).
    pub fit_s: f64,
    /// Seconds of the whole run: tuning, testing and the final fit.
    pub wall_s: f64,
    /// Serving one request with the served model: score every item for a
    /// user's history and keep the best 300 unseen, over up to 1,000 users
    /// (milliseconds, one thread). What a wordless turn's recall costs.
    pub recall_p50_ms: f64,
    pub recall_p99_ms: f64,
    /// For `blend-sasrec`: the test metrics of its parts, `sasrec` alone
    /// and `blend` (SASRec's weight 0), so one run is its own ablation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<(String, MaskedMetrics)>,
    pub trials: Vec<Trial>,
}

/// Tunes `kind` on `rated` (every user's rated films, oldest first, each
/// with whether it is a positive), tests it under both maskings, and fits
/// the served model on every positive. `seed` seeds SASRec (the other
/// models are deterministic).
pub fn train_next(
    rated: &[Vec<(ItemId, bool)>],
    n_items: usize,
    kind: NextKind,
    seed: u64,
    progress: &dyn Progress,
) -> Result<(NextItemModel, NextReport)> {
    let started = Instant::now();
    let split = NextSplit::leave_last_two_rated(rated, n_items);
    let histories: Vec<Vec<ItemId>> = rated
        .iter()
        .map(|h| h.iter().filter(|r| r.1).map(|r| r.0).collect())
        .collect();
    let histories = &histories;
    let mut base = NextConfig::new(kind);
    base.sasrec.seed = seed;
    let tuned = tune_from(base, &split, progress)?;
    let t = Instant::now();
    let model = tuned.fit(&split)?;
    let fit_s = t.elapsed().as_secs_f64() + tuned.sequential_fit_s;
    let (config, trials) = (tuned.config, tuned.trials.clone());
    let mut parts = Vec::new();
    if let (NextKind::BlendSasRec, Some(seq)) = (kind, &tuned.sequential) {
        for (name, c) in [
            (
                "sasrec",
                NextConfig {
                    kind: NextKind::SasRec,
                    ..config
                },
            ),
            (
                "blend",
                NextConfig {
                    sequential: 0.0,
                    ..config
                },
            ),
        ] {
            let m = NextItemModel::fit_with_sequential(&split.train, n_items, &c, seq.clone())?;
            parts.push((name.to_owned(), evaluate(&m, &split, Phase::Test)));
        }
    }
    let valid = evaluate(&model, &split, Phase::Valid);
    let test = evaluate(&model, &split, Phase::Test);
    progress.stage("fitting the served model on every positive", None);
    let served = tuned.fit_on(histories, n_items)?;
    progress.finish();
    let (recall_p50_ms, recall_p99_ms) = time_recall(&served, histories);
    Ok((
        served,
        NextReport {
            model: kind.name().to_owned(),
            config,
            users: split.users(),
            valid,
            test,
            fit_s,
            wall_s: started.elapsed().as_secs_f64(),
            recall_p50_ms,
            recall_p99_ms,
            parts,
            trials,
        },
    ))
}

/// p50 and p99 of [`NextItemModel::top_k`] (300, the user's history left
/// out) over up to 1,000 users with a history.
fn time_recall(model: &NextItemModel, histories: &[Vec<ItemId>]) -> (f64, f64) {
    let users: Vec<&Vec<ItemId>> = histories.iter().filter(|h| !h.is_empty()).collect();
    let step = users.len().div_ceil(1000).max(1);
    let mut ms: Vec<f64> = users
        .iter()
        .step_by(step)
        .map(|h| {
            let seen: std::collections::HashSet<ItemId> = h.iter().copied().collect();
            let t = Instant::now();
            std::hint::black_box(model.top_k(h, 300, |i| !seen.contains(&i)));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    if ms.is_empty() {
        return (0.0, 0.0);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[(((ms.len() - 1) as f64) * q).round() as usize];
    (at(0.5), at(0.99))
}
