//! Profile memory tools: [`RememberPreference`], [`ForgetPreference`] and
//! [`ShowProfile`].

use recagent_memory::{Forget, GenrePreference, ItemFeedback};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Call, Ctx, Done, Outcome, Tool, ToolError};
use crate::prompts::fence;

/// Arguments of `remember_preference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RememberArgs {
    /// A fact about the user worth keeping, in one sentence.
    pub fact: Option<String>,
    pub liked_titles: Vec<String>,
    pub disliked_titles: Vec<String>,
    /// Titles the user has already seen.
    pub seen_titles: Vec<String>,
    pub liked_genres: Vec<String>,
    /// Genres never to recommend.
    pub avoided_genres: Vec<String>,
}

/// Arguments of `forget_preference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ForgetArgs {
    /// Titles whose likes, dislikes and seen marks to drop.
    pub titles: Vec<String>,
    /// Genres whose preference to drop.
    pub genres: Vec<String>,
    /// Ids of facts (from show_profile) to drop.
    pub fact_ids: Vec<i64>,
    /// Drop the whole profile.
    pub everything: bool,
}

/// Arguments of `show_profile`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NoArgs {}

/// What `remember_preference` tells the model: each record stored, in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RememberOutput {
    pub remembered: Vec<String>,
}

/// What `forget_preference` tells the model: how many records went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ForgetOutput {
    pub forgotten: usize,
}

/// What `show_profile` tells the model; stored facts are fenced data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ProfileOutput {
    pub facts: Vec<FactOutput>,
    /// Liked titles, as "Title (year)".
    pub liked: Vec<String>,
    pub disliked: Vec<String>,
    /// How many items are marked seen.
    pub seen: usize,
    pub liked_genres: Vec<String>,
    pub avoided_genres: Vec<String>,
}

/// One stored fact and the id `forget_preference` takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FactOutput {
    pub id: i64,
    pub text: String,
}

#[derive(Debug)]
pub(crate) struct RememberPreference;
#[derive(Debug)]
pub(crate) struct ForgetPreference;
#[derive(Debug)]
pub(crate) struct ShowProfile;

impl Tool for RememberPreference {
    const NAME: &'static str = "remember_preference";
    const DESCRIPTION: &'static str = "Store what the user likes, dislikes, has seen or never wants, for this and later sessions.";
    type Args = RememberArgs;
    type Output = RememberOutput;

    fn call<'a>(&'a self, ctx: &'a mut Ctx<'_>, args: RememberArgs) -> Call<'a, RememberOutput> {
        Box::pin(std::future::ready(remember_preference(ctx, args)))
    }
}

impl Tool for ForgetPreference {
    const NAME: &'static str = "forget_preference";
    const DESCRIPTION: &'static str = "Drop stored preferences, or the whole profile.";
    type Args = ForgetArgs;
    type Output = ForgetOutput;

    fn call<'a>(&'a self, ctx: &'a mut Ctx<'_>, args: ForgetArgs) -> Call<'a, ForgetOutput> {
        Box::pin(std::future::ready(forget_preference(ctx, args)))
    }
}

impl Tool for ShowProfile {
    const NAME: &'static str = "show_profile";
    const DESCRIPTION: &'static str = "Show what is stored about the user.";
    type Args = NoArgs;
    type Output = ProfileOutput;

    fn call<'a>(&'a self, ctx: &'a mut Ctx<'_>, _: NoArgs) -> Call<'a, ProfileOutput> {
        Box::pin(std::future::ready(Ok(show_profile(ctx))))
    }
}

fn memory_err(e: recagent_memory::Error) -> ToolError {
    ToolError::broken(format!("profile memory failed: {e}"))
}

fn refresh(ctx: &mut Ctx<'_>) -> Result<(), ToolError> {
    *ctx.profile = ctx.inner.memory.profile(ctx.user).map_err(memory_err)?;
    Ok(())
}

fn remember_preference(ctx: &mut Ctx<'_>, a: RememberArgs) -> Outcome<RememberOutput> {
    let liked = ctx.resolve_titles(&a.liked_titles)?;
    let disliked = ctx.resolve_titles(&a.disliked_titles)?;
    let seen = ctx.resolve_titles(&a.seen_titles)?;
    let liked_g = ctx.canonical_genres(&a.liked_genres)?;
    let avoided_g = ctx.canonical_genres(&a.avoided_genres)?;
    let m = &ctx.inner.memory;
    let mut stored = Vec::new();
    if let Some(f) = a.fact.as_deref().filter(|f| !f.trim().is_empty()) {
        m.add_fact(ctx.user, f).map_err(memory_err)?;
        stored.push("a fact".to_owned());
    }
    for (ids, fb, what) in [
        (&liked, ItemFeedback::Liked, "liked"),
        (&disliked, ItemFeedback::Disliked, "disliked"),
        (&seen, ItemFeedback::Seen, "seen"),
    ] {
        if !ids.is_empty() {
            m.set_items(ctx.user, ids, fb).map_err(memory_err)?;
            stored.push(format!("{what}: {}", ctx.titles(ids).join(", ")));
        }
    }
    for (gs, p, what) in [
        (&liked_g, GenrePreference::Liked, "liked genres"),
        (&avoided_g, GenrePreference::Avoided, "avoided genres"),
    ] {
        for g in gs {
            m.set_genre(ctx.user, g, p).map_err(memory_err)?;
        }
        if !gs.is_empty() {
            stored.push(format!("{what}: {}", gs.join(", ")));
        }
    }
    if stored.is_empty() {
        return Err(ToolError::fix(
            "nothing to remember: fill at least one field",
        ));
    }
    // Seen and disliked items leave this turn's candidates too.
    ctx.bus
        .excluded
        .extend(disliked.iter().chain(&seen).copied());
    refresh(ctx)?;
    let summary = format!("remembered {}", stored.join("; "));
    Ok(Done::new(summary, RememberOutput { remembered: stored }))
}

fn forget_preference(ctx: &mut Ctx<'_>, a: ForgetArgs) -> Outcome<ForgetOutput> {
    let m = &ctx.inner.memory;
    let mut n = 0;
    if a.everything {
        n += m.forget(ctx.user, &Forget::All).map_err(memory_err)?;
    } else {
        for id in ctx.resolve_titles(&a.titles)? {
            n += m.forget(ctx.user, &Forget::Item(id)).map_err(memory_err)?;
        }
        for g in &a.genres {
            let g = ctx.inner.vocab.canonical(g).unwrap_or_else(|| g.clone());
            n += m.forget(ctx.user, &Forget::Genre(g)).map_err(memory_err)?;
        }
        for id in &a.fact_ids {
            n += m.forget(ctx.user, &Forget::Fact(*id)).map_err(memory_err)?;
        }
    }
    refresh(ctx)?;
    Ok(Done::new(
        format!("forgot {n} records"),
        ForgetOutput { forgotten: n },
    ))
}

fn show_profile(ctx: &mut Ctx<'_>) -> Done<ProfileOutput> {
    let p = &*ctx.profile;
    let output = ProfileOutput {
        facts: p
            .facts
            .iter()
            .map(|f| FactOutput {
                id: f.id,
                text: fence(&f.text, 200),
            })
            .collect(),
        liked: ctx.titles(&p.liked),
        disliked: ctx.titles(&p.disliked),
        seen: p.seen.len(),
        liked_genres: p.liked_genres.clone(),
        avoided_genres: p.avoided_genres.clone(),
    };
    let summary = format!(
        "profile: {} facts, {} liked, {} disliked, {} seen",
        p.facts.len(),
        p.liked.len(),
        p.disliked.len(),
        p.seen.len()
    );
    Done::new(summary, output)
}
