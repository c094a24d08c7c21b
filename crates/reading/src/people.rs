//! The people a catalog credits, and finding them in what users write.
//!
//! Names are linked the way titles are: exactly or one letter off, with a
//! confidence. A full name ("denzel washington") links at 1.0; one letter
//! off ("denzel washingten") at 0.85; a surname alone ("Scorsese", "a
//! Kubrick film") at 0.75 where one person of that surname clearly
//! dominates the catalog; "the Farrelly brothers" links every director of
//! that surname; a first name alone ("Harrison") links only when written
//! with its capital and one lead actor clearly owns it. A word that is a
//! common title word links as a surname only when written with its capital
//! ("Stone" is Sharon Stone, "stone" is not).

use std::collections::{HashMap, HashSet};

use recagent_core::{Catalog, Item, ItemId, Role, person_key, words};

/// Cast billed at or above this order count as leads.
pub const LEAD_ORDER: u16 = 3;
/// The confidence of a surname alone.
pub const SURNAME_CONFIDENCE: f32 = 0.75;
/// The confidence of a first name alone.
pub const FIRST_NAME_CONFIDENCE: f32 = 0.6;
/// The confidence of a name one letter off.
pub const FUZZY_CONFIDENCE: f32 = 0.85;

/// One person of the catalog.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// As the source wrote it ("Stanley Kubrick").
    name: String,
    /// [`person_key`] split into words.
    words: Vec<String>,
    /// Films they directed, wrote, or lead.
    prominent: usize,
    directed: usize,
    films: Vec<ItemId>,
}

/// A person found in text.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonMention {
    /// The catalog's spelling of the name.
    pub name: String,
    /// Index of the first word in [`words`] of the text.
    pub at: usize,
    pub len: usize,
    pub confidence: f32,
}

/// Every person one catalog credits.
#[derive(Debug, Clone, Default)]
pub struct People {
    entries: Vec<Entry>,
    by_key: HashMap<String, usize>,
    /// Last word of the name → entries.
    by_surname: HashMap<String, Vec<usize>>,
    /// First word of the name → entries.
    by_first: HashMap<String, Vec<usize>>,
    /// Words of the catalog's titles: a surname that is one links only
    /// when capitalised.
    title_words: HashSet<String>,
}

/// Whether `p` makes the film theirs: its director, a writer, or a lead.
fn is_prominent(role: Role, order: Option<u16>) -> bool {
    match role {
        Role::Director | Role::Writer => true,
        Role::Cast => order.is_some_and(|o| o < LEAD_ORDER),
        Role::Composer | Role::Producer => false,
    }
}

/// A name's key without the suffixes people leave out when they say it
/// ("George Tillman, Jr." is "george tillman").
fn name_key(name: &str) -> String {
    let mut w: Vec<String> = person_key(name).split(' ').map(str::to_owned).collect();
    while w.len() > 2 && ["jr", "sr", "ii", "iii"].contains(&w[w.len() - 1].as_str()) {
        w.pop();
    }
    w.join(" ")
}

/// Words that are never a person on their own.
const NOT_NAMES: &[&str] = &[
    "the",
    "a",
    "an",
    "and",
    "or",
    "with",
    "by",
    "of",
    "in",
    "on",
    "movie",
    "movies",
    "film",
    "films",
    "something",
    "anything",
    "like",
    "more",
    "some",
    "good",
    "great",
    "best",
    "old",
    "new",
    "man",
    "men",
    "woman",
    "women",
    "girl",
    "boy",
    "kids",
    "family",
    "love",
    "night",
    "king",
    "little",
    "star",
    "wars",
    "day",
    "big",
    "black",
    "white",
    "young",
    "brothers",
    "brother",
    "sister",
    "please",
    "tonight",
    "watch",
    "english",
    "french",
    "american",
    "war",
];

/// Words before a lone surname or first name that make it a person.
const LONE_NAME_BEFORE: &[&str] = &[
    "with",
    "by",
    "starring",
    "stars",
    "featuring",
    "directed",
    "director",
    "actor",
    "actress",
    "a",
    "an",
    "the",
    "some",
    "any",
    "more",
    "like",
    "loves",
    "love",
    "likes",
    "no",
    "not",
    "without",
    "of",
    "old",
    "classic",
    "early",
    "late",
    "from",
];
/// Words after a lone surname or first name that make it a person.
const LONE_NAME_AFTER: &[&str] = &[
    "film", "films", "movie", "movies", "flick", "flicks", "picture", "pictures", "classic",
    "classics", "brothers", "bros",
];

/// The first letter upper-case, as a name is written.
fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl People {
    /// The people of `catalog`'s items.
    pub fn new(catalog: &Catalog) -> Self {
        let mut out = People::default();
        for it in catalog.items() {
            out.title_words.extend(words(&it.title));
            for p in &it.people {
                let key = name_key(&p.name);
                if key.is_empty() {
                    continue;
                }
                let n = out.entries.len();
                let i = *out.by_key.entry(key.clone()).or_insert(n);
                if i == n {
                    out.entries.push(Entry {
                        name: p.name.clone(),
                        words: key.split(' ').map(str::to_owned).collect(),
                        prominent: 0,
                        directed: 0,
                        films: Vec::new(),
                    });
                }
                let e = &mut out.entries[i];
                if e.films.last() != Some(&it.id) {
                    e.films.push(it.id);
                }
                if is_prominent(p.role, p.order) {
                    e.prominent += 1;
                }
                if p.role == Role::Director {
                    e.directed += 1;
                }
            }
        }
        for (i, e) in out.entries.iter().enumerate() {
            if e.words.len() >= 2 {
                if let Some(last) = e.words.last() {
                    out.by_surname.entry(last.clone()).or_default().push(i);
                }
                out.by_first.entry(e.words[0].clone()).or_default().push(i);
            }
        }
        out
    }

    /// The catalog's spelling of a name a model or a user wrote: exact,
    /// then one letter off, then a surname that clearly names one person.
    pub fn canonical(&self, name: &str) -> Option<String> {
        let w = words(name);
        if w.is_empty() {
            return None;
        }
        if let Some(&i) = self.by_key.get(&name_key(name)) {
            return Some(self.entries[i].name.clone());
        }
        let m = self.mentions(&w, name);
        m.into_iter()
            .find(|m| m.at == 0 && m.len == w.len())
            .map(|m| m.name)
    }

    /// The films crediting the person whose catalog name is `name`.
    pub fn films(&self, name: &str) -> &[ItemId] {
        self.by_key
            .get(&name_key(name))
            .map_or(&[], |&i| self.entries[i].films.as_slice())
    }

    /// The full name of `words` exactly, or one letter off in words of
    /// five letters or more.
    fn full_name(&self, w: &[String]) -> Option<(usize, f32)> {
        if let Some(&i) = self.by_key.get(&w.join(" ")) {
            return Some((i, 1.0));
        }
        let close = |a: &str, b: &str| {
            a == b
                || a.chars().count() >= 5
                    && a.chars().next() == b.chars().next()
                    && strsim::damerau_levenshtein(a, b) <= 1
        };
        let mut best: Option<usize> = None;
        for &i in self.by_surname.get(&w[w.len() - 1]).into_iter().flatten() {
            let e = &self.entries[i];
            if e.words.len() == w.len()
                && e.words.iter().zip(w).all(|(a, b)| close(b, a))
                && best.is_none_or(|b| self.entries[b].prominent < e.prominent)
            {
                best = Some(i);
            }
        }
        if best.is_none() {
            for e_i in self.by_first.get(&w[0]).into_iter().flatten() {
                let e = &self.entries[*e_i];
                if e.words.len() == w.len()
                    && e.prominent > 0
                    && e.words.iter().zip(w).all(|(a, b)| close(b, a))
                    && best.is_none_or(|b| self.entries[b].prominent < e.prominent)
                {
                    best = Some(*e_i);
                }
            }
        }
        best.map(|i| (i, FUZZY_CONFIDENCE))
    }

    /// The one entry of `candidates` that clearly owns a name part: at
    /// least `min` prominent films, and twice as many as the next.
    fn dominant(&self, candidates: &[usize], min: usize) -> Option<usize> {
        let mut c: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| self.entries[i].prominent >= 1)
            .collect();
        c.sort_by_key(|&i| std::cmp::Reverse(self.entries[i].prominent));
        let first = *c.first()?;
        let top = self.entries[first].prominent;
        let next = c.get(1).map_or(0, |&i| self.entries[i].prominent);
        (top >= min && (next == 0 || top >= 2 * next)).then_some(first)
    }

    /// Every person `text_words` (the [`words`] of `raw`) names, left to
    /// right, longest name first.
    pub fn mentions(&self, text_words: &[String], raw: &str) -> Vec<PersonMention> {
        let mut out = Vec::new();
        if self.entries.is_empty() {
            return out;
        }
        let raw_words: HashSet<&str> = raw
            .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
            .map(|w| w.trim_end_matches("'s").trim_end_matches("’s"))
            .collect();
        let written_capitalised = |w: &str| raw_words.contains(capitalised(w).as_str());
        let mut i = 0;
        while i < text_words.len() {
            let mut found = false;
            for len in (2..=4).rev() {
                if i + len > text_words.len() {
                    continue;
                }
                let span = &text_words[i..i + len];
                if span.iter().any(|w| NOT_NAMES.contains(&w.as_str())) && len == 2 {
                    continue;
                }
                if let Some((e, confidence)) = self.full_name(span) {
                    // "George Tillman Jr": the suffix is part of the name.
                    let len = len
                        + usize::from(
                            text_words
                                .get(i + len)
                                .is_some_and(|x| ["jr", "sr"].contains(&x.as_str())),
                        );
                    out.push(PersonMention {
                        name: self.entries[e].name.clone(),
                        at: i,
                        len,
                        confidence,
                    });
                    i += len;
                    found = true;
                    break;
                }
            }
            if found {
                continue;
            }
            let w = text_words[i].as_str();
            // "Kubrick's": the possessive is written without its apostrophe
            // by `words`.
            let bare = if w.len() > 4 && w.ends_with('s') && !self.by_surname.contains_key(w) {
                &w[..w.len() - 1]
            } else {
                w
            };
            let usable = bare.chars().count() >= 3 && !NOT_NAMES.contains(&bare);
            let next_is_brothers = text_words
                .get(i + 1)
                .is_some_and(|n| n == "brothers" || n == "bros");
            if usable && next_is_brothers {
                let directors: Vec<usize> = self
                    .by_surname
                    .get(bare)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&e| self.entries[e].directed > 0)
                    .collect();
                if !directors.is_empty() {
                    for e in directors {
                        out.push(PersonMention {
                            name: self.entries[e].name.clone(),
                            at: i,
                            len: 2,
                            confidence: 0.9,
                        });
                    }
                    i += 2;
                    continue;
                }
            }
            // A name part alone is a person only where it stands as one:
            // after "with", "by", "a", "like" …, before "film" or
            // "brothers", as a possessive, or opening the request
            // ("Hitchcock thrillers"); "like The Dark Knight" names a
            // title, not Wayne Knight.
            let prev = i.checked_sub(1).and_then(|p| text_words.get(p));
            let next = text_words.get(i + 1);
            let placed = i == 0
                || bare != w
                || prev.is_some_and(|p| LONE_NAME_BEFORE.contains(&p.as_str()))
                || next.is_some_and(|n| LONE_NAME_AFTER.contains(&n.as_str()));
            if !placed {
                i += 1;
                continue;
            }
            let common = self.title_words.contains(bare);
            let capital = written_capitalised(bare);
            // Written as a name, one film of theirs is enough ("a Kubrick
            // film" where the catalog has The Shining alone).
            let min = if capital { 1 } else { 2 };
            if usable
                && (!common || capital)
                && let Some(e) = self
                    .by_surname
                    .get(bare)
                    .and_then(|c| self.dominant(c, min))
            {
                out.push(PersonMention {
                    name: self.entries[e].name.clone(),
                    at: i,
                    len: 1,
                    confidence: SURNAME_CONFIDENCE,
                });
            } else if usable
                && !common
                && written_capitalised(bare)
                && let Some(e) = self.by_first.get(bare).and_then(|c| self.dominant(c, 4))
            {
                out.push(PersonMention {
                    name: self.entries[e].name.clone(),
                    at: i,
                    len: 1,
                    confidence: FIRST_NAME_CONFIDENCE,
                });
            }
            i += 1;
        }
        out
    }
}

/// How `item` credits `name`, in words for a reason: "directed by Stanley
/// Kubrick", "with Tom Hanks", "written by …", "music by …".
pub fn credit(item: &Item, name: &str) -> Option<String> {
    let key = person_key(name);
    // The part that makes the film theirs: directing, then acting, then
    // writing or the music; producing last.
    let rank = |r: Role| match r {
        Role::Director => 0,
        Role::Cast => 1,
        Role::Writer => 2,
        Role::Composer => 3,
        Role::Producer => 4,
    };
    let p = item
        .people
        .iter()
        .filter(|p| person_key(&p.name) == key)
        .min_by_key(|p| rank(p.role))?;
    Some(match p.role {
        Role::Director => format!("directed by {}", p.name),
        Role::Writer => format!("written by {}", p.name),
        Role::Cast => format!("with {}", p.name),
        Role::Composer => format!("music by {}", p.name),
        Role::Producer => format!("produced by {}", p.name),
    })
}

/// What `item` shares with `seed`, in words for a "more like" reason: the
/// director first, then lead cast, writers, then a keyword.
pub fn shared(item: &Item, seed: &Item) -> Option<String> {
    // A person may hold several roles on the seed (Christopher Nolan
    // directs, writes and produces Inception).
    let seed_roles: HashSet<(String, Role)> = seed
        .people
        .iter()
        .map(|p| (person_key(&p.name), p.role))
        .collect();
    let mut best: Option<(u8, String)> = None;
    for p in &item.people {
        if !seed_roles.contains(&(person_key(&p.name), p.role)) {
            continue;
        }
        let (rank, text) = match p.role {
            Role::Director => (0, format!("also directed by {}", p.name)),
            Role::Cast if p.order.is_some_and(|o| o < 5) => (1, format!("also with {}", p.name)),
            Role::Writer => (2, format!("also written by {}", p.name)),
            Role::Cast => (3, format!("also with {}", p.name)),
            Role::Composer | Role::Producer => continue,
        };
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((rank, text));
        }
    }
    if let Some((_, t)) = best {
        return Some(t);
    }
    let seed_kw: HashSet<String> = seed.keywords.iter().map(|k| k.to_lowercase()).collect();
    item.keywords
        .iter()
        .find(|k| seed_kw.contains(&k.to_lowercase()))
        .map(|k| format!("also about {k}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use recagent_core::{Item, Person};

    fn film(i: u32, title: &str, people: &[(&str, Role, Option<u16>)]) -> Item {
        Item {
            id: ItemId(i),
            key: i.to_string(),
            title: title.into(),
            year: Some(1990),
            genres: vec!["Drama".into()],
            people: people
                .iter()
                .map(|(n, r, o)| Person::new(*n, *r, *o))
                .collect(),
            ..Item::default()
        }
    }

    fn people() -> People {
        use Role::*;
        let items = vec![
            film(
                0,
                "The Shining",
                &[
                    ("Stanley Kubrick", Director, None),
                    ("Jack Nicholson", Cast, Some(0)),
                ],
            ),
            film(
                1,
                "Full Metal Jacket",
                &[
                    ("Stanley Kubrick", Director, None),
                    ("Matthew Modine", Cast, Some(0)),
                ],
            ),
            film(
                2,
                "Philadelphia",
                &[
                    ("Jonathan Demme", Director, None),
                    ("Tom Hanks", Cast, Some(0)),
                    ("Denzel Washington", Cast, Some(1)),
                ],
            ),
            film(
                3,
                "Forrest Gump",
                &[
                    ("Robert Zemeckis", Director, None),
                    ("Tom Hanks", Cast, Some(0)),
                ],
            ),
            film(
                4,
                "Big",
                &[
                    ("Penny Marshall", Director, None),
                    ("Tom Hanks", Cast, Some(0)),
                ],
            ),
            film(
                5,
                "Dumb and Dumber",
                &[
                    ("Peter Farrelly", Director, None),
                    ("Bobby Farrelly", Director, None),
                    ("Jim Carrey", Cast, Some(0)),
                ],
            ),
            film(
                6,
                "Witness",
                &[
                    ("Peter Weir", Director, None),
                    ("Harrison Ford", Cast, Some(0)),
                ],
            ),
            film(
                7,
                "Star Wars",
                &[
                    ("George Lucas", Director, None),
                    ("Harrison Ford", Cast, Some(1)),
                ],
            ),
            film(
                8,
                "The Fugitive",
                &[
                    ("Andrew Davis", Director, None),
                    ("Harrison Ford", Cast, Some(0)),
                ],
            ),
            film(
                9,
                "Blade Runner",
                &[
                    ("Ridley Scott", Director, None),
                    ("Harrison Ford", Cast, Some(0)),
                ],
            ),
            film(
                10,
                "Romancing the Stone",
                &[
                    ("Robert Zemeckis", Director, None),
                    ("Sharon Stone", Cast, Some(5)),
                ],
            ),
            film(
                11,
                "Basic Instinct",
                &[
                    ("Paul Verhoeven", Director, None),
                    ("Sharon Stone", Cast, Some(1)),
                ],
            ),
            film(
                12,
                "Casino",
                &[
                    ("Martin Scorsese", Director, None),
                    ("Sharon Stone", Cast, Some(2)),
                ],
            ),
            film(13, "Soul Food", &[("George Tillman, Jr.", Director, None)]),
        ];
        let catalog = Catalog::new("t", items, Vec::new(), Vec::new()).unwrap();
        People::new(&catalog)
    }

    /// `(text, names linked)`.
    fn check(text: &str, expect: &[&str]) {
        let p = people();
        let got: Vec<String> = p
            .mentions(&words(text), text)
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(got, expect, "{text}");
    }

    #[test]
    fn person_linking() {
        check("something with denzel washington", &["Denzel Washington"]);
        check("my wife loves Tom Hanks", &["Tom Hanks"]);
        check("a Kubrick film", &["Stanley Kubrick"]);
        check("more of kubrick's films", &["Stanley Kubrick"]);
        check(
            "something by the Farrelly brothers",
            &["Peter Farrelly", "Bobby Farrelly"],
        );
        check("anything with Harrison", &["Harrison Ford"]);
        // One letter off in a long word.
        check("denzel washingten please", &["Denzel Washington"]);
        // A title word is a surname only with its capital.
        check("a film with Stone in it", &["Sharon Stone"]);
        // A lone name part inside a title is not a person.
        check("films like The Dark Stone", &[]);
        // Suffixes and initials inside names.
        check("something by george tillman", &["George Tillman, Jr."]);
        assert_eq!(
            people().canonical("George Tillman, Jr.").as_deref(),
            Some("George Tillman, Jr.")
        );
        check("romancing the stone", &[]);
        // A first name alone must be written as a name.
        check("anything with harrison", &[]);
        // Nobody: no link.
        check("a funny movie for tonight", &[]);
    }

    #[test]
    fn canonical_names_come_back_as_the_catalog_spells_them() {
        let p = people();
        assert_eq!(p.canonical("tom hanks").as_deref(), Some("Tom Hanks"));
        assert_eq!(p.canonical("Kubrick").as_deref(), Some("Stanley Kubrick"));
        assert_eq!(p.canonical("Tom Cruise"), None);
        assert_eq!(p.films("Tom Hanks"), &[ItemId(2), ItemId(3), ItemId(4)]);
    }
}
