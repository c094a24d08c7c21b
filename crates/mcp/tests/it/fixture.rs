//! A synthetic catalog, a rules agent over lexical recall and a memory on
//! disk, and an MCP client connected to [`recagent_mcp::serve_io`] through
//! an in-process duplex stream (the same framing as stdio).

use std::sync::{Arc, OnceLock};

use recagent_agent::{Agent, Controller, LexicalRecall, Recall};
use recagent_catalog::synth::{SynthConfig, generate};
use recagent_core::{Catalog, NoProgress};
use recagent_mcp::McpServer;
use recagent_memory::Memory;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RunningService, ServiceError};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

pub fn catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    Arc::clone(CATALOG.get_or_init(|| {
        Arc::new(
            generate(
                &SynthConfig {
                    name: "mcp".into(),
                    items: 300,
                    users: 40,
                    per_user: 10,
                    seed: 7,
                    popularity_skew: 1.0,
                },
                &NoProgress,
            )
            .unwrap(),
        )
    }))
}

/// A genre the catalog has.
pub fn genre() -> String {
    catalog()
        .genre_vocab()
        .into_iter()
        .find(|g| g != "unknown")
        .unwrap()
}

/// A client connected to a server for `user`, and what the server runs on.
pub struct Connected {
    pub client: RunningService<RoleClient, ()>,
    pub server: tokio::task::JoinHandle<recagent_mcp::Result<()>>,
    pub memory: Arc<Memory>,
    _dir: tempfile::TempDir,
}

pub async fn connect(user: &str) -> Connected {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog();
    let recall: Arc<dyn Recall> =
        Arc::new(LexicalRecall::build(Arc::clone(&catalog), &dir.path().join("lexical")).unwrap());
    let memory = Arc::new(Memory::open(&dir.path().join("memory.sqlite")).unwrap());
    let agent = Agent::builder(catalog, recall, Arc::clone(&memory))
        .controller(Controller::Rules)
        .build()
        .unwrap();
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    let (read, write) = tokio::io::split(server_io);
    let server = tokio::spawn(recagent_mcp::serve_io(
        McpServer::new(agent.session(user)),
        read,
        write,
    ));
    let client = ().serve(client_io).await.unwrap();
    Connected {
        client,
        server,
        memory,
        _dir: dir,
    }
}

impl Connected {
    /// Calls `name` with `args` (a JSON object).
    pub async fn call(&self, name: &str, args: Value) -> Result<CallToolResult, ServiceError> {
        let Value::Object(args) = args else {
            panic!("arguments are an object: {args}")
        };
        self.client
            .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args))
            .await
    }

    /// Calls `name`, which must succeed; its structured content.
    pub async fn ok(&self, name: &str, args: Value) -> Value {
        let r = self.call(name, args).await.unwrap();
        assert_eq!(r.is_error, Some(false), "{name}: {r:?}");
        r.structured_content
            .unwrap_or_else(|| panic!("{name} has no structured content"))
    }

    /// Calls `name`, which must fail as a tool; its message.
    pub async fn tool_error(&self, name: &str, args: Value) -> String {
        let r = self.call(name, args).await.unwrap();
        assert_eq!(r.is_error, Some(true), "{name}: {r:?}");
        text(&r)
    }
}

/// The text of a result's first content block.
pub fn text(r: &CallToolResult) -> String {
    r.content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

/// A title only one item of the catalog has, and that item's year.
pub fn unique_title() -> (String, Option<u16>) {
    let catalog = catalog();
    let items = catalog.items();
    items
        .iter()
        .find(|it| {
            items
                .iter()
                .filter(|o| o.title.eq_ignore_ascii_case(&it.title))
                .count()
                == 1
        })
        .map(|it| (it.title.clone(), it.year))
        .unwrap()
}
