//! tutti's model providers behind one interface.
//!
//! A provider takes a chat (messages and limits) and streams back text as it
//! is generated, closing with an exact usage record: prompt tokens, cached
//! prompt tokens, generated tokens. The token ledger is built on that record,
//! so a provider never estimates. The embedded provider ([`embedded`]) runs a
//! GGUF model on the CPU through llama.cpp and works offline.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

pub mod embedded;
mod json_grammar;
pub mod openai;
mod stop;
mod template;
mod tool_call;

pub use embedded::{EmbeddedConfig, EmbeddedModel};
pub use openai::{OpenAiConfig, OpenAiProvider};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Speaker,
    pub content: String,
}

impl Message {
    pub fn new(role: Speaker, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// A chat to complete.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    /// The most tokens to generate; the budget reservation is built on it.
    pub max_tokens: u32,
    /// 0 picks the most likely token every time (deterministic).
    pub temperature: f32,
    pub seed: u32,
    /// Keep generating through the model's end-of-turn token until
    /// `max_tokens` (for measurements only).
    pub ignore_end_of_turn: bool,
    /// A GBNF grammar (root rule `root`) the answer must follow. The
    /// embedded model samples only tokens the grammar accepts, so even a
    /// small model answers in the shape asked for. Remote providers do not
    /// receive it (OpenAI's API refuses unknown fields); their answers are
    /// read as they come.
    pub grammar: Option<String>,
    /// The chat as an outside caller sent it through the gateway; `None`
    /// for tutti's own calls (runs, drafts).
    pub caller: Option<CallerRequest>,
    /// How the embedded model's sampler pushes back on repeating itself.
    /// Off unless asked: a gateway caller sets its own penalties, and
    /// tutti's runs ask for [`Repetition::RUNS`].
    pub repetition: Repetition,
}

/// Repetition control for the embedded model's sampler: llama.cpp's DRY
/// sampler ("don't repeat yourself": a penalty that grows with the length
/// of a repeated sequence) and its classic repetition penalty over the last
/// tokens. Neither applies to an answer a grammar shapes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repetition {
    /// DRY's multiplier; 0 turns it off.
    pub dry_multiplier: f32,
    /// Divides the logits of tokens among the last 64; 1 turns it off.
    pub repeat_penalty: f32,
}

impl Repetition {
    pub const OFF: Self = Self {
        dry_multiplier: 0.0,
        repeat_penalty: 1.0,
    };
    /// What tutti's runs use, chosen by `tutti bench model --quality`
    /// (docs/architecture.md has the figures).
    pub const RUNS: Self = Self {
        dry_multiplier: 0.8,
        repeat_penalty: 1.1,
    };
}

/// A Chat Completions request as the caller wrote it. A remote provider
/// receives it unchanged (with tutti's model name, the token cap and
/// streaming with usage on top), so nothing the caller asked for is
/// dropped. The embedded model honours what it can and refuses the rest
/// ([`Provider::check`]), naming the parameter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallerRequest {
    /// The messages as sent: tool calls, tool results and all.
    pub messages: Vec<Value>,
    /// Every other field as sent, except `model`, `messages`, `stream` and
    /// `stream_options`, which tutti sets. The token cap is under the
    /// caller's own key (`max_tokens` or `max_completion_tokens`).
    pub fields: Map<String, Value>,
    /// Where a message is more than text (a tool call or a tool's result),
    /// and so cannot be read as [`Message`]s: the parameter's path.
    pub beyond_text: Option<String>,
}

impl ChatRequest {
    pub fn new(messages: Vec<Message>, max_tokens: u32) -> Self {
        Self {
            messages,
            max_tokens,
            temperature: 0.0,
            seed: 0,
            ignore_end_of_turn: false,
            grammar: None,
            caller: None,
            repetition: Repetition::OFF,
        }
    }
}

/// Exact token counts of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its turn.
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// The model called tools (the calls came as [`Chunk::ToolCalls`]).
    ToolCalls,
    /// The provider withheld the answer.
    ContentFilter,
}

impl FinishReason {
    /// The name OpenAI's wire format gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ToolCalls => "tool_calls",
            Self::ContentFilter => "content_filter",
        }
    }

    /// Reads OpenAI's name; anything unknown ends like a stop.
    pub fn parse(name: &str) -> Self {
        match name {
            "length" => Self::Length,
            "tool_calls" | "function_call" => Self::ToolCalls,
            "content_filter" => Self::ContentFilter,
            _ => Self::Stop,
        }
    }
}

/// What a completion stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// The next piece of text (always whole UTF-8 characters).
    Text(String),
    /// Pieces of tool calls, as OpenAI's `delta.tool_calls` entries (each
    /// with its `index`; the first piece of a call carries its `id`, `type`
    /// and function `name`, later ones more of its `arguments`).
    ToolCalls(Vec<Value>),
    /// The end, with the exact usage.
    Done { usage: Usage, finish: FinishReason },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// The model file is missing or unreadable; the message says how to get one.
    #[error("{0}")]
    ModelUnavailable(String),
    /// The request cannot be served as asked (too long for the context, empty).
    #[error("{0}")]
    Invalid(String),
    /// The provider cannot honour a parameter the caller sent.
    #[error("{param}: {reason}")]
    Unsupported { param: String, reason: String },
    /// The engine stopped or failed while working.
    #[error("model engine failed: {0}")]
    Engine(String),
    /// A remote provider failed, refused, or answered in a way we cannot use.
    #[error("{0}")]
    Upstream(String),
}

/// A completion in progress. Dropping it cancels the generation.
#[derive(Debug)]
pub struct Completion {
    pub(crate) chunks: mpsc::UnboundedReceiver<Result<Chunk, LlmError>>,
}

impl Completion {
    /// The next chunk; `None` after [`Chunk::Done`] or an error.
    pub async fn next(&mut self) -> Option<Result<Chunk, LlmError>> {
        self.chunks.recv().await
    }

    /// Waits for the whole text and its usage.
    pub async fn text(mut self) -> Result<(String, Usage, FinishReason), LlmError> {
        let mut text = String::new();
        while let Some(chunk) = self.next().await {
            match chunk? {
                Chunk::Text(piece) => text.push_str(&piece),
                Chunk::ToolCalls(_) => {}
                Chunk::Done { usage, finish } => return Ok((text, usage, finish)),
            }
        }
        Err(LlmError::Engine(
            "the stream ended without a usage record".into(),
        ))
    }
}

/// Joins streamed tool-call pieces ([`Chunk::ToolCalls`]) into whole calls,
/// as a non-streaming answer gives them: by `index`, the first piece's `id`,
/// `type` and function `name`, and the `arguments` of all pieces in order.
pub fn join_tool_calls(pieces: &[Value]) -> Vec<Value> {
    let mut calls: Vec<(u64, Map<String, Value>, String, String)> = Vec::new();
    for piece in pieces {
        let index = piece.get("index").and_then(Value::as_u64).unwrap_or(0);
        let at = match calls.iter().position(|(i, ..)| *i == index) {
            Some(at) => at,
            None => {
                calls.push((index, Map::new(), String::new(), String::new()));
                calls.len() - 1
            }
        };
        let (_, head, name, arguments) = &mut calls[at];
        for key in ["id", "type"] {
            if let Some(value) = piece.get(key).filter(|v| !v.is_null()) {
                head.entry(key).or_insert_with(|| value.clone());
            }
        }
        if let Some(piece) = piece.pointer("/function/name").and_then(Value::as_str) {
            name.push_str(piece);
        }
        if let Some(piece) = piece.pointer("/function/arguments").and_then(Value::as_str) {
            arguments.push_str(piece);
        }
    }
    calls.sort_by_key(|(index, ..)| *index);
    calls
        .into_iter()
        .map(|(_, mut head, name, arguments)| {
            head.entry("type").or_insert_with(|| "function".into());
            head.insert(
                "function".into(),
                serde_json::json!({ "name": name, "arguments": arguments }),
            );
            Value::Object(head)
        })
        .collect()
}

/// A future a [`Provider`] returns; boxed so providers can sit behind `dyn`.
pub type ProviderFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, LlmError>> + Send + 'a>>;

/// What every model provider offers: a streamed chat, and before it, whether
/// it can serve the request as asked and how many tokens its prompt takes at
/// most (what a budget reservation is built on).
pub trait Provider: Send + Sync {
    /// Refuses, before anything is reserved, a request the provider cannot
    /// honour as asked (a caller's parameter it does not implement).
    fn check(&self, request: &ChatRequest) -> Result<(), LlmError>;
    /// Starts a completion; the call is capped at `request.max_tokens`.
    fn chat(&self, request: ChatRequest) -> Completion;
    /// An upper bound of the prompt tokens the request takes, exact where
    /// the provider has the model's tokenizer.
    fn prompt_tokens<'a>(&'a self, request: &'a ChatRequest) -> ProviderFuture<'a, u64>;
}

impl Provider for EmbeddedModel {
    fn check(&self, request: &ChatRequest) -> Result<(), LlmError> {
        embedded::check(request).map(|_| ())
    }

    fn chat(&self, request: ChatRequest) -> Completion {
        EmbeddedModel::chat(self, request)
    }

    fn prompt_tokens<'a>(&'a self, request: &'a ChatRequest) -> ProviderFuture<'a, u64> {
        Box::pin(self.count_tokens(request.messages.clone()))
    }
}

impl Provider for OpenAiProvider {
    /// An OpenAI-compatible server takes what the caller sent and answers
    /// for itself; only what tutti could not pass back is refused.
    fn check(&self, request: &ChatRequest) -> Result<(), LlmError> {
        openai::check(request)
    }

    fn chat(&self, request: ChatRequest) -> Completion {
        OpenAiProvider::chat(self, request)
    }

    /// A remote model's tokenizer is not at hand, so this bounds it: every
    /// token of a byte-level tokenizer covers at least one byte, and each
    /// message's markup is counted generously. A caller's own request is
    /// bounded by its size as sent (tool definitions, schemas and tool
    /// results count toward the prompt too).
    fn prompt_tokens<'a>(&'a self, request: &'a ChatRequest) -> ProviderFuture<'a, u64> {
        const PER_MESSAGE_MARKUP: u64 = 16;
        const PER_CHAT_MARKUP: u64 = 16;
        let bound = match &request.caller {
            Some(caller) => {
                let size = |v: &Value| serde_json::to_string(v).map_or(0, |s| s.len() as u64);
                caller
                    .messages
                    .iter()
                    .map(|m| size(m) + PER_MESSAGE_MARKUP)
                    .sum::<u64>()
                    + caller.fields.values().map(size).sum::<u64>()
            }
            None => request
                .messages
                .iter()
                .map(|m| m.content.len() as u64 + PER_MESSAGE_MARKUP)
                .sum::<u64>(),
        } + PER_CHAT_MARKUP;
        Box::pin(std::future::ready(Ok(bound)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn streamed_tool_call_pieces_join_into_whole_calls() {
        let pieces = [
            json!({ "index": 0, "id": "call_a", "type": "function", "function": { "name": "termin", "arguments": "" } }),
            json!({ "index": 1, "id": "call_b", "type": "function", "function": { "name": "ersatzteil", "arguments": "{\"nr\"" } }),
            json!({ "index": 0, "function": { "arguments": "{\"tag\": " } }),
            json!({ "index": 0, "function": { "arguments": "\"Montag\"}" } }),
            json!({ "index": 1, "function": { "arguments": ": 7}" } }),
        ];
        assert_eq!(
            join_tool_calls(&pieces),
            vec![
                json!({ "id": "call_a", "type": "function", "function": { "name": "termin", "arguments": "{\"tag\": \"Montag\"}" } }),
                json!({ "id": "call_b", "type": "function", "function": { "name": "ersatzteil", "arguments": "{\"nr\": 7}" } }),
            ]
        );
    }
}
