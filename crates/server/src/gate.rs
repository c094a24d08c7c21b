//! Bounded consumption: what a turn must pass before it runs.
//!
//! * **Requests per minute, per key** (`governor`'s keyed GCRA limiter):
//!   over the quota, a 429 with `Retry-After` set to when the next request
//!   is allowed.
//! * **Concurrent turns, per key**: a key may have this many turns running
//!   or waiting at once; one more is a 429.
//! * **Turns per model**, for models that a language model drives (the
//!   rules take milliseconds): running or waiting for the model. A full
//!   queue is a 503 with `Retry-After` from the model's recent turn time,
//!   so nobody queues behind a minute of other people's turns.
//!
//! A turn holds its [`Permits`] until it ends, is cancelled (its client
//! went away) or runs out of time; dropping them frees the places.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{ApiError, Limits};

/// The places a running turn holds.
#[derive(Debug)]
pub(crate) struct Permits {
    _key: OwnedSemaphorePermit,
    _model: Option<OwnedSemaphorePermit>,
}

/// The server's limits on turns, and what they have counted.
pub(crate) struct Gate {
    rate: Option<DefaultKeyedRateLimiter<String>>,
    per_key: usize,
    keys: Mutex<HashMap<String, Arc<Semaphore>>>,
    models: BTreeMap<String, Arc<Semaphore>>,
    /// Each model's recent whole-turn time in seconds (a moving average).
    turn_s: Mutex<HashMap<String, f64>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("rate", &self.rate.is_some())
            .field("per_key", &self.per_key)
            .field("models", &self.models.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whole seconds for `Retry-After`, at least one.
fn seconds(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

impl Gate {
    /// Limits over `models`: each model's name, and whether its queue is
    /// bounded.
    pub(crate) fn new<'a>(
        limits: &Limits,
        models: impl IntoIterator<Item = (&'a String, bool)>,
    ) -> Self {
        let rate = NonZeroU32::new(limits.requests_per_minute)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        let per_model = limits.turns_per_model.max(1);
        Self {
            rate,
            per_key: limits.turns_per_key.max(1),
            keys: Mutex::default(),
            models: models
                .into_iter()
                .filter(|(_, bounded)| *bounded)
                .map(|(m, _)| (m.clone(), Arc::new(Semaphore::new(per_model))))
                .collect(),
            turn_s: Mutex::default(),
        }
    }

    /// Counts a request of `user`'s key against the per-minute quota.
    pub(crate) fn admit(&self, user: &str) -> Result<(), ApiError> {
        let Some(rate) = &self.rate else {
            return Ok(());
        };
        rate.check_key(&user.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                format!(
                    "this key sent more requests per minute than the server allows; retry in {} s",
                    seconds(wait)
                ),
            )
            .retry_after(seconds(wait))
        })
    }

    /// A place for one turn of `user` with `model`, or the 429 (the key
    /// has too many turns at once) or 503 (the model's queue is full) to
    /// answer instead.
    pub(crate) fn enter(&self, user: &str, model: &str) -> Result<Permits, ApiError> {
        let wait = self.retry_after(model);
        let key = Arc::clone(
            lock(&self.keys)
                .entry(user.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_key))),
        );
        let key = key.try_acquire_owned().map_err(|_| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_concurrent_turns",
                format!(
                    "this key already has {} turn(s) running; wait for an answer, or retry in {wait} s",
                    self.per_key
                ),
            )
            .retry_after(wait)
        })?;
        let model_permit = self
            .models
            .get(model)
            .map(|s| Arc::clone(s).try_acquire_owned());
        let model = match model_permit {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err(_)) => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "model_busy",
                    format!(
                        "model {model:?} has as many turns queued as the server allows; retry in {wait} s"
                    ),
                )
                .retry_after(wait));
            }
        };
        Ok(Permits {
            _key: key,
            _model: model,
        })
    }

    /// Records how long a whole turn of `model` took.
    pub(crate) fn took(&self, model: &str, d: Duration) {
        let mut m = lock(&self.turn_s);
        let s = m.entry(model.to_owned()).or_insert(d.as_secs_f64());
        *s = 0.8 * *s + 0.2 * d.as_secs_f64();
    }

    /// When a refused turn may come back: about one turn of `model`.
    fn retry_after(&self, model: &str) -> u64 {
        let s = lock(&self.turn_s).get(model).copied().unwrap_or(1.0);
        seconds(Duration::from_secs_f64(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rpm: u32, per_key: usize, per_model: usize) -> Limits {
        Limits {
            requests_per_minute: rpm,
            turns_per_key: per_key,
            turns_per_model: per_model,
            ..Limits::default()
        }
    }

    #[test]
    fn a_key_over_its_quota_is_told_when_to_come_back() {
        let m = "m".to_owned();
        let gate = Gate::new(&limits(2, 4, 4), [(&m, true)]);
        assert!(gate.admit("alice").is_ok());
        assert!(gate.admit("alice").is_ok());
        let e = gate.admit("alice").unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        // Two a minute: the next one is allowed in about 30 s.
        let after = e.retry_after.unwrap();
        assert!((20..=31).contains(&after), "{after}");
        // Another key has its own quota.
        assert!(gate.admit("bob").is_ok());
    }

    #[test]
    fn places_are_per_key_and_per_model_and_come_back_when_dropped() {
        let (m, rules) = ("m".to_owned(), "rules".to_owned());
        let gate = Gate::new(&limits(0, 1, 2), [(&m, true), (&rules, false)]);
        let a = gate.enter("alice", "m").unwrap();
        let e = gate.enter("alice", "m").unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_concurrent_turns")
        );
        let b = gate.enter("bob", "m").unwrap();
        let e = gate.enter("carol", "m").unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::SERVICE_UNAVAILABLE, "model_busy")
        );
        assert_eq!(e.retry_after, Some(1));
        // The rules' queue is not bounded.
        let _rules: Vec<Permits> = ["x", "y", "z"]
            .iter()
            .map(|u| gate.enter(u, "rules").unwrap())
            .collect();
        drop(a);
        let _c = gate.enter("carol", "m").unwrap();
        drop(b);
        // A slow model asks for a longer wait.
        gate.took("m", Duration::from_secs(12));
        let _d = gate.enter("dave", "m").unwrap();
        let e = gate.enter("erin", "m").unwrap_err();
        assert_eq!(e.retry_after, Some(12));
    }
}
