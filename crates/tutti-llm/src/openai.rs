//! Any OpenAI-compatible server as a provider: vLLM, Ollama, llama.cpp's
//! server, OpenAI and others.
//!
//! Every call streams (`stream: true`) and asks for usage
//! (`stream_options.include_usage`), so the ledger gets the upstream's own
//! token counts. A call without a usage record is an error, never a guess.
//!
//! Faults: a connection error, a timeout before the first byte, a 5xx or a 429
//! is retried with jittered exponential backoff, honouring `Retry-After`. This
//! happens only as long as no text has been passed on and only within the
//! call's deadline, which bounds the whole call, retries included; after
//! that, a failure ends the completion with an error that says how far it
//! got. Any other refusal is answered at once with the upstream's own
//! message. A stream that stalls longer than the idle timeout, closes early
//! or sends data that is not SSE JSON ends with a clear error, never a hang.
//!
//! A caller's own request (through the gateway) goes up as the caller sent
//! it; see [`crate::CallerRequest`].

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc as async_mpsc;

use tutti_domain::labour::CallLimits;

use crate::{ChatRequest, Chunk, Completion, FinishReason, LlmError, Usage};

/// Refuses what tutti could not pass back from an upstream: more than one
/// choice, log probabilities, audio. Everything else goes up as sent.
pub(crate) fn check(request: &ChatRequest) -> Result<(), LlmError> {
    let Some(caller) = &request.caller else {
        return Ok(());
    };
    let refuse = |param: &str, reason: &str| {
        Err(LlmError::Unsupported {
            param: param.to_owned(),
            reason: reason.to_owned(),
        })
    };
    for (name, value) in &caller.fields {
        match name.as_str() {
            "n" if value.as_u64() != Some(1) => {
                return refuse(
                    name,
                    "tutti returns one choice per call; send n = 1 or leave it out",
                );
            }
            "logprobs" if value.as_bool() == Some(true) => {
                return refuse(name, "tutti does not pass log probabilities back");
            }
            "top_logprobs" if !value.is_null() => {
                return refuse(name, "tutti does not pass log probabilities back");
            }
            "modalities" if value != &json!(["text"]) => {
                return refuse(name, "tutti passes text and tool calls back, not audio");
            }
            "audio" if !value.is_null() => {
                return refuse(name, "tutti passes text and tool calls back, not audio");
            }
            _ => {}
        }
    }
    Ok(())
}

/// The upstream's request body: the caller's own request as sent (with the
/// upstream's model name, and streaming with usage so the call can be
/// metered), or tutti's own call.
fn upstream_body(model: &str, request: &ChatRequest) -> Value {
    let Some(caller) = &request.caller else {
        return json!({
            "model": model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
    };
    let mut body = caller.fields.clone();
    if !body.contains_key("max_completion_tokens") {
        body.insert("max_tokens".into(), json!(request.max_tokens));
    }
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(caller.messages.clone()));
    body.insert("stream".into(), json!(true));
    body.insert("stream_options".into(), json!({ "include_usage": true }));
    Value::Object(body)
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    /// E.g. `http://127.0.0.1:8000/v1`; `/chat/completions` is appended.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    /// Until the connection stands.
    pub connect_timeout: Duration,
    /// Until the response headers arrive.
    pub first_byte_timeout: Duration,
    /// The whole call, every retry included.
    pub deadline: Duration,
    /// Between two pieces of the stream.
    pub idle_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; it doubles per retry, with jitter.
    pub backoff: Duration,
    /// No single wait is longer, whatever `Retry-After` says.
    pub max_backoff: Duration,
}

impl OpenAiConfig {
    /// A configuration with the default [`CallLimits`].
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        let mut config = Self {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            connect_timeout: Duration::ZERO,
            first_byte_timeout: Duration::ZERO,
            deadline: Duration::ZERO,
            idle_timeout: Duration::ZERO,
            max_retries: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
        };
        config.bound_by(&CallLimits::default());
        config
    }

    /// Takes a provider's limits.
    pub fn bound_by(&mut self, limits: &CallLimits) {
        let secs = |s: u32| Duration::from_secs(u64::from(s));
        self.connect_timeout = secs(limits.connect_timeout_secs);
        self.first_byte_timeout = secs(limits.first_byte_timeout_secs);
        self.idle_timeout = secs(limits.idle_timeout_secs);
        self.deadline = secs(limits.deadline_secs);
    }
}

#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    http: reqwest::Client,
    config: OpenAiConfig,
}

/// Why an attempt failed, and whether another may succeed.
enum Failure {
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    Fatal(LlmError),
}

impl OpenAiProvider {
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| LlmError::Upstream(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self { http, config })
    }

    /// Starts a completion; text streams from the returned [`Completion`].
    pub fn chat(&self, request: ChatRequest) -> Completion {
        let (chunks, receiver) = async_mpsc::unbounded_channel();
        let provider = self.clone();
        tokio::spawn(async move {
            if let Err(e) = provider.run(&request, &chunks).await {
                let _ = chunks.send(Err(e));
            }
        });
        Completion { chunks: receiver }
    }

    /// The call within its deadline.
    async fn run(
        &self,
        request: &ChatRequest,
        chunks: &async_mpsc::UnboundedSender<Result<Chunk, LlmError>>,
    ) -> Result<(), LlmError> {
        let deadline = tokio::time::Instant::now() + self.config.deadline;
        match tokio::time::timeout_at(deadline, self.attempts(request, chunks, deadline)).await {
            Ok(done) => done,
            Err(_) => Err(LlmError::Upstream(format!(
                "the upstream did not finish within the provider's deadline of {} s",
                self.config.deadline.as_secs()
            ))),
        }
    }

    async fn attempts(
        &self,
        request: &ChatRequest,
        chunks: &async_mpsc::UnboundedSender<Result<Chunk, LlmError>>,
        deadline: tokio::time::Instant,
    ) -> Result<(), LlmError> {
        let mut attempt = 0u32;
        loop {
            let mut sent_text = false;
            match self.attempt(request, chunks, &mut sent_text).await {
                Ok(()) => return Ok(()),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry { reason, .. }) if sent_text => {
                    return Err(LlmError::Upstream(format!(
                        "the upstream failed mid-answer ({reason}); the partial answer was not retried"
                    )));
                }
                Err(Failure::Retry { reason, after }) => {
                    if attempt >= self.config.max_retries {
                        return Err(LlmError::Upstream(format!(
                            "the upstream failed {} times; last: {reason}",
                            attempt + 1
                        )));
                    }
                    let wait = after
                        .unwrap_or_else(|| self.backoff(attempt))
                        .min(self.config.max_backoff);
                    // A retry that could not finish before the deadline
                    // cannot help.
                    if tokio::time::Instant::now() + wait >= deadline {
                        return Err(LlmError::Upstream(format!(
                            "the upstream failed and the provider's deadline leaves no time to retry; last: {reason}"
                        )));
                    }
                    tracing::warn!(attempt, ?wait, %reason, "retrying the upstream");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Exponential backoff with jitter in [50 %, 100 %] of the step.
    fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .config
            .backoff
            .saturating_mul(2u32.saturating_pow(attempt));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = 0.5 + f64::from(nanos % 1000) / 2000.0;
        step.mul_f64(jitter)
    }

    async fn attempt(
        &self,
        request: &ChatRequest,
        chunks: &async_mpsc::UnboundedSender<Result<Chunk, LlmError>>,
        sent_text: &mut bool,
    ) -> Result<(), Failure> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let body = upstream_body(&self.config.model, request);
        let mut call = self.http.post(&url).json(&body);
        if let Some(key) = &self.config.api_key {
            call = call.bearer_auth(key);
        }
        let mut response =
            match tokio::time::timeout(self.config.first_byte_timeout, call.send()).await {
                Err(_) => {
                    return Err(Failure::Retry {
                        reason: format!("no answer within {:?}", self.config.first_byte_timeout),
                        after: None,
                    });
                }
                Ok(Err(e)) if e.is_connect() || e.is_timeout() || e.is_request() => {
                    return Err(Failure::Retry {
                        reason: format!("cannot reach {url}: {e}"),
                        after: None,
                    });
                }
                Ok(Err(e)) => {
                    return Err(Failure::Fatal(LlmError::Upstream(format!(
                        "calling {url}: {e}"
                    ))));
                }
                Ok(Ok(response)) => response,
            };
        let status = response.status();
        if !status.is_success() {
            let after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64);
            let text = tokio::time::timeout(self.config.idle_timeout, response.text())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v.pointer("/error/message")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| text.chars().take(300).collect());
            let reason = format!("{} {}", status.as_u16(), message);
            return match status.as_u16() {
                429 | 500.. => Err(Failure::Retry { reason, after }),
                // The caller's own request did not suit the upstream: that
                // is the caller's to fix, in the upstream's words.
                400 | 413 | 422 if request.caller.is_some() => Err(Failure::Fatal(
                    LlmError::Invalid(format!("the upstream refused the request: {message}")),
                )),
                _ => Err(Failure::Fatal(LlmError::Upstream(format!(
                    "the upstream refused the request: {reason}"
                )))),
            };
        }

        let mut events = SseBuffer::default();
        let mut usage = None;
        let mut finish = None;
        loop {
            let piece = match tokio::time::timeout(self.config.idle_timeout, response.chunk()).await
            {
                Err(_) => {
                    return Err(Failure::Retry {
                        reason: format!("the stream stalled for {:?}", self.config.idle_timeout),
                        after: None,
                    });
                }
                Ok(Err(e)) => {
                    return Err(Failure::Retry {
                        reason: format!("the stream broke: {e}"),
                        after: None,
                    });
                }
                Ok(Ok(piece)) => piece,
            };
            let Some(bytes) = piece else {
                return Err(Failure::Retry {
                    reason: "the stream ended before [DONE]".into(),
                    after: None,
                });
            };
            for data in events.push(&bytes) {
                if data == "[DONE]" {
                    let usage = usage.ok_or_else(|| {
                        Failure::Fatal(LlmError::Upstream(
                            "the upstream did not report token usage (stream_options.include_usage); the call cannot be metered".into(),
                        ))
                    })?;
                    let _ = chunks.send(Ok(Chunk::Done {
                        usage,
                        finish: finish.unwrap_or(FinishReason::Stop),
                    }));
                    return Ok(());
                }
                let event: Value = serde_json::from_str(&data).map_err(|e| {
                    Failure::Fatal(LlmError::Upstream(format!(
                        "the upstream sent malformed stream data ({e}): {}",
                        data.chars().take(120).collect::<String>()
                    )))
                })?;
                if let Some(message) = event.pointer("/error/message").and_then(Value::as_str) {
                    return Err(Failure::Fatal(LlmError::Upstream(format!(
                        "the upstream failed: {message}"
                    ))));
                }
                let mut pieces = Vec::new();
                if let Some(text) = event
                    .pointer("/choices/0/delta/content")
                    .and_then(Value::as_str)
                    && !text.is_empty()
                {
                    pieces.push(Chunk::Text(text.to_owned()));
                }
                if let Some(calls) = event
                    .pointer("/choices/0/delta/tool_calls")
                    .and_then(Value::as_array)
                    && !calls.is_empty()
                {
                    pieces.push(Chunk::ToolCalls(calls.clone()));
                }
                for piece in pieces {
                    *sent_text = true;
                    if chunks.send(Ok(piece)).is_err() {
                        // The caller went away: stop reading (dropping the response closes it).
                        return Ok(());
                    }
                }
                if let Some(reason) = event
                    .pointer("/choices/0/finish_reason")
                    .and_then(Value::as_str)
                {
                    finish = Some(FinishReason::parse(reason));
                }
                if let Some(u) = event.get("usage").filter(|u| !u.is_null()) {
                    let count = |pointer: &str| u.pointer(pointer).and_then(Value::as_u64);
                    usage = Some(Usage {
                        input_tokens: count("/prompt_tokens").unwrap_or(0),
                        cached_input_tokens: count("/prompt_tokens_details/cached_tokens")
                            .unwrap_or(0),
                        output_tokens: count("/completion_tokens").unwrap_or(0),
                    });
                }
            }
            if events.overflowed() {
                return Err(Failure::Fatal(LlmError::Upstream(
                    "the upstream sent an SSE event larger than 1 MiB".into(),
                )));
            }
        }
    }
}

/// Splits a byte stream into the `data` of server-sent events.
#[derive(Default)]
struct SseBuffer {
    pending: Vec<u8>,
}

impl SseBuffer {
    const MAX_EVENT: usize = 1 << 20;

    /// Adds bytes; returns the data of every event now complete.
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some((end, gap)) = find_event_end(&self.pending) {
            let event: Vec<u8> = self.pending.drain(..end + gap).take(end).collect();
            let text = String::from_utf8_lossy(&event);
            let data: Vec<&str> = text
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if !data.is_empty() {
                out.push(data.join("\n"));
            }
        }
        out
    }

    fn overflowed(&self) -> bool {
        self.pending.len() > Self::MAX_EVENT
    }
}

/// Where the first event ends, and how long the blank line after it is.
fn find_event_end(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let crlf = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_are_split_across_chunk_boundaries() {
        let mut sse = SseBuffer::default();
        assert!(sse.push(b"data: {\"a\"").is_empty());
        assert_eq!(
            sse.push(b": 1}\n\ndata: [DO"),
            vec!["{\"a\": 1}".to_owned()]
        );
        assert_eq!(
            sse.push(b"NE]\r\n\r\n: comment\n\n"),
            vec!["[DONE]".to_owned()]
        );
        assert!(sse.pending.is_empty());
    }
}
