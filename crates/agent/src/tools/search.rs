//! Recall: candidates by text ([`SearchItems`]) and by similarity to
//! titles the user named ([`SimilarItems`]).

use std::time::Instant;

use recagent_core::Source;
use recagent_core::{Constraint, ItemId, Scored, Stage, StageTrace, words};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Call, Ctx, DEFAULT_K, Outcome, RecallOutput, Tool, ToolError, micros};
use crate::bus::{Origin, SimilarWhy};

/// The largest catalog whose items are scanned for a seed's series.
const SERIES_SCAN_MAX: usize = 50_000;

/// How many items one recall call brings onto the bus.
pub(crate) const RECALL_K: usize = 200;

/// Arguments of `search_items`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SearchArgs {
    /// What the user is looking for, in their words (plot, mood, topic).
    pub query: String,
    #[serde(flatten)]
    pub want: Constraint,
}

/// Arguments of `similar_items`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SimilarArgs {
    /// Titles the user liked, as they wrote them.
    pub titles: Vec<String>,
    #[serde(flatten)]
    pub want: Constraint,
}

#[derive(Debug)]
pub(crate) struct SearchItems;
#[derive(Debug)]
pub(crate) struct SimilarItems;

impl Tool for SearchItems {
    const NAME: &'static str = "search_items";
    const DESCRIPTION: &'static str = "Recall catalog items matching the user's description, with optional genre and year filters.";
    type Args = SearchArgs;
    type Output = RecallOutput;

    fn call<'a>(&'a self, ctx: &'a mut Ctx<'_>, args: SearchArgs) -> Call<'a, RecallOutput> {
        Box::pin(search_items(ctx, args))
    }
}

impl Tool for SimilarItems {
    const NAME: &'static str = "similar_items";
    const DESCRIPTION: &'static str =
        "Recall items similar to titles the user liked (the titles themselves are left out).";
    type Args = SimilarArgs;
    type Output = RecallOutput;

    fn call<'a>(&'a self, ctx: &'a mut Ctx<'_>, args: SimilarArgs) -> Call<'a, RecallOutput> {
        Box::pin(similar_items(ctx, args))
    }
}

impl Ctx<'_> {
    /// Recalls the films of the people on the bus (every wanted person,
    /// under the filters), the most recent first among equals; returns how
    /// many were new.
    fn recall_people(&mut self) -> usize {
        let Some(first) = self.bus.people.first() else {
            return 0;
        };
        let t = Instant::now();
        let f = self.effective_filter();
        let catalog = &self.inner.catalog;
        let mut hits: Vec<Scored> = self
            .inner
            .vocab
            .people()
            .films(first)
            .iter()
            .filter_map(|&i| catalog.item(i))
            .filter(|it| f.matches(it) && self.people_ok(it))
            .map(|it| Scored {
                item: it.id,
                score: person_score(it, &self.bus.people),
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        let n = self.bus.add(hits, Origin::Person);
        self.bus.stages.push(StageTrace {
            stage: Stage::Recall,
            count_in: self.inner.catalog.items().len(),
            count_out: n,
            micros: micros(t),
        });
        n
    }

    /// Drops candidates that do not credit the wanted people or credit an
    /// avoided one.
    fn keep_people(&mut self) {
        if self.bus.people.is_empty() && self.bus.avoid_people.is_empty() {
            return;
        }
        let catalog = &self.inner.catalog;
        let keep: Vec<bool> = self
            .bus
            .candidates
            .iter()
            .map(|s| catalog.item(s.item).is_some_and(|it| self.people_ok(it)))
            .collect();
        let mut k = keep.into_iter();
        self.bus.candidates.retain(|_| k.next().unwrap_or(false));
    }

    /// Recalls by text; text that matches few items is topped up by
    /// browsing the filtered items, so "a 90s comedy" never comes back
    /// empty because no title says "comedy".
    /// A request with no text to match ("what should I watch tonight?",
    /// "a 90s comedy") recalls from the user's history through the
    /// next-item model, within the request's filters: its own source on
    /// the bus, ahead of browsing. `None` without a next-item model or
    /// when it finds nothing.
    fn recall_for_you(&mut self, f: &recagent_core::Filter, t: Instant) -> Option<usize> {
        let next = self.inner.funnel.as_ref().and_then(|f| f.next())?;
        let catalog = &self.inner.catalog;
        let cold = next.is_cold(&self.history);
        let hits = next.top_k(&self.history, RECALL_K, |i| {
            catalog.item(i).is_some_and(|it| f.matches(it))
        });
        self.bus.for_you_cold = cold;
        let n = self.bus.add(hits, Origin::ForYou { cold });
        self.bus.stages.push(StageTrace {
            stage: Stage::Recall,
            count_in: self.inner.catalog.items().len(),
            count_out: n,
            micros: micros(t),
        });
        (n > 0).then_some(n)
    }

    /// Where the words matched few items (under a quarter of a recall),
    /// the filtered catalog browsed, ranked after every text match
    /// (`Origin::Browse`); empty otherwise.
    async fn browse_below(
        &self,
        hits: &[Scored],
        query: &str,
        f: &recagent_core::Filter,
    ) -> Result<Vec<Scored>, ToolError> {
        if hits.len() >= RECALL_K / 4 || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let more = self
            .inner
            .recall
            .search("", f, RECALL_K)
            .await
            .map_err(|e| ToolError::broken(e.to_string()))?;
        let floor = hits.iter().map(|h| h.score).fold(f32::INFINITY, f32::min);
        let floor = if floor.is_finite() { floor } else { 1.0 };
        Ok(more
            .into_iter()
            .enumerate()
            .map(|(r, h)| Scored {
                item: h.item,
                score: floor * 0.5 / (1.0 + r as f32),
            })
            .collect())
    }

    async fn recall_text(&mut self, query: &str) -> Result<usize, ToolError> {
        let f = self.effective_filter();
        let t = Instant::now();
        if words(query).is_empty()
            && let Some(n) = self.recall_for_you(&f, t)
        {
            return Ok(n);
        }
        let recall = &self.inner.recall;
        let hits = recall
            .search(query, &f, RECALL_K)
            .await
            .map_err(|e| ToolError::broken(e.to_string()))?;
        let mut browsed = self.browse_below(&hits, query, &f).await?;
        // Hybrid recall fuses the text match with the nearest vectors, and
        // the vectors always find something: an item whose own words
        // (title, facts, people) hold none of the search words is a
        // neighbour to fill in with, not a match ("a baseball movie" is
        // not Star Wars, however close its vector).
        let said: Vec<String> = words(query)
            .into_iter()
            .filter(|w| w.chars().count() >= 3)
            .collect();
        let catalog = &self.inner.catalog;
        let (hits, near): (Vec<Scored>, Vec<Scored>) = if said.is_empty() {
            (hits, Vec::new())
        } else {
            hits.into_iter()
                .partition(|h| catalog.item(h.item).is_some_and(|it| says_any(it, &said)))
        };
        let near_matched = !hits.is_empty();
        let (hits, near) = if near_matched {
            (hits, near)
        } else {
            (near, Vec::new())
        };
        browsed.splice(0..0, near);
        let matched = !hits.is_empty();
        let mut n = self.bus.add(hits, Origin::Search);
        // With no text match at all the browse is the whole list, ordered
        // as a search would be.
        n += self.bus.add(
            browsed,
            if matched {
                Origin::Browse
            } else {
                Origin::Search
            },
        );
        self.bus.stages.push(StageTrace {
            stage: Stage::Recall,
            count_in: self.inner.catalog.items().len(),
            count_out: n,
            micros: micros(t),
        });
        Ok(n)
    }
}

/// Whether an item's own text holds any of `said` (as a part of a word:
/// "shark" in "sharks"): its title, genres, text, facts and people.
fn says_any(it: &recagent_core::Item, said: &[String]) -> bool {
    let holds = |text: &str| {
        let t = text.to_lowercase();
        said.iter().any(|w| t.contains(w.as_str()))
    };
    holds(&it.title)
        || it.genres.iter().any(|g| holds(g))
        || holds(&it.text)
        || holds(&it.overview)
        || holds(&it.tagline)
        || it.keywords.iter().any(|k| holds(k))
        || it.people.iter().any(|p| holds(&p.name))
}

/// How strongly a film is the named people's: a lead or the director
/// counts more than a supporting part.
fn person_score(it: &recagent_core::Item, names: &[String]) -> f32 {
    use recagent_core::{Role, person_key};
    names
        .iter()
        .map(|n| {
            let key = person_key(n);
            it.people
                .iter()
                .filter(|p| person_key(&p.name) == key)
                .map(|p| match (p.role, p.order) {
                    (Role::Director, _) => 1.0,
                    (Role::Cast, Some(o)) => 1.0 / (1.0 + f32::from(o) / 3.0),
                    _ => 0.5,
                })
                .fold(0.0, f32::max)
        })
        .sum()
}

async fn search_items(ctx: &mut Ctx<'_>, a: SearchArgs) -> Outcome<RecallOutput> {
    let f = ctx.filter_of(&a.want)?;
    ctx.bus.narrow(&f);
    ctx.take_people(&a.want.people, &a.want.avoid_people)?;
    ctx.bus.query.clone_from(&a.query);
    // A person's films are the pool: those the words match (a theme, a
    // plot word) come first, the rest of their films after them.
    let mut n = 0;
    if ctx.bus.people.is_empty() || !words(&a.query).is_empty() {
        n += ctx.recall_text(&a.query).await?;
        ctx.keep_people();
    }
    n += ctx.recall_people();
    if ctx.bus.candidates.is_empty() {
        let who = ctx.bus.people.join(" and ");
        return Err(ToolError::fix(if who.is_empty() {
            "nothing matches these filters; loosen the genres or years".into()
        } else {
            format!("no film with {who} passes these filters; loosen the genres or years")
        }));
    }
    Ok(ctx.recall_output("search", n))
}

/// Sequels and the rest of the seeds' series that pass `eff` ("more Star
/// Trek", "like Terminator 2"), the seeds themselves left out.
fn series_of_seeds(
    catalog: &recagent_core::Catalog,
    seeds: &[ItemId],
    eff: &recagent_core::Filter,
) -> Vec<ItemId> {
    // The scan compares titles item by item: fine for film catalogs, not
    // for the million-item synthetic ones, which have no series anyway.
    if catalog.items().len() > SERIES_SCAN_MAX {
        return Vec::new();
    }
    seeds
        .iter()
        .filter_map(|&s| catalog.item(s))
        .flat_map(|seed| recagent_catalog::relations::series_of(catalog, seed))
        .filter(|i| !seeds.contains(i))
        .filter(|&i| catalog.item(i).is_some_and(|it| eff.matches(it)))
        .collect()
}

impl Ctx<'_> {
    /// Puts the seeds' `series` on the bus first, above the best
    /// neighbour, then the neighbours `hits` with why each came; returns
    /// how many were new.
    fn add_neighbours(
        &mut self,
        seeds: &[ItemId],
        series: &[ItemId],
        hits: Vec<recagent_core::SimilarHit>,
    ) -> usize {
        let top = hits.first().map_or(1.0, |h| h.score);
        let mut n = 0;
        for &i in series {
            let hit = Scored {
                item: i,
                score: top * 2.0,
            };
            n += self
                .bus
                .add(vec![hit], Origin::SimilarTo(seeds[0], SimilarWhy::Series));
        }
        for h in hits.into_iter().filter(|h| !series.contains(&h.item)) {
            let why = match h.source {
                Source::Cooccurrence => SimilarWhy::Collaborative,
                Source::Relations => SimilarWhy::Relations,
                Source::Content => SimilarWhy::Story,
            };
            let hit = Scored {
                item: h.item,
                score: h.score,
            };
            n += self.bus.add(vec![hit], Origin::SimilarTo(seeds[0], why));
        }
        n
    }
}

async fn similar_items(ctx: &mut Ctx<'_>, a: SimilarArgs) -> Outcome<RecallOutput> {
    if a.titles.iter().all(|t| t.trim().is_empty()) {
        return Err(ToolError::fix(
            "similar_items needs at least one title in `titles`",
        ));
    }
    let seeds = ctx.resolve_titles(&a.titles)?;
    let f = ctx.filter_of(&a.want)?;
    ctx.bus.narrow(&f);
    ctx.take_people(&a.want.people, &a.want.avoid_people)?;
    for s in &seeds {
        // The user named them: they have seen them.
        ctx.bus.excluded.insert(*s);
        if !ctx.bus.seeds.contains(s) {
            ctx.bus.seeds.push(*s);
        }
    }
    let eff = ctx.effective_filter();
    let t = Instant::now();
    let hits = ctx
        .inner
        .recall
        .similar(&seeds, &eff, RECALL_K)
        .await
        .map_err(|e| ToolError::broken(e.to_string()))?;
    let series = series_of_seeds(&ctx.inner.catalog, &seeds, &eff);
    let n = ctx.add_neighbours(&seeds, &series, hits);
    ctx.bus.stages.push(StageTrace {
        stage: Stage::Recall,
        count_in: ctx.inner.catalog.items().len(),
        count_out: n,
        micros: micros(t),
    });
    if ctx.bus.candidates.len() < DEFAULT_K {
        // Few neighbours under these filters: add the filtered items whose
        // text is closest to the seeds' titles.
        let q = ctx.titles(&seeds).join(" ");
        ctx.recall_text(&q).await?;
    }
    ctx.keep_people();
    if ctx.bus.candidates.is_empty() {
        return Err(ToolError::fix(
            "nothing similar passes these filters; loosen the genres or years",
        ));
    }
    let label = format!("similar to {}", ctx.titles(&seeds).join(", "));
    Ok(ctx.recall_output(&label, n))
}
