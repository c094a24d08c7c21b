//! The recommender channel: the ranker is trained without the targets, is
//! cached, and an episode that would hand it the target fails.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use recagent_catalog::split::sample_episodes;
use recagent_core::{Home, ItemId, NoProgress, UserId};
use recagent_ranker::ModelKind;
use recagent_sim::crm::{
    EvalData, EvalModels, all_episodes, eval_store, eval_store_for, extras_of,
};
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

/// A text encoder for tests: the length of a row's text and two of its
/// letters' counts, enough for CTRL's alignment stage to run.
struct Letters;

impl recagent_ranker::RowEncoder for Letters {
    fn dim(&self) -> usize {
        3
    }

    fn encode(
        &self,
        texts: &[String],
        _: &dyn recagent_core::Progress,
    ) -> recagent_ranker::error::Result<Vec<f32>> {
        Ok(texts
            .iter()
            .flat_map(|t| {
                let count = |c: char| t.chars().filter(|x| *x == c).count() as f32;
                [t.len() as f32 / 100.0, count('a') / 10.0, count('e') / 10.0]
            })
            .collect())
    }
}

#[test]
fn a_ranker_with_ctrl_gets_a_store_and_a_weight_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let catalog = fixture::catalog();
    let config = recagent_ranker::CtrlConfig {
        rows: 64,
        epochs: 1,
        ..recagent_ranker::CtrlConfig::default()
    };
    let inputs = recagent_ranker::TrainInputs {
        ctrl: Some(recagent_ranker::Ctrl {
            config: &config,
            encoder: &Letters,
        }),
        ..recagent_ranker::TrainInputs::default()
    };
    let extras = extras_of(&inputs);
    assert_eq!(extras, ["ctrl"]);
    let store = eval_store_for(&home, "sim", &extras);
    assert_ne!(store.root(), eval_store(&home, "sim").root());
    let next = recagent_sim::crm::default_next(catalog.items().len());
    let ensure = |inputs: &recagent_ranker::TrainInputs<'_>| {
        EvalModels::ensure_with(
            &home,
            &store,
            &catalog,
            ModelKind::DeepFm,
            next,
            inputs,
            &NoProgress,
        )
        .unwrap()
    };
    let ctrl = ensure(&inputs);
    assert_eq!(ctrl.manifest.extras, ["ctrl"]);
    assert_eq!(
        ctrl.manifest.combine_fit.len(),
        8,
        "the weight is fit again"
    );
    // The base store was never written.
    assert!(!eval_store(&home, "sim").root().join("split.json").exists());
    // The same inputs find the cache; other inputs train again.
    let config_file = store
        .ranker_dir(ModelKind::DeepFm, false)
        .join("config.json");
    let modified = || std::fs::metadata(&config_file).unwrap().modified().unwrap();
    let before = modified();
    assert_eq!(ensure(&inputs).manifest, ctrl.manifest);
    assert_eq!(modified(), before, "a valid cache is not retrained");
    let base = ensure(&recagent_ranker::TrainInputs::default());
    assert!(base.manifest.extras.is_empty());
    assert_ne!(
        modified(),
        before,
        "a store trained otherwise is trained again"
    );
}
