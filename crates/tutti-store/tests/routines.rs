//! Routines on two nodes: two stores with pools of their own on one
//! database — as two `tutti serve` processes are — fire a daily routine at
//! every tick for a month, across the switch to summer time, at the same
//! moments. Each day's work is made exactly once, at 07:00 in Berlin.

#![expect(clippy::unwrap_used)]

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::routine::{Cadence, CatchUp, OccurrenceOutcome, Schedule};
use tutti_domain::validate::Email;
use tutti_domain::work::Priority;
use tutti_store::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

async fn a_month_on_two_nodes<S: Store>(node_a: S, node_b: S) {
    node_a.migrate().await.unwrap();
    let start = at("2026-03-01T00:00:00Z");
    let (org, owner) = node_a
        .create_org(
            "Lindner Gebäudetechnik GmbH",
            "EUR",
            NewMember {
                kind: MemberKind::Human,
                name: "Katrin Lindner".into(),
                email: Some(Email::parse("email", "katrin@lindner.de").unwrap()),
                role: Role::Owner,
                teams: vec![],
                role_card: None,
                provider: None,
                model: None,
            },
            start,
        )
        .await
        .unwrap();
    let ctx = Ctx::new(org.id, Some(owner.id), start);
    node_a.set_time_zone(&ctx, "Europe/Berlin").await.unwrap();
    let routine = node_a
        .create_routine(
            &ctx,
            NewRoutine {
                name: "Offene Zusagen prüfen".into(),
                description: String::new(),
                customer: String::new(),
                schedule: Schedule {
                    cadence: Some(Cadence::Daily),
                    every: 1,
                    days: vec![],
                    rule: None,
                    at: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
                    starts: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                    ends: None,
                }
                .checked()
                .unwrap(),
                time_zone: None,
                catch_up: CatchUp::All,
                team_id: None,
                assignee_id: Some(owner.id),
                key_result_id: None,
                service_product_id: None,
                priority: Priority::Normal,
                paused: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(routine.next_due, Some(at("2026-03-01T06:00:00Z")));

    // Every quarter of an hour for a month, both nodes fire at once.
    let mut now = start;
    let mut made = 0;
    while now < at("2026-04-01T00:00:00Z") {
        now += Duration::minutes(15);
        let (a, b) = tokio::join!(
            node_a.fire_routine(org.id, routine.id, now),
            node_b.fire_routine(org.id, routine.id, now)
        );
        for fired in [a.unwrap(), b.unwrap()].into_iter().flatten() {
            made += fired.created.len();
        }
    }
    assert_eq!(made, 31, "one work item per day of March");

    let occurrences = node_b.occurrences(org.id, routine.id, 100).await.unwrap();
    assert_eq!(occurrences.len(), 31);
    assert!(
        occurrences
            .iter()
            .all(|o| o.outcome == OccurrenceOutcome::Created && o.work_item_id.is_some())
    );
    // 07:00 in Berlin: 06:00 UTC in winter, 05:00 UTC from 29 March on.
    let hours: Vec<(u32, u32)> = occurrences
        .iter()
        .rev()
        .map(|o| {
            use chrono::{Datelike, Timelike};
            (o.due_at.day(), o.due_at.hour())
        })
        .collect();
    assert!(hours[..28].iter().all(|(_, hour)| *hour == 6), "{hours:?}");
    assert!(hours[28..].iter().all(|(_, hour)| *hour == 5), "{hours:?}");
    let items = node_a
        .work_items(
            org.id,
            &WorkFilter::default(),
            PageRequest {
                limit: 500,
                after: None,
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(items.len(), 31);
    let mut days: Vec<_> = items.iter().map(|item| item.due).collect();
    days.dedup();
    assert_eq!(days.len(), 31, "no day made twice");
    assert!(node_a.verify_chain(org.id).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_month_on_two_nodes_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = testing::sqlite_url(dir.path());
    let node_a = sqlite::SqliteStore::connect(&url).await.unwrap();
    node_a.migrate().await.unwrap();
    let node_b = sqlite::SqliteStore::connect(&url).await.unwrap();
    a_month_on_two_nodes(node_a, node_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_month_on_two_nodes_on_postgres() {
    if let Some(url) = testing::fresh_postgres_url().await.unwrap() {
        let node_a = postgres::PgStore::connect(&url).await.unwrap();
        let node_b = postgres::PgStore::connect(&url).await.unwrap();
        a_month_on_two_nodes(node_a, node_b).await;
        testing::drop_postgres_database(&url).await;
    }
}
