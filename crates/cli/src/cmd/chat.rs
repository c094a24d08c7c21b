//! `recagent chat`: sets a new machine up (each step shown, each skipped
//! when its artefact is already there), then opens the terminal UI.

use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use recagent_agent::Agent;
use recagent_catalog::{movielens, store};
use recagent_core::Home;
use recagent_ranker::ModelStore;

use crate::names::ControllerName;
use crate::open::{self, AgentArgs, AgentOptions};
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Catalog name (ml-100k is fetched on first use; others must be imported)
    #[arg(default_value = "ml-100k")]
    pub name: String,
    /// Who is chatting: a memory key (a catalog user id also brings that
    /// user's rating history)
    #[arg(long, default_value = "me")]
    pub user: String,
    /// Which controller drives the tools [default: api when
    /// $OPENAI_BASE_URL is set, else local, else rules]
    #[arg(long, value_enum)]
    pub controller: Option<ControllerName>,
    /// Set up and exit without opening the chat (for scripts and timing)
    #[arg(long)]
    pub setup_only: bool,
    #[command(flatten)]
    pub agent: AgentOptions,
}

/// Runs a command as a user would type it (`["train", "ml-100k"]`), every
/// flag at its default.
pub type RunCommand<'a> = &'a dyn Fn(&[&str]) -> anyhow::Result<()>;

/// One setup step: skipped when `done` says its artefact is there.
fn step(
    n: usize,
    of: usize,
    what: &str,
    done: impl Fn() -> bool,
    make: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if done() {
        eprintln!("[{n}/{of}] {what}: already there");
        return Ok(());
    }
    eprintln!("[{n}/{of}] {what}…");
    let t = Instant::now();
    make()?;
    eprintln!(
        "[{n}/{of}] {what}: done in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn index_ready(home: &Home, name: &str) -> bool {
    home.build_report_file(name).is_file()
        && store::load(home, name, &recagent_core::NoProgress)
            .ok()
            .is_some_and(|c| {
                recagent_retrieval::Retriever::open(
                    home,
                    &c,
                    &recagent_retrieval::Backend::Embedded,
                )
                .is_ok()
            })
}

/// The five setup steps, each the command a user would run. Returns the
/// controller to start (the rules one when the local model could not be
/// had) and notes for the user.
fn set_up(
    home: &Home,
    run_command: RunCommand,
    args: &ChatArgs,
    wanted: ControllerName,
) -> anyhow::Result<(ControllerName, Vec<String>)> {
    let name = args.name.as_str();
    let spec = args.agent.model.spec();
    let of = 5;
    if !store::exists(home, name) {
        anyhow::ensure!(
            name == movielens::NAME || name == recagent_catalog::tmdb::NAME,
            "there is no catalog {name}; import one with `recagent data import DIR --name {name}` (docs/catalogs.md), or chat about ml-100k or tmdb-5000"
        );
    }
    step(
        1,
        of,
        &format!("fetch the catalog {name}"),
        || store::exists(home, name),
        || run_command(&["data", "fetch", name]),
    )?;
    step(
        2,
        of,
        "build the indexes",
        || index_ready(home, name),
        || run_command(&["index", "build", name]),
    )?;
    let kind = args.agent.ranker.kind();
    let models = ModelStore::for_catalog(home, name);
    let rated = store::manifest(home, name).is_ok_and(|m| m.interactions > 0);
    if rated {
        step(
            3,
            of,
            &format!("train the {} ranker", kind.name()),
            || models.has_ranker(kind, false),
            || run_command(&["train", name, "--model", kind.name()]),
        )?;
        step(
            4,
            of,
            "train the next-item model",
            || models.has_next(),
            || run_command(&["train", name, "--model", "blend"]),
        )?;
    } else {
        // Nothing to learn from: the agent orders what recall finds by
        // how well it answers the request.
        eprintln!("[3/{of}] train the rankers: {name} has no ratings, nothing to train");
        eprintln!("[4/{of}] the lists follow relevance alone");
    }
    let mut notes = Vec::new();
    let mut controller = wanted;
    if wanted == ControllerName::Local {
        let pulled = step(
            5,
            of,
            &format!("pull the local model {}", spec.id),
            || recagent_llm::pull::is_pulled(home, spec),
            || run_command(&["model", "pull", spec.id]),
        );
        if let Err(e) = pulled {
            eprintln!("[5/{of}] the local model could not be had: {e:#}");
            notes.push(format!(
                "the local model {} could not be had ({e:#}); the rules controller is live. `recagent model pull {}` fetches it.",
                spec.id, spec.id
            ));
            controller = ControllerName::Rules;
        }
    } else {
        eprintln!(
            "[5/{of}] local model: not needed ({} controller)",
            wanted.label()
        );
    }
    Ok((controller, notes))
}

/// The agent with `controller`, or with the rules controller (and a note)
/// when that one cannot start. Returns the agent and its label.
fn start(
    home: &Home,
    args: &ChatArgs,
    mut controller: ControllerName,
    notes: &mut Vec<String>,
) -> anyhow::Result<(Agent, String)> {
    let bars = Bars::new();
    let build = |c: ControllerName| {
        open::agent(
            home,
            &args.name,
            &AgentArgs {
                controller: c,
                options: args.agent.clone(),
            },
            &bars,
        )
    };
    let agent = match build(controller) {
        Ok(a) => a,
        Err(e) if controller != ControllerName::Rules => {
            notes.push(format!(
                "the {} controller could not start ({e:#}); the rules controller is live",
                controller.label()
            ));
            controller = ControllerName::Rules;
            build(ControllerName::Rules)?
        }
        Err(e) => return Err(e),
    };
    let label = match controller {
        ControllerName::Rules => "rules".to_owned(),
        _ => agent.controller_name(),
    };
    Ok((agent, label))
}

pub fn run(home: &Home, run_command: RunCommand, args: ChatArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let api_configured = std::env::var_os("OPENAI_BASE_URL").is_some();
    let wanted = args.controller.unwrap_or(if api_configured {
        ControllerName::Api
    } else {
        ControllerName::Local
    });
    let (controller, mut notes) = set_up(home, run_command, &args, wanted)?;
    let (agent, label) = start(home, &args, controller, &mut notes)?;
    eprintln!(
        "ready in {:.1} s: {}, user {}, {label}",
        started.elapsed().as_secs_f64(),
        args.name,
        args.user
    );
    if args.setup_only {
        for n in &notes {
            eprintln!("note: {n}");
        }
        return Ok(());
    }
    let opts = recagent_tui::ChatOptions {
        user: args.user.clone(),
        controller: label,
        notes,
    };
    crate::runtime()?.block_on(recagent_tui::run(Arc::new(agent), opts))?;
    Ok(())
}
