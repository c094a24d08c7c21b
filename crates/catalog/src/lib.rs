//! Catalogs: where recagent's items, users and interactions come from.
//!
//! * [`movielens`] fetches MovieLens-100K (GroupLens archive, else the RecBole
//!   wheel through pip) and reads both layouts.
//! * [`jsonl`] is the bring-your-own format (`items.jsonl`, `users.jsonl`,
//!   `interactions.jsonl`), with row-level errors.
//! * [`store`] keeps catalogs under `$RECAGENT_HOME/data/NAME/`, written
//!   atomically, and loads them back.
//! * [`split`] makes the seeded CTR split and leave-last-positive-out episodes.
//! * [`synth`] generates large plausible catalogs for scale benchmarks.
//! * [`fetch`] downloads and verifies files; later crates reuse it for models.
//! * [`tmdb`] reads the TMDB 5000 data set (films' overviews, keywords and
//!   people) and enriches a catalog's items with it.
//! * [`wiki`] reads directors and stars from Wikipedia leads for the
//!   critics' films TMDB 5000 lacks.
//! * [`stats`] summarises a catalog.

pub mod error;
pub mod fetch;
pub mod jsonl;
pub mod movielens;
pub mod relations;
pub mod split;
pub mod stats;
pub mod store;
pub mod synth;
pub mod tmdb;
pub mod wiki;

pub use error::{Error, Result};
