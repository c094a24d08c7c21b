//! The LLM layer: every controller talks to a language model through
//! [`ChatModel`].
//!
//! * [`openai::OpenAiModel`]: any OpenAI-compatible endpoint (OpenAI, vLLM,
//!   Ollama, llama.cpp's server) through `async-openai`, with tool calling,
//!   streaming, timeouts and bounded retries.
//! * `local::LocalModel` (feature `local`, on by default): a GGUF model run
//!   in-process through llama.cpp (`llama-cpp-2`), with the model's own chat
//!   template (minijinja) and tool calls decoded under a grammar built from
//!   the tools' JSON schemas; with a state folder, the static prompt
//!   prefix's KV state is saved and loaded by the next process. [`pull`]
//!   fetches the models.
//! * [`replay`]: wraps any model and records each call to a cassette
//!   (JSONL), or plays a cassette back deterministically.
//! * [`scripted::ScriptedModel`]: answers from a fixed script (tests and
//!   offline demos).
//! * [`toolcall`]: parses tool calls out of plain model text (Qwen/Hermes
//!   `<tool_call>` blocks and fenced JSON) and validates arguments against
//!   the tool's JSON schema.
//!
//! A call returns a stream of [`ChatEvent`]s: text deltas, complete tool
//! calls, token usage and timings. [`complete`] gathers a stream into one
//! [`ChatResponse`].

pub mod examples;

/// Longest array a tool argument may hold when its schema sets no bound:
/// in the local grammar, and sent to endpoints (see `openai`).
pub const DEFAULT_MAX_ITEMS: u64 = 8;
#[cfg(feature = "local")]
pub mod local;
pub mod openai;
pub mod pull;
pub mod replay;
pub mod scripted;
pub mod toolcall;

use std::pin::Pin;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// Tool calls an assistant message made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
    /// An assistant turn that called tools.
    pub fn assistant_calls(calls: Vec<ToolCall>) -> Self {
        Self {
            tool_calls: calls,
            ..Self::new(Role::Assistant, "")
        }
    }
    /// The result of a tool call.
    pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(call_id.into()),
            ..Self::new(Role::Tool, content)
        }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// A complete tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments object.
    pub arguments: serde_json::Value,
}

/// Whether the model must, may or must not call a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoice {
    /// The model decides (the local backend constrains a call once it starts one).
    #[default]
    Auto,
    /// The answer is a tool call (the local backend decodes under the tools' grammar).
    Required,
    /// Plain text only.
    None,
}

/// Sampling and length options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatOptions {
    #[serde(default)]
    pub tool_choice: ToolChoice,
    pub temperature: f32,
    pub max_tokens: u32,
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

impl Default for ChatOptions {
    fn default() -> Self {
        Self {
            tool_choice: ToolChoice::Auto,
            temperature: 0.0,
            max_tokens: 512,
            seed: Some(0),
            stop: Vec::new(),
        }
    }
}

/// One call to a model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    pub options: ChatOptions,
}

/// Tokens used by a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// Where a call's time went, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timings {
    /// Until the first token or byte of the answer.
    pub first_token_ms: f64,
    pub total_ms: f64,
    /// Prompt tokens served from a cache (local backend's prefix cache).
    #[serde(default)]
    pub cached_prompt_tokens: u32,
}

/// What a model call produces, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ChatEvent {
    /// A piece of answer text.
    TextDelta {
        text: String,
    },
    /// A whole tool call, arguments parsed.
    ToolCall {
        call: ToolCall,
    },
    Usage {
        usage: Usage,
    },
    Timings {
        timings: Timings,
    },
    /// The end: why the model stopped ("stop", "tool_calls", "length").
    Done {
        finish_reason: String,
    },
}

/// A stream of events, or the error that ended it.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<ChatEvent>> + Send>>;

/// A language model that chats and calls tools.
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    /// A short name for traces: backend and model.
    fn name(&self) -> String;
    /// Starts a call. Nothing happens until the stream is polled.
    fn chat(&self, request: ChatRequest) -> EventStream;
    /// Runs many independent calls, at most `parallel` at a time, and
    /// yields each answer with its request's index as it finishes (not in
    /// request order). The default runs [`ChatModel::chat`] calls
    /// concurrently, which an endpoint serves in parallel; the local model
    /// overrides it to decode the sequences together in one batch, their
    /// shared prompt prefix evaluated once. Dropping the stream cancels
    /// what has not finished.
    fn complete_many(&self, requests: Vec<ChatRequest>, parallel: usize) -> ManyStream<'_> {
        let calls = requests.into_iter().enumerate().map(move |(i, r)| {
            let events = self.chat(r);
            async move { (i, gather(events).await) }
        });
        Box::pin(futures::stream::iter(calls).buffer_unordered(parallel.max(1)))
    }
    /// The log-probabilities of the answer starting with each of the
    /// request's choices, read from the next-token logits in one forward
    /// pass. Only a backend that sees the logits can answer; the default
    /// says so.
    fn choice_logprobs(&self, request: ChoiceRequest) -> BoxFuture<'_, Result<ChoiceScores>> {
        let _ = request;
        let name = self.name();
        Box::pin(async move {
            Err(Error::Config(format!(
                "{name} gives no token probabilities; score with the local model (--model qwen2.5-0.5b)"
            )))
        })
    }
}

/// A request for the answer's first token over a few fixed choices: the
/// verbalizer of LLM scoring (the letters of a listwise ranking, "Yes" and
/// "No" for a pointwise one). Nothing is generated.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChoiceRequest {
    /// The conversation; the answer starts after it.
    pub messages: Vec<Message>,
    /// Short answers, each read by its first token; no two may share it.
    pub choices: Vec<String>,
}

/// The answer to a [`ChoiceRequest`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChoiceScores {
    /// Per choice, in request order: the log-probability that the answer's
    /// first token is the choice's first token (a log-softmax over the whole
    /// vocabulary, so the choices need not sum to one).
    pub logprobs: Vec<f32>,
    pub prompt_tokens: u32,
    /// Prompt tokens served from the cache of the previous prompt.
    pub cached_prompt_tokens: u32,
}

/// Answers of [`ChatModel::complete_many`]: (request index, answer).
pub type ManyStream<'a> = Pin<Box<dyn Stream<Item = (usize, Result<ChatResponse>)> + Send + 'a>>;

/// A shared model is a model: wrappers such as the cassette
/// [`replay::Recorder`] can take an `Arc<dyn ChatModel>`.
impl<M: ChatModel + ?Sized> ChatModel for std::sync::Arc<M> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn chat(&self, request: ChatRequest) -> EventStream {
        (**self).chat(request)
    }
    fn complete_many(&self, requests: Vec<ChatRequest>, parallel: usize) -> ManyStream<'_> {
        (**self).complete_many(requests, parallel)
    }
    fn choice_logprobs(&self, request: ChoiceRequest) -> BoxFuture<'_, Result<ChoiceScores>> {
        (**self).choice_logprobs(request)
    }
}

/// A whole answer, gathered from the events.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub timings: Timings,
    pub finish_reason: String,
}

/// Runs a call to the end and gathers its events.
pub async fn complete(model: &dyn ChatModel, request: ChatRequest) -> Result<ChatResponse> {
    gather(model.chat(request)).await
}

/// Gathers a call's events into one answer.
pub async fn gather(mut events: EventStream) -> Result<ChatResponse> {
    let mut out = ChatResponse::default();
    while let Some(e) = events.next().await {
        match e? {
            ChatEvent::TextDelta { text } => out.text.push_str(&text),
            ChatEvent::ToolCall { call } => out.tool_calls.push(call),
            ChatEvent::Usage { usage } => out.usage = usage,
            ChatEvent::Timings { timings } => out.timings = timings,
            ChatEvent::Done { finish_reason } => out.finish_reason = finish_reason,
        }
    }
    Ok(out)
}

/// Errors of the LLM layer. Each says what to do next where it can.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the model endpoint answered HTTP {status}: {message}")]
    Api { status: u16, message: String },
    #[error(
        "the model endpoint is rate limiting (HTTP 429) and still was after {attempts} attempts; wait and retry, or lower the request rate"
    )]
    RateLimited { attempts: u32 },
    #[error("the model endpoint failed (HTTP {status}) on all {attempts} attempts: {message}")]
    ServerError {
        status: u16,
        message: String,
        attempts: u32,
    },
    #[error(
        "no answer from the model endpoint {url} within {timeout:?} ({attempts} attempts); is it running and reachable?"
    )]
    Timeout {
        url: String,
        timeout: Duration,
        attempts: u32,
    },
    #[error("cannot reach the model endpoint: {0}")]
    Transport(String),
    #[error("the model endpoint sent a malformed response: {0}")]
    Malformed(String),
    #[error("the model called tool {name:?} with arguments that are not valid JSON: {reason}")]
    BadToolArguments { name: String, reason: String },
    #[error("cassette {path}: {reason}")]
    Cassette { path: String, reason: String },
    #[error(
        "the request differs from the recording in cassette {path} at call {index}, {at}: recorded {recorded}, got {got}"
    )]
    ReplayMismatch {
        path: String,
        index: usize,
        at: String,
        recorded: String,
        got: String,
    },
    #[error("{0}")]
    Config(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
