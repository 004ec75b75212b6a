//! External AI workers through the API and `/mcp`, on SQLite and
//! PostgreSQL: an agent claims its work with a lease (never the engine,
//! never another agent), reports progress, has its gateway calls charged to
//! the run, submits, is revised and claims the next iteration, and the lead
//! accepts; a claim that runs out returns the run to the queue with nothing
//! charged twice; work given back returns to people; and `/mcp` wants a
//! token and refuses a foreign browser origin.

#![expect(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use chrono::Duration;
use serde_json::{Value, json};
use tower::ServiceExt;
use tutti_server::{Clock, FixedClock};
use tutti_store::EngineNode;
use tutti_store::prelude::*;

use crate::support;
use support::{Api, Lindner, Person, Strategy, gateway, id, today};

/// An OpenAI-compatible upstream that answers every call with "Erledigt."
/// and a usage record of 12 prompt and 3 answer tokens; its base URL.
async fn upstream() -> String {
    let answer = || {
        let events = [
            json!({ "choices": [{ "index": 0, "delta": { "content": "Erledigt." }, "finish_reason": null }] }),
            json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }] }),
            json!({ "choices": [], "usage": { "prompt_tokens": 12, "completion_tokens": 3 } }),
        ];
        let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
        body.push_str("data: [DONE]\n\n");
        body
    };
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |Json(_): Json<Value>| async move {
            ([("content-type", "text/event-stream")], answer()).into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1")
}

/// Codex and Devin, the service team's external agents on a priced cloud
/// model (the upstream above), and work for Codex serving the response-time
/// key result.
struct Agents {
    codex: Person,
    devin: Person,
    item: String,
}

impl Agents {
    async fn new(api: &Api, org: &Lindner) -> Self {
        let cloud = api
            .created(
                "/providers",
                &org.owner.token,
                json!({ "name": "cloud", "kind": "openai", "base_url": upstream().await, "api_key": "sk-test" }),
            )
            .await;
        let priced = api
            .post(
                &format!("/providers/{}/models", id(&cloud)),
                &org.owner.token,
                json!({ "name": "big", "input_price": 1_000_000, "output_price": 4_000_000 }),
            )
            .await;
        assert_eq!(priced.status, StatusCode::OK, "{}", priced.body);
        let agent = |name: &str| {
            json!({ "name": name, "kind": "ai", "external": true, "teams": [org.service],
                    "role_card": format!("Du bist {name}, ein Agent des Kundenservice."),
                    "provider": "cloud", "model": "big" })
        };
        let codex = Person::added(api, &org.owner.token, agent("Codex")).await;
        let devin = Person::added(api, &org.owner.token, agent("Devin")).await;
        let strategy = Strategy::new(api, org).await;
        let item = api
            .created(
                "/work-items",
                &org.lead.token,
                json!({ "title": "Störungsmeldung Familie Hoffmann beantworten", "team_id": org.service,
                        "assignee_id": codex.id, "state": "ready",
                        "key_result_id": id(&strategy.response_time) }),
            )
            .await;
        Self {
            codex,
            devin,
            item: id(&item),
        }
    }
}

async fn actions(api: &Api, org: &Lindner) -> Vec<String> {
    let events = api.get("/events?limit=500", &org.owner.token).await.body;
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn an_external_agent_claims_reports_submits_and_is_reviewed<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let agents = Agents::new(&api, &org).await;
    let (codex, item) = (&agents.codex.token, agents.item.as_str());

    // The engine never runs an external worker's work.
    let node = EngineNode {
        name: "node-1".into(),
        embedded_model: true,
    };
    let engine = store
        .claim_run(&node, today(), today() + Duration::seconds(30))
        .await
        .unwrap();
    assert!(engine.is_none(), "the engine took an agent's run");

    // Codex sees its work and the brief: the task, its why, its principles.
    let mine = api.get("/me/work", codex).await.body;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["run"]["status"], "queued");
    let brief = api
        .get(&format!("/work-items/{item}/brief"), codex)
        .await
        .body;
    let order = brief["run"]["work_order"].as_str().unwrap();
    assert!(
        order.contains("Störungsmeldung Familie Hoffmann"),
        "{order}"
    );
    assert!(
        order.contains("This work serves the key result: Reaktionszeit"),
        "{order}"
    );
    assert_eq!(brief["objective"]["title"], "Störungen schneller beheben");
    assert!(
        brief["run"]["role_card"]
            .as_str()
            .unwrap()
            .starts_with("Du bist Codex")
    );

    // Another agent cannot take it; Codex can, once.
    let theirs = api
        .post(
            "/runs/claim",
            &agents.devin.token,
            json!({ "work_item_id": item }),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN, "{}", theirs.body);
    let claim = api
        .post("/runs/claim", codex, json!({ "work_item_id": item }))
        .await;
    assert_eq!(claim.status, StatusCode::OK, "{}", claim.body);
    let run = id(&claim.body["run"]);
    assert_eq!(claim.body["run"]["status"], "running");
    assert_eq!(claim.body["lease_until"], "2026-11-16T08:05:00Z");
    let twice = api
        .post("/runs/claim", codex, json!({ "work_item_id": item }))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    assert!(
        twice.body["detail"]
            .as_str()
            .unwrap()
            .contains("claimed already"),
        "{}",
        twice.body
    );
    let nothing = api.post("/runs/claim", codex, json!({})).await;
    assert_eq!(nothing.body, json!({ "run": null, "lease_until": null }));
    let item_now = api.get(&format!("/work-items/{item}"), codex).await.body;
    assert_eq!(item_now["state"], "running");

    // Progress, kept and audited; Devin cannot report on Codex's run.
    let note = json!({ "note": "Fehlerbild geprüft, Ersatzteil bestellt." });
    let reported = api
        .post(&format!("/runs/{run}/progress"), codex, note.clone())
        .await;
    assert_eq!(reported.status, StatusCode::OK, "{}", reported.body);
    let foreign = api
        .post(&format!("/runs/{run}/progress"), &agents.devin.token, note)
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);
    let empty = api
        .post(
            &format!("/runs/{run}/progress"),
            codex,
            json!({ "note": " " }),
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.body["field"], "note");

    // Its model calls through the gateway are charged to the run it holds.
    let (status, answer) = gateway(&api.router, Some(codex), &support::ask("big", 50)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let entries = api
        .get(&format!("/ledger/entries?run={run}"), &org.owner.token)
        .await
        .body;
    let kinds: Vec<&str> = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reserve", "settle", "release"], "{entries}");

    // The result goes to review, with the tokens its calls used.
    let submitted = api
        .post(
            &format!("/runs/{run}/result"),
            codex,
            json!({ "text": "Termin für Donnerstag vereinbart.", "links": ["https://tickets.example/4711"],
                    "attachments": [{ "name": "antwort.txt", "text": "Sehr geehrte Familie Hoffmann, …" }] }),
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert_eq!(submitted.body["status"], "succeeded");
    assert_eq!(submitted.body["tokens"]["input"], 12);
    assert_eq!(submitted.body["tokens"]["output"], 3);
    assert_eq!(submitted.body["cost"], 24);
    let output = submitted.body["output"].as_str().unwrap();
    assert!(
        output.contains("- https://tickets.example/4711"),
        "{output}"
    );
    assert!(output.contains("--- antwort.txt ---"), "{output}");
    let late = api
        .post(
            &format!("/runs/{run}/result"),
            codex,
            json!({ "text": "nochmal" }),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);

    // The agent never closes its own review, nor moves its work on.
    let own = api
        .post(
            &format!("/runs/{run}/review"),
            codex,
            json!({ "verdict": "accept", "rating": 5 }),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    let moved = api
        .patch(
            &format!("/work-items/{item}"),
            codex,
            json!({ "state": "done" }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::FORBIDDEN, "{}", moved.body);

    // Sent back with feedback: the next iteration waits for the agent.
    let revised = api
        .created(
            &format!("/runs/{run}/review"),
            &org.lead.token,
            json!({ "verdict": "revise", "rating": 3, "feedback": "Bitte den Termin mit Uhrzeit nennen." }),
        )
        .await;
    assert_eq!(revised["next_run"]["status"], "queued");
    let again = api.post("/runs/claim", codex, json!({})).await.body;
    assert_eq!(again["run"]["iteration"], 2);
    assert!(
        again["run"]["work_order"]
            .as_str()
            .unwrap()
            .contains("Bitte den Termin mit Uhrzeit nennen."),
        "{again}"
    );
    let second = id(&again["run"]);
    let submitted = api
        .post(
            &format!("/runs/{second}/result"),
            codex,
            json!({ "text": "Termin: Donnerstag, 10:00 Uhr." }),
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    api.created(
        &format!("/runs/{second}/review"),
        &org.lead.token,
        json!({ "verdict": "accept", "rating": 5 }),
    )
    .await;
    let done = api.get(&format!("/work-items/{item}"), codex).await.body;
    assert_eq!(done["state"], "done");

    let trail = actions(&api, &org).await;
    for action in [
        "run.claimed",
        "run.progress",
        "run.succeeded",
        "review.created",
    ] {
        assert!(
            trail.iter().any(|a| a == action),
            "{action} missing: {trail:?}"
        );
    }
    let totals = api.get("/ledger/totals", &org.owner.token).await.body;
    assert_eq!(totals["unbalanced_reservations"], json!([]), "{totals}");
}

tutti_store::behaviour!(an_external_agent_claims_reports_submits_and_is_reviewed);

async fn a_claim_that_runs_out_returns_to_the_queue_and_nothing_is_charged_twice<S: Store>(
    store: S,
) {
    let clock = Arc::new(FixedClock::new(today()));
    let api = Api::on(&store, clock.clone());
    let org = Lindner::new(&store, &api).await;
    let agents = Agents::new(&api, &org).await;
    let codex = &agents.codex.token;
    let claim = api
        .post("/runs/claim", codex, json!({ "lease_seconds": 30 }))
        .await
        .body;
    let run = id(&claim["run"]);
    let (status, _) = gateway(&api.router, Some(codex), &support::ask("big", 50)).await;
    assert_eq!(status, StatusCode::OK);

    // The agent dies; its claim runs out and recovery queues the run again.
    clock.advance(Duration::seconds(31));
    let (runs, _) = store.recover(clock.now()).await.unwrap();
    assert_eq!(runs, 1);
    let queued = api.get(&format!("/runs/{run}"), codex).await.body;
    assert_eq!(queued["status"], "queued", "{queued}");
    let stale = api
        .post(&format!("/runs/{run}/progress"), codex, json!({}))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);

    // Claimable again, as a second attempt; the first call is charged once.
    let again = api.post("/runs/claim", codex, json!({})).await.body;
    assert_eq!(id(&again["run"]), run);
    assert_eq!(again["run"]["attempts"], 2);
    let submitted = api
        .post(
            &format!("/runs/{run}/result"),
            codex,
            json!({ "text": "Erledigt." }),
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert_eq!(submitted.body["tokens"]["input"], 12);
    let settles = api
        .get(
            &format!("/ledger/entries?run={run}&kind=settle"),
            &org.owner.token,
        )
        .await
        .body;
    assert_eq!(settles["items"].as_array().unwrap().len(), 1, "{settles}");
    let totals = api.get("/ledger/totals", &org.owner.token).await.body;
    assert_eq!(totals["unbalanced_reservations"], json!([]), "{totals}");
}

tutti_store::behaviour!(a_claim_that_runs_out_returns_to_the_queue_and_nothing_is_charged_twice);

async fn work_an_agent_gives_back_returns_to_people<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let agents = Agents::new(&api, &org).await;
    let codex = &agents.codex.token;
    let run = id(&api.post("/runs/claim", codex, json!({})).await.body["run"]);
    let bare = api
        .post(
            &format!("/runs/{run}/release"),
            codex,
            json!({ "reason": "" }),
        )
        .await;
    assert_eq!(bare.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bare.body["field"], "reason");
    let released = api
        .post(
            &format!("/runs/{run}/release"),
            codex,
            json!({ "reason": "Braucht einen Termin vor Ort." }),
        )
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.body);
    assert_eq!(released.body["status"], "cancelled");
    let item = api
        .get(&format!("/work-items/{}", agents.item), &org.lead.token)
        .await
        .body;
    assert_eq!(item["state"], "ready");
    assert_eq!(item["assignee_id"], Value::Null);
    assert!(
        actions(&api, &org)
            .await
            .contains(&"work_item.released".to_owned())
    );
    assert!(
        api.get("/me/work", codex)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
}

tutti_store::behaviour!(work_an_agent_gives_back_returns_to_people);

async fn only_an_external_worker_claims_and_only_in_its_org<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let agents = Agents::new(&api, &org).await;
    let claim = json!({ "work_item_id": agents.item });
    for (who, token) in [
        ("engine worker", &org.worker.token),
        ("lead", &org.lead.token),
        ("viewer", &org.viewer.token),
    ] {
        let refused = api.post("/runs/claim", token, claim.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{who}: {}",
            refused.body
        );
    }
    // Another org's agent finds nothing of ours.
    let outsider = Person::added(
        &api,
        &org.stranger,
        json!({ "name": "Fremd", "kind": "ai", "external": true }),
    )
    .await;
    let foreign = api.post("/runs/claim", &outsider.token, claim).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    let brief = api
        .get(&format!("/work-items/{}/brief", agents.item), &org.stranger)
        .await;
    assert_eq!(brief.status, StatusCode::NOT_FOUND);
    let long = api
        .post(
            "/runs/claim",
            &agents.codex.token,
            json!({ "lease_seconds": 7200 }),
        )
        .await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(long.body["field"], "lease_seconds");
    // A person cannot be made external.
    let person = api
        .post(
            "/members",
            &org.owner.token,
            json!({ "name": "Paul", "email": "paul@lindner.de", "external": true }),
        )
        .await;
    assert_eq!(
        person.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        person.body
    );
    assert_eq!(person.body["field"], "external");
}

tutti_store::behaviour!(only_an_external_worker_claims_and_only_in_its_org);

/// A JSON-RPC request to `/mcp` with the given token and extra headers.
async fn mcp(
    api: &Api,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Value,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut request = Request::builder()
        .method("POST")
        .uri("/mcp")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = api
        .router
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn the_mcp_server_wants_a_token_and_a_trusted_origin<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let agents = Agents::new(&api, &org).await;
    let initialize = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "test", "version": "1" } } });

    let (status, headers, _) = mcp(&api, None, &[], initialize.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(
            "resource_metadata=\"http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp\""
        ),
        "{challenge}"
    );
    let (status, _, _) = mcp(&api, Some("tutti_wrong"), &[], initialize.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let codex = agents.codex.token.as_str();
    let (status, _, _) = mcp(
        &api,
        Some(codex),
        &[("origin", "https://evil.example")],
        initialize.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let metadata = api
        .router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/.well-known/oauth-protected-resource/mcp")
                .header("host", "127.0.0.1:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(metadata.into_body(), usize::MAX)
        .await
        .unwrap();
    let metadata: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(metadata["resource"], "http://127.0.0.1:8080/mcp");

    let (status, _, reply) = mcp(
        &api,
        Some(codex),
        &[("origin", "http://127.0.0.1:8080")],
        initialize,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["result"]["serverInfo"]["name"], "tutti");
    let (_, _, tools) = mcp(
        &api,
        Some(codex),
        &[("mcp-protocol-version", "2025-06-18")],
        json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" }),
    )
    .await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"claim_work") && names.contains(&"ask_decision"),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.contains("approve") || n.contains("vote"))
    );

    // A tool is the API call with the agent's own token.
    let call = |id: i64, name: &str, arguments: Value| json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": { "name": name, "arguments": arguments } });
    let (_, _, claimed) = mcp(
        &api,
        Some(codex),
        &[("mcp-protocol-version", "2025-06-18")],
        call(3, "claim_work", json!({})),
    )
    .await;
    let text = claimed["result"]["content"][0]["text"].as_str().unwrap();
    let claimed: Value = serde_json::from_str(text).unwrap();
    assert_eq!(claimed["run"]["status"], "running", "{claimed}");
    let (_, _, refused) = mcp(
        &api,
        Some(&agents.devin.token),
        &[("mcp-protocol-version", "2025-06-18")],
        call(
            4,
            "submit_result",
            json!({ "run_id": id(&claimed["run"]), "text": "Meins!" }),
        ),
    )
    .await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let words = refused["result"]["content"][0]["text"].as_str().unwrap();
    assert!(words.starts_with("not allowed (403)"), "{words}");
}

tutti_store::behaviour!(the_mcp_server_wants_a_token_and_a_trusted_origin);

async fn a_run_a_person_cancels_ends_at_the_agents_next_call<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let agents = Agents::new(&api, &org).await;
    let codex = &agents.codex.token;
    let run = id(&api.post("/runs/claim", codex, json!({})).await.body["run"]);
    let asked = api
        .post(&format!("/runs/{run}/cancel"), &org.lead.token, json!({}))
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let told = api
        .post(
            &format!("/runs/{run}/progress"),
            codex,
            json!({ "note": "Weiter geht's." }),
        )
        .await;
    assert_eq!(told.status, StatusCode::CONFLICT, "{}", told.body);
    assert!(
        told.body["detail"].as_str().unwrap().contains("cancelled"),
        "{}",
        told.body
    );
    let ended = api.get(&format!("/runs/{run}"), codex).await.body;
    assert_eq!(ended["status"], "cancelled", "{ended}");
    let late = api
        .post(
            &format!("/runs/{run}/result"),
            codex,
            json!({ "text": "Fertig." }),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
}

tutti_store::behaviour!(a_run_a_person_cancels_ends_at_the_agents_next_call);

/// The org's cap on AI runs at once holds for agents outside tutti too:
/// while the engine runs Emil's work in the org's one slot, Codex's claim
/// is refused saying so, and it goes through once that run ends.
async fn an_agents_claim_waits_for_room_under_the_orgs_cap<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let agents = Agents::new(&api, &org).await;
    let capped = api
        .put(
            "/org/capacity",
            &org.owner.token,
            json!({ "ai_concurrency": 1 }),
        )
        .await;
    assert_eq!(capped.status, StatusCode::OK, "{}", capped.body);
    api.created(
        "/work-items",
        &org.lead.token,
        json!({ "title": "Wartungsplan", "team_id": org.service,
                "assignee_id": org.worker.id, "state": "ready" }),
    )
    .await;
    let node = EngineNode {
        name: "node-1".into(),
        embedded_model: true,
    };
    // Emil's run takes the org's one slot.
    let running = store
        .claim_run(&node, today(), today() + Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    let refused = api
        .post(
            "/runs/claim",
            &agents.codex.token,
            json!({ "work_item_id": agents.item }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body["detail"].as_str().unwrap().contains("its cap"),
        "{}",
        refused.body
    );
    store
        .end_run(
            running.run.id,
            &node.name,
            today(),
            tutti_store::RunEnd::Failed {
                output: String::new(),
                used: tutti_domain::labour::Tokens::default(),
                error: "stopped".into(),
            },
        )
        .await
        .unwrap();
    let claimed = api
        .post(
            "/runs/claim",
            &agents.codex.token,
            json!({ "work_item_id": agents.item }),
        )
        .await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.body);
}

tutti_store::behaviour!(an_agents_claim_waits_for_room_under_the_orgs_cap);
