//! External agents through the official MCP Python SDK (`mcp`, from
//! `scripts/python-env`), against the real binary: over Streamable HTTP at
//! `/mcp` and over stdio with `tutti mcp` spawned by the client. The agent's
//! whole loop runs in `mcp_agent.py`; here the org is set up and what the
//! agent saw is judged.

#![expect(clippy::unwrap_used)]

use std::process::Command;

use serde_json::{Value, json};

use crate::common::{self, Server, init, python, serve, sqlite_url};

/// A member of the org, made by the owner, with a token of its own.
async fn member(
    http: &reqwest::Client,
    server: &Server,
    owner: &str,
    body: Value,
) -> (String, String) {
    let call = |path: String, body: Value| {
        http.post(format!("{}/api/v1{path}", server.url))
            .bearer_auth(owner)
            .json(&body)
            .send()
    };
    let made: Value = call("/members".into(), body)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = made["id"].as_str().unwrap().to_owned();
    let token: Value = call(format!("/members/{id}/tokens"), json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (id, token["token"].as_str().unwrap().to_owned())
}

async fn created(
    http: &reqwest::Client,
    server: &Server,
    token: &str,
    path: &str,
    body: Value,
) -> String {
    let response = http
        .post(format!("{}/api/v1{path}", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Runs `tutti` as a client of `server` with `token`; its standard output.
fn tutti(server: &Server, token: &str, args: &[&str]) -> String {
    common::succeeded(&common::tutti(
        args,
        &[("TUTTI_SERVER", &server.url), ("TUTTI_TOKEN", token)],
    ))
}

/// Lindner's sales team: Aylin leads it, Jonas works in it, Codex and Devin
/// are its external agents; the discounts space; an objective of another
/// team; work for Codex and for Jonas. Runs the agent script in `mode`.
async fn an_agents_day(mode: &str) -> Option<Value> {
    let python = python("the MCP client test")?;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let owner = init(&url);
    let server = serve(&url, &[]);
    let http = reqwest::Client::new();
    let team = created(
        &http,
        &server,
        &owner,
        "/teams",
        json!({ "name": "Vertrieb" }),
    )
    .await;
    let other_team = created(
        &http,
        &server,
        &owner,
        "/teams",
        json!({ "name": "Kundenservice" }),
    )
    .await;
    let (aylin, lead) = member(
        &http,
        &server,
        &owner,
        json!({ "name": "Aylin", "email": "aylin@lindner.de", "role": "lead", "teams": [team] }),
    )
    .await;
    http.patch(format!("{}/api/v1/teams/{team}", server.url))
        .bearer_auth(&owner)
        .json(&json!({ "lead_id": aylin }))
        .send()
        .await
        .unwrap();
    let (jonas, _) = member(
        &http,
        &server,
        &owner,
        json!({ "name": "Jonas", "email": "jonas@lindner.de", "teams": [team] }),
    )
    .await;
    // Codex comes in through the CLI, as an admin would add it; Devin
    // through the API.
    let codex = tutti(
        &server,
        &owner,
        &[
            "member",
            "add",
            "--name",
            "Codex",
            "--kind",
            "ai",
            "--external",
            "--team",
            &team,
            "--json",
        ],
    );
    let codex: Value = serde_json::from_str(&codex).unwrap();
    assert_eq!(codex["external"], true, "{codex}");
    let codex = codex["id"].as_str().unwrap().to_owned();
    let codex_token = tutti(&server, &owner, &["member", "token", &codex])
        .trim()
        .to_owned();
    assert!(codex_token.starts_with("tutti_"), "{codex_token}");
    let person = Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args([
            "member",
            "add",
            "--name",
            "Paul",
            "--email",
            "paul@lindner.de",
            "--external",
        ])
        .env("TUTTI_SERVER", &server.url)
        .env("TUTTI_TOKEN", &owner)
        .output()
        .unwrap();
    assert!(!person.status.success(), "a person was made external");
    let said = String::from_utf8_lossy(&person.stderr);
    assert!(said.contains("external"), "{said}");
    let agent =
        |name: &str| json!({ "name": name, "kind": "ai", "external": true, "teams": [team] });
    let (_, devin_token) = member(&http, &server, &owner, agent("Devin")).await;
    let templates: Value = http
        .get(format!("{}/api/v1/decision-spaces/templates", server.url))
        .bearer_auth(&lead)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let space = created(
        &http,
        &server,
        &lead,
        "/decision-spaces",
        json!({ "name": "Rabatte", "team_id": team, "policy": templates["templates"][0]["source"],
                "principles": ["Keine Rabatte über 15 % ohne Rücksprache"] }),
    )
    .await;
    let objective = created(
        &http,
        &server,
        &owner,
        "/objectives",
        json!({ "title": "Störungen schneller beheben", "why": "Damit Kundinnen wiederkommen.", "team_id": other_team,
                "period_start": "2026-10-01", "period_end": "2026-12-31" }),
    )
    .await;
    let key_result = created(
        &http,
        &server,
        &owner,
        &format!("/objectives/{objective}/key-results"),
        json!({ "title": "Reaktionszeit", "baseline": 24.0, "target": 8.0, "unit": "h" }),
    )
    .await;
    let item = created(
        &http,
        &server,
        &lead,
        "/work-items",
        json!({ "title": "Angebot Familie Hoffmann nachfassen", "team_id": team, "assignee_id": codex, "state": "ready" }),
    )
    .await;
    let others = created(
        &http,
        &server,
        &lead,
        "/work-items",
        json!({ "title": "Messestand planen", "team_id": team, "assignee_id": jonas }),
    )
    .await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp_agent.py");
    let output = Command::new(python)
        .args([script, mode])
        .env("TUTTI_URL", &server.url)
        .env("TUTTI_BIN", env!("CARGO_BIN_EXE_tutti"))
        .env("CODEX", &codex_token)
        .env("DEVIN", &devin_token)
        .env("LEAD", &lead)
        .env("ITEM", &item)
        .env("OTHERS_ITEM", &others)
        .env("SPACE", &space)
        .env("KEY_RESULT", &key_result)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

fn judge(seen: &Value) {
    assert_eq!(seen["me"], "Codex");
    assert_eq!(
        seen["tools"],
        json!([
            "ask_decision",
            "check_in",
            "claim_work",
            "get_budget",
            "get_decision",
            "get_me",
            "get_work_item",
            "list_decision_spaces",
            "list_my_work",
            "list_objectives",
            "release_work",
            "report_progress",
            "submit_result"
        ])
    );
    assert_eq!(seen["work"][0][1], "queued", "{seen}");
    let order = seen["order"].as_str().unwrap();
    assert!(
        order.contains("Angebot Familie Hoffmann nachfassen"),
        "{order}"
    );
    assert!(
        order.contains("Keine Rabatte über 15 % ohne Rücksprache"),
        "{order}"
    );
    assert_eq!(seen["claimed"], "running");
    // Another agent is refused, and so is a second claim.
    assert_eq!(seen["devin_claims"][0], true, "{seen}");
    assert!(
        seen["devin_claims"][1]
            .as_str()
            .unwrap()
            .starts_with("not allowed (403)"),
        "{seen}"
    );
    assert_eq!(seen["claimed_twice"][0], true);
    assert!(
        seen["claimed_twice"][1]
            .as_str()
            .unwrap()
            .contains("claimed already"),
        "{seen}"
    );
    assert_eq!(seen["progress"], false);
    assert!(
        seen["bad_argument"][1]
            .as_str()
            .unwrap()
            .contains("`run_id`"),
        "{seen}"
    );
    assert_eq!(seen["submitted"], "succeeded");
    assert_eq!(seen["revised"], json!([201, 2]));
    assert_eq!(seen["second_order_has_feedback"], true);
    assert_eq!(seen["accepted"], 201);
    assert_eq!(seen["item_state"], "done");
    // The space lets the agent prepare a discount this large, not grant it.
    assert_eq!(
        seen["decision_routing"]["autonomy"], "ai_prepares",
        "{seen}"
    );
    assert_eq!(seen["decision_status"], "awaiting_approval");
    assert_eq!(seen["decision_later"], "awaiting_approval");
    assert_eq!(seen["budget"], false);
    assert_eq!(seen["objectives"], false);
    // Nothing beyond its token.
    assert_eq!(seen["approve_tool"][0], true);
    assert_eq!(seen["approve_api"], 403);
    assert_eq!(seen["edit_space_api"], 403);
    assert_eq!(seen["reassign_api"], 403);
    assert_eq!(seen["check_in_elsewhere"], true, "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_through_mcp_over_streamable_http() {
    if let Some(seen) = an_agents_day("http").await {
        judge(&seen);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_through_mcp_over_stdio() {
    if let Some(seen) = an_agents_day("stdio").await {
        judge(&seen);
    }
}
