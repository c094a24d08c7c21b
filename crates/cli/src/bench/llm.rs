//! `recagent bench llm`: the local model's prefill and generation speed,
//! and one tool decision with and without the prefix cache.

use clap::Args;
use recagent_core::{Home, Progress};
use recagent_llm::examples::{REQUESTS, decision_request, recommendation_tools};
use recagent_llm::local::{LocalConfig, LocalModel};
use serde::Serialize;

use super::stats::{Percentiles, percentiles};
use crate::names::ChatModelName;
use crate::open;
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct LlmArgs {
    /// The local model (see `recagent model list`)
    #[arg(long, value_enum, default_value = "qwen2.5-0.5b")]
    model: ChatModelName,
    /// CPU threads [default: all cores]
    #[arg(long)]
    threads: Option<i32>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
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

pub fn run(home: &Home, args: LlmArgs) -> anyhow::Result<()> {
    let report = measure(home, &args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print(&report);
    }
    Ok(())
}

fn measure(home: &Home, args: &LlmArgs) -> anyhow::Result<LlmBench> {
    let spec = args.model.spec();
    let path = open::local_model(home, args.model, " first")?;
    let tools = recommendation_tools();
    let rt = crate::runtime()?;
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
        bars.stage(
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
            bars.advance(1);
        }
        bars.finish();
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
    Ok(LlmBench {
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
    })
}

fn print(out: &LlmBench) {
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
