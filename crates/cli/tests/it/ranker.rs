use crate::{json_of, recagent, synth_catalog};
use predicates::prelude::*;

#[test]
fn train_then_bench_on_a_small_catalog() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    synth_catalog(h, 300, 80, 25);

    // Before training, bench says what to run.
    recagent(h)
        .args(["bench", "ranker", "s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "run `recagent train s --model deepfm` first",
        ));

    let r = json_of(
        &recagent(h)
            .args(["train", "s", "--model", "fm", "--epochs", "4", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(r["model"], "fm");
    for key in [
        "test_auc",
        "test_logloss",
        "train_samples_per_s",
        "valid_auc",
    ] {
        assert!(r[key].as_f64().is_some(), "{key} missing in {r}");
    }
    // Synthetic ratings follow genre taste, so even a short run beats chance.
    assert!(r["test_auc"].as_f64().unwrap() > 0.55, "{r}");
    assert!(h.join("index/s/ranker/fm/model.safetensors").is_file());

    // Without a pre-ranker the bench still times the ranker, and says
    // what it left out.
    recagent(h)
        .args(["bench", "ranker", "s", "--model", "fm", "--requests", "5"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "run `recagent train s --model twotower` first",
        ));
    let p = json_of(
        &recagent(h)
            .args(["train", "s", "--model", "twotower", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(p["model"], "twotower");
    assert!(h.join("index/s/prerank/prerank.json").is_file());

    let b = json_of(
        &recagent(h)
            .args([
                "bench",
                "ranker",
                "s",
                "--model",
                "fm",
                "--requests",
                "5",
                "--json",
            ])
            .output()
            .unwrap(),
    );
    let counts: Vec<u64> = b["latency"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["candidates"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![100, 500, 5000]);
    for l in b["latency"].as_array().unwrap() {
        assert!(l["rank_p99_ms"].as_f64().unwrap() >= l["rank_p50_ms"].as_f64().unwrap());
        assert!(l["funnel_p99_ms"].as_f64().unwrap() >= l["funnel_p50_ms"].as_f64().unwrap());
    }
    let callers: Vec<u64> = b["throughput"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["callers"].as_u64().unwrap())
        .collect();
    assert_eq!(callers, [1, 8]);
    assert_eq!(b["throughput"][1]["requests"], 40);

    // Several seeds: mean ± sd over them, every run reported, history off.
    let m = json_of(
        &recagent(h)
            .args([
                "train",
                "s",
                "--model",
                "lr",
                "--epochs",
                "2",
                "--seeds",
                "2",
                "--history-len",
                "0",
                "--out",
            ])
            .arg(h.join("lr-seeds"))
            .arg("--json")
            .output()
            .unwrap(),
    );
    assert_eq!(m["seeds"], serde_json::json!([2026, 2027]), "{m}");
    assert_eq!(m["history_len"], 0);
    let runs = m["runs"].as_array().unwrap();
    let aucs: Vec<f64> = runs
        .iter()
        .map(|r| r["test_auc"].as_f64().unwrap())
        .collect();
    let mean = m["test_auc"]["mean"].as_f64().unwrap();
    assert!((mean - (aucs[0] + aucs[1]) / 2.0).abs() < 1e-9, "{m}");
    // The sample sd of two runs is |a − b| / √2.
    let sd = m["test_auc"]["sd"].as_f64().unwrap();
    assert!(
        (sd - (aucs[0] - aucs[1]).abs() / 2f64.sqrt()).abs() < 1e-9,
        "{m}"
    );
    // Two seeds train two different models.
    assert!(aucs[0] != aucs[1], "{m}");
    assert!(runs.iter().all(|r| r["history_len"] == 0));
}

#[test]
fn train_needs_a_catalog_and_knowledge_text_needs_knowledge() {
    let home = tempfile::tempdir().unwrap();
    recagent(home.path())
        .args(["train", "ml-100k"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("recagent data fetch ml-100k"));
    recagent(home.path())
        .args(["train", "x", "--knowledge-text", "k.jsonl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--knowledge"));
}

#[test]
fn model_list_shows_what_is_missing() {
    let home = tempfile::tempdir().unwrap();
    recagent(home.path())
        .args(["model", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("not pulled"));
}
