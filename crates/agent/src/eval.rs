//! Rightness of tool calls on labelled requests.
//!
//! A schema-valid call is not a right one. Each labelled request names the
//! tools that must be called, the genre and year filters, and the titles
//! liked (similarity seeds) and excluded. [`score`] reads what a turn
//! actually called (from its trace, so every controller and strategy is
//! scored the same way) and checks three things: right tool, right filters,
//! right titles. `recagent bench agent` runs the set.

use std::collections::BTreeSet;

use recagent_core::ItemId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Agent;
use crate::tools::{
    FilterArgs, FilterCandidates, RankArgs, RankCandidates, RememberArgs, RememberPreference,
    SearchArgs, SearchItems, SimilarArgs, SimilarItems, Tool,
};
use crate::trace::TurnTrace;

/// The labelled requests for MovieLens-100K, written by hand.
pub const LABELLED_ML100K: &str = include_str!("labelled.json");

/// One labelled request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub text: String,
    /// Tools that must be among the calls.
    pub tools: Vec<String>,
    #[serde(default)]
    pub genres: Vec<String>,
    /// Genres left out, now or for good.
    #[serde(default)]
    pub avoid: Vec<String>,
    #[serde(default)]
    pub year_min: Option<u16>,
    #[serde(default)]
    pub year_max: Option<u16>,
    /// Titles to find similar items to.
    #[serde(default)]
    pub liked: Vec<String>,
    /// Titles that must not be recommended.
    #[serde(default)]
    pub excluded: Vec<String>,
}

/// Parses a labelled set.
pub fn cases(json: &str) -> Result<Vec<Case>, serde_json::Error> {
    serde_json::from_str(json)
}

/// The three checks on one turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseScore {
    pub tool: bool,
    pub filters: bool,
    pub titles: bool,
}

/// Scores what `trace` called against `case`.
pub fn score(agent: &Agent, case: &Case, trace: &TurnTrace) -> CaseScore {
    let called: BTreeSet<&str> = trace.tool_calls.iter().map(|c| c.name.as_str()).collect();
    let tool = case.tools.iter().all(|t| called.contains(t.as_str()));
    let asked = Asked::read(agent, trace);
    let filters = asked.genres == canon(agent, case.genres.clone())
        && asked.avoid == canon(agent, case.avoid.clone())
        && asked.year_min == case.year_min
        && asked.year_max == case.year_max;
    let want_liked: BTreeSet<ItemId> = resolve(agent, case.liked.clone()).into_iter().collect();
    let want_excluded: Vec<ItemId> = resolve(agent, case.excluded.clone());
    // Similarity seeds are left out of the list, so a seed counts as excluded.
    let titles = asked.liked == want_liked
        && want_excluded
            .iter()
            .all(|i| asked.excluded.contains(i) || asked.liked.contains(i));
    CaseScore {
        tool,
        filters,
        titles,
    }
}

/// Genre names as the catalog spells them.
fn canon(agent: &Agent, names: Vec<String>) -> BTreeSet<String> {
    names
        .into_iter()
        .map(|n| agent.canonical_genre(&n).unwrap_or(n))
        .collect()
}

/// The items titles name, where they name one.
fn resolve(agent: &Agent, titles: Vec<String>) -> Vec<ItemId> {
    titles
        .iter()
        .filter_map(|t| agent.resolve_title(t))
        .collect()
}

/// What a turn's calls asked for, all calls together.
#[derive(Debug, Default)]
struct Asked {
    genres: BTreeSet<String>,
    avoid: BTreeSet<String>,
    year_min: Option<u16>,
    year_max: Option<u16>,
    liked: BTreeSet<ItemId>,
    excluded: BTreeSet<ItemId>,
}

impl Asked {
    /// The calls' arguments read back as the tools' own typed structs: a
    /// call the tool would refuse scores nothing.
    fn read(agent: &Agent, trace: &TurnTrace) -> Self {
        fn args<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
            serde_json::from_value(v.clone()).unwrap_or_default()
        }
        let mut out = Self::default();
        for c in &trace.tool_calls {
            let a = &c.arguments;
            match c.name.as_str() {
                SearchItems::NAME => {
                    let a: SearchArgs = args(a);
                    out.add_genres(agent, [a.genres, a.require_genres], a.avoid_genres);
                    out.bound(a.year_min, a.year_max);
                }
                SimilarItems::NAME => {
                    let a: SimilarArgs = args(a);
                    out.add_genres(agent, [a.genres, a.require_genres], a.avoid_genres);
                    out.bound(a.year_min, a.year_max);
                    out.liked.extend(resolve(agent, a.titles));
                }
                FilterCandidates::NAME => {
                    let a: FilterArgs = args(a);
                    out.add_genres(agent, [a.genres, a.require_genres], a.avoid_genres);
                    out.bound(a.year_min, a.year_max);
                    out.excluded.extend(resolve(agent, a.exclude_titles));
                }
                RankCandidates::NAME => {
                    let a: RankArgs = args(a);
                    out.genres.extend(canon(agent, a.prefer_genres));
                }
                RememberPreference::NAME => {
                    let a: RememberArgs = args(a);
                    out.avoid.extend(canon(agent, a.avoided_genres));
                    out.excluded.extend(resolve(agent, a.seen_titles));
                    out.excluded.extend(resolve(agent, a.disliked_titles));
                }
                _ => {}
            }
        }
        out
    }

    fn add_genres(&mut self, agent: &Agent, wanted: [Vec<String>; 2], avoid: Vec<String>) {
        for w in wanted {
            self.genres.extend(canon(agent, w));
        }
        self.avoid.extend(canon(agent, avoid));
    }

    /// Year bounds tighten across calls.
    fn bound(&mut self, y_min: Option<u16>, y_max: Option<u16>) {
        if let Some(y) = y_min {
            self.year_min = Some(self.year_min.map_or(y, |l| l.max(y)));
        }
        if let Some(y) = y_max {
            self.year_max = Some(self.year_max.map_or(y, |h| h.min(y)));
        }
    }
}

/// Multi-turn dialogues with the dialogue state expected after each turn
/// (`tests/labelled/dialogues.json`), some held out from tuning.
pub const DIALOGUES: &str = include_str!("../../../tests/labelled/dialogues.json");

/// One labelled dialogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialogue {
    pub id: String,
    /// "dev" or "held-out".
    pub split: String,
    pub turns: Vec<ExpectedTurn>,
}

/// What the user says, and the state expected after it. A field left out
/// is expected empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedTurn {
    pub text: String,
    /// Required genres.
    #[serde(default)]
    pub genres: Vec<String>,
    /// Preferred genres.
    #[serde(default)]
    pub prefer: Vec<String>,
    #[serde(default)]
    pub avoid: Vec<String>,
    #[serde(default)]
    pub year_min: Option<u16>,
    #[serde(default)]
    pub year_max: Option<u16>,
    /// Titles the list should be like.
    #[serde(default)]
    pub anchors: Vec<String>,
    #[serde(default)]
    pub feedback: crate::Feedback,
}

#[derive(Debug, Deserialize)]
struct DialogueFile {
    dialogues: Vec<Dialogue>,
}

/// The labelled dialogues.
pub fn dialogues() -> Result<Vec<Dialogue>, serde_json::Error> {
    Ok(serde_json::from_str::<DialogueFile>(DIALOGUES)?.dialogues)
}

/// Where `got` differs from what `want` expects, slot by slot (empty when
/// the state is right). Genres compare by catalog name, anchors by the
/// item their titles link to.
pub fn state_mismatches(
    agent: &Agent,
    want: &ExpectedTurn,
    got: &crate::DialogueState,
) -> Vec<String> {
    let canon = |names: &[String]| -> BTreeSet<String> {
        names
            .iter()
            .map(|n| agent.canonical_genre(n).unwrap_or_else(|| n.clone()))
            .collect()
    };
    let items = |titles: &[String]| -> BTreeSet<Option<ItemId>> {
        titles.iter().map(|t| agent.resolve_title(t)).collect()
    };
    let mut out = Vec::new();
    let mut slot = |name: &str, right: bool, detail: String| {
        if !right {
            out.push(format!("{name}: {detail}"));
        }
    };
    slot(
        "genres",
        canon(&want.genres) == canon(&got.hard_genres),
        format!("want {:?}, got {:?}", want.genres, got.hard_genres),
    );
    slot(
        "prefer",
        canon(&want.prefer) == canon(&got.soft_genres),
        format!("want {:?}, got {:?}", want.prefer, got.soft_genres),
    );
    slot(
        "avoid",
        canon(&want.avoid) == canon(&got.avoid_genres),
        format!("want {:?}, got {:?}", want.avoid, got.avoid_genres),
    );
    slot(
        "years",
        (want.year_min, want.year_max) == (got.year_min, got.year_max),
        format!(
            "want {:?}–{:?}, got {:?}–{:?}",
            want.year_min, want.year_max, got.year_min, got.year_max
        ),
    );
    slot(
        "anchors",
        items(&want.anchors) == items(&got.anchors),
        format!("want {:?}, got {:?}", want.anchors, got.anchors),
    );
    slot(
        "feedback",
        want.feedback == got.last_feedback,
        format!("want {:?}, got {:?}", want.feedback, got.last_feedback),
    );
    out
}
