use std::collections::HashMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use recagent_catalog::synth::{self, SynthConfig};
use recagent_catalog::{Error, jsonl};
use recagent_core::{Catalog, NoProgress};

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

/// Each user's ratings as (genres of the item, rating), in interaction order.
fn ratings_by_user(c: &Catalog) -> Vec<Vec<(&[String], f32)>> {
    let mut by_user = vec![Vec::new(); c.users().len()];
    for x in c.interactions() {
        let genres = c.item(x.item).unwrap().genres.as_slice();
        by_user[x.user.0 as usize].push((genres, x.rating));
    }
    by_user
}

/// Mean rating of the items that have genre `g` minus that of the items
/// that do not; `None` when either side is empty.
fn genre_lift(ratings: &[(&[String], f32)], g: &str) -> Option<f32> {
    let (mut with, mut without) = ((0.0, 0), (0.0, 0));
    for (genres, r) in ratings {
        let side = if genres.iter().any(|x| x == g) {
            &mut with
        } else {
            &mut without
        };
        side.0 += r;
        side.1 += 1;
    }
    (with.1 > 0 && without.1 > 0).then(|| with.0 / with.1 as f32 - without.0 / without.1 as f32)
}

/// How much higher users rate the genre they like most, and how much lower
/// the one they like least, on ratings the preference was not read from:
/// each user's genres are ranked by their lift in half of the user's
/// ratings, and the lifts of the first and the last are measured in the
/// other half, then averaged over users. Without genre taste both are zero
/// up to noise, however the items' quality varies.
fn held_out_taste(by_user: &[Vec<(&[String], f32)>]) -> (f32, f32) {
    let (mut best, mut worst) = (Vec::new(), Vec::new());
    for ratings in by_user.iter().filter(|r| r.len() >= 10) {
        let (fit, held): (Vec<_>, Vec<_>) =
            ratings.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let fit: Vec<_> = fit.into_iter().map(|(_, x)| *x).collect();
        let held: Vec<_> = held.into_iter().map(|(_, x)| *x).collect();
        let mut ranked: Vec<(f32, &str)> = synth::GENRES
            .iter()
            .filter_map(|g| genre_lift(&fit, g).map(|l| (l, *g)))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        if let Some(l) = ranked.first().and_then(|(_, g)| genre_lift(&held, g)) {
            best.push(l);
        }
        if let Some(l) = ranked.last().and_then(|(_, g)| genre_lift(&held, g)) {
            worst.push(l);
        }
    }
    assert!(
        best.len() > 1000,
        "only {} users could be measured",
        best.len()
    );
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    (mean(&best), mean(&worst))
}

#[test]
fn synth_ratings_carry_genre_taste() {
    let c = synth::generate(
        &SynthConfig {
            per_user: 60,
            ..cfg(3000, 2000, 4)
        },
        &NoProgress,
    )
    .unwrap();
    let ratings: Vec<f32> = c.interactions().iter().map(|x| x.rating).collect();
    let mean = ratings.iter().sum::<f32>() / ratings.len() as f32;
    assert!((2.5..4.2).contains(&mean), "{mean}");
    // Both labels of the CTR protocol are well represented.
    let pos = ratings.iter().filter(|&&r| r >= 4.0).count() as f32 / ratings.len() as f32;
    let neg = ratings.iter().filter(|&&r| r <= 2.0).count() as f32 / ratings.len() as f32;
    assert!(pos > 0.2 && neg > 0.05, "pos {pos} neg {neg}");
    let mut by_user = ratings_by_user(&c);
    // Users rate the genre they favour in one half of their ratings higher in
    // the other half: the generator gives liked genres +1 and a disliked one
    // −1.3 on a 1–5 scale.
    let (liked, disliked) = held_out_taste(&by_user);
    // The same measure on the same users and items with each user's ratings
    // shuffled, which keeps everything but the link to genres: the margins
    // above are taste, not an artefact of the measure.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for user in &mut by_user {
        let mut r: Vec<f32> = user.iter().map(|x| x.1).collect();
        r.shuffle(&mut rng);
        for (x, r) in user.iter_mut().zip(r) {
            x.1 = r;
        }
    }
    let (liked_shuffled, disliked_shuffled) = held_out_taste(&by_user);
    assert!(
        liked > 0.12,
        "the favourite genre's held-out lift is only {liked}"
    );
    assert!(
        disliked < -0.25,
        "the least-liked genre's held-out lift is only {disliked}"
    );
    assert!(
        liked_shuffled.abs() < 0.08 && disliked_shuffled.abs() < 0.08,
        "shuffled ratings still show lifts of {liked_shuffled} and {disliked_shuffled}"
    );
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
