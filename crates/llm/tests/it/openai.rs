use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use recagent_llm::openai::{OpenAiConfig, OpenAiModel};
use recagent_llm::{ChatOptions, ChatRequest, Error, Message, ToolSpec, complete};
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    sse: bool,
    delay: Duration,
}

fn ok_json(v: Value) -> Reply {
    Reply {
        status: 200,
        body: v.to_string(),
        sse: false,
        delay: Duration::ZERO,
    }
}

fn status(code: u16, body: &str) -> Reply {
    Reply {
        status: code,
        body: body.into(),
        sse: false,
        delay: Duration::ZERO,
    }
}

fn sse(chunks: &[Value]) -> Reply {
    let mut body = String::new();
    for c in chunks {
        body.push_str(&format!("data: {c}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    Reply {
        status: 200,
        body,
        sse: true,
        delay: Duration::ZERO,
    }
}

#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Value>>>,
}

async fn handler(State(s): State<Script>, body: String) -> Response {
    s.seen
        .lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap_or(Value::Null));
    let r = s.replies.lock().unwrap().pop_front();
    let Some(r) = r else {
        return (StatusCode::GONE, "script exhausted").into_response();
    };
    tokio::time::sleep(r.delay).await;
    let ctype = if r.sse {
        "text/event-stream"
    } else {
        "application/json"
    };
    (
        StatusCode::from_u16(r.status).unwrap(),
        [(header::CONTENT_TYPE, ctype)],
        r.body,
    )
        .into_response()
}

/// Serves the script on a loopback port; returns the base URL.
async fn serve(replies: Vec<Reply>) -> (String, Script) {
    let script = Script {
        replies: Arc::new(Mutex::new(replies.into())),
        ..Script::default()
    };
    let app = Router::new()
        .route("/v1/chat/completions", post(handler))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), script)
}

fn config(url: &str, stream: bool) -> OpenAiConfig {
    OpenAiConfig {
        timeout: Duration::from_secs(5),
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        stream,
        ..OpenAiConfig::new(url, "test-key", "test-model")
    }
}

#[test]
fn a_new_config_has_the_documented_defaults() {
    let c = OpenAiConfig::new("http://localhost:8000/v1", "", "m");
    assert_eq!(
        (c.base_url.as_str(), c.api_key.as_str(), c.model.as_str()),
        ("http://localhost:8000/v1", "", "m")
    );
    assert_eq!(c.timeout, Duration::from_secs(120));
    assert_eq!(c.max_retries, 3);
    assert_eq!(
        (c.base_backoff, c.max_backoff),
        (Duration::from_millis(500), Duration::from_secs(8))
    );
    assert!(c.stream);
}

fn tools() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "search_items".into(),
        description: "Find items matching a text query and filters.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "genres": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                "year_min": {"type": "integer"}
            },
            "required": ["query"],
            "additionalProperties": false
        }),
    }]
}

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            Message::system("You recommend movies. Use the tools."),
            Message::user("something like alien but funny"),
        ],
        tools: tools(),
        options: ChatOptions::default(),
    }
}

fn tool_call_response() -> Value {
    json!({
        "id": "cmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_a", "type": "function",
                "function": {"name": "search_items", "arguments": "{\"query\":\"alien comedy\",\"genres\":[\"Comedy\",\"Sci-Fi\"]}"}
            }]},
            "finish_reason": "tool_calls"
        }],
        "usage": {"prompt_tokens": 120, "completion_tokens": 18, "total_tokens": 138}
    })
}

#[tokio::test]
async fn non_streamed_tool_call_and_request_shape() {
    let (url, script) = serve(vec![ok_json(tool_call_response())]).await;
    let model = OpenAiModel::new(config(&url, false)).unwrap();
    let r = complete(&model, request()).await.unwrap();
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].id, "call_a");
    assert_eq!(r.tool_calls[0].name, "search_items");
    assert_eq!(r.tool_calls[0].arguments["genres"][1], "Sci-Fi");
    assert_eq!(r.usage.prompt_tokens, 120);
    assert_eq!(r.usage.completion_tokens, 18);
    assert_eq!(r.finish_reason, "tool_calls");
    assert!(r.timings.total_ms > 0.0);
    // What goes over the wire: messages, tool schemas and options.
    let seen = script.seen.lock().unwrap()[0].clone();
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("chat_request_body", seen);
    });
}

#[tokio::test]
async fn streamed_text_and_tool_call_in_pieces() {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let (url, script) = serve(vec![sse(&[
        chunk(json!({"role": "assistant", "content": "Let me "}), Value::Null),
        chunk(json!({"content": "look."}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_x", "type": "function",
                   "function": {"name": "search_items", "arguments": "{\"query\":"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"space\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59}}),
    ])])
    .await;
    let model = OpenAiModel::new(config(&url, true)).unwrap();
    let r = complete(&model, request()).await.unwrap();
    assert_eq!(r.text, "Let me look.");
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].id, "call_x");
    assert_eq!(r.tool_calls[0].arguments, json!({"query": "space"}));
    assert_eq!(r.usage.completion_tokens, 9);
    assert_eq!(r.finish_reason, "tool_calls");
    let seen = script.seen.lock().unwrap()[0].clone();
    assert_eq!(seen["stream"], true);
    assert_eq!(seen["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn a_429_is_retried_then_succeeds() {
    let limited =
        r#"{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}"#;
    let (url, script) = serve(vec![status(429, limited), ok_json(tool_call_response())]).await;
    let model = OpenAiModel::new(config(&url, false)).unwrap();
    let r = complete(&model, request()).await.unwrap();
    assert_eq!(r.tool_calls[0].name, "search_items");
    assert_eq!(script.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_persistent_500_gives_up_after_the_retries() {
    let (url, script) = serve(vec![status(500, "upstream exploded"); 10]).await;
    let model = OpenAiModel::new(config(&url, false)).unwrap();
    let e = complete(&model, request()).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::ServerError {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("upstream exploded"));
    assert_eq!(script.seen.lock().unwrap().len(), 4, "1 try + 3 retries");
}

#[tokio::test]
async fn a_slow_server_times_out_on_every_attempt() {
    let slow = Reply {
        delay: Duration::from_secs(3),
        ..ok_json(tool_call_response())
    };
    let (url, script) = serve(vec![slow; 4]).await;
    let mut cfg = config(&url, false);
    cfg.timeout = Duration::from_millis(200);
    cfg.max_retries = 1;
    let model = OpenAiModel::new(cfg).unwrap();
    let e = complete(&model, request()).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { attempts: 2, .. }), "{e:?}");
    // The library names the endpoint it tried; which variable or flag set
    // it is the binary's business.
    assert!(e.to_string().contains(&url), "{e}");
    assert!(!e.to_string().contains("OPENAI_"), "{e}");
    assert_eq!(script.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn malformed_json_is_a_typed_error_and_not_retried() {
    let (url, script) = serve(vec![
        status(200, "{\"choices\": [ this is not json"),
        ok_json(tool_call_response()),
    ])
    .await;
    let model = OpenAiModel::new(config(&url, false)).unwrap();
    let e = complete(&model, request()).await.unwrap_err();
    assert!(matches!(e, Error::Malformed(_)), "{e:?}");
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn tool_arguments_that_are_not_json_are_a_typed_error() {
    let mut v = tool_call_response();
    v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = json!("{query: oops");
    let (url, _) = serve(vec![ok_json(v.clone()), ok_json(v)]).await;
    let model = OpenAiModel::new(config(&url, false)).unwrap();
    let e = complete(&model, request()).await.unwrap_err();
    assert!(
        matches!(e, Error::BadToolArguments { ref name, .. } if name == "search_items"),
        "{e:?}"
    );
    // The tokens the failed call cost are still reported, before the error.
    use futures::StreamExt as _;
    use recagent_llm::ChatModel as _;
    let events: Vec<_> = model.chat(request()).collect().await;
    let usage = events.iter().find_map(|e| match e {
        Ok(recagent_llm::ChatEvent::Usage { usage }) => Some(usage.prompt_tokens),
        _ => None,
    });
    assert_eq!(usage, Some(120), "{events:?}");
    assert!(matches!(
        events.last(),
        Some(Err(Error::BadToolArguments { .. }))
    ));
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let bad = r#"{"error":{"message":"unknown model","type":"invalid_request_error","param":null,"code":null}}"#;
    let (url, script) = serve(vec![status(404, bad), ok_json(tool_call_response())]).await;
    let model = OpenAiModel::new(config(&url, true)).unwrap();
    let e = complete(&model, request()).await.unwrap_err();
    assert!(matches!(e, Error::Api { status: 404, .. }), "{e:?}");
    assert!(e.to_string().contains("unknown model"));
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn nothing_listening_is_retried_then_reported() {
    let mut cfg = config("http://127.0.0.1:9/v1", false);
    cfg.max_retries = 1;
    let model = OpenAiModel::new(cfg).unwrap();
    let e = complete(&model, request()).await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert!(e.to_string().contains("127.0.0.1:9"), "{e}");
}

/// Counts requests in flight; echoes the last user message back after a
/// pause; answers the very first request with a 429.
#[derive(Clone, Default)]
struct Gauge {
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    most: Arc<std::sync::atomic::AtomicUsize>,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

async fn echo(State(g): State<Gauge>, body: String) -> Response {
    use std::sync::atomic::Ordering::SeqCst;
    if g.calls.fetch_add(1, SeqCst) == 0 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}"#,
        )
            .into_response();
    }
    let now = g.in_flight.fetch_add(1, SeqCst) + 1;
    g.most.fetch_max(now, SeqCst);
    tokio::time::sleep(Duration::from_millis(40)).await;
    g.in_flight.fetch_sub(1, SeqCst);
    let v: Value = serde_json::from_str(&body).unwrap();
    let said = v["messages"][1]["content"].as_str().unwrap().to_owned();
    let reply = json!({
        "id": "cmpl-e", "object": "chat.completion", "created": 1, "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("you said {said}")},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        reply.to_string(),
    )
        .into_response()
}

#[tokio::test]
async fn many_calls_run_at_most_parallel_at_once_with_retries() {
    use futures::StreamExt as _;
    use recagent_llm::ChatModel as _;
    use std::sync::atomic::Ordering::SeqCst;
    let gauge = Gauge::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(echo))
        .with_state(gauge.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let model = OpenAiModel::new(config(&format!("http://{addr}/v1"), false)).unwrap();
    let requests: Vec<ChatRequest> = (0..10)
        .map(|i| ChatRequest {
            messages: vec![Message::system("echo"), Message::user(format!("item {i}"))],
            tools: Vec::new(),
            options: ChatOptions::default(),
        })
        .collect();
    let answers: Vec<(usize, String)> = model
        .complete_many(requests, 3)
        .map(|(i, r)| (i, r.unwrap().text))
        .collect()
        .await;
    let mut seen: Vec<usize> = answers.iter().map(|a| a.0).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    for (i, text) in &answers {
        assert_eq!(text, &format!("you said item {i}"));
    }
    assert_eq!(gauge.most.load(SeqCst), 3, "at most 3 at once, and 3 were");
    // Ten answers and the one 429 that was retried.
    assert_eq!(gauge.calls.load(SeqCst), 11);
}

/// A required call with one tool is asked for by name; a server that
/// refuses a forced choice (a 400 after the request) is asked once more
/// with `"auto"` and told to answer with the call only.
#[tokio::test]
async fn a_forced_tool_is_named_and_a_refusal_falls_back_to_auto() {
    let refused = r#"{"error":{"message":"tool_choice: only \"auto\" is supported","type":"invalid_request_error","param":"tool_choice","code":null}}"#;
    // A forced call is asked for whole, streamed or not: the replies are
    // plain JSON either way.
    for stream in [false, true] {
        let answer = ok_json(tool_call_response());
        let (url, script) = serve(vec![status(400, refused), answer]).await;
        let model = OpenAiModel::new(config(&url, stream)).unwrap();
        let mut req = request();
        req.options.tool_choice = recagent_llm::ToolChoice::Required;
        let r = complete(&model, req).await.unwrap();
        assert_eq!(r.tool_calls[0].name, "search_items", "stream {stream}");
        let seen = script.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "stream {stream}");
        assert!(seen.iter().all(|s| s.get("stream").is_none()), "{seen:?}");
        assert_eq!(
            seen[0]["tool_choice"],
            json!({"type": "function", "function": {"name": "search_items"}})
        );
        assert_eq!(seen[1]["tool_choice"], "auto", "{}", seen[1]);
        let last = seen[1]["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["role"], "system");
        assert!(
            last["content"]
                .as_str()
                .unwrap()
                .contains("one call to search_items")
        );
    }
    // Only a forced choice falls back: a plain request's 400 is an error.
    let (url, script) = serve(vec![status(400, refused), ok_json(tool_call_response())]).await;
    let model = OpenAiModel::new(config(&url, false)).unwrap();
    assert!(complete(&model, request()).await.is_err());
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

/// A server that repeats the tool's name in every streamed piece (as
/// llama-cpp-python's function-calling handler does) still gives one call
/// with that name.
#[tokio::test]
async fn a_name_repeated_in_every_piece_is_one_name() {
    let piece = |args: &str, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": null, "delta": {
                "role": null, "content": null,
                "function_call": {"name": "search_items", "arguments": args},
                "tool_calls": [{"index": 0, "id": "call_0", "type": "function",
                    "function": {"name": "search_items", "arguments": args}}]}}]})
    };
    let chunks = [
        piece("{\"query\"", Value::Null),
        piece(": \"alien\"", Value::Null),
        piece("}", json!("tool_calls")),
    ];
    let (url, _) = serve(vec![sse(&chunks)]).await;
    let model = OpenAiModel::new(config(&url, true)).unwrap();
    let r = complete(&model, request()).await.unwrap();
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].name, "search_items");
    assert_eq!(r.tool_calls[0].arguments["query"], "alien");
}

/// `"required"` among several tools, on a server that cannot force it
/// (llama-cpp-python's function-calling handler answers a 500): one tool
/// standing for all of them is forced by name, its call is read as the
/// tool it names, and the next request asks that way at once. Streamed or
/// not, a forced call is asked for whole, so its usage is counted.
#[tokio::test]
async fn required_among_several_tools_falls_back_to_one_tool_forced_by_name() {
    let mut several = tools();
    several.push(ToolSpec {
        name: "rank_candidates".into(),
        description: "Rank the candidates.".into(),
        parameters: json!({"type": "object", "properties": {"k": {"type": "integer"}}}),
    });
    let wrapped_args = "{\"name\": \"rank_candidates\", \"arguments\": {\"k\": 5}}";
    for stream in [false, true] {
        let answer = || {
            ok_json(json!({
                "id": "cmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                    "tool_calls": [{"id": "call_a", "type": "function",
                        "function": {"name": "call_one_tool", "arguments": wrapped_args}}]}}],
                "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320}
            }))
        };
        let refusal = status(
            500,
            r#"{"error":{"message":"","type":"internal_server_error","param":null,"code":null}}"#,
        );
        let (url, script) = serve(vec![refusal, answer(), answer()]).await;
        let model = OpenAiModel::new(config(&url, stream)).unwrap();
        let mut req = request();
        req.tools = several.clone();
        req.options.tool_choice = recagent_llm::ToolChoice::Required;
        for _ in 0..2 {
            let r = complete(&model, req.clone()).await.unwrap();
            assert_eq!(r.tool_calls.len(), 1, "stream {stream}");
            assert_eq!(r.tool_calls[0].name, "rank_candidates");
            assert_eq!(r.tool_calls[0].arguments, json!({"k": 5}));
            assert_eq!(r.usage.prompt_tokens, 300);
        }
        let seen = script.seen.lock().unwrap().clone();
        // Refused once, not retried; then one tool, twice.
        assert_eq!(seen.len(), 3, "stream {stream}");
        assert!(seen.iter().all(|s| s.get("stream").is_none()), "{seen:?}");
        assert_eq!(seen[0]["tool_choice"], "required");
        for s in &seen[1..] {
            assert_eq!(
                s["tool_choice"],
                json!({"type": "function", "function": {"name": "call_one_tool"}})
            );
            let tools = s["tools"].as_array().unwrap();
            assert_eq!(tools.len(), 1);
            let options = tools[0]["function"]["parameters"]["anyOf"]
                .as_array()
                .unwrap();
            assert_eq!(options.len(), 2);
            assert_eq!(
                options[1]["properties"]["name"]["enum"],
                json!(["rank_candidates"])
            );
        }
    }
}

#[test]
fn arrays_without_a_bound_are_sent_bounded_and_keys_keep_their_order() {
    let mut req = request();
    req.tools[0].parameters = json!({
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "genres": {"type": "array", "items": {"type": "string"}},
            "titles": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "nested": {"anyOf": [{"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}]}
        }
    });
    req.options.tool_choice = recagent_llm::ToolChoice::Required;
    let body = recagent_llm::openai::request_json("m", &req, false);
    let p = &body["tools"][0]["function"]["parameters"];
    let max = recagent_llm::DEFAULT_MAX_ITEMS;
    assert_eq!(p["properties"]["genres"]["maxItems"], max);
    assert_eq!(
        p["properties"]["titles"]["maxItems"], 3,
        "a bound set stays"
    );
    let nested = &p["properties"]["nested"]["anyOf"][0];
    assert_eq!(nested["maxItems"], max);
    assert_eq!(nested["items"]["maxItems"], max);
    assert!(
        p["properties"]["query"].get("maxLength").is_none(),
        "strings go unbounded"
    );
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(&p["properties"]),
        keys(&req.tools[0].parameters["properties"]),
        "the order the schema gives"
    );
}

fn logprob_response(top: &[(&str, f64)]) -> Value {
    let alts: Vec<Value> = top
        .iter()
        .map(|(t, l)| json!({"token": t, "logprob": l, "bytes": null}))
        .collect();
    json!({
        "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": top[0].0},
            "finish_reason": "length",
            "logprobs": {"content": [{"token": top[0].0, "logprob": top[0].1, "bytes": null, "top_logprobs": alts}]}
        }],
        "usage": {"prompt_tokens": 42, "completion_tokens": 1, "total_tokens": 43}
    })
}

#[tokio::test]
async fn choice_log_probabilities_come_from_the_listed_alternatives() {
    use recagent_llm::{ChatModel as _, ChoiceRequest};
    let (url, script) = serve(vec![
        ok_json(logprob_response(&[("B", -0.2), (" A", -1.9), ("Yes", -3.0)])),
        ok_json(json!({
            "id": "c2", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "B"}, "finish_reason": "length"}]
        })),
    ])
    .await;
    let model = OpenAiModel::new(config(&url, false)).unwrap();
    let req = ChoiceRequest {
        messages: vec![Message::user("A or B or C?")],
        choices: vec!["A".into(), "B".into(), "C".into()],
    };
    let out = model.choice_logprobs(req.clone()).await.unwrap();
    assert_eq!(
        out.logprobs[0], -1.9,
        "a listed token with a space is the choice"
    );
    assert_eq!(out.logprobs[1], -0.2);
    assert_eq!(out.logprobs[2], f32::NEG_INFINITY, "C was not listed");
    assert_eq!(out.prompt_tokens, 42);
    let sent = script.seen.lock().unwrap()[0].clone();
    assert_eq!(sent["logprobs"], json!(true));
    assert_eq!(sent["top_logprobs"], json!(20));
    assert_eq!(sent["max_tokens"], json!(1));
    assert_eq!(sent["temperature"], json!(0.0));
    // An endpoint that gives no log-probabilities says what to do.
    let e = model.choice_logprobs(req).await.unwrap_err();
    assert!(e.to_string().contains("no token probabilities"), "{e}");
}
