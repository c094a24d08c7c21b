//! The reading of a turn: what a user's words ask for, with the
//! conversation so far, as one typed [`Reading`].
//!
//! This crate owns everything that reads words: the genre vocabulary and
//! its synonyms ([`vocab`]), the people a catalog credits ([`people`]),
//! the rules' parse into slots ([`rules`], [`Plan`]) and the cues that say
//! how a turn relates to the one before ([`Cues`]), and a model's plan held
//! to the user's words and the catalog ([`check`]). It does no IO: title
//! linking, the one thing that needs an index, sits behind [`Linker`], so
//! a test reads with a fixture index and the agent with its recall.
//!
//! The agent crate consumes a [`Reading`]; it never splits the user's
//! words itself.

pub mod check;
pub mod people;
pub mod plan;
pub mod rules;
pub mod vocab;

pub use people::People;
pub use plan::{Feedback, Plan, title_key};
pub use recagent_core::{Constraint, YEAR_CEILING, YEAR_FLOOR};
pub use rules::{Cues, Social};
pub use vocab::Vocab;

use recagent_core::TitleLink;

/// A title links only at this confidence or above (typos cost 0.25 a
/// word).
pub const TITLE_CONFIDENCE: f32 = 0.85;

/// Title linking as the reading needs it: the catalog titles mentioned in
/// free text, best first. An index that fails links nothing (its owner
/// logs why); the reading then goes on from the words alone.
pub trait Linker {
    fn link_titles(&self, text: &str) -> Vec<TitleLink>;
}

/// What the reading needs from the conversation so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// How many items the last list had ("the second one" needs two).
    pub last_len: usize,
    /// The years of the films on the last list ("older than these").
    pub last_years: &'a [u16],
}

/// One turn's words, read once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// The request as slots: the rules' parse, and the draft a model may
    /// correct.
    pub draft: Plan,
    /// How the turn relates to the conversation (refine, clear, also).
    pub cues: Cues,
    /// A turn that asks for no list (thanks, hello, the profile).
    pub social: Option<Social>,
    /// A film named that the catalog lacks ("like Inception").
    pub unknown_title: Option<String>,
}

/// Reads `text`: the slots, the relative years ("older than these"), the
/// cues, the social act and a title the catalog lacks, each once.
pub fn read(text: &str, vocab: &Vocab, linker: &dyn Linker, context: Context<'_>) -> Reading {
    let mut draft = rules::parse(text, vocab, linker, context.last_len);
    rules::relative_years(text, context.last_years, &mut draft);
    let cues = rules::cues(text, vocab);
    let social = rules::social(text, &draft);
    let unknown_title = rules::unknown_title(text, &draft, vocab);
    Reading {
        draft,
        cues,
        social,
        unknown_title,
    }
}
