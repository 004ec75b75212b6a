//! Work items through the API: who may move delivered work, on SQLite and
//! PostgreSQL. An AI worker hands its work in for review; only a person
//! accepts, closes or cancels it.

#![expect(clippy::unwrap_used)]

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use tutti_domain::labour::Tokens;
use tutti_store::prelude::*;
use tutti_store::{EngineNode, EventFilter, RunEnd};
use uuid::Uuid;

mod support;
use support::{Api, Lindner, id, today};

/// A work item Emil delivered: created ready in his hands, its run claimed
/// and ended by an engine the way the runtime does, so it waits in review.
async fn delivered<S: Store>(store: &S, api: &Api, org: &Lindner) -> (Value, String) {
    let item = api
        .created(
            "/work-items",
            &org.lead.token,
            json!({ "title": "Antwort an Familie Berger", "team_id": org.service,
                    "assignee_id": org.worker.id, "state": "ready" }),
        )
        .await;
    let node = EngineNode {
        name: "test-engine".into(),
        embedded_model: true,
    };
    let claimed = store
        .claim_run(&node, today(), today() + Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.run.work_item_id.to_string(), id(&item));
    let end = RunEnd::Succeeded {
        output: "Sehr geehrte Familie Berger, …".into(),
        used: Tokens::default(),
    };
    store
        .end_run(claimed.run.id, &node.name, today(), end)
        .await
        .unwrap();
    let item = api
        .get(&format!("/work-items/{}", id(&item)), &org.lead.token)
        .await
        .body;
    assert_eq!(item["state"], "in_review");
    (item, claimed.run.id.to_string())
}

/// How many times the item was changed, by the audit chain.
async fn changes<S: Store>(store: &S, org: &Lindner, item: &Value) -> usize {
    let filter = EventFilter {
        limit: 500,
        action: Some("work_item.updated".into()),
        subject_id: Some(id(item).parse::<Uuid>().unwrap()),
        ..EventFilter::default()
    };
    store.events(org.org_id, &filter).await.unwrap().items.len()
}

async fn an_ai_worker_cannot_close_its_own_review<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let (item, _) = delivered(&store, &api, &org).await;
    let path = format!("/work-items/{}", id(&item));
    let before = changes(&store, &org, &item).await;
    for to in ["done", "cancelled", "running", "ready", "blocked"] {
        let reply = api
            .patch(&path, &org.worker.token, json!({ "state": to }))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "in_review → {to}: {}",
            reply.body
        );
        assert!(
            reply.body["detail"].as_str().unwrap().contains("review"),
            "{}",
            reply.body
        );
    }
    // Nothing moved and nothing was written.
    let after = api.get(&path, &org.lead.token).await.body;
    assert_eq!(after["state"], "in_review");
    assert_eq!(changes(&store, &org, &item).await, before);
    // Its other fields stay the worker's to edit.
    let edited = api
        .changed(
            &path,
            &org.worker.token,
            json!({ "description": "Entwurf steht." }),
        )
        .await;
    assert_eq!(edited["state"], "in_review");
}

tutti_store::on_both_backends!(
    an_ai_worker_cannot_close_its_own_review,
    an_ai_worker_cannot_close_its_own_review_on_sqlite,
    an_ai_worker_cannot_close_its_own_review_on_postgres
);

async fn an_ai_worker_never_marks_work_done_or_cancels_it<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let own = api
        .created(
            "/work-items",
            &org.worker.token,
            json!({ "title": "Ersatzteilliste prüfen", "team_id": org.service, "assignee_id": org.worker.id }),
        )
        .await;
    let path = format!("/work-items/{}", id(&own));
    // Running work may move to done or be cancelled by the table, but not by
    // an AI worker.
    let running = api
        .changed(&path, &org.worker.token, json!({ "state": "running" }))
        .await;
    assert_eq!(running["state"], "running");
    for to in ["done", "cancelled"] {
        let reply = api
            .patch(&path, &org.worker.token, json!({ "state": to }))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "running → {to}: {}",
            reply.body
        );
    }
    // Handing it in for review is its to do.
    let handed_in = api
        .changed(&path, &org.worker.token, json!({ "state": "in_review" }))
        .await;
    assert_eq!(handed_in["state"], "in_review");
}

tutti_store::on_both_backends!(
    an_ai_worker_never_marks_work_done_or_cancels_it,
    an_ai_worker_never_marks_work_done_or_cancels_it_on_sqlite,
    an_ai_worker_never_marks_work_done_or_cancels_it_on_postgres
);

async fn a_person_in_charge_accepts_or_closes_delivered_work<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let (_, run) = delivered(&store, &api, &org).await;
    let reviewed = api
        .created(
            &format!("/runs/{run}/review"),
            &org.lead.token,
            json!({ "verdict": "accept", "rating": 4 }),
        )
        .await;
    assert_eq!(reviewed["review"]["verdict"], "accept");
    let (second, _) = delivered(&store, &api, &org).await;
    let closed = api
        .changed(
            &format!("/work-items/{}", id(&second)),
            &org.lead.token,
            json!({ "state": "cancelled" }),
        )
        .await;
    assert_eq!(closed["state"], "cancelled");
    // A member with no say over the work cannot.
    let (third, _) = delivered(&store, &api, &org).await;
    let reply = api
        .patch(
            &format!("/work-items/{}", id(&third)),
            &org.colleague.token,
            json!({ "state": "done" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

tutti_store::on_both_backends!(
    a_person_in_charge_accepts_or_closes_delivered_work,
    a_person_in_charge_accepts_or_closes_delivered_work_on_sqlite,
    a_person_in_charge_accepts_or_closes_delivered_work_on_postgres
);
