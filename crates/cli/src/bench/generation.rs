//! `recagent bench generation`: knowledge generation on the local model,
//! 1, 4, 8… sequences decoded at once.

use std::time::Instant;

use clap::Args;
use futures::StreamExt as _;
use recagent_catalog::store;
use recagent_core::{Home, Progress};
use recagent_llm::ChatModel as _;
use recagent_llm::local::{LocalConfig, LocalModel};
use serde::Serialize;

use crate::names::ChatModelName;
use crate::open;
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct GenerationArgs {
    /// Catalog name
    #[arg(default_value = "ml-100k")]
    name: String,
    /// The local model (see `recagent model list`)
    #[arg(long, value_enum, default_value = "qwen2.5-0.5b")]
    model: ChatModelName,
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
pub fn run(home: &Home, args: GenerationArgs) -> anyhow::Result<()> {
    let spec = args.model.spec();
    let (catalog_items, runs) = measure(home, &args)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"model": spec.id, "catalog": args.name,
                "catalog_items": catalog_items, "runs": runs})
        );
    } else {
        println!(
            "{} writing knowledge for the first {} items of {} ({} items)",
            spec.id, args.items, args.name, catalog_items
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

/// The catalog's item count, and one run per `--parallel` setting.
fn measure(home: &Home, args: &GenerationArgs) -> anyhow::Result<(usize, Vec<GenerationRun>)> {
    let path = open::local_model(home, args.model, " first")?;
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
    let rt = crate::runtime()?;
    let mut runs = Vec::new();
    for &parallel in &args.parallel {
        bars.stage(
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
                bars.advance(1);
            }
            anyhow::Ok(())
        })?;
        bars.finish();
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
    Ok((catalog.items().len(), runs))
}
