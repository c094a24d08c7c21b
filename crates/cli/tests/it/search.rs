use predicates::prelude::*;

use crate::{fixture, json_of, recagent, synth_catalog};

/// Links the shared home's all-MiniLM-L6-v2 (pulled there once with
/// `recagent model pull minilm`) into a test home.
pub fn borrow_minilm(h: &std::path::Path) {
    let shared = std::env::var_os("RECAGENT_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/recagent")
        });
    recagent(&shared)
        .args(["model", "pull", "minilm"])
        .assert()
        .success();
    std::fs::create_dir_all(h.join("models")).unwrap();
    let link = h.join("models/all-minilm-l6-v2");
    if !link.exists() {
        std::os::unix::fs::symlink(shared.join("models/all-minilm-l6-v2"), link).unwrap();
    }
}

#[test]
fn search_before_import_or_build_names_the_command() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    recagent(h)
        .args(["search", "tiny", "star"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "recagent data import DIR --name tiny",
        ));
    recagent(h)
        .args(["data", "import"])
        .arg(fixture("tiny"))
        .args(["--name", "tiny"])
        .assert()
        .success();
    recagent(h)
        .args(["search", "tiny", "star"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "run `recagent index build tiny` first",
        ));
}

#[test]
#[ignore = "fetches all-MiniLM-L6-v2: CI runs it with --include-ignored"]
fn index_build_then_search_and_link() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    recagent(h)
        .args(["data", "import"])
        .arg(fixture("tiny"))
        .args(["--name", "tiny"])
        .assert()
        .success();
    borrow_minilm(h);
    recagent(h)
        .args(["index", "build", "tiny"])
        .assert()
        .success()
        .stdout(predicate::str::contains("embedded Qdrant Edge"));
    for mode in ["lexical", "dense", "hybrid"] {
        let v = json_of(
            &recagent(h)
                .args(["search", "tiny", "star wars", "--json", "--mode", mode])
                .output()
                .unwrap(),
        );
        assert_eq!(v[0]["id"], "sku-4", "{mode}");
        // Typed items: the year a number, the genres a list.
        assert_eq!(v[0]["title"], "Star Wars", "{mode}");
        assert_eq!(v[0]["year"], 1977, "{mode}");
        assert_eq!(
            v[0]["genres"],
            serde_json::json!(["Action", "Adventure", "Romance", "Sci-Fi", "War"]),
            "{mode}"
        );
    }
    let links = json_of(
        &recagent(h)
            .args(["search", "tiny", "we loved toy story", "--link", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(links[0]["title"], "Toy Story");
    assert_eq!(links[0]["year"], 1995);
    assert!(links[0]["genres"].is_array() && links[0]["confidence"].is_number());
    // The vectors live on a server only when asked; a dead one is a clear error.
    recagent(h)
        .args([
            "search",
            "tiny",
            "star",
            "--qdrant-url",
            "http://127.0.0.1:9",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "qdrant server at http://127.0.0.1:9",
        ));
    recagent(h)
        .args(["search", "tiny", "toy story", "--similar"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("like: Toy Story (1995)"));
    recagent(h)
        .args(["search", "tiny", "nothing here", "--similar"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--link"));
    recagent(h)
        .args([
            "search",
            "tiny",
            "",
            "--genre",
            "horror",
            "--year-min",
            "1978",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Alien (1979)")
                .and(predicate::str::contains("Star Wars").not()),
        );
    recagent(h)
        .args(["search", "tiny", "we loved toy story", "--link"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1.000  Toy Story (1995)"));
    recagent(h)
        .args(["search", "tiny", "x", "--genre", "polka"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown genre"));
}

#[test]
#[ignore = "fetches all-MiniLM-L6-v2: CI runs it with --include-ignored"]
fn index_build_picks_up_generated_knowledge_unless_told_not_to() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    synth_catalog(h, 200, 40, 10);
    borrow_minilm(h);
    // What `knowledge generate` would have written, for one item.
    let dir = h.join("knowledge/s/qwen2.5-0.5b");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("knowledge.jsonl"),
        "{\"id\": \"s7\", \"text\": \"premise: a great white shark terrorizes a small beach town. setting: a summer resort island\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::json!({
            "catalog": "s", "model": "local:qwen2.5-0.5b", "model_sha256": null,
            "prompt_sha256": "x", "threshold": 0.5, "started_unix": 0,
            "items": 200, "generated": 1, "kept": 1
        })
        .to_string(),
    )
    .unwrap();
    let search = || {
        json_of(
            &recagent(h)
                .args([
                    "search",
                    "s",
                    "a shark attacks a beach town",
                    "--mode",
                    "dense",
                    "--json",
                ])
                .output()
                .unwrap(),
        )
    };
    recagent(h)
        .args(["index", "build", "s", "--no-knowledge"])
        .assert()
        .success()
        .stderr(predicate::str::contains("generated knowledge").not());
    let without: Vec<String> = search().as_array().unwrap()[..3]
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!without.contains(&"s7".to_owned()), "{without:?}");
    recagent(h)
        .args(["index", "build", "s"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("using the generated knowledge")
                .and(predicate::str::contains("1 of 200 items kept")),
        );
    let with = search();
    assert_eq!(with[0]["id"], "s7", "{with}");
}

/// Qdrant Edge locks its store for one process: while `serve` holds it,
/// `ask` and `search` on the same home still answer (each reads a
/// private copy of the vectors).
#[test]
#[ignore = "fetches all-MiniLM-L6-v2: CI runs it with --include-ignored"]
fn ask_and_search_answer_while_serve_holds_the_indexes() {
    use std::io::BufRead as _;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    crate::servable_catalog(h);
    std::fs::create_dir_all(h.join("server")).unwrap();
    std::fs::write(h.join("server/keys.txt"), "test-key-0001 alice\n").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("recagent");
    let mut serve = std::process::Command::new(bin)
        .env("RECAGENT_HOME", h)
        .args(["serve", "s", "--ranker", "fm", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Up once it says where it serves (the indexes are open by then).
    let mut lines = std::io::BufReader::new(serve.stderr.take().unwrap()).lines();
    let said: Vec<String> = lines
        .by_ref()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("serving s on http://"))
        .collect();
    let asked = recagent(h)
        .args(["ask", "s", "--ranker", "fm", "a comedy"])
        .output()
        .unwrap();
    let searched = recagent(h)
        .args(["search", "s", "comedy", "--mode", "dense"])
        .output()
        .unwrap();
    let running = serve.try_wait().unwrap().is_none();
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert!(running, "serve stopped: {said:?}");
    for (what, out) in [("ask", &asked), ("search", &searched)] {
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Comedy"),
            "{what}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
