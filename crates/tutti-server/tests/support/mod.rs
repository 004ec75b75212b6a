//! What the API's behaviour tests share: the real router over a real store
//! on a fixed day, a client that checks every error is a problem document
//! and never a 500, and the Lindner org with its people.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::validate::Email;
use tutti_server::{AppState, FixedClock, auth};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewMember};

/// The day the tests live on.
pub fn today() -> DateTime<Utc> {
    "2026-11-16T08:00:00Z".parse().unwrap()
}

/// The API of one store, as a client sees it.
pub struct Api {
    pub router: Router,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub replayed: bool,
}

impl Api {
    /// The router over `store`, on [`today`].
    pub fn new<S: Store>(store: &S) -> Self {
        let mut state = AppState::new(store.clone());
        state.clock = Arc::new(FixedClock::new(today()));
        Self {
            router: tutti_server::router(state),
        }
    }

    pub async fn send(
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

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send("POST", path, Some(token), Some(&body.to_string()), &[])
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send("PATCH", path, Some(token), Some(&body.to_string()), &[])
            .await
    }

    /// Creates and expects 201, returning the body.
    pub async fn created(&self, path: &str, token: &str, body: Value) -> Value {
        let reply = self.post(path, token, body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "POST {path}: {}",
            reply.body
        );
        reply.body
    }

    /// Changes and expects 200, returning the body.
    pub async fn changed(&self, path: &str, token: &str, body: Value) -> Value {
        let reply = self.patch(path, token, body).await;
        assert_eq!(reply.status, StatusCode::OK, "PATCH {path}: {}", reply.body);
        reply.body
    }
}

pub fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// An org with its owner's token and id, set up through the store the way
/// `tutti init` does.
pub async fn org<S: Store>(store: &S, name: &str, email: &str) -> (String, String) {
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

/// A member's id and API token.
pub struct Person {
    pub id: String,
    pub token: String,
}

/// Lindner Gebäudetechnik, as the tests need it: Katrin owns it; the
/// service team is led by Aylin, with Jonas and Lea in it; Miriam views;
/// Emil is the team's AI worker on the embedded model. Another org's owner
/// stands by to check that nothing crosses.
pub struct Lindner {
    pub org_id: uuid::Uuid,
    pub owner: Person,
    pub service: String,
    pub lead: Person,
    pub member: Person,
    pub colleague: Person,
    pub viewer: Person,
    pub worker: Person,
    pub stranger: String,
}

impl Lindner {
    pub async fn new<S: Store>(store: &S, api: &Api) -> Self {
        store.migrate().await.unwrap();
        let (owner, owner_id) = org(store, "Lindner Gebäudetechnik", "katrin@lindner.de").await;
        let (stranger, _) = org(store, "Andere GmbH", "boss@andere.de").await;
        let org_id = store.orgs().await.unwrap()[0].id;
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
            json!({ "name": "smollm2", "input_price": 200_000, "output_price": 800_000 }),
        )
        .await;
        let service = id(&api
            .created("/teams", &owner, json!({ "name": "Kundenservice" }))
            .await);
        let person = |body: Value| {
            let owner = owner.clone();
            async move {
                let member = api.created("/members", &owner, body).await;
                let token = api
                    .created(
                        &format!("/members/{}/tokens", id(&member)),
                        &owner,
                        json!({}),
                    )
                    .await;
                Person {
                    id: id(&member),
                    token: token["token"].as_str().unwrap().to_owned(),
                }
            }
        };
        let lead = person(json!({ "name": "Aylin", "email": "aylin@lindner.de", "role": "lead", "teams": [service] })).await;
        api.changed(
            &format!("/teams/{service}"),
            &owner,
            json!({ "lead_id": lead.id }),
        )
        .await;
        let member =
            person(json!({ "name": "Jonas", "email": "jonas@lindner.de", "teams": [service] }))
                .await;
        let colleague =
            person(json!({ "name": "Lea", "email": "lea@lindner.de", "teams": [service] })).await;
        let viewer =
            person(json!({ "name": "Miriam", "email": "miriam@lindner.de", "role": "viewer" }))
                .await;
        let worker = person(json!({
            "name": "Emil", "kind": "ai", "role_card": "Du bist Emil.", "teams": [service],
            "provider": "lokal", "model": "smollm2",
        }))
        .await;
        Self {
            org_id,
            owner: Person {
                id: owner_id,
                token: owner,
            },
            service,
            lead,
            member,
            colleague,
            viewer,
            worker,
            stranger,
        }
    }
}
