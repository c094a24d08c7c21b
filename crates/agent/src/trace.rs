//! What a turn did: the funnel trace that the TUI shows, the server returns
//! and evaluation aggregates.

use recagent_core::{ItemId, StageTrace};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One tool call and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolTrace {
    pub name: String,
    pub arguments: Value,
    pub ok: bool,
    /// One line: counts, or the error the model was shown.
    pub summary: String,
    pub micros: u64,
}

/// One model call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelTrace {
    /// What the call was for: "plan", "step" or "answer".
    pub purpose: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// Prompt tokens served from the prefix cache (local model).
    pub cached_prompt_tokens: u32,
    pub first_token_ms: f64,
    pub total_ms: f64,
    /// The error, when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything one turn did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnTrace {
    /// "rules", or the model's name.
    pub controller: String,
    /// "rules", "plan_first" or "step_by_step".
    pub strategy: String,
    pub tool_calls: Vec<ToolTrace>,
    /// Candidate counts and time per stage: recall → filter → pre-rank → rank.
    pub stages: Vec<StageTrace>,
    pub model_calls: Vec<ModelTrace>,
    /// Time in tools (recall, filters, ranking, memory), excluding the model.
    pub tools_micros: u64,
    pub total_micros: u64,
    /// Model answers that named an item off the list and were repaired.
    pub repairs: u32,
    /// Model decisions that failed (no call, bad JSON, endpoint error).
    pub model_failures: u32,
    /// Whether the rules parse stood in for a model that failed.
    pub fallback: bool,
    /// Model plans that were wrong (inverted years, a genre both wanted
    /// and excluded, an unknown title) and that the model corrected when
    /// told.
    #[serde(default)]
    pub plan_corrected: u32,
    /// Plan slots still wrong after that, replaced by the rules draft's.
    #[serde(default)]
    pub plan_replaced: u32,
    /// What was loosened because the list came out too short, in the words
    /// the user was told.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relaxed: Vec<String>,
    /// The conversation after this turn, with the catalog's own ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<crate::state::DialogueState<String>>,
    /// How this turn changed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub state_changes: Vec<String>,
    /// Every history item the ranker was given this turn, so that an
    /// evaluation can prove its target never reached the ranker. Written
    /// as `ranker_history_ids` holds them: catalog ids.
    #[serde(skip)]
    pub ranker_history: Vec<ItemId>,
    /// `ranker_history` with the catalog's own ids.
    #[serde(
        default,
        rename = "ranker_history",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ranker_history_ids: Vec<String>,
}

impl TurnTrace {
    pub fn prompt_tokens(&self) -> u32 {
        self.model_calls.iter().map(|m| m.prompt_tokens).sum()
    }
    pub fn completion_tokens(&self) -> u32 {
        self.model_calls.iter().map(|m| m.completion_tokens).sum()
    }
}
