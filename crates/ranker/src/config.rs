//! What a saved ranker records beside its weights: `config.json`.
//!
//! The network's shape, the feature vocabularies, what training measured
//! and where the knowledge text came from. Both training and loading use
//! these types; neither module depends on the other through them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::features::FeatureSpace;
use crate::model::NetConfig;

pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";
/// The current `config.json` format.
pub const FORMAT_VERSION: u32 = 2;

/// `config.json` beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerConfig {
    pub format_version: u32,
    pub net: NetConfig,
    pub space: FeatureSpace,
    pub report: Option<TrainReport>,
    /// Which text the knowledge vectors were embedded from, so that loading
    /// rebuilds the same vectors. `None` for a model without the field.
    #[serde(default)]
    pub knowledge: Option<KnowledgeSource>,
    /// Where the user knowledge vectors came from (`text_file`: the
    /// `users.jsonl` of `recagent knowledge users`). `None` without the
    /// user field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_knowledge: Option<KnowledgeSource>,
}

/// The source of a ranker's knowledge vectors: every item's catalog text
/// (title, genres, year, its own text), plus an optional JSONL file of
/// extra text per item key (e.g. LLM-written descriptions).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeSource {
    pub text_file: Option<PathBuf>,
}

/// What training measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub model: String,
    pub knowledge: bool,
    pub seed: u64,
    /// Length of the pooled-history field (0: the field is off).
    #[serde(default)]
    pub history_len: usize,
    /// Rank of DCNv2's cross layers (`None`: full rank, or not DCNv2).
    #[serde(default)]
    pub cross_rank: Option<usize>,
    pub epochs: usize,
    pub best_epoch: usize,
    pub train_rows: usize,
    pub valid_auc: f64,
    pub valid_logloss: f64,
    pub test_auc: f64,
    pub test_logloss: f64,
    pub train_samples_per_s: f64,
    pub wall_s: f64,
    /// CTRL's alignment stage, when the model went through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctrl: Option<crate::ctrl::CtrlReport>,
}
