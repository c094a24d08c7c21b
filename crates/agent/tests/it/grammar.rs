//! The GBNF grammars a local model decodes under, built from the tools the
//! agent really offers: the plan tool alone (plan first, plan + draft) and
//! the registry's tools (step by step). The grammar tests of the llm crate
//! use a copy of the step-by-step tools, which the last test keeps equal to
//! the registry.

use recagent_agent::tool_schemas;
use recagent_llm::local::tool_grammar;

#[test]
fn the_grammars_of_the_shipped_tools() {
    let (describe, shipped): (Vec<_>, Vec<_>) = tool_schemas()
        .into_iter()
        .partition(|t| t.name == "describe_film");
    let (plan, tools): (Vec<_>, Vec<_>) = shipped.into_iter().partition(|t| t.name == "plan");
    assert_eq!(plan.len(), 1, "one plan tool");
    assert!(tools.len() >= 8, "{} tools", tools.len());
    let plan_grammar = tool_grammar(&plan).unwrap();
    let step_grammar = tool_grammar(&tools).unwrap();
    for g in [&plan_grammar, &step_grammar] {
        assert!(
            g.starts_with("root ::= \"<tool_call>\\n\" call \"\\n</tool_call>\""),
            "{g}"
        );
    }
    // Every slot of the plan and every tool can be written.
    let slots = plan[0].parameters["properties"].as_object().unwrap();
    assert!(slots.len() >= 10, "{slots:?}");
    for slot in slots.keys() {
        assert!(
            plan_grammar.contains(slot.as_str()),
            "plan slot {slot} missing"
        );
    }
    for t in &tools {
        assert!(step_grammar.contains(&t.name), "{} missing", t.name);
    }
    // The description of a film the catalog lacks: short, bounded slots.
    let describe_grammar = tool_grammar(&describe).unwrap();
    for slot in ["genres", "keywords", "year"] {
        assert!(describe_grammar.contains(slot), "{slot} missing");
    }
    insta::assert_snapshot!("grammar_describe", describe_grammar);
    insta::assert_snapshot!("grammar_plan", plan_grammar);
    insta::assert_snapshot!("grammar_step_by_step", step_grammar);
}

/// The llm crate's workload (`recagent bench llm`, the real-model test)
/// offers a copy of the step-by-step tools, since that crate cannot depend
/// on this one. The copy is the registry's, byte for byte:
/// `RECAGENT_UPDATE_TOOLS=1 cargo test -p recagent-agent --test it
/// the_llm_workload` rewrites it after a schema change.
#[test]
fn the_llm_workload_offers_the_shipped_tools() {
    let shipped: Vec<_> = tool_schemas()
        .into_iter()
        .filter(|t| t.name != "plan" && t.name != "describe_film")
        .collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../llm/src/agent_tools.json");
    let text = serde_json::to_string_pretty(&shipped).unwrap() + "\n";
    if std::env::var_os("RECAGENT_UPDATE_TOOLS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        recagent_llm::examples::recommendation_tools(),
        shipped,
        "{} is not the agent's tools; rerun this test with RECAGENT_UPDATE_TOOLS=1",
        path.display()
    );
}
