//! recagent as an MCP (Model Context Protocol) server, on the official
//! Rust SDK (rmcp).
//!
//! How the pieces fit:
//! - [`McpServer`] is the `ServerHandler`, written by hand. It offers
//!   `recommend`, which runs one agent turn ([`Session::turn`]) and answers
//!   with the answer's text and, as structured content, `{answer, items,
//!   trace}` (items in the one item shape: id, title, year, genres, score,
//!   reason); and six of the agent's own tools, run one at a time through
//!   [`Session::call_tool`]: `search_items`, `similar_items`,
//!   `item_details` and `show_profile` (read-only), `remember_preference`
//!   and `forget_preference` (they change the profile, so hosts ask
//!   first). Their argument schemas are the agent's
//!   ([`recagent_agent::tool_spec`]), the ones a model is offered in a
//!   turn. `filter_candidates` and `rank_candidates` work on a turn's
//!   candidates and are not offered.
//! - The [`Session`] lives in the handler behind a tokio mutex, so a
//!   follow-up ("something else") refers to the last list. Over stdio
//!   ([`serve_stdio`], `recagent mcp`) one user's session serves the whole
//!   connection; over HTTP (feature `http`, `HttpService`) each request
//!   names its user (`HttpUser`, put there by the server's key check)
//!   and gets that user's session.
//! - Turns and tools run on a blocking thread that blocks on the caller's
//!   runtime (ARCHITECTURE.md, "Blocking and async"), as the server's and
//!   the TUI's turns do: recall and scoring are synchronous CPU work.
//!
//! A tool that fails (bad arguments, an unknown title, nothing matches) is
//! a result with `isError` and a message the host's model can act on; a
//! tool name the server does not have is a protocol error (`-32602`, as
//! the MCP specification and rmcp's own tool router answer it).

use std::sync::Arc;

use recagent_agent::{Session, ToolReply, Turn};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[cfg(feature = "http")]
mod http;
// `self::`: the extern crate `http` has the same name.
#[cfg(feature = "http")]
pub use self::http::{HttpConfig, HttpService, HttpUser};

/// Errors of serving a connection.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client never completed MCP's opening handshake.
    #[error("the MCP client did not start a session: {0}")]
    Handshake(String),
    /// The task that served the connection failed.
    #[error("serving the MCP connection failed: {0}")]
    Serve(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The tool that runs a turn of the conversation.
pub const RECOMMEND: &str = "recommend";

/// What a host should know before an agent tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Reads the catalog or the profile, changes nothing.
    Reads,
    /// Adds to the user's profile.
    Adds,
    /// Removes from the user's profile.
    Removes,
}

/// The agent's tools a host may call, with a title and what each does to
/// the user's data. `filter_candidates` and `rank_candidates` are left
/// out: they act on the candidates of a turn in progress.
const AGENT_TOOLS: &[(&str, &str, Effect)] = &[
    ("search_items", "Search the catalog", Effect::Reads),
    ("similar_items", "Films like these titles", Effect::Reads),
    ("item_details", "Details of one title", Effect::Reads),
    ("show_profile", "What is remembered", Effect::Reads),
    ("remember_preference", "Remember a preference", Effect::Adds),
    ("forget_preference", "Forget preferences", Effect::Removes),
];

const INSTRUCTIONS: &str = "recagent recommends films from its catalog and remembers what the user likes. \
Call `recommend` with the user's request in their own words (\"a funny animated film from the 90s\"); \
follow-ups (\"something else\", \"older ones\", \"no horror\", \"seen the first one\") go to `recommend` \
too and refer to the last list it returned. `search_items` and `similar_items` look candidates up \
without a conversation, `item_details` describes one title, `show_profile` shows what is remembered \
about the user, and `remember_preference` / `forget_preference` change it.";

const RECOMMEND_DESCRIPTION: &str = "Ask the recommender, in the user's words, for films (\"a funny animated movie from the 90s\", \"like Alien but older\"). \
The conversation is kept: a follow-up (\"something else\", \"not that one\", \"any year is fine\") refines the last list. \
What the user says they liked or have seen is remembered. Returns the answer and the items (id, title, year, genres, score, reason).";

/// Where the sessions come from.
#[derive(Clone)]
enum Sessions {
    /// One user's session for the whole connection (stdio).
    One(Arc<Mutex<Session>>),
    /// The session of the user each request names (HTTP).
    #[cfg(feature = "http")]
    PerUser(Arc<http::SessionOf>),
}

/// The MCP server over the agent. Cheap to clone: clones share the
/// sessions.
#[derive(Clone)]
pub struct McpServer {
    sessions: Sessions,
    tools: Arc<[Tool]>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field(
                "tools",
                &self
                    .tools
                    .iter()
                    .map(|t| t.name.as_ref())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl McpServer {
    /// A server for one user's conversation: `recagent mcp` over stdio.
    pub fn new(session: Session) -> Self {
        Self::with_sessions(Sessions::One(Arc::new(Mutex::new(session))))
    }

    fn with_sessions(sessions: Sessions) -> Self {
        Self {
            sessions,
            tools: tools().into(),
        }
    }

    /// The session a request runs in.
    fn session(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<Arc<Mutex<Session>>, ErrorData> {
        // Only HTTP reads the request: its user comes with it.
        let _ = context;
        match &self.sessions {
            Sessions::One(s) => Ok(Arc::clone(s)),
            #[cfg(feature = "http")]
            Sessions::PerUser(of) => of.session(context),
        }
    }

    /// `recommend`: one turn of the conversation.
    async fn recommend(
        &self,
        session: Arc<Mutex<Session>>,
        args: &JsonObject,
    ) -> Result<CallToolResult, ErrorData> {
        let text = match recommend_text(args) {
            Ok(t) => t,
            Err(why) => return Ok(CallToolResult::error(vec![ContentBlock::text(why)])),
        };
        let turn = off_the_workers(move || async move {
            let mut s = session.lock().await;
            s.turn(&text).await
        })
        .await?;
        match turn {
            Ok(turn) => turn_result(turn),
            // The agent answers every turn, also when a model fails; what
            // is left (memory, prompts) is the server's to report.
            Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "the turn failed: {e}"
            ))])),
        }
    }

    /// One of the agent's tools, outside a turn.
    async fn agent_tool(
        &self,
        session: Arc<Mutex<Session>>,
        name: &str,
        args: JsonObject,
    ) -> Result<CallToolResult, ErrorData> {
        let tool = name.to_owned();
        let reply = off_the_workers(move || async move {
            let mut s = session.lock().await;
            s.call_tool(&tool, Value::Object(args)).await
        })
        .await?;
        match reply {
            Ok(reply) => Ok(reply_result(reply)),
            Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "{name} failed: {e}"
            ))])),
        }
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("recagent", env!("CARGO_PKG_VERSION"))
                    .with_title("recagent film recommender"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.as_ref();
        if !self.tools.iter().any(|t| t.name == name) {
            return Err(ErrorData::invalid_params(
                format!(
                    "no tool named {name:?}; the tools are: {}",
                    self.tools
                        .iter()
                        .map(|t| t.name.as_ref())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None,
            ));
        }
        let session = self.session(&context)?;
        let args = request.arguments.clone().unwrap_or_default();
        let result = if name == RECOMMEND {
            self.recommend(session, &args).await?
        } else {
            self.agent_tool(session, name, args).await?
        };
        Ok(result.into())
    }
}

/// Serves `server` over standard input and output until the client closes
/// them: what `recagent mcp` runs. Standard output carries the protocol,
/// so nothing else may write to it. Needs a runtime with IO enabled.
pub async fn serve_stdio(server: McpServer) -> Result<()> {
    // When the host launched us with pipes (as hosts do), they are read on
    // the IO reactor, so no blocking read of stdin is left behind to hold
    // up the runtime's shutdown; otherwise the blocking handles.
    let (read, write) = rmcp::transport::stdio_pipes();
    serve_io(server, read, write).await
}

/// Serves `server` over a byte stream pair (newline-delimited JSON-RPC, as
/// on stdio) until the client closes it.
pub async fn serve_io<R, W>(server: McpServer, read: R, write: W) -> Result<()>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let running = server
        .serve((read, write))
        .await
        .map_err(|e| Error::Handshake(e.to_string()))?;
    let reason = running
        .waiting()
        .await
        .map_err(|e| Error::Serve(e.to_string()))?;
    tracing::debug!(?reason, "the MCP connection ended");
    Ok(())
}

/// Runs `work` on a blocking thread that blocks on the caller's runtime.
/// An agent turn mixes synchronous CPU work (tantivy, query embedding,
/// candle scoring, a local model) with short async IO; the whole turn
/// stays off the async workers, as in the server and the TUI. The work
/// runs to its end even if the request is cancelled, so the session and
/// the profile stay consistent.
async fn off_the_workers<F, Fut>(work: F) -> Result<Fut::Output, ErrorData>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(work()))
        .await
        .map_err(|e| ErrorData::internal_error(format!("the agent's thread failed: {e}"), None))
}

/// The `text` of `recommend`'s arguments, or why they are wrong.
fn recommend_text(args: &JsonObject) -> Result<String, String> {
    if let Some(other) = args.keys().find(|k| *k != "text") {
        return Err(format!(
            "bad arguments for recommend: unknown field `{other}`; send {{\"text\": \"what the user asked for\"}}"
        ));
    }
    match args.get("text") {
        Some(Value::String(t)) if !t.trim().is_empty() => Ok(t.clone()),
        Some(Value::String(_)) => Err(
            "bad arguments for recommend: `text` is empty; send what the user asked for".into(),
        ),
        Some(other) => Err(format!(
            "bad arguments for recommend: `text` must be a string, not {other}"
        )),
        None => Err(
            "bad arguments for recommend: missing field `text`; send {\"text\": \"what the user asked for\"}"
                .into(),
        ),
    }
}

/// A turn as a tool result: the answer as text, and `{answer, items,
/// trace}` as structured content.
fn turn_result(turn: Turn) -> Result<CallToolResult, ErrorData> {
    let json = |v: serde_json::Result<Value>| {
        v.map_err(|e| ErrorData::internal_error(format!("the turn does not serialise: {e}"), None))
    };
    let structured = json!({
        "answer": turn.answer,
        "items": json(serde_json::to_value(&turn.items))?,
        "trace": json(serde_json::to_value(&turn.trace))?,
    });
    let mut result = CallToolResult::success(vec![ContentBlock::text(turn.answer)]);
    result.structured_content = Some(structured);
    Ok(result)
}

/// An agent tool's reply as a tool result: its JSON as text and as
/// structured content, or its error.
fn reply_result(reply: ToolReply) -> CallToolResult {
    if reply.ok {
        let mut result =
            CallToolResult::success(vec![ContentBlock::text(reply.content.to_string())]);
        result.structured_content = Some(reply.content);
        result
    } else {
        CallToolResult::error(vec![ContentBlock::text(reply.summary)])
    }
}

/// Every tool offered: `recommend`, then the agent's own.
fn tools() -> Vec<Tool> {
    let mut out = vec![recommend_tool()];
    for &(name, title, effect) in AGENT_TOOLS {
        let Some(spec) = recagent_agent::tool_spec(name) else {
            // A renamed agent tool; the tests list the names, so this is
            // caught there.
            tracing::warn!("the agent has no tool {name}; it is not offered over MCP");
            continue;
        };
        let schema = match spec.parameters {
            Value::Object(m) => m,
            _ => object(json!({"type": "object"})),
        };
        out.push(
            Tool::new(name, spec.description, Arc::new(schema))
                .with_title(title)
                .with_annotations(annotations(title, effect)),
        );
    }
    out
}

fn annotations(title: &str, effect: Effect) -> ToolAnnotations {
    // The catalog and the profile are closed worlds: nothing here reaches
    // outside the server.
    let a = ToolAnnotations::with_title(title).open_world(false);
    match effect {
        Effect::Reads => a.read_only(true),
        // Remembering adds (facts can repeat, so it is not idempotent).
        Effect::Adds => a.read_only(false).destructive(false).idempotent(false),
        Effect::Removes => a.read_only(false).destructive(true).idempotent(true),
    }
}

fn recommend_tool() -> Tool {
    let input = object(json!({
        "type": "object",
        "properties": {
            "text": {
                "type": "string",
                "description": "What the user asked for, in their words; a follow-up refers to the last list."
            }
        },
        "required": ["text"],
        "additionalProperties": false
    }));
    let item = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The catalog's id of the item."},
            "title": {"type": "string"},
            "year": {"type": ["integer", "null"]},
            "genres": {"type": "array", "items": {"type": "string"}},
            "score": {"type": "number", "description": "The ranker's click probability."},
            "reason": {"type": "string", "description": "Why it was chosen."}
        },
        "required": ["id", "title", "year", "genres", "score", "reason"]
    });
    let output = object(json!({
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "items": {"type": "array", "items": item},
            "trace": {"type": "object", "description": "Tool calls, funnel stages, model calls and the dialogue state of the turn."}
        },
        "required": ["answer", "items", "trace"]
    }));
    // A turn saves the conversation, and what the user says they liked or
    // saw, to the profile: it adds, so it is not read-only.
    Tool::new(RECOMMEND, RECOMMEND_DESCRIPTION, Arc::new(input))
        .with_title("Recommend films")
        .with_raw_output_schema(Arc::new(output))
        .with_annotations(
            ToolAnnotations::with_title("Recommend films")
                .read_only(false)
                .destructive(false)
                .idempotent(false)
                .open_world(false),
        )
}

/// A JSON object literal as a map.
fn object(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    }
}
