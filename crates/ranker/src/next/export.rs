//! The next-item split written as RecBole atomic files, so that RecBole
//! runs on exactly the rows, validation targets and test targets recagent
//! uses (`recagent data export NAME --recbole DIR`).
//!
//! RecBole reads pre-split files through `benchmark_filename: [train,
//! valid, test]`. Two data sets are written, because its sequential models
//! read a benchmark only with the item lists already in it:
//!
//! * `DIR/NAME-next/NAME-next.{train,valid,test}.inter`: `user_id`, `item_id`,
//!   `timestamp` (the position in the user's positives, so that RecBole's
//!   time order is recagent's), for general models;
//! * `DIR/NAME-next-seq/NAME-next-seq.{train,valid,test}.inter`: the same targets
//!   with `item_id_list`, the positives before each (at most
//!   [`MAX_LIST`]), for sequential models. Training rows are every prefix
//!   of the training positives, as RecBole's own augmentation makes them;
//! * `DIR/NAME.eval.tsv`: per phase and user, the target, the positives
//!   before it and the films rated below the threshold before it, so that a
//!   script can rank the target under both maskings;
//! * `DIR/NAME.items.tsv`: every item token in catalog order, the order in
//!   which equal scores are broken.
//!
//! Tokens are the catalog's own keys (ML-100K's user and movie ids), never
//! recagent's dense ids.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use recagent_core::ItemId;
use serde::Serialize;

use super::protocol::NextSplit;
use crate::error::{Error, Result};

/// The longest item list written (RecBole's `MAX_ITEM_LIST_LENGTH`
/// default).
pub const MAX_LIST: usize = 50;

/// What [`write_recbole`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportSummary {
    pub name: String,
    pub users: usize,
    pub items: usize,
    pub train_rows: usize,
    pub sequential_train_rows: usize,
    pub valid_targets: usize,
    pub test_targets: usize,
}

/// Writes `split` as RecBole atomic files under `dir` (see the module
/// docs). `user_keys` and `item_keys` are the catalog's keys, indexed by
/// dense id.
pub fn write_recbole(
    dir: &Path,
    name: &str,
    split: &NextSplit,
    user_keys: &[String],
    item_keys: &[String],
) -> Result<ExportSummary> {
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(Error::Invalid(format!(
            "{name:?} is not a data set name RecBole can read"
        )));
    }
    let item = |i: &ItemId| item_keys.get(i.index()).map_or("?", String::as_str);
    let list = |items: &[ItemId]| -> String {
        let from = items.len().saturating_sub(MAX_LIST);
        items[from..].iter().map(item).collect::<Vec<_>>().join(" ")
    };
    let general_head = "user_id:token\titem_id:token\ttimestamp:float\n";
    let seq_head = "user_id:token\titem_id:token\ttimestamp:float\titem_id_list:token_seq\n";
    let mut g = [
        general_head.to_owned(),
        general_head.to_owned(),
        general_head.to_owned(),
    ];
    let mut s = [
        seq_head.to_owned(),
        seq_head.to_owned(),
        seq_head.to_owned(),
    ];
    let mut eval = String::from("phase\tuser_id\ttarget\tpositives\tunliked\n");
    let mut summary = ExportSummary {
        name: name.to_owned(),
        users: 0,
        items: split.n_items,
        train_rows: 0,
        sequential_train_rows: 0,
        valid_targets: 0,
        test_targets: 0,
    };
    for (u, train) in split.train.iter().enumerate() {
        let Some(user) = user_keys.get(u) else {
            continue;
        };
        if train.is_empty() {
            continue;
        }
        summary.users += 1;
        for (k, i) in train.iter().enumerate() {
            let _ = writeln!(g[0], "{user}\t{}\t{k}", item(i));
            summary.train_rows += 1;
            if k > 0 {
                let _ = writeln!(s[0], "{user}\t{}\t{k}\t{}", item(i), list(&train[..k]));
                summary.sequential_train_rows += 1;
            }
        }
        let (Some(v), Some(t)) = (split.valid[u], split.test[u]) else {
            continue;
        };
        let n = train.len();
        let before_test: Vec<ItemId> = train.iter().copied().chain([v]).collect();
        for (phase, slot, target, before, unliked) in [
            ("valid", 1, v, &train[..], &split.unliked_before_valid[u]),
            (
                "test",
                2,
                t,
                &before_test[..],
                &split.unliked_before_test[u],
            ),
        ] {
            let at = if slot == 1 { n } else { n + 1 };
            let _ = writeln!(g[slot], "{user}\t{}\t{at}", item(&target));
            let _ = writeln!(s[slot], "{user}\t{}\t{at}\t{}", item(&target), list(before));
            let all = |items: &[ItemId]| items.iter().map(item).collect::<Vec<_>>().join(" ");
            let _ = writeln!(
                eval,
                "{phase}\t{user}\t{}\t{}\t{}",
                item(&target),
                all(before),
                all(unliked)
            );
        }
        summary.valid_targets += 1;
        summary.test_targets += 1;
    }
    // RecBole swaps its own example files in for a data set named
    // "ml-100k", so the folders carry a suffix.
    let general = format!("{name}-next");
    let seq = format!("{name}-next-seq");
    for (folder, files) in [(general.as_str(), &g), (seq.as_str(), &s)] {
        let d = dir.join(folder);
        fs::create_dir_all(&d).map_err(io(&d))?;
        for (phase, text) in ["train", "valid", "test"].iter().zip(files.iter()) {
            let p = d.join(format!("{folder}.{phase}.inter"));
            fs::write(&p, text).map_err(io(&p))?;
        }
    }
    let p = dir.join(format!("{name}.eval.tsv"));
    fs::write(&p, eval).map_err(io(&p))?;
    let mut items = String::from("item_id\n");
    for k in item_keys.iter().take(split.n_items) {
        let _ = writeln!(items, "{k}");
    }
    let p = dir.join(format!("{name}.items.tsv"));
    fs::write(&p, items).map_err(io(&p))?;
    Ok(summary)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.to_owned(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{}", i + 1)).collect()
    }

    #[test]
    fn the_files_hold_the_split_in_recbole_atomic_format() {
        let rated = vec![
            vec![
                (ItemId(0), true),
                (ItemId(3), false),
                (ItemId(1), true),
                (ItemId(2), true),
                (ItemId(4), true),
            ],
            vec![(ItemId(1), true), (ItemId(2), true)],
        ];
        let split = NextSplit::leave_last_two_rated(&rated, 5);
        let dir = tempfile::tempdir().expect("tempdir");
        let sum =
            write_recbole(dir.path(), "toy", &split, &keys("u", 2), &keys("m", 5)).expect("export");
        assert_eq!(sum.users, 2);
        assert_eq!(sum.train_rows, 4, "user 1's two positives and user 2's two");
        assert_eq!(sum.valid_targets, 1);
        let read = |p: &str| fs::read_to_string(dir.path().join(p)).expect(p);
        assert_eq!(
            read("toy-next/toy-next.train.inter"),
            "user_id:token\titem_id:token\ttimestamp:float\n\
             u1\tm1\t0\nu1\tm2\t1\nu2\tm2\t0\nu2\tm3\t1\n"
        );
        assert_eq!(
            read("toy-next/toy-next.valid.inter"),
            "user_id:token\titem_id:token\ttimestamp:float\nu1\tm3\t2\n"
        );
        assert_eq!(
            read("toy-next/toy-next.test.inter"),
            "user_id:token\titem_id:token\ttimestamp:float\nu1\tm5\t3\n"
        );
        assert_eq!(
            read("toy-next-seq/toy-next-seq.train.inter"),
            "user_id:token\titem_id:token\ttimestamp:float\titem_id_list:token_seq\n\
             u1\tm2\t1\tm1\nu2\tm3\t1\tm2\n"
        );
        assert_eq!(
            read("toy-next-seq/toy-next-seq.test.inter"),
            "user_id:token\titem_id:token\ttimestamp:float\titem_id_list:token_seq\n\
             u1\tm5\t3\tm1 m2 m3\n"
        );
        assert_eq!(
            read("toy.eval.tsv"),
            "phase\tuser_id\ttarget\tpositives\tunliked\n\
             valid\tu1\tm3\tm1 m2\tm4\n\
             test\tu1\tm5\tm1 m2 m3\tm4\n"
        );
        assert_eq!(read("toy.items.tsv"), "item_id\nm1\nm2\nm3\nm4\nm5\n");
    }

    #[test]
    fn item_lists_keep_the_last_fifty() {
        let long: Vec<(ItemId, bool)> = (0..60).map(|i| (ItemId(i), true)).collect();
        let split = NextSplit::leave_last_two_rated(&[long], 60);
        let dir = tempfile::tempdir().expect("tempdir");
        write_recbole(dir.path(), "long", &split, &keys("u", 1), &keys("m", 60)).expect("export");
        let test = fs::read_to_string(dir.path().join("long-next-seq/long-next-seq.test.inter"))
            .expect("test");
        let row = test.lines().nth(1).expect("one row");
        let list: Vec<&str> = row.split('\t').nth(3).expect("list").split(' ').collect();
        assert_eq!(list.len(), MAX_LIST);
        assert_eq!(
            list.first(),
            Some(&"m10"),
            "positives 10..59 before the target m60"
        );
        assert_eq!(list.last(), Some(&"m59"));
    }

    #[test]
    fn a_name_with_a_path_is_refused() {
        let split = NextSplit::leave_last_two(&[], 0);
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(write_recbole(dir.path(), "a/b", &split, &[], &[]).is_err());
    }
}
