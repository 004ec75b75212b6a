//! AI labour through the API, on SQLite and PostgreSQL: providers keep their
//! keys secret, budgets and runs refuse bad input naming the field, roles
//! hold, other orgs see nothing, the gateway answers in OpenAI's error
//! shape, and a refused or failed call leaves a balanced ledger.

#![expect(clippy::unwrap_used, clippy::panic)]

use axum::http::StatusCode;
use serde_json::json;
use tutti_domain::labour::{Prices, Tokens};
use tutti_store::prelude::*;
use tutti_store::{Charge, Ctx};

use crate::support;
use support::{Api, Lindner, ask, gateway, id, today};

async fn providers_are_an_admins_and_a_stored_key_is_never_shown<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let owner = &org.owner.token;
    let cloud = org.on_an_unreachable_cloud(&api).await;
    assert_eq!(cloud["has_stored_key"], true);
    assert!(!cloud.to_string().contains("sk-very-secret"));
    let listed = api.get("/providers", owner).await;
    assert!(!listed.body.to_string().contains("sk-very-secret"));
    for (body, status, field) in [
        (
            json!({ "name": "x", "kind": "openai" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("base_url"),
        ),
        (
            json!({ "name": "lokal", "kind": "embedded" }),
            StatusCode::CONFLICT,
            None,
        ),
        (
            json!({ "name": "y", "kind": "quantum" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("kind"),
        ),
    ] {
        let reply = api.post("/providers", owner, body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        if let Some(field) = field {
            assert_eq!(reply.body["field"], field, "{body}: {}", reply.body);
        }
    }
    let by_lead = api
        .post(
            "/providers",
            &org.lead.token,
            json!({ "name": "z", "kind": "embedded" }),
        )
        .await;
    assert_eq!(by_lead.status, StatusCode::FORBIDDEN);
    let negative = api
        .post(
            &format!("/providers/{}/models", id(&cloud)),
            owner,
            json!({ "name": "big", "input_price": -1, "output_price": 0 }),
        )
        .await;
    assert_eq!(negative.body["field"], "input_price");
    let foreign = api
        .post(
            &format!("/providers/{}/models", id(&cloud)),
            &org.stranger,
            json!({ "name": "big", "input_price": 1, "output_price": 1 }),
        )
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::NOT_FOUND,
        "another org's provider does not exist here"
    );
}

tutti_store::behaviour!(providers_are_an_admins_and_a_stored_key_is_never_shown);

async fn a_budget_needs_a_limit_and_a_fitting_scope_and_leads_set_only_their_teams<S: Store>(
    store: S,
) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    for (body, field) in [
        (
            json!({ "name": "b", "scope": "team", "period": "month", "token_limit": 5 }),
            "scope_id",
        ),
        (
            json!({ "name": "b", "scope": "org", "period": "month" }),
            "token_limit",
        ),
        (
            json!({ "name": "b", "scope": "org", "period": "month", "token_limit": -5 }),
            "token_limit",
        ),
        (
            json!({ "name": "b", "scope": "org", "period": "week", "token_limit": 5 }),
            "period",
        ),
        (
            json!({ "name": "b", "scope": "org", "period": "month", "token_limit": 5, "warn_percent": 0 }),
            "warn_percent",
        ),
        (
            json!({ "name": "b", "scope": "org", "period": "month", "token_limit": 5, "colour": "red" }),
            "colour",
        ),
    ] {
        let reply = api.post("/budgets", &org.owner.token, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert!(
            reply.body["field"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{body}: {}",
            reply.body
        );
    }
    let org_wide = api
        .post(
            "/budgets",
            &org.lead.token,
            json!({ "name": "b", "scope": "org", "period": "month", "token_limit": 5 }),
        )
        .await;
    assert_eq!(org_wide.status, StatusCode::FORBIDDEN);
    api.created(
        "/budgets",
        &org.lead.token,
        json!({ "name": "Kundenservice", "scope": "team", "scope_id": org.service, "period": "quarter", "cost_limit": 10_000_000 }),
    )
    .await;
    api.created(
        "/budgets",
        &org.owner.token,
        json!({ "name": "Emil knapp", "scope": "worker", "scope_id": org.worker.id, "period": "month", "token_limit": 100 }),
    )
    .await;
    let budgets = api.get("/budgets", &org.viewer.token).await;
    assert_eq!(budgets.body.as_array().unwrap().len(), 2);
    assert_eq!(budgets.body[1]["state"], "ok");
}

tutti_store::behaviour!(a_budget_needs_a_limit_and_a_fitting_scope_and_leads_set_only_their_teams);

async fn ready_work_in_an_ai_workers_hands_has_one_run_and_a_persons_has_none<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let lead = &org.lead.token;
    let item = api
        .created(
            "/work-items",
            lead,
            json!({ "title": "Antwort entwerfen", "team_id": org.service, "assignee_id": org.worker.id, "state": "ready" }),
        )
        .await;
    let runs = api
        .get(&format!("/runs?work_item={}", id(&item)), &org.viewer.token)
        .await;
    assert_eq!(runs.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(runs.body["items"][0]["status"], "queued");
    let second = api
        .post(&format!("/work-items/{}/runs", id(&item)), lead, json!({}))
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    let no_tokens = api
        .post(
            &format!("/work-items/{}/runs", id(&item)),
            lead,
            json!({ "max_tokens": 0 }),
        )
        .await;
    assert_eq!(
        (no_tokens.status, no_tokens.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("max_tokens"))
    );
    let human_item = api
        .created(
            "/work-items",
            lead,
            json!({ "title": "Selbst machen", "team_id": org.service, "assignee_id": org.lead.id }),
        )
        .await;
    let by_person = api
        .post(
            &format!("/work-items/{}/runs", id(&human_item)),
            lead,
            json!({}),
        )
        .await;
    // Work in a person's hands conflicts with running it.
    assert_eq!(by_person.status, StatusCode::CONFLICT, "{}", by_person.body);
    assert!(
        by_person.body["detail"]
            .as_str()
            .unwrap()
            .contains("a person"),
        "{}",
        by_person.body
    );
    let run = &runs.body["items"][0];
    assert_eq!(
        api.get(&format!("/runs/{}", id(run)), &org.stranger)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

tutti_store::behaviour!(ready_work_in_an_ai_workers_hands_has_one_run_and_a_persons_has_none);

async fn a_queued_run_is_cancelled_once_by_who_may_change_its_work<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let lead = &org.lead.token;
    let item = api
        .created(
            "/work-items",
            lead,
            json!({ "title": "Antwort entwerfen", "team_id": org.service, "assignee_id": org.worker.id, "state": "ready" }),
        )
        .await;
    let runs = api
        .get(&format!("/runs?work_item={}", id(&item)), lead)
        .await;
    let cancel = format!("/runs/{}/cancel", id(&runs.body["items"][0]));
    let by_viewer = api.post(&cancel, &org.viewer.token, json!({})).await;
    assert_eq!(by_viewer.status, StatusCode::FORBIDDEN);
    let cancelled = api.post(&cancel, lead, json!({})).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let again = api.post(&cancel, lead, json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let review = format!("/runs/{}/review", id(&runs.body["items"][0]));
    let of_cancelled = api
        .post(&review, lead, json!({ "verdict": "accept", "rating": 5 }))
        .await;
    assert_eq!(of_cancelled.status, StatusCode::CONFLICT);
    let out_of_range = api
        .post(&review, lead, json!({ "verdict": "accept", "rating": 9 }))
        .await;
    assert_eq!(
        (out_of_range.status, out_of_range.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("rating"))
    );
}

tutti_store::behaviour!(a_queued_run_is_cancelled_once_by_who_may_change_its_work);

async fn the_ledger_summary_refuses_unknown_groups_and_periods<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let owner = &org.owner.token;
    let colour = api.get("/ledger/summary?group_by=colour", owner).await;
    assert_eq!(colour.status, StatusCode::UNPROCESSABLE_ENTITY);
    let month = api
        .get("/ledger/summary?group_by=worker&period=2026-13", owner)
        .await;
    assert_eq!(month.body["field"], "period");
    let summary = api
        .get("/ledger/summary?group_by=model&period=2026-11", owner)
        .await;
    assert_eq!(summary.body["currency"], "EUR");
    assert_eq!(
        api.get("/ledger/entries?kind=refund", owner).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

tutti_store::behaviour!(the_ledger_summary_refuses_unknown_groups_and_periods);

async fn the_gateway_answers_in_openais_error_shape<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    org.on_an_unreachable_cloud(&api).await;
    let router = &api.router;
    let worker = Some(org.worker.token.as_str());
    let (status, body) = gateway(router, None, &ask("big", 5)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_api_key"))
    );
    let (status, _) = gateway(router, Some(&org.owner.token), &ask("big", 5)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "people use the API, AI members the gateway"
    );
    let (status, body) = gateway(router, worker, "{ not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = gateway(router, worker, r#"{"model": "big", "messages": "hi"}"#).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages"),
        "{status} {body}"
    );
    let (status, body) = gateway(router, worker, &ask("nope", 5)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("model_not_found"))
    );
    let (status, body) = gateway(router, worker, &ask("lokal/smollm2", 5)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("model_not_allowed"))
    );
}

tutti_store::behaviour!(the_gateway_answers_in_openais_error_shape);

async fn a_budget_without_room_refuses_a_call_before_any_upstream_naming_itself<S: Store>(
    store: S,
) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    org.on_an_unreachable_cloud(&api).await;
    api.created(
        "/budgets",
        &org.owner.token,
        json!({ "name": "Emil knapp", "scope": "worker", "scope_id": org.worker.id, "period": "month", "token_limit": 100 }),
    )
    .await;
    // 100 tokens cannot hold a prompt bound plus 500 tokens of answer.
    let (status, body) = gateway(&api.router, Some(&org.worker.token), &ask("big", 500)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::PAYMENT_REQUIRED, Some("budget_exhausted"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Emil knapp"),
        "{body}"
    );
    let totals = api.get("/ledger/totals", &org.owner.token).await.body;
    assert_eq!(
        totals["reserved_tokens"], 0,
        "nothing was reserved: {totals}"
    );
}

tutti_store::behaviour!(a_budget_without_room_refuses_a_call_before_any_upstream_naming_itself);

async fn an_unreachable_upstream_is_a_502_and_its_reservation_is_released_in_full<S: Store>(
    store: S,
) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    org.on_an_unreachable_cloud(&api).await;
    let owner = &org.owner.token;
    let tight = api
        .created(
            "/budgets",
            owner,
            json!({ "name": "Emil knapp", "scope": "worker", "scope_id": org.worker.id, "period": "month", "token_limit": 100 }),
        )
        .await;
    let (status, body) = gateway(&api.router, Some(&org.worker.token), &ask("big", 5)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let totals = api.get("/ledger/totals", owner).await.body;
    assert_eq!(
        (
            totals["open_reservations"].as_i64(),
            totals["settled_tokens"].as_i64()
        ),
        (Some(0), Some(0)),
        "{totals}"
    );
    assert!(totals["reserved_tokens"].as_i64().unwrap() > 0);
    let entries = api.get("/ledger/entries?kind=release", owner).await.body;
    assert_eq!(entries["items"].as_array().unwrap().len(), 1, "{entries}");
    let reservation = entries["items"][0]["reservation_id"].as_str().unwrap();
    let trail = api
        .get(&format!("/ledger/entries?reservation={reservation}"), owner)
        .await
        .body;
    let kinds: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reserve", "settle", "release"]);
    assert!(
        api.get("/ledger/entries", &org.stranger).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let budgets = api.get("/budgets", owner).await.body;
    let tight_state = budgets
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == tight["id"])
        .unwrap();
    assert_eq!(tight_state["used_tokens"], 0);
}

tutti_store::behaviour!(an_unreachable_upstream_is_a_502_and_its_reservation_is_released_in_full);

/// An upstream that takes the connection and never says a word.
async fn silent_upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}/v1")
}

async fn a_hanging_upstream_ends_within_the_providers_deadline_streaming_or_not<S: Store>(
    store: S,
) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let owner = &org.owner.token;
    let cloud = org.on_an_unreachable_cloud(&api).await;
    assert_eq!(
        cloud["limits"],
        json!({ "connect_timeout_secs": 5, "first_byte_timeout_secs": 20, "idle_timeout_secs": 20, "deadline_secs": 45 }),
        "the defaults end a hanging call well under a minute"
    );
    let limits = format!("/providers/{}/limits", id(&cloud));
    for (token, body, status, field) in [
        (
            owner.as_str(),
            json!({ "deadline_secs": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("deadline_secs"),
        ),
        (
            owner.as_str(),
            json!({ "deadline_secs": 601 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("deadline_secs"),
        ),
        (
            owner.as_str(),
            json!({ "deadline": 10 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("deadline"),
        ),
        (
            org.worker.token.as_str(),
            json!({ "deadline_secs": 30 }),
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            org.stranger.as_str(),
            json!({ "deadline_secs": 30 }),
            StatusCode::NOT_FOUND,
            None,
        ),
    ] {
        let reply = api
            .send("PATCH", &limits, Some(token), Some(&body.to_string()), &[])
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (status, field),
            "{body}: {}",
            reply.body
        );
    }
    // The provider now points at an upstream that never answers, with tight
    // limits.
    let silent = silent_upstream().await;
    let stumm = api
        .created(
            "/providers",
            owner,
            json!({ "name": "stumm", "kind": "openai", "base_url": silent,
                    "limits": { "connect_timeout_secs": 1, "first_byte_timeout_secs": 1, "idle_timeout_secs": 1, "deadline_secs": 20 } }),
        )
        .await;
    let tightened = api
        .send(
            "PATCH",
            &format!("/providers/{}/limits", id(&stumm)),
            Some(owner),
            Some(r#"{"deadline_secs": 2}"#),
            &[],
        )
        .await;
    assert_eq!(tightened.status, StatusCode::OK, "{}", tightened.body);
    assert_eq!(tightened.body["limits"]["deadline_secs"], 2);
    api.post(
        &format!("/providers/{}/models", id(&stumm)),
        owner,
        json!({ "name": "still", "input_price": 1, "output_price": 1 }),
    )
    .await;
    api.changed(
        &format!("/members/{}", org.worker.id),
        owner,
        json!({ "provider": "stumm", "model": "still" }),
    )
    .await;

    let within = std::time::Duration::from_secs(30);
    let (status, body) = tokio::time::timeout(
        within,
        gateway(&api.router, Some(&org.worker.token), &ask("still", 5)),
    )
    .await
    .unwrap_or_else(|_| panic!("the call outlived its deadline many times over"));
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deadline"),
        "{body}"
    );

    let streamed = json!({ "model": "still", "stream": true, "max_tokens": 5,
                           "messages": [{ "role": "user", "content": "Hallo" }] });
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", org.worker.token))
        .body(axum::body::Body::from(streamed.to_string()))
        .unwrap();
    let events = tokio::time::timeout(within, async {
        use tower::ServiceExt;
        let response = api.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    })
    .await
    .unwrap_or_else(|_| panic!("the stream outlived its deadline many times over"));
    assert!(events.starts_with("data: {\"error\""), "{events}");
    assert!(events.contains("deadline"), "{events}");

    let totals = api.get("/ledger/totals", owner).await.body;
    assert_eq!(
        totals["open_reservations"], 0,
        "both reservations were released: {totals}"
    );
    assert_eq!(totals["settled_tokens"], 0, "{totals}");
    assert_eq!(totals["unbalanced_reservations"], json!([]), "{totals}");
}

tutti_store::behaviour!(a_hanging_upstream_ends_within_the_providers_deadline_streaming_or_not);

async fn a_budget_is_deleted_by_an_admin_once_its_calls_settled_and_the_ledger_keeps_all<
    S: Store,
>(
    store: S,
) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    org.on_an_unreachable_cloud(&api).await;
    let owner = &org.owner.token;
    let tight = api
        .created(
            "/budgets",
            owner,
            json!({ "name": "Emil knapp", "scope": "worker", "scope_id": org.worker.id, "period": "month", "token_limit": 100 }),
        )
        .await;
    let tight_path = format!("/budgets/{}", id(&tight));
    let ctx = Ctx::new(org.org_id, None, today());
    let held = store
        .reserve(
            &ctx,
            Charge {
                worker_id: org.worker.id.parse().unwrap(),
                run_id: None,
                work_item_id: None,
                route_provider: "cloud".into(),
                route_model: "big".into(),
                prices: Prices {
                    input: 1,
                    cached_input: 1,
                    output: 1,
                },
                input_tokens: 10,
                max_output_tokens: 10,
                expires_at: today() + chrono::Duration::minutes(15),
                holder: None,
            },
        )
        .await
        .unwrap();
    let entries_before = api.get("/ledger/entries?limit=500", owner).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    for (token, status) in [
        (&org.viewer.token, StatusCode::FORBIDDEN),
        (&org.stranger, StatusCode::NOT_FOUND),
        (owner, StatusCode::CONFLICT),
    ] {
        let reply = api
            .send("DELETE", &tight_path, Some(token), None, &[])
            .await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }
    let used = Tokens {
        input: 10,
        cached_input: 0,
        output: 2,
    };
    store.settle(&ctx, held.id, used).await.unwrap();
    let deleted = api
        .send("DELETE", &tight_path, Some(owner), None, &[])
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let listed = api.get("/budgets", owner).await.body;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["id"] != tight["id"]),
        "{listed}"
    );
    let again = api
        .send("DELETE", &tight_path, Some(owner), None, &[])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let entries_after = api.get("/ledger/entries?limit=500", owner).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        entries_after,
        entries_before + 2,
        "the settlement and the release of the unused rest are added; nothing is removed"
    );
    let events = api.get("/events?action=budget.deleted", owner).await.body;
    assert_eq!(events["items"][0]["subject_id"], id(&tight), "{events}");
}

tutti_store::behaviour!(
    a_budget_is_deleted_by_an_admin_once_its_calls_settled_and_the_ledger_keeps_all
);
