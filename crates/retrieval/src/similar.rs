//! Item-to-item similarity, for "more like X".
//!
//! Two neighbour lists per item, built once at `index build`:
//!
//! * **co-occurrence** (collaborative): items liked by the same people.
//!   Cosine over user sets shrunk towards zero when few people support it,
//!   `c(i,j) / (sqrt(n_i · n_j) + SHRINK)`, over positive interactions
//!   (rating ≥ 4 under the default [`LabelRule`]), keeping pairs seen at
//!   least twice.
//! * **relations** (knowledge graph): items sharing a director, actor, writer
//!   and so on, each shared entity weighted by its rarity
//!   (`ln(N / df)`); entities on more than [`MAX_ENTITY_ITEMS`] items are
//!   too generic to say anything and are skipped.
//!
//! [`Similarity::similar`] fuses both lists (each normalised to its best
//! score per seed) over several seed items, each neighbour's score
//! multiplied by how much of its genres it shares with the seed
//! ([`genre_overlap`]): collaborative similarity alone is dominated by
//! popular films (Star Wars is everyone's neighbour), genre overlap alone
//! is coarse, and their product is far better than either
//! (docs/retrieval.md has the measured precision of each).

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use recagent_catalog::split::{LabelRule, positive_histories};
use recagent_core::{Catalog, ItemId, Person, Progress, Role, person_key};
use serde::Serialize;

use crate::{Error, Result};

/// Neighbours kept per item and source.
pub const NEIGHBOURS: usize = 100;
/// Shrinkage of the co-occurrence cosine.
pub const SHRINK: f64 = 10.0;
/// People whose positives are counted, most recent first, at most.
pub const MAX_USER_ITEMS: usize = 300;
/// Relation entities shared by more items than this are skipped.
pub const MAX_ENTITY_ITEMS: usize = 200;
/// Weight of the relation list (shared people, keywords, checked graph
/// links) against the co-occurrence list: 2 was best on the development
/// half of `tests/labelled/more_like.json` (`recagent bench similar`).
pub const RELATION_WEIGHT: f32 = 2.0;

// One similar item and where it came from are defined in core, so that the
// agent's `Recall` trait names no retrieval type.
pub use recagent_core::{SimilarHit, Source};

/// How much of their genres two items share: `|A ∩ B| / |A ∪ B|` over
/// genre keys, with a floor so that an item is ranked low, not removed,
/// when it shares none; 0.5 when either has no genres.
pub fn genre_overlap(a: &[String], b: &[String]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.5;
    }
    let shared = a.iter().filter(|g| b.contains(g)).count();
    let union = a.len() + b.len() - shared;
    (shared as f32 / union as f32).max(GENRE_FLOOR)
}

/// How the sources of "more like X" are weighed. The defaults were chosen
/// on the development half of `tests/labelled/more_like.json` by
/// `recagent bench similar` (docs/retrieval.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SimilarWeights {
    /// The co-occurrence list (scaled to a best of 1 per seed).
    pub collaborative: f32,
    /// The knowledge-graph relation list.
    pub relations: f32,
    /// The nearest item vectors (text and generated knowledge).
    pub content: f32,
    /// Multiply every entry by [`genre_overlap`] with its seed.
    pub genres: bool,
}

impl Default for SimilarWeights {
    fn default() -> Self {
        Self {
            collaborative: 1.0,
            relations: RELATION_WEIGHT,
            content: CONTENT_WEIGHT,
            genres: true,
        }
    }
}

/// Default weight of the nearest item vectors against co-occurrence's 1.
pub const CONTENT_WEIGHT: f32 = 1.0;
/// Nearest item vectors fetched per seed.
pub const CONTENT_NEIGHBOURS: usize = 100;

/// The overlap factor of an item sharing no genre with the seed.
pub const GENRE_FLOOR: f32 = 0.02;

/// Neighbour lists for all items, in compressed rows.
#[derive(Debug, Clone, Default, PartialEq)]
struct Rows {
    offsets: Vec<u32>,
    ids: Vec<u32>,
    scores: Vec<f32>,
}

impl Rows {
    fn from_lists(lists: Vec<Vec<(u32, f32)>>) -> Self {
        let mut r = Rows {
            offsets: vec![0],
            ..Rows::default()
        };
        for l in lists {
            for (i, s) in l {
                r.ids.push(i);
                r.scores.push(s);
            }
            r.offsets.push(r.ids.len() as u32);
        }
        r
    }

    fn row(&self, item: ItemId) -> impl Iterator<Item = (ItemId, f32)> + '_ {
        let i = item.index();
        let (a, b) = match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => (a as usize, b as usize),
            _ => (0, 0),
        };
        self.ids[a..b]
            .iter()
            .zip(&self.scores[a..b])
            .map(|(&id, &s)| (ItemId(id), s))
    }

    fn write(&self, out: &mut Vec<u8>) {
        for part in [&self.offsets, &self.ids] {
            out.extend((part.len() as u64).to_le_bytes());
            for v in part.iter() {
                out.extend(v.to_le_bytes());
            }
        }
        out.extend((self.scores.len() as u64).to_le_bytes());
        for v in &self.scores {
            out.extend(v.to_le_bytes());
        }
    }

    fn read(bytes: &mut &[u8]) -> Option<Self> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            if b.len() < n {
                return None;
            }
            let (h, t) = b.split_at(n);
            *b = t;
            Some(h)
        }
        fn words(b: &mut &[u8]) -> Option<Vec<[u8; 4]>> {
            let n = u64::from_le_bytes(take(b, 8)?.try_into().ok()?) as usize;
            let body = take(b, n.checked_mul(4)?)?;
            Some(
                body.chunks_exact(4)
                    .map(|c| [c[0], c[1], c[2], c[3]])
                    .collect(),
            )
        }
        let offsets = words(bytes)?.into_iter().map(u32::from_le_bytes).collect();
        let ids = words(bytes)?.into_iter().map(u32::from_le_bytes).collect();
        let scores = words(bytes)?.into_iter().map(f32::from_le_bytes).collect();
        Some(Rows {
            offsets,
            ids,
            scores,
        })
    }
}

/// Co-occurrence and relation neighbours of every item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Similarity {
    cooccurrence: Rows,
    relations: Rows,
}

fn top(mut v: Vec<(u32, f32)>) -> Vec<(u32, f32)> {
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(NEIGHBOURS);
    v
}

/// Each item's co-occurrence neighbours: cosine over the sets of people who
/// liked it, keeping pairs seen at least twice.
fn cooccurrence_lists(catalog: &Catalog, progress: &dyn Progress) -> Vec<Vec<(u32, f32)>> {
    let n = catalog.items().len();
    let rule = LabelRule::default();

    // Positives per user, most recent first.
    let mut count = vec![0u32; n];
    let mut users: Vec<Vec<u32>> = positive_histories(catalog, rule)
        .into_iter()
        .filter(|h| !h.is_empty())
        .map(|h| {
            let mut items: Vec<u32> = h.iter().rev().map(|i| i.0).collect();
            items.truncate(MAX_USER_ITEMS);
            items.sort_unstable();
            items.dedup();
            for &i in &items {
                count[i as usize] += 1;
            }
            items
        })
        .collect();
    users.sort();
    // Item → users, then each item's co-counts in one pass over its users.
    let mut item_users: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (u, items) in users.iter().enumerate() {
        for &i in items {
            item_users[i as usize].push(u as u32);
        }
    }
    progress.stage("item similarity: co-occurrence", Some(n as u64));
    let mut co = vec![0u32; n];
    let mut touched = Vec::new();
    let mut cf_lists = Vec::with_capacity(n);
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
        let mut list = Vec::new();
        for &j in &touched {
            let c = co[j as usize];
            if c >= 2 {
                let denom = (f64::from(count[i]) * f64::from(count[j as usize])).sqrt() + SHRINK;
                list.push((j, (f64::from(c) / denom) as f32));
            }
            co[j as usize] = 0;
        }
        touched.clear();
        cf_lists.push(top(list));
        progress.advance(1);
    }
    progress.finish();

    cf_lists
}

/// How much a shared keyword counts against a shared director's 1.5.
pub const KEYWORD_WEIGHT: f32 = 0.4;

/// How much sharing a person says about two films: the director most, the
/// leads more than the supporting cast, the crew around the edges.
fn person_weight(p: &Person) -> Option<f32> {
    Some(match p.role {
        Role::Director => 1.5,
        Role::Writer => 1.0,
        Role::Cast => match p.order.unwrap_or(u16::MAX) {
            0..=2 => 1.0,
            3..=7 => 0.5,
            _ => return None,
        },
        Role::Composer => 0.3,
        Role::Producer => 0.3,
    })
}

/// Each item's knowledge-graph neighbours: shared entities (graph
/// relations, people, keywords) weighted by their rarity and by what each
/// says about the item it comes from.
fn relation_lists(catalog: &Catalog, progress: &dyn Progress) -> Vec<Vec<(u32, f32)>> {
    let n = catalog.items().len();
    let mut touched = Vec::new();
    // Relations: entity → items.
    progress.stage("item similarity: relations", Some(n as u64));
    // Entity → (item, how much the entity says about that item).
    let mut entity_items: HashMap<String, Vec<(u32, f32)>> = HashMap::new();
    for it in catalog.items() {
        for (rel, ids) in &it.relations {
            for id in ids {
                entity_items
                    .entry(format!("{rel}\u{1f}{id}"))
                    .or_default()
                    .push((it.id.0, 1.0));
            }
        }
        for p in &it.people {
            if let Some(w) = person_weight(p) {
                entity_items
                    .entry(format!(
                        "person\u{1f}{}\u{1f}{}",
                        p.role.as_str(),
                        person_key(&p.name)
                    ))
                    .or_default()
                    .push((it.id.0, w));
            }
        }
        for k in &it.keywords {
            entity_items
                .entry(format!("keyword\u{1f}{}", k.to_lowercase()))
                .or_default()
                .push((it.id.0, KEYWORD_WEIGHT));
        }
    }
    let mut item_entities: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    let mut entities: Vec<Vec<u32>> = Vec::new();
    let mut keys: Vec<_> = entity_items.into_iter().collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, mut items) in keys {
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        items.dedup_by_key(|x| x.0);
        if items.len() < 2 || items.len() > MAX_ENTITY_ITEMS {
            continue;
        }
        let idf = (n as f32 / items.len() as f32).ln().max(0.0);
        let e = entities.len() as u32;
        for &(i, w) in &items {
            item_entities[i as usize].push((e, idf * w));
        }
        entities.push(items.into_iter().map(|x| x.0).collect());
    }
    let mut acc = vec![0f32; n];
    let mut kg_lists = Vec::with_capacity(n);
    for (i, ents) in item_entities.iter().enumerate() {
        for &(e, w) in ents {
            for &j in &entities[e as usize] {
                if j as usize != i {
                    if acc[j as usize] == 0.0 {
                        touched.push(j);
                    }
                    acc[j as usize] += w;
                }
            }
        }
        let mut list = Vec::with_capacity(touched.len());
        for &j in &touched {
            list.push((j, acc[j as usize]));
            acc[j as usize] = 0.0;
        }
        touched.clear();
        kg_lists.push(top(list));
        progress.advance(1);
    }
    progress.finish();
    kg_lists
}

const FILE: &str = "similar.bin";
const MAGIC: &[u8; 8] = b"RASIM002";

impl Similarity {
    /// Builds both neighbour lists of `catalog`.
    pub fn build(catalog: &Catalog, progress: &dyn Progress) -> Self {
        Self {
            cooccurrence: Rows::from_lists(cooccurrence_lists(catalog, progress)),
            relations: Rows::from_lists(relation_lists(catalog, progress)),
        }
    }

    /// Neighbours of one item from one source, best first.
    pub fn neighbours(&self, item: ItemId, source: Source) -> Vec<(ItemId, f32)> {
        match source {
            Source::Cooccurrence => self.cooccurrence.row(item).collect(),
            Source::Relations => self.relations.row(item).collect(),
            Source::Content => Vec::new(),
        }
    }

    /// Items like all of `seeds` together: each seed's two lists are scaled
    /// to a best score of 1 (relations by [`RELATION_WEIGHT`]), each entry
    /// multiplied by `overlap(seed, item)` (the genre factor,
    /// [`genre_overlap`]), and summed over seeds. Seeds themselves and items
    /// `keep` rejects are left out. Returns all scored items, best first;
    /// the caller cuts to `k`.
    pub fn similar(
        &self,
        seeds: &[ItemId],
        keep: impl Fn(ItemId) -> bool,
        overlap: impl Fn(ItemId, ItemId) -> f32,
        w: &SimilarWeights,
    ) -> Vec<SimilarHit> {
        let mut acc: HashMap<ItemId, (f32, f32)> = HashMap::new();
        for &s in seeds {
            for (source, weight) in [
                (Source::Cooccurrence, w.collaborative),
                (Source::Relations, w.relations),
            ] {
                if weight == 0.0 {
                    continue;
                }
                let row = self.neighbours(s, source);
                let best = row.first().map_or(1.0, |r| r.1).max(1e-9);
                for (j, sc) in row {
                    let e = acc.entry(j).or_default();
                    let g = if w.genres { overlap(s, j) } else { 1.0 };
                    let v = weight * sc / best * g;
                    match source {
                        Source::Cooccurrence => e.0 += v,
                        Source::Relations | Source::Content => e.1 += v,
                    }
                }
            }
        }
        let mut out: Vec<SimilarHit> = acc
            .into_iter()
            .filter(|(j, _)| !seeds.contains(j) && keep(*j))
            .map(|(item, (cf, kg))| SimilarHit {
                item,
                score: cf + kg,
                source: if cf >= kg {
                    Source::Cooccurrence
                } else {
                    Source::Relations
                },
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        out
    }

    /// Writes `similar.bin` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut out = MAGIC.to_vec();
        self.cooccurrence.write(&mut out);
        self.relations.write(&mut out);
        let path = dir.join(FILE);
        fs::write(&path, out).map_err(|source| Error::Io { path, source })
    }

    /// Reads what [`Similarity::save`] wrote.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE);
        let bytes = fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let corrupt = || Error::Corrupt {
            path: path.clone(),
            reason: "not a similarity file written by this version; rebuild the index".into(),
        };
        let mut b = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(corrupt)?;
        let cooccurrence = Rows::read(&mut b).ok_or_else(corrupt)?;
        let relations = Rows::read(&mut b).ok_or_else(corrupt)?;
        if !b.is_empty() {
            return Err(corrupt());
        }
        Ok(Self {
            cooccurrence,
            relations,
        })
    }
}
