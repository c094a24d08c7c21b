//! The pre-ranker: a two-tower model whose score is a dot product, so that
//! thousands of candidates cost one small matrix-vector product.
//!
//! * user tower: user id + age + gender + occupation + mean of history items;
//! * item tower: item id + release-year bucket + mean of genres.
//!
//! Both towers are sums of embeddings, so after training the user tower
//! splits into a per-user static vector plus the pooled history, and serving
//! needs no tensor library at all: [`PreRanker`] holds plain `f32` tables.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use candle_core::{D, DType, Device, Tensor};
use candle_nn::{AdamW, Embedding, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap, embedding};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recagent_catalog::split::{CtrSplit, row_histories};
use recagent_core::{Catalog, ItemId, Progress, Scored, UserId};
use serde::{Deserialize, Serialize};

use crate::batch;
use crate::error::{Error, Result};
use crate::features::{Cardinalities, Encoder, FeatureSpace};
use crate::model::{self, UserInputs};

pub const WEIGHTS_FILE: &str = "prerank.safetensors";
pub const CONFIG_FILE: &str = "prerank.json";

/// Hyper-parameters of [`train_prerank`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreRankConfig {
    pub dim: usize,
    pub lr: f64,
    pub epochs: usize,
    pub batch_size: usize,
    /// Random negatives per positive.
    pub negatives: usize,
    pub seed: u64,
    pub history_len: usize,
}

impl Default for PreRankConfig {
    fn default() -> Self {
        Self {
            dim: 32,
            lr: 5e-3,
            epochs: 8,
            batch_size: 2048,
            negatives: 4,
            seed: 2026,
            history_len: 20,
        }
    }
}

/// Recall of held-out positives in the pre-ranker's top K over the whole
/// catalog, next to a popularity baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreRankReport {
    pub epochs: usize,
    pub train_samples_per_s: f64,
    pub wall_s: f64,
    pub eval_rows: usize,
    /// `(K, recall)` for the two-tower model.
    pub recall: Vec<(usize, f64)>,
    /// `(K, recall)` when ranking by popularity.
    pub popularity_recall: Vec<(usize, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedConfig {
    format_version: u32,
    config: PreRankConfig,
    space: FeatureSpace,
    report: Option<PreRankReport>,
}

struct Towers {
    user: Embedding,
    item: Embedding,
    age: Embedding,
    gender: Embedding,
    occupation: Embedding,
    year: Embedding,
    genre: Tensor,
}

impl Towers {
    fn new(card: Cardinalities, d: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            user: embedding(card.users, d, vb.pp("user"))?,
            item: embedding(card.items, d, vb.pp("item"))?,
            age: embedding(card.ages, d, vb.pp("age"))?,
            gender: embedding(card.genders, d, vb.pp("gender"))?,
            occupation: embedding(card.occupations, d, vb.pp("occupation"))?,
            year: embedding(card.years, d, vb.pp("year"))?,
            genre: vb.get((card.genres, d), "genre.weight")?,
        })
    }

    /// `[B, d]` without the history term.
    fn user_static(&self, x: &UserInputs) -> candle_core::Result<Tensor> {
        let s = (self.user.forward(&x.user)? + self.age.forward(&x.age)?)?;
        (s + self.gender.forward(&x.gender)?)? + self.occupation.forward(&x.occupation)?
    }

    fn user(&self, x: &UserInputs) -> candle_core::Result<Tensor> {
        let hist = self.item.forward(&x.history)?;
        let mask = x.history_mask.unsqueeze(D::Minus1)?;
        let count = x.history_mask.sum_keepdim(1)?.clamp(1f32, f32::MAX)?;
        let pooled = hist.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&count)?;
        self.user_static(x)? + pooled
    }

    fn item(&self, x: &batch::ItemBatch) -> candle_core::Result<Tensor> {
        (self.item.forward(&x.item)? + self.year.forward(&x.year)?)?
            + x.genres.matmul(&self.genre)?
    }
}

/// A trained pre-ranker bound to a catalog.
#[derive(Debug, Clone)]
pub struct PreRanker {
    dim: usize,
    encoder: Encoder,
    /// `n_catalog_users × dim`
    user_static: Vec<f32>,
    /// `n_catalog_items × dim`
    item_vecs: Vec<f32>,
    /// History embeddings by catalog item, `n_catalog_items × dim`.
    hist_vecs: Vec<f32>,
    /// The static vector of an unknown user.
    anon: Vec<f32>,
    saved: SavedConfig,
}

fn tensor_rows(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

impl PreRanker {
    fn export(
        towers: &Towers,
        saved: SavedConfig,
        catalog: &Catalog,
        device: &Device,
    ) -> Result<Self> {
        let encoder = Encoder::new(saved.space.clone(), catalog);
        let n_genres = saved.space.cardinalities().genres;
        let dim = saved.config.dim;
        let mut item_vecs = Vec::with_capacity(catalog.items().len() * dim);
        let mut hist_vecs = Vec::with_capacity(catalog.items().len() * dim);
        let n = catalog.items().len();
        for start in (0..n).step_by(8192) {
            let end = (start + 8192).min(n);
            let feats: Vec<_> = (start..end)
                .map(|i| encoder.item(ItemId(i as u32)))
                .collect();
            let refs: Vec<_> = feats.iter().collect();
            let x = batch::item_batch(&refs, n_genres, device)?;
            item_vecs.extend(tensor_rows(&towers.item(&x)?)?);
            hist_vecs.extend(tensor_rows(&towers.item.forward(&x.item)?)?);
        }
        let mut user_static = Vec::with_capacity(catalog.users().len() * dim);
        let users: Vec<_> = (0..catalog.users().len())
            .map(|u| encoder.user(Some(UserId(u as u32))))
            .collect();
        for chunk in users.chunks(8192) {
            let refs: Vec<_> = chunk.iter().collect();
            let x = batch::user_inputs(&refs, 1, None, device)?;
            user_static.extend(tensor_rows(&towers.user_static(&x)?)?);
        }
        let anon_f = encoder.user(None);
        let anon =
            tensor_rows(&towers.user_static(&batch::user_inputs(&[&anon_f], 1, None, device)?)?)?;
        Ok(Self {
            dim,
            encoder,
            user_static,
            item_vecs,
            hist_vecs,
            anon,
            saved,
        })
    }

    /// The user's query vector: static part plus the mean embedding of the
    /// last `history_len` items of `history` (the user's positives, oldest
    /// first, as the caller knows them; nothing is added).
    pub fn user_vector(&self, user: Option<UserId>, history: &[ItemId]) -> Vec<f32> {
        let d = self.dim;
        let mut v = match user.filter(|u| u.index() < self.user_static.len() / d.max(1)) {
            Some(u) => self.user_static[u.index() * d..(u.index() + 1) * d].to_vec(),
            None => self.anon.clone(),
        };
        // Items the model never saw have no trained history embedding; they
        // are left out, as training did.
        let hist = self.encoder.pooled_history(history);
        if !hist.is_empty() {
            let w = 1.0 / hist.len() as f32;
            for h in hist {
                let row = &self.hist_vecs[h.index() * d..(h.index() + 1) * d];
                for (a, b) in v.iter_mut().zip(row) {
                    *a += b * w;
                }
            }
        }
        v
    }

    /// Dot-product scores of `items`, in order. Items outside the catalog score `-inf`.
    pub fn score(&self, user: Option<UserId>, history: &[ItemId], items: &[ItemId]) -> Vec<f32> {
        let u = self.user_vector(user, history);
        let d = self.dim;
        items
            .iter()
            .map(
                |i| match self.item_vecs.get(i.index() * d..(i.index() + 1) * d) {
                    Some(row) => row.iter().zip(&u).map(|(a, b)| a * b).sum(),
                    None => f32::NEG_INFINITY,
                },
            )
            .collect()
    }

    /// The best `k` of `items`, best first.
    pub fn top_k(
        &self,
        user: Option<UserId>,
        history: &[ItemId],
        items: &[ItemId],
        k: usize,
    ) -> Vec<Scored> {
        let scores = self.score(user, history, items);
        let mut out: Vec<Scored> = items
            .iter()
            .zip(scores)
            .map(|(&item, score)| Scored { item, score })
            .collect();
        if k < out.len() {
            out.select_nth_unstable_by(k, crate::best_first);
            out.truncate(k);
        }
        crate::sort_best_first(&mut out);
        out
    }

    pub fn report(&self) -> Option<&PreRankReport> {
        self.saved.report.as_ref()
    }

    /// Writes the weights and config into `dir` together (a staging folder
    /// replaces `dir`).
    pub fn save(&self, dir: &Path, varmap: &VarMap) -> Result<()> {
        crate::save::replace_dir(dir, |stage| {
            varmap.save(stage.join(WEIGHTS_FILE))?;
            crate::save::write_json(&stage.join(CONFIG_FILE), &self.saved)
        })
    }

    pub fn load(dir: &Path, catalog: &Catalog) -> Result<Self> {
        let saved: SavedConfig = crate::error::read_json(&dir.join(CONFIG_FILE))?;
        let device = Device::Cpu;
        let mut varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let towers = Towers::new(saved.space.cardinalities(), saved.config.dim, vb)?;
        varmap.load(dir.join(WEIGHTS_FILE))?;
        Self::export(&towers, saved, catalog, &device)
    }
}

/// Trains the two-tower pre-ranker on the training positives of `split`,
/// each against uniformly drawn negatives, then measures its recall on the
/// test positives against popularity ([`PreRanker::report`]). Returns the
/// model and its parameters (for saving).
pub fn train_prerank(
    catalog: &Catalog,
    split: &CtrSplit,
    cfg: &PreRankConfig,
    progress: &dyn Progress,
) -> Result<(PreRanker, VarMap)> {
    let started = Instant::now();
    let (towers, varmap, space, speed) = fit_towers(catalog, split, cfg, progress)?;
    let device = Device::Cpu;
    let saved = SavedConfig {
        format_version: 1,
        config: cfg.clone(),
        space,
        report: None,
    };
    let mut pre = PreRanker::export(&towers, saved, catalog, &device)?;
    let (recall, popularity_recall, eval_rows) = evaluate_recall(&pre, catalog, split, cfg);
    pre.saved.report = Some(PreRankReport {
        epochs: cfg.epochs,
        train_samples_per_s: speed,
        wall_s: started.elapsed().as_secs_f64(),
        eval_rows,
        recall,
        popularity_recall,
    });
    Ok((pre, varmap))
}

/// The training split's positive (user, item) pairs; refuses a split
/// without any, a catalog of one item, and zero dimension or batch size.
fn train_positives(
    split: &CtrSplit,
    n_items: usize,
    cfg: &PreRankConfig,
) -> Result<Vec<(UserId, ItemId)>> {
    let positives: Vec<(UserId, ItemId)> = split
        .train
        .iter()
        .filter(|r| r.label)
        .map(|r| (r.user, r.item))
        .collect();
    if positives.is_empty() || n_items < 2 {
        return Err(Error::NotEnoughData(
            "the training split has no positives".into(),
        ));
    }
    if cfg.dim == 0 || cfg.batch_size == 0 {
        return Err(Error::Invalid(
            "dimension and batch size must be at least 1".into(),
        ));
    }
    Ok(positives)
}

/// The training loop: returns the towers, their parameters, the feature
/// space and the training speed in samples/s.
fn fit_towers(
    catalog: &Catalog,
    split: &CtrSplit,
    cfg: &PreRankConfig,
    progress: &dyn Progress,
) -> Result<(Towers, VarMap, FeatureSpace, f64)> {
    let n_items = catalog.items().len();
    let positives = train_positives(split, n_items, cfg)?;
    let device = Device::Cpu;
    let space = FeatureSpace::from_catalog(catalog, cfg.history_len);
    let encoder = Encoder::new(space.clone(), catalog);
    let card = space.cardinalities();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let towers = Towers::new(card, cfg.dim, vb)?;
    model::seeded_init(&varmap, cfg.seed, &device)?;
    let mut opt = AdamW::new(
        varmap.all_vars(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;

    let train_pos = row_histories(catalog.users().len(), &split.train);
    let user_feats = |u: UserId, exclude: ItemId| {
        let hist: Vec<ItemId> = train_pos
            .get(u.index())
            .map(|v| v.iter().copied().filter(|&i| i != exclude).collect())
            .unwrap_or_default();
        encoder.user_with_history(Some(u), &hist)
    };

    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..positives.len()).collect();
    let per = 1 + cfg.negatives;
    let mut samples = 0usize;
    let mut train_time = 0f64;
    let n_batches = order.len().div_ceil(cfg.batch_size);
    for epoch in 1..=cfg.epochs {
        progress.stage(
            &format!("two-tower epoch {epoch}/{}", cfg.epochs),
            Some(n_batches as u64),
        );
        order.shuffle(&mut rng);
        let t = Instant::now();
        for chunk in order.chunks(cfg.batch_size) {
            let mut ufs = Vec::with_capacity(chunk.len() * per);
            let mut ifs = Vec::with_capacity(chunk.len() * per);
            let mut ys = Vec::with_capacity(chunk.len() * per);
            for &p in chunk {
                let (u, i) = positives[p];
                let uf = user_feats(u, i);
                for j in 0..per {
                    let item = if j == 0 {
                        i
                    } else {
                        ItemId(rng.random_range(0..n_items as u32))
                    };
                    ufs.push(uf.clone());
                    ifs.push(encoder.item(item));
                    ys.push(if j == 0 { 1f32 } else { 0.0 });
                }
            }
            let urefs: Vec<_> = ufs.iter().collect();
            let irefs: Vec<_> = ifs.iter().collect();
            let ux = batch::user_inputs(&urefs, cfg.history_len, None, &device)?;
            let ix = batch::item_batch(&irefs, card.genres, &device)?;
            let logits = (towers.user(&ux)? * towers.item(&ix)?)?.sum(1)?;
            let y = Tensor::from_vec(ys, logits.dims1()?, &device)?;
            let loss = model::bce_with_logits(&logits, &y)?;
            opt.backward_step(&loss)?;
            samples += urefs.len();
            progress.advance(1);
        }
        train_time += t.elapsed().as_secs_f64();
        progress.finish();
    }
    let speed = if train_time > 0.0 {
        samples as f64 / train_time
    } else {
        0.0
    };
    Ok((towers, varmap, space, speed))
}

/// Recall@{50,100,300} of up to 1,000 test positives when the pre-ranker
/// orders the whole catalog (less what the user rated in training), with the
/// user's training positives as history; and the same for popularity.
/// Returns `(recall, popularity recall, rows evaluated)`.
#[allow(clippy::type_complexity)]
fn evaluate_recall(
    pre: &PreRanker,
    catalog: &Catalog,
    split: &CtrSplit,
    cfg: &PreRankConfig,
) -> (Vec<(usize, f64)>, Vec<(usize, f64)>, usize) {
    let n_items = catalog.items().len();
    let train_pos = row_histories(catalog.users().len(), &split.train);
    let mut eval: Vec<(UserId, ItemId)> = split
        .test
        .iter()
        .filter(|r| r.label)
        .map(|r| (r.user, r.item))
        .collect();
    eval.shuffle(&mut ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed));
    eval.truncate(1000);
    let ks = [50usize, 100, 300];
    let mut popularity = vec![0usize; n_items];
    for r in &split.train {
        popularity[r.item.index()] += 1;
    }
    let seen: HashMap<UserId, HashSet<ItemId>> =
        split.train.iter().fold(HashMap::new(), |mut m, r| {
            m.entry(r.user).or_default().insert(r.item);
            m
        });
    let all: Vec<ItemId> = (0..n_items as u32).map(ItemId).collect();
    let (mut hits, mut pop_hits) = (vec![0usize; ks.len()], vec![0usize; ks.len()]);
    for &(u, target) in &eval {
        let empty = HashSet::new();
        let s = seen.get(&u).unwrap_or(&empty);
        let hist = train_pos.get(u.index()).map_or(&[][..], Vec::as_slice);
        let scores = pre.score(Some(u), hist, &all);
        let t_score = scores[target.index()];
        let t_pop = popularity[target.index()];
        let (mut better, mut pop_better) = (0usize, 0usize);
        for &i in &all {
            if i == target || s.contains(&i) {
                continue;
            }
            if scores[i.index()] > t_score {
                better += 1;
            }
            if popularity[i.index()] > t_pop {
                pop_better += 1;
            }
        }
        for (j, &k) in ks.iter().enumerate() {
            hits[j] += usize::from(better < k);
            pop_hits[j] += usize::from(pop_better < k);
        }
    }
    let denom = eval.len().max(1) as f64;
    let rate = |h: &[usize]| -> Vec<(usize, f64)> {
        ks.iter()
            .zip(h)
            .map(|(&k, &h)| (k, h as f64 / denom))
            .collect()
    };
    (rate(&hits), rate(&pop_hits), eval.len())
}
