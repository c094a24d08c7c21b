//! Many episodes: each arm (a controller or a baseline) over the same
//! seeded sample, with bounded concurrency and results in episode order,
//! so that a rerun gives the same report.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use recagent_agent::Agent;
use recagent_core::{Catalog, Episode, Item, Progress, Stage};
use recagent_llm::ChatModel;

use crate::crm::EvalModels;
use crate::report::ArmTimings;
use crate::{
    EpisodeConfig, EpisodeResult, PersonaSimulator, Result, RuleSimulator, Simulator,
    TargetFreeSimulator, TurnTiming, VoicedSimulator, run_episode,
};

/// Which simulated user talks to the agents.
#[derive(Debug, Clone)]
pub enum SimulatorKind {
    Rules,
    /// The rules agenda that also reveals the target's people and themes.
    RulesFacts,
    /// The rules agenda in a model's words ([`VoicedSimulator`]).
    Voiced {
        model: Arc<dyn ChatModel>,
    },
    /// A free LLM persona; `reader` parses what it says into statements.
    Persona {
        model: Arc<dyn ChatModel>,
        reader: Arc<Agent>,
    },
    TargetFree,
}

impl SimulatorKind {
    pub fn name(&self) -> &'static str {
        match self {
            SimulatorKind::Rules => "rules",
            SimulatorKind::RulesFacts => "rules-facts",
            SimulatorKind::Voiced { .. } => "llm",
            SimulatorKind::Persona { .. } => "persona",
            SimulatorKind::TargetFree => "target-free",
        }
    }

    /// Whether it calls a model (its calls must then run in order, one at a
    /// time, for cassettes to replay).
    pub fn uses_model(&self) -> bool {
        matches!(
            self,
            SimulatorKind::Voiced { .. } | SimulatorKind::Persona { .. }
        )
    }

    /// The simulator for one episode; `None` when its history gives a
    /// target-free simulator no preference.
    pub fn build(
        &self,
        catalog: &Catalog,
        episode: &Episode,
    ) -> Result<Option<Box<dyn Simulator>>> {
        let target = catalog
            .item(episode.target)
            .ok_or(crate::Error::UnknownTarget(episode.target.0))?;
        let history: Vec<Item> = episode
            .history
            .iter()
            .filter_map(|i| catalog.item(*i).cloned())
            .collect();
        Ok(match self {
            SimulatorKind::Rules => Some(Box::new(RuleSimulator::new(target, &history))),
            SimulatorKind::RulesFacts => {
                Some(Box::new(RuleSimulator::with_facts(target, &history)))
            }
            SimulatorKind::Voiced { model } => Some(Box::new(VoicedSimulator::new(
                Arc::clone(model),
                target,
                &history,
                catalog.genre_vocab(),
            )?)),
            SimulatorKind::Persona { model, reader } => Some(Box::new(PersonaSimulator::new(
                Arc::clone(model),
                Arc::clone(reader),
                target,
                &history,
            )?)),
            SimulatorKind::TargetFree => {
                TargetFreeSimulator::new(&history).map(|s| Box::new(s) as Box<dyn Simulator>)
            }
        })
    }
}

/// The results of one arm, and its timings.
#[derive(Debug, Clone)]
pub struct ArmRun {
    pub name: String,
    pub conversational: bool,
    pub results: Vec<EpisodeResult>,
    pub timings: ArmTimings,
}

/// The memory key of an episode's simulated user: never a catalog user's.
pub fn episode_user(arm: &str, episode: &Episode) -> String {
    format!("eval:{arm}:{}", episode.user.0)
}

/// Runs every episode against `agent`, `concurrency` at a time (1 when a
/// model is involved), results in episode order. Episodes for which the
/// simulator has nothing to say are skipped.
pub async fn run_agent(
    name: &str,
    agent: Arc<Agent>,
    episodes: &[Episode],
    sim: &SimulatorKind,
    cfg: EpisodeConfig,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<ArmRun> {
    let started = Instant::now();
    progress.stage(&format!("episodes: {name}"), Some(episodes.len() as u64));
    let mut tasks = futures::stream::iter(episodes.iter().cloned().map(|ep| {
        let agent = Arc::clone(&agent);
        let sim = sim.clone();
        let user = episode_user(name, &ep);
        tokio::spawn(async move {
            let Some(mut s) = sim.build(agent.catalog(), &ep)? else {
                return Ok(None);
            };
            run_episode(&agent, &ep, s.as_mut(), &user, cfg)
                .await
                .map(Some)
        })
    }))
    .buffered(concurrency.max(1));
    let mut results = Vec::with_capacity(episodes.len());
    while let Some(joined) = tasks.next().await {
        let r: Result<Option<EpisodeResult>> = joined
            .unwrap_or_else(|e| Err(crate::Error::Prompt(format!("an episode task failed: {e}"))));
        if let Some(r) = r? {
            results.push(r);
        }
        progress.advance(1);
    }
    progress.finish();
    let turns: Vec<TurnTiming> = results
        .iter()
        .flat_map(|r| r.turns.iter().map(|t| t.timing.clone()))
        .collect();
    let timings = ArmTimings::of(name, started.elapsed().as_secs_f64(), results.len(), &turns);
    Ok(ArmRun {
        name: name.to_owned(),
        conversational: true,
        results,
        timings,
    })
}

/// Which baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The most popular unseen items.
    Popularity,
    /// The next-item model alone on the history.
    NextItem,
    /// The ranker funnel on the history alone, no conversation.
    CrmOnly,
}

impl Baseline {
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Popularity => "popularity",
            Baseline::NextItem => "next-item",
            Baseline::CrmOnly => "crm-only",
        }
    }
}

/// Shows each episode one list of 50 (the first `k` count as shown) and
/// hears nothing back. With a target-free simulator the list is judged by
/// the simulator's preferences, as the agents' lists are.
pub fn run_baseline(
    which: Baseline,
    models: &EvalModels,
    catalog: &Catalog,
    episodes: &[Episode],
    sim: &SimulatorKind,
    k: usize,
    progress: &dyn Progress,
) -> Result<ArmRun> {
    let started = Instant::now();
    progress.stage(
        &format!("episodes: {}", which.name()),
        Some(episodes.len() as u64),
    );
    let mut results = Vec::with_capacity(episodes.len());
    let mut turns = Vec::with_capacity(episodes.len());
    for ep in episodes {
        let t = Instant::now();
        let pool = match which {
            Baseline::Popularity => models.popular_list(ep, 50),
            Baseline::NextItem => models.next_list(ep, 50),
            Baseline::CrmOnly => models.crm_list(catalog, ep, 50)?,
        };
        let micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
        turns.push(TurnTiming {
            total_micros: micros,
            stages: vec![(Stage::Rank, micros)],
            model_ms: 0.0,
        });
        let mut r = EpisodeResult::static_list(ep, pool, k);
        if let SimulatorKind::TargetFree = sim {
            let Some(judge) = sim.build(catalog, ep)? else {
                progress.advance(1);
                continue;
            };
            let shown: Vec<Item> = r
                .final_pool
                .iter()
                .take(k)
                .filter_map(|i| catalog.item(*i).cloned())
                .collect();
            let ok = judge.accepts(&shown) == Some(true);
            r.hit_turn = ok.then_some(1);
            r.hit_rank = ok.then_some(0);
        }
        results.push(r);
        progress.advance(1);
    }
    progress.finish();
    let timings = ArmTimings::of(
        which.name(),
        started.elapsed().as_secs_f64(),
        results.len(),
        &turns,
    );
    Ok(ArmRun {
        name: which.name().to_owned(),
        conversational: false,
        results,
        timings,
    })
}
