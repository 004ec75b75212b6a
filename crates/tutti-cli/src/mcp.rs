//! `tutti mcp`: tutti's MCP server on stdin and stdout, for agents that
//! spawn their tools (Claude Code, Codex, Cursor). The tools are the same as
//! at `/mcp` (`tutti_server::mcp`); each calls the REST API of the server
//! at `--server` with the token in `TUTTI_TOKEN`, so nothing here holds a
//! rule or touches a database. Logs go to stderr: stdout is the protocol's.

use anyhow::{Context, anyhow};
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use rmcp::ServiceExt;
use serde_json::Value;
use tutti_server::mcp::{ApiCall, McpServer};

use crate::cli::Remote;

/// The REST API of a tutti server, over HTTP with one token.
#[derive(Clone)]
struct RemoteApi {
    http: reqwest::Client,
    server: String,
    token: String,
}

impl ApiCall for RemoteApi {
    async fn call(
        &self,
        _authorization: Option<HeaderValue>,
        method: reqwest::Method,
        path: String,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), String> {
        let url = format!("{}/api/v1{path}", self.server.trim_end_matches('/'));
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("cannot reach tutti at {}: {e}", self.server))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }
}

/// Serves MCP on stdio until the agent closes stdin.
pub async fn serve(remote: &Remote) -> anyhow::Result<std::process::ExitCode> {
    let token = remote
        .token
        .clone()
        .ok_or_else(|| anyhow!("no token: set TUTTI_TOKEN to the AI worker's tutti token"))?;
    let api = RemoteApi {
        http: reqwest::Client::new(),
        server: remote.server.clone(),
        token,
    };
    let service = McpServer::new(api)
        .serve(rmcp::transport::stdio())
        .await
        .context("starting the MCP server on stdio")?;
    service.waiting().await.context("serving MCP on stdio")?;
    Ok(std::process::ExitCode::SUCCESS)
}
