//! Rightness of tool calls on labelled requests.
//!
//! A schema-valid call is not a right one. Each labelled request names the
//! tools that must be called, the genre and year filters, and the titles
//! liked (similarity seeds) and excluded. [`score`] reads what a turn
//! actually called (from its trace, so every controller and strategy is
//! scored the same way) and checks three things: right tool, right filters,
//! right titles. `recagent bench agent` runs the set.

use std::collections::BTreeSet;

use recagent_core::{Constraint, ItemId};
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
    /// Genres asked for (required or preferred: the two score as one),
    /// genres left out now or for good, and years.
    #[serde(flatten)]
    pub want: Constraint,
    /// Titles to find similar items to.
    #[serde(default)]
    pub liked: Vec<String>,
    /// Titles that must not be recommended.
    #[serde(default)]
    pub excluded: Vec<String>,
    /// "dev" (the default): written before tuning and used for it; or
    /// "held-out": written with them and not looked at while tuning.
    #[serde(default = "dev")]
    pub split: String,
}

fn dev() -> String {
    "dev".into()
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
    let w = &case.want;
    let filters = canon(agent, asked.genres())
        == canon(agent, [&w.genres[..], &w.prefer_genres].concat())
        && canon(agent, asked.want.avoid_genres.clone()) == canon(agent, w.avoid_genres.clone())
        && (asked.want.year_min, asked.want.year_max) == (w.year_min, w.year_max);
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
    want: Constraint,
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
                SearchItems::NAME => out.add(&args::<SearchArgs>(a).want),
                SimilarItems::NAME => {
                    let a: SimilarArgs = args(a);
                    out.add(&a.want);
                    out.liked.extend(resolve(agent, a.titles));
                }
                FilterCandidates::NAME => {
                    let a: FilterArgs = args(a);
                    out.add(&a.want);
                    out.excluded.extend(resolve(agent, a.exclude_titles));
                }
                RankCandidates::NAME => {
                    let a: RankArgs = args(a);
                    out.want.prefer_genres.extend(a.prefer_genres);
                }
                RememberPreference::NAME => {
                    let a: RememberArgs = args(a);
                    out.want.avoid_genres.extend(a.avoided_genres);
                    out.excluded.extend(resolve(agent, a.seen_titles));
                    out.excluded.extend(resolve(agent, a.disliked_titles));
                }
                _ => {}
            }
        }
        out
    }

    /// Every genre asked for, required or preferred.
    fn genres(&self) -> Vec<String> {
        [&self.want.genres[..], &self.want.prefer_genres].concat()
    }

    fn add(&mut self, w: &Constraint) {
        self.want.genres.extend(w.genres.iter().cloned());
        self.want
            .prefer_genres
            .extend(w.prefer_genres.iter().cloned());
        self.want
            .avoid_genres
            .extend(w.avoid_genres.iter().cloned());
        self.bound(w.year_min, w.year_max);
    }

    /// Year bounds tighten across calls. Bounds at the schema's edges
    /// (1900, 2030) bound nothing, as in a plan (`Plan::normalized`): a
    /// step's `search_items` with `year_min: 1900` asks for any year.
    fn bound(&mut self, y_min: Option<u16>, y_max: Option<u16>) {
        let inside =
            |y: &u16| *y > recagent_reading::YEAR_FLOOR && *y < recagent_reading::YEAR_CEILING;
        let (y_min, y_max) = (y_min.filter(inside), y_max.filter(inside));
        if let Some(y) = y_min {
            self.want.year_min = Some(self.want.year_min.map_or(y, |l| l.max(y)));
        }
        if let Some(y) = y_max {
            self.want.year_max = Some(self.want.year_max.map_or(y, |h| h.min(y)));
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
    /// Genres required, preferred and avoided, and years, as the state
    /// should have them.
    #[serde(flatten)]
    pub want: Constraint,
    /// Titles the list should be like.
    #[serde(default)]
    pub anchors: Vec<String>,
    #[serde(default)]
    pub feedback: crate::Feedback,
    /// Genres every film on the list must have, whatever was loosened to
    /// fill it ("a western from the 60s", all seen: still westerns).
    #[serde(default)]
    pub listed: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct DialogueFile {
    dialogues: Vec<Dialogue>,
}

/// The labelled dialogues.
pub fn dialogues() -> Result<Vec<Dialogue>, serde_json::Error> {
    Ok(serde_json::from_str::<DialogueFile>(DIALOGUES)?.dialogues)
}

/// The listed films that lack a genre `want.listed` names (empty when
/// every film has them all, or the turn expects nothing of its list).
pub fn list_mismatches(agent: &Agent, want: &ExpectedTurn, listed: &[ItemId]) -> Vec<String> {
    let need: Vec<String> = want
        .listed
        .iter()
        .map(|g| agent.canonical_genre(g).unwrap_or_else(|| g.clone()))
        .collect();
    let mut out = Vec::new();
    if !need.is_empty() && listed.is_empty() {
        out.push(format!("list: empty, want {need:?}"));
    }
    for item in listed.iter().filter_map(|&i| agent.catalog().item(i)) {
        if need.iter().any(|g| !item.genres.contains(g)) {
            out.push(format!("list: {} lacks {need:?}", item.title));
        }
    }
    out
}

/// Where `got` differs from what `want` expects, slot by slot (empty when
/// the state is right). Genres compare by catalog name, anchors by the
/// item their titles link to.
pub fn state_mismatches(
    agent: &Agent,
    want: &ExpectedTurn,
    got: &crate::DialogueState<String>,
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
        canon(&want.want.genres) == canon(&got.want.genres),
        format!("want {:?}, got {:?}", want.want.genres, got.want.genres),
    );
    slot(
        "prefer",
        canon(&want.want.prefer_genres) == canon(&got.want.prefer_genres),
        format!(
            "want {:?}, got {:?}",
            want.want.prefer_genres, got.want.prefer_genres
        ),
    );
    slot(
        "avoid",
        canon(&want.want.avoid_genres) == canon(&got.want.avoid_genres),
        format!(
            "want {:?}, got {:?}",
            want.want.avoid_genres, got.want.avoid_genres
        ),
    );
    slot(
        "years",
        (want.want.year_min, want.want.year_max) == (got.want.year_min, got.want.year_max),
        format!(
            "want {:?}–{:?}, got {:?}–{:?}",
            want.want.year_min, want.want.year_max, got.want.year_min, got.want.year_max
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

#[cfg(test)]
// The test agent recalls through `LexicalRecall`.
#[cfg(feature = "retrieval")]
mod tests {
    //! `score` on hand-written traces: each row is one labelled request and
    //! the calls a controller might have made for it.

    use std::sync::Arc;

    use recagent_core::{Catalog, Item};
    use recagent_memory::Memory;
    use serde_json::json;

    use super::*;
    use crate::recall::LexicalRecall;
    use crate::tools::ForgetPreference;
    use crate::trace::ToolTrace;
    use recagent_core::Constraint;

    fn agent(dir: &std::path::Path) -> Agent {
        let films: &[(&str, u16, &[&str])] = &[
            ("Fargo", 1996, &["Crime", "Drama", "Thriller"]),
            ("Heat", 1995, &["Action", "Crime", "Thriller"]),
            ("Pulp Fiction", 1994, &["Crime", "Drama"]),
            ("Alien", 1979, &["Action", "Horror", "Sci-Fi", "Thriller"]),
            ("Toy Story", 1995, &["Animation", "Children's", "Comedy"]),
        ];
        let items = films
            .iter()
            .enumerate()
            .map(|(i, (title, year, genres))| Item {
                id: ItemId(i as u32),
                key: i.to_string(),
                title: (*title).into(),
                year: Some(*year),
                genres: genres.iter().map(|g| (*g).into()).collect(),
                text: String::new(),
                relations: Default::default(),
                ..Default::default()
            })
            .collect();
        let catalog =
            Arc::new(Catalog::new("films", items, Vec::new(), Vec::new()).expect("catalog"));
        let recall = LexicalRecall::build(Arc::clone(&catalog), dir).expect("recall");
        let memory = Memory::in_memory().expect("memory");
        Agent::builder(catalog, Arc::new(recall), Arc::new(memory))
            .build()
            .expect("agent")
    }

    /// "A 90s crime film like Fargo, but not Heat."
    fn fargo_not_heat() -> Case {
        Case {
            text: "a 90s crime film like Fargo, but not Heat".into(),
            tools: vec![SimilarItems::NAME.into()],
            want: Constraint {
                genres: vec!["Crime".into()],
                year_min: Some(1990),
                year_max: Some(1999),
                ..Constraint::default()
            },
            liked: vec!["Fargo".into()],
            excluded: vec!["Heat".into()],
            split: dev(),
        }
    }

    /// "No horror, something like Alien but not Alien itself."
    fn alien_no_horror() -> Case {
        Case {
            text: "no horror, something like Alien but not Alien itself".into(),
            tools: vec![SimilarItems::NAME.into()],
            want: Constraint {
                avoid_genres: vec!["Horror".into()],
                ..Constraint::default()
            },
            liked: vec!["Alien".into()],
            excluded: vec!["Alien".into()],
            split: dev(),
        }
    }

    fn call<T: Tool>(args: &T::Args) -> (&'static str, Value) {
        (T::NAME, serde_json::to_value(args).expect("args serialise"))
    }

    fn similar(
        titles: &[&str],
        genres: &[&str],
        years: (Option<u16>, Option<u16>),
    ) -> (&'static str, Value) {
        call::<SimilarItems>(&SimilarArgs {
            titles: titles.iter().map(|t| (*t).into()).collect(),
            want: Constraint {
                genres: genres.iter().map(|g| (*g).into()).collect(),
                year_min: years.0,
                year_max: years.1,
                ..Constraint::default()
            },
        })
    }

    fn exclude(titles: &[&str]) -> (&'static str, Value) {
        call::<FilterCandidates>(&FilterArgs {
            exclude_titles: titles.iter().map(|t| (*t).into()).collect(),
            ..FilterArgs::default()
        })
    }

    const NINETIES: (Option<u16>, Option<u16>) = (Some(1990), Some(1999));

    /// (what the row shows, the case, the calls, right tool / filters / titles).
    type Row = (
        &'static str,
        Case,
        Vec<(&'static str, Value)>,
        (bool, bool, bool),
    );

    fn table() -> Vec<Row> {
        vec![
            (
                "all right",
                fargo_not_heat(),
                vec![
                    similar(&["Fargo"], &["Crime"], NINETIES),
                    exclude(&["Heat"]),
                ],
                (true, true, true),
            ),
            (
                "genre and title as a user writes them, in lower case",
                fargo_not_heat(),
                vec![
                    similar(&["fargo"], &["crime"], NINETIES),
                    exclude(&["heat"]),
                ],
                (true, true, true),
            ),
            (
                "year bounds tighten across calls",
                fargo_not_heat(),
                vec![
                    similar(&["Fargo"], &["Crime"], (Some(1990), None)),
                    call::<FilterCandidates>(&FilterArgs {
                        want: Constraint {
                            year_max: Some(1999),
                            ..Constraint::default()
                        },
                        exclude_titles: vec!["Heat".into()],
                    }),
                ],
                (true, true, true),
            ),
            (
                "wrong tool: a text search has no seed",
                fargo_not_heat(),
                vec![
                    call::<SearchItems>(&SearchArgs {
                        query: "crime like fargo".into(),
                        want: Constraint {
                            genres: vec!["Crime".into()],
                            year_min: Some(1990),
                            year_max: Some(1999),
                            ..Constraint::default()
                        },
                    }),
                    exclude(&["Heat"]),
                ],
                (false, true, false),
            ),
            (
                "wrong tool: nothing called",
                fargo_not_heat(),
                Vec::new(),
                (false, false, false),
            ),
            (
                "wrong genre",
                fargo_not_heat(),
                vec![
                    similar(&["Fargo"], &["Drama"], NINETIES),
                    exclude(&["Heat"]),
                ],
                (true, false, true),
            ),
            (
                "a genre more than asked",
                fargo_not_heat(),
                vec![
                    similar(&["Fargo"], &["Crime", "Thriller"], NINETIES),
                    exclude(&["Heat"]),
                ],
                (true, false, true),
            ),
            (
                "a year bound missing",
                fargo_not_heat(),
                vec![
                    similar(&["Fargo"], &["Crime"], (Some(1990), None)),
                    exclude(&["Heat"]),
                ],
                (true, false, true),
            ),
            (
                "wrong seed",
                fargo_not_heat(),
                vec![
                    similar(&["Pulp Fiction"], &["Crime"], NINETIES),
                    exclude(&["Heat"]),
                ],
                (true, true, false),
            ),
            (
                "a seed more than asked",
                fargo_not_heat(),
                vec![
                    similar(&["Fargo", "Pulp Fiction"], &["Crime"], NINETIES),
                    exclude(&["Heat"]),
                ],
                (true, true, false),
            ),
            (
                "the excluded title missing",
                fargo_not_heat(),
                vec![similar(&["Fargo"], &["Crime"], NINETIES)],
                (true, true, false),
            ),
            (
                "excluded as seen, through memory",
                fargo_not_heat(),
                vec![
                    similar(&["Fargo"], &["Crime"], NINETIES),
                    call::<RememberPreference>(&RememberArgs {
                        seen_titles: vec!["Heat".into()],
                        ..RememberArgs::default()
                    }),
                ],
                (true, true, true),
            ),
            (
                "an argument the tool does not know: the call reads as empty",
                fargo_not_heat(),
                vec![(
                    SimilarItems::NAME,
                    json!({"titles": ["Fargo"], "genres": ["Crime"], "year_min": 1990,
                           "year_max": 1999, "exclude": ["Heat"]}),
                )],
                (true, false, false),
            ),
            (
                "a seed is left out of the list, so it counts as excluded",
                alien_no_horror(),
                vec![call::<SimilarItems>(&SimilarArgs {
                    titles: vec!["Alien".into()],
                    want: Constraint {
                        avoid_genres: vec!["Horror".into()],
                        ..Constraint::default()
                    },
                })],
                (true, true, true),
            ),
            (
                "a genre avoided for good counts as avoided",
                alien_no_horror(),
                vec![
                    similar(&["Alien"], &[], (None, None)),
                    call::<RememberPreference>(&RememberArgs {
                        avoided_genres: vec!["horror".into()],
                        ..RememberArgs::default()
                    }),
                ],
                (true, true, true),
            ),
            (
                "the avoided genre missing",
                alien_no_horror(),
                vec![similar(&["Alien"], &[], (None, None))],
                (true, false, true),
            ),
            (
                "a genre preferred in the rank is a wanted genre",
                fargo_not_heat(),
                vec![
                    similar(&["Fargo"], &[], NINETIES),
                    exclude(&["Heat"]),
                    call::<RankCandidates>(&RankArgs {
                        k: None,
                        prefer_genres: vec!["Crime".into()],
                    }),
                ],
                (true, true, true),
            ),
            (
                "a genre preferred in the rank that was not asked for",
                alien_no_horror(),
                vec![
                    call::<SimilarItems>(&SimilarArgs {
                        titles: vec!["Alien".into()],
                        want: Constraint {
                            avoid_genres: vec!["Horror".into()],
                            ..Constraint::default()
                        },
                    }),
                    call::<RankCandidates>(&RankArgs {
                        k: None,
                        prefer_genres: vec!["Sci-Fi".into()],
                    }),
                ],
                (true, false, true),
            ),
            (
                "a tool that is not scored changes nothing",
                alien_no_horror(),
                vec![
                    call::<SimilarItems>(&SimilarArgs {
                        titles: vec!["Alien".into()],
                        want: Constraint {
                            avoid_genres: vec!["Horror".into()],
                            ..Constraint::default()
                        },
                    }),
                    (ForgetPreference::NAME, json!({"genres": ["Horror"]})),
                ],
                (true, true, true),
            ),
        ]
    }

    #[test]
    fn score_checks_tool_filters_and_titles() {
        let dir = tempfile::tempdir().expect("tempdir");
        let agent = agent(dir.path());
        let mut wrong = Vec::new();
        for (what, case, calls, (tool, filters, titles)) in table() {
            let trace = TurnTrace {
                tool_calls: calls
                    .into_iter()
                    .map(|(name, arguments)| ToolTrace {
                        name: name.into(),
                        arguments,
                        ok: true,
                        summary: String::new(),
                        micros: 0,
                    })
                    .collect(),
                ..TurnTrace::default()
            };
            let want = CaseScore {
                tool,
                filters,
                titles,
            };
            let got = score(&agent, &case, &trace);
            if got != want {
                wrong.push(format!("{what}: want {want:?}, got {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}

/// The labelled requests about people and themes, for MovieLens-100K
/// (`tests/labelled/people_themes.json`).
pub const LABELLED_PEOPLE_THEMES: &str = include_str!("../../../tests/labelled/people_themes.json");

/// One labelled request about a person or a theme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactCase {
    pub text: String,
    /// What every listed film must be: people credited (as the catalog
    /// spells them) and not, genres (any one of `prefer_genres`) and years.
    #[serde(flatten)]
    pub want: Constraint,
    /// A film about the theme has one of these in a keyword, its overview
    /// or its tagline (lower case, as substrings).
    #[serde(default)]
    pub terms: Vec<String>,
    #[serde(default = "dev")]
    pub split: String,
}

#[derive(Deserialize)]
struct FactCases {
    cases: Vec<FactCase>,
}

/// Parses a set of [`FactCase`]s (an object with `about` and `cases`).
pub fn fact_cases(json: &str) -> Result<Vec<FactCase>, serde_json::Error> {
    serde_json::from_str::<FactCases>(json).map(|c| c.cases)
}

impl FactCase {
    /// Whether `item` answers the request: it credits the wanted people
    /// and none of the avoided, is about the theme, and passes the genre
    /// and year bounds.
    pub fn relevant(&self, item: &recagent_core::Item) -> bool {
        use recagent_core::person_key;
        let filter = self.want.filter();
        let about = self.terms.is_empty() || {
            let facts = item.facts_text().to_lowercase();
            self.terms.iter().any(|t| facts.contains(&t.to_lowercase()))
        };
        filter.matches(item)
            && about
            && self
                .want
                .people
                .iter()
                .all(|p| item.credits(&person_key(p)))
            && !self
                .want
                .avoid_people
                .iter()
                .any(|p| item.credits(&person_key(p)))
    }

    /// Precision at `k` of a list: relevant films over `k` (a short list
    /// is not padded with hits).
    pub fn precision(&self, catalog: &recagent_core::Catalog, list: &[ItemId], k: usize) -> f64 {
        let hits = list
            .iter()
            .take(k)
            .filter_map(|&i| catalog.item(i))
            .filter(|it| self.relevant(it))
            .count();
        hits as f64 / k.max(1) as f64
    }
}

/// Requests anchored on films the catalog lacks
/// (`tests/labelled/outside.json`).
pub const LABELLED_OUTSIDE: &str = include_str!("../../../tests/labelled/outside.json");

/// One request anchored on a film outside the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutsideCase {
    pub text: String,
    /// The film as the user wrote it.
    pub film: String,
    #[serde(default = "dev")]
    pub split: String,
    /// The film's genres in the catalog's names: a listed film is like it
    /// when it has at least two of them (one, where one is labelled).
    #[serde(default)]
    pub genres: Vec<String>,
}

#[derive(Deserialize)]
struct OutsideCases {
    cases: Vec<OutsideCase>,
}

/// Parses a set of [`OutsideCase`]s.
pub fn outside_cases(json: &str) -> Result<Vec<OutsideCase>, serde_json::Error> {
    serde_json::from_str::<OutsideCases>(json).map(|c| c.cases)
}

impl OutsideCase {
    /// Whether `item` is like the film by its labelled genres.
    pub fn like(&self, item: &recagent_core::Item) -> bool {
        let need = self.genres.len().min(2);
        let shared = self
            .genres
            .iter()
            .filter(|g| {
                item.genres
                    .iter()
                    .any(|h| recagent_core::genre_key(h) == recagent_core::genre_key(g))
            })
            .count();
        need > 0 && shared >= need
    }

    /// Precision at `k` of a list by [`OutsideCase::like`] (a short list
    /// is not padded with hits).
    pub fn precision(&self, catalog: &recagent_core::Catalog, list: &[ItemId], k: usize) -> f64 {
        let hits = list
            .iter()
            .take(k)
            .filter_map(|&i| catalog.item(i))
            .filter(|it| self.like(it))
            .count();
        hits as f64 / k.max(1) as f64
    }

    /// Whether an answer tells the user the film is not in the catalog
    /// (by name), with or without a list.
    pub fn told(&self, answer: &str) -> bool {
        let a = answer.to_lowercase();
        a.contains(&self.film.to_lowercase())
            && (a.contains("not in this catalog") || a.contains("could not find"))
    }
}
