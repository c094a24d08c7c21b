use std::collections::HashSet;

use recagent_catalog::split::{self, EpisodeConfig, LabelRule};
use recagent_catalog::synth::{self, SynthConfig};
use recagent_catalog::{jsonl, stats};
use recagent_core::{Catalog, Interaction, Item, ItemId, NoProgress, User, UserId};

use crate::fixture;

fn synthetic(seed: u64) -> Catalog {
    synth::generate(
        &SynthConfig {
            items: 300,
            users: 60,
            per_user: 20,
            seed,
            ..SynthConfig::default()
        },
        &NoProgress,
    )
    .unwrap()
}

#[test]
fn ctr_split_drops_neutral_binarises_and_cuts_8_1_1() {
    let c = synthetic(1);
    let rule = LabelRule::default();
    let s = split::ctr_split(&c, rule, 7);
    let kept: Vec<&Interaction> = c
        .interactions()
        .iter()
        .filter(|x| x.rating != 3.0)
        .collect();
    let n = kept.len();
    assert_eq!(s.train.len() + s.valid.len() + s.test.len(), n);
    assert_eq!(s.train.len(), n * 8 / 10);
    assert_eq!(s.valid.len(), n / 10);
    // Every row keeps its label rule, and together they are exactly the kept interactions.
    let mut all: Vec<(u32, u32, bool)> = s
        .train
        .iter()
        .chain(&s.valid)
        .chain(&s.test)
        .map(|r| (r.user.0, r.item.0, r.label))
        .collect();
    let mut want: Vec<(u32, u32, bool)> = kept
        .iter()
        .map(|x| (x.user.0, x.item.0, x.rating >= 4.0))
        .collect();
    all.sort_unstable();
    want.sort_unstable();
    assert_eq!(all, want);
}

#[test]
fn ctr_split_is_seeded() {
    let c = synthetic(1);
    let a = split::ctr_split(&c, LabelRule::default(), 7);
    let b = split::ctr_split(&c, LabelRule::default(), 7);
    let other = split::ctr_split(&c, LabelRule::default(), 8);
    assert_eq!(a, b);
    assert_ne!(a.test, other.test);
    // The split is a shuffle, not the log's order.
    let first: Vec<_> = c
        .interactions()
        .iter()
        .filter(|x| x.rating != 3.0)
        .take(20)
        .map(|x| (x.user, x.item))
        .collect();
    let got: Vec<_> = a.train.iter().take(20).map(|r| (r.user, r.item)).collect();
    assert_ne!(first, got);
}

#[test]
fn label_rule_edges() {
    let r = LabelRule::default();
    assert_eq!(r.label(4.0), Some(true));
    assert_eq!(r.label(5.0), Some(true));
    assert_eq!(r.label(3.0), None);
    assert_eq!(r.label(3.5), None);
    assert_eq!(r.label(2.0), Some(false));
    assert_eq!(r.label(1.0), Some(false));
}

#[test]
fn leave_last_positive_out_on_the_fixture() {
    let c = jsonl::load_dir(&fixture("tiny"), "tiny", &NoProgress).unwrap();
    let eps = split::leave_last_positive_out(
        &c,
        EpisodeConfig {
            min_history: 0,
            ..EpisodeConfig::default()
        },
    );
    let by_user: Vec<(String, String, Vec<String>)> = eps
        .iter()
        .map(|e| {
            (
                c.user(e.user).unwrap().key.clone(),
                c.item(e.target).unwrap().key.clone(),
                e.history
                    .iter()
                    .map(|&i| c.item(i).unwrap().key.clone())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        by_user,
        vec![
            // User 1: positives at t=100 (1) and t=300 (sku-4); the 3 and the 1 are not positives.
            ("1".into(), "sku-4".into(), vec!["1".into()]),
            ("2".into(), "1".into(), vec![]),
            ("3".into(), "5".into(), vec![]),
            ("walk-in".into(), "2".into(), vec![]),
        ]
    );
    // With the default min_history of 1 only user 1 qualifies.
    let eps = split::leave_last_positive_out(&c, EpisodeConfig::default());
    assert_eq!(eps.len(), 1);
}

fn item(i: u32) -> Item {
    Item {
        id: ItemId(i),
        key: i.to_string(),
        title: format!("t{i}"),
        year: None,
        genres: vec![],
        text: String::new(),
        relations: Default::default(),
        ..Default::default()
    }
}

#[test]
fn leave_last_positive_out_orders_by_time_and_caps_history() {
    // One user rated 14 items; the log is out of time order on purpose.
    let items: Vec<Item> = (0..14).map(item).collect();
    let users = vec![User {
        id: UserId(0),
        key: "u".into(),
        ..User::default()
    }];
    let mut log: Vec<Interaction> = (0..14u32)
        .map(|i| Interaction {
            user: UserId(0),
            item: ItemId(i),
            rating: 5.0,
            timestamp: 1000 - i as i64 * 10,
        })
        .collect();
    log.reverse();
    // A later negative must not become the target.
    log.push(Interaction {
        user: UserId(0),
        item: ItemId(13),
        rating: 1.0,
        timestamp: 5000,
    });
    let c = Catalog::new("x", items, users, log).unwrap();
    let eps = split::leave_last_positive_out(&c, EpisodeConfig::default());
    assert_eq!(eps.len(), 1);
    // Item 0 has the latest time (1000), item 13 the earliest.
    assert_eq!(eps[0].target, ItemId(0));
    // By default the history is everything before the target, and seen
    // holds every item rated before it (the later negative is the future).
    let hist: Vec<u32> = eps[0].history.iter().map(|i| i.0).collect();
    assert_eq!(hist, (1..=13).rev().collect::<Vec<u32>>());
    assert_eq!(eps[0].seen, eps[0].history);
    // `--history-len 10` keeps the last ten.
    let capped = split::leave_last_positive_out(
        &c,
        EpisodeConfig {
            max_history: 10,
            ..EpisodeConfig::default()
        },
    );
    let hist: Vec<u32> = capped[0].history.iter().map(|i| i.0).collect();
    assert_eq!(hist, vec![10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
}

#[test]
fn episode_sampling_is_seeded_and_unique() {
    let c = synthetic(3);
    let eps = split::leave_last_positive_out(&c, EpisodeConfig::default());
    assert!(eps.len() > 20, "{}", eps.len());
    let a = split::sample_episodes(&eps, 10, 5);
    let b = split::sample_episodes(&eps, 10, 5);
    let other = split::sample_episodes(&eps, 10, 6);
    assert_eq!(a, b);
    assert_ne!(a, other);
    assert_eq!(a.iter().map(|e| e.user).collect::<HashSet<_>>().len(), 10);
    assert_eq!(split::sample_episodes(&eps, 10_000, 5).len(), eps.len());
}

#[test]
fn stats_count_the_ctr_protocol() {
    let c = jsonl::load_dir(&fixture("tiny"), "tiny", &NoProgress).unwrap();
    let s = stats::stats(&c, LabelRule::default());
    assert_eq!((s.users, s.items, s.interactions), (4, 5, 8));
    // Ratings 5, 3, 4, 1, 2, 4.5, 5, 4 -> positives 5, negatives 2, dropped 1.
    assert_eq!((s.positives, s.negatives, s.dropped_neutral), (5, 2, 1));
    assert!((s.positive_rate - 5.0 / 7.0).abs() < 1e-12);
    assert_eq!(s.genres, 10);
    assert_eq!(s.items_with_relations, 2);
}
