//! `recagent knowledge …`: LLM-written item and user knowledge (KAR).

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use recagent_catalog::store;
use recagent_core::Home;
use recagent_knowledge::users::{self, DEFAULT_WINDOW};
use recagent_knowledge::{DEFAULT_PARALLEL, DEFAULT_THRESHOLD, Files, Outcome, Settings};
use recagent_llm::ChatModel;

use crate::names::{ChatModelName, ControllerName, KnowledgeModel};
use crate::open;
use crate::progress::Bars;

#[derive(Debug, Subcommand)]
pub enum KnowledgeCommand {
    /// Write what a model knows about each item the catalog has no
    /// overview for (premise, setting, tone, audience), kept only where the
    /// model's genres and year agree with the catalog and the people it
    /// names are not mostly wrong; resumable
    Generate {
        /// Catalog name
        name: String,
        /// Which model writes (the 1.5B by default: its knowledge doubled
        /// dense recall on the labelled descriptions, the 0.5B's bought
        /// nothing; docs/knowledge.md)
        #[arg(long, value_enum, default_value_t = KnowledgeModel::Qwen15)]
        model: KnowledgeModel,
        /// The model name sent to the endpoint for --model api
        #[arg(long, env = "RECAGENT_API_MODEL", default_value = "gpt-4o-mini")]
        api_model: String,
        /// Only the first N items (in catalog order)
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Keep a text when its agreement score (0.7 × genre F1 + 0.3 ×
        /// year within one) is at least this
        #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
        threshold: f64,
        /// Items generated at once: sequences decoded in one batch by a
        /// local model, concurrent requests to an endpoint
        #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLEL)]
        parallel: usize,
        /// Also ask about the first N films that have an overview and
        /// credited people, to measure how often the model names wrong
        /// people (their texts are never kept: the real text comes first);
        /// with --limit 0, only about them
        #[arg(long, value_name = "N", default_value_t = 0)]
        check: usize,
        /// Print the manifest and this run's figures as JSON
        #[arg(long)]
        json: bool,
    },
    /// KAR's user side: one preference-reasoning text per user (genre,
    /// people, era, character, theme, mood, acclaim, production,
    /// soundtrack), written from the user's earliest ratings only; a split
    /// that uses the texts keeps those ratings in training. Resumable;
    /// writes users.jsonl beside the item knowledge
    Users {
        /// Catalog name (it needs ratings)
        name: String,
        /// Which model writes
        #[arg(long, value_enum, default_value_t = KnowledgeModel::Qwen15)]
        model: KnowledgeModel,
        /// The model name sent to the endpoint for --model api
        #[arg(long, env = "RECAGENT_API_MODEL", default_value = "gpt-4o-mini")]
        api_model: String,
        /// The earliest ratings of each user a text is written from
        #[arg(long, value_name = "K", default_value_t = DEFAULT_WINDOW)]
        window: usize,
        /// Only the first N users (in catalog order)
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Users written at once
        #[arg(long, value_name = "N", default_value_t = 16)]
        parallel: usize,
        /// Print this run's figures as JSON
        #[arg(long)]
        json: bool,
    },
}

pub fn run(home: &Home, cmd: KnowledgeCommand) -> anyhow::Result<()> {
    match cmd {
        KnowledgeCommand::Users {
            name,
            model,
            api_model,
            window,
            limit,
            parallel,
            json,
        } => users(
            home,
            &name,
            (model, &api_model),
            window,
            limit,
            parallel,
            json,
        ),
        KnowledgeCommand::Generate {
            name,
            model,
            api_model,
            limit,
            threshold,
            parallel,
            check,
            json,
        } => generate(
            home,
            &name,
            (model, &api_model),
            &Settings {
                limit,
                threshold,
                parallel,
                check,
            },
            json,
        ),
    }
}

fn generate(
    home: &Home,
    name: &str,
    (model, api_model): (KnowledgeModel, &str),
    settings: &Settings,
    json: bool,
) -> anyhow::Result<()> {
    let (threshold, parallel) = (settings.threshold, settings.parallel);
    anyhow::ensure!(
        (0.0..=1.0).contains(&threshold),
        "--threshold must be 0 to 1"
    );
    anyhow::ensure!((1..=64).contains(&parallel), "--parallel must be 1 to 64");
    let bars = Bars::new();
    let catalog = store::load(home, name, &bars)?;
    let chat = writer(home, model, api_model)?;
    let sha = model.local().map(|local| local.spec().sha256.to_owned());
    let files = open::knowledge_files(home, name, model);
    let out = crate::runtime()?.block_on(recagent_knowledge::generate(
        chat.as_ref(),
        sha,
        &catalog,
        &files,
        settings,
        &bars,
    ))?;
    print(&out, &files, parallel, json);
    Ok(())
}

/// `knowledge users`: a text per user from the user's window.
fn users(
    home: &Home,
    name: &str,
    (model, api_model): (KnowledgeModel, &str),
    window: usize,
    limit: Option<usize>,
    parallel: usize,
    json: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(window >= 1, "--window must be at least 1");
    anyhow::ensure!((1..=64).contains(&parallel), "--parallel must be 1 to 64");
    let bars = Bars::new();
    let catalog = store::load(home, name, &bars)?;
    anyhow::ensure!(
        !catalog.interactions().is_empty(),
        "catalog `{name}` has no ratings, so there are no users to write about; use a catalog with an interaction log, such as ml-100k"
    );
    let chat = writer(home, model, api_model)?;
    let mut windows = users::windows(&catalog, window);
    windows.truncate(limit.unwrap_or(usize::MAX));
    let path = open::knowledge_files(home, name, model).users();
    let out = crate::runtime()?.block_on(users::generate(
        chat.as_ref(),
        &catalog,
        &windows,
        &path,
        parallel,
        &bars,
    ))?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "path": path, "window": window, "new": out.new, "total": out.total,
                "parallel": parallel, "seconds": out.seconds,
                "prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
            })
        );
    } else {
        println!(
            "{} new, {} users written by {} from their first {window} ratings, in {:.0} s ({:.1} tokens/s)",
            out.new,
            out.total,
            chat.name(),
            out.seconds,
            out.completion_tokens as f64 / out.seconds.max(1e-9)
        );
        println!("written to {}", path.display());
    }
    Ok(())
}

/// The model that writes: a local model (saying how to get it or what else
/// to pass when it is missing) or the endpoint asked for `api_model`.
fn writer(
    home: &Home,
    model: KnowledgeModel,
    api_model: &str,
) -> anyhow::Result<Arc<dyn ChatModel>> {
    let (controller, local) = match model.local() {
        None => (ControllerName::Api, ChatModelName::Qwen05),
        Some(local) => (ControllerName::Local, local),
    };
    if controller == ControllerName::Local {
        let other = if model == KnowledgeModel::Qwen15 {
            "qwen2.5-0.5b"
        } else {
            "qwen2.5-1.5b"
        };
        open::local_model(
            home,
            local,
            &format!(
                ", pass --model {other} for another local model, or --model api for an OpenAI-compatible endpoint"
            ),
        )?;
    }
    open::chat_model(home, controller, local, api_model, 1)?.context("knowledge needs a model")
}

fn print(out: &Outcome, files: &Files, parallel: usize, json: bool) {
    let m = &out.manifest;
    if json {
        let run = serde_json::json!({
            "manifest": m,
            "new": out.new,
            "parallel": parallel,
            "seconds": out.seconds,
            "prompt_tokens": out.prompt_tokens,
            "completion_tokens": out.completion_tokens,
        });
        println!("{run}");
    } else {
        println!(
            "{} new, {} of {} items generated by {}; {} kept by the agreement gate ({:.0}%)",
            out.new,
            m.generated,
            m.items,
            m.model,
            m.kept,
            100.0 * m.kept as f64 / m.generated.max(1) as f64
        );
        println!(
            "{} items have real text (an overview) and get no model text",
            m.real_text
        );
        if m.people_named > 0 {
            println!(
                "people named for films the catalog credits: {} of {} wrong ({:.0}%)",
                m.people_wrong,
                m.people_named,
                100.0 * f64::from(m.people_wrong) / f64::from(m.people_named)
            );
        }
        if m.keywords_named > 0 {
            println!(
                "theme words named for films with keywords or an overview: {} of {} found there ({:.0}%)",
                m.keywords_found,
                m.keywords_named,
                100.0 * f64::from(m.keywords_found) / f64::from(m.keywords_named)
            );
        }
        if out.new > 0 {
            println!(
                "{:.1} s for {} items: {:.1} generated tokens/s, {:.2} s per item ({} at once)",
                out.seconds,
                out.new,
                out.completion_tokens as f64 / out.seconds.max(1e-9),
                out.seconds / out.new as f64,
                parallel
            );
        }
        println!("knowledge: {}", files.knowledge().display());
    }
}
