//! Episodes with the rule-based and target-free simulators.

use std::sync::Arc;

use recagent_catalog::split::sample_episodes;
use recagent_core::{Item, NoProgress, words};
use recagent_sim::crm::all_episodes;
use recagent_sim::run::{SimulatorKind, run_agent};
use recagent_sim::{
    EpisodeConfig, RuleSimulator, Simulator, Statement, Summary, TargetFreeSimulator,
};

use crate::fixture;

#[test]
fn rule_simulator_says_only_true_things_and_never_the_title() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(fixture::agent(dir.path(), true));
    let catalog = fixture::catalog();
    let episodes = sample_episodes(&all_episodes(&catalog), 30, 7);
    assert_eq!(episodes.len(), 30);
    let cfg = EpisodeConfig::default();
    let rt = fixture::runtime();
    let run = rt
        .block_on(run_agent(
            "rules",
            Arc::clone(&agent),
            &episodes,
            &SimulatorKind::Rules,
            cfg,
            4,
            &NoProgress,
        ))
        .unwrap();
    assert_eq!(run.results.len(), 30);
    for (ep, r) in episodes.iter().zip(&run.results) {
        // Results come back in episode order.
        assert_eq!((ep.user.0, ep.target), (r.user, r.target));
        let target = catalog.item(ep.target).unwrap();
        let title = words(&target.title);
        for t in &r.turns {
            let said = words(&t.utterance);
            assert!(
                !title.iter().all(|w| said.contains(w)),
                "{:?} names {:?}",
                t.utterance,
                target.title
            );
            assert!(!t.leaked_after_guard);
            assert_eq!(t.shown.len(), cfg.k.min(t.shown.len()));
        }
        assert!(r.statements >= 1);
        assert!(!r.turns.is_empty() && r.turns.len() <= cfg.max_turns);
        // A hit ends the episode on that turn.
        if let Some(h) = r.hit_turn {
            assert_eq!(h, r.turns.len());
            assert_eq!(
                r.turns[h - 1].shown.iter().position(|i| *i == ep.target),
                r.hit_rank
            );
        }
    }
    let s = Summary::of(&run.results, cfg.max_turns, true);
    assert_eq!(s.episodes, 30);
    assert_eq!(s.sim_truth_rate, Some(1.0), "{s:?}");
    assert_eq!(s.leakage_rate, Some(0.0));
    for w in s.hit_at_10.windows(2) {
        assert!(w[0] <= w[1], "cumulative hits fall: {s:?}");
    }
    for t in 0..cfg.max_turns {
        assert!(s.hit_at_1[t] <= s.hit_at_5[t] && s.hit_at_5[t] <= s.hit_at_10[t]);
    }
    assert!((1.0..=6.0).contains(&s.avg_turns));
    // Each turn narrows the request, so more turns find more targets.
    assert!(s.hit_at_10[cfg.max_turns - 1] > s.hit_at_10[0], "{s:?}");

    // The same episodes again, one at a time: the same results.
    let again = rt
        .block_on(run_agent(
            "rules",
            agent,
            &episodes,
            &SimulatorKind::Rules,
            cfg,
            1,
            &NoProgress,
        ))
        .unwrap();
    assert_eq!(
        serde_json::to_string(&again.results).unwrap(),
        serde_json::to_string(&run.results).unwrap()
    );
}

fn history(catalog: &recagent_core::Catalog, n: usize) -> Vec<Item> {
    catalog.items()[..n].to_vec()
}

#[test]
fn rule_statements_are_checked_against_the_target() {
    let catalog = fixture::catalog();
    let item = catalog.items()[0].clone();
    let hist = history(&catalog, 30);
    let mut sim = RuleSimulator::new(&item, &hist[1..]);
    let rt = fixture::runtime();
    let first = rt.block_on(sim.opening()).unwrap();
    assert!(first.contains(&item.genres[0]), "{first}");
    let wrong_list: Vec<Item> = catalog
        .items()
        .iter()
        .filter(|i| !i.genres.contains(&item.genres[0]))
        .take(10)
        .cloned()
        .collect();
    let second = rt.block_on(sim.reply(&wrong_list)).unwrap();
    // The rejection gives a reason that is true of the target.
    assert!(
        second.starts_with(&format!("Not quite. I asked for {}.", item.genres[0])),
        "{second}"
    );
    assert!(
        sim.statements()
            .iter()
            .all(|s| s.is_true_of(&item, catalog.items()))
    );
    let year = item.year.unwrap();
    let wrong = Statement::Decade {
        start: year - year % 10 + 10,
    };
    assert!(!wrong.is_true_of(&item, catalog.items()));
    let wrong = Statement::Genre {
        genre: "No Such Genre".into(),
    };
    assert!(!wrong.is_true_of(&item, catalog.items()));
    assert!(
        Statement::NotGenre {
            genre: "No Such Genre".into()
        }
        .is_true_of(&item, catalog.items())
    );
}

#[test]
fn target_free_simulator_judges_lists_against_its_preferences() {
    let catalog = fixture::catalog();
    let hist = history(&catalog, 12);
    let sim = TargetFreeSimulator::new(&hist).unwrap();
    let prefs = sim.preferences().to_vec();
    let fits = |i: &Item| prefs.iter().all(|p| p.is_true_of(i, catalog.items()));
    let good: Vec<Item> = catalog
        .items()
        .iter()
        .filter(|i| fits(i))
        .take(10)
        .cloned()
        .collect();
    let bad: Vec<Item> = catalog
        .items()
        .iter()
        .filter(|i| !fits(i))
        .take(10)
        .cloned()
        .collect();
    assert_eq!(
        good.len(),
        10,
        "the synthetic catalog has ten matching items"
    );
    assert_eq!(sim.accepts(&good), Some(true));
    assert_eq!(sim.accepts(&bad), Some(false));
    // 8 of 10 is enough; 7 of 10 is not.
    let mix = |n: usize| -> Vec<Item> { good[..n].iter().chain(&bad[..10 - n]).cloned().collect() };
    assert_eq!(sim.accepts(&mix(8)), Some(true));
    assert_eq!(sim.accepts(&mix(7)), Some(false));

    // End to end: the rules agent satisfies most target-free users.
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(fixture::agent(dir.path(), true));
    let episodes = sample_episodes(&all_episodes(&catalog), 20, 3);
    let run = fixture::runtime()
        .block_on(run_agent(
            "rules",
            agent,
            &episodes,
            &SimulatorKind::TargetFree,
            EpisodeConfig::default(),
            2,
            &NoProgress,
        ))
        .unwrap();
    let s = Summary::of(&run.results, 5, true);
    assert_eq!(s.sim_truth_rate, Some(1.0));
    assert!(s.hit_at_10[4] >= 0.5, "{s:?}");
}
