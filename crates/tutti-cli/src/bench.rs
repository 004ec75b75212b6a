//! `tutti bench`: measurements on this machine, printed as tables.
//!
//! `bench api` seeds an org of the size a large customer would have, serves it
//! in this process on a loopback port, and drives it with concurrent clients
//! (closed loop: each client sends its next request when the last one is
//! answered), recording every latency in an HDR histogram.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use hdrhistogram::Histogram;
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::strategy::{KeyResult, Objective, ObjectiveStatus, key_result_progress};
use tutti_domain::validate::Email;
use tutti_domain::work::{Priority, WorkItem, WorkKind, WorkState};
use tutti_engine::{Clock, SystemClock};
use tutti_server::AppState;
use tutti_store::postgres::PgStore;
use tutti_store::prelude::*;
use tutti_store::sqlite::SqliteStore;
use tutti_store::{Ctx, Import, NewMember, NewTeam};
use uuid::Uuid;

use crate::cli::ApiBench;

/// A small, fast, deterministic generator: benchmarks need spread, not secrecy.
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

pub(crate) struct Seeded {
    pub(crate) token: String,
    pub(crate) objectives: Vec<Uuid>,
    pub(crate) key_results: Vec<Uuid>,
    pub(crate) seconds: f64,
}

pub(crate) async fn seed<S: Store>(store: &S, args: &ApiBench) -> anyhow::Result<Seeded> {
    store.migrate().await?;
    let started = Instant::now();
    let owner = NewMember {
        kind: MemberKind::Human,
        name: "Bench Owner".into(),
        email: Some(Email::parse("email", "owner@bench.example")?),
        role: Role::Owner,
        teams: vec![],
        role_card: None,
        provider: None,
        model: None,
    };
    let now = SystemClock.now();
    let (org, owner) = store.create_org("Bench GmbH", "EUR", owner, now).await?;
    let ctx = Ctx::new(org.id, Some(owner.id), now);
    let team = store
        .create_team(
            &ctx,
            NewTeam {
                name: "Bench".into(),
                parent_id: None,
                lead_id: Some(owner.id),
            },
        )
        .await?;
    let (start, end) = (
        NaiveDate::from_ymd_opt(2026, 10, 1),
        NaiveDate::from_ymd_opt(2026, 12, 31),
    );
    let (Some(start), Some(end)) = (start, end) else {
        bail!("bad bench period")
    };
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let products = crate::bench_service::catalogue(store, &ctx).await?;
    let roots = (args.objectives / 10).max(1);
    let mut objectives: Vec<Objective> = Vec::with_capacity(args.objectives);
    for i in 0..args.objectives {
        // A tree three to four levels deep: each objective below the first
        // tenth hangs under an earlier one.
        let parent_id = (i >= roots).then(|| objectives[i / 10].id);
        objectives.push(Objective {
            id: Uuid::now_v7(),
            title: format!("Ziel {i}"),
            why: "Weil es zählt.".into(),
            owner_id: Some(owner.id),
            team_id: Some(team.id),
            period_start: start,
            period_end: end,
            parent_id,
            status: ObjectiveStatus::Active,
            created_at: ctx.now,
        });
    }
    let key_results: Vec<KeyResult> = (0..args.key_results)
        .map(|i| {
            let current = rng.below(100) as f64;
            KeyResult {
                id: Uuid::now_v7(),
                objective_id: objectives[i % objectives.len().max(1)].id,
                title: format!("Messgröße {i}"),
                baseline: 0.0,
                target: 100.0,
                current,
                unit: "%".into(),
                confidence: (rng.below(11)) as u8,
                progress: key_result_progress(0.0, 100.0, current),
                updated_at: ctx.now,
            }
        })
        .collect();
    let states = WorkState::ALL;
    let work_items: Vec<WorkItem> = (0..args.work_items)
        .map(|i| WorkItem {
            id: Uuid::now_v7(),
            title: format!("Aufgabe {i}"),
            description: String::new(),
            team_id: Some(team.id),
            assignee_id: Some(owner.id),
            state: states[rng.below(states.len())],
            kind: if rng.below(4) == 0 {
                WorkKind::Unplanned
            } else {
                WorkKind::Planned
            },
            priority: Priority::Normal,
            due: None,
            parent_id: None,
            key_result_id: (rng.below(5) != 0)
                .then(|| key_results[rng.below(key_results.len())].id),
            // Half the work names the service product it belongs to.
            service_product_id: (rng.below(2) == 0).then(|| products[rng.below(products.len())]),
            created_by: owner.id,
            created_at: ctx.now,
            updated_at: ctx.now,
            state_since: ctx.now,
        })
        .collect();
    let objective_ids = objectives.iter().map(|o| o.id).collect();
    let key_result_ids = key_results.iter().map(|k| k.id).collect();
    store
        .import(
            &ctx,
            Import {
                objectives,
                key_results,
                work_items,
            },
        )
        .await?;
    crate::bench_service::hand_overs(
        store,
        (org.id, &owner, &team),
        &products,
        args.work_items,
        &mut |n| rng.below(n),
        now,
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let token = crate::local::mint_token(store, org.id, owner.id, "bench").await?;
    Ok(Seeded {
        token,
        objectives: objective_ids,
        key_results: key_result_ids,
        seconds,
    })
}

#[derive(Clone, Copy)]
enum Endpoint {
    Objective,
    WorkByKeyResult,
    CheckIn,
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Endpoint::Objective => "GET /objectives/{id}",
            Endpoint::WorkByKeyResult => "GET /work-items?key_result=…",
            Endpoint::CheckIn => "POST /key-results/{id}/check-ins",
        }
    }
}

pub(crate) struct Measured {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) seconds: f64,
    pub(crate) histogram: Histogram<u64>,
}

/// One client: its own keep-alive HTTP/1 connection, so the measurement
/// spends as little of the machine's two cores as possible on the client side.
async fn connect(
    address: std::net::SocketAddr,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<String>> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// What a client sends next: method, path and body.
pub(crate) type NextRequest =
    Arc<dyn Fn(&mut XorShift) -> (&'static str, String, String) + Send + Sync>;

async fn load(
    address: std::net::SocketAddr,
    seeded: &Arc<Seeded>,
    endpoint: Endpoint,
    clients: usize,
    seconds: f64,
) -> anyhow::Result<Measured> {
    let ids = Arc::clone(seeded);
    let next: NextRequest = Arc::new(move |rng: &mut XorShift| match endpoint {
        Endpoint::Objective => {
            let id = ids.objectives[rng.below(ids.objectives.len())];
            ("GET", format!("/api/v1/objectives/{id}"), String::new())
        }
        Endpoint::WorkByKeyResult => {
            let id = ids.key_results[rng.below(ids.key_results.len())];
            (
                "GET",
                format!("/api/v1/work-items?key_result={id}"),
                String::new(),
            )
        }
        Endpoint::CheckIn => {
            let id = ids.key_results[rng.below(ids.key_results.len())];
            let body = format!(
                r#"{{"value": {}, "confidence": 6, "note": "bench"}}"#,
                rng.below(100)
            );
            ("POST", format!("/api/v1/key-results/{id}/check-ins"), body)
        }
    });
    drive(
        address,
        &format!("Bearer {}", seeded.token),
        clients,
        seconds,
        next,
    )
    .await
}

/// Closed-loop load: each of `clients` sends its next request when the last
/// one is answered (body read to the end), until `seconds` have passed.
pub(crate) async fn drive(
    address: std::net::SocketAddr,
    authorization: &str,
    clients: usize,
    seconds: f64,
    next: NextRequest,
) -> anyhow::Result<Measured> {
    use http_body_util::BodyExt;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let next = Arc::clone(&next);
        let authorization = authorization.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(address).await?;
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut rng = XorShift(
                0xA076_1D64_78BD_642F ^ (client as u64 + 1).wrapping_mul(0xE703_7ED1_A0B4_28DB),
            );
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let (method, path, body) = next(&mut rng);
                let request = hyper::Request::builder()
                    .method(method)
                    .uri(path)
                    .header("host", address.to_string())
                    .header("authorization", &authorization)
                    .header("content-type", "application/json")
                    .body(body)?;
                let sent = Instant::now();
                sender.ready().await?;
                let ok = match sender.send_request(request).await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        response.into_body().collect().await.is_ok() && ok
                    }
                    Err(_) => false,
                };
                let micros = sent.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
                if ok {
                    histogram.saturating_record(micros.max(1));
                } else {
                    errors += 1;
                    if sender.is_closed() {
                        sender = connect(address).await?;
                    }
                }
            }
            anyhow::Ok((histogram, errors))
        }));
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for task in tasks {
        let (h, e) = task.await??;
        histogram.add(h)?;
        errors += e;
    }
    Ok(Measured {
        requests: histogram.len(),
        errors,
        seconds: started.elapsed().as_secs_f64(),
        histogram,
    })
}

struct Row {
    backend: &'static str,
    endpoint: &'static str,
    measured: Measured,
}

async fn run_backend<S: Store>(
    store: S,
    args: &ApiBench,
    rows: &mut Vec<Row>,
) -> anyhow::Result<f64> {
    let backend = store.backend();
    eprintln!(
        "{backend}: seeding {} objectives, {} key results, {} work items …",
        args.objectives, args.key_results, args.work_items
    );
    let seeded = Arc::new(seed(&store, args).await?);
    eprintln!("{backend}: seeded in {:.1} s", seeded.seconds);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(tutti_server::serve(listener, AppState::new(store)));
    for endpoint in [
        Endpoint::Objective,
        Endpoint::WorkByKeyResult,
        Endpoint::CheckIn,
    ] {
        // A short warm-up fills connection pools and statement caches.
        load(address, &seeded, endpoint, args.clients, 0.5).await?;
        let measured = load(address, &seeded, endpoint, args.clients, args.seconds).await?;
        eprintln!("{backend}: {} done", endpoint.label());
        rows.push(Row {
            backend,
            endpoint: endpoint.label(),
            measured,
        });
    }
    server.abort();
    Ok(seeded.seconds)
}

/// A new SQLite database file in `dir`, its name starting with `name`.
pub(crate) async fn fresh_sqlite(dir: &std::path::Path, name: &str) -> anyhow::Result<SqliteStore> {
    let path = dir.join(format!("{name}-{}.db", Uuid::now_v7().simple()));
    Ok(SqliteStore::connect(&format!("sqlite:{}", path.display())).await?)
}

/// A new database on the PostgreSQL server the user named; without one,
/// says that PostgreSQL is not measured.
pub(crate) async fn fresh_postgres(url: Option<&str>) -> anyhow::Result<Option<PgStore>> {
    let Some(url) = url else {
        eprintln!("(no --postgres-url / TUTTI_BENCH_POSTGRES_URL: PostgreSQL not measured)");
        return Ok(None);
    };
    let fresh = tutti_store::testing::fresh_postgres_database(url)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(Some(PgStore::connect(&fresh).await?))
}

pub async fn api(args: ApiBench) -> anyhow::Result<ExitCode> {
    if args.clients == 0 || args.objectives == 0 || args.key_results == 0 {
        bail!("--clients, --objectives and --key-results must be at least 1");
    }
    let mut rows = Vec::new();
    let mut seeding = Vec::new();
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let dir = args
        .sqlite_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let store = fresh_sqlite(&dir, "bench").await?;
    seeding.push(("sqlite", run_backend(store, &args, &mut rows).await?));
    if let Some(store) = fresh_postgres(args.postgres_url.as_deref()).await? {
        seeding.push(("postgres", run_backend(store, &args, &mut rows).await?));
    }
    let rows_seeded = args.objectives + args.key_results + args.work_items;
    println!(
        "\ntutti bench api — {} clients, {:.0} s per endpoint, {} rows\n",
        args.clients, args.seconds, rows_seeded
    );
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "backend", "endpoint", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors",
    ]);
    for row in &rows {
        let h = &row.measured.histogram;
        let ms = |q: f64| format!("{:.2}", h.value_at_quantile(q) as f64 / 1000.0);
        table.add_row([
            row.backend.to_owned(),
            row.endpoint.to_owned(),
            row.measured.requests.to_string(),
            format!("{:.0}", row.measured.requests as f64 / row.measured.seconds),
            ms(0.5),
            ms(0.99),
            format!("{:.2}", h.max() as f64 / 1000.0),
            row.measured.errors.to_string(),
        ]);
    }
    println!("{table}");
    for (backend, seconds) in seeding {
        println!("{backend}: seeded {rows_seeded} rows in {seconds:.1} s");
    }
    Ok(ExitCode::SUCCESS)
}

/// One request's timings.
struct Timed {
    prompt_tokens: u64,
    cached_tokens: u64,
    generated: u64,
    first_token: Duration,
    last_token: Duration,
}

async fn timed(
    model: &tutti_llm::EmbeddedModel,
    request: tutti_llm::ChatRequest,
    started: Instant,
) -> anyhow::Result<Timed> {
    let mut completion = model.chat(request);
    let mut first = None;
    let mut last = Duration::ZERO;
    while let Some(chunk) = completion.next().await {
        match chunk? {
            tutti_llm::Chunk::Text(_) | tutti_llm::Chunk::ToolCalls(_) => {
                last = started.elapsed();
                first.get_or_insert(last);
            }
            tutti_llm::Chunk::Done { usage, .. } => {
                return Ok(Timed {
                    prompt_tokens: usage.input_tokens,
                    cached_tokens: usage.cached_input_tokens,
                    generated: usage.output_tokens,
                    first_token: first.unwrap_or(last),
                    last_token: last,
                });
            }
        }
    }
    bail!("the completion ended without usage")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A work order of about `tokens` prompt tokens, in the words of the demo
/// firm. Its ticket number opens it, so that no two tickets share more than
/// the chat template's opening.
async fn work_order(
    model: &tutti_llm::EmbeddedModel,
    tokens: u64,
    ticket: usize,
) -> anyhow::Result<String> {
    use tutti_llm::{Message, Speaker};
    let sentence = "The customer reports that the heating in the kindergarten does not start in the morning, \
                    and the service team must call back within the hour with a clear next step. ";
    let mut body =
        format!("Ticket {ticket}. Write a short, friendly reply to this service request. ");
    loop {
        let messages = vec![Message::new(Speaker::User, body.clone())];
        if model.count_tokens(messages).await? >= tokens {
            return Ok(body);
        }
        body.push_str(sentence);
    }
}

/// The time to the first token of a prompt of one user message.
async fn first_token(model: &tutti_llm::EmbeddedModel, text: String) -> anyhow::Result<Timed> {
    use tutti_llm::{ChatRequest, Message, Speaker};
    let mut request = ChatRequest::new(vec![Message::new(Speaker::User, text)], 1);
    request.ignore_end_of_turn = true;
    timed(model, request, Instant::now()).await
}

pub async fn model(args: crate::cli::ModelBench) -> anyhow::Result<ExitCode> {
    use tutti_llm::{ChatRequest, EmbeddedConfig, EmbeddedModel, Message, Speaker};
    if args.tokens == 0 || args.runs == 0 {
        bail!("--tokens and --runs must be at least 1");
    }
    let mut config = EmbeddedConfig::new(
        args.model
            .unwrap_or_else(EmbeddedConfig::default_model_path),
    );
    if let Some(threads) = args.threads {
        config.threads = threads;
    }
    let threads = config.threads;
    let model = tokio::task::spawn_blocking(move || EmbeddedModel::load(config)).await??;
    if args.quality {
        return crate::bench_quality::run(model, args.tokens).await;
    }
    let generate = |messages: Vec<Message>| {
        let mut request = ChatRequest::new(messages, args.tokens);
        request.ignore_end_of_turn = true;
        request
    };
    let short = vec![Message::new(
        Speaker::User,
        "Write a short status update for the service team.",
    )];
    // Warm-up: first use pages the weights in.
    timed(&model, generate(short.clone()), Instant::now()).await?;

    let mut single = Vec::new();
    let mut aggregate = Vec::new();
    let mut first_token_ms = Vec::new();
    let mut prompt_rate = Vec::new();
    let mut revised_ms = Vec::new();
    let (mut long_prompt_tokens, mut cached_of_new, mut cached_of_revised) = (0, 0, 0);
    for run in 0..args.runs {
        let started = Instant::now();
        let one = timed(&model, generate(short.clone()), started).await?;
        single.push(
            one.generated.saturating_sub(1) as f64
                / (one.last_token - one.first_token).as_secs_f64(),
        );

        let started = Instant::now();
        let four = futures_join4(&model, generate(short.clone()), started).await?;
        let begin = four.iter().map(|t| t.first_token).min().unwrap_or_default();
        let end = four.iter().map(|t| t.last_token).max().unwrap_or_default();
        let tokens: u64 = four.iter().map(|t| t.generated.saturating_sub(1)).sum();
        aggregate.push(tokens as f64 / (end - begin).as_secs_f64());

        // A new work order, then its next iteration: the same text with the
        // reviewer's feedback appended, as the review loop sends it.
        let order = work_order(&model, 300, run).await?;
        let first = first_token(&model, order.clone()).await?;
        long_prompt_tokens = first.prompt_tokens;
        cached_of_new = first.cached_tokens;
        first_token_ms.push(first.first_token.as_secs_f64() * 1000.0);
        let read = first.prompt_tokens - first.cached_tokens;
        prompt_rate.push(read as f64 / first.first_token.as_secs_f64());
        let revision = tutti_domain::labour::with_feedback(
            &order,
            1,
            "Bitte kürzer, und nenne einen Termin für heute.",
        );
        let revised = first_token(&model, revision).await?;
        cached_of_revised = revised.cached_tokens;
        revised_ms.push(revised.first_token.as_secs_f64() * 1000.0);
    }
    let single = median(single);
    let aggregate = median(aggregate);
    println!(
        "\ntutti bench model — {} ({} threads), median of {} runs\n",
        model.info().name,
        threads,
        args.runs
    );
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["measure", "value"]);
    table.add_row([
        "generation, 1 work order".to_owned(),
        format!("{single:.1} tokens/s"),
    ]);
    table.add_row([
        "generation, 4 concurrent (aggregate)".to_owned(),
        format!("{aggregate:.1} tokens/s ({:.2}× one)", aggregate / single),
    ]);
    table.add_row([
        format!(
            "first token, new {long_prompt_tokens}-token work order ({cached_of_new} tokens from memory)"
        ),
        format!("{:.0} ms", median(first_token_ms)),
    ]);
    table.add_row([
        format!("first token, its revision ({cached_of_revised} tokens from memory)"),
        format!("{:.0} ms", median(revised_ms)),
    ]);
    table.add_row([
        "prompt reading".to_owned(),
        format!("{:.0} tokens/s", median(prompt_rate)),
    ]);
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// Four identical requests at once.
async fn futures_join4(
    model: &tutti_llm::EmbeddedModel,
    request: tutti_llm::ChatRequest,
    started: Instant,
) -> anyhow::Result<Vec<Timed>> {
    let (a, b, c, d) = tokio::join!(
        timed(model, request.clone(), started),
        timed(model, request.clone(), started),
        timed(model, request.clone(), started),
        timed(model, request, started),
    );
    Ok(vec![a?, b?, c?, d?])
}
