//! The rules controller's reading of a request: text → [`Plan`].
//!
//! No model: genres and their synonyms through [`Vocab`], decades and years,
//! titles through title linking, "like X", negation ("no horror", "not Toy
//! Story", "I already saw X") and feedback on the last list ("seen it",
//! "something else", "more like the second one"). The parse is also the
//! draft a small model may correct, and the fallback when a model fails.

use recagent_core::{ItemId, words};

use crate::plan::{Feedback, Plan};
use crate::vocab::Vocab;
use crate::{Linker, TITLE_CONFIDENCE};

const NEGATORS: &[&str] = &[
    "no",
    "not",
    "without",
    "avoid",
    "hate",
    "never",
    "nothing",
    "dont",
    "except",
    "skip",
    "exclude",
    "excluding",
    "none",
    "isnt",
    "arent",
    "less",
    "hates",
    "hated",
    "dislike",
    "dislikes",
    "disliked",
    "detest",
    "detests",
    "loathe",
    "loathes",
];
/// Two words that say no together where neither does alone: "sick of
/// westerns", "anything but horror", "can't stand musicals".
const NEGATOR_PHRASES: &[[&str; 2]] = &[
    ["cant", "stand"],
    ["sick", "of"],
    ["tired", "of"],
    ["enough", "of"],
    ["anything", "but"],
    ["everything", "but"],
    ["fed", "up"],
];
/// Negators that make a genre preference last beyond this request.
const LASTING: &[&str] = &[
    "never", "hate", "hates", "detest", "detests", "loathe", "loathes", "stand",
];
const LIKED_CUES: &[&str] = &[
    "like",
    "liked",
    "loved",
    "love",
    "enjoyed",
    "enjoy",
    "similar",
    "fan",
    "adored",
    "adore",
    "favorite",
    "favourite",
];
const SEEN_CUES: &[&str] = &["saw", "seen", "watched"];
const EXCLUDE_CUES: &[&str] = &[
    "not", "except", "but", "no", "without", "besides", "other", "isnt", "arent",
];
/// Words that carry no search meaning.
/// Whether `word` (lower case) is one the rules never search for ("with",
/// "tonight", "something").
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

const STOPWORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "i",
    "im",
    "me",
    "my",
    "we",
    "our",
    "us",
    "you",
    "your",
    "for",
    "to",
    "of",
    "and",
    "or",
    "but",
    "with",
    "from",
    "in",
    "on",
    "at",
    "by",
    "it",
    "its",
    "that",
    "this",
    "is",
    "are",
    "was",
    "be",
    "some",
    "something",
    "anything",
    "movie",
    "movies",
    "film",
    "films",
    "want",
    "wanna",
    "would",
    "best",
    "greatest",
    "ever",
    "fine",
    "allowed",
    "id",
    "ive",
    "lets",
    "hmm",
    "nope",
    "nah",
    "thanks",
    "thank",
    "thx",
    "will",
    "make",
    "makes",
    "like",
    "likes",
    "liked",
    "love",
    "loved",
    "please",
    "recommend",
    "suggest",
    "show",
    "give",
    "find",
    "watch",
    "see",
    "seen",
    "saw",
    "tonight",
    "good",
    "great",
    "any",
    "more",
    "that",
    "those",
    "these",
    "one",
    "ones",
    "itself",
    "what",
    "about",
    "maybe",
    "can",
    "could",
    "should",
    "do",
    "dont",
    "not",
    "no",
    "never",
    "really",
    "so",
    "very",
    "just",
    "all",
    "else",
    "other",
    "kind",
    "sort",
    "of",
    "again",
    "already",
    "made",
    "released",
    "era",
    "older",
    "newer",
    "than",
    "before",
    "after",
    "since",
    "until",
    "nothing",
    "without",
    "avoid",
    "hate",
    "enjoyed",
    "enjoy",
    "similar",
    "fan",
    "them",
    "they",
    "he",
    "she",
    "kids",
    "family",
    "looking",
    "look",
    "quite",
    "mood",
    // When, not what ("what should I watch next?" searched overviews for
    // "next").
    "next",
    "now",
    // People one watches with, and how they say it: not what a film is
    // about ("with my wife, she loves …" searched overviews for "wife").
    "wife",
    "husband",
    "girlfriend",
    "boyfriend",
    "partner",
    "friend",
    "friends",
    "dad",
    "mom",
    "mum",
    "loves",
    "flick",
    "flicks",
];

struct Ordinal {
    word: &'static str,
    pos: u8,
}
const ORDINALS: &[Ordinal] = &[
    Ordinal {
        word: "first",
        pos: 1,
    },
    Ordinal {
        word: "1st",
        pos: 1,
    },
    Ordinal {
        word: "second",
        pos: 2,
    },
    Ordinal {
        word: "2nd",
        pos: 2,
    },
    Ordinal {
        word: "third",
        pos: 3,
    },
    Ordinal {
        word: "3rd",
        pos: 3,
    },
    Ordinal {
        word: "fourth",
        pos: 4,
    },
    Ordinal {
        word: "4th",
        pos: 4,
    },
    Ordinal {
        word: "fifth",
        pos: 5,
    },
    Ordinal {
        word: "5th",
        pos: 5,
    },
    Ordinal {
        word: "sixth",
        pos: 6,
    },
    Ordinal {
        word: "seventh",
        pos: 7,
    },
    Ordinal {
        word: "eighth",
        pos: 8,
    },
    Ordinal {
        word: "ninth",
        pos: 9,
    },
    Ordinal {
        word: "tenth",
        pos: 10,
    },
];

/// Splits text into clauses at punctuation, so a negation in one clause
/// does not reach into the next ("not too long, a comedy").
fn clauses(text: &str) -> Vec<Vec<String>> {
    let text = without_subtitle_colons(&without_name_dots(text));
    text.split([',', '.', ';', '!', '?', ':'])
        .map(words)
        .filter(|w| !w.is_empty())
        .collect()
}

/// `text` without the colons of titles' subtitles ("Mad Max: Fury Road",
/// "Star Trek: First Contact": a colon between two capitalised words), so
/// that a clause does not end inside a title.
fn without_subtitle_colons(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ':' {
            let before = chars[..i]
                .iter()
                .rposition(|x| !x.is_alphanumeric())
                .map_or(0, |p| p + 1);
            let capital_before = chars.get(before).is_some_and(|x| x.is_uppercase())
                || chars[before..i].iter().all(char::is_ascii_digit) && i > before;
            let capital_after = chars[i + 1..]
                .iter()
                .find(|x| !x.is_whitespace())
                .is_some_and(|x| x.is_uppercase());
            if capital_before && capital_after {
                out.push(' ');
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// `text` without the dots of initials and titles inside names ("Franklin
/// J. Schaffner", "Dr. Strangelove", "George Tillman Jr."), so that a
/// clause does not end inside a name.
fn without_name_dots(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '.' {
            // The word before the dot.
            let start = chars[..i]
                .iter()
                .rposition(|x| !x.is_alphabetic())
                .map_or(0, |p| p + 1);
            let word: String = chars[start..i].iter().collect();
            let initial = word.chars().count() == 1 && word.chars().all(char::is_uppercase);
            if initial || ["Jr", "Sr", "Mr", "Mrs", "Ms", "Dr", "St"].contains(&word.as_str()) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn has_any(w: &[String], set: &[&str]) -> bool {
    w.iter().any(|x| set.contains(&x.as_str()))
}

fn has_phrase(w: &[String], phrase: &[&str]) -> bool {
    w.windows(phrase.len())
        .any(|win| win.iter().zip(phrase).all(|(a, b)| a == b))
}

/// The nearest cue among the `window` words before `at`, if any.
fn cue_before<'a>(w: &'a [String], at: usize, window: usize, set: &[&str]) -> Option<&'a str> {
    let lo = at.saturating_sub(window);
    w[lo..at]
        .iter()
        .rev()
        .find(|x| set.contains(&x.as_str()))
        .map(String::as_str)
}

/// The nearest word or phrase among the five words before `at` that says
/// no to what follows; a phrase is given by its last word.
fn negator_before(w: &[String], at: usize) -> Option<&str> {
    negator_within(w, at, 5)
}

/// [`negator_before`] over the `window` words before `at`.
fn negator_within(w: &[String], at: usize, window: usize) -> Option<&str> {
    let lo = at.saturating_sub(window);
    for i in (lo..at).rev() {
        let word = w[i].as_str();
        let ends_phrase = i > 0
            && NEGATOR_PHRASES
                .iter()
                .any(|[a, b]| w[i - 1] == *a && word == *b);
        if NEGATORS.contains(&word) || ends_phrase {
            return Some(word);
        }
        // "I don't like horror but love comedy": a contrast ends the no.
        if CONTRAST.contains(&word) {
            return None;
        }
    }
    None
}

/// Words that turn a sentence around, so that a no before them does not
/// reach past them.
const CONTRAST: &[&str] = &["but", "however", "yet", "though", "although", "instead"];

fn decade(word: &str) -> Option<(u16, u16)> {
    let named = [
        ("twenties", 1920),
        ("thirties", 1930),
        ("forties", 1940),
        ("fifties", 1950),
        ("sixties", 1960),
        ("seventies", 1970),
        ("eighties", 1980),
        ("nineties", 1990),
    ];
    if let Some((_, y)) = named.iter().find(|(n, _)| *n == word) {
        return Some((*y, y + 9));
    }
    let digits = word.strip_suffix('s')?;
    let start = match digits.len() {
        2 => {
            let n: u16 = digits.parse().ok()?;
            if !n.is_multiple_of(10) {
                return None;
            }
            if n <= 20 { 2000 + n } else { 1900 + n }
        }
        4 => {
            let n: u16 = digits.parse().ok()?;
            if !n.is_multiple_of(10) || !(1900..=2030).contains(&n) {
                return None;
            }
            n
        }
        _ => return None,
    };
    Some((start, start + 9))
}

fn year(word: &str) -> Option<u16> {
    (word.len() == 4)
        .then(|| word.parse::<u16>().ok())
        .flatten()
        .filter(|y| (1900..=2030).contains(y))
}

/// Years from one clause: decades, bounds and single years.
fn years(w: &[String], plan: &mut Plan) {
    // Decades named in this clause so far: "the 70s or 80s" is both.
    let mut span: Option<(u16, u16)> = None;
    // "Between 1980 and 1990", "from 1985 to 1995": the first year, once
    // the second comes.
    let mut range_from: Option<u16> = None;
    for (i, x) in w.iter().enumerate() {
        let prev = if i > 0 { w[i - 1].as_str() } else { "" };
        let prev2 = if i > 1 { w[i - 2].as_str() } else { "" };
        if let Some(y) = year(x) {
            if prev == "between"
                || (prev == "from" && w.get(i + 1).is_some_and(|n| n == "to" || n == "until"))
            {
                range_from = Some(y);
                continue;
            }
            if let Some(lo) = range_from.take()
                && matches!(prev, "and" | "to" | "until")
            {
                plan.want.year_min = Some(lo.min(y));
                plan.want.year_max = Some(lo.max(y));
                continue;
            }
        }
        let negated = has_any(&w[i.saturating_sub(4)..i], &["nothing", "no", "not"]);
        if let Some((lo, hi)) = decade(x) {
            let (lo, hi) = match prev {
                "early" => (lo, lo + 4),
                "mid" => (lo + 3, lo + 6),
                "late" => (lo + 5, hi),
                _ => (lo, hi),
            };
            // "nothing before the 80s": from the 80s on.
            let neg_before = negated && (prev == "before" || prev2 == "before");
            let neg_after = negated && (prev == "after" || prev2 == "after");
            match (prev, prev2) {
                _ if neg_before => plan.want.year_min = Some(lo),
                _ if neg_after => plan.want.year_max = Some(hi),
                ("before", _) | ("the", "before") => plan.want.year_max = Some(lo - 1),
                ("after", _) | ("the", "after") => plan.want.year_min = Some(hi + 1),
                ("since", _) | ("the", "since") => plan.want.year_min = Some(lo),
                _ => {
                    let (lo, hi) = span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi)));
                    span = Some((lo, hi));
                    plan.want.year_min = Some(lo);
                    plan.want.year_max = Some(hi);
                }
            }
        } else if let Some(y) = year(x) {
            let than = prev == "than";
            match (prev, prev2) {
                // "nothing before 1980", "no films after 1995".
                ("before" | "until" | "pre", _) if negated => plan.want.year_min = Some(y),
                ("after", _) if negated => plan.want.year_max = Some(y),
                ("before" | "until" | "pre", _) => plan.want.year_max = Some(y - 1),
                ("after", _) => plan.want.year_min = Some(y + 1),
                ("since", _) => plan.want.year_min = Some(y),
                ("than", "older") if negated => plan.want.year_min = Some(y),
                ("than", "newer" | "younger") if negated => plan.want.year_max = Some(y),
                ("than", "older") => plan.want.year_max = Some(y - 1),
                ("than", "newer" | "younger" | "later") => plan.want.year_min = Some(y + 1),
                _ if than => {}
                _ => {
                    plan.want.year_min = Some(y);
                    plan.want.year_max = Some(y);
                }
            }
        }
    }
    // "Recent", "classic": loose bounds, only where no year was given and
    // nothing negates them ("nothing too old").
    let negated_word = |word: &str| {
        w.iter().position(|x| x == word).is_some_and(|at| {
            has_any(
                &w[at.saturating_sub(3)..at],
                &["no", "not", "nothing", "never", "too"],
            )
        })
    };
    let no_years = plan.want.year_min.is_none() && plan.want.year_max.is_none();
    if no_years
        && !has_any(w, &["than"])
        && ["recent", "newer", "new"]
            .iter()
            .any(|x| w.contains(&x.to_string()) && !negated_word(x))
    {
        plan.want.year_min = Some(1995);
    }
    if no_years
        && !has_any(w, &["than"])
        && ["classic", "classics", "old"]
            .iter()
            .any(|x| w.contains(&x.to_string()) && !negated_word(x))
    {
        plan.want.year_max = Some(1970);
    }
}

fn ordinal(w: &[String]) -> Option<u8> {
    for (i, x) in w.iter().enumerate() {
        if let Some(o) = ORDINALS.iter().find(|o| o.word == x) {
            return Some(o.pos);
        }
        if (x == "number" || x == "no")
            && let Some(n) = w.get(i + 1).and_then(|n| n.parse::<u8>().ok())
        {
            return Some(n);
        }
        if x == "last" {
            return Some(u8::MAX);
        }
    }
    None
}

/// "None of those", "not these", "nope": the whole list, rejected.
fn none_of_those(w: &[String]) -> bool {
    ["those", "these", "them"]
        .iter()
        .any(|x| has_phrase(w, &["none", "of", x]) || has_phrase(w, &["not", x]) && w.len() <= 3)
        || w.len() <= 2 && has_any(w, &["nope", "nah"])
}

/// Feedback on the last list; `None` when the clause is not about it.
/// `asks` is whether the clause names a genre or a year: "more crime
/// please" asks for crime, it does not reject the list.
fn feedback(w: &[String], titled: bool, asks: bool) -> Option<(Feedback, Option<u8>)> {
    let ord = ordinal(w);
    if !titled && has_any(w, SEEN_CUES) {
        if has_any(w, &["them", "all", "those", "these", "both"]) {
            return Some((Feedback::SeenAll, None));
        }
        if has_any(w, &["it", "that", "this", "one"]) || ord.is_some() {
            return Some((Feedback::SeenIt, ord));
        }
    }
    if ord.is_some() && !titled {
        if has_any(w, &["more", "similar"]) || has_phrase(w, &["like", "the"]) {
            return Some((Feedback::MoreLike, ord));
        }
        if has_any(w, NEGATORS) || has_any(w, &["dislike", "disliked", "boring", "bad"]) {
            return Some((Feedback::Disliked, ord));
        }
        if has_any(w, &["liked", "loved", "love", "like", "great"]) {
            return Some((Feedback::Liked, ord));
        }
    }
    if !titled
        && (has_phrase(w, &["more", "like", "that"]) || has_phrase(w, &["more", "like", "this"]))
    {
        // "More like that": the list's first, unless the request named
        // a title it refers to (see `parse`).
        return Some((Feedback::MoreLike, None));
    }
    if has_phrase(w, &["something", "else"])
        || has_phrase(w, &["anything", "else"])
        || has_phrase(w, &["more", "options"])
        || has_phrase(w, &["show", "me", "more"]) && !asks
        || has_any(w, &["different", "others", "next"]) && !asks
        || (w.len() <= 3 && !asks && !titled && has_any(w, &["other", "else", "more"]))
        || none_of_those(w) && !titled
    {
        return Some((Feedback::SomethingElse, None));
    }
    None
}

/// A title found in the request, with where it was found.
struct Mention {
    item: ItemId,
    title: String,
    /// Lower-case title words without articles.
    words: Vec<String>,
}

/// Titles the text names: confident links that do not overlap, where a
/// one-word title must be written with its capital ("Alien", not "for my
/// kids" for the film Kids).
fn titles(text: &str, linker: &dyn Linker, vocab_words: &[String]) -> Vec<Mention> {
    let links = linker.link_titles(text);
    let mut used: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for l in links
        .into_iter()
        .filter(|l| l.confidence >= TITLE_CONFIDENCE)
    {
        let base = match l.title.find(" (") {
            Some(i) if i > 0 => &l.title[..i],
            _ => l.title.as_str(),
        };
        // The words the user said the title by: the whole title, or the
        // part before its colon ("Star Trek", "Terminator 2") or after it
        // ("First Contact"), whichever the text holds more of.
        let text_words = words(text);
        let content = |part: &str| -> Vec<String> {
            words(part)
                .into_iter()
                .filter(|w| !["the", "a", "an"].contains(&w.as_str()))
                .collect()
        };
        let mut parts = vec![content(base)];
        if let Some((head, sub)) = base.split_once(':') {
            parts.extend(
                [content(head), content(sub)]
                    .into_iter()
                    .filter(|p| p.len() >= 2),
            );
        }
        let said = |p: &Vec<String>| p.iter().filter(|w| text_words.contains(w)).count();
        let Some(tw) = parts
            .into_iter()
            .max_by_key(|p| (said(p), std::cmp::Reverse(p.len())))
        else {
            continue;
        };
        // A title whose words another title took is not named twice;
        // "star" in "Star Wars or Star Trek" is shared, "trek" is not.
        if tw.is_empty()
            || tw.iter().all(|w| used.contains(w))
            || tw.iter().any(|w| used.contains(w)) && said(&tw) < tw.len()
        {
            continue;
        }
        if tw.len() == 1 {
            let cap = base
                .split(|c: char| !c.is_alphanumeric())
                .find(|p| p.to_lowercase() == tw[0])
                .unwrap_or("");
            let written = text
                .split(|c: char| !c.is_alphanumeric())
                .any(|p| p == cap && p.chars().next().is_some_and(char::is_uppercase))
                // "the godfather": typed in lower case, but with the
                // article the title has.
                || ["The", "A", "An"].iter().any(|a| {
                    base.trim_end().ends_with(&format!(", {a}"))
                        && words(text)
                            .windows(2)
                            .any(|p| p[0] == a.to_lowercase() && p[1] == tw[0])
                })
                // "like fargo", "similar to jaws": typed in lower case, but
                // right after a comparison ("I'd like heat" wants, it does
                // not compare).
                || text_words.iter().enumerate().any(|(i, w)| {
                    *w == tw[0]
                        && i >= 1
                        && (text_words[i - 1] == "like"
                            && !(i >= 2
                                && ["would", "id", "d", "wd"].contains(&text_words[i - 2].as_str()))
                            || i >= 2 && text_words[i - 2] == "similar" && text_words[i - 1] == "to")
                });
            // A one-word title that is also a genre word ("Horror") or a
            // stopword is read as that word.
            if !written || vocab_words.contains(&tw[0]) || STOPWORDS.contains(&tw[0].as_str()) {
                continue;
            }
        }
        used.extend(tw.iter().cloned());
        out.push(Mention {
            item: l.item,
            title: base.trim().to_owned(),
            words: tw,
        });
    }
    out
}

/// What a turn's words say about the conversation, beyond its slots.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cues {
    /// It refines what stands ("more crime please", "only the 90s",
    /// "and nothing before 1980") rather than asking anew.
    pub refine: bool,
    /// Its titles add to the anchors ("also like Heat").
    pub also: bool,
    /// Its genres replace the standing ones ("actually, a comedy").
    pub replace_genres: bool,
    /// "Older films are fine", "any year": the year bounds go.
    pub clear_years: bool,
    /// "Any genre": the wanted genres go.
    pub clear_genres: bool,
    /// "Horror is fine": these genres are no longer avoided.
    pub allow_genres: Vec<String>,
    /// "Something else", "others": the whole last list is set aside, even
    /// when the feedback names one item of it ("seen it, something else").
    pub something_else: bool,
    /// The words say something about when a film was made: a year, a
    /// decade, or a word like "old", "recent" or "classic". A model's year
    /// bounds stand only where this holds ([`crate::check::ground`]).
    #[serde(default)]
    pub time_words: bool,
    /// The words say no to something ("no", "nothing", "without", "hate"):
    /// a model's genres to avoid stand only where this holds.
    #[serde(default)]
    pub negative_words: bool,
    /// The genres the words name, by name or synonym ("scary" is Horror):
    /// a model's genres to avoid stand only among these.
    #[serde(default)]
    pub named_genres: Vec<String>,
    /// "Seen the first two", "not the top 3": feedback on the first N
    /// items of the last list, not on one.
    #[serde(default)]
    pub first_n: Option<u8>,
    /// "A funny animated movie for my kids": a whole new request (an
    /// article, then a film), not a word added to the one that stands.
    #[serde(default)]
    pub new_request: bool,
}

/// Counts people say after "first" or "top".
const COUNTS: &[(&str, u8)] = &[
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("couple", 2),
    ("2", 2),
    ("3", 3),
    ("4", 4),
    ("5", 5),
];

/// "The first two", "top 3", "first couple": the count and the position
/// of its word.
fn first_n(w: &[String]) -> Option<(u8, usize)> {
    w.windows(2).enumerate().find_map(|(i, pair)| {
        let lead = pair[0] == "first" || pair[0] == "top";
        let n = COUNTS.iter().find(|(c, _)| pair[1] == *c).map(|(_, n)| *n);
        lead.then_some(n).flatten().map(|n| (n, i + 1))
    })
}

/// A turn that asks for no list: thanks, a greeting, or what the agent
/// knows about the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Social {
    /// "Thanks!", "great, thank you", "bye".
    Thanks,
    /// "Hi", "hello there".
    Hello,
    /// "What do you know about me?", "show my profile".
    Profile,
}

const THANKS: &[&str] = &[
    "thanks", "thank", "thx", "ty", "cheers", "bye", "goodbye", "ciao",
];
const HELLO: &[&str] = &["hi", "hello", "hey", "hiya", "howdy"];
/// Words that may stand beside thanks or a greeting in a turn that asks
/// for nothing more.
const SOCIAL_FILLER: &[&str] = &[
    "you",
    "so",
    "much",
    "a",
    "lot",
    "great",
    "cool",
    "awesome",
    "perfect",
    "nice",
    "ok",
    "okay",
    "good",
    "very",
    "many",
    "that",
    "is",
    "it",
    "for",
    "the",
    "help",
    "again",
    "there",
    "all",
    "now",
    "night",
    "see",
    "ya",
    "later",
    "will",
    "do",
    "oh",
    "wow",
    "excellent",
    "sounds",
    "looks",
    "lovely",
    "amazing",
    "thats",
    "im",
    "i",
    "set",
    "done",
    "enjoy",
    "those",
    "these",
    "them",
    "suggestions",
    "recommendations",
    "list",
    "picks",
    "and",
    "morning",
    "evening",
    "recagent",
    "agent",
];

/// Whether `text` asks for no list, only a word back. `draft` is its
/// parse: a turn that asks for anything (a genre, a year, a title,
/// feedback) is not social, whatever else it says ("thanks, something
/// else").
pub fn social(text: &str, draft: &Plan) -> Option<Social> {
    let w = words(text);
    if w.is_empty() {
        return None;
    }
    let asks = !draft.want.genres.is_empty()
        || !draft.want.prefer_genres.is_empty()
        || !draft.want.avoid_genres.is_empty()
        || !draft.never_genres.is_empty()
        || draft.want.year_min.is_some()
        || draft.want.year_max.is_some()
        || !draft.liked_titles.is_empty()
        || !draft.excluded_titles.is_empty()
        || !draft.seen_titles.is_empty()
        || draft.feedback != Feedback::None;
    if asks {
        return None;
    }
    let about_me = has_phrase(&w, &["about", "me"])
        && has_any(&w, &["know", "remember", "learned"])
        || has_phrase(&w, &["my", "profile"])
        || has_phrase(&w, &["my", "taste"])
        || has_phrase(&w, &["what", "do", "you", "remember"])
        || has_phrase(&w, &["what", "do", "you", "know"]);
    let changes_memory = has_any(
        &w,
        &[
            "forget",
            "delete",
            "erase",
            "remove",
            "clear",
            "reset",
            "remember",
            "recommend",
        ],
    ) && !has_phrase(&w, &["you", "remember"]);
    if about_me && !changes_memory {
        return Some(Social::Profile);
    }
    let only = |set: &[&str]| {
        has_any(&w, set)
            && w.iter().all(|x| {
                set.contains(&x.as_str())
                    || SOCIAL_FILLER.contains(&x.as_str())
                    || THANKS.contains(&x.as_str())
                    || HELLO.contains(&x.as_str())
            })
    };
    if only(THANKS) {
        Some(Social::Thanks)
    } else if only(HELLO) {
        Some(Social::Hello)
    } else {
        None
    }
}

/// Words after which a capitalised name is a film the user saw or loved.
const NAMING_CUES: &[&str] = &["loved", "love", "enjoyed", "watched", "saw"];

/// Words after "like" that point at the list, not at a title.
const POINTERS: &[&str] = &[
    "that", "this", "it", "them", "those", "these", "one", "ones", "him", "her", "me", "you",
];

/// The words a request names a film by, where no film of the catalog
/// answers to them: "something like the matrix" in a catalog without it.
/// `draft` is the request's parse; a request that linked a title, or whose
/// words after "like" are a genre, a year, a pointer ("more like that") or
/// a position, names none.
pub fn unknown_title(text: &str, draft: &Plan, vocab: &Vocab) -> Option<String> {
    // "We watched Whiplash and loved it, what next?": "watched", "loved
    // it" and "what next" are about the film named, not feedback on a
    // list.
    if !draft.liked_titles.is_empty()
        || !matches!(
            draft.feedback,
            Feedback::None | Feedback::Liked | Feedback::SeenIt | Feedback::SomethingElse
        )
    {
        return None;
    }
    for w in clauses(text) {
        // "like X", "similar to X"; or, for a name written as a title
        // (its first word capitalised), "I loved X", "we watched X",
        // "my favourite film is X".
        let compared = w.iter().position(|x| x == "like" || x == "similar");
        let named = w
            .iter()
            .position(|x| NAMING_CUES.contains(&x.as_str()))
            .filter(|&i| {
                w.get(i + 1).is_some_and(|n| {
                    text.split(|c: char| !c.is_alphanumeric()).any(|p| {
                        p.to_lowercase() == *n && p.chars().next().is_some_and(char::is_uppercase)
                    })
                })
            });
        let Some(at) = compared.or(named).map(|i| {
            if w.get(i + 1).is_some_and(|n| n == "to") {
                i + 2
            } else {
                i + 1
            }
        }) else {
            continue;
        };
        // "I'd like a comedy": "like" wants, it does not compare.
        if at >= 2 && matches!(w[at - 2].as_str(), "would" | "id" | "wd") {
            continue;
        }
        let stop = [
            "but",
            "and",
            "with",
            "from",
            "for",
            "except",
            "not",
            "without",
            "or",
            "please",
            "anything",
            "what",
            "more",
            "something",
        ];
        let name: Vec<&String> = w[at..]
            .iter()
            .take_while(|x| !stop.contains(&x.as_str()))
            .collect();
        let meaningful: Vec<&&String> = name
            .iter()
            .filter(|x| {
                !matches!(
                    x.as_str(),
                    "the" | "a" | "an" | "movie" | "film" | "movies" | "films"
                )
            })
            .collect();
        let owned: Vec<String> = name.iter().map(|x| (*x).clone()).collect();
        if meaningful.is_empty()
            || name.iter().any(|x| POINTERS.contains(&x.as_str()))
            || name
                .iter()
                .any(|x| decade(x).is_some() || year(x).is_some())
            || !vocab.mentions(&owned).is_empty()
            // A person named whole ("like Tom Hanks"), not a name inside a
            // title ("Mad Max: Fury Road").
            || vocab
                .people()
                .mentions(&owned, text)
                .iter()
                .any(|m| m.len >= meaningful.len())
            || ordinal(&owned).is_some()
        {
            continue;
        }
        let name = owned.join(" ");
        // As the user wrote it, from its first word to its last, where the
        // words stand in the text as they are ("Mad Max: Fury Road").
        let lower = text.to_lowercase();
        let word_at = |w: &str, from: usize| {
            lower[from..]
                .match_indices(w)
                .map(|(i, _)| from + i)
                .find(|&i| {
                    !lower[..i]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_alphanumeric)
                })
        };
        let written = (lower.len() == text.len())
            .then(|| {
                let first = word_at(&owned[0], 0)?;
                let last = owned.last()?;
                let end = word_at(last, first)? + last.len();
                Some(text[first..end].to_owned())
            })
            .flatten();
        return Some(written.unwrap_or(name));
    }
    None
}

/// Words that ask for films older than the list just shown.
const OLDER: &[&str] = &["older", "earlier"];

/// "Something older" after a list: a bound relative to that list, where
/// the words give no year of their own. `last_years` are the years of the
/// list shown last. The bound is the year before the list's median, so
/// most of what was shown goes. ("Newer" and "recent" already mean from
/// 1995 on, in [`parse`].)
pub fn relative_years(text: &str, last_years: &[u16], plan: &mut Plan) {
    if last_years.is_empty() || plan.want.has_years() {
        return;
    }
    let w = words(text);
    if has_any(&w, &["than", "fine", "ok", "okay", "matter", "care"]) {
        return;
    }
    let mut years = last_years.to_vec();
    years.sort_unstable();
    let median = years[years.len() / 2];
    // "Not so old", "nothing too old": the newer half of the list.
    let not_old = w.iter().enumerate().any(|(at, x)| {
        (x == "old" || x == "older")
            && has_any(
                &w[at.saturating_sub(3)..at],
                &["no", "not", "nothing", "never"],
            )
    });
    if not_old {
        plan.want.year_min = Some(median);
    } else if has_any(&w, OLDER) && !has_any(&w, &["no", "not", "nothing", "never"]) {
        plan.want.year_max = Some(median - 1);
    }
}

/// Words that say no to something.
const NEGATIVE_WORDS: &[&str] = &[
    "no", "not", "nothing", "none", "without", "never", "hate", "hates", "dislike", "dislikes",
    "dont", "doesnt", "wont", "cant", "avoid", "except", "skip", "nor", "neither", "less", "fewer",
    "too", "stop", "enough", "isnt", "arent", "hated", "disliked", "detest", "detests", "loathe",
    "loathes",
];

/// Words that speak of when a film was made, besides years and decades.
const TIME_WORDS: &[&str] = &[
    "year",
    "years",
    "decade",
    "decades",
    "era",
    "century",
    "old",
    "older",
    "oldest",
    "oldie",
    "oldies",
    "new",
    "newer",
    "newest",
    "recent",
    "recently",
    "latest",
    "modern",
    "classic",
    "classics",
    "vintage",
    "retro",
    "contemporary",
    "current",
    "silent",
    "ago",
    "golden",
];

/// Words that make a turn refine the request that stands, anywhere in it.
const REFINE_CUES: &[&str] = &[
    "more",
    "also",
    "too",
    "only",
    "instead",
    "rather",
    "actually",
    "now",
    "just",
    "less",
    "fewer",
    "prefer",
    "preferably",
    "though",
];
/// Words that do so when a clause starts with them ("and nothing before
/// 1980", "but newer").
const LEADING_REFINE_CUES: &[&str] = &[
    "make", "but", "and", "plus", "still", "again", "same", "lighter", "darker", "newer", "older",
    "earlier", "later", "nothing", "no", "not", "without", "with", "or", "what", "how",
];
const FINE: &[&str] = &["fine", "ok", "okay", "welcome", "allowed", "mind"];

fn cues_of(w: &[String], vocab: &Vocab) -> Cues {
    let mut c = Cues::default();
    let first = w.first().map(String::as_str).unwrap_or("");
    c.refine = has_any(w, REFINE_CUES) || LEADING_REFINE_CUES.contains(&first);
    c.also = has_any(w, &["also", "too"]) || has_phrase(w, &["as", "well"]);
    c.replace_genres = has_any(w, &["instead", "rather", "actually"]);
    let year_words = ["year", "years", "decade", "decades", "era", "date", "when"];
    let any_year = has_phrase(w, &["any", "year"])
        || has_phrase(w, &["any", "decade"])
        || has_phrase(w, &["any", "era"])
        || has_phrase(w, &["any", "time"]);
    let old_ok = has_any(
        w,
        &[
            "older", "old", "newer", "new", "recent", "classic", "classics",
        ],
    ) && has_any(w, FINE)
        && !has_any(w, &["than", "before", "after", "since"]);
    let year_dont_matter = has_any(w, &year_words) && has_any(w, &["matter", "matters", "care"]);
    c.clear_years = any_year || old_ok || year_dont_matter;
    c.clear_genres = has_phrase(w, &["any", "genre"])
        || has_any(w, &["genre", "genres"]) && has_any(w, &["matter", "matters", "care"]);
    if has_any(w, FINE) {
        for g in vocab.mentions(w) {
            if !c.allow_genres.contains(&g.genre) {
                c.allow_genres.push(g.genre);
            }
        }
    }
    c.time_words = w
        .iter()
        .any(|x| TIME_WORDS.contains(&x.as_str()) || decade(x).is_some() || year(x).is_some())
        || has_phrase(w, &["black", "and", "white"]);
    c.negative_words =
        has_any(w, NEGATIVE_WORDS) || NEGATOR_PHRASES.iter().any(|p| has_phrase(w, p));
    c.first_n = first_n(w).map(|(n, _)| n);
    // "A funny animated movie", "a romantic comedy", "a western": an
    // article, then a film or a kind of film.
    c.new_request = matches!(first, "a" | "an" | "some")
        && (has_any(w, &["movie", "movies", "film", "films"])
            || vocab.mentions(w).iter().any(|g| !g.soft && g.at <= 2));
    for g in vocab.mentions(w) {
        if !c.named_genres.contains(&g.genre) {
            c.named_genres.push(g.genre);
        }
    }
    c.something_else = has_phrase(w, &["something", "else"])
        || has_phrase(w, &["anything", "else"])
        || has_any(w, &["different", "others"])
        || none_of_those(w);
    if c.clear_years || c.clear_genres || !c.allow_genres.is_empty() {
        c.refine = true;
    }
    c
}

/// The cues of a whole request, clause by clause.
pub fn cues(text: &str, vocab: &Vocab) -> Cues {
    let mut out = Cues::default();
    for w in clauses(text) {
        let c = cues_of(&w, vocab);
        out.refine |= c.refine;
        out.also |= c.also;
        out.replace_genres |= c.replace_genres;
        out.clear_years |= c.clear_years;
        out.clear_genres |= c.clear_genres;
        out.something_else |= c.something_else;
        out.time_words |= c.time_words;
        out.negative_words |= c.negative_words;
        out.first_n = out.first_n.or(c.first_n);
        out.new_request |= c.new_request;
        for g in c.allow_genres {
            if !out.allow_genres.contains(&g) {
                out.allow_genres.push(g);
            }
        }
        for g in c.named_genres {
            if !out.named_genres.contains(&g) {
                out.named_genres.push(g);
            }
        }
    }
    out
}

/// Reads one request. `last_len` is the length of the list shown last turn
/// (0 when none), so "the last one" has a position.
pub fn parse(text: &str, vocab: &Vocab, linker: &dyn Linker, last_len: usize) -> Plan {
    let mut plan = Plan::default();
    let vocab_words: Vec<String> = vocab.genres().iter().flat_map(|g| words(g)).collect();
    let mentions = titles(text, linker, &vocab_words);
    let title_words: Vec<String> = mentions.iter().flat_map(|m| m.words.clone()).collect();
    let mut intent: Vec<String> = Vec::new();

    for w in clauses(text) {
        let titled = clause_titles(&w, &mentions, &mut plan);
        let (found, mut consumed) = clause_genres(&w, vocab, &mut plan);
        let mut soft_people = Vec::new();
        let named = clause_people(
            &w,
            text,
            vocab,
            &title_words,
            &mut plan,
            &mut consumed,
            &mut soft_people,
        );
        // A theme that also hints at a genre ("a heist", "set in space")
        // is searched as a word too: the overviews and keywords say it.
        for (c, x) in consumed.iter_mut().zip(&w) {
            if THEME_WORDS.contains(&x.as_str()) {
                *c = false;
            }
        }
        let clause_cues = cues_of(&w, vocab);
        let years_before = (plan.want.year_min, plan.want.year_max);
        if !clause_cues.clear_years {
            years(&w, &mut plan);
        }
        let asks = found || named || (plan.want.year_min, plan.want.year_max) != years_before;
        if let Some((fb, pos)) = feedback(&w, titled, asks)
            && (plan.feedback == Feedback::None || fb != Feedback::SomethingElse)
        {
            plan.feedback = fb;
            plan.feedback_position = match pos {
                Some(u8::MAX) => u8::try_from(last_len.max(1)).ok(),
                p => p,
            };
        }
        let count_at = first_n(&w).map(|(_, at)| at);
        for (i, x) in w.iter().enumerate() {
            let keep = !consumed[i]
                && Some(i) != count_at
                && !STOPWORDS.contains(&x.as_str())
                && !title_words.contains(x)
                && !NEGATORS.contains(&x.as_str())
                // What the user says no to ("nothing too violent", "without
                // gore") is not what to search for.
                && negator_within(&w, i, 2).is_none()
                && decade(x).is_none()
                && year(x).is_none()
                && ORDINALS.iter().all(|o| o.word != x)
                && ![
                    "early", "mid", "late", "recent", "classic", "classics", "old", "new", "it",
                    "them", "last", "adult", "adults", "grownups",
                ]
                .contains(&x.as_str())
                && !(named && PERSON_CUES.contains(&x.as_str()))
                && !["starring", "actor", "actress", "director", "directed"].contains(&x.as_str());
            if keep {
                intent.push(x.clone());
            }
        }
        // "Something like Kubrick's films": their films are searched for
        // by name and come first, but others may follow.
        for name in soft_people {
            for x in words(&name) {
                if !intent.contains(&x) {
                    intent.push(x);
                }
            }
        }
    }
    // "Directed by Michael Caton-Jones": a title inside a person's name
    // (the film "Michael") is the person's, not a film the user named.
    let named: Vec<Vec<String>> = plan
        .want
        .people
        .iter()
        .chain(&plan.want.avoid_people)
        .map(|p| words(p))
        .collect();
    for m in &mentions {
        if named.iter().any(|n| m.words.iter().all(|w| n.contains(w))) {
            for list in [
                &mut plan.liked_titles,
                &mut plan.seen_titles,
                &mut plan.excluded_titles,
            ] {
                list.retain(|t| *t != m.title);
            }
        }
    }
    // "Like Toy Story but for adults": not the kids' genre, unless the
    // words also ask for kids.
    let all_words = words(text);
    let kids = vocab.canonical("kids");
    if (has_any(&all_words, &["adult", "adults", "grownups"])
        || has_phrase(&all_words, &["grown", "ups"]))
        && let Some(kids) = kids
        && !vocab.mentions(&all_words).iter().any(|g| g.genre == kids)
        && !plan.want.avoid_genres.contains(&kids)
    {
        plan.want.avoid_genres.push(kids);
    }
    // A genre both wanted and avoided in one request is avoided; one both
    // required and preferred is required.
    plan.want
        .genres
        .retain(|g| !plan.want.avoid_genres.contains(g) && !plan.never_genres.contains(g));
    plan.want.prefer_genres.retain(|g| {
        !plan.want.genres.contains(g)
            && !plan.want.avoid_genres.contains(g)
            && !plan.never_genres.contains(g)
    });
    // "We loved Heat. More like that?": "that" is the title just named.
    if plan.feedback == Feedback::MoreLike && plan.feedback_position.is_none() {
        if plan.liked_titles.is_empty() {
            plan.feedback_position = Some(1);
        } else {
            plan.feedback = Feedback::None;
        }
    }
    plan.intent = intent.join(" ");
    plan
}

/// Genre synonyms that are also themes a film's facts name.
const THEME_WORDS: &[&str] = &[
    "heist",
    "robbery",
    "space",
    "detective",
    "gangster",
    "gangsters",
    "mafia",
    "cowboy",
    "cowboys",
    "whodunit",
];

/// Words just before a name that make it a person: "with Tom Hanks", "by
/// Kubrick", "starring …", "directed by …".
const PERSON_CUES: &[&str] = &[
    "with",
    "by",
    "starring",
    "stars",
    "star",
    "directed",
    "director",
    "actor",
    "actress",
    "featuring",
    "from",
];

/// Words before "like" that make it "enjoy" ("I like Tom Hanks", "my wife
/// would like a Kubrick film") rather than a comparison.
const LIKE_AS_ENJOY: &[&str] = &[
    "i", "we", "she", "he", "they", "you", "really", "also", "do", "does", "would", "id", "d",
    "shed", "hed", "wed", "youd", "theyd", "wd", "might", "may", "all", "both",
];

/// The people one clause names, each wanted or (after "no", "not",
/// "without", "nothing with") avoided. A name that is also the title just
/// linked is the title, unless a person cue comes before it ("Ed Wood" is
/// the film; "with Ed Wood" is the man). Marks the name's words consumed.
/// Returns whether the clause names someone.
///
/// A person compared with ("something like Kubrick's films", "films like
/// a Spielberg movie") is a soft wish, not a filter: the name goes to
/// `soft` (searched as words), where "I like Tom Hanks" and "I'd like a
/// John Woo film" want the person.
fn clause_people(
    w: &[String],
    text: &str,
    vocab: &Vocab,
    title_words: &[String],
    plan: &mut Plan,
    consumed: &mut [bool],
    soft: &mut Vec<String>,
) -> bool {
    let mut named = false;
    for m in vocab.people().mentions(w, text) {
        let span = &w[m.at..m.at + m.len];
        let cue = m.at > 0 && PERSON_CUES.contains(&w[m.at - 1].as_str());
        if !cue && span.iter().all(|x| title_words.contains(x)) {
            continue;
        }
        if span.iter().zip(&consumed[m.at..]).any(|(_, c)| *c) && m.len == 1 {
            continue;
        }
        // "no Jim Carrey", "nothing with Jim Carrey", "not a Kubrick film".
        let lo = m.at.saturating_sub(3);
        let negated = w[lo..m.at].iter().rev().enumerate().any(|(k, x)| {
            NEGATORS.contains(&x.as_str())
                && w[m.at - k..m.at].iter().all(|y| {
                    PERSON_CUES.contains(&y.as_str())
                        || ["a", "an", "the", "any"].contains(&y.as_str())
                })
        });
        let mut k = m.at;
        while k > 0 && ["a", "an", "the", "some"].contains(&w[k - 1].as_str()) {
            k -= 1;
        }
        let compared = !negated
            && k > 0
            && w[k - 1] == "like"
            && !(k >= 2 && LIKE_AS_ENJOY.contains(&w[k - 2].as_str()));
        let list = if negated {
            &mut plan.want.avoid_people
        } else if compared {
            &mut *soft
        } else {
            &mut plan.want.people
        };
        if !list.contains(&m.name) {
            list.push(m.name.clone());
        }
        for c in consumed.iter_mut().skip(m.at).take(m.len) {
            *c = true;
        }
        named = true;
    }
    named
}

/// The titles in one clause, each filed as seen, excluded or liked by the
/// cue nearest before it. Returns whether the clause names a title.
fn clause_titles(w: &[String], mentions: &[Mention], plan: &mut Plan) -> bool {
    let mut titled = false;
    for m in mentions {
        for at in 0..w.len() {
            if w[at] != m.words[0] {
                continue;
            }
            titled = true;
            let cue_window = 4;
            let seen = cue_before(w, at, cue_window, SEEN_CUES);
            let excl = cue_before(w, at, cue_window, EXCLUDE_CUES);
            let liked = cue_before(w, at, cue_window, LIKED_CUES);
            let nearest = |c: Option<&str>| c.and_then(|c| w[..at].iter().rposition(|x| x == c));
            let (ps, pe, pl) = (nearest(seen), nearest(excl), nearest(liked));
            let best = [(ps, 0), (pe, 1), (pl, 2)]
                .into_iter()
                .filter_map(|(p, k)| p.map(|p| (p, k)))
                .max();
            // "We watched Titanic and loved it": a liking said after the
            // title wins over the seeing said before it.
            let liked_after = w[at + m.words.len().min(w.len() - at)..]
                .iter()
                .take(6)
                .any(|x| ["loved", "liked", "enjoyed", "adored"].contains(&x.as_str()));
            let best = match best {
                Some((p, 0)) if liked_after => Some((p, 2)),
                b => b,
            };
            let list = match best {
                Some((_, 0)) => &mut plan.seen_titles,
                Some((_, 1)) => &mut plan.excluded_titles,
                _ => &mut plan.liked_titles,
            };
            if !list.contains(&m.title) {
                list.push(m.title.clone());
            }
        }
    }
    titled
}

/// The genres in one clause, with negation within it. Genres joined by
/// "or" are alternatives: each is a preference, not a requirement.
/// Returns whether the clause names a genre, and which of its words the
/// genres took.
/// Mood words that, right before a genre, name a kind of film with it
/// ("romantic comedy", "romantic drama").
const KIND_ADJECTIVES: &[&str] = &["romantic"];

fn clause_genres(w: &[String], vocab: &Vocab, plan: &mut Plan) -> (bool, Vec<bool>) {
    let found = vocab.mentions(w);
    let either: Vec<bool> = found
        .iter()
        .enumerate()
        .map(|(k, g)| {
            let before =
                k > 0 && w[found[k - 1].at + found[k - 1].len..g.at].contains(&"or".to_owned());
            let after = found
                .get(k + 1)
                .is_some_and(|n| w[g.at + g.len..n.at].contains(&"or".to_owned()));
            before || after
        })
        .collect();
    let mut consumed = vec![false; w.len()];
    for (k, g) in found.iter().enumerate() {
        for c in consumed.iter_mut().skip(g.at).take(g.len) {
            *c = true;
        }
        let add = |list: &mut Vec<String>| {
            if !list.contains(&g.genre) {
                list.push(g.genre.clone());
            }
        };
        // "A romantic comedy" is a kind of film, both genres, where "a
        // comedy but romantic" is a comedy with a wish.
        let kind = g.soft
            && g.len == 1
            && KIND_ADJECTIVES.contains(&w[g.at].as_str())
            && found
                .get(k + 1)
                .is_some_and(|n| n.at == g.at + g.len && !n.soft);
        match negator_before(w, g.at) {
            Some(n) if LASTING.contains(&n) => add(&mut plan.never_genres),
            Some(_) => add(&mut plan.want.avoid_genres),
            None if (g.soft && !kind) || either[k] => add(&mut plan.want.prefer_genres),
            None => add(&mut plan.want.genres),
        }
    }
    (!found.is_empty(), consumed)
}

/// The catalog items a text (a model's answer) names by title: what
/// grounding checks against the list.
pub fn named_items(text: &str, linker: &dyn Linker, vocab: &Vocab) -> Vec<ItemId> {
    let vocab_words: Vec<String> = vocab.genres().iter().flat_map(|g| words(g)).collect();
    titles(text, linker, &vocab_words)
        .into_iter()
        .map(|m| m.item)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use recagent_core::{Catalog, Constraint, Item, NoProgress, TitleLink};
    use recagent_retrieval::LexicalIndex;

    /// The product's tantivy title linking over a fixture catalog.
    struct Lexical(LexicalIndex);

    impl Linker for Lexical {
        fn link_titles(&self, text: &str) -> Vec<TitleLink> {
            self.0.link_titles(text).expect("link")
        }
    }

    fn lexical(catalog: &Catalog, dir: &std::path::Path) -> Lexical {
        Lexical(LexicalIndex::build(catalog, dir, &NoProgress).expect("index"))
    }

    #[test]
    fn a_clause_does_not_end_inside_a_name() {
        let c = clauses("a drama directed by Franklin J. Schaffner. Dr. Strangelove was fun");
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0][3..], ["by", "franklin", "j", "schaffner"]);
        assert_eq!(c[1][..2], ["dr", "strangelove"]);
    }

    /// Recall that links no title: the parse of words alone.
    #[derive(Debug)]
    struct NoTitles;

    impl Linker for NoTitles {
        fn link_titles(&self, _: &str) -> Vec<TitleLink> {
            Vec::new()
        }
    }

    fn vocab() -> Vocab {
        let genres = [
            "Action",
            "Animation",
            "Children's",
            "Comedy",
            "Crime",
            "Drama",
            "Horror",
            "Sci-Fi",
            "Western",
        ];
        let items = genres
            .iter()
            .enumerate()
            .map(|(i, g)| Item {
                id: ItemId(i as u32),
                key: i.to_string(),
                title: format!("t{i}"),
                year: Some(1990),
                genres: vec![(*g).into()],
                text: String::new(),
                relations: Default::default(),
                ..Default::default()
            })
            .collect();
        Vocab::new(&Catalog::new("v", items, Vec::new(), Vec::new()).expect("catalog"))
    }

    fn p(text: &str) -> Plan {
        parse(text, &vocab(), &NoTitles, 10)
    }

    #[test]
    fn thanks_a_greeting_and_about_me_ask_for_no_list() {
        let social = |text: &str| social(text, &p(text));
        assert_eq!(social("thanks!"), Some(Social::Thanks));
        assert_eq!(social("Great, thank you so much"), Some(Social::Thanks));
        assert_eq!(social("ok bye"), Some(Social::Thanks));
        assert_eq!(social("hello there"), Some(Social::Hello));
        assert_eq!(social("What do you know about me?"), Some(Social::Profile));
        assert_eq!(social("show my profile"), Some(Social::Profile));
        // Anything asked besides is a request.
        assert_eq!(social("thanks, something else"), None);
        assert_eq!(social("thanks! now a western"), None);
        assert_eq!(social("hi, I want a comedy from the 90s"), None);
        assert_eq!(social("thanks, I liked the second one"), None);
        assert_eq!(social("forget what you know about me"), None);
        assert_eq!(social("recommend something for me"), None);
        assert_eq!(social("a movie about me and my dog"), None);
        assert_eq!(social(""), None);
        assert!(!p("thanks, something else").intent.contains("thanks"));
    }

    #[test]
    fn a_film_named_that_the_catalog_lacks_is_told() {
        let catalog = films();
        let dir = tempfile::tempdir().expect("tempdir");
        let recall = lexical(&catalog, dir.path());
        let v = Vocab::new(&catalog);
        let unknown = |text: &str| unknown_title(text, &parse(text, &v, &recall, 10), &v);
        assert_eq!(
            unknown("something like the matrix"),
            Some("the matrix".into())
        );
        assert_eq!(
            unknown("films similar to Zorgon Attacks, but older"),
            Some("Zorgon Attacks".into())
        );
        // A subtitle after a colon is part of the name.
        assert_eq!(
            unknown("like Zorgon Attacks: Fury Road"),
            Some("Zorgon Attacks: Fury Road".into())
        );
        // "loved it" is about the film named, not the last list.
        assert_eq!(
            unknown("we just watched Zorgon and loved it, what next?"),
            Some("Zorgon".into())
        );
        // A title the catalog has, a genre, a pointer, a position, a want.
        assert_eq!(unknown("something like Alien"), None);
        assert_eq!(unknown("something like a comedy"), None);
        assert_eq!(unknown("more like that"), None);
        assert_eq!(unknown("more like the second one"), None);
        assert_eq!(unknown("I would like a western"), None);
        assert_eq!(unknown("I'd like something from the 80s"), None);
        assert_eq!(unknown("a heist movie"), None);
    }

    #[test]
    fn when_to_watch_is_not_what_to_search() {
        assert_eq!(p("what should I watch next?").intent, "");
        assert_eq!(p("what can I watch now").intent, "");
        assert_eq!(p("a heist film to watch now").intent, "heist");
    }

    #[test]
    fn what_the_user_says_no_to_is_not_searched_for() {
        // "Nothing too violent" once searched for "violent" and put A
        // Clockwork Orange first.
        let intent = |t: &str| p(t).intent;
        assert_eq!(intent("a film from the 70s, nothing too violent"), "");
        assert_eq!(intent("a heist film without gore"), "heist");
        assert_eq!(intent("a space adventure, not too long"), "space adventure");
        assert_eq!(intent("no violence, just a road trip"), "road trip");
        // A no reaches two words: what follows is asked for.
        assert_eq!(intent("a less known gem about space"), "space");
        assert_eq!(intent("I hate sad endings but love a heist"), "heist");
    }

    #[test]
    fn the_first_n_is_a_cue_and_not_a_search_word() {
        let v = vocab();
        assert_eq!(cues("seen the first two", &v).first_n, Some(2));
        assert_eq!(cues("not the top 3, something else", &v).first_n, Some(3));
        assert_eq!(cues("seen the first one", &v).first_n, None);
        assert_eq!(cues("two brothers on a road trip", &v).first_n, None);
        assert_eq!(p("seen the first two").intent, "");
        assert_eq!(p("seen the first two").feedback, Feedback::SeenIt);
    }

    #[test]
    fn older_is_older_than_the_list_just_shown() {
        let shown = [1991, 1997, 1982, 1984, 1989, 1970, 1994];
        let older = |text: &str| {
            let mut plan = Plan::default();
            relative_years(text, &shown, &mut plan);
            (plan.want.year_min, plan.want.year_max)
        };
        // The median of the list is 1989.
        assert_eq!(older("something older"), (None, Some(1988)));
        assert_eq!(older("anything earlier?"), (None, Some(1988)));
        // Its own years, "than", "fine", "not" and no list say otherwise.
        assert_eq!(older("older than 1980"), (None, None));
        assert_eq!(older("older films are fine"), (None, None));
        // "Not so old": the newer half.
        assert_eq!(older("and not so old"), (Some(1989), None));
        assert_eq!(older("nothing too old please"), (Some(1989), None));
        let mut plan = Plan::default();
        relative_years("something older", &[], &mut plan);
        assert_eq!((plan.want.year_min, plan.want.year_max), (None, None));
    }

    #[test]
    fn nothing_before_a_year_is_a_lower_bound() {
        let a = p("crime films, nothing before 1980");
        assert_eq!(
            (a.want.genres.clone(), a.want.year_min, a.want.year_max),
            (vec!["Crime".into()], Some(1980), None)
        );
        assert_eq!(
            (
                p("Nothing older than 1980").want.year_min,
                p("Nothing older than 1980").want.year_max
            ),
            (Some(1980), None)
        );
        assert_eq!(p("no films after 1995").want.year_max, Some(1995));
        assert_eq!(p("nothing before the 80s").want.year_min, Some(1980));
        assert_eq!(p("made before 1980").want.year_max, Some(1979));
    }

    #[test]
    fn more_of_a_genre_asks_for_it_and_rejects_nothing() {
        let a = p("more crime please, and nothing before 1980");
        assert_eq!(a.feedback, Feedback::None);
        assert_eq!(a.want.genres, vec!["Crime"]);
        assert_eq!(a.want.year_min, Some(1980));
        assert!(cues("more crime please, and nothing before 1980", &vocab()).refine);
        assert_eq!(p("something else").feedback, Feedback::SomethingElse);
        assert_eq!(p("show me more").feedback, Feedback::SomethingElse);
        assert_eq!(p("hmm, none of those").feedback, Feedback::SomethingElse);
        assert_eq!(p("not these").feedback, Feedback::SomethingElse);
        assert_eq!(p("nope").feedback, Feedback::SomethingElse);
        assert_eq!(
            p("none of those are scary").feedback,
            Feedback::SomethingElse
        );
    }

    #[test]
    fn a_mood_is_a_preference_and_a_kind_of_film_a_requirement() {
        let a = p("a funny animated movie from the 90s for my kids");
        assert_eq!(a.want.genres, vec!["Animation", "Children's"]);
        assert_eq!(a.want.prefer_genres, vec!["Comedy"]);
        let b = p("horror or sci-fi");
        assert!(b.want.genres.is_empty());
        assert_eq!(b.want.prefer_genres, vec!["Horror", "Sci-Fi"]);
        // "Like Alien but funnier": the comparative is the same mood.
        let c = p("something like Alien but funnier");
        assert_eq!(c.want.prefer_genres, vec!["Comedy"]);
        assert!(c.want.genres.is_empty());
        assert_eq!(
            p("the scariest one you have").want.prefer_genres,
            vec!["Horror"]
        );
    }

    #[test]
    fn cues_say_what_the_turn_does_to_the_conversation() {
        let v = vocab();
        let c = cues("seen them all, something else", &v);
        assert!(c.something_else);
        assert_eq!(
            p("seen them all, something else").feedback,
            Feedback::SeenAll
        );
        let c = cues("actually, older films are fine", &v);
        assert!(c.clear_years && c.refine);
        assert_eq!(p("actually, older films are fine").want.year_max, None);
        assert_eq!(cues("horror is fine", &v).allow_genres, vec!["Horror"]);
        assert!(cues("also like Heat", &v).also);
        assert!(cues("make it a comedy instead", &v).replace_genres);
        assert!(!cues("a western", &v).refine);
        assert!(cues("any year", &v).clear_years);
        // Words about when a film was made, and words that are not.
        for said in [
            "from the 80s",
            "something from 1994",
            "an old western",
            "recent comedies",
            "a black and white classic",
            "the nineties please",
        ] {
            assert!(cues(said, &v).time_words, "{said}");
        }
        for said in [
            "what should i watch tonight?",
            "We loved The Godfather. More like that?",
            "something for date night",
            "give me 10 comedies",
        ] {
            assert!(!cues(said, &v).time_words, "{said}");
        }
        // "More like that" with no title named is about the list.
        let m = p("more like that");
        assert_eq!(
            (m.feedback, m.feedback_position),
            (Feedback::MoreLike, Some(1))
        );
    }

    // ------------------------------------------------------------ table

    /// A catalog with ML-100K's genres and a few real titles, one of them
    /// a one-word title that is also an everyday word ("Kids").
    fn films() -> Catalog {
        let films: &[(&str, u16, &[&str])] = &[
            ("Toy Story", 1995, &["Animation", "Children's", "Comedy"]),
            ("Alien", 1979, &["Action", "Horror", "Sci-Fi", "Thriller"]),
            ("Godfather, The", 1972, &["Action", "Crime", "Drama"]),
            ("Pulp Fiction", 1994, &["Crime", "Drama"]),
            ("Heat", 1995, &["Action", "Crime", "Thriller"]),
            ("Fargo", 1996, &["Crime", "Drama", "Thriller"]),
            ("Schindler's List", 1993, &["Drama", "War"]),
            ("Usual Suspects, The", 1995, &["Crime", "Thriller"]),
            ("Kids", 1995, &["Drama"]),
            ("Hoop Dreams", 1994, &["Documentary"]),
            ("Big Sleep, The", 1946, &["Film-Noir", "Mystery"]),
            ("Sound of Music, The", 1965, &["Musical", "Romance"]),
            ("Unforgiven", 1992, &["Western"]),
            ("Jumanji", 1995, &["Adventure", "Children's", "Fantasy"]),
        ];
        let items = films
            .iter()
            .enumerate()
            .map(|(i, (title, year, genres))| Item {
                id: ItemId(i as u32),
                key: i.to_string(),
                title: (*title).into(),
                year: Some(*year),
                genres: genres.iter().map(|g| (*g).into()).collect(),
                text: String::new(),
                relations: Default::default(),
                ..Default::default()
            })
            .collect();
        Catalog::new("films", items, Vec::new(), Vec::new()).expect("catalog")
    }

    /// What a request means, slot by slot; [`NOTHING`] is the empty plan.
    #[derive(Debug, Clone, Copy)]
    struct Means {
        genres: &'static [&'static str],
        prefer: &'static [&'static str],
        avoid: &'static [&'static str],
        never: &'static [&'static str],
        years: (Option<u16>, Option<u16>),
        liked: &'static [&'static str],
        excluded: &'static [&'static str],
        seen: &'static [&'static str],
        feedback: Feedback,
        position: Option<u8>,
    }

    const NOTHING: Means = Means {
        genres: &[],
        prefer: &[],
        avoid: &[],
        never: &[],
        years: (None, None),
        liked: &[],
        excluded: &[],
        seen: &[],
        feedback: Feedback::None,
        position: None,
    };

    /// A request, what its user means, and the parser bug (if any) that
    /// keeps the parse from meaning it today.
    struct Row {
        text: &'static str,
        means: Means,
        bug: Option<&'static str>,
    }

    const fn row(text: &'static str, means: Means) -> Row {
        Row {
            text,
            means,
            bug: None,
        }
    }

    /// A row the parser gets wrong today: the expectation stays what the
    /// user means, and the test fails once the parse is fixed, so that the
    /// mark is removed with the bug.
    const fn bug(text: &'static str, means: Means, why: &'static str) -> Row {
        Row {
            text,
            means,
            bug: Some(why),
        }
    }

    impl Means {
        /// The plan that means this; the search words are not in the
        /// table, so they are taken from `parsed`.
        fn plan(&self, parsed: &Plan) -> Plan {
            let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
            Plan {
                intent: parsed.intent.clone(),
                want: Constraint {
                    genres: own(self.genres),
                    prefer_genres: own(self.prefer),
                    avoid_genres: own(self.avoid),
                    year_min: self.years.0,
                    year_max: self.years.1,
                    // The table's catalog credits nobody.
                    people: Vec::new(),
                    avoid_people: Vec::new(),
                },
                never_genres: own(self.never),
                liked_titles: own(self.liked),
                excluded_titles: own(self.excluded),
                seen_titles: own(self.seen),
                feedback: self.feedback,
                feedback_position: self.position,
            }
        }
    }

    const TABLE: &[Row] = &[
        // Genres, required and preferred, in any case.
        row(
            "a western",
            Means {
                genres: &["Western"],
                ..NOTHING
            },
        ),
        row(
            "HORROR OR SCI FI",
            Means {
                prefer: &["Horror", "Sci-Fi"],
                ..NOTHING
            },
        ),
        row(
            "romantic comedy from the nineties",
            Means {
                genres: &["Romance", "Comedy"],
                years: (Some(1990), Some(1999)),
                ..NOTHING
            },
        ),
        row(
            "a romantic comedy, nothing with war in it",
            Means {
                genres: &["Romance", "Comedy"],
                avoid: &["War"],
                ..NOTHING
            },
        ),
        row(
            "a funny animated movie from the 90s for my kids",
            Means {
                genres: &["Animation", "Children's"],
                prefer: &["Comedy"],
                years: (Some(1990), Some(1999)),
                ..NOTHING
            },
        ),
        // Negation, within its clause and no further.
        row(
            "no horror",
            Means {
                avoid: &["Horror"],
                ..NOTHING
            },
        ),
        row(
            "I never want horror again",
            Means {
                never: &["Horror"],
                ..NOTHING
            },
        ),
        row(
            "an action movie without any horror",
            Means {
                genres: &["Action"],
                avoid: &["Horror"],
                ..NOTHING
            },
        ),
        row(
            "no comedy and no drama",
            Means {
                avoid: &["Comedy", "Drama"],
                ..NOTHING
            },
        ),
        row(
            "not too long, a comedy",
            Means {
                genres: &["Comedy"],
                ..NOTHING
            },
        ),
        row(
            "I don't like horror but love comedy",
            Means {
                genres: &["Comedy"],
                avoid: &["Horror"],
                ..NOTHING
            },
        ),
        // Years: decades, bounds, negated bounds.
        row(
            "crime films, nothing before 1980",
            Means {
                genres: &["Crime"],
                years: (Some(1980), None),
                ..NOTHING
            },
        ),
        row(
            "nothing newer than 2000",
            Means {
                years: (None, Some(2000)),
                ..NOTHING
            },
        ),
        row(
            "something older than 1970",
            Means {
                years: (None, Some(1969)),
                ..NOTHING
            },
        ),
        row(
            "westerns after 1990",
            Means {
                genres: &["Western"],
                years: (Some(1991), None),
                ..NOTHING
            },
        ),
        row(
            "a drama since 1995",
            Means {
                genres: &["Drama"],
                years: (Some(1995), None),
                ..NOTHING
            },
        ),
        row(
            "late seventies thriller",
            Means {
                genres: &["Thriller"],
                years: (Some(1975), Some(1979)),
                ..NOTHING
            },
        ),
        row(
            "early 2000s",
            Means {
                years: (Some(2000), Some(2004)),
                ..NOTHING
            },
        ),
        row(
            "a 1985 sci fi film",
            Means {
                genres: &["Sci-Fi"],
                years: (Some(1985), Some(1985)),
                ..NOTHING
            },
        ),
        row(
            "a western from the 60s or 70s",
            Means {
                genres: &["Western"],
                years: (Some(1960), Some(1979)),
                ..NOTHING
            },
        ),
        row(
            "a comedy made between 1980 and 1990",
            Means {
                genres: &["Comedy"],
                years: (Some(1980), Some(1990)),
                ..NOTHING
            },
        ),
        row(
            "a thriller from 1985 to 1995",
            Means {
                genres: &["Thriller"],
                years: (Some(1985), Some(1995)),
                ..NOTHING
            },
        ),
        // Typos.
        row(
            "a thriller like the usual suspcets",
            Means {
                genres: &["Thriller"],
                liked: &["Usual Suspects, The"],
                ..NOTHING
            },
        ),
        row(
            "loved pulp fictoin",
            Means {
                liked: &["Pulp Fiction"],
                ..NOTHING
            },
        ),
        row(
            "any good horor films?",
            Means {
                genres: &["Horror"],
                ..NOTHING
            },
        ),
        bug(
            "something fun for the family",
            Means {
                genres: &["Children's"],
                prefer: &["Comedy"],
                ..NOTHING
            },
            "\"fun\" is not read as Comedy (a held-out request found it)",
        ),
        row(
            "a romantic comdy, no thriler",
            Means {
                genres: &["Romance", "Comedy"],
                avoid: &["Thriller"],
                ..NOTHING
            },
        ),
        // Anchors: liked, excluded, seen.
        row(
            "we loved the godfather",
            Means {
                liked: &["Godfather, The"],
                ..NOTHING
            },
        ),
        row(
            "war films like Schindler's List",
            Means {
                genres: &["War"],
                liked: &["Schindler's List"],
                ..NOTHING
            },
        ),
        row(
            "something like Alien, but not Alien itself",
            Means {
                liked: &["Alien"],
                excluded: &["Alien"],
                ..NOTHING
            },
        ),
        row(
            "a crime film, but not Heat",
            Means {
                genres: &["Crime"],
                excluded: &["Heat"],
                ..NOTHING
            },
        ),
        row(
            "I already saw Heat, something like Fargo",
            Means {
                liked: &["Fargo"],
                seen: &["Heat"],
                ..NOTHING
            },
        ),
        // A one-word title in lower case, right after a comparison.
        row(
            "something like fargo",
            Means {
                liked: &["Fargo"],
                ..NOTHING
            },
        ),
        row(
            "films similar to heat",
            Means {
                liked: &["Heat"],
                ..NOTHING
            },
        ),
        row(
            "we watched Fargo and loved it",
            Means {
                liked: &["Fargo"],
                ..NOTHING
            },
        ),
        // Feedback on the last list (ten items long).
        row(
            "seen it, something else",
            Means {
                feedback: Feedback::SeenIt,
                ..NOTHING
            },
        ),
        row(
            "seen them all",
            Means {
                feedback: Feedback::SeenAll,
                ..NOTHING
            },
        ),
        row(
            "more like the second one",
            Means {
                feedback: Feedback::MoreLike,
                position: Some(2),
                ..NOTHING
            },
        ),
        row(
            "not the first one",
            Means {
                feedback: Feedback::Disliked,
                position: Some(1),
                ..NOTHING
            },
        ),
        row(
            "I liked the third one",
            Means {
                feedback: Feedback::Liked,
                position: Some(3),
                ..NOTHING
            },
        ),
        row(
            "the last one was great",
            Means {
                feedback: Feedback::Liked,
                position: Some(10),
                ..NOTHING
            },
        ),
        row(
            "something else",
            Means {
                feedback: Feedback::SomethingElse,
                ..NOTHING
            },
        ),
        // Ways of saying no beyond "no" and "not".
        row(
            "my wife hates sci-fi, we want a date night movie",
            Means {
                prefer: &["Romance"],
                never: &["Sci-Fi"],
                ..NOTHING
            },
        ),
        row(
            "I can't stand musicals, show me a comedy",
            Means {
                genres: &["Comedy"],
                never: &["Musical"],
                ..NOTHING
            },
        ),
        row(
            "anything but horror",
            Means {
                avoid: &["Horror"],
                ..NOTHING
            },
        ),
        row(
            "I'm sick of westerns",
            Means {
                avoid: &["Western"],
                ..NOTHING
            },
        ),
        row(
            "we dislike war films; a drama please",
            Means {
                genres: &["Drama"],
                avoid: &["War"],
                ..NOTHING
            },
        ),
        row(
            "something like Toy Story but for adults",
            Means {
                liked: &["Toy Story"],
                avoid: &["Children's"],
                ..NOTHING
            },
        ),
        row(
            "a sad movie that will make me cry",
            Means {
                prefer: &["Drama"],
                ..NOTHING
            },
        ),
        row(
            "something short and light for tonight",
            Means {
                prefer: &["Comedy"],
                ..NOTHING
            },
        ),
        row(
            "a feel-good movie",
            Means {
                prefer: &["Comedy"],
                ..NOTHING
            },
        ),
        row(
            "from the 70s or 80s",
            Means {
                years: (Some(1970), Some(1989)),
                ..NOTHING
            },
        ),
        // A word of a phrase alone says nothing.
        row(
            "I'm tired so a comedy please",
            Means {
                genres: &["Comedy"],
                ..NOTHING
            },
        ),
        row(
            "a comedy but romantic",
            Means {
                genres: &["Comedy"],
                prefer: &["Romance"],
                ..NOTHING
            },
        ),
    ];

    #[test]
    fn requests_parse_to_what_their_users_mean() {
        let catalog = films();
        let dir = tempfile::tempdir().expect("tempdir");
        let recall = lexical(&catalog, dir.path());
        let vocab = Vocab::new(&catalog);
        let mut wrong = Vec::new();
        for r in TABLE {
            let parsed = parse(r.text, &vocab, &recall, 10);
            let means = r.means.plan(&parsed);
            match (r.bug, parsed == means) {
                (None, false) => wrong.push(format!(
                    "{:?}\n    means  {means:?}\n    parsed {parsed:?}",
                    r.text
                )),
                (Some(why), true) => wrong.push(format!(
                    "{:?} now parses right; remove its bug mark ({why})",
                    r.text
                )),
                _ => {}
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(TABLE.len() >= 20 && TABLE.iter().filter(|r| r.bug.is_none()).count() >= 20);
    }
}
