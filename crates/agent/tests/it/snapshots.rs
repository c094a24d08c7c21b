//! Snapshots of what the model reads: tool schemas and rendered prompts.

use recagent_agent::prompts::{
    AnswerContext, ItemLine, Prompts, ReplyContext, RequestContext, SystemContext,
};

#[test]
fn tool_schemas() {
    insta::assert_json_snapshot!("tool_schemas", recagent_agent::tool_schemas());
}

fn item(title: &str, year: u16, reason: &str) -> ItemLine {
    ItemLine {
        title: title.into(),
        year: Some(year),
        reason: reason.into(),
    }
}

#[test]
fn prompts_render() {
    let p = Prompts::embedded().unwrap();
    let genres = vec!["Comedy".to_string(), "Horror".to_string()];
    let profile = vec![
        "likes Comedy".to_string(),
        "has seen 3 items (never recommended again)".to_string(),
    ];
    let sys = SystemContext {
        catalog: "ml-100k".into(),
        genres,
    };
    insta::assert_snapshot!("system", p.render("system.j2", &sys).unwrap());
    insta::assert_snapshot!("plan", p.render("plan.j2", &sys).unwrap());
    insta::assert_snapshot!("describe", p.render("describe.j2", &sys).unwrap());
    let request = p
        .render(
            "request.j2",
            &RequestContext {
                last_shown: vec!["Toy Story".into(), "Babe".into()],
                profile,
                draft: Some(r#"{"intent":"","genres":["Comedy"]}"#.into()),
                text: "seen it, something funnier".into(),
            },
        )
        .unwrap();
    insta::assert_snapshot!("request", request);
    let items = vec![
        item("Aladdin", 1992, "like Toy Story · Animation, Comedy · 1992"),
        item("Babe", 1995, "Comedy · 1995"),
    ];
    let answer = p
        .render(
            "answer.j2",
            &AnswerContext {
                items: items.clone(),
                notes: vec![],
            },
        )
        .unwrap();
    insta::assert_snapshot!("answer", answer);
    let reply = p
        .render(
            "reply.j2",
            &ReplyContext {
                intro: None,
                items,
                seeds: vec!["Toy Story".into()],
                filters: vec!["Comedy".into(), "1990–1999".into()],
                opening: "Here are 2 comedy films from the 1990s, like Toy Story:".into(),
                notes: vec![],
            },
        )
        .unwrap();
    insta::assert_snapshot!("reply", reply);
    let empty = p
        .render(
            "reply.j2",
            &ReplyContext {
                intro: None,
                items: vec![],
                seeds: vec![],
                filters: vec!["Horror".into()],
                opening: String::new(),
                notes: vec!["I could not find a film that fits all of that. Could you name a film you liked, or loosen a genre or the years?".into()],
            },
        )
        .unwrap();
    insta::assert_snapshot!("reply_empty", empty);
    let with_intro = p
        .render(
            "reply.j2",
            &ReplyContext {
                intro: Some("Two gentle comedies for a family night.".into()),
                items: vec![item("Babe", 1995, "Comedy · 1995")],
                seeds: vec![],
                filters: vec![],
                opening: String::new(),
                notes: vec![],
            },
        )
        .unwrap();
    insta::assert_snapshot!("reply_intro", with_intro);
}

/// Strict undefined: a context missing a field is an error, not an empty
/// string in the prompt.
#[test]
fn a_missing_field_is_an_error() {
    let p = Prompts::embedded().unwrap();
    let e = p
        .render("system.j2", &serde_json::json!({"genres": ["Comedy"]}))
        .unwrap_err();
    assert!(e.to_string().contains("system.j2"), "{e}");
    let e = p
        .render(
            "request.j2",
            &serde_json::json!({"last_shown": [], "profile": [], "draft": null}),
        )
        .unwrap_err();
    assert!(e.to_string().contains("request.j2"), "{e}");
}

#[test]
fn an_override_folder_replaces_a_prompt() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reply.j2"), "custom {{ items | length }}").unwrap();
    let p = Prompts::with_overrides(Some(dir.path())).unwrap();
    let out = p
        .render(
            "reply.j2",
            &ReplyContext {
                intro: None,
                items: vec![],
                seeds: vec![],
                filters: vec![],
                opening: String::new(),
                notes: vec![],
            },
        )
        .unwrap();
    assert_eq!(out, "custom 0");
}
