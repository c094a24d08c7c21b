//! A free LLM persona simulator: any [`ChatModel`] plays the user, prompted
//! (minijinja, `prompts/simulator*.j2`) with the target's facts, never its
//! title. What it says is read back with the rules parse into
//! [`Statement`]s, so its validity is measured, not assumed.
//!
//! A small local model cannot hold this role (it repeats its prompt turn
//! after turn); [`crate::VoicedSimulator`] is the simulator for those. The
//! persona stays for API models that can.

use std::sync::Arc;

use futures::future::BoxFuture;
use minijinja::{Environment, UndefinedBehavior};
use recagent_agent::Agent;
use recagent_core::Item;
use recagent_core::text::is_unknown_genre;
use recagent_llm::{ChatModel, ChatOptions, ChatRequest, Message, ToolChoice};
use serde::Serialize;

use crate::rules::spoken_title;
use crate::{Error, Result, Simulator, Statement};

const SYSTEM: &str = include_str!("../../../prompts/simulator.j2");
const TURN: &str = include_str!("../../../prompts/simulator_turn.j2");

/// Tokens a simulated utterance may take.
pub const UTTERANCE_TOKENS: u32 = 60;

/// What the fan knows and has seen, rendered into each turn's prompt.
#[derive(Debug, Clone, Serialize)]
struct TurnContext {
    genres: Vec<String>,
    decade: Option<u16>,
    liked: Vec<String>,
    /// What the simulated user said in earlier turns.
    said: Vec<String>,
    /// The titles shown last (empty on the first turn).
    shown: Vec<String>,
    /// Whether the last draft named a title and this is another try.
    retry: bool,
}

/// The statements in `text`, as the rules parse of `reader` reads them:
/// genres wanted and avoided, year bounds, titles liked.
pub fn statements_in(reader: &Agent, text: &str) -> Vec<Statement> {
    let plan = reader.parse(text, 0);
    let mut out: Vec<Statement> = Vec::new();
    let want = plan.want;
    let has_years = want.has_years();
    for genre in want.genres {
        out.push(Statement::Genre { genre });
    }
    for genre in want.avoid_genres.into_iter().chain(plan.never_genres) {
        out.push(Statement::NotGenre { genre });
    }
    if has_years {
        out.push(match (want.year_min, want.year_max) {
            (Some(a), Some(b)) if a % 10 == 0 && b == a + 9 => Statement::Decade { start: a },
            (min, max) => Statement::Years { min, max },
        });
    }
    for t in plan.liked_titles {
        if let Some(item) = reader.resolve_title(&t) {
            out.push(Statement::LikeTitle { item });
        }
    }
    out
}

/// A model playing the user.
#[derive(Debug)]
pub struct PersonaSimulator {
    model: Arc<dyn ChatModel>,
    reader: Arc<Agent>,
    env: Environment<'static>,
    system: String,
    context: TurnContext,
    said: Vec<Statement>,
    /// Where the last utterance's statements start in `said`.
    last_start: usize,
    calls: usize,
    options: ChatOptions,
}

impl PersonaSimulator {
    /// A persona for `target` who liked `history`; `reader` parses what it
    /// says into statements (any agent over the same catalog).
    pub fn new(
        model: Arc<dyn ChatModel>,
        reader: Arc<Agent>,
        target: &Item,
        history: &[Item],
    ) -> Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.add_template("system", SYSTEM)
            .map_err(|e| Error::Prompt(e.to_string()))?;
        env.add_template("turn", TURN)
            .map_err(|e| Error::Prompt(e.to_string()))?;
        // The liked titles that share a genre with the target, most recent
        // first, at most three.
        let liked: Vec<String> = history
            .iter()
            .rev()
            .filter(|h| h.id != target.id && h.genres.iter().any(|g| target.genres.contains(g)))
            .take(3)
            .map(|h| spoken_title(&h.title))
            .collect();
        let system = env
            .get_template("system")
            .and_then(|t| t.render(()))
            .map_err(|e| Error::Prompt(e.to_string()))?;
        let context = TurnContext {
            genres: target
                .genres
                .iter()
                .filter(|g| !is_unknown_genre(g))
                .cloned()
                .collect(),
            decade: target.year.map(|y| y - y % 10),
            liked,
            said: Vec::new(),
            shown: Vec::new(),
            retry: false,
        };
        Ok(Self {
            model,
            reader,
            env,
            system,
            context,
            said: Vec::new(),
            last_start: 0,
            calls: 0,
            options: ChatOptions {
                tool_choice: ToolChoice::None,
                temperature: 0.0,
                max_tokens: UTTERANCE_TOKENS,
                seed: Some(0),
                stop: vec!["\n".into()],
            },
        })
    }

    async fn say(&mut self, shown: &[Item]) -> Result<String> {
        self.context.shown = shown.iter().map(|i| spoken_title(&i.title)).collect();
        self.context.retry = false;
        let text = self.utter().await?;
        self.context.said.push(text.clone());
        Ok(text)
    }

    /// One model call: the system prompt and this turn's context. Each
    /// call is self-contained, so a small model never mistakes itself for
    /// the recommender.
    async fn utter(&mut self) -> Result<String> {
        self.calls += 1;
        let prompt = self
            .env
            .get_template("turn")
            .and_then(|t| t.render(&self.context))
            .map_err(|e| Error::Prompt(e.to_string()))?;
        let request = ChatRequest {
            messages: vec![Message::system(self.system.clone()), Message::user(prompt)],
            tools: Vec::new(),
            options: self.options.clone(),
        };
        let answer = recagent_llm::complete(self.model.as_ref(), request).await?;
        let text = answer.text.trim().trim_matches('"').trim().to_owned();
        self.last_start = self.said.len();
        self.said.extend(statements_in(&self.reader, &text));
        Ok(text)
    }
}

impl Simulator for PersonaSimulator {
    fn opening(&mut self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.say(&[]))
    }

    fn reply<'a>(&'a mut self, shown: &'a [Item]) -> BoxFuture<'a, Result<String>> {
        Box::pin(self.say(shown))
    }

    fn regenerate(&mut self) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            // Forget the draft that named the film (and what it stated),
            // and ask again, saying why.
            self.context.said.pop();
            self.said.truncate(self.last_start);
            self.context.retry = true;
            let text = self.utter().await?;
            self.context.said.push(text.clone());
            Ok(Some(text))
        })
    }

    fn statements(&self) -> &[Statement] {
        &self.said
    }

    fn model_calls(&self) -> usize {
        self.calls
    }
}
