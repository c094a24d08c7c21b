//! Next-item models: P(pick), "which film will this user pick next",
//! trained on the sequence of positives. The CTR models answer the other
//! question, P(like | picked); the funnel multiplies the two.
//!
//! * [`ease`]: EASE, closed form (faer), dense, for catalogs up to
//!   [`ease::MAX_ITEMS`];
//! * [`knn`]: co-rating item-kNN with shrinkage (sparse);
//! * [`transitions`]: what follows what within a short window (sparse);
//! * [`model`]: [`NextItemModel`], one of them or EASE blended with
//!   transitions, stored as sparse rows ([`rows::SparseRows`]);
//! * [`train`]: [`train_next`], tune on validation, report test, fit the
//!   served model on everything;
//! * [`export`]: the split as RecBole atomic files, to run the peer on it;
//! * [`protocol`]: RecBole's leave-last-positive-out split, full-ranking
//!   Hit@k and NDCG@10, and the validation grid that picks settings.
//!
//! * [`sasrec`]: SASRec in candle, alone or joining the blend at the
//!   weight validation gives it.

pub mod ease;
pub mod export;
pub mod knn;
pub mod metrics;
pub mod model;
pub mod protocol;
pub mod rows;
pub mod sasrec;
pub mod train;
pub mod transitions;

pub use model::{NextConfig, NextItemModel, NextKind};
pub use protocol::{
    MaskedMetrics, Masking, NextMetrics, NextSplit, Phase, Trial, Tuned, evaluate, tune, tune_from,
};
pub use train::{NextReport, train_next};
