//! What the API's behaviour tests share: the real router over a real store
//! on a fixed day, a client that checks every error is a problem document
//! and never a 500, and the Lindner org with its people.

#![allow(dead_code)]
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
use tutti_server::{AppState, FixedClock, auth};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewMember};

/// The day the tests live on.
pub fn today() -> DateTime<Utc> {
    "2026-11-16T08:00:00Z".parse().unwrap()
}

/// The API of one store, as a client sees it, and the runtime behind it.
pub struct Api {
    pub router: Router,
    pub runtime: Arc<tutti_engine::Runtime>,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub replayed: bool,
}

impl Api {
    /// The router over `store`, on [`today`].
    pub fn new<S: Store>(store: &S) -> Self {
        Self::on(store, Arc::new(FixedClock::new(today())))
    }

    /// The router over `store`, on `clock`'s time, which the test moves.
    pub fn on<S: Store>(store: &S, clock: Arc<FixedClock>) -> Self {
        let mut state = AppState::new(store.clone());
        state.clock = clock;
        let runtime = state.runtime.clone();
        Self {
            router: tutti_server::router(state),
            runtime,
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

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send("PUT", path, Some(token), Some(&body.to_string()), &[])
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

impl Person {
    /// A member the owner adds, with a token of their own.
    pub async fn added(api: &Api, owner: &str, body: Value) -> Self {
        let member = api.created("/members", owner, body).await;
        let token = api
            .created(
                &format!("/members/{}/tokens", id(&member)),
                owner,
                json!({}),
            )
            .await;
        Self {
            id: id(&member),
            token: token["token"].as_str().unwrap().to_owned(),
        }
    }
}

/// Lindner Gebäudetechnik, as the tests need it: Katrin owns it; the
/// service team is led by Aylin, with Jonas and Lea in it; Miriam views;
/// Emil is the team's AI worker on the embedded model. Another org's owner
/// stands by to check that nothing crosses.
pub struct Lindner {
    pub org_id: uuid::Uuid,
    pub owner: Person,
    pub service: String,
    /// A team nobody here leads.
    pub sales: String,
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
        let sales = id(&api
            .created("/teams", &owner, json!({ "name": "Vertrieb" }))
            .await);
        let person = |body: Value| Person::added(api, &owner, body);
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
            sales,
            lead,
            member,
            colleague,
            viewer,
            worker,
            stranger,
        }
    }
}

/// The service team's strategy: "Kundenbindung stärken" (the owner's, with
/// the key result "Verlängerungen" 60 → 80 %) and below it "Störungen
/// schneller beheben" (the lead's, with "Reaktionszeit" 24 → 8 h).
pub struct Strategy {
    pub top: Value,
    pub child: Value,
    pub renewals: Value,
    pub response_time: Value,
}

/// An objective of the service team for Q4.
pub fn objective(title: &str, team: &str, parent: Option<&Value>) -> Value {
    json!({
        "title": title, "why": "Damit Kundinnen wiederkommen.", "team_id": team,
        "period_start": "2026-10-01", "period_end": "2026-12-31", "parent_id": parent.map(id),
    })
}

/// A key result in percent.
pub fn key_result(title: &str, baseline: f64, target: f64) -> Value {
    json!({ "title": title, "baseline": baseline, "target": target, "unit": "%" })
}

impl Strategy {
    pub async fn new(api: &Api, org: &Lindner) -> Self {
        let top = api
            .created(
                "/objectives",
                &org.owner.token,
                objective("Kundenbindung stärken", &org.service, None),
            )
            .await;
        let child = api
            .created(
                "/objectives",
                &org.lead.token,
                objective("Störungen schneller beheben", &org.service, Some(&top)),
            )
            .await;
        let renewals = api
            .created(
                &format!("/objectives/{}/key-results", id(&top)),
                &org.owner.token,
                key_result("Verlängerungen", 60.0, 80.0),
            )
            .await;
        let response_time = api
            .created(
                &format!("/objectives/{}/key-results", id(&child)),
                &org.lead.token,
                key_result("Reaktionszeit", 24.0, 8.0),
            )
            .await;
        Self {
            top,
            child,
            renewals,
            response_time,
        }
    }
}

/// A gateway call: the reply's status and its JSON (OpenAI's error shape on
/// failure, never a problem document).
pub async fn gateway(router: &Router, token: Option<&str>, body: &str) -> (StatusCode, Value) {
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

/// A chat request for the gateway.
pub fn ask(model: &str, max_tokens: u32) -> String {
    json!({ "model": model, "messages": [{ "role": "user", "content": "Hallo" }], "max_tokens": max_tokens })
        .to_string()
}

impl Lindner {
    /// Moves Emil onto "cloud", an OpenAI-compatible provider whose
    /// endpoint nobody answers, with its model "big"; returns the provider.
    pub async fn on_an_unreachable_cloud(&self, api: &Api) -> Value {
        let cloud = api
            .created(
                "/providers",
                &self.owner.token,
                json!({ "name": "cloud", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-very-secret" }),
            )
            .await;
        let priced = api
            .post(
                &format!("/providers/{}/models", id(&cloud)),
                &self.owner.token,
                json!({ "name": "big", "input_price": 1_000_000, "output_price": 4_000_000 }),
            )
            .await;
        assert_eq!(priced.status, StatusCode::OK, "{}", priced.body);
        api.changed(
            &format!("/members/{}", self.worker.id),
            &self.owner.token,
            json!({ "provider": "cloud", "model": "big" }),
        )
        .await;
        cloud
    }
}

/// Lindner's sales team and its discounts, as the decision tests need them:
/// Aylin leads it, Bernd is a lead too, Jonas a member, Vera a viewer; Emil
/// is its AI worker. The discounts space runs the starter policy: Emil
/// decides small reversible discounts, prepares larger ones for two leads,
/// and an overdue decision escalates to Bernd after an hour.
pub struct Sales {
    pub owner: String,
    pub stranger: String,
    pub team: String,
    pub aylin: Person,
    pub bernd: Person,
    pub jonas: Person,
    pub vera: Person,
    pub emil: Person,
    /// The starter policy `discounts`.
    pub discounts: String,
    pub space: String,
}

impl Sales {
    pub async fn new<S: Store>(store: &S, api: &Api) -> Self {
        store.migrate().await.unwrap();
        let (owner, _) = org(store, "Lindner Gebäudetechnik", "katrin@lindner.de").await;
        let (stranger, _) = org(store, "Andere GmbH", "boss@andere.de").await;
        let team = id(&api
            .created("/teams", &owner, json!({ "name": "Vertrieb" }))
            .await);
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
        let person = |body: Value| Person::added(api, &owner, body);
        let human = |name: &str, role: &str| json!({ "name": name, "email": format!("{}@lindner.de", name.to_lowercase()), "role": role, "teams": [team] });
        let aylin = person(human("Aylin", "lead")).await;
        let bernd = person(human("Bernd", "lead")).await;
        let jonas = person(human("Jonas", "member")).await;
        let vera = person(human("Vera", "viewer")).await;
        let emil = person(json!({ "name": "Emil", "kind": "ai", "provider": "lokal", "model": "klein", "teams": [team] })).await;
        api.changed(
            &format!("/teams/{team}"),
            &owner,
            json!({ "lead_id": aylin.id }),
        )
        .await;
        let templates = api
            .get("/decision-spaces/templates", &jonas.token)
            .await
            .body;
        let discounts = templates["templates"][0]["source"]
            .as_str()
            .unwrap()
            .to_owned();
        let space = id(&api
            .created(
                "/decision-spaces",
                &aylin.token,
                json!({ "name": "Rabatte", "team_id": team, "policy": discounts,
                        "principles": ["Keine Rabatte über 15 % ohne Rücksprache"],
                        "escalate_after_secs": 3600, "escalate_to": bernd.id }),
            )
            .await);
        Self {
            owner,
            stranger,
            team,
            aylin,
            bernd,
            jonas,
            vera,
            emil,
            discounts,
            space,
        }
    }

    /// A discount decision's facts.
    pub fn facts(amount: &str, reversible: bool) -> Value {
        json!({ "amount": amount, "risk": "low", "reversible": reversible, "customer_facing": false })
    }

    /// Emil raises a discount decision with his own proposal.
    pub fn raise(&self, amount: &str, option: &str) -> Value {
        json!({ "space_id": self.space, "question": format!("Rabatt für Kunde über {amount} EUR?"),
                "facts": Self::facts(amount, true), "options": ["10 % Rabatt", "Kein Rabatt"],
                "proposal": { "option": option, "rationale": "Treuer Kunde seit 2019.", "confidence": 0.8 } })
    }

    /// An approval of `option`.
    pub fn approve(option: &str) -> Value {
        json!({ "option": option, "reason": "Kunde ist es wert." })
    }

    /// The actions of a decision's trail, in order.
    pub async fn trail(&self, api: &Api, decision: &str) -> Vec<String> {
        api.get(&format!("/decisions/{decision}"), &self.vera.token)
            .await
            .body["trail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }
}
