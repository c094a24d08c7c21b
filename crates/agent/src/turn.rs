//! The turn machine: every decision of one turn, with no IO.
//!
//! [`TurnMachine::next_step`] takes what the last step produced and
//! returns the next. It wraps the [`Controller`] (which model calls and
//! tool calls the conversation makes) and owns what comes around it:
//! - the dialogue state's update, and with it which items are never
//!   candidates (seen, rejected: the feedback exclusion every tool run
//!   carries);
//! - the final rank, when the controller left candidates unranked;
//! - relaxation, when the list came out too short;
//! - grounding: a model's words that name an item off the list are
//!   dropped, and the answer is written from the list;
//! - the answer's opening sentence and notes.
//!
//! The async driver in `session.rs` does what the steps ask (model calls,
//! tool calls on the candidate [`Bus`] the step lends it, title linking)
//! and feeds the results back. Unit tests drive it with scripted inputs
//! and no catalog, index or database.

use std::sync::Arc;

use recagent_core::ItemId;
use recagent_llm::{ChatRequest, ChatResponse, ToolCall};

use crate::bus::{Bus, Origin};
use crate::controller::{self, Controller, Mode, Purpose, Strategy, ToolMessage, TurnSetup};
use crate::guard::Guard;
use crate::plan::{MIN_LIST, PlanContext, plan_calls, relax};
use crate::prompts::Prompts;
use crate::reply::{COLD_START, NOTHING_FOUND, opening, sketch_note, unknown_title_note};
use crate::state::{Changes, DialogueState};
use crate::tools::{RankCandidates, RememberPreference, Tool};
use recagent_reading::Plan;

/// Tool calls to run, in order, on a bus the machine lends out.
#[derive(Debug)]
pub(crate) struct ToolRun {
    pub calls: Vec<ToolCall>,
    /// The candidates the calls work on; it comes back in
    /// [`Input::Tools`].
    pub bus: Box<Bus>,
    /// Items that are never candidates: what the conversation set aside
    /// (seen, rejected), after this turn's update.
    pub exclude: Vec<ItemId>,
    /// A run the machine makes on its own (the final rank, a relaxed
    /// search): traced, not shown to the user or the model.
    pub quiet: bool,
}

/// What the driver should do next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Call the model; feed back [`Input::Model`].
    CallModel {
        purpose: Purpose,
        request: ChatRequest,
    },
    /// Run the calls; feed back [`Input::Tools`].
    CallTools(ToolRun),
    /// Find the catalog items `text` names; feed back [`Input::Named`].
    Ground { text: String },
    /// The turn is over.
    Done(Box<Outcome>),
}

/// What the last step produced.
#[derive(Debug)]
pub(crate) enum Input {
    Start,
    /// The model's reply, or the error that ended the call.
    Model(Result<ChatResponse, controller::ModelError>),
    /// The results of a [`ToolRun`] (none for a quiet one) and its bus.
    Tools {
        results: Vec<ToolMessage>,
        bus: Box<Bus>,
    },
    /// The items the answer names, and the items the profile likes now
    /// (which an answer may name).
    Named {
        named: Vec<ItemId>,
        liked: Vec<ItemId>,
    },
}

/// How a turn ended: the list, the words around it, the new state.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The candidates, with the ranked list that is the answer.
    pub bus: Bus,
    /// The model's opening sentences, grounded in the list; `None` when
    /// the template writes the answer.
    pub intro: Option<String>,
    /// The sentence that says what the list is (empty without a list).
    pub opening: String,
    /// Notes after the list: what was relaxed, nothing found, cold start.
    pub notes: Vec<String>,
    /// What was loosened to reach the list.
    pub relaxed: Vec<String>,
    /// The dialogue state after the turn, with the list as shown.
    pub state: DialogueState,
    pub changes: Changes,
    /// The plan that was executed.
    pub plan: Option<Plan>,
    /// Model answers that named an item off the list and were dropped.
    pub repairs: u32,
    pub model_failures: u32,
    pub fallback: bool,
    pub plan_corrected: u32,
    pub plan_replaced: u32,
    /// A protocol error of the controller (a driver that fed the wrong
    /// input); the turn still ends with an answer.
    pub error: Option<String>,
}

/// Where the relaxation ladder stands.
#[derive(Debug)]
struct Relaxing {
    /// The request as loosened so far.
    plan: Plan,
    /// Whether the years were widened once already.
    widened: bool,
    /// What was loosened so far, in the user's words.
    steps: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The controller runs the conversation.
    Conversing,
    /// The final rank is out.
    FinalRank,
    /// A relaxed search is out.
    Relaxing,
    /// Title linking of the answer is out.
    Grounding,
    Finished,
}

/// The state of one turn.
#[derive(Debug)]
pub(crate) struct TurnMachine {
    controller: Controller,
    /// Holds a step-by-step model's memory writes, and any model's answer,
    /// to what the user said.
    guard: Guard,
    step_by_step: bool,
    phase: Phase,
    /// The state before this turn.
    prior: DialogueState,
    /// Titles shown last turn, in order.
    last_shown: Vec<String>,
    /// The turn's candidates; lent out while tools run.
    bus: Bus,
    /// The model's answer text, while it stands.
    answer: Option<String>,
    /// How many items fit before anything was loosened.
    exact: usize,
    relaxing: Option<Relaxing>,
    relaxed: Vec<String>,
    repairs: u32,
    error: Option<String>,
    /// The whole answer of a turn that asks for no list.
    social_reply: Option<String>,
    /// Notes the session gives the answer (see [`TurnSetup::notes`]).
    notes: Vec<String>,
    /// The film the catalog lacks (see [`TurnSetup::unknown_film`]).
    unknown_film: Option<String>,
}

impl TurnMachine {
    pub(crate) fn new(mut setup: TurnSetup, prompts: Arc<Prompts>) -> Self {
        // Feedback on the list goes on with the request, and years or a
        // mood alone ("from the 80s", "funny") adjust what stands, whatever
        // search words a model writes for them.
        let draft = &setup.draft;
        setup.plan_context.cues.refine |=
            draft.feedback != recagent_reading::Feedback::None || draft.is_modifier_only();
        let guard = Guard::new(
            &setup.user_text,
            draft,
            &setup.plan_context.last_shown,
            &[&setup.plan_system, &setup.step_system],
        );
        let step_by_step = setup.mode == Mode::Model(Strategy::StepByStep);
        let social_reply = setup.social_reply.clone();
        let notes = setup.notes.clone();
        let unknown_film = setup.unknown_film.clone();
        Self {
            unknown_film,
            social_reply,
            notes,
            guard,
            step_by_step,
            prior: setup.plan_context.state.clone(),
            last_shown: setup.plan_context.last_shown.clone(),
            controller: Controller::new(setup, prompts),
            phase: Phase::Conversing,
            bus: Bus::default(),
            answer: None,
            exact: 0,
            relaxing: None,
            relaxed: Vec::new(),
            repairs: 0,
            error: None,
        }
    }

    /// The next step, given what the last one produced.
    pub(crate) fn next_step(&mut self, input: Input) -> Step {
        match (self.phase, input) {
            (Phase::Conversing, Input::Start) if self.social_reply.is_some() => {
                self.phase = Phase::Finished;
                self.social()
            }
            (Phase::Conversing, Input::Start) => self.converse(controller::Input::Start),
            (Phase::Conversing, Input::Model(reply)) => {
                self.converse(controller::Input::Model(reply))
            }
            (Phase::Conversing, Input::Tools { results, bus }) => {
                self.bus = *bus;
                self.converse(controller::Input::Tools(results))
            }
            (Phase::FinalRank, Input::Tools { bus, .. }) => {
                self.bus = *bus;
                self.relax_if_short()
            }
            (Phase::Relaxing, Input::Tools { bus, .. }) => {
                self.take_relaxed(*bus);
                self.relax_step()
            }
            (Phase::Grounding, Input::Named { named, liked }) => {
                self.ground(&named, &liked);
                self.finish()
            }
            (phase, input) => {
                self.error = Some(format!("the turn in phase {phase:?} cannot take {input:?}"));
                if let Input::Tools { bus, .. } = input {
                    self.bus = *bus;
                }
                self.answer = None;
                self.finish()
            }
        }
    }

    /// What the conversation set aside (seen, rejected) and is never a
    /// candidate: the state after this turn's update, once there is one.
    fn never_again(&self) -> Vec<ItemId> {
        self.controller
            .state()
            .map_or_else(|| self.prior.never_again(), |(s, _)| s.never_again())
    }

    fn run(&mut self, calls: Vec<ToolCall>, bus: Bus, quiet: bool) -> Step {
        Step::CallTools(ToolRun {
            calls,
            bus: Box::new(bus),
            exclude: self.never_again(),
            quiet,
        })
    }

    fn converse(&mut self, input: controller::Input) -> Step {
        match self.controller.next_step(input) {
            Ok(controller::Step::CallModel { purpose, request }) => {
                Step::CallModel { purpose, request }
            }
            Ok(controller::Step::CallTools(mut calls)) => {
                if self.step_by_step {
                    for c in &mut calls {
                        if self.guard.hold(c) {
                            self.repairs += 1;
                            tracing::debug!(tool = %c.name, "a model's memory call held to the user's words");
                        }
                    }
                }
                let bus = std::mem::take(&mut self.bus);
                self.run(calls, bus, false)
            }
            Ok(controller::Step::Done(answer)) => {
                self.answer = answer;
                self.final_rank()
            }
            Err(e) => {
                self.error = Some(e.to_string());
                self.answer = None;
                self.final_rank()
            }
        }
    }

    /// Whatever the controller did, the answer stands on a ranked list
    /// when there are candidates.
    fn final_rank(&mut self) -> Step {
        if self.bus.ranked.is_empty() && !self.bus.candidates.is_empty() {
            self.phase = Phase::FinalRank;
            let call = ToolCall {
                id: "call_final_rank".into(),
                name: RankCandidates::NAME.into(),
                arguments: serde_json::json!({}),
            };
            let bus = std::mem::take(&mut self.bus);
            return self.run(vec![call], bus, true);
        }
        self.relax_if_short()
    }

    /// Nothing found is never a dead end: too short a list loosens the
    /// request's weakest constraint, step by step, and says so.
    fn relax_if_short(&mut self) -> Step {
        self.exact = self.bus.ranked.len();
        if self.bus.ranked.len() < MIN_LIST
            && let Some(request) = self.controller.standing_request()
        {
            self.relaxing = Some(Relaxing {
                plan: request.clone(),
                widened: false,
                steps: Vec::new(),
            });
            return self.relax_step();
        }
        self.ground_or_finish()
    }

    /// The next rung of the ladder, while the list is short and something
    /// is left to loosen: its calls run quietly on a fresh bus.
    fn relax_step(&mut self) -> Step {
        let next = match &mut self.relaxing {
            Some(r) if self.bus.ranked.len() < MIN_LIST => {
                relax(&r.plan, r.widened).map(|(looser, why)| {
                    r.widened |= looser.want.year_min != r.plan.want.year_min
                        || looser.want.year_max != r.plan.want.year_max;
                    r.plan = looser;
                    r.steps.push(why);
                    r.plan.clone()
                })
            }
            _ => None,
        };
        let Some(plan) = next else {
            self.relaxing = None;
            return self.ground_or_finish();
        };
        self.phase = Phase::Relaxing;
        let context = PlanContext {
            last_shown: self.last_shown.clone(),
            ..PlanContext::default()
        };
        // A relaxed search remembers nothing: the turn's own calls did.
        let calls = plan_calls(&plan, &context)
            .into_iter()
            .filter(|c| c.name != RememberPreference::NAME)
            .collect();
        self.run(calls, Bus::default(), true)
    }

    /// Merges a relaxed search into the list: what fit exactly stays
    /// first, the looser search fills in, and the longer list wins.
    fn take_relaxed(&mut self, mut looser: Bus) {
        let bus = &self.bus;
        for s in bus.ranked.iter().rev() {
            looser.ranked.retain(|t| t.item != s.item);
            looser.ranked.insert(0, *s);
            if let Some(o) = bus.origin.get(&s.item) {
                looser.origin.insert(s.item, *o);
            }
        }
        looser
            .ranked
            .truncate(crate::tools::DEFAULT_K.max(bus.ranked.len()));
        for s in &bus.seeds {
            if !looser.seeds.contains(s) {
                looser.seeds.push(*s);
            }
        }
        if looser.ranked.len() > self.bus.ranked.len() {
            self.bus = looser;
            // What was loosened to reach this list.
            if let Some(r) = &self.relaxing {
                self.relaxed.clone_from(&r.steps);
            }
            // A model's words were about the stricter list.
            self.answer = None;
        }
    }

    fn ground_or_finish(&mut self) -> Step {
        match &self.answer {
            Some(text) => {
                self.phase = Phase::Grounding;
                Step::Ground { text: text.clone() }
            }
            None => self.finish(),
        }
    }

    /// An answer that names an item off the list (the ranked items, the
    /// titles the user named, the profile's likes) is dropped, and the
    /// answer is written from the list.
    fn ground(&mut self, named: &[ItemId], liked: &[ItemId]) {
        let bus = &self.bus;
        let allowed = |i: &ItemId| {
            bus.ranked.iter().any(|s| s.item == *i)
                || bus.seeds.contains(i)
                || bus.excluded.contains(i)
                || liked.contains(i)
        };
        let off: Vec<ItemId> = named.iter().copied().filter(|i| !allowed(i)).collect();
        if self.answer.as_deref().is_some_and(|a| self.guard.leaks(a)) {
            self.repairs += 1;
            tracing::debug!("answer repeated the system prompt; repaired");
            self.answer = None;
        } else if !off.is_empty() {
            self.repairs += 1;
            tracing::debug!(?off, "answer named items off the list; repaired");
            self.answer = None;
        }
    }

    fn finish(&mut self) -> Step {
        self.phase = Phase::Finished;
        let bus = std::mem::take(&mut self.bus);
        let n = bus.ranked.len();
        let (mut state, changes) = self
            .controller
            .state()
            .cloned()
            .unwrap_or_else(|| (self.prior.clone(), Vec::new()));
        let cold = bus.for_you_cold
            && bus
                .ranked
                .iter()
                .any(|s| matches!(bus.origin.get(&s.item), Some(Origin::ForYou { cold: true })));
        let mut notes = self.relaxed.clone();
        // The film the catalog lacks: the list follows the model's
        // description of it, and the note says so.
        if let (Some(film), Some(sketch)) = (&self.unknown_film, self.controller.sketch()) {
            let plain = unknown_title_note(film);
            for note in &mut self.notes {
                if *note == plain {
                    *note = sketch_note(film, sketch);
                }
            }
        }
        if n > 0 {
            notes.splice(0..0, self.notes.iter().cloned());
        }
        if n == 0 {
            notes.push(NOTHING_FOUND.into());
        }
        if cold {
            notes.push(COLD_START.into());
        }
        let opening = match self.controller.standing_request() {
            Some(r) if n > 0 => opening(r, &self.relaxed, n, self.exact, cold),
            _ => String::new(),
        };
        // The conversation for the next turn shows this list.
        if n > 0 {
            state.last_list = bus.ranked.iter().map(|s| s.item).collect();
        }
        let (plan_corrected, plan_replaced) = self.controller.checks();
        Step::Done(Box::new(Outcome {
            intro: self.answer.take().map(|t| t.trim().to_owned()),
            opening,
            notes,
            relaxed: self.relaxed.clone(),
            state,
            changes,
            plan: self.controller.plan().cloned(),
            repairs: self.repairs,
            model_failures: self.controller.failures(),
            fallback: self.controller.fell_back(),
            plan_corrected,
            plan_replaced,
            error: self.error.take(),
            bus,
        }))
    }
}

impl TurnMachine {
    /// A turn that asks for no list: its answer, and the conversation as
    /// it stood, so that "more like the second one" still has its list.
    fn social(&mut self) -> Step {
        Step::Done(Box::new(Outcome {
            bus: Bus::default(),
            intro: None,
            opening: String::new(),
            notes: self.social_reply.take().into_iter().collect(),
            relaxed: Vec::new(),
            state: self.prior.clone(),
            changes: Vec::new(),
            plan: None,
            repairs: 0,
            model_failures: 0,
            fallback: false,
            plan_corrected: 0,
            plan_replaced: 0,
            error: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    //! The turn machine driven by scripted inputs: no catalog, no index,
    //! no database. The buses fed back stand for what the tools would
    //! have found.

    use recagent_core::Scored;
    use recagent_llm::ChatResponse;
    use serde_json::json;

    use super::*;
    use crate::controller::ModelError;
    use crate::testing::setup;
    use crate::tools::{SearchArgs, SearchItems, SimilarItems};
    use recagent_core::Constraint;
    use recagent_reading::Feedback;
    use recagent_reading::check::{FilmSketch, Known};
    use recagent_reading::rules::Cues;

    fn machine(mode: Mode, draft: Plan, state: DialogueState, cues: Cues) -> TurnMachine {
        let prompts = Prompts::embedded().expect("the embedded prompts");
        TurnMachine::new(setup(mode, draft, state, cues), Arc::new(prompts))
    }

    /// A catalog that knows three genres, by its own names, and no person.
    #[derive(Debug)]
    struct KnowsSome;

    impl Known for KnowsSome {
        fn genre(&self, name: &str) -> bool {
            self.genre_name(name).is_some()
        }
        fn title(&self, _: &str) -> bool {
            false
        }
        fn person(&self, _: &str) -> bool {
            false
        }
        fn genre_name(&self, name: &str) -> Option<String> {
            match name.to_lowercase().as_str() {
                "sci-fi" | "science fiction" => Some("Sci-Fi".into()),
                "thriller" => Some("Thriller".into()),
                "western" => Some("Western".into()),
                _ => None,
            }
        }
        fn genre_list(&self) -> Vec<String> {
            vec!["Sci-Fi".into(), "Thriller".into(), "Western".into()]
        }
    }

    /// A film the catalog lacks is described by the model first; the plan
    /// then searches by the description (genres the catalog knows, its
    /// keywords, never the film's own name), and the answer says what it
    /// followed.
    #[test]
    fn a_film_the_catalog_lacks_is_described_and_the_list_follows_the_description() {
        let mut setup = setup(
            Mode::Model(Strategy::PlanDraft),
            Plan {
                intent: "inception".into(),
                ..Plan::default()
            },
            DialogueState::default(),
            Cues::default(),
        );
        setup.known = Arc::new(KnowsSome);
        setup.unknown_film = Some("Inception".into());
        setup.notes = vec![unknown_title_note("Inception")];
        let prompts = Prompts::embedded().expect("the embedded prompts");
        let mut m = TurnMachine::new(setup, Arc::new(prompts));
        let ask = expect_model(m.next_step(Input::Start), Purpose::Describe);
        assert_eq!(ask.tools[0].name, controller::DESCRIBE_TOOL);
        assert!(ask.messages[1].content.contains("Inception"));
        let described = Input::Model(Ok(ChatResponse {
            tool_calls: vec![ToolCall {
                id: "call_describe".into(),
                name: controller::DESCRIBE_TOOL.into(),
                arguments: json!({
                    "genres": ["science fiction", "Heist film", "Thriller"],
                    "keywords": ["dreams", "Heist", "inception", "dreams"],
                    "year": 2010
                }),
            }],
            ..ChatResponse::default()
        }));
        expect_model(m.next_step(described), Purpose::Plan);
        let run = expect_tools(m.next_step(plan_reply(json!({"intent": "like Inception"}))));
        let args = search_args(&run);
        assert_eq!(args.query, "dreams heist");
        assert_eq!(args.want.prefer_genres, ["Sci-Fi", "Thriller"]);
        // The genre list copied out in its order is no description.
        let copied = FilmSketch {
            genres: vec!["Sci-Fi".into(), "Thriller".into(), "Western".into()],
            keywords: vec!["dreams".into()],
            ..FilmSketch::default()
        };
        assert!(copied.checked("Inception", &KnowsSome).genres.is_empty());
        expect_model(m.next_step(tools_done(ranked(&[1, 2, 3]))), Purpose::Answer);
        let out = expect_done(m.next_step(text_reply("")));
        assert_eq!(
            out.notes[0],
            "“Inception” is not in this catalog, so these follow what I know of it: sci-fi and thriller; “dreams”, “heist”. Is there a film like it you liked?"
        );
    }

    /// A description that fails leaves the turn as it was: the plan, and
    /// the note that the list follows the rest of the words.
    #[test]
    fn a_failed_description_leaves_the_plain_note() {
        let mut setup = setup(
            Mode::Model(Strategy::PlanDraft),
            Plan::default(),
            DialogueState::default(),
            Cues::default(),
        );
        setup.unknown_film = Some("Inception".into());
        setup.notes = vec![unknown_title_note("Inception")];
        let prompts = Prompts::embedded().expect("the embedded prompts");
        let mut m = TurnMachine::new(setup, Arc::new(prompts));
        expect_model(m.next_step(Input::Start), Purpose::Describe);
        expect_model(
            m.next_step(Input::Model(Err(ModelError::Endpoint("timeout".into())))),
            Purpose::Plan,
        );
        expect_tools(m.next_step(plan_reply(json!({"genres": ["Comedy"]}))));
        expect_model(
            m.next_step(tools_done(ranked(&[1, 2, 3, 4, 5, 6]))),
            Purpose::Answer,
        );
        let out = expect_done(m.next_step(text_reply("")));
        assert_eq!(out.notes[0], unknown_title_note("Inception"));
        assert_eq!(out.model_failures, 1, "only the empty answer failed");
    }

    fn ids(items: &[u32]) -> Vec<ItemId> {
        items.iter().map(|i| ItemId(*i)).collect()
    }

    /// A bus whose tools recalled and ranked `ranked`, best first.
    fn ranked(items: &[u32]) -> Bus {
        let scored: Vec<Scored> = items
            .iter()
            .enumerate()
            .map(|(n, i)| Scored {
                item: ItemId(*i),
                score: 1.0 / (1.0 + n as f32),
            })
            .collect();
        let mut bus = Bus::default();
        bus.add(scored.clone(), Origin::Search);
        bus.ranked = scored;
        bus
    }

    fn plan_reply(arguments: serde_json::Value) -> Input {
        Input::Model(Ok(ChatResponse {
            tool_calls: vec![ToolCall {
                id: "call_plan".into(),
                name: controller::PLAN_TOOL.into(),
                arguments,
            }],
            ..ChatResponse::default()
        }))
    }

    fn text_reply(text: &str) -> Input {
        Input::Model(Ok(ChatResponse {
            text: text.into(),
            ..ChatResponse::default()
        }))
    }

    fn tools_done(bus: Bus) -> Input {
        Input::Tools {
            results: Vec::new(),
            bus: Box::new(bus),
        }
    }

    fn expect_tools(step: Step) -> ToolRun {
        match step {
            Step::CallTools(run) => run,
            other => panic!("expected tool calls, got {other:?}"),
        }
    }

    fn expect_model(step: Step, want: Purpose) -> ChatRequest {
        match step {
            Step::CallModel { purpose, request } if purpose == want => request,
            other => panic!("expected a {want:?} model call, got {other:?}"),
        }
    }

    fn expect_done(step: Step) -> Outcome {
        match step {
            Step::Done(outcome) => *outcome,
            other => panic!("expected the end of the turn, got {other:?}"),
        }
    }

    fn search_args(run: &ToolRun) -> SearchArgs {
        let call = run
            .calls
            .iter()
            .find(|c| c.name == SearchItems::NAME)
            .expect("a search call");
        serde_json::from_value(call.arguments.clone()).expect("search arguments")
    }

    /// A model's plan with inverted years is sent back once with what is
    /// wrong; the same mistake again is replaced by the rules draft's
    /// years, and the executor runs the repaired plan.
    #[test]
    fn inverted_years_are_returned_once_then_replaced_by_the_draft() {
        let draft = Plan {
            want: Constraint {
                genres: vec!["Crime".into()],
                year_min: Some(1980),
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let mut m = machine(
            Mode::Model(Strategy::PlanFirst),
            draft,
            DialogueState::default(),
            Cues::default(),
        );
        expect_model(m.next_step(Input::Start), Purpose::Plan);
        let inverted = json!({"genres": ["Crime"], "year_min": 2000, "year_max": 1990});
        let again = expect_model(m.next_step(plan_reply(inverted.clone())), Purpose::Plan);
        let told = again.messages.last().expect("a message to the model");
        assert!(
            told.content
                .contains("year_min 2000 is after year_max 1990"),
            "{}",
            told.content
        );
        let run = expect_tools(m.next_step(plan_reply(inverted)));
        assert!(!run.quiet);
        let search = search_args(&run);
        assert_eq!(
            (search.want.year_min, search.want.year_max),
            (Some(1980), None)
        );
        expect_model(
            m.next_step(tools_done(ranked(&[1, 2, 3, 4]))),
            Purpose::Answer,
        );
        let text = "Four crime films from 1980 on.";
        match m.next_step(text_reply(text)) {
            Step::Ground { text: t } => assert_eq!(t, text),
            other => panic!("expected grounding, got {other:?}"),
        }
        let out = expect_done(m.next_step(Input::Named {
            named: Vec::new(),
            liked: Vec::new(),
        }));
        assert_eq!((out.plan_corrected, out.plan_replaced), (0, 1));
        let plan = out.plan.expect("the executed plan");
        assert_eq!((plan.want.year_min, plan.want.year_max), (Some(1980), None));
        assert_eq!(out.intro.as_deref(), Some(text));
    }

    /// A plan call whose arguments are not JSON (cut off at the token
    /// limit by a model server) is the model's fault: it is asked again,
    /// told why. An endpoint error falls back to the rules at once.
    #[test]
    fn a_malformed_call_is_asked_again_and_an_endpoint_error_falls_back() {
        let draft = Plan {
            want: Constraint {
                genres: vec!["Crime".into()],
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let mut m = machine(
            Mode::Model(Strategy::PlanDraft),
            draft.clone(),
            DialogueState::default(),
            Cues::default(),
        );
        expect_model(m.next_step(Input::Start), Purpose::Plan);
        let cut = ModelError::Fault(
            "the model called tool \"plan\" with arguments that are not valid JSON: EOF while parsing a value at line 1 column 765".into(),
        );
        let again = expect_model(m.next_step(Input::Model(Err(cut))), Purpose::Plan);
        let told = again.messages.last().expect("a message to the model");
        assert!(told.content.contains("not valid JSON"), "{}", told.content);
        let run = expect_tools(m.next_step(plan_reply(json!({"genres": ["Crime"]}))));
        assert_eq!(search_args(&run).want.genres, vec!["Crime".to_owned()]);

        let mut m = machine(
            Mode::Model(Strategy::PlanDraft),
            draft,
            DialogueState::default(),
            Cues::default(),
        );
        expect_model(m.next_step(Input::Start), Purpose::Plan);
        let down =
            ModelError::Endpoint("cannot reach the model endpoint: connection refused".into());
        expect_tools(m.next_step(Input::Model(Err(down))));
    }

    /// What a model writes that the user did not say is put back to the
    /// draft: years where the words have none, the list just shown as the
    /// films the user liked, and a paraphrase of "from the 80s" as new
    /// search words. The standing request is refined, not started over.
    #[test]
    fn a_models_unasked_years_anchors_and_words_are_put_back() {
        let before = DialogueState {
            want: Constraint {
                genres: vec!["Crime".into()],
                ..Constraint::default()
            },
            last_list: ids(&[7, 8, 9]),
            turns: 1,
            ..DialogueState::default()
        };
        // "seen it": no year, no title named.
        let seen = Plan {
            feedback: Feedback::SeenIt,
            ..Plan::default()
        };
        let mut m = machine(
            Mode::Model(Strategy::PlanDraft),
            seen,
            before.clone(),
            Cues::default(),
        );
        expect_model(m.next_step(Input::Start), Purpose::Plan);
        let made_up = json!({
            "intent": "crime films",
            "year_min": 2023,
            "liked_titles": ["Film 7", "Film 8", "Film 9"],
        });
        let run = expect_tools(m.next_step(plan_reply(made_up)));
        let search = search_args(&run);
        assert_eq!((search.want.year_min, search.want.year_max), (None, None));
        assert!(run.calls.iter().all(|c| c.name != SimilarItems::NAME));
        assert_eq!(run.exclude, ids(&[7]));

        // "from the 80s": the years are the user's, the rest stands.
        let eighties = Plan {
            want: Constraint {
                year_min: Some(1980),
                year_max: Some(1989),
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let cues = Cues {
            time_words: true,
            ..Cues::default()
        };
        let mut m = machine(Mode::Model(Strategy::PlanDraft), eighties, before, cues);
        expect_model(m.next_step(Input::Start), Purpose::Plan);
        let paraphrase = json!({"intent": "movies from the 80s", "year_min": 1985});
        let run = expect_tools(m.next_step(plan_reply(paraphrase)));
        let search = search_args(&run);
        assert_eq!(search.query, "");
        assert_eq!(search.want.genres, vec!["Crime".to_owned()]);
        assert_eq!(
            (search.want.year_min, search.want.year_max),
            (Some(1980), Some(1989))
        );
    }

    /// "Seen it" about the second item of the last list: that item is
    /// never a candidate again, from this turn's first tool call on, and
    /// the state keeps it as seen.
    #[test]
    fn seen_it_excludes_that_item_of_the_last_list() {
        let before = DialogueState {
            want: Constraint {
                genres: vec!["Comedy".into()],
                ..Constraint::default()
            },
            last_list: ids(&[7, 8, 9]),
            turns: 1,
            ..DialogueState::default()
        };
        let draft = Plan {
            feedback: Feedback::SeenIt,
            feedback_position: Some(2),
            ..Plan::default()
        };
        let cues = Cues {
            refine: true,
            ..Cues::default()
        };
        let mut m = machine(Mode::Rules, draft, before, cues);
        let run = expect_tools(m.next_step(Input::Start));
        assert_eq!(run.exclude, ids(&[8]));
        let out = expect_done(m.next_step(tools_done(ranked(&[1, 2, 3]))));
        assert_eq!(out.state.seen, ids(&[8]));
        assert_eq!(out.state.last_list, ids(&[1, 2, 3]));
    }

    /// "Something else": the whole last list is set aside, in the turn's
    /// calls and in its final rank.
    #[test]
    fn something_else_excludes_the_whole_last_list_from_the_final_rank_too() {
        let before = DialogueState {
            want: Constraint {
                genres: vec!["Comedy".into()],
                ..Constraint::default()
            },
            last_list: ids(&[7, 8, 9]),
            turns: 1,
            ..DialogueState::default()
        };
        let draft = Plan {
            feedback: Feedback::SomethingElse,
            ..Plan::default()
        };
        let mut m = machine(Mode::Rules, draft, before, Cues::default());
        let run = expect_tools(m.next_step(Input::Start));
        assert_eq!(run.exclude, ids(&[7, 8, 9]));
        // The calls recalled candidates and ranked none: the machine ranks.
        let mut unranked = ranked(&[1, 2, 3]);
        unranked.ranked.clear();
        let rank = expect_tools(m.next_step(tools_done(unranked)));
        assert!(rank.quiet);
        assert_eq!(rank.exclude, ids(&[7, 8, 9]));
        let names: Vec<&str> = rank.calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, [RankCandidates::NAME]);
        assert_eq!(rank.bus.candidates.len(), 3);
        let out = expect_done(m.next_step(tools_done(ranked(&[3, 1, 2]))));
        assert_eq!(out.state.excluded, ids(&[7, 8, 9]));
        assert_eq!(out.state.last_list, ids(&[3, 1, 2]));
    }

    fn answered(named: &[u32], liked: &[u32]) -> Outcome {
        let draft = Plan {
            want: Constraint {
                genres: vec!["Comedy".into()],
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let mut m = machine(
            Mode::Model(Strategy::PlanFirst),
            draft,
            DialogueState::default(),
            Cues::default(),
        );
        expect_model(m.next_step(Input::Start), Purpose::Plan);
        expect_tools(m.next_step(plan_reply(json!({"genres": ["Comedy"]}))));
        expect_model(
            m.next_step(tools_done(ranked(&[1, 2, 3, 4]))),
            Purpose::Answer,
        );
        match m.next_step(text_reply("  Try Film 1, or Film 99.  ")) {
            Step::Ground { .. } => {}
            other => panic!("expected grounding, got {other:?}"),
        }
        expect_done(m.next_step(Input::Named {
            named: ids(named),
            liked: ids(liked),
        }))
    }

    /// Words that name an item off the list are dropped and counted; the
    /// template writes the answer. Items on the list, or liked, may be
    /// named.
    #[test]
    fn the_final_grounding_drops_an_answer_that_names_an_off_list_title() {
        let off = answered(&[1, 99], &[]);
        assert_eq!((off.intro, off.repairs), (None, 1));
        let on = answered(&[1], &[]);
        assert_eq!(
            (on.intro.as_deref(), on.repairs),
            (Some("Try Film 1, or Film 99."), 0)
        );
        let liked = answered(&[1, 99], &[99]);
        assert_eq!(liked.repairs, 0);
        assert!(liked.intro.is_some());
    }

    /// Too few items: the years widen by a decade each way, the looser
    /// search runs quietly on a fresh bus, what fit exactly stays first,
    /// and the answer says what was loosened.
    #[test]
    fn too_few_items_relax_the_request_and_keep_the_exact_ones_first() {
        let draft = Plan {
            want: Constraint {
                genres: vec!["Crime".into()],
                year_min: Some(1990),
                year_max: Some(1999),
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let mut m = machine(
            Mode::Rules,
            draft,
            DialogueState::default(),
            Cues::default(),
        );
        expect_tools(m.next_step(Input::Start));
        let looser = expect_tools(m.next_step(tools_done(ranked(&[1]))));
        assert!(looser.quiet);
        assert!(looser.bus.candidates.is_empty(), "a fresh bus");
        let search = search_args(&looser);
        assert_eq!(
            (search.want.year_min, search.want.year_max),
            (Some(1980), Some(2009))
        );
        assert!(
            looser
                .calls
                .iter()
                .all(|c| c.name != RememberPreference::NAME)
        );
        let out = expect_done(m.next_step(tools_done(ranked(&[2, 3, 1, 4]))));
        let list: Vec<ItemId> = out.bus.ranked.iter().map(|s| s.item).collect();
        assert_eq!(list, ids(&[1, 2, 3, 4]));
        assert_eq!(
            out.relaxed,
            ["Too few films fit those years exactly, so I widened them to 1980–2009."]
        );
        assert_eq!(out.notes, out.relaxed);
        assert_eq!(
            out.opening,
            "Here are 4: the first fits exactly, the rest come close:"
        );
        assert_eq!(out.state.last_list, ids(&[1, 2, 3, 4]));
    }

    /// A ladder that runs out leaves the list as it was and asks the user
    /// instead of failing.
    #[test]
    fn nothing_found_after_every_rung_asks_the_user() {
        let draft = Plan {
            want: Constraint {
                genres: vec!["Western".into()],
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let mut m = machine(
            Mode::Rules,
            draft,
            DialogueState::default(),
            Cues::default(),
        );
        expect_tools(m.next_step(Input::Start));
        // The only rung: drop the genre. It finds nothing either.
        let rung = expect_tools(m.next_step(tools_done(Bus::default())));
        assert!(rung.quiet);
        let out = expect_done(m.next_step(tools_done(Bus::default())));
        assert!(out.bus.ranked.is_empty());
        assert!(out.relaxed.is_empty());
        assert_eq!(out.notes, [NOTHING_FOUND]);
        assert_eq!(out.opening, "");
    }

    /// A driver that feeds the wrong input gets an error in the outcome,
    /// and the turn still ends, with the note that asks the user.
    #[test]
    fn a_wrong_input_still_ends_the_turn() {
        let mut m = machine(
            Mode::Rules,
            Plan::default(),
            DialogueState::default(),
            Cues::default(),
        );
        expect_tools(m.next_step(Input::Start));
        let out = expect_done(m.next_step(text_reply("not a tool result")));
        let error = out.error.expect("the protocol error");
        assert!(error.contains("cannot take"), "{error}");
        assert_eq!(out.notes, [NOTHING_FOUND]);
    }

    #[test]
    fn a_turn_that_asks_for_no_list_calls_nothing_and_keeps_the_conversation() {
        let state = DialogueState {
            intent: "heist".into(),
            last_list: ids(&[7, 8, 9]),
            ..DialogueState::default()
        };
        for mode in [
            Mode::Rules,
            Mode::Model(Strategy::PlanDraft),
            Mode::Model(Strategy::StepByStep),
        ] {
            let mut m = machine(mode, Plan::default(), state.clone(), Cues::default());
            m.social_reply = Some("You're welcome!".into());
            let out = expect_done(m.next_step(Input::Start));
            assert_eq!(out.notes, vec!["You're welcome!"], "{mode:?}");
            assert!(out.bus.ranked.is_empty() && out.plan.is_none());
            assert_eq!(
                out.state.last_list,
                ids(&[7, 8, 9]),
                "the list stays for feedback"
            );
            assert_eq!(out.state.intent, "heist");
            assert_eq!(out.model_failures, 0);
        }
    }
}
