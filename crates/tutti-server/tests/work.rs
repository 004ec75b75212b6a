//! Work items through the API, on SQLite and PostgreSQL: who creates and
//! changes work, its legal moves, its filters, and who may move delivered
//! work. An AI worker hands its work in for review; only a person accepts,
//! closes or cancels it.

#![expect(clippy::unwrap_used)]

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use tutti_domain::labour::Tokens;
use tutti_store::prelude::*;
use tutti_store::{EngineNode, EventFilter, RunEnd};
use uuid::Uuid;

use crate::support;
use support::{Api, Lindner, Strategy, id, today};

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

tutti_store::behaviour!(an_ai_worker_cannot_close_its_own_review);

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

tutti_store::behaviour!(an_ai_worker_never_marks_work_done_or_cancels_it);

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

tutti_store::behaviour!(a_person_in_charge_accepts_or_closes_delivered_work);

async fn members_create_and_change_only_their_own_work<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let mine = api
        .created(
            "/work-items",
            &org.member.token,
            json!({ "title": "Kunden anrufen", "assignee_id": org.member.id, "team_id": org.service }),
        )
        .await;
    assert_eq!(mine["state"], "backlog");
    let for_colleague = api
        .post(
            "/work-items",
            &org.member.token,
            json!({ "title": "Für Lea", "assignee_id": org.colleague.id }),
        )
        .await;
    assert_eq!(for_colleague.status, StatusCode::FORBIDDEN);
    let leads_work = api
        .created(
            "/work-items",
            &org.lead.token,
            json!({ "title": "Für Lea", "assignee_id": org.colleague.id, "team_id": org.service }),
        )
        .await;
    let not_mine = api
        .patch(
            &format!("/work-items/{}", id(&leads_work)),
            &org.member.token,
            json!({ "state": "ready" }),
        )
        .await;
    assert_eq!(not_mine.status, StatusCode::FORBIDDEN);
    let by_viewer = api
        .post("/work-items", &org.viewer.token, json!({ "title": "Nein" }))
        .await;
    assert_eq!(by_viewer.status, StatusCode::FORBIDDEN);
    let handed_off = api
        .patch(
            &format!("/work-items/{}", id(&mine)),
            &org.member.token,
            json!({ "assignee_id": org.colleague.id }),
        )
        .await;
    assert_eq!(handed_off.status, StatusCode::FORBIDDEN);
}

tutti_store::behaviour!(members_create_and_change_only_their_own_work);

async fn an_illegal_move_is_a_conflict_naming_the_moves_allowed<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let mine = api
        .created(
            "/work-items",
            &org.member.token,
            json!({ "title": "Kunden anrufen", "assignee_id": org.member.id }),
        )
        .await;
    let path = format!("/work-items/{}", id(&mine));
    let skip = api
        .patch(&path, &org.member.token, json!({ "state": "done" }))
        .await;
    // The move conflicts with the state the item is in.
    assert_eq!(skip.status, StatusCode::CONFLICT, "{}", skip.body);
    assert!(
        skip.body["detail"].as_str().unwrap().contains("ready"),
        "the refusal names the moves allowed: {}",
        skip.body
    );
    let ready = api
        .changed(&path, &org.member.token, json!({ "state": "ready" }))
        .await;
    assert_eq!(ready["state"], "ready");
}

tutti_store::behaviour!(an_illegal_move_is_a_conflict_naming_the_moves_allowed);

async fn a_due_date_is_set_and_cleared_with_null<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let mine = api
        .created(
            "/work-items",
            &org.member.token,
            json!({ "title": "Kunden anrufen" }),
        )
        .await;
    let path = format!("/work-items/{}", id(&mine));
    let set = api
        .changed(&path, &org.member.token, json!({ "due": "2026-12-01" }))
        .await;
    assert_eq!(set["due"], "2026-12-01");
    let cleared = api
        .changed(&path, &org.member.token, json!({ "due": null }))
        .await;
    assert_eq!(cleared["due"], Value::Null);
    let untouched = api
        .changed(
            &path,
            &org.member.token,
            json!({ "title": "Kundin anrufen" }),
        )
        .await;
    assert_eq!(untouched["due"], Value::Null);
}

tutti_store::behaviour!(a_due_date_is_set_and_cleared_with_null);

async fn work_is_listed_by_key_result_alignment_state_and_page<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    let aligned = api
        .created(
            "/work-items",
            &org.member.token,
            json!({ "title": "Kunden anrufen", "key_result_id": id(&strategy.renewals), "state": "ready" }),
        )
        .await;
    let unaligned = api
        .created(
            "/work-items",
            &org.member.token,
            json!({ "title": "Aufräumen" }),
        )
        .await;
    let ids = |body: &Value| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect::<Vec<_>>()
    };
    let served = api
        .get(
            &format!("/work-items?key_result={}", id(&strategy.renewals)),
            &org.viewer.token,
        )
        .await
        .body;
    assert_eq!(ids(&served), vec![id(&aligned)]);
    let serving_none = api
        .get("/work-items?unaligned=true", &org.viewer.token)
        .await
        .body;
    assert_eq!(ids(&serving_none), vec![id(&unaligned)]);
    let ready = api
        .get("/work-items?state=ready", &org.viewer.token)
        .await
        .body;
    assert_eq!(ids(&ready), vec![id(&aligned)]);
    let first_page = api.get("/work-items?limit=1", &org.viewer.token).await.body;
    let cursor = first_page["next_cursor"].as_str().unwrap();
    let second_page = api
        .get(
            &format!("/work-items?limit=1&cursor={cursor}"),
            &org.viewer.token,
        )
        .await
        .body;
    assert_ne!(id(&first_page["items"][0]), id(&second_page["items"][0]));
    assert_eq!(second_page["next_cursor"], Value::Null);
}

tutti_store::behaviour!(work_is_listed_by_key_result_alignment_state_and_page);

fn jira_item(
    key: &str,
    title: &str,
    state: &str,
    parent: Option<&str>,
    assignee: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({ "key": key, "title": title, "state": state, "parent_key": parent,
                        "assignee": assignee, "labels": ["wartung"], "due": "2026-03-17" })
}

async fn imported_work_is_keyed_by_its_jira_key_and_a_refusal_writes_nothing<S: Store>(store: S) {
    use serde_json::json;
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    // Children before parents in the file: the import places parents first.
    let items = json!([
        jira_item(
            "WART-3",
            "Filter tauschen",
            "done",
            Some("WART-2"),
            Some("JONAS@lindner.de")
        ),
        jira_item(
            "WART-2",
            "Anlage Hoffmann warten",
            "running",
            Some("WART-1"),
            Some("Aylin")
        ),
        jira_item(
            "WART-1",
            "Wartungsrunde März",
            "backlog",
            None,
            Some("Emil")
        ),
        jira_item(
            "WART-4",
            "Verwaiste Aufgabe",
            "backlog",
            Some("NOPE-9"),
            None
        ),
    ]);
    let import =
        |dry_run: bool| json!({ "team_id": org.service, "dry_run": dry_run, "items": items });
    let count = || async {
        api.get(
            &format!("/work-items?team={}", org.service),
            &org.lead.token,
        )
        .await
        .body["items"]
            .as_array()
            .unwrap()
            .len()
    };

    // A member may not import into the team; the lead may; dry runs write nothing.
    let denied = api
        .post("/work-items/import", &org.member.token, import(false))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    let dry = api
        .post("/work-items/import", &org.lead.token, import(true))
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    assert_eq!(dry.body["created"], 4);
    assert_eq!(count().await, 0);

    let done = api
        .post("/work-items/import", &org.lead.token, import(false))
        .await
        .body;
    assert_eq!(
        (done["created"].as_i64(), done["updated"].as_i64()),
        (Some(4), Some(0)),
        "{done}"
    );
    // An AI worker is never matched (no run is queued for imported work).
    assert_eq!(done["unmatched_assignees"], json!(["Emil"]));
    assert_eq!(done["missing_parents"], json!(["WART-4"]));
    let id_of = |key: &str| {
        done["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let task = api
        .get(&format!("/work-items/{}", id_of("WART-3")), &org.lead.token)
        .await
        .body;
    assert_eq!(task["parent_id"], json!(id_of("WART-2")));
    assert_eq!(task["assignee_id"], json!(org.member.id));
    assert_eq!(task["state"], "done");
    let story = api
        .get(&format!("/work-items/{}", id_of("WART-2")), &org.lead.token)
        .await
        .body;
    assert_eq!(story["assignee_id"], json!(org.lead.id));
    assert_eq!(story["state"], "running");

    // Again: unchanged, and nothing duplicated.
    let again = api
        .post("/work-items/import", &org.lead.token, import(false))
        .await
        .body;
    assert_eq!(again["unchanged"], 4, "{again}");
    assert_eq!(count().await, 4);

    // The lead hands the epic to Emil, whose run is queued; a re-import
    // leaves it in his hands and state.
    let epic = id_of("WART-1");
    api.changed(
        &format!("/work-items/{epic}"),
        &org.lead.token,
        json!({ "assignee_id": org.worker.id, "state": "ready" }),
    )
    .await;
    let again = api
        .post("/work-items/import", &org.lead.token, import(false))
        .await
        .body;
    assert_eq!(again["unchanged"], 4, "{again}");
    let kept = api
        .get(&format!("/work-items/{epic}"), &org.lead.token)
        .await
        .body;
    assert_eq!(
        (&kept["assignee_id"], &kept["state"]),
        (&json!(org.worker.id), &json!("ready"))
    );

    // One title tutti cannot keep: refused naming the key, nothing written.
    let long = "x".repeat(201);
    let refused = api
        .post(
            "/work-items/import",
            &org.lead.token,
            json!({ "team_id": org.service, "items": [
                jira_item("WART-5", "Neu", "backlog", None, None),
                jira_item("WART-6", &long, "backlog", None, None)] }),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["field"], "items[WART-6].title");
    assert_eq!(count().await, 4);
    let trail = api
        .get("/events?action=work_items.imported", &org.owner.token)
        .await
        .body;
    assert_eq!(trail["items"].as_array().unwrap().len(), 3, "{trail}");
}

tutti_store::behaviour!(imported_work_is_keyed_by_its_jira_key_and_a_refusal_writes_nothing);
