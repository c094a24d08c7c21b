use recagent_llm::toolcall::{parse_tool_calls, validate_arguments, validate_call};
use recagent_llm::{ToolCall, ToolSpec};
use serde_json::json;

#[test]
fn parses_qwen_blocks_fenced_json_and_bare_json() {
    let t = "I'll search.\n<tool_call>\n{\"name\": \"search_items\", \"arguments\": {\"query\": \"alien\"}}\n</tool_call>\n<tool_call>{\"name\": \"show_profile\", \"arguments\": {}}</tool_call>";
    let calls = parse_tool_calls(t);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].name, "search_items");
    assert_eq!(calls[0].arguments, json!({"query": "alien"}));
    assert_eq!(calls[1].name, "show_profile");
    assert_eq!(calls[1].id, "call_1");

    let fenced = "Sure:\n```json\n{\"name\": \"search_items\", \"arguments\": \"{\\\"query\\\": \\\"x\\\"}\"}\n```\n";
    let calls = parse_tool_calls(fenced);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].arguments,
        json!({"query": "x"}),
        "string arguments are decoded"
    );

    let bare = "[{\"name\": \"a\", \"parameters\": {\"k\": 1}}, {\"name\": \"b\"}]";
    let calls = parse_tool_calls(bare);
    assert_eq!(
        calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(calls[0].arguments, json!({"k": 1}));

    assert!(parse_tool_calls("I think you'd like Alien (1979).").is_empty());
    assert!(parse_tool_calls("<tool_call>{broken</tool_call>").is_empty());
    assert!(parse_tool_calls("<tool_call>").is_empty());
}

#[test]
fn validates_names_and_arguments_against_the_schema() {
    let tools = vec![ToolSpec {
        name: "search_items".into(),
        description: String::new(),
        parameters: json!({
            "type": "object",
            "properties": {"query": {"type": "string"}, "k": {"type": "integer", "maximum": 50},
                           "genres": {"type": "array", "items": {"type": "string"}, "maxItems": 2}},
            "required": ["query"], "additionalProperties": false
        }),
    }];
    let call = |name: &str, args| ToolCall {
        id: "c".into(),
        name: name.into(),
        arguments: args,
    };
    assert!(validate_call(&call("search_items", json!({"query": "x", "k": 5})), &tools).is_ok());
    let e = validate_call(&call("search", json!({})), &tools).unwrap_err();
    assert!(
        e.contains("unknown tool") && e.contains("search_items"),
        "{e}"
    );
    let e = validate_call(
        &call(
            "search_items",
            json!({"k": 99, "genres": ["a", "b", "c"], "x": 1}),
        ),
        &tools,
    )
    .unwrap_err();
    assert!(e.contains("query"), "missing required: {e}");
    assert!(e.contains("/k"), "maximum: {e}");
    assert!(e.contains("/genres"), "maxItems: {e}");
    assert!(validate_arguments(&json!({"type": "nonsense"}), &json!({})).is_err());
}
