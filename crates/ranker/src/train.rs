//! Training CTR models on the CTR-protocol split.

use std::collections::HashMap;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use recagent_catalog::split::{CtrSplit, row_histories};
use recagent_core::{Catalog, ItemId, Labeled, Progress};
use serde::{Deserialize, Serialize};

use crate::batch::{self, KnowledgeTable};
use crate::config::{FORMAT_VERSION, RankerConfig, TrainReport};
use crate::ctrl::{self, CtrlConfig, CtrlReport, RowEncoder};
use crate::error::{Error, Result};
use crate::features::{Encoder, FeatureSpace, ItemFeatures, UserFeatures};
use crate::metrics;
use crate::model::{self, AdaptorConfig, ItemInputs, ModelKind, Net, NetConfig, UserInputs};
use crate::ranker::Ranker;

/// The default rank of DCNv2's cross layers: low-rank crossing as DCNv2's
/// paper proposes, chosen by measuring AUC and scoring latency on ML-100K
/// (docs/ranker.md).
pub const DEFAULT_CROSS_RANK: usize = 32;

/// Hyper-parameters of [`train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub kind: ModelKind,
    pub embedding_dim: usize,
    pub mlp: Vec<usize>,
    pub cross_layers: usize,
    /// Rank of DCNv2's cross matrices (`W ≈ U·Vᵀ`); `None` for full rank.
    pub cross_rank: Option<usize>,
    pub lr: f64,
    pub weight_decay: f64,
    pub batch_size: usize,
    pub max_epochs: usize,
    /// Stop after this many epochs without a better validation AUC.
    pub patience: usize,
    pub seed: u64,
    pub history_len: usize,
    /// KAR's hybrid-expert adaptor for the knowledge field (`None`: the
    /// linear adapter). Only used with knowledge vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptor: Option<AdaptorConfig>,
}

impl TrainConfig {
    pub fn new(kind: ModelKind) -> Self {
        Self {
            kind,
            embedding_dim: 16,
            mlp: vec![128, 64],
            cross_layers: 2,
            cross_rank: Some(DEFAULT_CROSS_RANK),
            // LR has no hidden layers to co-adapt and starts from zero weights;
            // it needs a larger step to converge within the patience window.
            lr: if kind == ModelKind::Lr { 1e-2 } else { 2e-3 },
            weight_decay: 1e-5,
            batch_size: 1024,
            max_epochs: 30,
            patience: 3,
            seed: 2026,
            history_len: 20,
            adaptor: None,
        }
    }
}

/// Encoded rows of one split part.
struct Rows {
    users: Vec<UserFeatures>,
    items: Vec<ItemFeatures>,
    catalog_items: Vec<usize>,
    labels: Vec<bool>,
}

fn encode(rows: &[Labeled], encoder: &Encoder, train_pos: &[Vec<ItemId>], h: usize) -> Rows {
    let mut out = Rows {
        users: Vec::with_capacity(rows.len()),
        items: Vec::with_capacity(rows.len()),
        catalog_items: Vec::with_capacity(rows.len()),
        labels: Vec::with_capacity(rows.len()),
    };
    for r in rows {
        let pos = train_pos.get(r.user.index()).map_or(&[][..], Vec::as_slice);
        // The user's other training positives: never the row's own item.
        let hist: Vec<ItemId> = pos.iter().copied().filter(|&i| i != r.item).collect();
        let start = hist.len().saturating_sub(h);
        out.users
            .push(encoder.user_with_history(Some(r.user), &hist[start..]));
        out.items.push(encoder.item(r.item));
        out.catalog_items.push(r.item.index());
        out.labels.push(r.label);
    }
    out
}

/// A network with what its forward pass needs besides the rows.
struct Scorer<'a> {
    net: &'a Net,
    n_genres: usize,
    history_len: usize,
    knowledge: Option<&'a KnowledgeTable>,
    users: Option<&'a KnowledgeTable>,
    device: &'a Device,
}

impl Scorer<'_> {
    fn inputs(&self, rows: &Rows, idx: &[usize]) -> Result<(UserInputs, ItemInputs)> {
        let us: Vec<&UserFeatures> = idx.iter().map(|&i| &rows.users[i]).collect();
        let is: Vec<&ItemFeatures> = idx.iter().map(|&i| &rows.items[i]).collect();
        let cs: Vec<usize> = idx.iter().map(|&i| rows.catalog_items[i]).collect();
        let u = batch::user_inputs(&us, self.history_len, self.users, self.device)?;
        let it = batch::item_inputs(&is, &cs, self.n_genres, self.knowledge, self.device)?;
        Ok((u, it))
    }

    /// Logits of the rows at `idx`.
    fn logits(&self, rows: &Rows, idx: &[usize]) -> Result<Tensor> {
        let (u, it) = self.inputs(rows, idx)?;
        self.net.forward(&u, &it)
    }

    /// The field embeddings of the rows at `idx`, flattened: `[B, F·d]`,
    /// the CTR side of CTRL's alignment.
    fn fields(&self, rows: &Rows, idx: &[usize]) -> Result<Tensor> {
        let (u, it) = self.inputs(rows, idx)?;
        let (eu, _) = self.net.user_side(&u)?;
        let (ei, _) = self.net.item_side(&it)?;
        Ok(Tensor::cat(&[eu, ei], 1)?.flatten_from(1)?)
    }

    /// Probabilities for every row, in order.
    fn probabilities(&self, rows: &Rows) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(rows.labels.len());
        let all: Vec<usize> = (0..rows.labels.len()).collect();
        for chunk in all.chunks(8192) {
            let logits = self.logits(rows, chunk)?;
            out.extend(candle_nn::ops::sigmoid(&logits)?.to_vec1::<f32>()?);
        }
        Ok(out)
    }

    /// AUC and log loss over `rows`.
    fn evaluate(&self, rows: &Rows) -> Result<(f64, f64)> {
        let p = self.probabilities(rows)?;
        let auc = metrics::auc(&p, &rows.labels).unwrap_or(0.5);
        Ok((auc, metrics::logloss(&p, &rows.labels)))
    }

    /// One pass over `rows` in the order given, a batch per step; the
    /// mean loss.
    fn epoch(
        &self,
        opt: &mut AdamW,
        rows: &Rows,
        order: &[usize],
        batch_size: usize,
        progress: &dyn Progress,
    ) -> Result<f64> {
        let mut loss_sum = 0f64;
        for chunk in order.chunks(batch_size) {
            let logits = self.logits(rows, chunk)?;
            let y = Tensor::from_vec(
                chunk
                    .iter()
                    .map(|&i| if rows.labels[i] { 1.0f32 } else { 0.0 })
                    .collect::<Vec<f32>>(),
                chunk.len(),
                self.device,
            )?;
            let loss = model::bce_with_logits(&logits, &y)?;
            opt.backward_step(&loss)?;
            loss_sum += loss.to_scalar::<f32>()? as f64 * chunk.len() as f64;
            progress.advance(1);
        }
        Ok(loss_sum / order.len().max(1) as f64)
    }
}

/// The training rows as CTRL reads them.
struct AlignRows<'a> {
    catalog: &'a Catalog,
    rows: &'a [Labeled],
    encoded: &'a Rows,
    histories: &'a [Vec<ItemId>],
    history_len: usize,
}

/// CTRL's first stage: writes a seeded sample of training rows as text,
/// encodes them, and aligns the backbone's field embeddings with them
/// (InfoNCE through two projection heads that are then dropped).
fn align(
    scorer: &Scorer<'_>,
    varmap: &VarMap,
    data: AlignRows<'_>,
    c: Ctrl<'_>,
    cfg: &TrainConfig,
    progress: &dyn Progress,
) -> Result<CtrlReport> {
    let idx = ctrl::sample(data.rows.len(), c.config, cfg.seed);
    let texts: Vec<String> = idx
        .iter()
        .map(|&i| {
            let r = &data.rows[i];
            let pos = data
                .histories
                .get(r.user.index())
                .map_or(&[][..], Vec::as_slice);
            let hist: Vec<ItemId> = pos.iter().copied().filter(|&x| x != r.item).collect();
            let start = hist.len().saturating_sub(data.history_len);
            ctrl::row_text(data.catalog, r, &hist[start..])
        })
        .collect();
    let t = Instant::now();
    let vectors = c.encoder.encode(&texts, progress)?;
    let encode_s = t.elapsed().as_secs_f64();
    let k = c.encoder.dim();
    if k == 0 || vectors.len() != texts.len() * k {
        return Err(Error::Invalid(format!(
            "the row encoder gave {} numbers for {} texts of {k} dimensions",
            vectors.len(),
            texts.len()
        )));
    }
    let row_dim = scorer.net.config().fields() * scorer.net.config().embedding_dim;
    let heads = ctrl::Heads::new(row_dim, k, c.config, cfg.seed)?;
    let mut opt = ctrl::optimiser(varmap, &heads, cfg.lr, cfg.weight_decay)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xA11);
    let mut order: Vec<usize> = (0..idx.len()).collect();
    let (mut first_loss, mut last_loss) = (f64::NAN, f64::NAN);
    let t = Instant::now();
    let n_batches = order.len().div_ceil(c.config.batch_size);
    for epoch in 1..=c.config.epochs {
        progress.stage(
            &format!("CTRL alignment {epoch}/{}", c.config.epochs),
            Some(n_batches as u64),
        );
        order.shuffle(&mut rng);
        let (mut sum, mut n) = (0f64, 0usize);
        for chunk in order.chunks(c.config.batch_size) {
            if chunk.len() < 2 {
                continue;
            }
            let rows: Vec<usize> = chunk.iter().map(|&p| idx[p]).collect();
            let e = scorer.fields(data.encoded, &rows)?;
            let mut tv = Vec::with_capacity(chunk.len() * k);
            for &p in chunk {
                tv.extend_from_slice(&vectors[p * k..(p + 1) * k]);
            }
            let tv = Tensor::from_vec(tv, (chunk.len(), k), scorer.device)?;
            sum += ctrl::step(&mut opt, &heads, &e, &tv)? * chunk.len() as f64;
            n += chunk.len();
            progress.advance(1);
        }
        progress.finish();
        let mean = sum / n.max(1) as f64;
        if epoch == 1 {
            first_loss = mean;
        }
        last_loss = mean;
        tracing::info!(epoch, loss = mean, "CTRL alignment pass done");
    }
    Ok(CtrlReport {
        rows: idx.len(),
        epochs: c.config.epochs,
        first_loss,
        last_loss,
        encode_s,
        align_s: t.elapsed().as_secs_f64(),
    })
}

/// A copy of every variable's value, to return to with [`restore`].
pub(crate) fn snapshot(varmap: &VarMap) -> Result<HashMap<String, Tensor>> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| Error::Invalid("poisoned parameter store".into()))?;
    data.iter()
        .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
        .collect()
}

/// Sets every variable back to its value in `snap`.
pub(crate) fn restore(varmap: &VarMap, snap: &HashMap<String, Tensor>) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| Error::Invalid("poisoned parameter store".into()))?;
    for (k, v) in data.iter() {
        if let Some(t) = snap.get(k) {
            v.set(t)?;
        }
    }
    Ok(())
}

/// Refuses a split part with no rows, zero batch size or epochs, and
/// knowledge vectors for another catalog.
fn check_inputs(
    catalog: &Catalog,
    split: &CtrSplit,
    cfg: &TrainConfig,
    knowledge: Option<&KnowledgeTable>,
) -> Result<()> {
    if split.train.is_empty() || split.valid.is_empty() || split.test.is_empty() {
        return Err(Error::NotEnoughData(format!(
            "train/valid/test have {}/{}/{} rows",
            split.train.len(),
            split.valid.len(),
            split.test.len()
        )));
    }
    if cfg.batch_size == 0 || cfg.max_epochs == 0 {
        return Err(Error::Invalid(
            "batch size and epochs must be at least 1".into(),
        ));
    }
    if let Some(k) = knowledge
        && k.n_items() != catalog.items().len()
    {
        return Err(Error::WrongItemCount {
            expected: catalog.items().len(),
            got: k.n_items(),
        });
    }
    Ok(())
}

/// A freshly initialised network (seeded from `cfg.seed`), its variables
/// and their optimiser.
fn new_net(
    net_cfg: &NetConfig,
    card: crate::features::Cardinalities,
    cfg: &TrainConfig,
    device: &Device,
) -> Result<(Net, VarMap, AdamW)> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let net = Net::new(net_cfg.clone(), card, vb)?;
    model::seeded_init(&varmap, cfg.seed, device)?;
    let opt = AdamW::new(
        varmap.all_vars(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: cfg.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    Ok((net, varmap, opt))
}

/// What [`fit`] did.
struct Fit {
    epochs: usize,
    best_epoch: usize,
    samples: usize,
    /// Seconds spent in training steps (not in validation).
    train_time: f64,
}

/// Runs epochs until validation AUC has not improved for `cfg.patience`
/// of them, then restores the best epoch's weights.
fn fit(
    scorer: &Scorer<'_>,
    varmap: &VarMap,
    opt: &mut AdamW,
    train_rows: &Rows,
    valid_rows: &Rows,
    cfg: &TrainConfig,
    progress: &dyn Progress,
) -> Result<Fit> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..train_rows.labels.len()).collect();
    let n_batches = order.len().div_ceil(cfg.batch_size);
    let (mut best_auc, mut best_epoch, mut best) = (f64::NEG_INFINITY, 0, None);
    let mut train_time = 0f64;
    let mut samples = 0usize;
    let mut epochs = 0;
    let mut last = String::new();
    for epoch in 1..=cfg.max_epochs {
        epochs = epoch;
        progress.stage(
            &format!("{} epoch {epoch}/{}{last}", cfg.kind.name(), cfg.max_epochs),
            Some(n_batches as u64),
        );
        order.shuffle(&mut rng);
        let t = Instant::now();
        let loss = scorer.epoch(opt, train_rows, &order, cfg.batch_size, progress)?;
        samples += order.len();
        train_time += t.elapsed().as_secs_f64();
        progress.finish();
        let (auc, ll) = scorer.evaluate(valid_rows)?;
        tracing::info!(
            epoch,
            loss,
            valid_auc = auc,
            valid_logloss = ll,
            "epoch done"
        );
        last = format!(" (loss {loss:.4}, val AUC {auc:.4})");
        if auc > best_auc + 1e-5 {
            best_auc = auc;
            best_epoch = epoch;
            best = Some(snapshot(varmap)?);
        } else if epoch - best_epoch >= cfg.patience {
            break;
        }
    }
    if let Some(snap) = &best {
        restore(varmap, snap)?;
    }
    Ok(Fit {
        epochs,
        best_epoch,
        samples,
        train_time,
    })
}

/// Trains a model on `split` (from `catalog`), with early stopping on
/// validation AUC, and returns it bound to `catalog` with its report.
pub fn train(
    catalog: &Catalog,
    split: &CtrSplit,
    cfg: &TrainConfig,
    knowledge: Option<&KnowledgeTable>,
    progress: &dyn Progress,
) -> Result<(Ranker, TrainReport)> {
    let inputs = TrainInputs {
        knowledge,
        ..TrainInputs::default()
    };
    train_with(catalog, split, cfg, &inputs, progress)
}

/// CTRL's alignment stage: its settings and the language model that reads
/// the rows.
#[derive(Clone, Copy)]
pub struct Ctrl<'a> {
    pub config: &'a CtrlConfig,
    pub encoder: &'a dyn RowEncoder,
}

impl std::fmt::Debug for Ctrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctrl").field("config", self.config).finish()
    }
}

/// What a model learns from besides the catalog's fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrainInputs<'a> {
    /// KAR's item side: one knowledge vector per catalog item.
    pub knowledge: Option<&'a KnowledgeTable>,
    /// KAR's user side: one vector per catalog user (by user index),
    /// written from history the split keeps in training
    /// (`catalog::split::ctr_split_keeping`).
    pub users: Option<&'a KnowledgeTable>,
    /// CTRL: align with the rows' texts before learning the labels.
    pub ctrl: Option<Ctrl<'a>>,
}

/// [`train`] with KAR's user side and CTRL's alignment stage as `inputs` says.
pub fn train_with(
    catalog: &Catalog,
    split: &CtrSplit,
    cfg: &TrainConfig,
    inputs: &TrainInputs<'_>,
    progress: &dyn Progress,
) -> Result<(Ranker, TrainReport)> {
    let TrainInputs {
        knowledge,
        users,
        ctrl,
    } = *inputs;
    let started = Instant::now();
    check_inputs(catalog, split, cfg, knowledge)?;
    if let Some(u) = users
        && u.n_items() != catalog.users().len()
    {
        return Err(Error::Invalid(format!(
            "{} user knowledge vectors for {} catalog users; write one per user",
            u.n_items(),
            catalog.users().len()
        )));
    }
    let device = Device::Cpu;
    let space = FeatureSpace::from_catalog(catalog, cfg.history_len);
    let encoder = Encoder::new(space.clone(), catalog);
    let card = space.cardinalities();
    let h = cfg.history_len;

    // The pooled history of every row is the user's training positives:
    // validation and test rows never show up in any history.
    let train_pos = row_histories(catalog.users().len(), &split.train);
    let train_rows = encode(&split.train, &encoder, &train_pos, h);
    let valid_rows = encode(&split.valid, &encoder, &train_pos, h);
    let test_rows = encode(&split.test, &encoder, &train_pos, h);

    let net_cfg = NetConfig {
        kind: cfg.kind,
        embedding_dim: cfg.embedding_dim,
        mlp: cfg.mlp.clone(),
        cross_layers: cfg.cross_layers,
        cross_rank: cfg.cross_rank,
        knowledge_dim: knowledge.map(|k| k.dim),
        adaptor: cfg
            .adaptor
            .filter(|_| knowledge.is_some() || users.is_some()),
        user_knowledge_dim: users.map(|u| u.dim),
    };
    let (net, varmap, mut opt) = new_net(&net_cfg, card, cfg, &device)?;
    let scorer = Scorer {
        net: &net,
        n_genres: card.genres,
        history_len: h,
        knowledge,
        users,
        device: &device,
    };
    let ctrl = match ctrl {
        Some(c) => Some(align(
            &scorer,
            &varmap,
            AlignRows {
                catalog,
                rows: &split.train,
                encoded: &train_rows,
                histories: &train_pos,
                history_len: h,
            },
            c,
            cfg,
            progress,
        )?),
        None => None,
    };
    let fit = fit(
        &scorer,
        &varmap,
        &mut opt,
        &train_rows,
        &valid_rows,
        cfg,
        progress,
    )?;
    let (valid_auc, valid_logloss) = scorer.evaluate(&valid_rows)?;
    let (test_auc, test_logloss) = scorer.evaluate(&test_rows)?;
    let report = TrainReport {
        model: cfg.kind.name().to_owned(),
        knowledge: knowledge.is_some(),
        seed: cfg.seed,
        history_len: cfg.history_len,
        cross_rank: cfg.cross_rank,
        epochs: fit.epochs,
        best_epoch: fit.best_epoch,
        train_rows: train_rows.labels.len(),
        valid_auc,
        valid_logloss,
        test_auc,
        test_logloss,
        train_samples_per_s: if fit.train_time > 0.0 {
            fit.samples as f64 / fit.train_time
        } else {
            0.0
        },
        wall_s: started.elapsed().as_secs_f64(),
        ctrl,
    };
    let config = RankerConfig {
        format_version: FORMAT_VERSION,
        net: net_cfg,
        space,
        report: Some(report.clone()),
        knowledge: knowledge.map(|k| k.source.clone()),
        user_knowledge: users.map(|u| u.source.clone()),
    };
    let ranker = Ranker::assemble(net, varmap, config, catalog, knowledge, users, device)?;
    Ok((ranker, report))
}
