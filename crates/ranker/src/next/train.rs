//! Training a next-item model end to end: choose its settings on the
//! validation targets, report the test targets, then fit the model that is
//! served on every positive.

use std::time::Instant;

use recagent_core::{ItemId, Progress};
use serde::Serialize;

use super::model::{NextConfig, NextItemModel, NextKind};
use super::protocol::{NextMetrics, NextSplit, Phase, Trial, evaluate, tune};
use crate::error::Result;

/// What `recagent train NAME --model ease|…` reports.
#[derive(Debug, Clone, Serialize)]
pub struct NextReport {
    pub model: String,
    pub config: NextConfig,
    pub users: usize,
    pub valid: NextMetrics,
    pub test: NextMetrics,
    /// Seconds to fit the chosen model once on the training histories.
    pub fit_s: f64,
    /// Seconds of the whole run: tuning, testing and the final fit.
    pub wall_s: f64,
    pub trials: Vec<Trial>,
}

/// Tunes `kind` on `histories` (every user's positives, oldest first),
/// tests it, and fits the served model on all of `histories`.
pub fn train_next(
    histories: &[Vec<ItemId>],
    n_items: usize,
    kind: NextKind,
    progress: &dyn Progress,
) -> Result<(NextItemModel, NextReport)> {
    let started = Instant::now();
    let split = NextSplit::leave_last_two(histories, n_items);
    let (config, trials) = tune(kind, &split, progress)?;
    let t = Instant::now();
    let model = NextItemModel::fit(&split.train, n_items, &config)?;
    let fit_s = t.elapsed().as_secs_f64();
    let valid = evaluate(&model, &split, Phase::Valid);
    let test = evaluate(&model, &split, Phase::Test);
    progress.stage("fitting the served model on every positive", None);
    let served = NextItemModel::fit(histories, n_items, &config)?;
    progress.finish();
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
            trials,
        },
    ))
}
