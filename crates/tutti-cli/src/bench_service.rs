//! The bench org's service quality, in proportion to its work: a catalogue
//! of four products that half the work names, a promise for every hundred
//! work items, one flow with three gates and a case for every two hundred
//! (each with its checks; every tenth held by a verdict that waits on its
//! decision), and a learning for every two thousand, half of them answered.

use chrono::{DateTime, Duration, Utc};
use tutti_domain::access::Actor;
use tutti_domain::decision::NewSpace;
use tutti_domain::org::{Member, Team};
use tutti_domain::service::{
    CheckBy, Criterion, DataRule, LearningSubject, ServiceKind, Stage, Verdict,
};
use tutti_engine::decisions::PolicyCache;
use tutti_engine::flows::{self, CheckRequest, VerdictRequest};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewCase, NewFlow, NewLearning, NewPromise, NewServiceProduct};
use uuid::Uuid;

/// The catalogue, made before the work so that work can name it.
pub(crate) async fn catalogue<S: Store>(store: &S, ctx: &Ctx) -> anyhow::Result<Vec<Uuid>> {
    let mut products = Vec::new();
    for (name, kind) in [
        ("Wartung Basis", ServiceKind::Preventive),
        ("Wartung Premium", ServiceKind::Preventive),
        ("Notdienst", ServiceKind::Reactive),
        ("Modernisierung", ServiceKind::Preventive),
    ] {
        let product = store
            .create_service_product(
                ctx,
                NewServiceProduct {
                    name: name.into(),
                    description: String::new(),
                    customer_group: "Alle".into(),
                    owner_id: ctx.actor_id,
                    kind,
                    levels: vec!["Termin binnen 10 Werktagen".into()],
                },
            )
            .await?;
        products.push(product.id);
    }
    Ok(products)
}

/// Promises, a flow with its cases, and learnings, for `work_items` items.
pub(crate) async fn hand_overs<S: Store>(
    store: &S,
    (org_id, owner, team): (Uuid, &Member, &Team),
    products: &[Uuid],
    work_items: usize,
    // A number below the one given: the bench's deterministic draw.
    below: &mut impl FnMut(usize) -> usize,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let ctx = Ctx::new(org_id, Some(owner.id), now);
    let actor = Actor {
        org_id,
        member_id: owner.id,
        kind: owner.kind,
        role: owner.role,
        teams: vec![team.id],
        led_teams: vec![team.id],
    };
    // Promises, due over the next four weeks: some at risk, some on track.
    for i in 0..work_items / 100 {
        store
            .create_promise(
                &ctx,
                NewPromise {
                    title: format!("Zusage {i}"),
                    customer: format!("Kunde {}", i % 250),
                    service_product_id: Some(products[i % products.len()]),
                    work_item_id: None,
                    made_by_team_id: Some(team.id),
                    keeper_team_id: Some(team.id),
                    due_at: now + Duration::hours(1 + below(24 * 28) as i64),
                },
            )
            .await?;
    }
    let policy = tutti_policy::TEMPLATES
        .iter()
        .find(|t| t.name == "quality-gates")
        .map(|t| t.source.to_owned())
        .ok_or_else(|| anyhow::anyhow!("the starter policy `quality-gates` is missing"))?;
    let space = tutti_engine::decisions::create_space(
        store,
        &actor,
        &ctx,
        NewSpace {
            name: "Übergaben".into(),
            team_id: Some(team.id),
            objective_id: None,
            principles: vec![],
            policy,
            attributes: Default::default(),
            quorum: 1,
            escalate_after_secs: None,
            escalate_to: None,
        },
    )
    .await?;
    let stage = |name: &str| Stage {
        name: name.into(),
        team_id: Some(team.id),
    };
    let flow = flows::create_flow(
        store,
        &actor,
        &ctx,
        NewFlow {
            name: "Auftrag".into(),
            description: String::new(),
            stages: vec![
                stage("Vertrieb"),
                stage("Auftragsklärung"),
                stage("Montage"),
                stage("Service"),
            ],
            space_id: space.id,
        },
    )
    .await?;
    let person = |text: &str| Criterion {
        text: text.into(),
        check_by: CheckBy::Person,
        rule: None,
        worker_id: None,
    };
    let gates = store.gates(org_id, flow.id).await?;
    for gate in &gates {
        let criteria = vec![
            Criterion {
                rule: Some(DataRule::NoBlockedWork),
                check_by: CheckBy::Rule,
                ..person("Nichts blockiert")
            },
            person("Aufmaß vor Ort gemacht"),
            person("Termin abgestimmt"),
        ];
        flows::set_criteria(store, &actor, &ctx, gate.id, criteria, gate.version).await?;
    }
    let policies = PolicyCache::default();
    let runtime = tutti_engine::Runtime::new(tutti_engine::Models::new(None));
    for i in 0..work_items / 200 {
        let case = flows::open_case(
            store,
            &actor,
            &ctx,
            NewCase {
                flow_id: flow.id,
                title: format!("Auftrag {i}"),
                customer: format!("Kunde {}", i % 250),
                work_item_id: None,
            },
        )
        .await?;
        for criterion in ["Aufmaß vor Ort gemacht", "Termin abgestimmt"] {
            let request = CheckRequest {
                criterion: criterion.into(),
                passed: Some(below(4) != 0),
                reason: "geprüft".into(),
            };
            flows::check(store, &runtime, &actor, &ctx, case.id, request).await?;
        }
        if i % 10 == 0 {
            let request = VerdictRequest {
                verdict: Verdict::Hold,
                reason: "Kunde meldet sich".into(),
                until: Some(now + Duration::days(1 + below(14) as i64)),
                redo: String::new(),
            };
            flows::propose_verdict(store, &policies, &actor, &ctx, case.id, request).await?;
        }
    }
    for i in 0..work_items / 2000 {
        let learning = flows::write_learning(
            store,
            &actor,
            &ctx,
            NewLearning {
                title: format!("Erkenntnis {i}"),
                body: "Was wir nächstes Mal anders machen.".into(),
                team_id: Some(team.id),
                subject: LearningSubject {
                    gate_id: Some(gates[i % gates.len()].id),
                    ..LearningSubject::default()
                },
                amendment: None,
            },
        )
        .await?;
        if i % 2 == 0 {
            flows::answer_learning(
                store,
                &actor,
                &ctx,
                learning.id,
                false,
                "Schon so geregelt.".into(),
            )
            .await?;
        }
    }
    Ok(())
}
