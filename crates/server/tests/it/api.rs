//! The API end to end with real clients on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use futures::StreamExt;
use recagent_llm::{ChatEvent, ChatModel, ChatRequest, EventStream};
use recagent_server::Limits;
use serde_json::{Value, json};

use crate::fixture::{self, ALICE, BOB};

fn client(run: &fixture::Running, key: &str) -> Client<OpenAIConfig> {
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(run.url("/v1"))
            .with_api_key(key),
    )
}

fn genre_of_catalog() -> String {
    fixture::catalog()
        .genre_vocab()
        .into_iter()
        .find(|g| g != "unknown")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_clients_get_answers_items_and_traces_streamed_or_not() {
    let run = fixture::start(None, Limits::default()).await;
    let c = client(&run, ALICE);
    let genre = genre_of_catalog();
    let ask = format!("I'd like a {genre} movie");

    // Not streamed, with the typed client: a standard response.
    let typed = c
        .chat()
        .create(
            async_openai::types::chat::CreateChatCompletionRequestArgs::default()
                .model("rules")
                .messages([
                    async_openai::types::chat::ChatCompletionRequestUserMessageArgs::default()
                        .content(ask.clone())
                        .build()
                        .unwrap()
                        .into(),
                ])
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let text = typed.choices[0].message.content.clone().unwrap();
    assert!(!text.is_empty());

    // The same with the extension read (bring-your-own types).
    let v: Value = c
        .chat()
        .create_byot(json!({"model": "rules", "messages": [{"role": "user", "content": ask}]}))
        .await
        .unwrap();
    assert_eq!(v["object"], "chat.completion");
    let items = v["recagent"]["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{v}");
    for i in items {
        assert!(
            i["genres"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == &json!(genre)),
            "{i}"
        );
    }
    assert!(
        !v["recagent"]["trace"]["tool_calls"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        !v["recagent"]["trace"]["stages"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(v["recagent"]["user"], "alice");

    // Streamed: the chunks add up to the answer; the last carries the items.
    let mut stream = c
        .chat()
        .create_stream_byot::<_, Value>(json!({
            "model": "rules", "stream": true,
            "messages": [{"role": "user", "content": "something else"}],
        }))
        .await
        .unwrap();
    let mut content = String::new();
    let mut last = Value::Null;
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        chunks += 1;
        assert_eq!(chunk["object"], "chat.completion.chunk");
        if let Some(t) = chunk["choices"][0]["delta"]["content"].as_str() {
            content.push_str(t);
        }
        last = chunk;
    }
    assert!(chunks >= 3, "role, content, finish");
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["recagent"]["answer"].as_str().unwrap(), content);
    let again = last["recagent"]["items"].as_array().unwrap();
    assert!(!again.is_empty());
    // "something else" is about the last list: none of it comes back.
    for i in again {
        assert!(
            !items.iter().any(|j| j["id"] == i["id"]),
            "{i} was shown before"
        );
    }

    // The typed streaming client parses the chunks too.
    let mut typed = c
        .chat()
        .create_stream(
            async_openai::types::chat::CreateChatCompletionRequestArgs::default()
                .model("rules")
                .stream(true)
                .messages([
                    async_openai::types::chat::ChatCompletionRequestUserMessageArgs::default()
                        .content("a movie from the 1990s")
                        .build()
                        .unwrap()
                        .into(),
                ])
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let mut n = 0;
    while let Some(chunk) = typed.next().await {
        chunk.unwrap();
        n += 1;
    }
    assert!(n >= 3);

    let models: Value = reqwest::Client::new()
        .get(run.url("/v1/models"))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "rules");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_likes_never_reach_another() {
    let run = fixture::start(None, Limits::default()).await;
    let http = reqwest::Client::new();
    let catalog = fixture::catalog();
    let liked = &catalog.items()[7];
    // Alice likes an item.
    let r: Value = http
        .post(run.url("/v1/feedback"))
        .bearer_auth(ALICE)
        .json(&json!({"item": liked.key, "feedback": "like"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["liked"][0]["id"], json!(liked.key));
    let alice = client(&run, ALICE);
    let bob = client(&run, BOB);
    let ask = |c: &Client<OpenAIConfig>, text: String| {
        let c = c.clone();
        async move {
            let v: Value = c
                .chat()
                .create_byot(
                    json!({"model": "rules", "messages": [{"role": "user", "content": text}]}),
                )
                .await
                .unwrap();
            v["recagent"]["items"].as_array().unwrap().clone()
        }
    };
    let titles = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let has = |i: &Value, g: &str| i["genres"].as_array().unwrap().contains(&json!(g));
    let request = "a movie from the 1990s".to_owned();
    let bob_before = ask(&bob, request.clone()).await;
    assert!(!bob_before.is_empty());
    // The genre most of Bob's list has: Alice will never want it.
    let vocab = fixture::catalog().genre_vocab();
    let genre = vocab
        .iter()
        .max_by_key(|g| bob_before.iter().filter(|i| has(i, g)).count())
        .unwrap()
        .clone();
    ask(&alice, format!("I never want {genre}")).await;
    let profile = |key: &'static str| {
        let http = http.clone();
        let url = run.url("/v1/profile");
        async move {
            http.get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let a = profile(ALICE).await;
    assert_eq!(a["user"], "alice");
    assert_eq!(a["avoided_genres"], json!([genre]));
    let b = profile(BOB).await;
    assert_eq!(b["user"], "bob");
    assert_eq!(b["liked"], json!([]));
    assert_eq!(b["avoided_genres"], json!([]));
    // Alice's list leaves her avoided genre out; Bob's is as before.
    let alice_list = ask(&alice, request.clone()).await;
    assert!(!alice_list.is_empty());
    assert!(alice_list.iter().all(|i| !has(i, &genre)), "{alice_list:?}");
    let bob_after = ask(&bob, request).await;
    assert_eq!(titles(&bob_after), titles(&bob_before));
    assert!(bob_after.iter().any(|i| has(i, &genre)));
    // Deleting is Alice's own.
    let d = http
        .delete(run.url("/v1/profile"))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), 200);
    assert_eq!(profile(ALICE).await["avoided_genres"], json!([]));
    assert!(!run.memory.users().unwrap().contains(&"alice".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors() {
    let run = fixture::start(
        None,
        Limits {
            max_body_bytes: 4096,
            max_messages: 4,
            max_message_chars: 200,
            ..Limits::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let url = run.url("/v1/chat/completions");
    let ok_body = json!({"model": "rules", "messages": [{"role": "user", "content": "a comedy"}]});
    let check = |r: reqwest::Response, status: u16, needle: &'static str| async move {
        assert_eq!(r.status().as_u16(), status);
        let v: Value = r.json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap().to_owned();
        assert!(msg.contains(needle), "{msg}");
    };
    check(
        http.post(&url).json(&ok_body).send().await.unwrap(),
        401,
        "Authorization: Bearer",
    )
    .await;
    check(
        http.post(&url)
            .bearer_auth("key-nobody-999")
            .json(&ok_body)
            .send()
            .await
            .unwrap(),
        401,
        "not in the server's keys file",
    )
    .await;
    check(
        http.post(&url)
            .bearer_auth(ALICE)
            .header("content-type", "application/json")
            .body("{\"messages\": [")
            .send()
            .await
            .unwrap(),
        400,
        "not valid",
    )
    .await;
    let many: Vec<Value> = (0..5)
        .map(|_| json!({"role": "user", "content": "hi"}))
        .collect();
    check(
        http.post(&url)
            .bearer_auth(ALICE)
            .json(&json!({"messages": many}))
            .send()
            .await
            .unwrap(),
        413,
        "at most 4",
    )
    .await;
    let big = "x".repeat(5000);
    let r = http
        .post(&url)
        .bearer_auth(ALICE)
        .json(&json!({"messages": [{"role": "user", "content": big}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    check(
        http.post(&url)
            .bearer_auth(ALICE)
            .json(&json!({"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap(),
        404,
        "GET /v1/models",
    )
    .await;
    check(
        http.post(run.url("/v1/feedback"))
            .bearer_auth(ALICE)
            .json(&json!({"item": "no-such-item", "feedback": "like"}))
            .send()
            .await
            .unwrap(),
        404,
        "no item",
    )
    .await;
    // Wrong types and values out of OpenAI's range are 400s that name the
    // field; unknown fields are ignored.
    for (field, value, needle) in [
        ("max_tokens", json!(-5), "max_tokens"),
        ("max_tokens", json!("ten"), "max_tokens"),
        ("max_completion_tokens", json!(0), "max_completion_tokens"),
        ("n", json!(3), "n must be 1"),
        ("temperature", json!("hot"), "temperature"),
        ("temperature", json!(2.5), "temperature"),
        ("top_p", json!(-0.1), "top_p"),
        ("presence_penalty", json!(9), "presence_penalty"),
        ("stream", json!("yes"), "stream"),
        ("stop", json!(["a", "b", "c", "d", "e"]), "stop"),
        (
            "stream_options",
            json!({"include_usage": "y"}),
            "include_usage",
        ),
    ] {
        let mut b = ok_body.clone();
        b[field] = value.clone();
        let r = http
            .post(&url)
            .bearer_auth(ALICE)
            .json(&b)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{field} = {value}");
        let v: Value = r.json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{field} = {value}: {msg}");
    }
    // Nothing was stored for the failed requests.
    assert!(run.memory.users().unwrap().is_empty());
    let mut b = ok_body.clone();
    b["temperature"] = json!(0.7);
    b["max_tokens"] = json!(64);
    b["n"] = json!(1);
    b["stop"] = json!("\n");
    b["logit_bias"] = json!({"50256": -100});
    b["a_field_from_the_future"] = json!({"x": 1});
    let r = http
        .post(&url)
        .bearer_auth(ALICE)
        .json(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_end_with_usage_when_asked() {
    let run = fixture::start(None, Limits::default()).await;
    let http = reqwest::Client::new();
    let chunks = |include: Option<bool>| {
        let http = http.clone();
        let url = run.url("/v1/chat/completions");
        async move {
            let mut b = json!({
                "model": "rules",
                "stream": true,
                "messages": [{"role": "user", "content": "a comedy"}],
            });
            if let Some(i) = include {
                b["stream_options"] = json!({"include_usage": i});
            }
            let text = http
                .post(url)
                .bearer_auth(ALICE)
                .json(&b)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let data: Vec<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .map(str::to_owned)
                .collect();
            assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{text}");
            data[..data.len() - 1]
                .iter()
                .map(|d| serde_json::from_str::<Value>(d).unwrap())
                .collect::<Vec<Value>>()
        }
    };
    let with = chunks(Some(true)).await;
    let last = with.last().unwrap();
    assert_eq!(last["choices"], json!([]), "{last}");
    for k in ["prompt_tokens", "completion_tokens", "total_tokens"] {
        assert!(last["usage"][k].is_u64(), "{last}");
    }
    // Every chunk with a choice names its finish reason (null until the end).
    let with_choices: Vec<&Value> = with.iter().filter(|c| c["choices"] != json!([])).collect();
    assert!(
        with_choices
            .iter()
            .all(|c| c["choices"][0].get("finish_reason").is_some())
    );
    assert_eq!(
        with_choices.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    for include in [None, Some(false)] {
        let without = chunks(include).await;
        assert!(
            without.iter().all(|c| c.get("usage").is_none()),
            "{include:?}"
        );
        assert!(without.iter().all(|c| c["choices"] != json!([])));
    }
}

/// A model that takes its time and decides nothing (the rules parse stands
/// in after it fails).
#[derive(Debug)]
struct Slow;

impl ChatModel for Slow {
    fn name(&self) -> String {
        "slow".into()
    }
    fn chat(&self, _request: ChatRequest) -> EventStream {
        Box::pin(futures::stream::once(async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(ChatEvent::Done {
                finish_reason: "stop".into(),
            })
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_running_turns() {
    let mut run = fixture::start(Some(Arc::new(Slow)), Limits::default()).await;
    let c = client(&run, ALICE);
    let started = Instant::now();
    let turn = tokio::spawn(async move {
        c.chat()
            .create_byot::<_, Value>(
                json!({"model": "slow", "messages": [{"role": "user", "content": "a comedy"}]}),
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    run.stop.take().unwrap().send(()).unwrap();
    let v = turn.await.unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(v["object"], "chat.completion");
    assert!(v["recagent"]["trace"]["model_calls"].as_array().is_some());
    tokio::time::timeout(Duration::from_secs(10), &mut run.done)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // The port is closed now.
    assert!(
        reqwest::Client::new()
            .get(run.url("/v1/models"))
            .send()
            .await
            .is_err()
    );
}
