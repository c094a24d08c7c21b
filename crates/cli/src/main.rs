//! `recagent`: the command-line front door of the recommender agent.
//!
//! This crate only turns flags and environment into the libraries' checked
//! configs, draws progress, and prints results. The work happens in the
//! library crates.

mod agent;
mod bench;
mod bench_similar;
mod chat;
mod data;
mod eval;
mod index;
mod knowledge;
mod model;
mod progress;
mod serve;
mod train;

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
    Chat(chat::ChatArgs),
    /// Ask the agent one thing and print the answer, the items and the trace
    Ask(agent::AskArgs),
    /// Show or forget what the agent remembers about a user
    #[command(subcommand)]
    Profile(agent::ProfileCommand),
    /// Simulated users against each controller and the baselines: Hit@k by turn, reports and plots
    Eval(eval::EvalArgs),
    /// Serve the agent over an OpenAI-compatible HTTP API with per-user keys
    Serve(serve::ServeArgs),
    /// Fetch, import, generate and inspect catalogs
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Measure latency and throughput
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Download and list models
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Build the search indexes of a catalog
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// LLM-written item knowledge (KAR) for recall and the ranker
    #[command(subcommand)]
    Knowledge(knowledge::KnowledgeCommand),
    /// Search a catalog by hand (lexical recall, or title linking with --link)
    Search(index::SearchArgs),
    /// Train a CTR ranker (or the two-tower pre-ranker) on a catalog
    Train(train::TrainArgs),
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
        Command::Chat(args) => chat::run(home, pip, args),
        Command::Ask(args) => agent::ask(home, args),
        Command::Profile(cmd) => agent::profile(home, cmd),
        Command::Eval(args) => eval::run(home, args),
        Command::Serve(args) => serve::run(home, args),
        Command::Data(cmd) => data::run(home, pip, cmd),
        Command::Train(args) => train::run(home, args),
        Command::Index(cmd) => index::run(home, cmd),
        Command::Search(args) => index::search(home, args),
        Command::Knowledge(cmd) => knowledge::run(home, cmd),
        Command::Model(cmd) => model::run(home, pip, cmd),
        Command::Bench(cmd) => bench::run(home, cmd),
    }
}

/// Runs a command as if typed (`["train", "ml-100k"]`), with every flag at
/// its default: how `chat` sets a new machine up with the very commands a
/// user would run.
pub(crate) fn run_command(
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
    let pip = data::pip_from_env();
    let result = home(cli.home).and_then(|home| dispatch(&home, &pip, cli.command));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
