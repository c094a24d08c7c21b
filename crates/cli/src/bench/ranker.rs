//! `recagent bench ranker`: pre-rank, rank and funnel latency by candidate
//! count, throughput with concurrent callers, and a wordless turn.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recagent_catalog::split::{LabelRule, positive_histories};
use recagent_catalog::store;
use recagent_core::{Catalog, Home, ItemId, Progress, UserId};
use recagent_ranker::{
    Funnel, FunnelConfig, ModelKind, ModelStore, PreRanker, Ranker, UserContext,
};
use serde::Serialize;

use super::stats::{cores, percentile};
use crate::names::TrainModel;
use crate::open;
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct RankerArgs {
    /// The catalog (its ranker and pre-ranker must be trained)
    name: String,
    /// Which trained ranker to time
    #[arg(long, value_enum, default_value = "deepfm")]
    model: TrainModel,
    /// Time the ranker trained with --knowledge
    #[arg(long)]
    knowledge: bool,
    /// Also time these saved rankers (folders `train --out` wrote, e.g. with KAR's fields or
    /// CTRL) beside the trained LR, FM, DeepFM and DCNv2 at 500 candidates
    #[arg(long = "also", value_name = "DIR")]
    also: Vec<std::path::PathBuf>,
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
    /// The whole funnel: pre-rank to 300 (when there are more), rank to 10.
    funnel_p50_ms: f64,
    funnel_p99_ms: f64,
}

/// Requests per second when `callers` threads share one ranker.
#[derive(Debug, Serialize)]
struct Throughput {
    callers: usize,
    candidates: usize,
    requests: usize,
    requests_per_s: f64,
}

/// One CTR model's rank latency in [`RankerBench::models_at_500`].
#[derive(Debug, Serialize)]
struct ModelLatency {
    model: String,
    rank_p50_ms: f64,
    rank_p99_ms: f64,
    /// p50 over DeepFM's p50 on the same requests (when DeepFM is trained).
    vs_deepfm: Option<f64>,
}

#[derive(Debug, Serialize)]
struct RankerBench {
    catalog: String,
    model: String,
    items: usize,
    requests: usize,
    /// Candidate lists are drawn with replacement when larger than the catalog.
    latency: Vec<Latency>,
    /// One caller, then 8 callers on one shared ranker (500 candidates).
    throughput: Vec<Throughput>,
    /// Every trained CTR model timed on the same requests of 500
    /// candidates, taking turns request by request.
    models_at_500: Vec<ModelLatency>,
    train_samples_per_s: Option<f64>,
    prerank_train_samples_per_s: Option<f64>,
    threads: usize,
    /// A wordless turn ("what should I watch tonight?") when a next-item
    /// model is trained: its recall over the whole catalog, then the
    /// funnel over what it recalled.
    next_turn: Option<NextTurn>,
}

#[derive(Debug, Serialize)]
struct NextTurn {
    /// What the next-item model adds up ("EASE + transitions", …).
    sources: String,
    /// Items it recalls, then ranks.
    recalled: usize,
    recall_p50_ms: f64,
    recall_p99_ms: f64,
    /// Recall plus the funnel (pre-rank, CTR model, combine).
    recall_rank_p50_ms: f64,
    recall_rank_p99_ms: f64,
}

pub fn run(home: &Home, args: RankerArgs) -> anyhow::Result<()> {
    let report = measure(home, &args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print(&report);
    }
    Ok(())
}

fn measure(home: &Home, args: &RankerArgs) -> anyhow::Result<RankerBench> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let Some(kind) = args.model.kind() else {
        anyhow::bail!("--model picks the ranker to time; the pre-ranker is always timed")
    };
    if args.knowledge {
        open::ensure_minilm(home, &bars)?;
    }
    let models = ModelStore::for_catalog(home, &args.name);
    let ranker = Arc::new(models.load_ranker(home, &catalog, kind, args.knowledge, &bars)?);
    // The two-tower pre-ranker is timed when it is trained; with a
    // next-item model the funnel does not need it.
    let pre = match models.load_prerank(&catalog) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            eprintln!("no pre-ranker timed ({e})");
            None
        }
    };
    let funnel = Funnel::new(Arc::clone(&ranker), pre.clone());
    // Each user's logged positives are their history here, as in `search`.
    let histories = positive_histories(&catalog, LabelRule::default());
    let dir = models.ranker_dir(kind, args.knowledge);
    let latency = latency(
        &catalog,
        &ranker,
        pre.as_deref(),
        &funnel,
        &histories,
        args,
        &bars,
    )?;
    let throughput = [1usize, 8]
        .iter()
        .map(|&callers| {
            throughput(
                &ranker,
                &histories,
                catalog.items().len(),
                callers,
                args.requests,
                args.seed,
                &bars,
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let models_at_500 = models_at_500(home, &catalog, &models, &histories, args, &bars)?;
    let next_turn = match models.load_next(&catalog) {
        Ok(next) => Some(time_next_turn(
            Arc::new(next),
            &funnel,
            &histories,
            args.requests,
            args.seed,
            &bars,
        )?),
        Err(e) => {
            tracing::info!("no next-item model, so no wordless turn is timed: {e}");
            None
        }
    };
    Ok(RankerBench {
        catalog: args.name.clone(),
        model: dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        items: catalog.items().len(),
        requests: args.requests,
        latency,
        throughput,
        models_at_500,
        train_samples_per_s: ranker
            .config()
            .report
            .as_ref()
            .map(|r| r.train_samples_per_s),
        prerank_train_samples_per_s: pre
            .as_ref()
            .and_then(|p| p.report().map(|r| r.train_samples_per_s)),
        threads: cores(),
        next_turn,
    })
}

/// Times the pre-ranker, the ranker and the whole funnel on `requests`
/// random users and candidate lists of 100, 500 and 5000.
fn latency(
    catalog: &Catalog,
    ranker: &Ranker,
    pre: Option<&PreRanker>,
    funnel: &Funnel,
    histories: &[Vec<ItemId>],
    args: &RankerArgs,
    bars: &Bars,
) -> anyhow::Result<Vec<Latency>> {
    let n_items = catalog.items().len() as u32;
    let n_users = catalog.users().len() as u32;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut latency = Vec::new();
    for &n in &[100usize, 500, 5000] {
        let (mut pre_ms, mut rank_ms, mut funnel_ms) = (Vec::new(), Vec::new(), Vec::new());
        bars.stage(
            &format!("timing {n} candidates"),
            Some(args.requests as u64),
        );
        for r in 0..args.requests + 10 {
            let user = (n_users > 0).then(|| UserId(rng.random_range(0..n_users)));
            let cands: Vec<ItemId> = (0..n)
                .map(|_| ItemId(rng.random_range(0..n_items)))
                .collect();
            let history = user
                .and_then(|u| histories.get(u.index()))
                .map_or(&[][..], Vec::as_slice);
            let t = Instant::now();
            let top = pre.map(|pre| pre.top_k(user, history, &cands, 300));
            let p = t.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box(&top);
            let t = Instant::now();
            let scores = ranker.score(user, history, &cands)?;
            let q = t.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box(&scores);
            let t = Instant::now();
            let ctx = UserContext { user, history };
            std::hint::black_box(funnel.run(&ctx, &cands, &FunnelConfig::default())?);
            let f = t.elapsed().as_secs_f64() * 1e3;
            // The first requests warm caches and the allocator; they are not timed.
            if r >= 10 {
                pre_ms.push(p);
                rank_ms.push(q);
                funnel_ms.push(f);
                bars.advance(1);
            }
        }
        bars.finish();
        pre_ms.sort_by(f64::total_cmp);
        rank_ms.sort_by(f64::total_cmp);
        funnel_ms.sort_by(f64::total_cmp);
        latency.push(Latency {
            candidates: n,
            prerank_p50_ms: percentile(&pre_ms, 0.5),
            prerank_p99_ms: percentile(&pre_ms, 0.99),
            rank_p50_ms: percentile(&rank_ms, 0.5),
            rank_p99_ms: percentile(&rank_ms, 0.99),
            funnel_p50_ms: percentile(&funnel_ms, 0.5),
            funnel_p99_ms: percentile(&funnel_ms, 0.99),
        });
    }
    Ok(latency)
}

/// Times every trained CTR model (LR, FM, DeepFM, DCNv2, without the
/// knowledge field unless `--knowledge`) on the same `requests` lists of
/// 500 random candidates; the models take turns on each request so that
/// drift in the machine's load falls on all of them alike.
fn models_at_500(
    home: &Home,
    catalog: &Catalog,
    models: &ModelStore,
    histories: &[Vec<ItemId>],
    args: &RankerArgs,
    bars: &Bars,
) -> anyhow::Result<Vec<ModelLatency>> {
    const CANDIDATES: usize = 500;
    let mut rankers = Vec::new();
    for kind in [
        ModelKind::Lr,
        ModelKind::Fm,
        ModelKind::DeepFm,
        ModelKind::DcnV2,
    ] {
        if !models.ranker_dir(kind, args.knowledge).exists() {
            continue;
        }
        match models.load_ranker(home, catalog, kind, args.knowledge, bars) {
            Ok(r) => rankers.push((kind.name().to_owned(), r)),
            Err(e) => eprintln!("{} not timed ({e})", kind.name()),
        }
    }
    for dir in &args.also {
        let ranker = recagent_ranker::load_ranker_dir(home, catalog, dir, bars)
            .with_context(|| format!("loading the ranker in {}", dir.display()))?;
        rankers.push((dir.display().to_string(), ranker));
    }
    let n_items = catalog.items().len() as u32;
    let n_users = catalog.users().len() as u32;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x500);
    let mut ms: Vec<Vec<f64>> = vec![Vec::new(); rankers.len()];
    bars.stage(
        &format!("{} models at {CANDIDATES} candidates", rankers.len()),
        Some(args.requests as u64),
    );
    for r in 0..args.requests + 10 {
        let user = (n_users > 0).then(|| UserId(rng.random_range(0..n_users)));
        let cands: Vec<ItemId> = (0..CANDIDATES)
            .map(|_| ItemId(rng.random_range(0..n_items)))
            .collect();
        let history = user
            .and_then(|u| histories.get(u.index()))
            .map_or(&[][..], Vec::as_slice);
        for (i, (_, ranker)) in rankers.iter().enumerate() {
            let t = Instant::now();
            std::hint::black_box(ranker.score(user, history, &cands)?);
            if r >= 10 {
                ms[i].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        if r >= 10 {
            bars.advance(1);
        }
    }
    bars.finish();
    let mut out: Vec<ModelLatency> = rankers
        .iter()
        .zip(&mut ms)
        .map(|((name, _), ms)| {
            ms.sort_by(f64::total_cmp);
            ModelLatency {
                model: name.clone(),
                rank_p50_ms: percentile(ms, 0.5),
                rank_p99_ms: percentile(ms, 0.99),
                vs_deepfm: None,
            }
        })
        .collect();
    if let Some(base) = out
        .iter()
        .find(|m| m.model == ModelKind::DeepFm.name())
        .map(|m| m.rank_p50_ms)
    {
        for m in &mut out {
            m.vs_deepfm = Some(m.rank_p50_ms / base.max(1e-9));
        }
    }
    Ok(out)
}

/// Times [`NextTurn`] for `requests` random users with a history.
fn time_next_turn(
    next: Arc<recagent_ranker::NextItemModel>,
    funnel: &Funnel,
    histories: &[Vec<ItemId>],
    requests: usize,
    seed: u64,
    bars: &Bars,
) -> anyhow::Result<NextTurn> {
    const RECALLED: usize = 300;
    let funnel = funnel
        .clone()
        .with_next(Arc::clone(&next), recagent_ranker::Combine::default());
    let users: Vec<usize> = (0..histories.len())
        .filter(|&u| !histories[u].is_empty())
        .collect();
    anyhow::ensure!(!users.is_empty(), "no user has a history to recall from");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut recall_ms, mut total_ms) = (Vec::new(), Vec::new());
    bars.stage("wordless turns", Some(requests as u64));
    for r in 0..requests + 10 {
        let u = users[rng.random_range(0..users.len())];
        let history = &histories[u];
        let seen: HashSet<ItemId> = history.iter().copied().collect();
        let t = Instant::now();
        let recalled: Vec<ItemId> = next
            .top_k(history, RECALLED, |i| !seen.contains(&i))
            .into_iter()
            .map(|s| s.item)
            .collect();
        let a = t.elapsed().as_secs_f64() * 1e3;
        let ctx = UserContext {
            user: Some(UserId(u as u32)),
            history,
        };
        std::hint::black_box(funnel.run(&ctx, &recalled, &FunnelConfig::default())?);
        let b = t.elapsed().as_secs_f64() * 1e3;
        if r >= 10 {
            recall_ms.push(a);
            total_ms.push(b);
            bars.advance(1);
        }
    }
    bars.finish();
    recall_ms.sort_by(f64::total_cmp);
    total_ms.sort_by(f64::total_cmp);
    Ok(NextTurn {
        sources: next.sources().to_owned(),
        recalled: RECALLED,
        recall_p50_ms: percentile(&recall_ms, 0.5),
        recall_p99_ms: percentile(&recall_ms, 0.99),
        recall_rank_p50_ms: percentile(&total_ms, 0.5),
        recall_rank_p99_ms: percentile(&total_ms, 0.99),
    })
}

/// `callers` threads each score `requests` lists of 500 random candidates
/// for random users on one shared ranker; returns the total rate.
fn throughput(
    ranker: &Arc<Ranker>,
    histories: &[Vec<ItemId>],
    n_items: usize,
    callers: usize,
    requests: usize,
    seed: u64,
    bars: &Bars,
) -> anyhow::Result<Throughput> {
    const CANDIDATES: usize = 500;
    bars.stage(
        &format!("{callers} concurrent caller(s)"),
        Some((callers * requests) as u64),
    );
    let n_users = histories.len() as u32;
    let start = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..callers)
            .map(|c| {
                let ranker = Arc::clone(ranker);
                s.spawn(move || -> anyhow::Result<()> {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((c as u64 + 1) * 0x9e37));
                    for _ in 0..requests {
                        let user = (n_users > 0).then(|| UserId(rng.random_range(0..n_users)));
                        let cands: Vec<ItemId> = (0..CANDIDATES)
                            .map(|_| ItemId(rng.random_range(0..n_items as u32)))
                            .collect();
                        let history = user
                            .and_then(|u| histories.get(u.index()))
                            .map_or(&[][..], Vec::as_slice);
                        std::hint::black_box(ranker.score(user, history, &cands)?);
                        bars.advance(1);
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("a caller panicked"))?)
    })?;
    let secs = start.elapsed().as_secs_f64();
    bars.finish();
    Ok(Throughput {
        callers,
        candidates: CANDIDATES,
        requests: callers * requests,
        requests_per_s: (callers * requests) as f64 / secs.max(1e-9),
    })
}

fn print(out: &RankerBench) {
    println!(
        "{} on {} ({} items, {} requests each, {} threads)",
        out.model, out.catalog, out.items, out.requests, out.threads
    );
    println!(
        "{:>10}  {:>13} {:>13}  {:>11} {:>11}  {:>11} {:>11}",
        "candidates",
        "prerank p50",
        "prerank p99",
        "rank p50",
        "rank p99",
        "funnel p50",
        "funnel p99"
    );
    for l in &out.latency {
        println!(
            "{:>10}  {:>10.3} ms {:>10.3} ms  {:>8.3} ms {:>8.3} ms  {:>8.3} ms {:>8.3} ms",
            l.candidates,
            l.prerank_p50_ms,
            l.prerank_p99_ms,
            l.rank_p50_ms,
            l.rank_p99_ms,
            l.funnel_p50_ms,
            l.funnel_p99_ms
        );
    }
    for t in &out.throughput {
        println!(
            "{:>2} caller(s), {} candidates: {:.0} requests/s",
            t.callers, t.candidates, t.requests_per_s
        );
    }
    if !out.models_at_500.is_empty() {
        println!("every trained model on the same requests of 500 candidates:");
        for m in &out.models_at_500 {
            let ratio = m
                .vs_deepfm
                .map(|r| format!("  ({r:.2}x DeepFM)"))
                .unwrap_or_default();
            println!(
                "  {:<7} rank p50 {:>7.3} ms  p99 {:>7.3} ms{ratio}",
                m.model, m.rank_p50_ms, m.rank_p99_ms
            );
        }
    }
    if let Some(t) = out.train_samples_per_s {
        println!("ranker training      {t:.0} samples/s");
    }
    if let Some(t) = out.prerank_train_samples_per_s {
        println!("pre-ranker training  {t:.0} samples/s");
    }
    match &out.next_turn {
        Some(n) => println!(
            "wordless turn ({}, {} recalled): recall p50 {:.3} ms p99 {:.3} ms; recall + rank p50 {:.3} ms p99 {:.3} ms",
            n.sources,
            n.recalled,
            n.recall_p50_ms,
            n.recall_p99_ms,
            n.recall_rank_p50_ms,
            n.recall_rank_p99_ms
        ),
        None => println!(
            "wordless turn: not timed (no next-item model; `recagent train {} --model blend`)",
            out.catalog
        ),
    }
}
