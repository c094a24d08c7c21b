//! `recagent serve`: the agent over an OpenAI-compatible HTTP API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use recagent_core::Home;
use recagent_server::{AppState, Keys, Limits};

use crate::names::ControllerName;
use crate::open::{self, AgentOptions, LimitArgs};
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Catalog name
    #[arg(default_value = "ml-100k")]
    pub name: String,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// API keys: lines of `KEY USER` [default: $RECAGENT_HOME/server/keys.txt]
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Controllers to serve, comma-separated; each is a `model` name
    /// (`rules`, `local`, or the --api-model name for `api`); the first is
    /// the default
    #[arg(long, value_enum, value_delimiter = ',', default_value = "rules")]
    pub controller: Vec<ControllerName>,
    /// Largest request body in bytes
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_body: usize,
    /// Most messages in one request
    #[arg(long, default_value_t = 64)]
    pub max_messages: usize,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub agent: AgentOptions,
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("shutting down: finishing running turns");
}

pub fn run(home: &Home, args: ServeArgs) -> anyhow::Result<()> {
    let keys_path = args.keys.clone().unwrap_or_else(|| home.server_keys_file());
    anyhow::ensure!(
        keys_path.is_file(),
        "no keys file at {0}; create one with a line of `KEY USER` per user, e.g.\n  mkdir -p {1} && echo \"$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n') alice\" >> {0}",
        keys_path.display(),
        keys_path
            .parent()
            .map_or_else(|| ".".into(), |p| p.display().to_string())
    );
    let keys = Keys::load(&keys_path)?;
    let limits = args.limits.apply(Limits {
        max_body_bytes: args.max_body,
        max_messages: args.max_messages,
        ..Limits::default()
    })?;
    let bars = Bars::new();
    let memory = Arc::new(open::memory(home, &args.name)?);
    let agents = open::served_agents(
        home,
        &args.name,
        &args.controller,
        &args.agent,
        memory,
        args.limits.slots()?,
        &bars,
    )?;
    let names: Vec<String> = agents.iter().map(|(n, _)| n.clone()).collect();
    let state = Arc::new(AppState::new(agents, keys.clone(), limits)?);
    let rt = crate::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("listening on {}", args.addr))?;
        eprintln!(
            "serving {} on http://{}/v1 (models: {}; {} keys from {})",
            args.name,
            listener.local_addr()?,
            names.join(", "),
            keys.len(),
            keys_path.display()
        );
        recagent_server::serve(listener, state, shutdown_signal()).await?;
        anyhow::Ok(())
    })
}
