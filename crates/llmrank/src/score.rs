//! Scoring candidates with a language model's next-token probabilities.

use std::sync::Arc;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use recagent_llm::{ChatModel, ChoiceRequest};

use crate::prompt::{self, Film};
use crate::{Error, Result};

/// The most candidates a listwise prompt labels: one letter each.
pub const MAX_CANDIDATES: usize = 26;

/// Candidate orders a listwise ranking combines unless told otherwise
/// (LLMRank's bootstrapping, the three).
pub const DEFAULT_SHUFFLES: usize = 3;

/// A language model reading the answer's first token over fixed choices.
#[derive(Debug, Clone)]
pub struct LlmScorer {
    model: Arc<dyn ChatModel>,
    shuffles: usize,
}

/// What a listwise ranking returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Listwise {
    /// Per candidate, in the order given: the mean over the shuffles of the
    /// log-probability of its letter among the letters shown. Higher is
    /// better; each shuffle's letters sum to probability one.
    pub scores: Vec<f32>,
    /// Per shuffle, the candidates in the order shown (indices into the
    /// candidates given): the first is labelled A.
    pub orders: Vec<Vec<usize>>,
    /// Prompt tokens over the shuffles, and how many came from the cache.
    pub prompt_tokens: u32,
    pub cached_prompt_tokens: u32,
}

impl LlmScorer {
    pub fn new(model: Arc<dyn ChatModel>) -> Self {
        Self {
            model,
            shuffles: DEFAULT_SHUFFLES,
        }
    }

    /// The same scorer combining `n` candidate orders (at least one).
    pub fn with_shuffles(mut self, n: usize) -> Self {
        self.shuffles = n.max(1);
        self
    }

    pub fn shuffles(&self) -> usize {
        self.shuffles
    }

    /// The model's name, for reports.
    pub fn name(&self) -> String {
        self.model.name()
    }

    /// Ranks `candidates` (each a [`crate::film_line`]) for a user who liked
    /// `history`: one forward pass per shuffle, the letters' probabilities
    /// renormalised among the letters shown, averaged in log space over the
    /// shuffles. `seed` fixes the shuffles.
    pub async fn listwise(
        &self,
        history: &[Film],
        candidates: &[String],
        seed: u64,
    ) -> Result<Listwise> {
        let n = candidates.len();
        if n > MAX_CANDIDATES {
            return Err(Error::TooManyCandidates {
                n,
                max: MAX_CANDIDATES,
            });
        }
        let letters: Vec<String> = ('A'..='Z').take(n).map(String::from).collect();
        let mut out = Listwise {
            scores: vec![0.0; n],
            orders: Vec::with_capacity(self.shuffles),
            prompt_tokens: 0,
            cached_prompt_tokens: 0,
        };
        if n == 0 {
            return Ok(out);
        }
        for s in 0..self.shuffles {
            let order = shuffled(n, seed, s as u64);
            let shown: Vec<&str> = order.iter().map(|&i| candidates[i].as_str()).collect();
            let answer = self
                .model
                .choice_logprobs(ChoiceRequest {
                    messages: prompt::listwise(history, &shown)?,
                    choices: letters.clone(),
                })
                .await?;
            if answer.logprobs.len() != n {
                return Err(Error::Choices {
                    want: n,
                    got: answer.logprobs.len(),
                });
            }
            let lp = renormalised(&answer.logprobs);
            for (pos, &cand) in order.iter().enumerate() {
                out.scores[cand] += lp[pos] / self.shuffles as f32;
            }
            out.orders.push(order);
            out.prompt_tokens += answer.prompt_tokens;
            out.cached_prompt_tokens += answer.cached_prompt_tokens;
        }
        Ok(out)
    }

    /// P(Yes) among Yes and No for "will I like X", per candidate in the
    /// order given, for a user who rated `history` (the talk's zero-shot
    /// prompt). One forward pass per candidate; the history's prefix is
    /// shared between them.
    pub async fn pointwise(&self, history: &[Film], candidates: &[String]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(candidates.len());
        for c in candidates {
            let answer = self
                .model
                .choice_logprobs(ChoiceRequest {
                    messages: prompt::pointwise(history, c)?,
                    choices: vec!["Yes".into(), "No".into()],
                })
                .await?;
            let [yes, no] = answer.logprobs[..] else {
                return Err(Error::Choices {
                    want: 2,
                    got: answer.logprobs.len(),
                });
            };
            out.push(1.0 / (1.0 + (no - yes).exp()));
        }
        Ok(out)
    }
}

/// Shuffle `s` of `0..n` for `seed`: the same for the same pair.
fn shuffled(n: usize, seed: u64, s: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ s.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    order.shuffle(&mut rng);
    order
}

/// Log-probabilities renormalised to sum to one among themselves.
fn renormalised(lp: &[f32]) -> Vec<f32> {
    let max = lp.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return vec![-(lp.len() as f32).ln(); lp.len()];
    }
    let lse = max + lp.iter().map(|&l| (l - max).exp()).sum::<f32>().ln();
    lp.iter().map(|&l| l - lse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_are_permutations_fixed_by_the_seed() {
        let a = shuffled(20, 7, 0);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        assert_eq!(a, shuffled(20, 7, 0));
        assert_ne!(a, shuffled(20, 7, 1));
        assert_ne!(a, shuffled(20, 8, 0));
    }

    #[test]
    fn renormalised_log_probabilities_sum_to_one() {
        let lp = renormalised(&[-3.0, -4.0, -9.0]);
        let total: f32 = lp.iter().map(|l| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-5, "{total}");
        assert!(lp[0] > lp[1] && lp[1] > lp[2]);
        // No letter the model could say: uniform, not NaN.
        let flat = renormalised(&[f32::NEG_INFINITY; 4]);
        assert!(flat.iter().all(|l| (l - 0.25f32.ln()).abs() < 1e-6));
    }
}
