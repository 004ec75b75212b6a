//! The team's voice through the API, on SQLite and PostgreSQL: who may ask
//! and who answers, a person answering a round once, a team of four showing
//! nothing and of five showing its results, a sub-team withheld when it
//! would give the rest of its team away, *k* raised by an admin hiding
//! them again for every reader, the pulse-drop alert after a round that fell,
//! and the workload view with its overload alert.

#![expect(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use tutti_server::FixedClock;
use tutti_store::prelude::*;

use crate::support;
use support::{Api, Lindner, Person, id, today};

/// The open alerts after an evaluation.
async fn alerts(api: &Api, token: &str) -> Value {
    api.post("/alerts/refresh", token, json!({})).await;
    api.get("/alerts?lang=de", token).await.body
}

/// Answers with a satisfaction score and an eNPS, the rest as given.
fn answers(score: u8, enps: u8, comment: &str) -> Value {
    json!({ "answers": [score, 4, null, enps, comment] })
}

async fn a_pulse_is_answered_once_and_shown_from_k_answers<S: Store>(store: S) {
    let clock = Arc::new(FixedClock::new(today()));
    let api = Api::on(&store, clock.clone());
    let org = Lindner::new(&store, &api).await;
    let person = |name: &str| {
        Person::added(
            &api,
            &org.owner.token,
            json!({ "name": name, "email": format!("{}@lindner.de", name.to_lowercase()), "teams": [org.service] }),
        )
    };
    let (nina, timo) = (person("Nina").await, person("Timo").await);

    // Leads and admins ask; a member does not.
    let survey = json!({
        "team_id": org.service, "title": "Puls Kundenservice",
        "opens_on": "2026-11-16", "closes_on": "2026-11-20", "repeat": "biweekly",
    });
    let refused = api
        .post("/pulse/surveys", &org.member.token, survey.clone())
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let bad = json!({ "team_id": org.service, "title": "x", "opens_on": "2026-11-16", "closes_on": "2026-12-01", "repeat": "biweekly" });
    let refused = api.post("/pulse/surveys", &org.lead.token, bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["field"], "closes_on");
    let created = api.created("/pulse/surveys", &org.lead.token, survey).await;
    let path = format!("/pulse/surveys/{}", id(&created));
    assert_eq!(created["questions"].as_array().unwrap().len(), 5);
    assert!(
        created["questions"][3]["text"]
            .as_str()
            .unwrap()
            .contains("Arbeitgeber")
    );

    // Who is asked: the team's people, not its AI worker, not an outsider.
    let mine = api.get(&path, &org.member.token).await.body;
    assert_eq!(
        (mine["asked"].clone(), mine["open_round"].clone()),
        (json!(true), json!(0))
    );
    let ai = api
        .post(
            &format!("{path}/answers"),
            &org.worker.token,
            answers(7, 9, ""),
        )
        .await;
    assert_eq!(ai.status, StatusCode::FORBIDDEN, "{}", ai.body);
    let outsider = api
        .post(
            &format!("{path}/answers"),
            &org.viewer.token,
            answers(7, 9, ""),
        )
        .await;
    assert_eq!(outsider.status, StatusCode::FORBIDDEN, "{}", outsider.body);
    assert_eq!(
        api.get(&path, &org.stranger).await.status,
        StatusCode::NOT_FOUND
    );

    // Bad answers name what is wrong, and count for nothing.
    let short = api
        .post(
            &format!("{path}/answers"),
            &org.member.token,
            json!({ "answers": [7] }),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let high = api
        .post(
            &format!("{path}/answers"),
            &org.member.token,
            answers(11, 9, ""),
        )
        .await;
    assert_eq!(high.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(high.body["field"], "answers[0]");

    // Four answer; a second answer is refused.
    let four = [&org.lead, &org.member, &org.colleague, &nina];
    for (n, who) in four.iter().enumerate() {
        let reply = api
            .post(
                &format!("{path}/answers"),
                &who.token,
                answers(8, 9 - n as u8, &format!("Gedanke {n}")),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(
            reply.body,
            json!({ "round": 0 }),
            "the reply names the round only"
        );
    }
    let again = api
        .post(
            &format!("{path}/answers"),
            &org.member.token,
            answers(2, 0, ""),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(
        api.get(&path, &org.member.token).await.body["answered"],
        true
    );

    // Four show nothing, to the lead and to the owner alike.
    let results = |token: String| {
        let api = &api;
        let path = path.clone();
        async move { api.get(&format!("{path}/results"), &token).await }
    };
    assert_eq!(
        results(org.member.token.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    for token in [&org.lead.token, &org.owner.token] {
        let body = results(token.clone()).await.body;
        let group = &body["rounds"][0]["groups"][0];
        assert_eq!(group["respondents"], 4);
        for q in group["questions"].as_array().unwrap() {
            assert_eq!(q["disclosure"]["status"], "too_few", "{q}");
            assert_eq!(
                (q["distribution"].clone(), q["comments"].clone()),
                (Value::Null, json!([]))
            );
        }
        assert!(!body.to_string().contains("Gedanke"), "no comment below k");
    }

    // The fifth answer shows them: distribution, eNPS, comments.
    api.created(
        &format!("{path}/answers"),
        &timo.token,
        answers(6, 10, "Gedanke 4"),
    )
    .await;
    let body = results(org.lead.token.clone()).await.body;
    let group = &body["rounds"][0]["groups"][0];
    assert_eq!(
        group["questions"][0]["disclosure"],
        json!({ "status": "shown", "respondents": 5 })
    );
    assert_eq!(group["questions"][0]["distribution"]["counts"][8], 4);
    assert_eq!(
        group["questions"][2]["disclosure"]["status"], "too_few",
        "nobody answered it"
    );
    assert_eq!(
        group["questions"][4]["comments"].as_array().unwrap().len(),
        5
    );
    // Promoters 9 and 10, passives 8 and 7, one detractor at 6: +20.
    assert_eq!(group["enps"], 20.0);

    // An admin asks for more: nothing shows, for everyone. Never below 3.
    let voice = json!({ "k": 6, "load": { "open": 8, "overdue": 2, "queue_per_slot": 3 } });
    let refused = api.put("/org/voice", &org.lead.token, voice.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let low = json!({ "k": 2, "load": { "open": 8, "overdue": 2, "queue_per_slot": 3 } });
    let refused = api.put("/org/voice", &org.owner.token, low.clone()).await;
    assert_eq!(
        (refused.status, refused.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("k"))
    );
    let set = api.put("/org/voice", &org.owner.token, voice.clone()).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let body = results(org.owner.token.clone()).await.body;
    assert_eq!(
        body["rounds"][0]["groups"][0]["questions"][0]["disclosure"]["status"],
        "too_few"
    );
    let voice = json!({ "k": 5, "load": { "open": 8, "overdue": 2, "queue_per_slot": 3 } });
    api.put("/org/voice", &org.owner.token, voice.clone()).await;

    // The round is open: the team is invited; nothing has dropped yet.
    let open = alerts(&api, &org.owner.token).await;
    assert!(open.to_string().contains("pulse_open"), "{open}");
    assert!(!open.to_string().contains("pulse_dropped"), "{open}");

    // Two weeks on, the second round: everyone is less happy.
    clock.advance(Duration::days(14));
    assert_eq!(
        api.get(&path, &org.member.token).await.body["open_round"],
        1
    );
    for who in [&org.lead, &org.member, &org.colleague, &nina, &timo] {
        api.created(&format!("{path}/answers"), &who.token, answers(4, 5, ""))
            .await;
    }
    let open = alerts(&api, &org.owner.token).await;
    let dropped = open
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "pulse_dropped")
        .unwrap_or_else(|| panic!("no pulse_dropped alert: {open}"));
    assert_eq!(dropped["params"]["figure"], "enps");
    let said = dropped["explanation"].as_str().unwrap();
    assert!(
        said.contains("Kundenservice") && said.contains("eNPS"),
        "{said}"
    );
    assert_eq!(
        (
            dropped["params"]["from"].clone(),
            dropped["params"]["to"].clone()
        ),
        (json!(20.0), json!(-100.0))
    );
    let trend = results(org.lead.token.clone()).await.body;
    assert_eq!(trend["rounds"].as_array().unwrap().len(), 2);
    assert_eq!(trend["rounds"][0]["groups"][0]["enps"], -100.0);

    // The lead ends it: no round opens after today.
    let end = format!("{path}/end");
    let refused = api.post(&end, &org.member.token, json!({})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let ended = api.post(&end, &org.lead.token, json!({})).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body["ended_on"], "2026-11-30");
    let again = api.post(&end, &org.owner.token, json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    clock.advance(Duration::days(14));
    assert_eq!(
        api.get(&path, &org.member.token).await.body["open_round"],
        Value::Null
    );
    let late = api
        .post(&format!("{path}/answers"), &nina.token, answers(9, 10, ""))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    let trend = results(org.lead.token.clone()).await.body;
    assert_eq!(
        trend["rounds"].as_array().unwrap().len(),
        2,
        "no third round"
    );
}

tutti_store::behaviour!(a_pulse_is_answered_once_and_shown_from_k_answers);

async fn a_sub_team_that_would_give_away_the_rest_stays_withheld<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    // The Notdienst hangs under the service team. Six of its people answer,
    // and two of the service team's own: the team shows its eight, and the
    // Notdienst's six would give away the other two by subtraction.
    let notdienst = id(&api
        .created(
            "/teams",
            &org.owner.token,
            json!({ "name": "Notdienst", "parent_id": org.service }),
        )
        .await);
    let added = |name: &'static str, teams: Value| {
        let api = &api;
        let owner = org.owner.token.clone();
        async move {
            let email = format!("{}@lindner.de", name.to_lowercase());
            Person::added(
                api,
                &owner,
                json!({ "name": name, "email": email, "teams": teams }),
            )
            .await
        }
    };
    let mut people = Vec::new();
    for name in ["Nina", "Timo"] {
        people.push(added(name, json!([org.service])).await);
    }
    let mut on_call = Vec::new();
    for name in ["Finn", "Ida", "Pia", "Ole", "Eva", "Uwe"] {
        on_call.push(added(name, json!([org.service, notdienst])).await);
    }
    let created = api
        .created(
            "/pulse/surveys",
            &org.owner.token,
            json!({
                "team_id": org.service, "title": "Pulse", "lang": "en",
                "opens_on": "2026-11-16", "closes_on": "2026-11-20",
            }),
        )
        .await;
    assert_eq!(
        created["questions"][3]["text"],
        "How likely are you to recommend us as an employer?"
    );
    let path = format!("/pulse/surveys/{}", id(&created));
    let results = || async {
        api.get(&format!("{path}/results"), &org.owner.token)
            .await
            .body
    };
    for who in people.iter().chain(&on_call) {
        api.created(&format!("{path}/answers"), &who.token, answers(7, 8, "ok"))
            .await;
    }
    let body = results().await;
    let groups = body["rounds"][0]["groups"].as_array().unwrap();
    assert_eq!(groups[0]["team_id"], json!(org.service));
    assert_eq!(groups[0]["questions"][0]["disclosure"]["respondents"], 8);
    assert_eq!(groups[1]["team_id"], json!(notdienst));
    assert_eq!(groups[1]["respondents"], 6);
    assert_eq!(
        groups[1]["questions"][0]["disclosure"],
        json!({ "status": "remainder", "with": org.service })
    );
    assert_eq!(groups[1]["questions"][4]["comments"], json!([]));
    assert_eq!(body["team_names"][&notdienst], "Notdienst");

    // With three more of the service team's own, both stand.
    for who in [&org.lead, &org.member, &org.colleague] {
        api.created(&format!("{path}/answers"), &who.token, answers(5, 6, "hm"))
            .await;
    }
    let body = results().await;
    let groups = body["rounds"][0]["groups"].as_array().unwrap();
    assert_eq!(
        groups[1]["questions"][0]["disclosure"],
        json!({ "status": "shown", "respondents": 6 })
    );
    assert_eq!(groups[0]["questions"][0]["disclosure"]["respondents"], 11);
}

tutti_store::behaviour!(a_sub_team_that_would_give_away_the_rest_stays_withheld);

async fn the_workload_view_names_who_carries_too_much<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    // Jonas carries nine items, three of them overdue.
    for n in 0..9 {
        let due = if n < 3 { "2026-11-10" } else { "2026-11-18" };
        api.created(
            "/work-items",
            &org.lead.token,
            json!({
                "title": format!("Störung {n}"), "team_id": org.service,
                "assignee_id": org.member.id, "due": due,
            }),
        )
        .await;
    }
    let load = api
        .get(
            &format!("/workload?team={}", org.service),
            &org.viewer.token,
        )
        .await;
    assert_eq!(load.status, StatusCode::OK, "{}", load.body);
    let jonas = load.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member_id"] == json!(org.member.id))
        .unwrap_or_else(|| panic!("no Jonas: {}", load.body))
        .clone();
    assert_eq!(
        (
            jonas["backlog"].clone(),
            jonas["overdue"].clone(),
            jonas["due_soon"].clone()
        ),
        (json!(9), json!(3), json!(6))
    );
    let reasons: Vec<&str> = jonas["overloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["open_work", "overdue"]);
    let candidates = api
        .get(
            &format!("/workload/candidates?team={}&kind=human", org.service),
            &org.lead.token,
        )
        .await
        .body;
    let names: Vec<&str> = candidates
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"Jonas") && names.contains(&"Lea"),
        "{names:?}"
    );
    // Emil's run waits in his queue, against the runs he may do at once.
    api.created(
        "/work-items",
        &org.lead.token,
        json!({ "title": "Störungsmeldungen vorsortieren", "team_id": org.service, "assignee_id": org.worker.id, "state": "ready" }),
    )
    .await;
    let load = api
        .get(&format!("/workload?team={}", org.service), &org.lead.token)
        .await
        .body;
    let emil = load["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member_id"] == json!(org.worker.id))
        .unwrap();
    assert_eq!(
        (
            emil["kind"].clone(),
            emil["runs_queued"].clone(),
            emil["ready"].clone()
        ),
        (json!("ai"), json!(1), json!(1))
    );
    assert!(emil["concurrency"].as_u64().unwrap() >= 1);
    let open = alerts(&api, &org.owner.token).await;
    let overloaded = open
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "member_overloaded");
    assert_eq!(
        overloaded.unwrap()["subject_id"],
        json!(org.member.id),
        "{open}"
    );
    let elsewhere = api
        .get(&format!("/workload?team={}", org.service), &org.stranger)
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
}

tutti_store::behaviour!(the_workload_view_names_who_carries_too_much);
