//! The REST API from the outside, through the real router over a real
//! database (SQLite file and PostgreSQL): roles, bad input, isolation between
//! orgs, idempotency, roll-ups, the audit log and the OpenAPI document.

#![expect(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::validate::Email;
use tutti_server::{AppState, Clock, auth};
use tutti_store::EngineNode;
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewMember};

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn today() -> DateTime<Utc> {
    "2026-11-16T08:00:00Z".parse().unwrap()
}

struct Api {
    router: Router,
}

struct Reply {
    status: StatusCode,
    body: Value,
    replayed: bool,
}

impl Api {
    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Body::from(body.unwrap_or("").to_owned()))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let replayed = response.headers().contains_key("idempotent-replayed");
        if status.is_client_error() || status.is_server_error() {
            let content_type = response
                .headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            assert_eq!(content_type, "application/problem+json", "{method} {path}");
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{method} {path}: {body}"
        );
        Reply {
            status,
            body,
            replayed,
        }
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token), None, &[]).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send("POST", path, Some(token), Some(&body.to_string()), &[])
            .await
    }

    async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send("PATCH", path, Some(token), Some(&body.to_string()), &[])
            .await
    }

    /// Creates and expects 201, returning the body.
    async fn created(&self, path: &str, token: &str, body: Value) -> Value {
        let reply = self.post(path, token, body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "POST {path}: {}",
            reply.body
        );
        reply.body
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// An org with its owner's token, set up through the store the way `tutti init` does.
async fn org<S: Store>(store: &S, name: &str, email: &str) -> (String, String) {
    let owner = NewMember {
        kind: MemberKind::Human,
        name: "Owner".into(),
        email: Some(Email::parse("email", email).unwrap()),
        role: Role::Owner,
        teams: vec![],
        role_card: None,
        provider: None,
        model: None,
    };
    let (org, owner) = store.create_org(name, "EUR", owner, today()).await.unwrap();
    let (token, hash) = auth::new_token().unwrap();
    store
        .create_token(
            &Ctx::new(org.id, Some(owner.id), today()),
            owner.id,
            "test",
            &hash,
        )
        .await
        .unwrap();
    (token, owner.id.to_string())
}

async fn suite<S: Store>(store: S) {
    store.migrate().await.unwrap();
    let (owner, owner_id) = org(&store, "Lindner Gebäudetechnik", "katrin@lindner.de").await;
    let (stranger, _) = org(&store, "Andere GmbH", "boss@andere.de").await;
    let mut state = AppState::new(store.clone());
    state.clock = Arc::new(FixedClock(today()));
    let api = Api {
        router: tutti_server::router(state),
    };

    // --- Authentication.
    assert_eq!(
        api.send("GET", "/teams", None, None, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.get("/teams", "tutti_nonsense").await.status,
        StatusCode::UNAUTHORIZED
    );
    let health = api.send("GET", "/health", None, None, &[]).await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );

    // --- People: the owner builds the org.
    let service = api
        .created("/teams", &owner, json!({ "name": "Kundenservice" }))
        .await;
    let sales = api
        .created("/teams", &owner, json!({ "name": "Vertrieb" }))
        .await;
    let lead = api
        .created("/members", &owner, json!({ "name": "Aylin", "email": "aylin@lindner.de", "role": "lead", "teams": [id(&service)] }))
        .await;
    api.patch(
        &format!("/teams/{}", id(&service)),
        &owner,
        json!({ "lead_id": id(&lead) }),
    )
    .await;
    let member = api
        .created(
            "/members",
            &owner,
            json!({ "name": "Jonas", "email": "jonas@lindner.de", "teams": [id(&service)] }),
        )
        .await;
    let colleague = api
        .created(
            "/members",
            &owner,
            json!({ "name": "Lea", "email": "lea@lindner.de", "teams": [id(&service)] }),
        )
        .await;
    let viewer = api
        .created(
            "/members",
            &owner,
            json!({ "name": "Miriam", "email": "miriam@lindner.de", "role": "viewer" }),
        )
        .await;
    let ai = api
        .created("/members", &owner, json!({ "name": "Emil", "kind": "ai", "role_card": "Du bist Emil.", "teams": [id(&service)] }))
        .await;
    assert_eq!(ai["kind"], "ai");
    let duplicate = api
        .post(
            "/members",
            &owner,
            json!({ "name": "J", "email": "JONAS@lindner.de" }),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    let ai_admin = api
        .post(
            "/members",
            &owner,
            json!({ "name": "Boss-KI", "kind": "ai", "role": "admin" }),
        )
        .await;
    assert_eq!(
        (ai_admin.status, ai_admin.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("role"))
    );

    let token_of = |member: &Value| {
        let path = format!("/members/{}/tokens", id(member));
        let api = &api;
        let owner = owner.clone();
        async move {
            let reply = api.created(&path, &owner, json!({ "label": "test" })).await;
            assert!(reply.get("token_hash").is_none());
            reply["token"].as_str().unwrap().to_owned()
        }
    };
    let lead_token = token_of(&lead).await;
    let member_token = token_of(&member).await;
    let viewer_token = token_of(&viewer).await;
    assert_eq!(api.get("/me", &member_token).await.body["name"], "Jonas");
    let org_of_member = api.get("/org", &member_token).await.body;
    assert_eq!(
        (
            org_of_member["name"].as_str(),
            org_of_member["currency"].as_str()
        ),
        (Some("Lindner Gebäudetechnik"), Some("EUR"))
    );
    assert_eq!(api.get("/org", &stranger).await.body["name"], "Andere GmbH");

    // --- Roles.
    let lead_makes_member = api
        .post(
            "/members",
            &lead_token,
            json!({ "name": "X", "email": "x@lindner.de" }),
        )
        .await;
    assert_eq!(lead_makes_member.status, StatusCode::FORBIDDEN);
    let member_token_for_other = api
        .post(
            &format!("/members/{}/tokens", id(&lead)),
            &member_token,
            json!({}),
        )
        .await;
    assert_eq!(member_token_for_other.status, StatusCode::FORBIDDEN);

    let objective_body = |title: &str, team: &Value, parent: Option<&Value>| {
        json!({
            "title": title, "why": "Damit Kundinnen wiederkommen.", "team_id": id(team),
            "period_start": "2026-10-01", "period_end": "2026-12-31", "parent_id": parent.map(id),
        })
    };
    let in_foreign_team = api
        .post(
            "/objectives",
            &lead_token,
            objective_body("Fremd", &sales, None),
        )
        .await;
    assert_eq!(in_foreign_team.status, StatusCode::FORBIDDEN);
    assert_eq!(
        api.post(
            "/objectives",
            &member_token,
            objective_body("Nein", &service, None)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let top = api
        .created(
            "/objectives",
            &owner,
            objective_body("Kundenbindung stärken", &service, None),
        )
        .await;
    let child = api
        .created(
            "/objectives",
            &lead_token,
            objective_body("Störungen schneller beheben", &service, Some(&top)),
        )
        .await;

    // --- Key results and the roll-up.
    let kr = |title: &str, baseline: f64, target: f64| json!({ "title": title, "baseline": baseline, "target": target, "unit": "%" });
    let renewals = api
        .created(
            &format!("/objectives/{}/key-results", id(&top)),
            &owner,
            kr("Verlängerungen", 60.0, 80.0),
        )
        .await;
    let response_time = api
        .created(
            &format!("/objectives/{}/key-results", id(&child)),
            &lead_token,
            kr("Reaktionszeit", 24.0, 8.0),
        )
        .await;
    assert_eq!(
        api.post(
            &format!("/objectives/{}/key-results", id(&child)),
            &member_token,
            kr("x", 0.0, 1.0)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let check_in = api
        .created(
            &format!("/key-results/{}/check-ins", id(&response_time)),
            &member_token,
            json!({ "value": 12.0, "confidence": 8, "note": "läuft" }),
        )
        .await;
    assert_eq!(check_in["value"], 12.0);
    assert_eq!(
        api.post(
            &format!("/key-results/{}/check-ins", id(&renewals)),
            &viewer_token,
            json!({ "value": 70, "confidence": 5 })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    api.created(
        &format!("/key-results/{}/check-ins", id(&renewals)),
        &owner,
        json!({ "value": 65.0, "confidence": 6 }),
    )
    .await;

    // Child: (24 - 12) / (24 - 8) = 0.75. Top: mean(renewals 0.25, child 0.75) = 0.5.
    let detail = api
        .get(&format!("/objectives/{}", id(&top)), &viewer_token)
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(
        (detail.body["progress"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{}",
        detail.body
    );
    assert!((detail.body["children"][0]["progress"].as_f64().unwrap() - 0.75).abs() < 1e-9);
    assert_eq!(detail.body["key_results"].as_array().unwrap().len(), 1);
    // Mid-November of Q4 is ~51 % through; 50 % progress is on track.
    assert_eq!(detail.body["health"]["at_risk"], false, "{}", detail.body);
    let tree = api.get("/objectives?tree=true", &viewer_token).await.body;
    assert_eq!(tree["roots"].as_array().unwrap().len(), 1);
    assert_eq!(
        tree["roots"][0]["children"][0]["title"],
        "Störungen schneller beheben"
    );
    let history = api
        .get(
            &format!("/key-results/{}/check-ins", id(&response_time)),
            &viewer_token,
        )
        .await
        .body;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);

    // --- Work.
    let mine = api
        .created("/work-items", &member_token, json!({ "title": "Kunden anrufen", "assignee_id": id(&member), "team_id": id(&service), "key_result_id": id(&renewals) }))
        .await;
    assert_eq!(mine["state"], "backlog");
    let for_colleague = api
        .post(
            "/work-items",
            &member_token,
            json!({ "title": "Für Lea", "assignee_id": id(&colleague) }),
        )
        .await;
    assert_eq!(for_colleague.status, StatusCode::FORBIDDEN);
    let leads_work = api
        .created(
            "/work-items",
            &lead_token,
            json!({ "title": "Für Lea", "assignee_id": id(&colleague), "team_id": id(&service) }),
        )
        .await;
    assert_eq!(
        api.patch(
            &format!("/work-items/{}", id(&leads_work)),
            &member_token,
            json!({ "state": "ready" })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.post("/work-items", &viewer_token, json!({ "title": "Nein" }))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let handed_off = api
        .patch(
            &format!("/work-items/{}", id(&mine)),
            &member_token,
            json!({ "assignee_id": id(&colleague) }),
        )
        .await;
    assert_eq!(handed_off.status, StatusCode::FORBIDDEN);
    let skip = api
        .patch(
            &format!("/work-items/{}", id(&mine)),
            &member_token,
            json!({ "state": "done" }),
        )
        .await;
    assert_eq!(
        (skip.status, skip.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("state"))
    );
    let ready = api
        .patch(
            &format!("/work-items/{}", id(&mine)),
            &member_token,
            json!({ "state": "ready" }),
        )
        .await;
    assert_eq!(
        (ready.status, ready.body["state"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    let cleared = api
        .patch(
            &format!("/work-items/{}", id(&mine)),
            &member_token,
            json!({ "due": "2026-12-01" }),
        )
        .await;
    assert_eq!(cleared.body["due"], "2026-12-01");
    let cleared = api
        .patch(
            &format!("/work-items/{}", id(&mine)),
            &member_token,
            json!({ "due": null }),
        )
        .await;
    assert_eq!(cleared.body["due"], Value::Null);

    let aligned = api
        .get(
            &format!("/work-items?key_result={}", id(&renewals)),
            &viewer_token,
        )
        .await
        .body;
    assert_eq!(
        aligned["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect::<Vec<_>>(),
        vec![id(&mine)]
    );
    let unaligned = api
        .get("/work-items?unaligned=true", &viewer_token)
        .await
        .body;
    assert_eq!(
        unaligned["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect::<Vec<_>>(),
        vec![id(&leads_work)]
    );
    let by_state = api.get("/work-items?state=ready", &viewer_token).await.body;
    assert_eq!(by_state["items"].as_array().unwrap().len(), 1);
    let first_page = api.get("/work-items?limit=1", &viewer_token).await.body;
    let cursor = first_page["next_cursor"].as_str().unwrap();
    let second_page = api
        .get(
            &format!("/work-items?limit=1&cursor={cursor}"),
            &viewer_token,
        )
        .await
        .body;
    assert_ne!(id(&first_page["items"][0]), id(&second_page["items"][0]));
    assert_eq!(second_page["next_cursor"], Value::Null);

    // --- Bad input: a clear 4xx that names the field, nothing written.
    let before = api.get("/work-items?limit=500", &owner).await.body["items"]
        .as_array()
        .unwrap()
        .len();
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
        (
            "/objectives",
            r#"{"title": "x", "period_start": "2026-12-01", "period_end": "2026-01-01"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("period_end"),
        ),
    ];
    for (path, body, status, field) in cases {
        let reply = api.send("POST", path, Some(&owner), Some(body), &[]).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(
            reply.body["field"].as_str(),
            field,
            "{body}: {}",
            reply.body
        );
        assert!(!reply.body["detail"].as_str().unwrap().is_empty());
    }
    let confidence = api
        .post(
            &format!("/key-results/{}/check-ins", id(&renewals)),
            &owner,
            json!({ "value": 1, "confidence": 11 }),
        )
        .await;
    assert_eq!(
        (confidence.status, confidence.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("confidence"))
    );
    let huge = format!(
        r#"{{"title": "x", "description": "{}"}}"#,
        "a".repeat(3 * 1024 * 1024)
    );
    assert_eq!(
        api.send("POST", "/work-items", Some(&owner), Some(&huge), &[])
            .await
            .status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let long = format!(
        r#"{{"title": "x", "description": "{}"}}"#,
        "a".repeat(20_001)
    );
    let too_long = api
        .send("POST", "/work-items", Some(&owner), Some(&long), &[])
        .await;
    assert_eq!(
        (too_long.status, too_long.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("description"))
    );
    assert_eq!(
        api.send("DELETE", "/work-items", Some(&owner), None, &[])
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        api.get("/nowhere", &owner).await.status,
        StatusCode::NOT_FOUND
    );
    let no_json = api
        .send("POST", "/work-items", Some(&owner), None, &[])
        .await;
    assert_eq!(no_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bad_id = api.get("/work-items/42", &owner).await;
    assert_eq!(
        (bad_id.status, bad_id.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id"))
    );
    let bad_filter = api.get("/work-items?state=flying", &owner).await;
    assert_eq!(
        (bad_filter.status, bad_filter.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("state"))
    );
    let bad_limit = api.get("/work-items?limit=0", &owner).await;
    assert_eq!(
        (bad_limit.status, bad_limit.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let bad_cursor = api.get("/work-items?cursor=abc", &owner).await;
    assert_eq!(
        (bad_cursor.status, bad_cursor.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("cursor"))
    );
    let unknown_param = api.get("/work-items?colour=red", &owner).await;
    assert_eq!(
        (unknown_param.status, unknown_param.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("colour"))
    );
    let after = api.get("/work-items?limit=500", &owner).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "refused requests must write nothing");

    // --- Another org sees nothing of this one: foreign ids are 404.
    for path in [
        format!("/objectives/{}", id(&top)),
        format!("/work-items/{}", id(&mine)),
        format!("/members/{}", id(&member)),
        format!("/key-results/{}", id(&renewals)),
    ] {
        assert_eq!(
            api.get(&path, &stranger).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        api.patch(
            &format!("/work-items/{}", id(&mine)),
            &stranger,
            json!({ "title": "meins" })
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let foreign_kr = api
        .post(
            "/work-items",
            &stranger,
            json!({ "title": "x", "key_result_id": id(&renewals) }),
        )
        .await;
    assert_eq!(
        (foreign_kr.status, foreign_kr.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("key_result_id"))
    );
    assert!(
        api.get("/work-items", &stranger).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // --- Idempotency-Key: a retry gets the first answer; reuse for another request is refused.
    let headers = [("idempotency-key", "retry-1")];
    let body = json!({ "title": "Einmal anlegen" }).to_string();
    let first = api
        .send("POST", "/work-items", Some(&owner), Some(&body), &headers)
        .await;
    let again = api
        .send("POST", "/work-items", Some(&owner), Some(&body), &headers)
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
            Some(&owner),
            Some(r#"{"title": "Anders"}"#),
            &headers,
        )
        .await;
    assert_eq!(
        (other.status, other.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key"))
    );
    let copies = api.get("/work-items?limit=500", &owner).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["title"] == "Einmal anlegen")
        .count();
    assert_eq!(copies, 1);

    // --- The audit log is for admins; it holds every change and verifies; it never holds a token.
    assert_eq!(
        api.get("/events", &member_token).await.status,
        StatusCode::FORBIDDEN
    );
    let events = api.get("/events?limit=500", &owner).await.body;
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
    assert!(!events.to_string().contains(&member_token));
    assert!(
        !events
            .to_string()
            .contains(&auth::hash_token(&member_token))
    );
    let verified = api.get("/events/verify", &owner).await.body;
    assert_eq!(verified["intact"], true, "{verified}");
    let members = api.get("/members", &owner).await.body.to_string();
    assert!(!members.contains("tutti_") && members.contains(&owner_id));

    // --- The OpenAPI document is generated and complete.
    let doc = api.send("GET", "/openapi.json", None, None, &[]).await.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/objectives/{id}",
        "/api/v1/work-items",
        "/api/v1/key-results/{id}/check-ins",
        "/api/v1/events",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}

/// A gateway call: the reply's status and its JSON (OpenAI's error shape on
/// failure, never a problem document).
async fn gateway(router: &Router, token: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    if !status.is_success() {
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    (status, body)
}

/// AI labour's API: providers keep their keys secret, budgets and runs refuse
/// bad input naming the field, roles hold, other orgs see nothing, and the
/// gateway answers in OpenAI's error shape.
async fn labour_suite<S: Store>(store: S) {
    store.migrate().await.unwrap();
    let (owner, _) = org(&store, "Lindner Gebäudetechnik", "katrin@lindner.de").await;
    let (stranger, _) = org(&store, "Andere GmbH", "boss@andere.de").await;
    let mut state = AppState::new(store.clone());
    state.clock = Arc::new(FixedClock(today()));
    let router = tutti_server::router(state);
    let api = Api {
        router: router.clone(),
    };
    let token_of = |member: Value| {
        let api = &api;
        let owner = owner.clone();
        async move {
            let reply = api
                .created(
                    &format!("/members/{}/tokens", id(&member)),
                    &owner,
                    json!({}),
                )
                .await;
            reply["token"].as_str().unwrap().to_owned()
        }
    };

    // --- Providers and prices: admins only; a stored key is never shown.
    let local = api
        .created(
            "/providers",
            &owner,
            json!({ "name": "lokal", "kind": "embedded" }),
        )
        .await;
    let remote = api
        .created(
            "/providers",
            &owner,
            json!({ "name": "cloud", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-very-secret" }),
        )
        .await;
    assert_eq!(remote["has_stored_key"], true);
    assert!(!remote.to_string().contains("sk-very-secret"));
    let listed = api.get("/providers", &owner).await;
    assert!(!listed.body.to_string().contains("sk-very-secret"));
    let reply = api
        .post(
            "/providers",
            &owner,
            json!({ "name": "x", "kind": "openai" }),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("base_url"))
    );
    let reply = api
        .post(
            "/providers",
            &owner,
            json!({ "name": "lokal", "kind": "embedded" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let reply = api
        .post(
            "/providers",
            &owner,
            json!({ "name": "y", "kind": "quantum" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    for (provider, model) in [(&local, "smollm2"), (&remote, "big")] {
        let reply = api
            .post(
                &format!("/providers/{}/models", id(provider)),
                &owner,
                json!({ "name": model, "input_price": 1_000_000, "output_price": 4_000_000 }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let reply = api
        .post(
            &format!("/providers/{}/models", id(&local)),
            &owner,
            json!({ "name": "smollm2", "input_price": -1, "output_price": 0 }),
        )
        .await;
    assert_eq!(reply.body["field"], "input_price");
    let reply = api
        .post(
            &format!("/providers/{}/models", id(&local)),
            &stranger,
            json!({ "name": "smollm2", "input_price": 1, "output_price": 1 }),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "another org's provider does not exist here"
    );

    // --- People for the rest.
    let team = api
        .created("/teams", &owner, json!({ "name": "Kundenservice" }))
        .await;
    let lead = api
        .created("/members", &owner, json!({ "name": "Aylin", "email": "aylin@lindner.de", "role": "lead", "teams": [id(&team)] }))
        .await;
    api.patch(
        &format!("/teams/{}", id(&team)),
        &owner,
        json!({ "lead_id": id(&lead) }),
    )
    .await;
    let viewer = api
        .created(
            "/members",
            &owner,
            json!({ "name": "Miriam", "email": "miriam@lindner.de", "role": "viewer" }),
        )
        .await;
    let worker = api
        .created(
            "/members",
            &owner,
            json!({ "kind": "ai", "name": "Emil", "provider": "cloud", "model": "big", "teams": [id(&team)] }),
        )
        .await;
    let lead_token = token_of(lead.clone()).await;
    let viewer_token = token_of(viewer).await;
    let worker_token = token_of(worker.clone()).await;
    let reply = api
        .post(
            "/providers",
            &lead_token,
            json!({ "name": "z", "kind": "embedded" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // --- Budgets.
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
        let reply = api.post("/budgets", &owner, body.clone()).await;
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
    let reply = api
        .post(
            "/budgets",
            &lead_token,
            json!({ "name": "b", "scope": "org", "period": "month", "token_limit": 5 }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    api.created(
        "/budgets",
        &lead_token,
        json!({ "name": "Kundenservice", "scope": "team", "scope_id": id(&team), "period": "quarter", "cost_limit": 10_000_000 }),
    )
    .await;
    let tight = api
        .created(
            "/budgets",
            &owner,
            json!({ "name": "Emil knapp", "scope": "worker", "scope_id": id(&worker), "period": "month", "token_limit": 100 }),
        )
        .await;
    let budgets = api.get("/budgets", &viewer_token).await;
    assert_eq!(budgets.body.as_array().unwrap().len(), 2);
    assert_eq!(budgets.body[1]["state"], "ok");

    // --- Runs: handing a ready item to the AI worker queues one.
    let item = api
        .created("/work-items", &lead_token, json!({ "title": "Antwort entwerfen", "team_id": id(&team), "assignee_id": id(&worker), "state": "ready" }))
        .await;
    let runs = api
        .get(&format!("/runs?work_item={}", id(&item)), &viewer_token)
        .await;
    let run = runs.body["items"][0].clone();
    assert_eq!(run["status"], "queued");
    let reply = api
        .post(
            &format!("/work-items/{}/runs", id(&item)),
            &lead_token,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let reply = api
        .post(
            &format!("/work-items/{}/runs", id(&item)),
            &lead_token,
            json!({ "max_tokens": 0 }),
        )
        .await;
    assert!(reply.status.is_client_error());
    let human_item = api
        .created(
            "/work-items",
            &lead_token,
            json!({ "title": "Selbst machen", "team_id": id(&team), "assignee_id": id(&lead) }),
        )
        .await;
    let reply = api
        .post(
            &format!("/work-items/{}/runs", id(&human_item)),
            &lead_token,
            json!({}),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("assignee_id"))
    );
    assert_eq!(
        api.get(&format!("/runs/{}", id(&run)), &stranger)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let reply = api
        .post(
            &format!("/runs/{}/cancel", id(&run)),
            &viewer_token,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let cancelled = api
        .post(
            &format!("/runs/{}/cancel", id(&run)),
            &lead_token,
            json!({}),
        )
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let reply = api
        .post(
            &format!("/runs/{}/cancel", id(&run)),
            &lead_token,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let reply = api
        .post(
            &format!("/runs/{}/review", id(&run)),
            &lead_token,
            json!({ "verdict": "accept", "rating": 5 }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let reply = api
        .post(
            &format!("/runs/{}/review", id(&run)),
            &lead_token,
            json!({ "verdict": "accept", "rating": 9 }),
        )
        .await;
    assert!(reply.status.is_client_error());

    // --- The ledger.
    let reply = api.get("/ledger/summary?group_by=colour", &owner).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = api
        .get("/ledger/summary?group_by=worker&period=2026-13", &owner)
        .await;
    assert_eq!(reply.body["field"], "period");
    let summary = api
        .get("/ledger/summary?group_by=model&period=2026-11", &owner)
        .await;
    assert_eq!(summary.body["currency"], "EUR");

    // --- The gateway speaks OpenAI's error shape.
    let ask = |model: &str, max_tokens: u32| {
        json!({ "model": model, "messages": [{ "role": "user", "content": "Hallo" }], "max_tokens": max_tokens }).to_string()
    };
    let (status, body) = gateway(&router, None, &ask("big", 5)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_api_key"))
    );
    let (status, _) = gateway(&router, Some(&owner), &ask("big", 5)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "people use the API, AI members the gateway"
    );
    let (status, body) = gateway(&router, Some(&worker_token), "{ not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = gateway(
        &router,
        Some(&worker_token),
        r#"{"model": "big", "messages": "hi"}"#,
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages"),
        "{status} {body}"
    );
    let (status, body) = gateway(&router, Some(&worker_token), &ask("nope", 5)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("model_not_found"))
    );
    let (status, body) = gateway(&router, Some(&worker_token), &ask("lokal/smollm2", 5)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("model_not_allowed"))
    );
    // 100 tokens cannot hold a prompt bound plus 500 tokens of answer: refused
    // before any upstream is called, naming the budget.
    let (status, body) = gateway(&router, Some(&worker_token), &ask("big", 500)).await;
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
    // Within the budget, the unreachable upstream is a clear 502, and the
    // reservation is released in full.
    let (status, body) = gateway(&router, Some(&worker_token), &ask("big", 5)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let totals = api.get("/ledger/totals", &owner).await.body;
    assert_eq!(
        (
            totals["open_reservations"].as_i64(),
            totals["settled_tokens"].as_i64()
        ),
        (Some(0), Some(0)),
        "{totals}"
    );
    assert!(totals["reserved_tokens"].as_i64().unwrap() > 0);
    let entries = api.get("/ledger/entries?kind=release", &owner).await.body;
    assert_eq!(entries["items"].as_array().unwrap().len(), 1, "{entries}");
    let reservation = entries["items"][0]["reservation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let trail = api
        .get(
            &format!("/ledger/entries?reservation={reservation}"),
            &owner,
        )
        .await
        .body;
    let kinds: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reserve", "settle", "release"]);
    assert_eq!(
        api.get("/ledger/entries?kind=refund", &owner).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(
        api.get("/ledger/entries", &stranger).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let budgets = api.get("/budgets", &owner).await.body;
    let tight_state = budgets
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == tight["id"])
        .unwrap();
    assert_eq!(tight_state["used_tokens"], 0);

    // --- Deleting a budget: not by a viewer, not across orgs, not while a
    // call still holds a reservation against it; the ledger keeps its entries.
    let tight_path = format!("/budgets/{}", id(&tight));
    let org_id = store
        .actor_by_token(&auth::hash_token(&owner))
        .await
        .unwrap()
        .unwrap()
        .org_id;
    let ctx = Ctx::new(org_id, None, today());
    let held = store
        .reserve(
            &ctx,
            tutti_store::Charge {
                worker_id: id(&worker).parse().unwrap(),
                run_id: None,
                route_provider: "cloud".into(),
                route_model: "big".into(),
                prices: tutti_domain::labour::Prices {
                    input: 1,
                    cached_input: 1,
                    output: 1,
                },
                input_tokens: 10,
                max_output_tokens: 10,
                expires_at: today() + chrono::Duration::minutes(15),
            },
        )
        .await
        .unwrap();
    let entries_before = api.get("/ledger/entries?limit=500", &owner).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    for (token, status) in [
        (&viewer_token, StatusCode::FORBIDDEN),
        (&stranger, StatusCode::NOT_FOUND),
        (&owner, StatusCode::CONFLICT),
    ] {
        let reply = api
            .send("DELETE", &tight_path, Some(token), None, &[])
            .await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }
    store
        .settle(
            &ctx,
            held.id,
            tutti_domain::labour::Tokens {
                input: 10,
                cached_input: 0,
                output: 2,
            },
        )
        .await
        .unwrap();
    let deleted = api
        .send("DELETE", &tight_path, Some(&owner), None, &[])
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let listed = api.get("/budgets", &owner).await.body;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["id"] != tight["id"]),
        "{listed}"
    );
    let again = api
        .send("DELETE", &tight_path, Some(&owner), None, &[])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let entries_after = api.get("/ledger/entries?limit=500", &owner).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        entries_after,
        entries_before + 2,
        "the settlement and the release of the unused rest are added; nothing is removed"
    );
    let events = api.get("/events?action=budget.deleted", &owner).await.body;
    assert_eq!(events["items"][0]["subject_id"], id(&tight), "{events}");

    let doc = api.send("GET", "/openapi.json", None, None, &[]).await.body;
    for path in [
        "/api/v1/providers",
        "/api/v1/budgets",
        "/api/v1/runs/{id}/stream",
        "/api/v1/runs/{id}/review",
        "/api/v1/ledger/summary",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}

tutti_store::on_both_backends!(suite, api_on_sqlite, api_on_postgres);

tutti_store::on_both_backends!(labour_suite, labour_api_on_sqlite, labour_api_on_postgres);

/// Decision spaces through the API only: routing by the Cedar policy, votes,
/// the engine's own rules, escalation on an injected clock, the register.
async fn decision_suite<S: Store>(store: S) {
    store.migrate().await.unwrap();
    let (owner, _) = org(&store, "Lindner Gebäudetechnik", "katrin@lindner.de").await;
    let (stranger, _) = org(&store, "Andere GmbH", "boss@andere.de").await;
    let mut state = AppState::new(store.clone());
    state.clock = Arc::new(FixedClock(today()));
    let runtime = state.runtime.clone();
    let api = Api {
        router: tutti_server::router(state),
    };
    let token_of = |member: Value| {
        let api = &api;
        let owner = owner.clone();
        async move {
            let reply = api
                .created(
                    &format!("/members/{}/tokens", id(&member)),
                    &owner,
                    json!({}),
                )
                .await;
            reply["token"].as_str().unwrap().to_owned()
        }
    };
    let sales = api
        .created("/teams", &owner, json!({ "name": "Vertrieb" }))
        .await;
    let member = |name: &str, role: &str, kind: &str| json!({ "name": name, "email": format!("{}@lindner.de", name.to_lowercase()), "role": role, "kind": kind, "teams": [id(&sales)] });
    let aylin = api
        .created("/members", &owner, member("Aylin", "lead", "human"))
        .await;
    let bernd = api
        .created("/members", &owner, member("Bernd", "lead", "human"))
        .await;
    let jonas = api
        .created("/members", &owner, member("Jonas", "member", "human"))
        .await;
    let vera = api
        .created("/members", &owner, member("Vera", "viewer", "human"))
        .await;
    let provider = api
        .created(
            "/providers",
            &owner,
            json!({ "name": "lokal", "kind": "embedded" }),
        )
        .await;
    api.post(
        &format!("/providers/{}/models", id(&provider)),
        &owner,
        json!({ "name": "klein", "input_price": 1, "output_price": 1 }),
    )
    .await;
    let emil = api
        .created(
            "/members",
            &owner,
            json!({ "name": "Emil", "kind": "ai", "provider": "lokal", "model": "klein", "teams": [id(&sales)] }),
        )
        .await;
    api.patch(
        &format!("/teams/{}", id(&sales)),
        &owner,
        json!({ "lead_id": id(&aylin) }),
    )
    .await;
    let aylin_token = token_of(aylin.clone()).await;
    let bernd_token = token_of(bernd.clone()).await;
    let jonas_token = token_of(jonas.clone()).await;
    let vera_token = token_of(vera).await;
    let emil_token = token_of(emil.clone()).await;
    let templates = api
        .get("/decision-spaces/templates", &jonas_token)
        .await
        .body;
    let discounts = templates["templates"][0]["source"]
        .as_str()
        .unwrap()
        .to_owned();

    // --- Spaces: validated on save, edited only by leads and admins of
    // their scope, never by an AI worker.
    let space_body = |policy: &str| {
        json!({ "name": "Rabatte", "team_id": id(&sales), "policy": policy,
                "principles": ["Keine Rabatte über 15 % ohne Rücksprache"],
                "escalate_after_secs": 3600, "escalate_to": id(&bernd) })
    };
    let broken = api
        .post(
            "/decision-spaces",
            &aylin_token,
            space_body("permit (principal, action, resource)\nwhen { resource.amount < };"),
        )
        .await;
    assert_eq!(
        broken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        broken.body
    );
    assert_eq!(broken.body["field"], "policy");
    assert!(
        broken.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("line 2, column "),
        "{}",
        broken.body
    );
    let mistyped = api
        .post(
            "/decision-spaces",
            &aylin_token,
            space_body("permit (principal, action, resource) when { resource.colour == 1 };"),
        )
        .await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mistyped.body["detail"].as_str().unwrap().contains("line 1"),
        "{}",
        mistyped.body
    );
    for token in [&emil_token, &jonas_token, &vera_token] {
        let refused = api
            .post("/decision-spaces", token, space_body(&discounts))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let space = api
        .created("/decision-spaces", &aylin_token, space_body(&discounts))
        .await;
    assert_eq!(space["version"], 1);
    let space_id = id(&space);
    let by_ai = api
        .patch(
            &format!("/decision-spaces/{space_id}"),
            &emil_token,
            json!({ "quorum": 1 }),
        )
        .await;
    assert_eq!(by_ai.status, StatusCode::FORBIDDEN);
    assert!(
        by_ai.body["detail"]
            .as_str()
            .unwrap()
            .contains("widen their own autonomy")
    );

    let facts = |amount: &str, reversible: bool| json!({ "amount": amount, "risk": "low", "reversible": reversible, "customer_facing": false });
    let raise = |amount: &str, option: &str| {
        json!({ "space_id": space_id, "question": format!("Rabatt für Kunde über {amount} EUR?"),
                "facts": facts(amount, true), "options": ["10 % Rabatt", "Kein Rabatt"],
                "proposal": { "option": option, "rationale": "Treuer Kunde seit 2019.", "confidence": 0.8 } })
    };

    // --- 500 EUR, reversible: the AI worker decides, and it is logged.
    let small = api
        .created("/decisions", &emil_token, raise("500", "10 % Rabatt"))
        .await;
    assert_eq!(small["status"], "decided", "{small}");
    assert_eq!(small["routing"]["autonomy"], "ai_decides");
    assert_eq!(
        small["routing"]["verdicts"][0]["policies"],
        json!(["ai-decides-small-reversible"])
    );
    assert_eq!(small["decided_by"], id(&emil));
    assert_eq!(small["choice"], "10 % Rabatt");
    let trail = api
        .get(&format!("/decisions/{}", id(&small)), &vera_token)
        .await
        .body["trail"]
        .clone();
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["decision.requested", "decision.decided"]);

    // --- 5 000 EUR: the AI worker only prepares; two people must agree.
    let large = api
        .created("/decisions", &emil_token, raise("5000", "10 % Rabatt"))
        .await;
    let large_id = id(&large);
    assert_eq!(large["status"], "awaiting_approval", "{large}");
    assert_eq!(large["routing"]["autonomy"], "ai_prepares");
    assert_eq!(large["routing"]["quorum"], 2);
    assert_eq!(large["recommendation"]["option"], "10 % Rabatt");
    let approve = |option: &str| json!({ "option": option, "reason": "Kunde ist es wert." });

    // The AI worker's own approval is refused with the policy's reason, a
    // viewer's by role, a plain member's because no policy permits it.
    let by_emil = api
        .post(
            &format!("/decisions/{large_id}/approve"),
            &emil_token,
            approve("10 % Rabatt"),
        )
        .await;
    assert_eq!(by_emil.status, StatusCode::FORBIDDEN);
    assert!(
        by_emil.body["detail"]
            .as_str()
            .unwrap()
            .contains("ai-never-approves"),
        "{}",
        by_emil.body
    );
    let by_vera = api
        .post(
            &format!("/decisions/{large_id}/approve"),
            &vera_token,
            approve("10 % Rabatt"),
        )
        .await;
    assert_eq!(by_vera.status, StatusCode::FORBIDDEN);
    let by_jonas = api
        .post(
            &format!("/decisions/{large_id}/approve"),
            &jonas_token,
            approve("10 % Rabatt"),
        )
        .await;
    assert_eq!(by_jonas.status, StatusCode::FORBIDDEN);
    assert!(
        by_jonas.body["detail"]
            .as_str()
            .unwrap()
            .contains("no policy permits"),
        "{}",
        by_jonas.body
    );
    let unknown = api
        .post(
            &format!("/decisions/{large_id}/approve"),
            &aylin_token,
            approve("20 % Rabatt"),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Waiting on the two leads, not on Jonas.
    let waiting = api.get("/decisions?awaiting=me", &aylin_token).await.body;
    assert!(
        waiting["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == large_id.as_str())
    );
    let not_jonas = api.get("/decisions?awaiting=me", &jonas_token).await.body;
    assert!(not_jonas["items"].as_array().unwrap().is_empty());

    let first = api
        .post(
            &format!("/decisions/{large_id}/approve"),
            &aylin_token,
            approve("10 % Rabatt"),
        )
        .await;
    assert_eq!(
        (first.status, first.body["status"].as_str()),
        (StatusCode::OK, Some("awaiting_approval"))
    );
    let twice = api
        .post(
            &format!("/decisions/{large_id}/approve"),
            &aylin_token,
            approve("10 % Rabatt"),
        )
        .await;
    assert_eq!(
        twice.status,
        StatusCode::CONFLICT,
        "the same person never counts twice"
    );
    let second = api
        .post(
            &format!("/decisions/{large_id}/approve"),
            &bernd_token,
            approve("10 % Rabatt"),
        )
        .await;
    assert_eq!(second.body["status"], "decided", "{}", second.body);
    assert_eq!(second.body["choice"], "10 % Rabatt");
    let shown = api
        .get(&format!("/decisions/{large_id}"), &vera_token)
        .await
        .body;
    let trail = shown["trail"].as_array().unwrap();
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "decision.requested",
            "decision.prepared",
            "decision.approved",
            "decision.approved",
            "decision.decided"
        ]
    );
    assert_eq!(
        trail[0]["payload"]["routing"]["verdicts"][1]["policies"],
        json!(["ai-prepares-larger"])
    );
    assert_eq!(
        trail[2]["payload"]["verdict"]["policies"],
        json!(["leads-approve"])
    );
    let late = api
        .post(
            &format!("/decisions/{large_id}/approve"),
            &jonas_token,
            approve("Kein Rabatt"),
        )
        .await;
    assert_eq!(late.status, StatusCode::FORBIDDEN);

    // --- People cannot speak for an AI worker, nor assign a person.
    let forged = api
        .post("/decisions", &aylin_token, json!({ "space_id": space_id, "question": "Q", "facts": facts("1", true),
               "options": ["a", "b"], "assignee_id": id(&emil), "proposal": { "option": "a", "rationale": "r", "confidence": 1.0 } }))
        .await;
    assert_eq!(
        (forged.status, forged.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("proposal"))
    );
    let to_person = api
        .post(
            "/decisions",
            &aylin_token,
            json!({ "space_id": space_id, "question": "Q", "facts": facts("1", true),
               "options": ["a", "b"], "assignee_id": id(&jonas) }),
        )
        .await;
    assert_eq!(to_person.status, StatusCode::UNPROCESSABLE_ENTITY);
    for (body, field) in [
        (
            json!({ "space_id": space_id, "question": "Q", "facts": facts("1.234", true), "options": ["a", "b"] }),
            "amount",
        ),
        (
            json!({ "space_id": space_id, "question": "Q", "facts": facts("1", true), "options": ["a"] }),
            "options",
        ),
        (
            json!({ "space_id": space_id, "question": "Q", "facts": facts("1", true), "options": ["a", "a"] }),
            "options[1]",
        ),
    ] {
        let reply = api.post("/decisions", &aylin_token, body).await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{}",
            reply.body
        );
    }
    let malformed = api
        .post(
            "/decisions",
            &aylin_token,
            json!({ "space_id": space_id, "question": "Q" }),
        )
        .await;
    assert!(malformed.status.is_client_error());

    // --- The requester is never the only approver.
    let own = api
        .created(
            "/decisions",
            &aylin_token,
            json!({ "space_id": space_id, "question": "Messestand buchen?",
                 "facts": facts("800", false), "options": ["Ja", "Nein"] }),
        )
        .await;
    assert_eq!(own["routing"]["autonomy"], "human_only");
    let own_id = id(&own);
    let self_approved = api
        .post(
            &format!("/decisions/{own_id}/approve"),
            &aylin_token,
            approve("Ja"),
        )
        .await;
    assert_eq!(self_approved.body["status"], "awaiting_approval");
    let rejected = api
        .post(
            &format!("/decisions/{own_id}/reject"),
            &bernd_token,
            json!({ "reason": "Zu teuer." }),
        )
        .await;
    assert_eq!(rejected.body["status"], "rejected", "{}", rejected.body);

    // --- Escalation on an injected clock: nothing before the deadline, then
    // to Bernd, whom the policy lets decide alone.
    let waiting = api
        .created("/decisions", &emil_token, raise("7000", "Kein Rabatt"))
        .await;
    let waiting_id = id(&waiting);
    let early = tutti_engine::decisions::escalate_overdue(
        &store,
        &runtime.policies,
        today() + chrono::Duration::minutes(59),
    )
    .await
    .unwrap();
    assert!(early.is_empty());
    let escalated = tutti_engine::decisions::escalate_overdue(
        &store,
        &runtime.policies,
        today() + chrono::Duration::hours(2),
    )
    .await
    .unwrap();
    assert_eq!(escalated.len(), 1);
    let shown = api
        .get(&format!("/decisions/{waiting_id}"), &vera_token)
        .await
        .body;
    assert_eq!(shown["status"], "escalated");
    assert_eq!(shown["escalated_to"], id(&bernd));
    assert_eq!(
        shown["escalation"]["policies"],
        json!(["escalate-to-leads"])
    );
    let event = shown["trail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "decision.escalated")
        .unwrap()
        .clone();
    assert!(
        event["payload"]["explanation"]
            .as_str()
            .unwrap()
            .contains("may now decide alone")
    );
    let alone = api
        .post(
            &format!("/decisions/{waiting_id}/approve"),
            &bernd_token,
            approve("Kein Rabatt"),
        )
        .await;
    assert_eq!(alone.body["status"], "decided", "{}", alone.body);

    // --- A decision a person asks the AI worker to prepare is drafted by the
    // engine. A worker that cannot answer (this process runs no model) hands
    // it to people, and the register says why. A claim is not taken twice
    // while it holds, and lapses; an AI worker's own open decision is left
    // to it.
    let ask_emil = |question: &str| {
        json!({ "space_id": space_id, "question": question, "facts": facts("6000", true),
                "options": ["3 %", "5 %"], "assignee_id": id(&emil) })
    };
    let asked = api
        .created("/decisions", &aylin_token, ask_emil("Staffelrabatt?"))
        .await;
    assert_eq!(asked["status"], "open", "{asked}");
    let emils_own = api
        .created(
            "/decisions",
            &emil_token,
            json!({ "space_id": space_id, "question": "Eigene Frage", "facts": facts("6000", true),
                    "options": ["a", "b"] }),
        )
        .await;
    assert_eq!(emils_own["status"], "open", "{emils_own}");
    let later = today() + chrono::Duration::hours(3);
    // This process has no model: while another with the embedded model is
    // alive, Emil's decision is left to that one.
    let modelless = EngineNode {
        name: "ohne-modell".into(),
        embedded_model: runtime.models.has_embedded(),
    };
    assert!(!modelless.embedded_model);
    let with_model = EngineNode {
        name: "mit-modell".into(),
        embedded_model: true,
    };
    store
        .announce_node(&with_model, later, later + chrono::Duration::seconds(6))
        .await
        .unwrap();
    let left = tutti_engine::decisions::claim_drafts(&store, &modelless, later, 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "left to the process with the model");
    // That process is gone: people get the decision, and are told why.
    let later = later + chrono::Duration::seconds(7);
    let mut claimed = tutti_engine::decisions::claim_drafts(&store, &modelless, later, 10)
        .await
        .unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|d| d.decision.id.to_string())
            .collect::<Vec<_>>(),
        [id(&asked)]
    );
    assert_eq!(claimed[0].worker.id.to_string(), id(&emil));
    let again = tutti_engine::decisions::claim_drafts(
        &store,
        &modelless,
        later + chrono::Duration::minutes(4),
        10,
    )
    .await
    .unwrap();
    assert!(again.is_empty(), "a held claim is not taken twice");
    let handed = tutti_engine::decisions::draft(&store, &runtime, claimed.remove(0))
        .await
        .unwrap();
    assert_eq!(handed.status.as_str(), "awaiting_approval");
    let shown = api
        .get(&format!("/decisions/{}", id(&asked)), &vera_token)
        .await
        .body;
    assert_eq!(shown["status"], "awaiting_approval", "{shown}");
    assert_eq!(shown["routing"]["quorum"], 2);
    let why = shown["routing"]["explanation"].as_str().unwrap();
    assert!(
        why.contains("the AI worker could not propose (")
            && why.contains("without the embedded model"),
        "{why}"
    );
    let handed_event = shown["trail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "decision.handed_to_people")
        .unwrap()
        .clone();
    assert!(
        handed_event["payload"]["why"]
            .as_str()
            .unwrap()
            .contains("embedded model")
    );
    let lapsing = api
        .created(
            "/decisions",
            &aylin_token,
            ask_emil("Zweiter Staffelrabatt?"),
        )
        .await;
    let first = tutti_engine::decisions::claim_drafts(&store, &modelless, later, 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let lapsed = tutti_engine::decisions::claim_drafts(
        &store,
        &modelless,
        later + chrono::Duration::minutes(6),
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        lapsed
            .iter()
            .map(|d| d.decision.id.to_string())
            .collect::<Vec<_>>(),
        [id(&lapsing)],
        "a lapsed claim is taken again"
    );

    // --- A policy that denies everything sends everything to people, and
    // the register says why.
    let closed = api
        .created(
            "/decision-spaces",
            &aylin_token,
            json!({ "name": "Lieferanten", "team_id": id(&sales),
                 "policy": "@id(\"deny-all\")\nforbid (principal, action, resource);" }),
        )
        .await;
    let supplier = api
        .created(
            "/decisions",
            &emil_token,
            json!({ "space_id": id(&closed), "question": "Lieferant A oder B?",
                 "facts": facts("100", true), "options": ["A", "B"],
                 "proposal": { "option": "A", "rationale": "billiger", "confidence": 0.6 } }),
        )
        .await;
    assert_eq!(supplier["routing"]["autonomy"], "human_only");
    assert_eq!(
        supplier["recommendation"],
        Value::Null,
        "a human-only decision takes no AI proposal"
    );
    let register = api
        .get(
            &format!("/decision-register?space={}", id(&closed)),
            &vera_token,
        )
        .await
        .body;
    assert_eq!(
        register[0]["why"],
        "human_only: decide denied by deny-all; prepare denied by deny-all; 1 approval(s) needed; \
         the AI worker's proposal was set aside, because the policy leaves this decision to people"
    );
    let csv = api
        .send(
            "GET",
            "/decision-register?format=csv",
            Some(&vera_token),
            None,
            &[],
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);

    // --- Simulation stores nothing.
    let before = api
        .get("/decision-register", &vera_token)
        .await
        .body
        .as_array()
        .unwrap()
        .len();
    let simulated = api
        .post(&format!("/decision-spaces/{space_id}/simulate"), &jonas_token,
              json!({ "facts": facts("500", true), "assignee_id": id(&emil), "approver_id": id(&jonas) }))
        .await;
    assert_eq!(
        simulated.body["routing"]["autonomy"], "ai_decides",
        "{}",
        simulated.body
    );
    assert_eq!(simulated.body["approval"]["allowed"], false);
    let draft = api
        .post(&format!("/decision-spaces/{space_id}/simulate"), &jonas_token,
              json!({ "facts": facts("500", true), "assignee_id": id(&emil), "policy": "forbid (principal, action, resource);" }))
        .await;
    assert_eq!(draft.body["routing"]["autonomy"], "human_only");
    assert_eq!(
        api.get("/decision-register", &vera_token)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        before
    );

    // --- Outcome review closes the loop; the summary counts it.
    let by_ai = api
        .post(
            &format!("/decisions/{large_id}/outcome"),
            &emil_token,
            json!({ "outcome": "good" }),
        )
        .await;
    assert_eq!(by_ai.status, StatusCode::FORBIDDEN);
    let by_outsider = api
        .post(
            &format!("/decisions/{large_id}/outcome"),
            &jonas_token,
            json!({ "outcome": "good" }),
        )
        .await;
    assert_eq!(by_outsider.status, StatusCode::FORBIDDEN);
    let reviewed = api
        .post(
            &format!("/decisions/{large_id}/outcome"),
            &bernd_token,
            json!({ "outcome": "good", "note": "Kunde hat verlängert." }),
        )
        .await;
    assert_eq!(reviewed.body["outcome"], "good", "{}", reviewed.body);
    let summary = api
        .get("/decision-register/summary", &vera_token)
        .await
        .body;
    assert_eq!(summary["ai_decides"], 1, "{summary}");
    assert_eq!(summary["recommended"], 2, "{summary}");
    assert_eq!(summary["followed"], 2, "{summary}");
    assert_eq!(summary["followed_outcomes"]["good"], 1, "{summary}");

    // --- Work orders in the space's scope carry its principles.
    let item = api
        .created(
            "/work-items",
            &aylin_token,
            json!({ "title": "Angebot für Müller KG", "team_id": id(&sales),
                 "assignee_id": id(&emil), "state": "ready" }),
        )
        .await;
    let runs = api
        .get(&format!("/runs?work_item={}", id(&item)), &vera_token)
        .await
        .body;
    let order = runs["items"][0]["work_order"].as_str().unwrap();
    assert!(
        order.contains("Keine Rabatte über 15 % ohne Rücksprache"),
        "{order}"
    );

    // --- Versions, isolation, and the chain.
    let edited = api
        .patch(
            &format!("/decision-spaces/{space_id}"),
            &aylin_token,
            json!({ "quorum": 2 }),
        )
        .await;
    assert_eq!(edited.body["version"], 2);
    let in_use = api
        .send(
            "DELETE",
            &format!("/decision-spaces/{space_id}"),
            Some(&aylin_token),
            None,
            &[],
        )
        .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    assert_eq!(
        api.get(&format!("/decisions/{large_id}"), &stranger)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(&format!("/decision-spaces/{space_id}"), &stranger)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let foreign = api
        .post(
            &format!("/decisions/{large_id}/approve"),
            &stranger,
            approve("Kein Rabatt"),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let verified = api.get("/events/verify", &owner).await.body;
    assert_eq!(verified["intact"], true, "{verified}");
}

tutti_store::on_both_backends!(
    decision_suite,
    decisions_api_on_sqlite,
    decisions_api_on_postgres
);
