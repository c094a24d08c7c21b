//! `recagent bench serve`: concurrent sessions against the server on
//! loopback, each checking that it only ever sees its own user's data.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use recagent_core::Home;
use recagent_memory::Memory;
use recagent_server::{AppState, Keys, Limits};
use serde::Serialize;
use serde_json::{Value, json};

use super::stats::percentile;
use crate::names::ControllerName;
use crate::open::{self, AgentOptions};
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
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
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
    errors: usize,
    /// Responses or profiles that held another user's data.
    cross_talk: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    wall_s: f64,
    requests_per_s: f64,
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
    let state = Arc::new(AppState::new(agents, keys, Limits::default())?);
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
            let turns = args.turns;
            tasks.push(tokio::spawn(async move {
                session(http, addr, n, &model, &lines, turns).await
            }));
        }
        let mut ms = Vec::new();
        let (mut errors, mut cross_talk) = (0, 0);
        for t in tasks {
            let r = t.await.context("a session task failed")?;
            ms.extend(r.ms);
            errors += r.errors;
            cross_talk += r.cross_talk;
        }
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
            requests: ms.len() + errors,
            errors,
            cross_talk,
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            max_ms: ms.last().copied().unwrap_or(0.0),
            wall_s,
            requests_per_s: ms.len() as f64 / wall_s.max(1e-9),
        })
    })
}

fn print(report: &ServeReport) {
    println!(
        "{} sessions × {} turns on {} ({}): {} requests, {} errors, {} cross-talk",
        report.sessions,
        report.turns,
        report.catalog,
        report.controller,
        report.requests,
        report.errors,
        report.cross_talk
    );
    println!(
        "latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {:.1} requests/s over {:.1} s",
        report.p50_ms, report.p99_ms, report.max_ms, report.requests_per_s, report.wall_s
    );
}

struct SessionResult {
    ms: Vec<f64>,
    errors: usize,
    cross_talk: usize,
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
) -> SessionResult {
    let key = format!("bench-key-{n:04}");
    let me = format!("user{n}");
    let mut out = SessionResult {
        ms: Vec::new(),
        errors: 0,
        cross_talk: 0,
    };
    let mut first_item: Option<String> = None;
    let mut shown: std::collections::HashSet<String> = std::collections::HashSet::new();
    for t in 0..turns {
        let text = &lines[t % lines.len()];
        let started = Instant::now();
        let r = http
            .post(format!("http://{addr}/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&json!({"model": model, "messages": [{"role": "user", "content": text}]}))
            .send()
            .await;
        let v: Option<Value> = match r {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            _ => None,
        };
        let Some(v) = v else {
            out.errors += 1;
            continue;
        };
        out.ms.push(started.elapsed().as_secs_f64() * 1e3);
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
