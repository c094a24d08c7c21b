//! The tantivy index and title linking.

use std::collections::{BTreeSet, HashSet};
use std::ops::Bound;
use std::path::Path;

use recagent_core::{Catalog, Filter, ItemId, Progress, genre_key, words};
use tantivy::collector::TopDocs;
use tantivy::query::{
    AllQuery, BooleanQuery, FuzzyTermQuery, Occur, Query, QueryParser, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TEXT, Value};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

use crate::{Error, Result};

/// Longest query text that is searched; the rest is ignored, so that a pasted
/// essay cannot turn into a query with thousands of clauses.
pub const MAX_QUERY_CHARS: usize = 1000;

/// One search result: an item and its score in this search.
pub type SearchHit = recagent_core::Scored;

// A title found in free text is defined in core, so that the agent's
// `Recall` trait names no retrieval type.
pub use recagent_core::TitleLink;

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    title: Field,
    genres: Field,
    genre_key: Field,
    year: Field,
    text: Field,
    relations: Field,
}

fn schema() -> (Schema, Fields) {
    let mut sb = Schema::builder();
    let fields = Fields {
        id: sb.add_u64_field("id", STORED),
        title: sb.add_text_field("title", TEXT | STORED),
        genres: sb.add_text_field("genres", TEXT),
        genre_key: sb.add_text_field("genre_key", STRING),
        year: sb.add_u64_field("year", tantivy::schema::INDEXED | tantivy::schema::FAST),
        // Overviews and keywords are prose: "vampires" finds "vampire".
        text: sb.add_text_field(
            "text",
            tantivy::schema::TextOptions::default().set_indexing_options(
                tantivy::schema::TextFieldIndexing::default()
                    .set_tokenizer("en_stem")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        ),
        relations: sb.add_text_field("relations", TEXT),
    };
    (sb.build(), fields)
}

const ARTICLES: [&str; 3] = ["the", "a", "an"];

/// The words of a title that linking matches: MovieLens writes "Usual
/// Suspects, The", people say "the usual suspects" or "usual suspects", so
/// articles are not required.
fn title_words(title: &str) -> Vec<String> {
    // An alternate title in parentheses ("Independence Day (ID4)") is not
    // something people say.
    let title = match title.find(" (") {
        Some(i) if i > 0 => &title[..i],
        _ => title,
    };
    let w: Vec<String> = words(title)
        .into_iter()
        .filter(|w| !ARTICLES.contains(&w.as_ref()))
        .collect();
    if w.is_empty() { words(title) } else { w }
}

/// The ways people say a title: the whole of it, and where it has a
/// subtitle, the part before the colon ("Terminator 2") and the subtitle
/// ("First Contact"), each of two words or more so that "Mission" or
/// "Part II" alone names nothing.
fn title_parts(title: &str) -> Vec<Vec<String>> {
    let mut out = vec![title_words(title)];
    let base = match title.find(" (") {
        Some(i) if i > 0 => &title[..i],
        _ => title,
    };
    if let Some((head, sub)) = base.split_once(':') {
        for part in [head, sub] {
            let w = title_words(part.trim());
            if w.len() >= 2 {
                out.push(w);
            }
        }
    }
    out
}

/// Whether a word of the text matches a word of a title, allowing one typo in
/// longer words.
fn word_match(text: &str, title: &str) -> Option<bool> {
    if text == title {
        return Some(true);
    }
    // Four-letter words are too close to each other ("star", "stag") to allow a typo.
    let long = title.chars().count() >= 5 && text.chars().count() >= 5;
    (long && strsim::damerau_levenshtein(text, title) <= 1).then_some(false)
}

/// The best in-order match of `title` inside `text`: (matched title words,
/// confidence).
fn align(text: &[String], title: &[String]) -> (usize, f32) {
    let mut best = (0usize, 0f32);
    for start in 0..text.len() {
        let (mut t, mut matched, mut typos) = (start, 0usize, 0usize);
        for w in title {
            // Skip articles and filler in the text between title words.
            let mut found = false;
            let mut look = t;
            while look < text.len() && look <= t + 1 {
                if let Some(exact) = word_match(&text[look], w) {
                    matched += 1;
                    typos += usize::from(!exact);
                    t = look + 1;
                    found = true;
                    break;
                }
                if !ARTICLES.contains(&text[look].as_ref()) {
                    break;
                }
                look += 1;
            }
            if !found {
                break;
            }
        }
        if matched == 0 {
            continue;
        }
        let conf = (matched as f32 - 0.25 * typos as f32) / title.len() as f32;
        if (matched, conf) > (best.0, best.1) || (matched == best.0 && conf > best.1) {
            best = (matched, conf);
        }
    }
    best
}

/// A tantivy index of one catalog.
pub struct LexicalIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    genres: BTreeSet<String>,
    titles: Vec<String>,
}

impl std::fmt::Debug for LexicalIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LexicalIndex")
            .field("items", &self.titles.len())
            .finish()
    }
}

impl LexicalIndex {
    /// Builds the index of `catalog` in `dir` (created, must be empty or absent).
    pub fn build(catalog: &Catalog, dir: &Path, progress: &dyn Progress) -> Result<Self> {
        Self::build_with(catalog, dir, &std::collections::HashMap::new(), progress)
    }

    /// [`LexicalIndex::build`], with extra text per item key (generated
    /// knowledge) searched with the item's own text.
    pub fn build_with(
        catalog: &Catalog,
        dir: &Path,
        knowledge: &std::collections::HashMap<String, String>,
        progress: &dyn Progress,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let (schema, f) = schema();
        let index = Index::create_in_dir(dir, schema)?;
        // One thread: one segment with documents in catalog order, so that
        // equal scores come back in the same order on every build.
        let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 100_000_000)?;
        progress.stage(
            "indexing items (tantivy)",
            Some(catalog.items().len() as u64),
        );
        for item in catalog.items() {
            let mut d = doc!(
                f.id => u64::from(item.id.0),
                f.title => item.title.clone(),
                f.text => {
                    // The item's own text, its facts (overview, tagline,
                    // keywords) and any generated knowledge, searched alike.
                    let facts = item.facts_text();
                    [item.text.as_str(), facts.as_str(), knowledge.get(&item.key).map_or("", String::as_str)]
                        .iter()
                        .filter(|t| !t.trim().is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
            for g in &item.genres {
                d.add_text(f.genres, g);
                d.add_text(f.genre_key, genre_key(g));
            }
            if let Some(y) = item.year {
                d.add_u64(f.year, u64::from(y));
            }
            // People are searched by name with the relations ("tom hanks"
            // finds his films even where nothing links the name).
            for p in &item.people {
                d.add_text(f.relations, format!("{} {}", p.role.as_str(), p.name));
            }
            for (rel, ids) in &item.relations {
                for id in ids {
                    d.add_text(f.relations, format!("{rel} {id}"));
                }
            }
            writer.add_document(d)?;
            progress.advance(1);
        }
        writer.commit()?;
        progress.finish();
        drop(writer);
        Self::open(dir, catalog)
    }

    /// Opens a built index; `catalog` supplies titles and the genre vocabulary.
    pub fn open(dir: &Path, catalog: &Catalog) -> Result<Self> {
        if !dir.join("meta.json").is_file() {
            return Err(Error::NotBuilt {
                name: catalog.name().to_owned(),
                dir: dir.to_owned(),
            });
        }
        let index = Index::open_in_dir(dir)?;
        let (_, fields) = schema();
        let reader = index.reader()?;
        Ok(Self {
            index,
            reader,
            fields,
            genres: catalog.genre_vocab().iter().map(|g| genre_key(g)).collect(),
            titles: catalog.items().iter().map(|i| i.title.clone()).collect(),
        })
    }

    /// Checks a filter against the catalog: known genres, a non-empty year
    /// range. Every search mode runs this first, so all give the same errors.
    pub fn check_filter(&self, filter: &Filter) -> Result<()> {
        self.filter_clauses(filter).map(|_| ())
    }

    fn filter_clauses(&self, filter: &Filter) -> Result<Vec<(Occur, Box<dyn Query>)>> {
        if let (Some(lo), Some(hi)) = (filter.year_min, filter.year_max)
            && lo > hi
        {
            return Err(Error::InvalidFilter(format!(
                "year range {lo}..{hi} is empty: the minimum is above the maximum"
            )));
        }
        let genre = |g: &str| -> Result<Box<dyn Query>> {
            let key = genre_key(g);
            if !self.genres.contains(&key) {
                return Err(Error::InvalidFilter(format!(
                    "unknown genre {g:?}; this catalog has: {}",
                    self.genres.iter().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            Ok(Box::new(TermQuery::new(
                Term::from_field_text(self.fields.genre_key, &key),
                IndexRecordOption::Basic,
            )))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !filter.genres_any.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = filter
                .genres_any
                .iter()
                .map(|g| Ok((Occur::Should, genre(g)?)))
                .collect::<Result<_>>()?;
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        for g in &filter.genres_all {
            clauses.push((Occur::Must, genre(g)?));
        }
        for g in &filter.genres_none {
            clauses.push((Occur::MustNot, genre(g)?));
        }
        if filter.year_min.is_some() || filter.year_max.is_some() {
            let bound = |y: Option<u16>| match y {
                Some(y) => Bound::Included(Term::from_field_u64(self.fields.year, u64::from(y))),
                None => Bound::Unbounded,
            };
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    bound(filter.year_min),
                    bound(filter.year_max),
                )),
            ));
        }
        Ok(clauses)
    }

    fn run(
        &self,
        query: Box<dyn Query>,
        k: usize,
        exclude: &HashSet<ItemId>,
    ) -> Result<Vec<SearchHit>> {
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit((k + exclude.len()).max(1)))?;
        let mut out = Vec::with_capacity(k);
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            let Some(id) = d.get_first(self.fields.id).and_then(|v| v.as_u64()) else {
                continue;
            };
            let item = ItemId(id as u32);
            if !exclude.contains(&item) {
                out.push(SearchHit { item, score });
            }
            if out.len() == k {
                break;
            }
        }
        Ok(out)
    }

    /// BM25 search over title (boosted), genres, text and relations. An
    /// empty query returns filtered items in index order.
    pub fn search(&self, query: &str, filter: &Filter, k: usize) -> Result<Vec<SearchHit>> {
        let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
        let f = self.fields;
        let mut clauses = self.filter_clauses(filter)?;
        let text_query: Box<dyn Query> = if words(&query).is_empty() {
            Box::new(AllQuery)
        } else {
            let mut parser =
                QueryParser::for_index(&self.index, vec![f.title, f.genres, f.text, f.relations]);
            parser.set_field_boost(f.title, 2.0);
            // Lenient: a stray quote or colon in what a person typed is not an error.
            let cleaned = words(&query).join(" ");
            parser.parse_query_lenient(&cleaned).0
        };
        clauses.insert(0, (Occur::Must, text_query));
        let exclude: HashSet<ItemId> = filter.exclude.iter().copied().collect();
        self.run(Box::new(BooleanQuery::new(clauses)), k, &exclude)
    }

    /// Finds catalog titles mentioned in free text, best first. Each word of
    /// the text may be misspelt by one letter; articles are optional.
    pub fn link_titles(&self, text: &str) -> Result<Vec<TitleLink>> {
        let text: String = text.chars().take(MAX_QUERY_CHARS).collect();
        let tw = words(&text);
        let content: Vec<&String> = tw
            .iter()
            .filter(|w| !ARTICLES.contains(&w.as_ref()))
            .collect();
        if content.is_empty() {
            return Ok(Vec::new());
        }
        // Candidates: titles sharing a word with the text, allowing a typo.
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen = HashSet::new();
        for w in content.into_iter().take(64) {
            if !seen.insert(w.clone()) {
                continue;
            }
            let term = Term::from_field_text(self.fields.title, w);
            if w.chars().count() >= 5 {
                should.push((Occur::Should, Box::new(FuzzyTermQuery::new(term, 1, true))));
            } else {
                should.push((
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                ));
            }
        }
        let hits = self.run(Box::new(BooleanQuery::new(should)), 200, &HashSet::new())?;
        let mut links: Vec<(usize, TitleLink)> = Vec::new();
        for h in hits {
            let Some(title) = self.titles.get(h.item.index()) else {
                continue;
            };
            let (matched, confidence) = title_parts(title)
                .iter()
                .map(|p| align(&tw, p))
                .fold((0, 0.0), |a, b| if (b.0, b.1) > (a.0, a.1) { b } else { a });
            if confidence >= 0.75 {
                links.push((
                    matched,
                    TitleLink {
                        item: h.item,
                        title: title.clone(),
                        confidence,
                    },
                ));
            }
        }
        // More matched words first ("Star Wars" over "Wars"), then confidence.
        links.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.confidence.total_cmp(&a.1.confidence))
                .then(a.1.item.cmp(&b.1.item))
        });
        Ok(links.into_iter().map(|(_, l)| l).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        words(s)
    }

    #[test]
    fn sequels_and_subtitles_are_titles_too() {
        let parts = |t: &str| -> (usize, f32) {
            title_parts(t)
                .iter()
                .map(|p| align(&w("something like terminator 2 please"), p))
                .fold((0, 0.0), |a, b| if (b.0, b.1) > (a.0, a.1) { b } else { a })
        };
        // "Terminator 2" names the sequel wholly, the first film only in part.
        assert_eq!(parts("Terminator 2: Judgment Day"), (2, 1.0));
        assert_eq!(parts("Terminator, The"), (1, 1.0));
        assert_eq!(
            title_parts("Star Trek: First Contact")[2],
            vec!["first", "contact"]
        );
        // A one-word head names nothing alone.
        assert_eq!(title_parts("Mission: Impossible").len(), 1);
    }

    #[test]
    fn words_and_alignment() {
        assert_eq!(
            w("We LOVED Schindler's List!"),
            vec!["we", "loved", "schindlers", "list"]
        );
        assert_eq!(
            title_words("Usual Suspects, The"),
            vec!["usual", "suspects"]
        );
        assert_eq!(
            title_words("Independence Day (ID4)"),
            vec!["independence", "day"]
        );
        assert_eq!(
            align(
                &w("i liked the usual suspects a lot"),
                &title_words("Usual Suspects, The")
            ),
            (2, 1.0)
        );
        let (m, c) = align(&w("pulp fictoin"), &title_words("Pulp Fiction"));
        assert_eq!(m, 2);
        assert!((c - 0.875).abs() < 1e-6);
        assert_eq!(align(&w("star trek"), &title_words("Star Wars")).0, 1);
    }
}
