//! A fixed recommendation workload: the agent's step-by-step tools, a
//! system prompt, and user requests. `recagent bench llm` and the real-model
//! test use it, so their figures describe the same work.

use crate::{ChatOptions, ChatRequest, Message, ToolChoice, ToolSpec};

/// The agent's step-by-step tools as it ships them (names, descriptions,
/// argument schemas). This crate cannot depend on the agent, so it keeps a
/// copy; the agent's test `the_llm_workload_offers_the_shipped_tools` fails
/// when the copy and the registry differ, and rewrites it on request.
pub const AGENT_TOOLS_JSON: &str = include_str!("agent_tools.json");

/// The agent's step-by-step tools: search, similar items, filter, rank,
/// details, remember, forget, show the profile.
pub fn recommendation_tools() -> Vec<ToolSpec> {
    serde_json::from_str(AGENT_TOOLS_JSON).unwrap_or_else(|e| {
        unreachable!("agent_tools.json is written by the agent's test and parsed there: {e}")
    })
}

/// The system prompt of the workload.
pub const SYSTEM_PROMPT: &str = "You are a movie recommender. Decide which tool to call next to \
find movies for the user. Use search_items for descriptions, genres and years; similar_items \
when the user names movies they liked; remember_preference for lasting likes or dislikes; \
rank_candidates when candidates are ready.";

/// User requests of the workload.
pub const REQUESTS: &[&str] = &[
    "I want a funny space adventure from the 90s.",
    "Something like Toy Story and Aladdin, please.",
    "I never want to see horror movies.",
    "A tense thriller set in a hotel, anything after 1980.",
    "We loved The Godfather. More like that?",
];

/// One decision: the system prompt, the tools, and a user request, with a
/// tool call required, in the agent's budget for a decision (256 tokens).
pub fn decision_request(user: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system(SYSTEM_PROMPT), Message::user(user)],
        tools: recommendation_tools(),
        options: ChatOptions {
            tool_choice: ToolChoice::Required,
            max_tokens: 256,
            ..ChatOptions::default()
        },
    }
}
