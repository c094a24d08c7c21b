//! The recommender channel of an evaluation, kept leak-free: a ranker and
//! pre-ranker trained with every episode's target held out, the two
//! baselines that need no conversation (popularity and CRM-only), and the
//! cache that trains them once per catalog and split.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use recagent_catalog::split::{self, EpisodeConfig as SplitConfig, LabelRule};
use recagent_core::{Catalog, Episode, Home, ItemId, Progress};
use recagent_ranker::{
    Funnel, FunnelConfig, ModelKind, ModelStore, PreRankConfig, TrainConfig, UserContext,
    load_ranker_dir, train, train_prerank,
};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The seed of the CTR split the evaluation ranker is trained on.
pub const SPLIT_SEED: u64 = 2026;

/// Every eligible user's episode (leave-last-positive-out): the targets an
/// evaluation may draw, all of which its ranker holds out.
pub fn all_episodes(catalog: &Catalog) -> Vec<Episode> {
    split::leave_last_positive_out(catalog, SplitConfig::default())
}

/// What the evaluation models were trained on, saved beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitManifest {
    pub model: String,
    pub split_seed: u64,
    /// Episode targets held out of train, validation and test.
    pub held_out: usize,
    /// FNV-1a of the held-out (user, item) pairs, so that a changed catalog
    /// retrains.
    pub digest: String,
    pub train_rows: usize,
    pub test_auc: f64,
}

fn digest(episodes: &[Episode]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for e in episodes {
        for b in e
            .user
            .0
            .to_le_bytes()
            .into_iter()
            .chain(e.target.0.to_le_bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The leak-free models of one catalog and what they were trained on.
#[derive(Debug, Clone)]
pub struct EvalModels {
    pub funnel: Funnel,
    /// Items by positives in the training rows, most first (ties by id).
    pub popularity: Vec<ItemId>,
    pub manifest: SplitManifest,
}

/// Where the evaluation models of a catalog live:
/// `$RECAGENT_HOME/index/NAME/eval/`.
pub fn eval_store(home: &Home, name: &str) -> ModelStore {
    ModelStore::at(home.index_dir(name).join("eval"), name)
}

fn manifest_path(store: &ModelStore) -> PathBuf {
    store.root().join("split.json")
}

fn read_manifest(path: &Path) -> Option<SplitManifest> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

impl EvalModels {
    /// Loads the evaluation ranker (`kind`) and pre-ranker of `catalog`
    /// from `store`, training them first when they are missing or were
    /// trained on another split. Training holds out the target of every
    /// episode [`all_episodes`] can draw.
    pub fn ensure(
        home: &Home,
        store: &ModelStore,
        catalog: &Catalog,
        kind: ModelKind,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let episodes = all_episodes(catalog);
        let split =
            split::ctr_split_without_targets(catalog, LabelRule::default(), SPLIT_SEED, &episodes);
        let want_digest = digest(&episodes);
        let path = manifest_path(store);
        let manifest = match read_manifest(&path) {
            Some(m)
                if m.digest == want_digest
                    && m.model == kind.name()
                    && m.split_seed == SPLIT_SEED
                    && store.has_ranker(kind, false)
                    && store.has_prerank() =>
            {
                m
            }
            _ => {
                // Not trained, or on another split: train both again. The
                // manifest goes last, so an interrupted run retrains.
                let _ = std::fs::remove_file(&path);
                let cfg = TrainConfig {
                    seed: SPLIT_SEED,
                    ..TrainConfig::new(kind)
                };
                let (ranker, report) = train(catalog, &split, &cfg, None, progress)?;
                store.save_ranker(&ranker)?;
                let pcfg = PreRankConfig {
                    seed: SPLIT_SEED,
                    ..PreRankConfig::default()
                };
                let (pre, varmap) = train_prerank(catalog, &split, &pcfg, progress)?;
                pre.save(&store.prerank_dir(), &varmap)?;
                let m = SplitManifest {
                    model: kind.name().to_owned(),
                    split_seed: SPLIT_SEED,
                    held_out: episodes.len(),
                    digest: want_digest,
                    train_rows: report.train_rows,
                    test_auc: crate::round4(report.test_auc),
                };
                let text = serde_json::to_string_pretty(&m).map_err(|e| Error::Report {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                std::fs::write(&path, text).map_err(|e| Error::Report {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                m
            }
        };
        let ranker = load_ranker_dir(home, catalog, &store.ranker_dir(kind, false), progress)?;
        let pre = store.load_prerank(catalog)?;
        let mut counts = vec![0usize; catalog.items().len()];
        for r in split.train.iter().filter(|r| r.label) {
            counts[r.item.index()] += 1;
        }
        Ok(Self {
            funnel: Funnel::new(Arc::new(ranker), Some(Arc::new(pre))),
            popularity: by_count(&counts),
            manifest,
        })
    }

    /// The popularity baseline: the most popular items the user has not
    /// rated positively, best first.
    pub fn popular_list(&self, episode: &Episode, n: usize) -> Vec<ItemId> {
        let seen: HashSet<ItemId> = episode.history.iter().copied().collect();
        self.popularity
            .iter()
            .copied()
            .filter(|i| !seen.contains(i))
            .take(n)
            .collect()
    }

    /// The CRM-only baseline: the funnel over every item the history does
    /// not hold, for the episode's user with the episode's history (which
    /// never holds the target), as the agent's sessions rank.
    pub fn crm_list(&self, catalog: &Catalog, episode: &Episode, n: usize) -> Result<Vec<ItemId>> {
        let seen: HashSet<ItemId> = episode.history.iter().copied().collect();
        let candidates: Vec<ItemId> = catalog
            .items()
            .iter()
            .map(|i| i.id)
            .filter(|i| !seen.contains(i))
            .collect();
        let user = UserContext {
            user: Some(episode.user),
            history: &episode.history,
        };
        let out = self.funnel.run(
            &user,
            &candidates,
            &FunnelConfig {
                prerank_to: 300,
                k: n,
            },
        )?;
        Ok(out.ranked.into_iter().map(|s| s.item).collect())
    }
}

/// Item ids by count, most first, ties by id.
pub fn by_count(counts: &[usize]) -> Vec<ItemId> {
    let mut ids: Vec<usize> = (0..counts.len()).collect();
    ids.sort_by(|a, b| counts[*b].cmp(&counts[*a]).then(a.cmp(b)));
    ids.into_iter()
        .map(|i| ItemId(u32::try_from(i).unwrap_or(u32::MAX)))
        .collect()
}
