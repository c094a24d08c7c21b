//! A trained CTR model bound to a catalog, ready to score.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use recagent_core::{Catalog, ItemId, Scored, UserId};

use crate::batch::{self, KnowledgeTable};
use crate::config::{CONFIG_FILE, FORMAT_VERSION, RankerConfig, WEIGHTS_FILE};
use crate::error::{Error, Result};
use crate::features::{Encoder, UserFeatures};
use crate::model::{ItemCache, Net};

/// Scores (user, item) pairs with a trained network.
///
/// The item side of the network (item, year, genre and knowledge fields) is
/// computed once for every catalog item when the ranker is built, so a
/// request only computes the user side once and the interaction layers per
/// candidate.
///
/// The user's history is always passed in: the ranker holds no interaction
/// log, so a caller that holds an item out (an evaluation's target) is sure
/// the model never sees it. A `Ranker` is `Sync`; share one behind an `Arc`
/// and score from many threads at once.
pub struct Ranker {
    pub(crate) net: Net,
    pub(crate) varmap: VarMap,
    pub(crate) encoder: Encoder,
    pub(crate) config: RankerConfig,
    device: Device,
    cache: ItemCache,
    knowledge: Option<KnowledgeTable>,
    users: Option<KnowledgeTable>,
}

thread_local! {
    /// Each calling thread scores on a one-thread pool of its own: a request
    /// is a few small matrix products, and splitting one across cores costs
    /// more in synchronisation than it saves, while a pool shared by all
    /// callers would queue them on one thread. Concurrent requests from
    /// several threads use several cores.
    static SCORING_POOL: Option<rayon::ThreadPool> = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|_| "recagent-scoring".into())
        .build()
        .ok();
}

/// Runs `f` on this thread's scoring pool (or inline if it could not start).
fn on_scoring_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    SCORING_POOL.with(|pool| match pool {
        Some(p) => p.install(f),
        None => f(),
    })
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker")
            .field("config", &self.config.net)
            .field("items", &self.encoder.n_items())
            .finish()
    }
}

impl Ranker {
    pub(crate) fn assemble(
        net: Net,
        varmap: VarMap,
        config: RankerConfig,
        catalog: &Catalog,
        knowledge: Option<&KnowledgeTable>,
        users: Option<&KnowledgeTable>,
        device: Device,
    ) -> Result<Self> {
        let users = match (config.net.user_knowledge_dim, users) {
            (None, _) => None,
            (Some(_), None) => return Err(Error::MissingKnowledge),
            (Some(expected), Some(u)) if u.dim != expected => {
                return Err(Error::WrongDimension {
                    expected,
                    got: u.dim,
                });
            }
            (Some(_), Some(u)) => Some(u.clone()),
        };
        if let Some(expected) = config.net.knowledge_dim {
            let k = knowledge.ok_or(Error::MissingKnowledge)?;
            if k.dim != expected {
                return Err(Error::WrongDimension {
                    expected,
                    got: k.dim,
                });
            }
            if k.n_items() != catalog.items().len() {
                return Err(Error::WrongItemCount {
                    expected: catalog.items().len(),
                    got: k.n_items(),
                });
            }
        }
        let knowledge = if config.net.knowledge_dim.is_some() {
            knowledge
        } else {
            None
        };
        let encoder = Encoder::new(config.space.clone(), catalog);
        let n_genres = config.space.cardinalities().genres;
        let mut es = Vec::new();
        let mut ws = Vec::new();
        let n = catalog.items().len();
        for start in (0..n).step_by(4096) {
            let end = (start + 4096).min(n);
            let feats: Vec<_> = (start..end)
                .map(|i| encoder.item(ItemId(i as u32)))
                .collect();
            let refs: Vec<_> = feats.iter().collect();
            let rows: Vec<usize> = (start..end).collect();
            let x = batch::item_inputs(&refs, &rows, n_genres, knowledge, &device)?;
            let (e, w) = net.item_side(&x)?;
            es.push(e.detach());
            ws.push(w.detach());
        }
        let (cache_e, cache_w) = if es.is_empty() {
            let fi = config.net.item_fields();
            (
                Tensor::zeros((0, fi, config.net.embedding_dim), DType::F32, &device)?,
                Tensor::zeros(0, DType::F32, &device)?,
            )
        } else {
            (Tensor::cat(&es, 0)?, Tensor::cat(&ws, 0)?)
        };
        let cache = net.build_cache(cache_e, cache_w)?;
        let knowledge = knowledge.cloned();
        Ok(Self {
            net,
            varmap,
            encoder,
            config,
            device,
            cache,
            knowledge,
            users,
        })
    }

    /// Reads the `config.json` of a saved ranker, e.g. to learn whether it
    /// needs knowledge vectors before loading it.
    pub fn read_config(dir: &Path) -> Result<RankerConfig> {
        crate::error::read_json(&dir.join(CONFIG_FILE))
    }

    /// Loads a ranker saved with [`Ranker::save`] and binds it to `catalog`.
    /// [`crate::ModelStore::load_ranker`] also rebuilds the knowledge
    /// vectors a model needs.
    pub fn load(dir: &Path, catalog: &Catalog, knowledge: Option<&KnowledgeTable>) -> Result<Self> {
        Self::load_with_users(dir, catalog, knowledge, None)
    }

    /// [`Ranker::load`] for a model with the user knowledge field: `users`
    /// holds one vector per catalog user.
    pub fn load_with_users(
        dir: &Path,
        catalog: &Catalog,
        knowledge: Option<&KnowledgeTable>,
        users: Option<&KnowledgeTable>,
    ) -> Result<Self> {
        let config = Self::read_config(dir)?;
        if config.format_version > FORMAT_VERSION {
            return Err(Error::BadConfig {
                path: dir.join(CONFIG_FILE),
                reason: format!(
                    "format {} is newer than this build reads ({FORMAT_VERSION})",
                    config.format_version
                ),
            });
        }
        let device = Device::Cpu;
        let mut varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let net = Net::new(config.net.clone(), config.space.cardinalities(), vb)?;
        varmap.load(dir.join(WEIGHTS_FILE))?;
        Self::assemble(net, varmap, config, catalog, knowledge, users, device)
    }

    /// Writes `model.safetensors` and `config.json` (which names the
    /// knowledge source) into `dir`, together: both are written into a
    /// staging folder beside `dir` that then replaces it, so a reader never
    /// finds new weights with an old config or a half-written file.
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::save::replace_dir(dir, |stage| {
            self.varmap.save(stage.join(WEIGHTS_FILE))?;
            crate::save::write_json(&stage.join(CONFIG_FILE), &self.config)
        })
    }

    pub fn config(&self) -> &RankerConfig {
        &self.config
    }

    /// Checks the candidates and encodes the user with `history` as the
    /// pooled-history field.
    fn request_user(
        &self,
        user: Option<UserId>,
        history: &[ItemId],
        items: &[ItemId],
    ) -> Result<UserFeatures> {
        let n_items = self.encoder.n_items();
        if let Some(bad) = items.iter().find(|i| i.index() >= n_items) {
            return Err(Error::Invalid(format!(
                "item {} is not in the catalog ({n_items} items)",
                bad.0
            )));
        }
        Ok(self.encoder.user_with_history(user, history))
    }

    /// Click probabilities of `items` for `user`, in the order given.
    ///
    /// `user` may be `None` (an anonymous session) or a user the model never
    /// saw; both score through the out-of-vocabulary rows. `history` is the
    /// user's positives, oldest first (logged ones, then the conversation's);
    /// the model pools the last `history_len` of them. Nothing else is
    /// added to it.
    pub fn score(
        &self,
        user: Option<UserId>,
        history: &[ItemId],
        items: &[ItemId],
    ) -> Result<Vec<f32>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let uf = self.request_user(user, history, items)?;
        on_scoring_thread(|| {
            let ux = batch::user_inputs(
                &[&uf],
                self.config.space.history_len,
                self.users.as_ref(),
                &self.device,
            )?;
            let (eu, wu) = self.net.user_side(&ux)?;
            let idx = Tensor::from_vec(
                items.iter().map(|i| i.0).collect::<Vec<u32>>(),
                items.len(),
                &self.device,
            )?;
            let logits = self.net.score_cached(&eu, &wu, &self.cache, &idx)?;
            Ok(candle_nn::ops::sigmoid(&logits)?
                .flatten_all()?
                .to_vec1::<f32>()?)
        })
    }

    /// The same probabilities as [`Ranker::score`], computed by the plain
    /// forward pass over full rows, without the item cache. For checking the
    /// cache; it is several times slower.
    pub fn score_uncached(
        &self,
        user: Option<UserId>,
        history: &[ItemId],
        items: &[ItemId],
    ) -> Result<Vec<f32>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let uf = self.request_user(user, history, items)?;
        let ux = batch::user_inputs(
            &[&uf],
            self.config.space.history_len,
            self.users.as_ref(),
            &self.device,
        )?;
        let (eu, wu) = self.net.user_side(&ux)?;
        let feats: Vec<_> = items.iter().map(|&i| self.encoder.item(i)).collect();
        let refs: Vec<_> = feats.iter().collect();
        let rows: Vec<usize> = items.iter().map(|i| i.index()).collect();
        let n_genres = self.config.space.cardinalities().genres;
        let ix = batch::item_inputs(
            &refs,
            &rows,
            n_genres,
            self.knowledge.as_ref(),
            &self.device,
        )?;
        let (ei, wi) = self.net.item_side(&ix)?;
        let (_, fu, d) = eu.dims3()?;
        let e = Tensor::cat(&[eu.broadcast_as((items.len(), fu, d))?, ei], 1)?;
        let logits = self.net.head(&e, &wi.broadcast_add(&wu)?)?;
        Ok(candle_nn::ops::sigmoid(&logits)?.to_vec1::<f32>()?)
    }

    /// The `k` best of `items`, best first, with their probabilities.
    pub fn rank(
        &self,
        user: Option<UserId>,
        history: &[ItemId],
        items: &[ItemId],
        k: usize,
    ) -> Result<Vec<Scored>> {
        let scores = self.score(user, history, items)?;
        let mut out: Vec<Scored> = items
            .iter()
            .zip(scores)
            .map(|(&item, score)| Scored { item, score })
            .collect();
        crate::sort_best_first(&mut out);
        out.truncate(k);
        Ok(out)
    }

    /// The items of `history` that the model pools: the last `history_len`,
    /// less any it has no embedding for. For traces and tests.
    pub fn pooled_history(&self, history: &[ItemId]) -> Vec<ItemId> {
        self.encoder.pooled_history(history)
    }
}
