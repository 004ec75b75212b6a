//! tutti's model providers behind one interface.
//!
//! A provider takes a chat (messages and limits) and streams back text as it
//! is generated, closing with an exact usage record: prompt tokens, cached
//! prompt tokens, generated tokens. The token ledger is built on that record,
//! so a provider never estimates. The embedded provider ([`embedded`]) runs a
//! GGUF model on the CPU through llama.cpp and works offline.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

pub mod embedded;
pub mod openai;
mod template;

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
}

/// What a completion stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// The next piece of text (always whole UTF-8 characters).
    Text(String),
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
                Chunk::Done { usage, finish } => return Ok((text, usage, finish)),
            }
        }
        Err(LlmError::Engine(
            "the stream ended without a usage record".into(),
        ))
    }
}

/// A future a [`Provider`] returns; boxed so providers can sit behind `dyn`.
pub type ProviderFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, LlmError>> + Send + 'a>>;

/// What every model provider offers: a streamed chat, and before it, how many
/// tokens a prompt takes at most (what a budget reservation is built on).
pub trait Provider: Send + Sync {
    /// Starts a completion; the call is capped at `request.max_tokens`.
    fn chat(&self, request: ChatRequest) -> Completion;
    /// An upper bound of the prompt tokens `messages` take, exact where the
    /// provider has the model's tokenizer.
    fn prompt_tokens<'a>(&'a self, messages: &'a [Message]) -> ProviderFuture<'a, u64>;
}

impl Provider for EmbeddedModel {
    fn chat(&self, request: ChatRequest) -> Completion {
        EmbeddedModel::chat(self, request)
    }

    fn prompt_tokens<'a>(&'a self, messages: &'a [Message]) -> ProviderFuture<'a, u64> {
        Box::pin(self.count_tokens(messages.to_vec()))
    }
}

impl Provider for OpenAiProvider {
    fn chat(&self, request: ChatRequest) -> Completion {
        OpenAiProvider::chat(self, request)
    }

    /// A remote model's tokenizer is not at hand, so this bounds it: every
    /// token of a byte-level tokenizer covers at least one byte, and each
    /// message's markup is counted generously.
    fn prompt_tokens<'a>(&'a self, messages: &'a [Message]) -> ProviderFuture<'a, u64> {
        const PER_MESSAGE_MARKUP: u64 = 16;
        const PER_CHAT_MARKUP: u64 = 16;
        let bound = messages
            .iter()
            .map(|m| m.content.len() as u64 + PER_MESSAGE_MARKUP)
            .sum::<u64>()
            + PER_CHAT_MARKUP;
        Box::pin(std::future::ready(Ok(bound)))
    }
}
