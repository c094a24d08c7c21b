//! A fixed recommendation workload: four tools shaped like the agent's, a
//! system prompt, and user requests. `recagent bench llm` and the real-model
//! test use it, so their figures describe the same work.

use serde_json::json;

use crate::{ChatOptions, ChatRequest, Message, ToolChoice, ToolSpec};

/// Four tools: search, similar items, rank for the user, remember a preference.
pub fn recommendation_tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "search_items".into(),
            description: "Search the movie catalog by free text, with optional filters.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "what to look for"},
                    "genres": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                    "year_min": {"type": "integer", "minimum": 1900, "maximum": 2030},
                    "year_max": {"type": "integer", "minimum": 1900, "maximum": 2030}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "similar_items".into(),
            description: "Find movies similar to titles the user mentioned.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "titles": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3}
                },
                "required": ["titles"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "rank_candidates".into(),
            description: "Rank the current candidates for this user and return the best k.".into(),
            parameters: json!({
                "type": "object",
                "properties": {"k": {"type": "integer", "minimum": 1, "maximum": 20}},
                "required": ["k"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "remember_preference".into(),
            description: "Store a lasting preference of the user (a liked or disliked genre, actor or title).".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "kind": {"enum": ["like", "dislike"]},
                    "value": {"type": "string"}
                },
                "required": ["kind", "value"],
                "additionalProperties": false
            }),
        },
    ]
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
/// tool call required.
pub fn decision_request(user: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system(SYSTEM_PROMPT), Message::user(user)],
        tools: recommendation_tools(),
        options: ChatOptions {
            tool_choice: ToolChoice::Required,
            max_tokens: 96,
            ..ChatOptions::default()
        },
    }
}
