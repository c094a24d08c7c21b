//! The dialogue state: what the conversation has asked for so far.
//!
//! Each turn's plan, from the rules or from a model, is an update to it
//! ([`DialogueState::apply`]): a refinement ("more crime please, nothing
//! before 1980") adds to what stands, a new request ("something like
//! Alien") replaces it, a removal ("older films are fine") takes a slot
//! away, and feedback on the last list ("seen them all") moves that list
//! into what is never shown again. The state after the turn is what the
//! executor runs, what the trace and the TUI show, and what profile memory
//! keeps between processes, so `ask --user U` continues a conversation.

use recagent_core::{Catalog, Constraint, ItemId};
use serde::{Deserialize, Serialize};

use recagent_reading::rules::Cues;
use recagent_reading::{Feedback, Plan};

/// The conversation so far. Items are dense [`ItemId`]s in the agent and
/// in profile memory; a turn's trace carries the state with the catalog's
/// own ids (`DialogueState<String>`, [`DialogueState::with_catalog_ids`]),
/// so that no JSON output writes a dense id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DialogueState<I = ItemId> {
    /// Genres, years and people the conversation asks for. Stored states
    /// written before it (`hard_genres`, `soft_genres`) still read.
    #[serde(flatten)]
    pub want: Constraint,
    /// Titles the recommendations should be like ("like The Godfather").
    pub anchors: Vec<String>,
    /// The request's own words, without titles: the search text.
    pub intent: String,
    /// Titles the user does not want ("not Alien").
    pub excluded_titles: Vec<String>,
    /// Items rejected in this conversation ("something else", "not the
    /// first one"): never shown again in it.
    pub excluded: Vec<I>,
    /// Items the user said they have seen.
    pub seen: Vec<I>,
    /// The list shown last, in order.
    pub last_list: Vec<I>,
    /// What the user said about it.
    pub last_feedback: Feedback,
    /// Turns so far.
    pub turns: u32,
}

impl<I> Default for DialogueState<I> {
    fn default() -> Self {
        Self {
            want: Constraint::default(),
            anchors: Vec::new(),
            intent: String::new(),
            excluded_titles: Vec::new(),
            excluded: Vec::new(),
            seen: Vec::new(),
            last_list: Vec::new(),
            last_feedback: Feedback::default(),
            turns: 0,
        }
    }
}

impl DialogueState {
    /// This state with the catalog's own ids in place of dense ones (an id
    /// the catalog lacks is left out), as traces and JSON outputs carry it.
    pub fn with_catalog_ids(&self, catalog: &Catalog) -> DialogueState<String> {
        let keys = |ids: &[ItemId]| -> Vec<String> {
            ids.iter()
                .filter_map(|i| catalog.item(*i).map(|it| it.key.clone()))
                .collect()
        };
        DialogueState {
            want: self.want.clone(),
            anchors: self.anchors.clone(),
            intent: self.intent.clone(),
            excluded_titles: self.excluded_titles.clone(),
            excluded: keys(&self.excluded),
            seen: keys(&self.seen),
            last_list: keys(&self.last_list),
            last_feedback: self.last_feedback,
            turns: self.turns,
        }
    }
}

/// How a turn changed the state, in words for the trace.
pub type Changes = Vec<String>;

fn add_all(to: &mut Vec<String>, from: &[String]) -> bool {
    let mut changed = false;
    for x in from {
        if !to.contains(x) {
            to.push(x.clone());
            changed = true;
        }
    }
    changed
}

/// The positions feedback is about: the one the plan names, or the first
/// N where the words say "the first N" and the plan names the first or
/// none.
pub(crate) fn positions(plan: &Plan, cues: &Cues) -> Vec<Option<u8>> {
    match cues.first_n {
        Some(n) if plan.feedback_position.is_none_or(|p| p <= 1) => (1..=n).map(Some).collect(),
        _ => vec![plan.feedback_position],
    }
}

/// Items of the last list the feedback names, added to `to`, and said so:
/// "one item of the last list is seen", "2 items … are rejected".
fn mark(to: &mut Vec<ItemId>, ids: &[ItemId], what: &str, changes: &mut Changes) {
    for id in ids {
        add_id(to, *id);
    }
    match ids.len() {
        0 => {}
        1 => changes.push(format!("one item of the last list is {what}")),
        n => changes.push(format!("{n} items of the last list are {what}")),
    }
}

fn add_id(to: &mut Vec<ItemId>, id: ItemId) {
    if !to.contains(&id) {
        to.push(id);
    }
}

impl DialogueState {
    /// Whether the conversation asks for nothing yet.
    pub fn is_empty(&self) -> bool {
        self.want.genres.is_empty()
            && self.want.prefer_genres.is_empty()
            && self.want.avoid_genres.is_empty()
            && self.want.year_min.is_none()
            && self.want.year_max.is_none()
            && self.anchors.is_empty()
            && self.want.people.is_empty()
            && self.intent.trim().is_empty()
    }

    /// The item at a 1-based feedback position in the last list (the
    /// first when none is given).
    fn at(&self, position: Option<u8>) -> Option<ItemId> {
        let pos = position.map_or(0, |p| usize::from(p.max(1)) - 1);
        self.last_list
            .get(pos.min(self.last_list.len().saturating_sub(1)))
            .copied()
    }

    /// This state updated by one turn's `plan` (already normalised) and
    /// the `cues` of the user's words; `last_titles` are the titles of
    /// [`Self::last_list`], for feedback that names a position. Returns the
    /// new state, the plan the executor runs (the whole request as it now
    /// stands), and what changed.
    pub(crate) fn apply(
        &self,
        plan: &Plan,
        cues: &Cues,
        last_titles: &[String],
    ) -> (Self, Plan, Changes) {
        let mut s = self.clone();
        let mut changes = Changes::new();
        s.turns += 1;
        let mut seen_titles = plan.seen_titles.clone();
        seen_titles.extend(s.take_feedback(plan, cues, last_titles, &mut changes));

        let new_anchors: Vec<String> = plan
            .liked_titles
            .iter()
            .filter(|t| !s.anchors.contains(t))
            .cloned()
            .collect();
        // Genres the words only allow again ("horror is fine") are not
        // asked for.
        let not_allowed = |gs: &[String]| -> Vec<String> {
            gs.iter()
                .filter(|g| !cues.allow_genres.contains(g))
                .cloned()
                .collect()
        };
        let wanted = not_allowed(&plan.want.genres);
        let preferred = not_allowed(&plan.want.prefer_genres);
        if s.starts_over(plan, cues, &new_anchors, &wanted) && !self.is_empty() {
            // What the user does not want stays out, as do the films set
            // aside.
            changes.push("a new request".into());
            s.want.genres.clear();
            s.want.prefer_genres.clear();
            s.want.year_min = None;
            s.want.year_max = None;
            s.anchors.clear();
            s.want.people.clear();
            s.intent.clear();
        }
        s.take_removals(cues, &mut changes);
        s.take_genres(plan, &wanted, &preferred, cues, &mut changes);
        s.take_years(plan, &mut changes);
        s.take_people(plan, &mut changes);

        // Anchors: new titles replace the old unless "also".
        if !new_anchors.is_empty() {
            if !cues.also {
                s.anchors.clear();
            }
            add_all(&mut s.anchors, &new_anchors);
            changes.push(format!("like {}", new_anchors.join(", ")));
        }
        if !plan.intent.trim().is_empty() {
            s.intent = plan.intent.trim().to_owned();
        }
        add_all(&mut s.excluded_titles, &plan.excluded_titles);

        let effective = Plan {
            intent: s.intent.clone(),
            want: s.want.clone(),
            never_genres: plan.never_genres.clone(),
            liked_titles: s.anchors.clone(),
            excluded_titles: s.excluded_titles.clone(),
            seen_titles,
            feedback: plan.feedback,
            feedback_position: plan.feedback_position,
        };
        (s, effective, changes)
    }

    /// When does a turn start over? A new film to be like, where one
    /// stands, starts over unless "also"; a new kind of film or new words,
    /// where no film stands, start over unless the words refine ("more
    /// crime please", "only the 90s"). A mood ("funny"), feedback and bare
    /// constraints always refine; so does anything said about a film that
    /// stands ("for kids" after "like Jurassic Park"), unless it is a whole
    /// new request ("a funny animated movie for my kids").
    fn starts_over(
        &self,
        plan: &Plan,
        cues: &Cues,
        new_anchors: &[String],
        wanted: &[String],
    ) -> bool {
        plan.feedback != Feedback::MoreLike
            && if new_anchors.is_empty() {
                (!wanted.is_empty()
                    || !plan.intent.trim().is_empty()
                    || plan.want.people.iter().any(|p| !self.want.people.contains(p)))
                    // "A romantic comedy, nothing with war in it": a new
                    // film asked for, whatever its other clauses refine.
                    && (!cues.refine || cues.new_request)
                    && (self.anchors.is_empty() || cues.new_request)
            } else {
                !cues.also && !self.anchors.is_empty()
            }
    }

    /// Feedback on the last list: what is seen, set aside or rejected, and
    /// the anchor "more like the second one" names. Returns the titles
    /// the feedback says are seen.
    fn take_feedback(
        &mut self,
        plan: &Plan,
        cues: &Cues,
        last_titles: &[String],
        changes: &mut Changes,
    ) -> Vec<String> {
        let title_at = |p: Option<u8>| -> Option<String> {
            let pos = p.map_or(0, |p| usize::from(p.max(1)) - 1);
            last_titles
                .get(pos.min(last_titles.len().saturating_sub(1)))
                .cloned()
        };
        let mut seen_titles = Vec::new();
        match plan.feedback {
            Feedback::SeenIt => {
                let at = positions(plan, cues);
                let ids: Vec<ItemId> = at.iter().filter_map(|p| self.at(*p)).collect();
                mark(&mut self.seen, &ids, "seen", changes);
                seen_titles.extend(at.iter().filter_map(|p| title_at(*p)));
            }
            Feedback::SeenAll => {
                for id in self.last_list.clone() {
                    add_id(&mut self.seen, id);
                }
                seen_titles.extend(last_titles.iter().cloned());
                changes.push("the last list is seen".into());
            }
            Feedback::SomethingElse => {
                for id in self.last_list.clone() {
                    add_id(&mut self.excluded, id);
                }
                changes.push("the last list is set aside".into());
            }
            Feedback::Disliked => {
                let ids: Vec<ItemId> = positions(plan, cues)
                    .iter()
                    .filter_map(|p| self.at(*p))
                    .collect();
                mark(&mut self.excluded, &ids, "rejected", changes);
            }
            Feedback::MoreLike => {
                if let Some(t) = title_at(plan.feedback_position) {
                    changes.push(format!("anchor → {t}"));
                    self.anchors = vec![t];
                }
            }
            Feedback::Liked | Feedback::None => {}
        }
        self.last_feedback = plan.feedback;
        if cues.something_else && plan.feedback != Feedback::SomethingElse {
            for id in self.last_list.clone() {
                if !self.seen.contains(&id) {
                    add_id(&mut self.excluded, id);
                }
            }
            changes.push("the rest of the last list is set aside".into());
        }
        seen_titles
    }

    /// Removals: "any year", "any genre", "horror is fine".
    fn take_removals(&mut self, cues: &Cues, changes: &mut Changes) {
        if cues.clear_years && self.want.has_years() {
            self.want.year_min = None;
            self.want.year_max = None;
            changes.push("any year".into());
        }
        if cues.clear_genres && !(self.want.genres.is_empty() && self.want.prefer_genres.is_empty())
        {
            self.want.genres.clear();
            self.want.prefer_genres.clear();
            changes.push("any genre".into());
        }
        for g in &cues.allow_genres {
            if self.want.avoid_genres.contains(g) {
                self.want.avoid_genres.retain(|x| x != g);
                changes.push(format!("{g} allowed again"));
            }
        }
    }

    /// Genres: a replacement ("actually, a comedy") or an addition, and
    /// what is avoided.
    fn take_genres(
        &mut self,
        plan: &Plan,
        wanted: &[String],
        preferred: &[String],
        cues: &Cues,
        changes: &mut Changes,
    ) {
        if cues.replace_genres && !(wanted.is_empty() && preferred.is_empty()) {
            self.want.genres = wanted.to_vec();
            self.want.prefer_genres = preferred.to_vec();
            changes.push("genres replaced".into());
        } else {
            if add_all(&mut self.want.genres, wanted) {
                changes.push(format!("wants {}", wanted.join(", ")));
            }
            if add_all(&mut self.want.prefer_genres, preferred) {
                changes.push(format!("prefers {}", preferred.join(", ")));
            }
        }
        self.want
            .prefer_genres
            .retain(|g| !self.want.genres.contains(g));
        // What is asked for now wins over an earlier "no".
        self.want
            .avoid_genres
            .retain(|g| !wanted.contains(g) && !preferred.contains(g));
        let mut avoid: Vec<String> = plan.want.avoid_genres.clone();
        add_all(&mut avoid, &plan.never_genres);
        if add_all(&mut self.want.avoid_genres, &avoid) {
            changes.push(format!("avoids {}", avoid.join(", ")));
        }
        self.want
            .genres
            .retain(|g| !self.want.avoid_genres.contains(g));
        self.want
            .prefer_genres
            .retain(|g| !self.want.avoid_genres.contains(g));
    }

    /// People: those named are added ("with Tom Hanks"), an avoided one
    /// leaves the wanted and stays out.
    fn take_people(&mut self, plan: &Plan, changes: &mut Changes) {
        if add_all(&mut self.want.people, &plan.want.people) {
            changes.push(format!("with {}", plan.want.people.join(", ")));
        }
        self.want
            .avoid_people
            .retain(|p| !plan.want.people.contains(p));
        if add_all(&mut self.want.avoid_people, &plan.want.avoid_people) {
            changes.push(format!("without {}", plan.want.avoid_people.join(", ")));
        }
        let avoid = self.want.avoid_people.clone();
        self.want.people.retain(|p| !avoid.contains(p));
    }

    /// Years: a bound given replaces the one standing; a bound that would
    /// cross the other one drops it.
    fn take_years(&mut self, plan: &Plan, changes: &mut Changes) {
        if let Some(lo) = plan.want.year_min {
            self.want.year_min = Some(lo);
            if plan.want.year_max.is_none() && self.want.year_max.is_some_and(|hi| hi < lo) {
                self.want.year_max = None;
            }
            changes.push(format!("from {lo}"));
        }
        if let Some(hi) = plan.want.year_max {
            self.want.year_max = Some(hi);
            if plan.want.year_min.is_none() && self.want.year_min.is_some_and(|lo| lo > hi) {
                self.want.year_min = None;
            }
            changes.push(format!("up to {hi}"));
        }
        if let (Some(lo), Some(hi)) = (self.want.year_min, self.want.year_max)
            && lo > hi
        {
            self.want.year_min = Some(hi);
            self.want.year_max = Some(lo);
        }
    }
}

impl<I: Ord + Clone> DialogueState<I> {
    /// Items never to recommend again in this conversation.
    pub fn never_again(&self) -> Vec<I> {
        let mut out: Vec<I> = self.excluded.iter().chain(&self.seen).cloned().collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The state in a few words for the TUI and the trace: "crime · from
    /// 1980 · like The Godfather · 10 set aside".
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.want.genres.is_empty() {
            parts.push(self.want.genres.join(" + "));
        }
        if !self.want.prefer_genres.is_empty() {
            parts.push(format!(
                "preferably {}",
                self.want.prefer_genres.join(" or ")
            ));
        }
        if !self.want.avoid_genres.is_empty() {
            parts.push(format!("no {}", self.want.avoid_genres.join(", no ")));
        }
        match (self.want.year_min, self.want.year_max) {
            (Some(a), Some(b)) => parts.push(format!("{a}–{b}")),
            (Some(a), None) => parts.push(format!("from {a}")),
            (None, Some(b)) => parts.push(format!("up to {b}")),
            (None, None) => {}
        }
        if !self.want.people.is_empty() {
            parts.push(format!("with {}", self.want.people.join(" and ")));
        }
        if !self.want.avoid_people.is_empty() {
            parts.push(format!("without {}", self.want.avoid_people.join(", ")));
        }
        if !self.anchors.is_empty() {
            let a: Vec<String> = self
                .anchors
                .iter()
                .map(|t| recagent_core::display_title(t))
                .collect();
            parts.push(format!("like {}", a.join(", ")));
        }
        if !self.intent.is_empty() {
            parts.push(format!("\u{201c}{}\u{201d}", self.intent));
        }
        let gone = self.never_again().len();
        if gone > 0 {
            parts.push(format!("{gone} set aside"));
        }
        if parts.is_empty() {
            "nothing asked yet".into()
        } else {
            parts.join(" · ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recagent_core::Constraint;

    fn plan() -> Plan {
        Plan::default()
    }

    fn refine() -> Cues {
        Cues {
            refine: true,
            ..Cues::default()
        }
    }

    #[test]
    fn a_state_saved_before_the_one_constraint_type_still_loads() {
        let old = r#"{"hard_genres": ["Crime"], "soft_genres": ["Comedy"],
            "avoid_genres": ["Horror"], "year_min": 1980, "anchors": ["Heat"], "turns": 2}"#;
        let s: DialogueState = serde_json::from_str(old).unwrap();
        assert_eq!(s.want.genres, ["Crime"]);
        assert_eq!(s.want.prefer_genres, ["Comedy"]);
        assert_eq!(s.want.avoid_genres, ["Horror"]);
        assert_eq!(
            (s.want.year_min, s.anchors.len(), s.turns),
            (Some(1980), 1, 2)
        );
        // And it is written back under the one type's names.
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["genres"], serde_json::json!(["Crime"]));
        assert!(v.get("hard_genres").is_none());
    }

    #[test]
    fn a_refinement_keeps_the_anchor_and_adds_constraints() {
        let s = DialogueState::default();
        let (s, eff, _) = s.apply(
            &Plan {
                liked_titles: vec!["Godfather, The".into()],
                ..plan()
            },
            &Cues::default(),
            &[],
        );
        assert_eq!(eff.liked_titles, vec!["Godfather, The"]);
        let s = DialogueState {
            last_list: vec![ItemId(1), ItemId(2)],
            ..s
        };
        let (s, eff, changes) = s.apply(
            &Plan {
                want: Constraint {
                    genres: vec!["Crime".into()],
                    year_min: Some(1980),
                    ..plan().want.clone()
                },
                ..plan()
            },
            &refine(),
            &["A".into(), "B".into()],
        );
        assert_eq!(eff.liked_titles, vec!["Godfather, The"], "{changes:?}");
        assert_eq!(eff.want.genres, vec!["Crime"]);
        assert_eq!((eff.want.year_min, eff.want.year_max), (Some(1980), None));
        // "seen them all, something else": the list is never shown again,
        // and the request stands.
        let (s, eff, _) = s.apply(
            &Plan {
                feedback: Feedback::SeenAll,
                ..plan()
            },
            &Cues::default(),
            &["A".into(), "B".into()],
        );
        assert_eq!(s.never_again(), vec![ItemId(1), ItemId(2)]);
        assert_eq!(eff.liked_titles, vec!["Godfather, The"]);
        assert_eq!(eff.want.genres, vec!["Crime"]);
        assert_eq!(eff.seen_titles, vec!["A", "B"]);
    }

    #[test]
    fn feedback_on_the_first_n_takes_each_of_them_and_keeps_the_request() {
        let s = DialogueState {
            intent: "heist".into(),
            last_list: vec![ItemId(1), ItemId(2), ItemId(3)],
            ..DialogueState::default()
        };
        let shown = ["A".to_owned(), "B".to_owned(), "C".to_owned()];
        let first_two = Cues {
            first_n: Some(2),
            ..Cues::default()
        };
        // "seen the first two"
        let (seen, eff, changes) = s.apply(
            &Plan {
                feedback: Feedback::SeenIt,
                feedback_position: Some(1),
                ..plan()
            },
            &first_two,
            &shown,
        );
        assert_eq!(
            seen.never_again(),
            vec![ItemId(1), ItemId(2)],
            "{changes:?}"
        );
        assert_eq!(eff.seen_titles, vec!["A", "B"]);
        assert_eq!(eff.intent, "heist");
        // "not the top two"
        let (rejected, _, _) = s.apply(
            &Plan {
                feedback: Feedback::Disliked,
                ..plan()
            },
            &first_two,
            &shown,
        );
        assert_eq!(rejected.excluded, vec![ItemId(1), ItemId(2)]);
        // "seen the third" names one position, whatever else is said.
        let (third, _, _) = s.apply(
            &Plan {
                feedback: Feedback::SeenIt,
                feedback_position: Some(3),
                ..plan()
            },
            &first_two,
            &shown,
        );
        assert_eq!(third.seen, vec![ItemId(3)]);
    }

    #[test]
    fn a_new_request_starts_over_but_keeps_what_was_set_aside() {
        let s = DialogueState {
            want: Constraint {
                genres: vec!["Crime".into()],
                year_min: Some(1980),
                ..Constraint::default()
            },
            anchors: vec!["Godfather, The".into()],
            excluded: vec![ItemId(7)],
            turns: 2,
            ..DialogueState::default()
        };
        let (s2, eff, changes) = s.apply(
            &Plan {
                liked_titles: vec!["Alien".into()],
                ..plan()
            },
            &refine(),
            &[],
        );
        assert!(changes.contains(&"a new request".to_owned()), "{changes:?}");
        assert_eq!(eff.liked_titles, vec!["Alien"]);
        assert!(eff.want.genres.is_empty() && eff.want.year_min.is_none());
        assert_eq!(s2.never_again(), vec![ItemId(7)]);
        // "also like Heat" adds an anchor instead.
        let (_, eff, _) = s.apply(
            &Plan {
                liked_titles: vec!["Heat".into()],
                ..plan()
            },
            &Cues {
                also: true,
                ..Cues::default()
            },
            &[],
        );
        assert_eq!(eff.liked_titles, vec!["Godfather, The", "Heat"]);
        assert_eq!(eff.want.genres, vec!["Crime"]);
    }

    #[test]
    fn removals_and_crossing_bounds() {
        let s = DialogueState {
            want: Constraint {
                year_min: Some(1980),
                avoid_genres: vec!["Horror".into()],
                genres: vec!["Comedy".into()],
                ..Constraint::default()
            },
            turns: 1,
            ..DialogueState::default()
        };
        let (s1, eff, _) = s.apply(
            &plan(),
            &Cues {
                clear_years: true,
                allow_genres: vec!["Horror".into()],
                ..Cues::default()
            },
            &[],
        );
        assert_eq!((eff.want.year_min, eff.want.year_max), (None, None));
        assert!(eff.want.avoid_genres.is_empty());
        assert_eq!(s1.want.genres, vec!["Comedy"]);
        // "before 1970" after "from 1980": the new bound wins.
        let (_, eff, _) = s.apply(
            &Plan {
                want: Constraint {
                    year_max: Some(1969),
                    ..plan().want.clone()
                },
                ..plan()
            },
            &refine(),
            &[],
        );
        assert_eq!((eff.want.year_min, eff.want.year_max), (None, Some(1969)));
        // Asking for a genre now lifts an earlier "no".
        let (_, eff, _) = s.apply(
            &Plan {
                want: Constraint {
                    genres: vec!["Horror".into()],
                    ..plan().want.clone()
                },
                ..plan()
            },
            &refine(),
            &[],
        );
        assert!(eff.want.avoid_genres.is_empty());
        assert_eq!(eff.want.genres, vec!["Comedy", "Horror"]);
        // "actually, a drama" replaces the genres.
        let (_, eff, _) = s.apply(
            &Plan {
                want: Constraint {
                    genres: vec!["Drama".into()],
                    ..plan().want.clone()
                },
                ..plan()
            },
            &Cues {
                refine: true,
                replace_genres: true,
                ..Cues::default()
            },
            &[],
        );
        assert_eq!(eff.want.genres, vec!["Drama"]);
    }

    #[test]
    fn the_state_survives_json() {
        let s = DialogueState {
            want: Constraint {
                genres: vec!["Animation".into()],
                prefer_genres: vec!["Comedy".into()],
                ..Constraint::default()
            },
            seen: vec![ItemId(3)],
            last_feedback: Feedback::SeenIt,
            turns: 3,
            ..DialogueState::default()
        };
        let back: DialogueState =
            serde_json::from_str(&serde_json::to_string(&s).expect("json")).expect("parse");
        assert_eq!(back, s);
        assert_eq!(s.summary(), "Animation · preferably Comedy · 1 set aside");
    }
}
