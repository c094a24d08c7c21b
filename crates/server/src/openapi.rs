//! The server's OpenAPI 3.1 document (utoipa), served as JSON at
//! `GET /openapi.json` with no key and no UI assets.
//!
//! The request bodies are the types the handlers read; the responses,
//! which the handlers build as JSON, are described by the `…Doc` types
//! here. A Schemathesis run against a live server (`tests/it/python.rs`)
//! checks that every response matches this document.

#![allow(dead_code)] // The `…Doc` types and path functions only describe.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::responses::ResponsesRequest;
use crate::{ChatRequest, FeedbackRequest, InMessage, Stop, StreamOptions};

/// A chat completion (not streamed).
#[derive(ToSchema)]
#[schema(as = ChatCompletion)]
struct ChatCompletionDoc {
    id: String,
    /// Always `chat.completion`.
    object: String,
    created: u64,
    model: String,
    choices: Vec<ChoiceDoc>,
    usage: UsageDoc,
    /// The recommended items and the turn's trace.
    #[schema(value_type = Object)]
    recagent: serde_json::Value,
}

/// A Responses API response.
#[derive(ToSchema)]
#[schema(as = Response)]
struct ResponseDoc {
    id: String,
    /// Always `response`.
    object: String,
    created_at: u64,
    /// `completed` (or `in_progress` in `response.created`).
    status: String,
    model: String,
    output: Vec<OutputItemDoc>,
    usage: Option<ResponseUsageDoc>,
    /// The recommended items and the turn's trace.
    #[schema(value_type = Option<Object>)]
    recagent: Option<serde_json::Value>,
}

#[derive(ToSchema)]
#[schema(as = OutputItem)]
struct OutputItemDoc {
    /// Always `message`.
    #[schema(rename = "type")]
    kind: String,
    id: String,
    status: String,
    role: String,
    content: Vec<OutputTextDoc>,
}

#[derive(ToSchema)]
#[schema(as = OutputText)]
struct OutputTextDoc {
    /// Always `output_text`.
    #[schema(rename = "type")]
    kind: String,
    text: String,
    #[schema(value_type = Vec<Object>)]
    annotations: Vec<serde_json::Value>,
}

#[derive(ToSchema)]
#[schema(as = ResponseUsage)]
struct ResponseUsageDoc {
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
}

/// One server-sent event of a streamed answer: `data` is a
/// `chat.completion.chunk` as JSON (or `[DONE]` last), or a Responses
/// event named by `event`.
#[derive(ToSchema)]
#[schema(as = ChunkEvent)]
struct ChunkEventDoc {
    data: String,
    event: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = Choice)]
struct ChoiceDoc {
    index: u32,
    message: AssistantMessageDoc,
    /// Always `stop`.
    finish_reason: String,
}

#[derive(ToSchema)]
#[schema(as = AssistantMessage)]
struct AssistantMessageDoc {
    role: String,
    content: String,
}

#[derive(ToSchema)]
#[schema(as = Usage)]
struct UsageDoc {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

/// An error, in OpenAI's format.
#[derive(ToSchema)]
#[schema(as = Error)]
struct ErrorDoc {
    error: ErrorDetailDoc,
}

#[derive(ToSchema)]
#[schema(as = ErrorDetail)]
struct ErrorDetailDoc {
    message: String,
    /// `invalid_request_error`, `authentication_error`, `rate_limit_error`
    /// or `server_error`.
    #[schema(rename = "type")]
    kind: String,
    /// The request field at fault, if any.
    param: Option<String>,
    code: String,
}

#[derive(ToSchema)]
#[schema(as = ModelList)]
struct ModelListDoc {
    object: String,
    data: Vec<ModelDoc>,
}

#[derive(ToSchema)]
#[schema(as = Model)]
struct ModelDoc {
    id: String,
    object: String,
    created: u64,
    owned_by: String,
}

/// An item as every recagent response writes it: `id` is the catalog's.
#[derive(ToSchema)]
#[schema(as = Item)]
struct ItemDoc {
    id: String,
    title: String,
    year: Option<u16>,
    genres: Vec<String>,
    score: Option<f32>,
    reason: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = Fact)]
struct FactDoc {
    id: i64,
    text: String,
}

/// What is remembered about the key's user.
#[derive(ToSchema)]
#[schema(as = Profile)]
struct ProfileDoc {
    user: String,
    facts: Vec<FactDoc>,
    liked: Vec<ItemDoc>,
    disliked: Vec<ItemDoc>,
    seen: Vec<ItemDoc>,
    liked_genres: Vec<String>,
    avoided_genres: Vec<String>,
}

#[derive(ToSchema)]
#[schema(as = Deleted)]
struct DeletedDoc {
    user: String,
    deleted: bool,
}

#[derive(ToSchema)]
#[schema(as = Reset)]
struct ResetDoc {
    user: String,
    reset: bool,
}

/// One agent turn. The last user message is the turn; the conversation is
/// kept on the server, per key and model. With `stream`, the answer comes
/// as `chat.completion.chunk` server-sent events ending with `[DONE]`.
#[utoipa::path(
    post,
    path = "/v1/chat/completions",
    request_body = ChatRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Answer a retry with this key from the first request instead of running the turn again (not streamed)"),
    ),
    responses(
        (status = 200, description = "The answer", content(
            (ChatCompletionDoc = "application/json"),
            (ChunkEventDoc = "text/event-stream"),
        )),
        (status = 400, description = "Malformed or invalid request", body = ErrorDoc),
        (status = 401, description = "No key, or an unknown key", body = ErrorDoc),
        (status = 404, description = "Unknown model", body = ErrorDoc),
        (status = 409, description = "A request with this Idempotency-Key is still running", body = ErrorDoc),
        (status = 413, description = "Body, messages or a message too large", body = ErrorDoc),
        (status = 429, description = "Over the key's requests per minute or concurrent turns; see Retry-After", body = ErrorDoc),
        (status = 503, description = "The model's queue is full; see Retry-After", body = ErrorDoc),
        (status = 504, description = "The turn ran out of time", body = ErrorDoc),
    ),
    security(("bearer" = []))
)]
fn chat_completions() {}

/// One agent turn through the Responses API: `input` is the text, or
/// messages whose last user message is the turn. With `stream`, typed
/// events from `response.created` to `response.completed`.
#[utoipa::path(
    post,
    path = "/v1/responses",
    request_body = ResponsesRequest,
    responses(
        (status = 200, description = "The response", content(
            (ResponseDoc = "application/json"),
            (ChunkEventDoc = "text/event-stream"),
        )),
        (status = 400, description = "Malformed or invalid request", body = ErrorDoc),
        (status = 401, description = "No key, or an unknown key", body = ErrorDoc),
        (status = 404, description = "Unknown model", body = ErrorDoc),
        (status = 413, description = "Body, messages or a message too large", body = ErrorDoc),
        (status = 429, description = "Over the key's requests per minute or concurrent turns; see Retry-After", body = ErrorDoc),
        (status = 503, description = "The model's queue is full; see Retry-After", body = ErrorDoc),
        (status = 504, description = "The turn ran out of time", body = ErrorDoc),
    ),
    security(("bearer" = []))
)]
fn responses() {}

/// The served models (controllers).
#[utoipa::path(
    get,
    path = "/v1/models",
    responses(
        (status = 200, description = "The models", body = ModelListDoc),
        (status = 401, description = "No key, or an unknown key", body = ErrorDoc),
    ),
    security(("bearer" = []))
)]
fn models() {}

/// The key's user's profile.
#[utoipa::path(
    get,
    path = "/v1/profile",
    responses(
        (status = 200, description = "The profile", body = ProfileDoc),
        (status = 401, description = "No key, or an unknown key", body = ErrorDoc),
    ),
    security(("bearer" = []))
)]
fn get_profile() {}

/// Forgets the key's user's whole profile and conversations.
#[utoipa::path(
    delete,
    path = "/v1/profile",
    responses(
        (status = 200, description = "Forgotten", body = DeletedDoc),
        (status = 401, description = "No key, or an unknown key", body = ErrorDoc),
    ),
    security(("bearer" = []))
)]
fn delete_profile() {}

/// Feedback on an item: `like`, `dislike` or `seen`.
#[utoipa::path(
    post,
    path = "/v1/feedback",
    request_body = FeedbackRequest,
    responses(
        (status = 200, description = "The profile after it", body = ProfileDoc),
        (status = 400, description = "Malformed request or unknown feedback", body = ErrorDoc),
        (status = 401, description = "No key, or an unknown key", body = ErrorDoc),
        (status = 404, description = "Unknown item", body = ErrorDoc),
        (status = 413, description = "Body too large", body = ErrorDoc),
    ),
    security(("bearer" = []))
)]
fn feedback() {}

/// Starts the key's user's conversations over (the profile stays).
#[utoipa::path(
    post,
    path = "/v1/reset",
    responses(
        (status = 200, description = "Started over", body = ResetDoc),
        (status = 401, description = "No key, or an unknown key", body = ErrorDoc),
    ),
    security(("bearer" = []))
)]
fn reset() {}

/// Bearer keys, one per user, from the server's keys file.
struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "recagent",
        description = "A conversational recommender behind an OpenAI-compatible API. See docs/server.md."
    ),
    paths(chat_completions, responses, models, get_profile, delete_profile, feedback, reset),
    components(schemas(ChatRequest, InMessage, StreamOptions, Stop, FeedbackRequest, ResponsesRequest)),
    modifiers(&BearerKeys)
)]
struct ApiDoc;

/// The document, as JSON.
pub(crate) fn document() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}
