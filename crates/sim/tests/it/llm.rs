//! The LLM persona simulator on a scripted model: its prompt, and its
//! statements checked against the target.

use std::sync::Arc;

use recagent_llm::{ChatResponse, scripted::ScriptedModel};
use recagent_sim::{PersonaSimulator, Simulator, Statement};

use crate::fixture;

fn says(text: &str) -> ChatResponse {
    ChatResponse {
        text: text.into(),
        ..ChatResponse::default()
    }
}

#[test]
fn persona_prompt_has_the_facts_never_the_title_and_its_claims_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Arc::new(fixture::agent(dir.path(), false));
    let catalog = fixture::catalog();
    let target = catalog
        .items()
        .iter()
        .find(|i| i.genres.len() >= 2 && i.year.is_some())
        .unwrap()
        .clone();
    let other = catalog
        .genre_vocab()
        .into_iter()
        .find(|g| !target.genres.contains(g) && g != "unknown")
        .unwrap();
    let decade = target.year.unwrap() - target.year.unwrap() % 10;
    let model = Arc::new(ScriptedModel::new([
        says(&format!(
            "\"I'd like a {} movie from the {decade}s.\"",
            target.genres[0]
        )),
        // A lie: a genre the target does not have.
        says(&format!("Actually, make it a {other} film.")),
    ]));
    let history: Vec<_> = catalog
        .items()
        .iter()
        .filter(|i| i.id != target.id)
        .take(5)
        .cloned()
        .collect();
    let mut sim = PersonaSimulator::new(model.clone(), reader, &target, &history).unwrap();
    let rt = fixture::runtime();
    let first_said = rt.block_on(sim.opening()).unwrap();
    assert!(
        !first_said.starts_with('"'),
        "quotes are trimmed: {first_said}"
    );
    let shown = catalog.items()[10..13].to_vec();
    rt.block_on(sim.reply(&shown)).unwrap();
    assert_eq!(sim.model_calls(), 2);

    let requests = model.requests();
    let first = &requests[0].messages;
    assert_eq!(first.len(), 2, "each call is self-contained: {first:?}");
    for m in first {
        assert!(!m.content.contains(&target.title), "{}", m.content);
    }
    let facts = &first[1].content;
    for g in &target.genres {
        assert!(facts.contains(g.as_str()), "{facts}");
    }
    assert!(facts.contains(&format!("{decade}s")), "{facts}");
    // The second call shows the list and what the fan said before.
    let turn = &requests[1].messages;
    assert_eq!(turn.len(), 2, "{turn:?}");
    let listed = &turn[1].content;
    for t in &shown {
        assert!(
            listed.contains(&recagent_sim::rules::spoken_title(&t.title)),
            "{listed}"
        );
    }
    assert!(listed.contains(&first_said), "{listed}");
    insta::assert_snapshot!("persona_turn_prompt", listed);

    let said = sim.statements().to_vec();
    assert!(said.contains(&Statement::Genre {
        genre: target.genres[0].clone()
    }));
    assert!(
        said.contains(&Statement::Decade { start: decade }),
        "{said:?}"
    );
    assert!(said.contains(&Statement::Genre {
        genre: other.clone()
    }));
    let truths: Vec<bool> = said
        .iter()
        .map(|s| sim.states_truly(s, &target, catalog.items()))
        .collect();
    assert_eq!(
        truths.iter().filter(|t| !**t).count(),
        1,
        "{said:?} {truths:?}"
    );
}
