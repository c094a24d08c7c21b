//! A trained CTR model bound to a catalog, ready to score.

use std::fs;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use recagent_core::{Catalog, ItemId, UserId};
use serde::{Deserialize, Serialize};

use crate::batch::{self, KnowledgeTable};
use crate::error::{Error, Result};
use crate::features::{Encoder, FeatureSpace, UserFeatures};
use crate::model::{ItemCache, Net, NetConfig};
use crate::train::TrainReport;

pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";

/// `config.json` beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerConfig {
    pub format_version: u32,
    pub net: NetConfig,
    pub space: FeatureSpace,
    pub report: Option<TrainReport>,
}

/// Scores (user, item) pairs with a trained network.
///
/// The item side of the network (item, year, genre and knowledge fields) is
/// computed once for every catalog item when the ranker is built, so a
/// request only computes the user side once and the interaction layers per
/// candidate.
pub struct Ranker {
    pub(crate) net: Net,
    pub(crate) varmap: VarMap,
    pub(crate) encoder: Encoder,
    pub(crate) config: RankerConfig,
    device: Device,
    /// Every user's positives in the catalog, oldest first.
    histories: Vec<Vec<ItemId>>,
    cache: ItemCache,
    knowledge: Option<KnowledgeTable>,
    /// Scoring runs on one thread: requests are small, and splitting each
    /// across cores costs more in synchronisation than it saves. Serve
    /// concurrent requests from several threads instead.
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker")
            .field("config", &self.config.net)
            .field("items", &self.encoder.n_items())
            .finish()
    }
}

/// Every user's positives (rating ≥ 4), ordered by time.
pub fn positive_histories(catalog: &Catalog) -> Vec<Vec<ItemId>> {
    let rule = recagent_catalog::split::LabelRule::default();
    let mut per_user: Vec<Vec<(i64, usize, ItemId)>> = vec![Vec::new(); catalog.users().len()];
    for (pos, x) in catalog.interactions().iter().enumerate() {
        if rule.label(x.rating) == Some(true) {
            per_user[x.user.index()].push((x.timestamp, pos, x.item));
        }
    }
    per_user
        .into_iter()
        .map(|mut v| {
            v.sort_unstable();
            v.into_iter().map(|(_, _, i)| i).collect()
        })
        .collect()
}

impl Ranker {
    pub(crate) fn assemble(
        net: Net,
        varmap: VarMap,
        config: RankerConfig,
        catalog: &Catalog,
        knowledge: Option<&KnowledgeTable>,
        device: Device,
    ) -> Result<Self> {
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
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| Error::Invalid(format!("scoring thread pool: {e}")))?;
        let knowledge = knowledge.cloned();
        Ok(Self {
            net,
            varmap,
            encoder,
            config,
            device,
            histories: positive_histories(catalog),
            cache,
            knowledge,
            pool,
        })
    }

    /// Reads the `config.json` of a saved ranker, e.g. to learn whether it
    /// needs knowledge vectors before loading it.
    pub fn read_config(dir: &Path) -> Result<RankerConfig> {
        crate::error::read_json(&dir.join(CONFIG_FILE))
    }

    /// Loads a ranker saved with [`Ranker::save`] and binds it to `catalog`.
    pub fn load(dir: &Path, catalog: &Catalog, knowledge: Option<&KnowledgeTable>) -> Result<Self> {
        let config = Self::read_config(dir)?;
        let device = Device::Cpu;
        let mut varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let net = Net::new(config.net.clone(), config.space.cardinalities(), vb)?;
        varmap.load(dir.join(WEIGHTS_FILE))?;
        Self::assemble(net, varmap, config, catalog, knowledge, device)
    }

    /// Writes `model.safetensors` and `config.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        self.varmap.save(dir.join(WEIGHTS_FILE))?;
        let cpath = dir.join(CONFIG_FILE);
        let text = serde_json::to_string_pretty(&self.config).map_err(|e| Error::BadConfig {
            path: cpath.clone(),
            reason: e.to_string(),
        })?;
        fs::write(&cpath, text).map_err(|source| Error::Io {
            path: cpath,
            source,
        })
    }

    pub fn config(&self) -> &RankerConfig {
        &self.config
    }

    /// Checks the candidates and encodes the user: logged positives, then
    /// the conversation's, as the pooled history.
    fn request_user(
        &self,
        user: Option<UserId>,
        context: &[ItemId],
        items: &[ItemId],
    ) -> Result<UserFeatures> {
        let n_items = self.encoder.n_items();
        if let Some(bad) = items.iter().find(|i| i.index() >= n_items) {
            return Err(Error::Invalid(format!(
                "item {} is not in the catalog ({n_items} items)",
                bad.0
            )));
        }
        let mut history: Vec<ItemId> = user
            .and_then(|u| self.histories.get(u.index()))
            .cloned()
            .unwrap_or_default();
        history.extend_from_slice(context);
        Ok(self.encoder.user_with_history(user, &history))
    }

    /// Click probabilities of `items` for `user`, in the order given.
    ///
    /// `user` may be `None` (an anonymous session) or a user the model never
    /// saw; both score through the out-of-vocabulary rows. `context` holds
    /// positives from the conversation, appended after the user's logged
    /// positives to form the pooled history.
    pub fn score(
        &self,
        user: Option<UserId>,
        context: &[ItemId],
        items: &[ItemId],
    ) -> Result<Vec<f32>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let uf = self.request_user(user, context, items)?;
        self.pool.install(|| {
            let ux = batch::user_inputs(&[&uf], self.config.space.history_len, &self.device)?;
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
        context: &[ItemId],
        items: &[ItemId],
    ) -> Result<Vec<f32>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let uf = self.request_user(user, context, items)?;
        let ux = batch::user_inputs(&[&uf], self.config.space.history_len, &self.device)?;
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
        context: &[ItemId],
        items: &[ItemId],
        k: usize,
    ) -> Result<Vec<(ItemId, f32)>> {
        let scores = self.score(user, context, items)?;
        let mut pairs: Vec<(ItemId, f32)> = items.iter().copied().zip(scores).collect();
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        pairs.truncate(k);
        Ok(pairs)
    }
}
