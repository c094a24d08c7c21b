//! Plan first: a request as slots to fill, and the executor that turns a
//! filled plan into tool calls.
//!
//! The rules controller fills the slots by parsing; a model fills them in
//! one grammar-constrained decision (it may be shown the rules' parse as a
//! draft). Either way the same executor makes the calls, so a plan is
//! scored by what it says, not by how it was written.

use recagent_llm::ToolCall;
use recagent_reading::{Cues, Feedback, Plan, YEAR_CEILING, YEAR_FLOOR};

use crate::tools::{
    FilterArgs, FilterCandidates, ForgetArgs, ForgetPreference, RankArgs, RankCandidates,
    RememberArgs, RememberPreference, SearchArgs, SearchItems, SimilarArgs, SimilarItems, Tool,
    typed_call,
};

/// What the executor needs from the session.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// Titles shown last turn, in order.
    pub last_shown: Vec<String>,
    /// The conversation so far; each plan updates it.
    pub state: crate::state::DialogueState,
    /// What the user's words say about the conversation (refine, clear).
    pub cues: Cues,
}

/// The `n`th call of a plan, to tool `T` with `T`'s own arguments.
fn call<T: Tool>(n: usize, args: &T::Args) -> ToolCall {
    typed_call::<T>(format!("call_{n}"), args)
}

/// The tool calls that carry out `plan`: the request as the dialogue
/// state now has it ([`crate::state::DialogueState::apply`]). Items the
/// feedback names come from `ctx.last_shown`. The arguments are the tools'
/// own typed structs.
pub fn plan_calls(plan: &Plan, ctx: &PlanContext) -> Vec<ToolCall> {
    let mut calls = Vec::new();
    if let Some(a) = remember_args(plan, ctx) {
        calls.push(call::<RememberPreference>(calls.len() + 1, &a));
    }
    // "Horror is fine": a genre once avoided for good is allowed again,
    // in this conversation and in the profile.
    if !ctx.cues.allow_genres.is_empty() {
        let a = ForgetArgs {
            genres: ctx.cues.allow_genres.clone(),
            ..ForgetArgs::default()
        };
        calls.push(call::<ForgetPreference>(calls.len() + 1, &a));
    }
    // What the recall calls ask: the plan's constraint, with the genres
    // never wanted again left out now as well.
    let mut want = plan.want.clone();
    for g in &plan.never_genres {
        if !want.avoid_genres.contains(g) {
            want.avoid_genres.push(g.clone());
        }
    }
    if !plan.liked_titles.is_empty() {
        let a = SimilarArgs {
            titles: plan.liked_titles.clone(),
            want: want.clone(),
        };
        calls.push(call::<SimilarItems>(calls.len() + 1, &a));
    }
    let wants_search = plan.liked_titles.is_empty()
        || !plan.want.people.is_empty()
        || !plan.intent.trim().is_empty()
            && (!plan.want.genres.is_empty()
                || !plan.want.prefer_genres.is_empty()
                || plan.want.has_years());
    if wants_search {
        let a = SearchArgs {
            query: plan.intent.clone(),
            want,
        };
        calls.push(call::<SearchItems>(calls.len() + 1, &a));
    }
    // "Something else" leaves out the last list by id, in the session
    // (see `Session`), not by title here.
    if !plan.excluded_titles.is_empty() {
        let a = FilterArgs {
            exclude_titles: plan.excluded_titles.clone(),
            ..FilterArgs::default()
        };
        calls.push(call::<FilterCandidates>(calls.len() + 1, &a));
    }
    let rank = RankArgs {
        k: None,
        prefer_genres: plan.want.prefer_genres.clone(),
    };
    calls.push(call::<RankCandidates>(calls.len() + 1, &rank));
    calls
}

/// What a plan tells profile memory: titles liked (named, or liked in
/// the last list), disliked and seen, and genres never wanted; `None`
/// when nothing.
fn remember_args(plan: &Plan, ctx: &PlanContext) -> Option<RememberArgs> {
    let title_at = |p: Option<u8>| {
        let pos = p.map_or(0, |p| usize::from(p.max(1)) - 1);
        ctx.last_shown
            .get(pos.min(ctx.last_shown.len().saturating_sub(1)))
            .cloned()
    };
    let mut disliked = Vec::new();
    let mut liked_now = Vec::new();
    match plan.feedback {
        Feedback::Liked => liked_now.extend(title_at(plan.feedback_position)),
        Feedback::Disliked => disliked.extend(
            crate::state::positions(plan, &ctx.cues)
                .into_iter()
                .filter_map(title_at),
        ),
        _ => {}
    }
    // Liked titles named in the request are remembered as liked.
    liked_now.extend(plan.liked_titles.iter().cloned());
    let nothing = liked_now.is_empty()
        && plan.seen_titles.is_empty()
        && disliked.is_empty()
        && plan.never_genres.is_empty();
    (!nothing).then(|| RememberArgs {
        liked_titles: liked_now,
        disliked_titles: disliked,
        seen_titles: plan.seen_titles.clone(),
        avoided_genres: plan.never_genres.clone(),
        ..RememberArgs::default()
    })
}

/// The fewest items a list may have before the request is relaxed.
pub const MIN_LIST: usize = 3;

/// `plan` with its weakest constraint loosened, and the sentence that
/// tells the user; `None` when nothing is left to loosen.
///
/// The kind of film outlives everything else: a "western from the 60s"
/// whose 60s westerns are all seen goes on with westerns from other
/// decades, not with 60s films of any kind. The ladder: preferred genres
/// that filtered (a mood), then the years by a decade each way, then the
/// search words, then the years altogether, then all but the first
/// required genre, then the last one. People and anchors are never
/// loosened.
pub fn relax(plan: &Plan, widened: bool) -> Option<(Plan, String)> {
    let mut p = plan.clone();
    let lower = |gs: &[String]| gs.iter().map(|g| g.to_lowercase()).collect::<Vec<_>>();
    if p.want.genres.is_empty() && !p.want.prefer_genres.is_empty() {
        let said = lower(&p.want.prefer_genres).join(" or ");
        p.want.prefer_genres.clear();
        return Some((
            p,
            format!("Too few films were {said}, so not all of these are."),
        ));
    }
    if !widened && p.want.has_years() {
        let w = &mut p.want;
        w.year_min = w.year_min.map(|y| y.saturating_sub(10).max(YEAR_FLOOR + 1));
        w.year_max = w.year_max.map(|y| (y + 10).min(YEAR_CEILING - 1));
        let span = match (p.want.year_min, p.want.year_max) {
            (Some(a), Some(b)) => format!("{a}–{b}"),
            (Some(a), None) => format!("{a} on"),
            (None, Some(b)) => format!("up to {b}"),
            (None, None) => String::new(),
        };
        return Some((
            p,
            format!("Too few films fit those years exactly, so I widened them to {span}."),
        ));
    }
    let anything_else =
        !p.want.genres.is_empty() || !p.liked_titles.is_empty() || !p.want.people.is_empty();
    if !p.intent.trim().is_empty() && anything_else {
        let words = std::mem::take(&mut p.intent);
        return Some((
            p,
            format!(
                "Nothing matched \u{201c}{words}\u{201d} closely, so these fit the rest of what you asked."
            ),
        ));
    }
    if p.want.has_years() && anything_else {
        p.want.year_min = None;
        p.want.year_max = None;
        let what = match p.want.genres.as_slice() {
            [] => "films".to_owned(),
            [g] => crate::reply::genre_noun(g),
            gs => format!("{} films", lower(gs).join(" and ")),
        };
        return Some((
            p,
            format!("Too few {what} fit the years, so these are {what} from any year."),
        ));
    }
    if p.want.genres.len() > 1 {
        let all = lower(&p.want.genres).join(" and ");
        p.want.genres.truncate(1);
        return Some((
            p.clone(),
            format!(
                "Too few films are {all} at once, so I kept to {}.",
                lower(&p.want.genres)[0]
            ),
        ));
    }
    if p.want.genres.len() == 1 {
        let g = p.want.genres[0].to_lowercase();
        p.want.genres.clear();
        return Some((
            p,
            format!("Too few films were {g} as well, so these are not all {g}."),
        ));
    }
    if p.want.has_years() {
        p.want.year_min = None;
        p.want.year_max = None;
        return Some((
            p,
            "Too few films fit the years, so these are from any year.".into(),
        ));
    }
    None
}

#[cfg(test)]
mod relax_tests {
    use super::*;
    use recagent_core::Constraint;

    /// A western from the 60s, all seen: westerns from other decades come
    /// before 60s films of any kind.
    #[test]
    fn the_kind_of_film_outlives_the_era() {
        let western = Plan {
            intent: "gunfight".into(),
            want: Constraint {
                genres: vec!["Western".into()],
                year_min: Some(1960),
                year_max: Some(1969),
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let (wider, why) = relax(&western, false).expect("a rung");
        assert_eq!(
            (wider.want.year_min, wider.want.year_max),
            (Some(1950), Some(1979))
        );
        assert!(why.contains("1950–1979"), "{why}");
        let (plain, why) = relax(&wider, true).expect("a rung");
        assert!(
            plain.intent.is_empty() && plain.want.genres == ["Western"],
            "{why}"
        );
        let (any_year, why) = relax(&plain, true).expect("a rung");
        assert_eq!(any_year.want.genres, ["Western"]);
        assert_eq!(
            (any_year.want.year_min, any_year.want.year_max),
            (None, None)
        );
        assert_eq!(
            why,
            "Too few westerns fit the years, so these are westerns from any year."
        );
        let (any, why) = relax(&any_year, true).expect("a rung");
        assert!(any.want.genres.is_empty(), "{why}");
        assert!(relax(&any, true).is_none());
    }
}
