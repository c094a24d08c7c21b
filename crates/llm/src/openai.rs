//! Any OpenAI-compatible chat-completions endpoint, through `async-openai`.
//!
//! Requests are built as the API's JSON and read into `async-openai`'s typed
//! request, so that every field the API knows is available and nothing is
//! hand-serialised. Calls time out; 429s, 5xx answers, timeouts and refused
//! connections are retried a bounded number of times with exponential
//! backoff and full jitter. A response that does not parse is a
//! [`Error::Malformed`], never a panic.
//!
//! A required tool call is asked for by name when there is one tool
//! (`tool_choice: {"type": "function", "function": {"name": …}}`), which
//! more servers accept than `"required"`. A server that refuses the forced
//! choice with a client error is asked once more with `"auto"` and an
//! instruction to answer with the call only.
//!
//! A forced call is not streamed: nothing of it is shown before it is
//! whole, and llama-cpp-python's server counts usage only that way.
//!
//! With several tools, `"required"` is sent. A server that cannot force
//! that (an error, as llama-cpp-python's function-calling handler gives)
//! is asked for one call of a single tool,
//! [`ONE_OF_THE_TOOLS`], whose arguments are the name of one of the tools
//! and that tool's arguments, forced by name; the call that comes back is
//! read as the tool it names. The model remembers that the server needs
//! this, and asks that way from then on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::CreateChatCompletionRequest;
use futures::StreamExt;
use rand::Rng;
use serde_json::{Value, json};

use crate::{
    ChatEvent, ChatModel, ChatRequest, Error, EventStream, Message, Result, Role, Timings,
    ToolCall, Usage,
};

/// How to reach the endpoint and how hard to try.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    /// e.g. `https://api.openai.com/v1`, `http://localhost:8000/v1`.
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    /// Per attempt, including a streamed body.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles each retry, with full jitter, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Stream the answer (server-sent events).
    pub stream: bool,
}

/// The OpenAI API itself.
pub const OPENAI_API_BASE: &str = "https://api.openai.com/v1";

impl OpenAiConfig {
    /// An endpoint, its key (empty for servers that take none) and a model,
    /// with the default timeout (120 s), retries (3) and backoff (0.5 s
    /// doubling to 8 s), streamed.
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: api_key.into(),
            model: model.into(),
            timeout: Duration::from_secs(120),
            max_retries: 3,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            stream: true,
        }
    }
}

/// A model behind an OpenAI-compatible API.
#[derive(Debug, Clone)]
pub struct OpenAiModel {
    client: Arc<Client<OpenAIConfig>>,
    config: Arc<OpenAiConfig>,
    /// The server could not force a call among several tools: ask for
    /// [`ONE_OF_THE_TOOLS`] instead.
    one_tool: Arc<std::sync::atomic::AtomicBool>,
}

impl OpenAiModel {
    pub fn new(config: OpenAiConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        // The plain transport: retries are ours (below), so that timeouts
        // are retried too and the attempts and backoff are configurable.
        let client = Client::with_config(
            OpenAIConfig::new()
                .with_api_base(config.base_url.trim_end_matches('/'))
                .with_api_key(config.api_key.clone()),
        )
        .with_http_service(async_openai::middleware::ReqwestService::new(http));
        Ok(Self {
            client: Arc::new(client),
            config: Arc::new(config),
            one_tool: Arc::default(),
        })
    }
}

/// The chat-completions JSON of a request.
pub fn request_json(model: &str, req: &ChatRequest, stream: bool) -> Value {
    let messages: Vec<Value> = req.messages.iter().map(message_json).collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "temperature": req.options.temperature,
        "max_tokens": req.options.max_tokens,
    });
    if let Some(seed) = req.options.seed {
        body["seed"] = json!(seed);
    }
    if !req.options.stop.is_empty() {
        body["stop"] = json!(req.options.stop);
    }
    if !req.tools.is_empty() && req.options.tool_choice != crate::ToolChoice::None {
        if req.options.tool_choice == crate::ToolChoice::Required {
            body["tool_choice"] = match req.tools.as_slice() {
                [only] => json!({"type": "function", "function": {"name": only.name}}),
                _ => json!("required"),
            };
        }
        body["tools"] = req
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description,
                    "parameters": with_array_bounds(&t.parameters)}})
            })
            .collect();
    }
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// `schema` with every array that sets no `maxItems` bounded as the local
/// grammar bounds it, the keys left in their order.
///
/// Only arrays: a 0.5B behind llama-cpp-python's server, forced to call
/// `plan`, copied the catalog's 18 genres into three lists until its token
/// budget cut the call off, and an array bound stops that in the server's
/// grammar. Sending the local grammar's other bounds as well (string
/// lengths, sorted keys) made the same model write years of 16 digits.
fn with_array_bounds(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => {
            let mut m: serde_json::Map<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), with_array_bounds(v)))
                .collect();
            if m.get("type").and_then(Value::as_str) == Some("array") && !m.contains_key("maxItems")
            {
                m.insert("maxItems".into(), json!(crate::DEFAULT_MAX_ITEMS));
            }
            Value::Object(m)
        }
        Value::Array(a) => Value::Array(a.iter().map(with_array_bounds).collect()),
        other => other.clone(),
    }
}

/// Whether `req` forces a tool call.
fn forces_a_call(req: &ChatRequest) -> bool {
    !req.tools.is_empty() && req.options.tool_choice == crate::ToolChoice::Required
}

/// The one tool that stands for several when a server cannot force a
/// call among them: its arguments name a tool and carry that tool's.
pub const ONE_OF_THE_TOOLS: &str = "call_one_tool";

/// How a request is put to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// As asked.
    Plain,
    /// A forced choice refused: `"auto"`, and a last system message to
    /// answer with a call only.
    Auto,
    /// `"required"` among several tools refused: one tool,
    /// [`ONE_OF_THE_TOOLS`], forced by name.
    OneTool,
}

/// The schema of [`ONE_OF_THE_TOOLS`]: one of the tools by name, with its
/// arguments.
fn one_tool_spec(tools: &[crate::ToolSpec]) -> crate::ToolSpec {
    let options: Vec<Value> = tools
        .iter()
        .map(|t| {
            json!({"type": "object",
                "properties": {"name": {"type": "string", "enum": [t.name]}, "arguments": t.parameters},
                "required": ["name", "arguments"]})
        })
        .collect();
    let described: Vec<String> = tools
        .iter()
        .map(|t| format!("{}: {}", t.name, t.description))
        .collect();
    crate::ToolSpec {
        name: ONE_OF_THE_TOOLS.into(),
        description: format!(
            "Call one of these tools, by name, with its arguments. {}",
            described.join(" ")
        ),
        parameters: json!({"anyOf": options}),
    }
}

/// `request` as the typed API request, in `shape`.
fn typed_request(
    model: &str,
    request: &ChatRequest,
    stream: bool,
    shape: Shape,
) -> Result<CreateChatCompletionRequest> {
    let body = match shape {
        Shape::Plain => request_json(model, request, stream),
        Shape::Auto => {
            let mut body = request_json(model, request, stream);
            // "auto" said, not left out: some servers offer no tools without it.
            body["tool_choice"] = json!("auto");
            let names: Vec<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
            let say = format!(
                "Answer with one call to {} and nothing else: no text.",
                names.join(" or ")
            );
            if let Some(messages) = body["messages"].as_array_mut() {
                messages.push(json!({"role": "system", "content": say}));
            }
            body
        }
        Shape::OneTool => {
            let one = ChatRequest {
                tools: vec![one_tool_spec(&request.tools)],
                ..request.clone()
            };
            request_json(model, &one, stream)
        }
    };
    serde_json::from_value(body)
        .map_err(|e| Error::Config(format!("cannot express the request for the API: {e}")))
}

/// A call of [`ONE_OF_THE_TOOLS`] read as the tool it names.
fn unwrap_one_tool(call: ToolCall) -> Result<ToolCall> {
    if call.name != ONE_OF_THE_TOOLS {
        return Ok(call);
    }
    let name = call.arguments["name"]
        .as_str()
        .ok_or_else(|| Error::BadToolArguments {
            name: ONE_OF_THE_TOOLS.into(),
            reason: format!("no tool name in {}", call.arguments),
        })?;
    let arguments = match &call.arguments["arguments"] {
        Value::String(raw) => parse_arguments(name, raw)?,
        Value::Null => json!({}),
        v => v.clone(),
    };
    Ok(ToolCall {
        id: call.id,
        name: name.to_owned(),
        arguments,
    })
}

/// Whether a failed forced request among several tools is the server not
/// forcing that: a client error other than the key, model, path or rate,
/// a server error, or a reply cut off or unreadable (llama-cpp-python
/// breaks the connection of a stream it cannot serve).
fn refused_required(e: &Error) -> bool {
    refused_forced_choice(e)
        || matches!(
            e,
            Error::ServerError { .. } | Error::Transport(_) | Error::Malformed(_)
        )
}

/// Whether an error is a server refusing a forced tool choice (a client
/// error that is not about the key, the model, the path or the rate).
fn refused_forced_choice(e: &Error) -> bool {
    matches!(e, Error::Api { status, .. } if (400..500).contains(status) && ![401, 403, 404, 429].contains(status))
}

fn message_json(m: &Message) -> Value {
    match m.role {
        Role::System => json!({"role": "system", "content": m.content}),
        Role::User => json!({"role": "user", "content": m.content}),
        Role::Tool => json!({
            "role": "tool",
            "content": m.content,
            "tool_call_id": m.tool_call_id.clone().unwrap_or_default(),
        }),
        Role::Assistant => {
            let mut v = json!({"role": "assistant", "content": m.content});
            if !m.tool_calls.is_empty() {
                v["tool_calls"] = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "type": "function", "function": {
                            "name": c.name, "arguments": c.arguments.to_string()}})
                    })
                    .collect();
            }
            v
        }
    }
}

/// What one failed attempt means.
enum Failure {
    Retry(Error),
    Fatal(Error),
}

fn classify(e: OpenAIError, cfg: &OpenAiConfig, attempts: u32) -> Failure {
    match e {
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let message = api.api_error.message;
            if status == 429 {
                Failure::Retry(Error::RateLimited { attempts })
            } else if status >= 500 {
                Failure::Retry(Error::ServerError {
                    status,
                    message,
                    attempts,
                })
            } else {
                Failure::Fatal(Error::Api { status, message })
            }
        }
        OpenAIError::Reqwest(e) if e.is_timeout() => Failure::Retry(Error::Timeout {
            url: cfg.base_url.clone(),
            timeout: cfg.timeout,
            attempts,
        }),
        // Not connected, or the request not sent (a pooled connection the
        // server had closed): nothing reached the model, so try again.
        OpenAIError::Reqwest(e) if e.is_connect() || e.is_request() => {
            Failure::Retry(Error::Transport(format!("{e} ({})", cfg.base_url)))
        }
        OpenAIError::Reqwest(e) if e.is_decode() || e.is_body() => {
            Failure::Fatal(Error::Malformed(e.to_string()))
        }
        OpenAIError::Reqwest(e) => Failure::Fatal(Error::Transport(e.to_string())),
        OpenAIError::JSONDeserialize(e, content) => Failure::Fatal(Error::Malformed(format!(
            "{e}; body starts {:?}",
            content.chars().take(120).collect::<String>()
        ))),
        OpenAIError::StreamError(e) => Failure::Fatal(Error::Malformed(e.to_string())),
        other => Failure::Fatal(Error::Transport(other.to_string())),
    }
}

fn backoff(cfg: &OpenAiConfig, retry: u32) -> Duration {
    let cap = cfg
        .base_backoff
        .saturating_mul(1u32 << retry.min(16))
        .min(cfg.max_backoff);
    let ms = cap.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(0..=ms))
}

/// Runs `call` until it succeeds, fails for good, or has used up
/// `cfg.max_retries` retries, sleeping [`backoff`] between attempts. Returns
/// the value and the number of attempts made.
async fn with_retries<T, F, Fut>(cfg: &OpenAiConfig, mut call: F) -> Result<(T, u32)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, OpenAIError>>,
{
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match call().await {
            Ok(value) => return Ok((value, attempt)),
            Err(e) => match classify(e, cfg, attempt) {
                Failure::Retry(err) if attempt <= cfg.max_retries => {
                    tracing::warn!("attempt {attempt} failed, retrying: {err}");
                    tokio::time::sleep(backoff(cfg, attempt - 1)).await;
                }
                Failure::Retry(err) | Failure::Fatal(err) => return Err(err),
            },
        }
    }
}

fn parse_arguments(name: &str, raw: &str) -> Result<Value> {
    let raw = if raw.trim().is_empty() { "{}" } else { raw };
    serde_json::from_str(raw).map_err(|e| Error::BadToolArguments {
        name: name.to_owned(),
        reason: e.to_string(),
    })
}

fn usage_of(v: &Value) -> Option<Usage> {
    let u = v.get("usage")?;
    if u.is_null() {
        return None;
    }
    Some(Usage {
        prompt_tokens: u["prompt_tokens"].as_u64().unwrap_or(0) as u32,
        completion_tokens: u["completion_tokens"].as_u64().unwrap_or(0) as u32,
    })
}

/// Events of a non-streamed response. Usage comes first, so that a
/// call whose arguments fail still counts the tokens it cost.
fn events_of_response(v: &Value) -> Vec<Result<ChatEvent>> {
    let Some(choice) = v["choices"].get(0) else {
        return vec![Err(Error::Malformed("the response has no choices".into()))];
    };
    let msg = &choice["message"];
    let mut out = Vec::new();
    if let Some(u) = usage_of(v) {
        out.push(Ok(ChatEvent::Usage { usage: u }));
    }
    if let Some(text) = msg["content"].as_str()
        && !text.is_empty()
    {
        out.push(Ok(ChatEvent::TextDelta {
            text: text.to_owned(),
        }));
    }
    for (i, c) in msg["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = c["function"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let call = parse_arguments(&name, c["function"]["arguments"].as_str().unwrap_or(""))
            .and_then(|arguments| {
                unwrap_one_tool(ToolCall {
                    id: c["id"]
                        .as_str()
                        .map_or_else(|| format!("call_{i}"), str::to_owned),
                    name,
                    arguments,
                })
            });
        match call {
            Ok(call) => out.push(Ok(ChatEvent::ToolCall { call })),
            Err(e) => {
                out.push(Err(e));
                return out;
            }
        }
    }
    out.push(Ok(ChatEvent::Done {
        finish_reason: choice["finish_reason"]
            .as_str()
            .unwrap_or("stop")
            .to_owned(),
    }));
    out
}

/// Tool calls arrive in pieces keyed by index; they are emitted whole.
#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// The most alternatives an endpoint lists per token (`top_logprobs`).
pub const TOP_LOGPROBS: u8 = 20;

/// The request of [`ChatModel::choice_logprobs`] as chat-completions JSON:
/// one token, greedy, with the top alternatives' log-probabilities.
pub fn choice_request_json(model: &str, req: &crate::ChoiceRequest) -> Value {
    let chat = ChatRequest {
        messages: req.messages.clone(),
        tools: Vec::new(),
        options: crate::ChatOptions {
            temperature: 0.0,
            max_tokens: 1,
            ..crate::ChatOptions::default()
        },
    };
    let mut body = request_json(model, &chat, false);
    body["logprobs"] = json!(true);
    body["top_logprobs"] = json!(TOP_LOGPROBS);
    body
}

/// Each choice's log-probability from the first answer token's listed
/// alternatives: the best listed token that is the choice or starts it
/// (spaces aside); `-inf` for a choice not among them.
pub fn choice_logprobs_of(response: &Value, choices: &[String]) -> Result<Vec<f32>> {
    let listed = response["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        .as_array()
        .ok_or_else(|| {
            Error::Malformed(
                "the answer has no top_logprobs; this endpoint gives no token probabilities, so score with the local model".into(),
            )
        })?;
    let alternatives: Vec<(String, f32)> = listed
        .iter()
        .filter_map(|t| {
            Some((
                t["token"].as_str()?.trim().to_owned(),
                t["logprob"].as_f64()? as f32,
            ))
        })
        .collect();
    Ok(choices
        .iter()
        .map(|c| {
            alternatives
                .iter()
                .filter(|(tok, _)| !tok.is_empty() && c.trim().starts_with(tok.as_str()))
                .map(|(_, lp)| *lp)
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .collect())
}

impl ChatModel for OpenAiModel {
    fn name(&self) -> String {
        format!("openai:{}", self.config.model)
    }

    /// One token asked for with its top [`TOP_LOGPROBS`] alternatives: a
    /// choice outside them reads `-inf`. Endpoints that give no
    /// log-probabilities say so.
    fn choice_logprobs(
        &self,
        request: crate::ChoiceRequest,
    ) -> futures::future::BoxFuture<'_, Result<crate::ChoiceScores>> {
        Box::pin(async move {
            let body = choice_request_json(&self.config.model, &request);
            let typed: CreateChatCompletionRequest = serde_json::from_value(body).map_err(|e| {
                Error::Config(format!("cannot express the request for the API: {e}"))
            })?;
            let client = &self.client;
            let typed = &typed;
            let (response, _) = with_retries(&self.config, || async move {
                client.chat().create(typed.clone()).await
            })
            .await?;
            let v = serde_json::to_value(&response).map_err(|e| Error::Malformed(e.to_string()))?;
            Ok(crate::ChoiceScores {
                logprobs: choice_logprobs_of(&v, &request.choices)?,
                prompt_tokens: usage_of(&v).map_or(0, |u| u.prompt_tokens),
                cached_prompt_tokens: 0,
            })
        })
    }

    fn chat(&self, request: ChatRequest) -> EventStream {
        let client = self.client.clone();
        let cfg = self.config.clone();
        let one_tool = self.one_tool.clone();
        Box::pin(async_stream::try_stream! {
            let forced = forces_a_call(&request);
            let several = request.tools.len() > 1;
            // Where a refusal leads, and whether it is known already.
            let fallback = if several { Shape::OneTool } else { Shape::Auto };
            let known = forced && several && one_tool.load(std::sync::atomic::Ordering::Relaxed);
            let shape = if known { Shape::OneTool } else { Shape::Plain };
            // A forced call is asked for whole: nothing of it is shown
            // before it is complete, and some servers (llama-cpp-python)
            // count usage only in a reply that is not streamed.
            let stream = cfg.stream && !forced;
            let typed = typed_request(&cfg.model, &request, stream, shape)?;
            let relaxed = typed_request(&cfg.model, &request, stream, fallback)?;
            let refused = |e: &Error| {
                forced && shape == Shape::Plain && if several { refused_required(e) } else { refused_forced_choice(e) }
            };
            // "required" among several tools is tried once, not retried: a
            // server error there is most likely the server not forcing it.
            let first_cfg = if forced && several && shape == Shape::Plain {
                OpenAiConfig { max_retries: 0, ..(*cfg).clone() }
            } else {
                (*cfg).clone()
            };
            let note = |e: &Error| {
                if several {
                    one_tool.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                tracing::warn!("the endpoint did not force a tool call ({e}); asking again {}", match fallback {
                    Shape::OneTool => "for one tool that names one of them",
                    _ => "with the choice left to it",
                });
            };
            let start = Instant::now();
            let (client, typed, relaxed, first_cfg) = (&client, &typed, &relaxed, &first_cfg);
            if !stream {
                let first =
                    with_retries(first_cfg, || async move { client.chat().create(typed.clone()).await })
                        .await;
                let (response, _) = match first {
                    Err(e) if refused(&e) => {
                        note(&e);
                        with_retries(&cfg, || async move { client.chat().create(relaxed.clone()).await })
                            .await?
                    }
                    r => r?,
                };
                let v = serde_json::to_value(&response).map_err(|e| Error::Malformed(e.to_string()))?;
                let first = start.elapsed().as_secs_f64() * 1e3;
                for e in events_of_response(&v) {
                    let e = e?;
                    if matches!(e, ChatEvent::Done { .. }) {
                        let total = start.elapsed().as_secs_f64() * 1e3;
                        yield ChatEvent::Timings { timings: Timings { first_token_ms: first, total_ms: total, cached_prompt_tokens: 0 } };
                    }
                    yield e;
                }
                return;
            }
            let opened = with_retries(first_cfg, || async move {
                client.chat().create_stream(typed.clone()).await
            })
            .await;
            let (mut stream, attempt) = match opened {
                Err(e) if refused(&e) => {
                    note(&e);
                    with_retries(&cfg, || async move {
                        client.chat().create_stream(relaxed.clone()).await
                    })
                    .await?
                }
                r => r?,
            };
            let mut next = stream.next().await;
            let mut calls: BTreeMap<u64, PartialCall> = BTreeMap::new();
            let mut first: Option<f64> = None;
            let mut finish = String::from("stop");
            let mut usage = None;
            while let Some(chunk) = next.take() {
                next = stream.next().await;
                let chunk = chunk.map_err(|e| match classify(e, &cfg, attempt) {
                    Failure::Retry(err) | Failure::Fatal(err) => err,
                })?;
                first.get_or_insert_with(|| start.elapsed().as_secs_f64() * 1e3);
                let v = serde_json::to_value(&chunk).map_err(|e| Error::Malformed(e.to_string()))?;
                if let Some(u) = usage_of(&v) {
                    usage = Some(u);
                }
                let Some(choice) = v["choices"].get(0) else { continue };
                let delta = &choice["delta"];
                if let Some(t) = delta["content"].as_str()
                    && !t.is_empty()
                {
                    yield ChatEvent::TextDelta { text: t.to_owned() };
                }
                if let Some(parts) = delta["tool_calls"].as_array() {
                    for p in parts {
                        let e = calls.entry(p["index"].as_u64().unwrap_or(0)).or_default();
                        if let Some(id) = p["id"].as_str() { e.id = id.to_owned(); }
                        // OpenAI sends the name once; some servers (llama-cpp-python)
                        // repeat it whole in every piece.
                        if let Some(n) = p["function"]["name"].as_str() && e.name != n { e.name.push_str(n); }
                        if let Some(a) = p["function"]["arguments"].as_str() { e.arguments.push_str(a); }
                    }
                }
                if let Some(f) = choice["finish_reason"].as_str() {
                    finish = f.to_owned();
                }
            }
            for (i, c) in calls {
                let arguments = parse_arguments(&c.name, &c.arguments)?;
                let id = if c.id.is_empty() { format!("call_{i}") } else { c.id };
                yield ChatEvent::ToolCall { call: unwrap_one_tool(ToolCall { id, name: c.name, arguments })? };
            }
            if let Some(u) = usage {
                yield ChatEvent::Usage { usage: u };
            }
            let total = start.elapsed().as_secs_f64() * 1e3;
            yield ChatEvent::Timings { timings: Timings { first_token_ms: first.unwrap_or(total), total_ms: total, cached_prompt_tokens: 0 } };
            yield ChatEvent::Done { finish_reason: finish };
        })
    }
}
