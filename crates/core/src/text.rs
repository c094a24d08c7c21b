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

/// Whether a genre is the placeholder a catalog gives an item whose genres
/// it does not know ("unknown", in any case or spacing): not a genre to
/// match, count or talk about.
pub fn is_unknown_genre(genre: &str) -> bool {
    genre_key(genre) == "unknown"
}

/// Articles a sorted catalog title moves to its end ("Godfather, The").
const TRAILING_ARTICLES: &[&str] = &[
    "The", "A", "An", "L'", "La", "Le", "Les", "Il", "El", "Das", "Der", "Die",
];

/// A title as people write it: a sorted catalog title's article put back
/// in front ("Godfather, The" → "The Godfather", "City of Lost Children,
/// The (Cité des enfants perdus, La)" → "The City of Lost Children (Cité
/// des enfants perdus, La)"). Other titles come back unchanged.
pub fn display_title(title: &str) -> String {
    let t = title.trim();
    let (head, tail) = match t.find(" (") {
        Some(i) if i > 0 => (&t[..i], &t[i..]),
        _ => (t, ""),
    };
    for a in TRAILING_ARTICLES {
        if let Some(rest) = head.strip_suffix(&format!(", {a}"))
            && !rest.is_empty()
        {
            let sep = if a.ends_with('\'') { "" } else { " " };
            return format!("{a}{sep}{rest}{tail}");
        }
    }
    t.to_owned()
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

/// The comparison key of a person's name: its [`words`], accents folded
/// to plain letters, joined by one space ("Penélope  Cruz" →
/// "penelope cruz", "Robert De Niro" → "robert de niro").
pub fn person_key(name: &str) -> String {
    words(&fold_accents(name)).join(" ")
}

/// Common Latin letters with accents as their plain letters, so that a
/// name typed without them still matches.
fn fold_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
            'ç' => 'c',
            'Ç' => 'C',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'È' | 'É' | 'Ê' | 'Ë' => 'E',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
            'ñ' => 'n',
            'Ñ' => 'N',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
            'ý' | 'ÿ' => 'y',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_titles_read_as_people_write_them() {
        assert_eq!(display_title("Godfather, The"), "The Godfather");
        assert_eq!(
            display_title("Godfather: Part II, The"),
            "The Godfather: Part II"
        );
        assert_eq!(
            display_title("City of Lost Children, The (Cité des enfants perdus, La)"),
            "The City of Lost Children (Cité des enfants perdus, La)"
        );
        assert_eq!(display_title("Femme Nikita, La"), "La Femme Nikita");
        assert_eq!(display_title("Toy Story"), "Toy Story");
        assert_eq!(display_title("Big Sleep, The "), "The Big Sleep");
        assert_eq!(display_title(", The"), ", The");
        assert_eq!(display_title("Mr. Holland's Opus"), "Mr. Holland's Opus");
    }

    #[test]
    fn genre_keys_fold_case_and_whitespace() {
        assert_eq!(genre_key("  Film-Noir "), "film-noir");
        assert_eq!(genre_key("Sci\t Fi"), "sci fi");
        assert_eq!(genre_key("ÉPOQUE"), "époque");
        assert_eq!(genre_key(""), "");
        assert!(is_unknown_genre(" UNKNOWN ") && is_unknown_genre("unknown"));
        assert!(!is_unknown_genre("Unknown Soldier") && !is_unknown_genre(""));
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

    #[test]
    fn person_keys_fold_case_spacing_and_accents() {
        assert_eq!(person_key("Penélope  Cruz"), "penelope cruz");
        assert_eq!(person_key("Robert De Niro"), "robert de niro");
        assert_eq!(
            person_key("Denzel Washington"),
            person_key("denzel washington ")
        );
        assert_eq!(person_key("Sinéad O'Connor"), "sinead oconnor");
    }
}
