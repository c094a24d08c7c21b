//! The recommender channel: the ranker is trained without the targets, is
//! cached, and an episode that would hand it the target fails.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use recagent_catalog::split::sample_episodes;
use recagent_core::{Home, ItemId, NoProgress, UserId};
use recagent_ranker::ModelKind;
use recagent_sim::crm::{EvalData, EvalModels, all_episodes, eval_store};
use recagent_sim::{EpisodeConfig, Error, RuleSimulator, run_episode};

use crate::fixture;

#[test]
fn no_evaluation_model_sees_a_target_or_what_its_user_did_after_it() {
    let catalog = fixture::catalog();
    let data = EvalData::build(&catalog);
    assert!(data.episodes.len() > 100);
    assert!(data.valid_episodes.len() > 100);
    // Each user's earliest held-out target, by (timestamp, log position).
    let mut order: HashMap<(UserId, ItemId), (i64, usize)> = HashMap::new();
    for (pos, x) in catalog.interactions().iter().enumerate() {
        order.insert((x.user, x.item), (x.timestamp, pos));
    }
    let mut cutoff: HashMap<UserId, (i64, usize)> = HashMap::new();
    let mut held: HashSet<(UserId, ItemId)> = HashSet::new();
    for e in data.episodes.iter().chain(&data.valid_episodes) {
        held.insert((e.user, e.target));
        let k = order[&(e.user, e.target)];
        let c = cutoff.entry(e.user).or_insert(k);
        *c = (*c).min(k);
    }
    // The CTR rows: no target, nothing at or after the user's first target.
    let rows = data
        .ctr
        .train
        .iter()
        .chain(&data.ctr.valid)
        .chain(&data.ctr.test);
    let mut n = 0;
    for r in rows {
        n += 1;
        assert!(!held.contains(&(r.user, r.item)), "a target is a CTR row");
        if let Some(c) = cutoff.get(&r.user) {
            assert!(
                order[&(r.user, r.item)] < *c,
                "a CTR row comes after a target"
            );
        }
    }
    assert!(n > 1000);
    // The next-item histories: the test model's end before the test
    // target, the validation model's before the validation target.
    for e in &data.episodes {
        let h = &data.next_test[e.user.index()];
        assert!(!h.contains(&e.target));
        assert!(
            h.iter()
                .all(|i| order[&(e.user, *i)] < order[&(e.user, e.target)])
        );
    }
    for e in &data.valid_episodes {
        let h = &data.next_valid[e.user.index()];
        assert!(!h.contains(&e.target));
        assert!(
            h.iter()
                .all(|i| order[&(e.user, *i)] < order[&(e.user, e.target)])
        );
    }
    // An episode's seen items all came before its target.
    for e in &data.episodes {
        assert!(!e.seen.contains(&e.target));
        assert!(e.history.iter().all(|h| e.seen.contains(h)));
    }
    // The models the tests share were trained on exactly this data.
    let m = &fixture::models().1.manifest;
    assert_eq!(m.held_out, data.episodes.len());
    assert_eq!(m.train_rows, data.ctr.train.len());
    assert_eq!(m.valid_episodes, data.valid_episodes.len());
}

#[test]
fn evaluation_models_are_cached_and_retrained_when_the_split_changes() {
    let (dir, first) = fixture::models();
    let home = Home::new(dir.path());
    let store = eval_store(&home, "sim");
    let manifest = store.root().join("split.json");
    let before = std::fs::metadata(
        store
            .ranker_dir(ModelKind::DeepFm, false)
            .join("config.json"),
    )
    .unwrap()
    .modified()
    .unwrap();
    let again = EvalModels::ensure(
        &home,
        &store,
        &fixture::catalog(),
        ModelKind::DeepFm,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(again.manifest, first.manifest);
    let after = std::fs::metadata(
        store
            .ranker_dir(ModelKind::DeepFm, false)
            .join("config.json"),
    )
    .unwrap()
    .modified()
    .unwrap();
    assert_eq!(before, after, "a valid cache is not retrained");
    assert!(manifest.is_file());
    // Every baseline leaves out what the user has seen.
    let ep = &all_episodes(&fixture::catalog())[0];
    assert!(ep.seen.len() >= ep.history.len());
    let pop = first.popular_list(ep, 50);
    assert_eq!(pop.len(), 50);
    assert!(pop.iter().all(|i| !ep.seen.contains(i)));
    let next = first.next_list(ep, 50);
    assert_eq!(next.len(), 50);
    assert!(next.iter().all(|i| !ep.seen.contains(i)));
    let crm = first.crm_list(&fixture::catalog(), ep, 50).unwrap();
    assert_eq!(crm.len(), 50);
    assert!(crm.iter().all(|i| !ep.seen.contains(i)));
}

#[test]
fn an_episode_that_would_show_the_ranker_its_target_fails() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(fixture::agent(dir.path(), true));
    let catalog = fixture::catalog();
    let rt = fixture::runtime();
    let cfg = EpisodeConfig::default();
    let episodes = sample_episodes(&all_episodes(&catalog), 5, 1);
    for (n, ep) in episodes.iter().enumerate() {
        let target = catalog.item(ep.target).unwrap();
        let history: Vec<_> = ep
            .history
            .iter()
            .map(|i| catalog.item(*i).unwrap().clone())
            .collect();
        // As built: the ranker ran and never saw the target.
        let mut sim = RuleSimulator::new(target, &history);
        let r = rt
            .block_on(run_episode(&agent, ep, &mut sim, &format!("ok-{n}"), cfg))
            .unwrap();
        assert!(!r.turns.is_empty());
        // A broken harness that seeds the profile with the target.
        let mut leaky = ep.clone();
        leaky.history.push(ep.target);
        let mut sim = RuleSimulator::new(target, &history);
        let err = rt
            .block_on(run_episode(
                &agent,
                &leaky,
                &mut sim,
                &format!("leak-{n}"),
                cfg,
            ))
            .unwrap_err();
        assert!(
            matches!(err, Error::RankerSawTarget { target, turn: 1 } if target == ep.target.0),
            "{err}"
        );
    }
}

#[test]
fn the_next_item_model_is_reported_under_both_maskings() {
    let catalog = fixture::catalog();
    let (_, models) = fixture::models();
    let episodes = all_episodes(&catalog);
    let m = recagent_sim::crm::next_masked(&models.next, &episodes);
    assert_eq!(m.rated.users, episodes.len());
    // The rated masking is the episodes' own: the ranks `next_rank` gives.
    let ranks: Vec<usize> = episodes
        .iter()
        .map(|e| recagent_sim::crm::next_rank(&models.next, e))
        .collect();
    assert_eq!(m.rated, recagent_ranker::next::protocol::metrics_of(&ranks));
    // Leaving more films out never ranks a target lower.
    assert!(m.rated.hit10 >= m.positives.hit10 && m.rated.ndcg10 >= m.positives.ndcg10);
    assert!(
        episodes
            .iter()
            .any(|e| e.seen.iter().any(|i| !e.history.contains(i))),
        "the fixture has films rated below 4 before a target, or both maskings are one"
    );
}
