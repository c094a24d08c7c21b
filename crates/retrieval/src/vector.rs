//! Dense vector search behind one trait, with two Qdrant backends:
//!
//! * [`EdgeStore`]: Qdrant Edge, in-process, one shard in
//!   `$RECAGENT_HOME/index/NAME/vectors/`. The default.
//! * [`ServerStore`]: a Qdrant server or cluster through `qdrant-client`
//!   (gRPC), one collection per catalog named `recagent-NAME`. Chosen with
//!   `--qdrant-url` or `RECAGENT_QDRANT_URL`.
//!
//! Both hold the same points: id = item id, a 384-d cosine vector, and a
//! payload `{"genre_key": [lower-case genres], "year": int}` with a keyword
//! index on `genre_key` and an integer index on `year`. [`Filter`]s turn into
//! the same Qdrant conditions on both, so they return the same results.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use recagent_core::{Filter, ItemId, Progress, genre_key};
use serde_json::json;

use crate::lexical::SearchHit;
use crate::{Error, Result};

/// A boxed future, so that [`VectorStore`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Items with their stored vectors.
pub type StoredVectors = Vec<(ItemId, Vec<f32>)>;

/// Points are written in batches of this many.
pub const UPSERT_BATCH: usize = 1000;

/// One item's vector and filterable payload.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    pub item: ItemId,
    pub vector: Vec<f32>,
    pub genres: Vec<String>,
    pub year: Option<u16>,
}

impl VectorPoint {
    fn payload(&self) -> serde_json::Value {
        let genres = keys(&self.genres);
        match self.year {
            Some(y) => json!({ "genre_key": genres, "year": y }),
            None => json!({ "genre_key": genres }),
        }
    }
}

/// A dense index that answers filtered nearest-neighbour queries.
///
/// The methods are async and run on the caller's runtime; no backend owns
/// one. The server backend's gRPC traffic is driven by whichever tokio
/// runtime polls it, so many tasks on a multi-thread runtime search
/// concurrently. The embedded backend does its (sub-millisecond at 100K
/// items) work when polled; `finish`, which builds the HNSW graph, is long
/// CPU work and belongs in `spawn_blocking` or a plain thread.
pub trait VectorStore: Send + Sync + std::fmt::Debug {
    /// "embedded" or "server".
    fn backend(&self) -> &'static str;
    /// Adds or replaces points.
    fn upsert<'a>(&'a self, points: &'a [VectorPoint]) -> BoxFuture<'a, Result<()>>;
    /// Makes everything upserted searchable and indexed (HNSW built).
    fn finish(&self) -> BoxFuture<'_, Result<()>>;
    /// The `k` nearest items to `vector` (cosine) that pass `filter`, best
    /// first. The filter must already be validated against the catalog.
    fn search<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, Result<Vec<SearchHit>>>;
    /// The same search without the HNSW index: every point that passes the
    /// filter is scored. Slow; it is the reference that `bench retrieval`
    /// measures the index's recall against.
    fn search_exact<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, Result<Vec<SearchHit>>>;
    /// Number of points stored.
    fn count(&self) -> BoxFuture<'_, Result<usize>>;
    /// The stored vectors of these items (missing ones are left out).
    fn vectors<'a>(&'a self, items: &'a [ItemId]) -> BoxFuture<'a, Result<StoredVectors>>;
}

/// Writes all points in batches, with progress.
pub async fn upsert_all(
    store: &dyn VectorStore,
    points: &[VectorPoint],
    progress: &dyn Progress,
) -> Result<()> {
    progress.stage(
        &format!("loading vectors into Qdrant ({})", store.backend()),
        Some(points.len() as u64),
    );
    for chunk in points.chunks(UPSERT_BATCH) {
        store.upsert(chunk).await?;
        progress.advance(chunk.len() as u64);
    }
    progress.finish();
    progress.stage("building the HNSW index", None);
    store.finish().await?;
    progress.finish();
    Ok(())
}

/// The HNSW beam width of a search for `k` items, the same on both
/// backends: Qdrant's default (100, its ef_construct) up to k = 50, then
/// twice k. ACORN (also on for both) explores neighbours' neighbours when a
/// filter rejects most of the graph, which the graph needs because it has no
/// per-payload links.
fn search_ef(k: usize) -> usize {
    (k * 2).max(100)
}

/// The payload's genre keys, folded as the lexical index folds them.
fn keys(genres: &[String]) -> Vec<String> {
    genres.iter().map(|g| genre_key(g)).collect()
}

// ---------------------------------------------------------------- embedded

mod edge {
    pub use qdrant_edge::external::ordered_float::OrderedFloat;
    pub use qdrant_edge::{
        AcornSearchParams, Condition, CreateIndex, DEFAULT_VECTOR_NAME, Distance, EdgeConfig,
        EdgeShard, EdgeVectorParams, FieldCondition, FieldIndexOperations, Filter, HasIdCondition,
        HnswIndexConfig, JsonPath, Match, NamedQuery, PayloadFieldSchema, PayloadSchemaType,
        PointId, PointInsertOperations, PointOperations, PointStruct, QueryEnum, QueryRequest,
        Range, ScoringQuery, SearchParams, UpdateOperation, VectorInternal, VectorStructInternal,
        WithPayloadInterface, WithVector,
    };
}

/// Qdrant Edge: an in-process shard on local disk.
///
/// A shard is one process's at a time: Qdrant Edge holds an exclusive
/// `flock` on its write-ahead log. Readers do not write, so a process that
/// finds the shard held ([`EdgeStore::open`]) reads a private copy of it,
/// made when it opens and deleted when it closes: `chat`, `ask`, `search`,
/// `mcp` and `serve` run side by side on one home.
pub struct EdgeStore {
    shard: edge::EdgeShard,
    dir: PathBuf,
    /// The private copy this process reads, when another held the shard.
    copy: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for EdgeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStore").field("dir", &self.dir).finish()
    }
}

fn path(key: &str) -> Result<edge::JsonPath> {
    edge::JsonPath::try_from(key).map_err(|()| edge_err(format!("bad payload key {key}")))
}

/// Whether a load error says another process holds the shard's lock.
fn is_held(message: &str) -> bool {
    message.contains("WouldBlock") || message.contains("Resource temporarily unavailable")
}

/// Copies the folder `from` into `to` (which exists), files and folders.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn edge_err(e: impl std::fmt::Display) -> Error {
    Error::Vector(format!("qdrant edge: {e}"))
}

/// The HNSW settings of the embedded store: Qdrant's defaults (m 16,
/// ef_construct 100, indexing threads from the core count), except that no
/// extra graph links are built per payload value (`payload_m = 0`).
///
/// With the default, Qdrant builds a sub-graph for every genre and for every
/// block of years besides the main graph, which multiplied the HNSW build
/// time of a 1M-item catalog several times over on 2 cores. Filtered search
/// stays correct without them: Qdrant's planner searches small filtered sets
/// exactly through the payload index, and checks the filter while walking
/// the main graph for large ones.
fn hnsw_config() -> edge::HnswIndexConfig {
    edge::HnswIndexConfig {
        payload_m: Some(0),
        ..edge::HnswIndexConfig::default()
    }
}

impl EdgeStore {
    /// Creates an empty shard in `dir` (which must not hold one) with the
    /// payload indexes in place.
    pub fn create(dir: &Path, dim: usize) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let config = edge::EdgeConfig::builder()
            .on_disk_payload(false)
            .hnsw_config(hnsw_config())
            .vector(
                edge::DEFAULT_VECTOR_NAME,
                edge::EdgeVectorParams::builder(dim, edge::Distance::Cosine).build(),
            )
            .build();
        let shard = edge::EdgeShard::new(dir, config).map_err(edge_err)?;
        for (field, kind) in [
            ("genre_key", edge::PayloadSchemaType::Keyword),
            ("year", edge::PayloadSchemaType::Integer),
        ] {
            shard
                .update(edge::UpdateOperation::FieldIndexOperation(
                    edge::FieldIndexOperations::CreateIndex(edge::CreateIndex {
                        field_name: path(field)?,
                        field_schema: Some(edge::PayloadFieldSchema::FieldType(kind)),
                    }),
                ))
                .map_err(edge_err)?;
        }
        Ok(Self {
            shard,
            dir: dir.to_owned(),
            copy: None,
        })
    }

    /// Opens a shard written by [`EdgeStore::create`]. Where another
    /// process holds it, this one reads a private copy (see
    /// [`EdgeStore`]); the copy of ML-100K's shard is a few megabytes.
    pub fn open(dir: &Path) -> Result<Self> {
        match edge::EdgeShard::load(dir, None) {
            Ok(shard) => Ok(Self {
                shard,
                dir: dir.to_owned(),
                copy: None,
            }),
            Err(e) if is_held(&e.to_string()) => Self::open_copy(dir),
            Err(e) => Err(edge_err(e)),
        }
    }

    /// Opens a private copy of the shard in `dir`, which another process
    /// holds.
    fn open_copy(dir: &Path) -> Result<Self> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        let tmp = tempfile::Builder::new()
            .prefix("recagent-vectors-")
            .tempdir()
            .map_err(io(&std::env::temp_dir()))?;
        copy_tree(dir, tmp.path()).map_err(io(dir))?;
        let shard = edge::EdgeShard::load(tmp.path(), None).map_err(edge_err)?;
        tracing::debug!(from = %dir.display(), to = %tmp.path().display(), "another process holds the vector store; reading a copy");
        Ok(Self {
            shard,
            dir: dir.to_owned(),
            copy: Some(tmp),
        })
    }

    /// The private copy this store reads, when another process held the
    /// shard when it opened (deleted when the store closes).
    pub fn copy_dir(&self) -> Option<&Path> {
        self.copy.as_ref().map(tempfile::TempDir::path)
    }

    fn query(
        &self,
        vector: &[f32],
        filter: &Filter,
        k: usize,
        exact: bool,
    ) -> Result<Vec<SearchHit>> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let params = Some(if exact {
            edge::SearchParams {
                exact: true,
                ..edge::SearchParams::default()
            }
        } else {
            edge::SearchParams {
                hnsw_ef: Some(search_ef(k)),
                acorn: Some(edge::AcornSearchParams {
                    enable: true,
                    max_selectivity: None,
                }),
                ..edge::SearchParams::default()
            }
        });
        let points = self
            .shard
            .query(edge::QueryRequest {
                prefetches: vec![],
                query: Some(edge::ScoringQuery::Vector(edge::QueryEnum::Nearest(
                    edge::NamedQuery {
                        query: vector.to_vec().into(),
                        using: None,
                    },
                ))),
                filter: Self::filter(filter)?,
                score_threshold: None,
                limit: k,
                offset: 0,
                params,
                with_vector: edge::WithVector::Bool(false),
                with_payload: edge::WithPayloadInterface::Bool(false),
            })
            .map_err(edge_err)?;
        Ok(points
            .into_iter()
            .filter_map(|p| match p.id {
                edge::PointId::NumId(n) => Some(SearchHit {
                    item: ItemId(n as u32),
                    score: p.score,
                }),
                edge::PointId::Uuid(_) => None,
            })
            .collect())
    }

    fn filter(filter: &Filter) -> Result<Option<edge::Filter>> {
        let mut must = Vec::new();
        let mut must_not = Vec::new();
        if !filter.genres_any.is_empty() {
            must.push(edge::Condition::Field(edge::FieldCondition::new_match(
                path("genre_key")?,
                edge::Match::from(keys(&filter.genres_any)),
            )));
        }
        for g in keys(&filter.genres_all) {
            must.push(edge::Condition::Field(edge::FieldCondition::new_match(
                path("genre_key")?,
                edge::Match::from(g),
            )));
        }
        if !filter.genres_none.is_empty() {
            must_not.push(edge::Condition::Field(edge::FieldCondition::new_match(
                path("genre_key")?,
                edge::Match::from(keys(&filter.genres_none)),
            )));
        }
        if filter.year_min.is_some() || filter.year_max.is_some() {
            must.push(edge::Condition::Field(edge::FieldCondition::new_range(
                path("year")?,
                edge::Range {
                    lt: None,
                    gt: None,
                    gte: filter.year_min.map(|y| edge::OrderedFloat(f64::from(y))),
                    lte: filter.year_max.map(|y| edge::OrderedFloat(f64::from(y))),
                },
            )));
        }
        if !filter.exclude.is_empty() {
            must_not.push(edge::Condition::HasId(
                filter
                    .exclude
                    .iter()
                    .map(|i| edge::PointId::NumId(u64::from(i.0)))
                    .collect::<edge::HasIdCondition>(),
            ));
        }
        if must.is_empty() && must_not.is_empty() {
            return Ok(None);
        }
        Ok(Some(edge::Filter {
            should: None,
            min_should: None,
            must: (!must.is_empty()).then_some(must),
            must_not: (!must_not.is_empty()).then_some(must_not),
        }))
    }
}

impl VectorStore for EdgeStore {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    fn upsert<'a>(&'a self, points: &'a [VectorPoint]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.upsert_now(points) })
    }

    fn finish(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.shard.optimize().map_err(edge_err)?;
            self.shard.flush();
            Ok(())
        })
    }

    fn search<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, Result<Vec<SearchHit>>> {
        Box::pin(async move { self.query(vector, filter, k, false) })
    }

    fn search_exact<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, Result<Vec<SearchHit>>> {
        Box::pin(async move { self.query(vector, filter, k, true) })
    }

    fn count(&self) -> BoxFuture<'_, Result<usize>> {
        Box::pin(async move { Ok(self.shard.info().points_count) })
    }

    fn vectors<'a>(&'a self, items: &'a [ItemId]) -> BoxFuture<'a, Result<StoredVectors>> {
        Box::pin(async move { self.vectors_now(items) })
    }
}

impl EdgeStore {
    fn upsert_now(&self, points: &[VectorPoint]) -> Result<()> {
        let points = points
            .iter()
            .map(|p| {
                edge::PointStruct::new(
                    edge::PointId::NumId(u64::from(p.item.0)),
                    p.vector.clone(),
                    p.payload(),
                )
                .into()
            })
            .collect();
        self.shard
            .update(edge::UpdateOperation::PointOperation(
                edge::PointOperations::UpsertPoints(edge::PointInsertOperations::PointsList(
                    points,
                )),
            ))
            .map_err(edge_err)
    }

    fn vectors_now(&self, items: &[ItemId]) -> Result<StoredVectors> {
        let ids: Vec<edge::PointId> = items
            .iter()
            .map(|i| edge::PointId::NumId(u64::from(i.0)))
            .collect();
        let records = self
            .shard
            .retrieve(
                &ids,
                Some(edge::WithPayloadInterface::Bool(false)),
                Some(edge::WithVector::Bool(true)),
            )
            .map_err(edge_err)?;
        Ok(records
            .into_iter()
            .filter_map(|r| {
                let edge::PointId::NumId(n) = r.id else {
                    return None;
                };
                let v = match r.vector? {
                    edge::VectorStructInternal::Single(v) => v,
                    edge::VectorStructInternal::Named(mut m) => {
                        match m.remove(edge::DEFAULT_VECTOR_NAME)? {
                            edge::VectorInternal::Dense(v) => v,
                            _ => return None,
                        }
                    }
                    edge::VectorStructInternal::MultiDense(_) => return None,
                };
                Some((ItemId(n as u32), v))
            })
            .collect())
    }
}

// ------------------------------------------------------------------ server

mod server {
    pub use qdrant_client::Qdrant;
    pub use qdrant_client::qdrant::{
        AcornSearchParamsBuilder, Condition, CountPointsBuilder, CreateCollectionBuilder,
        CreateFieldIndexCollectionBuilder, Distance, FieldType, Filter, GetPointsBuilder, PointId,
        PointStruct, Query, QueryPointsBuilder, Range, SearchParamsBuilder, UpsertPointsBuilder,
        VectorParamsBuilder, point_id::PointIdOptions,
    };
}

/// A Qdrant server or cluster, reached over gRPC with `qdrant-client`.
///
/// It owns no runtime: its futures run on the caller's tokio runtime, and
/// the gRPC connection is opened by the first call and driven by that
/// runtime from then on. Use one `ServerStore` from one runtime.
pub struct ServerStore {
    client: server::Qdrant,
    collection: String,
    url: String,
}

impl std::fmt::Debug for ServerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerStore")
            .field("url", &self.url)
            .field("collection", &self.collection)
            .finish()
    }
}

/// The collection that holds catalog `name` on a server.
pub fn collection_name(name: &str) -> String {
    format!("recagent-{name}")
}

impl ServerStore {
    /// A client of the server at `url` (gRPC, usually port 6334) for
    /// catalog `name`'s collection. Nothing is sent, and no runtime is
    /// needed, until the first call.
    pub fn connect(url: &str, name: &str) -> Result<Self> {
        let client = server::Qdrant::from_url(url)
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            // The check would block the caller on a private runtime and
            // print to stdout; a version mismatch shows up as a call error.
            .skip_compatibility_check()
            .build()
            .map_err(|e| Self::err(url, e))?;
        Ok(Self {
            client,
            collection: collection_name(name),
            url: url.to_owned(),
        })
    }

    fn err(url: &str, e: impl std::fmt::Display) -> Error {
        Error::Vector(format!(
            "qdrant server at {url}: {e} (is it running? the gRPC port is usually 6334)"
        ))
    }

    /// Drops and re-creates the collection with its payload indexes.
    pub async fn recreate(&self, dim: usize) -> Result<()> {
        let c = &self.client;
        let name = &self.collection;
        let run = async {
            if c.collection_exists(name).await? {
                c.delete_collection(name).await?;
            }
            c.create_collection(server::CreateCollectionBuilder::new(name).vectors_config(
                server::VectorParamsBuilder::new(dim as u64, server::Distance::Cosine),
            ))
            .await?;
            for (field, kind) in [
                ("genre_key", server::FieldType::Keyword),
                ("year", server::FieldType::Integer),
            ] {
                c.create_field_index(
                    server::CreateFieldIndexCollectionBuilder::new(name, field, kind).wait(true),
                )
                .await?;
            }
            Ok::<_, qdrant_client::QdrantError>(())
        };
        run.await.map_err(|e| Self::err(&self.url, e))
    }

    async fn query(
        &self,
        vector: &[f32],
        filter: &Filter,
        k: usize,
        exact: bool,
    ) -> Result<Vec<SearchHit>> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut q = server::QueryPointsBuilder::new(&self.collection)
            .query(server::Query::new_nearest(vector.to_vec()))
            .limit(k as u64)
            .with_payload(false);
        q = q.params(if exact {
            server::SearchParamsBuilder::default().exact(true)
        } else {
            server::SearchParamsBuilder::default()
                .hnsw_ef(search_ef(k) as u64)
                .acorn(server::AcornSearchParamsBuilder::new(true))
        });
        if let Some(f) = Self::filter(filter) {
            q = q.filter(f);
        }
        let resp = self
            .client
            .query(q)
            .await
            .map_err(|e| Self::err(&self.url, e))?;
        Ok(resp
            .result
            .into_iter()
            .filter_map(|p| match p.id?.point_id_options? {
                server::PointIdOptions::Num(n) => Some(SearchHit {
                    item: ItemId(n as u32),
                    score: p.score,
                }),
                server::PointIdOptions::Uuid(_) => None,
            })
            .collect())
    }

    fn filter(filter: &Filter) -> Option<server::Filter> {
        use server::Condition as C;
        let mut must = Vec::new();
        let mut must_not = Vec::new();
        if !filter.genres_any.is_empty() {
            must.push(C::matches("genre_key", keys(&filter.genres_any)));
        }
        for g in keys(&filter.genres_all) {
            must.push(C::matches("genre_key", g));
        }
        if !filter.genres_none.is_empty() {
            must_not.push(C::matches("genre_key", keys(&filter.genres_none)));
        }
        if filter.year_min.is_some() || filter.year_max.is_some() {
            must.push(C::range(
                "year",
                server::Range {
                    gte: filter.year_min.map(f64::from),
                    lte: filter.year_max.map(f64::from),
                    ..Default::default()
                },
            ));
        }
        if !filter.exclude.is_empty() {
            must_not.push(C::has_id(filter.exclude.iter().map(|i| u64::from(i.0))));
        }
        if must.is_empty() && must_not.is_empty() {
            return None;
        }
        Some(server::Filter {
            must,
            must_not,
            ..Default::default()
        })
    }
}

impl VectorStore for ServerStore {
    fn backend(&self) -> &'static str {
        "server"
    }

    fn upsert<'a>(&'a self, points: &'a [VectorPoint]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let points: Vec<server::PointStruct> = points
                .iter()
                .map(|p| {
                    let payload = qdrant_client::Payload::try_from(p.payload())
                        .map_err(|e| Self::err(&self.url, e))?;
                    Ok(server::PointStruct::new(
                        u64::from(p.item.0),
                        p.vector.clone(),
                        payload,
                    ))
                })
                .collect::<Result<_>>()?;
            self.client
                .upsert_points(
                    server::UpsertPointsBuilder::new(&self.collection, points).wait(true),
                )
                .await
                .map_err(|e| Self::err(&self.url, e))?;
            Ok(())
        })
    }

    fn finish(&self) -> BoxFuture<'_, Result<()>> {
        // The server indexes in the background; upserts waited for, so the
        // points are searchable now (exact search until HNSW is built).
        Box::pin(async { Ok(()) })
    }

    fn search<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, Result<Vec<SearchHit>>> {
        Box::pin(self.query(vector, filter, k, false))
    }

    fn search_exact<'a>(
        &'a self,
        vector: &'a [f32],
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, Result<Vec<SearchHit>>> {
        Box::pin(self.query(vector, filter, k, true))
    }

    fn count(&self) -> BoxFuture<'_, Result<usize>> {
        Box::pin(async move {
            let resp = self
                .client
                .count(server::CountPointsBuilder::new(&self.collection).exact(true))
                .await
                .map_err(|e| Self::err(&self.url, e))?;
            Ok(resp.result.map_or(0, |r| r.count as usize))
        })
    }

    fn vectors<'a>(&'a self, items: &'a [ItemId]) -> BoxFuture<'a, Result<StoredVectors>> {
        Box::pin(self.vectors_of(items))
    }
}

impl ServerStore {
    #[allow(deprecated)]
    async fn vectors_of(&self, items: &[ItemId]) -> Result<StoredVectors> {
        use qdrant_client::qdrant::{vector_output, vectors_output};
        let ids: Vec<server::PointId> = items.iter().map(|i| u64::from(i.0).into()).collect();
        let resp = self
            .client
            .get_points(
                server::GetPointsBuilder::new(&self.collection, ids)
                    .with_vectors(true)
                    .with_payload(false),
            )
            .await
            .map_err(|e| Self::err(&self.url, e))?;
        Ok(resp
            .result
            .into_iter()
            .filter_map(|p| {
                let server::PointIdOptions::Num(n) = p.id?.point_id_options? else {
                    return None;
                };
                let out = match p.vectors?.vectors_options? {
                    vectors_output::VectorsOptions::Vector(v) => v,
                    vectors_output::VectorsOptions::Vectors(mut named) => {
                        named.vectors.remove("")?
                    }
                };
                let data = match out.vector {
                    Some(vector_output::Vector::Dense(d)) => d.data,
                    _ => out.data,
                };
                Some((ItemId(n as u32), data))
            })
            .collect())
    }
}
