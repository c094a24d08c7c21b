//! Synthetic catalogs for scale benchmarks (`recagent data synth`).
//!
//! Titles and descriptions are built from word lists so that lexical and
//! dense search have something real to work on; interactions follow a Zipf
//! popularity curve, and ratings depend on each user's taste in genres and on
//! a hidden item quality, so rankers have signal to learn.

use std::collections::{BTreeMap, HashSet};

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Zipf};
use recagent_core::{Catalog, Interaction, Item, ItemId, Progress, User, UserId};

use crate::error::{Error, Result};

/// Options of [`generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    pub name: String,
    pub items: usize,
    pub users: usize,
    /// Mean interactions per user.
    pub per_user: usize,
    pub seed: u64,
    /// Zipf exponent of item popularity.
    pub popularity_skew: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            name: "synth".into(),
            items: 10_000,
            users: 1_000,
            per_user: 30,
            seed: 42,
            popularity_skew: 1.0,
        }
    }
}

pub const GENRES: &[&str] = &[
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];
/// Relative frequency of each genre, roughly as in MovieLens.
const GENRE_WEIGHTS: &[u32] = &[25, 13, 4, 7, 50, 11, 5, 72, 2, 2, 9, 5, 6, 25, 10, 25, 7, 3];

const ADJECTIVES: &[&str] = &[
    "Silent",
    "Crimson",
    "Last",
    "Hidden",
    "Broken",
    "Golden",
    "Midnight",
    "Frozen",
    "Wild",
    "Lost",
    "Burning",
    "Secret",
    "Distant",
    "Electric",
    "Hollow",
    "Iron",
    "Quiet",
    "Savage",
    "Shattered",
    "Endless",
    "Pale",
    "Restless",
    "Velvet",
    "Wandering",
    "Bitter",
    "Brave",
    "Dark",
    "Bright",
    "Forgotten",
    "Eternal",
    "Copper",
    "Scarlet",
    "Silver",
    "Stolen",
    "Sunken",
    "Twisted",
    "Winter",
    "Summer",
    "Autumn",
    "Northern",
];
const NOUNS: &[&str] = &[
    "Harbor",
    "Engine",
    "Kingdom",
    "River",
    "Garden",
    "Letter",
    "Mirror",
    "Station",
    "Frontier",
    "Empire",
    "Signal",
    "Voyage",
    "Promise",
    "Shadow",
    "Island",
    "Circus",
    "Orchard",
    "Lighthouse",
    "Machine",
    "Crown",
    "Desert",
    "Storm",
    "Bridge",
    "Ocean",
    "Forest",
    "Planet",
    "Witness",
    "Detective",
    "Stranger",
    "Dream",
    "Highway",
    "Castle",
    "Carnival",
    "Galaxy",
    "Canyon",
    "Melody",
    "Hunter",
    "Prophet",
    "Orbit",
    "Outlaw",
];
const PLACES: &[&str] = &[
    "Paris",
    "the North",
    "Mars",
    "Chicago",
    "the Valley",
    "Tokyo",
    "the Old Town",
    "the Moon",
    "Berlin",
    "the Coast",
    "Havana",
    "the Border",
    "Atlantis",
    "the City",
    "the Mountains",
    "Saturn",
    "Vienna",
    "Texas",
];
const PEOPLE: &[&str] = &[
    "a retired detective",
    "a young astronaut",
    "two estranged sisters",
    "a small-town teacher",
    "a jazz pianist",
    "a rookie cop",
    "an exiled prince",
    "a stubborn farmer",
    "a mechanical boy",
    "a war photographer",
    "a con artist",
    "a marine biologist",
    "a lonely robot",
    "a disgraced surgeon",
    "a street magician",
    "a grieving widow",
    "a gang of kids",
    "a rebel pilot",
    "an aging boxer",
    "a curious witch",
];
const ACTIONS: &[&str] = &[
    "uncovers a conspiracy",
    "falls in love",
    "searches for a missing friend",
    "plans one final heist",
    "fights to save a family farm",
    "discovers a hidden world",
    "must survive one long night",
    "races against time",
    "confronts a haunted past",
    "leads an unlikely rebellion",
    "chases a legend",
    "tries to make it home",
    "solves an impossible murder",
    "builds a machine that changes everything",
];
const MOODS: &[&str] = &[
    "gripping",
    "heartfelt",
    "darkly funny",
    "sweeping",
    "tense",
    "whimsical",
    "haunting",
    "rousing",
    "tender",
    "stylish",
    "bleak",
    "playful",
    "epic",
    "intimate",
];
const OCCUPATIONS: &[&str] = &[
    "student",
    "engineer",
    "educator",
    "programmer",
    "artist",
    "writer",
    "doctor",
    "librarian",
    "executive",
    "technician",
    "scientist",
    "marketing",
    "retired",
    "homemaker",
    "other",
];

fn title(rng: &mut ChaCha8Rng) -> String {
    let adj = ADJECTIVES.choose(rng).copied().unwrap_or("Silent");
    let noun = NOUNS.choose(rng).copied().unwrap_or("Harbor");
    let noun2 = NOUNS.choose(rng).copied().unwrap_or("River");
    let place = PLACES.choose(rng).copied().unwrap_or("Paris");
    let mut t = match rng.random_range(0..6) {
        0 => format!("The {adj} {noun}"),
        1 => format!("{noun} of {place}"),
        2 => format!("{adj} {noun}s"),
        3 => format!("The {noun} and the {noun2}"),
        4 => format!("{adj} {noun} in {place}"),
        _ => noun.to_owned(),
    };
    match rng.random_range(0..20) {
        0 => t.push_str(" II"),
        1 => t.push_str(" 3"),
        _ => {}
    }
    t
}

/// Generates a catalog. Deterministic for a given config.
pub fn generate(cfg: &SynthConfig, progress: &dyn Progress) -> Result<Catalog> {
    check(cfg)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let genre_pick = rand_distr::weighted::WeightedIndex::new(GENRE_WEIGHTS)
        .map_err(|e| Error::Invalid(format!("genre weights: {e}")))?;
    let cast = Cast {
        directors: (cfg.items / 20).max(1),
        actors: (cfg.items / 5).max(1),
    };

    progress.stage("generating items", Some(cfg.items as u64));
    let mut items = Vec::with_capacity(cfg.items);
    let mut quality = Vec::with_capacity(cfg.items);
    let q_dist = Normal::new(0.0f32, 0.7).map_err(|e| Error::Invalid(e.to_string()))?;
    for i in 0..cfg.items {
        items.push(synth_item(&mut rng, i, &genre_pick, cast));
        quality.push(q_dist.sample(&mut rng));
        if i % 8192 == 8191 {
            progress.advance(8192);
        }
    }
    progress.finish();

    // Popularity rank r (0 = most popular) maps to a random item, so that
    // popular items are spread over the id space.
    let mut by_rank: Vec<u32> = (0..cfg.items as u32).collect();
    by_rank.shuffle(&mut rng);
    let taste = Taste {
        zipf: Zipf::new(cfg.items as f64, cfg.popularity_skew)
            .map_err(|e| Error::Invalid(format!("zipf: {e}")))?,
        noise: Normal::new(0.0f32, 0.8).map_err(|e| Error::Invalid(e.to_string()))?,
        by_rank: &by_rank,
        items: &items,
        quality: &quality,
    };

    progress.stage("generating users and interactions", Some(cfg.users as u64));
    let mut users = Vec::with_capacity(cfg.users);
    let mut interactions = Vec::with_capacity(cfg.users * cfg.per_user);
    let mut seen = HashSet::new();
    for u in 0..cfg.users {
        let (user, liked, disliked) = synth_user(&mut rng, u, &genre_pick);
        users.push(user);
        // Activity varies a lot between users: uniform in [1, 2 × mean].
        let n = rng
            .random_range(1..=(2 * cfg.per_user).max(1))
            .min(cfg.items);
        taste.rate(
            &mut rng,
            UserId(u as u32),
            n,
            &liked,
            disliked,
            &mut seen,
            &mut interactions,
        );
        if u % 1024 == 1023 {
            progress.advance(1024);
        }
    }
    progress.finish();
    Ok(Catalog::new(cfg.name.clone(), items, users, interactions)?)
}

/// Refuses an empty catalog, counts past 32 bits and a skew that is not a
/// positive number.
fn check(cfg: &SynthConfig) -> Result<()> {
    if cfg.items == 0 {
        return Err(Error::Invalid(
            "a synthetic catalog needs at least 1 item".into(),
        ));
    }
    if cfg.items > u32::MAX as usize || cfg.users > u32::MAX as usize {
        return Err(Error::Invalid(
            "item and user counts must fit in 32 bits".into(),
        ));
    }
    if !(cfg.popularity_skew.is_finite() && cfg.popularity_skew > 0.0) {
        return Err(Error::Invalid(
            "popularity skew must be a positive number".into(),
        ));
    }
    Ok(())
}

/// How many directors and actors the items' credits are drawn from.
#[derive(Clone, Copy)]
struct Cast {
    directors: usize,
    actors: usize,
}

/// Item `i`: one to three genres, a year leaning recent, a title, a line
/// of text, a director and two to four actors.
fn synth_item(
    rng: &mut ChaCha8Rng,
    i: usize,
    genre_pick: &rand_distr::weighted::WeightedIndex<u32>,
    cast: Cast,
) -> Item {
    let n_genres = 1 + usize::from(rng.random_bool(0.5)) + usize::from(rng.random_bool(0.2));
    let mut genres: Vec<&str> = Vec::with_capacity(n_genres);
    while genres.len() < n_genres {
        let g = GENRES[genre_pick.sample(rng)];
        if !genres.contains(&g) {
            genres.push(g);
        }
    }
    genres.sort_unstable();
    // Years lean recent, as catalogs do.
    let year = 2025 - (rng.random::<f64>().powi(2) * 95.0) as u16;
    let t = title(rng);
    let text = format!(
        "A {} {} film about {} who {} in {}.",
        MOODS.choose(rng).copied().unwrap_or("tense"),
        genres[0].to_lowercase(),
        PEOPLE.choose(rng).copied().unwrap_or("a stranger"),
        ACTIONS.choose(rng).copied().unwrap_or("falls in love"),
        PLACES.choose(rng).copied().unwrap_or("Paris"),
    );
    let mut relations = BTreeMap::new();
    relations.insert(
        "director".to_owned(),
        vec![format!("d{}", rng.random_range(0..cast.directors))],
    );
    let actors = (0..rng.random_range(2..5))
        .map(|_| format!("a{}", rng.random_range(0..cast.actors)))
        .collect();
    relations.insert("actor".to_owned(), actors);
    Item {
        id: ItemId(i as u32),
        key: format!("s{i}"),
        title: t,
        year: Some(year),
        genres: genres.into_iter().map(str::to_owned).collect(),
        text,
        relations,
        ..Default::default()
    }
}

/// User `u` with demographics, two liked genres and one disliked.
fn synth_user(
    rng: &mut ChaCha8Rng,
    u: usize,
    genre_pick: &rand_distr::weighted::WeightedIndex<u32>,
) -> (User, Vec<&'static str>, &'static str) {
    let liked: Vec<&str> = (0..2).map(|_| GENRES[genre_pick.sample(rng)]).collect();
    let disliked = GENRES[rng.random_range(0..GENRES.len())];
    let mut attrs = BTreeMap::new();
    attrs.insert(
        "zip".to_owned(),
        format!("{:05}", rng.random_range(0..100_000)),
    );
    let user = User {
        id: UserId(u as u32),
        key: format!("u{u}"),
        age: Some(rng.random_range(16..75)),
        gender: Some(if rng.random_bool(0.5) { "F" } else { "M" }.to_owned()),
        occupation: OCCUPATIONS.choose(rng).map(|s| (*s).to_owned()),
        attrs,
    };
    (user, liked, disliked)
}

/// What a rating depends on: popularity (a Zipf rank mapped to an item),
/// the item's quality, the user's genres and noise.
struct Taste<'a> {
    zipf: Zipf<f64>,
    noise: Normal<f32>,
    by_rank: &'a [u32],
    items: &'a [Item],
    quality: &'a [f32],
}

impl Taste<'_> {
    /// Up to `n` distinct items rated by `user`, a few minutes to three
    /// days apart, appended to `out`.
    #[allow(clippy::too_many_arguments)]
    fn rate(
        &self,
        rng: &mut ChaCha8Rng,
        user: UserId,
        n: usize,
        liked: &[&str],
        disliked: &str,
        seen: &mut HashSet<u32>,
        out: &mut Vec<Interaction>,
    ) {
        const BASE_TIME: i64 = 1_577_836_800; // 2020-01-01
        let mut t = BASE_TIME + rng.random_range(0..86_400 * 365);
        seen.clear();
        let mut tries = 0;
        while seen.len() < n && tries < n * 4 {
            tries += 1;
            let rank = (self.zipf.sample(rng) as usize)
                .saturating_sub(1)
                .min(self.items.len() - 1);
            let item = self.by_rank[rank];
            if !seen.insert(item) {
                continue;
            }
            let it = &self.items[item as usize];
            let mut score = 3.3 + self.quality[item as usize] + self.noise.sample(rng);
            if it.genres.iter().any(|g| liked.contains(&g.as_str())) {
                score += 1.0;
            }
            if it.genres.iter().any(|g| g == disliked) {
                score -= 1.3;
            }
            t += rng.random_range(60..86_400 * 3);
            out.push(Interaction {
                user,
                item: ItemId(item),
                rating: score.round().clamp(1.0, 5.0),
                timestamp: t,
            });
        }
    }
}
