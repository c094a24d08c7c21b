//! A static word table distilled from the sentence encoder, for catalogs too
//! large to run BERT over every item on a CPU.
//!
//! Each distinct word of the catalog's item texts is embedded once with
//! all-MiniLM-L6-v2; a text's vector is then the L2-normalised mean of its
//! words' vectors (the idea behind Model2Vec-style static embeddings). It is
//! a cheaper, coarser encoder: `recagent index build NAME --encoder static`.
//! Queries must use the same table as the items, which is why the table is
//! saved beside the vectors and named in the vector manifest.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use recagent_core::Progress;

use crate::{DIM, Error, Result, TextEncoder};

/// A word → vector table.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticTable {
    index: HashMap<String, u32>,
    words: Vec<String>,
    /// `words.len() × DIM`, row-major.
    vectors: Vec<f32>,
}

impl StaticTable {
    /// Embeds every distinct word of `texts` with `encoder`.
    pub fn build(encoder: &TextEncoder, texts: &[String], progress: &dyn Progress) -> Result<Self> {
        let mut index = HashMap::new();
        let mut words = Vec::new();
        for t in texts {
            for w in recagent_core::words(t) {
                if !index.contains_key(&w) {
                    index.insert(w.clone(), words.len() as u32);
                    words.push(w);
                }
            }
        }
        let vectors = encoder.embed_all(&words, 256, progress)?;
        Ok(Self {
            index,
            words,
            vectors,
        })
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    fn row(&self, i: u32) -> &[f32] {
        let i = i as usize * DIM;
        &self.vectors[i..i + DIM]
    }

    /// The normalised mean of the text's known words; words missing from the
    /// table are embedded with `fallback` when one is given, else skipped.
    /// `None` when no word could be embedded.
    pub fn embed(&self, text: &str, fallback: Option<&TextEncoder>) -> Result<Option<Vec<f32>>> {
        let mut sum = vec![0f32; DIM];
        let mut n = 0usize;
        let mut unknown = Vec::new();
        for w in recagent_core::words(text) {
            match self.index.get(&w) {
                Some(&i) => {
                    for (s, v) in sum.iter_mut().zip(self.row(i)) {
                        *s += v;
                    }
                    n += 1;
                }
                None => unknown.push(w),
            }
        }
        if let Some(enc) = fallback
            && !unknown.is_empty()
        {
            for w in &unknown {
                let v = enc.embed_query(w)?;
                for (s, x) in sum.iter_mut().zip(&v) {
                    *s += x;
                }
                n += 1;
            }
        }
        if n == 0 {
            return Ok(None);
        }
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        Ok(Some(sum.into_iter().map(|x| x / norm).collect()))
    }

    /// Writes `words.json` and `vectors.f32` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        let wpath = dir.join("words.json");
        let json = serde_json::to_vec(&self.words).map_err(|e| Error::BadConfig {
            path: wpath.clone(),
            reason: e.to_string(),
        })?;
        fs::write(&wpath, json).map_err(io(&wpath))?;
        let vpath = dir.join("vectors.f32");
        let bytes: Vec<u8> = self.vectors.iter().flat_map(|v| v.to_le_bytes()).collect();
        fs::write(&vpath, bytes).map_err(io(&vpath))?;
        Ok(())
    }

    /// Reads a table written by [`StaticTable::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let wpath = dir.join("words.json");
        let text = fs::read(&wpath).map_err(|source| Error::Io {
            path: wpath.clone(),
            source,
        })?;
        let words: Vec<String> = serde_json::from_slice(&text).map_err(|e| Error::BadConfig {
            path: wpath.clone(),
            reason: e.to_string(),
        })?;
        let vpath = dir.join("vectors.f32");
        let bytes = fs::read(&vpath).map_err(|source| Error::Io {
            path: vpath.clone(),
            source,
        })?;
        if bytes.len() != words.len() * DIM * 4 {
            return Err(Error::BadConfig {
                path: vpath,
                reason: format!(
                    "{} bytes, expected {} for {} words; rebuild the index",
                    bytes.len(),
                    words.len() * DIM * 4,
                    words.len()
                ),
            });
        }
        let vectors = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Ok(Self {
            index,
            words,
            vectors,
        })
    }
}
