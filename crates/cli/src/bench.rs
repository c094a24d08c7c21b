//! `recagent bench …`

use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recagent_catalog::store;
use recagent_core::{Home, ItemId, UserId};
use recagent_ranker::{ModelKind, PreRanker};
use serde::Serialize;

use crate::progress::Bars;
use crate::train::{ModelArg, load_ranker, model_dir, prerank_dir};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Pre-rank and rank latency for 100, 500 and 5000 candidates, and training throughput
    Ranker(RankerArgs),
}

#[derive(Debug, Args)]
pub struct RankerArgs {
    /// The catalog (its ranker and pre-ranker must be trained)
    name: String,
    /// Which trained ranker to time
    #[arg(long, value_enum, default_value = "deepfm")]
    model: ModelArg,
    /// Time the ranker trained with --knowledge
    #[arg(long)]
    knowledge: bool,
    /// Requests timed per candidate count
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// Seed of the users and candidates drawn
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Latency {
    candidates: usize,
    prerank_p50_ms: f64,
    prerank_p99_ms: f64,
    rank_p50_ms: f64,
    rank_p99_ms: f64,
}

#[derive(Debug, Serialize)]
struct RankerBench {
    catalog: String,
    model: String,
    items: usize,
    requests: usize,
    /// Candidate lists are drawn with replacement when larger than the catalog.
    latency: Vec<Latency>,
    train_samples_per_s: Option<f64>,
    prerank_train_samples_per_s: Option<f64>,
    threads: usize,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub fn run(home: &Home, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ranker(args) => bench_ranker(home, args),
    }
}

fn bench_ranker(home: &Home, args: RankerArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let kind = match args.model {
        ModelArg::Lr => ModelKind::Lr,
        ModelArg::Fm => ModelKind::Fm,
        ModelArg::Deepfm => ModelKind::DeepFm,
        ModelArg::Dcnv2 => ModelKind::DcnV2,
        ModelArg::Twotower => {
            anyhow::bail!("--model picks the ranker to time; the pre-ranker is always timed")
        }
    };
    let dir = model_dir(home, &args.name, kind, args.knowledge);
    if !dir.join("config.json").is_file() {
        let flag = if args.knowledge { " --knowledge" } else { "" };
        anyhow::bail!(
            "no trained {} in {}; run `recagent train {} --model {}{flag}` first",
            kind.name(),
            dir.display(),
            args.name,
            kind.name()
        );
    }
    let ranker = load_ranker(home, &catalog, &dir, &bars)?;
    let pdir = prerank_dir(home, &args.name);
    if !pdir.join(recagent_ranker::prerank::CONFIG_FILE).is_file() {
        anyhow::bail!(
            "no trained pre-ranker in {}; run `recagent train {} --model twotower` first",
            pdir.display(),
            args.name
        );
    }
    let pre =
        PreRanker::load(&pdir, &catalog).with_context(|| format!("loading {}", pdir.display()))?;

    let n_items = catalog.items().len() as u32;
    let n_users = catalog.users().len() as u32;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut latency = Vec::new();
    for &n in &[100usize, 500, 5000] {
        let (mut pre_ms, mut rank_ms) = (Vec::new(), Vec::new());
        bars_stage(&bars, n, args.requests);
        for r in 0..args.requests + 10 {
            let user = (n_users > 0).then(|| UserId(rng.random_range(0..n_users)));
            let cands: Vec<ItemId> = (0..n)
                .map(|_| ItemId(rng.random_range(0..n_items)))
                .collect();
            let t = Instant::now();
            let top = pre.top_k(user, &[], &cands, 300);
            let p = t.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box(&top);
            let t = Instant::now();
            let scores = ranker.score(user, &[], &cands)?;
            let q = t.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box(&scores);
            // The first requests warm caches and the allocator; they are not timed.
            if r >= 10 {
                pre_ms.push(p);
                rank_ms.push(q);
                recagent_core::Progress::advance(&bars, 1);
            }
        }
        recagent_core::Progress::finish(&bars);
        pre_ms.sort_by(f64::total_cmp);
        rank_ms.sort_by(f64::total_cmp);
        latency.push(Latency {
            candidates: n,
            prerank_p50_ms: percentile(&pre_ms, 0.5),
            prerank_p99_ms: percentile(&pre_ms, 0.99),
            rank_p50_ms: percentile(&rank_ms, 0.5),
            rank_p99_ms: percentile(&rank_ms, 0.99),
        });
    }
    let out = RankerBench {
        catalog: args.name.clone(),
        model: dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        items: catalog.items().len(),
        requests: args.requests,
        latency,
        train_samples_per_s: ranker
            .config()
            .report
            .as_ref()
            .map(|r| r.train_samples_per_s),
        prerank_train_samples_per_s: pre.report().map(|r| r.train_samples_per_s),
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!(
            "{} on {} ({} items, {} requests each, {} threads)",
            out.model, out.catalog, out.items, out.requests, out.threads
        );
        println!(
            "{:>10}  {:>13} {:>13}  {:>11} {:>11}",
            "candidates", "prerank p50", "prerank p99", "rank p50", "rank p99"
        );
        for l in &out.latency {
            println!(
                "{:>10}  {:>10.3} ms {:>10.3} ms  {:>8.3} ms {:>8.3} ms",
                l.candidates, l.prerank_p50_ms, l.prerank_p99_ms, l.rank_p50_ms, l.rank_p99_ms
            );
        }
        if let Some(t) = out.train_samples_per_s {
            println!("ranker training      {t:.0} samples/s");
        }
        if let Some(t) = out.prerank_train_samples_per_s {
            println!("pre-ranker training  {t:.0} samples/s");
        }
    }
    Ok(())
}

fn bars_stage(bars: &Bars, n: usize, requests: usize) {
    recagent_core::Progress::stage(
        bars,
        &format!("timing {n} candidates"),
        Some(requests as u64),
    );
}
