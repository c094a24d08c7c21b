//! `recagent bench serve`: concurrent sessions against the server on
//! loopback, each checking that it only ever sees its own user's data.
//! A request the server refuses (429, 503) is retried after its
//! `Retry-After`, a few times; the report counts refusals, whether each
//! said when to come back, and the longest any one request waited.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use recagent_core::Home;
use recagent_memory::Memory;
use recagent_server::{AppState, Keys, Limits};
use serde::Serialize;
use serde_json::{Value, json};

use super::stats::percentile;
use crate::names::ControllerName;
use crate::open::{self, AgentOptions, LimitArgs};
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct ServeBenchArgs {
    /// Catalog name
    #[arg(default_value = "ml-100k")]
    pub name: String,
    /// Concurrent sessions (one user each)
    #[arg(long, default_value_t = 50)]
    pub sessions: usize,
    /// Turns per session
    #[arg(long, default_value_t = 4)]
    pub turns: usize,
    /// The controller every session talks to
    #[arg(long, value_enum, default_value_t = ControllerName::Rules)]
    pub controller: ControllerName,
    /// Tries per turn: a refused request (429, 503) is tried again after
    /// its Retry-After, up to this many times in all
    #[arg(long, default_value_t = 20)]
    pub tries: usize,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub agent: AgentOptions,
}

#[derive(Debug, Serialize)]
struct ServeReport {
    catalog: String,
    controller: String,
    sessions: usize,
    turns: usize,
    requests: usize,
    /// Turns answered (200).
    answered: usize,
    /// Refused for the key's quota or concurrent turns (429).
    refused_429: usize,
    /// Refused for a full model queue (503).
    refused_503: usize,
    /// Refusals without a `Retry-After`.
    refused_without_retry_after: usize,
    /// Turns stopped at the time limit (504).
    timed_out: usize,
    /// Turns given up after refusals, every retry refused too.
    gave_up: usize,
    /// Any other failure.
    errors: usize,
    /// Responses or profiles that held another user's data.
    cross_talk: usize,
    /// The server's time limit per turn.
    bound_ms: f64,
    /// The longest one HTTP request took, refused or answered.
    longest_request_ms: f64,
    /// Answered turns: latency of the request that was answered.
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    wall_s: f64,
    requests_per_s: f64,
    /// Model tokens (prompt + completion) per second over the run.
    tokens_per_s: f64,
    /// Generated tokens per second over the run.
    completion_tokens_per_s: f64,
    /// Turns the local model decodes together (`--model-slots`).
    model_slots: usize,
}

/// What one session says, turn by turn: requests that differ per user, a
/// follow-up, and feedback on the first item.
fn script(n: usize, genres: &[String]) -> Vec<String> {
    let g = &genres[n % genres.len()];
    vec![
        format!("I'd like a {g} movie"),
        "something else".to_owned(),
        format!("a {g} movie from the 1990s"),
        "more like the first one".to_owned(),
    ]
}

pub fn run(home: &Home, args: ServeBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.sessions >= 1 && args.turns >= 1,
        "--sessions and --turns must be at least 1"
    );
    let report = measure(home, &args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print(&report);
    }
    anyhow::ensure!(
        report.cross_talk == 0,
        "{} responses held another user's data",
        report.cross_talk
    );
    Ok(())
}

fn measure(home: &Home, args: &ServeBenchArgs) -> anyhow::Result<ServeReport> {
    let bars = Bars::new();
    let memory = Arc::new(Memory::in_memory()?);
    let agents = open::served_agents(
        home,
        &args.name,
        &[args.controller],
        &args.agent,
        memory,
        args.limits.slots()?,
        &bars,
    )?;
    let model = agents[0].0.clone();
    let catalog_genres: Vec<String> = agents[0]
        .1
        .catalog()
        .genre_vocab()
        .into_iter()
        .filter(|g| g != "unknown")
        .collect();
    anyhow::ensure!(
        !catalog_genres.is_empty(),
        "catalog {} has no genres",
        args.name
    );
    let keys_text: String = (0..args.sessions)
        .map(|n| format!("bench-key-{n:04} user{n}\n"))
        .collect();
    let keys = Keys::parse(&keys_text, "bench")?;
    let limits = args.limits.apply(Limits::default())?;
    let state = Arc::new(AppState::new(agents, keys, limits)?);
    let rt = crate::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(recagent_server::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::new();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for n in 0..args.sessions {
            let http = http.clone();
            let model = model.clone();
            let lines = script(n, &catalog_genres);
            let (turns, tries) = (args.turns, args.tries);
            tasks.push(tokio::spawn(async move {
                session(http, addr, n, &model, &lines, turns, tries).await
            }));
        }
        let mut all = SessionResult::default();
        for t in tasks {
            all.add(t.await.context("a session task failed")?);
        }
        let mut ms = std::mem::take(&mut all.ms);
        let wall_s = started.elapsed().as_secs_f64();
        let _ = stop.send(());
        server.await.context("the server task failed")??;
        ms.sort_by(f64::total_cmp);
        let pct = |q: f64| percentile(&ms, q);
        anyhow::Ok(ServeReport {
            catalog: args.name.clone(),
            controller: model.clone(),
            sessions: args.sessions,
            turns: args.turns,
            requests: all.requests,
            answered: ms.len(),
            refused_429: all.refused_429,
            refused_503: all.refused_503,
            refused_without_retry_after: all.without_retry_after,
            timed_out: all.timed_out,
            gave_up: all.gave_up,
            errors: all.errors,
            cross_talk: all.cross_talk,
            bound_ms: limits.turn_timeout.as_secs_f64() * 1e3,
            longest_request_ms: all.longest_ms,
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            max_ms: ms.last().copied().unwrap_or(0.0),
            wall_s,
            requests_per_s: ms.len() as f64 / wall_s.max(1e-9),
            tokens_per_s: all.tokens as f64 / wall_s.max(1e-9),
            completion_tokens_per_s: all.completion_tokens as f64 / wall_s.max(1e-9),
            model_slots: args.limits.slots()?,
        })
    })
}

fn print(report: &ServeReport) {
    println!(
        "{} sessions × {} turns on {} ({}): {} requests, {} answered, {} errors, {} cross-talk",
        report.sessions,
        report.turns,
        report.catalog,
        report.controller,
        report.requests,
        report.answered,
        report.errors,
        report.cross_talk
    );
    println!(
        "refused: {} × 429, {} × 503 ({} without Retry-After); {} timed out, {} given up",
        report.refused_429,
        report.refused_503,
        report.refused_without_retry_after,
        report.timed_out,
        report.gave_up
    );
    println!(
        "answered in p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; longest request {:.1} ms (bound {:.0} ms)",
        report.p50_ms, report.p99_ms, report.max_ms, report.longest_request_ms, report.bound_ms
    );
    println!(
        "{:.2} answers/s, {:.1} model tokens/s ({:.1} generated) over {:.1} s, {} model slots",
        report.requests_per_s,
        report.tokens_per_s,
        report.completion_tokens_per_s,
        report.wall_s,
        report.model_slots
    );
}

#[derive(Debug, Default)]
struct SessionResult {
    /// Latency of each answered turn's last request.
    ms: Vec<f64>,
    requests: usize,
    refused_429: usize,
    refused_503: usize,
    without_retry_after: usize,
    timed_out: usize,
    gave_up: usize,
    errors: usize,
    cross_talk: usize,
    longest_ms: f64,
    tokens: u64,
    completion_tokens: u64,
}

impl SessionResult {
    fn add(&mut self, o: SessionResult) {
        self.ms.extend(o.ms);
        self.requests += o.requests;
        self.refused_429 += o.refused_429;
        self.refused_503 += o.refused_503;
        self.without_retry_after += o.without_retry_after;
        self.timed_out += o.timed_out;
        self.gave_up += o.gave_up;
        self.errors += o.errors;
        self.cross_talk += o.cross_talk;
        self.longest_ms = self.longest_ms.max(o.longest_ms);
        self.tokens += o.tokens;
        self.completion_tokens += o.completion_tokens;
    }
}

/// One turn: the request, retried after each refusal's `Retry-After`.
/// Returns the answer, if one came.
async fn turn(
    http: &reqwest::Client,
    addr: SocketAddr,
    key: &str,
    body: &Value,
    tries: usize,
    out: &mut SessionResult,
) -> Option<Value> {
    for _ in 0..tries.max(1) {
        let started = Instant::now();
        out.requests += 1;
        let r = http
            .post(format!("http://{addr}/v1/chat/completions"))
            .bearer_auth(key)
            .json(body)
            .send()
            .await;
        let r = match r {
            Ok(r) => r,
            Err(_) => {
                out.errors += 1;
                return None;
            }
        };
        let status = r.status().as_u16();
        let retry_after = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let v: Option<Value> = r.json().await.ok();
        let ms = started.elapsed().as_secs_f64() * 1e3;
        out.longest_ms = out.longest_ms.max(ms);
        match status {
            200 => {
                out.ms.push(ms);
                return v;
            }
            429 | 503 => {
                if status == 429 {
                    out.refused_429 += 1;
                } else {
                    out.refused_503 += 1;
                }
                let Some(after) = retry_after else {
                    out.without_retry_after += 1;
                    return None;
                };
                tokio::time::sleep(Duration::from_secs(after)).await;
            }
            504 => {
                out.timed_out += 1;
                return None;
            }
            _ => {
                out.errors += 1;
                return None;
            }
        }
    }
    out.gave_up += 1;
    None
}

/// One user's turns, then feedback and a profile check: every response must
/// name this user, and the profile must hold this user's like only.
async fn session(
    http: reqwest::Client,
    addr: SocketAddr,
    n: usize,
    model: &str,
    lines: &[String],
    turns: usize,
    tries: usize,
) -> SessionResult {
    let key = format!("bench-key-{n:04}");
    let me = format!("user{n}");
    let mut out = SessionResult::default();
    let mut first_item: Option<String> = None;
    let mut shown: std::collections::HashSet<String> = std::collections::HashSet::new();
    for t in 0..turns {
        let text = &lines[t % lines.len()];
        let body = json!({"model": model, "messages": [{"role": "user", "content": text}]});
        let Some(v) = turn(&http, addr, &key, &body, tries, &mut out).await else {
            continue;
        };
        out.tokens += v["usage"]["total_tokens"].as_u64().unwrap_or(0);
        out.completion_tokens += v["usage"]["completion_tokens"].as_u64().unwrap_or(0);
        if v["recagent"]["user"] != json!(me) {
            out.cross_talk += 1;
        }
        if first_item.is_none() {
            first_item = v["recagent"]["items"][0]["id"].as_str().map(str::to_owned);
        }
        for i in v["recagent"]["items"].as_array().into_iter().flatten() {
            if let Some(k) = i["id"].as_str() {
                shown.insert(k.to_owned());
            }
        }
    }
    if let Some(item) = first_item {
        let liked = http
            .post(format!("http://{addr}/v1/feedback"))
            .bearer_auth(&key)
            .json(&json!({"item": item, "feedback": "like"}))
            .send()
            .await;
        let profile: Option<Value> = match liked {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            _ => None,
        };
        match profile {
            None => out.errors += 1,
            Some(p) => {
                // Everything this user likes was shown to this user, and
                // the like just sent is there.
                let liked: Vec<&str> = p["liked"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|i| i["id"].as_str()).collect())
                    .unwrap_or_default();
                if p["user"] != json!(me)
                    || !liked.contains(&item.as_str())
                    || liked.iter().any(|k| !shown.contains(*k))
                {
                    out.cross_talk += 1;
                }
            }
        }
    }
    out
}
