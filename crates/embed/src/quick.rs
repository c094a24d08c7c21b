//! The query path of all-MiniLM-L6-v2: the same network as candle's BERT,
//! with the dense layers quantised to 8 bits (GGML `Q8_0`, candle's
//! `QMatMul`).
//!
//! A query is a handful of tokens, so a forward pass is one read of every
//! weight with little arithmetic per weight: the time is the time to stream
//! the weights. `Q8_0` stores them in a quarter of the bytes of `f32`, and
//! candle's quantised kernels (the llama.cpp ones) are made for exactly this
//! few-rows case. Batches of item texts keep using the `f32` model.
//!
//! candle-transformers has no quantised BERT, so the forward pass is written
//! here from candle's building blocks. `quick_path_matches_candle_bert` in
//! the tests holds it to candle-transformers' `BertModel`.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::LayerNorm;
use candle_transformers::models::bert::{Config, HiddenAct};

use crate::{Error, Result};

struct Dense {
    weight: QMatMul,
    bias: Tensor,
}

impl Dense {
    fn load(t: &Weights, prefix: &str) -> Result<Self> {
        let w = t.get(&format!("{prefix}.weight"))?.contiguous()?;
        Ok(Self {
            weight: QMatMul::from_qtensor(QTensor::quantize(&w, GgmlDType::Q8_0)?)?,
            bias: t.get(&format!("{prefix}.bias"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.weight.forward(x)?.broadcast_add(&self.bias)?)
    }
}

struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    out: Dense,
    out_norm: LayerNorm,
}

/// The tensors of the checkpoint, by name.
struct Weights<'a> {
    tensors: &'a HashMap<String, Tensor>,
    path: &'a Path,
}

impl Weights<'_> {
    fn get(&self, name: &str) -> Result<Tensor> {
        let t = self.tensors.get(name).ok_or_else(|| Error::BadConfig {
            path: self.path.to_owned(),
            reason: format!("the checkpoint has no tensor {name}"),
        })?;
        Ok(t.to_dtype(DType::F32)?)
    }

    fn norm(&self, prefix: &str, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm::new(
            self.get(&format!("{prefix}.weight"))?,
            self.get(&format!("{prefix}.bias"))?,
            eps,
        ))
    }
}

/// MiniLM with 8-bit dense layers, for one short text at a time.
pub(crate) struct QuickBert {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_size: usize,
}

impl QuickBert {
    /// Builds the quantised copy from the checkpoint's `f32` tensors (their
    /// original `[out, in]` layout).
    pub(crate) fn new(
        tensors: &HashMap<String, Tensor>,
        path: &Path,
        config: &Config,
    ) -> Result<Self> {
        if config.hidden_act != HiddenAct::Gelu {
            return Err(Error::BadConfig {
                path: path.to_owned(),
                reason: format!(
                    "the query path supports the gelu activation, not {:?}",
                    config.hidden_act
                ),
            });
        }
        let t = Weights { tensors, path };
        let eps = config.layer_norm_eps;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                query: Dense::load(&t, &format!("{p}.attention.self.query"))?,
                key: Dense::load(&t, &format!("{p}.attention.self.key"))?,
                value: Dense::load(&t, &format!("{p}.attention.self.value"))?,
                attention_out: Dense::load(&t, &format!("{p}.attention.output.dense"))?,
                attention_norm: t.norm(&format!("{p}.attention.output.LayerNorm"), eps)?,
                intermediate: Dense::load(&t, &format!("{p}.intermediate.dense"))?,
                out: Dense::load(&t, &format!("{p}.output.dense"))?,
                out_norm: t.norm(&format!("{p}.output.LayerNorm"), eps)?,
            });
        }
        Ok(Self {
            word: t.get("embeddings.word_embeddings.weight")?,
            position: t.get("embeddings.position_embeddings.weight")?,
            token_type: t.get("embeddings.token_type_embeddings.weight")?,
            norm: t.norm("embeddings.LayerNorm", eps)?,
            layers,
            heads: config.num_attention_heads,
            head_size: config.hidden_size / config.num_attention_heads,
        })
    }

    /// The hidden states `[tokens, hidden]` of one unpadded token sequence.
    pub(crate) fn forward(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        let n = ids.len();
        let ids = Tensor::new(ids, device)?;
        let x = self
            .word
            .index_select(&ids, 0)?
            .add(&self.position.narrow(0, 0, n)?)?
            .broadcast_add(&self.token_type.narrow(0, 0, 1)?)?;
        let mut x = self.norm.forward(&x)?;
        let scale = (self.head_size as f64).sqrt();
        for l in &self.layers {
            // [tokens, hidden] → [heads, tokens, head_size]
            let split = |t: Tensor| -> Result<Tensor> {
                Ok(t.reshape((n, self.heads, self.head_size))?
                    .transpose(0, 1)?
                    .contiguous()?)
            };
            let q = split(l.query.forward(&x)?)?;
            let k = split(l.key.forward(&x)?)?;
            let v = split(l.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?)? / scale)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs
                .matmul(&v)?
                .transpose(0, 1)?
                .reshape((n, self.heads * self.head_size))?;
            let a = l
                .attention_norm
                .forward(&(l.attention_out.forward(&context)? + &x)?)?;
            let h = l.intermediate.forward(&a)?.gelu_erf()?;
            x = l.out_norm.forward(&(l.out.forward(&h)? + &a)?)?;
        }
        Ok(x)
    }

    /// Mean-pooled, L2-normalised sentence vector of one token sequence.
    pub(crate) fn embed(&self, ids: &[u32], device: &Device) -> Result<Vec<f32>> {
        let h = self.forward(ids, device)?;
        let mean = h.mean(0)?;
        let norm = mean
            .sqr()?
            .sum_all()?
            .sqrt()?
            .to_scalar::<f32>()?
            .max(1e-12);
        Ok((mean / norm as f64)?.to_vec1::<f32>()?)
    }
}
