//! The AI workforce, steered, through the API on SQLite and PostgreSQL:
//! work from a template runs, is held against its space's guard-rails,
//! revised and accepted, and the template's record follows; the claim is
//! fair across workers and holds the org's cap; accepted work stands as
//! evidence behind a check-in.

#![expect(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use tutti_domain::labour::Tokens;
use tutti_store::prelude::*;
use tutti_store::{Charge, EngineNode, RunEnd};
use uuid::Uuid;

use crate::support;
use support::{Api, Lindner, Person, Strategy, id, today};

fn engine() -> EngineNode {
    EngineNode {
        name: "test-engine".into(),
        embedded_model: true,
    }
}

/// Claims the next run, reserves its call and ends it with `output`, 100
/// tokens read and 50 written, the way the runtime does.
async fn deliver<S: Store>(store: &S, output: &str) -> Uuid {
    let node = engine();
    let claimed = store
        .claim_run(&node, today(), today() + Duration::seconds(30))
        .await
        .unwrap()
        .expect("a queued run");
    let charge = Charge {
        worker_id: claimed.run.worker_id,
        run_id: Some(claimed.run.id),
        work_item_id: None,
        route_provider: claimed.route.provider.clone(),
        route_model: claimed.route.model.clone(),
        prices: claimed.route.prices,
        input_tokens: 100,
        max_output_tokens: claimed.run.max_tokens,
        expires_at: today(),
        holder: Some(node.name.clone()),
    };
    store
        .reserve_for_run(claimed.run.id, &node.name, today(), charge)
        .await
        .unwrap();
    let end = RunEnd::Succeeded {
        output: output.into(),
        used: Tokens {
            input: 100,
            cached_input: 0,
            output: 50,
        },
    };
    store
        .end_run(claimed.run.id, &node.name, today(), end)
        .await
        .unwrap();
    claimed.run.id
}

/// A decision space of the service team whose checks forbid promising a
/// guaranteed time and ask for the next step.
async fn guarded_space(api: &Api, org: &Lindner) -> String {
    let templates = api
        .get("/decision-spaces/templates", &org.lead.token)
        .await
        .body;
    let policy = templates["templates"][0]["source"].as_str().unwrap();
    let space = api
        .created(
            "/decision-spaces",
            &org.lead.token,
            json!({ "name": "Kundenkommunikation", "team_id": org.service, "policy": policy,
                    "principles": ["Keine Zusagen, die der Service nicht halten kann"] }),
        )
        .await;
    let path = format!("/decision-spaces/{}/guards", id(&space));
    let checks = json!({ "checks": [
        { "kind": "forbidden", "phrases": ["garantiert"] },
        { "kind": "required_sections", "headings": ["Nächster Schritt"] },
    ]});
    let set = api.put(&path, &org.lead.token, checks.clone()).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    // An AI worker never changes its own guard-rails.
    let refused = api
        .put(&path, &org.worker.token, json!({ "checks": [] }))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let bad = api
        .put(
            &path,
            &org.lead.token,
            json!({ "checks": [{ "kind": "amount_above", "limit": 0 }] }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.body["field"], "checks[0]", "{}", bad.body);
    assert_eq!(api.get(&path, &org.member.token).await.body, checks);
    id(&space)
}

async fn template(api: &Api, org: &Lindner) -> Value {
    api.created(
        "/templates",
        &org.lead.token,
        json!({ "name": "Störungsmeldung beantworten",
                "body": "Beantworte die Störungsmeldung „{title}“. {details}\nDas zählt auf: {key_result}.",
                "criteria": "Freundlich, ohne Zusagen; endet mit dem nächsten Schritt." }),
    )
    .await
}

async fn a_template_run_fails_a_guard_is_sent_back_then_revised_and_accepted<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    guarded_space(&api, &org).await;
    let template = template(&api, &org).await;
    let path = format!("/templates/{}", id(&template));
    // Only people who lead write templates; placeholders are checked.
    for (token, body, status) in [
        (
            &org.worker.token,
            json!({ "name": "x", "body": "x", "criteria": "x" }),
            StatusCode::FORBIDDEN,
        ),
        (
            &org.member.token,
            json!({ "name": "x", "body": "x", "criteria": "x" }),
            StatusCode::FORBIDDEN,
        ),
        (
            &org.lead.token,
            json!({ "name": "x", "body": "Hallo {kunde}", "criteria": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let reply = api.post("/templates", token, body).await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }

    let item = api
        .created(
            &format!("{path}/work-items"),
            &org.lead.token,
            json!({ "title": "Heizung Familie Berger fällt aus", "details": "Kunde wartet seit gestern.",
                    "team_id": org.service, "assignee_id": org.worker.id, "state": "ready",
                    "key_result_id": id(&strategy.response_time) }),
        )
        .await;
    let description = item["description"].as_str().unwrap();
    assert!(
        description.starts_with("Beantworte die Störungsmeldung „Heizung Familie Berger fällt aus“. Kunde wartet seit gestern.\nDas zählt auf: Reaktionszeit."),
        "{description}"
    );
    assert!(
        description.contains("## Acceptance criteria\nFreundlich"),
        "{description}"
    );
    let item_path = format!("/work-items/{}", id(&item));

    // The first output breaks both checks: it goes back, not to review.
    let first = deliver(&store, "Wir kommen garantiert heute.").await;
    let run = api
        .get(&format!("/runs/{first}"), &org.lead.token)
        .await
        .body;
    assert_eq!(run["sent_back"], true, "{run}");
    assert_eq!(
        run["findings"],
        json!([{ "finding": "forbidden_phrase", "phrase": "garantiert" },
               { "finding": "section_missing", "heading": "Nächster Schritt" }])
    );
    let version_id = run["template_version_id"].as_str().unwrap().to_owned();
    assert_eq!(version_id, id(&template["versions"][0]));
    assert_eq!(
        api.get(&item_path, &org.lead.token).await.body["state"],
        "ready"
    );
    let runs = api
        .get(&format!("/runs?work_item={}", id(&item)), &org.lead.token)
        .await
        .body;
    let second = runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["iteration"] == 2)
        .unwrap();
    assert_eq!(second["status"], "queued");
    let order = second["work_order"].as_str().unwrap();
    assert!(order.contains("it says \"garantiert\""), "{order}");
    assert!(order.contains("\"Nächster Schritt\" is missing"), "{order}");
    // A run sent back cannot be reviewed.
    let early = api
        .post(
            &format!("/runs/{first}/review"),
            &org.lead.token,
            json!({ "verdict": "accept", "rating": 5 }),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);

    // The second passes the checks and reaches review; the lead asks for
    // a revision, the third is accepted.
    let passing = "Wir melden uns heute mit einem Termin.\nNächster Schritt: Techniker ruft an.";
    let second = deliver(&store, passing).await;
    assert_eq!(
        api.get(&item_path, &org.lead.token).await.body["state"],
        "in_review"
    );
    let revised = api
        .post(
            &format!("/runs/{second}/review"),
            &org.lead.token,
            json!({ "verdict": "revise", "rating": 3, "feedback": "Bitte mit Uhrzeit." }),
        )
        .await;
    assert_eq!(revised.status, StatusCode::CREATED, "{}", revised.body);
    let third = deliver(&store, &format!("{passing} Um 14 Uhr.")).await;
    let accepted = api
        .post(
            &format!("/runs/{third}/review"),
            &org.lead.token,
            json!({ "verdict": "accept", "rating": 5 }),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);

    // The version's record: one item, two reviews, accepted after one
    // revision, one guard finding, three runs' tokens per accepted result.
    let record = api.get(&path, &org.member.token).await.body;
    let v1 = &record["versions"][0]["record"];
    assert_eq!(v1["items"], 1, "{record}");
    assert_eq!(v1["reviews"], 2);
    assert_eq!(v1["accepted"], 1);
    assert_eq!(v1["accept_rate"], 0.5);
    assert_eq!(v1["revise_rounds"], 1.0);
    assert_eq!(v1["mean_rating"], 4.0);
    assert_eq!(v1["guard_findings"], 1);
    assert_eq!(v1["tokens_per_accepted"], 450);
    assert_eq!(record["authors"][0]["name"], "Aylin");
    assert_eq!(record["authors"][0]["record"], *v1);
    assert!(record["comparison"].is_null());
}

tutti_store::behaviour!(a_template_run_fails_a_guard_is_sent_back_then_revised_and_accepted);

async fn an_output_that_keeps_failing_reaches_review_with_its_findings<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    guarded_space(&api, &org).await;
    let item = api
        .created(
            "/work-items",
            &org.lead.token,
            json!({ "title": "Antwort an Familie Berger", "team_id": org.service,
                    "assignee_id": org.worker.id, "state": "ready" }),
        )
        .await;
    let item_path = format!("/work-items/{}", id(&item));
    let mut last = Uuid::nil();
    for round in 0..=tutti_domain::guard::GUARD_ROUNDS_MAX {
        last = deliver(&store, "Garantiert morgen.").await;
        let state = api.get(&item_path, &org.lead.token).await.body["state"].clone();
        let expected = if round < tutti_domain::guard::GUARD_ROUNDS_MAX {
            "ready"
        } else {
            "in_review"
        };
        assert_eq!(state, expected, "after output {}", round + 1);
    }
    let run = api
        .get(&format!("/runs/{last}"), &org.lead.token)
        .await
        .body;
    assert_eq!(run["sent_back"], false);
    assert_eq!(run["findings"].as_array().unwrap().len(), 2, "{run}");
    // Nothing more is queued: the reviewer decides now.
    assert!(
        store
            .claim_run(&engine(), today(), today() + Duration::seconds(30))
            .await
            .unwrap()
            .is_none()
    );
}

tutti_store::behaviour!(an_output_that_keeps_failing_reaches_review_with_its_findings);

async fn two_versions_side_by_side_take_turns_and_are_compared_honestly<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let template = template(&api, &org).await;
    let path = format!("/templates/{}", id(&template));
    let added = api
        .post(
            &format!("{path}/versions"),
            &org.lead.token,
            json!({ "body": "Antworte auf „{title}“ in drei Sätzen.", "criteria": "Kurz.",
                    "note": "kürzer", "side_by_side": true }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let versions: Vec<bool> = added.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["in_use"].as_bool().unwrap())
        .collect();
    assert_eq!(versions, [true, true]);
    let mut used = Vec::new();
    for n in 0..4 {
        let item = api
            .created(
                &format!("{path}/work-items"),
                &org.member.token,
                json!({ "title": format!("Meldung {n}"), "team_id": org.service }),
            )
            .await;
        used.push(
            item["description"]
                .as_str()
                .unwrap()
                .starts_with("Antworte"),
        );
    }
    assert_eq!(used, [false, true, false, true]);
    let record = api.get(&path, &org.member.token).await.body;
    assert_eq!(record["versions"][0]["record"]["items"], 2);
    assert_eq!(record["versions"][1]["record"]["items"], 2);
    assert_eq!(record["comparison"]["enough_to_tell"], false, "{record}");
    assert!(
        record["comparison"]["note"]
            .as_str()
            .unwrap()
            .contains("too few to tell")
    );
    // A version not side by side takes all new work.
    let third = api
        .post(
            &format!("{path}/versions"),
            &org.lead.token,
            json!({ "body": "Neu: {title}", "criteria": "Kurz." }),
        )
        .await
        .body;
    let in_use: Vec<i64> = third["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["in_use"] == true)
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(in_use, [3]);
}

tutti_store::behaviour!(two_versions_side_by_side_take_turns_and_are_compared_honestly);

/// `n` ready items for `worker`, each queueing a run, oldest first.
async fn queue_for(api: &Api, org: &Lindner, worker: &Person, n: usize) -> Vec<String> {
    let mut items = Vec::new();
    for i in 0..n {
        let item = api
            .created(
                "/work-items",
                &org.lead.token,
                json!({ "title": format!("Auftrag {i}"), "team_id": org.service,
                        "assignee_id": worker.id, "state": "ready" }),
            )
            .await;
        items.push(id(&item));
    }
    items
}

async fn the_claim_is_fair_across_workers_and_holds_the_org_cap<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let ai = |name: &str| json!({ "name": name, "kind": "ai", "teams": [org.service], "provider": "lokal", "model": "smollm2" });
    let berta = Person::added(&api, &org.owner.token, ai("Berta")).await;
    let carl = Person::added(&api, &org.owner.token, ai("Carl")).await;
    // Emil is capped at one run at once and has far more queued than one
    // claim looks at; Berta and Carl have two slots each.
    api.changed(
        &format!("/members/{}", org.worker.id),
        &org.owner.token,
        json!({ "concurrency": 1 }),
    )
    .await;
    let emil_items = queue_for(&api, &org, &org.worker, 20).await;
    let berta_items = queue_for(&api, &org, &berta, 3).await;
    let carl_items = queue_for(&api, &org, &carl, 3).await;
    let node = engine();
    let mut started = Vec::new();
    while let Some(claimed) = store
        .claim_run(&node, today(), today() + Duration::seconds(30))
        .await
        .unwrap()
    {
        started.push(claimed.run.work_item_id.to_string());
    }
    // Every worker starts, in its own order; the least busy goes first.
    assert_eq!(
        started,
        [
            emil_items[0].clone(),
            berta_items[0].clone(),
            carl_items[0].clone(),
            berta_items[1].clone(),
            carl_items[1].clone(),
        ]
    );
    let capacity = api.get("/capacity", &org.member.token).await.body;
    let emil = capacity["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "Emil")
        .unwrap();
    assert_eq!(
        (emil["running"].clone(), emil["queued"].clone()),
        (json!(1), json!(19))
    );
    assert_eq!(capacity["running"], 5);
    assert_eq!(capacity["queued"], 21);

    // The org's cap holds across all its workers: with 5 running, a cap of
    // 5 admits nothing more even once Berta has room again.
    let set = api
        .put(
            "/org/capacity",
            &org.owner.token,
            json!({ "ai_concurrency": 5 }),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    for (token, body, status) in [
        (
            &org.lead.token,
            json!({ "ai_concurrency": 9 }),
            StatusCode::FORBIDDEN,
        ),
        (
            &org.owner.token,
            json!({ "ai_concurrency": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        assert_eq!(api.put("/org/capacity", token, body).await.status, status);
    }
    api.changed(
        &format!("/members/{}", berta.id),
        &org.owner.token,
        json!({ "concurrency": 3 }),
    )
    .await;
    assert!(
        store
            .claim_run(&node, today(), today() + Duration::seconds(30))
            .await
            .unwrap()
            .is_none()
    );
    api.put(
        "/org/capacity",
        &org.owner.token,
        json!({ "ai_concurrency": null }),
    )
    .await;
    let next = store
        .claim_run(&node, today(), today() + Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.run.work_item_id.to_string(), berta_items[2]);
}

tutti_store::behaviour!(the_claim_is_fair_across_workers_and_holds_the_org_cap);

async fn accepted_work_stands_as_evidence_behind_a_check_in<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    let kr = id(&strategy.response_time);
    let item = api
        .created(
            "/work-items",
            &org.lead.token,
            json!({ "title": "Notdienstplan entwerfen", "team_id": org.service,
                    "assignee_id": org.worker.id, "state": "ready", "key_result_id": kr }),
        )
        .await;
    let run = deliver(&store, "Plan: …").await;
    let check_in = api
        .created(
            &format!("/key-results/{kr}/check-ins"),
            &org.lead.token,
            json!({ "value": 14.0, "confidence": 7, "note": "Notdienstplan greift" }),
        )
        .await;
    let path = format!("/check-ins/{}/evidence", id(&check_in));
    let body = json!({ "work_item_id": id(&item), "run_id": run });
    // In review, not yet accepted: no evidence; nor work that is not done.
    let early = api.post(&path, &org.lead.token, body.clone()).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    let not_done = api
        .post(&path, &org.lead.token, json!({ "work_item_id": id(&item) }))
        .await;
    assert_eq!(not_done.status, StatusCode::CONFLICT, "{}", not_done.body);
    api.post(
        &format!("/runs/{run}/review"),
        &org.lead.token,
        json!({ "verdict": "accept", "rating": 4 }),
    )
    .await;
    // Someone outside the key result's team may not attach.
    let viewer = api.post(&path, &org.viewer.token, body.clone()).await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    let attached = api.created(&path, &org.member.token, body.clone()).await;
    assert_eq!(attached["title"], "Notdienstplan entwerfen");
    assert_eq!(attached["tokens"], 150);
    let twice = api.post(&path, &org.member.token, body).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let evidence = api
        .get(&format!("/key-results/{kr}/evidence"), &org.owner.token)
        .await
        .body;
    assert_eq!(evidence.as_array().unwrap().len(), 1);
    assert_eq!(evidence[0]["check_in_id"], id(&check_in));
    assert_eq!(evidence[0]["run_id"], run.to_string());
    // Another org sees nothing of it.
    let foreign = api
        .get(&format!("/key-results/{kr}/evidence"), &org.stranger)
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

tutti_store::behaviour!(accepted_work_stands_as_evidence_behind_a_check_in);

/// The leverage view on a constructed quarter whose answer is known: the
/// lead's AI work on "Verlängerungen" is accepted after 4 h and the key
/// result moves from 65 to 70 of 60 → 80 (25 points); the owner's AI work
/// on "Reaktionszeit" is spent while it stands still; the lead's work on no
/// key result is accepted after 2 h and moves nothing.
async fn the_leverage_view_sets_ledger_spend_against_what_it_moved<S: Store>(store: S) {
    let clock = std::sync::Arc::new(tutti_server::FixedClock::new(
        "2026-09-20T08:00:00Z".parse().unwrap(),
    ));
    let api = Api::on(&store, clock.clone());
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    let (renewals, response) = (id(&strategy.renewals), id(&strategy.response_time));
    // Before the quarter: 65 of 60 → 80, a quarter of the way.
    api.created(
        &format!("/key-results/{renewals}/check-ins"),
        &org.owner.token,
        json!({ "value": 65.0, "confidence": 6, "note": "Sommer" }),
    )
    .await;

    clock.set(today());
    let order = |token: &str, title: &str, kr: Option<&str>| {
        let body = json!({ "title": title, "team_id": org.service, "assignee_id": org.worker.id,
                           "state": "ready", "key_result_id": kr });
        let token = token.to_owned();
        let api = &api;
        async move { api.created("/work-items", &token, body).await }
    };
    order(&org.lead.token, "Verlängerungsangebote", Some(&renewals)).await;
    let renewal_run = deliver(&store, "Angebote: …").await;
    order(
        &org.owner.token,
        "Reaktionszeiten auswerten",
        Some(&response),
    )
    .await;
    deliver(&store, "Auswertung: …").await;
    order(&org.lead.token, "Werkstatt aufräumen", None).await;
    let loose_run = deliver(&store, "Liste: …").await;
    clock.advance(Duration::hours(2));
    let reviewed = api
        .post(
            &format!("/runs/{loose_run}/review"),
            &org.lead.token,
            json!({ "verdict": "accept", "rating": 3 }),
        )
        .await;
    assert!(reviewed.status.is_success(), "{}", reviewed.body);
    clock.advance(Duration::hours(2));
    let reviewed = api
        .post(
            &format!("/runs/{renewal_run}/review"),
            &org.lead.token,
            json!({ "verdict": "accept", "rating": 5 }),
        )
        .await;
    assert!(reviewed.status.is_success(), "{}", reviewed.body);
    api.created(
        &format!("/key-results/{renewals}/check-ins"),
        &org.lead.token,
        json!({ "value": 70.0, "confidence": 7, "note": "Angebote raus" }),
    )
    .await;

    let ledger = api
        .get(
            "/ledger/summary?group_by=objective&period=quarter",
            &org.owner.token,
        )
        .await
        .body;
    let settled = |objective: Option<&str>| {
        ledger["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["key"].as_str() == objective)
            .map(|l| l["cost"].as_i64().unwrap())
            .unwrap()
    };
    let (top, child) = (id(&strategy.top), id(&strategy.child));
    let view = api
        .get("/leverage?by=objective", &org.member.token)
        .await
        .body;
    let row = |key: Option<&str>| {
        view["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"].as_str() == key)
            .cloned()
            .expect("a row for every group")
    };
    let moved = row(Some(&top));
    assert_eq!(moved["label"], "Kundenbindung stärken");
    assert_eq!(moved["cost"].as_i64(), Some(settled(Some(&top))));
    assert_eq!(moved["tokens"], 150);
    assert_eq!(moved["accepted"], 1);
    assert_eq!(moved["cycle_hours"], 4.0);
    assert_eq!(moved["key_results"], 1);
    assert_eq!(moved["points_moved"], 25.0);
    assert_eq!(moved["moves_nothing"], false);
    let cost = moved["cost"].as_i64().unwrap();
    assert!(cost > 0, "the embedded model's price makes a cost: {view}");
    assert_eq!(moved["cost_per_point"], (cost as f64 / 25.0).ceil() as i64);
    let still = row(Some(&child));
    assert_eq!(
        (still["accepted"].as_i64(), still["points_moved"].as_f64()),
        (Some(0), Some(0.0))
    );
    assert_eq!(still["moves_nothing"], true);
    let loose = row(None);
    assert_eq!(
        (loose["accepted"].as_i64(), loose["cycle_hours"].as_f64()),
        (Some(1), Some(2.0))
    );
    assert_eq!(loose["moves_nothing"], true);
    assert_eq!(view["rows"].as_array().unwrap().len(), 3);
    assert_eq!(
        view["total"]["cost"].as_i64(),
        Some(settled(Some(&top)) + settled(Some(&child)) + settled(None))
    );
    assert_eq!(view["total"]["accepted"], 2);
    assert_eq!(view["total"]["cycle_hours"], 3.0);

    // By the orderer's role: the lead's work moved 25 points, the owner's
    // nothing.
    let by_role = api.get("/leverage?by=role", &org.lead.token).await.body;
    let roles: Vec<(&str, f64, bool)> = by_role["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap(),
                r["points_moved"].as_f64().unwrap(),
                r["moves_nothing"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(roles.contains(&("lead", 25.0, false)), "{by_role}");
    assert!(roles.contains(&("owner", 0.0, true)), "{by_role}");
    let by_team = api.get("/leverage?by=team", &org.lead.token).await.body;
    assert_eq!(by_team["rows"][0]["key"], org.service.as_str());
    assert_eq!(by_team["rows"][0]["points_moved"], 25.0);

    // September saw a check-in but no AI work: nothing to show.
    let september = api
        .get("/leverage?period=2026-09", &org.lead.token)
        .await
        .body;
    assert_eq!(september["rows"], json!([]));
    // The sheet (its rows are the domain's test).
    let sheet = api
        .get("/leverage/export?by=objective", &org.lead.token)
        .await;
    assert_eq!(sheet.status, StatusCode::OK);
    // Bad input is named; another org sees none of it.
    let bad = api.get("/leverage?by=week", &org.lead.token).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let bad = api.get("/leverage?period=2026-13", &org.lead.token).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.body["field"], "period");
    let foreign = api.get("/leverage", &org.stranger).await.body;
    assert_eq!(foreign["rows"], json!([]));
}

tutti_store::behaviour!(the_leverage_view_sets_ledger_spend_against_what_it_moved);
