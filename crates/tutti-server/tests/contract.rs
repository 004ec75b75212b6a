//! What every endpoint of the API promises, on SQLite and PostgreSQL: bad
//! input is a clear 4xx that names the field and writes nothing; another
//! org's ids are 404; a retried request gets its first answer; the audit log
//! holds every change and no token; the OpenAPI document is complete.

#![expect(clippy::unwrap_used, clippy::panic)]

use axum::http::StatusCode;
use serde_json::json;
use tutti_server::auth;
use tutti_store::prelude::*;

use crate::support;
use support::{Api, Lindner, Strategy, id};

async fn work_count(api: &Api, token: &str) -> usize {
    api.get("/work-items?limit=500", token).await.body["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn malformed_or_invalid_bodies_are_refused_naming_the_field<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let before = work_count(&api, &org.owner.token).await;
    let cases: Vec<(&str, &str, StatusCode, Option<&str>)> = vec![
        (
            "/work-items",
            r#"{"title": "x""#,
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "/work-items",
            r#"{"title": "x"} trailing"#,
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "/work-items",
            r#"{"title": 5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            "/work-items",
            r#"{"title": "x", "colour": "red"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("colour"),
        ),
        (
            "/work-items",
            r#"{"description": "no title"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            "/work-items",
            r#"{"title": "   "}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            "/work-items",
            r#"{"title": "x", "state": "done"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("state"),
        ),
        (
            "/work-items",
            r#"{"title": "x", "state": "flying"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("state"),
        ),
        (
            "/work-items",
            r#"{"title": "x", "key_result_id": "01a1fe4e-2682-74e3-8be2-c57f826ed049"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("key_result_id"),
        ),
        (
            "/work-items",
            r#"{"title": "x", "due": "2026-13-01"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("due"),
        ),
        (
            "/work-items",
            r#"{"title": "x", "assignee_id": "not-a-uuid"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("assignee_id"),
        ),
        // Which one would count is not for the server to guess.
        (
            "/work-items",
            r#"{"title": "x", "title": "y"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            "/budgets",
            r#"{"name": "b", "scope": "org", "period": "month", "token_limit": 1.5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("token_limit"),
        ),
        // serde would fill the fields by position.
        (
            "/work-items",
            r#" ["x"]"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("body"),
        ),
        (
            "/teams",
            r#"["T"]"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("body"),
        ),
        (
            "/objectives",
            r#"{"title": "x", "period_start": "2026-12-01", "period_end": "2026-01-01"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("period_end"),
        ),
    ];
    for (path, body, status, field) in cases {
        let reply = api
            .send("POST", path, Some(&org.owner.token), Some(body), &[])
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(
            reply.body["field"].as_str(),
            field,
            "{body}: {}",
            reply.body
        );
        assert!(!reply.body["detail"].as_str().unwrap().is_empty());
    }
    let after = work_count(&api, &org.owner.token).await;
    assert_eq!(before, after, "refused requests must write nothing");
}

tutti_store::behaviour!(malformed_or_invalid_bodies_are_refused_naming_the_field);

async fn values_out_of_range_are_refused_naming_the_field<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    let before = work_count(&api, &org.owner.token).await;
    let confidence = api
        .post(
            &format!("/key-results/{}/check-ins", id(&strategy.renewals)),
            &org.owner.token,
            json!({ "value": 1, "confidence": 11 }),
        )
        .await;
    assert_eq!(
        (confidence.status, confidence.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("confidence"))
    );
    // JSON has one kind of number: `8.0` is the integer 8.
    let whole = api
        .post(
            &format!("/key-results/{}/check-ins", id(&strategy.renewals)),
            &org.owner.token,
            json!({ "value": 1, "confidence": 8.0 }),
        )
        .await;
    assert_eq!(whole.status, StatusCode::CREATED, "{}", whole.body);
    assert_eq!(whole.body["confidence"], 8);
    let long = format!(
        r#"{{"title": "x", "description": "{}"}}"#,
        "a".repeat(20_001)
    );
    let too_long = api
        .send(
            "POST",
            "/work-items",
            Some(&org.owner.token),
            Some(&long),
            &[],
        )
        .await;
    assert_eq!(
        (too_long.status, too_long.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("description"))
    );
    let huge = format!(
        r#"{{"title": "x", "description": "{}"}}"#,
        "a".repeat(3 * 1024 * 1024)
    );
    assert_eq!(
        api.send(
            "POST",
            "/work-items",
            Some(&org.owner.token),
            Some(&huge),
            &[]
        )
        .await
        .status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(before, work_count(&api, &org.owner.token).await);
}

tutti_store::behaviour!(values_out_of_range_are_refused_naming_the_field);

async fn bad_paths_queries_and_methods_are_refused_naming_the_parameter<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let owner = &org.owner.token;
    assert_eq!(
        api.send("DELETE", "/work-items", Some(owner), None, &[])
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        api.get("/nowhere", owner).await.status,
        StatusCode::NOT_FOUND
    );
    let no_json = api
        .send("POST", "/work-items", Some(owner), None, &[])
        .await;
    assert_eq!(no_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for (path, status, field) in [
        ("/work-items/42", StatusCode::NOT_FOUND, "id"),
        ("/objectives/None/key-results", StatusCode::NOT_FOUND, "id"),
        (
            "/work-items?state=flying",
            StatusCode::UNPROCESSABLE_ENTITY,
            "state",
        ),
        (
            "/work-items?limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "limit",
        ),
        ("/work-items?cursor=abc", StatusCode::BAD_REQUEST, "cursor"),
        (
            "/work-items?colour=red",
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
    ] {
        let reply = api.get(path, owner).await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (status, Some(field)),
            "{path}: {}",
            reply.body
        );
    }
}

tutti_store::behaviour!(bad_paths_queries_and_methods_are_refused_naming_the_parameter);

async fn another_org_sees_nothing_of_this_one<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    let mine = api
        .created(
            "/work-items",
            &org.member.token,
            json!({ "title": "Kunden anrufen" }),
        )
        .await;
    for path in [
        format!("/objectives/{}", id(&strategy.top)),
        format!("/work-items/{}", id(&mine)),
        format!("/members/{}", org.member.id),
        format!("/key-results/{}", id(&strategy.renewals)),
    ] {
        assert_eq!(
            api.get(&path, &org.stranger).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let changed = api
        .patch(
            &format!("/work-items/{}", id(&mine)),
            &org.stranger,
            json!({ "title": "meins" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NOT_FOUND);
    let foreign_kr = api
        .post(
            "/work-items",
            &org.stranger,
            json!({ "title": "x", "key_result_id": id(&strategy.renewals) }),
        )
        .await;
    assert_eq!(
        (foreign_kr.status, foreign_kr.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("key_result_id"))
    );
    assert_eq!(work_count(&api, &org.stranger).await, 0);
}

tutti_store::behaviour!(another_org_sees_nothing_of_this_one);

async fn a_retry_with_its_idempotency_key_gets_the_first_answer<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let owner = &org.owner.token;
    let headers = [("idempotency-key", "retry-1")];
    let body = json!({ "title": "Einmal anlegen" }).to_string();
    let first = api
        .send("POST", "/work-items", Some(owner), Some(&body), &headers)
        .await;
    let again = api
        .send("POST", "/work-items", Some(owner), Some(&body), &headers)
        .await;
    assert_eq!(
        (first.status, again.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(first.body, again.body);
    assert!(!first.replayed && again.replayed);
    let other = api
        .send(
            "POST",
            "/work-items",
            Some(owner),
            Some(r#"{"title": "Anders"}"#),
            &headers,
        )
        .await;
    assert_eq!(
        (other.status, other.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key"))
    );
    let copies = api.get("/work-items?limit=500", owner).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["title"] == "Einmal anlegen")
        .count();
    assert_eq!(copies, 1);
}

tutti_store::behaviour!(a_retry_with_its_idempotency_key_gets_the_first_answer);

async fn the_audit_log_is_for_admins_and_holds_every_change_and_no_token<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    api.created(
        &format!("/key-results/{}/check-ins", id(&strategy.renewals)),
        &org.owner.token,
        json!({ "value": 65.0, "confidence": 6 }),
    )
    .await;
    let item = api
        .created(
            "/work-items",
            &org.member.token,
            json!({ "title": "Kunden anrufen" }),
        )
        .await;
    api.changed(
        &format!("/work-items/{}", id(&item)),
        &org.member.token,
        json!({ "state": "ready" }),
    )
    .await;
    assert_eq!(
        api.get("/events", &org.member.token).await.status,
        StatusCode::FORBIDDEN
    );
    let events = api.get("/events?limit=500", &org.owner.token).await.body;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "org.created",
        "team.created",
        "member.created",
        "token.created",
        "objective.created",
        "key_result.created",
        "check_in.created",
        "work_item.created",
        "work_item.updated",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let member_token = &org.member.token;
    assert!(!events.to_string().contains(member_token.as_str()));
    assert!(!events.to_string().contains(&auth::hash_token(member_token)));
    let verified = api.get("/events/verify", &org.owner.token).await.body;
    assert_eq!(verified["intact"], true, "{verified}");
}

tutti_store::behaviour!(the_audit_log_is_for_admins_and_holds_every_change_and_no_token);

/// A request refused before its body was read leaves the client's pooled
/// connection usable: the answer says `Connection: close`, so the client's
/// next request opens a fresh connection instead of failing on a dead one.
async fn a_refused_upload_does_not_break_the_clients_next_request<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let router = api.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let upload = format!(r#"{{"title": "{}"}}"#, "x".repeat(300_000));
    for round in 0..10 {
        let refused = client
            .post(format!("{base}/work-items"))
            .bearer_auth("not-a-token")
            .header("content-type", "application/json")
            .body(upload.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            refused.headers().get("connection").map(|v| v.as_bytes()),
            Some(&b"close"[..]),
            "round {round}"
        );
        let next = client
            .get(format!("{base}/objectives"))
            .bearer_auth(&org.owner.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the next request failed: {e}"));
        assert_eq!(next.status(), StatusCode::OK);
        assert!(
            next.headers().get("connection").is_none(),
            "a read body keeps the connection"
        );
    }
}

tutti_store::behaviour!(a_refused_upload_does_not_break_the_clients_next_request);

async fn the_openapi_document_is_generated_and_complete<S: Store>(store: S) {
    let api = Api::new(&store);
    let doc = api.send("GET", "/openapi.json", None, None, &[]).await.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/objectives/{id}",
        "/api/v1/work-items",
        "/api/v1/key-results/{id}/check-ins",
        "/api/v1/events",
        "/api/v1/runs/{id}/review",
        "/api/v1/runs/{id}/stream",
        "/api/v1/providers",
        "/api/v1/budgets",
        "/api/v1/ledger/summary",
        "/api/v1/decisions/{id}/approve",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    // Every answer the API gives for a request's shape is documented.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let answers = operation["responses"].as_object().unwrap();
            let has = |status: &str| answers.contains_key(status);
            let public = path == "/api/v1/health";
            assert_eq!(has("401"), !public, "{method} {path}: 401");
            if path.contains('{') {
                assert!(
                    has("404") && has("400") && has("422"),
                    "{method} {path}: 404/400/422"
                );
            }
            if operation.get("requestBody").is_some() {
                assert!(
                    has("413") && has("415") && has("422"),
                    "{method} {path}: 413/415/422"
                );
            }
            // Problems are documented as they are sent.
            for (status, answer) in answers {
                assert!(
                    !answer.to_string().contains("\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Problem\""),
                    "{method} {path} {status}: a problem documented as application/json"
                );
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] == "limit" {
                    assert_eq!(
                        (
                            &parameter["schema"]["minimum"],
                            &parameter["schema"]["maximum"]
                        ),
                        (&json!(1), &json!(500)),
                        "{method} {path}"
                    );
                }
            }
        }
    }
    // Health is the server's, apart from an objective's health.
    assert_eq!(
        doc["paths"]["/api/v1/health"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/ServerHealth"
    );
    let objective_health = &doc["components"]["schemas"]["Health"];
    assert!(
        objective_health.to_string().contains("at_risk")
            || objective_health.to_string().contains("on_track"),
        "the objective's Health: {objective_health}"
    );
    // The objectives list documents both shapes it answers.
    let listing = &doc["paths"]["/api/v1/objectives"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    let listing = listing
        .get("$ref")
        .and_then(|r| r.as_str())
        .map_or(listing.clone(), |r| {
            doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")].clone()
        });
    assert_eq!(
        listing["oneOf"].as_array().map(Vec::len),
        Some(2),
        "{listing}"
    );
    // A short text says what the server holds it to, in a body and in a
    // schema a body holds.
    let name = &doc["components"]["schemas"]["CreateTeam"]["properties"]["name"];
    let pattern = tutti_domain::validate::text_pattern(tutti_domain::validate::TITLE_MAX);
    assert_eq!(name["pattern"].as_str(), Some(pattern.as_str()), "{name}");
    let amount = &doc["components"]["schemas"]["FactsInput"]["properties"]["amount"];
    assert_eq!(
        amount["oneOf"][0]["pattern"].as_str(),
        Some(tutti_domain::decision::amount_pattern().as_str()),
        "{amount}"
    );
    // Every schema the document points at is in it.
    let text = doc.to_string();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "#/components/schemas/{name} is referenced but not defined"
        );
    }
}

tutti_store::behaviour!(the_openapi_document_is_generated_and_complete);
