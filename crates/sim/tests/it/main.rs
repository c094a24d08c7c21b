//! Simulated episodes against the rules controller on a synthetic catalog.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use recagent_agent::{Agent, LexicalRecall};
use recagent_catalog::split::{EpisodeConfig as Split, leave_last_positive_out, sample_episodes};
use recagent_catalog::synth::{SynthConfig, generate};
use recagent_core::{NoProgress, words};
use recagent_memory::Memory;
use recagent_sim::{EpisodeConfig, RuleSimulator, Simulator, Statement, Summary, run_episode};

fn agent(dir: &std::path::Path) -> Agent {
    let catalog = generate(
        &SynthConfig {
            name: "sim".into(),
            items: 400,
            users: 150,
            per_user: 20,
            seed: 3,
            popularity_skew: 1.0,
        },
        &NoProgress,
    )
    .unwrap();
    let catalog = Arc::new(catalog);
    let recall = LexicalRecall::build(Arc::clone(&catalog), &dir.join("lexical")).unwrap();
    Agent::builder(
        catalog,
        Arc::new(recall),
        Arc::new(Memory::in_memory().unwrap()),
    )
    .build()
    .unwrap()
}

#[test]
fn rule_simulator_says_only_true_things_and_never_the_title() {
    let dir = tempfile::tempdir().unwrap();
    let agent = agent(dir.path());
    let episodes = sample_episodes(
        &leave_last_positive_out(agent.catalog(), Split::default()),
        30,
        7,
    );
    assert_eq!(episodes.len(), 30);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cfg = EpisodeConfig {
        k: 10,
        max_turns: 5,
    };
    let mut results = Vec::new();
    for (n, ep) in episodes.iter().enumerate() {
        let target = agent.catalog().item(ep.target).unwrap().clone();
        let mut sim = RuleSimulator::new(&target);
        let r = rt
            .block_on(run_episode(&agent, ep, &mut sim, &format!("sim-{n}"), cfg))
            .unwrap();
        // The title never crosses the text channel.
        let title = words(&target.title);
        for u in &r.utterances {
            let said = words(u);
            assert!(
                !title.iter().all(|w| said.contains(w)),
                "{u:?} names {:?}",
                target.title
            );
        }
        assert!(r.statements >= 1);
        assert!(r.turns >= 1 && r.turns <= cfg.max_turns);
        results.push(r);
    }
    let s = Summary::of(&results, cfg.max_turns);
    assert_eq!(s.episodes, 30);
    assert_eq!(s.sim_truth_rate, 1.0, "{s:?}");
    for w in s.hit_at_10.windows(2) {
        assert!(w[0] <= w[1], "cumulative hits fall: {s:?}");
    }
    for t in 0..cfg.max_turns {
        assert!(s.hit_at_1[t] <= s.hit_at_5[t] && s.hit_at_5[t] <= s.hit_at_10[t]);
    }
    assert!((1.0..=6.0).contains(&s.avg_turns));
    // Each turn narrows the request, so more turns find more targets.
    assert!(s.hit_at_10[cfg.max_turns - 1] > s.hit_at_10[0], "{s:?}");
}

#[test]
fn statements_are_checked_against_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let agent = agent(dir.path());
    let item = agent.catalog().items()[0].clone();
    let mut sim = RuleSimulator::new(&item);
    let first = sim.opening();
    assert!(first.contains(&item.genres[0]), "{first}");
    let second = sim.reply(&[]);
    assert!(second.starts_with("Not quite."), "{second}");
    assert!(sim.statements().iter().all(|s| s.is_true_of(&item)));
    let year = item.year.unwrap();
    let wrong = Statement::Decade {
        start: year - year % 10 + 10,
    };
    assert!(!wrong.is_true_of(&item));
    let wrong = Statement::Genre {
        genre: "No Such Genre".into(),
    };
    assert!(!wrong.is_true_of(&item));
}
