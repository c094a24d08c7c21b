//! `recagent`: the command-line front door of the recommender agent.
//!
//! This crate only turns flags and environment into the libraries' checked
//! configs, draws progress, and prints results. The work happens in the
//! library crates.
//!
//! Here are the top-level flags and the dispatch. Each command lives in
//! `cmd/`, each benchmark in `bench/`; what they share is in `open` (how
//! to open things from the home), `names` (the values flags take), `out`
//! (how turns and items are printed) and `progress` (the bars).

mod bench;
mod cmd;
mod names;
mod open;
mod out;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use recagent_core::Home;

/// A conversational recommender agent.
#[derive(Debug, Parser)]
#[command(
    name = "recagent",
    version,
    about = "A conversational recommender agent: catalogs, retrieval, ranking and an LLM controller",
    propagate_version = true
)]
struct Cli {
    /// Where data, indexes and models live [default: ~/.cache/recagent]
    #[arg(
        long,
        global = true,
        env = "RECAGENT_HOME",
        hide_env_values = true,
        value_name = "DIR"
    )]
    home: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Chat with the agent in the terminal (sets a new machine up first)
    Chat(cmd::chat::ChatArgs),
    /// Ask the agent one thing and print the answer, the items and the trace
    Ask(cmd::ask::AskArgs),
    /// Show or forget what the agent remembers about a user
    #[command(subcommand)]
    Profile(cmd::profile::ProfileCommand),
    /// Simulated users against each controller and the baselines: Hit@k by turn, reports and plots
    Eval(cmd::eval::EvalArgs),
    /// Serve the agent over an OpenAI-compatible HTTP API with per-user keys
    Serve(cmd::serve::ServeArgs),
    /// Serve the agent as an MCP server on stdio, for hosts such as Claude Desktop
    Mcp(cmd::mcp::McpArgs),
    /// Fetch, import, generate and inspect catalogs
    #[command(subcommand)]
    Data(cmd::data::DataCommand),
    /// Measure latency and throughput
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Download and list models
    #[command(subcommand)]
    Model(cmd::model::ModelCommand),
    /// Build the search indexes of a catalog
    #[command(subcommand)]
    Index(cmd::index::IndexCommand),
    /// LLM-written item knowledge (KAR) for recall and the ranker
    #[command(subcommand)]
    Knowledge(cmd::knowledge::KnowledgeCommand),
    /// Search a catalog by hand (lexical recall, or title linking with --link)
    Search(cmd::search::SearchArgs),
    /// Train a CTR ranker (or the two-tower pre-ranker) on a catalog
    Train(cmd::train::TrainArgs),
}

fn home(cli_home: Option<PathBuf>) -> anyhow::Result<Home> {
    if let Some(dir) = cli_home {
        return Ok(Home::new(dir));
    }
    let user_home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("cannot find a home folder: set RECAGENT_HOME or pass --home DIR")?;
    Ok(Home::new(
        PathBuf::from(user_home).join(".cache").join("recagent"),
    ))
}

/// The runtime the CLI drives the async library calls on. Libraries own no
/// runtime; the binary blocks on this one.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn dispatch(
    home: &Home,
    pip: &recagent_catalog::fetch::Pip,
    command: Command,
) -> anyhow::Result<()> {
    match command {
        Command::Chat(args) => cmd::chat::run(home, &|argv| run_command(home, pip, argv), args),
        Command::Ask(args) => cmd::ask::run(home, args),
        Command::Profile(c) => cmd::profile::run(home, c),
        Command::Eval(args) => cmd::eval::run(home, args),
        Command::Serve(args) => cmd::serve::run(home, args),
        Command::Mcp(args) => cmd::mcp::run(home, args),
        Command::Data(c) => cmd::data::run(home, pip, c),
        Command::Train(args) => cmd::train::run(home, args),
        Command::Index(c) => cmd::index::run(home, c),
        Command::Search(args) => cmd::search::run(home, args),
        Command::Knowledge(c) => cmd::knowledge::run(home, c),
        Command::Model(c) => cmd::model::run(home, pip, c),
        Command::Bench(c) => bench::run(home, c),
    }
}

/// Runs a command as if typed (`["train", "ml-100k"]`), with every flag at
/// its default: how `chat` sets a new machine up with the very commands a
/// user would run (it is handed this function, so that no command imports
/// another).
fn run_command(
    home: &Home,
    pip: &recagent_catalog::fetch::Pip,
    args: &[&str],
) -> anyhow::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("recagent").chain(args.iter().copied()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    dispatch(home, pip, cli.command)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RECAGENT_LOG")
                // Qdrant Edge logs start-up notes at warn level that say
                // nothing to a user; its errors still show.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,qdrant_edge=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // The libraries read no environment; what they need from it is read here.
    let pip = open::pip_from_env();
    let result = home(cli.home).and_then(|home| dispatch(&home, &pip, cli.command));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {

    /// Every `crate::NAME` and `super::NAME` a file names.
    fn paths<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.match_indices(prefix)
            .map(|(at, _)| {
                let rest = &text[at + prefix.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect()
    }

    /// The module rule of ARCHITECTURE.md: a command or a benchmark uses
    /// only the shared modules, so no cycle can form between them.
    #[test]
    fn commands_and_benchmarks_import_only_the_shared_modules() {
        // Where `cargo test` runs it, not where it was built.
        let src = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(
                || env!("CARGO_MANIFEST_DIR").into(),
                std::path::PathBuf::from,
            )
            .join("src");
        let mut checked = 0;
        for (dir, shared_within) in [("cmd", &[][..]), ("bench", &["stats"][..])] {
            for entry in std::fs::read_dir(src.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                let file = path.display();
                for name in paths(&text, "crate::") {
                    assert!(
                        ["open", "names", "out", "progress", "runtime"].contains(&name),
                        "{file} uses crate::{name}; commands and benchmarks use only open, names, out, progress and runtime (a grouped `crate::{{…}}` is not allowed either)"
                    );
                }
                if !path.ends_with("mod.rs") {
                    for name in paths(&text, "super::") {
                        assert!(
                            shared_within.contains(&name),
                            "{file} uses super::{name}: no command or benchmark imports another"
                        );
                    }
                }
                checked += 1;
            }
        }
        assert!(
            checked >= 20,
            "only {checked} files under src/cmd and src/bench"
        );
    }
}
