//! The LLM-voiced simulator: the rules agenda decides what the user does,
//! a model only phrases it.
//!
//! After the agenda-based design of UserSimCRS and SimpleUserSim's finding
//! that a small model is a reliable simulator only when each call has one
//! narrow job:
//! * [`RuleSimulator::next_act`] decides each turn: which true attribute of
//!   the target to reveal, and what of the last list to object to.
//! * The model writes that act as a person would, with its own prompt per
//!   kind of act (`prompts/sim_open.j2`, `sim_answer.j2`, `sim_react.j2`
//!   under the shared `sim_voice.j2`). It sees the act's facts only: the
//!   target's attributes and titles from the user's own history, never the
//!   target's title or the list.
//! * What it wrote is read back by [`read_facts`] and checked against the
//!   act: a draft that drops the new fact or adds one (another genre, a
//!   year, a negation, a title) is written again with the problem named,
//!   at most [`REVOICE`] times; then the rules template says it.
//!
//! [`read_facts`] is a word reader of its own, not the agent's parse: the
//! check must not keep only what the agent under test already reads well,
//! or the evaluation would measure the parser against itself.

use std::sync::Arc;

use futures::future::BoxFuture;
use minijinja::{Environment, UndefinedBehavior};
use recagent_core::text::{genre_key, words};
use recagent_core::{Item, ItemId};
use recagent_llm::{ChatModel, ChatOptions, ChatRequest, Message, ToolChoice};
use serde::{Deserialize, Serialize};

use crate::rules::{Act, ActKind, RuleSimulator};
use crate::{Error, Result, Simulator, Statement};

const SYSTEM: &str = include_str!("../../../prompts/sim_voice.j2");
const OPEN: &str = include_str!("../../../prompts/sim_open.j2");
const ANSWER: &str = include_str!("../../../prompts/sim_answer.j2");
const REACT: &str = include_str!("../../../prompts/sim_react.j2");

/// Tokens one utterance may take.
pub const VOICE_TOKENS: u32 = 48;
/// Drafts written again after the first, before the template speaks.
pub const REVOICE: usize = 2;

/// How often the model's words needed help, over an episode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceStats {
    /// Utterances spoken.
    pub utterances: usize,
    /// Utterances whose first draft dropped or added a fact.
    pub regenerated: usize,
    /// Utterances the template said after every draft failed the check.
    pub templated: usize,
}

/// What a text says, as [`read_facts`] reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// Genres asked for (catalog names).
    pub genres: Vec<String>,
    /// Genres said with a negation ("no horror").
    pub negated: Vec<String>,
    /// Decades named ("the 90s", "1990s", "nineties").
    pub decades: Vec<u16>,
    /// Single years named ("1995").
    pub years: Vec<u16>,
    /// History titles named.
    pub titles: Vec<ItemId>,
    /// Decades said with a negation ("not from the 90s").
    pub negated_decades: Vec<u16>,
    /// Words no person asking for a film writes ("assist", "recommender",
    /// "facts"): the model talked about its task or refused it.
    pub meta: Vec<String>,
    /// Whether the text turns the last list down ("none", "else", "nope").
    pub rejects: bool,
}

impl Reading {
    /// The reading as statements about the wanted film.
    pub fn statements(&self) -> Vec<Statement> {
        let mut out: Vec<Statement> = Vec::new();
        out.extend(
            self.genres
                .iter()
                .map(|g| Statement::Genre { genre: g.clone() }),
        );
        out.extend(
            self.negated
                .iter()
                .map(|g| Statement::NotGenre { genre: g.clone() }),
        );
        out.extend(self.decades.iter().map(|&d| Statement::Decade { start: d }));
        out.extend(self.years.iter().map(|&y| Statement::Years {
            min: Some(y),
            max: Some(y),
        }));
        out.extend(
            self.titles
                .iter()
                .map(|&item| Statement::LikeTitle { item }),
        );
        out
    }
}

/// Words that say a genre, by genre key; a genre not listed is said by its
/// own words. Multi-word cues are word sequences.
const CUES: &[(&str, &[&str])] = &[
    ("action", &["action"]),
    ("adventure", &["adventure", "adventures", "adventurous"]),
    (
        "animation",
        &["animated", "animation", "cartoon", "cartoons"],
    ),
    (
        "children's",
        &["kids", "kid", "children", "childrens", "family"],
    ),
    (
        "comedy",
        &["comedy", "comedies", "funny", "comedic", "hilarious"],
    ),
    (
        "crime",
        &["crime", "gangster", "gangsters", "heist", "mob", "mafia"],
    ),
    ("documentary", &["documentary", "documentaries"]),
    ("drama", &["drama", "dramas", "dramatic"]),
    ("fantasy", &["fantasy", "magical"]),
    ("film-noir", &["noir"]),
    ("horror", &["horror", "scary"]),
    ("musical", &["musical", "musicals"]),
    ("mystery", &["mystery", "mysteries", "whodunit"]),
    (
        "romance",
        &["romance", "romantic", "romances", "love story"],
    ),
    (
        "sci-fi",
        &["sci fi", "scifi", "science fiction", "futuristic"],
    ),
    (
        "thriller",
        &[
            "thriller",
            "thrillers",
            "thrilling",
            "suspense",
            "suspenseful",
        ],
    ),
    ("war", &["war"]),
    ("western", &["western", "westerns", "cowboy", "cowboys"]),
];

/// Words that negate a genre cue within the three words before it.
const NEGATORS: &[&str] = &[
    "no", "not", "nothing", "without", "dont", "never", "isnt", "avoid", "hate", "except",
];

/// Words of a model talking about its task instead of doing it.
const META: &[&str] = &[
    "assist",
    "sorry",
    "recommender",
    "fact",
    "facts",
    "instructions",
    "message",
];

/// Words that turn a list down.
const REJECTS: &[&str] = &[
    "none",
    "else",
    "nope",
    "no",
    "not",
    "other",
    "another",
    "different",
    "instead",
    "those",
    "these",
];

const DECADE_WORDS: &[(&str, u16)] = &[
    ("twenties", 1920),
    ("thirties", 1930),
    ("forties", 1940),
    ("fifties", 1950),
    ("sixties", 1960),
    ("seventies", 1970),
    ("eighties", 1980),
    ("nineties", 1990),
];

/// How a person says a genre, for the prompts.
fn genre_phrase(genre: &str) -> String {
    match genre_key(genre).as_str() {
        "animation" => "animated".into(),
        "children's" => "for kids".into(),
        "film-noir" => "film noir".into(),
        "sci-fi" => "sci-fi".into(),
        k => k.to_owned(),
    }
}

/// A fact as the prompts say it.
fn fact_phrase(s: &Statement, titles: &[(ItemId, String)]) -> String {
    match s {
        Statement::Genre { genre } => genre_phrase(genre),
        Statement::NotGenre { genre } => format!("not {}", genre_phrase(genre)),
        Statement::Decade { start } => format!("from the {start}s"),
        Statement::Years { min, max } => match (min, max) {
            (Some(a), Some(b)) if a == b => format!("from {a}"),
            (Some(a), _) => format!("from {a} on"),
            (None, Some(b)) => format!("up to {b}"),
            (None, None) => String::new(),
        },
        Statement::LikeTitle { item } => titles
            .iter()
            .find(|(id, _)| id == item)
            .map(|(_, t)| format!("similar to {t}"))
            .unwrap_or_default(),
        Statement::Person {
            name,
            directed: true,
        } => format!("directed by {name}"),
        Statement::Person { name, .. } => format!("with {name}"),
        Statement::Theme { keyword } => format!("about {keyword}"),
    }
}

/// Reads genres (with negation), decades, years and history titles in
/// `text`, by words alone. `genres` are the catalog's genre names.
pub fn read_facts(text: &str, genres: &[String], titles: &[(ItemId, String)]) -> Reading {
    let mut reading = Reading::default();
    let mut w = words(text);
    // Titles first, and their words out of the way: "Die Hard" is no
    // statement about genres.
    for (id, title) in titles {
        let tw = words(title);
        if tw.is_empty() {
            continue;
        }
        if let Some(at) = w.windows(tw.len()).position(|x| x == tw.as_slice()) {
            reading.titles.push(*id);
            w.drain(at..at + tw.len());
        }
    }
    for genre in genres {
        let key = genre_key(genre);
        let own = [key.as_str()];
        let cues: &[&str] = CUES
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(&own, |(_, c)| c);
        for cue in cues {
            let cw = words(cue);
            if cw.is_empty() {
                continue;
            }
            for at in 0..w.len().saturating_sub(cw.len() - 1) {
                if w[at..at + cw.len()] != cw[..] {
                    continue;
                }
                let negated = w[at.saturating_sub(3)..at]
                    .iter()
                    .any(|x| NEGATORS.contains(&x.as_str()));
                let list = if negated {
                    &mut reading.negated
                } else {
                    &mut reading.genres
                };
                if !list.contains(genre) {
                    list.push(genre.clone());
                }
            }
        }
    }
    reading.meta = w
        .iter()
        .filter(|x| META.contains(&x.as_str()))
        .cloned()
        .collect();
    reading.rejects = w.iter().any(|x| REJECTS.contains(&x.as_str()));
    for (at, x) in w.iter().enumerate() {
        let negated = w[at.saturating_sub(3)..at]
            .iter()
            .any(|x| NEGATORS.contains(&x.as_str()));
        let decades = if negated {
            &mut reading.negated_decades
        } else {
            &mut reading.decades
        };
        if let Some((_, d)) = DECADE_WORDS.iter().find(|(name, _)| name == x) {
            decades.push(*d);
            continue;
        }
        let Some(digits) = x.strip_suffix('s') else {
            if x.len() == 4
                && let Ok(y) = x.parse::<u16>()
                && (1900..2030).contains(&y)
            {
                reading.years.push(y);
            }
            continue;
        };
        let Ok(n) = digits.parse::<u16>() else {
            continue;
        };
        let decade = match digits.len() {
            2 if n % 10 == 0 => Some(if n >= 20 { 1900 + n } else { 2000 + n }),
            4 if n % 10 == 0 && (1900..2030).contains(&n) => Some(n),
            _ => None,
        };
        if let Some(d) = decade {
            decades.push(d);
        }
    }
    reading.decades.dedup();
    reading
}

/// What is wrong with a draft for `act`: facts it dropped, facts it added,
/// and anything else that is not a person's message for the act.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub dropped: Vec<Statement>,
    pub added: Vec<Statement>,
    pub other: Vec<String>,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.dropped.is_empty() && self.added.is_empty() && self.other.is_empty()
    }
}

/// Checks a reading against the act: the new fact must be said; nothing
/// may be said that the user has not said (or says now).
pub fn check(act: &Act, reading: &Reading) -> Verdict {
    let said = reading.statements();
    let allowed = |s: &Statement| match s {
        Statement::Genre { .. }
        | Statement::Decade { .. }
        | Statement::LikeTitle { .. }
        | Statement::Person { .. }
        | Statement::Theme { .. } => act.said.contains(s),
        _ => false,
    };
    let mut other: Vec<String> = reading
        .negated_decades
        .iter()
        .map(|d| format!("it said the film is not from the {d}s"))
        .collect();
    if !reading.meta.is_empty() {
        other.push(format!(
            "it talked about the task ({}) instead of asking for a film",
            reading.meta.join(", ")
        ));
    }
    if act.kind == ActKind::React && act.new.is_none() && act.reason.is_none() && !reading.rejects {
        other.push("it did not turn the list down".into());
    }
    Verdict {
        dropped: act
            .new
            .iter()
            .filter(|n| !said.contains(n))
            .cloned()
            .collect(),
        added: said.into_iter().filter(|s| !allowed(s)).collect(),
        other,
    }
}

/// The rendered few-shot prompt as chat messages: `USER:` lines are the
/// facts given (user turns), `YOU:` lines the messages written (assistant
/// turns); a line with neither continues the one before.
fn conversation(system: &str, rendered: &str) -> Vec<Message> {
    let mut out = vec![Message::system(system.to_owned())];
    for line in rendered.lines() {
        if let Some(t) = line.strip_prefix("USER:") {
            out.push(Message::user(t.trim().to_owned()));
        } else if let Some(t) = line.strip_prefix("YOU:") {
            out.push(Message::assistant(t.trim().to_owned()));
        } else if !line.trim().is_empty()
            && out.len() > 1
            && let Some(last) = out.last_mut()
        {
            last.content.push(' ');
            last.content.push_str(line.trim());
        }
    }
    out
}

/// What a voice prompt is rendered with.
#[derive(Debug, Serialize)]
struct VoiceContext {
    /// The new fact, as said ("comedy", "from the 1990s").
    new: Option<String>,
    /// A reaction's reason, as said.
    reason: Option<String>,
    /// Everything said before, for an opening with several facts.
    facts: Vec<String>,
    /// What was wrong with the last draft.
    fix: Option<String>,
}

/// The rules agenda with a model's words.
#[derive(Debug)]
pub struct VoicedSimulator {
    agenda: RuleSimulator,
    model: Arc<dyn ChatModel>,
    env: Environment<'static>,
    system: String,
    genres: Vec<String>,
    /// The act being voiced, for a leak's regeneration.
    act: Option<Act>,
    said: Vec<Statement>,
    last_start: usize,
    calls: usize,
    stats: VoiceStats,
    /// Whether the last utterance already counts as regenerated.
    counted_retry: bool,
}

impl VoicedSimulator {
    /// A voice for the agenda of `target` and `history`; `genres` are the
    /// catalog's genre names (for reading back what the model wrote).
    pub fn new(
        model: Arc<dyn ChatModel>,
        target: &Item,
        history: &[Item],
        genres: Vec<String>,
    ) -> Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        for (name, src) in [
            ("system", SYSTEM),
            ("open", OPEN),
            ("answer", ANSWER),
            ("react", REACT),
        ] {
            env.add_template(name, src)
                .map_err(|e| Error::Prompt(format!("{name}: {e}")))?;
        }
        let system = env
            .get_template("system")
            .and_then(|t| t.render(()))
            .map_err(|e| Error::Prompt(e.to_string()))?;
        Ok(Self {
            agenda: RuleSimulator::new(target, history),
            model,
            env,
            system,
            genres: genres
                .into_iter()
                .filter(|g| genre_key(g) != "unknown")
                .collect(),
            act: None,
            said: Vec::new(),
            last_start: 0,
            calls: 0,
            stats: VoiceStats::default(),
            counted_retry: false,
        })
    }

    /// The prompt for one draft of `act`; `fix` names what the last draft
    /// got wrong.
    fn request(&self, act: &Act, fix: Option<String>, attempt: usize) -> Result<ChatRequest> {
        let titles = self.agenda.titles();
        let phrase = |s: &Statement| fact_phrase(s, titles);
        let context = VoiceContext {
            new: act.new.as_ref().map(phrase),
            reason: act.reason.as_ref().map(phrase),
            facts: act.said.iter().map(phrase).collect(),
            fix,
        };
        let name = match act.kind {
            ActKind::Open => "open",
            ActKind::Answer => "answer",
            ActKind::React => "react",
        };
        let prompt = self
            .env
            .get_template(name)
            .and_then(|t| t.render(&context))
            .map_err(|e| Error::Prompt(e.to_string()))?;
        Ok(ChatRequest {
            messages: conversation(&self.system, &prompt),
            tools: Vec::new(),
            options: ChatOptions {
                tool_choice: ToolChoice::None,
                // The first draft is the model's most likely wording; a
                // rewrite samples, so that it can differ.
                temperature: if attempt == 0 { 0.0 } else { 0.7 },
                max_tokens: VOICE_TOKENS,
                seed: Some(attempt as u64),
                stop: vec!["\n".into()],
            },
        })
    }

    /// Says `act`: drafts checked against it, then the template. Returns
    /// the text and whether a first draft failed.
    async fn voice(&mut self, act: Act, mut fix: Option<String>) -> Result<(String, bool)> {
        self.act = Some(act.clone());
        let titles = self.agenda.titles().to_vec();
        for attempt in 0..=REVOICE {
            let request = self.request(&act, fix.take(), attempt)?;
            self.calls += 1;
            let answer = recagent_llm::complete(self.model.as_ref(), request).await?;
            let text = clean(&answer.text);
            let reading = read_facts(&text, &self.genres, &titles);
            let verdict = check(&act, &reading);
            if verdict.ok() && !text.is_empty() {
                self.remember(reading.statements());
                return Ok((text, attempt > 0));
            }
            let phrase = |s: &Statement| fact_phrase(s, &titles);
            let mut why = Vec::new();
            if !verdict.dropped.is_empty() {
                let d: Vec<String> = verdict.dropped.iter().map(phrase).collect();
                why.push(format!("it left out: {}", d.join(", ")));
            }
            if !verdict.added.is_empty() {
                let a: Vec<String> = verdict.added.iter().map(phrase).collect();
                why.push(format!("it said what you were not given: {}", a.join(", ")));
            }
            why.extend(verdict.other);
            if text.is_empty() {
                why.push("it was empty".into());
            }
            fix = Some(why.join("; "));
        }
        self.stats.templated += 1;
        let text = self.agenda.template(&act);
        let reading = read_facts(&text, &self.genres, &titles);
        self.remember(reading.statements());
        Ok((text, true))
    }

    /// Says a new act, counted.
    async fn speak(&mut self, act: Act) -> Result<String> {
        let (text, retried) = self.voice(act, None).await?;
        self.stats.utterances += 1;
        self.stats.regenerated += usize::from(retried);
        self.counted_retry = retried;
        Ok(text)
    }

    fn remember(&mut self, statements: Vec<Statement>) {
        self.last_start = self.said.len();
        self.said.extend(statements);
    }
}

/// The model's text as a message: one line, no quotes or label.
fn clean(text: &str) -> String {
    let t = text.trim();
    let t = t.strip_prefix("Message:").unwrap_or(t).trim();
    t.trim_matches('"').trim().to_owned()
}

impl Simulator for VoicedSimulator {
    fn opening(&mut self) -> BoxFuture<'_, Result<String>> {
        let act = self.agenda.next_act(None);
        Box::pin(self.speak(act))
    }

    fn reply<'a>(&'a mut self, shown: &'a [Item]) -> BoxFuture<'a, Result<String>> {
        let act = self.agenda.next_act(Some(shown));
        Box::pin(self.speak(act))
    }

    fn regenerate(&mut self) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let Some(act) = self.act.clone() else {
                return Ok(None);
            };
            // The draft named the film: forget what it stated and say the
            // act again, told why. The utterance counts as regenerated once.
            self.said.truncate(self.last_start);
            if !self.counted_retry {
                self.stats.regenerated += 1;
                self.counted_retry = true;
            }
            let fix = Some("it named a film title; name no title".to_owned());
            let (text, _) = self.voice(act, fix).await?;
            Ok(Some(text))
        })
    }

    fn statements(&self) -> &[Statement] {
        &self.said
    }

    fn model_calls(&self) -> usize {
        self.calls
    }

    fn voice_stats(&self) -> Option<VoiceStats> {
        Some(self.stats)
    }
}
