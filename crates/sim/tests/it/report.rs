//! Reports: every file, the JSON and Markdown snapshotted, plots drawn.

use recagent_core::{ItemId, Stage};
use recagent_sim::crm::SplitManifest;
use recagent_sim::report::{ArmReport, ArmTimings, FILES, Report, Timings, write_all};
use recagent_sim::{EpisodeResult, Summary, TurnTiming};

fn results(hits: &[Option<(usize, usize)>]) -> Vec<EpisodeResult> {
    hits.iter()
        .enumerate()
        .map(|(n, h)| EpisodeResult {
            user: n as u32,
            target: ItemId(n as u32),
            hit_turn: h.map(|h| h.0),
            hit_rank: h.map(|h| h.1),
            final_pool: vec![ItemId(n as u32)],
            statements: 2,
            true_statements: 2,
            turns: Vec::new(),
            voice: None,
        })
        .collect()
}

fn sample() -> (Report, Timings, Vec<(String, Vec<EpisodeResult>)>) {
    let pop = results(&[None, Some((1, 4)), None, None]);
    let rules = results(&[Some((1, 0)), Some((2, 3)), Some((3, 9)), None]);
    let arms = vec![
        ArmReport {
            name: "popularity".into(),
            kind: "baseline".into(),
            summary: Summary::of(&pop, 3, false),
        },
        ArmReport {
            name: "rules".into(),
            kind: "agent".into(),
            summary: Summary::of(&rules, 3, true),
        },
    ];
    let report = Report {
        catalog: "ml-100k".into(),
        seed: 7,
        simulator: "rules".into(),
        k: 10,
        max_turns: 3,
        episodes: 4,
        history: "all rated before the target".into(),
        ranker: SplitManifest {
            protocol: 2,
            model: "deepfm".into(),
            split_seed: 2026,
            held_out: 938,
            digest: "0123456789abcdef".into(),
            train_rows: 60000,
            test_auc: 0.85,
            next: recagent_ranker::NextConfig::new(recagent_ranker::NextKind::Blend),
            next_valid: recagent_ranker::NextMetrics::default(),
            combine: recagent_ranker::Combine { pick_weight: 0.8 },
            combine_fit: vec![(0.0, 0.05), (0.8, 0.2)],
            valid_episodes: 900,
            extras: Vec::new(),
        },
        next_masked: Some(recagent_ranker::MaskedMetrics {
            positives: recagent_ranker::NextMetrics {
                users: 4,
                hit10: 0.25,
                ..Default::default()
            },
            rated: recagent_ranker::NextMetrics {
                users: 4,
                hit10: 0.5,
                ..Default::default()
            },
        }),
        arms,
    };
    let turn = |ms: u64| TurnTiming {
        total_micros: ms * 1000,
        stages: vec![(Stage::Recall, ms * 400), (Stage::Rank, ms * 300)],
        model_ms: 0.0,
    };
    let timings = Timings {
        wall_s: 2.0,
        episodes_per_s: 4.0,
        arms: vec![
            ArmTimings::of("popularity", 0.5, 4, &[turn(1), turn(1), turn(2), turn(1)]),
            ArmTimings::of("rules", 1.5, 4, &[turn(5), turn(8), turn(13), turn(21)]),
        ],
    };
    (
        report,
        timings,
        vec![("popularity".into(), pop), ("rules".into(), rules)],
    )
}

#[test]
fn every_report_file_is_written_and_the_json_and_markdown_hold() {
    let (report, timings, episodes) = sample();
    let dir = tempfile::tempdir().unwrap();
    let catalog = crate::fixture::catalog();
    write_all(dir.path(), &report, &timings, &episodes, &catalog).unwrap();
    for f in FILES {
        let path = dir.path().join(f);
        assert!(path.metadata().unwrap().len() > 0, "{f} is empty");
    }
    let json = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    insta::assert_snapshot!("report_json", json);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    insta::assert_snapshot!("report_md", md);
    assert!(md.contains("The ranker is deepfm trained"), "{md}");
    // A ranker trained with more than the ratings says so.
    let mut with = report.clone();
    with.ranker.extras = vec!["knowledge".into(), "ctrl".into()];
    let other = tempfile::tempdir().unwrap();
    write_all(other.path(), &with, &timings, &episodes, &catalog).unwrap();
    let md_with = std::fs::read_to_string(other.path().join("report.md")).unwrap();
    assert!(
        md_with.contains("The ranker is deepfm (+knowledge, +ctrl) trained"),
        "{md_with}"
    );
    let lines = std::fs::read_to_string(dir.path().join("episodes.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 8);
    // Items and users by the catalog's own ids, items in the one item shape.
    let second: serde_json::Value = serde_json::from_str(lines.lines().nth(1).unwrap()).unwrap();
    let item = catalog.item(ItemId(1)).unwrap();
    assert_eq!(second["arm"], "popularity");
    assert_eq!(second["user"], catalog.users()[1].key.as_str());
    assert_eq!(second["target"]["id"], item.key.as_str());
    assert_eq!(second["target"]["genres"], serde_json::json!(item.genres));
    assert_eq!(second["final_pool"], serde_json::json!([item.key]));
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("timings.json")).unwrap())
            .unwrap();
    assert_eq!(t["arms"][1]["turn_ms"]["p50"], 8.0);
    assert_eq!(t["arms"][1]["turn_ms"]["p95"], 21.0);
    assert_eq!(t["arms"][1]["stage_ms"]["recall"]["p50"], 3.2);

    // The plots are SVG with one curve per arm, and the Hit@k plot is the
    // same bytes every time.
    let hit = std::fs::read_to_string(dir.path().join("hit_at_10.svg")).unwrap();
    assert!(hit.starts_with("<svg"), "{}", &hit[..40]);
    for arm in ["popularity", "rules"] {
        assert!(hit.contains(arm), "the legend names {arm}");
    }
    assert_eq!(hit, recagent_sim::report::hit_plot(&report).unwrap());
    assert_eq!(
        hit.matches("<circle").count(),
        2 * 3,
        "a point per arm and turn"
    );
    let lat = std::fs::read_to_string(dir.path().join("latency.svg")).unwrap();
    assert!(lat.contains("rules") && lat.contains("log scale"));
}
