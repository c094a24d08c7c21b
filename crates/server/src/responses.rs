//! `POST /v1/responses`: a minimal Responses API, after the Open Responses
//! spec. Text in (`input`, a string or a list of messages whose last user
//! message is the turn), text out (one `message` output item with one
//! `output_text` part), streamed as typed events or not. The same turn as
//! `/v1/chat/completions`, in the same session, behind the same keys and
//! limits; the `recagent` extension carries the items and the trace.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use recagent_agent::{Event, Turn};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{
    ApiError, AppState, InMessage, TurnJob, TurnMsg, User, answer_of, body, last_user_text, now,
    spawn_turn, timed_out,
};

/// The part of a Responses request the server reads; other fields
/// (`instructions`, `tools`, sampling) are accepted and ignored.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"model": "rules", "input": "a funny animated movie from the 90s"}))]
pub struct ResponsesRequest {
    #[serde(default)]
    pub model: Option<String>,
    /// A string, or a list of messages (`role`, `content`).
    #[schema(value_type = String)]
    pub input: Value,
    #[serde(default)]
    pub stream: bool,
}

impl ResponsesRequest {
    fn messages(&self) -> Vec<InMessage> {
        match &self.input {
            Value::String(s) => vec![InMessage {
                role: "user".into(),
                content: Value::String(s.clone()),
            }],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| serde_json::from_value::<InMessage>(i.clone()).ok())
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The response object, `status` and its output.
fn response_json(id: &str, created: u64, model: &str, t: Option<&Turn>, user: &str) -> Value {
    let mut v = json!({
        "id": id,
        "object": "response",
        "created_at": created,
        "status": if t.is_some() { "completed" } else { "in_progress" },
        "model": model,
        "output": [],
    });
    if let Some(t) = t {
        v["output"] = json!([message_item(id, &t.answer, "completed")]);
        let (p, c) = (t.trace.prompt_tokens(), t.trace.completion_tokens());
        v["usage"] = json!({"input_tokens": p, "output_tokens": c, "total_tokens": p + c});
        v["recagent"] = json!({"user": user, "items": t.items, "trace": t.trace});
    }
    v
}

fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "type": "message",
        "id": format!("msg_{id}"),
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    })
}

pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    User(user): User,
    req: Result<Json<ResponsesRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    state.gate.admit(&user)?;
    let req = body(req)?;
    let text = last_user_text(&req.messages(), state.limits)?;
    let (model, agent) = state.agent(req.model.as_deref())?;
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
    let id = state.completion_id().replacen("chatcmpl-", "resp_", 1);
    if req.stream {
        Ok(stream(id, model, user, rx))
    } else {
        complete(&id, &model, &user, rx).await
    }
}

async fn complete(
    id: &str,
    model: &str,
    user: &str,
    rx: UnboundedReceiver<TurnMsg>,
) -> Result<Response, ApiError> {
    let created = now();
    let t = answer_of(rx).await?;
    Ok(Json(response_json(id, created, model, Some(&t), user)).into_response())
}

/// The turn as Responses events: `response.created`, the message item and
/// its text part opened, `response.output_text.delta` as the text comes,
/// then the text, part and item done, and `response.completed` with the
/// whole response (its `recagent` extension included).
fn stream(id: String, model: String, user: String, mut rx: UnboundedReceiver<TurnMsg>) -> Response {
    let created = now();
    let events = async_stream::stream! {
        let mut seq = 0u64;
        let mut event = |kind: &str, mut v: Value| {
            v["type"] = json!(kind);
            v["sequence_number"] = json!(seq);
            seq += 1;
            Ok::<_, Infallible>(SseEvent::default().event(kind).data(v.to_string()))
        };
        let item_id = format!("msg_{id}");
        let head = |v: Value| {
            let mut v = v;
            v["item_id"] = json!(item_id);
            v["output_index"] = json!(0);
            v["content_index"] = json!(0);
            v
        };
        yield event("response.created", json!({"response": response_json(&id, created, &model, None, &user)}));
        yield event("response.output_item.added", json!({"output_index": 0, "item": message_item(&id, "", "in_progress")}));
        yield event("response.content_part.added", head(json!({"part": {"type": "output_text", "text": "", "annotations": []}})));
        let mut streamed = String::new();
        while let Some(m) = rx.recv().await {
            match m {
                TurnMsg::Event(Event::TextDelta { text }) => {
                    streamed.push_str(&text);
                    yield event("response.output_text.delta", head(json!({"delta": text})));
                }
                TurnMsg::Event(Event::Answer(t)) => {
                    let rest = match t.answer.strip_prefix(streamed.as_str()) {
                        Some(rest) => rest.to_owned(),
                        None if streamed.is_empty() => t.answer.clone(),
                        None => format!("\n\n{}", t.answer),
                    };
                    if !rest.is_empty() {
                        yield event("response.output_text.delta", head(json!({"delta": rest})));
                    }
                    let text = format!("{streamed}{rest}");
                    yield event("response.output_text.done", head(json!({"text": text})));
                    yield event("response.content_part.done", head(json!({"part": {"type": "output_text", "text": text, "annotations": []}})));
                    yield event("response.output_item.done", json!({"output_index": 0, "item": message_item(&id, &text, "completed")}));
                    let mut done = response_json(&id, created, &model, Some(&t), &user);
                    done["output"] = json!([message_item(&id, &text, "completed")]);
                    yield event("response.completed", json!({"response": done}));
                }
                TurnMsg::Event(_) => {}
                TurnMsg::TimedOut(limit) => {
                    let e = timed_out(limit);
                    yield event("error", json!({"code": e.code, "message": e.message}));
                    break;
                }
            }
        }
    };
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
