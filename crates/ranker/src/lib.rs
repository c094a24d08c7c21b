//! The conventional recommendation models behind `rank_candidates`.
//!
//! * [`features`]: vocabularies fixed at training time ([`FeatureSpace`]) and
//!   the [`Encoder`] that maps catalog users and items onto them; anything
//!   unseen maps to an out-of-vocabulary row.
//! * [`model`]: LR, FM, DeepFM and DCNv2 in candle, split into a user side,
//!   an item side and a head so that scoring can cache the item side.
//! * [`train`]: AdamW mini-batch training with early stopping on validation
//!   AUC, seeded.
//! * [`ranker`]: a trained model bound to a catalog ([`Ranker::score`]), with
//!   safetensors + JSON save and load.
//! * [`prerank`]: a two-tower dot-product model that cuts thousands of
//!   candidates to hundreds.
//! * [`batch`]: packing encoded rows into tensors, and the KAR-style
//!   [`KnowledgeTable`] of per-item knowledge vectors.
//! * [`metrics`]: AUC and LogLoss.

pub mod batch;
pub mod error;
pub mod features;
pub mod metrics;
pub mod model;
pub mod prerank;
pub mod ranker;
pub mod train;

pub use batch::KnowledgeTable;
pub use error::{Error, Result};
pub use features::{Encoder, FeatureSpace};
pub use model::{ModelKind, NetConfig};
pub use prerank::{PreRankConfig, PreRankReport, PreRanker, train_prerank};
pub use ranker::Ranker;
pub use train::{TrainConfig, TrainReport, train};
