//! DeepFM on the real MovieLens-100K, so that a broken feature pipeline is
//! caught. It fetches the data through the product's own fetch code, so it
//! is ignored by default; CI runs it with `--include-ignored`.

use std::path::PathBuf;

use recagent_catalog::split::{self, LabelRule};
use recagent_catalog::{movielens, store};
use recagent_core::{Home, NoProgress};
use recagent_ranker::{ModelKind, TrainConfig, train};

#[test]
#[ignore = "fetches MovieLens-100K: CI runs it with --include-ignored"]
fn deepfm_on_ml100k_counts_rows_and_clears_an_auc_floor() {
    let root = std::env::var_os("RECAGENT_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/recagent")
        });
    let home = Home::new(root);
    movielens::fetch(&home, &Default::default(), &NoProgress).unwrap();
    let c = store::load(&home, "ml-100k", &NoProgress).unwrap();
    let s = split::ctr_split(&c, LabelRule::default(), 2026);
    let rows: Vec<_> = s.train.iter().chain(&s.valid).chain(&s.test).collect();
    let positives = rows.iter().filter(|r| r.label).count();
    assert_eq!(
        (positives, rows.len() - positives, rows.len()),
        (55_375, 17_480, 72_855)
    );
    let (_, report) = train(
        &c,
        &s,
        &TrainConfig::new(ModelKind::DeepFm),
        None,
        &NoProgress,
    )
    .unwrap();
    println!("DeepFM on ML-100K: {report:?}");
    // Measured about 0.86 (docs/ranker.md); a pipeline that lost a field or
    // leaked labels would land far from it.
    assert!(
        (0.82..0.93).contains(&report.test_auc),
        "test AUC {}",
        report.test_auc
    );
}
