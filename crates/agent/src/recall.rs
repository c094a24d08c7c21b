//! What the tools recall through.
//!
//! The agent needs three things from recall: text search under a filter,
//! items similar to seeds, and title linking. [`Recall`] names them in core
//! types only, so an app with its own search implements it and builds the
//! agent without the `retrieval` feature (no tantivy, no Qdrant). With the
//! feature (the default) the agent runs on the full
//! `recagent_retrieval::Retriever` (hybrid lexical + Qdrant vectors) and,
//! where no vectors are built, on `LexicalRecall` (tantivy and the
//! similarity lists only: tests, small catalogs, a first run).

use std::fmt;

use futures::future::BoxFuture;
use recagent_core::{Filter, ItemId, Scored, SimilarHit, TitleLink};

use crate::Result;
#[cfg(feature = "retrieval")]
pub use with_retrieval::LexicalRecall;

/// Recall as the tools use it. Scores are only comparable within one call.
pub trait Recall: Send + Sync + fmt::Debug {
    /// Items matching free text under `filter`, best first. Text without
    /// words browses the filtered items.
    fn search<'a>(
        &'a self,
        query: &'a str,
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, Result<Vec<Scored>>>;

    /// Items like all of `seeds` together, seeds left out, each with the
    /// source that put it there.
    fn similar<'a>(
        &'a self,
        seeds: &'a [ItemId],
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, Result<Vec<SimilarHit>>>;

    /// Titles mentioned in free text, best first.
    fn link_titles(&self, text: &str) -> Result<Vec<TitleLink>>;
}

/// Recall's title linking as the reading uses it. A failing index links
/// nothing; the reading goes on from the words, and the failure is logged.
pub(crate) struct Links<'a>(pub &'a dyn Recall);

impl recagent_reading::Linker for Links<'_> {
    fn link_titles(&self, text: &str) -> Vec<TitleLink> {
        self.0.link_titles(text).unwrap_or_else(|e| {
            tracing::warn!("title linking failed, reading the words alone: {e}");
            Vec::new()
        })
    }
}

#[cfg(feature = "retrieval")]
mod with_retrieval {
    use std::fmt;
    use std::path::Path;
    use std::sync::Arc;

    use futures::future::BoxFuture;
    use recagent_core::{
        Catalog, Filter, ItemId, NoProgress, Scored, SimilarHit, TitleLink, genre_key,
    };
    use recagent_retrieval::{
        LexicalIndex, Mode, Retriever, SimilarWeights, Similarity, genre_overlap,
    };

    use super::Recall;
    use crate::{Error, Result};

    fn recall_err(e: recagent_retrieval::Error) -> Error {
        Error::Recall(e.to_string())
    }

    impl Recall for Retriever {
        fn search<'a>(
            &'a self,
            query: &'a str,
            filter: &'a Filter,
            k: usize,
        ) -> BoxFuture<'a, Result<Vec<Scored>>> {
            Box::pin(async move {
                Retriever::search(self, query, filter, k, Mode::Hybrid)
                    .await
                    .map_err(recall_err)
            })
        }

        fn similar<'a>(
            &'a self,
            seeds: &'a [ItemId],
            filter: &'a Filter,
            k: usize,
        ) -> BoxFuture<'a, Result<Vec<SimilarHit>>> {
            Box::pin(async move {
                Retriever::similar(self, seeds, filter, k)
                    .await
                    .map_err(recall_err)
            })
        }

        fn link_titles(&self, text: &str) -> Result<Vec<TitleLink>> {
            Retriever::link_titles(self, text).map_err(recall_err)
        }
    }

    /// Recall without vectors: tantivy BM25 and title linking, and the
    /// co-occurrence and relation similarity lists.
    pub struct LexicalRecall {
        catalog: Arc<Catalog>,
        lexical: LexicalIndex,
        similarity: Similarity,
    }

    impl fmt::Debug for LexicalRecall {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("LexicalRecall")
                .field("catalog", &self.catalog.name())
                .finish()
        }
    }

    impl LexicalRecall {
        /// Builds the tantivy index into `dir` and the similarity lists in
        /// memory. Seconds for a catalog the size of MovieLens-100K.
        pub fn build(catalog: Arc<Catalog>, dir: &Path) -> Result<Self> {
            let lexical = LexicalIndex::build(&catalog, dir, &NoProgress).map_err(recall_err)?;
            let similarity = Similarity::build(&catalog, &NoProgress);
            Ok(Self {
                catalog,
                lexical,
                similarity,
            })
        }
    }

    impl Recall for LexicalRecall {
        fn search<'a>(
            &'a self,
            query: &'a str,
            filter: &'a Filter,
            k: usize,
        ) -> BoxFuture<'a, Result<Vec<Scored>>> {
            Box::pin(async move { self.lexical.search(query, filter, k).map_err(recall_err) })
        }

        fn similar<'a>(
            &'a self,
            seeds: &'a [ItemId],
            filter: &'a Filter,
            k: usize,
        ) -> BoxFuture<'a, Result<Vec<SimilarHit>>> {
            Box::pin(async move {
                let keep = |j: ItemId| self.catalog.item(j).is_some_and(|it| filter.matches(it));
                let keys = |i: ItemId| -> Vec<String> {
                    self.catalog
                        .item(i)
                        .map(|it| it.genres.iter().map(|g| genre_key(g)).collect())
                        .unwrap_or_default()
                };
                let overlap = |a: ItemId, b: ItemId| genre_overlap(&keys(a), &keys(b));
                let mut hits =
                    self.similarity
                        .similar(seeds, keep, overlap, &SimilarWeights::default());
                hits.truncate(k);
                Ok(hits)
            })
        }

        fn link_titles(&self, text: &str) -> Result<Vec<TitleLink>> {
            self.lexical.link_titles(text).map_err(recall_err)
        }
    }
}
