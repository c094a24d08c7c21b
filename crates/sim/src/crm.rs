//! The recommender channel of an evaluation, kept leak-free: the models
//! trained without any episode's target or anything its user did after it,
//! the baselines that need no conversation (popularity, the next-item model
//! alone, CRM-only), and the cache that trains them once per catalog.
//!
//! Two targets per user, as in the next-item protocol: the last positive is
//! the test target (the episode), the one before it the validation target.
//! * The CTR model trains on what each user did before the validation
//!   target (or before the test target, for users without one).
//! * The next-item model fit on positives before the validation targets
//!   chooses its settings and the funnel's [`Combine`] weight on validation
//!   episodes; the one the episodes use is refit on positives before the
//!   test targets.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use recagent_catalog::split::{self, CtrSplit, EpisodeConfig as SplitConfig, LabelRule};
use recagent_core::{Catalog, Episode, Home, ItemId, Progress};
use recagent_ranker::next::protocol::{metrics_of, rank_of};
use recagent_ranker::next::{NextSplit, tune_from};
use recagent_ranker::{
    Combine, Funnel, FunnelConfig, ModelKind, ModelStore, NextConfig, NextItemModel, NextKind,
    NextMetrics, TrainConfig, TrainInputs, UserContext, load_ranker_dir, train_with,
};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The seed of the CTR split the evaluation ranker is trained on.
pub const SPLIT_SEED: u64 = 2026;

/// Bumped whenever what the evaluation models are trained on changes, so
/// that a cache from an older protocol retrains.
const PROTOCOL: u32 = 2;

/// Validation episodes the combination weight is fit on, at most.
const COMBINE_EPISODES: usize = 400;

/// The pick weights tried on validation.
const PICK_WEIGHTS: [f32; 8] = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// Every eligible user's episode (leave-last-positive-out, the whole
/// history): the targets an evaluation may draw, all of which its models
/// hold out.
pub fn all_episodes(catalog: &Catalog) -> Vec<Episode> {
    split::leave_last_positive_out(catalog, SplitConfig::default())
}

/// The episodes with the history cut to the last `n` positives (and `seen`
/// to the last `n` ratings): the new-user setting of `--history-len`.
pub fn capped_episodes(catalog: &Catalog, n: usize) -> Vec<Episode> {
    split::leave_last_positive_out(
        catalog,
        SplitConfig {
            max_history: n,
            ..SplitConfig::default()
        },
    )
}

/// The validation episode of a test episode: its history's last positive
/// as the target, with what came before it. `None` when nothing would be
/// left before it.
pub fn validation_episode(e: &Episode) -> Option<Episode> {
    let (&target, history) = e.history.split_last()?;
    if history.is_empty() {
        return None;
    }
    let at = e.seen.iter().position(|i| *i == target)?;
    Some(Episode {
        user: e.user,
        target,
        history: history.to_vec(),
        seen: e.seen[..at].to_vec(),
    })
}

/// Everything the evaluation models are trained and fit on, built from the
/// catalog in one place so that a test can check no target is in it.
#[derive(Debug, Clone)]
pub struct EvalData {
    /// The test episodes (every user's last positive).
    pub episodes: Vec<Episode>,
    /// The validation episodes (the positive before it).
    pub valid_episodes: Vec<Episode>,
    /// CTR rows strictly before each user's validation target (test target
    /// when there is none).
    pub ctr: CtrSplit,
    /// Per user: positives strictly before the test target.
    pub next_test: Vec<Vec<ItemId>>,
    /// Per user: positives strictly before the validation target.
    pub next_valid: Vec<Vec<ItemId>>,
}

impl EvalData {
    pub fn build(catalog: &Catalog) -> Self {
        let rule = LabelRule::default();
        let episodes = all_episodes(catalog);
        let valid_episodes: Vec<Episode> = episodes.iter().filter_map(validation_episode).collect();
        let ctr = split::ctr_split_before(
            catalog,
            rule,
            SPLIT_SEED,
            &split::positive_cutoffs(catalog, rule, 1),
        );
        let mut next_test = split::positive_histories(catalog, rule);
        for e in &episodes {
            next_test[e.user.index()] = e.history.clone();
        }
        let mut next_valid = next_test.clone();
        for e in &valid_episodes {
            next_valid[e.user.index()] = e.history.clone();
        }
        Self {
            episodes,
            valid_episodes,
            ctr,
            next_test,
            next_valid,
        }
    }

    /// The next-item split whose training histories end before the
    /// validation targets.
    fn next_split(&self, n_items: usize) -> NextSplit {
        let mut valid = vec![None; self.next_valid.len()];
        let mut test = vec![None; self.next_valid.len()];
        for e in &self.valid_episodes {
            valid[e.user.index()] = Some(e.target);
        }
        for e in &self.episodes {
            test[e.user.index()] = Some(e.target);
        }
        NextSplit {
            train: self.next_valid.clone(),
            valid,
            test,
            n_items,
            // The episodes' lists leave out every earlier positive; the
            // agent's own exclusions are its business, not the model's.
            unliked_before_valid: vec![Vec::new(); self.next_valid.len()],
            unliked_before_test: vec![Vec::new(); self.next_valid.len()],
        }
    }
}

/// What the evaluation models were trained on, saved beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitManifest {
    pub protocol: u32,
    pub model: String,
    pub split_seed: u64,
    /// Episode targets held out of every model.
    pub held_out: usize,
    /// FNV-1a of the held-out (user, item) pairs, so that a changed catalog
    /// retrains.
    pub digest: String,
    pub train_rows: usize,
    pub test_auc: f64,
    /// The next-item model's settings, chosen on validation.
    pub next: NextConfig,
    /// The next-item model alone on the validation episodes.
    pub next_valid: NextMetrics,
    /// The funnel's combination, fit on validation episodes.
    pub combine: Combine,
    /// Validation Hit@10 of the funnel for each pick weight tried.
    pub combine_fit: Vec<(f32, f64)>,
    pub valid_episodes: usize,
    /// What the ranker learnt from besides the ratings ("knowledge": KAR's
    /// item field; "ctrl": CTRL's alignment stage); empty for the base.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
}

/// The names [`SplitManifest::extras`] gives `inputs`.
pub fn extras_of(inputs: &TrainInputs<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if inputs.knowledge.is_some() {
        out.push("knowledge".to_owned());
    }
    if inputs.users.is_some() {
        out.push("user-knowledge".to_owned());
    }
    if inputs.ctrl.is_some() {
        out.push("ctrl".to_owned());
    }
    out
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
    /// Next-item model in front of the CTR model, combined as fit.
    pub funnel: Funnel,
    /// The next-item model the funnel uses (fit before the test targets).
    pub next: Arc<NextItemModel>,
    /// Items by positives before the test targets, most first (ties by id).
    pub popularity: Vec<ItemId>,
    pub manifest: SplitManifest,
}

/// The evaluation's next-item model unless told otherwise: the blend, or
/// item-kNN above EASE's size.
pub fn default_next(n_items: usize) -> NextKind {
    if n_items <= recagent_ranker::next::ease::MAX_ITEMS {
        NextKind::Blend
    } else {
        NextKind::ItemKnn
    }
}

/// Where the evaluation models of a catalog live:
/// `$RECAGENT_HOME/index/NAME/eval/`.
pub fn eval_store(home: &Home, name: &str) -> ModelStore {
    ModelStore::at(home.eval_dir(name), name)
}

/// The store of the evaluation models trained with `extras` (the names of
/// [`extras_of`]): the base store for none, a folder of its own inside it
/// otherwise, so that a variant never retrains the base.
pub fn eval_store_for(home: &Home, name: &str, extras: &[String]) -> ModelStore {
    if extras.is_empty() {
        eval_store(home, name)
    } else {
        ModelStore::at(
            home.eval_dir(name)
                .join(format!("with-{}", extras.join("-"))),
            name,
        )
    }
}

fn manifest_path(store: &ModelStore) -> PathBuf {
    store.root().join("split.json")
}

fn read_manifest(path: &Path) -> Option<SplitManifest> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Every unseen item of an episode.
fn unseen(catalog: &Catalog, e: &Episode) -> Vec<ItemId> {
    let seen: HashSet<ItemId> = e.seen.iter().chain(&e.history).copied().collect();
    catalog
        .items()
        .iter()
        .map(|i| i.id)
        .filter(|i| !seen.contains(i))
        .collect()
}

/// Fits the pick weight on validation episodes: the funnel's signals once
/// per episode, then every weight's ranking of them.
fn fit_combine(
    funnel: &Funnel,
    catalog: &Catalog,
    episodes: &[Episode],
    progress: &dyn Progress,
) -> Result<(Combine, Vec<(f32, f64)>)> {
    let sample = split::sample_episodes(episodes, COMBINE_EPISODES, SPLIT_SEED);
    progress.stage(
        "fitting the ranking combination on validation episodes",
        Some(sample.len() as u64),
    );
    let mut ranks: Vec<Vec<usize>> = vec![Vec::new(); PICK_WEIGHTS.len()];
    for e in &sample {
        let user = UserContext {
            user: Some(e.user),
            history: &e.history,
        };
        let (signals, _, _) = funnel.signals(&user, &unseen(catalog, e), 300)?;
        for (w, r) in PICK_WEIGHTS.iter().zip(&mut ranks) {
            let c = Combine { pick_weight: *w };
            let order = c.rank(&signals, signals.len());
            r.push(
                order
                    .iter()
                    .position(|s| s.item == e.target)
                    .unwrap_or(usize::MAX),
            );
        }
        progress.advance(1);
    }
    progress.finish();
    let fit: Vec<(f32, f64, f64)> = PICK_WEIGHTS
        .iter()
        .zip(&ranks)
        .map(|(w, r)| {
            let m = metrics_of(r);
            (*w, crate::round4(m.hit10), m.ndcg10)
        })
        .collect();
    let best = fit
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(a.2.total_cmp(&b.2)))
        .map_or(Combine::default().pick_weight, |b| b.0);
    Ok((
        Combine { pick_weight: best },
        fit.into_iter().map(|(w, h, _)| (w, h)).collect(),
    ))
}

fn write_manifest(path: &Path, m: &SplitManifest) -> Result<()> {
    let err = |reason: String| Error::Report {
        path: path.display().to_string(),
        reason,
    };
    let text = serde_json::to_string_pretty(m).map_err(|e| err(e.to_string()))?;
    std::fs::write(path, text).map_err(|e| err(e.to_string()))
}

impl EvalModels {
    /// Loads the evaluation ranker (`kind`) and next-item model of
    /// `catalog` from `store`, training them first when they are missing or
    /// were trained on another split or protocol.
    pub fn ensure(
        home: &Home,
        store: &ModelStore,
        catalog: &Catalog,
        kind: ModelKind,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let next = default_next(catalog.items().len());
        Self::ensure_with_next(home, store, catalog, kind, next, progress)
    }

    /// [`Self::ensure`] with `next` as the next-item model (the blend by
    /// default; `blend-sasrec` adds SASRec at its validation weight). A
    /// store holding another next-item model is trained again.
    pub fn ensure_with_next(
        home: &Home,
        store: &ModelStore,
        catalog: &Catalog,
        kind: ModelKind,
        next: NextKind,
        progress: &dyn Progress,
    ) -> Result<Self> {
        Self::ensure_with(
            home,
            store,
            catalog,
            kind,
            next,
            &TrainInputs::default(),
            progress,
        )
    }

    /// [`Self::ensure_with_next`] with a ranker that also learns from
    /// `inputs` (KAR's knowledge field, CTRL). The funnel's weight is fit
    /// again for it on the validation episodes. A store trained with other
    /// inputs is trained again, so give each its own store.
    pub fn ensure_with(
        home: &Home,
        store: &ModelStore,
        catalog: &Catalog,
        kind: ModelKind,
        next: NextKind,
        inputs: &TrainInputs<'_>,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let knowledge = inputs.knowledge.is_some();
        let extras = extras_of(inputs);
        let data = EvalData::build(catalog);
        let want_digest = digest(&data.episodes);
        let path = manifest_path(store);
        let manifest = match read_manifest(&path) {
            Some(m)
                if m.protocol == PROTOCOL
                    && m.digest == want_digest
                    && m.model == kind.name()
                    && m.split_seed == SPLIT_SEED
                    && m.next.kind == next
                    && m.extras == extras
                    && store.has_ranker(kind, knowledge)
                    && store.has_next() =>
            {
                m
            }
            _ => {
                // Not trained, or on another split: train again. The
                // manifest goes last, so an interrupted run retrains.
                let _ = std::fs::remove_file(&path);
                let m = Self::train_all(store, catalog, kind, next, &data, inputs, progress)?;
                write_manifest(&path, &m)?;
                m
            }
        };
        let ranker = load_ranker_dir(home, catalog, &store.ranker_dir(kind, knowledge), progress)?;
        let next = Arc::new(store.load_next(catalog)?);
        let mut counts = vec![0usize; catalog.items().len()];
        for h in &data.next_test {
            for i in h {
                counts[i.index()] += 1;
            }
        }
        Ok(Self {
            funnel: Funnel::new(Arc::new(ranker), None)
                .with_next(Arc::clone(&next), manifest.combine),
            next,
            popularity: by_count(&counts),
            manifest,
        })
    }

    fn train_all(
        store: &ModelStore,
        catalog: &Catalog,
        kind: ModelKind,
        kind_next: NextKind,
        data: &EvalData,
        inputs: &TrainInputs<'_>,
        progress: &dyn Progress,
    ) -> Result<SplitManifest> {
        let n_items = catalog.items().len();
        let cfg = TrainConfig {
            seed: SPLIT_SEED,
            ..TrainConfig::new(kind)
        };
        let (ranker, report) = train_with(catalog, &data.ctr, &cfg, inputs, progress)?;
        store.save_ranker(&ranker)?;
        let next_split = data.next_split(n_items);
        let mut base = NextConfig::new(kind_next);
        base.sasrec.seed = SPLIT_SEED;
        let tuned = tune_from(base, &next_split, progress)?;
        let (next_cfg, trials) = (tuned.config, tuned.trials.clone());
        let next_valid_metrics = trials
            .iter()
            .find(|t| t.config == next_cfg)
            .map(|t| t.valid.positives)
            .unwrap_or_default();
        // Tuning's training histories are the validation episodes'
        // histories; SASRec, trained once there, serves both phases.
        let valid_model = Arc::new(tuned.fit(&next_split)?);
        let valid_funnel =
            Funnel::new(Arc::new(ranker), None).with_next(valid_model, Combine::default());
        let (combine, combine_fit) =
            fit_combine(&valid_funnel, catalog, &data.valid_episodes, progress)?;
        let test_model = tuned.fit_on(&data.next_test, n_items)?;
        store.save_next(&test_model)?;
        Ok(SplitManifest {
            protocol: PROTOCOL,
            model: kind.name().to_owned(),
            split_seed: SPLIT_SEED,
            held_out: data.episodes.len(),
            digest: digest(&data.episodes),
            train_rows: report.train_rows,
            test_auc: crate::round4(report.test_auc),
            next: next_cfg,
            next_valid: next_valid_metrics,
            combine,
            combine_fit,
            valid_episodes: data.valid_episodes.len(),
            extras: extras_of(inputs),
        })
    }

    /// The popularity baseline: the most popular items the user has not
    /// seen, best first.
    pub fn popular_list(&self, episode: &Episode, n: usize) -> Vec<ItemId> {
        let seen: HashSet<ItemId> = episode
            .seen
            .iter()
            .chain(&episode.history)
            .copied()
            .collect();
        self.popularity
            .iter()
            .copied()
            .filter(|i| !seen.contains(i))
            .take(n)
            .collect()
    }

    /// The next-item baseline: the next-item model alone on the history.
    pub fn next_list(&self, episode: &Episode, n: usize) -> Vec<ItemId> {
        let seen: HashSet<ItemId> = episode
            .seen
            .iter()
            .chain(&episode.history)
            .copied()
            .collect();
        self.next
            .top_k(&episode.history, n, |i| !seen.contains(&i))
            .into_iter()
            .map(|s| s.item)
            .collect()
    }

    /// The CRM-only baseline: the funnel over every item the user has not
    /// seen, for the episode's user with the episode's history (which
    /// never holds the target), as the agent's sessions rank.
    pub fn crm_list(&self, catalog: &Catalog, episode: &Episode, n: usize) -> Result<Vec<ItemId>> {
        let user = UserContext {
            user: Some(episode.user),
            history: &episode.history,
        };
        let out = self.funnel.run(
            &user,
            &unseen(catalog, episode),
            &FunnelConfig {
                prerank_to: 300,
                k: n,
            },
        )?;
        Ok(out.ranked.into_iter().map(|s| s.item).collect())
    }
}

/// The next-item model alone on `episodes`' targets, full ranking, under
/// both maskings: earlier positives left out (RecBole's), and every film
/// rated before the target (the episodes' own, as in every arm).
pub fn next_masked(model: &NextItemModel, episodes: &[Episode]) -> recagent_ranker::MaskedMetrics {
    let (positives, rated): (Vec<usize>, Vec<usize>) = episodes
        .iter()
        .map(|e| {
            let scores = model.scores(&e.history);
            let seen: Vec<ItemId> = e.seen.iter().chain(&e.history).copied().collect();
            (
                rank_of(&scores, e.target, &e.history),
                rank_of(&scores, e.target, &seen),
            )
        })
        .unzip();
    recagent_ranker::MaskedMetrics {
        positives: metrics_of(&positives),
        rated: metrics_of(&rated),
    }
}

/// The 0-based rank of an episode's target under the next-item model alone
/// over every unseen item (for tests and reports).
pub fn next_rank(model: &NextItemModel, e: &Episode) -> usize {
    let scores = model.scores(&e.history);
    let masked: Vec<ItemId> = e.seen.iter().chain(&e.history).copied().collect();
    rank_of(&scores, e.target, &masked)
}

/// Item ids by count, most first, ties by id.
pub fn by_count(counts: &[usize]) -> Vec<ItemId> {
    let mut ids: Vec<usize> = (0..counts.len()).collect();
    ids.sort_by(|a, b| counts[*b].cmp(&counts[*a]).then(a.cmp(b)));
    ids.into_iter()
        .map(|i| ItemId(u32::try_from(i).unwrap_or(u32::MAX)))
        .collect()
}
