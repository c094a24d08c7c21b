//! KAR's user side: a user's text is written from the window alone, and
//! the split that evaluates it keeps every window row in training.

use std::collections::HashSet;

use recagent_catalog::split::{LabelRule, ctr_split, ctr_split_keeping};
use recagent_catalog::synth::{SynthConfig, generate as synth};
use recagent_core::{Catalog, NoProgress, UserId};
use recagent_knowledge::users::{generate, read_users, window_rows, windows};
use recagent_llm::{ChatResponse, scripted::ScriptedModel};

use super::rt;

fn catalog() -> Catalog {
    synth(
        &SynthConfig {
            name: "u".into(),
            items: 40,
            users: 12,
            per_user: 15,
            seed: 9,
            popularity_skew: 1.0,
        },
        &NoProgress,
    )
    .unwrap()
}

fn answers(n: usize) -> Vec<ChatResponse> {
    (0..n)
        .map(|i| ChatResponse {
            text: format!("genre: dramas, user {i}\nmood/tone: warm"),
            ..ChatResponse::default()
        })
        .collect()
}

/// The titles each user's prompt names, from the requests the model got.
fn titles_in_prompts(c: &Catalog, model: &ScriptedModel) -> Vec<(UserId, HashSet<String>)> {
    let ws = windows(c, 5);
    model
        .requests()
        .iter()
        .zip(&ws)
        .map(|(r, w)| {
            let prompt = &r.messages[1].content;
            let named = c
                .items()
                .iter()
                .filter(|i| {
                    prompt.contains(&format!("\n{}", i.title))
                        || prompt.contains(&format!(":\n{}", i.title))
                })
                .map(|i| i.title.clone())
                .collect();
            (w.user, named)
        })
        .collect()
}

#[test]
fn no_user_text_sees_a_row_it_is_tested_on() {
    let c = catalog();
    let ws = windows(&c, 5);
    assert_eq!(ws.len(), 12);
    // The window is the user's earliest ratings.
    for w in &ws {
        let mut times: Vec<(i64, u32)> = c
            .interactions()
            .iter()
            .filter(|x| x.user == w.user)
            .map(|x| (x.timestamp, x.item.0))
            .collect();
        times.sort_unstable();
        let first: Vec<u32> = times.iter().take(5).map(|t| t.1).collect();
        assert_eq!(w.rated.iter().map(|r| r.0.0).collect::<Vec<_>>(), first);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.jsonl");
    let model = ScriptedModel::new(answers(12));
    let out = rt()
        .block_on(generate(&model, &c, &ws, &path, 4, &NoProgress))
        .unwrap();
    assert_eq!((out.new, out.total), (12, 12));
    let named = titles_in_prompts(&c, &model);
    let keep = window_rows(&ws);
    let leaks = |split: &recagent_catalog::split::CtrSplit| -> usize {
        split
            .valid
            .iter()
            .chain(&split.test)
            .filter(|r| {
                let title = &c.item(r.item).unwrap().title;
                named.iter().any(|(u, t)| *u == r.user && t.contains(title))
            })
            .count()
    };
    for seed in 0..5 {
        let kept = ctr_split_keeping(&c, LabelRule::default(), seed, &keep);
        assert_eq!(
            leaks(&kept),
            0,
            "seed {seed}: a prompt named a held-out film"
        );
        // The plain split would have tested on rows the texts saw: the
        // check above can fail.
        let plain = ctr_split(&c, LabelRule::default(), seed);
        assert!(
            leaks(&plain) > 0,
            "seed {seed}: the fixture must be able to leak"
        );
        let n =
            |s: &recagent_catalog::split::CtrSplit| s.train.len() + s.valid.len() + s.test.len();
        assert_eq!(n(&kept), n(&plain), "rows only move into training");
    }
}

#[test]
fn a_stopped_user_run_continues_and_keeps_its_lines() {
    let c = catalog();
    let ws = windows(&c, 5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.jsonl");
    // A first run that writes five users, then a torn line.
    let first = ScriptedModel::new(answers(5));
    rt().block_on(generate(&first, &c, &ws[..5], &path, 2, &NoProgress))
        .unwrap();
    let mut body = std::fs::read_to_string(&path).unwrap();
    body.push_str("{\"id\": \"torn");
    std::fs::write(&path, body).unwrap();
    let second = ScriptedModel::new(answers(7));
    let out = rt()
        .block_on(generate(&second, &c, &ws, &path, 3, &NoProgress))
        .unwrap();
    assert_eq!((out.new, out.total), (7, 12));
    assert_eq!(second.requests().len(), 7, "only the users not written yet");
    let records = read_users(&path).unwrap();
    assert_eq!(records.len(), 12);
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let want: Vec<String> = ws
        .iter()
        .map(|w| c.user(w.user).unwrap().key.clone())
        .collect();
    assert_eq!(ids, want, "in window order");
    assert_eq!(records[0].items.len(), ws[0].rated.len());
    assert!(records[0].text.starts_with("genre:"));
    insta::assert_snapshot!("user_prompt", second.requests()[0].messages[1].content);
}
