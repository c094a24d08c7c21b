//! [`NextItemModel`]: P(pick) for a user with a given history, from one of
//! the fitted models or a blend of EASE with transitions.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use recagent_core::{ItemId, Scored};
use serde::{Deserialize, Serialize};

use super::rows::SparseRows;
use super::sasrec::{SasRec, SeqConfig};
use super::{ease, knn, transitions};
use crate::error::{Error, Result};

/// Which next-item model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NextKind {
    /// Positives in the training rows; the history is ignored.
    Pop,
    /// EASE's closed-form item weights.
    Ease,
    /// Co-rating item-kNN with shrinkage.
    ItemKnn,
    /// What follows what within a short window.
    Transitions,
    /// EASE plus transitions from the most recent picks. Above
    /// [`ease::MAX_ITEMS`] items, where EASE's dense matrix cannot exist,
    /// the co-rating item-kNN's sparse neighbours take EASE's place.
    Blend,
    /// SASRec: causal self-attention over the recent picks (candle).
    #[serde(rename = "sasrec")]
    SasRec,
    /// The blend plus SASRec, SASRec's weight chosen on validation (0
    /// where validation says it adds nothing).
    #[serde(rename = "blend-sasrec")]
    BlendSasRec,
}

impl NextKind {
    pub fn name(self) -> &'static str {
        match self {
            NextKind::Pop => "pop",
            NextKind::Ease => "ease",
            NextKind::ItemKnn => "itemknn",
            NextKind::Transitions => "transitions",
            NextKind::Blend => "blend",
            NextKind::SasRec => "sasrec",
            NextKind::BlendSasRec => "blend-sasrec",
        }
    }

    pub const ALL: [NextKind; 7] = [
        NextKind::Pop,
        NextKind::ItemKnn,
        NextKind::Ease,
        NextKind::Transitions,
        NextKind::Blend,
        NextKind::SasRec,
        NextKind::BlendSasRec,
    ];

    /// Whether the model has a SASRec part.
    pub fn is_sequential(self) -> bool {
        matches!(self, NextKind::SasRec | NextKind::BlendSasRec)
    }
}

/// Settings of a next-item model; [`super::protocol::tune`] chooses them on
/// a validation split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NextConfig {
    pub kind: NextKind,
    /// EASE's L2 penalty λ.
    pub lambda: f64,
    /// item-kNN's shrinkage.
    pub shrink: f32,
    /// Transitions: a later pick counts when it is at most this many picks
    /// after.
    pub window: usize,
    /// Transitions read the history's last `recent` picks, the one `r`
    /// back weighted `decay^r`.
    pub recent: usize,
    pub decay: f32,
    /// Blend: the weight of transitions against EASE's 1.
    pub blend: f32,
    /// Entries kept per item row.
    pub neighbours: usize,
    /// The SASRec part's weight against EASE's 1 (`blend-sasrec`).
    #[serde(default)]
    pub sequential: f32,
    /// SASRec's settings; its `epochs` are the ones validation chose.
    #[serde(default)]
    pub sasrec: SeqConfig,
}

impl NextConfig {
    pub fn new(kind: NextKind) -> Self {
        Self {
            kind,
            lambda: 300.0,
            shrink: 10.0,
            window: 3,
            recent: 5,
            decay: 0.6,
            blend: 0.3,
            neighbours: 300,
            sequential: 0.0,
            sasrec: SeqConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Part {
    rows: SparseRows,
    weight: f32,
    /// `Some((recent, decay))`: only the last picks count, decayed.
    recency: Option<(usize, f32)>,
}

/// A fitted next-item model. Like every model of this crate it never reads
/// the log when it scores: the history is an argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextItemModel {
    pub config: NextConfig,
    n_items: usize,
    parts: Vec<Part>,
    /// Positives per item in the fitting histories.
    popularity: Vec<f32>,
    /// The most popular items, best first: what fills a sparse list.
    #[serde(skip)]
    popular: std::sync::OnceLock<Vec<ItemId>>,
    /// The SASRec part (`sasrec`, `blend-sasrec`), saved beside `next.json`.
    #[serde(skip)]
    seq: Option<SeqPart>,
}

/// A trained SASRec shared by the models that use it. Two parts are equal
/// when they are the same trained model.
#[derive(Debug, Clone)]
pub struct SeqPart(pub Arc<SasRec>);

impl PartialEq for SeqPart {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The file a saved model is written to.
pub const FILE: &str = "next.json";

/// Above this many items, [`NextItemModel::top_k`] adds up only the rows a
/// history touches instead of scoring the whole catalog: on a million
/// items that is the difference between 19 ms and well under one.
pub const SPARSE_FROM: usize = 50_000;

impl NextItemModel {
    /// Fits `cfg.kind` on users' histories (positives, oldest first) over
    /// `n_items` items.
    pub fn fit(histories: &[Vec<ItemId>], n_items: usize, cfg: &NextConfig) -> Result<Self> {
        let mut popularity = vec![0f32; n_items];
        for h in histories {
            for i in h {
                if let Some(p) = popularity.get_mut(i.index()) {
                    *p += 1.0;
                }
            }
        }
        let ease_part = || -> Result<Part> {
            let b = ease::fit(histories, n_items, cfg.lambda)?;
            Ok(Part {
                rows: SparseRows::from_dense(&b, n_items, cfg.neighbours),
                weight: 1.0,
                recency: None,
            })
        };
        let knn_part = || Part {
            rows: knn::fit(histories, n_items, cfg.shrink, cfg.neighbours),
            weight: 1.0,
            recency: None,
        };
        let trans_part = |weight: f32| Part {
            rows: transitions::fit(histories, n_items, cfg.window, cfg.neighbours),
            weight,
            recency: Some((cfg.recent, cfg.decay)),
        };
        let parts = match cfg.kind {
            NextKind::Pop => Vec::new(),
            NextKind::Ease => vec![ease_part()?],
            NextKind::ItemKnn => vec![knn_part()],
            NextKind::Transitions => vec![trans_part(1.0)],
            NextKind::Blend if n_items > ease::MAX_ITEMS => {
                vec![knn_part(), trans_part(cfg.blend)]
            }
            NextKind::Blend | NextKind::BlendSasRec => vec![ease_part()?, trans_part(cfg.blend)],
            NextKind::SasRec => Vec::new(),
        };
        let seq = if cfg.kind.is_sequential() {
            // Trained for the epochs validation chose, with no validation.
            let (m, _) = SasRec::fit(
                histories,
                &[],
                n_items,
                SeqConfig {
                    patience: usize::MAX,
                    ..cfg.sasrec
                },
                &recagent_core::NoProgress,
            )?;
            Some(SeqPart(Arc::new(m)))
        } else {
            None
        };
        Ok(Self {
            config: *cfg,
            n_items,
            parts,
            popularity,
            popular: std::sync::OnceLock::new(),
            seq,
        })
    }

    /// [`Self::fit`] with an already trained SASRec in place of training
    /// one (tuning reuses one SASRec for every blend weight).
    pub fn fit_with_sequential(
        histories: &[Vec<ItemId>],
        n_items: usize,
        cfg: &NextConfig,
        seq: SeqPart,
    ) -> Result<Self> {
        let plain = NextConfig {
            kind: match cfg.kind {
                NextKind::SasRec => NextKind::Pop,
                NextKind::BlendSasRec => NextKind::Blend,
                k => k,
            },
            ..*cfg
        };
        let mut m = Self::fit(histories, n_items, &plain)?;
        m.config = *cfg;
        m.seq = Some(seq);
        if cfg.kind == NextKind::SasRec {
            m.parts.clear();
        }
        Ok(m)
    }

    /// The SASRec part, if the model has one.
    pub fn sequential(&self) -> Option<&SeqPart> {
        self.seq.as_ref()
    }

    pub fn kind(&self) -> NextKind {
        self.config.kind
    }

    /// [`Self::scores`] of `items` only, equal to the dense scores: below
    /// [`SPARSE_FROM`] items it is the dense vector looked up; above, each
    /// part's touched rows are added up in a map and scaled by their best.
    pub fn scores_of(
        &self,
        history: &[ItemId],
        items: &[ItemId],
    ) -> std::collections::HashMap<ItemId, f32> {
        if self.n_items <= SPARSE_FROM {
            let all = self.scores(history);
            return items
                .iter()
                .map(|i| (*i, all.get(i.index()).copied().unwrap_or(0.0)))
                .collect();
        }
        let parts = self.sparse_parts(history);
        if parts.is_empty() {
            let best = self.popularity.iter().copied().fold(1f32, f32::max);
            return items
                .iter()
                .map(|i| (*i, self.popularity.get(i.index()).map_or(0.0, |p| p / best)))
                .collect();
        }
        items
            .iter()
            .map(|i| (*i, parts.get(i).copied().unwrap_or(0.0)))
            .collect()
    }

    /// The parts' scores over the items a history's rows reach, each part
    /// scaled to a best of 1 and weighted, as [`Self::scores`] does; empty
    /// when the rows reach nothing.
    fn sparse_parts(&self, history: &[ItemId]) -> std::collections::HashMap<ItemId, f32> {
        use std::collections::HashMap;
        let mut total: HashMap<ItemId, f32> = HashMap::new();
        for p in &self.parts {
            let mut part: HashMap<ItemId, f32> = HashMap::new();
            let mut add = |h: ItemId, scale: f32| {
                for (j, w) in p.rows.row(h) {
                    *part.entry(j).or_default() += scale * w;
                }
            };
            match p.recency {
                None => history.iter().for_each(|h| add(*h, 1.0)),
                Some((recent, decay)) => {
                    let mut w = 1.0f32;
                    for h in history.iter().rev().take(recent) {
                        add(*h, w);
                        w *= decay;
                    }
                }
            }
            let best = part.values().copied().fold(0f32, f32::max);
            if best > 0.0 {
                for (j, v) in part {
                    *total.entry(j).or_default() += p.weight * v / best;
                }
            }
        }
        total
    }

    /// The 5,000 most popular items, best first (ties by id), computed once.
    fn popular(&self) -> &[ItemId] {
        self.popular.get_or_init(|| {
            let mut order: Vec<(f32, ItemId)> = self
                .popularity
                .iter()
                .enumerate()
                .map(|(i, p)| (*p, ItemId(i as u32)))
                .collect();
            let n = order.len().min(5000);
            let by = |a: &(f32, ItemId), b: &(f32, ItemId)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            if n > 0 && n < order.len() {
                order.select_nth_unstable_by(n - 1, by);
                order.truncate(n);
            }
            order.sort_by(by);
            order.into_iter().map(|(_, i)| i).collect()
        })
    }

    /// [`Self::top_k`] over the items the history's rows reach, each part
    /// scaled to a best of 1 as in [`Self::scores`]; a list the rows leave
    /// short is filled with the most popular items kept (score 0). `None`
    /// when the rows reach nothing (the dense path's popularity order
    /// applies).
    fn sparse_top_k(
        &self,
        history: &[ItemId],
        k: usize,
        keep: &dyn Fn(ItemId) -> bool,
    ) -> Option<Vec<Scored>> {
        let total = self.sparse_parts(history);
        if total.is_empty() {
            return None;
        }
        let mut v: Vec<Scored> = total
            .into_iter()
            .filter(|(j, s)| *s > 0.0 && keep(*j))
            .map(|(item, score)| Scored { item, score })
            .collect();
        crate::sort_best_first(&mut v);
        v.truncate(k);
        if v.len() < k {
            let have: std::collections::HashSet<ItemId> = v.iter().map(|s| s.item).collect();
            let need = k - v.len();
            let fill: Vec<ItemId> = self
                .popular()
                .iter()
                .copied()
                .filter(|i| !have.contains(i) && keep(*i))
                .take(need)
                .collect();
            v.extend(fill.into_iter().map(|item| Scored { item, score: 0.0 }));
        }
        Some(v)
    }

    /// The signals this model adds up, in words: "EASE + transitions", or
    /// "item-kNN + transitions" for a blend over a catalog too large for
    /// EASE.
    pub fn sources(&self) -> &'static str {
        match self.config.kind {
            NextKind::Pop => "popularity",
            NextKind::Ease => "EASE",
            NextKind::ItemKnn => "item-kNN",
            NextKind::Transitions => "transitions",
            NextKind::Blend if self.n_items > ease::MAX_ITEMS => "item-kNN + transitions",
            NextKind::Blend => "EASE + transitions",
            NextKind::SasRec => "SASRec",
            NextKind::BlendSasRec if self.config.sequential > 0.0 => "EASE + transitions + SASRec",
            NextKind::BlendSasRec => "EASE + transitions",
        }
    }

    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Scores of every item for a user with `history` (oldest first). Each
    /// part is scaled to a best score of 1 before the parts are weighted,
    /// so the blend weight means the same on every catalog. An empty
    /// history, or a `pop` model, scores by popularity.
    pub fn scores(&self, history: &[ItemId]) -> Vec<f32> {
        let mut out = vec![0f32; self.n_items];
        let mut any = false;
        let mut part_scores = vec![0f32; self.n_items];
        for p in &self.parts {
            part_scores.iter_mut().for_each(|s| *s = 0.0);
            match p.recency {
                None => {
                    for h in history {
                        p.rows.add_row_into(*h, 1.0, &mut part_scores);
                    }
                }
                Some((recent, decay)) => {
                    let mut w = 1.0f32;
                    for h in history.iter().rev().take(recent) {
                        p.rows.add_row_into(*h, w, &mut part_scores);
                        w *= decay;
                    }
                }
            }
            let best = part_scores.iter().copied().fold(0f32, f32::max);
            if best > 0.0 {
                any = true;
                for (o, s) in out.iter_mut().zip(&part_scores) {
                    *o += p.weight * s / best;
                }
            }
        }
        if let Some(seq) = &self.seq
            && !history.is_empty()
        {
            let weight = match self.config.kind {
                NextKind::SasRec => 1.0,
                _ => self.config.sequential,
            };
            if weight > 0.0
                && let Ok(probs) = seq.0.scores(history)
            {
                let best = probs.iter().copied().fold(0f32, f32::max);
                if best > 0.0 {
                    any = true;
                    for (o, s) in out.iter_mut().zip(&probs) {
                        *o += weight * s / best;
                    }
                }
            }
        }
        if !any {
            let best = self.popularity.iter().copied().fold(1f32, f32::max);
            for (o, p) in out.iter_mut().zip(&self.popularity) {
                *o = p / best;
            }
        }
        out
    }

    /// Whether [`NextItemModel::scores`] falls back to popularity for this
    /// history (no history, or nothing in it the model knows).
    pub fn is_cold(&self, history: &[ItemId]) -> bool {
        if self.seq.is_some() && !history.is_empty() {
            return false;
        }
        self.parts.is_empty()
            || !history
                .iter()
                .any(|h| self.parts.iter().any(|p| p.rows.row(*h).next().is_some()))
    }

    /// The `k` best items `keep` accepts, best first, ties by id.
    pub fn top_k(
        &self,
        history: &[ItemId],
        k: usize,
        keep: impl Fn(ItemId) -> bool,
    ) -> Vec<Scored> {
        if self.n_items > SPARSE_FROM
            && let Some(v) = self.sparse_top_k(history, k, &keep)
        {
            return v;
        }
        let scores = self.scores(history);
        let mut v: Vec<Scored> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| Scored {
                item: ItemId(i as u32),
                score: s,
            })
            .filter(|s| keep(s.item))
            .collect();
        let k = k.min(v.len());
        if k == 0 {
            return Vec::new();
        }
        v.select_nth_unstable_by(k - 1, crate::best_first);
        v.truncate(k);
        crate::sort_best_first(&mut v);
        v
    }

    /// The history item whose row gives `item` the largest weight (the
    /// "people who liked X often pick this next" of a reason), if any does.
    pub fn strongest_link(&self, history: &[ItemId], item: ItemId) -> Option<ItemId> {
        let mut best: Option<(ItemId, f32)> = None;
        for p in &self.parts {
            for h in history {
                if let Some((_, w)) = p.rows.row(*h).find(|(j, _)| *j == item)
                    && w > 0.0
                    && best.is_none_or(|b| w * p.weight > b.1)
                {
                    best = Some((*h, w * p.weight));
                }
            }
        }
        best.map(|b| b.0)
    }

    /// The collaborative neighbours of one item (the first part's row:
    /// EASE or item-kNN weights), best first.
    pub fn neighbours(&self, item: ItemId) -> Vec<(ItemId, f32)> {
        self.parts
            .iter()
            .find(|p| p.recency.is_none())
            .map(|p| p.rows.row(item).collect())
            .unwrap_or_default()
    }

    /// Writes `next.json` into `dir` (the caller stages the folder).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FILE);
        let text = serde_json::to_vec(self).map_err(|e| Error::BadConfig {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        fs::write(&path, text).map_err(|source| Error::Io { path, source })?;
        if let Some(seq) = &self.seq {
            seq.0.save(dir)?;
        }
        Ok(())
    }

    /// Reads what [`NextItemModel::save`] wrote, checking it covers
    /// `n_items` items.
    pub fn load(dir: &Path, n_items: usize) -> Result<Self> {
        let path = dir.join(FILE);
        if !path.exists() {
            return Err(Error::NotTrained {
                what: "next-item model".into(),
                dir: dir.to_owned(),
                command: "recagent train NAME --model blend".into(),
            });
        }
        let mut m: Self = crate::error::read_json(&path)?;
        if m.n_items != n_items {
            return Err(Error::WrongItemCount {
                expected: n_items,
                got: m.n_items,
            });
        }
        if m.config.kind.is_sequential() {
            m.seq = Some(SeqPart(Arc::new(SasRec::load(
                dir,
                n_items,
                m.config.sasrec,
            )?)));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blend_above_ease_size_uses_sparse_neighbours() {
        let n = ease::MAX_ITEMS + 1;
        let h = |v: &[usize]| v.iter().map(|&i| ItemId(i as u32)).collect::<Vec<_>>();
        // Item n-1 follows item 0 for every user; item 5 is liked with it.
        let histories = vec![
            h(&[0, n - 1, 5]),
            h(&[0, n - 1, 5]),
            h(&[7, 0, n - 1]),
            h(&[3, 4]),
        ];
        let blend = NextItemModel::fit(&histories, n, &NextConfig::new(NextKind::Blend))
            .expect("no dense matrix is needed");
        assert_eq!(blend.sources(), "item-kNN + transitions");
        // The sparse path (used above SPARSE_FROM items) scores what the
        // rows reach as the dense one does.
        let keep = |i: ItemId| i != ItemId(0);
        let sparse = blend
            .sparse_top_k(&h(&[0]), 2, &keep)
            .expect("the rows reach items");
        let scores = blend.scores(&h(&[0]));
        assert_eq!(sparse[0].item, ItemId((n - 1) as u32));
        assert!((sparse[0].score - scores[n - 1]).abs() < 1e-6);
        let top = blend.top_k(&h(&[0]), 2, |i| i != ItemId(0));
        assert_eq!(top.first().map(|s| s.item), Some(ItemId((n - 1) as u32)));
        // Above SPARSE_FROM the funnel's P(pick) and top_k read only the
        // rows the history reaches, and agree with the dense scores.
        let big = SPARSE_FROM + 1;
        let hb = vec![
            h(&[0, big - 1, 5]),
            h(&[0, big - 1, 5]),
            h(&[7, 0, big - 1]),
            h(&[3, 4]),
        ];
        let m = NextItemModel::fit(&hb, big, &NextConfig::new(NextKind::Blend)).expect("fit");
        let probe = h(&[big - 1, 5, 7, 3, 42]);
        let dense = m.scores(&h(&[0]));
        for (i, s) in m.scores_of(&h(&[0]), &probe) {
            assert!(
                (s - dense[i.index()]).abs() < 1e-6,
                "{i:?} {s} {}",
                dense[i.index()]
            );
        }
        let top = m.top_k(&h(&[0]), 3, |i| i != ItemId(0));
        assert_eq!(top[0].item, ItemId((big - 1) as u32));
        assert_eq!(top.len(), 3, "a short list is filled by popularity");
        // EASE itself refuses, saying what to use.
        let err = NextItemModel::fit(&histories, n, &NextConfig::new(NextKind::Ease))
            .expect_err("too large for EASE");
        assert!(err.to_string().contains("itemknn"), "{err}");
    }
}
