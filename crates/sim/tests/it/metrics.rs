//! Metrics on episodes computed by hand.

use recagent_core::ItemId;
use recagent_sim::{EpisodeResult, Summary, TurnRecord};

fn turn(leaked: bool, after: bool, tokens: u32) -> TurnRecord {
    TurnRecord {
        utterance: String::new(),
        leaked,
        leaked_after_guard: after,
        shown: Vec::new(),
        prompt_tokens: tokens,
        completion_tokens: 10,
        failed_tool_calls: 1,
        repairs: 0,
        model_failures: 0,
        timing: Default::default(),
    }
}

fn ep(
    target: u32,
    hit: Option<(usize, usize)>,
    pool: &[u32],
    turns: usize,
    st: (usize, usize),
) -> EpisodeResult {
    EpisodeResult {
        user: target,
        target: ItemId(target),
        hit_turn: hit.map(|h| h.0),
        hit_rank: hit.map(|h| h.1),
        final_pool: pool.iter().map(|i| ItemId(*i)).collect(),
        statements: st.0,
        true_statements: st.1,
        turns: (0..turns).map(|t| turn(t == 0, false, 100)).collect(),
        voice: None,
    }
}

#[test]
fn voiced_drafts_are_shares_of_all_utterances() {
    let mut a = ep(1, None, &[], 3, (3, 3));
    a.voice = Some(recagent_sim::VoiceStats {
        utterances: 3,
        regenerated: 1,
        templated: 0,
    });
    let mut b = ep(2, None, &[], 5, (5, 5));
    b.voice = Some(recagent_sim::VoiceStats {
        utterances: 5,
        regenerated: 2,
        templated: 1,
    });
    let s = Summary::of(&[a, b], 5, true);
    assert_eq!(s.sim_regenerated_rate, Some(0.375));
    assert_eq!(s.sim_templated_rate, Some(0.125));
    // A simulator with its own words has no such figures, in the report
    // either.
    let s = Summary::of(&[ep(3, None, &[], 1, (1, 1))], 5, true);
    assert_eq!(s.sim_regenerated_rate, None);
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("sim_regenerated_rate"), "{json}");
}

#[test]
fn summary_matches_hand_computed_figures() {
    // Four episodes of at most 3 turns:
    //  A: hit on turn 1 at rank 0       (pool: target first)
    //  B: hit on turn 2 at rank 3       (pool: target 4th)
    //  C: hit on turn 3 at rank 7       (pool: target 8th)
    //  D: missed; target 20th of its final pool
    let mut pool_d: Vec<u32> = (100..119).collect();
    pool_d.push(4);
    let results = vec![
        ep(1, Some((1, 0)), &[1, 50, 51], 1, (1, 1)),
        ep(2, Some((2, 3)), &[60, 61, 62, 2], 2, (2, 2)),
        ep(3, Some((3, 7)), &[70, 71, 72, 73, 74, 75, 76, 3], 3, (3, 2)),
        ep(4, None, &pool_d, 3, (3, 3)),
    ];
    let s = Summary::of(&results, 3, true);
    assert_eq!(s.episodes, 4);
    assert_eq!(s.hit_at_1, vec![0.25, 0.25, 0.25]);
    assert_eq!(s.hit_at_5, vec![0.25, 0.5, 0.5]);
    assert_eq!(s.hit_at_10, vec![0.25, 0.5, 0.75]);
    // (1 + 2 + 3 + (3 + 1)) / 4
    assert_eq!(s.avg_turns, 2.5);
    assert_eq!(s.recall_at_1, 0.25);
    assert_eq!(s.recall_at_10, 0.75);
    assert_eq!(s.recall_at_50, 1.0);
    // 9 turns, the first of each episode leaked before the guard.
    assert_eq!(s.turns, 9);
    assert_eq!(s.leakage_rate, Some(0.4444));
    assert_eq!(s.leakage_rate_after_guard, Some(0.0));
    // 8 of 9 statements true.
    assert_eq!(s.sim_truth_rate, Some(0.8889));
    assert_eq!(s.prompt_tokens_per_turn, 100.0);
    assert_eq!(s.completion_tokens_per_turn, 10.0);
    assert_eq!(s.failed_tool_calls, 9);

    // A baseline hears nothing: no leakage or validity to report.
    let b = Summary::of(&results, 3, false);
    assert_eq!((b.leakage_rate, b.sim_truth_rate), (None, None));
}

#[test]
fn a_static_list_hits_only_in_its_top_k() {
    let e = recagent_core::Episode {
        user: recagent_core::UserId(0),
        target: ItemId(7),
        history: vec![ItemId(1)],
        seen: vec![ItemId(1)],
    };
    let pool: Vec<ItemId> = (10..60).map(ItemId).collect();
    let mut with = pool.clone();
    with[12] = ItemId(7);
    let r = EpisodeResult::static_list(&e, with, 10);
    assert_eq!(
        (r.hit_turn, r.hit_rank),
        (None, None),
        "rank 13 is not shown"
    );
    let s = Summary::of(&[r], 5, false);
    assert_eq!((s.recall_at_10, s.recall_at_50), (0.0, 1.0));
    assert_eq!(s.avg_turns, 6.0);
    let mut with = pool;
    with[2] = ItemId(7);
    let r = EpisodeResult::static_list(&e, with, 10);
    assert_eq!((r.hit_turn, r.hit_rank), (Some(1), Some(2)));
}
