//! The recommender channel: the ranker is trained without the targets, is
//! cached, and an episode that would hand it the target fails.

use std::collections::HashSet;
use std::sync::Arc;

use recagent_catalog::split::{LabelRule, ctr_split_without_targets, sample_episodes};
use recagent_core::{Home, NoProgress};
use recagent_ranker::ModelKind;
use recagent_sim::crm::{EvalModels, SPLIT_SEED, all_episodes, eval_store};
use recagent_sim::{EpisodeConfig, Error, RuleSimulator, run_episode};

use crate::fixture;

#[test]
fn the_evaluation_split_holds_every_target_out() {
    let catalog = fixture::catalog();
    let episodes = all_episodes(&catalog);
    assert!(episodes.len() > 100);
    let split = ctr_split_without_targets(&catalog, LabelRule::default(), SPLIT_SEED, &episodes);
    let held: HashSet<_> = episodes.iter().map(|e| (e.user, e.target)).collect();
    for part in [&split.train, &split.valid, &split.test] {
        assert!(part.iter().all(|r| !held.contains(&(r.user, r.item))));
    }
    // Only the targets went: every other labelled row is still there.
    let full = recagent_catalog::split::ctr_split(&catalog, LabelRule::default(), SPLIT_SEED);
    let n = |s: &recagent_catalog::split::CtrSplit| s.train.len() + s.valid.len() + s.test.len();
    assert_eq!(n(&full) - n(&split), episodes.len());
    // The models the tests share were trained on exactly that split.
    let m = &fixture::models().1.manifest;
    assert_eq!(m.held_out, episodes.len());
    assert_eq!(m.train_rows, split.train.len());
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
    // Popularity ranks by training positives, and never lists the history.
    let ep = &all_episodes(&fixture::catalog())[0];
    let pop = first.popular_list(ep, 50);
    assert_eq!(pop.len(), 50);
    assert!(pop.iter().all(|i| !ep.history.contains(i)));
    let crm = first.crm_list(&fixture::catalog(), ep, 50).unwrap();
    assert_eq!(crm.len(), 50);
    assert!(crm.iter().all(|i| !ep.history.contains(i)));
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
