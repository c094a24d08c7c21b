use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use recagent_llm::scripted::ScriptedModel;
use recagent_llm::{ChatModel, ChoiceRequest, ChoiceScores, EventStream, Message};
use recagent_llmrank::{Film, LlmScorer};

/// Answers choice requests from the prompt it is shown: a listwise prompt's
/// letter gets the log-probability of the film under it (its `taste`) plus
/// the letter's `bias`; a pointwise prompt's "Yes" gets the film's taste.
#[derive(Debug, Default)]
struct Reader {
    taste: HashMap<String, f32>,
    bias: HashMap<char, f32>,
    seen: std::sync::Mutex<Vec<ChoiceRequest>>,
}

impl Reader {
    fn taste(films: &[(&str, f32)]) -> Self {
        Self {
            taste: films.iter().map(|(t, s)| ((*t).to_string(), *s)).collect(),
            ..Self::default()
        }
    }

    fn answer(&self, req: &ChoiceRequest) -> Vec<f32> {
        let prompt = &req.messages.last().expect("a user message").content;
        if req.choices == ["Yes", "No"] {
            let film = prompt
                .split("Will I like ")
                .nth(1)
                .and_then(|s| s.split('?').next())
                .expect("a pointwise question");
            return vec![self.taste[film], 0.0];
        }
        req.choices
            .iter()
            .map(|letter| {
                let tag = format!("\n{letter}. ");
                let film = prompt
                    .split(&tag)
                    .nth(1)
                    .and_then(|s| s.lines().next())
                    .expect("each letter labels a film");
                let l = letter.chars().next().unwrap();
                self.taste[film] + self.bias.get(&l).copied().unwrap_or(0.0)
            })
            .collect()
    }
}

impl ChatModel for Reader {
    fn name(&self) -> String {
        "reader".into()
    }
    fn chat(&self, _: recagent_llm::ChatRequest) -> EventStream {
        unreachable!("the scorer only asks for choices")
    }
    fn choice_logprobs(
        &self,
        request: ChoiceRequest,
    ) -> BoxFuture<'_, recagent_llm::Result<ChoiceScores>> {
        let logprobs = self.answer(&request);
        self.seen.lock().unwrap().push(request);
        Box::pin(async move {
            Ok(ChoiceScores {
                logprobs,
                prompt_tokens: 100,
                cached_prompt_tokens: 60,
            })
        })
    }
}

fn films(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("Film {i} (199{}), Drama", i % 10))
        .collect()
}

fn history() -> Vec<Film> {
    vec![
        Film {
            line: "Heat (1995), Action, Crime".into(),
            stars: Some(5),
        },
        Film {
            line: "Fargo (1996), Crime, Drama".into(),
            stars: Some(2),
        },
    ]
}

fn run<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn the_listwise_order_follows_the_letters_logits_through_every_shuffle() {
    let cands = films(20);
    // Taste: film i is worth -i, so film 0 is best whatever letter it gets.
    let taste: Vec<(&str, f32)> = cands
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), -(i as f32)))
        .collect();
    let model = Arc::new(Reader::taste(&taste));
    let scorer = LlmScorer::new(model.clone());
    let out = run(scorer.listwise(&history(), &cands, 7)).unwrap();
    assert_eq!(out.orders.len(), 3, "three shuffles by default");
    assert!(
        out.orders.iter().any(|o| o[0] != 0),
        "the candidates were shuffled"
    );
    for w in out.scores.windows(2) {
        assert!(w[0] > w[1], "scores follow the taste: {:?}", out.scores);
    }
    assert_eq!(
        model.seen.lock().unwrap().len(),
        3,
        "one forward pass per shuffle"
    );
    assert_eq!((out.prompt_tokens, out.cached_prompt_tokens), (300, 180));
}

#[test]
fn a_model_that_only_says_a_ranks_first_what_each_shuffle_showed_first() {
    let cands = films(5);
    let mut reader = Reader::taste(&cands.iter().map(|f| (f.as_str(), 0.0)).collect::<Vec<_>>());
    reader.bias.insert('A', 5.0);
    let scorer = LlmScorer::new(Arc::new(reader)).with_shuffles(1);
    let out = run(scorer.listwise(&history(), &cands, 3)).unwrap();
    let first = out.orders[0][0];
    let best = (0..5)
        .max_by(|&a, &b| out.scores[a].total_cmp(&out.scores[b]))
        .unwrap();
    assert_eq!(
        best, first,
        "the letter A maps back to the film shown under it"
    );
    // With more shuffles the bias spreads over the films that were shown
    // first, so no single film keeps all of it.
    let many = LlmScorer::new(Arc::new({
        let mut r = Reader::taste(&cands.iter().map(|f| (f.as_str(), 0.0)).collect::<Vec<_>>());
        r.bias.insert('A', 5.0);
        r
    }))
    .with_shuffles(10);
    let out = run(many.listwise(&history(), &cands, 3)).unwrap();
    let top = out.scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let one_shuffle_top = 5.0 - (5.0f32.exp() + 4.0).ln();
    assert!(top < one_shuffle_top - 0.5, "{top} vs {one_shuffle_top}");
}

#[test]
fn pointwise_gives_p_yes_per_candidate_with_the_stars_in_the_prompt() {
    let cands = films(3);
    let model = Arc::new(Reader::taste(&[
        (cands[0].as_str(), 2.0),
        (cands[1].as_str(), -2.0),
        (cands[2].as_str(), 0.0),
    ]));
    let out = run(LlmScorer::new(model.clone()).pointwise(&history(), &cands)).unwrap();
    assert!((out[0] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
    assert!(out[0] > out[2] && out[2] > out[1]);
    assert!((out[2] - 0.5).abs() < 1e-6);
    let seen = model.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(
        seen[0].messages[1]
            .content
            .contains("Heat (1995), Action, Crime, 5 stars")
    );
}

#[test]
fn the_prompts_as_the_model_reads_them() {
    let cands = films(3);
    let model = Arc::new(Reader::taste(
        &cands.iter().map(|f| (f.as_str(), 0.0)).collect::<Vec<_>>(),
    ));
    let scorer = LlmScorer::new(model.clone()).with_shuffles(1);
    run(scorer.listwise(&history(), &cands, 1)).unwrap();
    run(scorer.pointwise(&history(), &cands[..1])).unwrap();
    let seen = model.seen.lock().unwrap();
    let show = |r: &ChoiceRequest| {
        let msgs: Vec<String> = r
            .messages
            .iter()
            .map(|m: &Message| format!("[{:?}]\n{}", m.role, m.content))
            .collect();
        format!("{}\n[choices] {}", msgs.join("\n"), r.choices.join(" "))
    };
    insta::assert_snapshot!("listwise_prompt", show(&seen[0]));
    insta::assert_snapshot!("pointwise_prompt", show(&seen[1]));
}

#[test]
fn more_candidates_than_letters_and_a_model_without_logits_say_what_to_do() {
    let model = Arc::new(Reader::default());
    let e = run(LlmScorer::new(model).listwise(&history(), &films(27), 1)).unwrap_err();
    assert!(e.to_string().contains("at most 26"), "{e}");
    let scripted = Arc::new(ScriptedModel::new([]));
    let e = run(LlmScorer::new(scripted).pointwise(&history(), &films(1))).unwrap_err();
    assert!(
        e.to_string().contains("gives no token probabilities"),
        "{e}"
    );
    assert!(e.to_string().contains("local model"), "{e}");
}
