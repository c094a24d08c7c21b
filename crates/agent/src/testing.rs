//! What the turn machine's and the controller's unit tests share: a
//! catalog that knows everything and a turn's setup around a draft plan.

use std::sync::Arc;

use recagent_llm::ChatOptions;

use crate::controller::{Mode, TurnSetup};
use crate::plan::PlanContext;
use crate::state::DialogueState;
use recagent_reading::Plan;
use recagent_reading::check::Known;
use recagent_reading::rules::Cues;

/// A catalog that knows every genre, title and person.
#[derive(Debug)]
pub struct KnowsAll;

impl Known for KnowsAll {
    fn genre(&self, _: &str) -> bool {
        true
    }
    fn title(&self, _: &str) -> bool {
        true
    }
    fn person(&self, _: &str) -> bool {
        true
    }
}

/// A turn in `mode` whose rules parse is `draft`, with placeholder
/// prompts, six model calls at most and the model writing the answer.
pub fn setup(mode: Mode, draft: Plan, state: DialogueState, cues: Cues) -> TurnSetup {
    TurnSetup {
        mode,
        user_text: String::new(),
        history: Vec::new(),
        draft,
        plan_context: PlanContext {
            last_shown: state
                .last_list
                .iter()
                .map(|i| format!("Film {}", i.0))
                .collect(),
            state,
            cues,
        },
        known: Arc::new(KnowsAll),
        plan_system: "plan system".into(),
        step_system: "step system".into(),
        plan_request: "plan request".into(),
        step_request: "step request".into(),
        tools: Vec::new(),
        max_steps: 6,
        model_answer: true,
        options: ChatOptions::default(),
        social_reply: None,
        notes: Vec::new(),
        unknown_film: None,
        describe_system: "describe system".into(),
    }
}
