//! The LLM scorer against fixture models that read their prompt: the
//! verbalizer's order must follow the letters' logits through any shuffle.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod score;
