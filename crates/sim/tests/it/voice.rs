//! The voiced simulator: the rules agenda decides, a scripted model writes,
//! and every draft is read back and checked against its act.

use std::collections::BTreeMap;
use std::sync::Arc;

use recagent_core::{Item, ItemId};
use recagent_llm::{ChatResponse, scripted::ScriptedModel};
use recagent_sim::rules::{ActKind, RuleSimulator};
use recagent_sim::voice::{check, read_facts};
use recagent_sim::{Simulator, Statement, VoiceStats, VoicedSimulator};

use crate::fixture;

fn item(id: u32, title: &str, year: u16, genres: &[&str]) -> Item {
    Item {
        id: ItemId(id),
        key: id.to_string(),
        title: title.into(),
        year: Some(year),
        genres: genres.iter().map(|g| (*g).to_owned()).collect(),
        text: String::new(),
        relations: BTreeMap::new(),
        ..Default::default()
    }
}

fn genres() -> Vec<String> {
    [
        "Action",
        "Animation",
        "Children's",
        "Comedy",
        "Crime",
        "Drama",
        "Horror",
        "Romance",
        "Sci-Fi",
        "Thriller",
        "unknown",
    ]
    .iter()
    .map(|g| (*g).to_owned())
    .collect()
}

fn says(text: &str) -> ChatResponse {
    ChatResponse {
        text: text.into(),
        ..ChatResponse::default()
    }
}

fn genre(g: &str) -> Statement {
    Statement::Genre { genre: g.into() }
}

#[test]
fn the_word_reader_finds_genres_negations_decades_and_history_titles() {
    let titles = vec![(ItemId(7), "Die Hard".to_owned())];
    let r = read_facts(
        "none of those, I said comedy. maybe something from the 90s?",
        &genres(),
        &titles,
    );
    assert_eq!(r.genres, ["Comedy"]);
    assert_eq!(r.decades, [1990]);
    assert!(r.negated.is_empty() && r.years.is_empty(), "{r:?}");

    let r = read_facts(
        "no horror please, something funny like Die Hard",
        &genres(),
        &titles,
    );
    assert_eq!(r.negated, ["Horror"]);
    assert_eq!(r.genres, ["Comedy"]);
    assert_eq!(r.titles, [ItemId(7)]);

    let r = read_facts(
        "a sci-fi flick from the nineties for my kids",
        &genres(),
        &titles,
    );
    assert_eq!(r.genres, ["Children's", "Sci-Fi"]);
    assert_eq!(r.decades, [1990]);
    let r = read_facts(
        "An animated movie from 1995, 1980s or '70s",
        &genres(),
        &titles,
    );
    assert_eq!(r.genres, ["Animation"]);
    assert_eq!(r.years, [1995]);
    assert_eq!(r.decades, [1980, 1970]);
}

#[test]
fn a_draft_is_checked_against_its_act() {
    let target = item(1, "Target (1994)", 1994, &["Comedy", "Romance"]);
    let history = vec![item(2, "Notting Hill (1999)", 1999, &["Comedy", "Romance"])];
    let mut agenda = RuleSimulator::new(&target, &history);
    let open = agenda.next_act(None);
    assert_eq!(open.kind, ActKind::Open);
    assert_eq!(open.new, Some(genre("Comedy")));
    let g = genres();
    let t = agenda.titles().to_vec();
    assert!(check(&open, &read_facts("got any comedies?", &g, &t)).ok());
    // Dropped: the new fact is missing.
    let v = check(&open, &read_facts("something good tonight?", &g, &t));
    assert_eq!(v.dropped, [genre("Comedy")]);
    // Added: a genre, a decade or a negation nobody decided on.
    let v = check(&open, &read_facts("a scary comedy from the 80s", &g, &t));
    assert_eq!(
        v.added,
        [genre("Horror"), Statement::Decade { start: 1980 }]
    );
    let shown = vec![item(3, "Alien (1979)", 1979, &["Horror", "Sci-Fi"])];
    let react = agenda.next_act(Some(&shown));
    assert_eq!(react.kind, ActKind::React);
    assert_eq!(react.reason, Some(genre("Comedy")));
    assert_eq!(react.new, Some(Statement::Decade { start: 1990 }));
    // A reminder of what was said before is allowed, not required.
    assert!(
        check(
            &react,
            &read_facts("nope, I said comedy. 90s maybe?", &g, &t)
        )
        .ok()
    );
    assert!(check(&react, &read_facts("nope. from the nineties?", &g, &t)).ok());
    assert!(!check(&react, &read_facts("nope, not a comedy", &g, &t)).ok());
    // Regression: the 0.5B echoed its prompt, "the film is not from the
    // 1990s", and refused with "I'm sorry, I can't assist with that".
    assert!(!check(&react, &read_facts("it is not from the 1990s", &g, &t)).ok());
    let exhausted = rules_act_with_nothing_new(&react);
    assert!(
        !check(
            &exhausted,
            &read_facts("I'm sorry, but I can't assist with that.", &g, &t)
        )
        .ok()
    );
    assert!(!check(&exhausted, &read_facts("great, thanks", &g, &t)).ok());
    assert!(
        check(
            &exhausted,
            &read_facts("none of these, something else?", &g, &t)
        )
        .ok()
    );
    // The rules simulator's own words for the act pass its check.
    assert!(check(&react, &read_facts(&agenda.template(&react), &g, &t)).ok());
    assert_eq!(agenda.next_act(Some(&[])).kind, ActKind::Answer);
}

/// A reaction with nothing new to say and no reason.
fn rules_act_with_nothing_new(like: &recagent_sim::rules::Act) -> recagent_sim::rules::Act {
    recagent_sim::rules::Act {
        kind: ActKind::React,
        new: None,
        reason: None,
        said: like.said.clone(),
    }
}

#[test]
fn drafts_that_add_or_drop_a_fact_are_written_again_then_templated() {
    let target = item(1, "Secret Target (1994)", 1994, &["Comedy", "Romance"]);
    let history = vec![item(2, "Notting Hill (1999)", 1999, &["Comedy", "Romance"])];
    let model = Arc::new(ScriptedModel::new([
        // Adds a genre: written again.
        says("\"Any good horror comedies?\""),
        says("Message: any good comedies out there?"),
        // The reaction drops the decade three times: the template says it.
        says("none of those."),
        says("no, something else"),
        says("still no"),
    ]));
    let mut sim = VoicedSimulator::new(model.clone(), &target, &history, genres()).unwrap();
    let rt = fixture::runtime();
    let first = rt.block_on(sim.opening()).unwrap();
    assert_eq!(first, "any good comedies out there?");
    let shown = vec![item(3, "Alien (1979)", 1979, &["Horror", "Sci-Fi"])];
    let second = rt.block_on(sim.reply(&shown)).unwrap();
    assert!(
        second.starts_with("Not quite. I asked for Comedy."),
        "{second}"
    );
    assert_eq!(
        sim.voice_stats(),
        Some(VoiceStats {
            utterances: 2,
            regenerated: 2,
            templated: 1
        })
    );
    assert_eq!(sim.model_calls(), 5);
    let requests = model.requests();
    for r in &requests {
        for m in &r.messages {
            assert!(!m.content.contains("Secret Target"), "{}", m.content);
        }
    }
    // The rewrite is told what was wrong, and samples.
    let retry = &requests[1];
    let last = &retry.messages.last().unwrap().content;
    assert!(last.contains("you were not given: horror"), "{last}");
    assert!(retry.options.temperature > 0.0);
    // The examples are earlier turns of the chat; the act is the last one.
    let react = &requests[2].messages;
    let act = &react.last().unwrap().content;
    assert!(act.contains("Remind: comedy"), "{act}");
    assert!(act.contains("Add: from the 1990s"), "{act}");
    let shown: Vec<String> = react
        .iter()
        .map(|m| format!("{:?}: {}", m.role, m.content))
        .collect();
    insta::assert_snapshot!("voiced_react_prompt", shown.join("\n"));
    // What was said is what the agent read: true of the target.
    let said = sim.statements();
    assert!(said.contains(&genre("Comedy")), "{said:?}");
    assert!(
        said.contains(&Statement::Decade { start: 1990 }),
        "{said:?}"
    );
    assert!(!said.contains(&genre("Horror")), "{said:?}");
}
