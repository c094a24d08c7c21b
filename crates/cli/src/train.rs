//! `recagent train …`

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use recagent_catalog::split::{self, LabelRule};
use recagent_catalog::store;
use recagent_core::Catalog;
use recagent_core::Home;
use recagent_ranker::{KnowledgeTable, PreRankConfig, Ranker, train_prerank};
use recagent_ranker::{ModelKind, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::progress::Bars;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Logistic regression over the field weights
    Lr,
    /// Factorisation machine
    Fm,
    /// DeepFM: FM plus an MLP over the field embeddings
    Deepfm,
    /// DCNv2: cross network plus an MLP
    Dcnv2,
    /// The two-tower pre-ranker (dot product), saved to index/NAME/prerank
    Twotower,
}

impl ModelArg {
    fn kind(self) -> Option<ModelKind> {
        Some(match self {
            ModelArg::Lr => ModelKind::Lr,
            ModelArg::Fm => ModelKind::Fm,
            ModelArg::Deepfm => ModelKind::DeepFm,
            ModelArg::Dcnv2 => ModelKind::DcnV2,
            ModelArg::Twotower => return None,
        })
    }
}

/// Where the pre-ranker is saved.
pub fn prerank_dir(home: &Home, name: &str) -> PathBuf {
    home.index_dir(name).join("prerank")
}

fn run_prerank(
    home: &Home,
    args: &TrainArgs,
    catalog: &Catalog,
    bars: &Bars,
) -> anyhow::Result<()> {
    let split = split::ctr_split(catalog, LabelRule::default(), args.seed);
    let cfg = PreRankConfig {
        seed: args.seed,
        ..PreRankConfig::default()
    };
    let (pre, varmap) = train_prerank(catalog, &split, &cfg, bars)?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| prerank_dir(home, &args.name));
    pre.save(&dir, &varmap)?;
    let report = pre.report().context("the pre-ranker has no report")?;
    if args.json {
        let mut v = serde_json::to_value(report)?;
        v["model"] = "twotower".into();
        println!("{v}");
    } else {
        println!("model            two-tower pre-ranker");
        for ((k, r), (_, p)) in report.recall.iter().zip(&report.popularity_recall) {
            println!("recall@{k:<9} {r:.4}   (popularity {p:.4})");
        }
        println!(
            "train speed      {:.0} samples/s",
            report.train_samples_per_s
        );
        println!("wall time        {:.1}s", report.wall_s);
        println!("saved to         {}", dir.display());
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The catalog to train on (see `recagent data list`)
    pub name: String,
    /// Which model
    #[arg(long, value_enum, default_value = "deepfm")]
    pub model: ModelArg,
    /// Seed of the split, the initialisation and the batch order
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Embedding size of every field
    #[arg(long, default_value_t = 16)]
    pub embedding_dim: usize,
    /// Most epochs; training stops earlier when validation AUC stops improving
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Mini-batch size
    #[arg(long, default_value_t = 1024)]
    pub batch_size: usize,
    /// AdamW learning rate [default: 0.01 for lr, 0.002 for the others]
    #[arg(long)]
    pub lr: Option<f64>,
    /// Add the knowledge field: each item's all-MiniLM-L6-v2 text embedding through an adapter
    #[arg(long)]
    pub knowledge: bool,
    /// Extra per-item knowledge text (JSONL: {"id": ..., "text": ...}), e.g. LLM-written descriptions
    #[arg(long, value_name = "FILE", requires = "knowledge")]
    pub knowledge_text: Option<PathBuf>,
    /// Where to save the model [default: $RECAGENT_HOME/index/NAME/ranker/MODEL]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Where a ranker of this kind is saved by default.
pub fn model_dir(home: &Home, name: &str, kind: ModelKind, knowledge: bool) -> PathBuf {
    let leaf = if knowledge {
        format!("{}-knowledge", kind.name())
    } else {
        kind.name().to_owned()
    };
    home.index_dir(name).join("ranker").join(leaf)
}

/// Records which knowledge text a model was trained with, so that serving
/// rebuilds the same knowledge vectors.
pub const KNOWLEDGE_FILE: &str = "knowledge.json";

#[derive(Debug, Serialize, Deserialize)]
pub struct KnowledgeSource {
    pub text_file: Option<PathBuf>,
}

/// The knowledge vectors of every catalog item.
pub fn knowledge_table(
    home: &Home,
    catalog: &Catalog,
    text_file: Option<&Path>,
    bars: &Bars,
) -> anyhow::Result<KnowledgeTable> {
    let extra = match text_file {
        Some(p) => recagent_embed::load_knowledge_texts(p)
            .with_context(|| format!("reading {}", p.display()))?,
        None => Default::default(),
    };
    let vectors = recagent_embed::item_vectors(home, catalog, &extra, bars)
        .context("embedding item texts")?;
    Ok(KnowledgeTable {
        dim: recagent_embed::DIM,
        vectors,
    })
}

/// Loads a saved ranker with whatever knowledge vectors it needs.
pub fn load_ranker(
    home: &Home,
    catalog: &Catalog,
    dir: &Path,
    bars: &Bars,
) -> anyhow::Result<Ranker> {
    let kpath = dir.join(KNOWLEDGE_FILE);
    let wants_knowledge = Ranker::read_config(dir)
        .with_context(|| format!("reading the ranker in {}", dir.display()))?
        .net
        .knowledge_dim
        .is_some();
    let knowledge = if wants_knowledge {
        let source: KnowledgeSource = serde_json::from_str(
            &std::fs::read_to_string(&kpath)
                .with_context(|| format!("reading {}", kpath.display()))?,
        )?;
        Some(knowledge_table(
            home,
            catalog,
            source.text_file.as_deref(),
            bars,
        )?)
    } else {
        None
    };
    Ranker::load(dir, catalog, knowledge.as_ref())
        .with_context(|| format!("loading the ranker in {}", dir.display()))
}

pub fn run(home: &Home, args: TrainArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let Some(kind) = args.model.kind() else {
        return run_prerank(home, &args, &catalog, &bars);
    };
    let split = split::ctr_split(&catalog, LabelRule::default(), args.seed);
    let defaults = TrainConfig::new(kind);
    let cfg = TrainConfig {
        embedding_dim: args.embedding_dim,
        max_epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr.unwrap_or(defaults.lr),
        seed: args.seed,
        ..defaults
    };
    let knowledge = if args.knowledge {
        Some(knowledge_table(
            home,
            &catalog,
            args.knowledge_text.as_deref(),
            &bars,
        )?)
    } else {
        None
    };
    let (ranker, report) =
        recagent_ranker::train(&catalog, &split, &cfg, knowledge.as_ref(), &bars)?;
    let dir = args
        .out
        .unwrap_or_else(|| model_dir(home, &args.name, kind, args.knowledge));
    ranker.save(&dir)?;
    let source = KnowledgeSource {
        text_file: args.knowledge_text.clone(),
    };
    std::fs::write(
        dir.join(KNOWLEDGE_FILE),
        serde_json::to_string_pretty(&source)?,
    )
    .with_context(|| format!("writing {}", dir.join(KNOWLEDGE_FILE).display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("model            {}", report.model);
        println!(
            "epochs           {} (best {})",
            report.epochs, report.best_epoch
        );
        println!(
            "valid AUC        {:.4}   LogLoss {:.4}",
            report.valid_auc, report.valid_logloss
        );
        println!(
            "test AUC         {:.4}   LogLoss {:.4}",
            report.test_auc, report.test_logloss
        );
        println!(
            "train speed      {:.0} samples/s",
            report.train_samples_per_s
        );
        println!("wall time        {:.1}s", report.wall_s);
        println!("saved to         {}", dir.display());
    }
    Ok(())
}
