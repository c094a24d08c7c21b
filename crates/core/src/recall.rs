//! What recall returns: the result types an agent's recall speaks in.
//!
//! They live here, not in the retrieval crate, so that an app with its own
//! search can implement the agent's `Recall` trait against core alone,
//! without compiling tantivy or Qdrant. The retrieval crate re-exports
//! them at their old paths.

use serde::Serialize;

use crate::ItemId;

/// A title found in free text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TitleLink {
    pub item: ItemId,
    pub title: String,
    /// 0..=1: the share of the title's words found in order in the text,
    /// lowered for typos.
    pub confidence: f32,
}

/// Where a neighbour came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Cooccurrence,
    Relations,
    /// Nearest item vectors: the item text with its generated knowledge.
    Content,
}

/// One similar item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarHit {
    pub item: ItemId,
    pub score: f32,
    /// The source that contributed most.
    pub source: Source,
}
