//! People and themes on the fixture catalog with film facts: a person
//! asked for is a hard filter, a film said as a negative takes its series
//! with it, an anchor is never in its own list, and a film the catalog
//! lacks is asked about, not answered with an unrelated list.

use recagent_agent::{Controller, Turn};
use recagent_core::person_key;

use super::{fixture, rt, titles};

fn credits(agent: &recagent_agent::Agent, t: &Turn, name: &str) -> bool {
    t.items.iter().all(|r| {
        agent
            .catalog()
            .item(r.id)
            .is_some_and(|it| it.credits(&person_key(name)))
    })
}

#[test]
fn people_are_a_hard_filter() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent_on(
        dir.path(),
        fixture::catalog_with_people(),
        Controller::Rules,
    );
    let mut s = agent.session("pat");
    let t = rt()
        .block_on(s.turn("something to watch tonight with my wife, she loves Tom Hanks"))
        .unwrap();
    assert_eq!(t.plan.as_ref().unwrap().want.people, vec!["Tom Hanks"]);
    assert_eq!(t.items.len(), 2, "{:?}", titles(&t));
    assert!(credits(&agent, &t, "Tom Hanks"), "{:?}", titles(&t));
    for r in &t.items {
        assert!(r.reason.contains("with Tom Hanks"), "{}", r.reason);
    }
    // A surname alone, and a person with a genre left out.
    let t = rt()
        .block_on(agent.session("q").turn("a Kubrick film"))
        .unwrap();
    assert_eq!(titles(&t), vec!["The Shining"], "{t:#?}");
    assert!(t.items[0].reason.contains("directed by Stanley Kubrick"));
    let t = rt()
        .block_on(
            agent
                .session("r")
                .turn("something with Sigourney Weaver but no horror"),
        )
        .unwrap();
    assert_eq!(titles(&t), vec!["Aliens"], "{:?}", t.plan);
    // Recall by similarity brings others; the person still filters them.
    let t = rt()
        .block_on(
            agent
                .session("s")
                .turn("something like Aliens, with Sigourney Weaver"),
        )
        .unwrap();
    assert!(!t.items.is_empty());
    assert!(credits(&agent, &t, "Sigourney Weaver"), "{:?}", titles(&t));
}

#[test]
fn people_stay_with_the_conversation_and_can_be_avoided() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent_on(
        dir.path(),
        fixture::catalog_with_people(),
        Controller::Rules,
    );
    let mut s = agent.session("sam");
    let t = rt()
        .block_on(s.turn("movies with Sigourney Weaver"))
        .unwrap();
    assert!(t.items.len() >= 2 && credits(&agent, &t, "Sigourney Weaver"));
    // A refinement keeps the person.
    let t = rt().block_on(s.turn("only from the 80s")).unwrap();
    // One film fits exactly; the ladder widens the years, never the person.
    assert_eq!(titles(&t)[0], "Aliens", "{:?}", t.trace.state);
    assert!(credits(&agent, &t, "Sigourney Weaver"), "{:?}", titles(&t));
    assert!(!t.trace.relaxed.is_empty(), "{}", t.answer);
    // "Nothing with X" keeps X out.
    let t = rt()
        .block_on(
            agent
                .session("tia")
                .turn("a sci-fi film, nothing with Harrison Ford"),
        )
        .unwrap();
    assert!(!t.items.is_empty());
    for r in &t.items {
        assert!(
            !["Blade Runner", "Star Wars"].contains(&r.title.as_str()),
            "{:?}",
            titles(&t)
        );
    }
    assert_eq!(
        t.plan.as_ref().unwrap().want.avoid_people,
        vec!["Harrison Ford"]
    );
}

#[test]
fn a_title_said_as_a_negative_takes_its_series_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent_on(
        dir.path(),
        fixture::catalog_with_people(),
        Controller::Rules,
    );
    let t = rt()
        .block_on(
            agent
                .session("uma")
                .turn("recommend me a sci-fi flick that isn't Alien"),
        )
        .unwrap();
    let shown = titles(&t);
    assert!(!shown.is_empty());
    assert!(
        !shown.contains(&"Alien") && !shown.contains(&"Alien 3"),
        "{shown:?}"
    );
    assert!(
        t.plan.as_ref().unwrap().liked_titles.is_empty(),
        "{:?}",
        t.plan
    );
}

#[test]
fn the_anchor_is_never_in_its_own_list_and_its_series_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent_on(
        dir.path(),
        fixture::catalog_with_people(),
        Controller::Rules,
    );
    let t = rt()
        .block_on(agent.session("val").turn("more like Alien 3 please"))
        .unwrap();
    let shown = titles(&t);
    assert!(!shown.contains(&"Alien 3"), "{shown:?}");
    assert_eq!(shown.first(), Some(&"Alien"), "{shown:?}");
}

#[test]
fn a_film_the_catalog_lacks_is_asked_about() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent_on(
        dir.path(),
        fixture::catalog_with_people(),
        Controller::Rules,
    );
    let t = rt()
        .block_on(
            agent
                .session("wes")
                .turn("what about something like Inception?"),
        )
        .unwrap();
    assert!(t.items.is_empty(), "{:?}", titles(&t));
    assert!(t.answer.contains("not in this catalog"), "{}", t.answer);
    assert!(t.answer.contains("Inception"), "{}", t.answer);
    // A first name inside the title ("Harrison") does not make it a
    // person; a person named whole is one, not a film.
    let t = rt()
        .block_on(
            agent
                .session("wes2")
                .turn("like Harrison Zorgon: Fury Road"),
        )
        .unwrap();
    assert!(t.answer.contains("“Harrison Zorgon"), "{}", t.answer);
    let t = rt()
        .block_on(agent.session("wes3").turn("something like Harrison Ford"))
        .unwrap();
    assert!(!t.answer.contains("not in this catalog"), "{}", t.answer);
}

/// A model not asked to describe a film the catalog lacks asks about it,
/// as the rules do, without a model call.
#[test]
fn a_model_that_does_not_describe_asks_too() {
    let dir = tempfile::tempdir().unwrap();
    let model = std::sync::Arc::new(recagent_llm::scripted::ScriptedModel::new([]));
    let agent = fixture::agent_with(
        dir.path(),
        fixture::catalog_with_people(),
        Controller::Model {
            model: std::sync::Arc::clone(&model) as _,
            strategy: recagent_agent::Strategy::PlanDraft,
        },
        recagent_agent::AgentConfig {
            describe_unknown: false,
            ..recagent_agent::AgentConfig::default()
        },
    );
    let t = rt()
        .block_on(
            agent
                .session("wes4")
                .turn("what about something like Inception?"),
        )
        .unwrap();
    assert!(t.items.is_empty(), "{:?}", titles(&t));
    assert!(t.answer.contains("not in this catalog"), "{}", t.answer);
    assert!(model.requests().is_empty(), "no model call");
}

#[test]
fn a_theme_reaches_the_keywords() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent_on(
        dir.path(),
        fixture::catalog_with_people(),
        Controller::Rules,
    );
    let t = rt()
        .block_on(agent.session("xan").turn("a heist movie"))
        .unwrap();
    let shown = titles(&t);
    let heists = ["Heat", "The Usual Suspects"];
    assert!(
        shown.iter().take(2).all(|t| heists.contains(t)),
        "{shown:?}"
    );
}

/// "Something like Kubrick's films" compares: the person's film comes
/// first, found by name, and other films may follow. "I like Jack
/// Nicholson" and "I'd like a Kubrick film" want the person.
#[test]
fn a_person_compared_with_is_a_soft_wish() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent_on(
        dir.path(),
        fixture::catalog_with_people(),
        Controller::Rules,
    );
    let t = rt()
        .block_on(agent.session("u").turn("something like Kubrick's films"))
        .unwrap();
    let plan = t.plan.as_ref().unwrap();
    assert!(plan.want.people.is_empty(), "{plan:?}");
    assert!(plan.intent.contains("stanley kubrick"), "{plan:?}");
    assert_eq!(titles(&t)[0], "The Shining", "{:?}", titles(&t));
    assert!(t.items.len() > 1, "others may follow: {:?}", titles(&t));
    for (text, who) in [
        ("I like Jack Nicholson", "Jack Nicholson"),
        ("I'd like a Kubrick film", "Stanley Kubrick"),
    ] {
        let t = rt().block_on(agent.session("v").turn(text)).unwrap();
        assert_eq!(t.plan.as_ref().unwrap().want.people, vec![who], "{text}");
    }
}
