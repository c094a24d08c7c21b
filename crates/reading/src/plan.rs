//! The request as slots: what one turn's words ask for, read by the rules
//! ([`crate::rules::parse`]) or written by a model in one grammar-constrained
//! decision, and filled from the rules' draft. The agent's executor turns a
//! plan into tool calls.

use recagent_core::Constraint;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the user said about the list they were shown last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// Nothing about the last list.
    #[default]
    None,
    /// "Seen it": the item at `feedback_position` (the first by default).
    SeenIt,
    /// "Seen them all".
    SeenAll,
    /// "Something else": the same request, without what was shown.
    SomethingElse,
    /// "More like the second one".
    MoreLike,
    /// "I liked the third one".
    Liked,
    /// "Not the first one".
    Disliked,
}

/// A request as slots. Every field may be left empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Plan {
    /// What the user wants, in their words, without titles: the search text.
    pub intent: String,
    /// Genres, years and people wanted now.
    #[serde(flatten)]
    pub want: Constraint,
    /// Genres never to recommend again ("I never want horror").
    pub never_genres: Vec<String>,
    /// Titles the user liked: find similar ones (they are left out).
    pub liked_titles: Vec<String>,
    /// Titles not to recommend ("not Alien").
    pub excluded_titles: Vec<String>,
    /// Titles the user has already seen.
    pub seen_titles: Vec<String>,
    /// About the last list shown.
    pub feedback: Feedback,
    /// 1-based position in the last list that the feedback is about.
    #[schemars(range(min = 1, max = 20))]
    pub feedback_position: Option<u8>,
}

impl Plan {
    /// Whether the plan asks for nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Year bounds at the schema's edges (1900, 2030) bound nothing: a
    /// small model that fills every slot writes them for "any year".
    pub fn normalized(&self) -> Plan {
        Plan {
            want: self.want.normalized(),
            ..self.clone()
        }
    }

    /// This plan with every slot it left empty taken from `draft`.
    pub fn filled_from(&self, draft: &Plan) -> Plan {
        let mut p = self.normalized();
        let fill = |mine: &mut Vec<String>, theirs: &Vec<String>| {
            if mine.is_empty() {
                mine.clone_from(theirs);
            }
        };
        if p.intent.trim().is_empty() {
            p.intent.clone_from(&draft.intent);
        }
        fill(&mut p.want.genres, &draft.want.genres);
        fill(&mut p.want.prefer_genres, &draft.want.prefer_genres);
        // The draft read "funny" as a preference: a model that made it a
        // requirement is overruled where the two overlap.
        p.want
            .genres
            .retain(|g| !draft.want.prefer_genres.contains(g) || draft.want.genres.contains(g));
        for g in &draft.want.prefer_genres {
            if !p.want.genres.contains(g)
                && !p.want.prefer_genres.contains(g)
                && self.want.genres.contains(g)
            {
                p.want.prefer_genres.push(g.clone());
            }
        }
        fill(&mut p.want.avoid_genres, &draft.want.avoid_genres);
        fill(&mut p.never_genres, &draft.never_genres);
        fill(&mut p.want.people, &draft.want.people);
        fill(&mut p.want.avoid_people, &draft.want.avoid_people);
        fill(&mut p.liked_titles, &draft.liked_titles);
        fill(&mut p.excluded_titles, &draft.excluded_titles);
        fill(&mut p.seen_titles, &draft.seen_titles);
        // Years the user wrote are read exactly by the rules ("after 1960"
        // is from 1961); where the draft has a bound, its bounds stand.
        if draft.want.has_years() {
            p.want.year_min = draft.want.year_min;
            p.want.year_max = draft.want.year_max;
        }
        // A preference is a mood the user named: a model that lists
        // genres nobody asked for is not followed there.
        p.want
            .prefer_genres
            .retain(|g| draft.want.prefer_genres.contains(g) || draft.want.genres.contains(g));
        if p.feedback == Feedback::None {
            p.feedback = draft.feedback;
            p.feedback_position = draft.feedback_position;
        }
        p
    }
}

/// The comparison key of a title as a model or a catalog writes it:
/// "Godfather, The", "the godfather" and "Godfather" are one.
pub fn title_key(title: &str) -> Vec<String> {
    let mut w = recagent_core::words(&recagent_core::display_title(title));
    // Every leading article: a small model writes "The Shining, The".
    while w.len() > 1 && ["the", "a", "an"].contains(&w[0].as_str()) {
        w.remove(0);
    }
    // The year the catalog writes after a title, which a model may leave
    // out: "Toy Story (1995)" is "Toy Story".
    if w.len() > 1
        && title.trim_end().ends_with(')')
        && w.last()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
    {
        w.pop();
    }
    w
}

impl Plan {
    /// Whether the request only adjusts what stands: years, a mood or a
    /// genre to leave out, with no genre required, no title and no other
    /// words ("from the 80s", "funny", "nothing too violent").
    pub fn is_modifier_only(&self) -> bool {
        self.want.genres.is_empty()
            && self.want.people.is_empty()
            && self.liked_titles.is_empty()
            && self.excluded_titles.is_empty()
            && self.seen_titles.is_empty()
            && self.intent.trim().is_empty()
            && (self.want.year_min.is_some()
                || self.want.year_max.is_some()
                || !self.want.prefer_genres.is_empty()
                || !self.want.avoid_genres.is_empty())
    }
}
