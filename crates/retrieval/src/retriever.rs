//! The retrieval API the agent's tools call: one object over the lexical
//! index, the vector store, the query encoder and item similarity.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use recagent_core::{Catalog, Filter, Home, ItemId, Progress, fsx, genre_key, words};
use recagent_embed::{Encoding, StaticTable, TextEncoder};
use serde::{Deserialize, Serialize};

use crate::lexical::{LexicalIndex, SearchHit, TitleLink};
use crate::similar::{
    CONTENT_NEIGHBOURS, SimilarHit, SimilarWeights, Similarity, Source, genre_overlap,
};
use crate::vector::{EdgeStore, ServerStore, VectorPoint, VectorStore, upsert_all};
use crate::{Error, Result};

/// Reciprocal-rank fusion constant (the usual 60).
pub const RRF_K: f32 = 60.0;

/// How `search` finds items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// BM25 over the tantivy index.
    Lexical,
    /// Nearest neighbours of the query's embedding in Qdrant.
    Dense,
    /// Both, fused by reciprocal rank.
    #[default]
    Hybrid,
}

/// Where the vectors live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    /// Qdrant Edge in `$RECAGENT_HOME/index/NAME/vectors/`.
    #[default]
    Embedded,
    /// A Qdrant server or cluster at this gRPC URL.
    Server { url: String },
}

/// What was built, saved as `index/NAME/vectors.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorManifest {
    pub encoding: Encoding,
    pub dim: usize,
    pub points: usize,
    /// "embedded" or "server".
    pub backend: String,
    /// The server URL the vectors were loaded into, for the server backend.
    pub url: Option<String>,
    /// The static word table, for [`Encoding::Static`].
    pub table: Option<PathBuf>,
}

/// Options of [`Retriever::build`].
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub encoding: Encoding,
    pub backend: Backend,
    /// Extra text per item key (generated knowledge), embedded with the
    /// item and searched by BM25 with its text.
    pub knowledge: HashMap<String, String>,
}

/// Timings and sizes of a build.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BuildReport {
    pub items: usize,
    pub lexical_s: f64,
    pub embed_s: f64,
    pub vectors_s: f64,
    pub similar_s: f64,
    pub lexical_bytes: u64,
    pub vectors_bytes: u64,
    pub similar_bytes: u64,
}

/// Disk space taken by the files under `path` (allocated blocks, so the
/// sparse files Qdrant preallocates count for what they use).
pub fn disk_size(path: &Path) -> u64 {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                m.blocks() * 512
            }
            #[cfg(not(unix))]
            {
                m.len()
            }
        }
        Ok(m) if m.is_dir() => fs::read_dir(path)
            .map(|rd| rd.flatten().map(|e| disk_size(&e.path())).sum())
            .unwrap_or(0),
        _ => 0,
    }
}

const PARTS: [&str; 4] = ["lexical", "vectors", "similar.bin", "vectors.json"];

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Turns query text into the same kind of vector as the items.
struct QueryEncoder {
    minilm: TextEncoder,
    table: Option<StaticTable>,
}

impl QueryEncoder {
    fn embed(&self, text: &str) -> Result<Option<Vec<f32>>> {
        if words(text).is_empty() {
            return Ok(None);
        }
        Ok(match &self.table {
            Some(t) => t.embed(text, Some(&self.minilm))?,
            None => Some(self.minilm.embed_query(text)?),
        })
    }
}

/// Genre keys and year of each item, for filtering similar items.
#[derive(Debug)]
struct ItemFacts {
    genres: Vec<Vec<String>>,
    years: Vec<Option<u16>>,
}

impl ItemFacts {
    /// [`Filter::matches`], with the genre keys folded once at open.
    fn passes(&self, item: ItemId, f: &Filter) -> bool {
        let i = item.index();
        match (self.genres.get(i), self.years.get(i)) {
            (Some(g), Some(&y)) => f.matches_parts(item, g, y),
            _ => false,
        }
    }
}

/// Recall over one catalog.
pub struct Retriever {
    name: String,
    lexical: LexicalIndex,
    vectors: Box<dyn VectorStore>,
    encoder: QueryEncoder,
    similarity: Similarity,
    facts: ItemFacts,
    manifest: VectorManifest,
}

impl std::fmt::Debug for Retriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retriever")
            .field("name", &self.name)
            .field("vectors", &self.vectors)
            .field("manifest", &self.manifest)
            .finish()
    }
}

/// Moves every part built in `stage` over its copy in `root`, drops a
/// part not built this time, then removes `stage`.
fn swap_in(stage: &Path, root: &Path) -> Result<()> {
    for part in PARTS {
        let from = stage.join(part);
        let to = root.join(part);
        if from.is_dir() {
            fsx::replace_dir(&from, &to).map_err(io(&to))?;
        } else if from.exists() {
            fsx::persist(&from, &to).map_err(io(&to))?;
        } else if to.is_dir() {
            // Not built this time (vectors on a server): drop the stale copy.
            fs::remove_dir_all(&to).map_err(io(&to))?;
        } else if to.exists() {
            fs::remove_file(&to).map_err(io(&to))?;
        }
    }
    fs::remove_dir_all(stage).map_err(io(stage))
}

impl Retriever {
    /// Builds every index of `catalog` under `$RECAGENT_HOME/index/NAME/`:
    /// the tantivy index, item vectors in Qdrant (embedded or server), and
    /// item similarity. Everything is written to a staging folder first and
    /// swapped in at the end, so a failed build keeps the previous indexes.
    ///
    /// The lexical index, the item embeddings, the HNSW graph and the
    /// similarity lists are long CPU work done inline: call it from a plain
    /// thread (the CLI blocks on it) or `spawn_blocking`.
    pub async fn build(
        home: &Home,
        catalog: &Catalog,
        options: &BuildOptions,
        progress: &dyn Progress,
    ) -> Result<BuildReport> {
        let root = home.index_dir(catalog.name());
        let stage = root.join(".building");
        if stage.exists() {
            fs::remove_dir_all(&stage).map_err(io(&stage))?;
        }
        fs::create_dir_all(&stage).map_err(io(&stage))?;
        let mut report = BuildReport {
            items: catalog.items().len(),
            ..BuildReport::default()
        };

        let t = Instant::now();
        drop(LexicalIndex::build_with(
            catalog,
            &stage.join("lexical"),
            &options.knowledge,
            progress,
        )?);
        report.lexical_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let iv = recagent_embed::item_vectors_with(
            home,
            catalog,
            &options.knowledge,
            options.encoding,
            progress,
        )?;
        report.embed_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let dim = recagent_embed::DIM;
        let points: Vec<VectorPoint> = catalog
            .items()
            .iter()
            .zip(iv.vectors.chunks_exact(dim))
            .map(|(it, v)| VectorPoint {
                item: it.id,
                vector: v.to_vec(),
                genres: it.genres.clone(),
                year: it.year,
            })
            .collect();
        let (backend, url) = match &options.backend {
            Backend::Embedded => {
                let store = EdgeStore::create(&stage.join("vectors"), dim)?;
                upsert_all(&store, &points, progress).await?;
                ("embedded", None)
            }
            Backend::Server { url } => {
                let store = ServerStore::connect(url, catalog.name())?;
                store.recreate(dim).await?;
                upsert_all(&store, &points, progress).await?;
                ("server", Some(url.clone()))
            }
        };
        drop(points);
        report.vectors_s = t.elapsed().as_secs_f64();
        let manifest = VectorManifest {
            encoding: options.encoding,
            dim,
            points: catalog.items().len(),
            backend: backend.to_owned(),
            url,
            table: iv.table,
        };
        let mpath = stage.join("vectors.json");
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Corrupt {
            path: mpath.clone(),
            reason: e.to_string(),
        })?;
        fs::write(&mpath, json).map_err(io(&mpath))?;

        let t = Instant::now();
        Similarity::build(catalog, progress).save(&stage)?;
        report.similar_s = t.elapsed().as_secs_f64();

        swap_in(&stage, &root)?;
        report.lexical_bytes = disk_size(&root.join("lexical"));
        report.vectors_bytes = disk_size(&root.join("vectors"));
        report.similar_bytes = disk_size(&root.join("similar.bin"));
        Ok(report)
    }

    /// Opens the indexes `build` wrote. With [`Backend::Server`] the vectors
    /// are read from that server, whichever backend they were built into
    /// locally.
    pub fn open(home: &Home, catalog: &Catalog, backend: &Backend) -> Result<Self> {
        let root = home.index_dir(catalog.name());
        let not_built = || Error::NotBuilt {
            name: catalog.name().to_owned(),
            dir: root.clone(),
        };
        let lexical = LexicalIndex::open(&root.join("lexical"), catalog)?;
        let mpath = root.join("vectors.json");
        let text = fs::read(&mpath).map_err(|_| not_built())?;
        let manifest: VectorManifest =
            serde_json::from_slice(&text).map_err(|e| Error::Corrupt {
                path: mpath.clone(),
                reason: format!(
                    "{e}; rebuild with `recagent index build {}`",
                    catalog.name()
                ),
            })?;
        let vectors: Box<dyn VectorStore> = match backend {
            Backend::Server { url } => Box::new(ServerStore::connect(url, catalog.name())?),
            Backend::Embedded => {
                if manifest.backend == "server" {
                    return Err(Error::BuiltOnServer {
                        name: catalog.name().to_owned(),
                        url: manifest.url.clone().unwrap_or_default(),
                    });
                }
                let dir = root.join("vectors");
                if !dir.is_dir() {
                    return Err(not_built());
                }
                Box::new(EdgeStore::open(&dir)?)
            }
        };
        let mdir = recagent_embed::model_dir(home);
        let minilm = TextEncoder::load(&mdir)?;
        let table = match (&manifest.encoding, &manifest.table) {
            (Encoding::Static, Some(dir)) => Some(StaticTable::load(dir)?),
            (Encoding::Static, None) => {
                return Err(Error::Corrupt {
                    path: mpath,
                    reason: "static encoding without a word table; rebuild the index".into(),
                });
            }
            (Encoding::Minilm, _) => None,
        };
        let similarity = Similarity::load(&root)?;
        let facts = ItemFacts {
            genres: catalog
                .items()
                .iter()
                .map(|i| i.genres.iter().map(|g| genre_key(g)).collect())
                .collect(),
            years: catalog.items().iter().map(|i| i.year).collect(),
        };
        Ok(Self {
            name: catalog.name().to_owned(),
            lexical,
            vectors,
            encoder: QueryEncoder { minilm, table },
            similarity,
            facts,
            manifest,
        })
    }

    pub fn manifest(&self) -> &VectorManifest {
        &self.manifest
    }

    pub fn vector_store(&self) -> &dyn VectorStore {
        self.vectors.as_ref()
    }

    pub fn lexical(&self) -> &LexicalIndex {
        &self.lexical
    }

    /// Embeds query text; `None` when it has no words.
    pub fn embed_query(&self, text: &str) -> Result<Option<Vec<f32>>> {
        let text: String = text.chars().take(crate::lexical::MAX_QUERY_CHARS).collect();
        self.encoder.embed(&text)
    }

    /// Searches in one of three modes. A query without words browses the
    /// filtered items (lexical order) in every mode.
    ///
    /// Embedding the query is the one sizeable piece of CPU work here (a few
    /// milliseconds); a server that must keep its async workers free calls
    /// [`Retriever::embed_query`] in `spawn_blocking` and then
    /// [`Retriever::search_embedded`].
    pub async fn search(
        &self,
        query: &str,
        filter: &Filter,
        k: usize,
        mode: Mode,
    ) -> Result<Vec<SearchHit>> {
        self.lexical.check_filter(filter)?;
        if mode == Mode::Lexical {
            return self.lexical.search(query, filter, k);
        }
        let Some(v) = self.embed_query(query)? else {
            return self.lexical.search(query, filter, k);
        };
        self.search_embedded(query, &v, filter, k, mode).await
    }

    /// [`Retriever::search`] with the query already embedded (benchmarks
    /// time the two apart).
    pub async fn search_embedded(
        &self,
        query: &str,
        vector: &[f32],
        filter: &Filter,
        k: usize,
        mode: Mode,
    ) -> Result<Vec<SearchHit>> {
        self.lexical.check_filter(filter)?;
        match mode {
            Mode::Lexical => self.lexical.search(query, filter, k),
            Mode::Dense => self.vectors.search(vector, filter, k).await,
            Mode::Hybrid => {
                let depth = (k * 4).max(50);
                let lex = self.lexical.search(query, filter, depth)?;
                let dense = self.vectors.search(vector, filter, depth).await?;
                Ok(rrf(&[lex, dense], k))
            }
        }
    }

    /// Titles mentioned in free text.
    pub fn link_titles(&self, text: &str) -> Result<Vec<TitleLink>> {
        self.lexical.link_titles(text)
    }

    /// Items like `seeds` under the default [`SimilarWeights`].
    pub async fn similar(
        &self,
        seeds: &[ItemId],
        filter: &Filter,
        k: usize,
    ) -> Result<Vec<SimilarHit>> {
        self.similar_with(seeds, filter, k, &SimilarWeights::default())
            .await
    }

    /// How much of their genres two catalog items share
    /// ([`genre_overlap`]).
    pub fn genre_overlap(&self, a: ItemId, b: ItemId) -> f32 {
        match (
            self.facts.genres.get(a.index()),
            self.facts.genres.get(b.index()),
        ) {
            (Some(x), Some(y)) => genre_overlap(x, y),
            _ => 0.0,
        }
    }

    /// Items like `seeds`: co-occurrence and relation neighbours and the
    /// nearest item vectors of each seed, each scaled to its best per seed,
    /// weighted by `w`, and multiplied by the genre overlap with the seed.
    /// Each hit names the source that contributed most.
    pub async fn similar_with(
        &self,
        seeds: &[ItemId],
        filter: &Filter,
        k: usize,
        w: &SimilarWeights,
    ) -> Result<Vec<SimilarHit>> {
        self.lexical.check_filter(filter)?;
        let n = self.facts.years.len();
        if let Some(bad) = seeds.iter().find(|s| s.index() >= n) {
            return Err(Error::InvalidFilter(format!(
                "item {} is not in catalog {}",
                bad.0, self.name
            )));
        }
        let overlap = |a: ItemId, b: ItemId| self.genre_overlap(a, b);
        let listed = self
            .similarity
            .similar(seeds, |j| self.facts.passes(j, filter), overlap, w);
        let mut acc: HashMap<ItemId, (f32, Source)> = listed
            .into_iter()
            .map(|h| (h.item, (h.score, h.source)))
            .collect();
        if w.content > 0.0 && !seeds.is_empty() {
            let vs = self.vectors.vectors(seeds).await?;
            let mut f = filter.clone();
            f.exclude.extend(seeds.iter().copied());
            for (seed, v) in &vs {
                let near = self.vectors.search(v, &f, CONTENT_NEIGHBOURS).await?;
                let best = near.first().map_or(1.0, |h| h.score).max(1e-6);
                for h in near {
                    let g = if w.genres {
                        overlap(*seed, h.item)
                    } else {
                        1.0
                    };
                    let v = w.content * (h.score.max(0.0) / best) * g;
                    let e = acc.entry(h.item).or_insert((0.0, Source::Content));
                    // The source is whichever part weighed most.
                    if v > e.0 {
                        e.1 = Source::Content;
                    }
                    e.0 += v;
                }
            }
        }
        let mut out: Vec<SimilarHit> = acc
            .into_iter()
            .map(|(item, (score, source))| SimilarHit {
                item,
                score,
                source,
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        out.truncate(k);
        Ok(out)
    }
}

/// Reciprocal-rank fusion of ranked lists: Σ 1 / (RRF_K + rank), rank from 1.
/// Ties break by item id so the result is deterministic.
pub fn rrf(lists: &[Vec<SearchHit>], k: usize) -> Vec<SearchHit> {
    let mut score: HashMap<ItemId, f32> = HashMap::new();
    for list in lists {
        for (r, h) in list.iter().enumerate() {
            *score.entry(h.item).or_default() += 1.0 / (RRF_K + r as f32 + 1.0);
        }
    }
    let mut out: Vec<SearchHit> = score
        .into_iter()
        .map(|(item, score)| SearchHit { item, score })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
    out.truncate(k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The similarity path filters through `ItemFacts`; it must mean what
    /// [`Filter::matches`] means, on every item, for varied filters.
    #[test]
    fn similarity_filter_agrees_with_the_reference_meaning() {
        let c = recagent_catalog::synth::generate(
            &recagent_catalog::synth::SynthConfig {
                items: 300,
                users: 10,
                per_user: 3,
                ..Default::default()
            },
            &recagent_core::NoProgress,
        )
        .expect("synthetic catalog");
        let facts = ItemFacts {
            genres: c
                .items()
                .iter()
                .map(|i| i.genres.iter().map(|g| genre_key(g)).collect())
                .collect(),
            years: c.items().iter().map(|i| i.year).collect(),
        };
        let vocab = c.genre_vocab();
        let filters = [
            Filter::default(),
            Filter {
                genres_any: vec![vocab[0].to_uppercase(), format!("  {}", vocab[1])],
                ..Filter::default()
            },
            Filter {
                genres_all: vec![vocab[0].clone(), vocab[2].to_lowercase()],
                year_min: Some(1980),
                ..Filter::default()
            },
            Filter {
                genres_none: vec![vocab[1].clone()],
                year_max: Some(1990),
                exclude: (0..50).map(ItemId).collect(),
                ..Filter::default()
            },
        ];
        let mut passed = 0;
        for f in &filters {
            for item in c.items() {
                assert_eq!(facts.passes(item.id, f), f.matches(item), "{f:?} {item:?}");
                passed += usize::from(f.matches(item));
            }
        }
        assert!(passed > 300, "the filters must let items through: {passed}");
        assert!(
            !facts.passes(ItemId(10_000), &Filter::default()),
            "unknown ids fail"
        );
    }
}
