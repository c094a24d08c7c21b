//! Prompts: minijinja templates in `prompts/*.j2`, embedded in the binary,
//! each rendered from one typed context with strict undefined behaviour. A
//! folder of overrides may replace any of them by file name.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::{Error, Result};

/// The embedded templates: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("system.j2", include_str!("../../../prompts/system.j2")),
    ("plan.j2", include_str!("../../../prompts/plan.j2")),
    ("answer.j2", include_str!("../../../prompts/answer.j2")),
    ("reply.j2", include_str!("../../../prompts/reply.j2")),
    ("request.j2", include_str!("../../../prompts/request.j2")),
    ("describe.j2", include_str!("../../../prompts/describe.j2")),
];

/// Context of `system.j2` (the step-by-step controller's system prompt)
/// and `plan.j2` (the plan-first one). Both are the same for every turn of
/// a catalog, so a local model keeps them, with the tool schemas after
/// them, in its prefix cache.
#[derive(Debug, Clone, Serialize)]
pub struct SystemContext {
    pub catalog: String,
    pub genres: Vec<String>,
}

/// Context of `request.j2`: the user message a model reads, with what
/// changes from turn to turn.
#[derive(Debug, Clone, Serialize)]
pub struct RequestContext {
    pub last_shown: Vec<String>,
    /// Profile lines ("likes Comedy", "has seen 12 items").
    pub profile: Vec<String>,
    /// The rules parse as compact JSON (plan first), or `None`.
    pub draft: Option<String>,
    /// What the user typed.
    pub text: String,
}

/// One recommended item as prompts show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemLine {
    pub title: String,
    pub year: Option<u16>,
    pub reason: String,
}

/// Context of `answer.j2`: the ranked list as the model reads it before
/// writing the answer's opening sentences.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerContext {
    pub items: Vec<ItemLine>,
    pub notes: Vec<String>,
}

/// Context of `reply.j2`: the answer written without a model.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyContext {
    /// The model's opening sentences; without them the template writes one.
    pub intro: Option<String>,
    pub items: Vec<ItemLine>,
    /// Liked titles the list builds on.
    pub seeds: Vec<String>,
    /// Filters in force, in words ("Comedy", "1990–1999", "no Horror").
    pub filters: Vec<String>,
    /// The sentence that says what was done ("Here are 10 crime films from
    /// 1980 on, like The Godfather:"), written from the dialogue state.
    pub opening: String,
    pub notes: Vec<String>,
}

/// The prompt templates.
#[derive(Debug)]
pub struct Prompts {
    env: Environment<'static>,
}

impl Prompts {
    /// The embedded templates.
    pub fn embedded() -> Result<Self> {
        Self::with_overrides(None)
    }

    /// The embedded templates, each replaced by `dir/NAME` where that file
    /// exists.
    pub fn with_overrides(dir: Option<&Path>) -> Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        for (name, source) in TEMPLATES {
            let text = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(p) => std::fs::read_to_string(&p).map_err(|e| Error::Prompt {
                    name: p.display().to_string(),
                    reason: e.to_string(),
                })?,
                None => (*source).to_owned(),
            };
            env.add_template_owned(*name, text)
                .map_err(|e| Error::Prompt {
                    name: (*name).to_owned(),
                    reason: e.to_string(),
                })?;
        }
        Ok(Self { env })
    }

    /// Renders template `name` with `ctx`.
    pub fn render<C: Serialize>(&self, name: &str, ctx: &C) -> Result<String> {
        let fail = |e: minijinja::Error| Error::Prompt {
            name: name.to_owned(),
            reason: format!("{e:#}"),
        };
        self.env
            .get_template(name)
            .map_err(fail)?
            .render(ctx)
            .map_err(fail)
    }
}

/// Item text as data: control characters and chat-template markers removed,
/// whitespace collapsed, cut to `max` characters. Tool results carry it
/// inside JSON strings, so it can never close the result or open a turn.
pub(crate) fn fence(text: &str, max: usize) -> String {
    let mut s: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for marker in ["<|", "|>", "<tool_call>", "</tool_call>", "```"] {
        s = s.replace(marker, " ");
    }
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = s.chars().take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}
