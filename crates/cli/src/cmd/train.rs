//! `recagent train …`

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use recagent_catalog::split::{self, LabelRule};
use recagent_catalog::store;
use recagent_core::{Catalog, Home, ItemId, UserId};
use recagent_ranker::{
    AdaptorConfig, Ctrl, CtrlConfig, DEFAULT_CROSS_RANK, KnowledgeSource, ModelKind, ModelStore,
    NextKind, PreRankConfig, TrainConfig, TrainInputs, TrainReport,
    next::{Masking, train_next},
    train_prerank, user_knowledge_table,
};
use serde::Serialize;

use crate::names::TrainModel;
use crate::open;
use crate::progress::Bars;

/// Trains a next-item model on the leave-last-positive-out protocol,
/// prints its report and saves the model fitted on every positive.
fn run_next(
    home: &Home,
    args: &TrainArgs,
    catalog: &Catalog,
    kind: NextKind,
    bars: &Bars,
) -> anyhow::Result<()> {
    let rated = split::labelled_histories(catalog, LabelRule::default());
    let (model, report) = train_next(&rated, catalog.items().len(), kind, args.seed, bars)
        .with_context(|| {
            format!(
                "training the {} next-item model on {}",
                kind.name(),
                args.name
            )
        })?;
    let dir = match &args.out {
        Some(dir) => {
            recagent_ranker::store::replace_dir(dir, |stage| model.save(stage))?;
            dir.clone()
        }
        None => ModelStore::for_catalog(home, &args.name).save_next(&model)?,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let c = &report.config;
    println!("model            {} (next-item)", report.model);
    match kind {
        NextKind::Pop => {}
        NextKind::Ease => println!("settings         λ {}", c.lambda),
        NextKind::ItemKnn => println!(
            "settings         shrink {}, {} neighbours",
            c.shrink, c.neighbours
        ),
        NextKind::Transitions => println!(
            "settings         window {}, last {} picks, decay {}",
            c.window, c.recent, c.decay
        ),
        NextKind::Blend => println!(
            "settings         λ {}, transitions weight {} (window {}, last {} picks, decay {})",
            c.lambda, c.blend, c.window, c.recent, c.decay
        ),
        NextKind::SasRec => println!(
            "settings         {} epochs, {} layers, {} heads, hidden {}, last {} picks",
            c.sasrec.epochs, c.sasrec.layers, c.sasrec.heads, c.sasrec.hidden, c.sasrec.max_len
        ),
        NextKind::BlendSasRec => println!(
            "settings         λ {}, transitions weight {}, SASRec weight {} ({} epochs)",
            c.lambda, c.blend, c.sequential, c.sasrec.epochs
        ),
    }
    println!(
        "protocol         leave-last-positive-out, full ranking, {} users",
        report.users
    );
    for (name, m) in [("valid", &report.valid), ("test", &report.test)] {
        print_masked(name, m);
    }
    for (part, m) in &report.parts {
        print_masked(&format!("{part} alone"), m);
    }
    println!(
        "                 (positives: earlier positives masked, as RecBole; rated: every earlier rated film masked, as the product)"
    );
    println!("fit time         {:.2}s", report.fit_s);
    println!("wall time        {:.1}s (with tuning)", report.wall_s);
    println!(
        "serving recall   p50 {:.2} ms  p99 {:.2} ms (the best 300 unseen for one user)",
        report.recall_p50_ms, report.recall_p99_ms
    );
    println!("saved to         {}", dir.display());
    Ok(())
}

/// One line per masking: `LABEL, MASKING  Hit@1 …  NDCG@10 …`.
fn print_masked(label: &str, m: &recagent_ranker::MaskedMetrics) {
    for masking in Masking::ALL {
        let m = m.of(masking);
        println!(
            "{:<17}Hit@1 {:.4}  Hit@10 {:.4}  Hit@50 {:.4}  NDCG@10 {:.4}",
            format!("{label}, {}", masking.name()),
            m.hit1,
            m.hit10,
            m.hit50,
            m.ndcg10
        );
    }
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
        history_len: args.history_len,
        ..PreRankConfig::default()
    };
    let (pre, varmap) = train_prerank(catalog, &split, &cfg, bars)?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| ModelStore::for_catalog(home, &args.name).prerank_dir());
    pre.save(&dir, &varmap)?;
    let report = pre
        .report()
        .ok_or_else(|| anyhow::anyhow!("the pre-ranker has no report"))?;
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
    pub model: TrainModel,
    /// Seed of the split, the initialisation and the batch order (next-item models: SASRec's)
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Train this many seeds (SEED, SEED+1, …) and report mean ± sd of test
    /// AUC and LogLoss; the model of the first seed is saved
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub seeds: u64,
    /// Recent training positives pooled into the history field (0 turns the field off)
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub history_len: usize,
    /// Rank of DCNv2's cross layers (0: full rank)
    #[arg(long, default_value_t = DEFAULT_CROSS_RANK, value_name = "R")]
    pub cross_rank: usize,
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
    /// [default with --knowledge: what `recagent knowledge generate` wrote, if any]
    #[arg(long, value_name = "FILE", requires = "knowledge")]
    pub knowledge_text: Option<PathBuf>,
    /// With --knowledge, leave generated knowledge text out (titles and genres only)
    #[arg(long, requires = "knowledge", conflicts_with = "knowledge_text")]
    pub no_knowledge: bool,
    /// With --knowledge or --user-knowledge, KAR's hybrid-expert adaptor (2 shared and 2 own
    /// experts, a softmax gate per knowledge field) in place of the linear adapters
    #[arg(long)]
    pub adaptor: bool,
    /// KAR's user side: a field holding each user's all-MiniLM-L6-v2 embedding of the
    /// preference text in --user-text (a user without one gets zeros)
    #[arg(long)]
    pub user_knowledge: bool,
    /// The users' preference texts (the users.jsonl `recagent knowledge users` writes); the
    /// ratings each text was written from stay in training, also without --user-knowledge, so a
    /// baseline given the same file is tested on the same rows
    /// [default with --user-knowledge: the users.jsonl of the model with the most texts]
    #[arg(long, value_name = "FILE")]
    pub user_text: Option<PathBuf>,
    /// CTRL: first align the model's field embeddings with all-MiniLM-L6-v2's reading of
    /// training rows written as text (InfoNCE), then train on the labels as usual; the served
    /// model has the backbone's shape and cost
    #[arg(long)]
    pub ctrl: bool,
    /// Training rows CTRL writes as text and aligns (a seeded sample)
    #[arg(long, default_value_t = CtrlConfig::default().rows, value_name = "N", requires = "ctrl")]
    pub ctrl_rows: usize,
    /// Where to save the model [default: $RECAGENT_HOME/index/NAME/ranker/MODEL]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
}

/// Mean and sample standard deviation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
}

impl MeanSd {
    pub fn of(v: &[f64]) -> Self {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = if v.len() > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Self { mean, sd }
    }
}

/// What `--seeds K` reports.
#[derive(Debug, Serialize)]
struct SeedsReport {
    model: String,
    knowledge: bool,
    user_knowledge: bool,
    /// The user texts whose ratings the split kept in training.
    user_text: Option<PathBuf>,
    ctrl: bool,
    adaptor: bool,
    history_len: usize,
    cross_rank: Option<usize>,
    seeds: Vec<u64>,
    test_auc: MeanSd,
    test_logloss: MeanSd,
    train_samples_per_s: MeanSd,
    runs: Vec<TrainReport>,
}

pub fn run(home: &Home, args: TrainArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    if let Some(next) = args.model.next_kind() {
        anyhow::ensure!(
            args.seeds == 1,
            "--seeds is for the CTR models; a next-item model trains once per run (SASRec's seed is --seed)"
        );
        return run_next(home, &args, &catalog, next, &bars);
    }
    let Some(kind) = args.model.kind() else {
        return run_prerank(home, &args, &catalog, &bars);
    };
    run_ctr(home, &args, &catalog, kind, &bars)
}

/// A CTR model (DeepFM, DCNv2) over `--seeds` seeds, with KAR's and
/// CTRL's inputs as the flags ask; the first seed's model is saved.
fn run_ctr(
    home: &Home,
    args: &TrainArgs,
    catalog: &Catalog,
    kind: ModelKind,
    bars: &Bars,
) -> anyhow::Result<()> {
    anyhow::ensure!(args.seeds >= 1, "--seeds must be at least 1");
    let defaults = TrainConfig::new(kind);
    let cross_rank = (kind == ModelKind::DcnV2 && args.cross_rank > 0).then_some(args.cross_rank);
    let knowledge = args
        .knowledge
        .then(|| {
            open::item_knowledge(
                home,
                &args.name,
                catalog,
                args.knowledge_text.clone(),
                args.no_knowledge,
                bars,
            )
        })
        .transpose()?;
    anyhow::ensure!(
        !args.adaptor || args.knowledge || args.user_knowledge,
        "--adaptor adapts a knowledge field: add --knowledge, --user-knowledge or both"
    );
    let UserSide {
        text: user_text,
        keep,
        table: users,
    } = user_side(home, args, catalog, bars)?;
    let ctrl = CtrlConfig {
        rows: args.ctrl_rows,
        ..CtrlConfig::default()
    };
    let encoder = args
        .ctrl
        .then(|| open::text_encoder(home, bars))
        .transpose()?;
    let mut runs = Vec::new();
    for seed in args.seed..args.seed + args.seeds {
        let split = split::ctr_split_keeping(catalog, LabelRule::default(), seed, &keep);
        let cfg = TrainConfig {
            embedding_dim: args.embedding_dim,
            max_epochs: args.epochs,
            batch_size: args.batch_size,
            lr: args.lr.unwrap_or(defaults.lr),
            seed,
            history_len: args.history_len,
            cross_rank,
            adaptor: args.adaptor.then(AdaptorConfig::default),
            ..defaults.clone()
        };
        let inputs = TrainInputs {
            knowledge: knowledge.as_ref(),
            users: users.as_ref(),
            ctrl: encoder.as_ref().map(|e| Ctrl {
                config: &ctrl,
                encoder: e,
            }),
        };
        let (ranker, report) = recagent_ranker::train_with(catalog, &split, &cfg, &inputs, bars)?;
        if runs.is_empty() {
            save(home, args, &ranker)?;
        }
        if !args.json {
            print_report(&report);
        }
        runs.push(report);
    }
    print_seeds(args, kind, user_text, cross_rank, runs)
}

/// Saves the first seed's model to `--out`, or beside the product's
/// ranker (never over it when it has the user field), and says where.
fn save(home: &Home, args: &TrainArgs, ranker: &recagent_ranker::Ranker) -> anyhow::Result<()> {
    let dir = match &args.out {
        Some(dir) => {
            ranker.save(dir)?;
            dir.clone()
        }
        None => ModelStore::for_catalog(home, &args.name).save_ranker(ranker)?,
    };
    if !args.json {
        println!("saved to         {}", dir.display());
    }
    Ok(())
}

/// What KAR's user side trains with: the users' texts (`--user-text`, or
/// the default file with `--user-knowledge`), the ratings behind them that
/// stay in training, and with `--user-knowledge` their vectors.
struct UserSide {
    text: Option<PathBuf>,
    keep: HashSet<(UserId, ItemId)>,
    table: Option<recagent_ranker::KnowledgeTable>,
}

fn user_side(
    home: &Home,
    args: &TrainArgs,
    catalog: &Catalog,
    bars: &Bars,
) -> anyhow::Result<UserSide> {
    let user_text = match (&args.user_text, args.user_knowledge) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(open::users_file(home, &args.name).ok_or_else(|| {
            anyhow::anyhow!(
                "no user texts for {}: run `recagent knowledge users {}` first, or pass --user-text FILE",
                args.name,
                args.name
            )
        })?),
        (None, false) => None,
    };
    let keep = match &user_text {
        Some(path) => {
            let keep = user_windows(catalog, path)?;
            eprintln!(
                "{} ratings behind the user texts in {} stay in training",
                keep.len(),
                path.display()
            );
            keep
        }
        None => HashSet::new(),
    };
    let users = match (&user_text, args.user_knowledge) {
        (Some(path), true) => {
            open::ensure_minilm(home, bars)?;
            let source = KnowledgeSource {
                text_file: Some(path.clone()),
            };
            Some(user_knowledge_table(home, catalog, &source, bars)?)
        }
        _ => None,
    };
    Ok(UserSide {
        text: user_text,
        keep,
        table: users,
    })
}

/// One seed's report as trained, or the mean ± sd over the seeds.
fn print_seeds(
    args: &TrainArgs,
    kind: ModelKind,
    user_text: Option<PathBuf>,
    cross_rank: Option<usize>,
    runs: Vec<TrainReport>,
) -> anyhow::Result<()> {
    if args.seeds == 1 {
        if args.json {
            println!("{}", serde_json::to_string(&runs[0])?);
        }
        return Ok(());
    }
    let col = |f: fn(&TrainReport) -> f64| MeanSd::of(&runs.iter().map(f).collect::<Vec<_>>());
    let out = SeedsReport {
        model: kind.name().to_owned(),
        knowledge: args.knowledge,
        user_knowledge: args.user_knowledge,
        user_text,
        ctrl: args.ctrl,
        adaptor: args.adaptor,
        history_len: args.history_len,
        cross_rank,
        seeds: runs.iter().map(|r| r.seed).collect(),
        test_auc: col(|r| r.test_auc),
        test_logloss: col(|r| r.test_logloss),
        train_samples_per_s: col(|r| r.train_samples_per_s),
        runs,
    };
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!(
            "{} seeds          test AUC {:.4} ± {:.4}   LogLoss {:.4} ± {:.4}   {:.0} ± {:.0} samples/s",
            out.seeds.len(),
            out.test_auc.mean,
            out.test_auc.sd,
            out.test_logloss.mean,
            out.test_logloss.sd,
            out.train_samples_per_s.mean,
            out.train_samples_per_s.sd
        );
    }
    Ok(())
}

/// The (user, film) ratings each user text in `path` was written from.
fn user_windows(catalog: &Catalog, path: &Path) -> anyhow::Result<HashSet<(UserId, ItemId)>> {
    anyhow::ensure!(
        path.is_file(),
        "no user texts at {}: write them with `recagent knowledge users`",
        path.display()
    );
    let records = recagent_knowledge::users::read_users(path)?;
    anyhow::ensure!(
        !records.is_empty(),
        "{} holds no user texts; write them with `recagent knowledge users`",
        path.display()
    );
    let mut keep = HashSet::new();
    for r in &records {
        let Some(user) = catalog.user_by_key(&r.id) else {
            continue;
        };
        for key in &r.items {
            if let Some(item) = catalog.item_by_key(key) {
                keep.insert((user, item));
            }
        }
    }
    Ok(keep)
}

fn print_report(report: &TrainReport) {
    println!("model            {} (seed {})", report.model, report.seed);
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
}
