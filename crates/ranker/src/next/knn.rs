//! Co-rating item-kNN: cosine over the sets of users who liked two items,
//! shrunk towards zero when few users support it,
//! `s(i,j) = c(i,j) / (sqrt(n_i · n_j) + shrink)`.

use recagent_core::ItemId;

use super::rows::SparseRows;

/// Each item's `keep` nearest items under shrunk cosine.
pub fn fit(histories: &[Vec<ItemId>], n: usize, shrink: f32, keep: usize) -> SparseRows {
    let mut count = vec![0u32; n];
    let users: Vec<Vec<u32>> = histories
        .iter()
        .map(|h| {
            let mut items: Vec<u32> = h
                .iter()
                .map(|i| i.0)
                .filter(|&i| (i as usize) < n)
                .collect();
            items.sort_unstable();
            items.dedup();
            for &i in &items {
                count[i as usize] += 1;
            }
            items
        })
        .collect();
    let mut item_users: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (u, items) in users.iter().enumerate() {
        for &i in items {
            item_users[i as usize].push(u as u32);
        }
    }
    let mut co = vec![0u32; n];
    let mut touched = Vec::new();
    let mut lists = Vec::with_capacity(n);
    for i in 0..n {
        for &u in &item_users[i] {
            for &j in &users[u as usize] {
                if j as usize != i {
                    if co[j as usize] == 0 {
                        touched.push(j);
                    }
                    co[j as usize] += 1;
                }
            }
        }
        let mut list = Vec::with_capacity(touched.len());
        for &j in &touched {
            let c = co[j as usize] as f32;
            let denom = (count[i] as f32 * count[j as usize] as f32).sqrt() + shrink;
            list.push((j, c / denom));
            co[j as usize] = 0;
        }
        touched.clear();
        lists.push(list);
    }
    SparseRows::from_lists(lists, keep)
}
