//! Record and replay: a cassette is a JSONL file with one line per call,
//! holding the request and every event the model produced.
//!
//! [`Recorder`] wraps any model and appends each finished call. [`Replayer`]
//! plays a cassette back in order with no model at all; a request that
//! differs from the recording is an error naming the first place it
//! differs, so a changed prompt cannot pass silently.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ChatEvent, ChatModel, ChatRequest, Error, EventStream, Result};

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub index: usize,
    pub model: String,
    pub request: ChatRequest,
    pub events: Vec<ChatEvent>,
}

/// Records every call of `inner` to a cassette.
#[derive(Debug)]
pub struct Recorder<M> {
    inner: M,
    path: PathBuf,
    file: std::sync::Arc<Mutex<File>>,
    next: std::sync::Arc<AtomicUsize>,
}

impl<M: ChatModel> Recorder<M> {
    /// Starts a new cassette at `path` (replacing one that is there).
    pub fn create(inner: M, path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| cassette_err(path, e))?;
        }
        let file = File::create(path).map_err(|e| cassette_err(path, e))?;
        Ok(Self {
            inner,
            path: path.to_owned(),
            file: std::sync::Arc::new(Mutex::new(file)),
            next: std::sync::Arc::default(),
        })
    }
}

fn cassette_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Cassette {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

impl<M: ChatModel> ChatModel for Recorder<M> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn chat(&self, request: ChatRequest) -> EventStream {
        let mut inner = self.inner.chat(request.clone());
        let file = self.file.clone();
        let next = self.next.clone();
        let path = self.path.clone();
        let model = self.inner.name();
        Box::pin(async_stream::try_stream! {
            let mut events = Vec::new();
            while let Some(e) = inner.next().await {
                let e = e?;
                events.push(e.clone());
                yield e;
            }
            let entry = Entry { index: next.fetch_add(1, Ordering::SeqCst), model, request, events };
            append(&file, &path, &entry)?;
        })
    }
}

fn append(file: &Mutex<File>, path: &Path, entry: &Entry) -> Result<()> {
    let line = serde_json::to_string(entry).map_err(|e| cassette_err(path, e))?;
    let mut f = file
        .lock()
        .map_err(|_| cassette_err(path, "lock poisoned"))?;
    writeln!(f, "{line}").map_err(|e| cassette_err(path, e))?;
    f.flush().map_err(|e| cassette_err(path, e))
}

/// Plays a cassette back.
#[derive(Debug)]
pub struct Replayer {
    path: PathBuf,
    entries: Vec<Entry>,
    next: AtomicUsize,
}

impl Replayer {
    pub fn open(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path).map_err(|e| cassette_err(path, e))?;
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let e: Entry = serde_json::from_str(line)
                .map_err(|e| cassette_err(path, format!("line {}: {e}", i + 1)))?;
            entries.push(e);
        }
        Ok(Self {
            path: path.to_owned(),
            entries,
            next: AtomicUsize::new(0),
        })
    }

    /// Calls recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn replay(&self, request: &ChatRequest) -> Result<Vec<ChatEvent>> {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        let entry = self.entries.get(i).ok_or_else(|| {
            cassette_err(
                &self.path,
                format!(
                    "call {i} was not recorded (the cassette holds {} calls); record it again",
                    self.entries.len()
                ),
            )
        })?;
        let want = serde_json::to_value(&entry.request).map_err(|e| cassette_err(&self.path, e))?;
        let got = serde_json::to_value(request).map_err(|e| cassette_err(&self.path, e))?;
        if let Some((at, recorded, got)) = first_difference(&want, &got, "request") {
            return Err(Error::ReplayMismatch {
                path: self.path.display().to_string(),
                index: i,
                at,
                recorded,
                got,
            });
        }
        Ok(entry.events.clone())
    }
}

impl ChatModel for Replayer {
    fn name(&self) -> String {
        self.entries
            .first()
            .map_or_else(|| "replay".into(), |e| format!("replay:{}", e.model))
    }

    fn chat(&self, request: ChatRequest) -> EventStream {
        let items: Vec<Result<ChatEvent>> = match self.replay(&request) {
            Ok(events) => events.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        Box::pin(futures::stream::iter(items))
    }
}

fn snippet(v: Option<&Value>) -> String {
    match v {
        None => "nothing".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    }
}

/// The first place two JSON values differ: a path like
/// `request.messages[2].content` and both values, shortened.
pub fn first_difference(a: &Value, b: &Value, path: &str) -> Option<(String, String, String)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => first_difference(u, v, &p),
                    (u, v) => Some((p, snippet(u), snippet(v))),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(u), Some(v)) => {
                        if let Some(d) = first_difference(u, v, &p) {
                            return Some(d);
                        }
                    }
                    (u, v) => return Some((p, snippet(u), snippet(v))),
                }
            }
            None
        }
        _ if a == b => None,
        _ => Some((path.to_owned(), snippet(Some(a)), snippet(Some(b)))),
    }
}
