//! The relation check of `data fetch`: relations stay only where franchise
//! pairs share a person.

use recagent_catalog::movielens::read_raw;
use recagent_catalog::relations::{check, checked};

use crate::fixture;

#[test]
fn relations_that_match_their_items_are_kept() {
    let c = read_raw(&fixture("franchise-good"), "good").unwrap();
    let r = check(&c);
    assert_eq!((r.pairs, r.agreeing), (6, 6), "{r:?}");
    let (kept, note) = checked(c).unwrap();
    assert!(kept.items().iter().all(|i| !i.relations.is_empty()));
    assert!(note.unwrap().contains("kept: 6 of 6"));
}

#[test]
fn a_misaligned_link_file_loses_its_relations_and_the_note_says_why() {
    // The link file gives each item the entity of the film five places on,
    // as the knowledge graph in RecBole's copy of ML-100K does for The
    // Godfather and its sequel.
    let c = read_raw(&fixture("franchise-broken"), "broken").unwrap();
    assert!(c.items().iter().all(|i| !i.relations.is_empty()));
    let r = check(&c);
    assert_eq!(r.pairs, 6);
    assert!(r.agreeing < 3, "{r:?}");
    assert!(!r.passes());
    let (dropped, note) = checked(c).unwrap();
    assert!(dropped.items().iter().all(|i| i.relations.is_empty()));
    let note = note.unwrap();
    assert!(note.contains("dropped"), "{note}");
    assert!(
        note.contains("Godfather, The / Godfather: Part II, The"),
        "{note}"
    );
}

/// Eight films, each with its director from another source, and graph
/// links whose director ids recur; film 5's link is wrong (it carries
/// James Cameron's id, though Ridley Scott directed it), and film 6 has no
/// people to check against.
fn linked_films() -> recagent_core::Catalog {
    use recagent_core::{Catalog, Item, ItemId, Person, Role};
    let rows: [(&str, Option<&str>, &str); 8] = [
        ("The Godfather", Some("Francis Ford Coppola"), "m.c"),
        ("The Conversation", Some("Francis Ford Coppola"), "m.c"),
        ("Aliens", Some("James Cameron"), "m.j"),
        ("The Abyss", Some("James Cameron"), "m.j"),
        ("Alien", Some("Ridley Scott"), "m.r"),
        ("Blade Runner", Some("Ridley Scott"), "m.j"),
        ("Apocalypse Now", None, "m.c"),
        ("Thelma & Louise", Some("Ridley Scott"), "m.r"),
    ];
    let items = rows
        .iter()
        .enumerate()
        .map(|(i, (title, director, id))| Item {
            id: ItemId(i as u32),
            key: i.to_string(),
            title: (*title).into(),
            year: Some(1980),
            relations: [("director".to_owned(), vec![(*id).to_owned()])].into(),
            people: director
                .map(|d| vec![Person::new(d, Role::Director, None)])
                .unwrap_or_default(),
            ..Item::default()
        })
        .collect();
    Catalog::new("kg", items, Vec::new(), Vec::new()).unwrap()
}

#[test]
fn a_wrong_graph_link_loses_only_its_own_film() {
    use recagent_catalog::relations::check_films;
    let (c, r) = check_films(linked_films()).unwrap();
    // Aliens and The Abyss cannot be confirmed (Blade Runner's wrong link
    // splits James Cameron's id), but the source agrees on most films.
    assert_eq!((r.checkable, r.agreeing, r.dropped), (7, 4, 1), "{r:?}");
    let kept: Vec<bool> = c.items().iter().map(|i| !i.relations.is_empty()).collect();
    // Only Blade Runner's link goes; Apocalypse Now, with no people to
    // check, keeps its link because the source agrees elsewhere.
    assert_eq!(kept, [true, true, true, true, true, false, true, true]);
}
