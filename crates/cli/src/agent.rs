//! `recagent ask` and `recagent profile`: the agent from the command line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use recagent_agent::{Agent, Controller, Strategy, Turn};
use recagent_catalog::store;
use recagent_core::{Catalog, Home};
use recagent_llm::ChatModel;
use recagent_memory::{Forget, Memory};
use recagent_ranker::{Combine, Funnel, ModelKind, ModelStore};

use crate::index::QdrantArgs;
use crate::model::ChatModelName;
use crate::progress::Bars;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ControllerName {
    /// Rule-based: no model, deterministic
    Rules,
    /// A local GGUF model run in-process with llama.cpp (see --model)
    Local,
    /// An OpenAI-compatible endpoint: $OPENAI_BASE_URL, $OPENAI_API_KEY, --api-model
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyName {
    /// One decision fills the plan's slots, then the tools run, then the answer
    PlanFirst,
    /// Plan first, with the slots the model leaves empty filled from the rules parse
    PlanDraft,
    /// The model calls one tool at a time and reads each result
    StepByStep,
}

/// How to build an agent: shared by `ask` and `bench agent`.
#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// Which controller drives the tools
    #[arg(long, value_enum, default_value_t = ControllerName::Rules)]
    pub controller: ControllerName,
    #[command(flatten)]
    pub options: AgentOptions,
}

/// Everything about an agent but its controller: shared with `eval`, which
/// takes several controllers.
#[derive(Debug, Clone, Args)]
pub struct AgentOptions {
    /// How a model drives the tools (ignored by the rules controller)
    #[arg(long, value_enum, default_value_t = StrategyName::PlanDraft)]
    pub strategy: StrategyName,
    /// The local model for --controller local
    #[arg(long, value_enum, default_value_t = ChatModelName::Qwen05)]
    pub model: ChatModelName,
    /// The model name sent to the endpoint for --controller api
    #[arg(long, env = "RECAGENT_API_MODEL", default_value = "gpt-4o-mini")]
    pub api_model: String,
    /// The CTR ranker to rank with
    #[arg(long, value_enum, default_value_t = RankerName::Deepfm)]
    pub ranker: RankerName,
    /// Who writes the answer's opening sentences: the model (one more model
    /// call a turn), the template, or auto (the template for a local model,
    /// where the extra call costs seconds on a CPU; the model otherwise)
    #[arg(long, value_enum, default_value_t = AnswerBy::Auto)]
    pub answer: AnswerBy,
    /// A folder of *.j2 files that replace the embedded prompts
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
    #[command(flatten)]
    pub qdrant: QdrantArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnswerBy {
    Auto,
    Model,
    Template,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankerName {
    Deepfm,
    Dcnv2,
    Fm,
    Lr,
}

impl RankerName {
    pub fn kind(self) -> ModelKind {
        match self {
            RankerName::Deepfm => ModelKind::DeepFm,
            RankerName::Dcnv2 => ModelKind::DcnV2,
            RankerName::Fm => ModelKind::Fm,
            RankerName::Lr => ModelKind::Lr,
        }
    }
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// Catalog name (e.g. ml-100k)
    pub name: String,
    /// What the user says
    pub text: String,
    /// Who is asking: a memory key; a catalog user id (e.g. 196) also brings
    /// that user's rating history
    #[arg(long, default_value = "me")]
    pub user: String,
    /// Start a new conversation: without it, a follow-up ("seen it,
    /// something else") goes on from this user's last request, even in a
    /// new process
    #[arg(long)]
    pub new: bool,
    /// Print one JSON object (answer, items, trace)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub agent: AgentArgs,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Show what is remembered about a user
    Show {
        /// Catalog name
        name: String,
        /// The user
        user: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Forget a user's whole profile
    Forget {
        /// Catalog name
        name: String,
        /// The user
        user: String,
    },
    /// List the users with a profile
    List {
        /// Catalog name
        name: String,
    },
}

/// `$RECAGENT_HOME/memory/NAME.sqlite`.
pub fn memory_path(home: &Home, name: &str) -> PathBuf {
    home.root().join("memory").join(format!("{name}.sqlite"))
}

/// Every agent option at its default, as if no flag were given.
pub(crate) fn default_options() -> AgentOptions {
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        options: AgentOptions,
    }
    <Defaults as clap::Parser>::parse_from(["recagent"]).options
}

pub(crate) fn strategy(args: &AgentOptions) -> Strategy {
    match args.strategy {
        StrategyName::PlanFirst => Strategy::PlanFirst,
        StrategyName::PlanDraft => Strategy::PlanDraft,
        StrategyName::StepByStep => Strategy::StepByStep,
    }
}

/// The model `args.controller` names (`None` for the rules controller),
/// saying how to get one that is missing.
pub(crate) fn chat_model(
    home: &Home,
    controller: ControllerName,
    args: &AgentOptions,
) -> anyhow::Result<Option<Arc<dyn ChatModel>>> {
    Ok(Some(match controller {
        ControllerName::Rules => return Ok(None),
        ControllerName::Local => {
            use recagent_llm::local::{LocalConfig, LocalModel};
            let path = args
                .model
                .pulled(home, ", or use --controller rules (no model needed)")?;
            Arc::new(
                LocalModel::load(LocalConfig::new(&path).with_state_dir(home.prompt_state_dir()))
                    .with_context(|| format!("loading {}", path.display()))?,
            )
        }
        ControllerName::Api => {
            let cfg = crate::model::openai_config(&args.api_model);
            Arc::new(recagent_llm::openai::OpenAiModel::new(cfg)?)
        }
    }))
}

fn controller(home: &Home, args: &AgentArgs) -> anyhow::Result<Controller> {
    Ok(match chat_model(home, args.controller, &args.options)? {
        None => Controller::Rules,
        Some(model) => Controller::Model {
            model,
            strategy: strategy(&args.options),
        },
    })
}

/// Whether the model writes the answer's opening (`--answer`).
pub(crate) fn model_answer(controller: ControllerName, args: &AgentOptions) -> bool {
    match args.answer {
        AnswerBy::Model => true,
        AnswerBy::Template => false,
        AnswerBy::Auto => controller != ControllerName::Local,
    }
}

/// Loads the catalog, recall, ranker (and pre-ranker when trained), memory
/// and controller, saying which piece is missing and how to make it.
pub fn build_agent(
    home: &Home,
    name: &str,
    args: &AgentArgs,
    bars: &Bars,
) -> anyhow::Result<Agent> {
    let catalog: Arc<Catalog> = Arc::new(store::load(home, name, bars)?);
    let retriever =
        crate::index::open_retriever(home, &catalog, &args.options.qdrant).map_err(|e| {
            // Qdrant Edge locks its write-ahead log for one process at a time.
            if format!("{e:#}").contains("WouldBlock") {
                e.context(format!(
                    "another recagent process has the indexes of {name} open; wait for it to finish or stop it"
                ))
            } else {
                e.context(format!("opening the indexes of {name}"))
            }
        })?;
    build_agent_on(home, name, args, bars, catalog, Arc::new(retriever))
}

/// [`build_agent`] over a catalog and indexes the caller has open already
/// (Qdrant Edge lets one process open them once).
pub fn build_agent_on(
    home: &Home,
    name: &str,
    args: &AgentArgs,
    bars: &Bars,
    catalog: Arc<Catalog>,
    retriever: Arc<recagent_retrieval::Retriever>,
) -> anyhow::Result<Agent> {
    let models = ModelStore::for_catalog(home, name);
    let ranker = models.load_ranker(home, &catalog, args.options.ranker.kind(), false, bars)?;
    let prerank = models.load_prerank(&catalog).ok().map(Arc::new);
    let mut funnel = Funnel::new(Arc::new(ranker), prerank);
    // The next-item model (P(pick)) pre-ranks and is combined with the CTR
    // model when it has been trained; without it the funnel ranks by the
    // CTR model, as before.
    match models.load_next(&catalog) {
        Ok(next) => funnel = funnel.with_next(Arc::new(next), Combine::default()),
        Err(e) => tracing::info!("no next-item model: {e}"),
    }
    let memory = Memory::open(&memory_path(home, name))?;
    let mut b = Agent::builder(Arc::clone(&catalog), retriever, Arc::new(memory))
        .funnel(funnel)
        .controller(controller(home, args)?)
        .config(recagent_agent::AgentConfig {
            model_answer: model_answer(args.controller, &args.options),
            ..recagent_agent::AgentConfig::default()
        });
    if let Some(dir) = &args.options.prompts {
        b = b.prompt_overrides(dir);
    }
    Ok(b.build()?)
}

fn print_turn(t: &Turn) {
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

pub fn ask(home: &Home, args: AskArgs) -> anyhow::Result<()> {
    let bars = Bars::new();
    let agent = build_agent(home, &args.name, &args.agent, &bars)?;
    let rt = crate::runtime()?;
    let mut session = if args.new {
        agent.new_session(&args.user)
    } else {
        agent.session(&args.user)
    };
    let turn = rt.block_on(session.turn(&args.text))?;
    if args.json {
        println!("{}", serde_json::to_string(&turn)?);
    } else {
        print_turn(&turn);
    }
    Ok(())
}

pub fn profile(home: &Home, cmd: ProfileCommand) -> anyhow::Result<()> {
    match cmd {
        ProfileCommand::Show { name, user, json } => {
            let m = Memory::open(&memory_path(home, &name))?;
            let p = m.profile(&user)?;
            if json {
                println!("{}", serde_json::to_string(&p)?);
                return Ok(());
            }
            if p.is_empty() {
                println!("nothing is remembered about {user:?} in {name}");
                return Ok(());
            }
            let catalog = store::load(home, &name, &recagent_core::NoProgress)?;
            let titles = |ids: &[recagent_core::ItemId]| -> String {
                ids.iter()
                    .filter_map(|i| catalog.item(*i))
                    .map(|it| it.title.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            println!("profile of {user:?} in {name}");
            for f in &p.facts {
                println!("  fact #{}: {}", f.id, f.text);
            }
            println!("  liked: {}", titles(&p.liked));
            println!("  disliked: {}", titles(&p.disliked));
            println!("  seen: {}", titles(&p.seen));
            println!("  liked genres: {}", p.liked_genres.join(", "));
            println!("  avoided genres: {}", p.avoided_genres.join(", "));
        }
        ProfileCommand::Forget { name, user } => {
            let m = Memory::open(&memory_path(home, &name))?;
            let n = m.forget(&user, &Forget::All)?;
            println!("forgot {n} records about {user:?} in {name}");
        }
        ProfileCommand::List { name } => {
            let m = Memory::open(&memory_path(home, &name))?;
            for u in m.users()? {
                println!("{u}");
            }
        }
    }
    Ok(())
}
