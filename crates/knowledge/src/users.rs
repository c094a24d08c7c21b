//! KAR's user side: one preference-reasoning text per user, written by a
//! model from the user's earliest ratings only.
//!
//! The ratings a text sees are the user's **window**: the first `k` by time
//! ([`windows`]). A split that evaluates with user texts keeps every window
//! row in training ([`window_rows`]; `catalog::split::ctr_split_keeping`),
//! so no text ever saw a row it is tested on, whatever the seed.
//!
//! [`generate`] appends one JSON line per user as users finish, in catalog
//! order, so a stopped run continues where it stopped.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use futures::StreamExt as _;
use minijinja::{Environment, UndefinedBehavior};
use recagent_core::text::display_title;
use recagent_core::{Catalog, ItemId, Progress, UserId};
use recagent_llm::{ChatModel, ChatOptions, ChatRequest, Message, ToolChoice};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, io};

/// The factorised user prompt (embedded; `prompts/user_knowledge.j2`).
pub const USER_PROMPT: &str = include_str!("../../../prompts/user_knowledge.j2");

/// Ratings a user's text is written from unless told otherwise.
pub const DEFAULT_WINDOW: usize = 20;

/// Tokens one user's answer may take.
pub const USER_ANSWER_TOKENS: u32 = 200;

/// The system message of every user request.
pub const USER_SYSTEM: &str = "You are a film expert who explains what a viewer likes. Answer briefly; say unknown where the ratings do not tell.";

/// A user's earliest ratings: all a user text may see.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub user: UserId,
    /// (item, stars), oldest first.
    pub rated: Vec<(ItemId, f32)>,
}

/// Every user's first `k` ratings by time (ties by item id); users with no
/// ratings get none.
pub fn windows(catalog: &Catalog, k: usize) -> Vec<Window> {
    let mut by_user: Vec<Vec<(i64, ItemId, f32)>> = vec![Vec::new(); catalog.users().len()];
    for x in catalog.interactions() {
        if let Some(v) = by_user.get_mut(x.user.index()) {
            v.push((x.timestamp, x.item, x.rating));
        }
    }
    by_user
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(u, mut v)| {
            v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            v.truncate(k);
            Window {
                user: UserId(u as u32),
                rated: v.into_iter().map(|(_, i, r)| (i, r)).collect(),
            }
        })
        .collect()
}

/// The (user, item) rows the windows hold: a split must keep them in
/// training.
pub fn window_rows(windows: &[Window]) -> HashSet<(UserId, ItemId)> {
    windows
        .iter()
        .flat_map(|w| w.rated.iter().map(move |(i, _)| (w.user, *i)))
        .collect()
}

/// The prompt for one window.
pub fn user_prompt(catalog: &Catalog, window: &Window) -> Result<String> {
    let films: Vec<String> = window
        .rated
        .iter()
        .filter_map(|(i, r)| {
            let item = catalog.item(*i)?;
            let mut s = display_title(&item.title);
            if let Some(y) = item.year {
                s.push_str(&format!(" ({y})"));
            }
            for g in &item.genres {
                s.push_str(", ");
                s.push_str(g);
            }
            Some(format!("{s}, {} stars", r.round()))
        })
        .collect();
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template("user_knowledge", USER_PROMPT)
        .map_err(|e| Error::Prompt(e.to_string()))?;
    env.get_template("user_knowledge")
        .and_then(|t| t.render(minijinja::context! { films }))
        .map_err(|e| Error::Prompt(e.to_string()))
}

/// The request for one window.
pub fn user_request(catalog: &Catalog, window: &Window) -> Result<ChatRequest> {
    Ok(ChatRequest {
        messages: vec![
            Message::system(USER_SYSTEM),
            Message::user(user_prompt(catalog, window)?),
        ],
        tools: Vec::new(),
        options: ChatOptions {
            tool_choice: ToolChoice::None,
            temperature: 0.0,
            max_tokens: USER_ANSWER_TOKENS,
            seed: Some(0),
            stop: Vec::new(),
        },
    })
}

/// One user's line in `users.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// The user's key in the catalog.
    pub id: String,
    /// The keys of the films the text was written from.
    pub items: Vec<String>,
    pub text: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// The records in `path` (whole lines only; none when it does not exist).
pub fn read_users(path: &Path) -> Result<Vec<UserRecord>> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// What [`generate`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct UsersOutcome {
    /// Users written by this run (the rest were there already).
    pub new: usize,
    pub total: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub seconds: f64,
}

/// Writes a text for every window `path` does not hold yet, up to
/// `parallel` at once, appending lines in window order.
pub async fn generate(
    model: &dyn ChatModel,
    catalog: &Catalog,
    windows: &[Window],
    path: &Path,
    parallel: usize,
    progress: &dyn Progress,
) -> Result<UsersOutcome> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let old = read_users(path)?;
    // Keep whole lines only: a stop may have cut the last one.
    let body: String = old
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .map(|l| l + "\n")
        .collect();
    recagent_core::fsx::write_atomic(path, &body).map_err(|e| io(path, e))?;
    let done: HashSet<&str> = old.iter().map(|r| r.id.as_str()).collect();
    let key = |u: UserId| catalog.user(u).map(|u| u.key.clone()).unwrap_or_default();
    let todo: Vec<&Window> = windows
        .iter()
        .filter(|w| !done.contains(key(w.user).as_str()))
        .collect();
    progress.stage(
        &format!("user knowledge from {}", model.name()),
        Some(todo.len() as u64),
    );
    let requests = todo
        .iter()
        .map(|w| user_request(catalog, w))
        .collect::<Result<Vec<_>>>()?;
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| io(path, e))?;
    let start = Instant::now();
    let (mut prompt_tokens, mut completion_tokens) = (0u64, 0u64);
    let mut answers = model.complete_many(requests, parallel.max(1));
    let mut pending: BTreeMap<usize, UserRecord> = BTreeMap::new();
    let mut next = 0;
    while let Some((i, r)) = answers.next().await {
        let r = r?;
        let w = todo[i];
        prompt_tokens += u64::from(r.usage.prompt_tokens);
        completion_tokens += u64::from(r.usage.completion_tokens);
        pending.insert(
            i,
            UserRecord {
                id: key(w.user),
                items: w
                    .rated
                    .iter()
                    .filter_map(|(i, _)| catalog.item(*i).map(|it| it.key.clone()))
                    .collect(),
                text: r.text.trim().to_string(),
                prompt_tokens: r.usage.prompt_tokens,
                completion_tokens: r.usage.completion_tokens,
            },
        );
        while let Some(record) = pending.remove(&next) {
            let line = serde_json::to_string(&record).map_err(|e| io(path, e))?;
            writeln!(file, "{line}").map_err(|e| io(path, e))?;
            next += 1;
        }
        file.sync_data().map_err(|e| io(path, e))?;
        progress.advance(1);
    }
    progress.finish();
    Ok(UsersOutcome {
        new: todo.len(),
        total: old.len() + todo.len(),
        prompt_tokens,
        completion_tokens,
        seconds: start.elapsed().as_secs_f64(),
    })
}
