//! The one way text is folded: genre keys and words.
//!
//! Every crate that compares genres or splits text into words calls these,
//! so that tantivy, Qdrant payloads, the similarity filter, title linking
//! and the static word table agree on what a word and a genre are.

/// The comparison key of a genre: trimmed, inner whitespace collapsed to one
/// space, lower-cased ("  Film-Noir " → "film-noir", "Sci  Fi" → "sci fi").
pub fn genre_key(genre: &str) -> String {
    let mut out = String::with_capacity(genre.len());
    for w in genre.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Lower-case words of a text: runs of letters and digits; apostrophes are
/// dropped inside a word ("Schindler's" → "schindlers", "don’t" → "dont"),
/// anything else separates words.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if c == '\'' || c == '’' {
            continue;
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genre_keys_fold_case_and_whitespace() {
        assert_eq!(genre_key("  Film-Noir "), "film-noir");
        assert_eq!(genre_key("Sci\t Fi"), "sci fi");
        assert_eq!(genre_key("ÉPOQUE"), "époque");
        assert_eq!(genre_key(""), "");
    }

    #[test]
    fn words_drop_apostrophes_and_split_on_the_rest() {
        assert_eq!(
            words("We LOVED Schindler's List!"),
            ["we", "loved", "schindlers", "list"]
        );
        assert_eq!(words("don’t stop—ever"), ["dont", "stop", "ever"]);
        assert_eq!(words("Se7en (1995)"), ["se7en", "1995"]);
        assert!(words(" ... ").is_empty());
    }
}
