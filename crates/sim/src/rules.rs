//! A rule-based simulated user: it reveals true attributes of its target
//! one turn at a time and never its title.

use recagent_core::{Item, ItemId};

use crate::{Simulator, Statement};

/// Reveals the target's first genre, then its decade, then its other
/// genres; each turn restates everything said so far, as people do when a
/// list misses.
#[derive(Debug, Clone)]
pub struct RuleSimulator {
    /// Attributes still to reveal, in order.
    queue: Vec<Statement>,
    said: Vec<Statement>,
}

impl RuleSimulator {
    pub fn new(target: &Item) -> Self {
        let mut queue = Vec::new();
        let genres: Vec<&String> = target
            .genres
            .iter()
            .filter(|g| !g.eq_ignore_ascii_case("unknown"))
            .collect();
        if let Some(g) = genres.first() {
            queue.push(Statement::Genre {
                genre: (*g).clone(),
            });
        }
        if let Some(y) = target.year {
            queue.push(Statement::Decade { start: y - y % 10 });
        }
        for g in genres.iter().skip(1).take(2) {
            queue.push(Statement::Genre {
                genre: (*g).clone(),
            });
        }
        queue.reverse();
        Self {
            queue,
            said: Vec::new(),
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
                Statement::Decade { .. } => None,
            })
            .collect();
        let decade = self.said.iter().find_map(|s| match s {
            Statement::Decade { start } => Some(*start),
            Statement::Genre { .. } => None,
        });
        let mut text = if genres.is_empty() {
            "I'm looking for a movie".to_owned()
        } else {
            format!("I'm looking for a {} movie", genres.join(" and "))
        };
        if let Some(d) = decade {
            text.push_str(&format!(" from the {d}s"));
        }
        text
    }
}

impl Simulator for RuleSimulator {
    fn opening(&mut self) -> String {
        self.reveal();
        self.request()
    }

    fn reply(&mut self, _shown: &[ItemId]) -> String {
        if self.reveal() {
            format!("Not quite. {}", self.request())
        } else {
            format!("Something else, please. {}", self.request())
        }
    }

    fn statements(&self) -> &[Statement] {
        &self.said
    }
}
