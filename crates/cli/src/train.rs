//! `recagent train …`

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use recagent_catalog::split::{self, LabelRule};
use recagent_catalog::store;
use recagent_core::Home;
use recagent_ranker::{ModelKind, TrainConfig};

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
}

impl From<ModelArg> for ModelKind {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Lr => ModelKind::Lr,
            ModelArg::Fm => ModelKind::Fm,
            ModelArg::Deepfm => ModelKind::DeepFm,
            ModelArg::Dcnv2 => ModelKind::DcnV2,
        }
    }
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
    /// AdamW learning rate
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Where to save the model [default: $RECAGENT_HOME/index/NAME/ranker/MODEL]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Where a ranker of this kind is saved by default.
pub fn model_dir(home: &Home, name: &str, kind: ModelKind, knowledge: bool) -> PathBuf {
    let leaf = if knowledge { format!("{}-knowledge", kind.name()) } else { kind.name().to_owned() };
    home.index_dir(name).join("ranker").join(leaf)
}

pub fn run(home: &Home, args: TrainArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let split = split::ctr_split(&catalog, LabelRule::default(), args.seed);
    let kind = ModelKind::from(args.model);
    let cfg = TrainConfig {
        embedding_dim: args.embedding_dim,
        max_epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        seed: args.seed,
        ..TrainConfig::new(kind)
    };
    let (ranker, report) = recagent_ranker::train(&catalog, &split, &cfg, None, &bars)?;
    let dir = args.out.unwrap_or_else(|| model_dir(home, &args.name, kind, false));
    ranker.save(&dir)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("model            {}", report.model);
        println!("epochs           {} (best {})", report.epochs, report.best_epoch);
        println!("valid AUC        {:.4}   LogLoss {:.4}", report.valid_auc, report.valid_logloss);
        println!("test AUC         {:.4}   LogLoss {:.4}", report.test_auc, report.test_logloss);
        println!("train speed      {:.0} samples/s", report.train_samples_per_s);
        println!("wall time        {:.1}s", report.wall_s);
        println!("saved to         {}", dir.display());
    }
    Ok(())
}
