//! A rule-based simulated user: it reveals true attributes of its target
//! one or two a turn and never its title.

use futures::future::BoxFuture;
use recagent_core::text::is_unknown_genre;
use recagent_core::{Item, ItemId};
use serde::Serialize;

use crate::{Result, Simulator, Statement};

/// Reveals the target's first genre, then its decade, then a title from
/// the user's history that shares the most genres with it, then the other
/// genres. Each reply rejects the list with a reason that is true of the
/// target and restates everything said so far, as people do when a list
/// misses.
#[derive(Debug, Clone)]
pub struct RuleSimulator {
    /// Attributes still to reveal, in order (last first).
    queue: Vec<Statement>,
    said: Vec<Statement>,
    target: Item,
    /// Titles of items the simulator may name (the user's history).
    titles: Vec<(ItemId, String)>,
}

/// "Toy Story (1995)" → "Toy Story"; "Usual Suspects, The (1995)" → "The
/// Usual Suspects": how a person says a title.
pub fn spoken_title(title: &str) -> String {
    let mut t = title.trim();
    if let Some(open) = t.rfind(" (")
        && t.ends_with(')')
        && t[open + 2..t.len() - 1].chars().all(|c| c.is_ascii_digit())
    {
        t = &t[..open];
    }
    for article in ["The", "A", "An"] {
        if let Some(rest) = t.strip_suffix(&format!(", {article}")) {
            return format!("{article} {rest}");
        }
    }
    t.to_owned()
}

fn genres(item: &Item) -> Vec<&String> {
    item.genres
        .iter()
        .filter(|g| !is_unknown_genre(g))
        .collect()
}

impl RuleSimulator {
    /// A simulator for `target` that may mention items of `history` (the
    /// episode's history, which the agent knows as liked).
    pub fn new(target: &Item, history: &[Item]) -> Self {
        Self::build(target, history, false)
    }

    /// [`RuleSimulator::new`] that also reveals the target's people and
    /// themes where the catalog knows them: its director (or its lead)
    /// second, a keyword after the decade. Films without facts are
    /// described as [`RuleSimulator::new`] does.
    pub fn with_facts(target: &Item, history: &[Item]) -> Self {
        Self::build(target, history, true)
    }

    fn build(target: &Item, history: &[Item], facts: bool) -> Self {
        let mut queue = Vec::new();
        let tg = genres(target);
        if let Some(g) = tg.first() {
            queue.push(Statement::Genre {
                genre: (*g).clone(),
            });
        }
        let person = target
            .people_as(recagent_core::Role::Director)
            .next()
            .map(|p| (p, true))
            .or_else(|| {
                target
                    .people_as(recagent_core::Role::Cast)
                    .next()
                    .map(|p| (p, false))
            });
        if facts && let Some((p, directed)) = person {
            queue.push(Statement::Person {
                name: p.name.clone(),
                directed,
            });
        }
        if let Some(y) = target.year {
            queue.push(Statement::Decade { start: y - y % 10 });
        }
        // The liked title most like the target: most shared genres, then the
        // most recent. Only one sharing at least half the target's genres.
        let like = history
            .iter()
            .rev()
            .map(|h| {
                let shared = genres(h).iter().filter(|g| tg.contains(g)).count();
                (shared, h)
            })
            .filter(|(shared, _)| *shared * 2 >= tg.len().max(1) && *shared > 0)
            .max_by_key(|(shared, _)| *shared);
        if let Some((_, h)) = like {
            queue.push(Statement::LikeTitle { item: h.id });
        }
        // TMDB tags production facts as keywords too ("duringcreditsstinger",
        // "woman director"): a person says what the film is about.
        let theme = target.keywords.iter().find(|k| {
            let k = k.to_lowercase();
            ![
                "stinger",
                "director",
                "independent film",
                "based on",
                "3d",
                "sequel",
                "remake",
            ]
            .iter()
            .any(|m| k.contains(m))
        });
        if facts && let Some(k) = theme {
            queue.push(Statement::Theme { keyword: k.clone() });
        }
        for g in tg.iter().skip(1).take(2) {
            queue.push(Statement::Genre {
                genre: (*g).clone(),
            });
        }
        queue.reverse();
        Self {
            queue,
            said: Vec::new(),
            target: target.clone(),
            titles: history
                .iter()
                .map(|h| (h.id, spoken_title(&h.title)))
                .collect(),
        }
    }

    fn reveal(&mut self) -> bool {
        match self.queue.pop() {
            Some(s) => {
                self.said.push(s);
                true
            }
            None => false,
        }
    }

    /// Everything said so far, in one request.
    fn request(&self) -> String {
        let genres: Vec<&str> = self
            .said
            .iter()
            .filter_map(|s| match s {
                Statement::Genre { genre } => Some(genre.as_str()),
                _ => None,
            })
            .collect();
        let decade = self.said.iter().find_map(|s| match s {
            Statement::Decade { start } => Some(*start),
            _ => None,
        });
        let like = self.said.iter().find_map(|s| match s {
            Statement::LikeTitle { item } => self
                .titles
                .iter()
                .find(|(id, _)| id == item)
                .map(|(_, t)| t.as_str()),
            _ => None,
        });
        let mut text = if genres.is_empty() {
            "I'm looking for a movie".to_owned()
        } else {
            format!("I'm looking for a {} movie", genres.join(" and "))
        };
        for s in &self.said {
            match s {
                Statement::Person {
                    name,
                    directed: true,
                } => {
                    text.push_str(&format!(" directed by {name}"));
                }
                Statement::Person { name, .. } => text.push_str(&format!(" with {name}")),
                _ => {}
            }
        }
        if let Some(d) = decade {
            text.push_str(&format!(" from the {d}s"));
        }
        if let Some(t) = like {
            text.push_str(&format!(", something like {t}"));
        }
        if let Some(k) = self.said.iter().find_map(|s| match s {
            Statement::Theme { keyword } => Some(keyword),
            _ => None,
        }) {
            text.push_str(&format!(". It's about {k}"));
        }
        text
    }

    /// Why the list missed, in terms of what is true of the target: the
    /// first stated genre or decade that most of the list breaks.
    fn broken(&self, shown: &[Item]) -> Option<Statement> {
        let broken = |s: &Statement| {
            let off = shown
                .iter()
                .filter(|i| !s.is_true_of(i, std::slice::from_ref(&self.target)))
                .count();
            off * 2 > shown.len()
        };
        self.said
            .iter()
            .filter(|s| matches!(s, Statement::Genre { .. } | Statement::Decade { .. }))
            .find(|s| broken(s))
            .cloned()
    }
}

/// What kind of turn an [`Act`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActKind {
    /// The first message.
    Open,
    /// A reply to a turn that showed no list (the agent asked instead).
    Answer,
    /// A reply to a list that missed.
    React,
}

/// What the simulated user does in one turn, decided by the agenda: the
/// words come later (a template in [`RuleSimulator`], a model in
/// [`crate::VoicedSimulator`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Act {
    pub kind: ActKind,
    /// The attribute revealed for the first time this turn.
    pub new: Option<Statement>,
    /// A reaction's reason: the stated attribute most of the list broke.
    pub reason: Option<Statement>,
    /// Everything said so far, `new` included.
    pub said: Vec<Statement>,
}

impl RuleSimulator {
    /// The next act: the opening when `shown` is `None`, else the reaction
    /// to `shown` (an answer when it is empty). Reveals the next attribute.
    pub fn next_act(&mut self, shown: Option<&[Item]>) -> Act {
        let (kind, reason) = match shown {
            None => (ActKind::Open, None),
            Some([]) => (ActKind::Answer, None),
            Some(list) => (ActKind::React, self.broken(list)),
        };
        let new = self.reveal().then(|| self.said.last().cloned()).flatten();
        Act {
            kind,
            new,
            reason,
            said: self.said.clone(),
        }
    }

    /// The words the rules simulator says for `act`.
    pub fn template(&self, act: &Act) -> String {
        match act.kind {
            ActKind::Open => self.request(),
            _ if act.new.is_none() => format!("Something else, please. {}", self.request()),
            _ => {
                let why = act
                    .reason
                    .as_ref()
                    .and_then(reason_text)
                    .map(|r| format!("{r} "))
                    .unwrap_or_default();
                format!("Not quite. {why}{}", self.request())
            }
        }
    }

    /// The spoken title of a history item the simulator may name.
    pub fn title_of(&self, item: ItemId) -> Option<&str> {
        self.titles
            .iter()
            .find(|(id, _)| *id == item)
            .map(|(_, t)| t.as_str())
    }

    /// The history's titles as the simulator says them.
    pub fn titles(&self) -> &[(ItemId, String)] {
        &self.titles
    }
}

/// "I asked for Comedy." for a reaction's reason.
fn reason_text(s: &Statement) -> Option<String> {
    match s {
        Statement::Genre { genre } => Some(format!("I asked for {genre}.")),
        Statement::Decade { start } => Some(format!("I asked for the {start}s.")),
        _ => None,
    }
}

impl Simulator for RuleSimulator {
    fn opening(&mut self) -> BoxFuture<'_, Result<String>> {
        let act = self.next_act(None);
        let text = self.template(&act);
        Box::pin(async move { Ok(text) })
    }

    fn reply<'a>(&'a mut self, shown: &'a [Item]) -> BoxFuture<'a, Result<String>> {
        let act = self.next_act(Some(shown));
        let text = self.template(&act);
        Box::pin(async move { Ok(text) })
    }

    fn statements(&self) -> &[Statement] {
        &self.said
    }
}
