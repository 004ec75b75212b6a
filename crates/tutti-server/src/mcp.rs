//! The MCP server: tutti's work, as tools an agent knows how to call.
//!
//! Built on the official Rust SDK (`rmcp`). Each tool is one call of the
//! REST API (`/api/v1`), made with the agent's own bearer token, so a tool
//! is authorised, validated and audited exactly as that call is: an AI
//! worker can do nothing through MCP that its token could not do through
//! the API. Over Streamable HTTP (`/mcp`, mounted in the router) the call
//! goes to the router in the same process ([`InProcess`]); over stdio
//! (`tutti mcp`) the CLI sends it to the server over HTTP, through the same
//! [`McpServer`].
//!
//! `/mcp` is stateless: every request carries the token and is answered on
//! its own (no session ties a tool call to an earlier one), so any number
//! of tutti processes can serve it. A request without a known token gets a
//! 401 with `WWW-Authenticate` pointing at the protected-resource metadata
//! (RFC 9728, `/.well-known/oauth-protected-resource`); a browser's
//! `Origin` other than the server's own is refused.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::handler::server::common::schema_for_type;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower::ServiceExt;
use tutti_store::Store;
use uuid::Uuid;

use crate::{AppState, auth};

/// One call of the REST API under `/api/v1`: its status and JSON body.
pub trait ApiCall: Clone + Send + Sync + 'static {
    /// Calls `method path` with `body`, authorised by `authorization` (the
    /// header the agent sent, over HTTP) or the caller's own token (stdio).
    fn call(
        &self,
        authorization: Option<HeaderValue>,
        method: Method,
        path: String,
        body: Option<Value>,
    ) -> impl Future<Output = Result<(StatusCode, Value), String>> + Send;
}

/// The REST API in this process: the router's `/api/v1`, called without a
/// network hop.
#[derive(Clone)]
pub struct InProcess {
    api: axum::Router,
}

impl InProcess {
    pub fn new<S: Store>(state: AppState<S>) -> Self {
        Self {
            api: axum::Router::new()
                .nest("/api/v1", crate::api::routes::<S>())
                .with_state(state),
        }
    }
}

impl ApiCall for InProcess {
    async fn call(
        &self,
        authorization: Option<HeaderValue>,
        method: Method,
        path: String,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"));
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .map_err(|e| e.to_string())?;
        let response = self
            .api
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .map_err(|e| e.to_string())?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| e.to_string())?
        };
        Ok((status, value))
    }
}

/// tutti's MCP server over any way of reaching the API.
#[derive(Clone)]
pub struct McpServer<A: ApiCall> {
    api: A,
}

impl<A: ApiCall> McpServer<A> {
    pub fn new(api: A) -> Self {
        Self { api }
    }
}

// The tools' arguments. Their doc comments are the descriptions an agent's
// model reads, so they say what to pass and why.

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoArguments {}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WorkItemArgument {
    /// The work item's id (from list_my_work).
    work_item_id: Uuid,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ClaimArguments {
    /// The item whose waiting run to claim; without it, your oldest waiting run.
    #[serde(default)]
    work_item_id: Option<Uuid>,
    /// How long your claim lasts without a progress report: 30 to 3600 seconds, default 300.
    #[serde(default)]
    lease_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ProgressArguments {
    /// The run you claimed.
    run_id: Uuid,
    /// What you did so far, for the people following the work. Without it the claim is only renewed.
    #[serde(default)]
    note: Option<String>,
    /// Renew the claim for this long: 30 to 3600 seconds, default 300.
    #[serde(default)]
    lease_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AttachmentArgument {
    name: String,
    text: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SubmitArguments {
    /// The run you claimed.
    run_id: Uuid,
    /// Your result, as the reviewer will read it.
    text: String,
    /// Links to what you made (a pull request, a document), http(s) only, at most 20.
    #[serde(default)]
    links: Vec<String>,
    /// Texts to attach (a file's content, a log), at most 10.
    #[serde(default)]
    attachments: Vec<AttachmentArgument>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReleaseArguments {
    /// The run you claimed.
    run_id: Uuid,
    /// Why you give it back, for the person who picks it up.
    reason: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ProposalArgument {
    /// One of the options, as written.
    option: String,
    rationale: String,
    /// 0 to 1.
    confidence: f64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AskDecisionArguments {
    /// The decision space to ask in (from list_decision_spaces); its policy says whether you may decide, only prepare, or must leave it to people.
    space_id: Uuid,
    question: String,
    #[serde(default)]
    context: String,
    /// 2 to 10 options.
    options: Vec<String>,
    /// The facts the policy judges: {"amount": "1200.00" or 1200, "currency": "EUR" (optional), "risk": "low"|"medium"|"high", "reversible": bool, "customer_facing": bool, "attributes": {...} (what the space declares)}.
    facts: Value,
    /// The run this came up in.
    #[serde(default)]
    run_id: Option<Uuid>,
    /// Your recommendation (or your choice, where the space lets you decide).
    #[serde(default)]
    proposal: Option<ProposalArgument>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DecisionArgument {
    /// The decision's id (from ask_decision).
    decision_id: Uuid,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CheckInArguments {
    key_result_id: Uuid,
    /// The key result's new value.
    value: f64,
    /// How sure the target will be met, 0 to 10.
    confidence: i64,
    #[serde(default)]
    note: String,
}

/// Whether a tool only reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    Reads,
    Writes,
}

/// A tool: its name, what it does, its arguments' schema, and whether it
/// changes anything.
struct ToolSpec {
    name: &'static str,
    description: &'static str,
    schema: fn() -> Arc<JsonObject>,
    effect: Effect,
}

const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "get_me",
        description: "Who you are in tutti: your member record (name, kind, role, teams, whether you are an external worker).",
        schema: schema_for_type::<NoArguments>,
        effect: Effect::Reads,
    },
    ToolSpec {
        name: "list_my_work",
        description: "The open work assigned to you, each item with its latest run. A run `queued` waits for you to claim it (claim_work); `running` is claimed.",
        schema: schema_for_type::<NoArguments>,
        effect: Effect::Reads,
    },
    ToolSpec {
        name: "get_work_item",
        description: "A work item's brief: the item, the key result and objective it serves (why it matters), the work order you are to follow (run.role_card is who you are, run.work_order the task with its why and the principles that hold; a revision ends with the reviewer's feedback), progress notes and reviews so far.",
        schema: schema_for_type::<WorkItemArgument>,
        effect: Effect::Reads,
    },
    ToolSpec {
        name: "claim_work",
        description: "Claim a waiting run of your work, with a lease (default 5 minutes). Renew it with report_progress while you work; if it runs out, the run goes back to the queue. Returns the run (with its work order) or run: null when nothing waits.",
        schema: schema_for_type::<ClaimArguments>,
        effect: Effect::Writes,
    },
    ToolSpec {
        name: "report_progress",
        description: "Tell the people following the work what you did so far, and renew your claim. Call it at least once per lease.",
        schema: schema_for_type::<ProgressArguments>,
        effect: Effect::Writes,
    },
    ToolSpec {
        name: "submit_result",
        description: "Hand in your result for a claimed run. A person reviews it: accepted, sent back with feedback (a new run waits for you to claim, its work order ending with the feedback), or rejected.",
        schema: schema_for_type::<SubmitArguments>,
        effect: Effect::Writes,
    },
    ToolSpec {
        name: "release_work",
        description: "Give a claimed run back with the reason (you cannot do it, it needs a person, it is blocked). The item returns to people, ready and unassigned.",
        schema: schema_for_type::<ReleaseArguments>,
        effect: Effect::Writes,
    },
    ToolSpec {
        name: "list_decision_spaces",
        description: "The decision spaces of the org: their scope, principles and the attributes their policy judges.",
        schema: schema_for_type::<NoArguments>,
        effect: Effect::Reads,
    },
    ToolSpec {
        name: "ask_decision",
        description: "Raise a decision in a decision space, with options and the facts its policy judges. The space's policy routes it: you decide (if it lets you), you prepare it for people, or people decide alone. You never decide beyond your space.",
        schema: schema_for_type::<AskDecisionArguments>,
        effect: Effect::Writes,
    },
    ToolSpec {
        name: "get_decision",
        description: "A decision with its routing, status, votes and trail: whether it waits for people, was approved or rejected.",
        schema: schema_for_type::<DecisionArgument>,
        effect: Effect::Reads,
    },
    ToolSpec {
        name: "list_objectives",
        description: "The org's objectives with their key results and progress: what the work is for.",
        schema: schema_for_type::<NoArguments>,
        effect: Effect::Reads,
    },
    ToolSpec {
        name: "check_in",
        description: "Record a key result's new value and your confidence, where your role allows it.",
        schema: schema_for_type::<CheckInArguments>,
        effect: Effect::Writes,
    },
    ToolSpec {
        name: "get_budget",
        description: "The budgets that hold your model calls, with what is used and left in this window.",
        schema: schema_for_type::<NoArguments>,
        effect: Effect::Reads,
    },
];

/// A tool call refused before it reached the API: its arguments.
fn arguments<T: DeserializeOwned>(arguments: Option<JsonObject>) -> Result<T, String> {
    let value = Value::Object(arguments.unwrap_or_default());
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("invalid arguments: {}", e.inner())
        } else {
            format!("invalid argument `{path}`: {}", e.inner())
        }
    })
}

/// The API call a tool makes: method, path and body.
fn api_call_of(
    name: &str,
    args: Option<JsonObject>,
) -> Result<(Method, String, Option<Value>), String> {
    Ok(match name {
        "get_me" => {
            arguments::<NoArguments>(args)?;
            (Method::GET, "/me".into(), None)
        }
        "list_my_work" => {
            arguments::<NoArguments>(args)?;
            (Method::GET, "/me/work".into(), None)
        }
        "get_work_item" => {
            let a: WorkItemArgument = arguments(args)?;
            (
                Method::GET,
                format!("/work-items/{}/brief", a.work_item_id),
                None,
            )
        }
        "claim_work" => {
            let a: ClaimArguments = arguments(args)?;
            (
                Method::POST,
                "/runs/claim".into(),
                Some(json!({ "work_item_id": a.work_item_id, "lease_seconds": a.lease_seconds })),
            )
        }
        "report_progress" => {
            let a: ProgressArguments = arguments(args)?;
            (
                Method::POST,
                format!("/runs/{}/progress", a.run_id),
                Some(json!({ "note": a.note, "lease_seconds": a.lease_seconds })),
            )
        }
        "submit_result" => {
            let a: SubmitArguments = arguments(args)?;
            let attachments: Vec<Value> = a
                .attachments
                .into_iter()
                .map(|x| json!({ "name": x.name, "text": x.text }))
                .collect();
            (
                Method::POST,
                format!("/runs/{}/result", a.run_id),
                Some(json!({ "text": a.text, "links": a.links, "attachments": attachments })),
            )
        }
        "release_work" => {
            let a: ReleaseArguments = arguments(args)?;
            (
                Method::POST,
                format!("/runs/{}/release", a.run_id),
                Some(json!({ "reason": a.reason })),
            )
        }
        "list_decision_spaces" => {
            arguments::<NoArguments>(args)?;
            (Method::GET, "/decision-spaces?limit=200".into(), None)
        }
        "ask_decision" => {
            let a: AskDecisionArguments = arguments(args)?;
            let proposal = a.proposal.map(|p| {
                json!({ "option": p.option, "rationale": p.rationale, "confidence": p.confidence })
            });
            (
                Method::POST,
                "/decisions".into(),
                Some(json!({
                    "space_id": a.space_id, "question": a.question, "context": a.context,
                    "options": a.options, "facts": a.facts, "run_id": a.run_id, "proposal": proposal,
                })),
            )
        }
        "get_decision" => {
            let a: DecisionArgument = arguments(args)?;
            (Method::GET, format!("/decisions/{}", a.decision_id), None)
        }
        "list_objectives" => {
            arguments::<NoArguments>(args)?;
            (Method::GET, "/objectives?tree=true".into(), None)
        }
        "check_in" => {
            let a: CheckInArguments = arguments(args)?;
            (
                Method::POST,
                format!("/key-results/{}/check-ins", a.key_result_id),
                Some(json!({ "value": a.value, "confidence": a.confidence, "note": a.note })),
            )
        }
        "get_budget" => {
            arguments::<NoArguments>(args)?;
            (Method::GET, "/me/budgets".into(), None)
        }
        other => return Err(format!("there is no tool `{other}`")),
    })
}

/// A refusal as an agent can act on it: what kind of refusal, the API's
/// words, and the field they concern.
fn refusal_text(status: StatusCode, problem: &Value) -> String {
    let kind = match status {
        StatusCode::UNAUTHORIZED => "not signed in (send your tutti token as Bearer)",
        StatusCode::FORBIDDEN => "not allowed",
        StatusCode::NOT_FOUND => "not found",
        StatusCode::CONFLICT => "not possible now",
        StatusCode::PAYMENT_REQUIRED => "budget exhausted",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "invalid input",
        _ => "failed",
    };
    let detail = problem
        .get("detail")
        .and_then(Value::as_str)
        .or_else(|| problem.get("title").and_then(Value::as_str))
        .unwrap_or("");
    match problem.get("field").and_then(Value::as_str) {
        Some(field) => format!("{kind} ({}): {field}: {detail}", status.as_u16()),
        None => format!("{kind} ({}): {detail}", status.as_u16()),
    }
}

impl<A: ApiCall> McpServer<A> {
    async fn call(
        &self,
        request: CallToolRequestParams,
        authorization: Option<HeaderValue>,
    ) -> CallToolResult {
        let name = request.name.to_string();
        let (method, path, body) = match api_call_of(&name, request.arguments) {
            Ok(call) => call,
            Err(message) => return CallToolResult::error(vec![ContentBlock::text(message)]),
        };
        match self.api.call(authorization, method, path, body).await {
            Ok((status, value)) if status.is_success() => {
                tracing::info!(target: "tutti::mcp", tool = name, status = status.as_u16(), "tool call");
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                CallToolResult::success(vec![ContentBlock::text(text)])
            }
            Ok((status, problem)) => {
                tracing::info!(target: "tutti::mcp", tool = name, status = status.as_u16(), "tool call refused");
                CallToolResult::error(vec![ContentBlock::text(refusal_text(status, &problem))])
            }
            Err(e) => {
                tracing::warn!(target: "tutti::mcp", tool = name, "tool call failed: {e}");
                CallToolResult::error(vec![ContentBlock::text(format!(
                    "tutti could not be reached: {e}"
                ))])
            }
        }
    }
}

impl<A: ApiCall> ServerHandler for McpServer<A> {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("tutti", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "tutti hands you work as an AI worker of a team. list_my_work shows what is yours; \
                 get_work_item gives the work order with why it matters and the principles you work by; \
                 claim_work takes a run, report_progress keeps your claim alive, submit_result hands the \
                 result to a person for review (revisions come back as new runs to claim), release_work \
                 gives it back. Decisions beyond your space go to people: ask_decision.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            TOOLS.iter().map(tool_of).collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        TOOLS.iter().find(|t| t.name == name).map(tool_of)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        // Over HTTP the agent's own Authorization header; over stdio none,
        // and the API caller sends the token it was started with.
        let authorization = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.headers.get(header::AUTHORIZATION).cloned());
        Ok(self.call(request, authorization).await.into())
    }
}

fn tool_of(spec: &ToolSpec) -> Tool {
    let mut annotations = ToolAnnotations::default();
    annotations.read_only_hint = Some(spec.effect == Effect::Reads);
    annotations.open_world_hint = Some(false);
    let mut tool = Tool::new(
        Cow::Borrowed(spec.name),
        Cow::Borrowed(spec.description),
        (spec.schema)(),
    );
    tool.annotations = Some(annotations);
    tool
}

/// `/mcp`, Streamable HTTP, stateless, answering in JSON.
pub fn service<S: Store>(
    state: AppState<S>,
) -> rmcp::transport::streamable_http_server::tower::StreamableHttpService<
    McpServer<InProcess>,
    rmcp::transport::streamable_http_server::session::never::NeverSessionManager,
> {
    use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
    let api = InProcess::new(state);
    // Every request is authenticated by its bearer token (see
    // `authenticate`), which a page that rebinds a name to this host cannot
    // send; so any Host is served, as a public deployment needs.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts();
    rmcp::transport::streamable_http_server::tower::StreamableHttpService::new(
        move || Ok(McpServer::new(api.clone())),
        Default::default(),
        config,
    )
}

/// The address this server is reached at, as the request says.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// Guards `/mcp`: a browser's foreign `Origin` is refused (403), a request
/// without a known token gets a 401 that points at the metadata.
pub async fn authenticate<S: Store>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(_, authority)| authority == own);
        if !same {
            return (
                StatusCode::FORBIDDEN,
                "Forbidden: this Origin may not call tutti's MCP server",
            )
                .into_response();
        }
    }
    let known = match auth::bearer_token(headers) {
        Some(token) => matches!(
            state.store.actor_by_token(&auth::hash_token(token)).await,
            Ok(Some(_))
        ),
        None => false,
    };
    if !known {
        let metadata = format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            base_url(headers)
        );
        let challenge = format!(
            "Bearer resource_metadata=\"{metadata}\", error=\"invalid_token\", error_description=\"send an AI worker's tutti token as Bearer\""
        );
        let mut response = (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "error": "invalid_token",
                "error_description": "missing or unknown token: send an AI worker's tutti token (tutti token create) as Bearer",
            })),
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        return response;
    }
    next.run(request).await
}

/// RFC 9728 protected-resource metadata for `/mcp`. tutti issues its own
/// tokens (`tutti token create`, the cockpit's people page); it names no
/// OAuth authorization server.
pub async fn resource_metadata(headers: HeaderMap) -> Json<Value> {
    let base = base_url(&headers);
    Json(json!({
        "resource": format!("{base}/mcp"),
        "resource_name": "tutti",
        "bearer_methods_supported": ["header"],
        "resource_documentation": format!("{base}/api/v1/openapi.json"),
    }))
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_and_maps_to_a_call() {
        for spec in TOOLS {
            let schema = (spec.schema)();
            assert_eq!(schema.get("type"), Some(&json!("object")), "{}", spec.name);
        }
        let (method, path, _) = api_call_of(
            "get_work_item",
            Some(
                json!({ "work_item_id": "0190b6d1-0000-7000-8000-000000000000" })
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .unwrap();
        assert_eq!(method, Method::GET);
        assert_eq!(
            path,
            "/work-items/0190b6d1-0000-7000-8000-000000000000/brief"
        );
    }

    #[test]
    fn bad_arguments_name_the_argument() {
        let refused = api_call_of(
            "submit_result",
            Some(
                json!({ "run_id": "nope", "text": "x" })
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .unwrap_err();
        assert!(refused.contains("`run_id`"), "{refused}");
        let unknown = api_call_of("approve", None).unwrap_err();
        assert!(unknown.contains("no tool `approve`"), "{unknown}");
    }
}
