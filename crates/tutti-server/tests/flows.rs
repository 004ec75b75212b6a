//! Flows and quality gates through the API, on SQLite and PostgreSQL: a case
//! walks Vertrieb → Montage → Service, judged at each gate by a verdict that
//! is a decision in the flow's space, with its criteria kept as they were;
//! promises are kept and broken; a learning from Service amends a gate.

#![expect(clippy::unwrap_used)]

use axum::http::StatusCode;
use serde_json::{Value, json};
use tutti_store::prelude::*;

use crate::support;
use support::{Api, Lindner, Person, id};

/// Lindner's order flow with its gates' space: Vertrieb (sales) → Montage
/// (service) → Service (service). The space runs the quality-gates starter
/// policy in the service team.
struct Orders {
    org: Lindner,
    /// Bernd sells.
    seller: Person,
    flow: Value,
    first_gate: String,
    second_gate: String,
}

impl Orders {
    async fn new<S: Store>(store: &S, api: &Api) -> Self {
        let org = Lindner::new(store, api).await;
        let seller = Person::added(
            api,
            &org.owner.token,
            json!({ "name": "Bernd", "email": "bernd@lindner.de", "teams": [org.sales] }),
        )
        .await;
        let templates = api
            .get("/decision-spaces/templates", &org.lead.token)
            .await
            .body;
        let gates_policy = templates["templates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "quality-gates")
            .unwrap()["source"]
            .clone();
        let space = api
            .created(
                "/decision-spaces",
                &org.lead.token,
                json!({ "name": "Übergaben", "team_id": org.service, "policy": gates_policy }),
            )
            .await;
        let flow = api
            .created(
                "/flows",
                &org.lead.token,
                json!({ "name": "Auftrag", "space_id": id(&space), "stages": [
                    { "name": "Vertrieb", "team_id": org.sales },
                    { "name": "Montage", "team_id": org.service },
                    { "name": "Service", "team_id": org.service },
                ] }),
            )
            .await;
        let shown = api
            .get(&format!("/flows/{}", id(&flow)), &org.member.token)
            .await
            .body;
        let gates = shown["gates"].as_array().unwrap();
        assert_eq!(gates.len(), 2);
        assert_eq!(gates[0]["name"], "Vertrieb → Montage");
        Self {
            first_gate: id(&gates[0]),
            second_gate: id(&gates[1]),
            org,
            seller,
            flow,
        }
    }

    async fn criteria(&self, api: &Api, gate: &str, based_on: i64, criteria: Value) -> Value {
        let reply = api
            .send(
                "PUT",
                &format!("/gates/{gate}/criteria"),
                Some(&self.org.lead.token),
                Some(&json!({ "criteria": criteria, "based_on": based_on }).to_string()),
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body
    }
}

fn person_check(text: &str) -> Value {
    json!({ "text": text, "check_by": "person" })
}

async fn check(api: &Api, token: &str, case: &str, criterion: &str, passed: bool, reason: &str) {
    let reply = api
        .post(
            &format!("/cases/{case}/checks"),
            token,
            json!({ "criterion": criterion, "passed": passed, "reason": reason }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

async fn a_case_walks_its_flow_judged_by_decisions_and_a_learning_amends_a_gate<S: Store>(
    store: S,
) {
    let api = Api::new(&store);
    let orders = Orders::new(&store, &api).await;
    let org = &orders.org;
    let signed_off = json!({ "text": "Alle Zusagen von der Montage abgesichert", "check_by": "rule", "rule": "promises_signed_off" });
    orders
        .criteria(
            &api,
            &orders.first_gate,
            1,
            json!([signed_off, person_check("Liefertermin abgestimmt")]),
        )
        .await;
    orders
        .criteria(
            &api,
            &orders.second_gate,
            1,
            json!([person_check("Abnahmeprotokoll unterschrieben")]),
        )
        .await;

    // Sales opens the case and promises the customer; Montage signs it off.
    let order = api
        .created(
            "/work-items",
            &orders.seller.token,
            json!({ "title": "Heizungstausch Hoffmann", "team_id": org.sales }),
        )
        .await;
    let outsider = api
        .post(
            "/cases",
            &org.member.token,
            json!({ "flow_id": id(&orders.flow), "title": "x" }),
        )
        .await;
    assert_eq!(
        outsider.status,
        StatusCode::FORBIDDEN,
        "only the first stage opens cases"
    );
    let case = api
        .created(
            "/cases",
            &orders.seller.token,
            json!({ "flow_id": id(&orders.flow), "title": "Heizungstausch Hoffmann",
                    "customer": "Familie Hoffmann", "work_item_id": id(&order) }),
        )
        .await;
    let case_id = id(&case);
    let promise = api
        .created(
            "/promises",
            &orders.seller.token,
            json!({ "title": "Neue Heizung läuft vor Weihnachten", "customer": "Familie Hoffmann",
                    "due_at": "2026-12-20T16:00:00Z", "made_by_team_id": org.sales,
                    "keeper_team_id": org.service, "work_item_id": id(&order) }),
        )
        .await;

    // The sending stage does not check its own gate; the receiving one does.
    let own = api
        .post(
            &format!("/cases/{case_id}/checks"),
            &orders.seller.token,
            json!({ "criterion": "Liefertermin abgestimmt", "passed": true }),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    check(
        &api,
        &org.member.token,
        &case_id,
        "Liefertermin abgestimmt",
        true,
        "KW 51 bestätigt",
    )
    .await;
    let unknown = api
        .post(
            &format!("/cases/{case_id}/checks"),
            &org.member.token,
            json!({ "criterion": "Gibt es nicht", "passed": true }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.body["detail"]
            .as_str()
            .unwrap()
            .contains("Liefertermin abgestimmt"),
        "{}",
        unknown.body
    );

    // A go needs every criterion passed: the promise is not signed off yet.
    let early = api
        .post(
            &format!("/cases/{case_id}/verdicts"),
            &org.member.token,
            json!({ "verdict": "go" }),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early.body["detail"]
            .as_str()
            .unwrap()
            .contains("Alle Zusagen"),
        "{}",
        early.body
    );
    let sign = api
        .post(
            &format!("/promises/{}/sign-off", id(&promise)),
            &org.member.token,
            json!({ "feasible": true, "note": "Kessel ist bestellt." }),
        )
        .await;
    assert_eq!(sign.status, StatusCode::OK, "{}", sign.body);

    // Jonas proposes the go; it is a decision in the space, which a lead
    // passes. Until then the case stays where it is.
    let go = api
        .created(
            &format!("/cases/{case_id}/verdicts"),
            &org.member.token,
            json!({ "verdict": "go" }),
        )
        .await;
    assert_eq!(go["status"], "pending");
    assert_eq!(go["decision"]["status"], "awaiting_approval", "{go}");
    let snapshot = go["snapshot"].as_array().unwrap();
    assert_eq!(snapshot.len(), 2);
    assert!(snapshot.iter().all(|c| c["outcome"] == "passed"), "{go}");
    let again = api
        .post(
            &format!("/cases/{case_id}/verdicts"),
            &org.member.token,
            json!({ "verdict": "go" }),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "one verdict waits at a time: {}",
        again.body
    );
    let approved = api
        .post(
            &format!("/decisions/{}/approve", id(&go["decision"])),
            &org.lead.token,
            json!({ "option": "go", "reason": "Passt." }),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let shown = api
        .get(&format!("/cases/{case_id}"), &org.viewer.token)
        .await
        .body;
    assert_eq!(
        (shown["stage"].as_i64(), shown["stage_name"].as_str()),
        (Some(1), Some("Montage"))
    );
    assert_eq!(shown["verdicts"][0]["status"], "given");
    assert_eq!(
        shown["verdicts"][0]["snapshot"][0]["text"],
        "Alle Zusagen von der Montage abgesichert"
    );
    assert_eq!(
        shown["gate"]["id"].as_str(),
        Some(orders.second_gate.as_str())
    );

    // At the second gate the case is sent back with what to redo; the
    // stage starts again, and its earlier checks no longer count.
    check(
        &api,
        &org.colleague.token,
        &case_id,
        "Abnahmeprotokoll unterschrieben",
        true,
        "liegt vor",
    )
    .await;
    let no_redo = api
        .post(
            &format!("/cases/{case_id}/verdicts"),
            &org.member.token,
            json!({ "verdict": "recycle" }),
        )
        .await;
    assert_eq!(no_redo.status, StatusCode::UNPROCESSABLE_ENTITY);
    let recycle = api
        .created(
            &format!("/cases/{case_id}/verdicts"),
            &org.member.token,
            json!({ "verdict": "recycle", "redo": "Protokoll ohne Unterschrift des Kunden" }),
        )
        .await;
    api.post(
        &format!("/decisions/{}/approve", id(&recycle["decision"])),
        &org.lead.token,
        json!({ "option": "recycle", "reason": "Unterschrift fehlt." }),
    )
    .await;
    let shown = api
        .get(&format!("/cases/{case_id}"), &org.viewer.token)
        .await
        .body;
    assert_eq!(shown["stage"].as_i64(), Some(1));
    assert_eq!(shown["redo"], "Protokoll ohne Unterschrift des Kunden");
    assert_eq!(shown["criteria"][0]["outcome"], "unchecked", "{shown}");
    check(
        &api,
        &org.colleague.token,
        &case_id,
        "Abnahmeprotokoll unterschrieben",
        true,
        "jetzt unterschrieben",
    )
    .await;
    let second = api
        .created(
            &format!("/cases/{case_id}/verdicts"),
            &org.member.token,
            json!({ "verdict": "go" }),
        )
        .await;
    api.post(
        &format!("/decisions/{}/approve", id(&second["decision"])),
        &org.lead.token,
        json!({ "option": "go", "reason": "Abnahme da." }),
    )
    .await;
    let shown = api
        .get(&format!("/cases/{case_id}"), &org.viewer.token)
        .await
        .body;
    assert_eq!(
        (shown["stage"].as_i64(), shown["status"].as_str()),
        (Some(2), Some("completed"))
    );
    assert_eq!(shown["verdicts"].as_array().unwrap().len(), 3);

    // The promise is kept; another breaks and names its stage and gate.
    let kept = api
        .post(
            &format!("/promises/{}/keep", id(&promise)),
            &org.member.token,
            json!({ "note": "Läuft." }),
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK);
    let second_promise = api
        .created(
            "/promises",
            &orders.seller.token,
            json!({ "title": "Ersatzteil binnen 24 h", "customer": "Familie Hoffmann",
                    "due_at": "2026-11-17T08:00:00Z", "made_by_team_id": org.sales,
                    "keeper_team_id": org.service, "work_item_id": id(&order) }),
        )
        .await;
    let broken = api
        .post(
            &format!("/promises/{}/break", id(&second_promise)),
            &org.member.token,
            json!({ "note": "Großhandel liefert erst in drei Tagen." }),
        )
        .await;
    assert_eq!(broken.status, StatusCode::OK);
    let alerts = api
        .post("/alerts/refresh", &org.owner.token, json!({}))
        .await;
    assert_eq!(alerts.status, StatusCode::OK, "{}", alerts.body);
    let listed = api.get("/alerts?lang=de", &org.owner.token).await.body;
    let broken_alert = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "promise_broken");
    assert!(broken_alert.is_some(), "no promise_broken alert: {listed}");
    let broken_alert = broken_alert.unwrap();
    let text = broken_alert["explanation"].as_str().unwrap();
    assert!(
        text.contains("Kundenservice") && text.contains("Montage → Service"),
        "{text}"
    );

    // Service learns that the part promise was too quick and proposes a new
    // criterion for the first gate; a member cannot accept it, a lead does.
    let learning = api
        .created(
            "/learnings",
            &org.colleague.token,
            json!({ "title": "Ersatzteil-Zusage ohne Lagerprüfung", "team_id": org.service,
                    "body": "Vertrieb sagt 24 h zu, ohne den Lagerbestand zu prüfen.",
                    "gate_id": orders.first_gate, "promise_id": id(&second_promise),
                    "amendment": { "kind": "criteria", "criteria": [
                        signed_off, person_check("Liefertermin abgestimmt"), person_check("Lagerbestand geprüft")
                    ] } }),
        )
        .await;
    let by_member = api
        .post(
            &format!("/learnings/{}/accept", id(&learning)),
            &org.member.token,
            json!({}),
        )
        .await;
    assert_eq!(by_member.status, StatusCode::FORBIDDEN);
    let accepted = api
        .post(
            &format!("/learnings/{}/accept", id(&learning)),
            &org.lead.token,
            json!({ "answer": "Ab sofort." }),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.body["made_version"], 3);
    let gate = api
        .get(&format!("/gates/{}", orders.first_gate), &org.viewer.token)
        .await
        .body;
    assert_eq!(gate["version"], 3);
    assert_eq!(gate["versions"].as_array().unwrap().len(), 3);
    assert_eq!(gate["versions"][2]["learning_id"], accepted.body["id"]);
    assert_eq!(gate["learnings"][0]["status"], "accepted");

    // The next case's verdict is judged by the amended criteria.
    let next = api
        .created(
            "/cases",
            &orders.seller.token,
            json!({ "flow_id": id(&orders.flow), "title": "Wartung Becker" }),
        )
        .await;
    check(
        &api,
        &org.member.token,
        &id(&next),
        "Liefertermin abgestimmt",
        true,
        "",
    )
    .await;
    let refused = api
        .post(
            &format!("/cases/{}/verdicts", id(&next)),
            &org.member.token,
            json!({ "verdict": "go" }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("Lagerbestand geprüft"),
        "{}",
        refused.body
    );
    let hold = api
        .created(
            &format!("/cases/{}/verdicts", id(&next)),
            &org.member.token,
            json!({ "verdict": "hold", "reason": "Lager wird gezählt", "until": "2026-11-20T08:00:00Z" }),
        )
        .await;
    assert_eq!(hold["gate_version"], 3);
    assert_eq!(hold["snapshot"].as_array().unwrap().len(), 3);

    // Every step is in the audit chain.
    let events = api.get("/events?limit=500", &org.owner.token).await.body;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "flow.created",
        "gate.criteria_changed",
        "case.opened",
        "case.checked",
        "case.verdict_proposed",
        "case.verdict_given",
        "learning.written",
        "learning.accepted",
    ] {
        assert!(actions.contains(&action), "no {action} in {actions:?}");
    }

    // Nothing of it crosses into another org.
    let foreign = api.get(&format!("/cases/{case_id}"), &org.stranger).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

async fn an_ai_worker_holds_a_case_on_its_own_but_only_prepares_a_go<S: Store>(store: S) {
    let api = Api::new(&store);
    let orders = Orders::new(&store, &api).await;
    let org = &orders.org;
    let case = api
        .created(
            "/cases",
            &orders.seller.token,
            json!({ "flow_id": id(&orders.flow), "title": "Heizung Yilmaz" }),
        )
        .await;
    let case_id = id(&case);
    // No criteria: a go may be proposed. Emil (service's AI worker) only
    // prepares it: the decision waits on people with his recommendation.
    let go = api
        .created(
            &format!("/cases/{case_id}/verdicts"),
            &org.worker.token,
            json!({ "verdict": "go", "reason": "Alles da." }),
        )
        .await;
    assert_eq!(go["status"], "pending");
    assert_eq!(go["decision"]["status"], "awaiting_approval");
    assert_eq!(go["decision"]["recommendation"]["option"], "go");
    let shown = api
        .get(&format!("/cases/{case_id}"), &org.viewer.token)
        .await
        .body;
    assert_eq!(
        shown["stage"], 0,
        "an AI worker's go does not move the case"
    );
    // The AI worker cannot approve it either.
    let own = api
        .post(
            &format!("/decisions/{}/approve", id(&go["decision"])),
            &org.worker.token,
            json!({ "option": "go", "reason": "x" }),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    let rejected = api
        .post(
            &format!("/decisions/{}/reject", id(&go["decision"])),
            &org.lead.token,
            json!({ "reason": "Erst Aufmaß." }),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let shown = api
        .get(&format!("/cases/{case_id}"), &org.viewer.token)
        .await
        .body;
    assert_eq!(shown["verdicts"][0]["status"], "refused");

    // A hold it may give on its own: the case is held at once.
    let hold = api
        .created(
            &format!("/cases/{case_id}/verdicts"),
            &org.worker.token,
            json!({ "verdict": "hold", "reason": "Kunde meldet sich nach dem Urlaub", "until": "2026-11-30T08:00:00Z" }),
        )
        .await;
    assert_eq!(hold["decision"]["status"], "decided", "{hold}");
    assert_eq!(hold["status"], "given");
    let shown = api
        .get(&format!("/cases/{case_id}"), &org.viewer.token)
        .await
        .body;
    assert_eq!(shown["status"], "on_hold");
    // It shapes no gate and checks nothing a person must.
    let criteria = api
        .send(
            "PUT",
            &format!("/gates/{}/criteria", orders.first_gate),
            Some(&org.worker.token),
            Some(&json!({ "criteria": [], "based_on": 1 }).to_string()),
            &[],
        )
        .await;
    assert_eq!(criteria.status, StatusCode::FORBIDDEN);
}

async fn bad_flows_criteria_and_learnings_are_refused_naming_the_field<S: Store>(store: S) {
    let api = Api::new(&store);
    let orders = Orders::new(&store, &api).await;
    let org = &orders.org;
    let one_stage = api
        .post(
            "/flows",
            &org.lead.token,
            json!({ "name": "x", "space_id": orders.flow["space_id"], "stages": [{ "name": "Vertrieb" }] }),
        )
        .await;
    assert_eq!(one_stage.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(one_stage.body["field"], "stages", "{}", one_stage.body);
    let no_worker = api
        .send(
            "PUT",
            &format!("/gates/{}/criteria", orders.first_gate),
            Some(&org.lead.token),
            Some(&json!({ "criteria": [{ "text": "Angebot vollständig", "check_by": "ai", "worker_id": org.member.id }], "based_on": 1 }).to_string()),
            &[],
        )
        .await;
    assert_eq!(
        no_worker.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_worker.body
    );
    let stale = api
        .send(
            "PUT",
            &format!("/gates/{}/criteria", orders.first_gate),
            Some(&org.lead.token),
            Some(&json!({ "criteria": [], "based_on": 7 }).to_string()),
            &[],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let no_subject = api
        .post(
            "/learnings",
            &org.member.token,
            json!({ "title": "Etwas gelernt" }),
        )
        .await;
    assert_eq!(no_subject.status, StatusCode::UNPROCESSABLE_ENTITY);
    let decline = api
        .created(
            "/learnings",
            &org.member.token,
            json!({ "title": "Etwas gelernt", "gate_id": orders.first_gate }),
        )
        .await;
    let silent = api
        .post(
            &format!("/learnings/{}/decline", id(&decline)),
            &org.lead.token,
            json!({}),
        )
        .await;
    assert_eq!(silent.status, StatusCode::UNPROCESSABLE_ENTITY);
    // An AI worker's criterion: asked without a result, once at a time.
    let ai = json!({ "text": "Angebot vollständig", "check_by": "ai", "worker_id": org.worker.id });
    orders
        .criteria(&api, &orders.first_gate, 1, json!([ai]))
        .await;
    let case = api
        .created(
            "/cases",
            &orders.seller.token,
            json!({ "flow_id": id(&orders.flow), "title": "Wartung Kita" }),
        )
        .await;
    let checks = format!("/cases/{}/checks", id(&case));
    let ask = |passed: Value| {
        api.post(
            &checks,
            &org.member.token,
            json!({ "criterion": "Angebot vollständig", "passed": passed }),
        )
    };
    assert_eq!(
        ask(json!(true)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let asked = ask(Value::Null).await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.body);
    assert_eq!(
        (
            asked.body["outcome"].as_str(),
            asked.body["checked_by"].as_str()
        ),
        (Some("pending"), Some(org.worker.id.as_str()))
    );
    assert_eq!(
        ask(Value::Null).await.status,
        StatusCode::CONFLICT,
        "asked twice, paid twice"
    );
    let hold_past = api
        .post(
            "/cases",
            &orders.seller.token,
            json!({ "flow_id": id(&orders.flow), "title": "x", "work_item_id": org.member.id }),
        )
        .await;
    assert_eq!(hold_past.status, StatusCode::UNPROCESSABLE_ENTITY);
}

tutti_store::behaviour!(a_case_walks_its_flow_judged_by_decisions_and_a_learning_amends_a_gate);
tutti_store::behaviour!(an_ai_worker_holds_a_case_on_its_own_but_only_prepares_a_go);
tutti_store::behaviour!(bad_flows_criteria_and_learnings_are_refused_naming_the_field);

/// The hand-overs' sensors: a case held past its date, a gate that sends
/// cases back too often, and a learning nobody answered raise alerts that
/// say so, and a hold lifted clears its alert.
async fn held_cases_recycling_gates_and_waiting_learnings_raise_alerts<S: Store>(store: S) {
    let clock = std::sync::Arc::new(tutti_server::FixedClock::new(support::today()));
    let api = Api::on(&store, clock.clone());
    let orders = Orders::new(&store, &api).await;
    let org = &orders.org;
    let open = |title: &str| {
        api.created(
            "/cases",
            &orders.seller.token,
            json!({ "flow_id": id(&orders.flow), "title": title }),
        )
    };
    let judge = |case: String, body: Value| {
        let api = &api;
        let (member, lead) = (org.member.token.clone(), org.lead.token.clone());
        async move {
            let verdict = api
                .created(&format!("/cases/{case}/verdicts"), &member, body.clone())
                .await;
            let reply = api
                .post(
                    &format!("/decisions/{}/approve", id(&verdict["decision"])),
                    &lead,
                    json!({ "option": body["verdict"], "reason": "So." }),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    };
    // Held until tomorrow; two days later the hold is past its date.
    let held = id(&open("Brennwertkessel Wohnbau Nord").await);
    judge(
        held.clone(),
        json!({ "verdict": "hold", "reason": "Eigentümerversammlung", "until": "2026-11-17T08:00:00Z" }),
    )
    .await;
    // The first gate sends two cases back in its five verdicts (the hold
    // counts among them).
    for (i, verdict) in ["recycle", "go", "recycle", "go"].into_iter().enumerate() {
        let case = id(&open(&format!("Auftrag {i}")).await);
        let body = if verdict == "recycle" {
            json!({ "verdict": "recycle", "redo": "Aufmaß fehlt" })
        } else {
            json!({ "verdict": "go" })
        };
        judge(case, body).await;
    }
    api.created(
        "/learnings",
        &org.colleague.token,
        json!({ "title": "Niemand wusste, wer zuständig ist", "gate_id": orders.second_gate, "team_id": org.service }),
    )
    .await;
    let kinds = || async {
        api.post("/alerts/refresh", &org.owner.token, json!({}))
            .await;
        let alerts = api.get("/alerts?lang=de", &org.owner.token).await.body;
        alerts
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["cleared_at"].is_null())
            .map(|a| {
                (
                    a["kind"].as_str().unwrap().to_owned(),
                    a["explanation"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let now = kinds().await;
    assert!(
        now.iter()
            .any(|(k, text)| k == "gate_recycle_rate"
                && text.contains("40 % seiner letzten 5 Urteile")),
        "{now:?}"
    );
    assert!(
        !now.iter()
            .any(|(k, _)| k == "gate_hold_overdue" || k == "learning_unanswered"),
        "{now:?}"
    );
    clock.advance(chrono::Duration::days(15));
    let later = kinds().await;
    let overdue = later.iter().find(|(k, _)| k == "gate_hold_overdue");
    assert!(
        overdue.is_some_and(|(_, text)| text.contains("Eigentümerversammlung")),
        "{later:?}"
    );
    assert!(
        later
            .iter()
            .any(|(k, text)| k == "learning_unanswered" && text.contains("15 Tagen")),
        "{later:?}"
    );
    // A go lifts the hold, and its alert clears.
    judge(held, json!({ "verdict": "go" })).await;
    let lifted = kinds().await;
    assert!(
        !lifted.iter().any(|(k, _)| k == "gate_hold_overdue"),
        "{lifted:?}"
    );
}

tutti_store::behaviour!(held_cases_recycling_gates_and_waiting_learnings_raise_alerts);
