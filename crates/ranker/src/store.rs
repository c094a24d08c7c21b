//! Trained models on disk: where they live and how they are written.
//!
//! A catalog's models live under its index folder (`$RECAGENT_HOME/index/NAME/`):
//!
//! * `ranker/MODEL/` or `ranker/MODEL-knowledge/`: a CTR model
//!   (`model.safetensors` + `config.json`, which names the knowledge source);
//! * `prerank/`: the two-tower pre-ranker (`prerank.safetensors` +
//!   `prerank.json`).
//!
//! [`ModelStore`] knows this layout, loads a ranker together with the
//! knowledge vectors it was trained with, and every save goes through
//! [`replace_dir`] (from the leaf module `save`, which the models use too,
//! so that they never import the store), so a model folder is complete or
//! absent.

use std::path::{Path, PathBuf};

use recagent_core::{Catalog, Home, Progress};

use crate::batch::KnowledgeTable;
use crate::config::{CONFIG_FILE, KnowledgeSource};
use crate::error::{Error, Result};
use crate::model::ModelKind;
use crate::next::NextItemModel;
use crate::prerank::{self, PreRanker};
use crate::ranker::Ranker;

pub use crate::save::replace_dir;

/// The knowledge vectors of every catalog item: the all-MiniLM-L6-v2
/// embedding of its text, plus the source's extra text when it names a file.
/// Embeddings are cached under `$RECAGENT_HOME` by a digest of the texts.
pub fn knowledge_table(
    home: &Home,
    catalog: &Catalog,
    source: &KnowledgeSource,
    progress: &dyn Progress,
) -> Result<KnowledgeTable> {
    let extra = match &source.text_file {
        Some(p) => recagent_embed::load_knowledge_texts(p)?,
        None => Default::default(),
    };
    let vectors = recagent_embed::item_vectors(home, catalog, &extra, progress)?;
    Ok(KnowledgeTable {
        dim: recagent_embed::DIM,
        vectors,
        source: source.clone(),
    })
}

/// The user knowledge vectors of every catalog user (KAR's user side): the
/// all-MiniLM-L6-v2 embedding of each user's text in `source.text_file`,
/// zeros for a user without one.
pub fn user_knowledge_table(
    home: &Home,
    catalog: &Catalog,
    source: &KnowledgeSource,
    progress: &dyn Progress,
) -> Result<KnowledgeTable> {
    let path = source.text_file.as_ref().ok_or_else(|| {
        Error::Invalid(
            "user knowledge needs the users.jsonl that `recagent knowledge users` writes".into(),
        )
    })?;
    let (vectors, _) = recagent_embed::user_vectors(home, catalog, path, progress)?;
    Ok(KnowledgeTable {
        dim: recagent_embed::DIM,
        vectors,
        source: source.clone(),
    })
}

/// The trained models of one catalog, under one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStore {
    root: PathBuf,
    catalog: String,
}

impl ModelStore {
    /// The default store of catalog `name`: `$RECAGENT_HOME/index/NAME/`.
    pub fn for_catalog(home: &Home, name: &str) -> Self {
        Self::at(home.index_dir(name), name)
    }

    /// A store in any folder, e.g. one per evaluation split; `catalog`
    /// names the catalog in hints.
    pub fn at(root: impl Into<PathBuf>, catalog: &str) -> Self {
        Self {
            root: root.into(),
            catalog: catalog.to_owned(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a ranker of this kind is saved.
    pub fn ranker_dir(&self, kind: ModelKind, knowledge: bool) -> PathBuf {
        let leaf = if knowledge {
            format!("{}-knowledge", kind.name())
        } else {
            kind.name().to_owned()
        };
        self.root.join("ranker").join(leaf)
    }

    /// Where the pre-ranker is saved.
    pub fn prerank_dir(&self) -> PathBuf {
        self.root.join("prerank")
    }

    /// Where the next-item model is saved.
    pub fn next_dir(&self) -> PathBuf {
        self.root.join("next")
    }

    /// Whether a next-item model has been trained.
    pub fn has_next(&self) -> bool {
        self.next_dir().join(crate::next::model::FILE).is_file()
    }

    /// Saves the next-item model in its place and returns the folder.
    pub fn save_next(&self, model: &NextItemModel) -> Result<PathBuf> {
        let dir = self.next_dir();
        replace_dir(&dir, |stage| model.save(stage))?;
        Ok(dir)
    }

    /// Loads the next-item model of this catalog.
    pub fn load_next(&self, catalog: &Catalog) -> Result<NextItemModel> {
        let dir = self.next_dir();
        if !self.has_next() {
            return Err(Error::NotTrained {
                what: "next-item model".into(),
                dir,
                command: format!("recagent train {} --model blend", self.catalog),
            });
        }
        NextItemModel::load(&dir, catalog.items().len())
    }

    /// Whether a ranker of this kind has been trained.
    pub fn has_ranker(&self, kind: ModelKind, knowledge: bool) -> bool {
        self.ranker_dir(kind, knowledge).join(CONFIG_FILE).is_file()
    }

    /// Whether the pre-ranker has been trained.
    pub fn has_prerank(&self) -> bool {
        self.prerank_dir().join(prerank::CONFIG_FILE).is_file()
    }

    /// Saves a ranker in its place (replacing any earlier one) and returns
    /// the folder.
    pub fn save_ranker(&self, ranker: &Ranker) -> Result<PathBuf> {
        let net = &ranker.config().net;
        let mut dir = self.ranker_dir(net.kind, net.knowledge_dim.is_some());
        if net.user_knowledge_dim.is_some() {
            // Never in the place the product loads its ranker from: a
            // model with the user field needs its users' texts embedded
            // at every load.
            let leaf = dir.file_name().map(|f| f.to_string_lossy().into_owned());
            dir.set_file_name(format!("{}-users", leaf.unwrap_or_default()));
        }
        ranker.save(&dir)?;
        Ok(dir)
    }

    /// Loads the ranker of this kind, rebuilding the knowledge vectors it
    /// was trained with.
    pub fn load_ranker(
        &self,
        home: &Home,
        catalog: &Catalog,
        kind: ModelKind,
        knowledge: bool,
        progress: &dyn Progress,
    ) -> Result<Ranker> {
        let dir = self.ranker_dir(kind, knowledge);
        if !dir.join(CONFIG_FILE).is_file() {
            let flag = if knowledge { " --knowledge" } else { "" };
            return Err(Error::NotTrained {
                what: kind.name().to_owned(),
                dir,
                command: format!(
                    "recagent train {} --model {}{flag}",
                    self.catalog,
                    kind.name()
                ),
            });
        }
        load_ranker_dir(home, catalog, &dir, progress)
    }

    /// Loads the pre-ranker.
    pub fn load_prerank(&self, catalog: &Catalog) -> Result<PreRanker> {
        let dir = self.prerank_dir();
        if !self.has_prerank() {
            return Err(Error::NotTrained {
                what: "pre-ranker".into(),
                dir,
                command: format!("recagent train {} --model twotower", self.catalog),
            });
        }
        PreRanker::load(&dir, catalog)
    }
}

/// Loads the ranker saved in `dir` with the knowledge vectors its config
/// names (embedding them if they are not cached).
pub fn load_ranker_dir(
    home: &Home,
    catalog: &Catalog,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Ranker> {
    let config = Ranker::read_config(dir)?;
    let knowledge = match config.net.knowledge_dim {
        Some(_) => {
            let source = config.knowledge.clone().unwrap_or_default();
            Some(knowledge_table(home, catalog, &source, progress)?)
        }
        None => None,
    };
    let users = match (&config.net.user_knowledge_dim, &config.user_knowledge) {
        (Some(_), Some(source)) => Some(user_knowledge_table(home, catalog, source, progress)?),
        _ => None,
    };
    Ranker::load_with_users(dir, catalog, knowledge.as_ref(), users.as_ref())
}
