//! `recagent bench retrieval`: index size and the latency of each search
//! mode under random filters, and the vector index's recall against an
//! exact scan.

use std::time::Instant;

use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recagent_catalog::store;
use recagent_core::{Catalog, Home, Progress};
use recagent_retrieval::{Filter, Mode, Retriever};
use serde::Serialize;

use super::stats::{Percentiles, cores, percentiles};
use crate::open::{self, QdrantArgs};
use crate::progress::Bars;

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
    qdrant: QdrantArgs,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
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

/// A query and its filter.
type Case = (String, Filter);

pub fn run(home: &Home, args: RetrievalArgs) -> anyhow::Result<()> {
    let report = measure(home, &args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print(&report);
    }
    Ok(())
}

fn measure(home: &Home, args: &RetrievalArgs) -> anyhow::Result<RetrievalBench> {
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    let retriever = open::retriever(home, &catalog, &args.qdrant)?;
    // One thread drives the searches one after another: the timings are of
    // the search, not of handing work between threads.
    let rt = crate::runtime()?;
    let n = catalog.items().len();
    anyhow::ensure!(n > 0, "catalog {} has no items", args.name);
    let cases = draw_cases(&catalog, args.requests + 10, args.seed);
    let time =
        |f: &mut dyn FnMut(usize) -> anyhow::Result<()>, label: &str| -> anyhow::Result<Vec<f64>> {
            bars.stage(label, Some(args.requests as u64));
            let mut out = Vec::with_capacity(args.requests);
            for i in 0..cases.len() {
                let t = Instant::now();
                f(i)?;
                let ms = t.elapsed().as_secs_f64() * 1e3;
                // The first ten warm caches; they are not timed.
                if i >= 10 {
                    out.push(ms);
                    bars.advance(1);
                }
            }
            bars.finish();
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
    let vector_recall = vector_recall(&retriever, &rt, &cases, &vectors, args, &bars)?;
    let index_bytes = [
        home.lexical_dir(&args.name),
        home.vectors_dir(&args.name),
        home.similar_file(&args.name),
    ]
    .iter()
    .map(|p| recagent_retrieval::retriever::disk_size(p))
    .sum();
    Ok(RetrievalBench {
        catalog: args.name.clone(),
        items: n,
        backend: retriever.vector_store().backend().to_owned(),
        encoding: retriever.manifest().encoding.name().to_owned(),
        requests: args.requests,
        k: args.k,
        build: open::build_report(home, &args.name),
        index_bytes,
        lexical: percentiles(lexical),
        embed_query: percentiles(embed),
        dense_search: percentiles(dense_search),
        dense: percentiles(dense),
        hybrid: percentiles(hybrid),
        vector_recall,
        threads: cores(),
    })
}

/// Queries: two or three words from a random item's title and genres, with
/// a genre filter and, half the time, a lower year bound.
fn draw_cases(catalog: &Catalog, count: usize, seed: u64) -> Vec<Case> {
    let genres = catalog.genre_vocab();
    let years: Vec<u16> = catalog.items().iter().filter_map(|i| i.year).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = catalog.items().len();
    let mut cases = Vec::with_capacity(count);
    for _ in 0..count {
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
    cases
}

/// Recall of the vector index: its top k against an exact scan of the
/// points that pass the same filter, over the timed cases.
fn vector_recall(
    retriever: &Retriever,
    rt: &tokio::runtime::Runtime,
    cases: &[Case],
    vectors: &[Vec<f32>],
    args: &RetrievalArgs,
    bars: &Bars,
) -> anyhow::Result<Option<f64>> {
    bars.stage(
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
        bars.advance(1);
    }
    bars.finish();
    Ok(if recall.is_empty() {
        None
    } else {
        Some(recall.iter().sum::<f64>() / recall.len() as f64)
    })
}

fn print(out: &RetrievalBench) {
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
