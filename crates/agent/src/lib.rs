//! The recagent agent: a conversation that drives the recommendation
//! pipeline through tools.
//!
//! How the pieces fit (all private but [`prompts`] and [`eval`]; the
//! crate root re-exports what an embedding app uses):
//! - `tools`: typed tools (`search_items`, `similar_items`,
//!   `filter_candidates`, `rank_candidates`, `item_details`,
//!   `remember_preference`, `forget_preference`, `show_profile`), one file
//!   per family, and the one registry (`ToolSet`) that yields their names,
//!   schemas ([`tool_schemas`]) and dispatch. They share a `Bus` of
//!   candidates for the turn; the model only ever sees summaries.
//! - `turn`: the sans-IO machine of a turn. It wraps `controller` (call
//!   the model, run tools, done: three strategies for a model, plan first,
//!   plan + draft and step by step, and a rules mode with no model) and
//!   owns the dialogue state's update, the feedback exclusion, the final
//!   rank, relaxation and grounding. Unit tests drive it with scripted inputs.
//! - `rules` and `plan`: the rules controller's parse of a request into
//!   slots, and the executor that turns slots into typed tool calls.
//! - `session`: the async driver. [`Session::send`] does the IO the turn
//!   machine asks for, streams [`Event`]s and ends with the grounded answer
//!   and its [`TurnTrace`]. [`Session::call_tool`] runs one tool outside a
//!   turn, for a host that calls tools itself (the MCP server).
//! - `recall`: what the tools need from retrieval ([`Recall`], in core
//!   types only). With the default `retrieval` feature it is implemented
//!   for the full hybrid `recagent_retrieval::Retriever` and a lexical-only
//!   `LexicalRecall`; without it, an app brings its own `Arc<dyn Recall>`
//!   to [`Agent::builder`] and compiles no tantivy or Qdrant.
//! - [`prompts`]: the minijinja templates and their typed contexts (public
//!   so that [`AgentBuilder::prompt_overrides`] can be written against
//!   them); [`eval`]: the labelled requests and dialogues, and their
//!   scores.
//! - Profile memory ([`recagent_memory::Memory`]) feeds every filter (seen
//!   and disliked items, avoided genres) and the ranker's history.
//!
//! ```no_run
//! # async fn demo(agent: recagent_agent::Agent) -> Result<(), recagent_agent::Error> {
//! let mut session = agent.session("ann");
//! let turn = session.turn("a funny animated movie from the 90s").await?;
//! for item in &turn.items {
//!     println!("{} ({:?}): {}", item.title, item.year, item.reason);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use recagent_catalog::split::{LabelRule, labelled_histories, positive_histories};
use recagent_core::{Catalog, ItemId, UserId};
use recagent_llm::ChatModel;
use recagent_memory::Memory;
use recagent_ranker::Funnel;
use serde::Serialize;

mod bus;
mod controller;
pub mod eval;
mod guard;
mod plan;
pub mod prompts;
mod recall;
mod reply;
mod session;
mod state;
#[cfg(test)]
mod testing;
mod tools;
mod trace;
mod turn;

pub use controller::{ModelError, Strategy};
pub use recagent_reading::{Feedback, Plan};
#[cfg(feature = "retrieval")]
pub use recall::LexicalRecall;
pub use recall::Recall;
pub use session::{Event, Session, ToolReply, Turn};
pub use state::DialogueState;
pub use trace::{ModelTrace, ToolTrace, TurnTrace};

/// Every schema a model may be offered, as it is sent: the tools in the
/// registry's order, then the plan tool of plan-first strategies.
pub fn tool_schemas() -> Vec<recagent_llm::ToolSpec> {
    let mut specs = tools::ToolSet::default().specs();
    specs.push(controller::plan_tool());
    specs.push(controller::describe_tool());
    specs
}

/// The spec of the registry's tool `name` (its description and argument
/// schema, as a model is offered it), for a host that runs tools one at a
/// time through [`Session::call_tool`]; `None` for a name no tool has (the
/// plan tool of plan-first strategies is not a tool to run).
pub fn tool_spec(name: &str) -> Option<recagent_llm::ToolSpec> {
    tools::ToolSet::default()
        .specs()
        .into_iter()
        .find(|s| s.name == name)
}

/// Errors of the agent. Tool failures are not here: they go back to the
/// model as results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("recall failed: {0}")]
    Recall(String),
    #[error("prompt {name}: {reason}")]
    Prompt { name: String, reason: String },
    #[error(transparent)]
    Memory(#[from] recagent_memory::Error),
    #[error("controller: {0}")]
    Protocol(String),
    #[error("{0}")]
    Config(String),
    #[error("there is no tool named {name:?}; the tools are: {tools}")]
    UnknownTool { name: String, tools: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One recommended item, with the reason the answer gives for it.
///
/// In JSON it has the shape of every item recagent writes
/// ([`recagent_core::ItemJson`]): `id` is the catalog's own id (`key`
/// here); the dense [`ItemId`] is not written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    #[serde(skip)]
    pub id: ItemId,
    /// The catalog's own id for the item, written as `id`.
    #[serde(rename = "id")]
    pub key: String,
    pub title: String,
    pub year: Option<u16>,
    pub genres: Vec<String>,
    /// The ranker's click probability (or recall score without a ranker).
    pub score: f32,
    pub reason: String,
}

/// Which controller drives the tools.
#[derive(Debug, Clone)]
pub enum Controller {
    /// The rule-based controller: no model, the same tools.
    Rules,
    /// A language model (OpenAI-compatible endpoint or local llama.cpp).
    Model {
        model: Arc<dyn ChatModel>,
        strategy: Strategy,
    },
}

impl Controller {
    /// The turn machine's mode for this controller.
    pub(crate) fn mode(&self) -> controller::Mode {
        match self {
            Controller::Rules => controller::Mode::Rules,
            Controller::Model { strategy, .. } => controller::Mode::Model(*strategy),
        }
    }
}

impl Controller {
    /// "rules", or the model's name.
    pub fn name(&self) -> String {
        match self {
            Controller::Rules => "rules".into(),
            Controller::Model { model, .. } => model.name(),
        }
    }
}

/// The default [`AgentConfig::relevance_weight`].
///
/// `bench similar`, precision@10 of the rules agent's answer on 60
/// development / 16 held-out requests: 0.25 → 0.197 / 0.113, 0.5 → 0.258 /
/// 0.144, 0.75 → 0.315 / 0.144, 0.9 → 0.327 / 0.181, 1 → 0.322 / 0.175.
pub const DEFAULT_RELEVANCE_WEIGHT: f32 = 0.9;

/// Knobs of an agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// How many candidates the pre-ranker keeps for the ranker.
    pub prerank_to: usize,
    /// How much the similarity to a named film counts against the funnel's
    /// score in the final order of "more like X": `funnel^(1-w) ·
    /// similarity^w`, 0 ranking by the user alone, 1 by the similarity
    /// alone. Chosen on the development half of `bench similar`'s
    /// requests. (Text and history recall keep `funnel · (0.25 + 0.75 ·
    /// relevance)`.)
    pub relevance_weight: f32,
    /// Most model calls in one turn.
    pub max_steps: usize,
    /// Earlier turns a model sees (user and assistant messages count one each).
    pub history_messages: usize,
    /// Whether a model writes the answer's opening sentences (one more
    /// model call per turn) or the template does.
    pub model_answer: bool,
    /// Whether a model controller is asked to describe a film the catalog
    /// lacks, so that the list follows the description (the rules
    /// controller asks the user instead). Off, the list follows the rest
    /// of the words, as for the rules with more said.
    pub describe_unknown: bool,
    /// Sampling for model calls (temperature, seed, token limits).
    pub options: recagent_llm::ChatOptions,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            prerank_to: 300,
            relevance_weight: DEFAULT_RELEVANCE_WEIGHT,
            max_steps: 6,
            history_messages: 4,
            model_answer: true,
            describe_unknown: true,
            options: recagent_llm::ChatOptions {
                max_tokens: 320,
                ..recagent_llm::ChatOptions::default()
            },
        }
    }
}

/// What every session of an agent shares.
#[derive(Debug, Clone)]
pub(crate) struct Inner {
    pub catalog: Arc<Catalog>,
    pub recall: Arc<dyn Recall>,
    pub funnel: Option<Funnel>,
    pub memory: Arc<Memory>,
    pub controller: Controller,
    pub prompts: Arc<prompts::Prompts>,
    /// The tool registry: names, schemas and dispatch.
    pub tools: Arc<tools::ToolSet>,
    pub vocab: recagent_reading::Vocab,
    pub config: AgentConfig,
    /// Each catalog user's positives, oldest first (the one definition of a
    /// history, from the catalog crate).
    pub histories: Vec<Vec<ItemId>>,
    /// Each catalog user's rated films, at any rating: never recommended
    /// back to that user.
    pub rated: Vec<Vec<ItemId>>,
    /// Exact titles (lower case) to items, for titles taken from a list.
    pub by_title: HashMap<String, ItemId>,
}

impl Inner {
    /// The catalog's own ids of `items`, in order (an id the catalog lacks
    /// is left out): what JSON outputs write in place of dense ids.
    pub(crate) fn catalog_ids(&self, items: &[ItemId]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| self.catalog.item(*i).map(|it| it.key.clone()))
            .collect()
    }

    /// The item a title names: an exact title (any case) first, then the
    /// first title link at [`recagent_reading::TITLE_CONFIDENCE`] or above.
    pub(crate) fn resolve_title(&self, title: &str) -> Result<Option<ItemId>> {
        if let Some(id) = self.by_title.get(&title.trim().to_lowercase()) {
            return Ok(Some(*id));
        }
        // A title that covers at most part of what was written is not what
        // was meant: "my kids hate cartoons" contains "Kids" but does not
        // name it. (A user's own words are linked by the rules parse, which
        // finds titles inside sentences; this is for titles as arguments.)
        let asked = recagent_reading::title_key(title);
        Ok(self
            .recall
            .link_titles(title)?
            .into_iter()
            .filter(|l| l.confidence >= recagent_reading::TITLE_CONFIDENCE)
            .find(|l| {
                self.catalog.item(l.item).is_some_and(|it| {
                    let found = recagent_reading::title_key(&it.title);
                    2 * asked.iter().filter(|w| found.contains(w)).count() >= asked.len()
                })
            })
            .map(|l| l.item))
    }
}

/// A recommender agent over one catalog. Cheap to clone; sessions share it.
#[derive(Debug, Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

/// Builds an [`Agent`].
#[derive(Debug)]
pub struct AgentBuilder {
    catalog: Arc<Catalog>,
    recall: Arc<dyn Recall>,
    memory: Arc<Memory>,
    funnel: Option<Funnel>,
    controller: Controller,
    config: AgentConfig,
    prompt_dir: Option<std::path::PathBuf>,
}

impl AgentBuilder {
    /// The ranker funnel; without one, candidates keep their recall order.
    pub fn funnel(mut self, funnel: Funnel) -> Self {
        self.funnel = Some(funnel);
        self
    }
    pub fn controller(mut self, controller: Controller) -> Self {
        self.controller = controller;
        self
    }
    pub fn config(mut self, config: AgentConfig) -> Self {
        self.config = config;
        self
    }
    /// A folder whose `*.j2` files replace the embedded prompts of the same
    /// name.
    pub fn prompt_overrides(mut self, dir: &Path) -> Self {
        self.prompt_dir = Some(dir.to_owned());
        self
    }

    pub fn build(self) -> Result<Agent> {
        let prompts = prompts::Prompts::with_overrides(self.prompt_dir.as_deref())?;
        let vocab = recagent_reading::Vocab::new(&self.catalog);
        let histories = positive_histories(&self.catalog, LabelRule::default());
        let rated = labelled_histories(&self.catalog, LabelRule::default())
            .into_iter()
            .map(|h| h.into_iter().map(|(item, _)| item).collect())
            .collect();
        let by_title = self
            .catalog
            .items()
            .iter()
            .map(|it| (it.title.to_lowercase(), it.id))
            .collect();
        Ok(Agent {
            inner: Arc::new(Inner {
                catalog: self.catalog,
                recall: self.recall,
                funnel: self.funnel,
                memory: self.memory,
                controller: self.controller,
                prompts: Arc::new(prompts),
                tools: Arc::new(tools::ToolSet::default()),
                vocab,
                config: self.config,
                histories,
                rated,
                by_title,
            }),
        })
    }
}

impl Agent {
    /// Starts building an agent; the rules controller and no ranker until
    /// set.
    pub fn builder(
        catalog: Arc<Catalog>,
        recall: Arc<dyn Recall>,
        memory: Arc<Memory>,
    ) -> AgentBuilder {
        AgentBuilder {
            catalog,
            recall,
            memory,
            funnel: None,
            controller: Controller::Rules,
            config: AgentConfig::default(),
            prompt_dir: None,
        }
    }

    /// A conversation with `user` (a memory key). A user whose name is a
    /// catalog user key also brings that user's rating history to the
    /// ranker.
    /// A session with `user` that goes on with the conversation saved in
    /// profile memory, if any.
    pub fn session(&self, user: &str) -> Session {
        Session::new(Arc::clone(&self.inner), user)
    }

    /// A session with `user` that starts a new conversation (`ask --new`).
    pub fn new_session(&self, user: &str) -> Session {
        Session::fresh(Arc::clone(&self.inner), user)
    }

    /// A conversation with memory key `user` that the ranker scores as
    /// catalog user `catalog_user` (its features and learned embedding)
    /// with exactly the positives `log`, oldest first, instead of the
    /// user's whole log. An evaluation passes the history before its
    /// held-out target, so the target never reaches the ranker.
    pub fn session_as(&self, user: &str, catalog_user: UserId, log: Vec<ItemId>) -> Session {
        Session::new(Arc::clone(&self.inner), user).ranking_as(catalog_user, log)
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub fn memory(&self) -> &Memory {
        &self.inner.memory
    }

    /// The same agent with another final-order relevance weight (for
    /// benchmarks that choose it).
    pub fn with_relevance_weight(&self, w: f32) -> Agent {
        let mut inner = (*self.inner).clone();
        inner.config.relevance_weight = w;
        Agent {
            inner: Arc::new(inner),
        }
    }

    /// The controller's name ("rules" or the model's).
    pub fn controller_name(&self) -> String {
        self.inner.controller.name()
    }

    /// Whether a language model decides its turns (the rules do not).
    pub fn uses_model(&self) -> bool {
        matches!(self.inner.controller, Controller::Model { .. })
    }

    /// The rules parse of `text` for a session whose last list had
    /// `last_len` items (labelled-set scoring uses it).
    pub fn parse(&self, text: &str, last_len: usize) -> Plan {
        recagent_reading::rules::parse(
            text,
            &self.inner.vocab,
            &recall::Links(self.inner.recall.as_ref()),
            last_len,
        )
    }

    /// The catalog genre a name or synonym stands for ("sci fi" → "Sci-Fi").
    pub fn canonical_genre(&self, name: &str) -> Option<String> {
        self.inner.vocab.canonical(name)
    }

    /// The item an exact or linked title names.
    pub fn resolve_title(&self, title: &str) -> Option<ItemId> {
        self.inner.resolve_title(title).ok().flatten()
    }
}
