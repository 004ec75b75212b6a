//! `tutti bench policy`: what a decision space's policy costs.
//!
//! Two measurements per policy size: (a) one Cedar evaluation alone (the
//! AI worker's `decide`, over varying amounts), timed one by one; (b) the
//! whole `POST /api/v1/decisions` path over HTTP on a SQLite file — auth,
//! the space and worker read, routing (two evaluations), the insert with
//! its audit events — under closed-loop load. The policies are the
//! `discounts` starter policy padded with rules that never match, so every
//! evaluation walks all of them.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use tutti_domain::decision::{Facts, PolicyAction, Risk};
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::validate::Email;
use tutti_engine::{Clock, SystemClock};
use tutti_policy::Principal;
use tutti_server::{AppState, auth};
use tutti_store::NewSpace;
use tutti_store::prelude::*;
use tutti_store::sqlite::SqliteStore;
use tutti_store::{Ctx, NewMember, NewTeam};
use uuid::Uuid;

use crate::bench::{NextRequest, XorShift, drive};
use crate::cli::PolicyBench;

/// The starter policy plus rules for high-risk decisions by viewers, which
/// no bench decision is, up to `size` policies.
fn policy_of_size(size: usize) -> anyhow::Result<String> {
    let mut source = tutti_policy::TEMPLATES
        .iter()
        .find(|t| t.name == "discounts")
        .map(|t| t.source.to_owned())
        .context("the discounts starter policy is missing")?;
    let base = tutti_policy::compile(&source, &BTreeMap::new())
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .len();
    for i in base..size {
        source.push_str(&format!(
            "\n@id(\"viewer-rule-{i}\")\npermit (principal, action == Action::\"prepare\", resource)\n\
             when {{ principal.role == \"viewer\" && resource.risk == \"high\" && resource.amount > {i} }};\n"
        ));
    }
    Ok(source)
}

fn facts(amount_minor: i64) -> Facts {
    Facts {
        amount_minor,
        currency: "EUR".into(),
        risk: Risk::Low,
        reversible: true,
        customer_facing: false,
        attributes: BTreeMap::new(),
    }
}

struct Row {
    policies: usize,
    evaluations_per_second: f64,
    evaluation: Histogram<u64>,
    routes_per_second: f64,
    route: Histogram<u64>,
    errors: u64,
}

fn evaluate_alone(size: usize, evaluations: u64) -> anyhow::Result<(usize, f64, Histogram<u64>)> {
    let policy = tutti_policy::compile(&policy_of_size(size)?, &BTreeMap::new())
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let worker = Principal {
        id: Uuid::now_v7(),
        kind: MemberKind::Ai,
        role: Role::Member,
        teams: &[],
    };
    let (space, decision) = (Uuid::now_v7(), Uuid::now_v7());
    let cases: Vec<Facts> = (0..64).map(|i| facts(i * 20_000)).collect();
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 3)?;
    let started = Instant::now();
    let mut allowed = 0u64;
    for i in 0..evaluations {
        let case = &cases[(i % 64) as usize];
        let one = Instant::now();
        let verdict = policy.evaluate(&worker, PolicyAction::Decide, space, decision, case);
        histogram.saturating_record(one.elapsed().as_nanos().max(1) as u64);
        allowed += u64::from(verdict.allowed);
    }
    let seconds = started.elapsed().as_secs_f64();
    // Small amounts are the AI worker's; the rest are not: both paths ran.
    if allowed == 0 || allowed == evaluations {
        bail!("every evaluation gave the same answer; the bench policy is wrong");
    }
    Ok((policy.len(), evaluations as f64 / seconds, histogram))
}

/// An org with an AI worker (its token returned) and a space of `size` policies.
async fn setup(store: &SqliteStore, size: usize) -> anyhow::Result<(String, Uuid)> {
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
        .create_org(
            &format!("Policy bench {size}"),
            "EUR",
            owner,
            SystemClock.now(),
        )
        .await?;
    let ctx = Ctx::new(org.id, Some(owner.id), SystemClock.now());
    let team = store
        .create_team(
            &ctx,
            NewTeam {
                name: "Vertrieb".into(),
                parent_id: None,
                lead_id: None,
            },
        )
        .await?;
    let worker = store
        .create_member(
            &ctx,
            NewMember {
                kind: MemberKind::Ai,
                name: "Ada".into(),
                email: None,
                role: Role::Member,
                teams: vec![team.id],
                role_card: None,
                provider: None,
                model: None,
            },
        )
        .await?;
    let (token, hash) = auth::new_token()?;
    store.create_token(&ctx, worker.id, "bench", &hash).await?;
    let owner_actor = tutti_domain::access::Actor {
        org_id: org.id,
        member_id: owner.id,
        kind: MemberKind::Human,
        role: Role::Owner,
        teams: vec![],
        led_teams: vec![],
    };
    let space = tutti_engine::decisions::create_space(
        store,
        &owner_actor,
        &ctx,
        NewSpace {
            name: "Rabatte".into(),
            team_id: Some(team.id),
            objective_id: None,
            principles: vec![],
            policy: policy_of_size(size)?,
            attributes: BTreeMap::new(),
            quorum: 1,
            escalate_after_secs: None,
            escalate_to: None,
        },
    )
    .await?;
    Ok((token, space.id))
}

pub async fn policy(args: PolicyBench) -> anyhow::Result<ExitCode> {
    if args.sizes.is_empty() || args.sizes.contains(&0) {
        bail!("--sizes must list policy counts of at least 1");
    }
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let store = SqliteStore::connect(&format!(
        "sqlite:{}",
        temp.path().join("policy.db").display()
    ))
    .await?;
    store.migrate().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(tutti_server::serve(listener, AppState::new(store.clone())));
    let mut rows = Vec::new();
    for &size in &args.sizes {
        let (policies, evaluations_per_second, evaluation) =
            evaluate_alone(size, args.evaluations)?;
        let (token, space_id) = setup(&store, size).await?;
        let next: NextRequest = Arc::new(move |rng: &mut XorShift| {
            let amount = 100 + rng.below(4_000);
            let body = serde_json::json!({
                "space_id": space_id, "question": "Rabatt gewähren?",
                "facts": { "amount": amount, "risk": "low", "reversible": true, "customer_facing": false },
                "options": ["Ja", "Nein"],
                "proposal": { "option": "Ja", "rationale": "Stammkunde.", "confidence": 0.7 },
            });
            ("POST", "/api/v1/decisions".to_owned(), body.to_string())
        });
        let authorization = format!("Bearer {token}");
        drive(address, &authorization, args.clients, 0.5, next.clone()).await?;
        let measured = drive(address, &authorization, args.clients, args.seconds, next).await?;
        eprintln!("{policies} policies done");
        rows.push(Row {
            policies,
            evaluations_per_second,
            evaluation,
            routes_per_second: measured.requests as f64 / measured.seconds,
            route: measured.histogram,
            errors: measured.errors,
        });
    }
    server.abort();
    println!(
        "\ntutti bench policy — {} evaluations alone per size; POST /decisions on SQLite with {} client(s) for {:.0} s\n",
        args.evaluations, args.clients, args.seconds
    );
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "policies",
        "evaluations/s",
        "eval p50 µs",
        "eval p99 µs",
        "routes/s",
        "route p50 ms",
        "route p99 ms",
        "errors",
    ]);
    for row in &rows {
        let us = |nanos: u64| format!("{:.1}", nanos as f64 / 1000.0);
        let ms = |micros: u64| format!("{:.2}", micros as f64 / 1000.0);
        table.add_row([
            row.policies.to_string(),
            format!("{:.0}", row.evaluations_per_second),
            us(row.evaluation.value_at_quantile(0.5)),
            us(row.evaluation.value_at_quantile(0.99)),
            format!("{:.0}", row.routes_per_second),
            ms(row.route.value_at_quantile(0.5)),
            ms(row.route.value_at_quantile(0.99)),
            row.errors.to_string(),
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}
