//! Simulated users that make the agent's quality measurable.
//!
//! An [`Episode`] (from the catalog crate's leave-last-positive-out split)
//! names a user, the held-out target and the positives before it. A
//! [`Simulator`] knows the target's facts but never its title, and talks to
//! an agent session turn by turn; [`run_episode`] counts a hit only when the
//! target's **id** is in the list shown. [`Summary`] turns episodes into
//! Hit@k by turn and average turns.
//!
//! No leakage through the recommender: the session's user is a fresh key
//! (never a catalog user, whose log holds the target), and its profile is
//! seeded with the episode's history only, as liked and seen items.

use recagent_agent::Agent;
use recagent_core::{Episode, Item, ItemId};
use recagent_memory::ItemFeedback;
use serde::{Deserialize, Serialize};

pub mod rules;

pub use rules::RuleSimulator;

/// Errors of a simulation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Agent(#[from] recagent_agent::Error),
    #[error(transparent)]
    Memory(#[from] recagent_memory::Error),
    #[error("episode target {0} is not in the catalog")]
    UnknownTarget(u32),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something a simulator said about its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Statement {
    /// "I want a Comedy": the target has this genre.
    Genre { genre: String },
    /// "From the 1990s": the target's year is in this decade.
    Decade { start: u16 },
}

impl Statement {
    /// Whether the statement is true of `target`: simulator validity is the
    /// share of statements for which this holds.
    pub fn is_true_of(&self, target: &Item) -> bool {
        match self {
            Statement::Genre { genre } => target.genres.iter().any(|g| g == genre),
            Statement::Decade { start } => target
                .year
                .is_some_and(|y| (*start..start + 10).contains(&y)),
        }
    }
}

/// One simulated user.
pub trait Simulator: Send {
    /// What the user says first.
    fn opening(&mut self) -> String;
    /// What the user says after seeing a list that missed the target.
    fn reply(&mut self, shown: &[ItemId]) -> String;
    /// Every attribute stated so far.
    fn statements(&self) -> &[Statement];
}

/// Limits of one episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpisodeConfig {
    /// Items shown per turn.
    pub k: usize,
    pub max_turns: usize,
}

impl Default for EpisodeConfig {
    fn default() -> Self {
        Self {
            k: 10,
            max_turns: 5,
        }
    }
}

/// What happened in one episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeResult {
    pub target: ItemId,
    /// The 1-based turn whose list held the target, if any.
    pub hit_turn: Option<usize>,
    /// The target's 0-based rank in that list.
    pub hit_rank: Option<usize>,
    pub turns: usize,
    /// What the simulated user said, turn by turn.
    pub utterances: Vec<String>,
    pub statements: usize,
    pub true_statements: usize,
}

/// Runs one episode: the simulator talks until the target is shown or the
/// turns run out. `user` must be a key no catalog user has.
pub async fn run_episode(
    agent: &Agent,
    episode: &Episode,
    sim: &mut dyn Simulator,
    user: &str,
    cfg: EpisodeConfig,
) -> Result<EpisodeResult> {
    let target = agent
        .catalog()
        .item(episode.target)
        .ok_or(Error::UnknownTarget(episode.target.0))?
        .clone();
    let memory = agent.memory();
    memory.forget(user, &recagent_memory::Forget::All)?;
    memory.set_items(user, &episode.history, ItemFeedback::Liked)?;
    memory.set_items(user, &episode.history, ItemFeedback::Seen)?;
    let mut session = agent.session(user);
    let mut utterances = Vec::new();
    let mut text = sim.opening();
    let (mut hit_turn, mut hit_rank) = (None, None);
    let mut turns = 0;
    for turn in 1..=cfg.max_turns {
        turns = turn;
        utterances.push(text.clone());
        let t = session.turn(&text).await?;
        let shown: Vec<ItemId> = t.items.iter().take(cfg.k).map(|r| r.id).collect();
        if let Some(rank) = shown.iter().position(|i| *i == episode.target) {
            hit_turn = Some(turn);
            hit_rank = Some(rank);
            break;
        }
        text = sim.reply(&shown);
    }
    memory.forget(user, &recagent_memory::Forget::All)?;
    let statements = sim.statements();
    Ok(EpisodeResult {
        target: episode.target,
        hit_turn,
        hit_rank,
        turns,
        utterances,
        statements: statements.len(),
        true_statements: statements.iter().filter(|s| s.is_true_of(&target)).count(),
    })
}

/// Episodes summed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub episodes: usize,
    /// `hit_at[k][t]`: the share of episodes whose target was in the top k
    /// of a list shown by turn t + 1, for k = 1, 5, 10.
    pub hit_at_1: Vec<f64>,
    pub hit_at_5: Vec<f64>,
    pub hit_at_10: Vec<f64>,
    /// Turns to a hit, a miss counted as `max_turns + 1`.
    pub avg_turns: f64,
    /// The share of the simulators' statements that are true of the target.
    pub sim_truth_rate: f64,
}

impl Summary {
    pub fn of(results: &[EpisodeResult], max_turns: usize) -> Self {
        let n = results.len().max(1) as f64;
        let by_turn = |k: usize| -> Vec<f64> {
            (1..=max_turns)
                .map(|t| {
                    results
                        .iter()
                        .filter(|r| {
                            r.hit_turn.is_some_and(|h| h <= t) && r.hit_rank.is_some_and(|x| x < k)
                        })
                        .count() as f64
                        / n
                })
                .collect()
        };
        let statements: usize = results.iter().map(|r| r.statements).sum();
        let true_ones: usize = results.iter().map(|r| r.true_statements).sum();
        Self {
            episodes: results.len(),
            hit_at_1: by_turn(1),
            hit_at_5: by_turn(5),
            hit_at_10: by_turn(10),
            avg_turns: results
                .iter()
                .map(|r| r.hit_turn.unwrap_or(max_turns + 1) as f64)
                .sum::<f64>()
                / n,
            sim_truth_rate: if statements == 0 {
                1.0
            } else {
                true_ones as f64 / statements as f64
            },
        }
    }
}
