//! The async driver: a session with one user, turn by turn.
//!
//! [`Session::send`] runs a turn's [`TurnMachine`] to its end, doing the
//! model calls, tool calls and title linking it asks for, and streams
//! [`Event`]s as they happen. Every decision (the plan, the state update,
//! the final rank, relaxation, grounding) is the machine's; this file does
//! the IO and writes the answer from the machine's [`Outcome`]. The last
//! event of every turn is [`Event::Answer`], grounded in the ranked list:
//! an answer that names an item off the list is replaced by one written
//! from the list, and the repair is counted in the trace.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::stream::BoxStream;
use recagent_core::fsx::micros_since;
use recagent_core::{ItemId, UserId};
use recagent_llm::{ChatEvent, ChatRequest, ChatResponse, Message};
use recagent_memory::{ItemFeedback, Profile};
use recagent_reading::{Context, Plan, Reading, Social, rules};
use serde::Serialize;
use serde_json::Value;

use crate::bus::Bus;
use crate::controller::{ModelError, Purpose, ToolMessage, TurnSetup};
use crate::plan::PlanContext;
use crate::prompts::{ReplyContext, RequestContext, SystemContext, fence};
use crate::recall::Links;
use crate::reply::{answer, asked_despite_never, filter_words, item_lines, social_answer};
use crate::state::DialogueState;
use crate::tools::{self, Ctx, RankCandidates, Tool};
use crate::trace::{ModelTrace, TurnTrace};
use crate::turn::{Input, Outcome, Step, ToolRun, TurnMachine};
use crate::{Controller, Error, Inner, Recommendation, Result};
use recagent_reading::check::Known;

/// What a turn reports, in order. The last event is always `Answer`.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turn {
    pub answer: String,
    pub items: Vec<Recommendation>,
    pub trace: TurnTrace,
    /// The plan that was executed (rules and plan first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The ranked pool whose head is `items`: up to 50 items, best first,
    /// for Recall@50 in evaluation. Written as `pool_ids` holds them.
    #[serde(skip)]
    pub pool: Vec<ItemId>,
    /// `pool` with the catalog's own ids, written as `pool`.
    #[serde(rename = "pool", skip_serializing_if = "Vec::is_empty")]
    pub pool_ids: Vec<String>,
}

/// What one tool run outside a turn ([`Session::call_tool`]) returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolReply {
    /// Whether the tool did its job; when not, `summary` says why (bad
    /// arguments, an unknown title, nothing matches) in words a caller can
    /// act on.
    pub ok: bool,
    /// One line, as the turn's trace has it.
    pub summary: String,
    /// The tool's JSON result (`{"ok": false, "error"}` when it failed). A
    /// recall tool's result also lists its best candidates as `items`, in
    /// the one item shape (id, title, year, genres, score).
    pub content: Value,
}

/// How many recalled candidates a recall tool run outside a turn lists.
const CALL_TOOL_ITEMS: usize = 10;

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

    /// Runs the registry's tool `name` once, outside a turn, as a host
    /// that calls tools itself does (an MCP client): with this user's
    /// profile, their ranker history, and the items this conversation set
    /// aside, on a bus of its own. The conversation's state does not
    /// change; a memory tool changes the profile, which the next turn
    /// reads.
    ///
    /// A tool's failure (arguments that do not parse, an unknown title,
    /// nothing left) is a reply with `ok: false`; only a name that no tool
    /// has ([`Error::UnknownTool`]) or a profile that cannot be read is an
    /// error.
    pub async fn call_tool(&mut self, name: &str, args: Value) -> Result<ToolReply> {
        let inner = Arc::clone(&self.inner);
        let names = inner.tools.names();
        if !names.contains(&name) {
            return Err(Error::UnknownTool {
                name: name.to_owned(),
                tools: names.join(", "),
            });
        }
        let mut profile = inner.memory.profile(&self.user)?;
        // The same history a turn's tools rank from: the catalog's
        // positives, then the profile's likes.
        let mut history = self.ranker_history();
        for i in &profile.liked {
            if !history.contains(i) {
                history.push(*i);
            }
        }
        let mut excluded = self.state.never_again();
        excluded.extend(self.log_rated());
        let mut bus = Bus::default();
        let call = recagent_llm::ToolCall {
            id: format!("host-{name}"),
            name: name.to_owned(),
            arguments: args,
        };
        let mut ctx = Ctx {
            inner: &inner,
            user: &self.user,
            catalog_user: self.catalog_user,
            profile: &mut profile,
            history,
            session_excluded: &excluded,
            bus: &mut bus,
        };
        let (result, trace) = inner.tools.dispatch(&mut ctx, &call).await;
        let mut content = tools::result_content(&result);
        // No rank follows a call outside a turn: the candidates a recall
        // tool brought are its answer, so they are listed, and the hint to
        // rank them (written for the turn's model) goes.
        if result.is_ok()
            && !bus.candidates.is_empty()
            && let Some(obj) = content.as_object_mut()
        {
            obj.remove("next");
            let items: Vec<recagent_core::ItemJson> = bus
                .candidates
                .iter()
                .take(CALL_TOOL_ITEMS)
                .filter_map(|s| {
                    let it = inner.catalog.item(s.item)?;
                    Some(recagent_core::ItemJson::of(it).with_score(s.score))
                })
                .collect();
            obj.insert(
                "items".into(),
                serde_json::to_value(items).unwrap_or_default(),
            );
        }
        Ok(ToolReply {
            ok: trace.ok,
            summary: trace.summary,
            content,
        })
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

    /// Runs one turn: the [`TurnMachine`] decides, this does the IO it
    /// asks for (model calls, tool calls, title linking, memory).
    async fn drive(&mut self, text: &str, tx: UnboundedSender<Event>) {
        let started = Instant::now();
        let inner = Arc::clone(&self.inner);
        let mut profile = match inner.memory.profile(&self.user) {
            Ok(p) => p,
            Err(e) => {
                report(&tx, e.to_string());
                Profile::default()
            }
        };
        let text: String = text.chars().take(2000).collect();
        let setup = self.turn_setup(&text, &profile, &tx);
        let mut machine = TurnMachine::new(setup, Arc::clone(&inner.prompts));
        let mut io = TurnIo {
            trace: TurnTrace {
                controller: inner.controller.name(),
                strategy: match &inner.controller {
                    Controller::Rules => "rules".into(),
                    Controller::Model { strategy, .. } => strategy.name().into(),
                },
                ..TurnTrace::default()
            },
            history: self.ranker_history(),
            tool_errors: 0,
        };
        let mut input = Input::Start;
        let outcome = loop {
            input = match machine.next_step(input) {
                Step::Done(outcome) => break outcome,
                Step::CallModel { purpose, request } => Input::Model(match &inner.controller {
                    Controller::Model { model, .. } => {
                        call_model(model.as_ref(), purpose, request, &tx, &mut io.trace).await
                    }
                    Controller::Rules => Err(ModelError::Endpoint("no model".into())),
                }),
                Step::CallTools(run) => self.run_tools(run, &mut profile, &mut io, &tx).await,
                Step::Ground { text } => Input::Named {
                    named: rules::named_items(&text, &Links(inner.recall.as_ref()), &inner.vocab),
                    liked: profile.liked.clone(),
                },
            };
        };
        self.finish(&text, *outcome, &mut profile, io, started, &tx);
    }

    /// What the turn starts from: the rules parse of `text` as a draft,
    /// the conversation so far, and the prompts, rendered.
    fn turn_setup(&self, text: &str, profile: &Profile, tx: &UnboundedSender<Event>) -> TurnSetup {
        let inner = &self.inner;
        let Reading {
            draft,
            cues,
            social,
            unknown_title: unknown,
        } = self.read(text);
        let plan_context = PlanContext {
            last_shown: self
                .state
                .last_list
                .iter()
                .map(|i| self.title(*i))
                .collect(),
            state: self.state.clone(),
            cues,
        };
        // A template that fails to render leaves empty prompts (the model
        // then fails and the rules stand in); the error is reported.
        let [
            plan_system,
            step_system,
            plan_request,
            step_request,
            describe_system,
        ] = self
            .render_prompts(text, &draft, &plan_context.last_shown, profile)
            .unwrap_or_else(|e| report_default(tx, e));
        let mut social_reply = social.map(|s| self.social_reply(s, profile));
        // The rules know no film outside the catalog: where the film is all
        // the request says, a list would follow nothing, so they ask, as
        // does a model not asked to describe it. A model that describes
        // the film lists from the description (its plan has the rest).
        let rules_controller = matches!(inner.controller, Controller::Rules);
        let describes = !rules_controller && inner.config.describe_unknown;
        if social_reply.is_none()
            && !describes
            && let Some(t) = &unknown
            && asks_only_for(&draft, t)
        {
            social_reply = Some(crate::reply::unknown_film_question(t));
        }
        // A model is asked to describe the film; the plan follows that.
        let unknown_film = unknown
            .clone()
            .filter(|_| social_reply.is_none() && describes);
        let mut notes: Vec<String> = unknown
            .filter(|_| social_reply.is_none())
            .map(|t| crate::reply::unknown_title_note(&t))
            .into_iter()
            .collect();
        // "A scary movie" from one who said "never horror": the words now
        // win, and the answer says how to make that last.
        let asked = asked_though_avoided(&draft, profile, &plan_context.cues);
        if !asked.is_empty() {
            notes.push(asked_despite_never(&asked));
        }
        TurnSetup {
            user_text: text.to_owned(),
            mode: inner.controller.mode(),
            history: self.history.clone(),
            draft,
            plan_context,
            known: Arc::new(KnownCatalog(Arc::clone(inner))),
            plan_system,
            step_system,
            plan_request,
            step_request,
            tools: inner.tools.specs(),
            max_steps: inner.config.max_steps,
            model_answer: inner.config.model_answer,
            options: inner.config.options.clone(),
            social_reply,
            notes,
            unknown_film,
            describe_system,
        }
    }

    /// The user's words read once, with what the conversation so far
    /// tells the reading (the last list's length and years).
    fn read(&self, text: &str) -> Reading {
        let inner = &self.inner;
        let last_years: Vec<u16> = self
            .state
            .last_list
            .iter()
            .filter_map(|i| inner.catalog.item(*i).and_then(|it| it.year))
            .collect();
        recagent_reading::read(
            text,
            &inner.vocab,
            &Links(inner.recall.as_ref()),
            Context {
                last_len: self.state.last_list.len(),
                last_years: &last_years,
            },
        )
    }

    fn social_reply(&self, social: Social, profile: &Profile) -> String {
        social_answer(
            social,
            !self.state.last_list.is_empty(),
            profile,
            &self.inner.catalog,
        )
    }

    /// The system prompts and requests of both strategies: plan first's
    /// (with the draft) and step by step's.
    fn render_prompts(
        &self,
        text: &str,
        draft: &Plan,
        last_shown: &[String],
        profile: &Profile,
    ) -> Result<[String; 5]> {
        let inner = &self.inner;
        let system = SystemContext {
            catalog: inner.catalog.name().to_owned(),
            genres: inner.vocab.genres().to_vec(),
        };
        let lines = self.profile_lines(profile);
        // Titles are item text: fenced like every other piece of it.
        let shown: Vec<String> = last_shown.iter().map(|t| fence(t, 120)).collect();
        let request = |draft: Option<String>| RequestContext {
            last_shown: shown.clone(),
            profile: lines.clone(),
            draft,
            text: text.to_owned(),
        };
        let p = &inner.prompts;
        Ok([
            p.render("plan.j2", &system)?,
            p.render("system.j2", &system)?,
            p.render(
                "request.j2",
                &request(Some(serde_json::to_string(draft).unwrap_or_default())),
            )?,
            p.render("request.j2", &request(None))?,
            p.render("describe.j2", &system)?,
        ])
    }

    /// The positives the ranker starts from: the log given for an
    /// evaluation, or the catalog user's.
    fn ranker_history(&self) -> Vec<ItemId> {
        match &self.ranker_log {
            Some(log) => log.clone(),
            None => self
                .catalog_user
                .and_then(|u| self.inner.histories.get(u.index()))
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// The catalog user's rated films, which no list offers back; none for
    /// an evaluation's session, whose profile holds its own history.
    fn log_rated(&self) -> &[ItemId] {
        match (&self.ranker_log, self.catalog_user) {
            (None, Some(u)) => self.inner.rated.get(u.index()).map_or(&[], Vec::as_slice),
            _ => &[],
        }
    }

    /// Runs a [`ToolRun`] on the bus it lends. The conversation's calls
    /// are shown as events and answered to the controller; a quiet run is
    /// only traced.
    async fn run_tools(
        &self,
        run: ToolRun,
        profile: &mut Profile,
        io: &mut TurnIo,
        tx: &UnboundedSender<Event>,
    ) -> Input {
        let inner = &self.inner;
        let mut bus = run.bus;
        let mut results = Vec::new();
        let exclude: Vec<ItemId> = run
            .exclude
            .iter()
            .chain(self.log_rated())
            .copied()
            .collect();
        for call in run.calls {
            if !run.quiet {
                send(tx, Event::ToolCall { call: call.clone() });
                // Items liked so far in this turn join the ranker's history.
                for i in &profile.liked {
                    if !io.history.contains(i) {
                        io.history.push(*i);
                    }
                }
            }
            let mut ctx = Ctx {
                inner,
                user: &self.user,
                catalog_user: self.catalog_user,
                profile: &mut *profile,
                history: io.history.clone(),
                session_excluded: &exclude,
                bus: &mut bus,
            };
            let (result, tt) = inner.tools.dispatch(&mut ctx, &call).await;
            io.trace.tools_micros += tt.micros;
            if run.quiet {
                io.trace.tool_calls.push(tt);
                continue;
            }
            let ranked = (call.name == RankCandidates::NAME && result.is_ok())
                .then(|| item_lines(&tools::recommendations(&ctx)));
            // Tool errors go to the model and the trace, never to the user.
            if result.is_err() {
                io.tool_errors += 1;
            }
            send(
                tx,
                Event::ToolResult {
                    name: tt.name.clone(),
                    ok: tt.ok,
                    summary: tt.summary.clone(),
                },
            );
            io.trace.tool_calls.push(tt);
            results.push(ToolMessage {
                content: tools::result_content(&result),
                call,
                ranked,
            });
        }
        Input::Tools { results, bus }
    }

    /// Writes the answer from the outcome, keeps the conversation for the
    /// next turn, and sends the turn's last events.
    fn finish(
        &mut self,
        text: &str,
        mut outcome: Outcome,
        profile: &mut Profile,
        io: TurnIo,
        started: Instant,
        tx: &UnboundedSender<Event>,
    ) {
        if let Some(e) = outcome.error.take() {
            report(tx, e);
        }
        let inner = Arc::clone(&self.inner);
        let ctx = Ctx {
            inner: &inner,
            user: &self.user,
            catalog_user: self.catalog_user,
            profile,
            history: io.history,
            session_excluded: &[],
            bus: &mut outcome.bus,
        };
        let items = tools::recommendations(&ctx);
        drop(ctx);
        if items.is_empty() && io.tool_errors > 0 {
            tracing::debug!(
                tool_errors = io.tool_errors,
                "the turn's tools failed; the user was asked instead"
            );
        }
        let answer = self.reply(&outcome, &items);
        let mut trace = io.trace;
        trace.repairs = outcome.repairs;
        trace.plan_corrected = outcome.plan_corrected;
        trace.plan_replaced = outcome.plan_replaced;
        trace.relaxed = outcome.relaxed;
        trace.model_failures = outcome.model_failures;
        trace.fallback = outcome.fallback;
        trace.stages = outcome.bus.stages.clone();
        trace.ranker_history = outcome.bus.ranker_history.iter().copied().collect();
        trace.ranker_history_ids = inner.catalog_ids(&trace.ranker_history);
        trace.total_micros = micros_since(started);
        self.keep(outcome.state, tx);
        trace.state = Some(self.state.with_catalog_ids(&inner.catalog));
        trace.state_changes = outcome.changes;
        self.history.push(Message::user(text));
        self.history.push(Message::assistant(answer.clone()));
        let keep = inner.config.history_messages;
        if self.history.len() > keep {
            self.history.drain(..self.history.len() - keep);
        }
        send(
            tx,
            Event::Candidates {
                items: items.clone(),
            },
        );
        send(
            tx,
            Event::Answer(Box::new(Turn {
                answer,
                items,
                trace,
                plan: outcome.plan,
                pool_ids: inner.catalog_ids(&outcome.bus.pool),
                pool: outcome.bus.pool,
            })),
        );
    }

    /// The answer: the model's grounded words or the template's opening,
    /// then the list and the notes.
    fn reply(&self, outcome: &Outcome, items: &[Recommendation]) -> String {
        let context = ReplyContext {
            intro: outcome.intro.clone(),
            items: item_lines(items),
            seeds: outcome
                .bus
                .seeds
                .iter()
                .map(|s| recagent_core::display_title(&self.title(*s)))
                .collect(),
            filters: filter_words(&outcome.bus.filter),
            opening: outcome.opening.clone(),
            notes: outcome.notes.clone(),
        };
        answer(&self.inner.prompts, &context)
    }

    /// The conversation for the next turn, in this process and the next.
    fn keep(&mut self, state: DialogueState, tx: &UnboundedSender<Event>) {
        self.state = state;
        match serde_json::to_string(&self.state) {
            Ok(json) => {
                if let Err(e) = self.inner.memory.save_conversation(&self.user, &json) {
                    report(tx, format!("the conversation could not be saved: {e}"));
                }
            }
            Err(e) => tracing::warn!("the conversation state does not serialise: {e}"),
        }
    }
}

/// The genres `draft` asks for that the profile never wants, unless the
/// words allow them again ("horror is fine").
fn asked_though_avoided(
    draft: &Plan,
    profile: &Profile,
    cues: &recagent_reading::Cues,
) -> Vec<String> {
    let key = |g: &String| recagent_core::genre_key(g);
    draft
        .want
        .genres
        .iter()
        .chain(&draft.want.prefer_genres)
        .filter(|g| profile.avoided_genres.iter().any(|a| key(a) == key(g)))
        .filter(|g| !cues.allow_genres.iter().any(|a| key(a) == key(g)))
        .cloned()
        .collect()
}

/// `T`'s default, with `e` reported as an event.
fn report_default<T: Default>(tx: &UnboundedSender<Event>, e: Error) -> T {
    report(tx, e.to_string());
    T::default()
}

/// What the driver keeps while a turn runs: the trace, the ranker's
/// history, and the count of failed tools.
#[derive(Debug)]
struct TurnIo {
    trace: TurnTrace,
    /// The catalog's positives for the user, then the profile's likes.
    history: Vec<ItemId>,
    tool_errors: usize,
}

/// Something outside the model's reach failed; the turn goes on.
fn report(tx: &UnboundedSender<Event>, message: String) {
    send(tx, Event::Error { message });
}

/// Whether a request says nothing beyond a film the catalog lacks ("what
/// about something like Inception?"): no genre, year, person or title,
/// and no search word outside the film's name.
fn asks_only_for(draft: &Plan, film: &str) -> bool {
    let film_words = recagent_core::words(film);
    draft.want.genres.is_empty()
        && draft.want.prefer_genres.is_empty()
        && draft.want.people.is_empty()
        && draft.want.year_min.is_none()
        && draft.want.year_max.is_none()
        && draft.liked_titles.is_empty()
        && recagent_core::words(&draft.intent).iter().all(|w| {
            film_words.contains(w)
                || ["like", "similar", "about", "what", "how"].contains(&w.as_str())
        })
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
    fn person(&self, name: &str) -> bool {
        self.0.vocab.people().canonical(name).is_some()
    }
    fn genre_name(&self, name: &str) -> Option<String> {
        self.0.vocab.canonical(name)
    }
    fn genre_list(&self) -> Vec<String> {
        self.0.vocab.genres().to_vec()
    }
}

/// One model call, streamed: answer text goes out as it comes.
async fn call_model(
    model: &dyn recagent_llm::ChatModel,
    purpose: Purpose,
    request: ChatRequest,
    tx: &UnboundedSender<Event>,
    trace: &mut TurnTrace,
) -> Result<ChatResponse, ModelError> {
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
            Err(e @ recagent_llm::Error::BadToolArguments { .. }) => {
                error = Some(ModelError::Fault(e.to_string()));
                break;
            }
            Err(e) => {
                error = Some(ModelError::Endpoint(e.to_string()));
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
        error: error.as_ref().map(ToString::to_string),
    });
    match error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
