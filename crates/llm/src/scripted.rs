//! A model that answers from a script: for tests, demos and evaluation
//! baselines that must not depend on a real LLM.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::{ChatEvent, ChatModel, ChatRequest, ChatResponse, Error, EventStream};

/// The events a [`ChatResponse`] stands for, in stream order.
pub fn events_of(r: &ChatResponse) -> Vec<ChatEvent> {
    let mut out = Vec::new();
    if !r.text.is_empty() {
        out.push(ChatEvent::TextDelta {
            text: r.text.clone(),
        });
    }
    for c in &r.tool_calls {
        out.push(ChatEvent::ToolCall { call: c.clone() });
    }
    out.push(ChatEvent::Usage { usage: r.usage });
    out.push(ChatEvent::Timings { timings: r.timings });
    out.push(ChatEvent::Done {
        finish_reason: r.finish_reason.clone(),
    });
    out
}

/// Plays scripted answers in order, whatever it is asked; the requests are
/// kept for inspection.
#[derive(Debug, Default)]
pub struct ScriptedModel {
    script: Mutex<VecDeque<ChatResponse>>,
    seen: Mutex<Vec<ChatRequest>>,
}

impl ScriptedModel {
    pub fn new(script: impl IntoIterator<Item = ChatResponse>) -> Self {
        Self {
            script: Mutex::new(script.into_iter().collect()),
            seen: Mutex::default(),
        }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl ChatModel for ScriptedModel {
    fn name(&self) -> String {
        "scripted".into()
    }

    fn chat(&self, request: ChatRequest) -> EventStream {
        if let Ok(mut s) = self.seen.lock() {
            s.push(request);
        }
        let next = self.script.lock().ok().and_then(|mut s| s.pop_front());
        let items: Vec<crate::Result<ChatEvent>> = match next {
            Some(r) => events_of(&r).into_iter().map(Ok).collect(),
            None => vec![Err(Error::Config(
                "the scripted model has no answers left".into(),
            ))],
        };
        Box::pin(futures::stream::iter(items))
    }
}
