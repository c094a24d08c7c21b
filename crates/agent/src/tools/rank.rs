//! Ranking: [`RankCandidates`], the final order (the ranker's score
//! re-sorted by how well each item answers the request), and the reason
//! the answer gives for each item.

use std::time::Instant;

use recagent_core::{Catalog, Item, ItemId, Scored, Stage, StageTrace, display_title, genre_key};
use recagent_ranker::{Funnel, FunnelConfig, UserContext};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::filter::apply_filter;
use super::{Call, Ctx, Done, Outcome, Tool, ToolError, micros};
use crate::Recommendation;
use crate::bus::{Bus, Origin, SimilarWhy};
use crate::prompts::fence;

/// The default and largest length of a ranked list.
pub(crate) const DEFAULT_K: usize = 10;
pub(crate) const MAX_K: usize = 20;

/// Arguments of `rank_candidates`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RankArgs {
    /// How many to return (1 to 20, default 10).
    pub k: Option<u8>,
    /// Genres the user would enjoy: items with them come first among
    /// equals.
    pub prefer_genres: Vec<String>,
}

/// What `rank_candidates` tells the model: the list, and how to use it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RankOutput {
    pub ranked: Vec<RankedItem>,
    pub note: &'static str,
}

/// One ranked film as the model reads it; the title is fenced data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RankedItem {
    /// 1-based place.
    pub n: usize,
    pub title: String,
    pub year: Option<u16>,
    pub genres: Vec<String>,
    pub reason: String,
}

#[derive(Debug)]
pub(crate) struct RankCandidates;

impl Tool for RankCandidates {
    const NAME: &'static str = "rank_candidates";
    const DESCRIPTION: &'static str = "Rank the candidates for this user with the recommendation model and return the top k with reasons.";
    type Args = RankArgs;
    type Output = RankOutput;

    fn call<'a>(&'a self, ctx: &'a mut Ctx<'_>, args: RankArgs) -> Call<'a, RankOutput> {
        Box::pin(std::future::ready(rank_candidates(ctx, args)))
    }
}

/// A one-line reason for an item that names the signal which put it on
/// the list, and only that one: "like X" only for what a similarity to X
/// recalled, "people who liked X often pick this next" only where the
/// next-item model's weight from X is the largest.
pub(crate) fn reason(ctx: &Ctx<'_>, it: &Item) -> String {
    let mut parts = match ctx.bus.origin.get(&it.id) {
        Some(Origin::SimilarTo(s, why)) => ctx
            .catalog()
            .item(*s)
            .map(|seed| similar_reason(it, seed, *why))
            .unwrap_or_default(),
        Some(Origin::Person) => ctx
            .bus
            .people
            .iter()
            .filter_map(|n| recagent_reading::people::credit(it, n))
            .collect(),
        Some(Origin::ForYou { cold: true }) => vec!["popular with viewers".into()],
        Some(Origin::ForYou { cold: false }) => vec![next_item_reason(ctx, it)],
        Some(Origin::Search | Origin::Browse) | None => theme_reason(&ctx.bus.query, it)
            .into_iter()
            .chain(search_reason(ctx, it))
            .collect(),
    };
    // A film of a named person that another signal recalled still says
    // whose it is.
    if !matches!(ctx.bus.origin.get(&it.id), Some(Origin::Person)) {
        let credits: Vec<String> = ctx
            .bus
            .people
            .iter()
            .filter_map(|n| recagent_reading::people::credit(it, n))
            .collect();
        parts.splice(0..0, credits);
    }
    if let Some(y) = it.year {
        parts.push(format!("{y}"));
    }
    let liked: Vec<&String> = ctx
        .profile
        .liked_genres
        .iter()
        .filter(|g| it.genres.iter().any(|x| genre_key(x) == genre_key(g)))
        .collect();
    if let Some(g) = liked.first() {
        parts.push(format!("you like {g}"));
    }
    parts.join(" · ")
}

/// Why an item recalled as similar to `seed` is on the list, by the
/// signal that recalled it.
fn similar_reason(it: &Item, seed: &Item, why: SimilarWhy) -> Vec<String> {
    let name = fence(&display_title(&seed.title), 80);
    let g: Vec<String> = it
        .genres
        .iter()
        .filter(|g| seed.genres.iter().any(|x| genre_key(x) == genre_key(g)))
        .cloned()
        .collect();
    match why {
        SimilarWhy::Collaborative if !g.is_empty() => vec![
            format!("{}, like {name}", g.join(" · ")),
            format!("people who liked {name} liked it too"),
        ],
        SimilarWhy::Collaborative => vec![format!("people who liked {name} liked it too")],
        SimilarWhy::Relations => vec![match recagent_reading::people::shared(it, seed) {
            Some(fact) => format!("{fact}, like {name}"),
            None => format!("shares cast or crew with {name}"),
        }],
        // The vectors hold the item's text: on a catalog with little more
        // than titles and genres, that is what the closeness is, and the
        // reason says so.
        SimilarWhy::Story if !g.is_empty() => vec![format!("{}, like {name}", g.join(" · "))],
        SimilarWhy::Story => vec![format!("described much like {name}")],
        SimilarWhy::Series => vec![format!("from the same series as {name}")],
    }
}

/// Why the next-item model recalled an item from the user's history: the
/// watched film with the strongest link to it, when there is one.
fn next_item_reason(ctx: &Ctx<'_>, it: &Item) -> String {
    let from = ctx
        .inner
        .funnel
        .as_ref()
        .and_then(|f| f.next())
        .and_then(|n| n.strongest_link(&ctx.history, it.id))
        .and_then(|i| ctx.catalog().item(i))
        .map(|s| fence(&display_title(&s.title), 80));
    match from {
        Some(t) => format!("people who liked {t} often pick this next"),
        None => "popular with viewers like you".into(),
    }
}

/// The theme a searched item shares with the search words, from its own
/// facts: "about heist" (a keyword), or "its story mentions “boxing”"
/// (the overview); none where the words matched only a title or a genre.
fn theme_reason(query: &str, it: &Item) -> Option<String> {
    let q: Vec<String> = recagent_core::words(query)
        .into_iter()
        .filter(|w| w.chars().count() >= 4 && !recagent_reading::rules::is_stopword(w))
        .collect();
    if q.is_empty() {
        return None;
    }
    let matches = |w: &String| q.iter().any(|x| x == w || w.strip_suffix('s') == Some(x));
    if let Some(k) = it
        .keywords
        .iter()
        .find(|k| recagent_core::words(k).iter().any(matches))
    {
        return Some(format!("about {}", fence(k, 60)));
    }
    let facts = recagent_core::words(&format!("{} {}", it.tagline, it.overview));
    facts
        .iter()
        .find(|w| matches(w))
        .map(|w| format!("its story mentions \u{201c}{w}\u{201d}"))
}

/// Why a searched item is on the list: the wanted genres it has, or its
/// first two.
fn search_reason(ctx: &Ctx<'_>, it: &Item) -> Option<String> {
    let wanted: Vec<&String> = it
        .genres
        .iter()
        .filter(|g| {
            ctx.bus
                .filter
                .genres_any
                .iter()
                .chain(&ctx.bus.filter.genres_all)
                .any(|w| genre_key(w) == genre_key(g))
        })
        .collect();
    let genres: Vec<&String> = if wanted.is_empty() {
        it.genres.iter().take(2).collect()
    } else {
        wanted
    };
    if genres.is_empty() {
        return None;
    }
    let g: Vec<&str> = genres.iter().map(|s| s.as_str()).collect();
    Some(g.join(" · "))
}

/// The ranked list as recommendations, with reasons.
pub(crate) fn recommendations(ctx: &Ctx<'_>) -> Vec<Recommendation> {
    ctx.bus
        .ranked
        .iter()
        .filter_map(|s| {
            let it = ctx.catalog().item(s.item)?;
            Some(Recommendation {
                id: it.id,
                key: it.key.clone(),
                // As people write it: "The Godfather".
                title: display_title(&it.title),
                year: it.year,
                genres: it.genres.clone(),
                score: s.score,
                reason: reason(ctx, it),
            })
        })
        .collect()
}

/// How many of the ranker's best the request's relevance re-sorts.
pub(crate) const RERANK_POOL: usize = 50;

/// The final order: the ranker's click probability times how well the item
/// answers this request (its recall score, scaled to the best of the same
/// recall source). A CTR model alone knows the user, not the request: on
/// "like Alien" it would put the user's favourite noir first.
///
/// Genres the user prefers (`prefer`, genre keys) lift an item by half:
/// "funny" orders an animated list, it does not filter it.
fn blend(
    bus: &Bus,
    catalog: &Catalog,
    prefer: &[String],
    weight: f32,
    ranked: Vec<Scored>,
    k: usize,
) -> Vec<Scored> {
    let weight = weight.clamp(0.0, 1.0);
    let mut best = [f32::MIN_POSITIVE; 4];
    let slot = |o: Option<&Origin>| match o {
        Some(Origin::SimilarTo(..)) => 1,
        Some(Origin::ForYou { .. }) => 2,
        Some(Origin::Person) => 3,
        _ => 0,
    };
    let recall: std::collections::HashMap<ItemId, f32> =
        bus.candidates.iter().map(|s| (s.item, s.score)).collect();
    for s in &bus.candidates {
        let b = &mut best[slot(bus.origin.get(&s.item))];
        *b = b.max(s.score);
    }
    let mut out: Vec<Scored> = ranked
        .into_iter()
        .map(|s| {
            let r = recall.get(&s.item).copied().unwrap_or(0.0).max(0.0);
            let rel = r / best[slot(bus.origin.get(&s.item))];
            let liked = if prefer.is_empty() {
                0.0
            } else {
                let has = catalog.item(s.item).map_or(0, |it| {
                    prefer
                        .iter()
                        .filter(|p| it.genres.iter().any(|g| genre_key(g) == **p))
                        .count()
                });
                has as f32 / prefer.len() as f32
            };
            let rel = rel.clamp(0.0, 1.0);
            // Items like a named film follow the similarity closely; a text
            // or history recall leaves more to what the user will pick.
            let fit = match bus.origin.get(&s.item) {
                Some(Origin::SimilarTo(..)) => {
                    s.score.max(1e-9).powf(1.0 - weight) * (0.05 + 0.95 * rel).powf(weight)
                }
                _ => s.score * (0.25 + 0.75 * rel),
            };
            Scored {
                item: s.item,
                score: fit * (1.0 + 0.5 * liked),
            }
        })
        .collect();
    // What the words matched comes before what was browsed to fill in.
    let browsed = |i: &ItemId| matches!(bus.origin.get(i), Some(Origin::Browse));
    out.sort_by(|a, b| {
        browsed(&a.item)
            .cmp(&browsed(&b.item))
            .then(b.score.total_cmp(&a.score))
            .then(a.item.cmp(&b.item))
    });
    out.truncate(k);
    out
}

pub(crate) fn rank_candidates(ctx: &mut Ctx<'_>, a: RankArgs) -> Outcome<RankOutput> {
    let k = a.k.map_or(DEFAULT_K, usize::from);
    if !(1..=MAX_K).contains(&k) {
        return Err(ToolError::fix(format!("k must be 1 to {MAX_K}, got {k}")));
    }
    apply_filter(ctx);
    if ctx.bus.candidates.is_empty() {
        return Err(ToolError::fix(
            "there are no candidates to rank; call search_items or similar_items first",
        ));
    }
    let ids: Vec<ItemId> = ctx.bus.candidates.iter().map(|s| s.item).collect();
    let inner = ctx.inner;
    match &inner.funnel {
        Some(funnel) => rank_with_funnel(ctx, funnel, &ids, k, &a.prefer_genres)?,
        None => rank_by_recall(ctx, ids.len(), k),
    }
    let recs = recommendations(ctx);
    let ranked = recs
        .iter()
        .enumerate()
        .map(|(n, r)| RankedItem {
            n: n + 1,
            title: fence(&r.title, 120),
            year: r.year,
            genres: r.genres.clone(),
            reason: r.reason.clone(),
        })
        .collect();
    let output = RankOutput {
        ranked,
        note: "recommend only these titles, in this order, with their reasons",
    };
    Ok(Done::new(
        format!("ranked {} of {}", recs.len(), ids.len()),
        output,
    ))
}

/// The funnel's order of the candidates `ids`, re-sorted by the
/// request's relevance ([`blend`]): the pool and its head of `k`.
fn rank_with_funnel(
    ctx: &mut Ctx<'_>,
    funnel: &Funnel,
    ids: &[ItemId],
    k: usize,
    prefer_genres: &[String],
) -> Result<(), ToolError> {
    let user = UserContext {
        user: ctx.catalog_user,
        history: &ctx.history,
    };
    // Every candidate the pre-rank keeps is ranked and re-sorted: cutting
    // to the ranker's best 50 first would drop what the request asked for
    // before its relevance counts.
    let cfg = FunnelConfig {
        prerank_to: ctx.inner.config.prerank_to,
        k: ids.len().max(k),
    };
    let out = funnel
        .run(&user, ids, &cfg)
        .map_err(|e| ToolError::broken(format!("ranking failed: {e}")))?;
    ctx.bus.stages.extend(out.stages);
    ctx.bus.ranker_history.extend(ctx.history.iter().copied());
    let prefer: Vec<String> = prefer_genres
        .iter()
        .filter_map(|g| ctx.inner.vocab.canonical(g))
        .map(|g| genre_key(&g))
        .collect();
    let pool = blend(
        ctx.bus,
        &ctx.inner.catalog,
        &prefer,
        ctx.inner.config.relevance_weight,
        out.ranked,
        RERANK_POOL.max(k),
    );
    ctx.bus.pool = pool.iter().map(|s| s.item).collect();
    ctx.bus.ranked = pool.into_iter().take(k).collect();
    Ok(())
}

/// No ranker: the candidates keep their recall order, stated in the
/// trace.
fn rank_by_recall(ctx: &mut Ctx<'_>, count_in: usize, k: usize) {
    let t = Instant::now();
    ctx.bus.ranked = ctx.bus.candidates.iter().take(k).copied().collect();
    ctx.bus.pool = ctx
        .bus
        .candidates
        .iter()
        .take(RERANK_POOL.max(k))
        .map(|s| s.item)
        .collect();
    ctx.bus.stages.push(StageTrace {
        stage: Stage::Rank,
        count_in,
        count_out: ctx.bus.ranked.len(),
        micros: micros(t),
    });
}
