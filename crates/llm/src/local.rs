//! A GGUF chat model run in-process through llama.cpp (`llama-cpp-2`).
//!
//! * The prompt is the model's own chat template (`tokenizer.chat_template`
//!   in the GGUF) rendered with minijinja; minijinja-contrib's pycompat
//!   supplies the Python string methods templates use.
//! * Tool calls are decoded under a grammar built from the tools' JSON
//!   schemas by llama.cpp's `json_schema_to_grammar`: the tool name from an
//!   enum, then arguments that match that tool's schema, with arrays and
//!   strings bounded. With [`ToolChoice::Required`] the whole answer is a
//!   `<tool_call>` block; with [`ToolChoice::Auto`] the grammar starts when
//!   the model writes `<tool_call>` (a lazy grammar).
//! * The model and its context live on one worker thread, off the async
//!   runtime. The tokens of the last prompt stay in the KV cache, and the
//!   next call decodes only what differs after their common prefix, so the
//!   static system prompt and tool schemas are evaluated once.
//! * With [`LocalConfig::state_dir`] set, the KV state of that static prefix
//!   (the leading system messages and the tools) is saved to a file after
//!   the first prefill and loaded by the next process, so a fresh process
//!   (every `ask`, the first chat turn) skips the cold prefill. The file is
//!   keyed by the model's hash and the prefix tokens' digest: a different
//!   model or prompt finds no file and writes its own.
//! * Dropping the event stream cancels generation.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::vocab::LlamaVocab;
use serde_json::{Value, json};

use crate::toolcall::parse_tool_calls;
use crate::{
    ChatEvent, ChatModel, ChatOptions, ChatRequest, ChatResponse, ChoiceRequest, ChoiceScores,
    Error, EventStream, ManyStream, Message, Result, Role, Timings, ToolChoice, ToolSpec, Usage,
};

/// How to run the model.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    pub path: PathBuf,
    /// CPU threads for prompt and generation.
    pub threads: i32,
    /// Context length in tokens.
    pub context: u32,
    /// Prompt tokens decoded per batch.
    pub batch: u32,
    /// Keep the KV cache of the last prompt for the next call.
    pub prefix_cache: bool,
    /// Where the KV state of the static prompt prefix is kept across
    /// processes (`None`: not kept). Only used with `prefix_cache`.
    pub state_dir: Option<PathBuf>,
    /// Calls decoded together (1 to [`MAX_SLOTS`]): each has a sequence of
    /// its own in one KV cache of `context` tokens per slot. More calls
    /// wait for a free slot.
    pub slots: usize,
}

/// The most slots a model may have.
pub const MAX_SLOTS: usize = 16;

impl LocalConfig {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get() as i32),
            context: 4096,
            batch: 512,
            prefix_cache: true,
            state_dir: None,
            slots: 1,
        }
    }

    /// The same model decoding up to `slots` calls together.
    pub fn with_slots(mut self, slots: usize) -> Self {
        self.slots = slots.clamp(1, MAX_SLOTS);
        self
    }

    /// The same model with the prefix's KV state kept in `dir`.
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }
}

pub use crate::DEFAULT_MAX_ITEMS;
/// Longest string a tool argument may hold when its schema sets no bound.
pub const DEFAULT_MAX_LENGTH: u64 = 200;

fn bounded(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => {
            let mut m: std::collections::BTreeMap<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), bounded(v))).collect();
            match m.get("type").and_then(Value::as_str) {
                Some("array") if !m.contains_key("maxItems") => {
                    m.insert("maxItems".into(), json!(DEFAULT_MAX_ITEMS));
                }
                Some("string") if !m.contains_key("maxLength") && !m.contains_key("enum") => {
                    m.insert("maxLength".into(), json!(DEFAULT_MAX_LENGTH));
                }
                _ => {}
            }
            // Sorted keys whichever way serde_json keeps maps, so the grammar
            // does not depend on its features.
            Value::Object(m.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(bounded).collect()),
        other => other.clone(),
    }
}

/// The JSON schema of one tool call: `{"name": <one of the tools>,
/// "arguments": <that tool's schema>}`, as text, with `name` first so that
/// the model picks the tool before writing its arguments (a JSON map would
/// sort the keys).
pub fn call_schema(tools: &[ToolSpec]) -> String {
    let one = |t: &ToolSpec| {
        format!(
            r#"{{"type":"object","properties":{{"name":{{"const":{}}},"arguments":{}}},"required":["name","arguments"],"additionalProperties":false}}"#,
            Value::String(t.name.clone()),
            bounded(&t.parameters)
        )
    };
    if tools.len() == 1 {
        one(&tools[0])
    } else {
        format!(
            r#"{{"oneOf":[{}]}}"#,
            tools.iter().map(one).collect::<Vec<_>>().join(",")
        )
    }
}

/// A GBNF grammar whose root is one `<tool_call>` block (Qwen/Hermes form)
/// holding a call that satisfies [`call_schema`].
pub fn tool_grammar(tools: &[ToolSpec]) -> Result<String> {
    let schema = call_schema(tools);
    let g = llama_cpp_2::json_schema_to_grammar(&schema)
        .map_err(|e| Error::Config(format!("cannot build a grammar from the tool schemas: {e}")))?;
    let mut out = String::from("root ::= \"<tool_call>\\n\" call \"\\n</tool_call>\"\n");
    for line in g.lines() {
        match line.strip_prefix("root ::=") {
            Some(rest) => {
                out.push_str("call ::=");
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    Ok(out)
}

/// The messages as the chat template expects them (OpenAI's shape).
fn template_messages(messages: &[Message]) -> Vec<Value> {
    messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::Tool => "tool",
            };
            let mut v = json!({"role": role, "content": m.content});
            if !m.tool_calls.is_empty() {
                v["tool_calls"] = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "type": "function",
                           "function": {"name": c.name, "arguments": c.arguments}})
                    })
                    .collect();
            }
            if let Some(id) = &m.tool_call_id {
                v["tool_call_id"] = json!(id);
            }
            v
        })
        .collect()
}

/// Renders a chat template (Jinja, as in the GGUF) with minijinja.
pub fn render_template(template: &str, request: &ChatRequest) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function(
        "raise_exception",
        |msg: String| -> std::result::Result<String, minijinja::Error> {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                msg,
            ))
        },
    );
    env.add_template("chat", template)
        .map_err(|e| Error::Config(format!("the model's chat template does not parse: {e}")))?;
    // The tools are part of the conversation even when this call may not
    // use them (`ToolChoice::None` only stops decoding a call): a final
    // answer after tool calls then shares the whole prompt prefix, tools
    // included, with the calls before it, and the prefix cache serves it.
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|t| {
            json!({"type": "function", "function": {
            "name": t.name, "description": t.description, "parameters": t.parameters}})
        })
        .collect();
    let ctx = minijinja::context! {
        messages => template_messages(&request.messages),
        tools => if tools.is_empty() { None } else { Some(tools) },
        add_generation_prompt => true,
        bos_token => "",
        eos_token => "",
    };
    env.get_template("chat")
        .and_then(|t| t.render(ctx))
        .map_err(|e| Error::Config(format!("rendering the chat template: {e}")))
}

struct Job {
    request: ChatRequest,
    events: tokio::sync::mpsc::UnboundedSender<Result<ChatEvent>>,
    cancel: Arc<AtomicBool>,
}

/// Many independent calls decoded together (see [`run_many`]).
struct ManyJob {
    requests: Vec<ChatRequest>,
    parallel: usize,
    results: tokio::sync::mpsc::UnboundedSender<(usize, Result<ChatResponse>)>,
    cancel: Arc<AtomicBool>,
}

/// One choice-scoring call (see [`ChatModel::choice_logprobs`]).
struct ScoreJob {
    request: ChoiceRequest,
    reply: tokio::sync::oneshot::Sender<Result<ChoiceScores>>,
}

enum Work {
    Chat(Job),
    Many(ManyJob),
    Score(ScoreJob),
}

static BACKEND: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();

fn backend() -> Result<&'static LlamaBackend> {
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(
                llama_cpp_2::LogOptions::default().with_logs_enabled(false),
            );
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Config(format!("cannot start llama.cpp: {e}")))
}

/// A local GGUF model on a worker thread.
#[derive(Debug)]
pub struct LocalModel {
    name: String,
    jobs: Mutex<mpsc::Sender<Work>>,
}

impl LocalModel {
    /// Loads the model (blocking; seconds for a small model).
    pub fn load(config: LocalConfig) -> Result<Self> {
        if !config.path.is_file() {
            return Err(Error::Config(format!(
                "no model at {}; run `recagent model pull qwen2.5-0.5b` first",
                config.path.display()
            )));
        }
        let name = format!(
            "local:{}",
            config
                .path
                .parent()
                .and_then(Path::file_name)
                .map_or_else(|| "gguf".into(), |n| n.to_string_lossy().into_owned())
        );
        let (tx, rx) = mpsc::channel::<Work>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        std::thread::Builder::new()
            .name("recagent-llama".into())
            .spawn(move || worker(config, rx, ready_tx))
            .map_err(|e| Error::Config(format!("cannot start the model thread: {e}")))?;
        ready_rx
            .recv()
            .map_err(|_| Error::Config("the model thread stopped while loading".into()))??;
        Ok(Self {
            name,
            jobs: Mutex::new(tx),
        })
    }
}

/// Sets the cancel flag when the stream is dropped.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl ChatModel for LocalModel {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn chat(&self, request: ChatRequest) -> EventStream {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let sent = self.jobs.lock().map_err(|_| ()).and_then(|j| {
            j.send(Work::Chat(Job {
                request,
                events: tx,
                cancel: cancel.clone(),
            }))
            .map_err(|_| ())
        });
        Box::pin(async_stream::try_stream! {
            let _guard = CancelOnDrop(cancel);
            if sent.is_err() {
                Err(Error::Config("the model thread has stopped".into()))?;
            }
            while let Some(e) = rx.recv().await {
                yield e?;
            }
        })
    }

    fn complete_many(&self, requests: Vec<ChatRequest>, parallel: usize) -> ManyStream<'_> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let n = requests.len();
        let sent = self.jobs.lock().map_err(|_| ()).and_then(|j| {
            j.send(Work::Many(ManyJob {
                requests,
                parallel,
                results: tx,
                cancel: cancel.clone(),
            }))
            .map_err(|_| ())
        });
        Box::pin(async_stream::stream! {
            let _guard = CancelOnDrop(cancel);
            if sent.is_err() {
                for i in 0..n {
                    yield (i, Err(Error::Config("the model thread has stopped".into())));
                }
                return;
            }
            while let Some(r) = rx.recv().await {
                yield r;
            }
        })
    }

    fn choice_logprobs(
        &self,
        request: ChoiceRequest,
    ) -> futures::future::BoxFuture<'_, Result<ChoiceScores>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.jobs.lock().map_err(|_| ()).and_then(|j| {
            j.send(Work::Score(ScoreJob { request, reply: tx }))
                .map_err(|_| ())
        });
        Box::pin(async move {
            let stopped = || Error::Config("the model thread has stopped".into());
            sent.map_err(|()| stopped())?;
            rx.await.map_err(|_| stopped())?
        })
    }
}

fn cfg_err(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("llama.cpp: {e}"))
}

fn worker(config: LocalConfig, jobs: mpsc::Receiver<Work>, ready: mpsc::Sender<Result<()>>) {
    let setup = (|| -> Result<(LlamaModel, String)> {
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, &config.path, &LlamaModelParams::default())
            .map_err(|e| Error::Config(format!("cannot load {}: {e}", config.path.display())))?;
        let template = model.meta_val_str("tokenizer.chat_template").map_err(|e| {
            Error::Config(format!(
                "{} has no chat template ({e}); use a chat model",
                config.path.display()
            ))
        })?;
        Ok((model, template))
    })();
    let (model, template) = match setup {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let Ok(backend) = backend() else { return };
    let slots = config.slots.clamp(1, MAX_SLOTS);
    // One unified KV cache for all the slots: a prefix copied from one
    // sequence to another shares its cells instead of holding a copy.
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(config.context * slots as u32))
        .with_n_batch(config.batch)
        .with_n_seq_max(slots as u32)
        .with_kv_unified(true)
        .with_n_threads(config.threads)
        .with_n_threads_batch(config.threads);
    let mut ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(cfg_err(e)));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let store = config
        .state_dir
        .as_ref()
        .filter(|_| config.prefix_cache)
        .map(|dir| PrefixStore::new(dir, &config.path));
    let mut chats = Chats::new(slots, &config);
    let mut many: std::collections::VecDeque<ManyJob> = std::collections::VecDeque::new();
    let mut scores: std::collections::VecDeque<ScoreJob> = std::collections::VecDeque::new();
    let mut scorer: Option<Scorer<'_>> = None;
    let mut open = true;
    loop {
        // Wait for work when there is none; otherwise take what has come
        // without waiting, so that running calls keep decoding.
        if chats.idle() && many.is_empty() && scores.is_empty() {
            if !open {
                return;
            }
            match jobs.recv() {
                Ok(Work::Chat(job)) => chats.pending.push_back(job),
                Ok(Work::Many(job)) => many.push_back(job),
                Ok(Work::Score(job)) => scores.push_back(job),
                Err(_) => return,
            }
        }
        loop {
            match jobs.try_recv() {
                Ok(Work::Chat(job)) => chats.pending.push_back(job),
                Ok(Work::Many(job)) => many.push_back(job),
                Ok(Work::Score(job)) => scores.push_back(job),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        // Choice scoring has a context of its own, kept with its last
        // prompt so that calls sharing a prefix decode only what differs;
        // like a batch, it runs between chat calls.
        if chats.running() == 0
            && let Some(job) = scores.pop_front()
        {
            let answer = match &mut scorer {
                Some(s) => Ok(s),
                None => Scorer::new(&model, backend, &config).map(|s| scorer.insert(s)),
            }
            .and_then(|s| s.score(&model, &template, &config, &job.request));
            let _ = job.reply.send(answer);
            continue;
        }
        // A batch of independent calls gets a context of its own; it runs
        // between chat calls, not during them.
        if chats.running() == 0
            && let Some(job) = many.pop_front()
        {
            run_many(&model, backend, &template, &config, job);
            continue;
        }
        let tools = Tools {
            model: &model,
            template: &template,
            config: &config,
            store: store.as_ref(),
        };
        chats.admit(&tools, &mut ctx);
        chats.step(&tools, &mut ctx);
    }
}

/// The context that reads choice probabilities, with the tokens of its
/// last prompt in its KV cache.
struct Scorer<'m> {
    ctx: llama_cpp_2::context::LlamaContext<'m>,
    cached: Vec<LlamaToken>,
}

impl<'m> Scorer<'m> {
    fn new(model: &'m LlamaModel, backend: &LlamaBackend, config: &LocalConfig) -> Result<Self> {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(config.context))
            .with_n_batch(config.batch)
            .with_n_threads(config.threads)
            .with_n_threads_batch(config.threads);
        Ok(Self {
            ctx: model.new_context(backend, params).map_err(cfg_err)?,
            cached: Vec::new(),
        })
    }

    /// One forward pass over the prompt (less the prefix it shares with
    /// the last one), then a log-softmax of the last position's logits
    /// read at each choice's first token.
    fn score(
        &mut self,
        model: &LlamaModel,
        template: &str,
        config: &LocalConfig,
        req: &ChoiceRequest,
    ) -> Result<ChoiceScores> {
        let ids = choice_tokens(&model.vocab(), &req.choices)?;
        let chat = ChatRequest {
            messages: req.messages.clone(),
            tools: Vec::new(),
            options: ChatOptions {
                max_tokens: 1,
                ..ChatOptions::default()
            },
        };
        let tokens = prompt_tokens(model, config.context as usize, template, &chat)?;
        let mut batch = LlamaBatch::new(config.batch.max(1) as usize, 1);
        let never = AtomicBool::new(false);
        let cached = match prefill(
            &mut self.ctx,
            0,
            &mut self.cached,
            &tokens,
            config,
            &mut batch,
            &never,
        ) {
            Ok(c) => c.unwrap_or(0),
            Err(e) => {
                // What the cache holds is no longer known: start afresh.
                self.cached.clear();
                let _ = self.ctx.clear_kv_cache_seq(Some(0), None, None);
                return Err(e);
            }
        };
        let logits = self.ctx.get_logits_ith(batch.n_tokens() - 1);
        Ok(ChoiceScores {
            logprobs: log_softmax_at(logits, &ids),
            prompt_tokens: tokens.len() as u32,
            cached_prompt_tokens: cached as u32,
        })
    }
}

/// Each choice's first token; an error when one is empty or two share it.
fn choice_tokens(vocab: &LlamaVocab<'_>, choices: &[String]) -> Result<Vec<LlamaToken>> {
    let mut ids: Vec<LlamaToken> = Vec::with_capacity(choices.len());
    for (i, c) in choices.iter().enumerate() {
        let Some(&first) = vocab.tokenize(c.as_bytes(), false, false).first() else {
            return Err(Error::Config(format!(
                "choice {i} is empty; give each choice some text"
            )));
        };
        if let Some(j) = ids.iter().position(|t| *t == first) {
            return Err(Error::Config(format!(
                "choices {:?} and {c:?} start with the same token, so one forward pass cannot tell them apart; give choices that differ in their first token",
                choices[j]
            )));
        }
        ids.push(first);
    }
    Ok(ids)
}

/// `log softmax(logits)[t]` for each token `t`.
fn log_softmax_at(logits: &[f32], tokens: &[LlamaToken]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    let lse = max + sum.ln() as f32;
    tokens
        .iter()
        .map(|t| {
            logits
                .get(t.0 as usize)
                .map_or(f32::NEG_INFINITY, |&l| l - lse)
        })
        .collect()
}

/// The KV state of static prompt prefixes, one file per model and prefix.
#[derive(Debug, Clone)]
struct PrefixStore {
    dir: PathBuf,
    /// The model's pinned SHA-256 (from its pull), or its size and mtime.
    model_key: String,
}

/// Prefixes shorter than this are cheaper to decode than to load.
const MIN_SAVED_PREFIX: usize = 32;

impl PrefixStore {
    fn new(dir: &Path, model: &Path) -> Self {
        let pinned = std::fs::read_to_string(model.with_file_name("sha256"))
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        let model_key = pinned.unwrap_or_else(|| {
            let meta = std::fs::metadata(model).ok();
            let len = meta.as_ref().map_or(0, std::fs::Metadata::len);
            let mtime = meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            format!("{len:x}-{mtime:x}")
        });
        Self {
            dir: dir.to_path_buf(),
            model_key,
        }
    }

    /// The file for a prefix: the model's key and the tokens' digest.
    fn path(&self, prefix: &[LlamaToken]) -> PathBuf {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for t in prefix {
            h.update(t.0.to_le_bytes());
        }
        let digest = h.finalize();
        let digest: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let model: String = self.model_key.chars().take(16).collect();
        self.dir.join(format!("{model}-{digest}.kv"))
    }

    /// Fills `cached` with the request's static prefix: loaded from its
    /// file when there is one, else decoded and saved. Returns how many
    /// tokens were decoded now (0 when loaded), which are not cached ones.
    #[allow(clippy::too_many_arguments)]
    fn restore_or_save(
        &self,
        model: &LlamaModel,
        ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
        seq: i32,
        cached: &mut Vec<LlamaToken>,
        template: &str,
        config: &LocalConfig,
        req: &ChatRequest,
    ) -> Result<usize> {
        let Some(prefix) = static_prefix(model, template, req)? else {
            return Ok(0);
        };
        if prefix.len() < MIN_SAVED_PREFIX || prefix.len() >= config.context as usize {
            return Ok(0);
        }
        let path = self.path(&prefix);
        if path.is_file() {
            match ctx.state_seq_load_file(&path, seq, prefix.len()) {
                Ok((tokens, _)) if tokens == prefix => {
                    *cached = tokens;
                    return Ok(0);
                }
                // A file from another build of llama.cpp, or damaged: it is
                // replaced below.
                _ => {
                    ctx.clear_kv_cache_seq(Some(seq as u32), None, None)
                        .map_err(cfg_err)?;
                }
            }
        }
        let mut batch = LlamaBatch::new(config.batch.max(1) as usize, 1);
        let never = AtomicBool::new(false);
        prefill(ctx, seq, cached, &prefix, config, &mut batch, &never)?;
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::Config(format!("cannot create {}: {e}", self.dir.display())))?;
        // Write, then rename: a reader never sees half a file.
        let tmp = path.with_extension(format!("kv.{}.tmp", std::process::id()));
        ctx.state_seq_save_file(&tmp, seq, cached)
            .map_err(|e| Error::Config(format!("saving {}: {e}", tmp.display())))?;
        recagent_core::fsx::persist(&tmp, &path)
            .map_err(|e| Error::Config(format!("saving {}: {e}", path.display())))?;
        Ok(cached.len())
    }
}

/// The tokens of the request's static part: its leading system messages
/// and its tools, as the full prompt starts with them. `None` without a
/// system message.
fn static_prefix(
    model: &LlamaModel,
    template: &str,
    req: &ChatRequest,
) -> Result<Option<Vec<LlamaToken>>> {
    let lead = req
        .messages
        .iter()
        .take_while(|m| m.role == Role::System)
        .count();
    if lead == 0 {
        return Ok(None);
    }
    let head = ChatRequest {
        messages: req.messages[..lead].to_vec(),
        tools: req.tools.clone(),
        options: req.options.clone(),
    };
    let vocab = model.vocab();
    let full = vocab.tokenize(
        render_template(template, req)?.as_bytes(),
        vocab.should_add_bos(),
        true,
    );
    let head = vocab.tokenize(
        render_template(template, &head)?.as_bytes(),
        vocab.should_add_bos(),
        true,
    );
    // What the two renderings share: the generation prompt after the head
    // is not part of the full prompt.
    let n = common_prefix(&head, &full);
    Ok(Some(head[..n].to_vec()))
}

/// Whether the request's tools are offered to the model.
fn tools_on(req: &ChatRequest) -> bool {
    !req.tools.is_empty() && req.options.tool_choice != ToolChoice::None
}

/// The request's prompt as tokens, checked to leave room for the answer in
/// a context of `n_ctx` tokens.
fn prompt_tokens(
    model: &LlamaModel,
    n_ctx: usize,
    template: &str,
    req: &ChatRequest,
) -> Result<Vec<LlamaToken>> {
    let prompt = render_template(template, req)?;
    let vocab = model.vocab();
    let tokens = vocab.tokenize(prompt.as_bytes(), vocab.should_add_bos(), true);
    if tokens.len() + req.options.max_tokens as usize > n_ctx {
        return Err(Error::Config(format!(
            "the prompt is {} tokens and up to {} more may be generated, past the context of {n_ctx}; raise the context length or shorten the conversation",
            tokens.len(),
            req.options.max_tokens
        )));
    }
    Ok(tokens)
}

/// Decodes the prompt into the KV cache, skipping the prefix it shares with
/// `cached`, and leaves the last prompt token's logits in `batch`. Returns
/// how many prompt tokens came from the cache, or `None` when cancelled.
fn prefill(
    ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
    seq: i32,
    cached: &mut Vec<LlamaToken>,
    tokens: &[LlamaToken],
    config: &LocalConfig,
    batch: &mut LlamaBatch<'_>,
    cancel: &AtomicBool,
) -> Result<Option<usize>> {
    // Reuse the cached prefix; at least the last token is decoded again so
    // that there are logits to sample from.
    let mut keep = if config.prefix_cache {
        cached
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count()
    } else {
        0
    };
    keep = keep.min(tokens.len().saturating_sub(1));
    ctx.clear_kv_cache_seq(Some(seq as u32), Some(keep as u32), None)
        .map_err(cfg_err)?;
    cached.truncate(keep);
    let batch_size = config.batch.max(1) as usize;
    for chunk_start in (keep..tokens.len()).step_by(batch_size) {
        batch.clear();
        let end = (chunk_start + batch_size).min(tokens.len());
        for (i, &t) in tokens[chunk_start..end].iter().enumerate() {
            let pos = chunk_start + i;
            batch
                .add(t, pos as i32, &[seq], pos + 1 == tokens.len())
                .map_err(cfg_err)?;
        }
        ctx.decode(batch).map_err(cfg_err)?;
        cached.extend_from_slice(&tokens[chunk_start..end]);
        if cancel.load(Ordering::SeqCst) {
            return Ok(None);
        }
    }
    Ok(Some(keep))
}

/// What the scheduler's calls share: the model, its template and config,
/// and the saved prefixes.
struct Tools<'a> {
    model: &'a LlamaModel,
    template: &'a str,
    config: &'a LocalConfig,
    store: Option<&'a PrefixStore>,
}

/// A call being decoded in a slot.
struct Running {
    job: Job,
    /// The prompt.
    tokens: Vec<LlamaToken>,
    /// Prompt tokens that came from the slot's cache or another slot's.
    keep: usize,
    /// Of those, tokens decoded now to save the static prefix.
    decoded_now: usize,
    sampler: Sampler,
    text: TextStream,
    generated: u32,
    /// Where this call's logits are in the batch being decoded.
    logits_at: Option<i32>,
    /// The token sampled last, to be decoded in the next step.
    next: Option<LlamaToken>,
    start: Instant,
    prefill_ms: Option<f64>,
}

/// One sequence of the KV cache: the tokens its cells hold, and the call
/// decoding in it, if any.
struct ChatSlot {
    seq: i32,
    cached: Vec<LlamaToken>,
    running: Option<Running>,
    /// When it last took a call (a step count), to pick the least recently
    /// used free slot.
    used: u64,
}

/// Chat calls decoded together (continuous batching).
///
/// * Each call runs in a slot: a sequence of one unified KV cache. Its
///   cells stay when the call ends, so the same session's next call, whose
///   prompt starts with this one's, takes the slot whose tokens share the
///   longest prefix with it and decodes only what is new.
/// * A prompt that shares more with another slot (another session with the
///   same system prompt and tools) starts from a copy of that slot's cells:
///   shared, not recomputed.
/// * Every step decodes, in one batch, one token of each generating call
///   and up to the batch's size of prompt tokens of calls being prefilled.
///   On a CPU, where decoding a small model is bound by memory bandwidth,
///   one pass over the weights then serves several calls.
/// * A call that ends hands its slot to the next waiting call at once.
struct Chats {
    slots: Vec<ChatSlot>,
    pending: std::collections::VecDeque<Job>,
    /// The prompt of the first waiting call, when it waited for a prefix.
    front_tokens: Option<Vec<LlamaToken>>,
    batch: LlamaBatch<'static>,
    /// Tokens the batch holds: the config's batch size.
    batch_cap: usize,
    steps: u64,
}

impl Chats {
    fn new(slots: usize, config: &LocalConfig) -> Self {
        Self {
            slots: (0..slots)
                .map(|s| ChatSlot {
                    seq: s as i32,
                    cached: Vec::new(),
                    running: None,
                    used: 0,
                })
                .collect(),
            pending: std::collections::VecDeque::new(),
            front_tokens: None,
            batch: LlamaBatch::new(config.batch.max(1) as usize, 1),
            batch_cap: config.batch.max(1) as usize,
            steps: 0,
        }
    }

    fn running(&self) -> usize {
        self.slots.iter().filter(|s| s.running.is_some()).count()
    }

    fn idle(&self) -> bool {
        self.running() == 0 && self.pending.is_empty()
    }

    /// Starts waiting calls in free slots, in order. A call waits while a
    /// call being prefilled has more of its prompt than any slot holds
    /// (the same system prompt and tools, arriving together): once that
    /// prefix is in the cache, it is copied rather than decoded twice.
    fn admit(&mut self, tools: &Tools<'_>, ctx: &mut llama_cpp_2::context::LlamaContext<'_>) {
        while self.running() < self.slots.len() {
            let Some(job) = self.pending.pop_front() else {
                return;
            };
            let tokens = self.front_tokens.take();
            if job.cancel.load(Ordering::SeqCst) || job.events.is_closed() {
                continue;
            }
            let tokens = match tokens.map_or_else(
                || {
                    prompt_tokens(
                        tools.model,
                        tools.config.context as usize,
                        tools.template,
                        &job.request,
                    )
                },
                Ok,
            ) {
                Ok(t) => t,
                Err(e) => {
                    let _ = job.events.send(Err(e));
                    continue;
                }
            };
            if tools.config.prefix_cache && self.worth_waiting(&tokens) {
                self.pending.push_front(job);
                self.front_tokens = Some(tokens);
                return;
            }
            let events = job.events.clone();
            if let Err(e) = self.start(tools, ctx, job, tokens) {
                let _ = events.send(Err(e));
            }
        }
    }

    /// Whether a call being prefilled will soon hold at least
    /// [`MIN_SAVED_PREFIX`] more of `tokens` than any slot holds now.
    fn worth_waiting(&self, tokens: &[LlamaToken]) -> bool {
        let have = self
            .slots
            .iter()
            .map(|s| common_prefix(&s.cached, tokens))
            .max()
            .unwrap_or(0);
        let coming = self
            .slots
            .iter()
            .filter_map(|s| s.running.as_ref())
            .filter(|r| r.generated == 0)
            .map(|r| common_prefix(&r.tokens, tokens))
            .max()
            .unwrap_or(0);
        coming.min(tokens.len().saturating_sub(1)) >= have + MIN_SAVED_PREFIX
    }

    /// Places a call, whose prompt is `tokens`, in the free slot that has
    /// most of it, copying a longer shared prefix from another slot when
    /// one has it.
    fn start(
        &mut self,
        tools: &Tools<'_>,
        ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
        job: Job,
        tokens: Vec<LlamaToken>,
    ) -> Result<()> {
        let start = Instant::now();
        let config = tools.config;
        let req = &job.request;
        let sampler = Sampler::for_request(tools.model, req)?;
        let shared = |s: &ChatSlot| {
            if config.prefix_cache {
                common_prefix(&s.cached, &tokens)
            } else {
                0
            }
        };
        let Some(here) = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.running.is_none())
            .max_by_key(|(_, s)| (shared(s), std::cmp::Reverse(s.used)))
            .map(|(i, _)| i)
        else {
            return Err(Error::Config("no free slot".into()));
        };
        let fresh = self.slots.iter().all(|s| s.cached.is_empty());
        let donor = self
            .slots
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != here)
            .map(|(i, s)| (shared(s), i))
            .max()
            .filter(|&(n, _)| n > shared(&self.slots[here]));
        self.steps += 1;
        let seq = self.slots[here].seq;
        if let Some((n, from)) = donor {
            ctx.clear_kv_cache_seq(Some(seq as u32), None, None)
                .map_err(cfg_err)?;
            ctx.copy_kv_cache_seq(self.slots[from].seq, seq, Some(0), Some(n as u32))
                .map_err(cfg_err)?;
            self.slots[here].cached = tokens[..n].to_vec();
        }
        let slot = &mut self.slots[here];
        slot.used = self.steps;
        let mut decoded_now = 0;
        if fresh && let Some(store) = tools.store {
            // A fresh context: start from the saved static prefix, or save
            // it for the next process. Either failing only costs the time
            // a cold prefill takes, so it is logged, not returned.
            match store.restore_or_save(
                tools.model,
                ctx,
                seq,
                &mut slot.cached,
                tools.template,
                config,
                req,
            ) {
                Ok(n) => decoded_now = n,
                Err(e) => {
                    tracing::debug!("prompt prefix state: {e}");
                    slot.cached.clear();
                    ctx.clear_kv_cache_seq(Some(seq as u32), None, None)
                        .map_err(cfg_err)?;
                }
            }
        }
        // At least the last prompt token is decoded again, so that there
        // are logits to sample from.
        let keep = if config.prefix_cache {
            common_prefix(&slot.cached, &tokens).min(tokens.len().saturating_sub(1))
        } else {
            0
        };
        ctx.clear_kv_cache_seq(Some(seq as u32), Some(keep as u32), None)
            .map_err(cfg_err)?;
        slot.cached.truncate(keep);
        slot.running = Some(Running {
            job,
            tokens,
            keep,
            decoded_now,
            sampler,
            text: TextStream::default(),
            generated: 0,
            logits_at: None,
            next: None,
            start,
            prefill_ms: None,
        });
        Ok(())
    }

    /// One decoding step over every running call: their next tokens and
    /// prompt chunks in one batch, then a token sampled for each call
    /// whose logits are ready.
    fn step(&mut self, tools: &Tools<'_>, ctx: &mut llama_cpp_2::context::LlamaContext<'_>) {
        // Calls whose client has gone are dropped before they cost a step.
        for slot in &mut self.slots {
            if slot
                .running
                .as_ref()
                .is_some_and(|r| r.job.cancel.load(Ordering::SeqCst) || r.job.events.is_closed())
            {
                slot.running = None;
            }
        }
        if self.running() == 0 {
            return;
        }
        if let Err(e) = self.fill_batch() {
            return self.fail_all(ctx, &e);
        }
        if self.batch.n_tokens() == 0 {
            return;
        }
        let decode_start = Instant::now();
        if let Err(e) = ctx.decode(&mut self.batch) {
            return self.fail_all(ctx, &cfg_err(e));
        }
        let decode_ms = decode_start.elapsed().as_secs_f64() * 1e3;
        let sample_start = Instant::now();
        let vocab = tools.model.vocab();
        for slot in &mut self.slots {
            let Some(run) = slot.running.as_mut() else {
                continue;
            };
            let Some(at) = run.logits_at.take() else {
                continue;
            };
            let prefill_ms = run.start.elapsed().as_secs_f64() * 1e3;
            run.prefill_ms.get_or_insert(prefill_ms);
            if let Some(finish) = run.sample(ctx, &vocab, at)
                && let Some(run) = slot.running.take()
            {
                run.finish(finish);
            }
        }
        tracing::debug!(
            calls = self.running(),
            tokens = self.batch.n_tokens(),
            decode_ms,
            sample_ms = sample_start.elapsed().as_secs_f64() * 1e3,
            "decoding step"
        );
    }

    /// The batch of a step: one token of each generating call first, then
    /// prompt tokens of calls being prefilled, as many as the batch holds.
    fn fill_batch(&mut self) -> Result<()> {
        self.batch.clear();
        let cap = self.batch_cap;
        for slot in &mut self.slots {
            let Some(run) = slot.running.as_mut() else {
                continue;
            };
            if let Some(t) = run.next.take() {
                run.logits_at = Some(self.batch.n_tokens());
                self.batch
                    .add(t, slot.cached.len() as i32, &[slot.seq], true)
                    .map_err(cfg_err)?;
                slot.cached.push(t);
            }
        }
        for slot in &mut self.slots {
            let Some(run) = slot.running.as_mut() else {
                continue;
            };
            let fed = slot.cached.len();
            if run.generated > 0 || run.logits_at.is_some() || fed >= run.tokens.len() {
                continue;
            }
            let room = cap - self.batch.n_tokens() as usize;
            let end = run.tokens.len().min(fed + room);
            for (p, &t) in run.tokens.iter().enumerate().take(end).skip(fed) {
                let last = p + 1 == run.tokens.len();
                if last {
                    run.logits_at = Some(self.batch.n_tokens());
                }
                self.batch
                    .add(t, p as i32, &[slot.seq], last)
                    .map_err(cfg_err)?;
            }
            slot.cached.extend_from_slice(&run.tokens[fed..end]);
        }
        Ok(())
    }

    /// A failed decode ends every running call with its error, and clears
    /// the cache, whose state is no longer known.
    fn fail_all(&mut self, ctx: &mut llama_cpp_2::context::LlamaContext<'_>, e: &Error) {
        for slot in &mut self.slots {
            if let Some(run) = slot.running.take() {
                let _ = run.job.events.send(Err(Error::Config(e.to_string())));
            }
            slot.cached.clear();
        }
        ctx.clear_kv_cache();
    }
}

impl Running {
    /// Samples the call's next token from logits at `at`, streaming its
    /// text; the finish reason once the call is done, `None` to go on.
    fn sample(
        &mut self,
        ctx: &llama_cpp_2::context::LlamaContext<'_>,
        vocab: &LlamaVocab<'_>,
        at: i32,
    ) -> Option<Finish> {
        let req = &self.job.request;
        if self.generated >= req.options.max_tokens {
            return Some(Finish::Done("length"));
        }
        let token = self.sampler.sample(ctx, at);
        if vocab.is_eog(token) {
            return Some(Finish::Done("stop"));
        }
        self.generated += 1;
        if let Some(t) = self.text.push(&vocab.token_to_piece(token, false, None))
            && self
                .job
                .events
                .send(Ok(ChatEvent::TextDelta { text: t }))
                .is_err()
        {
            return Some(Finish::Gone);
        }
        if self.job.cancel.load(Ordering::SeqCst) {
            return Some(Finish::Gone);
        }
        let text_so_far = String::from_utf8_lossy(&self.text.bytes);
        if req
            .options
            .stop
            .iter()
            .any(|s| text_so_far.ends_with(s.as_str()))
            || (tools_on(req)
                && text_so_far.trim_end().ends_with("</tool_call>")
                && req.options.tool_choice == ToolChoice::Required)
        {
            return Some(Finish::Done("stop"));
        }
        if self.generated >= req.options.max_tokens {
            return Some(Finish::Done("length"));
        }
        self.next = Some(token);
        None
    }

    /// Sends the call's closing events (nothing when its client has gone).
    fn finish(self, finish: Finish) {
        let Finish::Done(reason) = finish else {
            return;
        };
        let usage = Usage {
            prompt_tokens: self.tokens.len() as u32,
            completion_tokens: self.generated,
        };
        // Tokens decoded in this call to save the prefix were not cached.
        let cached_tokens = self.keep.saturating_sub(self.decoded_now) as u32;
        let generated = Generated {
            text: self.text,
            finish: reason,
        };
        send_closing_events(
            &self.job,
            &generated,
            usage,
            self.start,
            self.prefill_ms.unwrap_or(0.0),
            cached_tokens,
        );
    }
}

/// How a call ends.
enum Finish {
    /// Generation ended: `stop` or `length`.
    Done(&'static str),
    /// Its client went away.
    Gone,
}

/// What generation produced.
struct Generated {
    text: TextStream,
    /// `stop` (end of generation or a stop string) or `length`.
    finish: &'static str,
}

/// The generated bytes and how much of them has been sent as text.
///
/// Text is sent as complete UTF-8 up to the first `<`; from there on it is
/// held back, because it may be the start of a tool call.
#[derive(Default)]
struct TextStream {
    bytes: Vec<u8>,
    /// Bytes of `bytes` already sent.
    sent_upto: usize,
    /// A `<` was seen: the rest may be a tool call.
    holding: bool,
}

impl TextStream {
    /// Appends a token's bytes; returns the text that may be sent now.
    fn push(&mut self, piece: &[u8]) -> Option<String> {
        self.bytes.extend(piece);
        if self.holding {
            return None;
        }
        let valid = match std::str::from_utf8(&self.bytes[self.sent_upto..]) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        let piece = &self.bytes[self.sent_upto..self.sent_upto + valid];
        let cut = piece.iter().position(|&b| b == b'<');
        let upto = cut.unwrap_or(piece.len());
        self.holding = cut.is_some();
        if upto == 0 {
            return None;
        }
        let text = String::from_utf8_lossy(&piece[..upto]).into_owned();
        self.sent_upto += upto;
        Some(text)
    }

    /// What was held back and is not a tool call: plain text after all.
    fn held_text(&self) -> String {
        let held = String::from_utf8_lossy(&self.bytes[self.sent_upto..]).into_owned();
        match held.find("<tool_call>") {
            Some(i) => held[..i].to_owned(),
            None => held,
        }
    }
}

/// The events after generation: held-back text, tool calls, usage, timings
/// (the call began at `start`) and `Done`. A receiver that is gone is not an
/// error.
fn send_closing_events(
    job: &Job,
    generated: &Generated,
    usage: Usage,
    start: Instant,
    first_token_ms: f64,
    cached_prompt_tokens: u32,
) {
    let events = &job.events;
    let calls = if tools_on(&job.request) {
        parse_tool_calls(&String::from_utf8_lossy(&generated.text.bytes))
    } else {
        Vec::new()
    };
    let rest = generated.text.held_text();
    if !rest.trim().is_empty() {
        let _ = events.send(Ok(ChatEvent::TextDelta { text: rest }));
    }
    for call in &calls {
        let _ = events.send(Ok(ChatEvent::ToolCall { call: call.clone() }));
    }
    let _ = events.send(Ok(ChatEvent::Usage { usage }));
    let _ = events.send(Ok(ChatEvent::Timings {
        timings: Timings {
            first_token_ms,
            total_ms: start.elapsed().as_secs_f64() * 1e3,
            cached_prompt_tokens,
        },
    }));
    let _ = events.send(Ok(ChatEvent::Done {
        finish_reason: if calls.is_empty() {
            generated.finish
        } else {
            "tool_calls"
        }
        .to_owned(),
    }));
}

/// Token choice under an optional grammar.
///
/// Checking every one of the vocabulary's ~150k tokens against the grammar
/// costs more than a forward pass of a small model, so the grammar is applied
/// the way llama.cpp's own `common_sampler` does: pick a token without it,
/// check only that token, and filter the whole vocabulary only when the pick
/// breaks the grammar. The chosen token is the same either way.
struct Sampler {
    grammar: Option<LlamaSampler>,
    base: LlamaSampler,
    /// Temperature 0: the pick is the largest logit, read straight from
    /// the logits without building the vocabulary's candidate array.
    greedy: bool,
}

impl Sampler {
    /// Greedy at temperature 0, else seeded; under the tool grammar when
    /// tools are on (from the first token with [`ToolChoice::Required`],
    /// from `<tool_call>` otherwise).
    fn for_request(model: &LlamaModel, req: &ChatRequest) -> Result<Self> {
        let grammar = if tools_on(req) {
            let g = tool_grammar(&req.tools)?;
            let s = match req.options.tool_choice {
                ToolChoice::Required => LlamaSampler::grammar(model, &g, "root"),
                _ => LlamaSampler::grammar_lazy(model, &g, "root", ["<tool_call>"], &[]),
            }
            .map_err(|e| Error::Config(format!("llama.cpp rejected the tool grammar: {e}")))?;
            Some(s)
        } else {
            None
        };
        let base = if req.options.temperature <= 0.0 {
            LlamaSampler::greedy()
        } else {
            LlamaSampler::chain_simple([
                LlamaSampler::temp(req.options.temperature),
                LlamaSampler::dist(req.options.seed.unwrap_or(0) as u32),
            ])
        };
        Ok(Self {
            grammar,
            base,
            greedy: req.options.temperature <= 0.0,
        })
    }

    /// The token with the largest logit at `idx`.
    fn argmax(ctx: &llama_cpp_2::context::LlamaContext<'_>, idx: i32) -> Option<LlamaToken> {
        let logits = ctx.get_logits_ith(idx);
        let mut best: Option<(usize, f32)> = None;
        for (i, &l) in logits.iter().enumerate() {
            if best.is_none_or(|(_, b)| l > b) {
                best = Some((i, l));
            }
        }
        best.map(|(i, _)| LlamaToken(i as i32))
    }

    fn sample(&mut self, ctx: &llama_cpp_2::context::LlamaContext<'_>, idx: i32) -> LlamaToken {
        let Some(grammar) = self.grammar.as_mut() else {
            if self.greedy
                && let Some(t) = Self::argmax(ctx, idx)
            {
                return t;
            }
            return self.base.sample(ctx, idx);
        };
        let mut token = if self.greedy {
            Self::argmax(ctx, idx)
        } else {
            let mut all = ctx.token_data_array_ith(idx);
            self.base.apply(&mut all);
            all.selected_token()
        };
        if let Some(t) = token {
            let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(t, 1.0, 0.0)], false);
            grammar.apply(&mut one);
            if !one.data[0].logit().is_finite() {
                token = None;
            }
        }
        let token = match token {
            Some(t) => t,
            None => {
                let mut all = ctx.token_data_array_ith(idx);
                grammar.apply(&mut all);
                self.base.apply(&mut all);
                // The grammar always leaves at least one token (end of
                // generation once it is complete), so there is a pick.
                all.selected_token()
                    .unwrap_or_else(|| self.base.sample(ctx, idx))
            }
        };
        grammar.accept(token);
        self.base.accept(token);
        token
    }
}

/// One running sequence of [`run_many`].
struct Slot {
    /// The request's index.
    index: usize,
    prompt_len: usize,
    max_tokens: u32,
    stop: Vec<String>,
    sampler: Sampler,
    /// Position of the next token in the sequence.
    pos: usize,
    bytes: Vec<u8>,
    generated: u32,
    /// Where this sequence's logits are in the batch just decoded.
    logits_at: i32,
    /// The token sampled last, to be decoded in the next step.
    next: Option<LlamaToken>,
    start: Instant,
    first_token_ms: Option<f64>,
}

/// The length of the common prefix of two token runs.
fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Renders and tokenizes each request of `job`, answering at once those
/// that cannot run (tools asked for, a template error). `None` once the
/// caller has gone.
fn tokenize_many(
    vocab: &LlamaVocab<'_>,
    template: &str,
    job: &ManyJob,
) -> Option<Vec<(usize, Vec<LlamaToken>)>> {
    let mut prompts = Vec::new();
    for (i, req) in job.requests.iter().enumerate() {
        let rendered = if tools_on(req) {
            Err(Error::Config(
                "complete_many does not offer tools; call chat for tool calls".into(),
            ))
        } else {
            render_template(template, req)
        };
        match rendered {
            Ok(p) => prompts.push((
                i,
                vocab.tokenize(p.as_bytes(), vocab.should_add_bos(), true),
            )),
            Err(e) => job.results.send((i, Err(e))).ok()?,
        }
    }
    Some(prompts)
}

/// How [`run_many`] lays out its context.
#[derive(Clone, Copy)]
struct ManyShape {
    /// Prompt tokens every request shares, decoded once into sequence 0.
    prefix: usize,
    /// Sequences running at once.
    n_seq: usize,
    n_ctx: usize,
    n_batch: usize,
}

impl ManyShape {
    fn of(
        prompts: &[(usize, Vec<LlamaToken>)],
        first: &[LlamaToken],
        job: &ManyJob,
        config: &LocalConfig,
    ) -> Self {
        // At least one token of each prompt is decoded in its own sequence,
        // so that it has logits to sample from.
        let prefix = prompts
            .iter()
            .map(|(_, t)| common_prefix(first, t).min(t.len().saturating_sub(1)))
            .min()
            .unwrap_or(0);
        let n_seq = job.parallel.clamp(1, prompts.len().max(1));
        let longest_tail = prompts
            .iter()
            .map(|(_, t)| t.len() - prefix)
            .max()
            .unwrap_or(1);
        let max_new = job
            .requests
            .iter()
            .map(|r| r.options.max_tokens as usize)
            .max()
            .unwrap_or(0);
        Self {
            prefix,
            n_seq,
            n_ctx: (prefix + n_seq * (longest_tail + max_new + 1)).div_ceil(256) * 256,
            n_batch: (n_seq * (longest_tail + 1)).max(config.batch as usize),
        }
    }
}

impl ManyShape {
    /// The context's parameters: one sequence per running request plus
    /// the shared prefix's, in one unified KV cache.
    fn params(&self, config: &LocalConfig) -> LlamaContextParams {
        LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(self.n_ctx as u32))
            .with_n_batch(self.n_batch as u32)
            .with_n_seq_max(self.n_seq as u32 + 1)
            .with_kv_unified(true)
            .with_n_threads(config.threads)
            .with_n_threads_batch(config.threads)
    }
}

/// Decodes the shared prefix into sequence 0, `n_batch` tokens (the
/// batch's size) at a time.
fn decode_prefix(
    ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
    batch: &mut LlamaBatch,
    prefix: &[LlamaToken],
    n_batch: usize,
) -> Result<()> {
    for (c, chunk) in prefix.chunks(n_batch).enumerate() {
        batch.clear();
        for (p, &t) in chunk.iter().enumerate() {
            batch
                .add(t, (c * n_batch + p) as i32, &[0], false)
                .map_err(cfg_err)?;
        }
        ctx.decode(batch).map_err(cfg_err)?;
    }
    Ok(())
}

impl Slot {
    /// Starts request `index` in sequence `seq`: a copy of the shared
    /// prefix's cells, then its prompt's tail added to `batch`.
    #[allow(clippy::too_many_arguments)]
    fn start(
        ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
        batch: &mut LlamaBatch,
        req: &ChatRequest,
        index: usize,
        tokens: &[LlamaToken],
        prefix: usize,
        seq: i32,
        sampler: Sampler,
    ) -> Result<Self> {
        let _ = ctx.clear_kv_cache_seq(Some(seq as u32), None, None);
        if prefix > 0 {
            ctx.copy_kv_cache_seq(0, seq, None, None).map_err(cfg_err)?;
        }
        for (p, &t) in tokens.iter().enumerate().skip(prefix) {
            batch
                .add(t, p as i32, &[seq], p + 1 == tokens.len())
                .map_err(cfg_err)?;
        }
        Ok(Slot {
            index,
            prompt_len: tokens.len(),
            max_tokens: req.options.max_tokens,
            stop: req.options.stop.clone(),
            sampler,
            pos: tokens.len(),
            bytes: Vec::new(),
            generated: 0,
            logits_at: batch.n_tokens() - 1,
            next: None,
            start: Instant::now(),
            first_token_ms: None,
        })
    }

    /// Samples this sequence's next token from the batch just decoded;
    /// the finish reason once the sequence is done.
    fn step(
        &mut self,
        ctx: &llama_cpp_2::context::LlamaContext<'_>,
        vocab: &LlamaVocab<'_>,
    ) -> Option<&'static str> {
        if self.generated >= self.max_tokens {
            return Some("length");
        }
        let token = self.sampler.sample(ctx, self.logits_at);
        let start = self.start;
        self.first_token_ms
            .get_or_insert_with(|| start.elapsed().as_secs_f64() * 1e3);
        if vocab.is_eog(token) {
            return Some("stop");
        }
        self.generated += 1;
        self.bytes.extend(vocab.token_to_piece(token, false, None));
        let text = String::from_utf8_lossy(&self.bytes);
        if self.stop.iter().any(|s| text.ends_with(s.as_str())) {
            Some("stop")
        } else if self.generated >= self.max_tokens {
            Some("length")
        } else {
            self.next = Some(token);
            None
        }
    }

    /// The finished sequence's answer; `cached` prompt tokens came from
    /// the shared prefix.
    fn response(&self, finish: &str, cached: usize) -> ChatResponse {
        ChatResponse {
            text: String::from_utf8_lossy(&self.bytes).into_owned(),
            tool_calls: Vec::new(),
            usage: Usage {
                prompt_tokens: self.prompt_len as u32,
                completion_tokens: self.generated,
            },
            timings: Timings {
                first_token_ms: self.first_token_ms.unwrap_or(0.0),
                total_ms: self.start.elapsed().as_secs_f64() * 1e3,
                cached_prompt_tokens: cached as u32,
            },
            finish_reason: finish.to_owned(),
        }
    }
}

/// Decodes many independent calls together, without tools.
///
/// * The longest token prefix every prompt shares (the system prompt and
///   the fixed part of the user prompt) is decoded once, into sequence 0.
/// * Up to `parallel` sequences run at once. Each starts from a copy of
///   sequence 0 (cells of a unified KV cache, shared, not recomputed) and
///   decodes only its prompt's tail. A sequence that finishes hands its
///   place to the next prompt at once (continuous batching).
/// * Every step decodes one token of each running sequence, and the tails
///   of new ones, in one batch: on a CPU, where a small model's decoding is
///   bound by memory bandwidth, one pass over the weights then serves
///   several sequences.
///
/// The context is made for the job, sized to fit, and dropped after it;
/// the chat context and its prefix cache are untouched.
fn run_many(
    model: &LlamaModel,
    backend: &LlamaBackend,
    template: &str,
    config: &LocalConfig,
    job: ManyJob,
) {
    let send = |i: usize, r: Result<ChatResponse>| job.results.send((i, r)).is_ok();
    let vocab = model.vocab();
    let Some(prompts) = tokenize_many(&vocab, template, &job) else {
        return;
    };
    let Some(first) = prompts.first().map(|p| p.1.clone()) else {
        return;
    };
    let shape = ManyShape::of(&prompts, &first, &job, config);
    let ManyShape {
        prefix, n_batch, ..
    } = shape;
    let fail_all = |e: Error, from: &[(usize, Vec<LlamaToken>)]| {
        for (i, _) in from {
            let _ = job.results.send((*i, Err(Error::Config(e.to_string()))));
        }
    };
    let mut ctx = match model.new_context(backend, shape.params(config)) {
        Ok(c) => c,
        Err(e) => return fail_all(cfg_err(e), &prompts),
    };
    let mut batch = LlamaBatch::new(n_batch, 1);
    if let Err(e) = decode_prefix(&mut ctx, &mut batch, &first[..prefix], n_batch) {
        return fail_all(e, &prompts);
    }
    let mut queue = prompts.into_iter();
    let mut slots: Vec<Option<Slot>> = (0..shape.n_seq).map(|_| None).collect();
    loop {
        if job.cancel.load(Ordering::SeqCst) || job.results.is_closed() {
            return;
        }
        batch.clear();
        let mut failed: Option<Error> = None;
        for (s, place) in slots.iter_mut().enumerate() {
            let seq = s as i32 + 1;
            if place.is_none()
                && let Some((index, tokens)) = queue.next()
            {
                let req = &job.requests[index];
                let sampler = match Sampler::for_request(model, req) {
                    Ok(x) => x,
                    Err(e) => {
                        if !send(index, Err(e)) {
                            return;
                        }
                        continue;
                    }
                };
                match Slot::start(
                    &mut ctx, &mut batch, req, index, &tokens, prefix, seq, sampler,
                ) {
                    Ok(slot) => *place = Some(slot),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            } else if let Some(slot) = place.as_mut()
                && let Some(t) = slot.next.take()
            {
                slot.logits_at = batch.n_tokens();
                if let Err(e) = batch.add(t, slot.pos as i32, &[seq], true) {
                    failed = Some(cfg_err(e));
                    break;
                }
                slot.pos += 1;
            }
        }
        if failed.is_none() && batch.n_tokens() == 0 {
            return;
        }
        if let Some(e) = failed.or_else(|| ctx.decode(&mut batch).err().map(cfg_err)) {
            for slot in slots.iter().flatten() {
                let _ = job
                    .results
                    .send((slot.index, Err(Error::Config(e.to_string()))));
            }
            let rest: Vec<_> = queue.collect();
            return fail_all(e, &rest);
        }
        if !sample_all(&mut ctx, &vocab, &mut slots, prefix, &job.results) {
            return;
        }
    }
}

/// Samples the next token of every running sequence; answers and frees
/// those that finished. `false` once the caller has gone.
fn sample_all(
    ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
    vocab: &LlamaVocab<'_>,
    slots: &mut [Option<Slot>],
    prefix: usize,
    results: &tokio::sync::mpsc::UnboundedSender<(usize, Result<ChatResponse>)>,
) -> bool {
    for (s, place) in slots.iter_mut().enumerate() {
        let Some(slot) = place.as_mut() else { continue };
        if let Some(finish) = slot.step(ctx, vocab) {
            if results
                .send((slot.index, Ok(slot.response(finish, prefix))))
                .is_err()
            {
                return false;
            }
            let _ = ctx.clear_kv_cache_seq(Some(s as u32 + 1), None, None);
            *place = None;
        }
    }
    true
}
