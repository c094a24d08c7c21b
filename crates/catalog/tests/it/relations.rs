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
