//! The OpenAI-compatible provider against an upstream that misbehaves on
//! purpose: a double stands in, because a real server cannot be made to fail
//! on cue. Every fault must end as a retry or a clear error, never a hang.

#![expect(clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};
use tutti_llm::{
    ChatRequest, Chunk, FinishReason, LlmError, Message, OpenAiConfig, OpenAiProvider, Speaker,
};

type Calls = Arc<Mutex<HashMap<String, usize>>>;

fn sse(events: &[Value]) -> String {
    let mut out: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    out.push_str("data: [DONE]\n\n");
    out
}

fn delta(text: &str) -> Value {
    json!({ "choices": [{ "index": 0, "delta": { "content": text }, "finish_reason": null }] })
}

fn usage() -> Value {
    json!({ "choices": [], "usage": { "prompt_tokens": 12, "completion_tokens": 3, "prompt_tokens_details": { "cached_tokens": 4 } } })
}

fn good_answer() -> String {
    sse(&[
        delta("Guten "),
        delta("Morgen"),
        delta("!"),
        json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }] }),
        usage(),
    ])
}

/// A body that sends `parts` and then, if `hang`, never ends.
fn streamed(parts: Vec<String>, hang: bool) -> Body {
    let stream =
        futures_util::stream::unfold((parts.into_iter(), hang), |(mut parts, hang)| async move {
            match parts.next() {
                Some(part) => Some((Ok::<_, std::io::Error>(Bytes::from(part)), (parts, hang))),
                None if hang => std::future::pending().await,
                None => None,
            }
        });
    Body::from_stream(stream)
}

async fn upstream(
    State(calls): State<Calls>,
    Path(scenario): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let call = {
        let mut calls = calls.lock().unwrap();
        let n = calls.entry(scenario.clone()).or_default();
        *n += 1;
        *n
    };
    if body.pointer("/stream_options/include_usage") != Some(&json!(true))
        || body["stream"] != json!(true)
    {
        return (
            StatusCode::BAD_REQUEST,
            "tutti must always stream and ask for usage",
        )
            .into_response();
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sk-test") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": { "message": "bad key" } })),
        )
            .into_response();
    }
    let stream_ok = || ([("content-type", "text/event-stream")], good_answer()).into_response();
    match scenario.as_str() {
        "ok" => stream_ok(),
        "flaky" if call <= 2 => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        "flaky" => stream_ok(),
        "busy" if call == 1 => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({ "error": { "message": "slow down" } })),
        )
            .into_response(),
        "busy" => stream_ok(),
        "refuse" => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": { "message": "model `x` does not exist" } })),
        )
            .into_response(),
        "always-500" => (StatusCode::BAD_GATEWAY, "down").into_response(),
        "hang" => std::future::pending().await,
        "stall" => (
            [("content-type", "text/event-stream")],
            streamed(vec![format!("data: {}\n\n", delta("Hal"))], true),
        )
            .into_response(),
        "cut" => (
            [("content-type", "text/event-stream")],
            streamed(vec![format!("data: {}\n\n", delta("Hal"))], false),
        )
            .into_response(),
        "garbage" => (
            [("content-type", "text/event-stream")],
            "data: {this is not json\n\n",
        )
            .into_response(),
        "no-usage" => (
            [("content-type", "text/event-stream")],
            sse(&[delta("Hallo")]),
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

struct Upstream {
    base: String,
    calls: Calls,
}

impl Upstream {
    async fn start() -> Self {
        let calls: Calls = Arc::default();
        let app = Router::new()
            .route("/{scenario}/v1/chat/completions", post(upstream))
            .with_state(calls.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, calls }
    }

    fn provider(&self, scenario: &str) -> OpenAiProvider {
        let mut config = OpenAiConfig::new(format!("{}/{scenario}/v1", self.base), "test-model");
        config.api_key = Some("sk-test".into());
        config.first_byte_timeout = Duration::from_millis(300);
        config.idle_timeout = Duration::from_millis(300);
        config.max_retries = 2;
        config.backoff = Duration::from_millis(20);
        config.max_backoff = Duration::from_secs(2);
        OpenAiProvider::new(config).unwrap()
    }

    fn calls(&self, scenario: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .get(scenario)
            .copied()
            .unwrap_or(0)
    }
}

fn hello() -> ChatRequest {
    ChatRequest::new(vec![Message::new(Speaker::User, "Sag hallo.")], 16)
}

async fn run(
    upstream: &Upstream,
    scenario: &str,
) -> Result<(String, tutti_llm::Usage, FinishReason), LlmError> {
    // No fault may hang: the whole call is bounded.
    tokio::time::timeout(
        Duration::from_secs(10),
        upstream.provider(scenario).chat(hello()).text(),
    )
    .await
    .unwrap_or_else(|_| panic!("{scenario}: the call hung"))
}

#[tokio::test]
async fn a_good_stream_yields_text_and_the_upstreams_usage() {
    let upstream = Upstream::start().await;
    let mut completion = upstream.provider("ok").chat(hello());
    let mut pieces = Vec::new();
    while let Some(chunk) = completion.next().await {
        match chunk.unwrap() {
            Chunk::Text(t) => pieces.push(t),
            Chunk::ToolCalls(calls) => panic!("no tools were offered: {calls:?}"),
            Chunk::Done { usage, finish } => {
                assert_eq!(
                    (
                        usage.input_tokens,
                        usage.cached_input_tokens,
                        usage.output_tokens
                    ),
                    (12, 4, 3)
                );
                assert_eq!(finish, FinishReason::Stop);
                break;
            }
        }
    }
    assert_eq!(pieces, ["Guten ", "Morgen", "!"]);
}

#[tokio::test]
async fn server_errors_are_retried_until_they_pass() {
    let upstream = Upstream::start().await;
    let (text, _, _) = run(&upstream, "flaky").await.unwrap();
    assert_eq!(text, "Guten Morgen!");
    assert_eq!(upstream.calls("flaky"), 3);
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() {
    let upstream = Upstream::start().await;
    let started = Instant::now();
    run(&upstream, "busy").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(upstream.calls("busy"), 2);
}

#[tokio::test]
async fn faults_end_in_clear_errors() {
    let upstream = Upstream::start().await;
    let cases = [
        ("refuse", "does not exist", 1),
        ("always-500", "failed 3 times", 3),
        ("hang", "no answer within", 3),
        ("stall", "mid-answer", 1),
        ("cut", "mid-answer", 1),
        ("garbage", "malformed", 1),
        ("no-usage", "did not report token usage", 1),
    ];
    for (scenario, says, calls) in cases {
        let err = run(&upstream, scenario).await.unwrap_err();
        assert!(
            matches!(&err, LlmError::Upstream(m) if m.contains(says)),
            "{scenario}: {err:?}"
        );
        assert_eq!(upstream.calls(scenario), calls, "{scenario}");
    }
}

#[tokio::test]
async fn an_unreachable_upstream_is_retried_then_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let mut config = OpenAiConfig::new(format!("http://{address}/v1"), "m");
    config.max_retries = 1;
    config.backoff = Duration::from_millis(10);
    let err = OpenAiProvider::new(config)
        .unwrap()
        .chat(hello())
        .text()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LlmError::Upstream(m) if m.contains("cannot reach") && m.contains("2 times")),
        "{err:?}"
    );
}
