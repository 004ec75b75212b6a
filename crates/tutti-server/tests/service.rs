//! Service quality through the API, on SQLite and PostgreSQL: the service
//! catalogue, and a promise made by one stage, signed off by the stage that
//! keeps it, paused, kept or broken — each step by whom the rules allow.

#![expect(clippy::unwrap_used)]

use axum::http::StatusCode;
use serde_json::{Value, json};
use tutti_store::prelude::*;

use crate::support;
use support::{Api, Lindner, id};

fn promise(title: &str, team: &str, keeper: &str, product: Option<&Value>) -> Value {
    json!({
        "title": title, "customer": "Familie Hoffmann", "due_at": "2026-11-20T16:00:00Z",
        "made_by_team_id": team, "keeper_team_id": keeper,
        "service_product_id": product.map(id),
    })
}

async fn a_promise_is_signed_off_by_its_keepers_and_ends_once<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    // The catalogue is for admins and leads.
    let product = json!({
        "name": "Notdienst 24/7", "kind": "reactive", "customer_group": "Privatkunden",
        "levels": ["Reaktionszeit 4 h, rund um die Uhr"],
    });
    let by_member = api
        .post("/service-products", &org.member.token, product.clone())
        .await;
    assert_eq!(by_member.status, StatusCode::FORBIDDEN);
    let notdienst = api
        .created("/service-products", &org.lead.token, product)
        .await;
    assert_eq!(
        notdienst["levels"],
        json!(["Reaktionszeit 4 h, rund um die Uhr"])
    );

    // Sales promises, service keeps. A member of service may not promise
    // for sales; an AI worker promises nothing.
    let heating = promise(
        "Heizung läuft bis Freitag",
        &org.sales,
        &org.service,
        Some(&notdienst),
    );
    let outsider = api
        .post("/promises", &org.member.token, heating.clone())
        .await;
    assert_eq!(outsider.status, StatusCode::FORBIDDEN);
    let by_ai = api
        .post(
            "/promises",
            &org.worker.token,
            promise("x", &org.service, &org.service, None),
        )
        .await;
    assert_eq!(by_ai.status, StatusCode::FORBIDDEN);
    let made = api.created("/promises", &org.owner.token, heating).await;
    let path = format!("/promises/{}", id(&made));
    assert_eq!(
        (&made["state"], &made["feasibility"]),
        (&json!("open"), &json!("pending"))
    );

    // The maker never signs off their own promise; the keeping stage does.
    let own = api
        .post(
            &format!("{path}/sign-off"),
            &org.owner.token,
            json!({ "feasible": true }),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    let no_why = api
        .post(
            &format!("{path}/sign-off"),
            &org.member.token,
            json!({ "feasible": false }),
        )
        .await;
    assert_eq!(
        no_why.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_why.body
    );
    let signed = api
        .post(
            &format!("{path}/sign-off"),
            &org.member.token,
            json!({ "feasible": true, "note": "Pumpe ist im Lager." }),
        )
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert_eq!(signed.body["feasibility"], "feasible");
    assert_eq!(
        signed.body["feasibility_by"].as_str(),
        Some(org.member.id.as_str())
    );
    assert_eq!(signed.body["health"], "on_track");

    // Paused while the customer is away, resumed, kept; then it stays kept.
    for step in ["pause", "resume"] {
        let reply = api
            .post(&format!("{path}/{step}"), &org.member.token, json!({}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{step}: {}", reply.body);
    }
    let twice = api
        .post(&format!("{path}/resume"), &org.member.token, json!({}))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let kept = api
        .post(
            &format!("{path}/keep"),
            &org.lead.token,
            json!({ "note": "Läuft seit Donnerstag." }),
        )
        .await;
    assert_eq!(kept.body["state"], "kept", "{}", kept.body);
    let broken_after = api
        .post(
            &format!("{path}/break"),
            &org.lead.token,
            json!({ "note": "doch nicht" }),
        )
        .await;
    assert_eq!(broken_after.status, StatusCode::CONFLICT);
    assert_eq!(
        api.get(&path, &org.viewer.token).await.body["state"],
        "kept"
    );

    // Another breaks, with why; a viewer acts on none; another org sees none.
    let second = api
        .created(
            "/promises",
            &org.owner.token,
            promise("Angebot bis Montag", &org.sales, &org.service, None),
        )
        .await;
    let second_path = format!("/promises/{}", id(&second));
    let by_viewer = api
        .post(
            &format!("{second_path}/break"),
            &org.viewer.token,
            json!({ "note": "x" }),
        )
        .await;
    assert_eq!(by_viewer.status, StatusCode::FORBIDDEN);
    let without_why = api
        .post(
            &format!("{second_path}/break"),
            &org.member.token,
            json!({}),
        )
        .await;
    assert_eq!(without_why.status, StatusCode::UNPROCESSABLE_ENTITY);
    let broken = api
        .post(
            &format!("{second_path}/break"),
            &org.member.token,
            json!({ "note": "Monteur krank" }),
        )
        .await;
    assert_eq!(broken.body["state"], "broken", "{}", broken.body);
    // The broken promise is an alert that names the stage that was to keep
    // it, in the keeping team's alerts; the first, kept, is none.
    let refreshed = api
        .post("/alerts/refresh", &org.owner.token, json!({}))
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let alerts = api.get("/alerts", &org.lead.token).await.body;
    let about = |id: &Value| {
        alerts
            .as_array()
            .or_else(|| alerts["items"].as_array())
            .unwrap()
            .iter()
            .filter(|a| a["subject_id"] == *id)
            .cloned()
            .collect::<Vec<_>>()
    };
    let broken_alert = about(&second["id"]);
    assert_eq!(broken_alert.len(), 1, "{alerts}");
    assert_eq!(broken_alert[0]["kind"], "promise_broken");
    assert_eq!(broken_alert[0]["params"]["stage"], "Kundenservice");
    // A promise of no case passed no gate, and the alert says nothing of one.
    let explained = broken_alert[0]["explanation"].as_str().unwrap_or_default();
    assert!(
        explained.contains("Kundenservice") && !explained.to_lowercase().contains("gate"),
        "{explained}"
    );
    assert_eq!(
        broken_alert[0]["team_id"].as_str(),
        Some(org.service.as_str())
    );
    assert!(about(&made["id"]).is_empty(), "{alerts}");
    let foreign = api.get(&second_path, &org.stranger).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let listed = api
        .get("/promises?state=broken", &org.viewer.token)
        .await
        .body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let by_product = api
        .get(
            &format!("/promises?service_product={}", id(&notdienst)),
            &org.viewer.token,
        )
        .await
        .body;
    assert_eq!(by_product["items"][0]["title"], "Heizung läuft bis Freitag");
    // A promise due before it is made, or for a team of another org, is refused whole.
    let backwards = json!({
        "title": "gestern", "customer": "K", "due_at": "2026-11-01T00:00:00Z",
        "made_by_team_id": org.sales,
    });
    let refused = api.post("/promises", &org.owner.token, backwards).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let all = api.get("/promises", &org.owner.token).await.body;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    // Every step is in the audit chain.
    let events = api.get("/events?limit=500", &org.owner.token).await.body;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("promise.") || a.starts_with("service_product."))
        .collect();
    assert_eq!(
        actions,
        [
            "service_product.created",
            "promise.made",
            "promise.signed_off",
            "promise.paused",
            "promise.resumed",
            "promise.kept",
            "promise.made",
            "promise.broken",
        ]
    );
}

tutti_store::behaviour!(a_promise_is_signed_off_by_its_keepers_and_ends_once);

async fn the_weekly_load_counts_planned_and_reactive_work_per_team<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    for (title, kind, team) in [
        ("Wartung Haus 3", "planned", &org.service),
        ("Wartung Haus 4", "planned", &org.service),
        ("Heizung fällt aus", "unplanned", &org.service),
        ("Angebot Sommer", "planned", &org.sales),
    ] {
        api.created(
            "/work-items",
            &org.owner.token,
            json!({ "title": title, "kind": kind, "team_id": team }),
        )
        .await;
    }
    let all = api.get("/service/load?weeks=3", &org.viewer.token).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let weeks = all.body.as_array().unwrap();
    assert_eq!(weeks.len(), 3, "{}", all.body);
    let now = &weeks[2];
    assert_eq!((&now["planned"], &now["unplanned"]), (&json!(3), &json!(1)));
    assert_eq!(now["reactive_share"], 0.25);
    assert_eq!(weeks[0]["planned"], 0);
    let service = api
        .get(
            &format!("/service/load?weeks=1&team={}", org.service),
            &org.viewer.token,
        )
        .await
        .body;
    assert_eq!(
        (&service[0]["planned"], &service[0]["unplanned"]),
        (&json!(2), &json!(1))
    );
    let refused = api.get("/service/load?weeks=0", &org.viewer.token).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let foreign = api
        .get(
            &format!("/service/load?weeks=1&team={}", org.service),
            &org.stranger,
        )
        .await
        .body;
    assert_eq!(foreign[0]["planned"], 0, "{foreign}");
}

tutti_store::behaviour!(the_weekly_load_counts_planned_and_reactive_work_per_team);

async fn the_soonest_due_and_the_latest_closed_come_first<S: Store>(store: S) {
    use tutti_store::{PageRequest, PromiseFilter, PromiseOrder};
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let make = |title: &str, due: &str| {
        json!({ "title": title, "customer": "K", "due_at": due, "made_by_team_id": org.sales,
                "keeper_team_id": org.service })
    };
    let late = api
        .created(
            "/promises",
            &org.owner.token,
            make("später", "2026-12-20T10:00:00Z"),
        )
        .await;
    let soon = api
        .created(
            "/promises",
            &org.owner.token,
            make("bald", "2026-11-18T10:00:00Z"),
        )
        .await;
    let first = |order| PromiseFilter {
        unfinished: true,
        order,
        ..PromiseFilter::default()
    };
    let by_due = store
        .promises(
            org.org_id,
            &first(PromiseOrder::SoonestDue),
            PageRequest::first(1),
        )
        .await
        .unwrap();
    assert_eq!(by_due.items[0].title, "bald");
    let by_made = store
        .promises(
            org.org_id,
            &first(PromiseOrder::Made),
            PageRequest::first(1),
        )
        .await
        .unwrap();
    assert_eq!(by_made.items[0].title, "später");
    for p in [&soon, &late] {
        api.post(
            &format!("/promises/{}/break", id(p)),
            &org.member.token,
            json!({ "note": "zu spät" }),
        )
        .await;
    }
    let closed = PromiseFilter {
        order: PromiseOrder::LatestClosed,
        ..PromiseFilter::default()
    };
    let latest = store
        .promises(org.org_id, &closed, PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(latest.items.len(), 2);
}

tutti_store::behaviour!(the_soonest_due_and_the_latest_closed_come_first);

async fn reactive_work_rising_three_weeks_in_a_row_is_an_alert<S: Store>(store: S) {
    use tutti_domain::work::{Priority, WorkKind, WorkState};
    use tutti_store::{Ctx, NewWorkItem};
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let owner: uuid::Uuid = org.owner.id.parse().unwrap();
    // Four complete weeks before the tests' Monday, breakdowns growing.
    for (day, planned, unplanned) in [
        ("2026-10-20T09:00:00Z", 5, 1),
        ("2026-10-27T09:00:00Z", 4, 2),
        ("2026-11-03T09:00:00Z", 4, 3),
        ("2026-11-10T09:00:00Z", 3, 4),
    ] {
        let ctx = Ctx::new(org.org_id, Some(owner), day.parse().unwrap());
        let kinds = std::iter::repeat_n(WorkKind::Planned, planned)
            .chain(std::iter::repeat_n(WorkKind::Unplanned, unplanned));
        for kind in kinds {
            store
                .create_work_item(
                    &ctx,
                    NewWorkItem {
                        title: "Einsatz".into(),
                        description: String::new(),
                        team_id: None,
                        assignee_id: None,
                        state: WorkState::Backlog,
                        kind,
                        priority: Priority::Normal,
                        due: None,
                        parent_id: None,
                        key_result_id: None,
                        service_product_id: None,
                    },
                )
                .await
                .unwrap();
        }
    }
    api.post("/alerts/refresh", &org.owner.token, json!({}))
        .await;
    let alerts = api.get("/alerts", &org.owner.token).await.body;
    let rising: Vec<&Value> = alerts
        .as_array()
        .or_else(|| alerts["items"].as_array())
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "reactive_share_rising")
        .collect();
    assert_eq!(rising.len(), 1, "{alerts}");
    assert_eq!(
        (&rising[0]["params"]["from"], &rising[0]["params"]["to"]),
        (&json!(17), &json!(57))
    );
}

tutti_store::behaviour!(reactive_work_rising_three_weeks_in_a_row_is_an_alert);

/// Work names its service product, and the load per week can be read for
/// one product: the seed's "which planned services can we sell" per
/// product, not only for the org.
async fn the_load_is_read_per_service_product<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let notdienst = api
        .created(
            "/service-products",
            &org.lead.token,
            json!({ "name": "Notdienst 24/7", "kind": "reactive" }),
        )
        .await;
    let work = |title: &str, kind: &str, product: Option<&Value>| {
        json!({ "title": title, "team_id": org.service, "kind": kind,
                "service_product_id": product.map(id) })
    };
    for body in [
        work("Störung Hoffmann", "unplanned", Some(&notdienst)),
        work("Störung Becker", "unplanned", Some(&notdienst)),
        work("Wartung Sommer", "planned", None),
    ] {
        let item = api.created("/work-items", &org.lead.token, body).await;
        assert_eq!(
            item["service_product_id"].as_str().is_some(),
            item["kind"] == "unplanned"
        );
    }
    let foreign = api
        .post(
            "/work-items",
            &org.lead.token,
            json!({ "title": "x", "service_product_id": org.service }),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(foreign.body["field"], "service_product_id");
    let product = api
        .get(
            &format!("/service/load?weeks=1&service_product={}", id(&notdienst)),
            &org.viewer.token,
        )
        .await
        .body;
    assert_eq!(
        (&product[0]["planned"], &product[0]["unplanned"]),
        (&json!(0), &json!(2)),
        "{product}"
    );
    let all = api
        .get("/service/load?weeks=1", &org.viewer.token)
        .await
        .body;
    assert_eq!(
        (&all[0]["planned"], &all[0]["unplanned"]),
        (&json!(1), &json!(2))
    );
    // Work re-kinded or moved to another team counts where it is now.
    let items = api.get("/work-items?limit=10", &org.lead.token).await.body;
    let becker = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["title"] == "Störung Becker")
        .unwrap()
        .clone();
    api.changed(
        &format!("/work-items/{}", id(&becker)),
        &org.lead.token,
        json!({ "kind": "planned" }),
    )
    .await;
    let product = api
        .get(
            &format!("/service/load?weeks=1&service_product={}", id(&notdienst)),
            &org.viewer.token,
        )
        .await
        .body;
    assert_eq!(
        (&product[0]["planned"], &product[0]["unplanned"]),
        (&json!(1), &json!(1)),
        "{product}"
    );
    let by_team = |team: String| {
        let path = format!("/service/load?weeks=1&team={team}");
        let api = &api;
        let token = org.viewer.token.clone();
        async move { api.get(&path, &token).await.body }
    };
    assert_eq!(by_team(org.service.clone()).await[0]["unplanned"], 1);
    api.changed(
        &format!("/work-items/{}", id(&becker)),
        &org.owner.token,
        json!({ "team_id": org.sales }),
    )
    .await;
    assert_eq!(
        by_team(org.service.clone()).await[0]["planned"],
        1,
        "Sommer's maintenance"
    );
    assert_eq!(
        by_team(org.sales.clone()).await[0]["planned"],
        1,
        "Becker's, moved"
    );
}

tutti_store::behaviour!(the_load_is_read_per_service_product);
