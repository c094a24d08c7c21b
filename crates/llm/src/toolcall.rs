//! Tool calls in plain model text, and argument validation.
//!
//! Local models write tool calls as text. Qwen and Hermes-style templates
//! wrap each call in `<tool_call>{"name": …, "arguments": {…}}</tool_call>`;
//! other models answer with a fenced JSON block. [`parse_tool_calls`] reads
//! both. [`validate_arguments`] checks arguments against the tool's JSON
//! schema with the `jsonschema` crate.

use serde_json::Value;

use crate::{ToolCall, ToolSpec};

/// A call as written in text, before it is matched to a tool.
fn call_of(v: &Value, i: usize) -> Option<ToolCall> {
    let name = v.get("name")?.as_str()?.to_owned();
    let arguments = match v.get("arguments").or_else(|| v.get("parameters")) {
        Some(Value::String(s)) => serde_json::from_str(s).ok()?,
        Some(a) => a.clone(),
        None => Value::Object(Default::default()),
    };
    Some(ToolCall {
        id: format!("call_{i}"),
        name,
        arguments,
    })
}

/// The first JSON value at the start of `s` (after whitespace), if any.
fn leading_json(s: &str) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_str(s.trim_start()).into_iter::<Value>();
    de.next()?.ok()
}

/// Tool calls written in text: `<tool_call>` blocks first; failing those,
/// fenced ```json blocks; failing those, the whole text as one JSON object
/// (or array of objects) with a `name`.
pub fn parse_tool_calls(text: &str) -> Vec<ToolCall> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<tool_call>") {
        let body = &rest[start + "<tool_call>".len()..];
        let end = body.find("</tool_call>").unwrap_or(body.len());
        if let Some(c) = leading_json(&body[..end]).and_then(|v| call_of(&v, out.len())) {
            out.push(c);
        }
        rest = &body[end..];
    }
    if !out.is_empty() {
        return out;
    }
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let body_start = after.find('\n').map_or(0, |n| n + 1);
        let body = &after[body_start..];
        let end = body.find("```").unwrap_or(body.len());
        if let Some(v) = leading_json(&body[..end]) {
            push_calls(&v, &mut out);
        }
        rest = &body[(end + 3).min(body.len())..];
    }
    if out.is_empty()
        && let Some(v) = leading_json(text)
    {
        push_calls(&v, &mut out);
    }
    out
}

fn push_calls(v: &Value, out: &mut Vec<ToolCall>) {
    match v {
        Value::Array(a) => {
            for x in a {
                if let Some(c) = call_of(x, out.len()) {
                    out.push(c);
                }
            }
        }
        _ => {
            if let Some(c) = call_of(v, out.len()) {
                out.push(c);
            }
        }
    }
}

/// Checks a call against the tools offered: the name must be one of them
/// and the arguments must satisfy its schema. The error lists every
/// problem, with where it is.
pub fn validate_call(call: &ToolCall, tools: &[ToolSpec]) -> Result<(), String> {
    let Some(spec) = tools.iter().find(|t| t.name == call.name) else {
        return Err(format!(
            "unknown tool {:?}; offered: {}",
            call.name,
            tools
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    validate_arguments(&spec.parameters, &call.arguments)
}

/// Validates arguments against a JSON schema.
pub fn validate_arguments(schema: &Value, arguments: &Value) -> Result<(), String> {
    let validator = jsonschema::validator_for(schema).map_err(|e| format!("bad schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(arguments)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}
