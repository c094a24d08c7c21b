//! Plan first: a request as slots to fill, and the executor that turns a
//! filled plan into tool calls.
//!
//! The rules controller fills the slots by parsing; a model fills them in
//! one grammar-constrained decision (it may be shown the rules' parse as a
//! draft). Either way the same executor makes the calls, so a plan is
//! scored by what it says, not by how it was written.

use recagent_llm::ToolCall;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::tools::{
    FilterCandidates, RankCandidates, RememberPreference, SearchItems, SimilarItems, Tool,
};

/// The year bounds of the plan's schema; a bound at either edge is none.
pub const YEAR_FLOOR: u16 = 1900;
pub const YEAR_CEILING: u16 = 2030;

/// What the user said about the list they were shown last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// Nothing about the last list.
    #[default]
    None,
    /// "Seen it": the item at `feedback_position` (the first by default).
    SeenIt,
    /// "Seen them all".
    SeenAll,
    /// "Something else": the same request, without what was shown.
    SomethingElse,
    /// "More like the second one".
    MoreLike,
    /// "I liked the third one".
    Liked,
    /// "Not the first one".
    Disliked,
}

/// A request as slots. Every field may be left empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Plan {
    /// What the user wants, in their words, without titles: the search text.
    pub intent: String,
    /// Genres wanted now.
    pub genres: Vec<String>,
    /// Genres not wanted now.
    pub avoid_genres: Vec<String>,
    /// Genres never to recommend again ("I never want horror").
    pub never_genres: Vec<String>,
    #[schemars(range(min = 1900, max = 2030))]
    pub year_min: Option<u16>,
    #[schemars(range(min = 1900, max = 2030))]
    pub year_max: Option<u16>,
    /// Titles the user liked: find similar ones (they are left out).
    pub liked_titles: Vec<String>,
    /// Titles not to recommend ("not Alien").
    pub excluded_titles: Vec<String>,
    /// Titles the user has already seen.
    pub seen_titles: Vec<String>,
    /// About the last list shown.
    pub feedback: Feedback,
    /// 1-based position in the last list that the feedback is about.
    #[schemars(range(min = 1, max = 20))]
    pub feedback_position: Option<u8>,
}

/// What the executor needs from the session.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// Titles shown last turn, in order.
    pub last_shown: Vec<String>,
    /// The plan of the last recommending turn.
    pub last_plan: Option<Plan>,
}

impl Plan {
    /// Whether the plan asks for nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Year bounds at the schema's edges (1900, 2030) bound nothing: a
    /// small model that fills every slot writes them for "any year".
    pub fn normalized(&self) -> Plan {
        let mut p = self.clone();
        let inside = |y: &u16| *y > YEAR_FLOOR && *y < YEAR_CEILING;
        p.year_min = p.year_min.filter(inside);
        p.year_max = p.year_max.filter(inside);
        p
    }

    /// This plan with every slot it left empty taken from `draft`.
    pub fn filled_from(&self, draft: &Plan) -> Plan {
        let mut p = self.normalized();
        let fill = |mine: &mut Vec<String>, theirs: &Vec<String>| {
            if mine.is_empty() {
                mine.clone_from(theirs);
            }
        };
        if p.intent.trim().is_empty() {
            p.intent.clone_from(&draft.intent);
        }
        fill(&mut p.genres, &draft.genres);
        fill(&mut p.avoid_genres, &draft.avoid_genres);
        fill(&mut p.never_genres, &draft.never_genres);
        fill(&mut p.liked_titles, &draft.liked_titles);
        fill(&mut p.excluded_titles, &draft.excluded_titles);
        fill(&mut p.seen_titles, &draft.seen_titles);
        p.year_min = p.year_min.or(draft.year_min);
        p.year_max = p.year_max.or(draft.year_max);
        if p.feedback == Feedback::None {
            p.feedback = draft.feedback;
            p.feedback_position = draft.feedback_position;
        }
        p
    }

    /// The plan with the last turn's request carried over where this one
    /// is feedback only ("something else", "seen it").
    pub fn resolved(&self, ctx: &PlanContext) -> Plan {
        let mut p = self.normalized();
        let feedback_only = p.intent.trim().is_empty()
            && p.genres.is_empty()
            && p.liked_titles.is_empty()
            && p.year_min.is_none()
            && p.year_max.is_none();
        let pos = p.feedback_position.map_or(0, |x| usize::from(x.max(1)) - 1);
        let at = ctx
            .last_shown
            .get(pos.min(ctx.last_shown.len().saturating_sub(1)))
            .cloned();
        match p.feedback {
            Feedback::MoreLike => p
                .liked_titles
                .extend(at.filter(|t| !p.liked_titles.contains(t))),
            Feedback::SeenIt => p
                .seen_titles
                .extend(at.filter(|t| !p.seen_titles.contains(t))),
            Feedback::SeenAll => {
                for t in &ctx.last_shown {
                    if !p.seen_titles.contains(t) {
                        p.seen_titles.push(t.clone());
                    }
                }
            }
            _ => {}
        }
        if feedback_only
            && p.feedback != Feedback::MoreLike
            && let Some(last) = &ctx.last_plan
        {
            p.intent.clone_from(&last.intent);
            p.genres.clone_from(&last.genres);
            p.year_min = last.year_min;
            p.year_max = last.year_max;
            p.liked_titles.clone_from(&last.liked_titles);
            for g in &last.avoid_genres {
                if !p.avoid_genres.contains(g) {
                    p.avoid_genres.push(g.clone());
                }
            }
            for t in &last.excluded_titles {
                if !p.excluded_titles.contains(t) {
                    p.excluded_titles.push(t.clone());
                }
            }
        }
        p
    }
}

fn call(n: usize, name: &str, args: serde_json::Value) -> ToolCall {
    ToolCall {
        id: format!("call_{n}"),
        name: name.into(),
        arguments: args,
    }
}

/// The tool calls that carry out `plan` (already [`Plan::resolved`]).
/// Items the feedback names come from `ctx.last_shown`.
pub fn plan_calls(plan: &Plan, ctx: &PlanContext) -> Vec<ToolCall> {
    let mut calls = Vec::new();
    let mut n = 0;
    let mut push = |calls: &mut Vec<ToolCall>, name: &str, args: serde_json::Value| {
        n += 1;
        calls.push(call(n, name, args));
    };
    let pos = plan
        .feedback_position
        .map_or(0, |p| usize::from(p.max(1)) - 1);
    let at = ctx
        .last_shown
        .get(pos.min(ctx.last_shown.len().saturating_sub(1)))
        .cloned();
    // Seen and more-like feedback is already in the slots (`resolved`).
    let liked = plan.liked_titles.clone();
    let seen = plan.seen_titles.clone();
    let mut disliked = Vec::new();
    let mut liked_now = Vec::new();
    match plan.feedback {
        Feedback::Liked => liked_now.extend(at),
        Feedback::Disliked => disliked.extend(at),
        _ => {}
    }
    // Liked titles named in the request are remembered as liked.
    liked_now.extend(plan.liked_titles.iter().cloned());
    if !liked_now.is_empty()
        || !seen.is_empty()
        || !disliked.is_empty()
        || !plan.never_genres.is_empty()
    {
        push(
            &mut calls,
            RememberPreference::NAME,
            json!({
                "liked_titles": liked_now,
                "disliked_titles": disliked,
                "seen_titles": seen,
                "avoided_genres": plan.never_genres,
            }),
        );
    }
    let mut avoid = plan.avoid_genres.clone();
    for g in &plan.never_genres {
        if !avoid.contains(g) {
            avoid.push(g.clone());
        }
    }
    let filters = |args: &mut serde_json::Value| {
        args["genres"] = json!(plan.genres);
        args["avoid_genres"] = json!(avoid);
        if let Some(y) = plan.year_min {
            args["year_min"] = json!(y);
        }
        if let Some(y) = plan.year_max {
            args["year_max"] = json!(y);
        }
    };
    if !liked.is_empty() {
        let mut a = json!({"titles": liked});
        filters(&mut a);
        push(&mut calls, SimilarItems::NAME, a);
    }
    let wants_search = liked.is_empty()
        || !plan.intent.trim().is_empty()
            && (!plan.genres.is_empty() || plan.year_min.is_some() || plan.year_max.is_some());
    if wants_search {
        let mut a = json!({"query": plan.intent});
        filters(&mut a);
        push(&mut calls, SearchItems::NAME, a);
    }
    // "Something else" leaves out the last list by id, in the session
    // (see `Session`), not by title here.
    let exclude = &plan.excluded_titles;
    if !exclude.is_empty() {
        push(
            &mut calls,
            FilterCandidates::NAME,
            json!({"exclude_titles": exclude}),
        );
    }
    push(&mut calls, RankCandidates::NAME, json!({}));
    calls
}
