//! The controller: the conversation part of a turn, as a sans-IO state
//! machine.
//!
//! [`Controller::next_step`] takes what the last step produced and returns
//! the next: call the model, run tools, or stop. It decides which model
//! calls and tool calls the conversation makes (rules, plan first, step by
//! step) and checks a model's plan. It does no IO: the turn machine in
//! `turn.rs` wraps it (and adds the final rank, relaxation and grounding),
//! and the async driver in `session.rs` does the calls. Steps are bounded,
//! and every path ends in [`Step::Done`]: a model that fails is replaced by
//! the rules parse, and an answer the model does not write is written from
//! the ranked list.

use std::sync::Arc;

use recagent_llm::{
    ChatOptions, ChatRequest, ChatResponse, Message, ToolCall, ToolChoice, ToolSpec,
};
use serde_json::Value;

use crate::plan::{PlanContext, plan_calls};
use crate::prompts::{AnswerContext, ItemLine, Prompts};
use crate::state::{Changes, DialogueState};
use crate::tools::{RankCandidates, Tool, args_schema};
use crate::{Error, Result};
use recagent_reading::Plan;
use recagent_reading::check::{FilmSketch, Known, check, ground, repair};

/// The name of the one tool a plan-first model calls.
pub const PLAN_TOOL: &str = "plan";
/// The tool a model calls to describe a film the catalog lacks.
pub const DESCRIBE_TOOL: &str = "describe_film";
/// The longest description of a film the catalog lacks.
pub const DESCRIBE_TOKENS: u32 = 160;
/// The longest answer a model writes: one or two sentences before the list.
pub const ANSWER_TOKENS: u32 = 64;
/// Model decisions (not tool calls) per turn before the rules take over.
pub const MAX_FAILURES: u32 = 2;

/// How a model drives the tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One decision fills a [`Plan`]; the executor makes the calls; the
    /// model writes the answer.
    PlanFirst,
    /// Plan first, and the slots the model leaves empty are filled from the
    /// rules parse (the draft it was shown). The default: on the labelled
    /// requests it is right more often than plan first or step by step with
    /// both local models, and as fast as plan first (docs/agent.md).
    #[default]
    PlanDraft,
    /// The model calls a tool, reads the result, calls the next.
    StepByStep,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::PlanFirst => "plan_first",
            Strategy::PlanDraft => "plan_draft",
            Strategy::StepByStep => "step_by_step",
        }
    }
}

/// Which controller runs a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No model: the rules parse is the plan, the answer is a template.
    Rules,
    Model(Strategy),
}

/// What a model call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Describe a film the catalog lacks ([`FilmSketch`]).
    Describe,
    Plan,
    Step,
    Answer,
}

impl Purpose {
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Describe => "describe",
            Purpose::Plan => "plan",
            Purpose::Step => "step",
            Purpose::Answer => "answer",
        }
    }
}

/// What the driver should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Call the model; feed back [`Input::Model`].
    CallModel {
        purpose: Purpose,
        request: ChatRequest,
    },
    /// Run these calls in order; feed back [`Input::Tools`].
    CallTools(Vec<ToolCall>),
    /// The turn is over: the model's answer text, or `None` to write the
    /// answer from the ranked list.
    Done(Option<String>),
}

/// One tool result as the controller reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolMessage {
    pub call: ToolCall,
    /// What the model is shown (JSON).
    pub content: Value,
    /// The ranked list, when this call ranked.
    pub ranked: Option<Vec<ItemLine>>,
}

/// Why a model call gave no reply: the model's fault, which it is asked
/// to fix, or the endpoint's, after which the rules stand in at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// The model wrote what cannot be read: a tool call whose arguments
    /// are not JSON (cut off at the token limit, say).
    Fault(String),
    /// The endpoint failed (unreachable, timed out, no model configured).
    Endpoint(String),
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fault(why) => write!(f, "the model's reply: {why}"),
            Self::Endpoint(why) => f.write_str(why),
        }
    }
}

/// What the last step produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Start,
    /// The model's reply, or the error that ended the call.
    Model(Result<ChatResponse, ModelError>),
    Tools(Vec<ToolMessage>),
}

/// What a turn starts from; prompts are rendered by the caller.
#[derive(Debug, Clone)]
pub struct TurnSetup {
    pub mode: Mode,
    /// What the user wrote this turn.
    pub user_text: String,
    /// Earlier turns (user and assistant messages), oldest first.
    pub history: Vec<Message>,
    /// The rules parse of `user_text`.
    pub draft: Plan,
    pub plan_context: PlanContext,
    /// What the catalog knows, to check a model's plan.
    pub known: Arc<dyn Known>,
    /// System prompts, rendered.
    pub plan_system: String,
    pub step_system: String,
    /// The user message each strategy's model reads (context + text).
    pub plan_request: String,
    pub step_request: String,
    /// The tools a step-by-step model is offered (the registry's specs).
    pub tools: Vec<ToolSpec>,
    /// Most model calls in one turn (decisions, steps and the answer).
    pub max_steps: usize,
    /// Whether the model writes the answer's opening sentences; without,
    /// the template does and the turn saves a model call.
    pub model_answer: bool,
    pub options: ChatOptions,
    /// The answer to a turn that asks for no list ("thanks", "what do you
    /// know about me?", see [`recagent_reading::rules::social`]): given, the turn
    /// calls no model and no tool, and the conversation stands as it was.
    pub social_reply: Option<String>,
    /// What the answer says before its other notes, when it has a list:
    /// a film named that the catalog lacks ("like the matrix", see
    /// [`recagent_reading::rules::unknown_title`]), a genre asked for that the user
    /// once said never to show.
    pub notes: Vec<String>,
    /// A film the user named that the catalog lacks, as they wrote it
    /// ([`recagent_reading::rules::unknown_title`]): a model controller first asks
    /// the model to describe it ([`FilmSketch`]), and the plan follows the
    /// description.
    pub unknown_film: Option<String>,
    /// The system prompt of that question (`describe.j2`), rendered.
    pub describe_system: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Describing,
    Deciding,
    Tools,
    Answering,
    Finished,
}

/// The state of one turn.
#[derive(Debug)]
pub struct Controller {
    setup: TurnSetup,
    prompts: Arc<Prompts>,
    phase: Phase,
    messages: Vec<Message>,
    model_calls: usize,
    failures: u32,
    fallback: bool,
    /// The plan the executor ran (rules, plan first, or a fallback).
    plan: Option<Plan>,
    /// The model's plan call, answered by the ranked list.
    plan_call: Option<ToolCall>,
    ranked: Option<Vec<ItemLine>>,
    /// The dialogue state after this turn's update, and what changed.
    state: Option<(DialogueState, Changes)>,
    /// The request as the state now has it.
    request: Option<Plan>,
    /// Whether the model was asked once to correct its plan.
    asked_to_correct: bool,
    /// Plans the model corrected when told what was wrong.
    corrected: u32,
    /// Slots replaced by the rules draft after a correction that failed.
    replaced: u32,
    /// The model's description of the film the catalog lacks, as the
    /// catalog can follow it.
    sketch: Option<FilmSketch>,
}

/// Whether a model's answer is words for the user: not empty, not a tool
/// call written out as text (a small model that has just seen calls tends
/// to imitate them), and not a copy of the list.
pub fn is_prose(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && !t.starts_with('{')
        && !t.starts_with('[')
        && !t.contains("<tool_call>")
        && !t.contains("\"arguments\"")
        // A call as llama-cpp-python's function-calling template writes
        // it ("functions.plan:\n{…}"), raw or HTML-escaped.
        && !t.starts_with("functions.")
        && !t.contains("&#34;")
        && !t.contains("{\"")
        // The list follows the words; a model that copies it out instead
        // (often cut off mid-list) has not written an introduction.
        && !t.lines().any(|l| l.trim_start().starts_with("1."))
}

/// The describe tool: one call whose arguments are a [`FilmSketch`].
pub fn describe_tool() -> ToolSpec {
    ToolSpec {
        name: DESCRIBE_TOOL.into(),
        description:
            "Describe the film in the catalog's terms; leave slots empty where you do not know."
                .into(),
        parameters: describe_schema(),
    }
}

/// The [`FilmSketch`] schema with short slots: a small model that may
/// write on runs out of room in one field rather than the whole call.
fn describe_schema() -> Value {
    let mut schema = args_schema::<FilmSketch>();
    for (slot, items, length) in [("genres", 4, 24), ("keywords", 5, 24)] {
        if let Some(s) = schema.pointer_mut(&format!("/properties/{slot}")) {
            s["maxItems"] = serde_json::json!(items);
            s["items"]["maxLength"] = serde_json::json!(length);
        }
    }
    schema
}

/// The plan tool: one call whose arguments are a [`Plan`].
pub fn plan_tool() -> ToolSpec {
    ToolSpec {
        name: PLAN_TOOL.into(),
        description: "Fill the plan for this request; leave slots empty when the user did not say."
            .into(),
        parameters: args_schema::<Plan>(),
    }
}

impl Controller {
    pub fn new(setup: TurnSetup, prompts: Arc<Prompts>) -> Self {
        Self {
            setup,
            prompts,
            phase: Phase::Start,
            messages: Vec::new(),
            model_calls: 0,
            failures: 0,
            fallback: false,
            plan: None,
            plan_call: None,
            ranked: None,
            state: None,
            request: None,
            asked_to_correct: false,
            corrected: 0,
            replaced: 0,
            sketch: None,
        }
    }

    /// The model's description of the film the catalog lacks, once it
    /// gave one the catalog can follow.
    pub fn sketch(&self) -> Option<&FilmSketch> {
        self.sketch.as_ref()
    }

    /// The dialogue state after this turn's update (once a plan ran, or a
    /// step-by-step turn started), with what changed.
    pub fn state(&self) -> Option<&(DialogueState, Changes)> {
        self.state.as_ref()
    }

    /// Plans the model corrected when told what was wrong, and plan slots
    /// the rules draft replaced.
    pub fn checks(&self) -> (u32, u32) {
        (self.corrected, self.replaced)
    }

    /// The plan that was executed, once tools ran from one.
    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    /// Failed model decisions so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the rules parse stood in for the model.
    pub fn fell_back(&self) -> bool {
        self.fallback
    }

    fn request(&self, purpose: Purpose, messages: Vec<Message>) -> Step {
        let mut options = self.setup.options.clone();
        let tools = match purpose {
            Purpose::Describe => {
                options.tool_choice = ToolChoice::Required;
                options.max_tokens = options.max_tokens.min(DESCRIBE_TOKENS);
                vec![describe_tool()]
            }
            Purpose::Plan => {
                options.tool_choice = ToolChoice::Required;
                options.max_tokens = options.max_tokens.min(256);
                vec![plan_tool()]
            }
            // Until the list is ranked an answer cannot be grounded, and once
            // it is the answer is asked for apart: a step is always a call.
            Purpose::Step => {
                options.tool_choice = ToolChoice::Required;
                options.max_tokens = options.max_tokens.min(256);
                self.setup.tools.clone()
            }
            // The answer continues the decision's conversation with the same
            // tools offered, so a local model reuses its whole prefix.
            Purpose::Answer => {
                options.tool_choice = ToolChoice::None;
                options.max_tokens = options.max_tokens.min(ANSWER_TOKENS);
                match self.setup.mode {
                    Mode::Model(Strategy::StepByStep) => self.setup.tools.clone(),
                    _ => vec![plan_tool()],
                }
            }
        };
        Step::CallModel {
            purpose,
            request: ChatRequest {
                messages,
                tools,
                options,
            },
        }
    }

    /// Updates the dialogue state with `plan` and returns the request as
    /// it now stands.
    fn update_state(&mut self, plan: &Plan) -> Plan {
        let ctx = &self.setup.plan_context;
        // A film the catalog lacks, described, is a new film to be like: a
        // new request, as a film the catalog has would be.
        let mut cues = ctx.cues.clone();
        if self.sketch.is_some() {
            cues.refine = false;
            cues.also = false;
        }
        let (state, effective, changes) =
            ctx.state.apply(&plan.normalized(), &cues, &ctx.last_shown);
        self.state = Some((state, changes));
        self.request = Some(effective.clone());
        effective
    }

    /// The whole request as the dialogue state has it after this turn's
    /// update: what a relaxed search starts from.
    pub fn standing_request(&self) -> Option<&Plan> {
        self.request.as_ref()
    }

    fn run_plan(&mut self, plan: &Plan) -> Step {
        let plan = match (&self.sketch, &self.setup.unknown_film) {
            (Some(sketch), Some(film)) => sketch.applied_to(plan, film),
            _ => plan.clone(),
        };
        let effective = self.update_state(&plan);
        let calls = plan_calls(&effective, &self.setup.plan_context);
        self.plan = Some(effective);
        self.phase = Phase::Tools;
        Step::CallTools(calls)
    }

    fn fall_back(&mut self) -> Step {
        self.fallback = true;
        let draft = self.setup.draft.clone();
        self.run_plan(&draft)
    }

    fn answer(&mut self) -> Step {
        if !self.setup.model_answer || self.model_calls >= self.setup.max_steps {
            self.phase = Phase::Finished;
            return Step::Done(None);
        }
        let items = self.ranked.clone().unwrap_or_default();
        let list = match self.prompts.render(
            "answer.j2",
            &AnswerContext {
                items,
                notes: Vec::new(),
            },
        ) {
            Ok(s) => s,
            Err(_) => {
                self.phase = Phase::Finished;
                return Step::Done(None);
            }
        };
        self.phase = Phase::Answering;
        let mut messages = self.messages.clone();
        match (self.setup.mode, self.plan_call.take()) {
            // Plan first: the plan call, then the ranked list as its result.
            (Mode::Model(Strategy::PlanFirst | Strategy::PlanDraft), Some(call)) => {
                let id = call.id.clone();
                messages.push(Message::assistant_calls(vec![call]));
                messages.push(Message::tool(id, list));
            }
            // Step by step (or a fallback): the list as the last word.
            _ => messages.push(Message::user(list)),
        }
        self.model_calls += 1;
        self.request(Purpose::Answer, messages)
    }

    fn decide(&mut self) -> Step {
        self.phase = Phase::Deciding;
        self.model_calls += 1;
        let purpose = match self.setup.mode {
            Mode::Model(Strategy::StepByStep) => Purpose::Step,
            _ => Purpose::Plan,
        };
        self.request(purpose, self.messages.clone())
    }

    /// The next step, given what the last one produced.
    pub fn next_step(&mut self, input: Input) -> Result<Step> {
        match (self.phase, input) {
            (Phase::Start, Input::Start) => Ok(self.start()),
            (Phase::Describing, Input::Model(reply)) => Ok(self.on_description(reply)),
            (Phase::Deciding, Input::Model(reply)) => Ok(self.on_decision(reply)),
            (Phase::Tools, Input::Tools(results)) => Ok(self.on_tools(results)),
            (Phase::Answering, Input::Model(reply)) => {
                self.phase = Phase::Finished;
                Ok(Step::Done(match reply {
                    Ok(r) if is_prose(&r.text) => Some(r.text),
                    Ok(r) => {
                        tracing::debug!(text = %r.text, "the model's answer is not prose; the template writes it");
                        self.failures += 1;
                        None
                    }
                    Err(e) => {
                        tracing::debug!(%e, "the model's answer failed; the template writes it");
                        self.failures += 1;
                        None
                    }
                }))
            }
            (phase, input) => Err(Error::Protocol(format!(
                "the controller in phase {phase:?} cannot take {input:?}"
            ))),
        }
    }

    fn start(&mut self) -> Step {
        match self.setup.mode {
            Mode::Rules => {
                let draft = self.setup.draft.clone();
                self.run_plan(&draft)
            }
            Mode::Model(_) => {
                if let Some(film) = self.setup.unknown_film.clone() {
                    self.phase = Phase::Describing;
                    self.model_calls += 1;
                    let messages = vec![
                        Message::system(self.setup.describe_system.clone()),
                        Message::user(format!("The film: {film}")),
                    ];
                    return self.request(Purpose::Describe, messages);
                }
                self.start_model()
            }
        }
    }

    /// The model's description of the film the catalog lacks, checked
    /// against the catalog; then the turn goes on as it would have. A
    /// description that fails or says nothing the catalog knows is no
    /// failure of the turn: the plan follows the rest of the words.
    fn on_description(&mut self, reply: Result<ChatResponse, ModelError>) -> Step {
        let film = self.setup.unknown_film.clone().unwrap_or_default();
        let sketch = reply.map_err(|e| e.to_string()).and_then(|r| {
            r.tool_calls
                .iter()
                .find(|c| c.name == DESCRIBE_TOOL)
                .ok_or_else(|| format!("no {DESCRIBE_TOOL} call in {:?}", r.text))
                .and_then(|c| {
                    serde_json::from_value::<FilmSketch>(c.arguments.clone())
                        .map_err(|e| e.to_string())
                })
        });
        match sketch {
            Ok(s) => {
                let checked = s.checked(&film, self.setup.known.as_ref());
                tracing::debug!(?s, ?checked, "the model described a film the catalog lacks");
                self.sketch = (!checked.is_empty()).then_some(checked);
            }
            Err(why) => tracing::debug!(%why, "no description of a film the catalog lacks"),
        }
        self.start_model()
    }

    fn start_model(&mut self) -> Step {
        match self.setup.mode {
            Mode::Rules => {
                let draft = self.setup.draft.clone();
                self.run_plan(&draft)
            }
            Mode::Model(strategy) => {
                let (system, request) = match strategy {
                    Strategy::PlanFirst | Strategy::PlanDraft => {
                        (&self.setup.plan_system, &self.setup.plan_request)
                    }
                    Strategy::StepByStep => (&self.setup.step_system, &self.setup.step_request),
                };
                let (system, request) = (system.clone(), request.clone());
                if strategy == Strategy::StepByStep {
                    // The model calls the tools itself; the state follows
                    // the user's words as the rules read them.
                    let draft = self.setup.draft.clone();
                    self.update_state(&draft);
                }
                self.messages = vec![Message::system(system)];
                self.messages.extend(self.setup.history.iter().cloned());
                self.messages.push(Message::user(request));
                self.decide()
            }
        }
    }

    fn retry_or_fall_back(&mut self, why: String) -> Step {
        tracing::debug!(%why, "a model decision failed");
        self.failures += 1;
        if self.failures >= MAX_FAILURES || self.model_calls >= self.setup.max_steps {
            return self.fall_back();
        }
        self.messages.push(Message::user(format!(
            "That was not a valid tool call ({why}). Call a tool with arguments that match its schema."
        )));
        self.decide()
    }

    /// A model's plan: filled from the draft (plan + draft), grounded in
    /// the words, checked; a wrong one is sent back once with what is
    /// wrong, then repaired from the draft; the result is run.
    fn on_plan(&mut self, plan: Plan, call: ToolCall) -> Step {
        let plan = if self.setup.mode == Mode::Model(Strategy::PlanDraft) {
            plan.filled_from(&self.setup.draft)
        } else {
            plan
        };
        let ctx = &self.setup.plan_context;
        let (plan, grounded) = ground(
            &plan,
            &self.setup.draft,
            &ctx.cues,
            &self.setup.user_text,
            &ctx.last_shown,
        );
        self.replaced += grounded;
        let issues = check(&plan, &self.setup.draft, self.setup.known.as_ref());
        if !issues.is_empty() && !self.asked_to_correct && self.model_calls < self.setup.max_steps {
            // Once: say what is wrong and let the model fix it.
            self.asked_to_correct = true;
            let why: Vec<String> = issues
                .iter()
                .map(|i| format!("{}: {}", i.slot, i.why))
                .collect();
            self.messages
                .push(Message::assistant_calls(vec![call.clone()]));
            self.messages.push(Message::tool(
                call.id.clone(),
                format!(
                    "This plan cannot be right: {}. Call plan again with these slots fixed; keep the rest.",
                    why.join("; ")
                ),
            ));
            return self.decide();
        }
        let plan = if issues.is_empty() {
            if self.asked_to_correct {
                self.corrected += 1;
            }
            plan
        } else {
            // Still wrong: the draft's slots stand in.
            self.replaced += issues.len() as u32;
            repair(&plan, &self.setup.draft, &issues, self.setup.known.as_ref())
        };
        self.plan_call = Some(call);
        self.run_plan(&plan)
    }

    fn on_decision(&mut self, reply: Result<ChatResponse, ModelError>) -> Step {
        let r = match reply {
            Ok(r) => r,
            // A call the model wrote badly (arguments cut off at the token
            // limit, not JSON) is the model's to fix, like a wrong plan.
            Err(e @ ModelError::Fault(_)) => return self.retry_or_fall_back(e.to_string()),
            // An endpoint error is not the model's to fix: fall back now.
            Err(ModelError::Endpoint(_)) => {
                self.failures += 1;
                return self.fall_back();
            }
        };
        match self.setup.mode {
            Mode::Model(Strategy::PlanFirst | Strategy::PlanDraft) | Mode::Rules => {
                let Some(call) = r.tool_calls.iter().find(|c| c.name == PLAN_TOOL) else {
                    return self.retry_or_fall_back(format!("no plan call in {:?}", r.text));
                };
                let call = call.clone();
                match serde_json::from_value::<Plan>(call.arguments.clone()) {
                    Ok(plan) => self.on_plan(plan, call),
                    Err(e) => self.retry_or_fall_back(format!("bad plan: {e}")),
                }
            }
            Mode::Model(Strategy::StepByStep) => {
                if !r.tool_calls.is_empty() {
                    self.messages
                        .push(Message::assistant_calls(r.tool_calls.clone()));
                    self.phase = Phase::Tools;
                    return Step::CallTools(r.tool_calls);
                }
                if self.ranked.is_some() && !r.text.trim().is_empty() {
                    self.phase = Phase::Finished;
                    return Step::Done(Some(r.text));
                }
                // Text without a ranked list cannot be grounded.
                self.retry_or_fall_back("answered before rank_candidates".into())
            }
        }
    }

    fn on_tools(&mut self, results: Vec<ToolMessage>) -> Step {
        let model_called =
            self.setup.mode == Mode::Model(Strategy::StepByStep) && self.plan.is_none();
        for m in &results {
            if let Some(r) = &m.ranked {
                self.ranked = Some(r.clone());
            }
            // Only calls the model made get results in its conversation; an
            // executed plan's calls are summed up by the ranked list.
            if model_called {
                self.messages
                    .push(Message::tool(m.call.id.clone(), m.content.to_string()));
            }
        }
        match self.setup.mode {
            Mode::Rules => {
                self.phase = Phase::Finished;
                Step::Done(None)
            }
            // A fallback or a plan: the model writes the answer.
            Mode::Model(_) if self.plan.is_some() => {
                if self.fallback && self.failures >= MAX_FAILURES {
                    self.phase = Phase::Finished;
                    return Step::Done(None);
                }
                self.answer()
            }
            Mode::Model(Strategy::StepByStep) => {
                if self.ranked.is_some() {
                    return self.answer();
                }
                if self.model_calls >= self.setup.max_steps {
                    // Out of steps: rank what there is and answer.
                    self.phase = Phase::Tools;
                    self.plan = Some(Plan::default());
                    return Step::CallTools(vec![ToolCall {
                        id: "call_rank".into(),
                        name: RankCandidates::NAME.into(),
                        arguments: serde_json::json!({}),
                    }]);
                }
                self.decide()
            }
            Mode::Model(Strategy::PlanFirst | Strategy::PlanDraft) => self.answer(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::DialogueState;
    use crate::testing::setup;
    use recagent_core::Constraint;
    use recagent_reading::Plan;
    use recagent_reading::rules::Cues;

    fn controller(mode: Mode) -> Controller {
        let draft = Plan {
            intent: "heist".into(),
            want: Constraint {
                genres: vec!["Comedy".into()],
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let prompts = Arc::new(Prompts::embedded().expect("the embedded prompts"));
        Controller::new(
            setup(mode, draft, DialogueState::default(), Cues::default()),
            prompts,
        )
    }

    fn tool_names(step: &Step) -> Vec<&str> {
        match step {
            Step::CallTools(calls) => calls.iter().map(|c| c.name.as_str()).collect(),
            other => panic!("expected tool calls, got {other:?}"),
        }
    }

    #[test]
    fn the_rules_run_the_draft_with_no_model_call() {
        let mut c = controller(Mode::Rules);
        let step = c.next_step(Input::Start).expect("start");
        let names = tool_names(&step);
        assert!(names.contains(&"search_items"), "{names:?}");
        let Step::CallTools(calls) = &step else {
            unreachable!()
        };
        let search = calls
            .iter()
            .find(|c| c.name == "search_items")
            .expect("search");
        assert_eq!(search.arguments["genres"], serde_json::json!(["Comedy"]));
    }

    #[test]
    fn a_plan_first_model_is_asked_first_and_a_failed_endpoint_falls_back_to_the_rules() {
        let mut c = controller(Mode::Model(Strategy::PlanFirst));
        match c.next_step(Input::Start).expect("start") {
            Step::CallModel { purpose, request } => {
                assert_eq!(purpose, Purpose::Plan);
                assert_eq!(
                    request.messages.first().map(|m| m.content.as_str()),
                    Some("plan system")
                );
                assert!(request.messages.iter().any(|m| m.content == "plan request"));
            }
            other => panic!("expected a model call, got {other:?}"),
        }
        let step = c
            .next_step(Input::Model(Err(ModelError::Endpoint(
                "connection refused".into(),
            ))))
            .expect("fallback");
        assert!(tool_names(&step).contains(&"search_items"), "{step:?}");
    }

    #[test]
    fn an_input_out_of_turn_is_a_protocol_error() {
        let mut c = controller(Mode::Rules);
        assert!(matches!(
            c.next_step(Input::Tools(Vec::new())),
            Err(Error::Protocol(_))
        ));
        let mut c = controller(Mode::Model(Strategy::PlanFirst));
        c.next_step(Input::Start).expect("start");
        assert!(matches!(c.next_step(Input::Start), Err(Error::Protocol(_))));
    }

    /// A model that copies the list out (often cut off mid-list) has not
    /// written an introduction; a sentence has.
    #[test]
    fn a_copied_list_is_not_prose() {
        assert!(!is_prose("The list:\n1. Babe (1995)\n2. Ba"));
        assert!(!is_prose(r#"{"name": "plan", "arguments": {}}"#));
        assert!(!is_prose(
            "functions.plan:\n{&#34;intent&#34;:&#34;search&#34;,&#34;genres&#34;:[]}"
        ));
        assert!(!is_prose(r#"Sure: {"intent": "comedy"}"#));
        assert!(is_prose("Two gentle comedies for tonight."));
    }
}
