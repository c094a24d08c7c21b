//! SASRec (Kang & McAuley, 2018) in candle: a causal self-attention
//! encoder over a user's recent positives whose last position, dotted with
//! the item embeddings, scores every item for the next pick. Trained with
//! cross-entropy over the whole catalog at every position, as RecBole's
//! `loss_type: CE`, with RecBole's defaults: 2 layers, 2 heads, hidden 64,
//! feed-forward 256, at most 50 items, post-norm blocks.
//!
//! Where RecBole's defaults would not train on two cores in the time a
//! user waits, these differ: dropout 0.2 (RecBole 0.5) and learning rate
//! 0.002 (0.001), at most 60 epochs, validation read every 5 and training
//! stopped after two reads without a better NDCG@10. An epoch takes about
//! 10 s on ML-100K on two cores.
//!
//! Training reads each user's training positives in windows of
//! `max_len + 1` from the most recent back, predicts every position of
//! every window, and keeps the weights of the epoch with the best
//! validation NDCG@10 (earlier positives masked). Dropout masks, batch
//! order and initial weights come from a seeded stream. Candle's threaded
//! matrix products may still sum in another order from run to run, so two
//! runs of one seed can drift apart over the epochs (the epoch chosen on
//! ML-100K moved between 15 and 30).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{D, DType, Device, Tensor};
use candle_nn::{AdamW, Embedding, Linear, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recagent_core::{ItemId, Progress};
use serde::{Deserialize, Serialize};

use super::metrics::{NextMetrics, metrics_of, rank_of};
use crate::error::{Error, Result};
use crate::train::{restore, snapshot};

/// The largest catalog SASRec trains on (its output layer is the whole
/// catalog), EASE's limit.
pub const MAX_ITEMS: usize = super::ease::MAX_ITEMS;

/// The weights file beside `next.json`.
pub const WEIGHTS: &str = "sasrec.safetensors";

/// SASRec's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeqConfig {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    /// The feed-forward layer's width.
    pub inner: usize,
    /// The most recent positives read.
    pub max_len: usize,
    /// Dropout on hidden states and attention weights.
    pub dropout: f32,
    pub lr: f64,
    /// Windows per batch.
    pub batch: usize,
    /// The most epochs trained.
    pub epochs: usize,
    /// Validation is read every this many epochs…
    pub eval_every: usize,
    /// …and training stops after this many reads without a better NDCG@10.
    pub patience: usize,
    pub seed: u64,
}

impl Default for SeqConfig {
    fn default() -> Self {
        Self {
            hidden: 64,
            layers: 2,
            heads: 2,
            inner: 256,
            max_len: 50,
            dropout: 0.2,
            lr: 2e-3,
            batch: 128,
            epochs: 60,
            eval_every: 5,
            patience: 2,
            seed: 2020,
        }
    }
}

/// How a training run went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeqTrainLog {
    pub epochs: usize,
    pub best_epoch: usize,
    /// Validation NDCG@10 (earlier positives masked) at each read.
    pub valid_ndcg10: Vec<(usize, f64)>,
    pub fit_s: f64,
}

/// Layer norm from primitive ops (candle's fused one has no backward).
struct Norm {
    w: Tensor,
    b: Tensor,
}

impl Norm {
    fn new(d: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            w: vb.get_with_hints(d, "weight", candle_nn::Init::Const(1.0))?,
            b: vb.get_with_hints(d, "bias", candle_nn::Init::Const(0.0))?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let x = x.broadcast_sub(&mean)?;
        let var = x.sqr()?.mean_keepdim(D::Minus1)?;
        let x = x.broadcast_div(&(var + 1e-12)?.sqrt()?)?;
        x.broadcast_mul(&self.w)?.broadcast_add(&self.b)
    }
}

struct Block {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    norm1: Norm,
    ff1: Linear,
    ff2: Linear,
    norm2: Norm,
}

impl Block {
    fn new(c: &SeqConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let d = c.hidden;
        Ok(Self {
            q: candle_nn::linear(d, d, vb.pp("q"))?,
            k: candle_nn::linear(d, d, vb.pp("k"))?,
            v: candle_nn::linear(d, d, vb.pp("v"))?,
            out: candle_nn::linear(d, d, vb.pp("out"))?,
            norm1: Norm::new(d, vb.pp("norm1"))?,
            ff1: candle_nn::linear(d, c.inner, vb.pp("ff1"))?,
            ff2: candle_nn::linear(c.inner, d, vb.pp("ff2"))?,
            norm2: Norm::new(d, vb.pp("norm2"))?,
        })
    }
}

/// A trained SASRec.
pub struct SasRec {
    pub config: SeqConfig,
    n_items: usize,
    varmap: VarMap,
    /// Row 0 is padding; item `i` is row `i + 1`.
    items: Embedding,
    positions: Embedding,
    norm: Norm,
    blocks: Vec<Block>,
}

impl std::fmt::Debug for SasRec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasRec")
            .field("config", &self.config)
            .field("n_items", &self.n_items)
            .finish_non_exhaustive()
    }
}

/// Seeded dropout: zeroes each element with probability `p` and scales the
/// rest by `1 / (1 − p)`.
fn dropout(x: &Tensor, p: f32, rng: &mut ChaCha8Rng) -> candle_core::Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { keep })
        .collect();
    x * Tensor::from_vec(mask, x.shape(), x.device())?
}

impl SasRec {
    fn build(n_items: usize, config: SeqConfig) -> Result<Self> {
        if n_items > MAX_ITEMS {
            return Err(Error::Invalid(format!(
                "SASRec scores the whole catalog of {n_items} items at every step; above {MAX_ITEMS} items use --model blend"
            )));
        }
        if config.heads == 0 || !config.hidden.is_multiple_of(config.heads) {
            return Err(Error::Invalid(format!(
                "SASRec's hidden size {} must divide into {} heads",
                config.hidden, config.heads
            )));
        }
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let items = candle_nn::embedding(n_items + 1, config.hidden, vb.pp("items"))?;
        let positions = candle_nn::embedding(config.max_len, config.hidden, vb.pp("positions"))?;
        let norm = Norm::new(config.hidden, vb.pp("norm"))?;
        let blocks = (0..config.layers)
            .map(|l| Block::new(&config, vb.pp(format!("block{l}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let model = Self {
            config,
            n_items,
            varmap,
            items,
            positions,
            norm,
            blocks,
        };
        model.init()?;
        Ok(model)
    }

    /// Every weight from N(0, 0.02) (RecBole's `initializer_range`),
    /// biases at 0 and norms at 1, drawn in name order from the seed.
    fn init(&self) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        let data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| Error::Invalid("poisoned parameter store".into()))?;
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        for name in names {
            if name.ends_with("bias") || name.contains("norm") {
                continue;
            }
            let var = &data[name];
            let n = var.elem_count();
            let values: Vec<f32> = (0..n).map(|_| normal(&mut rng) * 0.02).collect();
            var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu)?)?;
        }
        Ok(())
    }

    /// Hidden states `[B, L, d]` of left-padded id rows `[B, L]` (0 is
    /// padding); `rng` set means training (dropout on).
    fn hidden(&self, ids: &[Vec<u32>], mut rng: Option<&mut ChaCha8Rng>) -> Result<Tensor> {
        let c = &self.config;
        let (b, l, d) = (ids.len(), c.max_len, c.hidden);
        let flat: Vec<u32> = ids.iter().flatten().copied().collect();
        let ids_t = Tensor::from_vec(flat.clone(), (b, l), &Device::Cpu)?;
        let pos = Tensor::arange(0u32, l as u32, &Device::Cpu)?;
        let mut x = self
            .items
            .forward(&ids_t)?
            .broadcast_add(&self.positions.forward(&pos)?)?;
        x = self.norm.forward(&x)?;
        let drop = |x: &Tensor, rng: &mut Option<&mut ChaCha8Rng>| -> candle_core::Result<Tensor> {
            match rng {
                Some(r) => dropout(x, c.dropout, r),
                None => Ok(x.clone()),
            }
        };
        x = drop(&x, &mut rng)?;
        // Additive mask [B, 1, L, L]: a position sees itself and what came
        // before, never padding.
        let mut mask = vec![0f32; b * l * l];
        for (r, row) in ids.iter().enumerate() {
            for i in 0..l {
                for j in 0..l {
                    if j > i || row[j] == 0 {
                        mask[(r * l + i) * l + j] = -1e4;
                    }
                }
            }
        }
        let mask = Tensor::from_vec(mask, (b, 1, l, l), &Device::Cpu)?;
        let h = c.heads;
        let dh = d / h;
        let scale = 1.0 / (dh as f64).sqrt();
        for blk in &self.blocks {
            let split = |t: Tensor| -> candle_core::Result<Tensor> {
                t.reshape((b, l, h, dh))?.transpose(1, 2)?.contiguous()
            };
            let q = split(blk.q.forward(&x)?)?;
            let k = split(blk.k.forward(&x)?)?;
            let v = split(blk.v.forward(&x)?)?;
            let att = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&mask)?;
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let att = drop(&att, &mut rng)?;
            let ctx = att
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b, l, d))?;
            let a = drop(&blk.out.forward(&ctx)?, &mut rng)?;
            x = blk.norm1.forward(&(a + &x)?)?;
            let f = blk.ff2.forward(&blk.ff1.forward(&x)?.gelu_erf()?)?;
            let f = drop(&f, &mut rng)?;
            x = blk.norm2.forward(&(f + &x)?)?;
        }
        Ok(x)
    }

    /// Left-padded id rows of the last `max_len` items of a history.
    fn row(&self, history: &[ItemId]) -> Vec<u32> {
        let l = self.config.max_len;
        let ids: Vec<u32> = history
            .iter()
            .filter(|i| i.index() < self.n_items)
            .map(|i| i.0 + 1)
            .collect();
        let tail = &ids[ids.len().saturating_sub(l)..];
        let mut row = vec![0u32; l - tail.len()];
        row.extend_from_slice(tail);
        row
    }

    /// Scores of every item (logits) for each history, one row per history.
    pub fn scores_batch(&self, histories: &[&[ItemId]]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(histories.len());
        for chunk in histories.chunks(256) {
            let rows: Vec<Vec<u32>> = chunk.iter().map(|h| self.row(h)).collect();
            let h = self.hidden(&rows, None)?;
            let last = h.narrow(1, self.config.max_len - 1, 1)?.squeeze(1)?;
            let table = self.items.embeddings().narrow(0, 1, self.n_items)?;
            let logits = last.matmul(&table.t()?)?;
            out.extend(logits.to_vec2::<f32>()?);
        }
        Ok(out)
    }

    /// Scores of every item for one history: the softmax over the catalog,
    /// so that they are comparable across users.
    pub fn scores(&self, history: &[ItemId]) -> Result<Vec<f32>> {
        let logits = self
            .scores_batch(&[history])?
            .pop()
            .unwrap_or_else(|| vec![0.0; self.n_items]);
        let max = logits.iter().copied().fold(f32::MIN, f32::max);
        let exp: Vec<f32> = logits.iter().map(|x| (x - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        Ok(exp
            .into_iter()
            .map(|e| e / sum.max(f32::MIN_POSITIVE))
            .collect())
    }

    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Trains on `train` (each user's positives, oldest first), choosing
    /// the epoch by NDCG@10 on `valid` (each user's next positive after
    /// `train`, earlier positives masked). With no validation target, it
    /// trains `config.epochs` epochs and keeps the last weights.
    pub fn fit(
        train: &[Vec<ItemId>],
        valid: &[Option<ItemId>],
        n_items: usize,
        config: SeqConfig,
        progress: &dyn Progress,
    ) -> Result<(Self, SeqTrainLog)> {
        let started = std::time::Instant::now();
        let model = Self::build(n_items, config)?;
        let windows = windows(train, config.max_len);
        if windows.is_empty() {
            return Err(Error::NotEnoughData(
                "SASRec needs users with at least two positives".into(),
            ));
        }
        let mut opt = AdamW::new(
            model.varmap.all_vars(),
            ParamsAdamW {
                lr: config.lr,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5a5a);
        let mut order: Vec<usize> = (0..windows.len()).collect();
        let mut log = SeqTrainLog::default();
        let mut best: Option<(f64, HashMap<String, Tensor>)> = None;
        let mut since_best = 0;
        // Without validation targets every epoch is trained and the last
        // weights kept.
        let validating = valid.iter().any(Option::is_some);
        progress.stage("training SASRec", Some(config.epochs as u64));
        for epoch in 1..=config.epochs {
            order.shuffle(&mut rng);
            for batch in order.chunks(config.batch) {
                let loss = model.batch_loss(batch.iter().map(|&w| &windows[w]), &mut rng)?;
                opt.backward_step(&loss)?;
            }
            log.epochs = epoch;
            progress.advance(1);
            if !validating || (epoch % config.eval_every.max(1) != 0 && epoch != config.epochs) {
                continue;
            }
            let m = model.validate(train, valid)?;
            log.valid_ndcg10.push((epoch, m.ndcg10));
            if best.as_ref().is_none_or(|(b, _)| m.ndcg10 > *b) {
                best = Some((m.ndcg10, snapshot(&model.varmap)?));
                log.best_epoch = epoch;
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= config.patience {
                    break;
                }
            }
        }
        progress.finish();
        match best {
            Some((_, snap)) => restore(&model.varmap, &snap)?,
            None => log.best_epoch = log.epochs,
        }
        log.fit_s = started.elapsed().as_secs_f64();
        Ok((model, log))
    }

    /// Cross-entropy over the catalog at every non-padding position.
    fn batch_loss<'a>(
        &self,
        batch: impl Iterator<Item = &'a Window>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        let l = self.config.max_len;
        let mut inputs = Vec::new();
        let mut picked = Vec::new();
        let mut targets = Vec::new();
        for (r, w) in batch.enumerate() {
            let pad = l - w.input.len();
            let mut row = vec![0u32; pad];
            row.extend(&w.input);
            for (k, t) in w.target.iter().enumerate() {
                picked.push((r * l + pad + k) as u32);
                targets.push(*t);
            }
            inputs.push(row);
        }
        let h = self.hidden(&inputs, Some(rng))?;
        let flat = h.reshape((inputs.len() * l, self.config.hidden))?;
        let n = picked.len();
        let at = flat.index_select(&Tensor::from_vec(picked, n, &Device::Cpu)?, 0)?;
        let table = self.items.embeddings().narrow(0, 1, self.n_items)?;
        let logits = at.matmul(&table.t()?)?;
        let targets = Tensor::from_vec(targets, n, &Device::Cpu)?;
        Ok(candle_nn::loss::cross_entropy(&logits, &targets)?)
    }

    /// NDCG@10 and hits of each user's validation target after `train`.
    fn validate(&self, train: &[Vec<ItemId>], valid: &[Option<ItemId>]) -> Result<NextMetrics> {
        let users: Vec<usize> = (0..train.len())
            .filter(|&u| valid.get(u).copied().flatten().is_some() && !train[u].is_empty())
            .collect();
        let histories: Vec<&[ItemId]> = users.iter().map(|&u| train[u].as_slice()).collect();
        let scores = self.scores_batch(&histories)?;
        let ranks: Vec<usize> = users
            .iter()
            .zip(&scores)
            .filter_map(|(&u, s)| Some(rank_of(s, valid[u]?, &train[u])))
            .collect();
        Ok(metrics_of(&ranks))
    }

    /// Writes the weights to `dir/sasrec.safetensors`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let p = dir.join(WEIGHTS);
        self.varmap.save(&p)?;
        Ok(())
    }

    /// Reads weights written by [`Self::save`].
    pub fn load(dir: &Path, n_items: usize, config: SeqConfig) -> Result<Self> {
        let mut model = Self::build(n_items, config)?;
        let p = dir.join(WEIGHTS);
        if !p.exists() {
            return Err(Error::NotTrained {
                what: "SASRec".into(),
                dir: dir.to_owned(),
                command: "recagent train NAME --model blend".into(),
            });
        }
        model.varmap.load(&p)?;
        // `load` replaced the variables' values; the layers hold the same
        // tensors, so nothing else changes.
        model.n_items = n_items;
        Ok(model)
    }
}

/// One training window: up to `max_len` inputs and the item after each.
#[derive(Debug, Clone, PartialEq)]
struct Window {
    input: Vec<u32>,
    target: Vec<u32>,
}

/// Each history cut into windows of `max_len + 1` items from the most
/// recent back, overlapping by one so that every position after the first
/// is a target once. Ids are shifted by one (0 is padding); targets are
/// 0-based item indices.
fn windows(histories: &[Vec<ItemId>], max_len: usize) -> Vec<Window> {
    let mut out = Vec::new();
    for h in histories {
        let mut end = h.len();
        while end >= 2 {
            let start = end.saturating_sub(max_len + 1);
            let w = &h[start..end];
            out.push(Window {
                input: w[..w.len() - 1].iter().map(|i| i.0 + 1).collect(),
                target: w[1..].iter().map(|i| i.0).collect(),
            });
            end = start + 1;
            if start == 0 {
                break;
            }
        }
    }
    out
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.random::<f32>().max(f32::MIN_POSITIVE);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_make_every_later_position_a_target_once() {
        let h: Vec<ItemId> = (0..7).map(ItemId).collect();
        let w = windows(&[h], 3);
        let mut targets: Vec<u32> = w.iter().flat_map(|w| w.target.clone()).collect();
        targets.sort_unstable();
        assert_eq!(targets, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(w[0].input, vec![4, 5, 6], "items 3, 4, 5 shifted by one");
        assert_eq!(w[0].target, vec![4, 5, 6]);
        assert!(
            w.iter()
                .all(|w| w.input.len() == w.target.len() && w.input.len() <= 3)
        );
        assert!(windows(&[vec![ItemId(0)]], 3).is_empty());
    }

    #[test]
    fn it_learns_a_cycle_and_reloads_the_same_scores() {
        // Users walk the cycle 0 → 1 → … → 7 → 0 from different starts;
        // after item i the next is i + 1.
        let n = 8;
        let train: Vec<Vec<ItemId>> = (0..40)
            .map(|u| (0..12).map(|k| ItemId(((u + k) % n) as u32)).collect())
            .collect();
        let valid: Vec<Option<ItemId>> = (0..40)
            .map(|u| Some(ItemId(((u + 12) % n) as u32)))
            .collect();
        let config = SeqConfig {
            hidden: 16,
            inner: 32,
            max_len: 8,
            dropout: 0.1,
            lr: 5e-3,
            epochs: 40,
            eval_every: 10,
            patience: 10,
            ..SeqConfig::default()
        };
        let (m, log) =
            SasRec::fit(&train, &valid, n, config, &recagent_core::NoProgress).expect("fit");
        let m_valid = m.validate(&train, &valid).expect("validate");
        assert!(m_valid.hit1 > 0.9, "{m_valid:?} {log:?}");
        let s = m.scores(&[ItemId(2), ItemId(3)]).expect("scores");
        let best = (0..n).max_by(|&a, &b| s[a].total_cmp(&s[b])).expect("best");
        assert_eq!(best, 4);
        let dir = tempfile::tempdir().expect("tempdir");
        m.save(dir.path()).expect("save");
        let back = SasRec::load(dir.path(), n, config).expect("load");
        let s2 = back.scores(&[ItemId(2), ItemId(3)]).expect("scores");
        for (a, b) in s.iter().zip(&s2) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn a_catalog_too_large_is_refused_with_what_to_do() {
        let e = SasRec::build(MAX_ITEMS + 1, SeqConfig::default()).expect_err("too large");
        assert!(e.to_string().contains("--model blend"), "{e}");
    }

    #[test]
    fn rows_are_left_padded_and_keep_the_most_recent() {
        let config = SeqConfig {
            max_len: 3,
            hidden: 4,
            inner: 4,
            ..SeqConfig::default()
        };
        let m = SasRec::build(5, config).expect("build");
        assert_eq!(m.row(&[ItemId(1)]), vec![0, 0, 2]);
        assert_eq!(
            m.row(&[ItemId(0), ItemId(1), ItemId(2), ItemId(3)]),
            vec![2, 3, 4]
        );
        assert_eq!(
            m.row(&[ItemId(1), ItemId(9)]),
            vec![0, 0, 2],
            "9 is outside"
        );
    }
}
