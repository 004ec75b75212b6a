//! The demo org's service catalogue and the promises sales made that
//! service must keep: one in every state (on track, at risk, paused, kept,
//! broken), each signed off by the keeping team as the rules ask; and eight
//! weeks of service work in which breakdowns crowd out maintenance.

use chrono::{DateTime, Duration, Utc};
use tutti_domain::org::{Member, Team};
use tutti_domain::service::{PromiseStep, ServiceKind};
use tutti_domain::work::{Priority, WorkKind, WorkState};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewPromise, NewServiceProduct, NewWorkItem, WorkItemPatch};
use uuid::Uuid;

/// Who takes part, as the demo made them.
pub struct People<'a> {
    pub sales: &'a Team,
    pub service: &'a Team,
    pub sales_lead: &'a Member,
    pub service_lead: &'a Member,
    pub technician: &'a Member,
}

pub async fn seed<S: Store>(
    store: &S,
    org_id: Uuid,
    people: &People<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let at = |member: &Member, when: DateTime<Utc>| Ctx::new(org_id, Some(member.id), when);
    let lead = at(people.service_lead, now);
    let mut products = Vec::new();
    for (name, kind, group, levels, description) in [
        (
            "Wartungsvertrag Basis",
            ServiceKind::Preventive,
            "Privatkunden",
            &[
                "Jährliche Wartung der Heizung",
                "Termin binnen 10 Werktagen",
            ][..],
            "Die Heizung bleibt sicher und sparsam: einmal im Jahr geprüft und eingestellt.",
        ),
        (
            "Wartungsvertrag Premium",
            ServiceKind::Preventive,
            "Privatkunden und Wohnungsbaugesellschaften",
            &[
                "Jährliche Wartung der Heizung",
                "Ersatzteil binnen 24 h",
                "Notdienst ohne Anfahrtspauschale",
            ][..],
            "Wartung mit Vorrang: Ersatzteile auf Lager, Notdienst inklusive.",
        ),
        (
            "Notdienst 24/7",
            ServiceKind::Reactive,
            "Alle Kundengruppen",
            &["Reaktionszeit 4 h, rund um die Uhr"][..],
            "Wenn die Heizung im Winter ausfällt, wartet niemand bis Montag.",
        ),
        (
            "Heizungsmodernisierung",
            ServiceKind::Preventive,
            "Privatkunden und Gewerbe",
            &["Festpreisangebot binnen 5 Werktagen", "Montage in 3 Tagen"][..],
            "Vom alten Kessel zur Wärmepumpe, als Projekt mit festem Termin.",
        ),
    ] {
        let product = store
            .create_service_product(
                &lead,
                NewServiceProduct {
                    name: name.into(),
                    description: description.into(),
                    customer_group: group.into(),
                    owner_id: Some(people.service_lead.id),
                    kind,
                    levels: levels.iter().map(|l| (*l).to_owned()).collect(),
                },
            )
            .await?;
        products.push(product.id);
    }
    let [premium, emergency, modernising] = [products[1], products[2], products[3]];

    // Sales promises; service signs off and keeps. (made hours ago, due in
    // hours from now, product, what happens next)
    enum Then {
        Nothing,
        Pause,
        Keep(&'static str),
        Break(&'static str),
    }
    for (title, customer, made_ago, due_in, product, then) in [
        (
            "Heizung läuft bis Freitagabend wieder",
            "Familie Hoffmann",
            20,
            60,
            emergency,
            Then::Nothing,
        ),
        (
            "Festpreisangebot Wärmepumpe bis Donnerstag",
            "Bäckerei Sommer",
            96,
            10,
            modernising,
            Then::Nothing,
        ),
        (
            "Ersatzteil Umwälzpumpe binnen 24 h",
            "Wohnbau Nord eG, Haus 3",
            30,
            12,
            premium,
            Then::Pause,
        ),
        (
            "Wartungstermin noch im November",
            "Kita Sonnenschein",
            400,
            -48,
            premium,
            Then::Keep("Wartung am 24.11. erledigt, Protokoll an die Leitung."),
        ),
        (
            "Notdienst binnen 4 Stunden",
            "Praxis Dr. Yilmaz",
            60,
            -50,
            emergency,
            Then::Break("Zweiter Einsatz parallel, Techniker kam nach 6 Stunden."),
        ),
    ] {
        let made_at = now - Duration::hours(made_ago);
        let promise = store
            .create_promise(
                &at(people.sales_lead, made_at),
                NewPromise {
                    title: title.into(),
                    customer: customer.into(),
                    service_product_id: Some(product),
                    work_item_id: None,
                    made_by_team_id: Some(people.sales.id),
                    keeper_team_id: Some(people.service.id),
                    due_at: now + Duration::hours(due_in),
                },
            )
            .await?;
        let soon = made_at + Duration::hours(2);
        store
            .step_promise(
                &at(people.service_lead, soon),
                promise.id,
                PromiseStep::SignOff {
                    feasible: true,
                    note: "Passt in die Tourenplanung.".into(),
                },
            )
            .await?;
        let step = match then {
            Then::Nothing => None,
            Then::Pause => Some(PromiseStep::Pause),
            Then::Keep(note) => Some(PromiseStep::Keep { note: note.into() }),
            Then::Break(note) => Some(PromiseStep::Break { note: note.into() }),
        };
        if let Some(step) = step {
            let when = (now + Duration::hours(due_in.min(0))).max(soon);
            store
                .step_promise(&at(people.technician, when), promise.id, step)
                .await?;
        }
    }
    history(store, org_id, people, (products[1], emergency), now).await
}

/// Eight weeks of service work, done: planned maintenance shrinking while
/// breakdowns grow — the reactive share the seed warns of, as a trend.
async fn history<S: Store>(
    store: &S,
    org_id: Uuid,
    people: &People<'_>,
    (maintenance, emergency): (Uuid, Uuid),
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    const CUSTOMERS: [&str; 6] = [
        "Familie Hoffmann",
        "Wohnbau Nord eG",
        "Bäckerei Sommer",
        "Kita Sonnenschein",
        "Praxis Dr. Yilmaz",
        "Autohaus Brandt",
    ];
    // The demo writes its own history as the system: no member's rights
    // apply to it.
    let as_the_system = |_: &tutti_domain::work::WorkItem, _: &WorkItemPatch| Ok(());
    let planned = [5, 5, 4, 4, 4, 3, 3, 3];
    let unplanned = [2, 2, 3, 3, 4, 4, 5, 6];
    for (weeks_ago, (p, u)) in (1..=8).rev().zip(planned.into_iter().zip(unplanned)) {
        let when = now - Duration::weeks(weeks_ago);
        let ctx = Ctx::new(org_id, Some(people.service_lead.id), when);
        let items = (0..p)
            .map(|i| {
                (
                    format!("Wartung Heizung {}", CUSTOMERS[i % 6]),
                    WorkKind::Planned,
                    maintenance,
                )
            })
            .chain((0..u).map(|i| {
                (
                    format!("Störung: {}", CUSTOMERS[(i + 3) % 6]),
                    WorkKind::Unplanned,
                    emergency,
                )
            }));
        for (title, kind, product) in items {
            let item = store
                .create_work_item(
                    &ctx,
                    NewWorkItem {
                        title,
                        description: String::new(),
                        team_id: Some(people.service.id),
                        assignee_id: Some(people.technician.id),
                        state: WorkState::Ready,
                        kind,
                        priority: Priority::Normal,
                        due: None,
                        parent_id: None,
                        key_result_id: None,
                        service_product_id: Some(product),
                    },
                )
                .await?;
            for state in [WorkState::Running, WorkState::InReview, WorkState::Done] {
                store
                    .update_work_item(
                        &ctx,
                        item.id,
                        WorkItemPatch {
                            state: Some(state),
                            ..WorkItemPatch::default()
                        },
                        &as_the_system,
                    )
                    .await?;
            }
        }
    }
    Ok(())
}
