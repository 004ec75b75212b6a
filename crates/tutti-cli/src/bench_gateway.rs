//! `tutti bench gateway`: what tutti's gateway adds to a model call.
//!
//! A small OpenAI-compatible upstream runs inside the harness and answers
//! every call with the same short completion (streamed or not). The same
//! closed-loop load is then sent (a) straight to that upstream and (b)
//! through tutti's `/v1/chat/completions` with auth, routing, the budget
//! reservation and the ledger on, at several concurrencies. The difference of
//! the two latency distributions is the gateway's cost. A third path, a bare
//! forwarder that makes the same two HTTP hops and nothing else, shows how
//! much of that cost any HTTP gateway on this machine would have.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::response::IntoResponse;
use tutti_domain::labour::{BudgetPeriod, BudgetScope, Prices, ProviderKind};
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::validate::Email;
use tutti_engine::{Clock, SystemClock};
use tutti_server::AppState;
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewMember};
use tutti_store::{NewBudget, NewModel, NewProvider};

use crate::bench::{Measured, NextRequest, XorShift, drive};
use crate::cli::GatewayBench;

const ANSWER: [&str; 3] = ["Guten ", "Morgen, ", "Frau Lindner."];

/// The upstream's one answer, as JSON or as an event stream with usage.
async fn upstream(body: Bytes) -> axum::response::Response {
    let streaming = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .is_some_and(|b| b["stream"] == true);
    let usage =
        serde_json::json!({ "prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15 });
    if !streaming {
        let answer = serde_json::json!({
            "id": "up", "object": "chat.completion", "created": 0, "model": "fixed",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": ANSWER.concat() }, "finish_reason": "stop" }],
            "usage": usage,
        });
        return axum::Json(answer).into_response();
    }
    let mut events = String::new();
    for piece in ANSWER {
        let chunk = serde_json::json!({
            "id": "up", "object": "chat.completion.chunk", "created": 0, "model": "fixed",
            "choices": [{ "index": 0, "delta": { "content": piece }, "finish_reason": null }],
        });
        events.push_str(&format!("data: {chunk}\n\n"));
    }
    let last = serde_json::json!({
        "id": "up", "object": "chat.completion.chunk", "created": 0, "model": "fixed",
        "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }], "usage": usage,
    });
    events.push_str(&format!("data: {last}\n\ndata: [DONE]\n\n"));
    (
        [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
        events,
    )
        .into_response()
}

/// The bare forwarder: the body to the upstream and its answer back, with
/// the same HTTP client library as tutti's provider, and nothing else.
async fn forward(
    axum::extract::State((http, url)): axum::extract::State<(reqwest::Client, String)>,
    body: Bytes,
) -> axum::response::Response {
    let answer = async {
        let answer = http
            .post(url)
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let content_type = answer
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .cloned();
        Ok::<_, reqwest::Error>((answer.status(), content_type, answer.bytes().await?))
    };
    match answer.await {
        Ok((status, content_type, body)) => {
            let mut response = (status, body).into_response();
            if let Some(content_type) = content_type {
                response
                    .headers_mut()
                    .insert(axum::http::header::CONTENT_TYPE, content_type);
            }
            response
        }
        Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// An org whose AI member routes to the upstream, under a hard budget large
/// enough never to refuse; returns the member's token.
async fn setup<S: Store>(store: &S, upstream: std::net::SocketAddr) -> anyhow::Result<String> {
    store.migrate().await?;
    let owner = NewMember {
        kind: MemberKind::Human,
        name: "Bench".into(),
        email: Some(Email::parse("email", "bench@tutti.invalid")?),
        role: Role::Owner,
        teams: vec![],
        role_card: None,
        provider: None,
        model: None,
    };
    let (org, owner) = store
        .create_org("Gateway bench", "EUR", owner, SystemClock.now())
        .await?;
    let ctx = Ctx::new(org.id, Some(owner.id), SystemClock.now());
    let provider = store
        .create_provider(
            &ctx,
            NewProvider {
                name: "upstream".into(),
                kind: ProviderKind::Openai,
                base_url: Some(format!("http://{upstream}/v1")),
                api_key_env: None,
                api_key: None,
                limits: tutti_domain::labour::CallLimits::default(),
            },
        )
        .await?;
    let prices = Prices {
        input: 150_000,
        cached_input: 75_000,
        output: 600_000,
    };
    store
        .put_model(
            &ctx,
            provider.id,
            NewModel {
                name: "fixed".into(),
                prices,
            },
        )
        .await?;
    let agent = store
        .create_member(
            &ctx,
            NewMember {
                kind: MemberKind::Ai,
                name: "Agent".into(),
                email: None,
                role: Role::Member,
                teams: vec![],
                role_card: None,
                provider: Some("upstream".into()),
                model: Some("fixed".into()),
            },
        )
        .await?;
    store
        .create_budget(
            &ctx,
            NewBudget {
                name: "bench".into(),
                scope: BudgetScope::Org,
                scope_id: None,
                period: BudgetPeriod::Lifetime,
                token_limit: Some(i64::MAX / 4),
                cost_limit: None,
                warn_percent: 100,
                hard: true,
            },
        )
        .await?;
    let (token, hash) = tutti_server::auth::new_token().context("no randomness")?;
    store.create_token(&ctx, agent.id, "bench", &hash).await?;
    Ok(token)
}

struct Row {
    backend: &'static str,
    mode: &'static str,
    clients: usize,
    direct: Measured,
    forwarder: Measured,
    gateway: Measured,
}

fn request(stream: bool) -> NextRequest {
    let body = serde_json::json!({
        "model": "fixed", "stream": stream, "max_tokens": 16,
        "messages": [{ "role": "user", "content": "Guten Morgen!" }],
    })
    .to_string();
    Arc::new(move |_: &mut XorShift| ("POST", "/v1/chat/completions".to_owned(), body.clone()))
}

async fn run_backend<S: Store>(
    store: S,
    args: &GatewayBench,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let backend = store.backend();
    let upstream_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let upstream_address = upstream_listener.local_addr()?;
    let upstream_app =
        axum::Router::new().route("/v1/chat/completions", axum::routing::post(upstream));
    let upstream_server =
        tokio::spawn(async move { axum::serve(upstream_listener, upstream_app).await });
    let token = setup(&store, upstream_address).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(tutti_server::serve(listener, AppState::new(store.clone())));
    let forwarder_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let forwarder_address = forwarder_listener.local_addr()?;
    let forwarder_app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(forward))
        .with_state((
            reqwest::Client::new(),
            format!("http://{upstream_address}/v1/chat/completions"),
        ));
    let forwarder =
        tokio::spawn(async move { axum::serve(forwarder_listener, forwarder_app).await });
    let authorization = format!("Bearer {token}");
    for (mode, stream) in [("json", false), ("stream", true)] {
        for &clients in &args.clients {
            let mut measured = Vec::new();
            for path in [upstream_address, forwarder_address, address] {
                // Warm-up fills the connection pools.
                drive(path, &authorization, clients, 0.5, request(stream)).await?;
                measured.push(
                    drive(path, &authorization, clients, args.seconds, request(stream)).await?,
                );
            }
            eprintln!("{backend}: {mode} with {clients} clients done");
            let [direct, forwarder, gateway] = <[Measured; 3]>::try_from(measured)
                .map_err(|_| anyhow::anyhow!("three paths measured"))?;
            rows.push(Row {
                backend,
                mode,
                clients,
                direct,
                forwarder,
                gateway,
            });
        }
    }
    server.abort();
    forwarder.abort();
    upstream_server.abort();
    Ok(())
}

pub async fn gateway(args: GatewayBench) -> anyhow::Result<ExitCode> {
    if args.clients.is_empty() || args.clients.contains(&0) {
        bail!("--clients must list concurrencies of at least 1");
    }
    let mut rows = Vec::new();
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let store = crate::bench::fresh_sqlite(temp.path(), "gateway").await?;
    run_backend(store, &args, &mut rows).await?;
    if let Some(store) = crate::bench::fresh_postgres(args.postgres_url.as_deref()).await? {
        run_backend(store, &args, &mut rows).await?;
    }
    println!(
        "\ntutti bench gateway — {:.0} s per measurement; added = through tutti minus straight to the upstream; \
         bare hop = through a forwarder that only relays, minus straight\n",
        args.seconds
    );
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "backend",
        "mode",
        "clients",
        "direct req/s",
        "gateway req/s",
        "direct p50",
        "gateway p50",
        "added p50",
        "direct p99",
        "gateway p99",
        "added p99",
        "bare hop req/s",
        "bare hop p99",
        "errors",
    ]);
    let ms = |micros: u64| format!("{:.2}", micros as f64 / 1000.0);
    let added =
        |gateway: u64, direct: u64| format!("{:+.2}", (gateway as f64 - direct as f64) / 1000.0);
    for row in &rows {
        let (d, f, g) = (
            &row.direct.histogram,
            &row.forwarder.histogram,
            &row.gateway.histogram,
        );
        table.add_row([
            row.backend.to_owned(),
            row.mode.to_owned(),
            row.clients.to_string(),
            format!("{:.0}", row.direct.requests as f64 / row.direct.seconds),
            format!("{:.0}", row.gateway.requests as f64 / row.gateway.seconds),
            ms(d.value_at_quantile(0.5)),
            ms(g.value_at_quantile(0.5)),
            added(g.value_at_quantile(0.5), d.value_at_quantile(0.5)),
            ms(d.value_at_quantile(0.99)),
            ms(g.value_at_quantile(0.99)),
            added(g.value_at_quantile(0.99), d.value_at_quantile(0.99)),
            format!(
                "{:.0}",
                row.forwarder.requests as f64 / row.forwarder.seconds
            ),
            added(f.value_at_quantile(0.99), d.value_at_quantile(0.99)),
            (row.direct.errors + row.forwarder.errors + row.gateway.errors).to_string(),
        ]);
    }
    println!("{table}");
    println!("latencies in ms");
    Ok(ExitCode::SUCCESS)
}
