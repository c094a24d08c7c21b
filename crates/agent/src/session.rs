//! The async driver: a session with one user, turn by turn.
//!
//! [`Session::send`] runs the [`Controller`] to its end, doing the model
//! calls and tool calls it asks for, and streams [`Event`]s as they happen.
//! The last event of every turn is [`Event::Answer`], grounded in the
//! ranked list: an answer that names an item off the list is replaced by
//! one written from the list, and the repair is counted in the trace.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::stream::BoxStream;
use recagent_core::{ItemId, UserId};
use recagent_llm::{ChatEvent, ChatRequest, ChatResponse, Message};
use recagent_memory::{ItemFeedback, Profile};
use serde::{Deserialize, Serialize};

use crate::bus::Bus;
use crate::controller::{
    Controller as Machine, Input, Mode, Purpose, Step, ToolMessage, TurnSetup,
};
use crate::plan::{Known, MIN_LIST, Plan, PlanContext, plan_calls, relax};
use crate::prompts::{ItemLine, ReplyContext, RequestContext, SystemContext};
use crate::state::DialogueState;
use crate::tools::{self, Ctx, RankCandidates, Tool, fence};
use crate::trace::{ModelTrace, TurnTrace};
use crate::{Controller, Error, Inner, Recommendation, Result, rules};

/// What a turn reports, in order. The last event is always `Answer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A tool call is about to run.
    ToolCall { call: recagent_llm::ToolCall },
    /// It ran.
    ToolResult {
        name: String,
        ok: bool,
        summary: String,
    },
    /// A piece of the model's answer as it is generated (the final text is
    /// in `Answer`, which may differ if the answer was repaired).
    TextDelta { text: String },
    /// The ranked list of the turn.
    Candidates { items: Vec<Recommendation> },
    /// Something outside the model's reach failed (memory, prompts); the
    /// turn still ends with an answer.
    Error { message: String },
    /// The end of the turn.
    Answer(Box<Turn>),
}

/// One finished turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub answer: String,
    pub items: Vec<Recommendation>,
    pub trace: TurnTrace,
    /// The plan that was executed (rules and plan first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The ranked pool whose head is `items`: up to 50 ids, best first, for
    /// Recall@50 in evaluation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pool: Vec<ItemId>,
}

/// A conversation with one user.
#[derive(Debug)]
pub struct Session {
    inner: Arc<Inner>,
    user: String,
    catalog_user: Option<UserId>,
    /// The positives the ranker starts from, when not the catalog user's
    /// whole log (an evaluation holds the target out).
    ranker_log: Option<Vec<ItemId>>,
    history: Vec<Message>,
    /// The conversation so far: loaded from profile memory when the
    /// session opens, saved after every turn.
    state: DialogueState,
}

fn micros(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn send(tx: &UnboundedSender<Event>, e: Event) {
    // A receiver that went away (a cancelled turn) is not an error here.
    let _ = tx.unbounded_send(e);
}

impl Session {
    pub(crate) fn new(inner: Arc<Inner>, user: &str) -> Self {
        let catalog_user = inner.catalog.user_by_key(user);
        // A conversation saved by an earlier process goes on; one that
        // cannot be read (another version wrote it) starts over.
        let state = match inner.memory.conversation(user) {
            Ok(Some(json)) => serde_json::from_str(&json).unwrap_or_else(|e| {
                tracing::warn!(
                    "the saved conversation of {user} cannot be read ({e}); starting over"
                );
                DialogueState::default()
            }),
            Ok(None) => DialogueState::default(),
            Err(e) => {
                tracing::warn!("cannot read the saved conversation of {user}: {e}");
                DialogueState::default()
            }
        };
        Self {
            inner,
            user: user.to_owned(),
            catalog_user,
            ranker_log: None,
            history: Vec::new(),
            state,
        }
    }

    /// A session that starts a new conversation, whatever was saved.
    pub(crate) fn fresh(inner: Arc<Inner>, user: &str) -> Self {
        let mut s = Self::new(inner, user);
        s.reset();
        s
    }

    /// The same session, ranking as catalog user `user` whose positives
    /// are exactly `log` (oldest first) rather than the user's whole log.
    pub(crate) fn ranking_as(mut self, user: UserId, log: Vec<ItemId>) -> Self {
        self.catalog_user = Some(user);
        self.ranker_log = Some(log);
        self
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The items shown last turn.
    pub fn last_shown(&self) -> &[ItemId] {
        &self.state.last_list
    }

    /// The conversation so far.
    pub fn state(&self) -> &DialogueState {
        &self.state
    }

    /// Forgets this conversation, here and in profile memory (not the
    /// profile).
    pub fn reset(&mut self) {
        self.history.clear();
        self.state = DialogueState::default();
        if let Err(e) = self.inner.memory.end_conversation(&self.user) {
            tracing::warn!("cannot end the saved conversation of {}: {e}", self.user);
        }
    }

    /// Explicit feedback on an item (a key press in the TUI, a POST to the
    /// server): stored in profile memory at once.
    pub fn feedback(&mut self, item: ItemId, feedback: ItemFeedback) -> Result<()> {
        if self.inner.catalog.item(item).is_none() {
            return Err(Error::Config(format!(
                "item {} is not in catalog {}",
                item.0,
                self.inner.catalog.name()
            )));
        }
        self.inner.memory.set_items(&self.user, &[item], feedback)?;
        Ok(())
    }

    /// Runs one turn and streams its events; the last is [`Event::Answer`].
    /// Dropping the stream cancels the turn between steps.
    pub fn send<'a>(&'a mut self, text: &'a str) -> BoxStream<'a, Event> {
        let (tx, rx) = unbounded();
        let drive = futures::stream::once(async move { self.drive(text, tx).await })
            .filter_map(|()| async { None });
        Box::pin(futures::stream::select(rx, drive))
    }

    /// Runs one turn to its end.
    pub async fn turn(&mut self, text: &str) -> Result<Turn> {
        let mut events = self.send(text);
        let mut last = None;
        while let Some(e) = events.next().await {
            if let Event::Answer(t) = e {
                last = Some(*t);
            }
        }
        last.ok_or_else(|| Error::Protocol("the turn ended without an answer".into()))
    }

    fn profile_lines(&self, p: &Profile) -> Vec<String> {
        let c = &self.inner.catalog;
        let titles = |ids: &[ItemId]| -> Vec<String> {
            ids.iter()
                .rev()
                .take(5)
                .filter_map(|i| c.item(*i))
                .map(|it| fence(&it.title, 80))
                .collect()
        };
        let mut out = Vec::new();
        if !p.liked.is_empty() {
            out.push(format!("liked: {}", titles(&p.liked).join("; ")));
        }
        if !p.disliked.is_empty() {
            out.push(format!("disliked: {}", titles(&p.disliked).join("; ")));
        }
        if !p.seen.is_empty() {
            out.push(format!(
                "has seen {} items (never recommended again)",
                p.seen.len()
            ));
        }
        if !p.liked_genres.is_empty() {
            out.push(format!("likes {}", p.liked_genres.join(", ")));
        }
        if !p.avoided_genres.is_empty() {
            out.push(format!("never wants {}", p.avoided_genres.join(", ")));
        }
        for f in p.facts.iter().rev().take(5) {
            out.push(fence(&f.text, 200));
        }
        out
    }

    fn title(&self, id: ItemId) -> String {
        self.inner
            .catalog
            .item(id)
            .map(|it| it.title.clone())
            .unwrap_or_default()
    }

    async fn drive(&mut self, text: &str, tx: UnboundedSender<Event>) {
        let started = Instant::now();
        let inner = Arc::clone(&self.inner);
        let mut trace = TurnTrace {
            controller: inner.controller.name(),
            strategy: match &inner.controller {
                Controller::Rules => "rules".into(),
                Controller::Model { strategy, .. } => strategy.name().into(),
            },
            ..TurnTrace::default()
        };
        let mut profile = match inner.memory.profile(&self.user) {
            Ok(p) => p,
            Err(e) => {
                send(
                    &tx,
                    Event::Error {
                        message: e.to_string(),
                    },
                );
                Profile::default()
            }
        };
        let text: String = text.chars().take(2000).collect();
        let draft = rules::parse(
            &text,
            &inner.vocab,
            inner.recall.as_ref(),
            self.state.last_list.len(),
        );
        let plan_context = PlanContext {
            last_shown: self
                .state
                .last_list
                .iter()
                .map(|i| self.title(*i))
                .collect(),
            state: self.state.clone(),
            cues: {
                // Feedback on the list goes on with the request, whatever
                // words a model puts in the plan's intent.
                let mut c = rules::cues(&text, &inner.vocab);
                c.refine |= draft.feedback != crate::plan::Feedback::None;
                c
            },
        };
        let lines = self.profile_lines(&profile);
        let system = SystemContext {
            catalog: inner.catalog.name().to_owned(),
            genres: inner.vocab.genres().to_vec(),
        };
        let request = |draft: Option<String>| RequestContext {
            last_shown: plan_context.last_shown.clone(),
            profile: lines.clone(),
            draft,
            text: text.clone(),
        };
        let p = &inner.prompts;
        let rendered = (|| -> Result<[String; 4]> {
            Ok([
                p.render("plan.j2", &system)?,
                p.render("system.j2", &system)?,
                p.render(
                    "request.j2",
                    &request(Some(serde_json::to_string(&draft).unwrap_or_default())),
                )?,
                p.render("request.j2", &request(None))?,
            ])
        })();
        let [plan_system, step_system, plan_request, step_request] = match rendered {
            Ok(x) => x,
            Err(e) => {
                send(
                    &tx,
                    Event::Error {
                        message: e.to_string(),
                    },
                );
                Default::default()
            }
        };
        let (mode, model) = match &inner.controller {
            Controller::Rules => (Mode::Rules, None),
            Controller::Model { model, strategy } => {
                (Mode::Model(*strategy), Some(Arc::clone(model)))
            }
        };
        let setup = TurnSetup {
            mode,
            user_text: text.clone(),
            history: self.history.clone(),
            draft,
            plan_context,
            known: Arc::new(KnownCatalog(Arc::clone(&inner))),
            plan_system,
            step_system,
            plan_request,
            step_request,
            max_steps: inner.config.max_steps,
            model_answer: inner.config.model_answer,
            options: inner.config.options.clone(),
        };
        let mut machine = Machine::new(setup, Arc::clone(&inner.prompts));
        let mut bus = Bus::default();
        let mut history: Vec<ItemId> = match &self.ranker_log {
            Some(log) => log.clone(),
            None => self
                .catalog_user
                .and_then(|u| inner.histories.get(u.index()))
                .cloned()
                .unwrap_or_default(),
        };
        // Tool errors go to the model and the trace, never to the user.
        let mut tool_errors = 0usize;
        let mut input = Input::Start;
        let answer = loop {
            let step = match machine.next_step(input) {
                Ok(s) => s,
                Err(e) => {
                    send(
                        &tx,
                        Event::Error {
                            message: e.to_string(),
                        },
                    );
                    break None;
                }
            };
            match step {
                Step::Done(text) => break text,
                Step::CallModel { purpose, request } => {
                    let reply = match &model {
                        Some(m) => call_model(m.as_ref(), purpose, request, &tx, &mut trace).await,
                        None => Err("no model".to_owned()),
                    };
                    input = Input::Model(reply);
                }
                Step::CallTools(calls) => {
                    // What the conversation set aside (seen, rejected) is
                    // never a candidate: the state after this turn's update.
                    let never = machine
                        .state()
                        .map_or_else(|| self.state.never_again(), |(s, _)| s.never_again());
                    let mut results = Vec::with_capacity(calls.len());
                    for call in calls {
                        send(&tx, Event::ToolCall { call: call.clone() });
                        for i in &profile.liked {
                            if !history.contains(i) {
                                history.push(*i);
                            }
                        }
                        let mut ctx = Ctx {
                            inner: &inner,
                            user: &self.user,
                            catalog_user: self.catalog_user,
                            profile: &mut profile,
                            history: history.clone(),
                            session_excluded: &never,
                            bus: &mut bus,
                        };
                        let (result, tt) = tools::dispatch(&mut ctx, &call).await;
                        let ranked = (call.name == RankCandidates::NAME && result.is_ok())
                            .then(|| item_lines(&tools::recommendations(&ctx)));
                        if result.is_err() {
                            tool_errors += 1;
                        }
                        send(
                            &tx,
                            Event::ToolResult {
                                name: tt.name.clone(),
                                ok: tt.ok,
                                summary: tt.summary.clone(),
                            },
                        );
                        trace.tools_micros += tt.micros;
                        trace.tool_calls.push(tt);
                        results.push(ToolMessage {
                            content: tools::result_content(&result),
                            call,
                            ranked,
                        });
                    }
                    input = Input::Tools(results);
                }
            }
        };

        let (next_state, changes) = machine
            .state()
            .cloned()
            .unwrap_or_else(|| (self.state.clone(), Vec::new()));
        let never = next_state.never_again();
        // Whatever the controller did, the answer stands on a ranked list
        // when there are candidates.
        if bus.ranked.is_empty() && !bus.candidates.is_empty() {
            let call = recagent_llm::ToolCall {
                id: "call_final_rank".into(),
                name: RankCandidates::NAME.into(),
                arguments: serde_json::json!({}),
            };
            let mut ctx = Ctx {
                inner: &inner,
                user: &self.user,
                catalog_user: self.catalog_user,
                profile: &mut profile,
                history: history.clone(),
                session_excluded: &never,
                bus: &mut bus,
            };
            let (_, tt) = tools::dispatch(&mut ctx, &call).await;
            trace.tools_micros += tt.micros;
            trace.tool_calls.push(tt);
        }
        // Nothing found is never a dead end: too short a list loosens the
        // request's weakest constraint, step by step, and says so.
        let mut relaxed: Vec<String> = Vec::new();
        let mut answer = answer;
        let exact = bus.ranked.len();
        if bus.ranked.len() < MIN_LIST
            && let Some(request) = machine.standing_request().cloned()
        {
            let plan_context = PlanContext {
                last_shown: self
                    .state
                    .last_list
                    .iter()
                    .map(|i| self.title(*i))
                    .collect(),
                ..PlanContext::default()
            };
            let mut plan = request;
            let mut widened = false;
            let mut steps: Vec<String> = Vec::new();
            while bus.ranked.len() < MIN_LIST {
                let Some((looser, why)) = relax(&plan, widened) else {
                    break;
                };
                widened |= looser.year_min != plan.year_min || looser.year_max != plan.year_max;
                plan = looser;
                let mut try_bus = Bus::default();
                for call in plan_calls(&plan, &plan_context)
                    .into_iter()
                    .filter(|c| c.name != tools::RememberPreference::NAME)
                {
                    let mut ctx = Ctx {
                        inner: &inner,
                        user: &self.user,
                        catalog_user: self.catalog_user,
                        profile: &mut profile,
                        history: history.clone(),
                        session_excluded: &never,
                        bus: &mut try_bus,
                    };
                    let (_, tt) = tools::dispatch(&mut ctx, &call).await;
                    trace.tools_micros += tt.micros;
                    trace.tool_calls.push(tt);
                }
                steps.push(why);
                // What fit exactly stays first; the looser search fills in.
                for s in bus.ranked.iter().rev() {
                    try_bus.ranked.retain(|t| t.item != s.item);
                    try_bus.ranked.insert(0, *s);
                    if let Some(o) = bus.origin.get(&s.item) {
                        try_bus.origin.insert(s.item, *o);
                    }
                }
                try_bus
                    .ranked
                    .truncate(tools::DEFAULT_K.max(bus.ranked.len()));
                for s in &bus.seeds {
                    if !try_bus.seeds.contains(s) {
                        try_bus.seeds.push(*s);
                    }
                }
                if try_bus.ranked.len() > bus.ranked.len() {
                    bus = try_bus;
                    // What was loosened to reach this list.
                    relaxed.clone_from(&steps);
                    // A model's words were about the stricter list.
                    answer = None;
                }
            }
        }
        let ctx = Ctx {
            inner: &inner,
            user: &self.user,
            catalog_user: self.catalog_user,
            profile: &mut profile,
            history,
            session_excluded: &never,
            bus: &mut bus,
        };
        let items = tools::recommendations(&ctx);
        let seeds: Vec<ItemId> = ctx.bus.seeds.clone();
        let allowed: Vec<ItemId> = items
            .iter()
            .map(|r| r.id)
            .chain(seeds.iter().copied())
            .chain(ctx.bus.excluded.iter().copied())
            .chain(ctx.profile.liked.iter().copied())
            .collect();
        let filter_words = filter_words(&ctx.bus.filter);
        let cold = ctx.bus.for_you_cold
            && items.iter().any(|r| {
                matches!(
                    ctx.bus.origin.get(&r.id),
                    Some(crate::bus::Origin::ForYou { cold: true })
                )
            });
        drop(ctx);
        let mut notes: Vec<String> = relaxed.clone();
        if items.is_empty() {
            // Never an error text: a question the user can answer.
            notes.push(
                "I could not find a film that fits all of that. Could you name a film you liked, or loosen a genre or the years?"
                    .into(),
            );
            if tool_errors > 0 {
                tracing::debug!(
                    tool_errors,
                    "the turn's tools failed; the user was asked instead"
                );
            }
        }
        if cold {
            notes.push(
                "I know nothing of your taste yet, so these are the most popular films that fit; tell me one you liked and I will go from there."
                    .into(),
            );
        }
        let opening_line = match machine.standing_request() {
            Some(r) if !items.is_empty() => opening(r, &relaxed, items.len(), exact, cold),
            _ => String::new(),
        };
        let reply = |notes: &[String], intro: Option<String>| {
            inner
                .prompts
                .render(
                    "reply.j2",
                    &ReplyContext {
                        intro,
                        items: item_lines(&items),
                        seeds: seeds
                            .iter()
                            .map(|s| recagent_core::display_title(&self.title(*s)))
                            .collect(),
                        filters: filter_words.clone(),
                        opening: opening_line.clone(),
                        notes: notes.to_vec(),
                    },
                )
                .unwrap_or_else(|e| {
                    tracing::warn!("reply.j2: {e}");
                    "Here is what I found:".into()
                })
        };
        let answer = match answer {
            Some(text) => {
                let off = rules::off_list(&text, inner.recall.as_ref(), &inner.vocab, &allowed);
                if off.is_empty() {
                    reply(&notes, Some(text.trim().to_owned()))
                } else {
                    trace.repairs += 1;
                    tracing::debug!(?off, "answer named items off the list; repaired");
                    reply(&notes, None)
                }
            }
            None => reply(&notes, None),
        };
        let (corrected, replaced) = machine.checks();
        trace.plan_corrected = corrected;
        trace.plan_replaced = replaced;
        trace.relaxed = relaxed;
        trace.model_failures = machine.failures();
        trace.fallback = machine.fell_back();
        trace.stages = bus.stages.clone();
        trace.ranker_history = bus.ranker_history.iter().copied().collect();
        trace.total_micros = micros(started);

        // The conversation for the next turn, in this process and the next.
        let mut next_state = next_state;
        if !items.is_empty() {
            next_state.last_list = items.iter().map(|r| r.id).collect();
        }
        self.state = next_state;
        match serde_json::to_string(&self.state) {
            Ok(json) => {
                if let Err(e) = inner.memory.save_conversation(&self.user, &json) {
                    send(
                        &tx,
                        Event::Error {
                            message: format!("the conversation could not be saved: {e}"),
                        },
                    );
                }
            }
            Err(e) => tracing::warn!("the conversation state does not serialise: {e}"),
        }
        trace.state = Some(self.state.clone());
        trace.state_changes = changes;
        self.history.push(Message::user(text));
        self.history.push(Message::assistant(answer.clone()));
        let keep = inner.config.history_messages;
        if self.history.len() > keep {
            self.history.drain(..self.history.len() - keep);
        }
        send(
            &tx,
            Event::Candidates {
                items: items.clone(),
            },
        );
        send(
            &tx,
            Event::Answer(Box::new(Turn {
                answer,
                items,
                trace,
                plan: machine.plan().cloned(),
                pool: bus.pool.clone(),
            })),
        );
    }
}

/// A genre as a word before "films": "animated", "crime", "sci-fi".
fn genre_word(g: &str) -> String {
    match recagent_core::genre_key(g).as_str() {
        "animation" => "animated".into(),
        "children's" | "childrens" => "children's".into(),
        "documentary" => "documentary".into(),
        other => other.to_owned(),
    }
}

/// A preferred genre as the mood it was likely asked as: "funny".
fn mood_word(g: &str) -> String {
    match recagent_core::genre_key(g).as_str() {
        "comedy" => "funny".into(),
        "horror" => "scary".into(),
        "romance" => "romantic".into(),
        "thriller" => "suspenseful".into(),
        "action" => "action-packed".into(),
        _ => genre_word(g),
    }
}

/// The sentence that says what the list is: "Here are 10 crime films from
/// 1980 on, like The Godfather:". A request the list had to be relaxed
/// for is described by the relaxation notes instead of its constraints.
/// `exact` is how many of the `n` items fit before anything was loosened.
pub fn opening(request: &Plan, relaxed: &[String], n: usize, exact: usize, cold: bool) -> String {
    let count = if n == 1 {
        "is one".to_owned()
    } else {
        format!("are {n}")
    };
    if !relaxed.is_empty() {
        return match exact {
            0 => format!("Nothing fit every part of that; here {count} that come close:"),
            1 => format!("Here {count}: the first fits exactly, the rest come close:"),
            e => format!("Here {count}: the first {e} fit exactly, the rest come close:"),
        };
    }
    let mut what = String::new();
    if !request.genres.is_empty() {
        let g: Vec<String> = request.genres.iter().map(|g| genre_word(g)).collect();
        what.push_str(&g.join(" "));
        what.push(' ');
    }
    what.push_str(if n == 1 { "film" } else { "films" });
    if request.genres.is_empty() && !request.prefer_genres.is_empty() {
        let g: Vec<String> = request
            .prefer_genres
            .iter()
            .map(|g| genre_word(g))
            .collect();
        what = format!("{} {what}", g.join(" or "));
    }
    let mut tail: Vec<String> = Vec::new();
    match (request.year_min, request.year_max) {
        (Some(a), Some(b)) if a == b => tail.push(format!("from {a}")),
        (Some(a), Some(b)) if a % 10 == 0 && b == a + 9 => tail.push(format!("from the {a}s")),
        (Some(a), Some(b)) => tail.push(format!("from {a} to {b}")),
        (Some(a), None) => tail.push(format!("from {a} on")),
        (None, Some(b)) => tail.push(format!("up to {b}")),
        (None, None) => {}
    }
    if !request.avoid_genres.is_empty() {
        let g: Vec<String> = request.avoid_genres.iter().map(|g| genre_word(g)).collect();
        tail.push(format!("with no {}", g.join(" or ")));
    }
    let mut line = format!("Here {count} {what}");
    if !tail.is_empty() {
        line.push(' ');
        line.push_str(&tail.join(" "));
    }
    if !request.genres.is_empty() && !request.prefer_genres.is_empty() {
        let g: Vec<String> = request.prefer_genres.iter().map(|g| mood_word(g)).collect();
        line.push_str(&format!(", {} ones first", g.join(" or ")));
    }
    if !request.liked_titles.is_empty() {
        let t: Vec<String> = request
            .liked_titles
            .iter()
            .map(|t| recagent_core::display_title(t))
            .collect();
        let sep = if tail.is_empty() && request.prefer_genres.is_empty() {
            " "
        } else {
            ", "
        };
        line.push_str(&format!("{sep}like {}", t.join(" and ")));
    } else if cold {
        line.push_str(" that many people liked");
    } else if request.genres.is_empty()
        && request.prefer_genres.is_empty()
        && request.intent.trim().is_empty()
    {
        line.push_str(" picked for you from what you watched");
    }
    line.push(':');
    line
}

/// What a model's plan is checked against: the catalog's genres and
/// titles.
#[derive(Debug)]
struct KnownCatalog(Arc<Inner>);

impl Known for KnownCatalog {
    fn genre(&self, name: &str) -> bool {
        self.0.vocab.canonical(name).is_some()
    }
    fn title(&self, title: &str) -> bool {
        self.0.resolve_title(title).ok().flatten().is_some()
    }
}

fn item_lines(items: &[Recommendation]) -> Vec<ItemLine> {
    items
        .iter()
        .map(|r| ItemLine {
            title: fence(&r.title, 120),
            year: r.year,
            reason: r.reason.clone(),
        })
        .collect()
}

fn filter_words(f: &recagent_core::Filter) -> Vec<String> {
    let mut out = Vec::new();
    if !f.genres_any.is_empty() {
        out.push(f.genres_any.join(" or "));
    }
    match (f.year_min, f.year_max) {
        (Some(a), Some(b)) if a == b => out.push(format!("{a}")),
        (Some(a), Some(b)) => out.push(format!("{a}–{b}")),
        (Some(a), None) => out.push(format!("from {a}")),
        (None, Some(b)) => out.push(format!("up to {b}")),
        (None, None) => {}
    }
    if !f.genres_none.is_empty() {
        out.push(format!("no {}", f.genres_none.join(", no ")));
    }
    out
}

/// One model call, streamed: answer text goes out as it comes.
async fn call_model(
    model: &dyn recagent_llm::ChatModel,
    purpose: Purpose,
    request: ChatRequest,
    tx: &UnboundedSender<Event>,
    trace: &mut TurnTrace,
) -> Result<ChatResponse, String> {
    let t = Instant::now();
    let mut out = ChatResponse::default();
    let mut error = None;
    let mut events = model.chat(request);
    while let Some(e) = events.next().await {
        match e {
            Ok(ChatEvent::TextDelta { text }) => {
                if purpose == Purpose::Answer {
                    send(tx, Event::TextDelta { text: text.clone() });
                }
                out.text.push_str(&text);
            }
            Ok(ChatEvent::ToolCall { call }) => out.tool_calls.push(call),
            Ok(ChatEvent::Usage { usage }) => out.usage = usage,
            Ok(ChatEvent::Timings { timings }) => out.timings = timings,
            Ok(ChatEvent::Done { finish_reason }) => out.finish_reason = finish_reason,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let total_ms = t.elapsed().as_secs_f64() * 1e3;
    trace.model_calls.push(ModelTrace {
        purpose: purpose.name().into(),
        prompt_tokens: out.usage.prompt_tokens,
        completion_tokens: out.usage.completion_tokens,
        cached_prompt_tokens: out.timings.cached_prompt_tokens,
        first_token_ms: out.timings.first_token_ms,
        total_ms: if out.timings.total_ms > 0.0 {
            out.timings.total_ms
        } else {
            total_ms
        },
        error: error.clone(),
    });
    match error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
