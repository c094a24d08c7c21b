//! EASE (Steck, 2019): a closed-form item-to-item linear model,
//! `B = I − P · diag(1/diag(P))` with `P = (XᵀX + λI)⁻¹` and a zero
//! diagonal, solved with faer's Cholesky factorisation.
//!
//! Its weights remove popularity by construction: an item every user has
//! seen explains nothing, so it gets small weights (the reason "more like
//! X" uses them and not raw co-counts). The matrix is dense `n × n`, so
//! EASE is for catalogs up to [`MAX_ITEMS`]; larger ones use item-kNN and
//! transitions, which are sparse.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use recagent_core::ItemId;

use crate::error::{Error, Result};

/// The largest catalog EASE will fit (a dense 20k × 20k matrix is 3.2 GB in
/// `f64`).
pub const MAX_ITEMS: usize = 20_000;

/// Fits EASE on users' item sets and returns the dense row-major `n × n`
/// weight matrix `B` (row: the history item, column: the scored item).
pub fn fit(histories: &[Vec<ItemId>], n: usize, lambda: f64) -> Result<Vec<f32>> {
    if n > MAX_ITEMS {
        return Err(Error::Invalid(format!(
            "EASE needs a dense {n} × {n} matrix; above {MAX_ITEMS} items use --model itemknn or transitions"
        )));
    }
    if lambda <= 0.0 {
        return Err(Error::Invalid(format!(
            "EASE's λ must be positive, got {lambda}"
        )));
    }
    let mut g = Mat::<f64>::zeros(n, n);
    for h in histories {
        let mut items: Vec<usize> = h.iter().map(|i| i.index()).filter(|&i| i < n).collect();
        items.sort_unstable();
        items.dedup();
        for &a in &items {
            for &b in &items {
                g[(a, b)] += 1.0;
            }
        }
    }
    for i in 0..n {
        g[(i, i)] += lambda;
    }
    let llt = g.llt(Side::Lower).map_err(|e| {
        Error::Invalid(format!(
            "EASE's Gram matrix is not positive definite: {e:?}"
        ))
    })?;
    let p = llt.solve(Mat::<f64>::identity(n, n));
    let mut b = vec![0f32; n * n];
    for j in 0..n {
        let d = p[(j, j)];
        for i in 0..n {
            if i != j {
                b[i * n + j] = (-p[(i, j)] / d) as f32;
            }
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_seen_together_get_positive_weight() {
        // Items 0 and 1 always go together; 2 and 3 go together; no user has
        // both pairs.
        let h: Vec<Vec<ItemId>> = (0..20)
            .map(|u| {
                if u % 2 == 0 {
                    vec![ItemId(0), ItemId(1)]
                } else {
                    vec![ItemId(2), ItemId(3)]
                }
            })
            .collect();
        let b = fit(&h, 4, 1.0).expect("fit");
        assert!(b[1] > 0.5, "B[0][1] = {}", b[1]);
        assert!(b[2].abs() < 1e-6, "B[0][2] = {}", b[2]);
        assert_eq!(b[0], 0.0, "the diagonal is zero");
    }

    #[test]
    fn a_catalog_too_large_is_refused_with_what_to_do() {
        let e = fit(&[], MAX_ITEMS + 1, 100.0).expect_err("too large");
        assert!(e.to_string().contains("itemknn"), "{e}");
    }
}
