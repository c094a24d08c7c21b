//! Sparse item-to-item rows in compressed form: what every next-item model
//! is stored and served as, so that a 1M-item catalog needs memory for its
//! neighbours only.

use recagent_core::ItemId;
use serde::{Deserialize, Serialize};

/// Row `i` holds the items that follow or go with item `i`, and their
/// weights, best first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseRows {
    offsets: Vec<u32>,
    ids: Vec<u32>,
    weights: Vec<f32>,
}

impl SparseRows {
    /// Rows from per-item lists; each list is sorted best first and cut to
    /// `keep` entries.
    pub fn from_lists(lists: Vec<Vec<(u32, f32)>>, keep: usize) -> Self {
        let mut r = SparseRows {
            offsets: Vec::with_capacity(lists.len() + 1),
            ..Self::default()
        };
        r.offsets.push(0);
        for mut l in lists {
            l.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            l.truncate(keep);
            for (j, w) in l {
                r.ids.push(j);
                r.weights.push(w);
            }
            r.offsets
                .push(u32::try_from(r.ids.len()).unwrap_or(u32::MAX));
        }
        r
    }

    /// Rows from a dense row-major `n × n` matrix, keeping the `keep`
    /// largest entries of each row (the diagonal is skipped).
    pub fn from_dense(dense: &[f32], n: usize, keep: usize) -> Self {
        let lists = (0..n)
            .map(|i| {
                dense[i * n..(i + 1) * n]
                    .iter()
                    .enumerate()
                    .filter(|(j, w)| *j != i && **w != 0.0)
                    .map(|(j, w)| (j as u32, *w))
                    .collect()
            })
            .collect();
        Self::from_lists(lists, keep)
    }

    /// How many rows (items).
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stored entries in all rows.
    pub fn nnz(&self) -> usize {
        self.ids.len()
    }

    /// The row of `item`; empty for an item outside the rows.
    pub fn row(&self, item: ItemId) -> impl Iterator<Item = (ItemId, f32)> + '_ {
        let i = item.index();
        let (a, b) = match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => (a as usize, b as usize),
            _ => (0, 0),
        };
        self.ids[a..b]
            .iter()
            .zip(&self.weights[a..b])
            .map(|(&id, &w)| (ItemId(id), w))
    }

    /// Adds `scale ×` row `item` into `out` (indexed by item).
    pub fn add_row_into(&self, item: ItemId, scale: f32, out: &mut [f32]) {
        for (j, w) in self.row(item) {
            if let Some(o) = out.get_mut(j.index()) {
                *o += scale * w;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_the_best_entries_in_order() {
        let r = SparseRows::from_lists(vec![vec![(2, 0.1), (1, 0.9), (3, 0.5)], vec![]], 2);
        assert_eq!(r.len(), 2);
        let row: Vec<_> = r.row(ItemId(0)).collect();
        assert_eq!(row, vec![(ItemId(1), 0.9), (ItemId(3), 0.5)]);
        assert_eq!(r.row(ItemId(1)).count(), 0);
        assert_eq!(r.row(ItemId(7)).count(), 0);
    }

    #[test]
    fn dense_rows_skip_the_diagonal() {
        let d = [9.0, 1.0, 2.0, 0.0];
        let r = SparseRows::from_dense(&d, 2, 5);
        assert_eq!(r.row(ItemId(0)).collect::<Vec<_>>(), vec![(ItemId(1), 1.0)]);
        assert_eq!(r.row(ItemId(1)).collect::<Vec<_>>(), vec![(ItemId(0), 2.0)]);
    }
}
