//! Bounded consumption on loopback: quotas and queues answered with
//! 429/503 and `Retry-After`, a turn stopped at its time limit, and a
//! turn stopped when its client goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use recagent_llm::{ChatEvent, ChatModel, ChatRequest, EventStream};
use recagent_server::Limits;
use serde_json::{Value, json};

use crate::fixture::{self, ALICE, BOB};

/// A model that writes one token every `step`, `tokens` in all, counting
/// the tokens it has written (a decode step each).
#[derive(Debug)]
struct Ticking {
    step: Duration,
    tokens: usize,
    written: Arc<AtomicUsize>,
}

impl Ticking {
    fn new(step_ms: u64, tokens: usize) -> (Arc<Self>, Arc<AtomicUsize>) {
        let written = Arc::new(AtomicUsize::new(0));
        let m = Arc::new(Self {
            step: Duration::from_millis(step_ms),
            tokens,
            written: Arc::clone(&written),
        });
        (m, written)
    }
}

impl ChatModel for Ticking {
    fn name(&self) -> String {
        "ticking".into()
    }
    fn chat(&self, _request: ChatRequest) -> EventStream {
        let (step, tokens, written) = (self.step, self.tokens, Arc::clone(&self.written));
        Box::pin(futures::stream::unfold(0, move |n| {
            let written = Arc::clone(&written);
            async move {
                if n == tokens {
                    return None;
                }
                tokio::time::sleep(step).await;
                written.fetch_add(1, Ordering::SeqCst);
                Some((Ok(ChatEvent::TextDelta { text: "x".into() }), n + 1))
            }
        }))
    }
}

fn limits(per_key: usize, per_model: usize, rpm: u32, timeout_ms: u64) -> Limits {
    Limits {
        turns_per_key: per_key,
        turns_per_model: per_model,
        requests_per_minute: rpm,
        turn_timeout: Duration::from_millis(timeout_ms),
        ..Limits::default()
    }
}

async fn ask(run: &fixture::Running, key: &str, model: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(run.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "a comedy"}]}))
        .send()
        .await
        .unwrap()
}

/// The status, the `Retry-After` seconds, and the error code.
async fn refusal(r: reqwest::Response) -> (u16, Option<u64>, String) {
    let status = r.status().as_u16();
    let after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let v: Value = r.json().await.unwrap();
    (
        status,
        after,
        v["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_turn_of_a_key_or_a_full_model_queue_is_told_to_retry() {
    // One token a second for two seconds: the first turn holds its places.
    let (model, _) = Ticking::new(1000, 2);
    let run = fixture::start(Some(model), limits(1, 1, 0, 30_000)).await;
    let first = {
        let url = run.url("/v1/chat/completions");
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(ALICE)
                .json(&json!({"model": "slow", "messages": [{"role": "user", "content": "a comedy"}]}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let (status, after, code) = refusal(ask(&run, ALICE, "rules").await).await;
    assert_eq!((status, code.as_str()), (429, "too_many_concurrent_turns"));
    assert!(after.is_some_and(|s| s >= 1));
    let (status, after, code) = refusal(ask(&run, BOB, "slow").await).await;
    assert_eq!((status, code.as_str()), (503, "model_busy"));
    assert!(after.is_some_and(|s| s >= 1));
    // Refusals come at once, not after the running turn.
    assert!(started.elapsed() < Duration::from_millis(1000));
    // Another model has its own queue.
    assert_eq!(ask(&run, BOB, "rules").await.status().as_u16(), 200);
    assert_eq!(first.await.unwrap(), 200);
    // The places are free again.
    assert_eq!(ask(&run, BOB, "slow").await.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_its_requests_per_minute_gets_a_429() {
    let run = fixture::start(None, limits(2, 4, 2, 30_000)).await;
    assert_eq!(ask(&run, ALICE, "rules").await.status().as_u16(), 200);
    assert_eq!(ask(&run, ALICE, "rules").await.status().as_u16(), 200);
    let (status, after, code) = refusal(ask(&run, ALICE, "rules").await).await;
    assert_eq!((status, code.as_str()), (429, "rate_limit_exceeded"));
    assert!(after.is_some_and(|s| (20..=31).contains(&s)), "{after:?}");
    assert_eq!(ask(&run, BOB, "rules").await.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_past_its_time_limit_is_stopped_with_a_504() {
    let (model, written) = Ticking::new(50, 400);
    let run = fixture::start(Some(model), limits(2, 4, 0, 400)).await;
    let started = Instant::now();
    let (status, _, code) = refusal(ask(&run, ALICE, "slow").await).await;
    assert_eq!((status, code.as_str()), (504, "turn_timeout"));
    assert!(started.elapsed() < Duration::from_secs(3));
    // The model stopped with the turn, long before its 400 tokens.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = written.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(written.load(Ordering::SeqCst), stopped);
    assert!(stopped < 20, "{stopped}");
    // The key's places came back.
    assert_eq!(ask(&run, ALICE, "rules").await.status().as_u16(), 200);
}

/// A client that gives up: its turn stops within one decode step, and no
/// more model time goes to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_clients_turn_stops_within_one_decode_step() {
    let (model, written) = Ticking::new(100, 300);
    let run = fixture::start(Some(model), limits(1, 1, 0, 60_000)).await;
    for stream in [false, true] {
        let before = written.load(Ordering::SeqCst);
        let gave_up = reqwest::Client::builder()
            .timeout(Duration::from_millis(700))
            .build()
            .unwrap()
            .post(run.url("/v1/chat/completions"))
            .bearer_auth(ALICE)
            .json(&json!({"model": "slow", "stream": stream, "messages": [{"role": "user", "content": "a comedy"}]}))
            .send()
            .await;
        let gave_up = match gave_up {
            // Streamed: the headers came; read until the client's timeout.
            Ok(r) => r.text().await.is_err(),
            Err(e) => e.is_timeout(),
        };
        assert!(gave_up, "stream {stream}: the client should have timed out");
        let at_drop = written.load(Ordering::SeqCst);
        assert!(at_drop > before, "stream {stream}: the model never started");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let settled = written.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(written.load(Ordering::SeqCst), settled, "stream {stream}");
        assert!(
            settled <= at_drop + 1,
            "stream {stream}: {} decode steps after the client left",
            settled - at_drop
        );
        // Its places are free: the same key is served at once.
        assert_eq!(ask(&run, ALICE, "rules").await.status().as_u16(), 200);
    }
}

/// A retried request with the same `Idempotency-Key` is answered from the
/// first: the same completion, marked replayed, and no second turn. The
/// same key while the first still runs is a 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_the_same_idempotency_key_runs_no_second_turn() {
    let (model, _) = Ticking::new(300, 3);
    let run = fixture::start(Some(model), limits(4, 4, 0, 30_000)).await;
    let post = |key: &'static str, idem: &'static str, model: &'static str| {
        let url = run.url("/v1/chat/completions");
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(key)
                .header("Idempotency-Key", idem)
                .json(
                    &json!({"model": model, "messages": [{"role": "user", "content": "a comedy"}]}),
                )
                .send()
                .await
                .unwrap()
        }
    };
    let first = post(ALICE, "order-1", "rules").await;
    assert_eq!(first.status().as_u16(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = post(ALICE, "order-1", "rules").await;
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    // A new key is a new turn: the conversation has two turns, not three.
    let next: Value = post(ALICE, "order-2", "rules").await.json().await.unwrap();
    assert_ne!(next["id"], first["id"]);
    assert_eq!(
        next["recagent"]["trace"]["state"]["turns"], 2,
        "{}",
        next["recagent"]["trace"]["state"]
    );
    // Keys are per user: Bob's "order-1" is his own turn.
    let bob: Value = post(BOB, "order-1", "rules").await.json().await.unwrap();
    assert_ne!(bob["id"], first["id"]);
    // While the first is running, the same key is a 409.
    let running = tokio::spawn(post(ALICE, "order-3", "slow"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, after, code) = refusal(post(ALICE, "order-3", "slow").await).await;
    assert_eq!((status, code.as_str()), (409, "idempotency_key_in_use"));
    assert_eq!(after, Some(1));
    assert_eq!(running.await.unwrap().status().as_u16(), 200);
}
