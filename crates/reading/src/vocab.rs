//! The words people use for genres, mapped to the catalog's genre names,
//! and the people the catalog credits ([`People`]).
//!
//! One table serves the rules controller (reading the user's text) and the
//! tools (reading a model's arguments), so "animated", "sci fi" or "for
//! kids" mean the same thing whoever wrote them.

use recagent_core::{Catalog, genre_key, words};

use crate::people::People;

/// Phrases (as word sequences) and the genre they stand for. The catalog's
/// own genre names are added by [`Vocab::new`].
const SYNONYMS: &[(&str, &str)] = &[
    ("funny", "Comedy"),
    ("funnier", "Comedy"),
    ("funniest", "Comedy"),
    ("comedies", "Comedy"),
    ("comedic", "Comedy"),
    ("hilarious", "Comedy"),
    ("laugh", "Comedy"),
    ("scary", "Horror"),
    ("scarier", "Horror"),
    ("scariest", "Horror"),
    ("frightening", "Horror"),
    ("spooky", "Horror"),
    ("creepy", "Horror"),
    ("animated", "Animation"),
    ("cartoon", "Animation"),
    ("cartoons", "Animation"),
    ("kids", "Children's"),
    ("children", "Children's"),
    ("childrens", "Children's"),
    ("family", "Children's"),
    ("sci fi", "Sci-Fi"),
    ("scifi", "Sci-Fi"),
    ("science fiction", "Sci-Fi"),
    ("space", "Sci-Fi"),
    ("romantic", "Romance"),
    ("love story", "Romance"),
    ("date night", "Romance"),
    ("thrillers", "Thriller"),
    ("suspense", "Thriller"),
    ("suspenseful", "Thriller"),
    ("action packed", "Action"),
    ("mysteries", "Mystery"),
    ("detective", "Mystery"),
    ("whodunit", "Mystery"),
    ("musicals", "Musical"),
    ("documentaries", "Documentary"),
    ("dramas", "Drama"),
    ("sad", "Drama"),
    ("tearjerker", "Drama"),
    ("cry", "Drama"),
    ("feel good", "Comedy"),
    ("feelgood", "Comedy"),
    ("uplifting", "Comedy"),
    ("heartwarming", "Comedy"),
    ("cheerful", "Comedy"),
    ("lighthearted", "Comedy"),
    ("light", "Comedy"),
    ("dramatic", "Drama"),
    ("westerns", "Western"),
    ("cowboy", "Western"),
    ("war movie", "War"),
    ("war film", "War"),
    ("noir", "Film-Noir"),
    ("crime", "Crime"),
    ("gangster", "Crime"),
    ("mafia", "Crime"),
    ("heist", "Crime"),
    ("robbery", "Crime"),
    ("horror", "Horror"),
    ("adventures", "Adventure"),
    ("fantasy", "Fantasy"),
];

/// Phrases that name a mood rather than a kind of film: "funny" is a
/// preference, where "animated" or "a comedy" is a requirement. A soft
/// genre filters only when nothing harder does, and otherwise orders.
const SOFT: &[&str] = &[
    "funny",
    "funnier",
    "funniest",
    "scarier",
    "scariest",
    "comedic",
    "hilarious",
    "laugh",
    "scary",
    "frightening",
    "spooky",
    "creepy",
    "romantic",
    "date night",
    "heist",
    "robbery",
    "suspense",
    "suspenseful",
    "dramatic",
    "action packed",
    "sad",
    "tearjerker",
    "cry",
    "feel good",
    "feelgood",
    "uplifting",
    "heartwarming",
    "cheerful",
    "lighthearted",
    "light",
];

/// Genre vocabulary of one catalog.
#[derive(Debug, Clone)]
pub struct Vocab {
    /// The catalog's genre names.
    genres: Vec<String>,
    /// (phrase words, genre name, soft), longest phrases first.
    phrases: Vec<(Vec<String>, String, bool)>,
    /// The people the catalog credits.
    people: People,
}

/// A genre found in text, at a word position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenreMention {
    pub genre: String,
    /// Index of the phrase's first word in [`words`] of the text.
    pub at: usize,
    pub len: usize,
    /// Named as a mood ("funny"), not a kind of film: a preference.
    pub soft: bool,
}

impl Vocab {
    pub fn new(catalog: &Catalog) -> Self {
        let genres: Vec<String> = catalog
            .genre_vocab()
            .into_iter()
            .filter(|g| genre_key(g) != "unknown")
            .collect();
        let mut phrases: Vec<(Vec<String>, String, bool)> = Vec::new();
        for g in &genres {
            phrases.push((words(g), g.clone(), false));
        }
        for (phrase, g) in SYNONYMS {
            if let Some(name) = genres.iter().find(|n| genre_key(n) == genre_key(g)) {
                phrases.push((words(phrase), name.clone(), SOFT.contains(phrase)));
            }
        }
        phrases.retain(|(w, _, _)| !w.is_empty());
        phrases.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        phrases.dedup();
        Self {
            genres,
            phrases,
            people: People::new(catalog),
        }
    }

    /// The people the catalog credits.
    pub fn people(&self) -> &People {
        &self.people
    }

    /// The catalog's genre names.
    pub fn genres(&self) -> &[String] {
        &self.genres
    }

    /// The catalog genre a name or synonym stands for ("sci fi" → "Sci-Fi").
    pub fn canonical(&self, name: &str) -> Option<String> {
        let w = words(name);
        if w.is_empty() {
            return None;
        }
        if let Some(g) = self.genres.iter().find(|g| genre_key(g) == genre_key(name)) {
            return Some(g.clone());
        }
        self.phrases
            .iter()
            .find(|(p, _, _)| *p == w)
            .map(|(_, g, _)| g.clone())
    }

    /// The one-word phrase `word` misspells ("horor", "comdy",
    /// "thriler"): one edit away, the same first letter, and five letters
    /// or more, so that short words are never read as genres.
    fn misspelled(&self, word: &str) -> Option<&(Vec<String>, String, bool)> {
        if word.chars().count() < 5 {
            return None;
        }
        self.phrases.iter().find(|(p, _, _)| {
            p.len() == 1
                && p[0].chars().count() >= 5
                && p[0].chars().next() == word.chars().next()
                && strsim::damerau_levenshtein(&p[0], word) == 1
        })
    }

    /// Every genre phrase in `text_words`, left to right, longest phrase
    /// first where two start at the same word; a one-word phrase is also
    /// found misspelled by one letter.
    pub fn mentions(&self, text_words: &[String]) -> Vec<GenreMention> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text_words.len() {
            let hit = self
                .phrases
                .iter()
                .find(|(p, _, _)| {
                    text_words.len() >= i + p.len() && text_words[i..i + p.len()] == p[..]
                })
                .or_else(|| self.misspelled(&text_words[i]));
            match hit {
                Some((p, g, soft)) => {
                    out.push(GenreMention {
                        genre: g.clone(),
                        at: i,
                        len: p.len(),
                        soft: *soft,
                    });
                    i += p.len();
                }
                None => i += 1,
            }
        }
        out
    }
}
