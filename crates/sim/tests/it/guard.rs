//! The text channel: a simulator scripted to name its target.

use futures::future::BoxFuture;
use recagent_catalog::split::sample_episodes;
use recagent_core::{Item, words};
use recagent_sim::crm::all_episodes;
use recagent_sim::{EpisodeConfig, LeakGuard, Simulator, Statement, Summary, run_episode};

use crate::fixture;

/// Names the target in every draft; `fixes` says whether a regenerated
/// draft leaves the title out.
struct Leaky {
    title: String,
    fixes: bool,
    regenerated: usize,
}

impl Simulator for Leaky {
    fn opening(&mut self) -> BoxFuture<'_, recagent_sim::Result<String>> {
        let t = format!("I want {} again", self.title);
        Box::pin(async move { Ok(t) })
    }
    fn reply<'a>(&'a mut self, _: &'a [Item]) -> BoxFuture<'a, recagent_sim::Result<String>> {
        // A near miss: a long title with one letter dropped, a one-word
        // title shouted.
        let t = if self.title.contains(' ') {
            let mut t = self.title.clone();
            t.pop();
            format!("No, {t}")
        } else {
            format!("No, {}!", self.title.to_uppercase())
        };
        Box::pin(async move { Ok(t) })
    }
    fn regenerate(&mut self) -> BoxFuture<'_, recagent_sim::Result<Option<String>>> {
        self.regenerated += 1;
        let again = if self.fixes {
            Some("something from the same shelf".to_owned())
        } else {
            Some(format!("really, {}", self.title))
        };
        Box::pin(async move { Ok(again) })
    }
    fn statements(&self) -> &[Statement] {
        &[]
    }
}

fn spoken(item: &Item) -> String {
    recagent_sim::rules::spoken_title(&item.title)
}

#[test]
fn leaking_text_is_regenerated_or_redacted_before_the_agent_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false);
    let catalog = fixture::catalog();
    let rt = fixture::runtime();
    let cfg = EpisodeConfig {
        k: 10,
        max_turns: 3,
        regenerate: 2,
    };
    let episodes = sample_episodes(&all_episodes(&catalog), 8, 11);
    let mut results = Vec::new();
    for (n, ep) in episodes.iter().enumerate() {
        let target = catalog.item(ep.target).unwrap();
        let guard = LeakGuard::for_item(target);
        assert!(guard.leaks(&format!("I want {} again", spoken(target))));
        let fixes = n % 2 == 0;
        let mut sim = Leaky {
            title: spoken(target),
            fixes,
            regenerated: 0,
        };
        let r = rt
            .block_on(run_episode(
                &agent,
                ep,
                &mut sim,
                &format!("leaky-{n}"),
                cfg,
            ))
            .unwrap();
        for t in &r.turns {
            assert!(t.leaked, "the draft named the target: {t:?}");
            assert!(!t.leaked_after_guard, "{t:?}");
            assert!(!guard.leaks(&t.utterance), "{:?}", t.utterance);
            let title = words(&target.title);
            let said = words(&t.utterance);
            assert!(!title.iter().all(|w| said.contains(w)), "{:?}", t.utterance);
            if fixes {
                assert_eq!(t.utterance, "something from the same shelf");
            } else {
                assert!(t.utterance.contains("that one"), "{:?}", t.utterance);
            }
        }
        // Two tries a turn for the one that never learns, one for the other.
        let per_turn = if fixes { 1 } else { 2 };
        assert_eq!(sim.regenerated, per_turn * r.turns.len());
        results.push(r);
    }
    let s = Summary::of(&results, cfg.max_turns, true);
    assert_eq!(s.leakage_rate, Some(1.0));
    assert_eq!(s.leakage_rate_after_guard, Some(0.0));
}
