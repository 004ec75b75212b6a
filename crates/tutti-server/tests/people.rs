//! The org and its people through the API, on SQLite and PostgreSQL:
//! authentication, members and their tokens, and who may add whom.

#![expect(clippy::unwrap_used)]

use axum::http::StatusCode;
use serde_json::json;
use tutti_store::prelude::*;

use crate::support;
use support::{Api, Lindner, id};

async fn requests_without_a_known_token_are_unauthorized<S: Store>(store: S) {
    let api = Api::new(&store);
    Lindner::new(&store, &api).await;
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
}

tutti_store::behaviour!(requests_without_a_known_token_are_unauthorized);

async fn a_token_is_shown_once_and_names_its_member_and_org<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let token = api
        .created(
            &format!("/members/{}/tokens", org.member.id),
            &org.owner.token,
            json!({ "label": "laptop" }),
        )
        .await;
    assert!(token.get("token_hash").is_none(), "{token}");
    let token = token["token"].as_str().unwrap();
    assert!(token.starts_with("tutti_"));
    assert_eq!(api.get("/me", token).await.body["name"], "Jonas");
    let own_org = api.get("/org", token).await.body;
    assert_eq!(
        (own_org["name"].as_str(), own_org["currency"].as_str()),
        (Some("Lindner Gebäudetechnik"), Some("EUR"))
    );
    assert_eq!(
        api.get("/org", &org.stranger).await.body["name"],
        "Andere GmbH"
    );
    let members = api.get("/members", &org.owner.token).await.body.to_string();
    assert!(!members.contains("tutti_") && members.contains(&org.owner.id));
}

tutti_store::behaviour!(a_token_is_shown_once_and_names_its_member_and_org);

async fn an_email_belongs_to_one_member_and_an_ai_worker_never_administers<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let duplicate = api
        .post(
            "/members",
            &org.owner.token,
            json!({ "name": "J", "email": "JONAS@lindner.de" }),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    let ai_admin = api
        .post(
            "/members",
            &org.owner.token,
            json!({ "name": "Boss-KI", "kind": "ai", "role": "admin" }),
        )
        .await;
    assert_eq!(
        (ai_admin.status, ai_admin.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("role"))
    );
    let ai = api
        .get(&format!("/members/{}", org.worker.id), &org.owner.token)
        .await
        .body;
    assert_eq!(ai["kind"], "ai");
}

tutti_store::behaviour!(an_email_belongs_to_one_member_and_an_ai_worker_never_administers);

async fn only_admins_add_people_and_make_tokens_for_others<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let lead_adds = api
        .post(
            "/members",
            &org.lead.token,
            json!({ "name": "X", "email": "x@lindner.de" }),
        )
        .await;
    assert_eq!(lead_adds.status, StatusCode::FORBIDDEN);
    let token_for_other = api
        .post(
            &format!("/members/{}/tokens", org.lead.id),
            &org.member.token,
            json!({}),
        )
        .await;
    assert_eq!(token_for_other.status, StatusCode::FORBIDDEN);
    let own = api
        .post(
            &format!("/members/{}/tokens", org.member.id),
            &org.member.token,
            json!({}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED);
    let added = api
        .created(
            "/members",
            &org.owner.token,
            json!({ "name": "Kai", "email": "kai@lindner.de" }),
        )
        .await;
    assert_eq!(added["role"], "member", "{added}");
    assert_eq!(id(&added).len(), 36);
}

tutti_store::behaviour!(only_admins_add_people_and_make_tokens_for_others);

/// The org's time zone: set by an admin to an IANA zone, refused to others
/// and for a name that is none, and the cockpit reads its times in it.
async fn the_org_reads_its_times_in_its_own_time_zone<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let set = |token: String, zone: &'static str| {
        let api = &api;
        async move {
            let body = json!({ "time_zone": zone }).to_string();
            api.send("PATCH", "/org", Some(&token), Some(&body), &[])
                .await
        }
    };
    assert_eq!(
        set(org.lead.token.clone(), "Europe/Berlin").await.status,
        StatusCode::FORBIDDEN
    );
    let bad = set(org.owner.token.clone(), "MEZ").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["field"], "time_zone");
    assert_eq!(
        api.get("/org", &org.viewer.token).await.body["time_zone"],
        "UTC"
    );
    let berlin = set(org.owner.token.clone(), "Europe/Berlin").await;
    assert_eq!(berlin.status, StatusCode::OK, "{}", berlin.body);
    assert_eq!(
        api.get("/org", &org.viewer.token).await.body["time_zone"],
        "Europe/Berlin"
    );
    // 16 November 2026, 08:00 UTC is 09:00 in Berlin's winter time.
    let zone = tutti_domain::zone::parse_time_zone("time_zone", "Europe/Berlin").unwrap();
    let t = tutti_i18n::Messages::of_in(tutti_i18n::Locale::De, zone);
    assert_eq!(t.datetime(support::today()), "16.11.2026, 09:00 CET");
    let utc = tutti_i18n::Messages::of(tutti_i18n::Locale::En);
    assert_eq!(utc.datetime(support::today()), "16 Nov 2026, 08:00 UTC");
}

tutti_store::behaviour!(the_org_reads_its_times_in_its_own_time_zone);

async fn a_person_reads_times_in_a_zone_of_their_own<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let me = api.get("/me", &org.member.token).await.body;
    assert_eq!(me["time_zone"], serde_json::Value::Null);
    let own = api
        .changed(
            "/me",
            &org.member.token,
            json!({ "time_zone": "Europe/Lisbon" }),
        )
        .await;
    assert_eq!(own["time_zone"], "Europe/Lisbon");
    assert_eq!(own["id"], json!(org.member.id));
    let refused = api
        .patch("/me", &org.member.token, json!({ "time_zone": "MEZ" }))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["field"], "time_zone");
    assert_eq!(
        api.get("/me", &org.member.token).await.body["time_zone"],
        "Europe/Lisbon",
        "a refusal changes nothing"
    );
    let cleared = api
        .changed("/me", &org.member.token, json!({ "time_zone": null }))
        .await;
    assert_eq!(cleared["time_zone"], serde_json::Value::Null);
    // Another person's zone is theirs alone.
    assert_eq!(
        api.get("/me", &org.colleague.token).await.body["time_zone"],
        serde_json::Value::Null
    );
}

tutti_store::behaviour!(a_person_reads_times_in_a_zone_of_their_own);
