//! The filter policy: what a filter means for this user and this
//! conversation (the request's genres and years, the profile's avoided
//! genres, everything seen or rejected), and [`FilterCandidates`].

use std::time::Instant;

use recagent_core::{Constraint, Filter, Item, Stage, StageTrace, genre_key, person_key};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Call, Ctx, Outcome, RecallOutput, Tool, ToolError, micros};

/// Arguments of `filter_candidates`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct FilterArgs {
    #[serde(flatten)]
    pub want: Constraint,
    /// Titles the user does not want (seen, named as unwanted).
    pub exclude_titles: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct FilterCandidates;

impl Tool for FilterCandidates {
    const NAME: &'static str = "filter_candidates";
    const DESCRIPTION: &'static str =
        "Narrow the recalled candidates by genre and year, and drop titles the user does not want.";
    type Args = FilterArgs;
    type Output = RecallOutput;

    fn call<'a>(&'a self, ctx: &'a mut Ctx<'_>, args: FilterArgs) -> Call<'a, RecallOutput> {
        Box::pin(std::future::ready(filter_candidates(ctx, args)))
    }
}

impl Ctx<'_> {
    /// The recall filter of a tool's constraint ([`Constraint::filter`]),
    /// genre names resolved through the vocabulary.
    pub(super) fn filter_of(&self, want: &Constraint) -> Result<Filter, ToolError> {
        if let (Some(lo), Some(hi)) = (want.year_min, want.year_max)
            && lo > hi
        {
            return Err(ToolError::fix(format!(
                "year_min {lo} is after year_max {hi}; swap them or drop one"
            )));
        }
        let f = want.filter();
        Ok(Filter {
            genres_any: self.canonical_genres(&f.genres_any)?,
            genres_all: self.canonical_genres(&f.genres_all)?,
            genres_none: self.canonical_genres(&f.genres_none)?,
            ..f
        })
    }

    /// Genre names as the catalog spells them; an unknown one is an error
    /// that lists the catalog's genres.
    pub(super) fn canonical_genres(&self, names: &[String]) -> Result<Vec<String>, ToolError> {
        names
            .iter()
            .filter(|n| !n.trim().is_empty())
            .map(|n| {
                self.inner.vocab.canonical(n).ok_or_else(|| {
                    ToolError::fix(format!(
                        "unknown genre {n:?}; the catalog's genres are: {}",
                        self.inner.vocab.genres().join(", ")
                    ))
                })
            })
            .collect()
    }

    /// Resolves people a request names to the catalog's spelling and puts
    /// them on the bus; a name the catalog does not credit is an error the
    /// caller can act on.
    pub(super) fn take_people(
        &mut self,
        wanted: &[String],
        avoided: &[String],
    ) -> Result<(), ToolError> {
        let people = self.inner.vocab.people();
        for (names, to_avoid) in [(wanted, false), (avoided, true)] {
            for n in names.iter().filter(|n| !n.trim().is_empty()) {
                let Some(c) = people.canonical(n) else {
                    return Err(ToolError::fix(format!(
                        "no film in the catalog credits {n:?}; check the spelling, or search by description instead"
                    )));
                };
                let list = if to_avoid {
                    &mut self.bus.avoid_people
                } else {
                    &mut self.bus.people
                };
                if !list.contains(&c) {
                    list.push(c);
                }
            }
        }
        Ok(())
    }

    /// Whether `item` credits every wanted person and no avoided one.
    pub(super) fn people_ok(&self, item: &Item) -> bool {
        self.bus.people.iter().all(|p| item.credits(&person_key(p)))
            && !self
                .bus
                .avoid_people
                .iter()
                .any(|p| item.credits(&person_key(p)))
    }

    /// The bus filter plus everything that is never recommended: the
    /// profile's avoided genres, seen and disliked items, this session's
    /// rejections and this turn's exclusions.
    pub(super) fn effective_filter(&self) -> Filter {
        let mut f = self.bus.filter.clone();
        for g in &self.profile.avoided_genres {
            if let Some(c) = self.inner.vocab.canonical(g)
                && !f.genres_none.contains(&c)
            {
                f.genres_none.push(c);
            }
        }
        // A genre the user asks for now wins over an older "avoid".
        f.genres_none.retain(|g| {
            !f.genres_any
                .iter()
                .chain(&f.genres_all)
                .any(|w| genre_key(w) == genre_key(g))
        });
        f.exclude = self.profile.excluded();
        f.exclude.extend(self.session_excluded.iter().copied());
        f.exclude.extend(self.bus.excluded.iter().copied());
        f.exclude.sort_unstable();
        f.exclude.dedup();
        f
    }
}

/// Drops candidates the effective filter rejects; records a Filter stage
/// when it removed any.
pub(super) fn apply_filter(ctx: &mut Ctx<'_>) {
    let t = Instant::now();
    let f = ctx.effective_filter();
    let before = ctx.bus.candidates.len();
    let catalog = &ctx.inner.catalog;
    let keep: Vec<bool> = ctx
        .bus
        .candidates
        .iter()
        .map(|s| {
            catalog
                .item(s.item)
                .is_some_and(|it| f.matches(it) && ctx.people_ok(it))
        })
        .collect();
    let mut k = keep.into_iter();
    ctx.bus.candidates.retain(|_| k.next().unwrap_or(false));
    if ctx.bus.candidates.len() != before {
        ctx.bus.stages.push(StageTrace {
            stage: Stage::Filter,
            count_in: before,
            count_out: ctx.bus.candidates.len(),
            micros: micros(t),
        });
    }
}

fn filter_candidates(ctx: &mut Ctx<'_>, a: FilterArgs) -> Outcome<RecallOutput> {
    let f = ctx.filter_of(&a.want)?;
    let ex = ctx.resolve_titles(&a.exclude_titles)?;
    ctx.bus.narrow(&f);
    ctx.take_people(&a.want.people, &a.want.avoid_people)?;
    // A film said as a negative takes its series with it ("isn't Star
    // Wars", "not another Batman"); a film the user also wants things
    // like ("like Alien, but not Alien itself") goes alone.
    let catalog = &ctx.inner.catalog;
    for id in ex {
        ctx.bus.excluded.insert(id);
        if ctx.bus.seeds.contains(&id) {
            continue;
        }
        if let Some(film) = catalog.item(id) {
            ctx.bus
                .excluded
                .extend(recagent_catalog::relations::series_of(catalog, film));
        }
    }
    let before = ctx.bus.candidates.len();
    apply_filter(ctx);
    let mut out = ctx.recall_output("filter", 0);
    out.summary = format!("filter: {before} → {}", ctx.bus.candidates.len());
    Ok(out)
}
