//! `/mcp` on loopback: the keys of `/v1`, MCP's handshake and tool calls
//! over Streamable HTTP as raw JSON-RPC, and each key's user in their own
//! session, the one `/v1/chat/completions` continues.

use recagent_server::Limits;
use reqwest::header::{ACCEPT, HOST};
use serde_json::{Value, json};

use crate::fixture::{self, ALICE, BOB};

const VERSION: &str = "2025-06-18";

/// A JSON-RPC POST to `/mcp` with `key`, as a Streamable HTTP client sends
/// it.
fn post(run: &fixture::Running, key: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
    let mut r = reqwest::Client::new()
        .post(run.url("/mcp"))
        .header(ACCEPT, "application/json, text/event-stream")
        .header("MCP-Protocol-Version", VERSION)
        .json(body);
    if let Some(key) = key {
        r = r.bearer_auth(key);
    }
    r
}

/// The result of `tools/call` of `name` with `args` as the user of `key`.
async fn call(run: &fixture::Running, key: &str, name: &str, args: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                      "params": {"name": name, "arguments": args}});
    let r = post(run, Some(key), &body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["id"], 7, "{v}");
    assert_eq!(v["result"]["isError"], false, "{v}");
    v["result"]["structuredContent"].clone()
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_needs_a_key_then_serves_each_user_their_own_session() {
    let run = fixture::start(None, Limits::default()).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": VERSION, "capabilities": {},
        "clientInfo": {"name": "recagent-test", "version": "0"}}});

    // No key, or a key not in the file: 401 in the OpenAI format, as on /v1.
    for (key, code) in [
        (None, "missing_api_key"),
        (Some("key-nobody"), "invalid_api_key"),
    ] {
        let r = post(&run, key, &init).send().await.unwrap();
        assert_eq!(r.status(), 401, "{key:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "authentication_error", "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
    }

    // With a key: MCP's handshake.
    let r = post(&run, Some(ALICE), &init).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["id"], 1, "{v}");
    assert_eq!(v["result"]["protocolVersion"], VERSION, "{v}");
    assert_eq!(v["result"]["serverInfo"]["name"], "recagent", "{v}");
    assert!(v["result"]["capabilities"]["tools"].is_object(), "{v}");
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let r = post(&run, Some(ALICE), &done).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let v: Value = post(&run, Some(ALICE), &list)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"]["tools"].as_array().unwrap().len(), 7, "{v}");

    // A Host the server was not bound to is refused (DNS rebinding).
    let r = post(&run, Some(ALICE), &list)
        .header(HOST, "rebind.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // What Alice remembers through MCP is hers: Bob's profile is empty, and
    // /v1/profile (the same memory) shows it.
    let catalog = fixture::catalog();
    // A title no other item has, so that it names this item.
    let liked = catalog
        .items()
        .iter()
        .find(|it| {
            catalog
                .items()
                .iter()
                .filter(|o| o.title.eq_ignore_ascii_case(&it.title))
                .count()
                == 1
        })
        .unwrap();
    let r = call(
        &run,
        ALICE,
        "remember_preference",
        json!({"liked_titles": [liked.title]}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        call(&run, BOB, "show_profile", json!({})).await["liked"],
        json!([])
    );
    assert_eq!(
        call(&run, ALICE, "show_profile", json!({})).await["liked"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let p: Value = reqwest::Client::new()
        .get(run.url("/v1/profile"))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        p["liked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == json!(liked.key)),
        "{p}"
    );

    // A turn through MCP, then a follow-up through the chat API: one
    // session per user, so "something else" sets the MCP list aside.
    let genre = catalog
        .genre_vocab()
        .into_iter()
        .find(|g| g != "unknown")
        .unwrap();
    let first = call(
        &run,
        ALICE,
        "recommend",
        json!({"text": format!("I'd like a {genre} movie")}),
    )
    .await;
    let shown = ids(&first["items"]);
    assert!(!shown.is_empty(), "{first}");
    let v: Value = reqwest::Client::new()
        .post(run.url("/v1/chat/completions"))
        .bearer_auth(ALICE)
        .json(
            &json!({"model": "rules", "messages": [{"role": "user", "content": "something else"}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next = ids(&v["recagent"]["items"]);
    assert!(!next.is_empty(), "{v}");
    for id in &next {
        assert!(!shown.contains(id), "{id} was in the MCP list {shown:?}");
    }
}
