//! `recagent bench llm-rank`: the LLM as a ranker and a scorer on the
//! LLMRank protocol, beside the conventional models, on the same candidate
//! sets.
//!
//! Per test user (every user's last positive, the evaluation's episodes,
//! whose models never saw it): the target and 19 random films the user had
//! not rated (a new draw per seed), and the next-item model's own top 20.
//! Each scorer orders the same set; NDCG@10 and NDCG@1 of the target's
//! place, averaged per seed, then mean ± sd over seeds. The blends of the
//! CRM with the LLM take their weight from validation users (their
//! second-to-last positive), never from the test users.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, ValueEnum};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recagent_catalog::store;
use recagent_core::{Catalog, Episode, Home, ItemId, Progress};
use recagent_llm::ChatModel;
use recagent_llm::local::{LocalConfig, LocalModel};
use recagent_llm::openai::OpenAiModel;
use recagent_llmrank::protocol::{
    BlendCase, MeanSd, blend, fit_blend, ndcg_at, place_of, random_candidates,
};
use recagent_llmrank::{Film, LlmScorer, film_line};
use recagent_ranker::{ModelKind, UserContext};
use recagent_sim::crm::{EvalModels, all_episodes, default_next, eval_store, validation_episode};
use serde::Serialize;

use super::stats::percentiles;
use crate::names::ChatModelName;
use crate::open;
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct LlmRankArgs {
    /// Catalog name (it needs ratings)
    #[arg(default_value = "ml-100k")]
    name: String,
    /// The local model that scores (see `recagent model list`)
    #[arg(long, value_enum, default_value = "qwen2.5-0.5b")]
    model: ChatModelName,
    /// Score with an OpenAI-compatible endpoint serving this model
    /// (OPENAI_BASE_URL, OPENAI_API_KEY) instead of the local model; it must
    /// return log-probabilities (`logprobs`, `top_logprobs`)
    #[arg(long, value_name = "MODEL")]
    api_model: Option<String>,
    /// Test users, drawn once (the same users under every seed)
    #[arg(long, default_value_t = 50)]
    users: usize,
    /// Validation users the CRM + LLM blends are fit on
    #[arg(long, default_value_t = 30)]
    valid_users: usize,
    /// Seeds: each draws new random candidates and new shuffles. The
    /// retrieved set does not depend on the seed and runs once.
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// Candidate orders each listwise ranking combines
    #[arg(long, default_value_t = 3)]
    shuffles: usize,
    /// Which candidate sets to rank
    #[arg(long, value_enum, default_value = "both")]
    candidates: CandidateSets,
    /// Skip the pointwise scorer (one forward pass per candidate)
    #[arg(long)]
    no_pointwise: bool,
    /// Liked films the listwise prompt shows, most recent
    #[arg(long, default_value_t = 20)]
    history: usize,
    /// Rated films the pointwise prompt shows, most recent (TALLRec's 10)
    #[arg(long, default_value_t = 10)]
    rated: usize,
    /// CPU threads for the model [default: all cores]
    #[arg(long)]
    threads: Option<i32>,
    /// Print one JSON object instead of tables
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CandidateSets {
    /// The target and 19 random unseen films (LLMRank)
    Random,
    /// The next-item model's top 20 (LlamaRec); the target may be absent
    Retrieved,
    Both,
}

/// Candidates per set: the protocol's 20.
const N_CANDIDATES: usize = 20;

const SCORERS: [&str; 9] = [
    "random",
    "popularity",
    "next-item",
    "deepfm",
    "crm",
    "llm-listwise",
    "llm-pointwise",
    "crm+listwise",
    "crm+pointwise",
];

#[derive(Debug, Serialize)]
struct Row {
    scorer: String,
    ndcg10: MeanSd,
    ndcg1: MeanSd,
}

#[derive(Debug, Serialize)]
struct SetReport {
    candidates: String,
    seeds: u64,
    /// Share of test users whose target is among the candidates.
    target_present: f64,
    /// The LLM's weight in each blend, fit on validation, and the
    /// validation NDCG@10 at every weight tried.
    blend_weights: BlendWeights,
    rows: Vec<Row>,
}

#[derive(Debug, Serialize, Default)]
struct BlendWeights {
    listwise: Option<f32>,
    pointwise: Option<f32>,
    listwise_curve: Vec<(f32, f64)>,
    pointwise_curve: Vec<(f32, f64)>,
}

#[derive(Debug, Serialize)]
struct LlmRankReport {
    catalog: String,
    model: String,
    users: usize,
    valid_users: usize,
    seeds: u64,
    shuffles: usize,
    sets: Vec<SetReport>,
    /// Wall time of one listwise re-rank of 20 (all its shuffles), ms.
    listwise_p50_ms: f64,
    listwise_p99_ms: f64,
    /// Wall time of scoring 20 candidates pointwise, ms.
    pointwise_p50_ms: Option<f64>,
    /// Prompt tokens of one listwise forward pass, and the share served
    /// from the previous prompt's cache.
    listwise_prompt_tokens: f64,
    listwise_cached_share: f64,
}

/// What one scoring of a set needs, built once per run.
struct Ground {
    catalog: Catalog,
    models: EvalModels,
    scorer: LlmScorer,
    /// Per item: its place in popularity, as a score (higher is more popular).
    popularity: Vec<f32>,
    /// (user, item) → stars.
    stars: HashMap<(u32, u32), f32>,
    rt: tokio::runtime::Runtime,
    listwise_ms: Vec<f64>,
    pointwise_ms: Vec<f64>,
    tokens: (u64, u64, u64),
}

/// All scorers' scores for one candidate set, in candidate order.
struct Scored {
    by: Vec<Option<Vec<f32>>>,
}

pub fn run(home: &Home, args: LlmRankArgs) -> anyhow::Result<()> {
    let report = measure(home, &args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} on {}: {} test users, {} validation users, {} seeds, {} shuffles",
        report.model,
        report.catalog,
        report.users,
        report.valid_users,
        report.seeds,
        report.shuffles
    );
    for set in &report.sets {
        println!(
            "\n{} candidates, {} seeds (target among them for {:.1} % of users); LLM weight in the blend: listwise {}, pointwise {}",
            set.candidates,
            set.seeds,
            100.0 * set.target_present,
            set.blend_weights
                .listwise
                .map_or("-".into(), |w| format!("{w:.1}")),
            set.blend_weights
                .pointwise
                .map_or("-".into(), |w| format!("{w:.1}")),
        );
        println!("{:<15} {:>17} {:>17}", "scorer", "NDCG@10", "NDCG@1");
        for r in &set.rows {
            println!(
                "{:<15} {:>8.4} ± {:.4} {:>8.4} ± {:.4}",
                r.scorer, r.ndcg10.mean, r.ndcg10.sd, r.ndcg1.mean, r.ndcg1.sd
            );
        }
    }
    println!(
        "\nlistwise re-rank of 20 ({} shuffles): p50 {:.0} ms, p99 {:.0} ms; {:.0} prompt tokens a pass, {:.0} % from the cache",
        report.shuffles,
        report.listwise_p50_ms,
        report.listwise_p99_ms,
        report.listwise_prompt_tokens,
        100.0 * report.listwise_cached_share
    );
    if let Some(p) = report.pointwise_p50_ms {
        println!("pointwise scoring of 20: p50 {p:.0} ms");
    }
    Ok(())
}

fn measure(home: &Home, args: &LlmRankArgs) -> anyhow::Result<LlmRankReport> {
    anyhow::ensure!(args.users > 0, "--users must be at least 1");
    anyhow::ensure!(args.seeds > 0, "--seeds must be at least 1");
    let llm: Arc<dyn ChatModel> = match &args.api_model {
        Some(m) => Arc::new(OpenAiModel::new(open::openai_config(m))?),
        None => {
            let path = open::local_model(home, args.model, " first, or pass --api-model")?;
            let mut config = LocalConfig::new(path);
            if let Some(t) = args.threads {
                config.threads = t;
            }
            Arc::new(LocalModel::load(config)?)
        }
    };
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    anyhow::ensure!(
        !catalog.interactions().is_empty(),
        "catalog `{}` has no ratings, so there are no users to rank for; use a catalog with an interaction log, such as ml-100k",
        args.name
    );
    let models = EvalModels::ensure_with_next(
        home,
        &eval_store(home, &args.name),
        &catalog,
        ModelKind::DeepFm,
        default_next(catalog.items().len()),
        &bars,
    )?;
    let mut popularity = vec![0f32; catalog.items().len()];
    let n_pop = models.popularity.len() as f32;
    for (rank, item) in models.popularity.iter().enumerate() {
        popularity[item.index()] = n_pop - rank as f32;
    }
    let stars = catalog
        .interactions()
        .iter()
        .map(|i| ((i.user.0, i.item.0), i.rating))
        .collect();
    // The users: one draw, test users first, validation users after them.
    let mut pool = all_episodes(&catalog);
    pool.shuffle(&mut ChaCha8Rng::seed_from_u64(0));
    let test: Vec<Episode> = pool.iter().take(args.users).cloned().collect();
    let valid: Vec<Episode> = pool
        .iter()
        .skip(args.users)
        .filter_map(validation_episode)
        .take(args.valid_users)
        .collect();
    let mut g = Ground {
        catalog,
        models,
        scorer: LlmScorer::new(llm).with_shuffles(args.shuffles),
        popularity,
        stars,
        rt: crate::runtime()?,
        listwise_ms: Vec::new(),
        pointwise_ms: Vec::new(),
        tokens: (0, 0, 0),
    };
    let kinds: &[CandidateSets] = match args.candidates {
        CandidateSets::Both => &[CandidateSets::Random, CandidateSets::Retrieved],
        CandidateSets::Random => &[CandidateSets::Random],
        CandidateSets::Retrieved => &[CandidateSets::Retrieved],
    };
    let mut sets = Vec::new();
    for &kind in kinds {
        sets.push(one_set(&mut g, args, kind, &test, &valid, &bars)?);
    }
    let (passes, prompt, cached) = g.tokens;
    let listwise = percentiles(g.listwise_ms.clone());
    Ok(LlmRankReport {
        catalog: args.name.clone(),
        model: g.scorer.name(),
        users: test.len(),
        valid_users: valid.len(),
        seeds: args.seeds,
        shuffles: args.shuffles,
        sets,
        listwise_p50_ms: listwise.p50_ms,
        listwise_p99_ms: listwise.p99_ms,
        pointwise_p50_ms: (!g.pointwise_ms.is_empty())
            .then(|| percentiles(g.pointwise_ms.clone()).p50_ms),
        listwise_prompt_tokens: prompt as f64 / passes.max(1) as f64,
        listwise_cached_share: cached as f64 / prompt.max(1) as f64,
    })
}

/// The candidate set of `kind` for an episode under `seed`.
fn candidates(g: &Ground, kind: CandidateSets, e: &Episode, seed: u64) -> Vec<ItemId> {
    match kind {
        CandidateSets::Random => {
            let mut rng =
                ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003) ^ u64::from(e.user.0));
            random_candidates(e, g.catalog.items().len(), N_CANDIDATES, &mut rng)
        }
        _ => {
            let seen: std::collections::HashSet<ItemId> =
                e.seen.iter().chain(&e.history).copied().collect();
            g.models
                .next
                .top_k(&e.history, N_CANDIDATES, |i| !seen.contains(&i))
                .into_iter()
                .map(|s| s.item)
                .collect()
        }
    }
}

/// Every scorer's scores of `cands` for `e` (the blends left `None`).
fn score_set(
    g: &mut Ground,
    e: &Episode,
    cands: &[ItemId],
    seed: u64,
    args: &LlmRankArgs,
) -> anyhow::Result<Scored> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xa5a5 ^ u64::from(e.user.0));
    let random: Vec<f32> = cands.iter().map(|_| rng.random()).collect();
    let popularity: Vec<f32> = cands.iter().map(|i| g.popularity[i.index()]).collect();
    let user = UserContext {
        user: Some(e.user),
        history: &e.history,
    };
    let (signals, _, _) = g.models.funnel.signals(&user, cands, usize::MAX)?;
    anyhow::ensure!(signals.len() == cands.len(), "candidates repeat a film");
    let combine = g.models.funnel.combine();
    let next: Vec<f32> = signals.iter().map(|s| s.pick).collect();
    let deepfm: Vec<f32> = signals.iter().map(|s| s.like).collect();
    let crm: Vec<f32> = signals.iter().map(|s| combine.score(s)).collect();
    let line = |i: &ItemId| g.catalog.item(*i).map(film_line).unwrap_or_default();
    let texts: Vec<String> = cands.iter().map(line).collect();
    let liked: Vec<Film> = e.history[e.history.len().saturating_sub(args.history)..]
        .iter()
        .map(|i| Film {
            line: line(i),
            stars: None,
        })
        .collect();
    let t = Instant::now();
    let list = g.rt.block_on(
        g.scorer
            .listwise(&liked, &texts, seed ^ u64::from(e.user.0)),
    )?;
    g.listwise_ms.push(t.elapsed().as_secs_f64() * 1e3);
    g.tokens.0 += list.orders.len() as u64;
    g.tokens.1 += u64::from(list.prompt_tokens);
    g.tokens.2 += u64::from(list.cached_prompt_tokens);
    let point = if args.no_pointwise {
        None
    } else {
        let rated: Vec<Film> = e.seen[e.seen.len().saturating_sub(args.rated)..]
            .iter()
            .map(|i| Film {
                line: line(i),
                stars: g.stars.get(&(e.user.0, i.0)).map(|s| s.round() as u8),
            })
            .collect();
        let t = Instant::now();
        let p = g.rt.block_on(g.scorer.pointwise(&rated, &texts))?;
        g.pointwise_ms.push(t.elapsed().as_secs_f64() * 1e3);
        Some(p)
    };
    Ok(Scored {
        by: vec![
            Some(random),
            Some(popularity),
            Some(next),
            Some(deepfm),
            Some(crm),
            Some(list.scores),
            point,
            None,
            None,
        ],
    })
}

fn one_set(
    g: &mut Ground,
    args: &LlmRankArgs,
    kind: CandidateSets,
    test: &[Episode],
    valid: &[Episode],
    bars: &Bars,
) -> anyhow::Result<SetReport> {
    let label = match kind {
        CandidateSets::Random => "random",
        _ => "retrieved",
    };
    // The blends' weights, on validation users with seed 0's candidates.
    bars.stage(
        &format!("{label}: fitting the blends on validation users"),
        Some(valid.len() as u64),
    );
    let (mut fit_list, mut fit_point) = (Vec::new(), Vec::new());
    for e in valid {
        let cands = candidates(g, kind, e, 0);
        let s = score_set(g, e, &cands, 0, args)?;
        let case = |llm: &Vec<f32>| BlendCase {
            a: s.by[4].clone().unwrap_or_default(),
            b: llm.clone(),
            candidates: cands.clone(),
            target: e.target,
        };
        if let Some(l) = &s.by[5] {
            fit_list.push(case(l));
        }
        if let Some(p) = &s.by[6] {
            fit_point.push(case(p));
        }
        bars.advance(1);
    }
    bars.finish();
    let mut weights = BlendWeights::default();
    if !fit_list.is_empty() {
        let (w, curve) = fit_blend(&fit_list);
        weights.listwise = Some(w);
        weights.listwise_curve = curve;
    }
    if !fit_point.is_empty() {
        let (w, curve) = fit_blend(&fit_point);
        weights.pointwise = Some(w);
        weights.pointwise_curve = curve;
    }
    // Per seed, per scorer: the mean NDCG@10 and NDCG@1 over test users.
    let seeds = match kind {
        CandidateSets::Random => args.seeds,
        _ => 1,
    };
    let mut per_seed = vec![(Vec::new(), Vec::new()); SCORERS.len()];
    let mut present = 0usize;
    bars.stage(
        &format!("{label}: {} users × {seeds} seeds", test.len()),
        Some(test.len() as u64 * seeds),
    );
    for seed in 0..seeds {
        let mut sums = vec![(0.0f64, 0.0f64); SCORERS.len()];
        for e in test {
            let cands = candidates(g, kind, e, seed + 1);
            if seed == 0 && cands.contains(&e.target) {
                present += 1;
            }
            let mut s = score_set(g, e, &cands, seed + 1, args)?;
            let crm = s.by[4].clone().unwrap_or_default();
            s.by[7] = s.by[5]
                .as_ref()
                .zip(weights.listwise)
                .map(|(l, w)| blend(&crm, l, w));
            s.by[8] = s.by[6]
                .as_ref()
                .zip(weights.pointwise)
                .map(|(p, w)| blend(&crm, p, w));
            for (k, scores) in s.by.iter().enumerate() {
                if let Some(scores) = scores {
                    let place = place_of(scores, &cands, e.target);
                    sums[k].0 += ndcg_at(place, 10);
                    sums[k].1 += ndcg_at(place, 1);
                }
            }
            bars.advance(1);
        }
        for (k, (a, b)) in sums.into_iter().enumerate() {
            per_seed[k].0.push(a / test.len() as f64);
            per_seed[k].1.push(b / test.len() as f64);
        }
    }
    bars.finish();
    let rows = SCORERS
        .iter()
        .zip(per_seed)
        .filter(|(name, _)| !(args.no_pointwise && name.ends_with("pointwise")))
        .map(|(name, (n10, n1))| Row {
            scorer: (*name).to_string(),
            ndcg10: MeanSd::of(&n10),
            ndcg1: MeanSd::of(&n1),
        })
        .collect();
    Ok(SetReport {
        candidates: label.to_string(),
        seeds,
        target_present: present as f64 / test.len().max(1) as f64,
        blend_weights: weights,
        rows,
    })
}
