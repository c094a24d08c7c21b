//! Simulated users that make the agent's quality measurable.
//!
//! An [`Episode`] (from the catalog crate's leave-last-positive-out split)
//! names a user, the held-out target and the positives before it. A
//! [`Simulator`] knows the target's facts but never its title, and talks to
//! an agent session turn by turn; [`run_episode`] counts a hit only when the
//! target's **id** is in the list shown. [`Summary`] turns episodes into
//! Hit@k by turn, average turns, Recall@k, leakage and simulator validity;
//! [`report`] writes them out with plots.
//!
//! Neither channel leaks:
//! * **Recommender.** The session's memory key is fresh, its profile is
//!   seeded with the episode's history only, the ranker scores it as the
//!   catalog user with that history (never the user's log, which holds the
//!   target), and [`run_episode`] fails with
//!   [`Error::RankerSawTarget`] if the ranker was ever handed the target.
//!   The ranker itself comes from [`crm::EvalModels`], trained with every
//!   target held out.
//! * **Text.** Every utterance passes the [`LeakGuard`]: one that names or
//!   nearly names the target is regenerated, then redacted.

use futures::future::BoxFuture;
use recagent_agent::Agent;
use recagent_core::{Episode, Item, ItemId};
use recagent_memory::ItemFeedback;
use serde::{Deserialize, Serialize};

pub mod crm;
pub mod guard;
pub mod llm;
pub mod report;
pub mod rules;
pub mod run;
pub mod target_free;
pub mod voice;

pub use guard::LeakGuard;
pub use llm::PersonaSimulator;
pub use rules::RuleSimulator;
pub use target_free::TargetFreeSimulator;
pub use voice::{VoiceStats, VoicedSimulator};

/// Errors of a simulation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Agent(#[from] recagent_agent::Error),
    #[error(transparent)]
    Memory(#[from] recagent_memory::Error),
    #[error(transparent)]
    Llm(#[from] recagent_llm::Error),
    #[error(transparent)]
    Ranker(#[from] recagent_ranker::Error),
    #[error("episode target {0} is not in the catalog")]
    UnknownTarget(u32),
    #[error(
        "the ranker was given the target {target} in the history of turn {turn}: the evaluation would leak"
    )]
    RankerSawTarget { target: u32, turn: usize },
    #[error("simulator prompt: {0}")]
    Prompt(String),
    #[error("writing the report in {path}: {reason}")]
    Report { path: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something a simulator said about what it wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Statement {
    /// "I want a Comedy": the target has this genre.
    Genre { genre: String },
    /// "No horror": the target does not have this genre.
    NotGenre { genre: String },
    /// "From the 1990s": the target's year is in this decade.
    Decade { start: u16 },
    /// "After 1985", "before 1970": the target's year is inside the bounds.
    Years { min: Option<u16>, max: Option<u16> },
    /// "Something like Toy Story": the target shares a genre with it.
    LikeTitle { item: ItemId },
    /// "With Tom Hanks", "directed by Stanley Kubrick": the target credits
    /// this person (from the catalog's facts).
    Person { name: String, directed: bool },
    /// "About a heist": one of the target's keywords.
    Theme { keyword: String },
}

impl Statement {
    /// Whether the statement is true of `target` (looking up titles in
    /// `items`): simulator validity is the share of statements for which
    /// this holds.
    pub fn is_true_of(&self, target: &Item, items: &[Item]) -> bool {
        match self {
            Statement::Genre { genre } => target.genres.iter().any(|g| g == genre),
            Statement::NotGenre { genre } => !target.genres.iter().any(|g| g == genre),
            Statement::Decade { start } => target
                .year
                .is_some_and(|y| (*start..start + 10).contains(&y)),
            Statement::Years { min, max } => target
                .year
                .is_some_and(|y| min.is_none_or(|m| y >= m) && max.is_none_or(|m| y <= m)),
            Statement::LikeTitle { item } => items.get(item.index()).is_some_and(|other| {
                other.id != target.id && other.genres.iter().any(|g| target.genres.contains(g))
            }),
            Statement::Person { name, .. } => target.credits(&recagent_core::person_key(name)),
            Statement::Theme { keyword } => target
                .keywords
                .iter()
                .any(|k| recagent_core::words(k) == recagent_core::words(keyword)),
        }
    }
}

/// One simulated user.
pub trait Simulator: Send {
    /// What the user says first.
    fn opening(&mut self) -> BoxFuture<'_, Result<String>>;
    /// What the user says after seeing a list that missed.
    fn reply<'a>(&'a mut self, shown: &'a [Item]) -> BoxFuture<'a, Result<String>>;
    /// Another try at the last utterance, which named the target; `None`
    /// when the simulator cannot say it differently (it is then redacted).
    fn regenerate(&mut self) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async { Ok(None) })
    }
    /// Every attribute stated so far.
    fn statements(&self) -> &[Statement];
    /// For a simulator with no single target: whether `shown` satisfies it.
    /// `None` (the default) means success is the target's id in the list.
    fn accepts(&self, _shown: &[Item]) -> Option<bool> {
        None
    }
    /// Whether statement `s` is true: of the target by default; of its own
    /// preferences for a target-free simulator.
    fn states_truly(&self, s: &Statement, target: &Item, items: &[Item]) -> bool {
        s.is_true_of(target, items)
    }
    /// Model calls made so far (an LLM simulator's cost).
    fn model_calls(&self) -> usize {
        0
    }
    /// How a voiced simulator's words fared against its acts (`None` for a
    /// simulator whose words are its own).
    fn voice_stats(&self) -> Option<VoiceStats> {
        None
    }
}

/// Limits of one episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpisodeConfig {
    /// Items shown per turn.
    pub k: usize,
    pub max_turns: usize,
    /// Times an utterance that leaks is regenerated before it is redacted.
    pub regenerate: usize,
}

impl Default for EpisodeConfig {
    fn default() -> Self {
        Self {
            k: 10,
            max_turns: 5,
            regenerate: 2,
        }
    }
}

/// One turn of an episode: what was said, shown and spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    /// What the agent read (after the guard).
    pub utterance: String,
    /// Whether the simulator's first draft named the target.
    pub leaked: bool,
    /// Whether what the agent read still named it.
    pub leaked_after_guard: bool,
    pub shown: Vec<ItemId>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub failed_tool_calls: u32,
    pub repairs: u32,
    pub model_failures: u32,
    /// Timings, kept apart from the deterministic report.
    #[serde(skip)]
    pub timing: TurnTiming,
}

/// How long a turn took, per stage (µs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnTiming {
    pub total_micros: u64,
    pub stages: Vec<(recagent_core::Stage, u64)>,
    pub model_ms: f64,
}

/// What happened in one episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeResult {
    /// The catalog user the episode came from.
    pub user: u32,
    pub target: ItemId,
    /// The 1-based turn whose list held the target (or satisfied a
    /// target-free simulator), if any.
    pub hit_turn: Option<usize>,
    /// The target's 0-based rank in that list (0 for a target-free hit).
    pub hit_rank: Option<usize>,
    /// The last turn's ranked pool (up to 50), for Recall@k.
    pub final_pool: Vec<ItemId>,
    pub statements: usize,
    pub true_statements: usize,
    pub turns: Vec<TurnRecord>,
    /// A voiced simulator's drafts: regenerated and templated utterances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceStats>,
}

impl EpisodeResult {
    /// Whether the target was shown in the top `k` by turn `t`.
    fn hit_by(&self, t: usize, k: usize) -> bool {
        self.hit_turn.is_some_and(|h| h <= t) && self.hit_rank.is_some_and(|x| x < k)
    }

    /// A one-list episode of a baseline that does not converse.
    pub fn static_list(episode: &Episode, pool: Vec<ItemId>, k: usize) -> Self {
        let rank = pool.iter().take(k).position(|i| *i == episode.target);
        Self {
            user: episode.user.0,
            target: episode.target,
            hit_turn: rank.map(|_| 1),
            hit_rank: rank,
            final_pool: pool,
            statements: 0,
            true_statements: 0,
            turns: Vec::new(),
            voice: None,
        }
    }
}

/// The text channel: a draft that names the target is regenerated up to
/// `regenerate` times, then redacted. Returns the text to send, whether
/// the draft leaked, and whether the text still does.
async fn guarded(
    sim: &mut dyn Simulator,
    guard: &LeakGuard,
    draft: String,
    regenerate: usize,
) -> Result<(String, bool, bool)> {
    let leaked = guard.leaks(&draft);
    let mut text = draft;
    let mut tries = 0;
    while guard.leaks(&text) && tries < regenerate {
        tries += 1;
        match sim.regenerate().await? {
            Some(again) => text = again,
            None => break,
        }
    }
    if guard.leaks(&text) {
        text = guard.redact(&text);
    }
    let leaked_after = guard.leaks(&text);
    Ok((text, leaked, leaked_after))
}

impl TurnRecord {
    /// What a turn said, showed and spent, as its trace tells (leak flags
    /// unset).
    fn of(utterance: String, shown: Vec<ItemId>, tr: &recagent_agent::TurnTrace) -> Self {
        Self {
            utterance,
            leaked: false,
            leaked_after_guard: false,
            shown,
            prompt_tokens: tr.prompt_tokens(),
            completion_tokens: tr.completion_tokens(),
            failed_tool_calls: tr.tool_calls.iter().filter(|c| !c.ok).count() as u32,
            repairs: tr.repairs,
            model_failures: tr.model_failures,
            timing: TurnTiming {
                total_micros: tr.total_micros,
                stages: tr.stages.iter().map(|s| (s.stage, s.micros)).collect(),
                model_ms: tr.model_calls.iter().map(|m| m.total_ms).sum(),
            },
        }
    }
}

/// Runs one episode: the simulator talks until the target is shown (or a
/// target-free simulator is satisfied) or the turns run out. `user` must be
/// a memory key no catalog user has.
pub async fn run_episode(
    agent: &Agent,
    episode: &Episode,
    sim: &mut dyn Simulator,
    user: &str,
    cfg: EpisodeConfig,
) -> Result<EpisodeResult> {
    let catalog = agent.catalog();
    let target = catalog
        .item(episode.target)
        .ok_or(Error::UnknownTarget(episode.target.0))?
        .clone();
    let guard = LeakGuard::for_item(&target);
    let memory = agent.memory();
    memory.forget(user, &recagent_memory::Forget::All)?;
    memory.set_items(user, &episode.history, ItemFeedback::Liked)?;
    memory.set_items(user, &episode.history, ItemFeedback::Seen)?;
    // Everything rated before the target is seen, whatever its rating.
    memory.set_items(user, &episode.seen, ItemFeedback::Seen)?;
    // The ranker knows the catalog user (features, embedding) but only
    // the history before the target.
    let mut session = agent.session_as(user, episode.user, episode.history.clone());
    let mut turns = Vec::new();
    let (mut hit_turn, mut hit_rank) = (None, None);
    let mut final_pool = Vec::new();
    let mut draft = sim.opening().await?;
    for turn in 1..=cfg.max_turns {
        let (text, leaked, leaked_after_guard) =
            guarded(sim, &guard, draft, cfg.regenerate).await?;
        let t = session.turn(&text).await?;
        // The recommender channel: the ranker never sees the target.
        if t.trace.ranker_history.contains(&episode.target) {
            memory.forget(user, &recagent_memory::Forget::All)?;
            return Err(Error::RankerSawTarget {
                target: episode.target.0,
                turn,
            });
        }
        let shown: Vec<ItemId> = t.items.iter().take(cfg.k).map(|r| r.id).collect();
        let shown_items: Vec<Item> = shown
            .iter()
            .filter_map(|i| catalog.item(*i).cloned())
            .collect();
        final_pool = if t.pool.is_empty() {
            shown.clone()
        } else {
            t.pool.clone()
        };
        turns.push(TurnRecord {
            leaked,
            leaked_after_guard,
            ..TurnRecord::of(text, shown.clone(), &t.trace)
        });
        let hit = match sim.accepts(&shown_items) {
            Some(ok) => ok.then_some(0),
            None => shown.iter().position(|i| *i == episode.target),
        };
        if let Some(rank) = hit {
            hit_turn = Some(turn);
            hit_rank = Some(rank);
            break;
        }
        if turn < cfg.max_turns {
            draft = sim.reply(&shown_items).await?;
        } else {
            break;
        }
    }
    memory.forget(user, &recagent_memory::Forget::All)?;
    let statements = sim.statements();
    Ok(EpisodeResult {
        user: episode.user.0,
        target: episode.target,
        hit_turn,
        hit_rank,
        final_pool,
        statements: statements.len(),
        true_statements: statements
            .iter()
            .filter(|s| sim.states_truly(s, &target, catalog.items()))
            .count(),
        turns,
        voice: sim.voice_stats(),
    })
}

/// The 95 % percentile-bootstrap interval of the share of `true` in
/// `hits`: 2,000 resamples drawn by a fixed-seed SplitMix64, so a rerun
/// gives the same interval.
pub fn bootstrap_ci(hits: &[bool]) -> (f64, f64) {
    const RESAMPLES: usize = 2000;
    let n = hits.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut shares: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let k = (0..n)
                .filter(|_| hits[(next() % n as u64) as usize])
                .count();
            k as f64 / n as f64
        })
        .collect();
    shares.sort_by(f64::total_cmp);
    let lo = shares[RESAMPLES * 25 / 1000];
    let hi = shares[RESAMPLES * 975 / 1000 - 1];
    (round4(lo), round4(hi))
}

/// The share of `part` in `whole`, rounded to 4 places so that reports
/// print the same on every machine.
fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round4(part as f64 / whole as f64)
    }
}

/// `x` rounded to 4 places, as reports print it.
pub fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Episodes summed up: the deterministic part of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub episodes: usize,
    /// `hit_at_k[t]`: the share of episodes whose target was in the top k
    /// of a list shown by turn t + 1 (cumulative), for k = 1, 5, 10.
    pub hit_at_1: Vec<f64>,
    pub hit_at_5: Vec<f64>,
    pub hit_at_10: Vec<f64>,
    /// `hit_at_10_ci[t]`: the 95 % bootstrap interval of `hit_at_10[t]`
    /// (2,000 resamples of the episodes, seeded).
    #[serde(default)]
    pub hit_at_10_ci: Vec<(f64, f64)>,
    /// Turns to a hit, a miss counted as `max_turns + 1`.
    pub avg_turns: f64,
    /// The target in the top 1, 10 and 50 of the final ranked pool.
    pub recall_at_1: f64,
    pub recall_at_10: f64,
    pub recall_at_50: f64,
    /// The share of simulated utterances whose first draft named the target
    /// (`None` for a baseline that does not converse).
    pub leakage_rate: Option<f64>,
    /// The same after the guard: what the agent actually read.
    pub leakage_rate_after_guard: Option<f64>,
    /// The share of the simulators' statements that are true of the target.
    pub sim_truth_rate: Option<f64>,
    /// A voiced simulator: the share of utterances whose first draft
    /// dropped or added a fact (or named the target) and was written again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_regenerated_rate: Option<f64>,
    /// A voiced simulator: the share of utterances the rules template said
    /// after every draft failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_templated_rate: Option<f64>,
    pub turns: usize,
    pub prompt_tokens_per_turn: f64,
    pub completion_tokens_per_turn: f64,
    pub failed_tool_calls: u32,
    pub repaired_answers: u32,
    pub model_failures: u32,
}

impl Summary {
    /// Sums up `results`; `conversational` is false for baselines that show
    /// one list and hear nothing.
    pub fn of(results: &[EpisodeResult], max_turns: usize, conversational: bool) -> Self {
        let n = results.len();
        let by_turn = |k: usize| -> Vec<f64> {
            (1..=max_turns)
                .map(|t| share(results.iter().filter(|r| r.hit_by(t, k)).count(), n))
                .collect()
        };
        let recall = |k: usize| {
            share(
                results
                    .iter()
                    .filter(|r| r.final_pool.iter().take(k).any(|i| *i == r.target))
                    .count(),
                n,
            )
        };
        let turns: Vec<&TurnRecord> = results.iter().flat_map(|r| &r.turns).collect();
        let statements: usize = results.iter().map(|r| r.statements).sum();
        let true_ones: usize = results.iter().map(|r| r.true_statements).sum();
        let voice = results
            .iter()
            .filter_map(|r| r.voice)
            .reduce(|a, b| VoiceStats {
                utterances: a.utterances + b.utterances,
                regenerated: a.regenerated + b.regenerated,
                templated: a.templated + b.templated,
            });
        let per_turn = |f: fn(&TurnRecord) -> u32| {
            if turns.is_empty() {
                0.0
            } else {
                round4(turns.iter().map(|t| f64::from(f(t))).sum::<f64>() / turns.len() as f64)
            }
        };
        let sum = |f: fn(&TurnRecord) -> u32| turns.iter().map(|t| f(t)).sum::<u32>();
        Self {
            episodes: n,
            hit_at_1: by_turn(1),
            hit_at_5: by_turn(5),
            hit_at_10: by_turn(10),
            hit_at_10_ci: (1..=max_turns)
                .map(|t| {
                    let hits: Vec<bool> = results.iter().map(|r| r.hit_by(t, 10)).collect();
                    bootstrap_ci(&hits)
                })
                .collect(),
            avg_turns: if n == 0 {
                0.0
            } else {
                round4(
                    results
                        .iter()
                        .map(|r| r.hit_turn.unwrap_or(max_turns + 1) as f64)
                        .sum::<f64>()
                        / n as f64,
                )
            },
            recall_at_1: recall(1),
            recall_at_10: recall(10),
            recall_at_50: recall(50),
            leakage_rate: conversational
                .then(|| share(turns.iter().filter(|t| t.leaked).count(), turns.len())),
            leakage_rate_after_guard: conversational.then(|| {
                share(
                    turns.iter().filter(|t| t.leaked_after_guard).count(),
                    turns.len(),
                )
            }),
            sim_truth_rate: conversational.then(|| {
                if statements == 0 {
                    1.0
                } else {
                    share(true_ones, statements)
                }
            }),
            sim_regenerated_rate: voice.map(|v| share(v.regenerated, v.utterances)),
            sim_templated_rate: voice.map(|v| share(v.templated, v.utterances)),
            turns: turns.len(),
            prompt_tokens_per_turn: per_turn(|t| t.prompt_tokens),
            completion_tokens_per_turn: per_turn(|t| t.completion_tokens),
            failed_tool_calls: sum(|t| t.failed_tool_calls),
            repaired_answers: sum(|t| t.repairs),
            model_failures: sum(|t| t.model_failures),
        }
    }
}
