//! The API controller end to end: the agent drives an OpenAI-compatible
//! endpoint (a real HTTP server on loopback): the forced plan call asked
//! for whole, the answer streamed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use futures::StreamExt;
use recagent_agent::{Controller, Event, Strategy};
use recagent_llm::openai::{OpenAiConfig, OpenAiModel};
use serde_json::{Value, json};

use crate::fixture;

#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<String>>>,
    seen: Arc<Mutex<Vec<Value>>>,
}

async fn handler(State(s): State<Script>, body: String) -> axum::response::Response {
    s.seen
        .lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap_or(Value::Null));
    let body = s.replies.lock().unwrap().pop_front().unwrap_or_default();
    let ctype = if body.starts_with("data:") {
        "text/event-stream"
    } else {
        "application/json"
    };
    ([(header::CONTENT_TYPE, ctype)], body).into_response()
}

fn sse(chunks: &[Value]) -> String {
    let mut body = String::new();
    for c in chunks {
        body.push_str(&format!("data: {c}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    body
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

#[test]
fn the_api_controller_plans_streams_and_grounds() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let script = Script::default();
    script.replies.lock().unwrap().extend([
        json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {
                    "name": "plan", "arguments": "{\"genres\":[\"Comedy\"],\"year_min\":1990}"}}]}}],
            "usage": {"prompt_tokens": 410, "completion_tokens": 16, "total_tokens": 426}})
        .to_string(),
        sse(&[
            chunk(json!({"role": "assistant", "content": "Two light "}), Value::Null),
            chunk(json!({"content": "comedies to start."}), Value::Null),
            chunk(json!({}), json!("stop")),
        ]),
    ]);
    let url = rt.block_on(async {
        let app = Router::new()
            .route("/v1/chat/completions", post(handler))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/v1")
    });
    let model = OpenAiModel::new(OpenAiConfig {
        timeout: Duration::from_secs(5),
        stream: true,
        ..OpenAiConfig::new(url, "test-key", "test-model")
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(
        dir.path(),
        false,
        Controller::Model {
            model: Arc::new(model),
            strategy: Strategy::PlanFirst,
        },
    );
    let mut session = agent.session("api-user");
    let events: Vec<Event> = rt.block_on(session.send("a recent comedy").collect());
    let deltas: String = events
        .iter()
        .filter_map(|e| match e {
            Event::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, "Two light comedies to start.");
    let Some(Event::Answer(turn)) = events.last() else {
        panic!("no answer: {events:?}")
    };
    assert!(
        turn.answer.starts_with("Two light comedies to start.\n1. "),
        "{}",
        turn.answer
    );
    assert!(!turn.items.is_empty());
    for r in &turn.items {
        assert!(
            r.genres.contains(&"Comedy".to_string()) && r.year.unwrap() >= 1990,
            "{r:?}"
        );
    }
    assert_eq!(turn.trace.model_calls.len(), 2);
    assert_eq!(turn.trace.model_failures, 0);
    // The plan call's usage, from its whole reply.
    assert_eq!(turn.trace.model_calls[0].prompt_tokens, 410);
    // What went over the wire: the plan tool, forced by name, then the
    // answer request carrying the ranked list as the plan's result.
    let seen = script.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["tools"][0]["function"]["name"], "plan");
    assert_eq!(
        seen[0]["tool_choice"],
        json!({"type": "function", "function": {"name": "plan"}})
    );
    assert_eq!(seen[0]["model"], "test-model");
    assert!(seen[0].get("stream").is_none(), "{}", seen[0]);
    assert_eq!(seen[1]["stream"], true);
    let last = seen[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "tool");
    assert!(
        last["content"]
            .as_str()
            .unwrap()
            .contains(&turn.items[0].title)
    );
}
