//! `recagent bench …`

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recagent_catalog::split::{LabelRule, positive_histories};
use recagent_catalog::store;
use recagent_core::{Home, ItemId, UserId};
use recagent_ranker::{Funnel, FunnelConfig, ModelStore, Ranker, UserContext};
use serde::Serialize;

use crate::progress::Bars;
use crate::train::ModelArg;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Pre-rank and rank latency for 100, 500 and 5000 candidates, and training throughput
    Ranker(RankerArgs),
    /// Build time, index size, and lexical, dense and hybrid search latency with filters
    Retrieval(RetrievalArgs),
    /// Local LLM: prefill and generation tokens/s, and the time of one tool decision with and without the prefix cache
    Llm(LlmArgs),
    /// The agent on the labelled requests: right tool, filters and titles per controller, and turn latency
    Agent(AgentBenchArgs),
    /// Recall on 36 labelled film descriptions that name no title word: hit@1 and hit@10 per search mode
    Knowledge(KnowledgeBenchArgs),
    /// The server on loopback: concurrent sessions of several turns, p50/p99 latency, errors and cross-talk
    Serve(crate::serve::ServeBenchArgs),
    /// "More like X" on 76 labelled requests: precision@10 of each similarity source and of the fusion
    Similar(crate::bench_similar::SimilarBenchArgs),
    /// Knowledge generation on the local model: tokens/s with 1, 4 and 8 sequences decoded in one batch, and the wall time for the whole catalog
    Generation(GenerationArgs),
}

#[derive(Debug, Args)]
pub struct GenerationArgs {
    /// Catalog name
    #[arg(default_value = "ml-100k")]
    name: String,
    /// The local model (see `recagent model list`)
    #[arg(long, value_enum, default_value = "qwen2.5-0.5b")]
    model: crate::model::ChatModelName,
    /// Items generated per setting (the first N of the catalog)
    #[arg(long, default_value_t = 16)]
    items: usize,
    /// Sequences decoded at once, one run each
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 4, 8])]
    parallel: Vec<usize>,
    /// CPU threads [default: all cores]
    #[arg(long)]
    threads: Option<i32>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct AgentBenchArgs {
    /// Catalog name (the labelled set is written for ml-100k)
    #[arg(default_value = "ml-100k")]
    name: String,
    /// Times to run the whole set for latency (rightness is from the first run)
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Run only the first N requests
    #[arg(long)]
    limit: Option<usize>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    agent: crate::agent::AgentArgs,
}

#[derive(Debug, Args)]
pub struct LlmArgs {
    /// The local model (see `recagent model list`)
    #[arg(long, value_enum, default_value = "qwen2.5-0.5b")]
    model: crate::model::ChatModelName,
    /// CPU threads [default: all cores]
    #[arg(long)]
    threads: Option<i32>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RetrievalArgs {
    /// The catalog (run `recagent index build NAME` first)
    name: String,
    /// Queries timed per mode
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// Results per query
    #[arg(short, long, default_value_t = 10)]
    k: usize,
    /// Seed of the queries and filters drawn
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[command(flatten)]
    qdrant: crate::index::QdrantArgs,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
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
    recagent_core::Progress::stage(bars, "wordless turns", Some(requests as u64));
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
            recagent_core::Progress::advance(bars, 1);
        }
    }
    recagent_core::Progress::finish(bars);
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

pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub fn run(home: &Home, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ranker(args) => bench_ranker(home, args),
        BenchCommand::Retrieval(args) => bench_retrieval(home, args),
        BenchCommand::Llm(args) => bench_llm(home, args),
        BenchCommand::Agent(args) => bench_agent(home, args),
        BenchCommand::Serve(args) => crate::serve::bench(home, args),
        BenchCommand::Knowledge(args) => bench_knowledge(home, args),
        BenchCommand::Generation(args) => bench_generation(home, args),
        BenchCommand::Similar(args) => crate::bench_similar::run(home, args),
    }
}

fn bench_ranker(home: &Home, args: RankerArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let Some(kind) = args.model.kind() else {
        anyhow::bail!("--model picks the ranker to time; the pre-ranker is always timed")
    };
    if args.knowledge {
        crate::index::ensure_minilm(home, &bars)?;
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

    let n_items = catalog.items().len() as u32;
    let n_users = catalog.users().len() as u32;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut latency = Vec::new();
    for &n in &[100usize, 500, 5000] {
        let (mut pre_ms, mut rank_ms, mut funnel_ms) = (Vec::new(), Vec::new(), Vec::new());
        bars_stage(&bars, n, args.requests);
        for r in 0..args.requests + 10 {
            let user = (n_users > 0).then(|| UserId(rng.random_range(0..n_users)));
            let cands: Vec<ItemId> = (0..n)
                .map(|_| ItemId(rng.random_range(0..n_items)))
                .collect();
            let history = user
                .and_then(|u| histories.get(u.index()))
                .map_or(&[][..], Vec::as_slice);
            let t = Instant::now();
            let top = pre
                .as_ref()
                .map(|pre| pre.top_k(user, history, &cands, 300));
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
                recagent_core::Progress::advance(&bars, 1);
            }
        }
        recagent_core::Progress::finish(&bars);
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
    let out = RankerBench {
        catalog: args.name.clone(),
        model: dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        items: catalog.items().len(),
        requests: args.requests,
        latency,
        throughput,
        train_samples_per_s: ranker
            .config()
            .report
            .as_ref()
            .map(|r| r.train_samples_per_s),
        prerank_train_samples_per_s: pre
            .as_ref()
            .and_then(|p| p.report().map(|r| r.train_samples_per_s)),
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        next_turn,
    };
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
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
    Ok(())
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
    recagent_core::Progress::stage(
        bars,
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
                        recagent_core::Progress::advance(bars, 1);
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
    recagent_core::Progress::finish(bars);
    Ok(Throughput {
        callers,
        candidates: CANDIDATES,
        requests: callers * requests,
        requests_per_s: (callers * requests) as f64 / secs.max(1e-9),
    })
}

fn bars_stage(bars: &Bars, n: usize, requests: usize) {
    recagent_core::Progress::stage(
        bars,
        &format!("timing {n} candidates"),
        Some(requests as u64),
    );
}

#[derive(Debug, Serialize)]
struct Percentiles {
    p50_ms: f64,
    p99_ms: f64,
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    Percentiles {
        p50_ms: percentile(&v, 0.5),
        p99_ms: percentile(&v, 0.99),
    }
}

#[derive(Debug, Serialize)]
struct RetrievalBench {
    catalog: String,
    items: usize,
    backend: String,
    encoding: String,
    requests: usize,
    k: usize,
    /// From the last `recagent index build` (index/NAME/build.json).
    build: Option<serde_json::Value>,
    index_bytes: u64,
    lexical: Percentiles,
    /// Encoding the query text into a vector.
    embed_query: Percentiles,
    /// The vector search alone, query already embedded.
    dense_search: Percentiles,
    /// Embed + vector search.
    dense: Percentiles,
    /// Embed + lexical + vector search + fusion.
    hybrid: Percentiles,
    /// Mean recall@k of the vector index against an exact scan under the
    /// same filter (absent when no query had any result).
    vector_recall: Option<f64>,
    threads: usize,
}

fn bench_retrieval(home: &Home, args: RetrievalArgs) -> anyhow::Result<()> {
    use recagent_retrieval::{Filter, Mode};
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let retriever = crate::index::open_retriever(home, &catalog, &args.qdrant)?;
    // One thread drives the searches one after another: the timings are of
    // the search, not of handing work between threads.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let genres = catalog.genre_vocab();
    let years: Vec<u16> = catalog.items().iter().filter_map(|i| i.year).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let n = catalog.items().len();
    anyhow::ensure!(n > 0, "catalog {} has no items", args.name);
    // Queries: two or three words from a random item's title and genres, with
    // a genre filter and, half the time, a lower year bound.
    let mut cases = Vec::with_capacity(args.requests + 10);
    for _ in 0..args.requests + 10 {
        let it = &catalog.items()[rng.random_range(0..n)];
        let mut words: Vec<String> = recagent_core::words(&it.title);
        words.extend(it.genres.iter().map(|g| recagent_core::genre_key(g)));
        let take = rng.random_range(2..=3).min(words.len().max(1));
        let mut q = Vec::new();
        for _ in 0..take {
            if !words.is_empty() {
                q.push(words.swap_remove(rng.random_range(0..words.len())));
            }
        }
        let mut filter = Filter::default();
        if !genres.is_empty() {
            filter.genres_any = vec![genres[rng.random_range(0..genres.len())].clone()];
        }
        if !years.is_empty() && rng.random_bool(0.5) {
            filter.year_min = Some(years[rng.random_range(0..years.len())]);
        }
        cases.push((q.join(" "), filter));
    }
    let time =
        |f: &mut dyn FnMut(usize) -> anyhow::Result<()>, label: &str| -> anyhow::Result<Vec<f64>> {
            recagent_core::Progress::stage(&bars, label, Some(args.requests as u64));
            let mut out = Vec::with_capacity(args.requests);
            for i in 0..cases.len() {
                let t = Instant::now();
                f(i)?;
                let ms = t.elapsed().as_secs_f64() * 1e3;
                // The first ten warm caches; they are not timed.
                if i >= 10 {
                    out.push(ms);
                    recagent_core::Progress::advance(&bars, 1);
                }
            }
            recagent_core::Progress::finish(&bars);
            Ok(out)
        };
    let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(cases.len());
    let embed = time(
        &mut |i| {
            let v = retriever
                .embed_query(&cases[i].0)?
                .unwrap_or_else(|| vec![0.0; retriever.manifest().dim]);
            vectors.push(v);
            Ok(())
        },
        "timing query embedding",
    )?;
    let search = |mode: Mode, label: &str| {
        time(
            &mut |i| {
                std::hint::black_box(rt.block_on(retriever.search(
                    &cases[i].0,
                    &cases[i].1,
                    args.k,
                    mode,
                ))?);
                Ok(())
            },
            label,
        )
    };
    let lexical = search(Mode::Lexical, "timing lexical search")?;
    let dense = search(Mode::Dense, "timing dense search (embed + search)")?;
    let hybrid = search(Mode::Hybrid, "timing hybrid search")?;
    let dense_search = time(
        &mut |i| {
            std::hint::black_box(rt.block_on(retriever.search_embedded(
                &cases[i].0,
                &vectors[i],
                &cases[i].1,
                args.k,
                Mode::Dense,
            ))?);
            Ok(())
        },
        "timing vector search",
    )?;
    // Recall of the vector index: its top k against an exact scan of the
    // points that pass the same filter.
    recagent_core::Progress::stage(
        &bars,
        "measuring vector recall against exact search",
        Some(args.requests as u64),
    );
    let store = retriever.vector_store();
    let mut recall = Vec::with_capacity(args.requests);
    for i in 10..cases.len() {
        let exact = rt.block_on(store.search_exact(&vectors[i], &cases[i].1, args.k))?;
        if let Some(kth) = exact.last() {
            let got = rt.block_on(store.search(&vectors[i], &cases[i].1, args.k))?;
            // An item scoring as high as the exact k-th is as good an answer
            // (catalogs hold items with the same text, hence ties).
            let hit = got
                .iter()
                .filter(|h| exact.iter().any(|e| e.item == h.item) || h.score >= kth.score - 1e-6)
                .count()
                .min(exact.len());
            recall.push(hit as f64 / exact.len() as f64);
        }
        recagent_core::Progress::advance(&bars, 1);
    }
    recagent_core::Progress::finish(&bars);
    let vector_recall = if recall.is_empty() {
        None
    } else {
        Some(recall.iter().sum::<f64>() / recall.len() as f64)
    };
    let dir = home.index_dir(&args.name);
    let build = std::fs::read(dir.join("build.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let index_bytes = ["lexical", "vectors", "similar.bin"]
        .iter()
        .map(|p| recagent_retrieval::retriever::disk_size(&dir.join(p)))
        .sum();
    let out = RetrievalBench {
        catalog: args.name.clone(),
        items: n,
        backend: retriever.vector_store().backend().to_owned(),
        encoding: retriever.manifest().encoding.name().to_owned(),
        requests: args.requests,
        k: args.k,
        build,
        index_bytes,
        lexical: percentiles(lexical),
        embed_query: percentiles(embed),
        dense_search: percentiles(dense_search),
        dense: percentiles(dense),
        hybrid: percentiles(hybrid),
        vector_recall,
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!(
            "{} ({} items, {} vectors, {}), {} filtered queries per mode, k={}, {} threads",
            out.catalog, out.items, out.backend, out.encoding, out.requests, out.k, out.threads
        );
        println!("index size {:.1} MB", out.index_bytes as f64 / 1e6);
        if let Some(b) = &out.build {
            println!("last build: {b}");
        }
        for (label, p) in [
            ("lexical", &out.lexical),
            ("embed query", &out.embed_query),
            ("vector search", &out.dense_search),
            ("dense", &out.dense),
            ("hybrid", &out.hybrid),
        ] {
            println!(
                "{label:>14}  p50 {:>8.3} ms  p99 {:>8.3} ms",
                p.p50_ms, p.p99_ms
            );
        }
        if let Some(r) = out.vector_recall {
            println!("vector recall@{} against exact search: {:.3}", out.k, r);
        }
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct Decision {
    request: String,
    tool: Option<String>,
    valid: bool,
    prompt_tokens: u32,
    cached_prompt_tokens: u32,
    completion_tokens: u32,
    prefill_ms: f64,
    total_ms: f64,
}

#[derive(Debug, Serialize)]
struct LlmBench {
    model: String,
    threads: i32,
    /// Prompt tokens per second with nothing cached.
    prefill_tokens_per_s: f64,
    /// Generated tokens per second (under the tool grammar).
    generation_tokens_per_s: f64,
    /// One tool decision, prefix cache off: every prompt token evaluated.
    decision_uncached_ms: Percentiles,
    /// One tool decision once the system prompt and tools are cached.
    decision_cached_ms: Percentiles,
    valid_calls: usize,
    decisions: usize,
    runs: Vec<Decision>,
}

fn bench_llm(home: &Home, args: LlmArgs) -> anyhow::Result<()> {
    use recagent_llm::examples::{REQUESTS, decision_request, recommendation_tools};
    use recagent_llm::local::{LocalConfig, LocalModel};
    let spec = args.model.spec();
    let path = args.model.pulled(home, " first")?;
    let tools = recommendation_tools();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let bars = Bars::new();
    let mut runs = Vec::new();
    let run_all = |cache: bool, runs: &mut Vec<Decision>| -> anyhow::Result<Vec<f64>> {
        let mut config = LocalConfig::new(&path);
        config.prefix_cache = cache;
        if let Some(t) = args.threads {
            config.threads = t;
        }
        let model = LocalModel::load(config)?;
        let label = if cache {
            "with the prefix cache"
        } else {
            "without the prefix cache"
        };
        recagent_core::Progress::stage(
            &bars,
            &format!("tool decisions {label}"),
            Some(REQUESTS.len() as u64 + 1),
        );
        let mut times = Vec::new();
        // The first call fills the cache (or is just a cold call); it is kept
        // apart from the timed ones when caching.
        for (i, text) in std::iter::once(&REQUESTS[REQUESTS.len() - 1])
            .chain(REQUESTS.iter())
            .enumerate()
        {
            let r = rt.block_on(recagent_llm::complete(&model, decision_request(text)))?;
            let call = r.tool_calls.first();
            let d = Decision {
                request: (*text).to_owned(),
                tool: call.map(|c| c.name.clone()),
                valid: call
                    .is_some_and(|c| recagent_llm::toolcall::validate_call(c, &tools).is_ok()),
                prompt_tokens: r.usage.prompt_tokens,
                cached_prompt_tokens: r.timings.cached_prompt_tokens,
                completion_tokens: r.usage.completion_tokens,
                prefill_ms: r.timings.first_token_ms,
                total_ms: r.timings.total_ms,
            };
            if i > 0 {
                times.push(d.total_ms);
                runs.push(d);
            } else if !cache {
                runs.push(d);
            }
            recagent_core::Progress::advance(&bars, 1);
        }
        recagent_core::Progress::finish(&bars);
        Ok(times)
    };
    let uncached = run_all(false, &mut runs)?;
    let n_uncached = runs.len();
    let cached = run_all(true, &mut runs)?;
    let cold = &runs[..n_uncached];
    let prefill: f64 = cold.iter().map(|d| f64::from(d.prompt_tokens)).sum::<f64>()
        / cold
            .iter()
            .map(|d| d.prefill_ms / 1e3)
            .sum::<f64>()
            .max(1e-9);
    let generation: f64 = runs
        .iter()
        .map(|d| f64::from(d.completion_tokens))
        .sum::<f64>()
        / runs
            .iter()
            .map(|d| (d.total_ms - d.prefill_ms) / 1e3)
            .sum::<f64>()
            .max(1e-9);
    let out = LlmBench {
        model: spec.id.to_owned(),
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get() as i32)),
        prefill_tokens_per_s: prefill,
        generation_tokens_per_s: generation,
        decision_uncached_ms: percentiles(uncached),
        decision_cached_ms: percentiles(cached),
        valid_calls: runs.iter().filter(|d| d.valid).count(),
        decisions: runs.len(),
        runs,
    };
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!("{} on {} threads", out.model, out.threads);
        println!("prefill     {:>7.1} tokens/s", out.prefill_tokens_per_s);
        println!("generation  {:>7.1} tokens/s", out.generation_tokens_per_s);
        println!(
            "one tool decision: p50 {:.0} ms / p99 {:.0} ms without the prefix cache, p50 {:.0} ms / p99 {:.0} ms with it",
            out.decision_uncached_ms.p50_ms,
            out.decision_uncached_ms.p99_ms,
            out.decision_cached_ms.p50_ms,
            out.decision_cached_ms.p99_ms
        );
        println!("valid tool calls: {}/{}", out.valid_calls, out.decisions);
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct AgentCase {
    text: String,
    tool: bool,
    filters: bool,
    titles: bool,
    /// Whether the list shown satisfies the labelled filters.
    satisfied: bool,
    calls: Vec<String>,
    tools_ms: f64,
    turn_ms: f64,
    first_token_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
struct AgentBench {
    catalog: String,
    controller: String,
    strategy: String,
    cases: usize,
    right_tool: f64,
    right_filters: f64,
    right_titles: f64,
    satisfied: f64,
    /// Tool pipeline per turn (recall, filters, ranking, memory), model excluded.
    tools: Percentiles,
    turn: Percentiles,
    per_case: Vec<AgentCase>,
    /// The dialogue state after each turn of the labelled dialogues.
    dialogues: DialogueBench,
}

#[derive(Debug, Default, Serialize)]
struct DialogueBench {
    dialogues: usize,
    /// Turns whose state is right in every slot, of all turns: the
    /// development dialogues, then the held-out ones.
    dev_right: usize,
    dev_turns: usize,
    held_out_right: usize,
    held_out_turns: usize,
    /// Turns with a wrong slot: "id turn: text — slot: want …, got …".
    wrong: Vec<String>,
}

/// Runs each labelled dialogue in a new conversation and scores the
/// dialogue state after every turn.
fn dialogue_accuracy(
    agent: &recagent_agent::Agent,
    rt: &tokio::runtime::Runtime,
    bars: &Bars,
    limit: Option<usize>,
) -> anyhow::Result<DialogueBench> {
    use recagent_agent::eval;
    let mut dialogues = eval::dialogues()?;
    if let Some(n) = limit {
        dialogues.truncate(n);
    }
    let mut out = DialogueBench {
        dialogues: dialogues.len(),
        ..DialogueBench::default()
    };
    let turns: usize = dialogues.iter().map(|d| d.turns.len()).sum();
    recagent_core::Progress::stage(bars, "labelled dialogues", Some(turns as u64));
    for d in &dialogues {
        let user = format!("bench-dialogue-{}", d.id);
        agent
            .memory()
            .forget(&user, &recagent_memory::Forget::All)?;
        let mut session = agent.new_session(&user);
        let held_out = d.split == "held-out";
        for (n, want) in d.turns.iter().enumerate() {
            let turn = rt.block_on(session.turn(&want.text))?;
            let wrong = match &turn.trace.state {
                Some(got) => eval::state_mismatches(agent, want, got),
                None => vec!["no state in the trace".into()],
            };
            let right = wrong.is_empty();
            if held_out {
                out.held_out_turns += 1;
                out.held_out_right += usize::from(right);
            } else {
                out.dev_turns += 1;
                out.dev_right += usize::from(right);
            }
            if !right {
                out.wrong.push(format!(
                    "{} turn {}: {:?} — {}",
                    d.id,
                    n + 1,
                    want.text,
                    wrong.join("; ")
                ));
            }
            recagent_core::Progress::advance(bars, 1);
        }
        agent
            .memory()
            .forget(&user, &recagent_memory::Forget::All)?;
    }
    recagent_core::Progress::finish(bars);
    Ok(out)
}

fn bench_agent(home: &Home, args: AgentBenchArgs) -> anyhow::Result<()> {
    use recagent_agent::eval;
    let bars = Bars::new();
    let agent = crate::agent::build_agent(home, &args.name, &args.agent, &bars)?;
    let mut cases = eval::cases(eval::LABELLED_ML100K)?;
    if let Some(n) = args.limit {
        cases.truncate(n);
    }
    let rt = crate::runtime()?;
    let mut per_case = Vec::new();
    let (mut tools, mut turns) = (Vec::new(), Vec::new());
    recagent_core::Progress::stage(
        &bars,
        "labelled requests",
        Some((cases.len() * args.repeat.max(1)) as u64),
    );
    for round in 0..args.repeat.max(1) {
        for (i, case) in cases.iter().enumerate() {
            let user = format!("bench-agent-{i}");
            agent
                .memory()
                .forget(&user, &recagent_memory::Forget::All)?;
            let mut session = agent.session(&user);
            let turn = rt.block_on(session.turn(&case.text))?;
            agent
                .memory()
                .forget(&user, &recagent_memory::Forget::All)?;
            let tr = &turn.trace;
            tools.push(tr.tools_micros as f64 / 1e3);
            turns.push(tr.total_micros as f64 / 1e3);
            recagent_core::Progress::advance(&bars, 1);
            if round > 0 {
                continue;
            }
            let sc = eval::score(&agent, case, tr);
            let filter = recagent_core::Filter {
                genres_any: case.genres.clone(),
                genres_none: case.avoid.clone(),
                year_min: case.year_min,
                year_max: case.year_max,
                exclude: case
                    .excluded
                    .iter()
                    .filter_map(|t| agent.resolve_title(t))
                    .collect(),
                ..Default::default()
            };
            let satisfied = !turn.items.is_empty()
                && turn.items.iter().all(|r| {
                    agent
                        .catalog()
                        .item(r.id)
                        .is_some_and(|it| filter.matches(it))
                });
            per_case.push(AgentCase {
                text: case.text.clone(),
                tool: sc.tool,
                filters: sc.filters,
                titles: sc.titles,
                satisfied,
                calls: tr
                    .tool_calls
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.arguments))
                    .collect(),
                tools_ms: tr.tools_micros as f64 / 1e3,
                turn_ms: tr.total_micros as f64 / 1e3,
                first_token_ms: tr.model_calls.first().map(|m| m.first_token_ms),
            });
        }
    }
    recagent_core::Progress::finish(&bars);
    let dialogues = dialogue_accuracy(&agent, &rt, &bars, args.limit)?;
    let n = per_case.len().max(1) as f64;
    let share =
        |f: &dyn Fn(&AgentCase) -> bool| per_case.iter().filter(|c| f(c)).count() as f64 / n;
    let report = AgentBench {
        catalog: args.name.clone(),
        controller: agent.controller_name(),
        strategy: match args.agent.controller {
            crate::agent::ControllerName::Rules => "rules".into(),
            _ => format!("{:?}", args.agent.options.strategy),
        },
        cases: per_case.len(),
        right_tool: share(&|c| c.tool),
        right_filters: share(&|c| c.filters),
        right_titles: share(&|c| c.titles),
        satisfied: share(&|c| c.satisfied),
        tools: percentiles(tools),
        turn: percentiles(turns),
        per_case,
        dialogues,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} ({}) on {} labelled requests of {}",
        report.controller, report.strategy, report.cases, report.catalog
    );
    println!(
        "  right tool {:.0}% · right filters {:.0}% · right titles {:.0}% · list satisfies the request {:.0}%",
        report.right_tool * 100.0,
        report.right_filters * 100.0,
        report.right_titles * 100.0,
        report.satisfied * 100.0
    );
    println!(
        "  tool pipeline p50 {:.1} ms p99 {:.1} ms · whole turn p50 {:.1} ms p99 {:.1} ms",
        report.tools.p50_ms, report.tools.p99_ms, report.turn.p50_ms, report.turn.p99_ms
    );
    let d = &report.dialogues;
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "  dialogue state right after {:.0}% of {} development turns, {:.0}% of {} held-out turns ({} dialogues)",
        pct(d.dev_right, d.dev_turns),
        d.dev_turns,
        pct(d.held_out_right, d.held_out_turns),
        d.held_out_turns,
        d.dialogues
    );
    for w in &d.wrong {
        println!("  ✗ {w}");
    }
    for c in &report.per_case {
        if !(c.tool && c.filters && c.titles) {
            println!(
                "  ✗ {:?}: tool {} filters {} titles {} — {}",
                c.text,
                c.tool,
                c.filters,
                c.titles,
                c.calls.join(" | ")
            );
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct KnowledgeBenchArgs {
    /// Catalog name (the descriptions are of ml-100k films)
    #[arg(default_value = "ml-100k")]
    name: String,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    qdrant: crate::index::QdrantArgs,
}

#[derive(Debug, Serialize)]
struct ModeHits {
    mode: String,
    hit_at_1: f64,
    hit_at_10: f64,
}

/// Recall of the labelled descriptions with the indexes as built (with or
/// without generated knowledge: `index build` says which).
fn bench_knowledge(home: &Home, args: KnowledgeBenchArgs) -> anyhow::Result<()> {
    use recagent_retrieval::{Filter, Mode};
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let retriever = crate::index::open_retriever(home, &catalog, &args.qdrant)?;
    let cases = recagent_knowledge::descriptions()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut out = Vec::new();
    for (mode, name) in [
        (Mode::Lexical, "lexical"),
        (Mode::Dense, "dense"),
        (Mode::Hybrid, "hybrid"),
    ] {
        let (mut h1, mut h10) = (0usize, 0usize);
        for c in &cases {
            let want = catalog.item_by_key(&c.id).ok_or_else(|| {
                anyhow::anyhow!("item {} of the descriptions is not in {}", c.id, args.name)
            })?;
            let hits = rt.block_on(retriever.search(&c.text, &Filter::default(), 10, mode))?;
            match hits.iter().position(|h| h.item == want) {
                Some(0) => {
                    h1 += 1;
                    h10 += 1;
                }
                Some(_) => h10 += 1,
                None => {}
            }
        }
        let n = cases.len().max(1) as f64;
        out.push(ModeHits {
            mode: name.into(),
            hit_at_1: h1 as f64 / n,
            hit_at_10: h10 as f64 / n,
        });
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"cases": cases.len(), "modes": out})
        );
    } else {
        println!("{} labelled descriptions on {}", cases.len(), args.name);
        for m in &out {
            println!(
                "{:<8} hit@1 {:>5.1}%  hit@10 {:>5.1}%",
                m.mode,
                m.hit_at_1 * 100.0,
                m.hit_at_10 * 100.0
            );
        }
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct GenerationRun {
    parallel: usize,
    items: usize,
    seconds: f64,
    prompt_tokens: u64,
    /// Prompt tokens of each item decoded once for all (the shared prefix).
    shared_prefix_tokens: u32,
    completion_tokens: u64,
    tokens_per_s: f64,
    seconds_per_item: f64,
    /// `seconds_per_item` times the catalog's items.
    catalog_hours: f64,
}

/// Knowledge requests for the first items, decoded 1, 4, 8… at a time.
fn bench_generation(home: &Home, args: GenerationArgs) -> anyhow::Result<()> {
    use futures::StreamExt as _;
    use recagent_llm::ChatModel as _;
    use recagent_llm::local::{LocalConfig, LocalModel};
    let spec = args.model.spec();
    let path = args.model.pulled(home, " first")?;
    anyhow::ensure!(args.items > 0, "--items must be at least 1");
    anyhow::ensure!(
        args.parallel.iter().all(|p| (1..=64).contains(p)),
        "--parallel takes numbers from 1 to 64"
    );
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let mut config = LocalConfig::new(path);
    if let Some(t) = args.threads {
        config.threads = t;
    }
    let model = LocalModel::load(config)?;
    let requests = catalog
        .items()
        .iter()
        .take(args.items)
        .map(recagent_knowledge::request)
        .collect::<Result<Vec<_>, _>>()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut runs = Vec::new();
    for &parallel in &args.parallel {
        recagent_core::Progress::stage(
            &bars,
            &format!("{} items, {parallel} at once", requests.len()),
            Some(requests.len() as u64),
        );
        let start = Instant::now();
        let (mut prompt, mut completion, mut shared) = (0u64, 0u64, 0u32);
        rt.block_on(async {
            let mut answers = model.complete_many(requests.clone(), parallel);
            while let Some((_, r)) = answers.next().await {
                let r = r?;
                prompt += u64::from(r.usage.prompt_tokens);
                completion += u64::from(r.usage.completion_tokens);
                shared = r.timings.cached_prompt_tokens;
                recagent_core::Progress::advance(&bars, 1);
            }
            anyhow::Ok(())
        })?;
        recagent_core::Progress::finish(&bars);
        let seconds = start.elapsed().as_secs_f64();
        let per_item = seconds / requests.len() as f64;
        runs.push(GenerationRun {
            parallel,
            items: requests.len(),
            seconds,
            prompt_tokens: prompt,
            shared_prefix_tokens: shared,
            completion_tokens: completion,
            tokens_per_s: completion as f64 / seconds.max(1e-9),
            seconds_per_item: per_item,
            catalog_hours: per_item * catalog.items().len() as f64 / 3600.0,
        });
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"model": spec.id, "catalog": args.name,
                "catalog_items": catalog.items().len(), "runs": runs})
        );
    } else {
        println!(
            "{} writing knowledge for the first {} items of {} ({} items)",
            spec.id,
            args.items,
            args.name,
            catalog.items().len()
        );
        println!("at once  tokens/s  s/item  prompt (shared)  catalog");
        for r in &runs {
            println!(
                "{:>7}  {:>8.1}  {:>6.2}  {:>6} ({:>4})  {:>5.2} h",
                r.parallel,
                r.tokens_per_s,
                r.seconds_per_item,
                r.prompt_tokens / r.items.max(1) as u64,
                r.shared_prefix_tokens,
                r.catalog_hours
            );
        }
    }
    Ok(())
}
