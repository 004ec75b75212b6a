//! The OpenAI-compatible gateway under `/v1`: external agents call models as
//! AI members of the org, metered into the same ledger and held to the same
//! budgets as the engine's runs.
//!
//! This module speaks OpenAI's wire format: it authenticates an AI member's
//! token, parses the request, and renders answers, streams and errors in
//! OpenAI's shapes. A request is passed on whole: every parameter the caller
//! sends reaches an OpenAI-compatible upstream as sent (tools and all), and
//! tool calls come back as the upstream made them; the embedded model
//! honours what it can and refuses the rest with a 400 naming the parameter.
//! Nothing is dropped silently. Which model the member may use, the reservation and the
//! settlement are the engine's (`tutti_engine::metered`). The call runs in a
//! task of its own, so a client that hangs up mid-way still leaves a settled
//! ledger.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tutti_domain::org::MemberKind;
use tutti_engine::metered::{self, Caller, Refusal};
use tutti_llm::{CallerRequest, ChatRequest, Chunk, LlmError, Message, Speaker, Usage};
use tutti_store::StoreError;
use tutti_store::prelude::*;
use uuid::Uuid;

use crate::{AppState, auth};

/// The answer's length when a call does not say.
const DEFAULT_MAX_TOKENS: u32 = 512;
/// The longest answer a call may ask for: a run's limit.
const MAX_TOKENS_LIMIT: u32 = tutti_domain::labour::MaxTokens::LIMIT as u32;

pub fn routes<S: Store>() -> axum::Router<AppState<S>> {
    axum::Router::new()
        .route("/chat/completions", post(chat::<S>))
        .route("/models", get(models::<S>))
}

/// An error in OpenAI's shape.
#[derive(Debug)]
pub struct GatewayError {
    status: StatusCode,
    kind: &'static str,
    code: Option<&'static str>,
    /// The request parameter at fault, where one is.
    param: Option<String>,
    message: String,
}

impl GatewayError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        code: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            param: None,
            message: message.into(),
        }
    }

    /// A 400 naming the parameter at fault.
    fn at(param: impl Into<String>, message: impl Into<String>) -> Self {
        let param = param.into();
        Self {
            param: Some(param.clone()),
            ..Self::invalid(format!("{param}: {}", message.into()))
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            message,
        )
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "message": self.message, "type": self.kind, "param": self.param, "code": self.code } });
        (self.status, Json(body)).into_response()
    }
}

impl From<Refusal> for GatewayError {
    fn from(refusal: Refusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            Refusal::NoProvider => Self::invalid(message),
            Refusal::NotAllowed(_) => Self::new(
                StatusCode::FORBIDDEN,
                "permission_error",
                Some("model_not_allowed"),
                message,
            ),
            Refusal::UnknownModel(_) => Self::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("model_not_found"),
                message,
            ),
            Refusal::Budget(_) => Self::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_quota",
                Some("budget_exhausted"),
                message,
            ),
            Refusal::Model(e) => upstream_error(&e),
            Refusal::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for GatewayError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::BudgetRefused { message, .. } => Self::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_quota",
                Some("budget_exhausted"),
                message,
            ),
            StoreError::Invalid(invalid) => Self::invalid(invalid.to_string()),
            other => {
                tracing::error!(cause = %other, "gateway call failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    None,
                    "something went wrong on our side; it has been logged",
                )
            }
        }
    }
}

async fn caller<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
) -> Result<Caller, GatewayError> {
    let unauthorized = || {
        GatewayError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "missing or unknown API key (send an AI member's tutti token as Bearer)",
        )
    };
    let token = auth::bearer_token(headers).ok_or_else(unauthorized)?;
    let holder = state
        .store
        .token_holder(&auth::hash_token(token))
        .await?
        .ok_or_else(unauthorized)?;
    if holder.kind != MemberKind::Ai {
        return Err(GatewayError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            None,
            "the gateway is for AI members; create a token for an AI worker of the org",
        ));
    }
    Ok(Caller {
        org_id: holder.org_id,
        member_id: holder.member_id,
        provider: holder.provider,
        model: holder.model,
        external: holder.external,
        run_id: served_run(headers)?,
    })
}

/// The run an external agent says its call serves (`X-Tutti-Run: <run
/// id>`); the store checks that the agent holds it, and charges the call
/// to no run when it does not.
fn served_run(headers: &HeaderMap) -> Result<Option<uuid::Uuid>, GatewayError> {
    let Some(value) = headers.get("x-tutti-run") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| {
            GatewayError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                "X-Tutti-Run must be the id of a run this agent holds",
            )
        })
}

/// The org's models the caller may use: those of its own provider.
async fn models<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Result<Json<Value>, GatewayError> {
    let caller = caller(&state, &headers).await?;
    let data: Vec<Value> = state
        .store
        .models(caller.org_id)
        .await?
        .into_iter()
        .filter(|(provider, _)| Some(provider) == caller.provider.as_ref())
        .map(|(provider, model)| json!({ "id": model.name, "object": "model", "created": 0, "owned_by": provider }))
        .collect();
    Ok(Json(json!({ "object": "list", "data": data })))
}

/// The parameters tutti reads itself; every other field of the request is
/// kept as sent (`CallerRequest::fields`).
#[derive(Debug, Deserialize)]
struct ChatBody {
    model: String,
    messages: Vec<InMessage>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    seed: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Debug, Deserialize)]
struct InMessage {
    role: String,
    #[serde(default)]
    content: Option<Content>,
    /// `tool_calls`, `tool_call_id`, `name` and the like.
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Message content: a string, or a list of parts.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

/// The messages as text, for the embedded model and for counting, and where
/// the first message is more than text (an image, audio): then only a
/// provider that takes the caller's messages as sent can serve the call.
/// A tool call and a tool's result are text here: the assistant's call as
/// the JSON it is, the result as a user message that names its call, since
/// the embedded model's chat has no turns of their own for them.
fn messages(input: Vec<InMessage>) -> Result<(Vec<Message>, Option<String>), GatewayError> {
    if input.is_empty() {
        return Err(GatewayError::at("messages", "must not be empty"));
    }
    let mut beyond_text = None;
    let mut out = Vec::with_capacity(input.len());
    for (i, m) in input.into_iter().enumerate() {
        let (role, tool_result) = match m.role.as_str() {
            "system" | "developer" => (Speaker::System, false),
            "user" => (Speaker::User, false),
            "assistant" => (Speaker::Assistant, false),
            "tool" | "function" => (Speaker::User, true),
            other => {
                return Err(GatewayError::at(
                    format!("messages[{i}].role"),
                    format!(
                        "`{other}` is not a role; use system, developer, user, assistant or tool"
                    ),
                ));
            }
        };
        let mut content = match m.content {
            Some(Content::Text(text)) => text,
            Some(Content::Parts(parts)) => {
                let mut text = String::new();
                for (j, part) in parts.into_iter().enumerate() {
                    match (part.kind.as_str(), part.text) {
                        ("text", Some(piece)) => text.push_str(&piece),
                        _ => {
                            beyond_text.get_or_insert(format!("messages[{i}].content[{j}]"));
                        }
                    }
                }
                text
            }
            None if role == Speaker::Assistant => String::new(),
            None => {
                return Err(GatewayError::at(
                    format!("messages[{i}].content"),
                    "is missing",
                ));
            }
        };
        if tool_result {
            let call = ["tool_call_id", "name"]
                .into_iter()
                .find_map(|key| m.rest.get(key).and_then(Value::as_str))
                .unwrap_or("?");
            content = format!("Result of the tool call {call}: {content}");
        }
        let calls = m
            .rest
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|call| call.get("function"))
            .chain(m.rest.get("function_call").filter(|v| !v.is_null()));
        for function in calls {
            let call = json!({ "name": function["name"], "arguments": function["arguments"] });
            if !content.is_empty() {
                content.push('\n');
            }
            content.push_str(&call.to_string());
        }
        out.push(Message::new(role, content));
    }
    Ok((out, beyond_text))
}

/// Reads a Chat Completions request: one JSON object and nothing after it.
/// The fields tutti reads are checked for their types; the object is kept
/// whole for the provider.
fn read_request(body: &[u8]) -> Result<(ChatBody, Map<String, Value>), GatewayError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let fields: Map<String, Value> = Map::deserialize(&mut de)
        .and_then(|fields| de.end().map(|()| fields))
        .map_err(|e| GatewayError::invalid(format!("the body is not one JSON object: {e}")))?;
    let typed: ChatBody = serde_path_to_error::deserialize(Value::Object(fields.clone()))
        .map_err(|e| GatewayError::at(e.path().to_string(), e.inner().to_string()))?;
    Ok((typed, fields))
}

fn usage_json(usage: &Usage) -> Value {
    json!({
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": { "cached_tokens": usage.cached_input_tokens },
    })
}

fn upstream_error(e: &LlmError) -> GatewayError {
    match e {
        LlmError::Invalid(message) => GatewayError::invalid(message.clone()),
        LlmError::Unsupported { param, reason } => GatewayError::at(param.clone(), reason.clone()),
        other => GatewayError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            None,
            other.to_string(),
        ),
    }
}

/// `POST /v1/chat/completions`, streaming or not.
async fn chat<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GatewayError> {
    let caller = caller(&state, &headers).await?;
    let (body, mut fields) = read_request(&body)?;
    let cap_key = if body.max_completion_tokens.is_some() {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    let max_tokens = body
        .max_completion_tokens
        .or(body.max_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    if !(1..=MAX_TOKENS_LIMIT).contains(&max_tokens) {
        return Err(GatewayError::at(
            cap_key,
            format!("must be between 1 and {MAX_TOKENS_LIMIT}"),
        ));
    }
    if body.temperature.is_some_and(|t| !(0.0..=2.0).contains(&t)) {
        return Err(GatewayError::at("temperature", "must be between 0 and 2"));
    }
    let raw_messages = match fields.remove("messages") {
        Some(Value::Array(messages)) => messages,
        _ => Vec::new(),
    };
    for tutti_sets in [
        "model",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
    ] {
        fields.remove(tutti_sets);
    }
    // The cap goes up once, under the caller's own key: the upstream never
    // generates more than the reservation holds.
    if body.max_tokens.is_some() || body.max_completion_tokens.is_some() {
        fields.insert(cap_key.into(), json!(max_tokens));
    }
    let (text_messages, beyond_text) = messages(body.messages)?;
    let mut request = ChatRequest::new(text_messages, max_tokens);
    request.temperature = body.temperature.unwrap_or(0.0);
    // Any seed the client sends maps onto the model's 32-bit seed.
    request.seed = body.seed.map(|s| s.rem_euclid(1 << 32) as u32).unwrap_or(0);
    request.caller = Some(CallerRequest {
        messages: raw_messages,
        fields,
        beyond_text,
    });
    let now = state.clock.now();
    let mut call = metered::open(
        &state.store,
        &state.runtime,
        &caller,
        &body.model,
        request,
        now,
    )
    .await?;
    let id = format!("chatcmpl-{}", Uuid::now_v7().simple());
    let created = now.timestamp();
    let model = call.model.clone();

    if !body.stream {
        // Its own task, so that a client hanging up cannot stop the settlement.
        let answer = tokio::spawn(metered::complete(call))
            .await
            .map_err(|e| {
                GatewayError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    None,
                    format!("the call stopped: {e}"),
                )
            })?
            .map_err(|e| upstream_error(&e))?;
        let mut message = json!({ "role": "assistant", "content": answer.text });
        if !answer.tool_calls.is_empty() {
            if answer.text.is_empty() {
                message["content"] = Value::Null;
            }
            message["tool_calls"] = Value::Array(answer.tool_calls);
        }
        return Ok(Json(json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{ "index": 0, "message": message, "finish_reason": answer.finish.as_str() }],
            "usage": usage_json(&answer.usage),
        }))
        .into_response());
    }

    let include_usage = body.stream_options.is_some_and(|o| o.include_usage);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let event = |value: Value| Bytes::from(format!("data: {value}\n\n"));
        let chunk = |delta: Value, finish: Option<&str>| {
            event(json!({
                "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
            }))
        };
        let mut first = true;
        while let Some(next) = call.next().await {
            match next {
                Ok(piece @ (Chunk::Text(_) | Chunk::ToolCalls(_))) => {
                    let mut delta = match piece {
                        Chunk::Text(text) => json!({ "content": text }),
                        Chunk::ToolCalls(calls) => json!({ "tool_calls": calls }),
                        Chunk::Done { .. } => json!({}),
                    };
                    if first {
                        delta["role"] = json!("assistant");
                    }
                    first = false;
                    if sender.send(chunk(delta, None)).await.is_err() {
                        // The client hung up: stop generating, charge what was made.
                        call.abandon().await;
                        return;
                    }
                }
                Ok(Chunk::Done { usage, finish }) => {
                    let _ = sender.send(chunk(json!({}), Some(finish.as_str()))).await;
                    if include_usage {
                        let _ = sender
                            .send(event(json!({
                                "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                                "choices": [], "usage": usage_json(&usage),
                            })))
                            .await;
                    }
                    let _ = sender.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
                    return;
                }
                Err(e) => {
                    let error = upstream_error(&e);
                    let _ = sender
                        .send(event(json!({ "error": { "message": error.message, "type": error.kind, "param": error.param, "code": error.code } })))
                        .await;
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|bytes| (Ok::<_, std::convert::Infallible>(bytes), receiver))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
