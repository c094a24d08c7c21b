//! Retries that do not run a turn twice: a chat request carrying an
//! `Idempotency-Key` header is answered once; the same key (for the same
//! user) again gets the stored answer, with `Idempotent-Replayed: true`,
//! and no new turn, so nothing is remembered twice. While the first is
//! still running, the same key is a 409. Streamed requests are not stored.
//! The last [`CAPACITY`] answers are kept, in memory.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::{ApiError, AppState};

/// Answers kept for replay.
pub(crate) const CAPACITY: usize = 1024;

/// The longest key taken.
const MAX_KEY: usize = 200;

type Key = (String, String);

enum Entry {
    Running,
    Done(Value),
}

#[derive(Default)]
pub(crate) struct Replays {
    inner: Mutex<(HashMap<Key, Entry>, VecDeque<Key>)>,
}

impl std::fmt::Debug for Replays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replays").finish_non_exhaustive()
    }
}

/// What a request with a key does: replay a stored answer, or run and
/// store its own (the [`Pending`] forgets the key if the turn never
/// finishes).
pub(crate) enum Begin {
    Replay(Value),
    Run(Pending),
}

/// A turn running under a key; dropped without [`Pending::done`], the key
/// is free again.
pub(crate) struct Pending {
    state: Arc<AppState>,
    key: Key,
    finished: bool,
}

impl Pending {
    pub(crate) fn done(mut self, answer: &Value) {
        self.finished = true;
        self.state.replays.finish(&self.key, Some(answer.clone()));
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.finished {
            self.state.replays.finish(&self.key, None);
        }
    }
}

/// The request's `Idempotency-Key`, if any.
pub(crate) fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= MAX_KEY => Ok(Some(k.trim().to_owned())),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters"),
        )),
    }
}

impl Replays {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<Key, Entry>, VecDeque<Key>)> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a request of `user` with idempotency key `key`.
    pub(crate) fn begin(state: &Arc<AppState>, user: &str, key: String) -> Result<Begin, ApiError> {
        let k = (user.to_owned(), key);
        let mut g = state.replays.lock();
        match g.0.get(&k) {
            Some(Entry::Done(v)) => return Ok(Begin::Replay(v.clone())),
            Some(Entry::Running) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_in_use",
                    "a request with this Idempotency-Key is still running; retry when it has answered",
                )
                .retry_after(1));
            }
            None => {}
        }
        g.0.insert(k.clone(), Entry::Running);
        g.1.push_back(k.clone());
        while g.1.len() > CAPACITY {
            if let Some(old) = g.1.pop_front() {
                g.0.remove(&old);
            }
        }
        Ok(Begin::Run(Pending {
            state: Arc::clone(state),
            key: k,
            finished: false,
        }))
    }

    fn finish(&self, key: &Key, answer: Option<Value>) {
        let mut g = self.lock();
        match answer {
            Some(v) => {
                if let Some(e) = g.0.get_mut(key) {
                    *e = Entry::Done(v);
                }
            }
            None => {
                g.0.remove(key);
                g.1.retain(|k| k != key);
            }
        }
    }
}
