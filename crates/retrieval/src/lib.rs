//! Recall: finding candidate items for the agent's tools.
//!
//! * [`lexical`]: a tantivy index over title, genres, year, free text and
//!   relations, with BM25 search under [`Filter`]s, and title linking
//!   ([`LexicalIndex::link_titles`]): "we loved toy story" → Toy Story, with
//!   a confidence.
//! * [`vector`]: the [`VectorStore`] trait with two Qdrant backends,
//!   embedded ([`EdgeStore`], Qdrant Edge) and server ([`ServerStore`],
//!   `qdrant-client`), holding all-MiniLM-L6-v2 item vectors with a genre and
//!   year payload.
//! * [`similar`]: item-to-item neighbours from co-occurrence and shared
//!   knowledge-graph relations.
//! * [`retriever`]: [`Retriever`], the API the agent's tools call: lexical,
//!   dense and hybrid (reciprocal-rank fusion) search, title linking and
//!   "more like these", all under the same filters.

pub mod lexical;
pub mod retriever;
pub mod similar;
pub mod vector;

pub use lexical::{LexicalIndex, SearchHit, TitleLink};
pub use recagent_core::Filter;
pub use retriever::{Backend, BuildOptions, BuildReport, Mode, Retriever, VectorManifest, rrf};
pub use similar::{SimilarHit, SimilarWeights, Similarity, Source, genre_overlap};
pub use vector::{EdgeStore, ServerStore, VectorPoint, VectorStore};

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
    #[error(
        "the vectors of {name} were built into the Qdrant server at {url}; open the index with that server as its backend, or rebuild it for the embedded store"
    )]
    BuiltOnServer { name: String, url: String },
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    #[error("{0}")]
    Vector(String),
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error(transparent)]
    Embed(#[from] recagent_embed::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
