//! `recagent eval`: simulated users against each controller and the
//! baselines, on the same seeded episodes, with reports and plots.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use recagent_agent::{Agent, Controller};
use recagent_catalog::split::sample_episodes;
use recagent_catalog::store;
use recagent_core::{Catalog, Episode, Home, Progress};
use recagent_llm::ChatModel;
use recagent_llm::replay::{Recorder, Replayer};
use recagent_memory::Memory;
use recagent_ranker::{Ctrl, CtrlConfig, TrainInputs};
use recagent_sim::EpisodeConfig;
use recagent_sim::crm::{EvalModels, all_episodes, capped_episodes, eval_store_for, extras_of};
use recagent_sim::report::{ArmReport, Report, Timings, write_all};
use recagent_sim::run::{ArmRun, Baseline, SimulatorKind, run_agent, run_baseline};
use recagent_sim::{Summary, round4};

use crate::names::{ControllerName, EvalNextModel, SimModel, SimulatorName};
use crate::open::{self, AgentOptions, Pieces};
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Catalog name
    #[arg(default_value = "ml-100k")]
    pub name: String,
    /// Controllers to evaluate, comma-separated (rules, local, api); the
    /// popularity and CRM-only baselines always run beside them
    #[arg(long, value_enum, value_delimiter = ',', default_value = "rules")]
    pub controller: Vec<ControllerName>,
    /// Who plays the user
    #[arg(long, value_enum, default_value_t = SimulatorName::Rules)]
    pub simulator: SimulatorName,
    /// The model that plays the user for --simulator llm
    #[arg(long, value_enum, default_value_t = SimModel::Local)]
    pub sim_model: SimModel,
    /// Episodes (users) to sample
    #[arg(long, default_value_t = 200)]
    pub episodes: usize,
    /// Seed of the episode sample
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Most turns per episode
    #[arg(long, default_value_t = 5)]
    pub turns: usize,
    /// Items shown per turn
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Cap each episode's history at the last N positives (and seen items
    /// at the last N ratings): a new user. Default: everything the user
    /// rated before the target
    #[arg(long, value_name = "N")]
    pub history_len: Option<usize>,
    /// The next-item model behind P(pick) and the next-item arm (trained
    /// once per catalog and kept; another choice trains again)
    #[arg(long, value_enum, default_value_t = EvalNextModel::Blend)]
    pub next_model: EvalNextModel,
    /// Rank the agent's lists with the CTR model alone, without the
    /// next-item model: an ablation of what the next-item model adds (the
    /// baselines are unchanged)
    #[arg(long)]
    pub ctr_only: bool,
    /// Train the evaluation ranker with KAR's item knowledge field (the
    /// knowledge `recagent knowledge generate` wrote), and fit the funnel's
    /// weight for it on validation; kept in a store of its own
    #[arg(long)]
    pub ranker_knowledge: bool,
    /// Train the evaluation ranker with CTRL's alignment stage first (row
    /// texts through all-MiniLM-L6-v2), and fit the funnel's weight for it;
    /// kept in a store of its own
    #[arg(long)]
    pub ranker_ctrl: bool,
    /// Episodes run at once without a model [default: twice the cores];
    /// anything with a model runs one episode at a time, in order
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Where the reports go
    #[arg(long, value_name = "DIR", default_value = "recagent-eval")]
    pub out: PathBuf,
    /// Record every model call into DIR/<controller>.jsonl (and
    /// DIR/simulator.jsonl)
    #[arg(long, value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Replay the model calls recorded in DIR instead of calling a model
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
    /// Print one JSON object (per arm: episodes, Hit@k by turn, AvgTurns,
    /// Recall@k, leakage, simulator validity)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub agent: AgentOptions,
}

/// Cassettes: record around a model, or replay instead of one.
#[derive(Debug, Clone)]
enum Tape {
    Live,
    Record(PathBuf),
    Replay(PathBuf),
}

impl Tape {
    fn of(args: &EvalArgs) -> Self {
        match (&args.record, &args.replay) {
            (Some(d), _) => Tape::Record(d.clone()),
            (_, Some(d)) => Tape::Replay(d.clone()),
            _ => Tape::Live,
        }
    }

    /// The model for `label`: `load` is called only when a real model is
    /// needed.
    fn model(
        &self,
        label: &str,
        load: impl FnOnce() -> anyhow::Result<Arc<dyn ChatModel>>,
    ) -> anyhow::Result<Arc<dyn ChatModel>> {
        let file = |d: &Path| d.join(format!("{label}.jsonl"));
        Ok(match self {
            Tape::Live => load()?,
            Tape::Record(d) => Arc::new(Recorder::create(load()?, &file(d))?),
            Tape::Replay(d) => Arc::new(Replayer::open(&file(d))?),
        })
    }
}

/// What an evaluation measured: the report, its timings, and each arm's
/// episodes.
struct Evaluation {
    report: Report,
    timings: Timings,
    per_arm: Vec<(String, Vec<recagent_sim::EpisodeResult>)>,
}

pub fn run(home: &Home, args: EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.episodes >= 1, "--episodes must be at least 1");
    anyhow::ensure!((1..=20).contains(&args.turns), "--turns must be 1 to 20");
    anyhow::ensure!((1..=20).contains(&args.k), "--k must be 1 to 20");
    let mut controllers = args.controller.clone();
    controllers.dedup();
    anyhow::ensure!(!controllers.is_empty(), "name at least one --controller");
    let tape = Tape::of(&args);
    // Missing cassettes are named before anything slow runs.
    if let Tape::Replay(dir) = &tape {
        check_cassettes(dir, &controllers, args.simulator)?;
    }
    let (out, catalog) = evaluate(home, &args, &controllers, &tape)?;
    write_all(&args.out, &out.report, &out.timings, &out.per_arm, &catalog)?;
    print(&out, &args)
}

/// Every cassette a replay needs is in `dir`.
fn check_cassettes(
    dir: &Path,
    controllers: &[ControllerName],
    simulator: SimulatorName,
) -> anyhow::Result<()> {
    let mut labels: Vec<&str> = controllers
        .iter()
        .filter(|c| **c != ControllerName::Rules)
        .map(|c| c.label())
        .collect();
    if matches!(simulator, SimulatorName::Llm | SimulatorName::Persona) {
        labels.push("simulator");
    }
    for label in labels {
        let path = dir.join(format!("{label}.jsonl"));
        anyhow::ensure!(
            path.is_file(),
            "no cassette {}: record one with the same command and --record {}",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// What every arm shares: the catalog, the evaluation models, recall and
/// the sampled episodes.
struct Ground {
    catalog: Arc<Catalog>,
    models: EvalModels,
    retriever: Arc<dyn recagent_agent::Recall>,
    episodes: Vec<Episode>,
}

fn ground(home: &Home, args: &EvalArgs, bars: &Bars) -> anyhow::Result<Ground> {
    let catalog: Arc<Catalog> = Arc::new(store::load(home, &args.name, bars)?);
    if catalog.interactions().is_empty() {
        anyhow::bail!(
            "catalog `{}` has no ratings, so there are no users to simulate and no targets to find; evaluate on a catalog with an interaction log, such as `recagent eval ml-100k`",
            args.name
        );
    }
    let next = match args.next_model {
        EvalNextModel::Blend => recagent_sim::crm::default_next(catalog.items().len()),
        EvalNextModel::BlendSasrec => recagent_ranker::NextKind::BlendSasRec,
    };
    let knowledge = if args.ranker_knowledge {
        Some(open::item_knowledge(
            home, &args.name, &catalog, None, false, bars,
        )?)
    } else {
        None
    };
    let encoder = if args.ranker_ctrl {
        Some(open::text_encoder(home, bars)?)
    } else {
        None
    };
    let ctrl = CtrlConfig::default();
    let inputs = TrainInputs {
        knowledge: knowledge.as_ref(),
        users: None,
        ctrl: encoder.as_ref().map(|e| Ctrl {
            config: &ctrl,
            encoder: e,
        }),
    };
    let models = EvalModels::ensure_with(
        home,
        &eval_store_for(home, &args.name, &extras_of(&inputs)),
        &catalog,
        args.agent.ranker.kind(),
        next,
        &inputs,
        bars,
    )
    .with_context(|| format!("training the evaluation ranker of {}", args.name))?;
    let retriever: Arc<dyn recagent_agent::Recall> = Arc::new(
        open::retriever(home, &catalog, &args.agent.qdrant)
            .with_context(|| format!("opening the indexes of {}", args.name))?,
    );
    let pool = match args.history_len {
        Some(n) => capped_episodes(&catalog, n),
        None => all_episodes(&catalog),
    };
    let episodes = sample_episodes(&pool, args.episodes, args.seed);
    Ok(Ground {
        catalog,
        models,
        retriever,
        episodes,
    })
}

impl Ground {
    /// An agent over the ground, with a memory of its own.
    fn agent(
        &self,
        args: &EvalArgs,
        controller: Controller,
        answer: bool,
        describe: bool,
    ) -> anyhow::Result<Arc<Agent>> {
        let pieces = Pieces {
            catalog: Arc::clone(&self.catalog),
            recall: Arc::clone(&self.retriever),
            memory: Arc::new(Memory::in_memory()?),
            funnel: Some(if args.ctr_only {
                self.models.funnel.without_next()
            } else {
                self.models.funnel.clone()
            }),
        };
        Ok(Arc::new(pieces.agent(
            controller,
            answer,
            describe,
            &args.agent,
        )?))
    }
}

/// The chat models of the controllers, opened when first asked for; one
/// local model serves every role that needs it.
struct ChatModels<'a> {
    home: &'a Home,
    opts: &'a AgentOptions,
    local: Option<Arc<dyn ChatModel>>,
}

impl ChatModels<'_> {
    fn get(&mut self, c: ControllerName) -> anyhow::Result<Arc<dyn ChatModel>> {
        if c == ControllerName::Local
            && let Some(m) = &self.local
        {
            return Ok(Arc::clone(m));
        }
        let m = open::chat_model(self.home, c, self.opts.model, &self.opts.api_model, 1)?
            .ok_or_else(|| anyhow::anyhow!("the rules controller has no model"))?;
        if c == ControllerName::Local {
            self.local = Some(Arc::clone(&m));
        }
        Ok(m)
    }
}

/// Who plays the user (`--simulator`), with its model when it speaks.
fn simulator(
    args: &EvalArgs,
    tape: &Tape,
    ground: &Ground,
    chat: &mut ChatModels,
) -> anyhow::Result<SimulatorKind> {
    Ok(match args.simulator {
        SimulatorName::Rules => SimulatorKind::Rules,
        SimulatorName::RulesFacts => SimulatorKind::RulesFacts,
        SimulatorName::TargetFree => SimulatorKind::TargetFree,
        SimulatorName::Llm | SimulatorName::Persona => {
            let model = tape.model("simulator", || chat.get(args.sim_model.controller()))?;
            if args.simulator == SimulatorName::Llm {
                SimulatorKind::Voiced { model }
            } else {
                SimulatorKind::Persona {
                    model,
                    reader: ground.agent(args, Controller::Rules, false, false)?,
                }
            }
        }
    })
}

/// Runs the baselines and each controller on the same sampled episodes.
fn evaluate(
    home: &Home,
    args: &EvalArgs,
    controllers: &[ControllerName],
    tape: &Tape,
) -> anyhow::Result<(Evaluation, Arc<Catalog>)> {
    let started = Instant::now();
    let bars = Bars::new();
    let ground = ground(home, args, &bars)?;
    let (catalog, models, episodes) = (&ground.catalog, &ground.models, &ground.episodes);
    let cfg = EpisodeConfig {
        k: args.k,
        max_turns: args.turns,
        ..EpisodeConfig::default()
    };
    let mut chat = ChatModels {
        home,
        opts: &args.agent,
        local: None,
    };
    let sim = simulator(args, tape, &ground, &mut chat)?;
    let concurrency = args.concurrency.unwrap_or_else(|| {
        2 * std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
    });
    let rt = crate::runtime()?;
    let mut runs: Vec<ArmRun> = Vec::new();
    for b in [Baseline::Popularity, Baseline::NextItem, Baseline::CrmOnly] {
        runs.push(run_baseline(
            b, models, catalog, episodes, &sim, args.k, &bars,
        )?);
    }
    for &c in controllers {
        let label = c.label();
        let (controller, answer) = match c {
            ControllerName::Rules => (Controller::Rules, false),
            _ => (
                Controller::Model {
                    model: tape.model(label, || chat.get(c))?,
                    strategy: args.agent.strategy.into(),
                },
                open::model_answer(c, &args.agent),
            ),
        };
        let with_model = c != ControllerName::Rules || sim.uses_model();
        let agent = ground.agent(
            args,
            controller,
            answer,
            open::describe_unknown(c, &args.agent),
        )?;
        let run = rt.block_on(run_agent(
            label,
            agent,
            episodes,
            &sim,
            cfg,
            if with_model { 1 } else { concurrency },
            &bars as &dyn Progress,
        ))?;
        runs.push(run);
    }
    bars.finish();
    let wall = started.elapsed().as_secs_f64();
    let report = report(args, sim.name(), episodes, models, &runs);
    let timings = timings(wall, &runs);
    let per_arm = runs.into_iter().map(|r| (r.name, r.results)).collect();
    Ok((
        Evaluation {
            report,
            timings,
            per_arm,
        },
        Arc::clone(&ground.catalog),
    ))
}

/// How long the whole evaluation and each arm took.
fn timings(wall: f64, runs: &[ArmRun]) -> Timings {
    let episodes_run: usize = runs.iter().map(|r| r.results.len()).sum();
    let run_s: f64 = runs.iter().map(|r| r.timings.wall_s).sum();
    Timings {
        wall_s: round4(wall),
        episodes_per_s: if run_s > 0.0 {
            round4(episodes_run as f64 / run_s)
        } else {
            0.0
        },
        arms: runs.iter().map(|r| r.timings.clone()).collect(),
    }
}

/// The report of the arms run, with what the episodes' histories held.
fn report(
    args: &EvalArgs,
    simulator: &str,
    episode_list: &[Episode],
    models: &EvalModels,
    runs: &[ArmRun],
) -> Report {
    Report {
        catalog: args.name.clone(),
        seed: args.seed,
        simulator: simulator.to_owned(),
        k: args.k,
        max_turns: args.turns,
        episodes: episode_list.len(),
        history: {
            let h = match args.history_len {
                Some(n) => format!("the last {n} positives and ratings before the target"),
                None => "all rated before the target".into(),
            };
            if args.ctr_only {
                format!("{h}; the agent ranks with the CTR model alone (--ctr-only)")
            } else {
                h
            }
        },
        ranker: models.manifest.clone(),
        next_masked: Some(recagent_sim::crm::next_masked(&models.next, episode_list)),
        arms: runs
            .iter()
            .map(|r| ArmReport {
                name: r.name.clone(),
                kind: if r.conversational {
                    "agent"
                } else {
                    "baseline"
                }
                .into(),
                summary: Summary::of(&r.results, args.turns, r.conversational),
            })
            .collect(),
    }
}

fn print(out: &Evaluation, args: &EvalArgs) -> anyhow::Result<()> {
    if args.json {
        let mut v = serde_json::to_value(&out.report)?;
        v["timings"] = serde_json::to_value(&out.timings)?;
        v["out"] = args.out.display().to_string().into();
        println!("{v}");
    } else {
        print!(
            "{}",
            recagent_sim::report::markdown(&out.report, &out.timings)
        );
        println!("\nreports in {}", args.out.display());
    }
    Ok(())
}
