//! `recagent eval` end to end on a synthetic catalog.

use predicates::prelude::*;

use crate::search::borrow_minilm;
use crate::{json_of, recagent, synth_catalog};

#[test]
fn eval_names_what_is_missing_first() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    recagent(h)
        .args(["eval", "ml-100k", "--episodes", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("recagent data fetch ml-100k"));
    // A missing cassette is named before anything slow runs.
    recagent(h)
        .args(["eval", "ml-100k", "--controller", "rules,local", "--replay"])
        .arg(h.join("tapes"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("local.jsonl").and(predicate::str::contains("--record")));
}

#[test]
#[ignore = "fetches all-MiniLM-L6-v2: CI runs it with --include-ignored"]
fn eval_reports_every_arm_and_reruns_byte_identical() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    synth_catalog(h, 300, 80, 25);
    borrow_minilm(h);
    recagent(h).args(["index", "build", "s"]).assert().success();
    let run = |out: &str| {
        json_of(
            &recagent(h)
                .args([
                    "eval",
                    "s",
                    "--episodes",
                    "24",
                    "--seed",
                    "3",
                    "--json",
                    "--out",
                ])
                .arg(h.join(out))
                .output()
                .unwrap(),
        )
    };
    let v = run("a");
    let arms: Vec<&str> = v["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(arms, ["popularity", "next-item", "crm-only", "rules"]);
    for a in v["arms"].as_array().unwrap() {
        assert_eq!(a["episodes"], 24, "{a}");
        assert_eq!(a["hit_at_10"].as_array().unwrap().len(), 5, "{a}");
        for key in ["avg_turns", "recall_at_10"] {
            assert!(a[key].is_number(), "{key} in {a}");
        }
        for key in ["leakage_rate", "sim_truth_rate"] {
            assert!(a.get(key).is_some(), "{key} in {a}");
        }
    }
    let rules = &v["arms"][3];
    assert_eq!(rules["name"], "rules");
    assert_eq!(rules["sim_truth_rate"], 1.0);
    assert_eq!(rules["leakage_rate_after_guard"], 0.0);
    assert!(v["ranker"]["held_out"].as_u64().unwrap() >= 24);
    for f in [
        "report.json",
        "timings.json",
        "episodes.jsonl",
        "report.md",
        "hit_at_10.svg",
        "latency.svg",
    ] {
        assert!(h.join("a").join(f).is_file(), "{f}");
    }
    // The evaluation ranker is cached, and a rerun is the same bytes.
    assert!(h.join("index/s/eval/split.json").is_file());
    run("b");
    assert_eq!(
        std::fs::read(h.join("a/report.json")).unwrap(),
        std::fs::read(h.join("b/report.json")).unwrap()
    );
}
