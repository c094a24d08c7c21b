//! How the CLI prints what the agent and the indexes give back: one way to
//! print a turn as text, and the one item shape of `--json` listings.

use recagent_agent::Turn;
use recagent_core::{Catalog, ItemId, ItemJson};
use serde::Serialize;

/// Prints a turn for a person: the answer, the numbered items, the
/// conversation state and the trace.
pub fn print_turn(t: &Turn) {
    println!("{}", t.answer.trim_end());
    println!();
    for (n, r) in t.items.iter().enumerate() {
        let year = r.year.map(|y| y.to_string()).unwrap_or_else(|| "?".into());
        println!(
            "{:>2}. [{}] {} ({year}) {} · score {:.3} · {}",
            n + 1,
            r.key,
            r.title,
            r.genres.join("|"),
            r.score,
            r.reason
        );
    }
    println!();
    let tr = &t.trace;
    if let Some(state) = &tr.state {
        println!("conversation: {}", state.summary());
        if !tr.state_changes.is_empty() {
            println!("  this turn: {}", tr.state_changes.join("; "));
        }
        if tr.plan_corrected + tr.plan_replaced > 0 {
            println!(
                "  plan checks: {} corrected by the model, {} slots replaced by the rules",
                tr.plan_corrected, tr.plan_replaced
            );
        }
    }
    println!("trace ({}, {}):", tr.controller, tr.strategy);
    for c in &tr.tool_calls {
        println!(
            "  {} {} {} — {} ({:.1} ms)",
            if c.ok { "✓" } else { "✗" },
            c.name,
            c.arguments,
            c.summary,
            c.micros as f64 / 1e3
        );
    }
    let stages: Vec<String> = tr
        .stages
        .iter()
        .map(|s| {
            format!(
                "{:?} {}→{} {:.1} ms",
                s.stage,
                s.count_in,
                s.count_out,
                s.micros as f64 / 1e3
            )
        })
        .collect();
    println!("  stages: {}", stages.join(" · "));
    for m in &tr.model_calls {
        println!(
            "  model {}: {} prompt ({} cached) + {} completion tokens, first token {:.0} ms, {:.0} ms{}",
            m.purpose,
            m.prompt_tokens,
            m.cached_prompt_tokens,
            m.completion_tokens,
            m.first_token_ms,
            m.total_ms,
            m.error
                .as_deref()
                .map(|e| format!(" — {e}"))
                .unwrap_or_default()
        );
    }
    println!(
        "  tools {:.1} ms, turn {:.1} ms, repairs {}, model failures {}{}",
        tr.tools_micros as f64 / 1e3,
        tr.total_micros as f64 / 1e3,
        tr.repairs,
        tr.model_failures,
        if tr.fallback { ", rules fallback" } else { "" }
    );
}

/// An item in `search --json`: the shape every item is written in
/// ([`ItemJson`]), plus what only a search knows.
#[derive(Debug, Serialize)]
pub struct JsonItem {
    #[serde(flatten)]
    pub item: ItemJson,
    /// How sure title linking is (`--link`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Where a similar item came from (`--similar`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
}

impl JsonItem {
    pub fn new(catalog: &Catalog, item: ItemId) -> Self {
        Self {
            item: ItemJson::of(&catalog.items()[item.index()]),
            confidence: None,
            source: None,
        }
    }
}
