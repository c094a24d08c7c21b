//! A synthetic catalog, rules (and scripted) agents over one memory, and a
//! server on a loopback port.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use recagent_agent::{Agent, Controller, LexicalRecall, Recall};
use recagent_catalog::synth::{SynthConfig, generate};
use recagent_core::{Catalog, NoProgress};
use recagent_llm::ChatModel;
use recagent_memory::Memory;
use recagent_server::{AppState, Keys, Limits};

pub const ALICE: &str = "key-alice-0001";
pub const BOB: &str = "key-bob-000002";

pub fn catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    Arc::clone(CATALOG.get_or_init(|| {
        Arc::new(
            generate(
                &SynthConfig {
                    name: "srv".into(),
                    items: 300,
                    users: 40,
                    per_user: 10,
                    seed: 5,
                    popularity_skew: 1.0,
                },
                &NoProgress,
            )
            .unwrap(),
        )
    }))
}

/// A running server and what it serves.
pub struct Running {
    pub addr: SocketAddr,
    pub memory: Arc<Memory>,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Serves a `rules` model, and `slow` (a model controller) when given.
pub async fn start(slow: Option<Arc<dyn ChatModel>>, limits: Limits) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog();
    let recall: Arc<dyn Recall> =
        Arc::new(LexicalRecall::build(Arc::clone(&catalog), &dir.path().join("lexical")).unwrap());
    let memory = Arc::new(Memory::open(&dir.path().join("memory.sqlite")).unwrap());
    let agent = |c: Controller| {
        Arc::new(
            Agent::builder(
                Arc::clone(&catalog),
                Arc::clone(&recall),
                Arc::clone(&memory),
            )
            .controller(c)
            .build()
            .unwrap(),
        )
    };
    let mut agents = vec![("rules".to_owned(), agent(Controller::Rules))];
    if let Some(model) = slow {
        agents.push((
            "slow".to_owned(),
            agent(Controller::Model {
                model,
                strategy: recagent_agent::Strategy::PlanDraft,
            }),
        ));
    }
    let keys = Keys::parse(&format!("# test keys\n{ALICE} alice\n{BOB} bob\n"), "test").unwrap();
    let state = Arc::new(AppState::new(agents, keys, limits).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(recagent_server::serve(listener, state, async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        memory,
        stop: Some(tx),
        done,
        _dir: dir,
    }
}
