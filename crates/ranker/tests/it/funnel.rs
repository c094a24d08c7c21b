//! The funnel, the model store and sharing one ranker across threads.

use std::sync::Arc;

use recagent_catalog::split::{LabelRule, positive_histories};
use recagent_core::{Catalog, Home, ItemId, NoProgress, Stage, UserId};
use recagent_ranker::{
    Error, Funnel, FunnelConfig, ModelKind, ModelStore, PreRankConfig, Ranker, TrainConfig,
    UserContext, train, train_prerank,
};

use crate::{small, split_of, xor_catalog};

fn trained() -> (Catalog, Ranker) {
    let c = xor_catalog(true);
    let s = split_of(&c);
    let (r, _) = train(
        &c,
        &s,
        &TrainConfig {
            max_epochs: 4,
            ..small(ModelKind::DeepFm)
        },
        None,
        &NoProgress,
    )
    .unwrap();
    (c, r)
}

/// An evaluation holds out a user's last positive; the ranker must see the
/// history it is given and nothing from the catalog's log.
#[test]
fn funnel_with_a_held_out_target_never_sees_it() {
    let (c, ranker) = trained();
    let user = UserId(0);
    let all = positive_histories(&c, LabelRule::default());
    let (&target, before) = all[user.index()].split_last().unwrap();
    assert!(before.len() >= 5);
    let ranker = Arc::new(ranker);
    let funnel = Funnel::new(Arc::clone(&ranker), None);
    let cands: Vec<ItemId> = (0..60).map(ItemId).collect();
    let ctx = UserContext {
        user: Some(user),
        history: before,
    };
    let cfg = FunnelConfig {
        prerank_to: 300,
        k: 60,
    };
    let out = funnel.run(&ctx, &cands, &cfg).unwrap();
    assert!(!out.pooled_history.contains(&target), "{out:?}");
    assert!(!out.pooled_history.is_empty());

    // The funnel's scores are exactly those of the history without the
    // target...
    let without = ranker.score(Some(user), before, &cands).unwrap();
    for h in &out.ranked {
        assert_eq!(h.score, without[h.item.index()]);
    }
    // ...and the target in the history would change them, so a leak could
    // not hide.
    let mut with = before.to_vec();
    with.push(target);
    let leaked = ranker.score(Some(user), &with, &cands).unwrap();
    assert!(
        without
            .iter()
            .zip(&leaked)
            .any(|(a, b)| (a - b).abs() > 1e-6),
        "the history field must matter for this test to mean anything"
    );

    // The same model bound to a catalog with no log at all scores the same:
    // nothing is read from interactions.
    let dir = tempfile::tempdir().unwrap();
    ranker.save(dir.path()).unwrap();
    let bare = Catalog::new("xor", c.items().to_vec(), c.users().to_vec(), vec![]).unwrap();
    let cold = Ranker::load(dir.path(), &bare, None).unwrap();
    assert_eq!(cold.score(Some(user), before, &cands).unwrap(), without);
}

#[test]
fn funnel_counts_and_times_each_stage() {
    let (c, ranker) = trained();
    let s = split_of(&c);
    let (pre, _) = train_prerank(
        &c,
        &s,
        &PreRankConfig {
            dim: 8,
            epochs: 3,
            batch_size: 128,
            ..PreRankConfig::default()
        },
        &NoProgress,
    )
    .unwrap();
    let funnel = Funnel::new(Arc::new(ranker), Some(Arc::new(pre)));
    let mut cands: Vec<ItemId> = (0..60).map(ItemId).collect();
    cands.extend([ItemId(3), ItemId(3)]);
    let ctx = UserContext {
        user: Some(UserId(1)),
        history: &[ItemId(1), ItemId(3)],
    };
    let cfg = FunnelConfig {
        prerank_to: 20,
        k: 5,
    };
    let out = funnel.run(&ctx, &cands, &cfg).unwrap();
    let shape: Vec<(Stage, usize, usize)> = out
        .stages
        .iter()
        .map(|s| (s.stage, s.count_in, s.count_out))
        .collect();
    assert_eq!(
        shape,
        [(Stage::PreRank, 60, 20), (Stage::Rank, 20, 5)],
        "duplicates count once"
    );
    assert_eq!(out.ranked.len(), 5);
    assert!(out.ranked.windows(2).all(|w| w[0].score >= w[1].score));
    // Fewer candidates than the pre-rank cut: only the rank stage runs.
    let few = funnel.run(&ctx, &cands[..10], &cfg).unwrap();
    assert_eq!(few.stages.len(), 1);
    assert_eq!(few.stages[0].stage, Stage::Rank);
    // No candidates: an empty answer, not an error.
    assert!(funnel.run(&ctx, &[], &cfg).unwrap().ranked.is_empty());
    let err = funnel
        .run(&ctx, &[ItemId(0), ItemId(777)], &cfg)
        .unwrap_err();
    assert!(
        matches!(err, Error::Invalid(_)) && err.to_string().contains("777"),
        "{err}"
    );
}

/// Eight threads scoring through one `Arc<Ranker>` get exactly what one
/// thread gets.
#[test]
fn one_ranker_serves_many_threads() {
    let (_, ranker) = trained();
    let ranker = Arc::new(ranker);
    let items: Vec<ItemId> = (0..60).map(ItemId).collect();
    let want: Vec<Vec<f32>> = (0..8u32)
        .map(|u| ranker.score(Some(UserId(u)), &[ItemId(u)], &items).unwrap())
        .collect();
    std::thread::scope(|s| {
        for (u, want) in want.iter().enumerate() {
            let (ranker, items) = (Arc::clone(&ranker), &items);
            s.spawn(move || {
                for _ in 0..20 {
                    let got = ranker
                        .score(Some(UserId(u as u32)), &[ItemId(u as u32)], items)
                        .unwrap();
                    assert_eq!(&got, want);
                }
            });
        }
    });
}

#[test]
fn model_store_lays_out_saves_whole_folders_and_names_the_command() {
    let (c, ranker) = trained();
    let tmp = tempfile::tempdir().unwrap();
    let home = Home::new(tmp.path());
    let store = ModelStore::for_catalog(&home, "xor");
    assert!(!store.has_ranker(ModelKind::DeepFm, false));
    let err = store
        .load_ranker(&home, &c, ModelKind::DeepFm, false, &NoProgress)
        .unwrap_err();
    assert!(
        matches!(err, Error::NotTrained { .. })
            && err
                .to_string()
                .contains("recagent train xor --model deepfm"),
        "{err}"
    );
    let dir = store.save_ranker(&ranker).unwrap();
    assert_eq!(dir, home.index_dir("xor").join("ranker").join("deepfm"));
    // Saving again replaces the folder whole and leaves nothing beside it.
    store.save_ranker(&ranker).unwrap();
    let beside: Vec<String> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["deepfm"]);
    let back = store
        .load_ranker(&home, &c, ModelKind::DeepFm, false, &NoProgress)
        .unwrap();
    let items: Vec<ItemId> = (0..60).map(ItemId).collect();
    assert_eq!(
        back.score(Some(UserId(2)), &[ItemId(4)], &items).unwrap(),
        ranker.score(Some(UserId(2)), &[ItemId(4)], &items).unwrap()
    );
    // A save that fails part-way leaves the old model in place.
    let err = recagent_ranker::store::replace_dir(&dir, |stage| {
        std::fs::write(stage.join("model.safetensors"), b"half").map_err(|source| Error::Io {
            path: stage.to_owned(),
            source,
        })?;
        Err(Error::Invalid("disk full".into()))
    })
    .unwrap_err();
    assert!(err.to_string().contains("disk full"));
    assert!(
        store
            .load_ranker(&home, &c, ModelKind::DeepFm, false, &NoProgress)
            .is_ok()
    );
}
