//! Recall: finding candidate items for the agent's tools.
//!
//! * [`lexical`]: a tantivy index over title, genres, year, free text and
//!   relations, with BM25 search under [`Filter`]s, and title linking
//!   ([`LexicalIndex::link_titles`]): "we loved toy story" → Toy Story, with
//!   a confidence.
//!
//! Dense vectors (Qdrant) and item-to-item similarity join this crate next.

pub mod lexical;

pub use lexical::{Filter, LexicalIndex, SearchHit, TitleLink};

use std::path::PathBuf;

/// Errors of building, opening and querying indexes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no index in {}; run `recagent index build {name}` first", dir.display())]
    NotBuilt { name: String, dir: PathBuf },
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
