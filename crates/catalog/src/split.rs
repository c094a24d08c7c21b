//! Seeded splits of the interaction log.
//!
//! * [`ctr_split`]: the RecBole context-aware protocol used to train and
//!   test rankers: drop neutral ratings, binarise, shuffle, cut 8:1:1.
//! * [`leave_last_positive_out`]: one conversation episode per user, whose
//!   target is that user's last positive by time.

use rand::SeedableRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;
use recagent_core::{Catalog, Episode, ItemId, Labeled, UserId};

/// How ratings become labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelRule {
    /// Ratings at or above this are positive.
    pub positive_min: f32,
    /// Ratings at or below this are negative; those in between are dropped.
    pub negative_max: f32,
}

impl Default for LabelRule {
    /// RecBole's ML-100K context protocol: ≥ 4 positive, ≤ 2 negative, 3 dropped.
    fn default() -> Self {
        Self {
            positive_min: 4.0,
            negative_max: 2.0,
        }
    }
}

impl LabelRule {
    /// `Some(label)` for a rating that is kept, `None` for a dropped one.
    pub fn label(&self, rating: f32) -> Option<bool> {
        if rating >= self.positive_min {
            Some(true)
        } else if rating <= self.negative_max {
            Some(false)
        } else {
            None
        }
    }
}

/// Train, validation and test rows of the CTR protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct CtrSplit {
    pub train: Vec<Labeled>,
    pub valid: Vec<Labeled>,
    pub test: Vec<Labeled>,
}

/// Shuffles `rows` with `seed` and cuts them 8:1:1.
fn shuffle_and_cut(mut rows: Vec<Labeled>, seed: u64) -> CtrSplit {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rows.shuffle(&mut rng);
    let n = rows.len();
    let n_train = n * 8 / 10;
    let n_valid = n / 10;
    let test = rows.split_off(n_train + n_valid);
    let valid = rows.split_off(n_train);
    CtrSplit {
        train: rows,
        valid,
        test,
    }
}

/// Labels every kept interaction, shuffles with `seed` and cuts 8:1:1.
pub fn ctr_split(catalog: &Catalog, rule: LabelRule, seed: u64) -> CtrSplit {
    let rows: Vec<Labeled> = catalog
        .interactions()
        .iter()
        .filter_map(|x| {
            rule.label(x.rating).map(|label| Labeled {
                user: x.user,
                item: x.item,
                label,
                timestamp: x.timestamp,
            })
        })
        .collect();
    shuffle_and_cut(rows, seed)
}

/// The CTR split of [`ctr_split`] with the rows of `keep` moved into
/// training from wherever the shuffle put them: the split that user texts
/// written from those rows (KAR's user side) are evaluated on, so that no
/// text saw a validation or test row.
pub fn ctr_split_keeping(
    catalog: &Catalog,
    rule: LabelRule,
    seed: u64,
    keep: &std::collections::HashSet<(UserId, ItemId)>,
) -> CtrSplit {
    let mut split = ctr_split(catalog, rule, seed);
    for part in [&mut split.valid, &mut split.test] {
        let (kept, rest): (Vec<Labeled>, Vec<Labeled>) = part
            .drain(..)
            .partition(|r| keep.contains(&(r.user, r.item)));
        *part = rest;
        split.train.extend(kept);
    }
    split
}

/// The CTR split of [`ctr_split`] with every episode's target taken out of
/// all three parts: what an evaluation's ranker may be trained on, so that
/// it never saw an interaction it is asked to find.
pub fn ctr_split_without_targets(
    catalog: &Catalog,
    rule: LabelRule,
    seed: u64,
    episodes: &[Episode],
) -> CtrSplit {
    let held: std::collections::HashSet<(UserId, ItemId)> =
        episodes.iter().map(|e| (e.user, e.target)).collect();
    let mut split = ctr_split(catalog, rule, seed);
    for part in [&mut split.train, &mut split.valid, &mut split.test] {
        part.retain(|r| !held.contains(&(r.user, r.item)));
    }
    split
}

/// Options of [`leave_last_positive_out`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeConfig {
    pub rule: LabelRule,
    /// At most this many positives before the target make the history.
    pub max_history: usize,
    /// Users with fewer positives before the target get no episode.
    pub min_history: usize,
}

impl Default for EpisodeConfig {
    /// The whole history before the target (`--history-len` caps it).
    fn default() -> Self {
        Self {
            rule: LabelRule::default(),
            max_history: usize::MAX,
            min_history: 1,
        }
    }
}

/// Positives per user, oldest first: `(user, timestamp, item)` triples in
/// log order, ordered by time with ties kept in log order.
fn histories_of(
    n_users: usize,
    positives: impl Iterator<Item = (UserId, i64, ItemId)>,
) -> Vec<Vec<ItemId>> {
    let mut per_user: Vec<Vec<(i64, usize, ItemId)>> = vec![Vec::new(); n_users];
    for (pos, (u, t, i)) in positives.enumerate() {
        if let Some(v) = per_user.get_mut(u.index()) {
            v.push((t, pos, i));
        }
    }
    per_user
        .into_iter()
        .map(|mut v| {
            v.sort_unstable();
            v.into_iter().map(|(_, _, i)| i).collect()
        })
        .collect()
}

/// Every user's positives under `rule`, oldest first (ties in log order),
/// indexed by user id. The one definition of a user's history that the
/// episodes, the CLI's rankers and item similarity all use.
pub fn positive_histories(catalog: &Catalog, rule: LabelRule) -> Vec<Vec<ItemId>> {
    histories_of(
        catalog.users().len(),
        catalog
            .interactions()
            .iter()
            .filter(|x| rule.label(x.rating) == Some(true))
            .map(|x| (x.user, x.timestamp, x.item)),
    )
}

/// Every user's rated films, oldest first (ties in log order), each with
/// whether it is a positive under `rule`: what the rated masking of the
/// next-item protocol reads. Its positives are [`positive_histories`].
pub fn labelled_histories(catalog: &Catalog, rule: LabelRule) -> Vec<Vec<(ItemId, bool)>> {
    rated_in_order(catalog)
        .into_iter()
        .map(|v| {
            v.into_iter()
                .map(|(_, item, rating)| (item, rule.label(rating) == Some(true)))
                .collect()
        })
        .collect()
}

/// The positives among labelled rows (e.g. a training split), per user,
/// oldest first: the history a model trained on those rows may see.
pub fn row_histories(n_users: usize, rows: &[Labeled]) -> Vec<Vec<ItemId>> {
    histories_of(
        n_users,
        rows.iter()
            .filter(|r| r.label)
            .map(|r| (r.user, r.timestamp, r.item)),
    )
}

/// One rating with its order key `(timestamp, position in the log)`.
type Rated = ((i64, usize), ItemId, f32);

/// Every user's rated items with their order keys `(timestamp, position in
/// the log)`, oldest first: the order all histories use.
fn rated_in_order(catalog: &Catalog) -> Vec<Vec<Rated>> {
    let mut per_user: Vec<Vec<Rated>> = vec![Vec::new(); catalog.users().len()];
    for (pos, x) in catalog.interactions().iter().enumerate() {
        if let Some(v) = per_user.get_mut(x.user.index()) {
            v.push(((x.timestamp, pos), x.item, x.rating));
        }
    }
    for v in &mut per_user {
        v.sort_by_key(|r| r.0);
    }
    per_user
}

/// The order key `(timestamp, position in the log)` of each user's
/// positive `from_end` places before the last (0: the last positive, the
/// episode target; 1: the validation target), or of the earliest positive
/// when the user has fewer; `None` for users with none. Everything at or
/// after it is the user's future, which no evaluation model may see.
pub fn positive_cutoffs(
    catalog: &Catalog,
    rule: LabelRule,
    from_end: usize,
) -> Vec<Option<(i64, usize)>> {
    rated_in_order(catalog)
        .into_iter()
        .map(|v| {
            let keys: Vec<(i64, usize)> = v
                .iter()
                .filter(|r| rule.label(r.2) == Some(true))
                .map(|r| r.0)
                .collect();
            keys.len()
                .checked_sub(1 + from_end)
                .and_then(|i| keys.get(i))
                .or(keys.first())
                .copied()
        })
        .collect()
}

/// The CTR split of [`ctr_split`] over only what each user did strictly
/// before `cutoffs[user]` (all of it for `None`): what an evaluation's
/// ranker may be trained on when `cutoffs` are its targets' order keys.
pub fn ctr_split_before(
    catalog: &Catalog,
    rule: LabelRule,
    seed: u64,
    cutoffs: &[Option<(i64, usize)>],
) -> CtrSplit {
    let rows: Vec<Labeled> = catalog
        .interactions()
        .iter()
        .enumerate()
        .filter(|(pos, x)| {
            cutoffs
                .get(x.user.index())
                .copied()
                .flatten()
                .is_none_or(|c| (x.timestamp, *pos) < c)
        })
        .filter_map(|(_, x)| {
            rule.label(x.rating).map(|label| Labeled {
                user: x.user,
                item: x.item,
                label,
                timestamp: x.timestamp,
            })
        })
        .collect();
    shuffle_and_cut(rows, seed)
}

/// One episode per eligible user: the target is the last positive by time
/// (ties broken by position in the log), the history the positives before
/// it, oldest first (the last `max_history`), and `seen` every item rated
/// before it (the last `max_history` ratings, plus the history). Users come
/// out in id order.
pub fn leave_last_positive_out(catalog: &Catalog, cfg: EpisodeConfig) -> Vec<Episode> {
    let mut out = Vec::new();
    for (u, rated) in rated_in_order(catalog).into_iter().enumerate() {
        let Some(t) = rated
            .iter()
            .rposition(|r| cfg.rule.label(r.2) == Some(true))
        else {
            continue;
        };
        let before = &rated[..t];
        let liked: Vec<ItemId> = before
            .iter()
            .filter(|r| cfg.rule.label(r.2) == Some(true))
            .map(|r| r.1)
            .collect();
        if liked.len() < cfg.min_history {
            continue;
        }
        let history = liked[liked.len().saturating_sub(cfg.max_history)..].to_vec();
        let mut seen: Vec<ItemId> = before[before.len().saturating_sub(cfg.max_history)..]
            .iter()
            .map(|r| r.1)
            .collect();
        for h in &history {
            if !seen.contains(h) {
                seen.push(*h);
            }
        }
        out.push(Episode {
            user: catalog.users()[u].id,
            target: rated[t].1,
            history,
            seen,
        });
    }
    out
}

/// A seeded sample of `n` episodes (all of them when `n` is larger).
pub fn sample_episodes(episodes: &[Episode], n: usize, seed: u64) -> Vec<Episode> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked: Vec<Episode> = episodes
        .choose_multiple(&mut rng, n.min(episodes.len()))
        .cloned()
        .collect();
    picked.sort_by_key(|e| e.user);
    picked
}
