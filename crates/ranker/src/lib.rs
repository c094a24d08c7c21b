//! The conventional recommendation models behind `rank_candidates`.
//!
//! * [`features`]: vocabularies fixed at training time ([`FeatureSpace`]) and
//!   the [`Encoder`] that maps catalog users and items onto them; anything
//!   unseen maps to an out-of-vocabulary row.
//! * `model` (private; [`ModelKind`] and [`NetConfig`] are re-exported): LR, FM, DeepFM and DCNv2 (full or low-rank crossing) in
//!   candle, split into a user side, an item side and a head so that scoring
//!   can cache the item side.
//! * [`train`]: AdamW mini-batch training with early stopping on validation
//!   AUC, seeded.
//! * [`config`]: what a saved model records ([`RankerConfig`],
//!   [`TrainReport`], [`KnowledgeSource`]); training and loading share it.
//! * [`ranker`]: a trained model bound to a catalog ([`Ranker::score`]).
//!   The user's history is always an argument: no model reads the log.
//! * [`prerank`]: a two-tower dot-product model that cuts thousands of
//!   candidates to hundreds.
//! * [`funnel`]: [`Funnel`], pre-rank then rank for one [`UserContext`],
//!   with counts and time per stage.
//! * [`store`]: [`ModelStore`], where a catalog's models live, and loading a
//!   ranker with its knowledge vectors.
//! * `save` (private): whole-folder saves ([`store::replace_dir`]), a leaf
//!   that the models and the store both use, so neither imports the other.
//! * `batch` (private; [`KnowledgeTable`] is re-exported): packing encoded rows into tensors, and the KAR-style
//!   [`KnowledgeTable`] of per-item knowledge vectors.
//! * [`next`]: next-item models (EASE, item-kNN, transitions, a blend):
//!   P(pick), the score recall and pre-ranking use.
//! * [`metrics`]: AUC and LogLoss.

use std::cmp::Ordering;

use recagent_core::Scored;

mod batch;
pub mod config;
pub mod ctrl;
pub mod error;
pub mod features;
pub mod funnel;
pub mod metrics;
mod model;
pub mod next;
pub mod prerank;
pub mod ranker;
mod save;
pub mod store;
pub mod train;

pub use batch::KnowledgeTable;
pub use config::{KnowledgeSource, RankerConfig, TrainReport};
pub use ctrl::{CtrlConfig, CtrlReport, RowEncoder};
pub use error::{Error, Result};
pub use features::{Encoder, FeatureSpace};
pub use funnel::{Combine, Funnel, FunnelConfig, FunnelOutput, Signals, UserContext};
pub use model::{AdaptorConfig, ModelKind, NetConfig};
pub use next::{MaskedMetrics, NextConfig, NextItemModel, NextKind, NextMetrics, NextSplit};
pub use prerank::{PreRankConfig, PreRankReport, PreRanker, train_prerank};
pub use ranker::Ranker;
pub use store::{ModelStore, knowledge_table, load_ranker_dir, user_knowledge_table};
pub use train::{Ctrl, DEFAULT_CROSS_RANK, TrainConfig, TrainInputs, train, train_with};

/// Best score first; ties by item id, so every ordering is deterministic.
pub(crate) fn best_first(a: &Scored, b: &Scored) -> Ordering {
    b.score.total_cmp(&a.score).then(a.item.cmp(&b.item))
}

pub(crate) fn sort_best_first(v: &mut [Scored]) {
    v.sort_by(best_first);
}
