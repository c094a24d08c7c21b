//! The agent on a fixture catalog: the rules controller end to end, and
//! scripted models for the LLM paths.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod conversation;
mod fixture;
mod grammar;
mod model;
mod owasp;
mod people;
mod snapshots;

use std::sync::Arc;

use recagent_agent::{Controller, Event, Strategy, Turn};
use recagent_core::ItemId;
use recagent_llm::scripted::ScriptedModel;
use recagent_llm::{ChatResponse, ToolCall};
use recagent_memory::ItemFeedback;
use serde_json::json;

fn genres(t: &Turn) -> Vec<Vec<String>> {
    t.items.iter().map(|r| r.genres.clone()).collect()
}

fn titles(t: &Turn) -> Vec<&str> {
    t.items.iter().map(|r| r.title.as_str()).collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn kids_comedy_from_the_90s_like_toy_story() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let mut s = agent.session("ann");
    let t = rt()
        .block_on(s.turn("a funny animated movie from the 90s for my kids, we loved Toy Story"))
        .unwrap();
    assert!(!t.items.is_empty(), "{t:#?}");
    for r in &t.items {
        let y = r.year.unwrap();
        assert!((1990..=1999).contains(&y), "{} {y}", r.title);
        assert!(
            r.genres
                .iter()
                .any(|g| ["Animation", "Comedy", "Children's"].contains(&g.as_str())),
            "{} {:?}",
            r.title,
            r.genres
        );
        assert_ne!(r.title, "Toy Story");
        assert_ne!(r.title, "Kids", "\"for my kids\" is not the film Kids");
    }
    // Liked titles feed the ranker's history and the profile.
    let p = agent.memory().profile("ann").unwrap();
    assert_eq!(p.liked, vec![ItemId(0)]);
    assert!(t.answer.contains("Toy Story"), "{}", t.answer);
    assert!(t.answer.contains(&t.items[0].title), "{}", t.answer);
    // The trace names each stage of the funnel.
    let stages: Vec<_> = t
        .trace
        .stages
        .iter()
        .map(|s| format!("{:?}", s.stage))
        .collect();
    assert!(
        stages.contains(&"Recall".to_string()) && stages.contains(&"Rank".to_string()),
        "{stages:?}"
    );
}

#[test]
fn no_horror_means_no_horror() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let mut s = agent.session("bob");
    let t = rt()
        .block_on(s.turn("something scary? no wait, no horror please"))
        .unwrap();
    assert!(!t.items.is_empty());
    for g in genres(&t) {
        assert!(!g.contains(&"Horror".to_string()), "{:?}", titles(&t));
    }
    let t = rt().block_on(s.turn("a thriller but no horror")).unwrap();
    assert!(!t.items.is_empty());
    for g in genres(&t) {
        assert!(!g.contains(&"Horror".to_string()), "{:?}", titles(&t));
        assert!(g.contains(&"Thriller".to_string()), "{:?}", titles(&t));
    }
}

/// A romantic comedy is both genres, and a new request even while a film
/// stands.
#[test]
fn a_romantic_comedy_is_both_genres() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let mut s = agent.session("rom");
    rt().block_on(s.turn("something like Alien")).unwrap();
    let t = rt()
        .block_on(s.turn("a romantic comedy, nothing with war in it"))
        .unwrap();
    assert!(t.items.len() >= 3, "{:?}", titles(&t));
    assert!(
        t.plan.as_ref().unwrap().liked_titles.is_empty(),
        "{:?}",
        t.plan
    );
    for g in genres(&t) {
        assert!(
            g.contains(&"Romance".to_string()) && g.contains(&"Comedy".to_string()),
            "{:?}",
            titles(&t)
        );
        assert!(!g.contains(&"War".to_string()), "{:?}", titles(&t));
    }
}

#[test]
fn like_alien_but_not_alien() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let mut s = agent.session("cy");
    let t = rt()
        .block_on(s.turn("something like Alien, but not Alien itself"))
        .unwrap();
    assert!(!t.items.is_empty());
    assert!(!titles(&t).contains(&"Alien"), "{:?}", titles(&t));
    let fitting = t
        .items
        .iter()
        .filter(|r| {
            r.genres
                .iter()
                .any(|g| ["Sci-Fi", "Horror", "Action", "Thriller"].contains(&g.as_str()))
        })
        .count();
    assert!(fitting * 10 >= t.items.len() * 8, "{:?}", titles(&t));
    // Its sequel comes first, then the neighbours of Alien in the log.
    assert_eq!(t.items[0].title, "Alien 3", "{:?}", titles(&t));
    assert!(
        t.items[0].reason.contains("same series as Alien"),
        "{}",
        t.items[0].reason
    );
    assert!(
        t.items[1].genres.contains(&"Sci-Fi".to_string())
            || t.items[1].genres.contains(&"Horror".to_string())
    );
    assert!(
        t.items[1].reason.contains("like Alien"),
        "{}",
        t.items[1].reason
    );
}

#[test]
fn seen_it_sticks_across_turns_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first;
    {
        let agent = fixture::agent(dir.path(), false, Controller::Rules);
        let mut s = agent.session("dee");
        let t = rt().block_on(s.turn("a crime drama")).unwrap();
        assert!(t.items.len() >= 3, "{t:#?}");
        first = t.items[0].id;
        let t2 = rt().block_on(s.turn("seen it, something else")).unwrap();
        assert!(!t2.items.is_empty());
        let ids1: Vec<ItemId> = t.items.iter().map(|r| r.id).collect();
        let ids2: Vec<ItemId> = t2.items.iter().map(|r| r.id).collect();
        assert_ne!(ids1, ids2);
        assert!(!ids2.contains(&first));
        assert!(
            ids2.iter().all(|i| !ids1.contains(i)),
            "something else repeats {ids1:?} {ids2:?}"
        );
        // The request carried over: still crime or drama, as far as the
        // small catalog has them; past that, the answer says it loosened
        // the request.
        let fits =
            |g: &Vec<String>| g.contains(&"Crime".to_string()) || g.contains(&"Drama".to_string());
        let all = genres(&t2);
        assert!(fits(&all[0]), "{:?}", all[0]);
        if !all.iter().all(fits) {
            assert!(!t2.trace.relaxed.is_empty(), "{}", t2.answer);
            assert!(t2.answer.contains(&t2.trace.relaxed[0]), "{}", t2.answer);
        }
        let t3 = rt().block_on(s.turn("any drama")).unwrap();
        assert!(!t3.items.iter().any(|r| r.id == first));
    }
    // A new process: the seen item is still excluded.
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    assert!(agent.memory().profile("dee").unwrap().seen.contains(&first));
    let mut s = agent.session("dee");
    let t = rt().block_on(s.turn("a crime drama")).unwrap();
    assert!(!t.items.iter().any(|r| r.id == first), "{:?}", titles(&t));
}

#[test]
fn more_like_the_second_one() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let mut s = agent.session("eve");
    let t = rt().block_on(s.turn("a 90s movie")).unwrap();
    let second = t.items[1].clone();
    let t2 = rt().block_on(s.turn("more like the second one")).unwrap();
    assert!(!t2.items.iter().any(|r| r.id == second.id));
    let plan = t2.plan.unwrap();
    assert_eq!(plan.liked_titles, vec![second.title.clone()], "{:?}", plan);
}

#[test]
fn never_horror_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let mut s = agent.session("fay");
    rt().block_on(s.turn("I never want to see horror movies"))
        .unwrap();
    assert_eq!(
        agent.memory().profile("fay").unwrap().avoided_genres,
        vec!["Horror"]
    );
    let mut s = agent.session("fay");
    let t = rt().block_on(s.turn("something like Alien")).unwrap();
    for g in genres(&t) {
        assert!(!g.contains(&"Horror".to_string()), "{:?}", titles(&t));
    }
}

#[test]
fn explicit_feedback_excludes_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let mut s = agent.session("gus");
    let t = rt().block_on(s.turn("a comedy")).unwrap();
    let top = t.items[0].id;
    s.feedback(top, ItemFeedback::Disliked).unwrap();
    let t = rt().block_on(s.turn("a comedy")).unwrap();
    assert!(!t.items.iter().any(|r| r.id == top));
    assert!(s.feedback(ItemId(9999), ItemFeedback::Liked).is_err());
}

/// Item text that gives orders changes neither the calls nor the list.
#[test]
fn item_text_is_data_not_instructions() {
    let dir = tempfile::tempdir().unwrap();
    let clean = fixture::agent(dir.path(), false, Controller::Rules);
    let dirty = fixture::agent(dir.path(), true, Controller::Rules);
    for text in [
        "a funny movie for kids",
        "tell me about Babe",
        "something like Babe",
    ] {
        let a = rt().block_on(clean.session("h1").turn(text)).unwrap();
        let b = rt().block_on(dirty.session("h2").turn(text)).unwrap();
        let calls = |t: &Turn| {
            t.trace
                .tool_calls
                .iter()
                .map(|c| (c.name.clone(), c.arguments.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(calls(&a), calls(&b), "{text}");
        let ids = |t: &Turn| t.items.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b), "{text}");
        assert!(!b.answer.contains("Ignore previous"), "{}", b.answer);
    }
}

#[test]
fn events_stream_in_order_and_end_with_the_answer() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let mut s = agent.session("ivy");
    let events: Vec<Event> = rt().block_on(s.send("a 90s comedy").collect());
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::ToolCall { .. } => "call",
            Event::ToolResult { .. } => "result",
            Event::TextDelta { .. } => "text",
            Event::Candidates { .. } => "candidates",
            Event::Error { .. } => "error",
            Event::Answer(_) => "answer",
        })
        .collect();
    assert_eq!(kinds.last(), Some(&"answer"), "{kinds:?}");
    assert_eq!(kinds.first(), Some(&"call"), "{kinds:?}");
    assert!(!kinds.contains(&"error"), "{events:?}");
    let calls = kinds.iter().filter(|k| **k == "call").count();
    assert_eq!(calls, kinds.iter().filter(|k| **k == "result").count());
}

/// A title the fixture catalog does not have (it has Casablanca, not this).
const UNKNOWN_TITLE: &str = "Citizen Kane";

/// What tools say when a title does not link: none of it may reach a user.
const TITLE_ERRORS: &[&str] = &[
    "no title in the catalog",
    "check the spelling",
    "similar_items",
    "search_items",
    "cannot be right",
];

/// A turn on a request that names [`UNKNOWN_TITLE`] still answers: a list
/// of what else was asked (dramas), every tool call succeeded, no tool
/// error in the words, and no catalog item stood in for the title.
fn answers_anyway(t: &Turn) {
    assert!(!t.items.is_empty(), "no list:\n{}", t.answer);
    for r in &t.items {
        assert!(r.genres.iter().any(|g| g == "Drama"), "{r:?}");
        assert!(
            t.answer.contains(&r.title),
            "{} not in\n{}",
            r.title,
            t.answer
        );
    }
    for e in TITLE_ERRORS {
        assert!(
            !t.answer.contains(e),
            "{e:?} reached the user:\n{}",
            t.answer
        );
    }
    for c in &t.trace.tool_calls {
        assert!(c.ok, "{} failed: {}", c.name, c.summary);
    }
    let plan = t.plan.as_ref().expect("a plan ran");
    assert!(plan.liked_titles.is_empty(), "{plan:?}");
}

#[test]
fn an_unknown_title_is_a_note_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let request = format!("a drama like {UNKNOWN_TITLE}");
    // The rules link no title: its words are searched as text.
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let t = rt().block_on(agent.session("jo").turn(&request)).unwrap();
    answers_anyway(&t);
    assert!(
        t.plan.as_ref().unwrap().intent.contains("citizen kane"),
        "{:?}",
        t.plan
    );
    // A model that anchors on the title is told, once, that no title
    // matches; when it plans the same again, the rules' slots replace the
    // anchor, and the trace counts the replaced slot.
    let plan = ChatResponse {
        tool_calls: vec![ToolCall {
            id: "c_plan".into(),
            name: "plan".into(),
            arguments: json!({"genres": ["Drama"], "liked_titles": [UNKNOWN_TITLE]}),
        }],
        finish_reason: "tool_calls".into(),
        ..ChatResponse::default()
    };
    // Asked to describe the film, the model knows nothing of it.
    let describe = ChatResponse {
        tool_calls: vec![ToolCall {
            id: "c_describe".into(),
            name: "describe_film".into(),
            arguments: json!({}),
        }],
        finish_reason: "tool_calls".into(),
        ..ChatResponse::default()
    };
    let m = Arc::new(ScriptedModel::new([
        describe,
        plan.clone(),
        plan,
        ChatResponse {
            text: "Here are some dramas.".into(),
            finish_reason: "stop".into(),
            ..ChatResponse::default()
        },
    ]));
    let model = Controller::Model {
        model: Arc::clone(&m) as _,
        strategy: Strategy::PlanFirst,
    };
    let agent = fixture::agent(dir.path(), false, model);
    let t = rt().block_on(agent.session("kim").turn(&request)).unwrap();
    answers_anyway(&t);
    assert_eq!(
        (
            t.trace.plan_corrected,
            t.trace.plan_replaced,
            t.trace.fallback
        ),
        (0, 1, false),
        "{:#?}",
        t.trace
    );
    let asked = &m.requests()[0];
    assert_eq!(asked.tools[0].name, "describe_film");
    let told = &m.requests()[2];
    let note = &told.messages.last().unwrap().content;
    assert!(
        note.contains(&format!(
            "no title in the catalog matches \"{UNKNOWN_TITLE}\""
        )),
        "{note}"
    );
}

#[test]
fn a_title_argument_names_a_film_only_where_the_title_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let alien = agent.resolve_title("Alien").expect("Alien");
    assert_eq!(agent.resolve_title("alien (1979)"), Some(alien));
    assert_eq!(
        agent.resolve_title("The Godfather"),
        agent.resolve_title("Godfather, The")
    );
    assert!(agent.resolve_title("The Godfather").is_some());
    // A model that copies the user's sentence as a title: it contains
    // "Alien" but does not name it.
    assert_eq!(agent.resolve_title("my kids hate alien movies"), None);
}
