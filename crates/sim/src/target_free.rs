//! A target-free simulated user: it has preferences (a genre and a decade,
//! taken from its history) but no single item in mind, and judges each
//! list against all of them.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use recagent_core::Item;
use recagent_core::text::is_unknown_genre;

use crate::{Result, Simulator, Statement};

/// A list satisfies the simulator when at least this share of it matches
/// every preference.
pub const SATISFIED_SHARE: f64 = 0.8;

/// Wants its history's most common genre, from its most common decade.
#[derive(Debug, Clone)]
pub struct TargetFreeSimulator {
    preferences: Vec<Statement>,
    said: usize,
}

impl TargetFreeSimulator {
    /// Preferences from `history` (ties: the genre or decade seen first in
    /// catalog order). `None` when the history has no genre or year.
    pub fn new(history: &[Item]) -> Option<Self> {
        let mut genres: BTreeMap<&str, usize> = BTreeMap::new();
        let mut decades: BTreeMap<u16, usize> = BTreeMap::new();
        for h in history {
            for g in &h.genres {
                if !is_unknown_genre(g) {
                    *genres.entry(g.as_str()).or_default() += 1;
                }
            }
            if let Some(y) = h.year {
                *decades.entry(y - y % 10).or_default() += 1;
            }
        }
        let genre = genres
            .values()
            .copied()
            .max()
            .and_then(|top| genres.iter().find(|(_, c)| **c == top))
            .map(|(g, _)| (*g).to_owned())?;
        let decade = decades
            .values()
            .copied()
            .max()
            .and_then(|top| decades.iter().find(|(_, c)| **c == top))
            .map(|(d, _)| *d)?;
        Some(Self {
            preferences: vec![
                Statement::Genre { genre },
                Statement::Decade { start: decade },
            ],
            said: 0,
        })
    }

    /// Every preference, said or not.
    pub fn preferences(&self) -> &[Statement] {
        &self.preferences
    }

    fn matches(&self, item: &Item) -> bool {
        self.preferences
            .iter()
            .all(|p| p.is_true_of(item, std::slice::from_ref(item)))
    }

    fn request(&self) -> String {
        let mut text = "I'm in the mood for a".to_owned();
        for p in &self.preferences[..self.said] {
            if let Statement::Genre { genre } = p {
                text.push_str(&format!(" {genre}"));
            }
        }
        text.push_str(" movie");
        for p in &self.preferences[..self.said] {
            if let Statement::Decade { start } = p {
                text.push_str(&format!(" from the {start}s"));
            }
        }
        text
    }
}

impl Simulator for TargetFreeSimulator {
    fn opening(&mut self) -> BoxFuture<'_, Result<String>> {
        self.said = 1;
        let text = self.request();
        Box::pin(async move { Ok(text) })
    }

    fn reply<'a>(&'a mut self, _shown: &'a [Item]) -> BoxFuture<'a, Result<String>> {
        let text = if self.said < self.preferences.len() {
            self.said += 1;
            format!("Not quite. {}", self.request())
        } else {
            format!("Something else, please. {}", self.request())
        };
        Box::pin(async move { Ok(text) })
    }

    fn statements(&self) -> &[Statement] {
        &self.preferences[..self.said]
    }

    fn accepts(&self, shown: &[Item]) -> Option<bool> {
        if shown.is_empty() {
            return Some(false);
        }
        let good = shown.iter().filter(|i| self.matches(i)).count();
        Some(good as f64 >= SATISFIED_SHARE * shown.len() as f64)
    }

    fn states_truly(&self, s: &Statement, _target: &Item, _items: &[Item]) -> bool {
        self.preferences.contains(s)
    }
}
