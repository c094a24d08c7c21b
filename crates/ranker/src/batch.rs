//! Packing encoded rows into tensors.

use candle_core::{Device, Tensor};

use crate::config::KnowledgeSource;
use crate::error::Result;
use crate::features::{ItemFeatures, UserFeatures};
use crate::model::{ItemInputs, UserInputs};

/// Per-item knowledge vectors aligned with a catalog's item ids.
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeTable {
    pub dim: usize,
    /// `n_items × dim`, row-major.
    pub vectors: Vec<f32>,
    /// Where the vectors came from; saved with a model trained on them.
    pub source: KnowledgeSource,
}

impl KnowledgeTable {
    pub fn n_items(&self) -> usize {
        self.vectors.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }
}

/// `users`: per-user knowledge vectors by catalog user index (KAR's user
/// side); a user without a row gets zeros.
pub fn user_inputs(
    rows: &[&UserFeatures],
    history_len: usize,
    users: Option<&KnowledgeTable>,
    device: &Device,
) -> Result<UserInputs> {
    let b = rows.len();
    let h = history_len.max(1);
    let mut hist = vec![0u32; b * h];
    let mut mask = vec![0f32; b * h];
    for (r, f) in rows.iter().enumerate() {
        for (j, &item) in f.history.iter().rev().take(h).enumerate() {
            hist[r * h + j] = item;
            mask[r * h + j] = 1.0;
        }
    }
    let col = |f: fn(&UserFeatures) -> u32| {
        Tensor::from_vec(rows.iter().map(|r| f(r)).collect::<Vec<u32>>(), b, device)
    };
    let knowledge = match users {
        Some(k) => {
            let mut v = vec![0f32; b * k.dim];
            for (r, f) in rows.iter().enumerate() {
                if let Some(u) = f.row.map(|u| u as usize)
                    && u < k.n_items()
                {
                    v[r * k.dim..(r + 1) * k.dim].copy_from_slice(k.row(u));
                }
            }
            Some(Tensor::from_vec(v, (b, k.dim), device)?)
        }
        None => None,
    };
    Ok(UserInputs {
        knowledge,
        user: col(|r| r.user)?,
        age: col(|r| r.age)?,
        gender: col(|r| r.gender)?,
        occupation: col(|r| r.occupation)?,
        history: Tensor::from_vec(hist, (b, h), device)?,
        history_mask: Tensor::from_vec(mask, (b, h), device)?,
    })
}

/// `catalog_rows[i]` is the catalog index of row i, used for knowledge lookup.
pub fn item_inputs(
    rows: &[&ItemFeatures],
    catalog_rows: &[usize],
    n_genres: usize,
    knowledge: Option<&KnowledgeTable>,
    device: &Device,
) -> Result<ItemInputs> {
    let b = rows.len();
    let mut genres = vec![0f32; b * n_genres];
    for (r, f) in rows.iter().enumerate() {
        if f.genres.is_empty() {
            continue;
        }
        let w = 1.0 / f.genres.len() as f32;
        for &g in &f.genres {
            genres[r * n_genres + g as usize] = w;
        }
    }
    let knowledge = match knowledge {
        Some(k) => {
            let mut v = Vec::with_capacity(b * k.dim);
            for &c in catalog_rows {
                v.extend_from_slice(k.row(c));
            }
            Some(Tensor::from_vec(v, (b, k.dim), device)?)
        }
        None => None,
    };
    Ok(ItemInputs {
        item: Tensor::from_vec(rows.iter().map(|r| r.item).collect::<Vec<u32>>(), b, device)?,
        year: Tensor::from_vec(rows.iter().map(|r| r.year).collect::<Vec<u32>>(), b, device)?,
        genres: Tensor::from_vec(genres, (b, n_genres), device)?,
        knowledge,
    })
}

/// Item inputs without the knowledge field, for the pre-ranker.
#[derive(Debug)]
pub struct ItemBatch {
    pub item: Tensor,
    pub year: Tensor,
    pub genres: Tensor,
}

pub fn item_batch(rows: &[&ItemFeatures], n_genres: usize, device: &Device) -> Result<ItemBatch> {
    let rows_idx: Vec<usize> = (0..rows.len()).collect();
    let x = item_inputs(rows, &rows_idx, n_genres, None, device)?;
    Ok(ItemBatch {
        item: x.item,
        year: x.year,
        genres: x.genres,
    })
}
