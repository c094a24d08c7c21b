use predicates::prelude::*;
use serde_json::Value;

use crate::{fixture, json_of, recagent};

fn stats_json(home: &std::path::Path, name: &str) -> Value {
    json_of(
        &recagent(home)
            .args(["data", "stats", name, "--json"])
            .output()
            .unwrap(),
    )
}

#[test]
fn import_then_stats() {
    let home = tempfile::tempdir().unwrap();
    recagent(home.path())
        .args(["data", "import"])
        .arg(fixture("tiny"))
        .args(["--name", "tiny"])
        .assert()
        .success()
        .stdout(predicate::str::contains("4 users, 5 items, 8 interactions"));
    let s = stats_json(home.path(), "tiny");
    assert_eq!(
        (
            s["users"].as_u64(),
            s["items"].as_u64(),
            s["interactions"].as_u64()
        ),
        (Some(4), Some(5), Some(8))
    );
    assert!((s["positive_rate"].as_f64().unwrap() - 5.0 / 7.0).abs() < 1e-9);
    recagent(home.path())
        .args(["data", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("tiny").and(predicate::str::contains("import ")));
    // Importing again without --force is refused and says how to proceed.
    recagent(home.path())
        .args(["data", "import"])
        .arg(fixture("tiny"))
        .args(["--name", "tiny"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--force"));
}

#[test]
fn malformed_import_fails_with_location_and_leaves_nothing() {
    let home = tempfile::tempdir().unwrap();
    recagent(home.path())
        .args(["data", "import"])
        .arg(fixture("bad"))
        .args(["--name", "bad"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "interactions.jsonl:2: field `rating`",
        ));
    let data = home.path().join("data");
    let left: Vec<_> = std::fs::read_dir(&data)
        .map(|d| d.count())
        .into_iter()
        .collect();
    assert_eq!(
        left,
        vec![0],
        "the data folder must hold nothing after a failed import"
    );
}

#[test]
fn missing_catalog_names_the_fetch_command() {
    let home = tempfile::tempdir().unwrap();
    recagent(home.path())
        .args(["data", "stats", "ml-100k"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "run `recagent data fetch ml-100k` first",
        ));
}

#[test]
fn synth_then_stats() {
    let home = tempfile::tempdir().unwrap();
    recagent(home.path())
        .args([
            "data", "synth", "--items", "3000", "--users", "40", "--seed", "3",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("synth-3000"));
    let s = stats_json(home.path(), "synth-3000");
    assert_eq!(s["items"].as_u64(), Some(3000));
    assert_eq!(s["users"].as_u64(), Some(40));
    assert!(s["interactions"].as_u64().unwrap() > 40);
    recagent(home.path())
        .args(["data", "synth", "--items", "0", "--name", "empty"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("needs at least 1 item"));
    assert!(!home.path().join("data/empty").exists());
}

/// The acceptance check: on a new home, fetch then stats gives the published
/// counts. Needs the package registry, so it is ignored by default; CI runs
/// it with `--include-ignored`.
#[test]
#[ignore = "fetches MovieLens-100K: CI runs it with --include-ignored"]
fn fetch_ml100k_on_a_new_home() {
    let home = tempfile::tempdir().unwrap();
    recagent(home.path())
        .args(["data", "fetch", "ml-100k"])
        .assert()
        .success();
    let s = stats_json(home.path(), "ml-100k");
    assert_eq!(
        (
            s["users"].as_u64(),
            s["items"].as_u64(),
            s["interactions"].as_u64()
        ),
        (Some(943), Some(1682), Some(100_000))
    );
    recagent(home.path())
        .args(["data", "fetch", "ml-100k"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to do"));
}

#[test]
fn export_writes_recbole_benchmark_files_with_the_catalog_keys() {
    let home = tempfile::tempdir().unwrap();
    crate::synth_catalog(home.path(), 60, 40, 12);
    let out = tempfile::tempdir().unwrap();
    let sum = json_of(
        &recagent(home.path())
            .args(["data", "export", "s", "--json", "--recbole"])
            .arg(out.path())
            .output()
            .unwrap(),
    );
    let targets = sum["test_targets"].as_u64().unwrap();
    assert!(targets > 0, "{sum}");
    let read = |p: &str| std::fs::read_to_string(out.path().join(p)).unwrap();
    let test = read("s-next/s-next.test.inter");
    assert!(test.starts_with("user_id:token\titem_id:token\ttimestamp:float\n"));
    assert_eq!(
        test.lines().count() as u64,
        targets + 1,
        "one target per user"
    );
    let seq = read("s-next-seq/s-next-seq.valid.inter");
    assert!(
        seq.lines()
            .next()
            .unwrap()
            .ends_with("item_id_list:token_seq")
    );
    let eval = read("s.eval.tsv");
    assert_eq!(
        eval.lines().count() as u64,
        2 * targets + 1,
        "a valid and a test row each"
    );
    assert_eq!(read("s.items.tsv").lines().count(), 61);
    // A catalog without ratings has no split, and says so.
    let items = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("tiny").join("items.jsonl"),
        items.path().join("items.jsonl"),
    )
    .unwrap();
    recagent(home.path())
        .args(["data", "import"])
        .arg(items.path())
        .args(["--name", "films"])
        .assert()
        .success();
    recagent(home.path())
        .args(["data", "export", "films", "--recbole"])
        .arg(out.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("no ratings"));
    // A catalog that is not there says what to do.
    recagent(home.path())
        .args(["data", "export", "nope", "--recbole"])
        .arg(out.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("nope"));
}
