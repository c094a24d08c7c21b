//! What a host sees: the tools and their hints, a conversation through
//! `recommend`, the agent's tools, and errors.

use recagent_mcp::RECOMMEND;
use rmcp::ServiceError;
use rmcp::model::ErrorCode;
use serde_json::{Value, json};

use crate::fixture::{self, connect, text};

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_listed_with_hints_that_say_what_they_change() {
    let c = connect("ann").await;
    let info = c.client.peer_info().unwrap();
    let server = info.server_info.as_ref().unwrap();
    assert_eq!(server.name, "recagent");
    assert_eq!(server.version, env!("CARGO_PKG_VERSION"));
    assert!(
        info.instructions
            .as_deref()
            .unwrap()
            .contains("`recommend`"),
        "{info:?}"
    );

    let tools = c.client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            RECOMMEND,
            "search_items",
            "similar_items",
            "item_details",
            "show_profile",
            "remember_preference",
            "forget_preference",
        ]
    );
    for t in &tools {
        let a = t.annotations.as_ref().unwrap();
        let reads = [
            "search_items",
            "similar_items",
            "item_details",
            "show_profile",
        ]
        .contains(&t.name.as_ref());
        assert_eq!(a.read_only_hint, Some(reads), "{}", t.name);
        assert_eq!(a.open_world_hint, Some(false), "{}", t.name);
        assert!(t.description.as_deref().is_some_and(|d| !d.is_empty()));
        assert_eq!(
            t.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            t.name
        );
    }
    let hint = |name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .unwrap()
            .annotations
            .clone()
            .unwrap()
    };
    assert_eq!(hint("forget_preference").destructive_hint, Some(true));
    assert_eq!(hint("remember_preference").destructive_hint, Some(false));
    assert_eq!(hint(RECOMMEND).destructive_hint, Some(false));
    // The agent's own argument schemas, as a model is offered them.
    let search = tools.iter().find(|t| t.name == "search_items").unwrap();
    assert!(search.input_schema["properties"].get("query").is_some());
    let recommend = tools.iter().find(|t| t.name == RECOMMEND).unwrap();
    assert_eq!(recommend.input_schema["required"], json!(["text"]));
    assert!(recommend.output_schema.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommend_keeps_the_conversation_so_something_else_means_other_films() {
    let c = connect("ann").await;
    let genre = fixture::genre();
    let first = c
        .call(
            RECOMMEND,
            json!({"text": format!("I'd like a {genre} movie")}),
        )
        .await
        .unwrap();
    assert_eq!(first.is_error, Some(false), "{first:?}");
    let s = first.structured_content.clone().unwrap();
    // The answer is the text a host shows, and in the structured content.
    assert_eq!(s["answer"].as_str().unwrap(), text(&first));
    let items = &s["items"];
    assert!(!ids(items).is_empty(), "{s}");
    for i in items.as_array().unwrap() {
        // The one item shape: the catalog's id, never the dense one.
        for key in ["id", "title", "year", "genres", "score", "reason"] {
            assert!(i.get(key).is_some(), "{key} missing in {i}");
        }
        assert!(i.get("key").is_none(), "{i}");
        assert!(
            i["genres"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == &json!(genre)),
            "{i} is not {genre}"
        );
    }
    assert!(
        !s["trace"]["tool_calls"].as_array().unwrap().is_empty(),
        "{s}"
    );

    let again = c.ok(RECOMMEND, json!({"text": "something else"})).await;
    let second = ids(&again["items"]);
    assert!(!second.is_empty(), "{again}");
    let shown = ids(items);
    for id in &second {
        assert!(!shown.contains(id), "{id} was in the first list {shown:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_tools_search_describe_and_change_the_profile() {
    let c = connect("bob").await;
    let genre = fixture::genre();
    let found = c
        .ok("search_items", json!({"query": "", "genres": [genre]}))
        .await;
    assert!(found["candidates"].as_u64().unwrap() > 0, "{found}");
    // Outside a turn nothing ranks: the candidates are the answer.
    assert!(found.get("next").is_none(), "{found}");
    let items = found["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() <= 10, "{found}");
    for i in items {
        assert!(
            i["genres"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == &json!(genre)),
            "{i}"
        );
        assert!(i["score"].is_number(), "{i}");
    }

    let (title, year) = fixture::unique_title();
    let details = c.ok("item_details", json!({"title": title})).await;
    assert_eq!(details["year"], json!(year), "{details}");

    let empty = c.ok("show_profile", json!({})).await;
    assert_eq!(empty["liked"], json!([]), "{empty}");
    let remembered = c
        .ok(
            "remember_preference",
            json!({"liked_titles": [title], "avoided_genres": ["Horror"]}),
        )
        .await;
    assert_eq!(remembered["ok"], true, "{remembered}");
    let profile = c.ok("show_profile", json!({})).await;
    let liked = profile["liked"].as_array().unwrap();
    assert!(
        liked.iter().any(|l| l.as_str().unwrap().contains(&title)),
        "{profile}"
    );
    assert_eq!(profile["avoided_genres"], json!(["Horror"]), "{profile}");
    // It is the agent's memory, which later turns read.
    assert_eq!(c.memory.profile("bob").unwrap().liked.len(), 1);
    assert!(c.memory.profile("ann").unwrap().liked.is_empty());

    let forgot = c
        .ok("forget_preference", json!({"genres": ["Horror"]}))
        .await;
    assert_eq!(forgot["forgotten"], 1, "{forgot}");
    let profile = c.ok("show_profile", json!({})).await;
    assert_eq!(profile["avoided_genres"], json!([]), "{profile}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_call_is_a_tool_error_and_an_unknown_tool_a_protocol_error() {
    let c = connect("cy").await;
    let e = c.tool_error(RECOMMEND, json!({})).await;
    assert!(e.contains("`text`"), "{e}");
    let e = c.tool_error(RECOMMEND, json!({"text": 3})).await;
    assert!(e.contains("must be a string"), "{e}");
    let e = c
        .tool_error("search_items", json!({"query": "x", "year_min": "old"}))
        .await;
    assert!(e.contains("bad arguments for search_items"), "{e}");
    let e = c
        .tool_error("item_details", json!({"title": "Zzyzx Qwerty Plonk"}))
        .await;
    assert!(e.contains("no title in the catalog matches"), "{e}");
    let e = c.tool_error("remember_preference", json!({})).await;
    assert!(e.contains("nothing to remember"), "{e}");

    // Tools of a turn in progress are not offered, and an unknown name is
    // the protocol's error, not a result.
    for name in ["rank_candidates", "no_such_tool"] {
        match c.call(name, json!({})).await {
            Err(ServiceError::McpError(e)) => {
                assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{e:?}");
                assert!(e.message.contains(name), "{e:?}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // The connection is still good after the errors.
    let tools = c.client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 7);
    assert!(!c.server.is_finished());
}
