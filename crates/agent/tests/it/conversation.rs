//! Conversations: the dialogue state across turns and processes, replayed
//! from transcripts that went wrong, with the rules and with a scripted
//! model; and a fuzz of requests, feedback and failing tools in which no
//! answer may show a tool's error or end without a list or a question.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use recagent_agent::{Agent, Controller, LexicalRecall, Recall, Strategy, Turn};
use recagent_core::{Filter, ItemId, Scored, SimilarHit, TitleLink};
use recagent_llm::scripted::ScriptedModel;
use recagent_llm::{ChatResponse, ToolCall};
use recagent_memory::Memory;
use serde_json::json;

use crate::{fixture, rt};

fn plan_call(args: serde_json::Value) -> ChatResponse {
    ChatResponse {
        tool_calls: vec![ToolCall {
            id: "c_plan".into(),
            name: "plan".into(),
            arguments: args,
        }],
        finish_reason: "tool_calls".into(),
        ..ChatResponse::default()
    }
}

fn text(t: &str) -> ChatResponse {
    ChatResponse {
        text: t.into(),
        finish_reason: "stop".into(),
        ..ChatResponse::default()
    }
}

fn ids(t: &Turn) -> Vec<ItemId> {
    t.items.iter().map(|r| r.id).collect()
}

/// The Godfather follow-up, with the rules.
fn godfather_then_1980(agent: &Agent) {
    let mut s = agent.session("ann");
    let t1 = rt()
        .block_on(s.turn("We loved The Godfather. More like that?"))
        .unwrap();
    assert!(!t1.items.is_empty(), "{}", t1.answer);
    assert!(t1.items.iter().all(|r| r.title != "The Godfather"));
    let t2 = rt()
        .block_on(s.turn("more crime please, and nothing before 1980"))
        .unwrap();
    assert!(!t2.items.is_empty(), "{}", t2.answer);
    for r in &t2.items {
        assert!(
            r.year.unwrap() >= 1980,
            "{} {:?}\n{}",
            r.title,
            r.year,
            t2.answer
        );
        assert!(
            r.genres.iter().any(|g| g == "Crime"),
            "{} {:?}",
            r.title,
            r.genres
        );
        assert_ne!(r.title, "The Godfather");
    }
    let state = t2.trace.state.as_ref().expect("the state is in the trace");
    assert_eq!(state.anchors, vec!["Godfather, The"], "{state:?}");
    assert_eq!(state.want.year_min, Some(1980));
    assert_eq!(state.want.year_max, None);
    assert!(t2.answer.contains("from 1980 on"), "{}", t2.answer);
    assert!(t2.answer.contains("like The Godfather"), "{}", t2.answer);
    // "Seen them all": nothing of the last list, never the film they loved.
    let t3 = rt()
        .block_on(s.turn("seen them all, something else"))
        .unwrap();
    for r in &t3.items {
        assert_ne!(r.title, "The Godfather", "{}", t3.answer);
        assert!(!ids(&t2).contains(&r.id), "{} was shown last turn", r.title);
    }
    assert!(
        !t3.items.is_empty() || t3.answer.contains('?'),
        "{}",
        t3.answer
    );
}

#[test]
fn the_1980_follow_up_keeps_the_anchor_with_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    godfather_then_1980(&fixture::agent(dir.path(), false, Controller::Rules));
}

#[test]
fn the_1980_follow_up_keeps_the_anchor_with_a_model_that_inverts_the_years() {
    let dir = tempfile::tempdir().unwrap();
    // The 0.5B's plan held both year_min 1980 and year_max 1979; told so,
    // it sends the same plan again, and the draft's years replace its own.
    let bad = json!({"genres": ["Crime"], "year_min": 1980, "year_max": 1979});
    let m = Arc::new(ScriptedModel::new([
        plan_call(json!({"liked_titles": ["The Godfather"]})),
        text("Here are films like The Godfather."),
        plan_call(bad.clone()),
        plan_call(bad),
        text("More crime, from 1980 on."),
        plan_call(json!({"feedback": "seen_all"})),
        text("Some others."),
    ]));
    // Plan first: the model's own slots run unless the check finds them
    // wrong (plan + draft would take the draft's years at once).
    let agent = fixture::agent(
        dir.path(),
        false,
        Controller::Model {
            model: Arc::clone(&m) as _,
            strategy: Strategy::PlanFirst,
        },
    );
    let mut s = agent.session("ann");
    rt().block_on(s.turn("We loved The Godfather. More like that?"))
        .unwrap();
    let t2 = rt()
        .block_on(s.turn("more crime please, and nothing before 1980"))
        .unwrap();
    assert_eq!(t2.trace.plan_replaced, 1, "{:#?}", t2.trace);
    assert!(!t2.items.is_empty(), "{}", t2.answer);
    for r in &t2.items {
        assert!(r.year.unwrap() >= 1980, "{} {:?}", r.title, r.year);
        assert!(r.genres.iter().any(|g| g == "Crime"));
    }
    assert!(!t2.answer.contains("year_min"), "{}", t2.answer);
    let state = t2.trace.state.as_ref().unwrap();
    assert_eq!(state.anchors.len(), 1, "{state:?}");
    assert_eq!(
        agent.resolve_title(&state.anchors[0]),
        agent.resolve_title("Godfather, The"),
        "{state:?}"
    );
    let t3 = rt()
        .block_on(s.turn("seen them all, something else"))
        .unwrap();
    assert!(t3.items.iter().all(|r| r.title != "The Godfather"));
    assert!(t3.items.iter().all(|r| !ids(&t2).contains(&r.id)));
}

#[test]
fn a_model_told_its_plan_is_wrong_may_correct_it() {
    let dir = tempfile::tempdir().unwrap();
    let m = Arc::new(ScriptedModel::new([
        plan_call(json!({"genres": ["Crime"], "avoid_genres": ["Crime"]})),
        plan_call(json!({"genres": ["Crime"], "avoid_genres": ["Horror"]})),
        text("Crime films."),
    ]));
    let agent = fixture::agent(
        dir.path(),
        false,
        Controller::Model {
            model: Arc::clone(&m) as _,
            strategy: Strategy::PlanFirst,
        },
    );
    let t = rt()
        .block_on(agent.session("b").turn("crime films, but no horror"))
        .unwrap();
    assert_eq!((t.trace.plan_corrected, t.trace.plan_replaced), (1, 0));
    assert!(
        t.items
            .iter()
            .all(|r| r.genres.iter().any(|g| g == "Crime"))
    );
}

fn kids(agent: &Agent) {
    let t = rt()
        .block_on(
            agent
                .session("kid")
                .turn("a funny animated movie from the 90s for my kids, we loved Toy Story"),
        )
        .unwrap();
    assert!(t.items.len() >= 3, "{}", t.answer);
    for r in &t.items {
        assert!(
            r.genres.iter().any(|g| g == "Animation") && r.genres.iter().any(|g| g == "Children's"),
            "{} {:?} is not an animated film for children",
            r.title,
            r.genres
        );
        assert!((1990..=1999).contains(&r.year.unwrap()), "{}", r.title);
        assert_ne!(r.title, "Toy Story");
    }
    // Funny is a preference: the comedies come first.
    assert!(
        t.items[0].genres.iter().any(|g| g == "Comedy"),
        "{:?}",
        t.items[0]
    );
}

#[test]
fn animated_for_my_kids_gives_only_animated_childrens_films_with_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    kids(&fixture::agent(dir.path(), false, Controller::Rules));
}

#[test]
fn animated_for_my_kids_gives_only_animated_childrens_films_with_a_model() {
    let dir = tempfile::tempdir().unwrap();
    // A model that ORs the genres, as the rules once did: the draft says
    // "funny" is a preference and "animated", "for my kids" are not.
    let m = Arc::new(ScriptedModel::new([
        plan_call(json!({
            "genres": ["Comedy", "Animation", "Children's"],
            "year_min": 1990, "year_max": 1999,
            "liked_titles": ["Toy Story"]
        })),
        text("Animated films for the family."),
    ]));
    kids(&fixture::agent(
        dir.path(),
        false,
        Controller::Model {
            model: Arc::clone(&m) as _,
            strategy: Strategy::PlanDraft,
        },
    ));
}

/// The `ask` follow-up: each turn in a new agent (a new process) over the
/// same memory.
fn across_processes(controller: impl Fn() -> Controller) {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let agent = fixture::agent(dir.path(), false, controller());
        rt().block_on(agent.session("196").turn("a comedy"))
            .unwrap()
    };
    assert!(first.items.len() >= 5, "{}", first.answer);
    let agent = fixture::agent(dir.path(), false, controller());
    let second = rt()
        .block_on(agent.session("196").turn("seen it, something else"))
        .unwrap();
    assert!(!second.items.is_empty(), "{}", second.answer);
    for r in &second.items {
        assert!(
            !ids(&first).contains(&r.id),
            "{} was on the last list",
            r.title
        );
    }
    // The request stands: what still fits it comes first.
    assert!(
        second.items[0].genres.iter().any(|g| g == "Comedy"),
        "{:?}",
        second.items[0]
    );
    let state = second.trace.state.as_ref().unwrap();
    assert_eq!(state.want.genres, vec!["Comedy"]);
    // `ask --new` starts over.
    let mut s = agent.new_session("196");
    assert!(s.state().is_empty());
    let third = rt().block_on(s.turn("seen it")).unwrap();
    assert!(third.trace.state.as_ref().unwrap().want.genres.is_empty());
}

#[test]
fn a_follow_up_in_a_new_process_keeps_the_request_with_the_rules() {
    across_processes(|| Controller::Rules);
}

#[test]
fn a_follow_up_in_a_new_process_keeps_the_request_with_a_model() {
    across_processes(|| Controller::Model {
        model: Arc::new(ScriptedModel::new([
            plan_call(json!({"genres": ["Comedy"]})),
            text("Comedies."),
        ])) as _,
        strategy: Strategy::PlanDraft,
    });
}

// ------------------------------------------------------------------ fuzz

/// Recall that fails one call in `every`, by a counter: search, similarity
/// and title linking all fail in turn.
#[derive(Debug)]
struct Flaky {
    inner: LexicalRecall,
    calls: AtomicU64,
    every: u64,
}

impl Flaky {
    fn fail(&self) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed) % self.every == self.every - 1
    }
}

impl Recall for Flaky {
    fn search<'a>(
        &'a self,
        query: &'a str,
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, recagent_agent::Result<Vec<Scored>>> {
        if self.fail() {
            return Box::pin(async { Err(recagent_agent::Error::Recall("index is gone".into())) });
        }
        self.inner.search(query, filter, k)
    }
    fn similar<'a>(
        &'a self,
        seeds: &'a [ItemId],
        filter: &'a Filter,
        k: usize,
    ) -> BoxFuture<'a, recagent_agent::Result<Vec<SimilarHit>>> {
        if self.fail() {
            return Box::pin(async {
                Err(recagent_agent::Error::Recall(
                    "similarity lists are gone".into(),
                ))
            });
        }
        self.inner.similar(seeds, filter, k)
    }
    fn link_titles(&self, text: &str) -> recagent_agent::Result<Vec<TitleLink>> {
        if self.fail() {
            return Err(recagent_agent::Error::Recall("title index is gone".into()));
        }
        self.inner.link_titles(text)
    }
}

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// Pieces of what tools say when they fail: none may reach a user.
const TOOL_ERRORS: &[&str] = &[
    "unknown genre",
    "is after year_max",
    "no title in the catalog",
    "no candidates",
    "nothing matches",
    "nothing similar",
    "needs at least one title",
    "ranking failed",
    "recall failed",
    "must be 1 to",
    "is gone",
    "call search_items",
    "schema",
];

#[test]
fn no_answer_shows_a_tool_error_or_ends_without_a_list_or_a_question() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(fixture::catalog(false));
    let recall = Flaky {
        inner: LexicalRecall::build(Arc::clone(&c), &dir.path().join("lexical")).unwrap(),
        calls: AtomicU64::new(0),
        every: 7,
    };
    let memory = Arc::new(Memory::open(&dir.path().join("memory.sqlite")).unwrap());
    let funnel = fixture::funnel(&c);
    let agent = Agent::builder(Arc::clone(&c), Arc::new(recall), memory)
        .funnel(funnel)
        .build()
        .unwrap();
    let openers = [
        "a funny animated movie from the 90s for my kids",
        "something like Alien, but not Alien itself",
        "crime drama like Pulp Fiction or Fargo",
        "war films like Schindler's List",
        "I want something like Scream",
        "a western from the 1930s",
        "a documentary about zorgons",
        "a musical horror sci-fi war film from 1955",
        "what should I watch tonight?",
        "",
        "hello",
        "no comedy, no drama, no action, nothing before 2030",
        "more like Zorgon Attacks",
        "romantic comedy from the nineties",
        "sci fi or horror, after 1990",
    ];
    let follow_ups = [
        "seen it, something else",
        "seen them all",
        "something else",
        "more like the second one",
        "not the first one",
        "I liked the third one",
        "more crime please, and nothing before 1980",
        "actually, older films are fine",
        "only the 90s",
        "no horror",
        "horror is fine",
        "also like Heat",
        "any genre",
        "make it a comedy instead",
        "?!",
        "more",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let runtime = rt();
    let mut turns = 0;
    for conv in 0..250 {
        let mut s = if conv % 3 == 0 {
            agent.new_session(&format!("f{}", conv % 10))
        } else {
            agent.session(&format!("f{}", conv % 10))
        };
        let mut said = vec![rng.pick(&openers).to_owned()];
        for _ in 0..3 {
            said.push(rng.pick(&follow_ups).to_owned());
        }
        for text in &said {
            let t = runtime.block_on(s.turn(text)).unwrap();
            turns += 1;
            let lower = t.answer.to_lowercase();
            for e in TOOL_ERRORS {
                assert!(
                    !lower.contains(e),
                    "{text:?} → the tool error {e:?} reached the user:\n{}",
                    t.answer
                );
            }
            assert!(
                !t.items.is_empty() || t.answer.contains('?'),
                "{text:?} ended with neither a list nor a question:\n{}",
                t.answer
            );
            for r in &t.items {
                assert!(
                    t.answer.contains(&r.title),
                    "{text:?}: {} is listed but not in the answer",
                    r.title
                );
            }
        }
    }
    assert!(turns >= 1000, "{turns}");
}

#[test]
fn thanks_and_about_me_answer_without_a_list_and_the_next_turn_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // A model that would be wrong to be asked: it has no replies.
    let m = Arc::new(ScriptedModel::new(Vec::<ChatResponse>::new()));
    let agent = fixture::agent(
        dir.path(),
        false,
        Controller::Model {
            model: Arc::clone(&m) as _,
            strategy: Strategy::PlanDraft,
        },
    );
    let mut s = agent.session("bea");
    let r = rt();
    let hello = r.block_on(s.turn("hi there")).unwrap();
    assert!(
        hello.items.is_empty() && hello.answer.contains('?'),
        "{}",
        hello.answer
    );
    assert!(hello.trace.tool_calls.is_empty() && hello.trace.model_calls.is_empty());
    let known = r.block_on(s.turn("what do you know about me?")).unwrap();
    assert!(
        known.answer.contains("nothing about your taste"),
        "{}",
        known.answer
    );
    // The rules stand in for the scripted model from here on.
    let liked = r
        .block_on(s.turn("We loved The Godfather. More like that?"))
        .unwrap();
    assert!(!liked.items.is_empty(), "{}", liked.answer);
    let thanks = r.block_on(s.turn("thanks, great!")).unwrap();
    assert!(thanks.items.is_empty(), "{}", thanks.answer);
    assert!(
        thanks.answer.contains("welcome") && thanks.answer.contains('?'),
        "{}",
        thanks.answer
    );
    assert!(thanks.trace.tool_calls.is_empty() && thanks.trace.model_calls.is_empty());
    let state = thanks.trace.state.as_ref().expect("the state");
    assert_eq!(state.anchors, vec!["Godfather, The"], "the request stands");
    let keys: Vec<String> = liked.items.iter().map(|r| r.key.clone()).collect();
    assert_eq!(state.last_list, keys, "the list stands for feedback");
    let known = r.block_on(s.turn("what do you know about me?")).unwrap();
    assert!(
        known.answer.contains("you liked The Godfather"),
        "{}",
        known.answer
    );
    // "More like the second one" is about the list before the thanks.
    let second = r.block_on(s.turn("more like the second one")).unwrap();
    let state = second.trace.state.as_ref().expect("the state");
    let anchors: Vec<String> = state
        .anchors
        .iter()
        .map(|t| recagent_core::display_title(t))
        .collect();
    assert_eq!(
        anchors,
        vec![liked.items[1].title.clone()],
        "{}",
        second.answer
    );
}

#[test]
fn a_genre_never_wanted_is_shown_when_asked_for_and_allowed_again_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let r = rt();
    let mut s = agent.session("dee");
    r.block_on(s.turn("I never want to see horror movies"))
        .unwrap();
    assert_eq!(
        agent.memory().profile("dee").unwrap().avoided_genres,
        vec!["Horror"]
    );
    let scary = r
        .block_on(agent.new_session("dee").turn("a scary movie please"))
        .unwrap();
    assert!(!scary.items.is_empty(), "{}", scary.answer);
    assert!(
        scary
            .answer
            .contains("You once told me you never want horror"),
        "{}",
        scary.answer
    );
    let fine = r
        .block_on(agent.session("dee").turn("horror is fine"))
        .unwrap();
    assert!(!fine.answer.contains("You once told me"), "{}", fine.answer);
    assert!(
        fine.trace
            .tool_calls
            .iter()
            .any(|c| c.name == "forget_preference")
    );
    assert!(
        agent
            .memory()
            .profile("dee")
            .unwrap()
            .avoided_genres
            .is_empty()
    );
}

#[test]
fn a_whole_new_request_while_a_film_stands_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let r = rt();
    let mut s = agent.session("eve");
    r.block_on(s.turn("more like The Godfather")).unwrap();
    // A word added refines: the film stands.
    let kids = r.block_on(s.turn("but for kids")).unwrap();
    let state = kids.trace.state.as_ref().expect("the state");
    assert_eq!(state.anchors, vec!["Godfather, The"]);
    // A new request of its own does not: the film goes.
    let new = r
        .block_on(s.turn("a funny animated movie from the 90s for my kids"))
        .unwrap();
    let state = new.trace.state.as_ref().expect("the state");
    assert!(state.anchors.is_empty(), "{state:?}");
    assert!(!new.answer.contains("Godfather"), "{}", new.answer);
}

#[test]
fn a_catalog_user_is_never_offered_a_film_they_rated() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    let c = fixture::catalog(false);
    // u0 rated most family films (5 stars) and two films of the next group
    // (1 star).
    let rated: std::collections::HashSet<ItemId> = c
        .interactions()
        .iter()
        .filter(|x| x.user == recagent_core::UserId(0))
        .map(|x| x.item)
        .collect();
    let ask = |user: &str| {
        rt().block_on(agent.session(user).turn("animated films for kids"))
            .unwrap()
    };
    let stranger = ask("stranger");
    assert!(
        ids(&stranger).iter().any(|i| rated.contains(i)),
        "the request reaches films u0 rated: {:?}",
        stranger.items.iter().map(|r| &r.title).collect::<Vec<_>>()
    );
    let u0 = ask("u0");
    assert!(!u0.items.is_empty(), "{}", u0.answer);
    for r in &u0.items {
        assert!(!rated.contains(&r.id), "u0 rated {} already", r.title);
    }
}

/// Every nonempty array of integers in `v`, by its path: where a dense id
/// would show.
fn integer_arrays(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Array(a) => {
            if !a.is_empty() && a.iter().all(serde_json::Value::is_u64) {
                out.push(format!("{path} = {v}"));
            }
            for (i, x) in a.iter().enumerate() {
                integer_arrays(x, &format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                integer_arrays(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// `ask --json`, the server's `recagent` extension and MCP's structured
/// content all write the `Turn`: every item in it is named by the
/// catalog's own id, never by the dense index the agent uses inside.
#[test]
fn a_turn_in_json_names_items_by_catalog_id_only() {
    let dir = tempfile::tempdir().unwrap();
    let agent = fixture::agent(dir.path(), false, Controller::Rules);
    // A catalog user, so that the ranker is handed a history.
    let mut s = agent.session("u1");
    let t1 = rt()
        .block_on(s.turn("We loved The Godfather. More like that?"))
        .unwrap();
    assert!(!t1.items.is_empty(), "{}", t1.answer);
    let t2 = rt()
        .block_on(s.turn("seen the first one, something else"))
        .unwrap();
    let key = |i: &ItemId| agent.catalog().item(*i).unwrap().key.clone();
    let json = serde_json::to_value(&t2).unwrap();
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not an array: {v}"))
            .iter()
            .map(|x| {
                x.as_str()
                    .unwrap_or_else(|| panic!("{x} is not a catalog id"))
                    .to_owned()
            })
            .collect()
    };
    let state = &json["trace"]["state"];
    assert_eq!(strings(&state["seen"]), [key(&t1.items[0].id)]);
    let shown: Vec<String> = t2.items.iter().map(|r| r.key.clone()).collect();
    assert_eq!(strings(&state["last_list"]), shown);
    assert!(!strings(&state["excluded"]).is_empty(), "{state}");
    assert_eq!(
        strings(&json["pool"]),
        t2.pool.iter().map(key).collect::<Vec<_>>()
    );
    assert!(!t2.trace.ranker_history.is_empty(), "u1 has a history");
    assert_eq!(
        strings(&json["trace"]["ranker_history"]),
        t2.trace.ranker_history.iter().map(key).collect::<Vec<_>>()
    );
    let mut found = Vec::new();
    integer_arrays(&json, "turn", &mut found);
    assert!(found.is_empty(), "dense ids in the JSON: {found:?}");
}

/// A failed index is no fault of the call: the model is told the error is
/// not retryable, so it stops calling recall and answers.
#[test]
fn a_broken_index_reaches_the_model_as_an_error_no_argument_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(fixture::catalog(false));
    let recall = Flaky {
        inner: LexicalRecall::build(Arc::clone(&c), &dir.path().join("lexical")).unwrap(),
        calls: AtomicU64::new(0),
        every: 1,
    };
    let memory = Arc::new(Memory::open(&dir.path().join("memory.sqlite")).unwrap());
    let m = Arc::new(ScriptedModel::new([
        ChatResponse {
            tool_calls: vec![ToolCall {
                id: "c0".into(),
                name: "search_items".into(),
                arguments: json!({"query": "space"}),
            }],
            finish_reason: "tool_calls".into(),
            ..ChatResponse::default()
        },
        text("The catalog cannot be searched right now."),
    ]));
    let agent = Agent::builder(Arc::clone(&c), Arc::new(recall), memory)
        .controller(Controller::Model {
            model: m.clone(),
            strategy: Strategy::StepByStep,
        })
        .build()
        .unwrap();
    let t = rt()
        .block_on(agent.session("a").turn("space films"))
        .unwrap();
    assert!(!t.trace.tool_calls[0].ok, "{:#?}", t.trace);
    let second = &m.requests()[1];
    let tool = second
        .messages
        .iter()
        .find(|x| x.role == recagent_llm::Role::Tool)
        .expect("the tool's result went back to the model");
    let result: serde_json::Value = serde_json::from_str(&tool.content).unwrap();
    assert_eq!(result["ok"], false);
    assert_eq!(result["retryable"], false, "{result}");
    assert!(
        result["error"].as_str().unwrap().contains("index is gone"),
        "{result}"
    );
}
