//! Routines through the API, on SQLite and PostgreSQL, on an injected
//! clock: who may plan what, bad schedules refused naming the field, the
//! weekly report that reaches the AI worker's queue once at 07:00 Berlin,
//! catch-up after downtime, pause and resume, and nothing across orgs.

#![expect(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use tutti_server::{Clock, FixedClock};
use tutti_store::prelude::*;

use crate::support;
use support::{Api, Lindner, id, today};

fn weekly_report(assignee: &str, team: &str) -> Value {
    json!({
        "name": "Wochenbericht offene Zusagen",
        "description": "Welche Zusagen sind offen, welche gefährdet?",
        "schedule": { "cadence": "weekly", "days": [1], "at": "07:00", "starts": "2026-11-01" },
        "assignee_id": assignee, "team_id": team, "catch_up": "latest",
    })
}

async fn fire<S: Store>(store: &S, api: &Api, clock: &FixedClock) -> usize {
    tutti_engine::routines::fire_due(store, &api.runtime, clock.now())
        .await
        .unwrap()
}

async fn a_routine_makes_its_work_once_on_time_in_the_orgs_zone<S: Store>(store: S) {
    let clock = Arc::new(FixedClock::new(today()));
    let api = Api::on(&store, clock.clone());
    let org = Lindner::new(&store, &api).await;
    api.changed(
        "/org",
        &org.owner.token,
        json!({ "time_zone": "Europe/Berlin" }),
    )
    .await;

    // People plan the work they may create: a member for themselves, a
    // lead for the team. An AI worker and a viewer plan nothing.
    let report = weekly_report(&org.worker.id, &org.service);
    for (who, token) in [
        ("member", &org.member.token),
        ("viewer", &org.viewer.token),
        ("AI worker", &org.worker.token),
    ] {
        let refused = api.post("/routines", token, report.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{who}: {}",
            refused.body
        );
    }
    let routine = api.created("/routines", &org.lead.token, report).await;
    // Made on Monday 16 November at 09:00 Berlin: that Monday's 07:00 has
    // passed and is not made after the fact.
    assert_eq!(routine["next_due"], "2026-11-23T06:00:00Z");
    let path = format!("/routines/{}", id(&routine));
    let shown = api.get(&path, &org.viewer.token).await.body;
    assert_eq!(shown["zone"], "Europe/Berlin");
    assert_eq!(
        shown["upcoming"],
        json!([
            "2026-11-23T06:00:00Z",
            "2026-11-30T06:00:00Z",
            "2026-12-07T06:00:00Z",
            "2026-12-14T06:00:00Z",
            "2026-12-21T06:00:00Z"
        ])
    );
    assert_eq!(fire(&store, &api, &clock).await, 0, "nothing due yet");

    // Monday 23rd, 07:00:20 Berlin: made once, ready in Emil's queue.
    clock.set("2026-11-23T06:00:20Z".parse().unwrap());
    assert_eq!(fire(&store, &api, &clock).await, 1);
    assert_eq!(fire(&store, &api, &clock).await, 0, "never twice");
    let shown = api.get(&path, &org.viewer.token).await.body;
    let occurrence = &shown["occurrences"][0];
    assert_eq!(occurrence["outcome"], "created");
    assert_eq!(occurrence["due_at"], "2026-11-23T06:00:00Z");
    let item = api
        .get(
            &format!(
                "/work-items/{}",
                occurrence["work_item_id"].as_str().unwrap()
            ),
            &org.viewer.token,
        )
        .await
        .body;
    assert_eq!(
        (&item["title"], &item["kind"], &item["state"], &item["due"]),
        (
            &json!("Wochenbericht offene Zusagen"),
            &json!("planned"),
            &json!("ready"),
            &json!("2026-11-23")
        )
    );
    assert_eq!(item["created_by"], json!(org.lead.id));
    let runs = api
        .get(&format!("/runs?work_item={}", id(&item)), &org.viewer.token)
        .await
        .body;
    assert_eq!(runs["items"].as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs["items"][0]["status"], "queued");

    // Aylin no longer leads the team: the routine cannot make Emil's work
    // any more, and says so before its next Monday; led again, it clears.
    let team = format!("/teams/{}", org.service);
    api.changed(&team, &org.owner.token, json!({ "lead_id": null }))
        .await;
    let open = alerts(&api, &org.owner.token).await;
    let stalled = open
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "routine_stalled")
        .unwrap_or_else(|| panic!("no routine_stalled alert: {open}"));
    let text = stalled["explanation"].as_str().unwrap();
    assert!(
        text.contains("Wochenbericht offene Zusagen") && text.contains("30.11.2026, 07:00 CET"),
        "{text}"
    );
    assert_eq!(stalled["person_id"], json!(org.lead.id));
    api.changed(&team, &org.owner.token, json!({ "lead_id": org.lead.id }))
        .await;
    let open = alerts(&api, &org.owner.token).await;
    assert!(
        !open.to_string().contains("routine_stalled"),
        "cleared once led again: {open}"
    );

    // Down for three weeks: only the latest is made, the others recorded
    // as superseded.
    clock.set("2026-12-14T09:00:00Z".parse().unwrap());
    assert_eq!(fire(&store, &api, &clock).await, 1);
    let occurrences = api.get(&path, &org.viewer.token).await.body["occurrences"].clone();
    let outcomes: Vec<(&str, &str)> = occurrences
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["due_at"].as_str().unwrap(),
                o["reason"].as_str().unwrap_or("made"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("2026-12-14T06:00:00Z", "made"),
            ("2026-12-07T06:00:00Z", "superseded"),
            ("2026-11-30T06:00:00Z", "superseded"),
            ("2026-11-23T06:00:00Z", "made"),
        ]
    );

    // Paused, it makes nothing; resumed, it does not catch up the pause.
    let member_pauses = api
        .patch(&path, &org.member.token, json!({ "paused": true }))
        .await;
    assert_eq!(member_pauses.status, StatusCode::FORBIDDEN);
    let paused = api
        .changed(&path, &org.lead.token, json!({ "paused": true }))
        .await;
    assert_eq!(paused["next_due"], Value::Null);
    clock.advance(Duration::days(8));
    assert_eq!(fire(&store, &api, &clock).await, 0);
    let resumed = api
        .changed(&path, &org.lead.token, json!({ "paused": false }))
        .await;
    assert_eq!(resumed["next_due"], "2026-12-28T06:00:00Z");
    assert_eq!(fire(&store, &api, &clock).await, 0);

    // The audit trail holds each step; another org sees nothing.
    let actions: Vec<String> = api
        .get(
            &format!("/events?subject={}", id(&routine)),
            &org.owner.token,
        )
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for action in [
        "routine.created",
        "routine.fired",
        "routine.paused",
        "routine.resumed",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(
        api.get(&path, &org.stranger).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.patch(&path, &org.stranger, json!({ "paused": true }))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let theirs = api.get("/routines", &org.stranger).await.body;
    assert_eq!(theirs["items"], json!([]));
}

tutti_store::behaviour!(a_routine_makes_its_work_once_on_time_in_the_orgs_zone);

/// The open alerts after an evaluation, explained in German.
async fn alerts(api: &Api, token: &str) -> Value {
    api.post("/alerts/refresh", token, json!({})).await;
    api.get("/alerts?lang=de", token).await.body
}

async fn a_bad_routine_is_refused_naming_the_field_and_nothing_is_written<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let notdienst = api
        .created(
            "/service-products",
            &org.lead.token,
            json!({ "name": "Notdienst 24/7", "kind": "reactive" }),
        )
        .await;
    let wartung = api
        .created(
            "/service-products",
            &org.lead.token,
            json!({ "name": "Wartungsvertrag Premium", "kind": "preventive" }),
        )
        .await;
    let foreign_team = id(&api
        .created("/teams", &org.stranger, json!({ "name": "Fremd" }))
        .await);
    let base = |schedule: Value| json!({ "name": "Jährliche Wartung", "customer": "Familie Hoffmann", "schedule": schedule });
    let yearly = json!({ "rule": "FREQ=YEARLY", "at": "09:00", "starts": "2027-03-17" });
    for (body, field) in [
        (
            base(json!({ "cadence": "weekly", "at": "07:00", "starts": "2026-11-01" })),
            "days",
        ),
        (
            base(
                json!({ "cadence": "monthly", "days": [32], "at": "07:00", "starts": "2026-11-01" }),
            ),
            "days",
        ),
        (
            base(json!({ "rule": "FREQ=HOURLY", "at": "07:00", "starts": "2026-11-01" })),
            "rule",
        ),
        (
            base(json!({ "rule": "jeden Montag", "at": "07:00", "starts": "2026-11-01" })),
            "rule",
        ),
        (
            base(
                json!({ "cadence": "daily", "rule": "FREQ=DAILY", "at": "07:00", "starts": "2026-11-01" }),
            ),
            "rule",
        ),
        (
            base(json!({ "at": "07:00", "starts": "2026-11-01" })),
            "cadence",
        ),
        (
            base(
                json!({ "cadence": "daily", "at": "07:00", "starts": "2026-11-01", "ends": "2026-10-01" }),
            ),
            "ends",
        ),
        (
            {
                let mut b = base(yearly.clone());
                b["time_zone"] = json!("MEZ");
                b
            },
            "time_zone",
        ),
        (
            {
                let mut b = base(yearly.clone());
                b["service_product_id"] = json!(id(&notdienst));
                b
            },
            "service_product_id",
        ),
        (
            {
                let mut b = base(yearly.clone());
                b["name"] = json!(" ");
                b
            },
            "name",
        ),
        (
            {
                let mut b = base(yearly.clone());
                b["team_id"] = json!(foreign_team);
                b
            },
            "team_id",
        ),
    ] {
        let refused = api.post("/routines", &org.owner.token, body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            refused.body
        );
        assert_eq!(refused.body["field"], field, "{}", refused.body);
    }
    assert_eq!(
        api.get("/routines", &org.owner.token).await.body["items"],
        json!([])
    );
    // The yearly maintenance under the contract is planned service.
    let mut planned = base(yearly);
    planned["service_product_id"] = json!(id(&wartung));
    planned["time_zone"] = json!("Europe/Berlin");
    let made = api.created("/routines", &org.owner.token, planned).await;
    assert_eq!(made["next_due"], "2027-03-17T08:00:00Z");
    assert_eq!(made["schedule"]["rule"], "FREQ=YEARLY");
    let by_product = api
        .get(
            &format!("/routines?service_product={}", id(&wartung)),
            &org.viewer.token,
        )
        .await
        .body;
    assert_eq!(by_product["items"].as_array().unwrap().len(), 1);
}

tutti_store::behaviour!(a_bad_routine_is_refused_naming_the_field_and_nothing_is_written);
