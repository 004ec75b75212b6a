//! Decision spaces and decisions through the API, on SQLite and PostgreSQL:
//! policies validated on save, decisions routed by them, votes, escalation,
//! drafting by the AI worker, simulation, outcomes and the register.

#![expect(clippy::unwrap_used)]

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use tutti_store::EngineNode;
use tutti_store::prelude::*;

use crate::support;
use support::{Api, Sales, id, today};

async fn a_policy_that_does_not_compile_is_refused_with_its_line_and_column<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let space = |policy: &str| json!({ "name": "Neu", "team_id": sales.team, "policy": policy });
    let broken = api
        .post(
            "/decision-spaces",
            &sales.aylin.token,
            space("permit (principal, action, resource)\nwhen { resource.amount < };"),
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
            &sales.aylin.token,
            space("permit (principal, action, resource) when { resource.colour == 1 };"),
        )
        .await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mistyped.body["detail"].as_str().unwrap().contains("line 1"),
        "{}",
        mistyped.body
    );
}

tutti_store::behaviour!(a_policy_that_does_not_compile_is_refused_with_its_line_and_column);

async fn only_leads_and_admins_shape_a_space_and_never_an_ai_worker<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let body = json!({ "name": "Kulanz", "team_id": sales.team, "policy": sales.discounts });
    for token in [&sales.emil.token, &sales.jonas.token, &sales.vera.token] {
        let refused = api.post("/decision-spaces", token, body.clone()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let space = api
        .created("/decision-spaces", &sales.aylin.token, body)
        .await;
    assert_eq!(space["version"], 1);
    let by_ai = api
        .patch(
            &format!("/decision-spaces/{}", id(&space)),
            &sales.emil.token,
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
    let edited = api
        .changed(
            &format!("/decision-spaces/{}", id(&space)),
            &sales.aylin.token,
            json!({ "quorum": 2 }),
        )
        .await;
    assert_eq!(
        (edited["version"].as_i64(), edited["quorum"].as_i64()),
        (Some(2), Some(2))
    );
}

tutti_store::behaviour!(only_leads_and_admins_shape_a_space_and_never_an_ai_worker);

async fn a_small_reversible_decision_is_the_ai_workers_and_is_logged<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let small = api
        .created(
            "/decisions",
            &sales.emil.token,
            sales.raise("500", "10 % Rabatt"),
        )
        .await;
    assert_eq!(small["status"], "decided", "{small}");
    assert_eq!(small["routing"]["autonomy"], "ai_decides");
    assert_eq!(
        small["routing"]["verdicts"][0]["policies"],
        json!(["ai-decides-small-reversible"])
    );
    assert_eq!(small["decided_by"], sales.emil.id.as_str());
    assert_eq!(small["choice"], "10 % Rabatt");
    assert_eq!(
        sales.trail(&api, &id(&small)).await,
        ["decision.requested", "decision.decided"]
    );
}

tutti_store::behaviour!(a_small_reversible_decision_is_the_ai_workers_and_is_logged);

/// A 5 000 EUR discount Emil prepared, approved by both leads.
async fn approved_by_two_leads(api: &Api, sales: &Sales) -> String {
    let large = api
        .created(
            "/decisions",
            &sales.emil.token,
            sales.raise("5000", "10 % Rabatt"),
        )
        .await;
    let path = format!("/decisions/{}/approve", id(&large));
    for lead in [&sales.aylin, &sales.bernd] {
        let reply = api
            .post(&path, &lead.token, Sales::approve("10 % Rabatt"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    id(&large)
}

async fn a_larger_decision_is_prepared_and_two_leads_must_agree<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let large = api
        .created(
            "/decisions",
            &sales.emil.token,
            sales.raise("5000", "10 % Rabatt"),
        )
        .await;
    let large_id = id(&large);
    assert_eq!(large["status"], "awaiting_approval", "{large}");
    assert_eq!(large["routing"]["autonomy"], "ai_prepares");
    assert_eq!(large["routing"]["quorum"], 2);
    assert_eq!(large["recommendation"]["option"], "10 % Rabatt");
    let approve = format!("/decisions/{large_id}/approve");
    let unknown = api
        .post(&approve, &sales.aylin.token, Sales::approve("20 % Rabatt"))
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Waiting on the two leads, not on Jonas.
    let waiting = api
        .get("/decisions?awaiting=me", &sales.aylin.token)
        .await
        .body;
    assert!(
        waiting["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == large_id.as_str())
    );
    let not_jonas = api
        .get("/decisions?awaiting=me", &sales.jonas.token)
        .await
        .body;
    assert!(not_jonas["items"].as_array().unwrap().is_empty());
    let first = api
        .post(&approve, &sales.aylin.token, Sales::approve("10 % Rabatt"))
        .await;
    assert_eq!(
        (first.status, first.body["status"].as_str()),
        (StatusCode::OK, Some("awaiting_approval"))
    );
    let twice = api
        .post(&approve, &sales.aylin.token, Sales::approve("10 % Rabatt"))
        .await;
    assert_eq!(
        twice.status,
        StatusCode::CONFLICT,
        "the same person never counts twice"
    );
    let second = api
        .post(&approve, &sales.bernd.token, Sales::approve("10 % Rabatt"))
        .await;
    assert_eq!(second.body["status"], "decided", "{}", second.body);
    assert_eq!(second.body["choice"], "10 % Rabatt");
    let shown = api
        .get(&format!("/decisions/{large_id}"), &sales.vera.token)
        .await
        .body;
    let trail = shown["trail"].as_array().unwrap();
    assert_eq!(
        sales.trail(&api, &large_id).await,
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
        .post(&approve, &sales.jonas.token, Sales::approve("Kein Rabatt"))
        .await;
    assert_eq!(late.status, StatusCode::FORBIDDEN);
}

tutti_store::behaviour!(a_larger_decision_is_prepared_and_two_leads_must_agree);

async fn an_ai_worker_never_approves_whatever_the_policy_says<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let large = api
        .created(
            "/decisions",
            &sales.emil.token,
            sales.raise("5000", "10 % Rabatt"),
        )
        .await;
    let approve = format!("/decisions/{}/approve", id(&large));
    // The AI worker's own approval is refused, naming the policy that also
    // refuses it; a viewer's by role; a plain member's because no policy
    // permits it.
    let by_emil = api
        .post(&approve, &sales.emil.token, Sales::approve("10 % Rabatt"))
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
        .post(&approve, &sales.vera.token, Sales::approve("10 % Rabatt"))
        .await;
    assert_eq!(by_vera.status, StatusCode::FORBIDDEN);
    let by_jonas = api
        .post(&approve, &sales.jonas.token, Sales::approve("10 % Rabatt"))
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
    let shown = api
        .get(&format!("/decisions/{}", id(&large)), &sales.vera.token)
        .await
        .body;
    assert!(shown["ballots"].as_array().unwrap().is_empty(), "{shown}");
}

tutti_store::behaviour!(an_ai_worker_never_approves_whatever_the_policy_says);

async fn people_cannot_speak_for_an_ai_worker_nor_assign_a_decision_to_a_person<S: Store>(
    store: S,
) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let facts = Sales::facts("1", true);
    let forged = api
        .post(
            "/decisions",
            &sales.aylin.token,
            json!({ "space_id": sales.space, "question": "Q", "facts": facts,
               "options": ["a", "b"], "assignee_id": sales.emil.id,
               "proposal": { "option": "a", "rationale": "r", "confidence": 1.0 } }),
        )
        .await;
    assert_eq!(
        (forged.status, forged.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("proposal"))
    );
    let to_person = api
        .post(
            "/decisions",
            &sales.aylin.token,
            json!({ "space_id": sales.space, "question": "Q", "facts": facts,
               "options": ["a", "b"], "assignee_id": sales.jonas.id }),
        )
        .await;
    assert_eq!(
        (to_person.status, to_person.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("assignee_id"))
    );
}

tutti_store::behaviour!(people_cannot_speak_for_an_ai_worker_nor_assign_a_decision_to_a_person);

async fn an_ai_worker_acts_only_in_the_spaces_of_its_own_teams<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    // Team Service has a space with the same permissive policy; Emil works
    // in Vertrieb.
    let service = id(&api
        .created("/teams", &sales.owner, json!({ "name": "Service" }))
        .await);
    let kulanz = id(&api
        .created(
            "/decision-spaces",
            &sales.owner,
            json!({ "name": "Kulanz", "team_id": service, "policy": sales.discounts }),
        )
        .await);
    let mut foreign = sales.raise("500", "10 % Rabatt");
    foreign["space_id"] = json!(kulanz);
    let refused = api.post("/decisions", &sales.emil.token, foreign).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("its own teams"),
        "{}",
        refused.body
    );
    // A person cannot send him there either.
    let assigned = api
        .post(
            "/decisions",
            &sales.owner,
            json!({ "space_id": kulanz, "question": "Kulanz für Kunde?", "facts": Sales::facts("100", true),
                    "options": ["Ja", "Nein"], "assignee_id": sales.emil.id }),
        )
        .await;
    assert_eq!(
        (assigned.status, assigned.body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("assignee_id")),
        "{}",
        assigned.body
    );
    let stored = api
        .get(&format!("/decisions?space={kulanz}"), &sales.owner)
        .await;
    assert_eq!(stored.body["items"], json!([]), "nothing was written");
    let events = api.get("/events?limit=500", &sales.owner).await.body;
    assert!(
        !events.to_string().contains("decision.requested"),
        "no decision was audited: {events}"
    );

    // A space of a team covers the teams below it: Nora works in a
    // sub-team of Vertrieb and decides in Vertrieb's space.
    let nord = id(&api
        .created(
            "/teams",
            &sales.owner,
            json!({ "name": "Vertrieb Nord", "parent_id": sales.team }),
        )
        .await);
    let nora = support::Person::added(
        &api,
        &sales.owner,
        json!({ "name": "Nora", "kind": "ai", "provider": "lokal", "model": "klein", "teams": [nord] }),
    )
    .await;
    let own = api
        .created("/decisions", &nora.token, sales.raise("500", "10 % Rabatt"))
        .await;
    assert_eq!(own["status"], "decided", "{own}");
}

tutti_store::behaviour!(an_ai_worker_acts_only_in_the_spaces_of_its_own_teams);

async fn a_decision_needs_two_to_ten_distinct_options_and_whole_amounts<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    for (body, field) in [
        (
            json!({ "space_id": sales.space, "question": "Q", "facts": Sales::facts("1.234", true), "options": ["a", "b"] }),
            "amount",
        ),
        (
            json!({ "space_id": sales.space, "question": "Q", "facts": Sales::facts("1", true), "options": ["a"] }),
            "options",
        ),
        (
            json!({ "space_id": sales.space, "question": "Q", "facts": Sales::facts("1", true), "options": ["a", "a"] }),
            "options[1]",
        ),
    ] {
        let reply = api.post("/decisions", &sales.aylin.token, body).await;
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
            &sales.aylin.token,
            json!({ "space_id": sales.space, "question": "Q" }),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
}

tutti_store::behaviour!(a_decision_needs_two_to_ten_distinct_options_and_whole_amounts);

async fn the_requester_is_never_the_only_approver_and_one_rejection_closes<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let own = api
        .created(
            "/decisions",
            &sales.aylin.token,
            json!({ "space_id": sales.space, "question": "Messestand buchen?",
                 "facts": Sales::facts("800", false), "options": ["Ja", "Nein"] }),
        )
        .await;
    assert_eq!(own["routing"]["autonomy"], "human_only");
    let self_approved = api
        .post(
            &format!("/decisions/{}/approve", id(&own)),
            &sales.aylin.token,
            Sales::approve("Ja"),
        )
        .await;
    assert_eq!(self_approved.body["status"], "awaiting_approval");
    let rejected = api
        .post(
            &format!("/decisions/{}/reject", id(&own)),
            &sales.bernd.token,
            json!({ "reason": "Zu teuer." }),
        )
        .await;
    assert_eq!(rejected.body["status"], "rejected", "{}", rejected.body);
}

tutti_store::behaviour!(the_requester_is_never_the_only_approver_and_one_rejection_closes);

async fn an_overdue_decision_escalates_to_who_may_then_decide_alone<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let waiting = api
        .created(
            "/decisions",
            &sales.emil.token,
            sales.raise("7000", "Kein Rabatt"),
        )
        .await;
    let waiting_id = id(&waiting);
    let policies = &api.runtime.policies;
    let early = tutti_engine::decisions::escalate_overdue(
        &store,
        policies,
        today() + Duration::minutes(59),
    )
    .await
    .unwrap();
    assert!(early.is_empty(), "nothing before the deadline");
    let escalated =
        tutti_engine::decisions::escalate_overdue(&store, policies, today() + Duration::hours(2))
            .await
            .unwrap();
    assert_eq!(escalated.len(), 1);
    let shown = api
        .get(&format!("/decisions/{waiting_id}"), &sales.vera.token)
        .await
        .body;
    assert_eq!(shown["status"], "escalated");
    assert_eq!(shown["escalated_to"], sales.bernd.id.as_str());
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
            &sales.bernd.token,
            Sales::approve("Kein Rabatt"),
        )
        .await;
    assert_eq!(alone.body["status"], "decided", "{}", alone.body);
}

tutti_store::behaviour!(an_overdue_decision_escalates_to_who_may_then_decide_alone);

fn ask_emil(sales: &Sales, question: &str) -> Value {
    json!({ "space_id": sales.space, "question": question, "facts": Sales::facts("6000", true),
            "options": ["3 %", "5 %"], "assignee_id": sales.emil.id })
}

async fn a_decision_a_person_asks_is_drafted_once_and_handed_to_people_when_the_worker_cannot<
    S: Store,
>(
    store: S,
) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let asked = api
        .created(
            "/decisions",
            &sales.aylin.token,
            ask_emil(&sales, "Staffelrabatt?"),
        )
        .await;
    assert_eq!(asked["status"], "open", "{asked}");
    // An AI worker's own open decision is left to it.
    let emils_own = api
        .created(
            "/decisions",
            &sales.emil.token,
            json!({ "space_id": sales.space, "question": "Eigene Frage", "facts": Sales::facts("6000", true),
                    "options": ["a", "b"] }),
        )
        .await;
    assert_eq!(emils_own["status"], "open", "{emils_own}");
    let later = today() + Duration::hours(3);
    // This process has no model: while another with the embedded model is
    // alive, Emil's decision is left to that one.
    let modelless = EngineNode {
        name: "ohne-modell".into(),
        embedded_model: api.runtime.models.has_embedded(),
    };
    assert!(!modelless.embedded_model);
    let with_model = EngineNode {
        name: "mit-modell".into(),
        embedded_model: true,
    };
    store
        .announce_node(&with_model, later, later + Duration::seconds(6))
        .await
        .unwrap();
    let left = tutti_engine::decisions::claim_drafts(&store, &modelless, later, 10)
        .await
        .unwrap();
    assert!(left.is_empty(), "left to the process with the model");
    // That process is gone: people get the decision, and are told why.
    let later = later + Duration::seconds(7);
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
    assert_eq!(claimed[0].worker.id.to_string(), sales.emil.id);
    let again =
        tutti_engine::decisions::claim_drafts(&store, &modelless, later + Duration::minutes(4), 10)
            .await
            .unwrap();
    assert!(again.is_empty(), "a held claim is not taken twice");
    let handed = tutti_engine::decisions::draft(&store, &api.runtime, claimed.remove(0))
        .await
        .unwrap();
    assert_eq!(handed.status.as_str(), "awaiting_approval");
    let shown = api
        .get(&format!("/decisions/{}", id(&asked)), &sales.vera.token)
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
}

tutti_store::behaviour!(
    a_decision_a_person_asks_is_drafted_once_and_handed_to_people_when_the_worker_cannot
);

async fn a_lapsed_drafting_claim_is_taken_again<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let asked = api
        .created(
            "/decisions",
            &sales.aylin.token,
            ask_emil(&sales, "Zweiter Staffelrabatt?"),
        )
        .await;
    let node = EngineNode {
        name: "ohne-modell".into(),
        embedded_model: false,
    };
    let later = today() + Duration::hours(3);
    let first = tutti_engine::decisions::claim_drafts(&store, &node, later, 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let lapsed =
        tutti_engine::decisions::claim_drafts(&store, &node, later + Duration::minutes(6), 10)
            .await
            .unwrap();
    assert_eq!(
        lapsed
            .iter()
            .map(|d| d.decision.id.to_string())
            .collect::<Vec<_>>(),
        [id(&asked)],
        "a lapsed claim is taken again"
    );
}

tutti_store::behaviour!(a_lapsed_drafting_claim_is_taken_again);

async fn a_policy_that_denies_everything_sends_everything_to_people_and_says_why<S: Store>(
    store: S,
) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let closed = api
        .created(
            "/decision-spaces",
            &sales.aylin.token,
            json!({ "name": "Lieferanten", "team_id": sales.team,
                 "policy": "@id(\"deny-all\")\nforbid (principal, action, resource);" }),
        )
        .await;
    let supplier = api
        .created(
            "/decisions",
            &sales.emil.token,
            json!({ "space_id": id(&closed), "question": "Lieferant A oder B?",
                 "facts": Sales::facts("100", true), "options": ["A", "B"],
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
            &sales.vera.token,
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
            Some(&sales.vera.token),
            None,
            &[],
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
}

tutti_store::behaviour!(a_policy_that_denies_everything_sends_everything_to_people_and_says_why);

async fn a_simulation_routes_by_the_policy_or_a_draft_and_stores_nothing<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let count = || async {
        api.get("/decision-register", &sales.vera.token)
            .await
            .body
            .as_array()
            .unwrap()
            .len()
    };
    let before = count().await;
    let path = format!("/decision-spaces/{}/simulate", sales.space);
    let simulated = api
        .post(
            &path,
            &sales.jonas.token,
            json!({ "facts": Sales::facts("500", true), "assignee_id": sales.emil.id, "approver_id": sales.jonas.id }),
        )
        .await;
    assert_eq!(
        simulated.body["routing"]["autonomy"], "ai_decides",
        "{}",
        simulated.body
    );
    assert_eq!(simulated.body["approval"]["allowed"], false);
    let draft = api
        .post(
            &path,
            &sales.jonas.token,
            json!({ "facts": Sales::facts("500", true), "assignee_id": sales.emil.id, "policy": "forbid (principal, action, resource);" }),
        )
        .await;
    assert_eq!(draft.body["routing"]["autonomy"], "human_only");
    assert_eq!(count().await, before);
}

tutti_store::behaviour!(a_simulation_routes_by_the_policy_or_a_draft_and_stores_nothing);

async fn people_involved_look_back_on_a_decision_and_the_summary_counts_it<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    api.created(
        "/decisions",
        &sales.emil.token,
        sales.raise("500", "10 % Rabatt"),
    )
    .await;
    let large = approved_by_two_leads(&api, &sales).await;
    let outcome = format!("/decisions/{large}/outcome");
    let by_ai = api
        .post(&outcome, &sales.emil.token, json!({ "outcome": "good" }))
        .await;
    assert_eq!(by_ai.status, StatusCode::FORBIDDEN);
    let by_outsider = api
        .post(&outcome, &sales.jonas.token, json!({ "outcome": "good" }))
        .await;
    assert_eq!(by_outsider.status, StatusCode::FORBIDDEN);
    let reviewed = api
        .post(
            &outcome,
            &sales.bernd.token,
            json!({ "outcome": "good", "note": "Kunde hat verlängert." }),
        )
        .await;
    assert_eq!(reviewed.body["outcome"], "good", "{}", reviewed.body);
    let summary = api
        .get("/decision-register/summary", &sales.vera.token)
        .await
        .body;
    // The small one Emil decided himself; the large one people decided,
    // following his recommendation.
    assert_eq!(summary["ai_decides"], 1, "{summary}");
    assert_eq!(summary["recommended"], 1, "{summary}");
    assert_eq!(summary["followed"], 1, "{summary}");
    assert_eq!(summary["followed_outcomes"]["good"], 1, "{summary}");
    assert_eq!(summary["ai_decided_outcomes"]["unreviewed"], 1, "{summary}");
}

tutti_store::behaviour!(people_involved_look_back_on_a_decision_and_the_summary_counts_it);

async fn work_orders_in_a_spaces_scope_carry_its_principles<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let item = api
        .created(
            "/work-items",
            &sales.aylin.token,
            json!({ "title": "Angebot für Müller KG", "team_id": sales.team,
                 "assignee_id": sales.emil.id, "state": "ready" }),
        )
        .await;
    let runs = api
        .get(&format!("/runs?work_item={}", id(&item)), &sales.vera.token)
        .await
        .body;
    let order = runs["items"][0]["work_order"].as_str().unwrap();
    assert!(
        order.contains("Keine Rabatte über 15 % ohne Rücksprache"),
        "{order}"
    );
}

tutti_store::behaviour!(work_orders_in_a_spaces_scope_carry_its_principles);

async fn a_space_in_use_keeps_its_register_and_another_org_sees_none_of_it<S: Store>(store: S) {
    let api = Api::new(&store);
    let sales = Sales::new(&store, &api).await;
    let large = approved_by_two_leads(&api, &sales).await;
    let space = format!("/decision-spaces/{}", sales.space);
    let in_use = api
        .send("DELETE", &space, Some(&sales.aylin.token), None, &[])
        .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    for path in [format!("/decisions/{large}"), space] {
        assert_eq!(
            api.get(&path, &sales.stranger).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let foreign = api
        .post(
            &format!("/decisions/{large}/approve"),
            &sales.stranger,
            Sales::approve("Kein Rabatt"),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let verified = api.get("/events/verify", &sales.owner).await.body;
    assert_eq!(verified["intact"], true, "{verified}");
}

tutti_store::behaviour!(a_space_in_use_keeps_its_register_and_another_org_sees_none_of_it);
