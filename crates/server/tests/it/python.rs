//! Real Python clients from PyPI against the server on loopback. Each runs
//! in a virtual environment kept under the target folder, made once with
//! `python3 -m venv` and `pip install`; the tests are ignored by default
//! because they need PyPI (CI runs them with `--include-ignored`).

use std::process::Command;

use recagent_server::Limits;
use serde_json::Value;

use crate::fixture::{self, ALICE};
use crate::venv::venv;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "installs the openai package from PyPI"]
async fn the_openai_python_sdk_gets_answers_streamed_and_not() {
    let python = tokio::task::spawn_blocking(|| venv("venv-openai", &["openai>=1.40,<3"]))
        .await
        .unwrap();
    let run = fixture::start(None, Limits::default()).await;
    let base = run.url("/v1");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg("-c")
            .arg(include_str!("py/openai_sdk.py"))
            .env("BASE_URL", base)
            .env("API_KEY", ALICE)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        v["models"].as_array().unwrap().iter().any(|m| m == "rules"),
        "{v}"
    );

    let plain = &v["plain"];
    assert_eq!(plain["object"], "chat.completion", "{v}");
    assert_eq!(plain["role"], "assistant");
    assert_eq!(plain["finish"], "stop");
    assert!(plain["content"].as_str().unwrap().len() > 20, "{v}");
    assert!(plain["items"].as_u64().unwrap() > 0, "{v}");
    let u = &plain["usage"];
    assert_eq!(
        u["total_tokens"].as_u64(),
        Some(u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap())
    );

    let s = &v["stream"];
    assert!(s["content"].as_str().unwrap().len() > 20, "{v}");
    assert_eq!(s["finish"], "stop");
    assert!(s["usage"]["total_tokens"].is_u64(), "{v}");
    // The usage chunk is the last one.
    assert_eq!(s["after_usage"], 0, "{v}");

    let r = &v["responses"];
    assert_eq!(
        (r["object"].as_str(), r["status"].as_str()),
        (Some("response"), Some("completed")),
        "{v}"
    );
    assert!(r["text"].as_str().unwrap().len() > 20, "{v}");
    assert!(r["items"].as_u64().unwrap() > 0, "{v}");
    assert!(r["usage"]["total_tokens"].is_u64(), "{v}");
    let s = &v["responses_stream"];
    let kinds: Vec<&str> = s["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"response.created"), "{v}");
    assert_eq!(kinds.last(), Some(&"response.completed"), "{v}");
    assert!(kinds.contains(&"response.output_text.delta"), "{v}");
    assert_eq!(s["text"], s["final"], "{v}");
    assert_eq!(s["status"], "completed");

    assert_eq!(v["bad_n"]["status"], 400, "{v}");
    assert_eq!(v["bad_n"]["type"], "BadRequestError", "{v}");
}

/// Schemathesis (PyPI) generates requests from `/openapi.json`, valid and
/// not, and checks every answer: no server error, and status, content type
/// and body as the document says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "installs schemathesis from PyPI"]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let python = tokio::task::spawn_blocking(|| venv("venv-schemathesis", &["schemathesis>=4,<5"]))
        .await
        .unwrap();
    let st = python.with_file_name("st");
    let limits = Limits {
        requests_per_minute: 0,
        ..Limits::default()
    };
    let run = fixture::start(None, limits).await;
    let spec = run.url("/openapi.json");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(st)
            .args(["run", &spec, "--no-color", "--seed", "1", "-n", "150"])
            .args(["-H", &format!("Authorization: Bearer {ALICE}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            ])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "Test cases: N generated, N passed"
    let generated: usize = stdout
        .lines()
        .find_map(|l| l.trim().split_once(" generated, "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(generated >= 500, "{generated} generated\n{stdout}");
    assert!(stdout.contains(&format!("{generated} passed")), "{stdout}");
}
