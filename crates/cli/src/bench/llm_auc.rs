//! `recagent bench llm-auc`: pointwise AUC on TALLRec's protocol, the LLM
//! zero-shot beside a CTR model trained on 16, 64, 256 and all samples.
//!
//! Ratings above 3 are positive, the rest negative (TALLRec's rule). One
//! random 8:1:1 split; the test rows are a seeded sample of its test part.
//! Each row's prompt shows the user's last 10 training ratings before it
//! (the talk's zero-shot shape: "Title (year), genres, N stars", then
//! "Will I like X?"), and the LLM's score is P(Yes). The CTR model trains
//! on K random training rows (a new draw and initialisation per seed),
//! stops early on the whole validation part, and is scored on the same
//! test rows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use recagent_catalog::split::{CtrSplit, LabelRule, ctr_split};
use recagent_catalog::store;
use recagent_core::{Home, Labeled, NoProgress, Progress};
use recagent_llm::local::{LocalConfig, LocalModel};
use recagent_llmrank::protocol::MeanSd;
use recagent_llmrank::{Film, LlmScorer, film_line};
use recagent_ranker::metrics::{auc, logloss};
use recagent_ranker::{ModelKind, TrainConfig, train};
use serde::Serialize;

use super::stats::percentiles;
use crate::names::{ChatModelName, RankerName};
use crate::open;
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct LlmAucArgs {
    /// Catalog name (it needs ratings)
    #[arg(default_value = "ml-100k")]
    name: String,
    /// The local model that scores
    #[arg(long, value_enum, default_value = "qwen2.5-0.5b")]
    model: ChatModelName,
    /// Test rows scored (a seeded sample of the split's test part)
    #[arg(long, default_value_t = 200)]
    rows: usize,
    /// Training ratings before each row the prompt shows (TALLRec's 10)
    #[arg(long, default_value_t = 10)]
    history: usize,
    /// Training samples of the CTR model, one run each (0: all)
    #[arg(long, value_delimiter = ',', default_values_t = [16usize, 64, 256, 0])]
    samples: Vec<usize>,
    /// Seeds of each CTR run (the samples drawn and the initialisation)
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// The CTR model
    #[arg(long, value_enum, default_value = "deepfm")]
    ctr: RankerName,
    /// Skip the LLM (the CTR rows alone)
    #[arg(long)]
    no_llm: bool,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

/// TALLRec's labels: above 3 stars positive, the rest negative.
const TALLREC: LabelRule = LabelRule {
    positive_min: 4.0,
    negative_max: 3.0,
};

/// The split's seed.
const SPLIT_SEED: u64 = 2026;

#[derive(Debug, Serialize)]
struct CtrRow {
    samples: String,
    auc: MeanSd,
    logloss: MeanSd,
}

#[derive(Debug, Serialize)]
struct LlmAucReport {
    catalog: String,
    rows: usize,
    positives: usize,
    history: usize,
    llm: Option<LlmRow>,
    ctr_model: String,
    ctr: Vec<CtrRow>,
}

#[derive(Debug, Serialize)]
struct LlmRow {
    model: String,
    auc: f64,
    logloss: f64,
    /// Wall time of one row's forward pass, ms.
    p50_ms: f64,
}

pub fn run(home: &Home, args: LlmAucArgs) -> anyhow::Result<()> {
    let report = measure(home, &args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{}: {} test rows ({} positive), the last {} training ratings before each",
        report.catalog, report.rows, report.positives, report.history
    );
    println!("{:<24} {:>17} {:>17}", "scorer", "AUC", "LogLoss");
    if let Some(l) = &report.llm {
        println!(
            "{:<24} {:>8.4}          {:>8.4}           ({:.0} ms a row)",
            format!("{} zero-shot", l.model),
            l.auc,
            l.logloss,
            l.p50_ms
        );
    }
    for r in &report.ctr {
        println!(
            "{:<24} {:>8.4} ± {:.4} {:>8.4} ± {:.4}",
            format!("{}, {} samples", report.ctr_model, r.samples),
            r.auc.mean,
            r.auc.sd,
            r.logloss.mean,
            r.logloss.sd
        );
    }
    Ok(())
}

fn measure(home: &Home, args: &LlmAucArgs) -> anyhow::Result<LlmAucReport> {
    let kind: ModelKind = args.ctr.kind();
    anyhow::ensure!(args.rows > 0, "--rows must be at least 1");
    let bars = Bars::new();
    let catalog = store::load(home, &args.name, &bars)?;
    anyhow::ensure!(
        !catalog.interactions().is_empty(),
        "catalog `{}` has no ratings; use a catalog with an interaction log, such as ml-100k",
        args.name
    );
    let split = ctr_split(&catalog, TALLREC, SPLIT_SEED);
    let mut test = split.test.clone();
    test.shuffle(&mut ChaCha8Rng::seed_from_u64(0));
    test.truncate(args.rows);
    let labels: Vec<bool> = test.iter().map(|r| r.label).collect();
    let llm = if args.no_llm {
        None
    } else {
        Some(llm_row(
            home, args, &catalog, &split, &test, &labels, &bars,
        )?)
    };
    let mut ctr = Vec::new();
    for &k in &args.samples {
        bars.stage(
            &format!(
                "{} on {} samples",
                kind.name(),
                if k == 0 { "all".into() } else { k.to_string() }
            ),
            Some(args.seeds),
        );
        let (mut aucs, mut losses) = (Vec::new(), Vec::new());
        for seed in 0..args.seeds {
            let mut train_rows = split.train.clone();
            if k > 0 {
                train_rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
                train_rows.truncate(k);
            }
            let sub = CtrSplit {
                train: train_rows,
                valid: split.valid.clone(),
                test: test.clone(),
            };
            let cfg = TrainConfig {
                seed: SPLIT_SEED + seed,
                ..TrainConfig::new(kind)
            };
            let (_, report) = train(&catalog, &sub, &cfg, None, &NoProgress)?;
            aucs.push(report.test_auc);
            losses.push(report.test_logloss);
            bars.advance(1);
        }
        bars.finish();
        ctr.push(CtrRow {
            samples: if k == 0 {
                format!("all ({})", split.train.len())
            } else {
                k.to_string()
            },
            auc: MeanSd::of(&aucs),
            logloss: MeanSd::of(&losses),
        });
    }
    Ok(LlmAucReport {
        catalog: args.name.clone(),
        rows: test.len(),
        positives: labels.iter().filter(|l| **l).count(),
        history: args.history,
        llm,
        ctr_model: kind.name().to_string(),
        ctr,
    })
}

/// The LLM's P(Yes) for every test row, and its AUC.
fn llm_row(
    home: &Home,
    args: &LlmAucArgs,
    catalog: &recagent_core::Catalog,
    split: &CtrSplit,
    test: &[Labeled],
    labels: &[bool],
    bars: &Bars,
) -> anyhow::Result<LlmRow> {
    let path = open::local_model(home, args.model, " first, or pass --no-llm")?;
    let scorer = LlmScorer::new(Arc::new(LocalModel::load(LocalConfig::new(path))?));
    let stars: HashMap<(u32, u32), f32> = catalog
        .interactions()
        .iter()
        .map(|i| ((i.user.0, i.item.0), i.rating))
        .collect();
    // Each user's training rows, oldest first: the only history a prompt shows.
    let mut by_user: HashMap<u32, Vec<&Labeled>> = HashMap::new();
    for r in &split.train {
        by_user.entry(r.user.0).or_default().push(r);
    }
    for v in by_user.values_mut() {
        v.sort_by_key(|r| (r.timestamp, r.item));
    }
    let line = |i: recagent_core::ItemId| catalog.item(i).map(film_line).unwrap_or_default();
    let rt = crate::runtime()?;
    bars.stage("the LLM, zero-shot", Some(test.len() as u64));
    let (mut probs, mut ms) = (Vec::with_capacity(test.len()), Vec::new());
    for row in test {
        let before: Vec<&&Labeled> = by_user
            .get(&row.user.0)
            .map(|v| v.iter().filter(|r| r.timestamp <= row.timestamp).collect())
            .unwrap_or_default();
        let films: Vec<Film> = before[before.len().saturating_sub(args.history)..]
            .iter()
            .map(|r| Film {
                line: line(r.item),
                stars: stars.get(&(r.user.0, r.item.0)).map(|s| s.round() as u8),
            })
            .collect();
        let t = Instant::now();
        let p = rt.block_on(scorer.pointwise(&films, &[line(row.item)]))?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        probs.push(p[0]);
        bars.advance(1);
    }
    bars.finish();
    Ok(LlmRow {
        model: args.model.spec().id.to_string(),
        auc: auc(&probs, labels).unwrap_or(0.5),
        logloss: logloss(&probs, labels),
        p50_ms: percentiles(ms).p50_ms,
    })
}
