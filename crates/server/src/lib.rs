//! `recagent serve`: the agent behind an OpenAI-compatible HTTP API (axum).
//!
//! * `POST /v1/chat/completions`, streamed (SSE) or not, in the OpenAI
//!   chat-completions format. The API key (`Authorization: Bearer KEY`)
//!   names the user; `model` picks the controller. The last user message is
//!   the turn; the conversation itself is kept on the server, one session
//!   per user and model. The recommended items and the funnel trace come
//!   back in the `recagent` extension field (of the response, or of the
//!   last chunk when streamed).
//! * `POST /v1/responses`: the same turn through a minimal Responses API
//!   (`responses.rs`).
//! * `GET /v1/models`, `GET /v1/profile`, `DELETE /v1/profile`,
//!   `POST /v1/feedback`, `POST /v1/reset`; `GET /openapi.json`, the
//!   OpenAPI document (`openapi.rs`), without a key.
//! * Bounded consumption (`gate.rs`): per-key requests per minute and
//!   concurrent turns (429), a bounded queue per model (503), a time limit
//!   per turn (504), and a turn stopped when its client goes away.
//! * `/mcp`: the agent as an MCP server (Streamable HTTP), behind the same
//!   keys, each user in their own session (`mcp.rs`).
//!
//! A user reaches only their own profile and sessions. Turns run on
//! blocking threads, so recall, ranking and a local model never hold an
//! async worker.

mod gate;
mod mcp;
mod openapi;
mod replay;
mod responses;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use recagent_agent::{Agent, Event, Session, Turn};
use recagent_memory::{Forget, ItemFeedback};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex as AsyncMutex;

/// Errors of setting a server up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("keys file {path}: {reason}")]
    Keys { path: String, reason: String },
    #[error("the server needs at least one model (controller)")]
    NoModel,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// API keys and the users they stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys(HashMap<String, String>);

impl Keys {
    /// Parses lines of `KEY USER`; blank lines and `#` comments are
    /// skipped. A key may appear once; a user may have several keys.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let mut keys = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: String| Error::Keys {
                path: origin.to_owned(),
                reason: format!("line {}: {reason}", n + 1),
            };
            let mut parts = line.split_whitespace();
            let (Some(key), Some(user), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad("expected `KEY USER`".into()));
            };
            if key.len() < 8 {
                return Err(bad("a key needs at least 8 characters".into()));
            }
            if keys.insert(key.to_owned(), user.to_owned()).is_some() {
                return Err(bad("this key is listed twice".into()));
            }
        }
        if keys.is_empty() {
            return Err(Error::Keys {
                path: origin.to_owned(),
                reason: "no keys; add lines of `KEY USER`".into(),
            });
        }
        Ok(Self(keys))
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Keys {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The user a key stands for.
    pub fn user(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body (413 above).
    pub max_body_bytes: usize,
    /// Most messages in one chat request (413 above).
    pub max_messages: usize,
    /// Longest user message, in characters (413 above).
    pub max_message_chars: usize,
    /// Chat requests per minute per key (429 above); 0 for no limit.
    pub requests_per_minute: u32,
    /// Turns one key may have running or waiting at once (429 above).
    pub turns_per_key: usize,
    /// Turns one model may have running or waiting at once (503 above).
    pub turns_per_model: usize,
    /// The longest a turn may take, waiting included (504 after it).
    pub turn_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            max_messages: 64,
            max_message_chars: 4000,
            requests_per_minute: 60,
            turns_per_key: 2,
            turns_per_model: 4,
            turn_timeout: Duration::from_secs(60),
        }
    }
}

type SessionKey = (String, String);

/// What every request shares.
#[derive(Debug)]
pub struct AppState {
    /// Agents by model name (`rules`, `local`, an API model's name).
    agents: BTreeMap<String, Arc<Agent>>,
    default_model: String,
    keys: Keys,
    limits: Limits,
    gate: gate::Gate,
    replays: replay::Replays,
    sessions: std::sync::Mutex<HashMap<SessionKey, Arc<AsyncMutex<Session>>>>,
    next_id: AtomicU64,
}

impl AppState {
    /// A server over `agents` (by model name; the first is the default).
    pub fn new(agents: Vec<(String, Arc<Agent>)>, keys: Keys, limits: Limits) -> Result<Self> {
        let default_model = agents.first().ok_or(Error::NoModel)?.0.clone();
        let gate = gate::Gate::new(
            &limits,
            agents.iter().map(|(name, a)| (name, a.uses_model())),
        );
        Ok(Self {
            gate,
            replays: replay::Replays::default(),
            agents: agents.into_iter().collect(),
            default_model,
            keys,
            limits,
            sessions: std::sync::Mutex::default(),
            next_id: AtomicU64::new(1),
        })
    }

    fn agent(&self, model: Option<&str>) -> Result<(String, Arc<Agent>), ApiError> {
        let name = model
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.default_model);
        match self.agents.get(name) {
            Some(a) => Ok((name.to_owned(), Arc::clone(a))),
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "model_not_found",
                format!(
                    "no model {name:?}; GET /v1/models lists them ({})",
                    self.agents.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// The session of `user` with `model`, made on first use.
    fn session(&self, user: &str, model: &str, agent: &Agent) -> Arc<AsyncMutex<Session>> {
        let mut map = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            map.entry((user.to_owned(), model.to_owned()))
                .or_insert_with(|| Arc::new(AsyncMutex::new(agent.session(user)))),
        )
    }

    fn forget_sessions(&self, user: &str) {
        let mut map = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|(u, _), _| u != user);
    }

    fn completion_id(&self) -> String {
        format!("chatcmpl-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }
}

/// An error in the OpenAI format: `{"error": {"message", "type", "code"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The request field at fault, when there is one.
    pub param: Option<&'static str>,
    /// Seconds to wait before retrying (the `Retry-After` header).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            param: None,
            retry_after: None,
        }
    }

    fn retry_after(self, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..self
        }
    }

    fn with_param(self, param: &'static str) -> Self {
        Self {
            param: Some(param),
            ..self
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = match self.status {
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
            s if s.is_server_error() => "server_error",
            _ => "invalid_request_error",
        };
        let mut r = (
            self.status,
            Json(json!({"error": {
                "message": self.message,
                "type": kind,
                "param": self.param,
                "code": self.code,
            }})),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, s.into());
        }
        r
    }
}

/// The user a request's API key names.
#[derive(Debug, Clone)]
pub struct User(pub String);

impl FromRequestParts<Arc<AppState>> for User {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "missing_api_key",
                    "no API key: send `Authorization: Bearer KEY` with a key from the server's keys file",
                )
            })?;
        let key = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .unwrap_or_default();
        state
            .keys
            .user(key)
            .map(|u| User(u.to_owned()))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_api_key",
                    "this API key is not in the server's keys file",
                )
            })
    }
}

/// A JSON body whose rejection is a clear 400 (or 413) in the OpenAI format.
fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, "body_too_large", "the request body is too large")
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the request body is not valid: {}", e.body_text()),
            )
        }
    })
}

/// One message of a chat request: `content` is a string or a list of parts.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct InMessage {
    #[schema(pattern = "^(system|developer|user|assistant|tool)$")]
    pub role: String,
    /// A string, or a list of parts whose `text` is read.
    #[serde(default)]
    #[schema(value_type = String)]
    pub content: Value,
}

impl InMessage {
    fn text(&self) -> String {
        match &self.content {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    }
}

/// The part of a chat-completions request the server reads; other fields
/// (temperature, tools, …) are accepted and ignored.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
///
/// The sampling fields are read so that a wrong type or a value out of
/// OpenAI's range is a 400 naming the field, as OpenAI answers; the agent
/// decides its own sampling, so valid values change nothing. Unknown
/// fields are ignored, as OpenAI does.
#[schema(example = json!({"model": "rules", "messages": [{"role": "user", "content": "a funny animated movie from the 90s"}]}))]
pub struct ChatRequest {
    #[serde(default)]
    pub model: Option<String>,
    pub messages: Vec<InMessage>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_tokens: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_completion_tokens: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1)]
    pub n: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f64>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub top_p: Option<f64>,
    #[serde(default)]
    #[schema(minimum = -2, maximum = 2)]
    pub presence_penalty: Option<f64>,
    #[serde(default)]
    #[schema(minimum = -2, maximum = 2)]
    pub frequency_penalty: Option<f64>,
    #[serde(default)]
    pub seed: Option<i64>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub stop: Option<Stop>,
}

/// `stream_options` of a chat request.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct StreamOptions {
    /// Send a last chunk with `usage` and no choices.
    #[serde(default)]
    pub include_usage: bool,
}

/// `stop`: one string or a list of up to four.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

impl ChatRequest {
    /// Refuses a value outside OpenAI's range, naming the field.
    fn check_ranges(&self) -> Result<(), ApiError> {
        let bad = |param: &'static str, why: String| {
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_value",
                format!("{param}: {why}"),
            )
            .with_param(param))
        };
        for (param, v) in [
            ("max_tokens", self.max_tokens),
            ("max_completion_tokens", self.max_completion_tokens),
        ] {
            if let Some(v) = v
                && v < 1
            {
                return bad(param, format!("{v} is less than the minimum of 1"));
            }
        }
        if let Some(n) = self.n
            && n != 1
        {
            return bad(
                "n",
                format!("{n}: the agent gives one answer per turn, so n must be 1"),
            );
        }
        for (param, v, lo, hi) in [
            ("temperature", self.temperature, 0.0, 2.0),
            ("top_p", self.top_p, 0.0, 1.0),
            ("presence_penalty", self.presence_penalty, -2.0, 2.0),
            ("frequency_penalty", self.frequency_penalty, -2.0, 2.0),
        ] {
            if let Some(v) = v
                && !(lo..=hi).contains(&v)
            {
                return bad(param, format!("{v} is outside [{lo}, {hi}]"));
            }
        }
        if let Some(Stop::Many(v)) = &self.stop
            && v.len() > 4
        {
            return bad("stop", format!("{} sequences; at most 4", v.len()));
        }
        Ok(())
    }

    /// The last user message's text, within the server's limits.
    fn user_text(&self, limits: Limits) -> Result<String, ApiError> {
        last_user_text(&self.messages, limits)
    }
}

/// The last user message's text, within the server's limits.
fn last_user_text(messages: &[InMessage], limits: Limits) -> Result<String, ApiError> {
    {
        if messages.len() > limits.max_messages {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_messages",
                format!(
                    "{} messages; at most {} (the server keeps the conversation, so sending the last user message is enough)",
                    messages.len(),
                    limits.max_messages
                ),
            ));
        }
        let text = messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(InMessage::text)
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "no_user_message",
                "the request has no user message with text",
            ));
        }
        if text.chars().count() > limits.max_message_chars {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "message_too_long",
                format!(
                    "the user message has {} characters; at most {}",
                    text.chars().count(),
                    limits.max_message_chars
                ),
            ));
        }
        Ok(text)
    }
}

/// The `recagent` extension of a response.
#[derive(Debug, Clone, Serialize)]
struct Extension<'a> {
    user: &'a str,
    items: &'a [recagent_agent::Recommendation],
    trace: &'a recagent_agent::TurnTrace,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn usage(t: &Turn) -> Value {
    let p = t.trace.prompt_tokens();
    let c = t.trace.completion_tokens();
    json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c})
}

/// What a running turn sends its request: its events, or that it ran out
/// of time.
enum TurnMsg {
    Event(Event),
    TimedOut(Duration),
}

/// One turn to run: where, what, and the places it holds.
struct TurnJob {
    session: Arc<AsyncMutex<Session>>,
    text: String,
    model: String,
    permits: gate::Permits,
}

/// Runs one turn on a blocking thread, forwarding its events. The turn
/// stops, between steps and within one decode step of a local model, when
/// its request goes away (the client disconnected) or when it has taken
/// `limits.turn_timeout`, waiting for the session included.
fn spawn_turn(
    state: &Arc<AppState>,
    job: TurnJob,
) -> tokio::sync::mpsc::UnboundedReceiver<TurnMsg> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = tokio::runtime::Handle::current();
    let state = Arc::clone(state);
    let limit = state.limits.turn_timeout;
    tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            let _places = job.permits;
            let started = Instant::now();
            let run = async {
                let mut s = job.session.lock().await;
                // Dropping the events stream cancels the turn.
                let mut events = s.send(&job.text);
                loop {
                    tokio::select! {
                        e = events.next() => match e {
                            Some(e) => {
                                let _ = tx.send(TurnMsg::Event(e));
                            }
                            None => break true,
                        },
                        () = tx.closed() => break false,
                    }
                }
            };
            match tokio::time::timeout(limit, run).await {
                Ok(true) => state.gate.took(&job.model, started.elapsed()),
                Ok(false) => {}
                Err(_) => {
                    state.gate.took(&job.model, limit);
                    let _ = tx.send(TurnMsg::TimedOut(limit));
                }
            }
        });
    });
    rx
}

fn timed_out(limit: Duration) -> ApiError {
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "turn_timeout",
        format!(
            "the turn took longer than the server's limit of {} s and was stopped; ask again, or ask the operator for a longer --turn-timeout",
            limit.as_secs_f64()
        ),
    )
}

async fn chat_completions(
    State(state): State<Arc<AppState>>,
    User(user): User,
    headers: axum::http::HeaderMap,
    req: Result<Json<ChatRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    state.gate.admit(&user)?;
    let req = body(req)?;
    req.check_ranges()?;
    let text = req.user_text(state.limits)?;
    let (model, agent) = state.agent(req.model.as_deref())?;
    // A retry with the same key is answered from the first, not run again.
    let pending = match replay::key_of(&headers)? {
        Some(key) if !req.stream => match replay::Replays::begin(&state, &user, key)? {
            replay::Begin::Replay(v) => {
                let mut r = Json(v).into_response();
                r.headers_mut().insert(
                    "idempotent-replayed",
                    header::HeaderValue::from_static("true"),
                );
                return Ok(r);
            }
            replay::Begin::Run(p) => Some(p),
        },
        _ => None,
    };
    let permits = state.gate.enter(&user, &model)?;
    let session = state.session(&user, &model, &agent);
    let rx = spawn_turn(
        &state,
        TurnJob {
            session,
            text,
            model: model.clone(),
            permits,
        },
    );
    let head = Head {
        id: state.completion_id(),
        created: now(),
        model,
    };
    if req.stream {
        let include_usage = req.stream_options.is_some_and(|o| o.include_usage);
        Ok(stream_reply(head, user, rx, include_usage))
    } else {
        let v = complete_reply(head, &user, rx).await?;
        if let Some(p) = pending {
            p.done(&v);
        }
        Ok(Json(v).into_response())
    }
}

/// What every chunk or reply of one completion repeats.
#[derive(Debug, Clone)]
struct Head {
    id: String,
    created: u64,
    model: String,
}

/// Waits for a turn's answer (a 504 when it ran out of time).
async fn answer_of(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<TurnMsg>,
) -> Result<Box<Turn>, ApiError> {
    let mut turn = None;
    while let Some(m) = rx.recv().await {
        match m {
            TurnMsg::Event(Event::Answer(t)) => turn = Some(t),
            TurnMsg::Event(_) => {}
            TurnMsg::TimedOut(limit) => return Err(timed_out(limit)),
        }
    }
    turn.ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "turn_failed",
            "the turn ended without an answer",
        )
    })
}

/// Waits for the turn and answers with one `chat.completion`.
async fn complete_reply(
    head: Head,
    user: &str,
    rx: tokio::sync::mpsc::UnboundedReceiver<TurnMsg>,
) -> Result<Value, ApiError> {
    let t = answer_of(rx).await?;
    let ext = Extension {
        user,
        items: &t.items,
        trace: &t.trace,
    };
    Ok(json!({
        "id": head.id,
        "object": "chat.completion",
        "created": head.created,
        "model": head.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": t.answer},
            "finish_reason": "stop",
        }],
        "usage": usage(&t),
        "recagent": ext,
    }))
}

/// Streams the turn as `chat.completion.chunk` events: the role, the
/// answer's text as it comes, the rest of the answer with the finish reason
/// and the `recagent` extension, then (with `include_usage`) a chunk with
/// `usage` and no choices, then `[DONE]`.
fn stream_reply(
    head: Head,
    user: String,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<TurnMsg>,
    include_usage: bool,
) -> Response {
    let chunk = move |choices: Value, extra: Option<(&str, Value)>| -> SseEvent {
        let mut v = json!({
            "id": head.id,
            "object": "chat.completion.chunk",
            "created": head.created,
            "model": head.model,
            "choices": choices,
        });
        if let Some((key, value)) = extra {
            v[key] = value;
        }
        SseEvent::default().data(v.to_string())
    };
    let delta =
        |d: Value, finish: Option<&str>| json!([{"index": 0, "delta": d, "finish_reason": finish}]);
    let stream = async_stream::stream! {
        yield Ok::<_, Infallible>(chunk(delta(json!({"role": "assistant", "content": ""}), None), None));
        let mut streamed = String::new();
        while let Some(m) = rx.recv().await {
            let e = match m {
                TurnMsg::Event(e) => e,
                TurnMsg::TimedOut(limit) => {
                    // The status is sent: the error goes in the stream, as
                    // OpenAI sends errors met while streaming.
                    let e = timed_out(limit);
                    yield Ok(SseEvent::default().data(
                        json!({"error": {"message": e.message, "type": "server_error", "param": null, "code": e.code}}).to_string(),
                    ));
                    break;
                }
            };
            match e {
                Event::TextDelta { text } => {
                    streamed.push_str(&text);
                    yield Ok(chunk(delta(json!({"content": text}), None), None));
                }
                Event::Answer(t) => {
                    // The rest of the answer: the list, or all of it when
                    // the opening was repaired.
                    let rest = match t.answer.strip_prefix(streamed.as_str()) {
                        Some(rest) => rest.to_owned(),
                        None if streamed.is_empty() => t.answer.clone(),
                        None => format!("\n\n{}", t.answer),
                    };
                    if !rest.is_empty() {
                        yield Ok(chunk(delta(json!({"content": rest}), None), None));
                    }
                    let ext = json!({
                        "user": user,
                        "items": t.items,
                        "trace": t.trace,
                        "answer": t.answer,
                    });
                    yield Ok(chunk(delta(json!({}), Some("stop")), Some(("recagent", ext))));
                    if include_usage {
                        yield Ok(chunk(json!([]), Some(("usage", usage(&t)))));
                    }
                }
                _ => {}
            }
        }
        yield Ok(SseEvent::default().data("[DONE]"));
    };
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn models(State(state): State<Arc<AppState>>, _user: User) -> Json<Value> {
    let data: Vec<Value> = state
        .agents
        .iter()
        .map(|(name, a)| {
            json!({"id": name, "object": "model", "created": 0, "owned_by": a.controller_name()})
        })
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// A profile as the API shows it: the same shape as `profile show --json`.
fn profile_json(agent: &Agent, user: &str) -> Result<Value, ApiError> {
    let p = agent.memory().profile(user).map_err(internal)?;
    serde_json::to_value(p.to_json(agent.catalog())).map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

async fn get_profile(
    State(state): State<Arc<AppState>>,
    User(user): User,
) -> Result<Json<Value>, ApiError> {
    let (_, agent) = state.agent(None)?;
    Ok(Json(profile_json(&agent, &user)?))
}

async fn delete_profile(
    State(state): State<Arc<AppState>>,
    User(user): User,
) -> Result<Json<Value>, ApiError> {
    let (_, agent) = state.agent(None)?;
    agent
        .memory()
        .forget(&user, &Forget::All)
        .map_err(internal)?;
    state.forget_sessions(&user);
    Ok(Json(json!({"user": user, "deleted": true})))
}

/// `POST /v1/feedback`: `{"item": "KEY", "feedback": "like|dislike|seen"}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct FeedbackRequest {
    /// An item's `id`, as the server returned it.
    pub item: String,
    #[schema(pattern = "^(like|liked|dislike|disliked|seen)$")]
    pub feedback: String,
}

async fn feedback(
    State(state): State<Arc<AppState>>,
    User(user): User,
    req: Result<Json<FeedbackRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let req = body(req)?;
    let (_, agent) = state.agent(None)?;
    let fb = match req.feedback.as_str() {
        "like" | "liked" => ItemFeedback::Liked,
        "dislike" | "disliked" => ItemFeedback::Disliked,
        "seen" => ItemFeedback::Seen,
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_feedback",
                format!("feedback {other:?}: use like, dislike or seen"),
            ));
        }
    };
    let item = agent.catalog().item_by_key(&req.item).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_item",
            format!(
                "no item {:?} in catalog {} (use the `id` of an item the server returned)",
                req.item,
                agent.catalog().name()
            ),
        )
    })?;
    agent
        .memory()
        .set_items(&user, &[item], fb)
        .map_err(internal)?;
    Ok(Json(profile_json(&agent, &user)?))
}

async fn reset(State(state): State<Arc<AppState>>, User(user): User) -> Json<Value> {
    state.forget_sessions(&user);
    Json(json!({"user": user, "reset": true}))
}

/// `GET /openapi.json`: the API's OpenAPI document (no key needed).
async fn openapi_json() -> Json<Value> {
    Json(openapi::document())
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see docs/server.md",
    )
}

/// The API's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    routes(state, None)
}

/// The routes, `/mcp` accepting the `Host` of `bound`, the address
/// [`serve`] listens on.
fn routes(state: Arc<AppState>, bound: Option<std::net::SocketAddr>) -> Router {
    let limit = state.limits.max_body_bytes;
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/responses", post(responses::create))
        .route("/v1/models", get(models))
        .route("/v1/profile", get(get_profile).delete(delete_profile))
        .route("/v1/feedback", post(feedback))
        .route("/v1/reset", post(reset))
        .route("/openapi.json", get(openapi_json))
        .nest_service("/mcp", mcp::service(&state, bound))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` resolves, then lets
/// running requests (and their turns) finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let bound = listener.local_addr().ok();
    axum::serve(listener, routes(state, bound))
        .with_graceful_shutdown(shutdown)
        .await
}
