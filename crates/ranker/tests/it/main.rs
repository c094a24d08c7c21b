//! Integration tests of the ranker crate on small synthetic problems with
//! known answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod funnel;
mod ml100k;

use recagent_catalog::split::{self, CtrSplit, LabelRule};
use recagent_core::{Catalog, Interaction, Item, ItemId, NoProgress, User, UserId};
use recagent_ranker::{
    AdaptorConfig, Ctrl, CtrlConfig, Error, KnowledgeTable, ModelKind, ModelStore, PreRankConfig,
    PreRanker, Ranker, RowEncoder, TrainConfig, TrainInputs, train, train_prerank, train_with,
};

/// 40 users (half "M", half "F") rate 60 items (half "A", half "B"): a match
/// of gender and genre is a 5, a mismatch a 1. The label is a pure
/// interaction: every user and every item has the same positive rate, so a
/// model without feature interactions cannot beat chance.
fn xor_catalog(with_genres: bool) -> Catalog {
    let items: Vec<Item> = (0..60u32)
        .map(|i| Item {
            id: ItemId(i),
            key: format!("i{i}"),
            title: format!("Item {i}"),
            year: Some(1990 + (i % 20) as u16),
            genres: if with_genres {
                vec![if i % 2 == 0 { "A" } else { "B" }.to_owned()]
            } else {
                vec![]
            },
            text: String::new(),
            relations: Default::default(),
            ..Default::default()
        })
        .collect();
    let users: Vec<User> = (0..40u32)
        .map(|u| User {
            id: UserId(u),
            key: format!("u{u}"),
            gender: Some(if u % 2 == 0 { "M" } else { "F" }.to_owned()),
            age: Some(20 + (u % 30) as u16),
            ..User::default()
        })
        .collect();
    let mut log = Vec::new();
    for u in 0..40u32 {
        for i in 0..60u32 {
            let matched = (u % 2) == (i % 2);
            log.push(Interaction {
                user: UserId(u),
                item: ItemId(i),
                rating: if matched { 5.0 } else { 1.0 },
                timestamp: (u * 100 + i) as i64,
            });
        }
    }
    Catalog::new("xor", items, users, log).unwrap()
}

fn small(kind: ModelKind) -> TrainConfig {
    TrainConfig {
        embedding_dim: 8,
        mlp: vec![32, 16],
        batch_size: 128,
        max_epochs: 25,
        patience: 4,
        lr: 1e-2,
        ..TrainConfig::new(kind)
    }
}

fn split_of(c: &Catalog) -> CtrSplit {
    split::ctr_split(c, LabelRule::default(), 1)
}

#[test]
fn interaction_models_learn_what_lr_cannot() {
    let c = xor_catalog(true);
    let s = split_of(&c);
    for kind in [ModelKind::Fm, ModelKind::DeepFm, ModelKind::DcnV2] {
        let (_, r) = train(&c, &s, &small(kind), None, &NoProgress).unwrap();
        assert!(
            r.test_auc > 0.95,
            "{kind:?} should learn gender x genre: test AUC {}",
            r.test_auc
        );
        assert!(
            r.test_logloss < 0.6,
            "{kind:?} logloss {} (chance is 0.69)",
            r.test_logloss
        );
    }
    let (_, lr) = train(&c, &s, &small(ModelKind::Lr), None, &NoProgress).unwrap();
    assert!(
        (0.35..0.65).contains(&lr.test_auc),
        "LR has no interactions and must stay near chance: {}",
        lr.test_auc
    );
}

#[test]
fn shuffled_labels_cannot_be_learned() {
    // The same problem with labels that ignore gender and genre: a model
    // that "learned" this would be reading the answer from somewhere else.
    let c = xor_catalog(true);
    let mut s = split_of(&c);
    for (j, r) in s
        .train
        .iter_mut()
        .chain(s.valid.iter_mut())
        .chain(s.test.iter_mut())
        .enumerate()
    {
        r.label = (j * 7919 % 13) < 6;
    }
    let (_, r) = train(&c, &s, &small(ModelKind::DeepFm), None, &NoProgress).unwrap();
    assert!(r.test_auc < 0.65, "test AUC {}", r.test_auc);
}

#[test]
fn same_seed_same_model() {
    let c = xor_catalog(true);
    let s = split_of(&c);
    let cfg = TrainConfig {
        max_epochs: 3,
        ..small(ModelKind::DeepFm)
    };
    let (_, a) = train(&c, &s, &cfg, None, &NoProgress).unwrap();
    let (_, b) = train(&c, &s, &cfg, None, &NoProgress).unwrap();
    assert_eq!(a.test_auc, b.test_auc);
    assert_eq!(a.valid_logloss, b.valid_logloss);
    let (_, other) = train(&c, &s, &TrainConfig { seed: 99, ..cfg }, None, &NoProgress).unwrap();
    assert_ne!(a.valid_logloss, other.valid_logloss);
}

#[test]
fn cached_scoring_matches_the_training_path() {
    // The fast path (item side cached, user side once) must give the same
    // probabilities as the plain forward pass over full rows.
    let c = xor_catalog(true);
    let s = split_of(&c);
    for (kind, cross_rank) in [
        (ModelKind::Lr, None),
        (ModelKind::Fm, None),
        (ModelKind::DeepFm, None),
        (ModelKind::DcnV2, None),
        (ModelKind::DcnV2, Some(4)),
    ] {
        let (ranker, _) = train(
            &c,
            &s,
            &TrainConfig {
                max_epochs: 2,
                cross_rank,
                ..small(kind)
            },
            None,
            &NoProgress,
        )
        .unwrap();
        assert_eq!(ranker.config().net.cross_rank, cross_rank);
        let items: Vec<ItemId> = (0..60).map(ItemId).collect();
        let history = [ItemId(2), ItemId(8), ItemId(30)];
        let fast = ranker.score(Some(UserId(3)), &history, &items).unwrap();
        let slow = ranker
            .score_uncached(Some(UserId(3)), &history, &items)
            .unwrap();
        for (a, b) in fast.iter().zip(&slow) {
            assert!(
                (a - b).abs() < 1e-5,
                "{kind:?} rank {cross_rank:?}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn save_and_load_round_trip() {
    let c = xor_catalog(true);
    let s = split_of(&c);
    let (ranker, report) = train(
        &c,
        &s,
        &TrainConfig {
            max_epochs: 3,
            ..small(ModelKind::DcnV2)
        },
        None,
        &NoProgress,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    ranker.save(dir.path()).unwrap();
    let back = Ranker::load(dir.path(), &c, None).unwrap();
    let items: Vec<ItemId> = (0..60).map(ItemId).collect();
    assert_eq!(
        ranker.score(Some(UserId(5)), &[], &items).unwrap(),
        back.score(Some(UserId(5)), &[], &items).unwrap()
    );
    assert_eq!(
        back.config().report.as_ref().unwrap().test_auc,
        report.test_auc
    );
    let err = Ranker::load(&dir.path().join("missing"), &c, None).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn cold_start_users_and_items_score_without_failing() {
    let c = xor_catalog(true);
    let s = split_of(&c);
    let (ranker, _) = train(&c, &s, &small(ModelKind::DeepFm), None, &NoProgress).unwrap();
    let dir = tempfile::tempdir().unwrap();
    ranker.save(dir.path()).unwrap();

    // A catalog that grew: one more item and one more user the model never saw.
    let mut items = c.items().to_vec();
    items.push(Item {
        id: ItemId(60),
        key: "new".into(),
        genres: vec!["A".into()],
        ..items[0].clone()
    });
    let mut users = c.users().to_vec();
    users.push(User {
        id: UserId(40),
        key: "newcomer".into(),
        gender: Some("M".into()),
        ..User::default()
    });
    let grown = Catalog::new("xor", items, users, c.interactions().to_vec()).unwrap();
    let r = Ranker::load(dir.path(), &grown, None).unwrap();
    let cands = [ItemId(60), ItemId(0), ItemId(1)];
    for user in [None, Some(UserId(40)), Some(UserId(0))] {
        let p = r.score(user, &[], &cands).unwrap();
        assert!(
            p.iter().all(|x| x.is_finite() && (0.0..=1.0).contains(x)),
            "{user:?}: {p:?}"
        );
    }
    // A new "M" user still prefers A items through the gender field.
    let p = r
        .score(Some(UserId(40)), &[], &[ItemId(0), ItemId(1)])
        .unwrap();
    assert!(p[0] > p[1], "{p:?}");
    assert!(r.score(None, &[], &[]).unwrap().is_empty());
    let err = r.score(None, &[], &[ItemId(999)]).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
}

#[test]
fn knowledge_field_carries_what_the_catalog_lacks() {
    // Items have no genres; the knowledge vectors say which group each item is in.
    let c = xor_catalog(false);
    let s = split_of(&c);
    let vectors: Vec<f32> = (0..60)
        .flat_map(|i| {
            if i % 2 == 0 {
                [1.0, 0.0, 0.3]
            } else {
                [0.0, 1.0, 0.3]
            }
        })
        .collect();
    let k = KnowledgeTable {
        dim: 3,
        vectors,
        source: Default::default(),
    };
    let (ranker, rk) = train(&c, &s, &small(ModelKind::Fm), Some(&k), &NoProgress).unwrap();
    assert!(rk.knowledge);
    assert!(rk.test_auc > 0.95, "with knowledge: {}", rk.test_auc);

    let dir = tempfile::tempdir().unwrap();
    ranker.save(dir.path()).unwrap();
    assert!(matches!(
        Ranker::load(dir.path(), &c, None).unwrap_err(),
        Error::MissingKnowledge
    ));
    let wrong = KnowledgeTable {
        dim: 2,
        vectors: vec![0.0; 120],
        source: Default::default(),
    };
    assert!(matches!(
        Ranker::load(dir.path(), &c, Some(&wrong)).unwrap_err(),
        Error::WrongDimension {
            expected: 3,
            got: 2
        }
    ));
    // Swapping the knowledge of two items swaps what the model thinks of them.
    let mut swapped = k.clone();
    swapped.vectors[..3].copy_from_slice(&[0.0, 1.0, 0.3]);
    let a = Ranker::load(dir.path(), &c, Some(&k))
        .unwrap()
        .score(Some(UserId(0)), &[], &[ItemId(0)])
        .unwrap();
    let b = Ranker::load(dir.path(), &c, Some(&swapped))
        .unwrap()
        .score(Some(UserId(0)), &[], &[ItemId(0)])
        .unwrap();
    assert!(a[0] > b[0] + 0.1, "{a:?} vs {b:?}");
}

#[test]
fn the_hybrid_expert_adaptor_learns_the_knowledge_and_is_served_as_trained() {
    let c = xor_catalog(false);
    let s = split_of(&c);
    let vectors: Vec<f32> = (0..60)
        .flat_map(|i| {
            if i % 2 == 0 {
                [1.0, 0.0, 0.3]
            } else {
                [0.0, 1.0, 0.3]
            }
        })
        .collect();
    let k = KnowledgeTable {
        dim: 3,
        vectors,
        source: Default::default(),
    };
    for kind in [ModelKind::DeepFm, ModelKind::DcnV2] {
        let cfg = TrainConfig {
            adaptor: Some(AdaptorConfig {
                shared: 2,
                specific: 2,
                hidden: 8,
            }),
            ..small(kind)
        };
        let (ranker, rk) = train(&c, &s, &cfg, Some(&k), &NoProgress).unwrap();
        assert!(
            rk.test_auc > 0.9,
            "{kind:?} with the adaptor: {}",
            rk.test_auc
        );
        assert!(ranker.config().net.adaptor.is_some());
        let dir = tempfile::tempdir().unwrap();
        ranker.save(dir.path()).unwrap();
        let loaded = Ranker::load(dir.path(), &c, Some(&k)).unwrap();
        assert_eq!(loaded.config().net.adaptor, cfg.adaptor);
        let cands: Vec<ItemId> = (0..10).map(ItemId).collect();
        let fast = loaded.score(Some(UserId(3)), &[ItemId(2)], &cands).unwrap();
        let slow = loaded
            .score_uncached(Some(UserId(3)), &[ItemId(2)], &cands)
            .unwrap();
        let trained = ranker.score(Some(UserId(3)), &[ItemId(2)], &cands).unwrap();
        for ((a, b), t) in fast.iter().zip(&slow).zip(&trained) {
            assert!(
                (a - b).abs() < 1e-5 && (a - t).abs() < 1e-5,
                "{fast:?} {slow:?} {trained:?}"
            );
        }
    }
}

#[test]
fn user_knowledge_carries_what_the_user_table_lacks_and_is_served_as_trained() {
    // Users have no gender; their knowledge vectors say which group each is in.
    let full = xor_catalog(true);
    let users: Vec<User> = full
        .users()
        .iter()
        .map(|u| User {
            gender: None,
            ..u.clone()
        })
        .collect();
    let c = Catalog::new(
        "xor",
        full.items().to_vec(),
        users,
        full.interactions().to_vec(),
    )
    .unwrap();
    let s = split_of(&c);
    let group = |u: usize| {
        if u.is_multiple_of(2) {
            [1.0, 0.0, 0.3]
        } else {
            [0.0, 1.0, 0.3]
        }
    };
    let users = KnowledgeTable {
        dim: 3,
        vectors: (0..40).flat_map(group).collect(),
        source: Default::default(),
    };
    let items = KnowledgeTable {
        dim: 3,
        vectors: (0..60)
            .flat_map(|i| [0.1 * (i % 3) as f32, 0.2, 0.0])
            .collect(),
        source: Default::default(),
    };
    for (kind, adaptor) in [
        (ModelKind::DeepFm, None),
        (
            ModelKind::DcnV2,
            Some(AdaptorConfig {
                shared: 2,
                specific: 2,
                hidden: 8,
            }),
        ),
    ] {
        let cfg = TrainConfig {
            adaptor,
            ..small(kind)
        };
        let (ranker, rk) = train_with(
            &c,
            &s,
            &cfg,
            &TrainInputs {
                knowledge: Some(&items),
                users: Some(&users),
                ctrl: None,
            },
            &NoProgress,
        )
        .unwrap();
        assert!(rk.test_auc > 0.9, "{kind:?}: {}", rk.test_auc);
        assert_eq!(ranker.config().net.user_knowledge_dim, Some(3));
        assert_eq!(ranker.config().net.fields(), 10);

        let dir = tempfile::tempdir().unwrap();
        ranker.save(dir.path()).unwrap();
        // The store keeps it apart from the ranker the product loads.
        let store = ModelStore::at(dir.path(), "xor");
        let saved = store.save_ranker(&ranker).unwrap();
        assert_eq!(
            saved.file_name().unwrap().to_string_lossy(),
            format!("{}-knowledge-users", kind.name())
        );
        assert!(!store.ranker_dir(kind, true).exists());
        assert!(matches!(
            Ranker::load(dir.path(), &c, Some(&items)).unwrap_err(),
            Error::MissingKnowledge
        ));
        let loaded = Ranker::load_with_users(dir.path(), &c, Some(&items), Some(&users)).unwrap();
        let cands: Vec<ItemId> = (0..10).map(ItemId).collect();
        let fast = loaded.score(Some(UserId(3)), &[ItemId(2)], &cands).unwrap();
        let slow = loaded
            .score_uncached(Some(UserId(3)), &[ItemId(2)], &cands)
            .unwrap();
        let trained = ranker.score(Some(UserId(3)), &[ItemId(2)], &cands).unwrap();
        for ((a, b), t) in fast.iter().zip(&slow).zip(&trained) {
            assert!(
                (a - b).abs() < 1e-5 && (a - t).abs() < 1e-5,
                "{kind:?}: {fast:?} {slow:?} {trained:?}"
            );
        }
        // Giving user 0 the other group's text turns its view of the
        // items around: an "A" item it liked falls, a "B" item rises.
        let mut swapped = users.clone();
        swapped.vectors[..3].copy_from_slice(&group(1));
        let other = Ranker::load_with_users(dir.path(), &c, Some(&items), Some(&swapped)).unwrap();
        let pair = [ItemId(0), ItemId(1)];
        let before = loaded.score(Some(UserId(0)), &[], &pair).unwrap();
        let after = other.score(Some(UserId(0)), &[], &pair).unwrap();
        assert!(
            before[0] - before[1] > after[0] - after[1] + 0.1,
            "{kind:?}: {before:?} then {after:?}"
        );
    }
}

/// A language model for tests: a bag of the words that say the user's
/// gender and the film's group, so the rows' texts carry the label's
/// interaction.
struct Words;

impl RowEncoder for Words {
    fn dim(&self) -> usize {
        4
    }

    fn encode(
        &self,
        texts: &[String],
        _: &dyn recagent_core::Progress,
    ) -> recagent_ranker::error::Result<Vec<f32>> {
        Ok(texts
            .iter()
            .flat_map(|t| {
                let film = t.split("The film is").nth(1).unwrap_or("");
                [
                    f32::from(u8::from(t.contains("is male"))),
                    f32::from(u8::from(t.contains("is female"))),
                    f32::from(u8::from(film.contains(", A"))),
                    f32::from(u8::from(film.contains(", B"))),
                ]
            })
            .collect())
    }
}

#[test]
fn ctrl_aligns_then_serves_the_backbone_unchanged() {
    let c = xor_catalog(true);
    let s = split_of(&c);
    let ctrl = CtrlConfig {
        rows: 1000,
        epochs: 3,
        batch_size: 64,
        ..CtrlConfig::default()
    };
    for kind in [ModelKind::DeepFm, ModelKind::DcnV2] {
        let cfg = small(kind);
        let (base, _) = train(&c, &s, &cfg, None, &NoProgress).unwrap();
        let (ranker, rk) = train_with(
            &c,
            &s,
            &cfg,
            &TrainInputs {
                ctrl: Some(Ctrl {
                    config: &ctrl,
                    encoder: &Words,
                }),
                ..TrainInputs::default()
            },
            &NoProgress,
        )
        .unwrap();
        let report = rk.ctrl.clone().expect("the alignment stage ran");
        assert_eq!((report.rows, report.epochs), (1000, 3));
        assert!(
            report.last_loss < report.first_loss,
            "{kind:?}: the alignment loss fell: {report:?}"
        );
        assert!(rk.test_auc > 0.9, "{kind:?}: {}", rk.test_auc);

        // Served as the backbone is: the same shape, the same parameters
        // (no projection head saved), the same scores cached and not.
        assert_eq!(ranker.config().net, base.config().net);
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        ranker.save(a.path()).unwrap();
        base.save(b.path()).unwrap();
        let shapes = |dir: &std::path::Path| {
            let t = candle_core::safetensors::load(
                dir.join("model.safetensors"),
                &candle_core::Device::Cpu,
            )
            .unwrap();
            let mut v: Vec<(String, Vec<usize>)> =
                t.into_iter().map(|(k, t)| (k, t.dims().to_vec())).collect();
            v.sort();
            v
        };
        assert_eq!(shapes(a.path()), shapes(b.path()));
        let loaded = Ranker::load(a.path(), &c, None).unwrap();
        let cands: Vec<ItemId> = (0..10).map(ItemId).collect();
        let fast = loaded.score(Some(UserId(3)), &[ItemId(2)], &cands).unwrap();
        let slow = loaded
            .score_uncached(Some(UserId(3)), &[ItemId(2)], &cands)
            .unwrap();
        for (x, y) in fast.iter().zip(&slow) {
            assert!((x - y).abs() < 1e-5, "{kind:?}: {fast:?} {slow:?}");
        }
        assert_ne!(
            fast,
            base.score(Some(UserId(3)), &[ItemId(2)], &cands).unwrap(),
            "{kind:?}: the alignment changed the weights"
        );
    }

    /// An encoder that loses rows is refused, not trained on.
    struct Short;
    impl RowEncoder for Short {
        fn dim(&self) -> usize {
            4
        }
        fn encode(
            &self,
            texts: &[String],
            _: &dyn recagent_core::Progress,
        ) -> recagent_ranker::error::Result<Vec<f32>> {
            Ok(vec![0.0; (texts.len() - 1) * 4])
        }
    }
    let err = train_with(
        &c,
        &s,
        &small(ModelKind::DeepFm),
        &TrainInputs {
            ctrl: Some(Ctrl {
                config: &ctrl,
                encoder: &Short,
            }),
            ..TrainInputs::default()
        },
        &NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("row encoder"), "{err}");
}

#[test]
fn training_rejects_empty_splits_and_bad_settings() {
    let c = xor_catalog(true);
    let empty = CtrSplit {
        train: vec![],
        valid: vec![],
        test: vec![],
    };
    assert!(matches!(
        train(&c, &empty, &small(ModelKind::Fm), None, &NoProgress).unwrap_err(),
        Error::NotEnoughData(_)
    ));
    let s = split_of(&c);
    let bad = TrainConfig {
        batch_size: 0,
        ..small(ModelKind::Fm)
    };
    assert!(matches!(
        train(&c, &s, &bad, None, &NoProgress).unwrap_err(),
        Error::Invalid(_)
    ));
    let k = KnowledgeTable {
        dim: 3,
        vectors: vec![0.0; 9],
        source: Default::default(),
    };
    assert!(matches!(
        train(&c, &s, &small(ModelKind::Fm), Some(&k), &NoProgress).unwrap_err(),
        Error::WrongItemCount { .. }
    ));
}

#[test]
fn prerank_puts_matching_items_first_and_round_trips() {
    let c = xor_catalog(true);
    let s = split_of(&c);
    let cfg = PreRankConfig {
        dim: 8,
        epochs: 15,
        batch_size: 128,
        ..PreRankConfig::default()
    };
    let (pre, varmap) = train_prerank(&c, &s, &cfg, &NoProgress).unwrap();
    let all: Vec<ItemId> = (0..60).map(ItemId).collect();
    for u in [0u32, 1] {
        let top = pre.top_k(Some(UserId(u)), &[], &all, 10);
        assert_eq!(top.len(), 10);
        let matching = top.iter().filter(|h| h.item.0 % 2 == u % 2).count();
        assert!(matching >= 9, "user {u}: {matching}/10 matching in {top:?}");
        assert!(
            top.windows(2).all(|w| w[0].score >= w[1].score),
            "best first"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    pre.save(dir.path(), &varmap).unwrap();
    let back = PreRanker::load(dir.path(), &c).unwrap();
    assert_eq!(
        pre.score(Some(UserId(2)), &[ItemId(4)], &all),
        back.score(Some(UserId(2)), &[ItemId(4)], &all)
    );
    // Unknown users score through the anonymous vector; unknown items sink.
    let s = back.score(None, &[], &[ItemId(0), ItemId(500)]);
    assert!(s[0].is_finite() && s[1] == f32::NEG_INFINITY);
}

/// 400 items in 8 genres; each of 160 users likes the items of one genre
/// (rated 5) and dislikes a few of the others (rated 1). Every item is
/// about as popular as any other, so popularity cannot find a user's next
/// positive and a model of the user's taste can.
fn grouped_catalog() -> Catalog {
    let items: Vec<Item> = (0..400u32)
        .map(|i| Item {
            id: ItemId(i),
            key: format!("i{i}"),
            title: format!("Item {i}"),
            year: Some(1990),
            genres: vec![format!("G{}", i % 8)],
            text: String::new(),
            relations: Default::default(),
            ..Default::default()
        })
        .collect();
    let users: Vec<User> = (0..160u32)
        .map(|u| User {
            id: UserId(u),
            key: format!("u{u}"),
            ..User::default()
        })
        .collect();
    let mut log = Vec::new();
    for u in 0..160u32 {
        let g = u % 8;
        for j in 0..20u32 {
            // Own genre: items g, g+8, …, spread by user so all are covered.
            let liked = g + 8 * ((u / 8 + j * 3) % 50);
            log.push(Interaction {
                user: UserId(u),
                item: ItemId(liked),
                rating: 5.0,
                timestamp: i64::from(j),
            });
            let other = (liked + 1 + j % 7) % 400;
            log.push(Interaction {
                user: UserId(u),
                item: ItemId(other),
                rating: 1.0,
                timestamp: i64::from(j),
            });
        }
    }
    Catalog::new("grouped", items, users, log).unwrap()
}

#[test]
fn prerank_recall_beats_popularity() {
    let c = grouped_catalog();
    let s = split_of(&c);
    let cfg = PreRankConfig {
        dim: 16,
        epochs: 10,
        batch_size: 256,
        ..PreRankConfig::default()
    };
    let (pre, _) = train_prerank(&c, &s, &cfg, &NoProgress).unwrap();
    let report = pre.report().unwrap();
    assert!(report.eval_rows > 100, "{report:?}");
    let at = |v: &[(usize, f64)], k: usize| v.iter().find(|x| x.0 == k).unwrap().1;
    let (model, pop) = (at(&report.recall, 50), at(&report.popularity_recall, 50));
    // A user's genre holds 50 items, so a model of taste finds the target in
    // its top 50 nearly always; popularity manages about 50/400.
    assert!(
        model > 0.8 && model > pop + 0.4,
        "recall@50: two-tower {model:.3}, popularity {pop:.3}"
    );
}
