//! The CTR networks: LR, FM, DeepFM and DCNv2 over one set of field
//! embeddings.
//!
//! Every model sees the same fields, split by side so that scoring can cache
//! the item side:
//!
//! * user side: user id, age bucket, gender, occupation, pooled history;
//! * item side: item id, release-year bucket, genres (mean-pooled), and,
//!   with `--knowledge`, the item's knowledge vector through a linear adapter.
//!
//! [`Net::user_side`] and [`Net::item_side`] turn inputs into field
//! embeddings `[B, F, d]` plus first-order terms `[B]`; [`Net::head`] turns
//! those into logits. Training runs all three; the scorer caches `item_side`
//! for every item once.

use candle_core::{D, DType, Device, Tensor};
use candle_nn::{Embedding, Linear, Module, VarBuilder, embedding, linear, linear_no_bias};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::Cardinalities;

/// Which CTR model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Lr,
    Fm,
    DeepFm,
    DcnV2,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Lr => "lr",
            ModelKind::Fm => "fm",
            ModelKind::DeepFm => "deepfm",
            ModelKind::DcnV2 => "dcnv2",
        }
    }
}

/// The shape of a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    pub kind: ModelKind,
    pub embedding_dim: usize,
    /// Hidden layer widths of the deep part (DeepFM, DCNv2).
    pub mlp: Vec<usize>,
    /// Cross layers (DCNv2).
    pub cross_layers: usize,
    /// Rank of each cross layer's matrix, `W = U·Vᵀ` (DCNv2's low-rank
    /// crossing); `None` for full-rank `W`.
    #[serde(default)]
    pub cross_rank: Option<usize>,
    /// Dimension of the knowledge vectors, when the knowledge field is on.
    pub knowledge_dim: Option<usize>,
    /// KAR's hybrid-expert adaptor in place of the knowledge field's
    /// linear one (`None`: linear).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptor: Option<AdaptorConfig>,
    /// Dimension of the user knowledge vectors (KAR's user side), when the
    /// user knowledge field is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_knowledge_dim: Option<usize>,
}

/// The shape of KAR's hybrid-expert adaptor: experts every knowledge input
/// shares, experts of each input's own, and a softmax gate per input over
/// both. Each expert is a two-layer MLP from the knowledge vector to the
/// field's embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdaptorConfig {
    pub shared: usize,
    pub specific: usize,
    /// Hidden width of each expert.
    pub hidden: usize,
}

impl Default for AdaptorConfig {
    /// KAR's reference code: two shared experts, two of each input's own,
    /// a hidden layer of 128 (its MLPs run 128 → 32 over larger vectors).
    fn default() -> Self {
        Self {
            shared: 2,
            specific: 2,
            hidden: 128,
        }
    }
}

pub(crate) const USER_FIELDS: usize = 5;

impl NetConfig {
    pub fn item_fields(&self) -> usize {
        3 + usize::from(self.knowledge_dim.is_some())
    }

    pub fn user_fields(&self) -> usize {
        USER_FIELDS + usize::from(self.user_knowledge_dim.is_some())
    }

    pub fn fields(&self) -> usize {
        self.user_fields() + self.item_fields()
    }

    /// The adaptor's inputs: the item's vector, then the user's, each
    /// where its field is on.
    fn adaptor_inputs(&self) -> (Option<usize>, Option<usize>) {
        let item = self.knowledge_dim.map(|_| 0);
        let user = self.user_knowledge_dim.map(|_| usize::from(item.is_some()));
        (item, user)
    }
}

/// Raw inputs of a batch, as tensors on the model's device.
#[derive(Debug)]
pub struct UserInputs {
    pub user: Tensor,
    pub age: Tensor,
    pub gender: Tensor,
    pub occupation: Tensor,
    /// `[B, H]` item rows, padded with 0.
    pub history: Tensor,
    /// `[B, H]` 1.0 where `history` is real, 0.0 for padding.
    pub history_mask: Tensor,
    /// `[B, K]` user knowledge vectors (zeros for a user without one).
    pub knowledge: Option<Tensor>,
}

#[derive(Debug)]
pub struct ItemInputs {
    pub item: Tensor,
    pub year: Tensor,
    /// `[B, G]` genre weights, each row summing to 1 (or 0 without genres).
    pub genres: Tensor,
    /// `[B, K]` knowledge vectors.
    pub knowledge: Option<Tensor>,
}

#[derive(Debug)]
struct Field {
    emb: Embedding,
    w: Embedding,
}

impl Field {
    fn new(rows: usize, d: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            emb: embedding(rows, d, vb.pp("emb"))?,
            w: embedding(rows, 1, vb.pp("w"))?,
        })
    }

    /// `([B, d], [B])`
    fn forward(&self, ids: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((
            self.emb.forward(ids)?,
            self.w.forward(ids)?.squeeze(D::Minus1)?,
        ))
    }
}

/// One DCNv2 cross layer's linear map: `W x + b`, with `W` full or
/// factored as `U·Vᵀ`.
#[derive(Debug)]
enum Cross {
    Full(Linear),
    LowRank { v: Linear, u: Linear },
}

impl Cross {
    fn new(width: usize, rank: Option<usize>, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(match rank {
            Some(r) if r < width => Cross::LowRank {
                v: linear_no_bias(width, r, vb.pp("v"))?,
                u: linear(r, width, vb.pp("u"))?,
            },
            _ => Cross::Full(linear(width, width, vb)?),
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Cross::Full(l) => l.forward(x),
            Cross::LowRank { v, u } => u.forward(&v.forward(x)?),
        }
    }

    /// The user's share of `W x + b` (bias included), `[1, width]`.
    fn user_share(&self, x_user: &Tensor, user_cols: usize) -> candle_core::Result<Tensor> {
        match self {
            Cross::Full(l) => user_share(l, x_user, user_cols),
            Cross::LowRank { v, u } => u.forward(&user_share(v, x_user, user_cols)?),
        }
    }

    /// The items' share of `W x` (no bias), `[n, width]`.
    fn item_share(&self, x_item: &Tensor, user_cols: usize) -> candle_core::Result<Tensor> {
        match self {
            Cross::Full(l) => item_share(l, x_item, user_cols),
            Cross::LowRank { v, u } => item_share(v, x_item, user_cols)?.matmul(&u.weight().t()?),
        }
    }
}

/// One expert: `knowledge → hidden → d`.
#[derive(Debug)]
struct Expert {
    a: Linear,
    b: Linear,
}

impl Expert {
    fn new(k: usize, hidden: usize, d: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            a: linear(k, hidden, vb.pp("a"))?,
            b: linear(hidden, d, vb.pp("b"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.b.forward(&self.a.forward(x)?.relu()?)
    }
}

/// One knowledge input's own experts and gate.
#[derive(Debug)]
struct InputExperts {
    experts: Vec<Expert>,
    gate: Linear,
}

/// KAR's hybrid-expert adaptor (see [`AdaptorConfig`]) over one or more
/// knowledge inputs: input 0 is the item's vector ([`ITEM_INPUT`]); a
/// user's preference vector is the next.
#[derive(Debug)]
pub(crate) struct Adaptor {
    shared: Vec<Expert>,
    inputs: Vec<InputExperts>,
}

impl Adaptor {
    pub(crate) fn new(
        cfg: AdaptorConfig,
        k: usize,
        d: usize,
        inputs: usize,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        let experts = |n: usize, vb: VarBuilder| -> candle_core::Result<Vec<Expert>> {
            (0..n)
                .map(|i| Expert::new(k, cfg.hidden, d, vb.pp(i.to_string())))
                .collect()
        };
        let inputs = (0..inputs)
            .map(|i| {
                let vb = vb.pp(format!("input{i}"));
                Ok(InputExperts {
                    experts: experts(cfg.specific, vb.pp("experts"))?,
                    gate: linear(k, cfg.shared + cfg.specific, vb.pp("gate"))?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            shared: experts(cfg.shared, vb.pp("shared"))?,
            inputs,
        })
    }

    /// Input `i`'s knowledge vectors `[B, K]` as a field `[B, d]`: the
    /// shared and the input's own experts, weighted by the input's gate.
    pub(crate) fn forward(&self, i: usize, x: &Tensor) -> candle_core::Result<Tensor> {
        let input = self
            .inputs
            .get(i)
            .ok_or_else(|| candle_core::Error::Msg(format!("the adaptor has no input {i}")))?;
        let outs = self
            .shared
            .iter()
            .chain(&input.experts)
            .map(|e| e.forward(x))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let stacked = Tensor::stack(&outs, 1)?; // [B, E, d]
        let gate = candle_nn::ops::softmax(&input.gate.forward(x)?, D::Minus1)?; // [B, E]
        stacked.broadcast_mul(&gate.unsqueeze(D::Minus1)?)?.sum(1)
    }
}

/// How a knowledge vector becomes a field embedding: a linear adapter of
/// its own, or its input of the shared [`Adaptor`].
#[derive(Debug)]
enum KnowledgeEmb {
    Linear(Linear),
    Input(usize),
}

/// One knowledge field: its embedding and its first-order weight.
#[derive(Debug)]
struct KnowledgeField {
    emb: KnowledgeEmb,
    w: Linear,
}

impl KnowledgeField {
    fn new(k: usize, d: usize, input: Option<usize>, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            emb: match input {
                Some(i) => KnowledgeEmb::Input(i),
                None => KnowledgeEmb::Linear(linear(k, d, vb.pp("emb"))?),
            },
            w: linear(k, 1, vb.pp("w"))?,
        })
    }

    /// `([B, d], [B])`
    fn forward(
        &self,
        adaptor: Option<&Adaptor>,
        x: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let e = match (&self.emb, adaptor) {
            (KnowledgeEmb::Linear(l), _) => l.forward(x)?,
            (KnowledgeEmb::Input(i), Some(a)) => a.forward(*i, x)?,
            (KnowledgeEmb::Input(i), None) => {
                return Err(candle_core::Error::Msg(format!(
                    "knowledge input {i} without an adaptor"
                )));
            }
        };
        Ok((e, self.w.forward(x)?.squeeze(D::Minus1)?))
    }
}

#[derive(Debug)]
pub struct Net {
    pub cfg: NetConfig,
    user: Field,
    item: Field,
    age: Field,
    gender: Field,
    occupation: Field,
    year: Field,
    genre_emb: Tensor,
    genre_w: Tensor,
    bias: Tensor,
    knowledge: Option<KnowledgeField>,
    user_knowledge: Option<KnowledgeField>,
    adaptor: Option<Adaptor>,
    mlp: Vec<Linear>,
    cross: Vec<Cross>,
    out: Option<Linear>,
}

impl Net {
    pub fn new(cfg: NetConfig, card: Cardinalities, vb: VarBuilder) -> Result<Self> {
        let d = cfg.embedding_dim;
        if d == 0 {
            return Err(Error::Invalid(
                "embedding dimension must be at least 1".into(),
            ));
        }
        let f = cfg.fields();
        let deep = matches!(cfg.kind, ModelKind::DeepFm | ModelKind::DcnV2);
        let mut mlp = Vec::new();
        let mut width = f * d;
        if deep {
            for (i, &h) in cfg.mlp.iter().enumerate() {
                mlp.push(linear(width, h, vb.pp(format!("mlp.{i}")))?);
                width = h;
            }
        }
        let mut cross = Vec::new();
        if cfg.kind == ModelKind::DcnV2 {
            for i in 0..cfg.cross_layers {
                cross.push(Cross::new(
                    f * d,
                    cfg.cross_rank,
                    vb.pp(format!("cross.{i}")),
                )?);
            }
        }
        let out = match cfg.kind {
            ModelKind::DeepFm => Some(linear(width, 1, vb.pp("out"))?),
            ModelKind::DcnV2 => Some(linear(f * d + width, 1, vb.pp("out"))?),
            _ => None,
        };
        // The adaptor serves both knowledge inputs, which must then share
        // their dimension (the same text encoder writes both).
        let (item_input, user_input) = cfg.adaptor_inputs();
        let adaptor = match (cfg.adaptor, cfg.knowledge_dim.or(cfg.user_knowledge_dim)) {
            (Some(a), Some(k)) => {
                if let (Some(ki), Some(ku)) = (cfg.knowledge_dim, cfg.user_knowledge_dim)
                    && ki != ku
                {
                    return Err(Error::Invalid(format!(
                        "the adaptor needs item and user knowledge vectors of one size, not {ki} and {ku}"
                    )));
                }
                let inputs = usize::from(item_input.is_some()) + usize::from(user_input.is_some());
                Some(Adaptor::new(a, k, d, inputs, vb.pp("knowledge.adaptor"))?)
            }
            _ => None,
        };
        let with_adaptor = |i: Option<usize>| i.filter(|_| adaptor.is_some());
        let knowledge = match cfg.knowledge_dim {
            Some(k) => Some(KnowledgeField::new(
                k,
                d,
                with_adaptor(item_input),
                vb.pp("knowledge"),
            )?),
            None => None,
        };
        let user_knowledge = match cfg.user_knowledge_dim {
            Some(k) => Some(KnowledgeField::new(
                k,
                d,
                with_adaptor(user_input),
                vb.pp("user_knowledge"),
            )?),
            None => None,
        };
        Ok(Self {
            user: Field::new(card.users, d, vb.pp("user"))?,
            item: Field::new(card.items, d, vb.pp("item"))?,
            age: Field::new(card.ages, d, vb.pp("age"))?,
            gender: Field::new(card.genders, d, vb.pp("gender"))?,
            occupation: Field::new(card.occupations, d, vb.pp("occupation"))?,
            year: Field::new(card.years, d, vb.pp("year"))?,
            genre_emb: vb.get((card.genres, d), "genre.emb.weight")?,
            genre_w: vb.get((card.genres, 1), "genre.w.weight")?,
            bias: vb.get(1, "bias")?,
            knowledge,
            user_knowledge,
            adaptor,
            mlp,
            cross,
            out,
            cfg,
        })
    }

    /// The shape this network was built with.
    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// User-side field embeddings `[B, 5 or 6, d]` (6 with user knowledge) and first-order terms `[B]`.
    pub fn user_side(&self, x: &UserInputs) -> Result<(Tensor, Tensor)> {
        let (eu, wu) = self.user.forward(&x.user)?;
        let (ea, wa) = self.age.forward(&x.age)?;
        let (eg, wg) = self.gender.forward(&x.gender)?;
        let (eo, wo) = self.occupation.forward(&x.occupation)?;
        // Pooled history: the mean of the history items' embeddings.
        let hist = self.item.emb.forward(&x.history)?; // [B, H, d]
        let mask = x.history_mask.unsqueeze(D::Minus1)?; // [B, H, 1]
        let count = x.history_mask.sum_keepdim(1)?.clamp(1f32, f32::MAX)?; // [B, 1]
        let eh = hist.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&count)?;
        let mut fields = vec![eu, ea, eg, eo, eh];
        let mut w = (((wu + wa)? + wg)? + wo)?;
        match (&self.user_knowledge, &x.knowledge) {
            (Some(field), Some(k)) => {
                let (ek, wk) = field.forward(self.adaptor.as_ref(), k)?;
                fields.push(ek);
                w = (w + wk)?;
            }
            (Some(_), None) => return Err(Error::MissingKnowledge),
            (None, _) => {}
        }
        Ok((Tensor::stack(&fields, 1)?, w))
    }

    /// Item-side field embeddings `[B, 3 or 4, d]` and first-order terms `[B]`.
    pub fn item_side(&self, x: &ItemInputs) -> Result<(Tensor, Tensor)> {
        let (ei, wi) = self.item.forward(&x.item)?;
        let (ey, wy) = self.year.forward(&x.year)?;
        let eg = x.genres.matmul(&self.genre_emb)?;
        let wg = x.genres.matmul(&self.genre_w)?.squeeze(D::Minus1)?;
        let mut fields = vec![ei, ey, eg];
        let mut w = ((wi + wy)? + wg)?;
        match (&self.knowledge, &x.knowledge) {
            (Some(field), Some(k)) => {
                let (ek, wk) = field.forward(self.adaptor.as_ref(), k)?;
                fields.push(ek);
                w = (w + wk)?;
            }
            (Some(_), None) => return Err(Error::MissingKnowledge),
            (None, _) => {}
        }
        Ok((Tensor::stack(&fields, 1)?, w))
    }

    /// Logits `[B]` from field embeddings `[B, F, d]` and first-order terms `[B]`.
    pub fn head(&self, e: &Tensor, first: &Tensor) -> Result<Tensor> {
        let linear_part = first.broadcast_add(&self.bias)?;
        let fm = || -> candle_core::Result<Tensor> {
            let sum = e.sum(1)?; // [B, d]
            let sum_sq = e.sqr()?.sum(1)?;
            (sum.sqr()? - sum_sq)?.sum(1)? * 0.5
        };
        let deep = |x: &Tensor| -> candle_core::Result<Tensor> {
            let mut h = x.clone();
            for layer in &self.mlp {
                h = layer.forward(&h)?.relu()?;
            }
            Ok(h)
        };
        let logits = match self.cfg.kind {
            ModelKind::Lr => linear_part,
            ModelKind::Fm => (linear_part + fm()?)?,
            ModelKind::DeepFm => {
                let flat = e.flatten_from(1)?;
                let out = self
                    .out
                    .as_ref()
                    .ok_or_else(|| Error::Invalid("deepfm without output layer".into()))?;
                ((linear_part + fm()?)? + out.forward(&deep(&flat)?)?.squeeze(D::Minus1)?)?
            }
            ModelKind::DcnV2 => {
                let x0 = e.flatten_from(1)?;
                let mut x = x0.clone();
                for layer in &self.cross {
                    x = ((&x0 * layer.forward(&x)?)? + &x)?;
                }
                let h = deep(&x0)?;
                let out = self
                    .out
                    .as_ref()
                    .ok_or_else(|| Error::Invalid("dcnv2 without output layer".into()))?;
                (linear_part + out.forward(&Tensor::cat(&[x, h], 1)?)?.squeeze(D::Minus1)?)?
            }
        };
        Ok(logits)
    }

    pub fn forward(&self, u: &UserInputs, i: &ItemInputs) -> Result<Tensor> {
        let (eu, wu) = self.user_side(u)?;
        let (ei, wi) = self.item_side(i)?;
        let e = Tensor::cat(&[eu, ei], 1)?;
        self.head(&e, &(wu + wi)?)
    }
}

/// Numerically stable mean binary cross-entropy on logits.
pub fn bce_with_logits(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    // max(x, 0) - x*y + log(1 + exp(-|x|))
    let pos = logits.relu()?;
    let xy = (logits * labels)?;
    let soft = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok(((pos - xy)? + soft)?.mean_all()?)
}

/// Re-initialises every variable from a seeded stream, in name order, so
/// that training is reproducible (candle's own initialisers draw from an
/// unseeded generator).
pub fn seeded_init(varmap: &candle_nn::VarMap, seed: u64, device: &Device) -> Result<()> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let data = varmap
        .data()
        .lock()
        .map_err(|_| Error::Invalid("poisoned parameter store".into()))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        let shape = var.shape().clone();
        let n = shape.elem_count();
        let values: Vec<f32> = if name.ends_with("bias") || name.contains(".w.") || name == "bias" {
            // First-order weights and biases start at zero.
            vec![0.0; n]
        } else if ![
            "knowledge.",
            "user_knowledge.",
            "mlp.",
            "cross.",
            "out.",
            "ctrl.",
        ]
        .iter()
        .any(|p| name.starts_with(p))
        {
            // Embedding tables.
            (0..n).map(|_| (rng.random::<f32>() - 0.5) * 0.1).collect()
        } else {
            // Linear weights `[out, in]`: uniform in ±1/sqrt(in), as PyTorch does.
            let fan_in = shape.dims().last().copied().unwrap_or(1).max(1) as f32;
            let bound = 1.0 / fan_in.sqrt();
            (0..n)
                .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * bound)
                .collect()
        };
        var.set(&Tensor::from_vec(values, shape, device)?.to_dtype(DType::F32)?)?;
    }
    Ok(())
}

/// Item-side results kept for every catalog item so that scoring a request
/// touches each candidate only through cheap lookups.
#[derive(Debug, Clone)]
pub struct ItemCache {
    /// Item-side field embeddings `[n, Fi, d]` (used by DCNv2).
    pub e: Tensor,
    /// First-order item terms plus the FM interactions among item fields `[n]`.
    pub scalar: Tensor,
    /// Sum of item field embeddings `[n, d]` (FM's user×item term).
    pub sum: Tensor,
    /// The item fields' share of the first MLP layer `[n, h1]` (DeepFM, DCNv2).
    pub h1: Option<Tensor>,
    /// The item fields' share of DCNv2's first cross layer `[n, F*d]`.
    pub cross1: Option<Tensor>,
}

/// `x_user · W[:, ..user_cols]ᵀ + b`, the user's share of a linear layer.
fn user_share(layer: &Linear, x_user: &Tensor, user_cols: usize) -> candle_core::Result<Tensor> {
    let w = layer.weight().narrow(1, 0, user_cols)?;
    let h = x_user.matmul(&w.t()?)?;
    match layer.bias() {
        Some(b) => h.broadcast_add(b),
        None => Ok(h),
    }
}

/// `x_item · W[:, user_cols..]ᵀ`, the item's share of a linear layer.
fn item_share(layer: &Linear, x_item: &Tensor, user_cols: usize) -> candle_core::Result<Tensor> {
    let item_cols = x_item.dim(1)?;
    let w = layer.weight().narrow(1, user_cols, item_cols)?;
    x_item.matmul(&w.t()?)
}

fn fm_within(e: &Tensor) -> candle_core::Result<Tensor> {
    let sum = e.sum(1)?;
    let sum_sq = e.sqr()?.sum(1)?;
    (sum.sqr()? - sum_sq)?.sum(1)? * 0.5
}

impl Net {
    /// Precomputes the item side for the fast scoring path.
    pub fn build_cache(&self, e: Tensor, w: Tensor) -> Result<ItemCache> {
        let (n, fi, d) = e.dims3()?;
        let fm = matches!(self.cfg.kind, ModelKind::Fm | ModelKind::DeepFm);
        let scalar = if fm {
            (&w + fm_within(&e)?)?
        } else {
            w.clone()
        };
        let sum = e.sum(1)?;
        let flat = e.reshape((n, fi * d))?;
        let deep = matches!(self.cfg.kind, ModelKind::DeepFm | ModelKind::DcnV2);
        let h1 = match self.mlp.first() {
            Some(first) if deep => Some(item_share(first, &flat, self.cfg.user_fields() * d)?),
            _ => None,
        };
        let cross1 = match self.cross.first() {
            Some(c) if self.cfg.kind == ModelKind::DcnV2 => {
                Some(c.item_share(&flat, self.cfg.user_fields() * d)?)
            }
            _ => None,
        };
        Ok(ItemCache {
            e,
            scalar,
            sum,
            h1,
            cross1,
        })
    }

    /// Logits `[N]` for one user's side (`eu: [1, 5, d]`, `wu: [1]`) against
    /// the cached items at `idx`.
    pub fn score_cached(
        &self,
        eu: &Tensor,
        wu: &Tensor,
        cache: &ItemCache,
        idx: &Tensor,
    ) -> Result<Tensor> {
        let n = idx.dims1()?;
        let (_, fu, d) = eu.dims3()?;
        let user_scalar = wu.broadcast_add(&self.bias)?; // [1]
        match self.cfg.kind {
            ModelKind::DcnV2 => {
                let ei = cache.e.index_select(idx, 0)?;
                let first_order = cache.scalar.index_select(idx, 0)?.broadcast_add(wu)?;
                let (Some(c1), Some(h1i), Some(layer1), Some(mlp1), Some(out)) = (
                    &cache.cross1,
                    &cache.h1,
                    self.cross.first(),
                    self.mlp.first(),
                    &self.out,
                ) else {
                    let e = Tensor::cat(&[eu.broadcast_as((n, fu, d))?, ei], 1)?;
                    return self.head(&e, &first_order);
                };
                let xu = eu.reshape((1, fu * d))?;
                let x0 = Tensor::cat(&[xu.broadcast_as((n, fu * d))?, ei.flatten_from(1)?], 1)?;
                // The first cross layer's and the first MLP layer's matrix
                // products split into a user share (once) and a cached item
                // share. The layer's residual, x0 ⊙ (W x0 + b) + x0, is
                // x0 ⊙ (W x0 + b + 1): the 1 joins the user's share, which is
                // one row, so the layer costs one elementwise pass, not two.
                let lin1 = c1
                    .index_select(idx, 0)?
                    .broadcast_add(&(layer1.user_share(&xu, fu * d)? + 1.0)?)?;
                let mut x = (&x0 * lin1)?;
                for layer in &self.cross[1..] {
                    x = ((&x0 * layer.forward(&x)?)? + &x)?;
                }
                let mut h = h1i
                    .index_select(idx, 0)?
                    .broadcast_add(&user_share(mlp1, &xu, fu * d)?)?
                    .relu()?;
                for layer in &self.mlp[1..] {
                    h = layer.forward(&h)?.relu()?;
                }
                // The output layer over [x, h] as two products, so that the
                // two are never copied into one matrix.
                let w = out.weight();
                let width = x.dim(1)?;
                let logit = (x.matmul(&w.narrow(1, 0, width)?.t()?)?
                    + h.matmul(&w.narrow(1, width, h.dim(1)?)?.t()?)?)?
                .squeeze(1)?;
                let bias = match out.bias() {
                    Some(b) => self.bias.broadcast_add(b)?,
                    None => self.bias.clone(),
                };
                Ok((first_order.broadcast_add(&bias)? + logit)?)
            }
            ModelKind::Lr => Ok(cache
                .scalar
                .index_select(idx, 0)?
                .broadcast_add(&user_scalar)?),
            ModelKind::Fm | ModelKind::DeepFm => {
                let sum_u = eu.sum(1)?; // [1, d]
                let cross = cache
                    .sum
                    .index_select(idx, 0)?
                    .matmul(&sum_u.t()?)?
                    .squeeze(1)?; // [N]
                let fm_u = fm_within(eu)?; // [1]
                let mut logits = (cache.scalar.index_select(idx, 0)? + cross)?
                    .broadcast_add(&(user_scalar + fm_u)?)?;
                if self.cfg.kind == ModelKind::DeepFm {
                    let (Some(h1i), Some(first), Some(out)) =
                        (&cache.h1, self.mlp.first(), &self.out)
                    else {
                        // No hidden layers: the generic path.
                        let ei = cache.e.index_select(idx, 0)?;
                        let e = Tensor::cat(&[eu.broadcast_as((n, fu, d))?, ei], 1)?;
                        let first_order = (cache.scalar.index_select(idx, 0)?
                            - fm_within(&cache.e.index_select(idx, 0)?)?)?
                        .broadcast_add(wu)?;
                        return self.head(&e, &first_order);
                    };
                    let hu = user_share(first, &eu.reshape((1, fu * d))?, fu * d)?;
                    let mut h = h1i.index_select(idx, 0)?.broadcast_add(&hu)?.relu()?;
                    for layer in &self.mlp[1..] {
                        h = layer.forward(&h)?.relu()?;
                    }
                    logits = (logits + out.forward(&h)?.squeeze(1)?)?;
                }
                Ok(logits)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_nn::VarMap;

    use super::*;

    fn adaptor(inputs: usize) -> (Adaptor, VarMap) {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let cfg = AdaptorConfig {
            shared: 2,
            specific: 3,
            hidden: 8,
        };
        (Adaptor::new(cfg, 12, 4, inputs, vb).unwrap(), varmap)
    }

    #[test]
    fn the_adaptor_maps_each_input_to_one_field_with_shared_experts_once() {
        let (a, varmap) = adaptor(2);
        let x = Tensor::randn(0f32, 1.0, (5, 12), &Device::Cpu).unwrap();
        for i in 0..2 {
            assert_eq!(a.forward(i, &x).unwrap().dims(), &[5, 4]);
        }
        // Two inputs see the same vector through different gates and
        // experts of their own.
        let diff = (a.forward(0, &x).unwrap() - a.forward(1, &x).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff > 0.0);
        assert!(a.forward(2, &x).is_err(), "no third input");
        let names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
        let count = |prefix: &str| names.iter().filter(|n| n.starts_with(prefix)).count();
        // Each expert has two layers of weight and bias.
        assert_eq!(count("shared."), 2 * 4);
        assert_eq!(count("input0.experts."), 3 * 4);
        assert_eq!(count("input1.experts."), 3 * 4);
        let gate = varmap.data().lock().unwrap()["input0.gate.weight"]
            .dims()
            .to_vec();
        assert_eq!(
            gate,
            vec![5, 12],
            "one gate weight per expert, shared and own"
        );
    }

    #[test]
    fn a_net_with_the_adaptor_has_one_knowledge_field() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let cfg = NetConfig {
            kind: ModelKind::DeepFm,
            embedding_dim: 4,
            mlp: vec![8],
            cross_layers: 0,
            cross_rank: None,
            knowledge_dim: Some(12),
            adaptor: Some(AdaptorConfig::default()),
            user_knowledge_dim: None,
        };
        let card = Cardinalities {
            users: 3,
            items: 6,
            ages: 2,
            genders: 2,
            occupations: 2,
            years: 2,
            genres: 3,
        };
        let net = Net::new(cfg, card, vb).unwrap();
        let dev = Device::Cpu;
        let x = ItemInputs {
            item: Tensor::new(&[1u32, 2], &dev).unwrap(),
            year: Tensor::new(&[0u32, 1], &dev).unwrap(),
            genres: Tensor::zeros((2, 3), DType::F32, &dev).unwrap(),
            knowledge: Some(Tensor::randn(0f32, 1.0, (2, 12), &dev).unwrap()),
        };
        let (e, w) = net.item_side(&x).unwrap();
        assert_eq!(e.dims(), &[2, 4, 4], "item, year, genres and knowledge");
        assert_eq!(w.dims(), &[2]);
        let names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("knowledge.adaptor.shared."))
        );
        assert!(
            !names.iter().any(|n| n.starts_with("knowledge.emb")),
            "no linear adapter"
        );
    }

    #[test]
    fn user_knowledge_is_a_sixth_user_field_through_the_same_adaptor() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let cfg = NetConfig {
            kind: ModelKind::DcnV2,
            embedding_dim: 4,
            mlp: vec![8],
            cross_layers: 1,
            cross_rank: None,
            knowledge_dim: Some(12),
            adaptor: Some(AdaptorConfig::default()),
            user_knowledge_dim: Some(12),
        };
        assert_eq!((cfg.user_fields(), cfg.fields()), (6, 10));
        let card = Cardinalities {
            users: 3,
            items: 6,
            ages: 2,
            genders: 2,
            occupations: 2,
            years: 2,
            genres: 3,
        };
        let net = Net::new(cfg.clone(), card, vb).unwrap();
        let dev = Device::Cpu;
        let two = |v: u32| Tensor::new(&[v, v], &dev).unwrap();
        let mut u = UserInputs {
            user: two(1),
            age: two(0),
            gender: two(1),
            occupation: two(0),
            history: Tensor::zeros((2, 3), DType::U32, &dev).unwrap(),
            history_mask: Tensor::zeros((2, 3), DType::F32, &dev).unwrap(),
            knowledge: Some(Tensor::randn(0f32, 1.0, (2, 12), &dev).unwrap()),
        };
        let (e, w) = net.user_side(&u).unwrap();
        assert_eq!(e.dims(), &[2, 6, 4]);
        assert_eq!(w.dims(), &[2]);
        let names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
        let count = |prefix: &str| names.iter().filter(|n| n.starts_with(prefix)).count();
        // One adaptor: shared experts once, own experts and a gate per input.
        assert_eq!(count("knowledge.adaptor.shared."), 2 * 4);
        assert!(count("knowledge.adaptor.input0.") > 0);
        assert!(count("knowledge.adaptor.input1.") > 0);
        assert_eq!(count("user_knowledge.emb"), 0, "no linear adapter");
        u.knowledge = None;
        assert!(matches!(net.user_side(&u), Err(Error::MissingKnowledge)));

        let mismatched = NetConfig {
            user_knowledge_dim: Some(8),
            ..cfg
        };
        let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
        assert!(Net::new(mismatched, card, vb).is_err());
    }
}
