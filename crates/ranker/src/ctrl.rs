//! CTRL (Li et al., 2023): before the CTR model learns the labels, align
//! its representation of each training row with a language model's
//! reading of the same row written as text (a contrastive, InfoNCE stage),
//! then fine-tune the CTR model alone. The projection heads of the
//! alignment are dropped afterwards: the served model has the backbone's
//! shape, parameters and code path.

use candle_core::{D, DType, Device, Tensor};
use candle_nn::{AdamW, Linear, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap, linear};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use recagent_core::text::display_title;
use recagent_core::{Catalog, ItemId, Labeled, Progress};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Turns row texts into vectors: the language model of the alignment.
pub trait RowEncoder {
    /// The length of each vector.
    fn dim(&self) -> usize;
    /// One vector per text, row-major.
    fn encode(&self, texts: &[String], progress: &dyn Progress) -> Result<Vec<f32>>;
}

impl RowEncoder for recagent_embed::TextEncoder {
    fn dim(&self) -> usize {
        recagent_embed::DIM
    }

    fn encode(&self, texts: &[String], progress: &dyn Progress) -> Result<Vec<f32>> {
        Ok(self.embed_all(texts, 64, progress)?)
    }
}

/// Settings of the alignment stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtrlConfig {
    /// Training rows aligned (a seeded sample; all when fewer).
    pub rows: usize,
    /// Passes over those rows.
    pub epochs: usize,
    /// Rows per step: each row's text is the positive, the batch's other
    /// texts the negatives.
    pub batch_size: usize,
    /// Size of the shared space both sides are projected into.
    pub dim: usize,
    /// InfoNCE temperature.
    pub temperature: f64,
}

impl Default for CtrlConfig {
    fn default() -> Self {
        Self {
            rows: 2048,
            epochs: 2,
            batch_size: 256,
            dim: 64,
            temperature: 0.1,
        }
    }
}

/// What the alignment stage did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtrlReport {
    pub rows: usize,
    pub epochs: usize,
    /// Mean InfoNCE loss of the first and the last pass.
    pub first_loss: f64,
    pub last_loss: f64,
    /// Seconds spent encoding the rows' texts, and aligning.
    pub encode_s: f64,
    pub align_s: f64,
}

/// One training row as CTRL's prompt writes it: the user's attributes, the
/// films the model's history field holds (the latest ten), and the film.
pub fn row_text(catalog: &Catalog, row: &Labeled, history: &[ItemId]) -> String {
    let mut s = String::from("This user");
    if let Some(user) = catalog.users().get(row.user.index()) {
        let mut parts = Vec::new();
        if let Some(a) = user.age {
            parts.push(format!("is {a} years old"));
        }
        if let Some(g) = &user.gender {
            parts.push(format!("is {}", if g == "F" { "female" } else { "male" }));
        }
        if let Some(o) = &user.occupation {
            parts.push(format!("works as {o}"));
        }
        if !parts.is_empty() {
            s.push(' ');
            s.push_str(&parts.join(", "));
        }
    }
    let title = |id: ItemId| {
        catalog.items().get(id.index()).map(|it| {
            let mut t = display_title(&it.title);
            if let Some(y) = it.year {
                t.push_str(&format!(" ({y})"));
            }
            t
        })
    };
    let start = history.len().saturating_sub(10);
    let liked: Vec<String> = history[start..].iter().filter_map(|&i| title(i)).collect();
    if !liked.is_empty() {
        s.push_str(". They liked ");
        s.push_str(&liked.join(", "));
    }
    if let Some(it) = catalog.items().get(row.item.index()) {
        s.push_str(". The film is ");
        s.push_str(&title(row.item).unwrap_or_default());
        if !it.genres.is_empty() {
            s.push_str(", ");
            s.push_str(&it.genres.join(", "));
        }
    }
    s.push('.');
    s
}

/// The seeded sample of training rows the stage aligns.
pub(crate) fn sample(n: usize, cfg: &CtrlConfig, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC721);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    idx.truncate(cfg.rows.min(n));
    idx
}

fn normalised(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-6f32, f32::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}

/// The two projection heads, in a parameter store of their own that is
/// never saved.
pub(crate) struct Heads {
    ctr: Linear,
    text: Linear,
    pub varmap: VarMap,
    temperature: f64,
}

impl Heads {
    pub fn new(row_dim: usize, text_dim: usize, cfg: &CtrlConfig, seed: u64) -> Result<Self> {
        if cfg.dim == 0 || cfg.batch_size < 2 || cfg.temperature <= 0.0 {
            return Err(Error::Invalid(
                "CTRL needs a projection size, at least 2 rows a batch and a positive temperature"
                    .into(),
            ));
        }
        let device = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let ctr = linear(row_dim, cfg.dim, vb.pp("ctrl.ctr"))?;
        let text = linear(text_dim, cfg.dim, vb.pp("ctrl.text"))?;
        crate::model::seeded_init(&varmap, seed ^ 0xC721, &device)?;
        Ok(Self {
            ctr,
            text,
            varmap,
            temperature: cfg.temperature,
        })
    }

    /// Symmetric InfoNCE between the CTR model's rows `[B, R]` and their
    /// texts' vectors `[B, T]`: row i's text is its positive, the others
    /// its negatives, in both directions.
    pub fn loss(&self, rows: &Tensor, texts: &Tensor) -> Result<Tensor> {
        let a = normalised(&self.ctr.forward(rows)?)?;
        let b = normalised(&self.text.forward(texts)?)?;
        let sim = (a.matmul(&b.t()?)? / self.temperature)?;
        let n = sim.dim(0)?;
        let labels = Tensor::arange(0u32, n as u32, sim.device())?;
        let forward = candle_nn::loss::cross_entropy(&sim, &labels)?;
        let backward = candle_nn::loss::cross_entropy(&sim.t()?.contiguous()?, &labels)?;
        Ok(((forward + backward)? * 0.5)?)
    }
}

/// AdamW over the backbone's and the heads' parameters.
pub(crate) fn optimiser(backbone: &VarMap, heads: &Heads, lr: f64, wd: f64) -> Result<AdamW> {
    let mut vars = backbone.all_vars();
    vars.extend(heads.varmap.all_vars());
    Ok(AdamW::new(
        vars,
        ParamsAdamW {
            lr,
            weight_decay: wd,
            ..ParamsAdamW::default()
        },
    )?)
}

/// One alignment step; the loss.
pub(crate) fn step(opt: &mut AdamW, heads: &Heads, rows: &Tensor, texts: &Tensor) -> Result<f64> {
    let loss = heads.loss(rows, texts)?;
    opt.backward_step(&loss)?;
    Ok(loss.to_scalar::<f32>()? as f64)
}

#[cfg(test)]
mod tests {
    use recagent_core::{Item, User, UserId};

    use super::*;

    #[test]
    fn a_row_reads_as_the_user_the_history_and_the_film() {
        let items = vec![
            Item {
                id: ItemId(0),
                key: "0".into(),
                title: "Godfather, The".into(),
                year: Some(1972),
                genres: vec!["Crime".into(), "Drama".into()],
                ..Default::default()
            },
            Item {
                id: ItemId(1),
                key: "1".into(),
                title: "Heat".into(),
                year: Some(1995),
                genres: vec!["Action".into()],
                ..Default::default()
            },
        ];
        let users = vec![User {
            id: UserId(0),
            key: "u".into(),
            age: Some(24),
            gender: Some("F".into()),
            occupation: Some("technician".into()),
            ..User::default()
        }];
        let c = Catalog::new("t", items, users, Vec::new()).unwrap();
        let row = Labeled {
            user: UserId(0),
            item: ItemId(1),
            label: true,
            timestamp: 0,
        };
        assert_eq!(
            row_text(&c, &row, &[ItemId(0)]),
            "This user is 24 years old, is female, works as technician. They liked The Godfather (1972). The film is Heat (1995), Action."
        );
    }

    #[test]
    fn the_loss_is_low_when_rows_and_texts_agree() {
        let cfg = CtrlConfig {
            dim: 4,
            ..CtrlConfig::default()
        };
        let heads = Heads::new(4, 4, &cfg, 1).unwrap();
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut draw = || {
            let v: Vec<f32> = (0..32).map(|_| rng.random::<f32>() - 0.5).collect();
            Tensor::from_vec(v, (8, 4), &Device::Cpu).unwrap()
        };
        let (x, y) = (draw(), draw());
        let mut opt = optimiser(&VarMap::new(), &heads, 0.05, 0.0).unwrap();
        let first = step(&mut opt, &heads, &x, &x).unwrap();
        let mut last = first;
        for _ in 0..100 {
            last = step(&mut opt, &heads, &x, &x).unwrap();
        }
        assert!(last < first * 0.5, "{first} then {last}");
        // Texts unrelated to the rows cannot be told apart as well.
        let unrelated = heads.loss(&x, &y).unwrap().to_scalar::<f32>().unwrap() as f64;
        assert!(unrelated > last, "{unrelated} vs {last}");
        assert!(
            Heads::new(
                4,
                4,
                &CtrlConfig {
                    batch_size: 1,
                    ..cfg
                },
                1
            )
            .is_err()
        );
    }
}
