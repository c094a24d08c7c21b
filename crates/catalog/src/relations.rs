//! A check that a catalog's knowledge-graph relations belong to the items
//! they are linked to.
//!
//! Titles of one franchise ("Godfather, The" and "Godfather: Part II, The",
//! "Star Trek: First Contact" and "Star Trek: Generations", "Batman" and
//! "Batman Returns") nearly always share a director, writer or actor. When
//! most such pairs share no entity, the link file is misaligned, and
//! similarity built on it recommends The Sword in the Stone for The
//! Godfather. `data fetch` then drops the relations and says why.

use recagent_core::{Catalog, Item, words};

/// Franchise pairs needed before the check can judge.
pub const MIN_PAIRS: usize = 5;
/// The share of franchise pairs that must share an entity.
pub const MIN_AGREEMENT: f64 = 0.5;

/// What the check found.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationCheck {
    /// Franchise pairs where both items carry relations.
    pub pairs: usize,
    /// Of those, pairs sharing at least one entity.
    pub agreeing: usize,
    /// Up to three pairs that share nothing, as titles.
    pub disagreeing: Vec<(String, String)>,
}

impl RelationCheck {
    /// Whether the relations can be trusted (or there was too little to
    /// judge and there are none to distrust).
    pub fn passes(&self) -> bool {
        self.pairs < MIN_PAIRS || self.share() >= MIN_AGREEMENT
    }

    pub fn share(&self) -> f64 {
        if self.pairs == 0 {
            1.0
        } else {
            self.agreeing as f64 / self.pairs as f64
        }
    }
}

/// The words a franchise is known by: the title before any colon, with a
/// trailing article ("Godfather, The") dropped.
fn stem(title: &str) -> Vec<String> {
    let head = title.split(':').next().unwrap_or(title);
    let head = head
        .strip_suffix(", The")
        .or_else(|| head.strip_suffix(", A"))
        .unwrap_or(head);
    words(head)
}

/// Words that mark a sequel right after a franchise's name ("Alien 3",
/// "Batman Returns", "Godfather: Part II"); "Dead Man Walking" is not a
/// sequel of "Dead Man".
const SEQUEL_WORDS: &[&str] = &[
    "2",
    "3",
    "4",
    "5",
    "6",
    "ii",
    "iii",
    "iv",
    "v",
    "vi",
    "part",
    "returns",
    "forever",
    "again",
    "resurrection",
    "strikes",
];

/// Whether two items look like one franchise: the same stem (the title
/// before any subtitle), or one's stem followed in the other's title by a
/// sequel word; a stem of under five letters proves nothing.
fn same_franchise(a: &Item, b: &Item) -> bool {
    let (sa, sb) = (stem(&a.title), stem(&b.title));
    let (wa, wb) = (words(&a.title), words(&b.title));
    let starts = |stem: &[String], title: &[String]| {
        !stem.is_empty()
            && stem.iter().map(String::len).sum::<usize>() >= 5
            && title.len() > stem.len()
            && title[..stem.len()] == *stem
            && SEQUEL_WORDS.contains(&title[stem.len()].as_str())
    };
    a.id != b.id
        && (sa == sb && sa.iter().map(String::len).sum::<usize>() >= 5
            || starts(&sa, &wb)
            || starts(&sb, &wa))
}

/// The other items of `seed`'s series in `catalog` ([`same_series`]),
/// with the seed's part of the work done once and a cheap test first, so
/// that a scan of the catalog stays well under a millisecond per thousand
/// items.
pub fn series_of(catalog: &Catalog, seed: &Item) -> Vec<recagent_core::ItemId> {
    let first = stem(&seed.title).into_iter().next().unwrap_or_default();
    let seed_leads = leads(seed);
    catalog
        .items()
        .iter()
        .filter(|b| {
            b.id != seed.id
                && ((first.len() >= 3
                    && b.title.to_lowercase().contains(&first)
                    && same_franchise(seed, b))
                    || (seed_leads.len() >= 3
                        && !b.people.is_empty()
                        && leads(b).iter().filter(|k| seed_leads.contains(k)).count() >= 3))
        })
        .map(|b| b.id)
        .collect()
}

/// The folded names of an item's first four billed actors.
fn leads(it: &Item) -> Vec<String> {
    it.people
        .iter()
        .filter(|p| p.role == recagent_core::Role::Cast && p.order.is_some_and(|o| o < 4))
        .map(|p| recagent_core::person_key(&p.name))
        .collect()
}

/// Whether two items look like one series: one franchise by title
/// ([`same_franchise`]), or the same leads (three of each one's first
/// four billed cast), as in the Star Wars films, whose titles share
/// nothing. Two films of one star couple share two, not three.
pub fn same_series(a: &Item, b: &Item) -> bool {
    if a.id == b.id {
        return false;
    }
    if same_franchise(a, b) {
        return true;
    }
    let la = leads(a);
    la.len() >= 3 && leads(b).iter().filter(|k| la.contains(k)).count() >= 3
}

/// The relations that name people; countries, languages and studios are
/// shared by most films of a franchise and of everything else, so they
/// prove nothing.
pub const PEOPLE: [&str; 5] = ["actor", "director", "writer", "producer", "cinematographer"];

fn shares_entity(a: &Item, b: &Item) -> bool {
    a.relations
        .iter()
        .filter(|(rel, _)| PEOPLE.contains(&rel.as_str()))
        .any(|(rel, ids)| {
            b.relations
                .get(rel)
                .is_some_and(|other| ids.iter().any(|i| other.contains(i)))
        })
}

/// Checks the relations of `catalog` on its franchise pairs.
pub fn check(catalog: &Catalog) -> RelationCheck {
    let with: Vec<&Item> = catalog
        .items()
        .iter()
        .filter(|i| i.relations.keys().any(|r| PEOPLE.contains(&r.as_str())))
        .collect();
    let mut out = RelationCheck {
        pairs: 0,
        agreeing: 0,
        disagreeing: Vec::new(),
    };
    for (n, a) in with.iter().enumerate() {
        for b in &with[n + 1..] {
            if !same_franchise(a, b) {
                continue;
            }
            out.pairs += 1;
            if shares_entity(a, b) {
                out.agreeing += 1;
            } else if out.disagreeing.len() < 3 {
                out.disagreeing.push((a.title.clone(), b.title.clone()));
            }
        }
    }
    out
}

/// `catalog` with every item's relations removed.
pub fn without_relations(catalog: &Catalog) -> Result<Catalog, recagent_core::CatalogError> {
    let items: Vec<Item> = catalog
        .items()
        .iter()
        .cloned()
        .map(|mut i| {
            i.relations.clear();
            i
        })
        .collect();
    catalog.with_items(items)
}

/// Runs the check and drops the relations when it fails; the note says
/// what was found either way (`None` when there were no relations).
pub fn checked(catalog: Catalog) -> Result<(Catalog, Option<String>), recagent_core::CatalogError> {
    if catalog.items().iter().all(|i| i.relations.is_empty()) {
        return Ok((catalog, None));
    }
    let c = check(&catalog);
    if c.passes() {
        let note = format!(
            "knowledge-graph relations kept: {} of {} franchise pairs share a person",
            c.agreeing, c.pairs
        );
        return Ok((catalog, Some(note)));
    }
    let examples: Vec<String> = c
        .disagreeing
        .iter()
        .map(|(a, b)| format!("{a} / {b}"))
        .collect();
    let note = format!(
        "knowledge-graph relations dropped: only {} of {} franchise pairs share a director, writer or actor (for example {}), so the link file does not match the items; similarity uses ratings, genres and text instead",
        c.agreeing,
        c.pairs,
        examples.join("; ")
    );
    Ok((without_relations(&catalog)?, Some(note)))
}

/// The relation that names people of a role, and the role.
const PERSON_RELATIONS: [(&str, recagent_core::Role); 3] = [
    ("director", recagent_core::Role::Director),
    ("actor", recagent_core::Role::Cast),
    ("writer", recagent_core::Role::Writer),
];

/// What the film-by-film check found ([`check_films`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilmCheck {
    /// Films with both graph relations of people and named people.
    pub checkable: usize,
    /// Of those, films where a graph id's name, as the other films carrying
    /// it vote, is one of the film's own people in that role.
    pub agreeing: usize,
    /// Films whose graph facts were dropped.
    pub dropped: usize,
    /// Graph ids given a name (voted by the films that carry them).
    pub named_ids: usize,
    /// Of the checkable films with an odd index (names learned on the even
    /// ones only), how many of their named ids name one of their people,
    /// and how many named ids they had: the precision of the kept links.
    pub held_out_right: usize,
    pub held_out_named: usize,
}

/// Votes of films for the name each graph id of a person relation stands
/// for: (relation, id) → (films carrying it that name people of that role,
/// name → films naming it).
type Votes =
    std::collections::HashMap<(String, String), (usize, std::collections::HashMap<String, usize>)>;

/// The votes of the films `learn` picks.
fn votes(catalog: &Catalog, learn: impl Fn(&Item) -> bool) -> Votes {
    let mut out = Votes::new();
    for it in catalog.items().iter().filter(|i| learn(i)) {
        for (rel, role) in PERSON_RELATIONS {
            let names: Vec<&str> = it.people_as(role).map(|p| p.name.as_str()).collect();
            if names.is_empty() {
                continue;
            }
            for id in it.relations.get(rel).into_iter().flatten() {
                let e = out.entry((rel.to_owned(), id.clone())).or_default();
                e.0 += 1;
                for n in &names {
                    *e.1.entry((*n).to_owned()).or_default() += 1;
                }
            }
        }
    }
    out
}

/// The name of `(rel, id)` the votes agree on, leaving out the votes of
/// `own` (a film is not checked against its own say): two thirds of the
/// other films that carry the id.
fn name_of(votes: &Votes, rel: &str, id: &str, own: &[&str]) -> Option<String> {
    let (films, by_name) = votes.get(&(rel.to_owned(), id.to_owned()))?;
    let films = films - usize::from(!own.is_empty());
    let (name, n) = by_name
        .iter()
        .map(|(name, n)| (name, n - usize::from(own.contains(&name.as_str()))))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?;
    (n >= 1 && n * 3 >= films * 2).then(|| name.clone())
}

/// Whether one of `it`'s graph ids, named by the other films, names one
/// of its people; `None` when it has no people or no id has a name.
fn agrees(it: &Item, votes: &Votes, leave_out: bool) -> Option<bool> {
    if it.people.is_empty() {
        return None;
    }
    let mut any = false;
    for (rel, role) in PERSON_RELATIONS {
        let own: Vec<&str> = if leave_out {
            it.people_as(role).map(|p| p.name.as_str()).collect()
        } else {
            Vec::new()
        };
        for id in it.relations.get(rel).into_iter().flatten() {
            if let Some(n) = name_of(votes, rel, id, &own) {
                any = true;
                if it.people_as(role).any(|p| p.name == n) {
                    return Some(true);
                }
            }
        }
    }
    any.then_some(false)
}

/// Checks graph relations film by film against the people a catalog's
/// films have from another source: graph ids learn names from the other
/// films that carry them; a film whose named ids name none of its people loses
/// its graph facts, and a film that cannot be checked (no people, or no id
/// the others name) keeps them only where most checkable films agree (a link file that points at the wrong
/// films agrees nowhere, and all of it goes).
pub fn check_films(catalog: Catalog) -> Result<(Catalog, FilmCheck), recagent_core::CatalogError> {
    let all = votes(&catalog, |_| true);
    let mut check = FilmCheck {
        named_ids: all
            .keys()
            .filter(|(rel, id)| name_of(&all, rel, id, &[]).is_some())
            .count(),
        ..FilmCheck::default()
    };
    let verdicts: Vec<Option<bool>> = catalog
        .items()
        .iter()
        .map(|it| agrees(it, &all, true))
        .collect();
    let checkable = |it: &Item| {
        !it.people.is_empty()
            && PERSON_RELATIONS
                .iter()
                .any(|(rel, _)| it.relations.get(*rel).is_some_and(|v| !v.is_empty()))
    };
    for (it, v) in catalog.items().iter().zip(&verdicts) {
        if checkable(it) {
            check.checkable += 1;
            check.agreeing += usize::from(*v == Some(true));
        }
    }
    let trusted = check.checkable > 0 && check.agreeing * 2 >= check.checkable;
    // Held out: names learned on the even checkable films, judged on the odd.
    let learned = votes(&catalog, |it| it.id.0 % 2 == 0);
    for it in catalog
        .items()
        .iter()
        .filter(|it| it.id.0 % 2 == 1 && checkable(it))
    {
        for (rel, role) in PERSON_RELATIONS {
            for id in it.relations.get(rel).into_iter().flatten() {
                if let Some(n) = name_of(&learned, rel, id, &[]) {
                    check.held_out_named += 1;
                    check.held_out_right += usize::from(it.people_as(role).any(|p| p.name == *n));
                }
            }
        }
    }
    let items: Vec<Item> = catalog
        .items()
        .iter()
        .zip(&verdicts)
        .map(|(it, v)| {
            let keep = match v {
                Some(ok) => *ok,
                None => trusted,
            };
            let mut it = it.clone();
            if !keep && !it.relations.is_empty() {
                it.relations.clear();
                check.dropped += 1;
            }
            it
        })
        .collect();
    let out = catalog.with_items(items)?;
    Ok((out, check))
}
