//! A model's plan held to the reading: [`check`] finds the slots that
//! cannot be right as written (against the plan itself, the catalog's
//! [`Known`] names and the rules draft), [`repair`] puts them back to the
//! draft's, and [`ground`] holds years, liked titles, avoided genres and
//! search words to what the user's words say. [`FilmSketch`] is a film the
//! catalog lacks in the catalog's terms. Pure functions: the catalog is
//! reached only through [`Known`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rules::is_stopword;
use crate::{Cues, Plan, title_key};

/// A slot of a plan that cannot be right as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// The slot: "years", "genres", "avoid_genres", "people",
    /// "avoid_people", "liked_titles", "excluded_titles" or "seen_titles".
    pub slot: String,
    pub why: String,
}

/// What [`check`] needs to know of the catalog.
pub trait Known: std::fmt::Debug + Send + Sync {
    /// Whether `name` is a genre the catalog knows (or a synonym of one).
    fn genre(&self, name: &str) -> bool;
    /// Whether `title` links to an item.
    fn title(&self, title: &str) -> bool;
    /// Whether the catalog credits a person of this name.
    fn person(&self, name: &str) -> bool;
    /// The catalog's name for a genre (`"science fiction"` is `"Sci-Fi"`).
    fn genre_name(&self, name: &str) -> Option<String> {
        self.genre(name).then(|| name.to_owned())
    }
    /// The catalog's genres in the order prompts list them (none known:
    /// empty).
    fn genre_list(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Most keywords a [`FilmSketch`] adds to the search words.
pub const SKETCH_KEYWORDS: usize = 5;

/// A film the catalog lacks, as a model describes it in the catalog's
/// terms (`prompts/describe.j2`): what recall follows instead of the film.
///
/// It names no people: nothing in the catalog can check them for a film
/// it lacks, and the local models name wrong ones (asked, the 0.5B gave
/// Parasite James Cameron and Tom Hardy, the 1.5B gave The Matrix Stanley
/// Kubrick), which would turn the list into theirs. The share of wrong
/// people on films the catalog does credit is measured by `knowledge
/// generate --check` (docs/knowledge.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FilmSketch {
    /// Its genres, from the catalog's list.
    pub genres: Vec<String>,
    /// Up to five single words for what it is about ("dreams", "heist").
    pub keywords: Vec<String>,
    /// The year it came out.
    #[schemars(range(min = 1900, max = 2030))]
    pub year: Option<u16>,
}

impl FilmSketch {
    /// What of the sketch the catalog can follow: genres it knows (by its
    /// names), and keywords that are words, not the film's own title (at
    /// most [`SKETCH_KEYWORDS`], each once). The year is kept as said.
    pub fn checked(&self, film: &str, known: &dyn Known) -> FilmSketch {
        let mut out = FilmSketch {
            year: self.year,
            ..FilmSketch::default()
        };
        for g in &self.genres {
            if let Some(name) = known.genre_name(g)
                && !out.genres.contains(&name)
            {
                out.genres.push(name);
            }
        }
        // Three or more genres in the order the prompt lists them ("Action,
        // Adventure, Animation, Children's") are the list copied out, not
        // the film's: a small model that does not know the film does that.
        let listed = known.genre_list();
        if out.genres.len() >= 3 && listed.starts_with(&out.genres) {
            out.genres.clear();
        }
        let film_words: Vec<String> = recagent_core::text::words(film);
        for k in &self.keywords {
            let k = k.trim().to_lowercase();
            let words = recagent_core::text::words(&k);
            let fresh = !words.is_empty()
                && words.len() <= 3
                && !words.iter().all(|w| film_words.contains(w))
                && !out.keywords.contains(&k);
            if fresh && out.keywords.len() < SKETCH_KEYWORDS {
                out.keywords.push(k);
            }
        }
        out
    }

    /// Whether nothing of it can be followed.
    pub fn is_empty(&self) -> bool {
        self.genres.is_empty() && self.keywords.is_empty()
    }

    /// `plan` following the sketch instead of the film: the film's words
    /// leave the search words, and its keywords join them (what BM25
    /// matches in plots and keywords); its genres order the list where the
    /// plan asks for none of its own.
    pub fn applied_to(&self, plan: &Plan, film: &str) -> Plan {
        let mut p = plan.clone();
        let film_words = recagent_core::text::words(film);
        let mut words: Vec<String> = recagent_core::text::words(&p.intent)
            .into_iter()
            .filter(|w| !film_words.contains(w))
            .collect();
        for extra in &self.keywords {
            for w in recagent_core::text::words(extra) {
                if !words.contains(&w) {
                    words.push(w);
                }
            }
        }
        p.intent = words.join(" ");
        for g in &self.genres {
            let taken = p.want.genres.contains(g)
                || p.want.avoid_genres.contains(g)
                || p.never_genres.contains(g);
            if !taken && !p.want.prefer_genres.contains(g) {
                p.want.prefer_genres.push(g.clone());
            }
        }
        p
    }
}

/// The slots of a model's `plan` that contradict each other, the catalog,
/// or the user's words where the rules parse (`draft`) is confident.
pub fn check(plan: &Plan, draft: &Plan, known: &dyn Known) -> Vec<Issue> {
    let mut out = Vec::new();
    let mut issue = |slot: &str, why: String| {
        if !out.iter().any(|i: &Issue| i.slot == slot) {
            out.push(Issue {
                slot: slot.into(),
                why,
            });
        }
    };
    let p = plan.normalized();
    if let (Some(lo), Some(hi)) = (p.want.year_min, p.want.year_max)
        && lo > hi
    {
        issue(
            "years",
            format!("year_min {lo} is after year_max {hi}: no film is both"),
        );
    }
    if let (Some(hi), Some(lo)) = (p.want.year_max, draft.want.year_min)
        && hi < lo
    {
        issue(
            "years",
            format!(
                "the user asked for films from {lo} on, and year_max {hi} leaves out all of them"
            ),
        );
    }
    if let (Some(lo), Some(hi)) = (p.want.year_min, draft.want.year_max)
        && lo > hi
    {
        issue(
            "years",
            format!(
                "the user asked for films up to {hi}, and year_min {lo} leaves out all of them"
            ),
        );
    }
    let avoided: Vec<&String> = p
        .want
        .avoid_genres
        .iter()
        .chain(&p.never_genres)
        .chain(&draft.want.avoid_genres)
        .chain(&draft.never_genres)
        .collect();
    for g in p.want.genres.iter().chain(&p.want.prefer_genres) {
        if !known.genre(g) {
            issue(
                "genres",
                format!("{g:?} is not one of the catalog's genres"),
            );
        } else if avoided.contains(&g) {
            issue("genres", format!("{g} is wanted and also excluded"));
        }
    }
    for g in p.want.avoid_genres.iter().chain(&p.never_genres) {
        if !known.genre(g) {
            issue(
                "avoid_genres",
                format!("{g:?} is not one of the catalog's genres"),
            );
        } else if draft.want.genres.contains(g) || draft.want.prefer_genres.contains(g) {
            issue(
                "avoid_genres",
                format!("the user asked for {g}, not to avoid it"),
            );
        }
    }
    for (slot, names) in [
        ("people", &p.want.people),
        ("avoid_people", &p.want.avoid_people),
    ] {
        if let Some(n) = names.iter().find(|n| !known.person(n)) {
            issue(slot, format!("no film in the catalog credits {n:?}"));
        }
    }
    if let Some(n) = p
        .want
        .people
        .iter()
        .find(|n| draft.want.avoid_people.contains(n))
    {
        issue("people", format!("the user said no to {n}"));
    }
    for (slot, titles) in [
        ("liked_titles", &p.liked_titles),
        ("excluded_titles", &p.excluded_titles),
        ("seen_titles", &p.seen_titles),
    ] {
        if let Some(t) = titles.iter().find(|t| !known.title(t)) {
            issue(slot, format!("no title in the catalog matches {t:?}"));
        }
    }
    out
}

/// A model's `plan` held to what the user said, where a model writes
/// what nobody asked for. Returns the plan and the number of slots put
/// back to the rules draft's:
/// - year bounds the draft lacks stand only where the words speak of
///   time and do not take a bound away ("like The Godfather" has no
///   year; "tonight" is not 2023; "any year" is none);
/// - a liked title stands only where the user named it this turn (the
///   draft links it), or, where the draft links no title at all, where it
///   is not on the list just shown ("seen it" does not make the whole last
///   list the user's favourites);
/// - genres to avoid stand only where the words say no to something ("no
///   horror", "nothing too scary", "I hate musicals"); "from the 90s" does
///   not avoid half the catalog;
/// - a request that only adjusts what stands keeps the standing search
///   words: a model's paraphrase of "from the 80s" is not a new search.
pub fn ground(
    plan: &Plan,
    draft: &Plan,
    cues: &Cues,
    user_text: &str,
    last_shown: &[String],
) -> (Plan, u32) {
    let mut p = plan.clone();
    let mut replaced = 0;
    let no_draft_years = draft.want.year_min.is_none() && draft.want.year_max.is_none();
    // "Older films are fine" speaks of time to take a bound away.
    let unasked = !cues.time_words || cues.clear_years;
    if no_draft_years && unasked && p.want.has_years() {
        p.want.year_min = None;
        p.want.year_max = None;
        replaced += 1;
    }
    let named: Vec<Vec<String>> = draft
        .liked_titles
        .iter()
        .chain(&draft.excluded_titles)
        .chain(&draft.seen_titles)
        .map(|t| title_key(t))
        .collect();
    let shown: Vec<Vec<String>> = last_shown.iter().map(|t| title_key(t)).collect();
    let user = recagent_core::words(user_text);
    // A title the rules read as seen or set aside is not a liked one:
    // "I've seen Titanic. A romance please" does not like Titanic.
    let not_liked: Vec<Vec<String>> = draft
        .excluded_titles
        .iter()
        .chain(&draft.seen_titles)
        .filter(|t| !draft.liked_titles.contains(t))
        .map(|t| title_key(t))
        .collect();
    let before = p.liked_titles.len();
    p.liked_titles.retain(|t| {
        let k = title_key(t);
        !not_liked.contains(&k)
            && (named.contains(&k)
                || named.is_empty() && !shown.contains(&k) && in_words(&k, &user))
    });
    if p.liked_titles.len() != before {
        replaced += 1;
    }
    // Seen and excluded titles: named, on the list just shown ("seen it"),
    // or in the user's words; not one a small model copied from an example.
    for titles in [&mut p.seen_titles, &mut p.excluded_titles] {
        let before = titles.len();
        titles.retain(|t| {
            let k = title_key(t);
            named.contains(&k) || shown.contains(&k) || in_words(&k, &user)
        });
        if titles.len() != before {
            replaced += 1;
        }
    }
    // Genres wanted: a few the words do not name may be the model's fair
    // reading ("space battles" is Sci-Fi); a list of them is the model
    // copying the genre list (all eighteen, for "more like Alien").
    for (mine, theirs) in [
        (&mut p.want.genres, &draft.want.genres),
        (&mut p.want.prefer_genres, &draft.want.prefer_genres),
    ] {
        let named = |g: &String| {
            let g = g.to_lowercase();
            theirs
                .iter()
                .chain(&draft.want.genres)
                .chain(&draft.want.prefer_genres)
                .chain(&cues.named_genres)
                .any(|x| x.to_lowercase() == g)
        };
        let unnamed = mine.iter().filter(|g| !named(g)).count();
        if unnamed > MAX_UNNAMED_GENRES {
            mine.retain(|g| named(g));
            replaced += 1;
        }
    }
    // Genres to avoid: the draft's, or genres the words name where they
    // say no ("nothing scary"); not "not the first one" read as no horror.
    let before = p.want.avoid_genres.len() + p.never_genres.len();
    let said_no = |g: &String| {
        let g = g.to_lowercase();
        let named = |list: &[String]| list.iter().any(|x| x.to_lowercase() == g);
        named(&draft.want.avoid_genres)
            || named(&draft.never_genres)
            || cues.negative_words && named(&cues.named_genres)
    };
    p.want.avoid_genres.retain(|g| said_no(g));
    p.never_genres.retain(|g| said_no(g));
    if p.want.avoid_genres.len() + p.never_genres.len() != before {
        replaced += 1;
    }
    if draft.is_modifier_only() && !p.intent.trim().is_empty() {
        p.intent.clear();
        replaced += 1;
    }
    // Search words none of which the user said ("search", from the tool's
    // name, for "a mystery from the 70s") are not theirs: the draft's
    // words stand.
    let intent = recagent_core::words(&p.intent);
    let named: Vec<String> = p
        .want
        .people
        .iter()
        .chain(&p.want.avoid_people)
        .flat_map(|n| recagent_core::words(n))
        .collect();
    let theirs = intent
        .iter()
        .any(|w| w.chars().count() >= 3 && in_words(std::slice::from_ref(w), &user));
    if !user.is_empty() && !intent.is_empty() && !theirs {
        p.intent.clone_from(&draft.intent);
        replaced += 1;
    } else if intent.iter().any(|w| is_stopword(w) || named.contains(w)) {
        // "Looking for something to watch tonight with my wife": the
        // sentence copied whole; the words the rules keep are searched,
        // and a wanted person's name is a filter already.
        let kept: Vec<&String> = intent
            .iter()
            .filter(|w| !is_stopword(w) && !named.contains(w))
            .collect();
        p.intent = kept
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        replaced += 1;
    }
    (p, replaced)
}

/// The most genres a model may want that neither the words nor the rules
/// name; more is a list copied from the prompt, and they all go.
const MAX_UNNAMED_GENRES: usize = 3;

/// Whether a title's words (`title_key`) are in the user's words: each
/// word of three letters or more is theirs, or one typo away from one of
/// theirs when it has five letters or more.
fn in_words(title: &[String], user: &[String]) -> bool {
    let long: Vec<&String> = title.iter().filter(|w| w.chars().count() >= 3).collect();
    !long.is_empty()
        && long.iter().all(|w| {
            user.iter().any(|u| {
                u == *w || w.chars().count() >= 5 && strsim::damerau_levenshtein(u, w) <= 1
            })
        })
}

/// `plan` with each slot that has an issue replaced by the draft's.
pub fn repair(plan: &Plan, draft: &Plan, issues: &[Issue], known: &dyn Known) -> Plan {
    let mut p = plan.normalized();
    for i in issues {
        match i.slot.as_str() {
            "years" => {
                p.want.year_min = draft.want.year_min;
                p.want.year_max = draft.want.year_max;
            }
            "genres" => {
                p.want.genres.clone_from(&draft.want.genres);
                p.want.prefer_genres.clone_from(&draft.want.prefer_genres);
            }
            "avoid_genres" => {
                p.want.avoid_genres.clone_from(&draft.want.avoid_genres);
                p.never_genres.clone_from(&draft.never_genres);
            }
            slot @ ("people" | "avoid_people") => {
                let (mine, theirs) = if slot == "people" {
                    (&mut p.want.people, &draft.want.people)
                } else {
                    (&mut p.want.avoid_people, &draft.want.avoid_people)
                };
                mine.retain(|n| known.person(n) && !draft.want.avoid_people.contains(n));
                for n in theirs {
                    if !mine.contains(n) {
                        mine.push(n.clone());
                    }
                }
            }
            slot @ ("liked_titles" | "excluded_titles" | "seen_titles") => {
                let (mine, theirs) = match slot {
                    "liked_titles" => (&mut p.liked_titles, &draft.liked_titles),
                    "excluded_titles" => (&mut p.excluded_titles, &draft.excluded_titles),
                    _ => (&mut p.seen_titles, &draft.seen_titles),
                };
                mine.retain(|t| known.title(t));
                for t in theirs {
                    if !mine.contains(t) {
                        mine.push(t.clone());
                    }
                }
            }
            _ => {}
        }
    }
    p
}

#[cfg(test)]
mod ground_tests {
    use super::*;
    use recagent_core::Constraint;

    fn cues(time_words: bool, clear_years: bool) -> Cues {
        Cues {
            time_words,
            clear_years,
            ..Cues::default()
        }
    }

    #[test]
    fn years_stand_only_where_the_words_speak_of_time() {
        let model = Plan {
            want: Constraint {
                year_min: Some(1970),
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let none = Plan::default();
        // "like The Godfather": no time word, the year goes.
        let (p, n) = ground(&model, &none, &cues(false, false), "", &[]);
        assert_eq!((p.want.year_min, n), (None, 1));
        // "something from the old days": a time word the rules did not
        // read, the model's reading stands.
        let (p, n) = ground(&model, &none, &cues(true, false), "", &[]);
        assert_eq!((p.want.year_min, n), (Some(1970), 0));
        // "older films are fine" takes bounds away.
        let (p, _) = ground(&model, &none, &cues(true, true), "", &[]);
        assert_eq!(p.want.year_min, None);
        // Where the draft read years, the model's are left to `check`.
        let draft = Plan {
            want: Constraint {
                year_min: Some(1980),
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let (p, n) = ground(&model, &draft, &cues(false, false), "", &[]);
        assert_eq!((p.want.year_min, n), (Some(1970), 0));
    }

    #[test]
    fn liked_titles_stand_only_where_the_user_named_them() {
        let shown = vec!["Godfather, The".to_owned(), "Heat".to_owned()];
        let model = Plan {
            liked_titles: vec!["The Godfather".into(), "Heat".into()],
            ..Plan::default()
        };
        // "seen it": nothing named, the list shown is not what they liked.
        let (p, n) = ground(&model, &Plan::default(), &cues(false, false), "", &shown);
        assert!(p.liked_titles.is_empty());
        assert_eq!(n, 1);
        // "I loved the godfather": the named one stays, the other goes.
        let draft = Plan {
            liked_titles: vec!["Godfather, The".into()],
            ..Plan::default()
        };
        let (p, _) = ground(&model, &draft, &cues(false, false), "", &shown);
        assert_eq!(p.liked_titles, vec!["The Godfather".to_owned()]);
        // A title the rules could not link, in the user's words (one typo
        // away), not on the list, stays.
        let typo = Plan {
            liked_titles: vec!["Alien".into()],
            ..Plan::default()
        };
        let said = "something like alein";
        let (p, n) = ground(&typo, &Plan::default(), &cues(false, false), said, &shown);
        assert_eq!((p.liked_titles.len(), n), (1, 0));
        // One the user never wrote goes: a model copying its examples.
        let (p, n) = ground(
            &typo,
            &Plan::default(),
            &cues(false, false),
            "a scary one",
            &shown,
        );
        assert_eq!((p.liked_titles.len(), n), (0, 1));
    }

    #[test]
    fn a_copied_genre_list_goes_and_a_few_inferred_genres_stay() {
        let all: Vec<String> = ["Action", "Adventure", "Comedy", "Crime", "Drama", "Sci-Fi"]
            .iter()
            .map(|g| (*g).to_owned())
            .collect();
        let model = Plan {
            want: Constraint {
                genres: all,
                ..Constraint::default()
            },
            ..Plan::default()
        };
        // "something similar to The Silence of the Lambs" through a model
        // server: every genre required.
        let (p, n) = ground(&model, &Plan::default(), &cues(false, false), "", &[]);
        assert!(p.want.genres.is_empty());
        assert_eq!(n, 1);
        // "a comedy like Alien": the named one stays.
        let comedy = Cues {
            named_genres: vec!["Comedy".into()],
            ..Cues::default()
        };
        let (p, _) = ground(&model, &Plan::default(), &comedy, "", &[]);
        assert_eq!(p.want.genres, vec!["Comedy".to_owned()]);
        // "a movie about space battles": two the model read stay.
        let space = Plan {
            want: Constraint {
                genres: vec!["Sci-Fi".into(), "War".into()],
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let (p, n) = ground(&space, &Plan::default(), &cues(false, false), "", &[]);
        assert_eq!((p.want.genres.len(), n), (2, 0));
    }

    #[test]
    fn a_title_the_user_has_seen_is_not_liked() {
        let draft = Plan {
            seen_titles: vec!["Titanic (1997)".into()],
            want: Constraint {
                genres: vec!["Romance".into()],
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let model = Plan {
            liked_titles: vec!["Titanic".into()],
            seen_titles: vec!["Titanic".into()],
            ..Plan::default()
        };
        let said = "I've seen Titanic. A romance please";
        let (p, n) = ground(&model, &draft, &cues(false, false), said, &[]);
        assert!(p.liked_titles.is_empty());
        assert_eq!(p.seen_titles, vec!["Titanic".to_owned()]);
        assert_eq!(n, 1);
    }

    #[test]
    fn seen_and_excluded_titles_are_named_shown_or_in_the_words() {
        let shown = vec!["Toy Story (1995)".to_owned()];
        // What the 0.5B wrote for "a funny animated movie from the 90s for
        // my kids": a seen title from nowhere.
        let model = Plan {
            seen_titles: vec!["not Alien".into()],
            excluded_titles: vec!["Alien".into()],
            ..Plan::default()
        };
        let said = "a funny animated movie from the 90s for my kids";
        let (p, n) = ground(&model, &Plan::default(), &cues(false, false), said, &shown);
        assert!(p.seen_titles.is_empty() && p.excluded_titles.is_empty());
        assert_eq!(n, 2);
        // "seen it": the title shown stays.
        let seen = Plan {
            seen_titles: vec!["Toy Story".into()],
            ..Plan::default()
        };
        let (p, n) = ground(
            &seen,
            &Plan::default(),
            &cues(false, false),
            "seen it",
            &shown,
        );
        assert_eq!((p.seen_titles.len(), n), (1, 0));
        // "I've already watched Alien": in the words, it stays.
        let (p, _) = ground(
            &model,
            &Plan::default(),
            &cues(false, false),
            "I've already watched Alien",
            &shown,
        );
        assert_eq!(p.excluded_titles, vec!["Alien".to_owned()]);
    }

    #[test]
    fn titles_compare_without_their_article() {
        assert_eq!(title_key("Professional, The"), title_key("Professional"));
        assert_eq!(
            title_key("An American in Paris"),
            title_key("American in Paris, An")
        );
        assert_ne!(title_key("Heat"), title_key("The Heat Is On"));
        assert_eq!(title_key("The Shining, The"), title_key("Shining, The"));
        assert_eq!(title_key("Toy Story (1995)"), title_key("Toy Story"));
        assert_eq!(title_key("1984 (1984)"), vec!["1984".to_owned()]);
        let shown = vec!["Quiet Man, The".to_owned()];
        let model = Plan {
            liked_titles: vec!["Quiet Man".into()],
            ..Plan::default()
        };
        let (p, _) = ground(&model, &Plan::default(), &cues(false, false), "", &shown);
        assert!(p.liked_titles.is_empty());
    }

    #[test]
    fn genres_are_avoided_only_where_the_words_say_no() {
        let model = Plan {
            want: Constraint {
                avoid_genres: vec!["Horror".into(), "Sci-Fi".into()],
                ..Constraint::default()
            },
            ..Plan::default()
        };
        let (p, n) = ground(&model, &Plan::default(), &cues(true, false), "", &[]);
        assert!(p.want.avoid_genres.is_empty());
        assert_eq!(n, 1);
        // "no horror and no sci-fi": both named where the words say no.
        let no = Cues {
            negative_words: true,
            named_genres: vec!["Horror".into(), "Sci-Fi".into()],
            ..Cues::default()
        };
        let (p, n) = ground(&model, &Plan::default(), &no, "", &[]);
        assert_eq!((p.want.avoid_genres.len(), n), (2, 0));
        // "not the first one": a no, but no genre named (the 1.5B read it
        // as no horror).
        let not_first = Cues {
            negative_words: true,
            ..Cues::default()
        };
        let (p, n) = ground(&model, &Plan::default(), &not_first, "", &[]);
        assert_eq!((p.want.avoid_genres.len(), n), (0, 1));
        // "no horror": the other goes.
        let horror = Cues {
            negative_words: true,
            named_genres: vec!["Horror".into()],
            ..Cues::default()
        };
        let (p, _) = ground(&model, &Plan::default(), &horror, "", &[]);
        assert_eq!(p.want.avoid_genres, vec!["Horror".to_owned()]);
    }

    #[test]
    fn a_modifier_keeps_the_standing_search_words() {
        let draft = Plan {
            want: Constraint {
                year_min: Some(1980),
                year_max: Some(1989),
                ..Constraint::default()
            },
            ..Plan::default()
        };
        assert!(draft.is_modifier_only());
        let model = Plan {
            intent: "movies from the 80s".into(),
            ..draft.clone()
        };
        let (p, n) = ground(&model, &draft, &cues(true, false), "", &[]);
        assert_eq!((p.intent.as_str(), n), ("", 1));
        // Search words the user never said give way to the draft's.
        let model = Plan {
            intent: "search".into(),
            ..Plan::default()
        };
        let draft = Plan {
            intent: "heist".into(),
            ..Plan::default()
        };
        let (p, n) = ground(&model, &draft, &cues(false, false), "a heist movie", &[]);
        assert_eq!((p.intent.as_str(), n), ("heist", 1));
        // The user's sentence copied whole keeps only the words searched.
        let said = "looking for something to watch tonight with my wife, she loves Tom Hanks";
        let model = Plan {
            intent: said.into(),
            ..Plan::default()
        };
        let (p, n) = ground(&model, &Plan::default(), &cues(false, false), said, &[]);
        assert_eq!(n, 1);
        for w in ["with", "something", "to", "my", "for"] {
            assert!(
                !recagent_core::words(&p.intent).contains(&w.to_owned()),
                "{w} in {:?}",
                p.intent
            );
        }
        let model = Plan {
            intent: "bank heist".into(),
            ..Plan::default()
        };
        let (p, n) = ground(&model, &draft, &cues(false, false), "a heist movie", &[]);
        assert_eq!(
            (p.intent.as_str(), n),
            ("bank heist", 0),
            "one word of theirs is enough"
        );
        let crime = Plan {
            want: Constraint {
                genres: vec!["Crime".into()],
                ..draft.want.clone()
            },
            ..draft
        };
        assert!(!crime.is_modifier_only());
    }
}
