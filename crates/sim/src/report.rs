//! Reports of an evaluation run: `report.json` (deterministic: the same
//! seed and cassettes give the same bytes), `timings.json` (wall-clock
//! figures, apart), `episodes.jsonl`, `report.md` and two SVG plots drawn
//! with plotters.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;
use recagent_core::{Catalog, ItemJson, Stage, UserId};
use serde::{Deserialize, Serialize};

use crate::crm::SplitManifest;
use crate::{EpisodeResult, Error, Result, Summary, TurnTiming};

/// One controller or baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmReport {
    /// "popularity", "crm-only", or a controller ("rules", "local", "api").
    pub name: String,
    /// "baseline" (one list, no conversation) or "agent".
    pub kind: String,
    #[serde(flatten)]
    pub summary: Summary,
}

/// The deterministic report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub catalog: String,
    pub seed: u64,
    /// "rules", "llm" or "target-free".
    pub simulator: String,
    pub k: usize,
    pub max_turns: usize,
    pub episodes: usize,
    /// Which history the episodes carry: "all rated before the target" or
    /// "last N".
    #[serde(default)]
    pub history: String,
    /// The leak-free ranker every arm used.
    pub ranker: SplitManifest,
    /// The next-item model alone, full ranking of the episodes' targets,
    /// under both maskings (`rated` is the one every arm here uses).
    #[serde(default)]
    pub next_masked: Option<recagent_ranker::MaskedMetrics>,
    pub arms: Vec<ArmReport>,
}

/// p50, p95 and max, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Quantiles {
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Quantiles {
    /// Nearest-rank quantiles of `ms` (zeros when empty).
    pub fn of(ms: &[f64]) -> Self {
        if ms.is_empty() {
            return Self::default();
        }
        let mut v = ms.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
            (v[rank - 1] * 100.0).round() / 100.0
        };
        Self {
            p50: at(0.5),
            p95: at(0.95),
            max: at(1.0),
        }
    }
}

/// Wall-clock figures of one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmTimings {
    pub name: String,
    pub wall_s: f64,
    pub episodes_per_s: f64,
    /// One turn of the agent (or one list of a baseline).
    pub turn_ms: Quantiles,
    /// Per funnel stage: recall, filter, pre-rank, rank.
    pub stage_ms: BTreeMap<String, Quantiles>,
    /// Model time per turn (controllers with a model).
    pub model_ms: Quantiles,
    /// Every turn's latency, for the plot.
    #[serde(skip)]
    pub turn_samples: Vec<f64>,
}

impl ArmTimings {
    pub fn of(name: &str, wall_s: f64, episodes: usize, turns: &[TurnTiming]) -> Self {
        let turn_samples: Vec<f64> = turns.iter().map(|t| t.total_micros as f64 / 1e3).collect();
        let mut stages: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for t in turns {
            for (stage, micros) in &t.stages {
                stages
                    .entry(stage_name(*stage).to_owned())
                    .or_default()
                    .push(*micros as f64 / 1e3);
            }
        }
        let model: Vec<f64> = turns
            .iter()
            .map(|t| t.model_ms)
            .filter(|m| *m > 0.0)
            .collect();
        Self {
            name: name.to_owned(),
            wall_s: (wall_s * 1000.0).round() / 1000.0,
            episodes_per_s: if wall_s > 0.0 {
                crate::round4(episodes as f64 / wall_s)
            } else {
                0.0
            },
            turn_ms: Quantiles::of(&turn_samples),
            stage_ms: stages
                .into_iter()
                .map(|(k, v)| (k, Quantiles::of(&v)))
                .collect(),
            model_ms: Quantiles::of(&model),
            turn_samples,
        }
    }
}

fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Recall => "recall",
        Stage::Filter => "filter",
        Stage::PreRank => "prerank",
        Stage::Rank => "rank",
    }
}

/// Wall-clock figures of a run (not part of the identical report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub wall_s: f64,
    pub episodes_per_s: f64,
    pub arms: Vec<ArmTimings>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Report {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    // Written whole then renamed, so a reader never sees half a report.
    recagent_core::fsx::write_atomic(path, text).map_err(|e| io_err(path, e))
}

/// The files [`write_all`] writes.
pub const FILES: &[&str] = &[
    "report.json",
    "timings.json",
    "episodes.jsonl",
    "report.md",
    "hit_at_10.svg",
    "latency.svg",
];

/// Writes every report file into `dir` (created if missing).
pub fn write_all(
    dir: &Path,
    report: &Report,
    timings: &Timings,
    episodes: &[(String, Vec<EpisodeResult>)],
    catalog: &Catalog,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    write(&dir.join("report.json"), &(pretty(dir, report)? + "\n"))?;
    write(&dir.join("timings.json"), &(pretty(dir, timings)? + "\n"))?;
    let mut lines = String::new();
    for (arm, results) in episodes {
        for r in results {
            let line = EpisodeLine::new(arm, r, catalog);
            lines.push_str(&serde_json::to_string(&line).map_err(|e| io_err(dir, e))?);
            lines.push('\n');
        }
    }
    write(&dir.join("episodes.jsonl"), &lines)?;
    write(&dir.join("report.md"), &markdown(report, timings))?;
    write(&dir.join("hit_at_10.svg"), &hit_plot(report)?)?;
    write(&dir.join("latency.svg"), &latency_plot(timings)?)?;
    Ok(())
}

/// One line of `episodes.jsonl`: the episode with its items in the shape
/// every item recagent writes ([`ItemJson`], `id` the catalog's id) and the
/// user by the catalog's id.
#[derive(Debug, Serialize)]
struct EpisodeLine<'a> {
    arm: &'a str,
    user: String,
    target: Option<ItemJson>,
    hit_turn: Option<usize>,
    hit_rank: Option<usize>,
    /// The last turn's ranked pool, best first, as catalog ids.
    final_pool: Vec<&'a str>,
    statements: usize,
    true_statements: usize,
    turns: Vec<TurnLine<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    voice: Option<crate::VoiceStats>,
}

#[derive(Debug, Serialize)]
struct TurnLine<'a> {
    utterance: &'a str,
    leaked: bool,
    leaked_after_guard: bool,
    shown: Vec<ItemJson>,
    prompt_tokens: u32,
    completion_tokens: u32,
    failed_tool_calls: u32,
    repairs: u32,
    model_failures: u32,
}

impl<'a> EpisodeLine<'a> {
    fn new(arm: &'a str, r: &'a EpisodeResult, catalog: &'a Catalog) -> Self {
        Self {
            arm,
            user: catalog
                .user(UserId(r.user))
                .map_or_else(|| r.user.to_string(), |u| u.key.clone()),
            target: catalog.item(r.target).map(ItemJson::of),
            hit_turn: r.hit_turn,
            hit_rank: r.hit_rank,
            final_pool: r
                .final_pool
                .iter()
                .filter_map(|&i| catalog.item(i))
                .map(|i| i.key.as_str())
                .collect(),
            statements: r.statements,
            true_statements: r.true_statements,
            turns: r
                .turns
                .iter()
                .map(|t| TurnLine {
                    utterance: &t.utterance,
                    leaked: t.leaked,
                    leaked_after_guard: t.leaked_after_guard,
                    shown: ItemJson::list(catalog, &t.shown),
                    prompt_tokens: t.prompt_tokens,
                    completion_tokens: t.completion_tokens,
                    failed_tool_calls: t.failed_tool_calls,
                    repairs: t.repairs,
                    model_failures: t.model_failures,
                })
                .collect(),
            voice: r.voice,
        }
    }
}

fn pretty<T: Serialize>(dir: &Path, v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| io_err(dir, e))
}

fn pct(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), pct)
}

/// The report as Markdown: one table of quality, one of latency.
pub fn markdown(report: &Report, timings: &Timings) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Evaluation of {}: {} episodes, {} simulator, seed {}\n",
        report.catalog, report.episodes, report.simulator, report.seed
    );
    let _ = writeln!(
        s,
        "Each turn shows {} items; at most {} turns. The ranker is {}{} trained with all {} episode targets held out (test AUC {:.4}).\n",
        report.k,
        report.max_turns,
        report.ranker.model,
        if report.ranker.extras.is_empty() {
            String::new()
        } else {
            format!(" (+{})", report.ranker.extras.join(", +"))
        },
        report.ranker.held_out,
        report.ranker.test_auc
    );
    let _ = writeln!(
        s,
        "History: {}. Every list leaves out what the user has seen. The next-item model is {} (pick weight {} in pick^a · like^(1−a), fit on {} validation episodes).\n",
        if report.history.is_empty() {
            "all rated before the target"
        } else {
            &report.history
        },
        report.ranker.next.kind.name(),
        report.ranker.combine.pick_weight,
        report.ranker.valid_episodes
    );
    if let Some(m) = &report.next_masked {
        let _ = writeln!(
            s,
            "The next-item model alone, ranking every film for the {} episodes' targets: Hit@10 {:.1} % with every film rated before the target left out (as in every arm here), {:.1} % with only the earlier positives left out (RecBole's masking).\n",
            m.rated.users,
            100.0 * m.rated.hit10,
            100.0 * m.positives.hit10
        );
    }
    hit_table(&mut s, report);
    hit_intervals(&mut s, report);
    latency_table(&mut s, report, timings);
    s
}

/// Hit@k, recall, leakage and cost per arm.
fn hit_table(s: &mut String, report: &Report) {
    let turns: Vec<String> = (1..=report.max_turns).map(|t| format!("t{t}")).collect();
    let _ = writeln!(
        s,
        "| arm | Hit@1 | Hit@5 | Hit@10 | Hit@10 by turn ({}) | AvgTurns | R@1 | R@10 | R@50 | leak before/after guard | sim truth | tokens/turn | failed calls | repairs |",
        turns.join(" ")
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for a in &report.arms {
        let m = &a.summary;
        let last = |v: &[f64]| v.last().copied().unwrap_or(0.0);
        let by_turn: Vec<String> = m.hit_at_10.iter().map(|x| pct(*x)).collect();
        let leak = match (m.leakage_rate, m.leakage_rate_after_guard) {
            (Some(b), Some(a)) => format!("{} / {}", pct(b), pct(a)),
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} | {:.0} | {} | {} |",
            a.name,
            pct(last(&m.hit_at_1)),
            pct(last(&m.hit_at_5)),
            pct(last(&m.hit_at_10)),
            by_turn.join(" "),
            m.avg_turns,
            pct(m.recall_at_1),
            pct(m.recall_at_10),
            pct(m.recall_at_50),
            leak,
            opt_pct(m.sim_truth_rate),
            m.prompt_tokens_per_turn + m.completion_tokens_per_turn,
            m.failed_tool_calls,
            m.repaired_answers
        );
    }
    let _ = writeln!(
        s,
        "\nHit@k is cumulative over turns, in percent; AvgTurns counts a miss as {}.\n",
        report.max_turns + 1
    );
}

/// Hit@10 by turn with bootstrap intervals, and the plot.
fn hit_intervals(s: &mut String, report: &Report) {
    let turns: Vec<String> = (1..=report.max_turns).map(|t| format!("t{t}")).collect();
    let _ = writeln!(s, "Hit@10 by turn with 95 % bootstrap intervals:\n");
    let _ = writeln!(s, "| arm | {} |", turns.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(report.max_turns));
    for a in &report.arms {
        let cells: Vec<String> = a
            .summary
            .hit_at_10
            .iter()
            .zip(&a.summary.hit_at_10_ci)
            .map(|(h, (lo, hi))| format!("{} [{}, {}]", pct(*h), pct(*lo), pct(*hi)))
            .collect();
        let _ = writeln!(s, "| {} | {} |", a.name, cells.join(" | "));
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "![Hit@10 by turn](hit_at_10.svg)\n");
}

/// Episodes per second and stage latencies per arm, and the plot.
fn latency_table(s: &mut String, report: &Report, timings: &Timings) {
    let _ = writeln!(
        s,
        "## Latency (this machine, this run)\n\n{} episodes in {:.1} s: {:.1} episodes/s.\n",
        report.episodes * report.arms.len(),
        timings.wall_s,
        timings.episodes_per_s
    );
    let _ = writeln!(
        s,
        "| arm | episodes/s | turn p50 ms | turn p95 ms | recall p50 | filter p50 | prerank p50 | rank p50 | model p50 ms |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for t in &timings.arms {
        let st = |k: &str| {
            t.stage_ms
                .get(k)
                .map_or_else(|| "–".into(), |q| format!("{:.2}", q.p50))
        };
        let _ = writeln!(
            s,
            "| {} | {:.1} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
            t.name,
            t.episodes_per_s,
            t.turn_ms.p50,
            t.turn_ms.p95,
            st("recall"),
            st("filter"),
            st("prerank"),
            st("rank"),
            if t.model_ms.p50 > 0.0 {
                format!("{:.0}", t.model_ms.p50)
            } else {
                "–".into()
            }
        );
    }
    let _ = writeln!(s, "\n![Turn latency](latency.svg)");
}

/// Distinct, readable line colours (the first six of the Tableau palette).
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Report {
        path: "plot".into(),
        reason: e.to_string(),
    }
}

/// Hit@10 by turn, one line per arm.
pub fn hit_plot(report: &Report) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let top = report
            .arms
            .iter()
            .flat_map(|a| a.summary.hit_at_10.iter().copied())
            .fold(0.0f64, f64::max);
        let y_max = ((top * 10.0).ceil() / 10.0 + 0.1).min(1.0);
        let turns = report.max_turns as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Hit@10 by turn ({} simulator)", report.simulator),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.8f64..turns + 0.2, 0f64..y_max)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("turn")
            .y_desc("Hit@10 (cumulative)")
            .x_labels(report.max_turns)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .draw()
            .map_err(plot_err)?;
        for (i, arm) in report.arms.iter().enumerate() {
            let color = color(i);
            let points: Vec<(f64, f64)> = arm
                .summary
                .hit_at_10
                .iter()
                .enumerate()
                .map(|(t, h)| ((t + 1) as f64, *h))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(plot_err)?
                .label(arm.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// The distribution of turn latency: one cumulative curve per arm, on a
/// log scale of milliseconds.
pub fn latency_plot(timings: &Timings) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let all = timings
            .arms
            .iter()
            .flat_map(|a| a.turn_samples.iter().copied());
        let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        let (lo, hi) = if hi <= 0.0 {
            (0.01, 1.0)
        } else {
            ((lo.max(0.001)) / 1.5, hi * 1.5)
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Turn latency (cumulative share of turns)",
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..1f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("milliseconds per turn (log scale)")
            .y_desc("share of turns")
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .draw()
            .map_err(plot_err)?;
        for (i, arm) in timings.arms.iter().enumerate() {
            if arm.turn_samples.is_empty() {
                continue;
            }
            let color = color(i);
            let mut v = arm.turn_samples.clone();
            v.sort_by(f64::total_cmp);
            let n = v.len() as f64;
            let points: Vec<(f64, f64)> = v
                .iter()
                .enumerate()
                .map(|(j, x)| (x.max(lo), (j + 1) as f64 / n))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(plot_err)?
                .label(arm.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}
