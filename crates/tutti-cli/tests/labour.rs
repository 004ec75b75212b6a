//! AI labour through the real binary and the real embedded model: a work item
//! handed to an AI worker is run, reviewed and revised; 200 gateway calls
//! race for a budget that covers about 20 (on SQLite, and on PostgreSQL with
//! two `tutti serve` processes); a server killed mid-run loses nothing and
//! charges nothing twice; the ledger check tells calls in flight and a
//! crash's orphans from an altered ledger; the official `openai` Python client talks to the
//! gateway.

#![expect(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common;
use common::{Server, init, python, sqlite_url};

/// These tests take turns: llama.cpp's threads slow down many times over when
/// several servers decode on the same two cores at once.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The embedded model, or `None` (outside CI) when it has not been fetched.
fn model() -> Option<PathBuf> {
    let path = std::env::var_os("TUTTI_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(tutti_llm::EmbeddedConfig::default_model_path);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "no model at {} in CI: scripts/test fetches it",
        path.display()
    );
    eprintln!(
        "\n!!! no model at {}: this AI-labour test did NOT run (scripts/fetch-model)\n",
        path.display()
    );
    None
}

fn serve(database_url: &str, model: &Path, lease_secs: u64) -> Server {
    let lease = lease_secs.to_string();
    common::serve(
        database_url,
        &[
            ("TUTTI_MODEL", model.to_str().unwrap()),
            ("TUTTI_MODEL_THREADS", "1"),
            ("TUTTI_RUN_LEASE_SECS", &lease),
            ("TUTTI_LOG", "warn"),
        ],
    )
}

/// The test org on a new SQLite database, and a server on it.
struct Fresh {
    /// The database's folder, removed when the test ends.
    _dir: tempfile::TempDir,
    url: String,
    owner_token: String,
    server: Server,
}

impl Fresh {
    fn new(model: &Path, lease_secs: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(dir.path());
        let owner_token = init(&url);
        let server = serve(&url, model, lease_secs);
        Self {
            _dir: dir,
            url,
            owner_token,
            server,
        }
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(base: &str, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            token: token.to_owned(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!(
            status == 200 || status == 201,
            "POST {path}: {status} {answer}"
        );
        answer
    }

    fn stream(&self, run_id: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}/api/v1/runs/{run_id}/stream", self.base))
            .bearer_auth(&self.token)
    }

    /// Hands a ready task to the AI worker, which queues its run; returns the run's id.
    async fn queue_task(&self, worker: &str, title: &str) -> String {
        let item = self
            .post(
                "/api/v1/work-items",
                json!({ "title": title, "assignee_id": worker, "state": "ready" }),
            )
            .await;
        let runs = self
            .get(&format!(
                "/api/v1/runs?work_item={}",
                item["id"].as_str().unwrap()
            ))
            .await;
        runs["items"][0]["id"].as_str().unwrap().to_owned()
    }

    /// Waits on the run's event stream until it ends, then returns the run.
    async fn finished_run(&self, id: &str, within: Duration) -> Value {
        let body = tokio::time::timeout(within, async {
            self.stream(id).send().await.unwrap().text().await.unwrap()
        })
        .await
        .unwrap_or_else(|_| panic!("run {id} did not end within {within:?}"));
        assert!(
            body.contains("event: end"),
            "the stream of run {id} ended without its end: {body}"
        );
        self.get(&format!("/api/v1/runs/{id}")).await
    }

    /// Waits until the run streams text, that is, while the model writes.
    async fn wait_for_text(&self, run_id: &str) {
        let mut stream = self.stream(run_id).send().await.unwrap();
        loop {
            let chunk = tokio::time::timeout(Duration::from_secs(60), stream.chunk())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if String::from_utf8_lossy(&chunk).contains("event: text") {
                return;
            }
        }
    }

    async fn assert_ledger_balanced(&self) -> Value {
        let totals = self.get("/api/v1/ledger/totals").await;
        assert_eq!(totals["open_reservations"], 0, "{totals}");
        assert_eq!(totals["unbalanced_reservations"], json!([]), "{totals}");
        let n = |k: &str| totals[k].as_i64().unwrap();
        assert_eq!(
            n("reserved_tokens"),
            n("settled_tokens") + n("released_tokens"),
            "{totals}"
        );
        assert_eq!(
            n("reserved_cost"),
            n("settled_cost") + n("released_cost"),
            "{totals}"
        );
        totals
    }
}

/// Sets up the embedded provider and an AI worker; returns the worker's id.
async fn ai_worker(api: &Api, name: &str) -> String {
    let providers = api.get("/api/v1/providers").await;
    let provider_id = match providers.as_array().unwrap().first() {
        Some(provider) => provider["id"].as_str().unwrap().to_owned(),
        None => {
            let provider = api
                .post(
                    "/api/v1/providers",
                    json!({ "name": "lokal", "kind": "embedded" }),
                )
                .await;
            let id = provider["id"].as_str().unwrap().to_owned();
            api.post(
                &format!("/api/v1/providers/{id}/models"),
                json!({ "name": "smollm2", "input_price": 200_000, "output_price": 800_000 }),
            )
            .await;
            id
        }
    };
    assert!(!provider_id.is_empty());
    let worker = api
        .post(
            "/api/v1/members",
            json!({
                "kind": "ai", "name": name, "provider": "lokal", "model": "smollm2",
                "role_card": "You are Emil, the service assistant of a heating firm. Answer briefly and concretely.",
            }),
        )
        .await;
    worker["id"].as_str().unwrap().to_owned()
}

async fn token_for(api: &Api, member: &str) -> String {
    let token = api
        .post(
            &format!("/api/v1/members/{member}/tokens"),
            json!({ "label": "test" }),
        )
        .await;
    token["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ai_work_is_run_reviewed_and_revised() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Fresh {
        _dir,
        url: _,
        owner_token,
        server,
    } = Fresh::new(&model, 30);
    let api = Api::new(&server.url, &owner_token);
    let emil = ai_worker(&api, "Emil").await;
    let objective = api
        .post(
            "/api/v1/objectives",
            json!({ "title": "Störungen schneller beheben", "why": "A cold flat in winter cannot wait.",
                    "period_start": "2026-10-01", "period_end": "2026-12-31" }),
        )
        .await;
    let kr = api
        .post(
            &format!("/api/v1/objectives/{}/key-results", objective["id"].as_str().unwrap()),
            json!({ "title": "Reply to every fault report within 2 hours", "baseline": 0, "target": 100, "unit": "%", "confidence": 6 }),
        )
        .await;
    // Handing a ready item to the AI worker queues its run.
    let item = api
        .post(
            "/api/v1/work-items",
            json!({ "title": "Write a reply to a customer whose heating failed", "assignee_id": emil,
                    "state": "ready", "key_result_id": kr["id"] }),
        )
        .await;
    let item_id = item["id"].as_str().unwrap();
    let runs = api.get(&format!("/api/v1/runs?work_item={item_id}")).await;
    let first = runs["items"][0].clone();
    let first_id = first["id"].as_str().unwrap();
    assert!(
        first["work_order"]
            .as_str()
            .unwrap()
            .contains("A cold flat in winter cannot wait."),
        "{first}"
    );

    // The live stream ends with the run's final state and its text.
    let stream = api.stream(first_id).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let body = tokio::time::timeout(Duration::from_secs(120), stream.text())
        .await
        .unwrap()
        .unwrap();
    let end = body
        .split("event: end\ndata: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let end: Value = serde_json::from_str(end).unwrap();
    assert_eq!(end["status"], "succeeded", "{body}");

    let run = api.finished_run(first_id, Duration::from_secs(5)).await;
    let output = run["output"].as_str().unwrap();
    assert!(!output.trim().is_empty(), "the model wrote nothing: {run}");
    assert_eq!(
        tutti_domain::labour::output::looping_tail(output),
        None,
        "the answer loops: {output}"
    );
    assert_eq!(end["output"], run["output"]);
    assert!(
        run["tokens"]["output"].as_i64().unwrap() > 0 && run["cost"].as_i64().unwrap() > 0,
        "{run}"
    );
    assert_eq!(
        api.get(&format!("/api/v1/work-items/{item_id}")).await["state"],
        "in_review"
    );

    // An AI worker cannot review, not even its own work.
    let emil_api = Api::new(&server.url, &token_for(&api, &emil).await);
    let (status, _) = emil_api
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/runs/{first_id}/review"),
            Some(json!({ "verdict": "accept", "rating": 5 })),
        )
        .await;
    assert_eq!(status, 403);
    // A revision needs feedback.
    let (status, problem) = api
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/runs/{first_id}/review"),
            Some(json!({ "verdict": "revise", "rating": 2 })),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("feedback")),
        "{problem}"
    );

    let feedback = "Please name a time window for the technician's visit.";
    let reviewed = api
        .post(
            &format!("/api/v1/runs/{first_id}/review"),
            json!({ "verdict": "revise", "feedback": feedback, "rating": 2 }),
        )
        .await;
    let next = &reviewed["next_run"];
    assert_eq!(next["iteration"], 2);
    let order = next["work_order"].as_str().unwrap();
    assert!(
        order.contains(feedback) && order.starts_with(first["work_order"].as_str().unwrap()),
        "{order}"
    );
    let second = api
        .finished_run(next["id"].as_str().unwrap(), Duration::from_secs(120))
        .await;
    assert_eq!(second["status"], "succeeded", "{second}");
    assert!(!second["output"].as_str().unwrap().trim().is_empty());

    // The CLI: watch a finished run, accept it, check the ledger; bad input
    // is one line and a non-zero exit.
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tutti"))
            .args(args)
            .env("TUTTI_SERVER", &server.url)
            .env("TUTTI_TOKEN", &owner_token)
            .output()
            .unwrap()
    };
    let second_id = second["id"].as_str().unwrap();
    let watched = cli(&["run", "watch", second_id]);
    assert!(watched.status.success());
    assert!(
        String::from_utf8_lossy(&watched.stdout)
            .contains(second["output"].as_str().unwrap().trim())
    );
    let accepted = cli(&[
        "review",
        "add",
        second_id,
        "--verdict",
        "accept",
        "--rating",
        "4",
    ]);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let totals = cli(&["ledger", "totals"]);
    assert!(String::from_utf8_lossy(&totals.stdout).contains("every settled reservation balances"));
    let bad = cli(&[
        "budget", "add", "--name", "x", "--scope", "org", "--cost", "zwölf",
    ]);
    assert!(!bad.status.success());
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.contains("--cost") && message.trim().lines().count() == 1,
        "{message}"
    );
    assert_eq!(
        api.get(&format!("/api/v1/work-items/{item_id}")).await["state"],
        "done"
    );
    let stats = api
        .get(&format!("/api/v1/members/{emil}/review-stats"))
        .await;
    assert_eq!(
        (
            stats["reviews"].as_i64(),
            stats["accept_rate"].as_f64(),
            stats["mean_rating"].as_f64()
        ),
        (Some(2), Some(0.5), Some(3.0))
    );

    let by_worker = api
        .get("/api/v1/ledger/summary?group_by=worker&period=all")
        .await;
    let line = &by_worker["lines"][0];
    assert_eq!(line["key"], emil.as_str());
    assert_eq!(line["calls"], 2);
    let settled_output =
        run["tokens"]["output"].as_i64().unwrap() + second["tokens"]["output"].as_i64().unwrap();
    assert_eq!(line["tokens"]["output"].as_i64().unwrap(), settled_output);
    api.assert_ledger_balanced().await;
    assert_eq!(api.get("/api/v1/events/verify").await["intact"], true);
}

/// The rule under the whole review loop, held by the real binary: the AI
/// worker's result waits in review, and the worker's own token cannot move
/// it on — not with the CLI, not with the API — while a person still can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ai_worker_cannot_close_its_own_review_through_the_binary() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Fresh {
        _dir,
        url: _,
        owner_token,
        server,
    } = Fresh::new(&model, 30);
    let api = Api::new(&server.url, &owner_token);
    let emil = ai_worker(&api, "Emil").await;
    let item = api
        .post(
            "/api/v1/work-items",
            json!({ "title": "Name three checks for a boiler service", "assignee_id": emil }),
        )
        .await;
    let item_id = item["id"].as_str().unwrap().to_owned();
    let run = api
        .post(
            &format!("/api/v1/work-items/{item_id}/runs"),
            json!({ "max_tokens": 24 }),
        )
        .await;
    let run = api
        .finished_run(run["id"].as_str().unwrap(), Duration::from_secs(120))
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let state =
        || async { api.get(&format!("/api/v1/work-items/{item_id}")).await["state"].clone() };
    assert_eq!(state().await, "in_review");

    let emil_token = token_for(&api, &emil).await;
    let as_emil = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tutti"))
            .args(args)
            .env("TUTTI_SERVER", &server.url)
            .env("TUTTI_TOKEN", &emil_token)
            .output()
            .unwrap()
    };
    for to in ["done", "cancelled", "running"] {
        let moved = as_emil(&["work", "move", &item_id, to]);
        let message = String::from_utf8_lossy(&moved.stderr);
        assert!(
            !moved.status.success(),
            "the CLI moved delivered work to {to}"
        );
        assert!(
            message.contains("review") && message.trim().lines().count() == 1,
            "{message}"
        );
    }
    let emil_api = Api::new(&server.url, &emil_token);
    let (status, problem) = emil_api
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/work-items/{item_id}"),
            Some(json!({ "state": "done" })),
        )
        .await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(state().await, "in_review");

    // A person accepts it.
    let run_id = run["id"].as_str().unwrap();
    api.post(
        &format!("/api/v1/runs/{run_id}/review"),
        json!({ "verdict": "accept", "rating": 4 }),
    )
    .await;
    assert_eq!(state().await, "done");
    assert_eq!(api.get("/api/v1/events/verify").await["intact"], true);
}

/// 200 concurrent gateway calls against a hard budget that covers about 20:
/// every call is served or refused with a clear error, the budget holds, and
/// every reservation balances.
async fn gateway_budget_holds(servers: &[&Server], owner_token: &str) {
    let api = Api::new(&servers[0].url, owner_token);
    let worker = ai_worker(&api, "Agent 007").await;
    let agent_token = token_for(&api, &worker).await;
    let agent = Api::new(&servers[0].url, &agent_token);
    const MAX_TOKENS: i64 = 8;
    let ask = json!({ "model": "smollm2", "messages": [{ "role": "user", "content": "Say hello." }], "max_tokens": MAX_TOKENS });
    // One call to learn the prompt's size; the budget is set afterwards.
    let (status, probe) = agent
        .call(
            reqwest::Method::POST,
            "/v1/chat/completions",
            Some(ask.clone()),
        )
        .await;
    assert_eq!(status, 200, "{probe}");
    let prompt = probe["usage"]["prompt_tokens"].as_i64().unwrap();
    let limit = 20 * (prompt + MAX_TOKENS);
    let budget = api
        .post(
            "/api/v1/budgets",
            json!({ "name": "Agent 007 Deckel", "scope": "worker", "scope_id": worker, "period": "lifetime", "token_limit": limit }),
        )
        .await;

    let mut calls = Vec::new();
    for i in 0..200 {
        let url = format!("{}/v1/chat/completions", servers[i % servers.len()].url);
        let token = agent_token.clone();
        let stream = i % 2 == 1;
        let mut body = ask.clone();
        body["stream"] = json!(stream);
        calls.push(tokio::spawn(async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, stream, response.text().await.unwrap())
        }));
    }
    let (mut served, mut refused) = (0, 0);
    for call in calls {
        let (status, stream, text) = call.await.unwrap();
        match status {
            200 if stream => {
                assert!(
                    text.contains("chat.completion.chunk") && text.ends_with("data: [DONE]\n\n"),
                    "{text}"
                );
                served += 1;
            }
            200 => {
                let answer: Value = serde_json::from_str(&text).unwrap();
                assert!(answer["usage"]["completion_tokens"].as_i64().unwrap() <= MAX_TOKENS);
                served += 1;
            }
            402 => {
                let error: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(error["error"]["code"], "budget_exhausted", "{text}");
                assert!(
                    error["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("Agent 007 Deckel"),
                    "{text}"
                );
                refused += 1;
            }
            other => panic!("a call ended with {other}: {text}"),
        }
    }
    assert_eq!(served + refused, 200);
    assert!(
        served >= 20,
        "the budget covers 20 calls, but only {served} were served"
    );
    assert!(refused > 0);
    let totals = api.assert_ledger_balanced().await;
    let state = api.get("/api/v1/budgets").await;
    let state = state
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == budget["id"])
        .unwrap()
        .clone();
    let used = state["used_tokens"].as_i64().unwrap();
    assert!(used <= limit, "the budget was exceeded: {used} > {limit}");
    // The worker's settled use after the budget was set is exactly what the budget counts.
    let probe_tokens = probe["usage"]["total_tokens"].as_i64().unwrap();
    assert_eq!(
        totals["settled_tokens"].as_i64().unwrap(),
        used + probe_tokens,
        "{totals} {state}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_budget_holds_on_sqlite() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Fresh {
        _dir,
        url: _,
        owner_token: token,
        server,
    } = Fresh::new(&model, 30);
    gateway_budget_holds(&[&server], &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_budget_holds_across_two_postgres_servers() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Some(url) = tutti_store::testing::fresh_postgres_url().await.unwrap() else {
        return;
    };
    let token = init(&url);
    let first = serve(&url, &model, 30);
    let second = serve(&url, &model, 30);
    gateway_budget_holds(&[&first, &second], &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_run_and_charges_nothing_twice() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Fresh {
        _dir,
        url,
        owner_token,
        mut server,
    } = Fresh::new(&model, 2);
    let api = Api::new(&server.url, &owner_token);
    let worker = ai_worker(&api, "Emil").await;
    let mut run_ids = Vec::new();
    for i in 0..2 {
        let title = format!("List the numbers from 1 to 300, one per line ({i})");
        run_ids.push(api.queue_task(&worker, &title).await);
    }
    // Kill the server as soon as a run is streaming text.
    api.wait_for_text(&run_ids[0]).await;
    server.kill();

    // A new process takes the runs over once their leases expire.
    server = serve(&url, &model, 2);
    let api = Api::new(&server.url, &owner_token);
    for id in &run_ids {
        let run = api.finished_run(id, Duration::from_secs(180)).await;
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let first = api.get(&format!("/api/v1/runs/{}", run_ids[0])).await;
    assert!(
        first["attempts"].as_i64().unwrap() >= 2,
        "the killed attempt was not retried: {first}"
    );
    let totals = api.assert_ledger_balanced().await;
    // Every attempt settled once: the runs' totals are the ledger's.
    let mut run_tokens = 0;
    for id in &run_ids {
        let run = api.get(&format!("/api/v1/runs/{id}")).await;
        run_tokens +=
            run["tokens"]["input"].as_i64().unwrap() + run["tokens"]["output"].as_i64().unwrap();
    }
    assert_eq!(
        totals["settled_tokens"].as_i64().unwrap(),
        run_tokens,
        "{totals}"
    );
    let requeued = api.get("/api/v1/events?action=run.requeued").await;
    assert!(
        !requeued["items"].as_array().unwrap().is_empty(),
        "no run was requeued"
    );
    assert_eq!(api.get("/api/v1/events/verify").await["intact"], true);
}

/// A fresh server with an AI worker "Agent" on the embedded model; the
/// owner's API and the agent's token.
async fn an_agent(model: &Path) -> (Fresh, Api, String) {
    let fresh = Fresh::new(model, 30);
    let api = Api::new(&fresh.server.url, &fresh.owner_token);
    let worker = ai_worker(&api, "Agent").await;
    let token = token_for(&api, &worker).await;
    (fresh, api, token)
}

/// `tutti ledger totals` against a server: whether it passed, and what it printed.
fn ledger_check(server: &Server, token: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args(["ledger", "totals"])
        .env("TUTTI_SERVER", &server.url)
        .env("TUTTI_TOKEN", token)
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_check_tells_calls_in_flight_from_an_altered_ledger() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Fresh {
        _dir,
        url,
        owner_token,
        mut server,
    } = Fresh::new(&model, 2);
    let api = Api::new(&server.url, &owner_token);
    let worker = ai_worker(&api, "Agent 007").await;
    let agent_token = token_for(&api, &worker).await;

    // A gateway call in flight is open, not unbalanced.
    let mut call = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.url))
        .bearer_auth(&agent_token)
        .json(&json!({ "model": "smollm2", "stream": true, "max_tokens": 600,
                       "messages": [{ "role": "user", "content": "List the numbers from 1 to 300, one per line." }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 200);
    let first = call.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("data:"));
    let (passed, printed) = ledger_check(&server, &owner_token);
    assert!(passed, "a call in flight failed the check: {printed}");
    assert!(printed.contains("open reservations: 1 "), "{printed}");

    // The process dies mid-call; the next one settles the orphan within
    // seconds (not after the reservation's 15 minutes), and the check passes
    // throughout.
    server.kill();
    drop(call);
    server = serve(&url, &model, 2);
    let (passed, printed) = ledger_check(&server, &owner_token);
    assert!(
        passed,
        "an orphan failed the check after a restart: {printed}"
    );
    let api = Api::new(&server.url, &owner_token);
    let mut waited = Duration::ZERO;
    while api.get("/api/v1/ledger/totals").await["open_reservations"] != 0 {
        assert!(
            waited < Duration::from_secs(30),
            "the crashed call's reservation still holds budget"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        waited += Duration::from_millis(250);
    }
    api.assert_ledger_balanced().await;
    let abandoned = api.get("/api/v1/events?action=reservation.abandoned").await;
    assert_eq!(
        abandoned["items"].as_array().unwrap().len(),
        1,
        "{abandoned}"
    );

    // Someone alters a settled row: the check names the reservation and fails.
    server.kill();
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let altered = sqlx::query(
        "UPDATE ledger_entries SET output_tokens = output_tokens + 1 \
         WHERE id = (SELECT id FROM ledger_entries WHERE kind = 'settle' LIMIT 1)",
    )
    .execute(&db)
    .await
    .unwrap();
    assert_eq!(altered.rows_affected(), 1);
    db.close().await;
    let server = serve(&url, &model, 2);
    let (passed, printed) = ledger_check(&server, &owner_token);
    assert!(!passed, "an altered ledger passed the check: {printed}");
    assert!(printed.contains("UNBALANCED reservations (1)"), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_python_client_calls_the_gateway() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Some(python) = python("an openai client test") else {
        return;
    };
    let (fresh, api, token) = an_agent(&model).await;
    let server = &fresh.server;
    let script = r#"
import json, os, sys
from openai import OpenAI
client = OpenAI(base_url=os.environ["BASE_URL"], api_key=os.environ["TOKEN"], max_retries=0)
models = [m.id for m in client.models.list()]
plain = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=16)
pieces, usage = [], None
for chunk in client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Say hello."}], max_tokens=16, stream=True, stream_options={"include_usage": True}):
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
    if chunk.usage:
        usage = chunk.usage.model_dump()
try:
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    refused = None
except Exception as e:
    refused = type(e).__name__
print(json.dumps({"models": models, "plain": plain.choices[0].message.content, "plain_usage": plain.usage.model_dump(),
                  "streamed": "".join(pieces), "stream_usage": usage, "refused": refused}))
"#;
    let result = run_python(&python, script, server, &token);
    assert_eq!(result["models"], json!(["smollm2"]));
    assert!(!result["plain"].as_str().unwrap().is_empty(), "{result}");
    assert!(result["plain_usage"]["completion_tokens"].as_i64().unwrap() <= 16);
    assert!(!result["streamed"].as_str().unwrap().is_empty(), "{result}");
    assert!(
        result["stream_usage"]["prompt_tokens"].as_i64().unwrap() > 0,
        "{result}"
    );
    assert_eq!(result["refused"], "NotFoundError");
    // Both calls are in the ledger, settled to the usage the client saw.
    let summary = api
        .get("/api/v1/ledger/summary?group_by=model&period=all")
        .await;
    assert_eq!(summary["lines"][0]["key"], "lokal/smollm2");
    assert_eq!(summary["lines"][0]["calls"], 2);
    let expected = result["plain_usage"]["total_tokens"].as_i64().unwrap()
        + result["stream_usage"]["total_tokens"].as_i64().unwrap();
    let tokens = &summary["lines"][0]["tokens"];
    assert_eq!(
        tokens["input"].as_i64().unwrap() + tokens["output"].as_i64().unwrap(),
        expected
    );
    api.assert_ledger_balanced().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_hands_its_runs_back_at_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let owner_token = init(&url);
    // Leases far longer than the test waits: only handing them back lets the
    // next process take the run over in time.
    let mut server = serve(&url, &model, 120);
    let api = Api::new(&server.url, &owner_token);
    let worker = ai_worker(&api, "Emil").await;
    let run_id = api
        .queue_task(&worker, "List the numbers from 1 to 300, one per line")
        .await;
    api.wait_for_text(&run_id).await;
    server.signal("TERM");
    server.wait_for_exit(Duration::from_secs(30));
    server = serve(&url, &model, 120);
    let api = Api::new(&server.url, &owner_token);
    let run = api.finished_run(&run_id, Duration::from_secs(60)).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["attempts"], 2, "{run}");
    api.assert_ledger_balanced().await;
}

/// Two processes on one PostgreSQL database, only one of them with the
/// model file: the other takes none of the AI worker's runs (it would fail
/// them for want of a model), so every run succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_process_with_the_model_runs_work_on_it() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Some(url) = tutti_store::testing::fresh_postgres_url().await.unwrap() else {
        return;
    };
    let owner_token = init(&url);
    let _with_model = serve(&url, &model, 30);
    let dir = tempfile::tempdir().unwrap();
    let without_model = serve(&url, &dir.path().join("kein-modell.gguf"), 30);
    let api = Api::new(&without_model.url, &owner_token);
    let worker = ai_worker(&api, "Emil").await;
    let mut runs = Vec::new();
    for n in 1..=3 {
        let title = format!("Write the number {n} as a word");
        runs.push(api.queue_task(&worker, &title).await);
    }
    for id in &runs {
        let run = api.finished_run(id, Duration::from_secs(120)).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["attempts"], 1, "{run}");
    }
    api.assert_ledger_balanced().await;
}

/// A person asks the AI worker to prepare a decision: the engine has the
/// real model draft it, charged to the worker, and it waits for people.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ai_worker_drafts_a_decision_a_person_asked_for() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Fresh {
        _dir,
        url: _,
        owner_token,
        server,
    } = Fresh::new(&model, 30);
    let api = Api::new(&server.url, &owner_token);
    let emil = ai_worker(&api, "Emil").await;
    let sales = api
        .post("/api/v1/teams", json!({ "name": "Vertrieb" }))
        .await;
    let (status, joined) = api
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/members/{emil}"),
            Some(json!({ "teams": [sales["id"]] })),
        )
        .await;
    assert_eq!(status, 200, "{joined}");
    let templates = api.get("/api/v1/decision-spaces/templates").await;
    let space = api
        .post(
            "/api/v1/decision-spaces",
            json!({ "name": "Rabatte", "team_id": sales["id"], "policy": templates["templates"][0]["source"],
                    "principles": ["Never more than 15 % without asking the owner."] }),
        )
        .await;
    let options = ["10 % discount", "A free maintenance visit", "No discount"];
    let asked = api
        .post(
            "/api/v1/decisions",
            json!({ "space_id": space["id"], "question": "How do we keep the housing company after two heating failures?",
                    "context": "Their contract ends in January.",
                    "facts": { "amount": "5000", "risk": "low", "reversible": true, "customer_facing": true },
                    "options": options, "assignee_id": emil }),
        )
        .await;
    assert_eq!(asked["status"], "open", "{asked}");
    assert_eq!(asked["routing"]["autonomy"], "ai_prepares", "{asked}");
    let path = format!("/api/v1/decisions/{}", asked["id"].as_str().unwrap());
    // The engine looks for decisions to draft on its heartbeat; the model
    // answers in seconds. Poll the decision until it leaves `open`.
    let drafted = tokio::time::timeout(Duration::from_secs(120), async {
        let mut every = tokio::time::interval(Duration::from_millis(200));
        loop {
            every.tick().await;
            let decision = api.get(&path).await;
            if decision["status"] != "open" {
                return decision;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the decision was not drafted within two minutes"));
    assert_eq!(drafted["status"], "awaiting_approval", "{drafted}");
    let recommendation = &drafted["recommendation"];
    assert!(
        options.contains(&recommendation["option"].as_str().unwrap()),
        "{drafted}"
    );
    assert!(
        !recommendation["rationale"]
            .as_str()
            .unwrap()
            .trim()
            .is_empty(),
        "{drafted}"
    );
    let confidence = recommendation["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence), "{drafted}");
    let prepared = drafted["trail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "decision.prepared")
        .unwrap_or_else(|| panic!("no decision.prepared in {drafted}"));
    assert_eq!(prepared["actor_id"], emil.as_str(), "{prepared}");

    // The call was metered like any other: reserved and settled for Emil,
    // outside any run, and the ledger balances.
    let entries = api
        .get(&format!("/api/v1/ledger/entries?worker={emil}&kind=settle"))
        .await;
    let settled = entries["items"].as_array().unwrap();
    assert_eq!(settled.len(), 1, "{entries}");
    assert_eq!(settled[0]["run_id"], Value::Null);
    assert!(
        settled[0]["tokens"]["input"].as_i64().unwrap() > 100,
        "{entries}"
    );
    assert!(
        settled[0]["tokens"]["output"].as_i64().unwrap() > 5,
        "{entries}"
    );
    api.assert_ledger_balanced().await;
}

/// Runs a Python script with the `openai` client against the gateway and
/// returns the JSON it prints.
fn run_python(python: &str, script: &str, server: &Server, token: &str) -> Value {
    let output = Command::new(python)
        .args(["-c", script])
        .env("BASE_URL", format!("{}/v1", server.url))
        .env("TOKEN", token)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// An AI worker on the OpenAI-compatible `upstream`, as provider
/// "werkstatt" with `model` priced.
async fn worker_on(api: &Api, upstream: &str, model: &str, name: &str) -> String {
    let provider = api
        .post(
            "/api/v1/providers",
            json!({ "name": "werkstatt", "kind": "openai", "base_url": upstream }),
        )
        .await;
    api.post(
        &format!(
            "/api/v1/providers/{}/models",
            provider["id"].as_str().unwrap()
        ),
        json!({ "name": model, "input_price": 100_000, "output_price": 300_000 }),
    )
    .await;
    api.post(
        "/api/v1/members",
        json!({ "kind": "ai", "name": name, "provider": "werkstatt", "model": model }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An OpenAI-compatible upstream that calls a tool when offered tools and
/// answers in text once it has the tool's result, as function-calling models
/// do. It stands in because no model that calls tools can run here; it
/// keeps every request it receives, to show what tutti forwarded.
async fn tool_calling_upstream() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::response::IntoResponse;
    let received: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let kept = kept.clone();
            async move {
                let last_is_tool = body["messages"]
                    .as_array()
                    .and_then(|m| m.last())
                    .is_some_and(|m| m["role"] == "tool");
                let offers_tools = body.get("tools").is_some();
                kept.lock().unwrap().push(body);
                let choice = |delta: Value, finish: Value| json!({ "id": "up-1", "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] });
                let mut events = if offers_tools && !last_is_tool {
                    vec![
                        choice(json!({ "role": "assistant", "tool_calls": [{ "index": 0, "id": "call_up1", "type": "function", "function": { "name": "termin_vorschlagen", "arguments": "" } }] }), Value::Null),
                        choice(json!({ "tool_calls": [{ "index": 0, "function": { "arguments": "{\"tag\": " } }] }), Value::Null),
                        choice(json!({ "tool_calls": [{ "index": 0, "function": { "arguments": "\"Montag\"}" } }] }), Value::Null),
                        choice(json!({}), json!("tool_calls")),
                    ]
                } else {
                    vec![
                        choice(json!({ "role": "assistant", "content": "Montag " }), Value::Null),
                        choice(json!({ "content": "passt." }), Value::Null),
                        choice(json!({}), json!("stop")),
                    ]
                };
                events.push(json!({ "choices": [], "usage": { "prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52 } }));
                let mut sse: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
                sse.push_str("data: [DONE]\n\n");
                ([("content-type", "text/event-stream")], sse).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/v1"), received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_and_every_other_parameter_reach_the_upstream_and_tool_calls_come_back() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Some(python) = python("an openai client test") else {
        return;
    };
    let (upstream, received) = tool_calling_upstream().await;
    let Fresh {
        _dir,
        url: _,
        owner_token,
        server,
    } = Fresh::new(&model, 30);
    let api = Api::new(&server.url, &owner_token);
    let worker = worker_on(&api, &upstream, "agentic-7b", "Agent Paula").await;
    let token = token_for(&api, &worker).await;
    let script = r#"
import json, os
from openai import OpenAI
client = OpenAI(base_url=os.environ["BASE_URL"], api_key=os.environ["TOKEN"], max_retries=0)
tools = [{"type": "function", "function": {"name": "termin_vorschlagen", "description": "Schlägt dem Kunden einen Termin vor.",
          "parameters": {"type": "object", "properties": {"tag": {"type": "string"}}, "required": ["tag"]}}}]
ask = [{"role": "user", "content": "Wann kann der Techniker kommen?"}]
plain = client.chat.completions.create(model="agentic-7b", messages=ask, tools=tools, tool_choice="required",
    parallel_tool_calls=False, seed=7, top_p=0.9, stop=["\n\n"], user="agent-7", metadata={"ticket": "4711"},
    response_format={"type": "text"}, max_tokens=64, extra_body={"bogus_field": 1})
call = plain.choices[0].message.tool_calls[0]
streamed, finish, usage = {}, None, None
for chunk in client.chat.completions.create(model="agentic-7b", messages=ask, tools=tools, stream=True,
                                            stream_options={"include_usage": True}, max_completion_tokens=64,
                                            extra_body={"max_tokens": 100000}):
    if chunk.usage:
        usage = chunk.usage.model_dump()
    for choice in chunk.choices:
        finish = choice.finish_reason or finish
        for piece in choice.delta.tool_calls or []:
            entry = streamed.setdefault(piece.index, {"id": None, "name": "", "arguments": ""})
            entry["id"] = piece.id or entry["id"]
            if piece.function and piece.function.name:
                entry["name"] += piece.function.name
            if piece.function and piece.function.arguments:
                entry["arguments"] += piece.function.arguments
answered = ask + [plain.choices[0].message.model_dump(exclude_none=True),
                  {"role": "tool", "tool_call_id": call.id, "content": "{\"frei\": true}"}]
followup = client.chat.completions.create(model="agentic-7b", messages=answered, tools=tools, max_tokens=64)
print(json.dumps({
    "plain": {"finish": plain.choices[0].finish_reason, "content": plain.choices[0].message.content,
              "id": call.id, "name": call.function.name, "arguments": json.loads(call.function.arguments),
              "usage": plain.usage.model_dump()},
    "streamed": {"finish": finish, "calls": list(streamed.values()), "usage": usage},
    "followup": followup.choices[0].message.content,
}))
"#;
    let result = run_python(&python, script, &server, &token);
    let plain = &result["plain"];
    assert_eq!(
        (
            &plain["finish"],
            &plain["content"],
            &plain["id"],
            &plain["name"]
        ),
        (
            &json!("tool_calls"),
            &Value::Null,
            &json!("call_up1"),
            &json!("termin_vorschlagen")
        ),
        "{result}"
    );
    assert_eq!(plain["arguments"], json!({ "tag": "Montag" }));
    assert_eq!(
        result["streamed"]["calls"],
        json!([{ "id": "call_up1", "name": "termin_vorschlagen", "arguments": "{\"tag\": \"Montag\"}" }])
    );
    assert_eq!(result["streamed"]["finish"], "tool_calls");
    assert_eq!(result["followup"], "Montag passt.");

    // The upstream received every parameter as the client sent it, with its
    // own model name and streaming with usage so the call is metered.
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    let first = &received[0];
    assert_eq!(
        first["tools"][0]["function"]["parameters"]["required"],
        json!(["tag"])
    );
    for (field, sent) in [
        ("tool_choice", json!("required")),
        ("parallel_tool_calls", json!(false)),
        ("seed", json!(7)),
        ("top_p", json!(0.9)),
        ("stop", json!(["\n\n"])),
        ("user", json!("agent-7")),
        ("metadata", json!({ "ticket": "4711" })),
        ("response_format", json!({ "type": "text" })),
        ("bogus_field", json!(1)),
        ("max_tokens", json!(64)),
        ("model", json!("agentic-7b")),
        ("stream", json!(true)),
        ("stream_options", json!({ "include_usage": true })),
    ] {
        assert_eq!(first[field], sent, "{field}: {first}");
    }
    assert!(
        first.get("temperature").is_none(),
        "tutti added a temperature: {first}"
    );
    // The second call also sent max_tokens 100000: only the cap goes up,
    // under the client's key, so the upstream never outruns the reservation.
    assert_eq!(received[1]["max_completion_tokens"], 64);
    assert!(received[1].get("max_tokens").is_none(), "{}", received[1]);
    let messages = &received[2]["messages"];
    assert_eq!(messages[1]["tool_calls"][0]["id"], "call_up1", "{messages}");
    assert_eq!(
        (&messages[2]["role"], &messages[2]["tool_call_id"]),
        (&json!("tool"), &json!("call_up1"))
    );

    // All three calls are metered at the upstream's usage.
    let summary = api
        .get("/api/v1/ledger/summary?group_by=worker&period=all")
        .await;
    let line = &summary["lines"][0];
    assert_eq!(
        (line["key"].as_str(), &line["calls"]),
        (Some(worker.as_str()), &json!(3))
    );
    assert_eq!(
        line["tokens"]["input"].as_i64().unwrap() + line["tokens"]["output"].as_i64().unwrap(),
        3 * 52
    );
    api.assert_ledger_balanced().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_model_honours_stop_json_a_schema_and_tool_calls_and_refuses_what_it_cannot_by_name()
 {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let Some(python) = python("an openai client test") else {
        return;
    };
    let (fresh, api, token) = an_agent(&model).await;
    let server = &fresh.server;
    let script = r#"
import json, os
import openai
from openai import OpenAI
client = OpenAI(base_url=os.environ["BASE_URL"], api_key=os.environ["TOKEN"], max_retries=0)
count = [{"role": "user", "content": "Count from 1 to 20, separated by commas."}]
whole = client.chat.completions.create(model="smollm2", messages=count, max_tokens=60).choices[0].message.content
stop = whole[len(whole) // 2:len(whole) // 2 + 3]
stopped = client.chat.completions.create(model="smollm2", messages=count, max_tokens=60, stop=[stop]).choices[0]
as_json = client.chat.completions.create(model="smollm2", response_format={"type": "json_object"}, max_tokens=300,
    frequency_penalty=1.0, presence_penalty=0.5,
    messages=[{"role": "user", "content": "Reply with a JSON object with the keys name and city of a heating technician."}]).choices[0]
schema = {"type": "object", "additionalProperties": False, "required": ["name", "city"],
          "properties": {"name": {"type": "string", "maxLength": 40}, "city": {"type": "string", "maxLength": 40}}}
fitted = client.chat.completions.create(model="smollm2", max_tokens=200,
    response_format={"type": "json_schema", "json_schema": {"name": "techniker", "schema": schema, "strict": True}},
    messages=[{"role": "user", "content": "Name a heating technician and the city he works in."}]).choices[0]
from jsonschema import validate
validate(json.loads(fitted.message.content), schema)
termin = {"type": "function", "function": {"name": "termin_eintragen", "description": "Puts a service visit into the calendar.",
    "parameters": {"type": "object", "additionalProperties": False, "required": ["kunde", "tag"],
                   "properties": {"kunde": {"type": "string", "maxLength": 40},
                                  "tag": {"type": "string", "enum": ["Montag", "Dienstag", "Mittwoch"]}}}}}
anrufen = {"type": "function", "function": {"name": "kunde_anrufen",
    "parameters": {"type": "object", "required": ["telefon"], "additionalProperties": False,
                   "properties": {"telefon": {"type": "string", "maxLength": 20}}}}}
visit = [{"role": "user", "content": "Book a maintenance visit for Familie Schulz on Tuesday."}]
named = client.chat.completions.create(model="smollm2", max_tokens=120, messages=visit, tools=[termin, anrufen],
    tool_choice={"type": "function", "function": {"name": "termin_eintragen"}})
named_call = named.choices[0].message.tool_calls[0]
validate(json.loads(named_call.function.arguments), termin["function"]["parameters"])
required = client.chat.completions.create(model="smollm2", max_tokens=120, messages=visit, tools=[termin, anrufen],
    tool_choice="required")
required_call = required.choices[0].message.tool_calls[0]
chosen = {"termin_eintragen": termin, "kunde_anrufen": anrufen}[required_call.function.name]
validate(json.loads(required_call.function.arguments), chosen["function"]["parameters"])
streamed_calls, streamed_finish = [], None
for chunk in client.chat.completions.create(model="smollm2", max_tokens=120, messages=visit, tools=[termin],
        tool_choice="required", stream=True, stream_options={"include_usage": True}):
    if chunk.choices and chunk.choices[0].delta.tool_calls:
        streamed_calls.extend(chunk.choices[0].delta.tool_calls)
    if chunk.choices and chunk.choices[0].finish_reason:
        streamed_finish = chunk.choices[0].finish_reason
validate(json.loads(streamed_calls[0].function.arguments), termin["function"]["parameters"])
# The loop goes on: the call and its result come back, and the model answers.
followed = client.chat.completions.create(model="smollm2", max_tokens=40, messages=visit + [
    {"role": "assistant", "content": None, "tool_calls": [named_call.model_dump()]},
    {"role": "tool", "tool_call_id": named_call.id, "content": "Eingetragen: Dienstag, 8 Uhr."}]).choices[0]
def refusal(**kwargs):
    try:
        client.chat.completions.create(model="smollm2", messages=count, max_tokens=8, **kwargs)
        return None
    except openai.BadRequestError as e:
        return e.param
print(json.dumps({
    "whole": whole, "stop": stop, "stopped": stopped.message.content, "stopped_finish": stopped.finish_reason,
    "json": as_json.message.content, "json_finish": as_json.finish_reason,
    "fitted": json.loads(fitted.message.content), "fitted_finish": fitted.finish_reason,
    "named": {"finish": named.choices[0].finish_reason, "name": named_call.function.name,
              "content": named.choices[0].message.content, "output_tokens": named.usage.completion_tokens},
    "required": {"finish": required.choices[0].finish_reason, "name": required_call.function.name},
    "streamed": {"finish": streamed_finish, "name": streamed_calls[0].function.name, "id": streamed_calls[0].id},
    "followed": {"finish": followed.finish_reason, "content": followed.message.content},
    "auto": refusal(tools=[termin]),
    "unknown_tool": refusal(tools=[termin], tool_choice={"type": "function", "function": {"name": "f"}}),
    "bogus": refusal(extra_body={"bogus_field": 1}),
    "logprobs": refusal(logprobs=True),
    "n": refusal(n=2),
}))
"#;
    let result = run_python(&python, script, server, &token);
    let (whole, stop) = (
        result["whole"].as_str().unwrap(),
        result["stop"].as_str().unwrap(),
    );
    assert_eq!(
        result["stopped"].as_str().unwrap(),
        &whole[..whole.find(stop).unwrap()],
        "{result}"
    );
    assert_eq!(result["stopped_finish"], "stop");
    assert_eq!(result["json_finish"], "stop", "{result}");
    let answer: Value = serde_json::from_str(result["json"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {result}"));
    assert!(answer.is_object(), "{answer}");
    // The answer fits the schema (the script validated it with jsonschema).
    assert_eq!(result["fitted_finish"], "stop", "{result}");
    assert!(
        result["fitted"]["name"].is_string() && result["fitted"]["city"].is_string(),
        "{result}"
    );
    // Tools: a grammar makes the call (the script validated each call's
    // arguments against its function's parameters), metered like any answer;
    // the result goes back and the model answers in text.
    assert_eq!(
        (&result["named"]["finish"], &result["named"]["name"]),
        (&json!("tool_calls"), &json!("termin_eintragen")),
        "{result}"
    );
    assert!(result["named"]["content"].is_null(), "{result}");
    assert!(
        result["named"]["output_tokens"].as_u64().unwrap() > 3,
        "{result}"
    );
    assert_eq!(result["required"]["finish"], "tool_calls", "{result}");
    assert_eq!(
        (&result["streamed"]["finish"], &result["streamed"]["name"]),
        (&json!("tool_calls"), &json!("termin_eintragen")),
        "{result}"
    );
    assert!(
        result["streamed"]["id"]
            .as_str()
            .unwrap()
            .starts_with("call_")
    );
    assert!(
        !result["followed"]["content"].as_str().unwrap().is_empty(),
        "{result}"
    );
    assert_eq!(
        (
            &result["auto"],
            &result["unknown_tool"],
            &result["bogus"],
            &result["logprobs"],
            &result["n"]
        ),
        (
            &json!("tool_choice"),
            &json!("tool_choice.function.name"),
            &json!("bogus_field"),
            &json!("logprobs"),
            &json!("n")
        ),
        "{result}"
    );

    // Malformed JSON and data after the object are refused, and nothing is
    // reserved for a refused call.
    for body in [
        r#"{"model": "smollm2", "messages": [{"role": "user", "content": "hi"}]} trailing"#,
        r#"{"model": "smollm2", "messages": [{"role": "user", "content": "hi"}]"#,
        r#"[{"model": "smollm2"}]"#,
    ] {
        let reply = reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", server.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 400, "{body}");
        let error: Value = reply.json().await.unwrap();
        assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
    }
    let totals = api.assert_ledger_balanced().await;
    let calls = api
        .get("/api/v1/ledger/summary?group_by=worker&period=all")
        .await["lines"][0]["calls"]
        .clone();
    // Four text answers, three tool calls and the answer to a tool's result.
    assert_eq!(
        calls, 8,
        "only the eight answered calls were metered: {totals}"
    );
}

/// An OpenAI-compatible upstream whose answer is one phrase over and over,
/// without end, as a small model's can be (the embedded model no longer
/// loops on the demo's work orders, so a stand-in loops instead). Only a
/// caller that stops reading ends it.
async fn looping_upstream() -> String {
    use axum::response::IntoResponse;
    use futures_util::StreamExt as _;
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(|| async {
            let pieces = futures_util::stream::iter(0_u64..).map(|i| {
                let content = if i == 0 { "Jede Stunde zählt," } else { " die wir schneller sind," };
                let event = json!({ "choices": [{ "index": 0, "delta": { "content": content }, "finish_reason": null }] });
                Ok::<_, std::convert::Infallible>(format!("data: {event}\n\n"))
            });
            (
                [("content-type", "text/event-stream")],
                axum::body::Body::from_stream(pieces),
            )
                .into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/v1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_answer_loops_is_stopped_and_the_reviewer_sees_why() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(model) = model() else { return };
    let upstream = looping_upstream().await;
    let Fresh {
        _dir,
        url: _,
        owner_token,
        server,
    } = Fresh::new(&model, 30);
    let api = Api::new(&server.url, &owner_token);
    let worker = worker_on(&api, &upstream, "klein-1b", "Emil").await;
    let item = api
        .post(
            "/api/v1/work-items",
            json!({ "title": "Kundenbrief Heizungsausfall", "assignee_id": worker, "state": "ready" }),
        )
        .await;
    let runs = api
        .get(&format!(
            "/api/v1/runs?work_item={}",
            item["id"].as_str().unwrap()
        ))
        .await;
    let run_id = runs["items"][0]["id"].as_str().unwrap().to_owned();
    let run = api.finished_run(&run_id, Duration::from_secs(60)).await;
    assert_eq!(run["status"], "failed", "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(
        error.contains("loop") && error.contains("die wir schneller sind,"),
        "{error}"
    );
    // The answer never ends by itself: the run ended because the guard
    // stopped it, charged for what came before, not for endless pieces.
    let output = run["tokens"]["output"].as_i64().unwrap();
    assert!((3..200).contains(&output), "{run}");
    // The reviewer sees why on the item, which is blocked.
    let item = api
        .get(&format!(
            "/api/v1/work-items/{}",
            item["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(item["state"], "blocked", "{item}");
    api.assert_ledger_balanced().await;
}

/// `tutti up --provider-url … --provider-model …` puts the demo's AI
/// workers on an OpenAI-compatible server: the demo's queued runs are
/// answered there (here by a stand-in upstream, which answers "Montag
/// passt."), metered, and no run needs the embedded model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_on_an_openai_compatible_server_when_told_to() {
    let (upstream, received) = tool_calling_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = common::up(
        dir.path(),
        &[
            "--provider-url",
            &upstream,
            "--provider-model",
            "qwen2.5:7b",
        ],
        &[("TUTTI_LOG", "warn")],
    );
    let api = Api::new(&server.url, &token);
    let runs = api.get("/api/v1/runs?limit=50").await;
    // The demo's external agent claims its own work; tutti never runs it.
    let members = api.get("/api/v1/members?limit=100").await;
    let agents: Vec<&Value> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["external"] == true)
        .map(|m| &m["id"])
        .collect();
    assert_eq!(agents.len(), 1, "{members}");
    // The demo's history of template work was run weeks ago; what the
    // server runs now is what was queued today.
    let today = chrono::Utc::now() - chrono::Duration::days(1);
    let ids: Vec<String> = runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !agents.contains(&&r["worker_id"]))
        .filter(|r| {
            r["created_at"]
                .as_str()
                .and_then(|at| at.parse::<chrono::DateTime<chrono::Utc>>().ok())
                .is_some_and(|at| at > today)
        })
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!ids.is_empty(), "{runs}");
    for id in &ids {
        let run = api.finished_run(id, Duration::from_secs(30)).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(
            (&run["provider"], &run["model"], &run["output"]),
            (
                &json!("extern"),
                &json!("qwen2.5:7b"),
                &json!("Montag passt.")
            ),
            "{run}"
        );
    }
    let asked = received.lock().unwrap().clone();
    assert!(
        asked.iter().all(|r| r["model"] == "qwen2.5:7b"),
        "{asked:?}"
    );
    api.assert_ledger_balanced().await;
}
