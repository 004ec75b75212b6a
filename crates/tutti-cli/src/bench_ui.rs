//! `tutti bench ui`: the server time of every cockpit page for the org that
//! `tutti bench api` builds (10 000 objectives, 40 000 key results, 200 000
//! work items by default), signed in as its owner.
//!
//! Requests go straight into the router in this process, one after another,
//! so the figures are the server's time to answer — reading, deciding and
//! rendering — without a network or a browser in them.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hdrhistogram::Histogram;
use tower::ServiceExt;
use tutti_engine::{Clock, SystemClock};
use tutti_server::AppState;
use tutti_store::NewSession;
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewCheckIn, PageRequest, WorkFilter};
use uuid::Uuid;

use crate::cli::{ApiBench, UiBench};

/// The target every page must meet.
const BUDGET_MS: f64 = 50.0;

struct Row {
    backend: &'static str,
    page: String,
    bytes: usize,
    histogram: Histogram<u64>,
    /// The median of requests that each follow a change elsewhere in the
    /// org (a person's language), which moves the audit head.
    after_change_ms: f64,
    /// The median of requests that each follow a check-in, which changes a
    /// key result and so the roll-ups.
    after_check_in_ms: f64,
}

async fn run_backend<S: Store>(
    store: S,
    args: &UiBench,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let backend = store.backend();
    let org = ApiBench {
        sqlite_dir: None,
        postgres_url: None,
        clients: 1,
        seconds: 0.0,
        objectives: args.objectives,
        key_results: args.key_results,
        work_items: args.work_items,
    };
    eprintln!(
        "{backend}: seeding {} objectives, {} key results, {} work items …",
        org.objectives, org.key_results, org.work_items
    );
    let seeded = crate::bench::seed(&store, &org).await?;
    eprintln!("{backend}: seeded in {:.1} s", seeded.seconds);
    let actor = store
        .actor_by_token(&tutti_server::auth::hash_token(&seeded.token))
        .await?
        .context("the bench owner's token")?;
    let cookie = Uuid::now_v7().simple().to_string();
    let now = SystemClock.now();
    store
        .create_session(
            &Ctx::new(actor.org_id, Some(actor.member_id), now),
            NewSession {
                token_hash: tutti_server::auth::hash_token(&cookie),
                csrf_token: "bench".into(),
                expires_at: now + chrono::Duration::hours(1),
            },
        )
        .await?;
    let item = store
        .work_items(
            actor.org_id,
            &WorkFilter::default(),
            PageRequest {
                after: None,
                limit: 1,
            },
        )
        .await?
        .items
        .first()
        .map(|w| w.id)
        .context("the bench org has no work")?;
    let objective = seeded
        .objectives
        .first()
        .copied()
        .context("no objectives")?;
    let key_result = seeded
        .key_results
        .first()
        .copied()
        .context("no key results")?;
    let first = PageRequest::first(1);
    let flow = store
        .flows(actor.org_id, first)
        .await?
        .items
        .first()
        .map(|f| f.id)
        .context("the bench org has no flow")?;
    let gate = store
        .gates(actor.org_id, flow)
        .await?
        .first()
        .map(|g| g.id)
        .context("the bench flow has no gate")?;
    let case = store
        .cases(actor.org_id, &tutti_store::CaseFilter::default(), first)
        .await?
        .items
        .first()
        .map(|c| c.id)
        .context("the bench org has no case")?;
    let pages = [
        "/".to_owned(),
        "/objectives".to_owned(),
        format!("/objectives/{objective}"),
        "/work".to_owned(),
        format!("/work/{item}"),
        "/decisions".to_owned(),
        "/spaces".to_owned(),
        "/service".to_owned(),
        "/flows".to_owned(),
        format!("/cases/{case}"),
        format!("/gates/{gate}"),
        "/people".to_owned(),
        "/ledger".to_owned(),
        "/providers".to_owned(),
        "/audit".to_owned(),
        "/alerts".to_owned(),
    ];
    let router = tutti_server::router(AppState::new(store.clone()));
    let ctx = Ctx::new(actor.org_id, Some(actor.member_id), now);
    let time = |page: String| {
        let router = router.clone();
        let cookie = cookie.clone();
        async move {
            let request = Request::get(&page)
                .header(header::COOKIE, format!("tutti_session={cookie}"))
                .header(header::ACCEPT_LANGUAGE, "de")
                .body(Body::empty())?;
            let started = Instant::now();
            let response = router.oneshot(request).await?;
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
            let micros = started.elapsed().as_micros() as u64;
            if status != StatusCode::OK {
                bail!(
                    "{page} answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            Ok::<_, anyhow::Error>((micros.max(1), body.len()))
        }
    };
    for page in pages {
        let mut histogram = Histogram::<u64>::new(3)?;
        let mut bytes = 0;
        // The first request warms caches and statement pools; it is not counted.
        for round in 0..=args.requests {
            let (micros, size) = time(page.clone()).await?;
            if round > 0 {
                histogram.record(micros)?;
            }
            bytes = size;
        }
        let mut after_change = Vec::new();
        let mut after_check_in = Vec::new();
        for round in 0..5 {
            // Any audited write moves the org's head.
            store.set_locale(&ctx, actor.member_id, Some("de")).await?;
            after_change.push(time(page.clone()).await?.0 as f64 / 1000.0);
            store
                .create_check_in(
                    &ctx,
                    key_result,
                    NewCheckIn {
                        value: f64::from(10 + round),
                        confidence: 6,
                        note: String::new(),
                    },
                )
                .await?;
            after_check_in.push(time(page.clone()).await?.0 as f64 / 1000.0);
        }
        let median = |mut values: Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let after_change_ms = median(after_change);
        let after_check_in_ms = median(after_check_in);
        eprintln!("{backend}: {page} done");
        rows.push(Row {
            backend,
            page,
            bytes,
            histogram,
            after_change_ms,
            after_check_in_ms,
        });
    }
    Ok(())
}

pub async fn ui(args: UiBench) -> anyhow::Result<ExitCode> {
    if args.requests == 0 || args.objectives == 0 || args.key_results == 0 || args.work_items == 0 {
        bail!("--requests, --objectives, --key-results and --work-items must be at least 1");
    }
    let mut rows = Vec::new();
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let dir = args
        .sqlite_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let store = crate::bench::fresh_sqlite(&dir, "bench-ui").await?;
    run_backend(store, &args, &mut rows).await?;
    if let Some(store) = crate::bench::fresh_postgres(args.postgres_url.as_deref()).await? {
        run_backend(store, &args, &mut rows).await?;
    }
    println!(
        "\ntutti bench ui — server time per page, {} requests each, {} objectives, {} key results, {} work items\n",
        args.requests, args.objectives, args.key_results, args.work_items
    );
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "backend",
        "page",
        "KiB",
        "p50 ms",
        "p99 ms",
        "max ms",
        "< 50 ms",
        "after a change elsewhere ms",
        "after a check-in ms",
    ]);
    let mut all_within = true;
    for row in &rows {
        let ms = |v: u64| v as f64 / 1000.0;
        let p99 = ms(row.histogram.value_at_quantile(0.99));
        let within =
            p99 < BUDGET_MS && row.after_change_ms < BUDGET_MS && row.after_check_in_ms < BUDGET_MS;
        all_within &= within;
        let page = if row.page.len() > 20 {
            format!("{}…", &row.page[..row.page.len().min(18)])
        } else {
            row.page.clone()
        };
        table.add_row([
            row.backend.to_owned(),
            page,
            format!("{:.0}", row.bytes as f64 / 1024.0),
            format!("{:.2}", ms(row.histogram.value_at_quantile(0.5))),
            format!("{p99:.2}"),
            format!("{:.2}", ms(row.histogram.max())),
            if within { "yes" } else { "NO" }.to_owned(),
            format!("{:.2}", row.after_change_ms),
            format!("{:.2}", row.after_check_in_ms),
        ]);
    }
    println!("{table}");
    Ok(if all_within {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
