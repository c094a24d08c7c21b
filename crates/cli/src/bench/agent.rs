//! `recagent bench agent`: the agent on the labelled requests and
//! dialogues: right tool, filters and titles, dialogue state, and latency.

use clap::Args;
use recagent_agent::eval::{self, Case};
use recagent_agent::{Agent, Turn};
use recagent_core::{Home, Progress};
use recagent_memory::Forget;
use serde::Serialize;

use super::stats::{Percentiles, percentiles};
use crate::names::ControllerName;
use crate::open::{self, AgentArgs};
use crate::progress::Bars;

#[derive(Debug, Args)]
pub struct AgentBenchArgs {
    /// Catalog name (the labelled set is written for ml-100k)
    #[arg(default_value = "ml-100k")]
    name: String,
    /// Times to run the whole set for latency (rightness is from the first run)
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Run only the first N requests (and the first N dialogues, unless
    /// --dialogues says otherwise)
    #[arg(long)]
    limit: Option<usize>,
    /// Run only the first N labelled dialogues (0: none)
    #[arg(long, value_name = "N")]
    dialogues: Option<usize>,
    /// Run only these labelled sets (comma-separated; all by default):
    /// a slow model can be measured on one set at a time
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SET")]
    only: Vec<LabelledSet>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    agent: AgentArgs,
}

/// The labelled sets `bench agent` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LabelledSet {
    /// The 48 labelled requests (tests/labelled/ml100k.json): tool, filters, titles
    Requests,
    /// The labelled dialogues: the state after each turn
    Dialogues,
    /// Requests about people and themes (tests/labelled/people_themes.json)
    PeopleThemes,
    /// Requests anchored on films the catalog lacks (tests/labelled/outside.json)
    Outside,
}

impl AgentBenchArgs {
    fn runs(&self, set: LabelledSet) -> bool {
        self.only.is_empty() || self.only.contains(&set)
    }
}

#[derive(Debug, Serialize)]
struct AgentCase {
    text: String,
    /// "dev" or "held-out" (see the labelled set).
    split: String,
    tool: bool,
    filters: bool,
    titles: bool,
    /// Whether the list shown satisfies the labelled filters.
    satisfied: bool,
    calls: Vec<String>,
    /// Model replies that could not be used (the turn's trace).
    model_failures: u32,
    /// Whether the rules stood in for the model.
    fallback: bool,
    tools_ms: f64,
    turn_ms: f64,
    first_token_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
struct AgentBench {
    catalog: String,
    controller: String,
    strategy: String,
    cases: usize,
    right_tool: f64,
    right_filters: f64,
    right_titles: f64,
    satisfied: f64,
    /// The requests held out from tuning the rules, apart.
    held_out: SplitScore,
    /// Model replies that could not be used, over all requests.
    model_failures: u32,
    /// Requests where the rules stood in for the model.
    fallbacks: usize,
    /// Tool pipeline per turn (recall, filters, ranking, memory), model excluded.
    tools: Percentiles,
    turn: Percentiles,
    per_case: Vec<AgentCase>,
    /// The dialogue state after each turn of the labelled dialogues.
    dialogues: DialogueBench,
    /// Requests about people and themes (`tests/labelled/people_themes.json`).
    people_themes: FactBench,
    /// Requests anchored on films the catalog lacks (`tests/labelled/outside.json`).
    outside: OutsideBench,
}

/// Films outside the catalog: how often the answer says so, and how often
/// it asks instead of showing a list that follows nothing.
#[derive(Debug, Default, Serialize)]
struct OutsideBench {
    cases: usize,
    /// The answer names the film and says the catalog lacks it.
    told: usize,
    /// No list: the answer asks what the user liked about the film.
    asked: usize,
    held_out_cases: usize,
    held_out_told: usize,
    held_out_asked: usize,
    /// Answers with a list, and the mean precision@10 of those lists by
    /// the film's labelled genres, per split.
    listed: usize,
    precision_at_10: f64,
    held_out_listed: usize,
    held_out_precision_at_10: f64,
    /// Requests whose answer did not say the film is missing.
    missed: Vec<String>,
    /// Each list's top three and precision@10.
    lists: Vec<String>,
}

/// Requests about people and themes: precision@10 of the list and whether
/// it satisfies the request, per split.
#[derive(Debug, Default, Serialize)]
struct FactBench {
    dev: FactScore,
    held_out: FactScore,
    per_case: Vec<FactCaseScore>,
}

#[derive(Debug, Default, Serialize)]
struct FactScore {
    cases: usize,
    /// Mean precision@10 over the cases.
    precision_at_10: f64,
    /// Share of cases whose list satisfies the request.
    satisfied: f64,
}

#[derive(Debug, Serialize)]
struct FactCaseScore {
    text: String,
    split: String,
    precision_at_10: f64,
    satisfied: bool,
    /// The first three titles shown.
    top: Vec<String>,
}

/// Requests of one split: how many, how many right in tool, filters and
/// titles at once, and how many lists satisfy them.
#[derive(Debug, Default, Serialize)]
struct SplitScore {
    cases: usize,
    all_right: usize,
    satisfied: usize,
}

#[derive(Debug, Default, Serialize)]
struct DialogueBench {
    dialogues: usize,
    /// Turns whose state is right in every slot, of all turns: the
    /// development dialogues, then the held-out ones.
    dev_right: usize,
    dev_turns: usize,
    held_out_right: usize,
    held_out_turns: usize,
    /// Turns with a wrong slot: "id turn: text — slot: want …, got …".
    wrong: Vec<String>,
}

pub fn run(home: &Home, args: AgentBenchArgs) -> anyhow::Result<()> {
    let report = measure(home, &args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    Ok(())
}

fn measure(home: &Home, args: &AgentBenchArgs) -> anyhow::Result<AgentBench> {
    let bars = Bars::new();
    let agent = open::agent(home, &args.name, &args.agent, &bars)?;
    let mut cases = eval::cases(eval::LABELLED_ML100K)?;
    if let Some(n) = args.limit {
        cases.truncate(n);
    }
    if !args.runs(LabelledSet::Requests) {
        cases.clear();
    }
    let rt = crate::runtime()?;
    let mut per_case = Vec::new();
    let (mut tools, mut turns) = (Vec::new(), Vec::new());
    bars.stage(
        "labelled requests",
        Some((cases.len() * args.repeat.max(1)) as u64),
    );
    for round in 0..args.repeat.max(1) {
        for (i, case) in cases.iter().enumerate() {
            let user = format!("bench-agent-{i}");
            agent.memory().forget(&user, &Forget::All)?;
            let mut session = agent.session(&user);
            let turn = rt.block_on(session.turn(&case.text))?;
            agent.memory().forget(&user, &Forget::All)?;
            let tr = &turn.trace;
            tools.push(tr.tools_micros as f64 / 1e3);
            turns.push(tr.total_micros as f64 / 1e3);
            bars.advance(1);
            if round > 0 {
                continue;
            }
            per_case.push(score_case(&agent, case, &turn));
        }
    }
    bars.finish();
    let dialogues = if args.runs(LabelledSet::Dialogues) {
        dialogue_accuracy(&agent, &rt, &bars, args.dialogues.or(args.limit))?
    } else {
        dialogue_accuracy(&agent, &rt, &bars, Some(0))?
    };
    let people_themes = if args.runs(LabelledSet::PeopleThemes) {
        fact_accuracy(&agent, &rt, &bars, args.limit)?
    } else {
        FactBench::default()
    };
    let outside = if args.runs(LabelledSet::Outside) {
        outside_accuracy(&agent, &rt, &bars, args.limit)?
    } else {
        OutsideBench::default()
    };
    let n = per_case.len().max(1) as f64;
    let share =
        |f: &dyn Fn(&AgentCase) -> bool| per_case.iter().filter(|c| f(c)).count() as f64 / n;
    Ok(AgentBench {
        catalog: args.name.clone(),
        controller: agent.controller_name(),
        strategy: match args.agent.controller {
            ControllerName::Rules => "rules".into(),
            _ => format!("{:?}", args.agent.options.strategy),
        },
        cases: per_case.len(),
        right_tool: share(&|c| c.tool),
        right_filters: share(&|c| c.filters),
        right_titles: share(&|c| c.titles),
        satisfied: share(&|c| c.satisfied),
        held_out: {
            let held: Vec<&AgentCase> = per_case.iter().filter(|c| c.split == "held-out").collect();
            SplitScore {
                cases: held.len(),
                all_right: held
                    .iter()
                    .filter(|c| c.tool && c.filters && c.titles)
                    .count(),
                satisfied: held.iter().filter(|c| c.satisfied).count(),
            }
        },
        model_failures: per_case.iter().map(|c| c.model_failures).sum(),
        fallbacks: per_case.iter().filter(|c| c.fallback).count(),
        tools: percentiles(tools),
        turn: percentiles(turns),
        per_case,
        dialogues,
        people_themes,
        outside,
    })
}

/// Runs each request anchored on a film outside the catalog.
fn outside_accuracy(
    agent: &Agent,
    rt: &tokio::runtime::Runtime,
    bars: &Bars,
    limit: Option<usize>,
) -> anyhow::Result<OutsideBench> {
    let mut cases = eval::outside_cases(eval::LABELLED_OUTSIDE)?;
    if let Some(n) = limit {
        cases.truncate(n);
    }
    bars.stage(
        "requests about films outside the catalog",
        Some(cases.len() as u64),
    );
    let mut out = OutsideBench::default();
    for (i, case) in cases.iter().enumerate() {
        let user = format!("bench-outside-{i}");
        agent.memory().forget(&user, &Forget::All)?;
        let turn = rt.block_on(agent.session(&user).turn(&case.text))?;
        agent.memory().forget(&user, &Forget::All)?;
        let told = case.told(&turn.answer);
        let asked = told && turn.items.is_empty();
        let held = case.split == "held-out";
        let top: Vec<&str> = turn
            .items
            .iter()
            .take(3)
            .map(|r| r.title.as_str())
            .collect();
        if !turn.items.is_empty() {
            let ids: Vec<recagent_core::ItemId> = turn.items.iter().map(|r| r.id).collect();
            let p = case.precision(agent.catalog(), &ids, 10);
            if held {
                out.held_out_listed += 1;
                out.held_out_precision_at_10 += p;
            } else {
                out.listed += 1;
                out.precision_at_10 += p;
            }
            out.lists.push(format!(
                "{:?} ({}): p@10 {p:.1}, {}",
                case.text,
                case.split,
                top.join(" · ")
            ));
        }
        out.cases += 1;
        out.told += usize::from(told);
        out.asked += usize::from(asked);
        if held {
            out.held_out_cases += 1;
            out.held_out_told += usize::from(told);
            out.held_out_asked += usize::from(asked);
        }
        if !told {
            out.missed.push(format!(
                "{:?} ({}): {}",
                case.text,
                case.split,
                top.join(" · ")
            ));
        }
        bars.advance(1);
    }
    bars.finish();
    out.precision_at_10 /= out.listed.max(1) as f64;
    out.held_out_precision_at_10 /= out.held_out_listed.max(1) as f64;
    Ok(out)
}

/// Runs each request about a person or a theme in a new conversation and
/// judges the list by the catalog's facts ([`eval::FactCase`]).
fn fact_accuracy(
    agent: &Agent,
    rt: &tokio::runtime::Runtime,
    bars: &Bars,
    limit: Option<usize>,
) -> anyhow::Result<FactBench> {
    let mut cases = eval::fact_cases(eval::LABELLED_PEOPLE_THEMES)?;
    if let Some(n) = limit {
        cases.truncate(n);
    }
    bars.stage("requests about people and themes", Some(cases.len() as u64));
    let mut out = FactBench::default();
    for (i, case) in cases.iter().enumerate() {
        let user = format!("bench-facts-{i}");
        agent.memory().forget(&user, &Forget::All)?;
        let mut session = agent.session(&user);
        let turn = rt.block_on(session.turn(&case.text))?;
        agent.memory().forget(&user, &Forget::All)?;
        let ids: Vec<recagent_core::ItemId> = turn.items.iter().map(|r| r.id).collect();
        let catalog = agent.catalog();
        let precision = case.precision(catalog, &ids, 10);
        // A person, genre or year is a hard constraint: every film must
        // pass. A theme is a wish: the first film must be about it.
        let hard = eval::FactCase {
            terms: Vec::new(),
            ..case.clone()
        };
        let satisfied = !ids.is_empty()
            && ids
                .iter()
                .filter_map(|&i| catalog.item(i))
                .all(|it| hard.relevant(it))
            && ids
                .first()
                .and_then(|&i| catalog.item(i))
                .is_some_and(|it| case.relevant(it));
        out.per_case.push(FactCaseScore {
            text: case.text.clone(),
            split: case.split.clone(),
            precision_at_10: precision,
            satisfied,
            top: turn.items.iter().take(3).map(|r| r.title.clone()).collect(),
        });
        bars.advance(1);
    }
    bars.finish();
    for (split, score) in [("dev", &mut out.dev), ("held-out", &mut out.held_out)] {
        let these: Vec<&FactCaseScore> = out.per_case.iter().filter(|c| c.split == split).collect();
        let n = these.len().max(1) as f64;
        *score = FactScore {
            cases: these.len(),
            precision_at_10: these.iter().map(|c| c.precision_at_10).sum::<f64>() / n,
            satisfied: these.iter().filter(|c| c.satisfied).count() as f64 / n,
        };
    }
    Ok(out)
}

/// How one turn did on its labelled request.
fn score_case(agent: &Agent, case: &Case, turn: &Turn) -> AgentCase {
    let tr = &turn.trace;
    let sc = eval::score(agent, case, tr);
    // A listed film has one of the genres asked for, required or
    // preferred: the labels do not tell the two apart.
    let w = &case.want;
    let filter = recagent_core::Filter {
        genres_any: [&w.genres[..], &w.prefer_genres].concat(),
        genres_none: w.avoid_genres.clone(),
        year_min: w.year_min,
        year_max: w.year_max,
        exclude: case
            .excluded
            .iter()
            .filter_map(|t| agent.resolve_title(t))
            .collect(),
        ..Default::default()
    };
    let satisfied = !turn.items.is_empty()
        && turn.items.iter().all(|r| {
            agent
                .catalog()
                .item(r.id)
                .is_some_and(|it| filter.matches(it))
        });
    AgentCase {
        text: case.text.clone(),
        split: case.split.clone(),
        tool: sc.tool,
        filters: sc.filters,
        titles: sc.titles,
        satisfied,
        calls: tr
            .tool_calls
            .iter()
            .map(|c| format!("{} {}", c.name, c.arguments))
            .collect(),
        model_failures: tr.model_failures,
        fallback: tr.fallback,
        tools_ms: tr.tools_micros as f64 / 1e3,
        turn_ms: tr.total_micros as f64 / 1e3,
        first_token_ms: tr.model_calls.first().map(|m| m.first_token_ms),
    }
}

/// Runs each labelled dialogue in a new conversation and scores the
/// dialogue state after every turn.
fn dialogue_accuracy(
    agent: &Agent,
    rt: &tokio::runtime::Runtime,
    bars: &Bars,
    limit: Option<usize>,
) -> anyhow::Result<DialogueBench> {
    let mut dialogues = eval::dialogues()?;
    if let Some(n) = limit {
        dialogues.truncate(n);
    }
    let mut out = DialogueBench {
        dialogues: dialogues.len(),
        ..DialogueBench::default()
    };
    let turns: usize = dialogues.iter().map(|d| d.turns.len()).sum();
    bars.stage("labelled dialogues", Some(turns as u64));
    for d in &dialogues {
        let user = format!("bench-dialogue-{}", d.id);
        agent.memory().forget(&user, &Forget::All)?;
        let mut session = agent.new_session(&user);
        let held_out = d.split == "held-out";
        for (n, want) in d.turns.iter().enumerate() {
            let turn = rt.block_on(session.turn(&want.text))?;
            let mut wrong = match &turn.trace.state {
                Some(got) => eval::state_mismatches(agent, want, got),
                None => vec!["no state in the trace".into()],
            };
            let ids: Vec<recagent_core::ItemId> = turn.items.iter().map(|r| r.id).collect();
            wrong.extend(eval::list_mismatches(agent, want, &ids));
            let right = wrong.is_empty();
            if held_out {
                out.held_out_turns += 1;
                out.held_out_right += usize::from(right);
            } else {
                out.dev_turns += 1;
                out.dev_right += usize::from(right);
            }
            if !right {
                out.wrong.push(format!(
                    "{} turn {}: {:?} — {}",
                    d.id,
                    n + 1,
                    want.text,
                    wrong.join("; ")
                ));
            }
            bars.advance(1);
        }
        agent.memory().forget(&user, &Forget::All)?;
    }
    bars.finish();
    Ok(out)
}

fn print(report: &AgentBench) {
    // A set left out with --only prints nothing.
    if report.cases == 0 {
        println!(
            "{} ({}) on {}",
            report.controller, report.strategy, report.catalog
        );
    } else {
        println!(
            "{} ({}) on {} labelled requests of {}",
            report.controller, report.strategy, report.cases, report.catalog
        );
        println!(
            "  right tool {:.0}% · right filters {:.0}% · right titles {:.0}% · list satisfies the request {:.0}%",
            report.right_tool * 100.0,
            report.right_filters * 100.0,
            report.right_titles * 100.0,
            report.satisfied * 100.0
        );
        let h = &report.held_out;
        if h.cases > 0 {
            println!(
                "  held out from tuning: {} of {} right in tool, filters and titles, {} lists satisfy",
                h.all_right, h.cases, h.satisfied
            );
        }
        println!(
            "  {} model failures · {} requests fell back to the rules",
            report.model_failures, report.fallbacks
        );
        println!(
            "  tool pipeline p50 {:.1} ms p99 {:.1} ms · whole turn p50 {:.1} ms p99 {:.1} ms",
            report.tools.p50_ms, report.tools.p99_ms, report.turn.p50_ms, report.turn.p99_ms
        );
    }
    let d = &report.dialogues;
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    if d.dialogues > 0 {
        println!(
            "  dialogue state right after {:.0}% of {} development turns, {:.0}% of {} held-out turns ({} dialogues)",
            pct(d.dev_right, d.dev_turns),
            d.dev_turns,
            pct(d.held_out_right, d.held_out_turns),
            d.held_out_turns,
            d.dialogues
        );
    }
    for w in &d.wrong {
        println!("  ✗ {w}");
    }
    let f = &report.people_themes;
    for (name, s) in [("development", &f.dev), ("held-out", &f.held_out)] {
        if s.cases > 0 {
            println!(
                "  people and themes, {name}: precision@10 {:.2} · list satisfies {:.0}% ({} requests)",
                s.precision_at_10,
                s.satisfied * 100.0,
                s.cases
            );
        }
    }
    let o = &report.outside;
    if o.cases > 0 {
        println!(
            "  films outside the catalog: told {} of {} (held out {} of {}), asked instead of listing {} of {}",
            o.told, o.cases, o.held_out_told, o.held_out_cases, o.asked, o.cases
        );
        println!(
            "  films outside the catalog, lists: {} dev with precision@10 {:.2} · {} held out with {:.2} (like the film by its labelled genres)",
            o.listed, o.precision_at_10, o.held_out_listed, o.held_out_precision_at_10
        );
        for m in &o.missed {
            println!("  ✗ {m}");
        }
        for l in &o.lists {
            println!("  · {l}");
        }
    }
    for c in f.per_case.iter().filter(|c| !c.satisfied) {
        println!(
            "  ✗ {:?} ({}): precision@10 {:.1}, top {}",
            c.text,
            c.split,
            c.precision_at_10,
            c.top.join(" · ")
        );
    }
    for c in &report.per_case {
        if !(c.tool && c.filters && c.titles) {
            println!(
                "  ✗ {:?}: tool {} filters {} titles {} — {}",
                c.text,
                c.tool,
                c.filters,
                c.titles,
                c.calls.join(" | ")
            );
        }
    }
}
