//! The scoring prompts, embedded minijinja templates rendered with strict
//! undefined behaviour from typed contexts.

use minijinja::{Environment, UndefinedBehavior, context};
use recagent_core::Item;
use recagent_llm::Message;
use serde::Serialize;

use crate::{Error, Result};

const LIST: &str = include_str!("../../../prompts/rank_list.j2");
const POINT: &str = include_str!("../../../prompts/rank_point.j2");

/// One film as a prompt shows it: "Title (year), genre, genre", and the
/// user's stars where the prompt asks for them.
#[derive(Debug, Clone, PartialEq)]
pub struct Film {
    pub line: String,
    /// 1–5 stars, for the pointwise history.
    pub stars: Option<u8>,
}

/// "Title (year), Genre, Genre": the talk's zero-shot item text.
pub fn film_line(item: &Item) -> String {
    let mut s = item.title.clone();
    if let Some(y) = item.year {
        s.push_str(&format!(" ({y})"));
    }
    for g in &item.genres {
        s.push_str(", ");
        s.push_str(g);
    }
    s
}

#[derive(Serialize)]
struct Labelled<'a> {
    letter: char,
    text: &'a str,
}

fn render(name: &'static str, src: &str, ctx: minijinja::Value) -> Result<String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let err = |e: minijinja::Error| Error::Prompt {
        name,
        reason: e.to_string(),
    };
    env.add_template(name, src).map_err(err)?;
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(err)
}

/// The listwise prompt: the liked films, oldest first, then `candidates`
/// under the letters A, B, … in the order given.
pub fn listwise(history: &[Film], candidates: &[&str]) -> Result<Vec<Message>> {
    let history: Vec<&str> = history.iter().map(|f| f.line.as_str()).collect();
    let labelled: Vec<Labelled<'_>> = candidates
        .iter()
        .zip('A'..='Z')
        .map(|(text, letter)| Labelled { letter, text })
        .collect();
    let name = "rank_list.j2";
    Ok(vec![
        Message::system(render(name, LIST, context! { part => "system" })?),
        Message::user(render(
            name,
            LIST,
            context! { part => "user", history, candidates => labelled },
        )?),
    ])
}

/// The pointwise prompt: the rated films as "Title (year), genres, N
/// stars", oldest first, then "Will I like `candidate`?".
pub fn pointwise(history: &[Film], candidate: &str) -> Result<Vec<Message>> {
    let history: Vec<String> = history
        .iter()
        .map(|f| match f.stars {
            Some(s) => format!("{}, {s} stars", f.line),
            None => f.line.clone(),
        })
        .collect();
    let name = "rank_point.j2";
    Ok(vec![
        Message::system(render(name, POINT, context! { part => "system" })?),
        Message::user(render(
            name,
            POINT,
            context! { part => "user", history, candidate },
        )?),
    ])
}
