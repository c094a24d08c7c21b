//! The text channel's leakage guard: simulated user text that names, or
//! nearly names, the target is caught before the agent reads it.
//!
//! A title's variants are its display title without the year, the title
//! with a trailing article moved to the front ("Usual Suspects, The" →
//! "The Usual Suspects"), and each parenthesised alternate title
//! ("Shall We Dance? (Shall We Dansu?)"). Text names a variant when some
//! run of its words matches the variant's words, each word by normalised
//! Levenshtein similarity at [`WORD_SIMILARITY`] or above, so "Usual
//! Suspect" and "usual suspcts" count while "usual" alone does not.

use recagent_core::Item;

/// A word in text matches a title word at this similarity or above.
pub const WORD_SIMILARITY: f64 = 0.8;

/// Words that say nothing about which title is meant.
const ARTICLES: &[&str] = &[
    "the", "a", "an", "le", "la", "les", "l", "il", "el", "der", "die", "das",
];

/// Words too common to identify a one-word title on their own.
const COMMON: &[&str] = &[
    "movie",
    "movies",
    "film",
    "films",
    "something",
    "like",
    "want",
    "the",
    "and",
];

/// One word of text and where it is.
#[derive(Debug, Clone)]
struct Word {
    norm: String,
    start: usize,
    end: usize,
}

fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        // An apostrophe inside a word keeps it whole ("Schindler's").
        let inside = c.is_alphanumeric() || (c == '\'' && start.is_some());
        if inside {
            if start.is_none() {
                start = Some(i);
            }
            end = i + c.len_utf8();
        } else if let Some(s) = start.take() {
            out.push(word(text, s, end));
        }
    }
    if let Some(s) = start {
        out.push(word(text, s, end));
    }
    out
}

fn word(text: &str, start: usize, end: usize) -> Word {
    let norm: String = text[start..end]
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    Word { norm, start, end }
}

/// The guard for one target.
#[derive(Debug, Clone)]
pub struct LeakGuard {
    /// Each variant's words, articles left out.
    variants: Vec<Vec<String>>,
}

impl LeakGuard {
    /// The guard for `target`'s title and its alternates.
    pub fn for_item(target: &Item) -> Self {
        Self::for_title(&target.title)
    }

    /// The guard for a display title such as "Usual Suspects, The (1995)".
    pub fn for_title(title: &str) -> Self {
        let mut t = title.trim().to_owned();
        // The year at the end is not part of the title.
        if let Some(open) = t.rfind(" (")
            && t.ends_with(')')
            && t[open + 2..t.len() - 1].chars().all(|c| c.is_ascii_digit())
        {
            t.truncate(open);
        }
        let mut texts = Vec::new();
        // Parenthesised alternates: "Shall We Dance? (Shall We Dansu?)".
        let mut main = String::new();
        let mut depth = 0usize;
        let mut alt = String::new();
        for c in t.chars() {
            match c {
                '(' => {
                    depth += 1;
                    if depth == 1 {
                        continue;
                    }
                }
                ')' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        texts.push(std::mem::take(&mut alt));
                        continue;
                    }
                }
                _ => {}
            }
            if depth > 0 {
                alt.push(c);
            } else {
                main.push(c);
            }
        }
        texts.insert(0, main);
        let mut variants: Vec<Vec<String>> = Vec::new();
        for text in texts {
            // "Usual Suspects, The" → "The Usual Suspects": the article is
            // dropped either way.
            let ws: Vec<String> = words(&text)
                .into_iter()
                .map(|w| w.norm)
                .filter(|w| !w.is_empty() && !ARTICLES.contains(&w.as_str()))
                .collect();
            let identifying = match ws.as_slice() {
                [] => false,
                [one] => one.chars().count() >= 3 && !COMMON.contains(&one.as_str()),
                _ => true,
            };
            if identifying && !variants.contains(&ws) {
                variants.push(ws);
            }
        }
        Self { variants }
    }

    /// Where `text` names the target: byte ranges of the matching runs.
    fn matches(&self, text: &str) -> Vec<(usize, usize)> {
        let ws = words(text);
        let ws: Vec<&Word> = ws
            .iter()
            .filter(|w| !ARTICLES.contains(&w.norm.as_str()))
            .collect();
        let mut out = Vec::new();
        for v in &self.variants {
            // A long title is also named by all but one of its words in a
            // row ("the Shawshank" for "The Shawshank Redemption" is not,
            // "Raiders of the Lost" for "Raiders of the Lost Ark" is).
            let mut runs = vec![v.as_slice()];
            if v.len() >= 4 {
                runs.push(&v[..v.len() - 1]);
                runs.push(&v[1..]);
            }
            for run in runs {
                let n = run.len();
                if n == 0 || ws.len() < n {
                    continue;
                }
                for i in 0..=ws.len() - n {
                    let window = &ws[i..i + n];
                    let close = window.iter().zip(run).all(|(w, t)| {
                        if n == 1 || t.chars().count() <= 3 {
                            // Short words and one-word titles: exactly.
                            w.norm == *t
                        } else {
                            strsim::normalized_levenshtein(&w.norm, t) >= WORD_SIMILARITY
                        }
                    });
                    if close {
                        out.push((window[0].start, window[n - 1].end));
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether `text` names or nearly names the target.
    pub fn leaks(&self, text: &str) -> bool {
        !self.matches(text).is_empty()
    }

    /// `text` with every run that names the target replaced by "that one".
    pub fn redact(&self, text: &str) -> String {
        let mut spans = self.matches(text);
        // Merge overlapping spans, then cut from the back.
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let mut out = text.to_owned();
        for (s, e) in merged.into_iter().rev() {
            out.replace_range(s..e, "that one");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_near_names_leak() {
        let g = LeakGuard::for_title("Usual Suspects, The (1995)");
        assert!(g.leaks("something like The Usual Suspects please"));
        assert!(g.leaks("usual suspcts"));
        assert!(!g.leaks("the usual crime movie from the 90s"));
        let g = LeakGuard::for_title("Shall We Dance? (Shall We Dansu?) (1996)");
        assert!(g.leaks("I mean shall we dansu"));
        let g = LeakGuard::for_title("Raiders of the Lost Ark (1981)");
        assert!(g.leaks("raiders of the lost"));
        assert!(!g.leaks("lost in the desert"));
        let g = LeakGuard::for_title("Jaws (1975)");
        assert!(g.leaks("the one with JAWS"));
        assert!(!g.leaks("a jaw-dropping thriller"));
        assert_eq!(
            g.redact("Is it Jaws? I think it's Jaws."),
            "Is it that one? I think it's that one."
        );
        let g = LeakGuard::for_title("It (1990)");
        assert!(
            !g.leaks("is it good"),
            "a two-letter title identifies nothing"
        );
    }
}
