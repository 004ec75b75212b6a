//! Strategy through the API, on SQLite and PostgreSQL: who writes
//! objectives and key results, who checks in, and progress rolled up from
//! key results to the top of the alignment tree.

#![expect(clippy::unwrap_used)]

use axum::http::StatusCode;
use serde_json::json;
use tutti_store::prelude::*;

use crate::support;
use support::{Api, Lindner, Strategy, id, key_result, objective};

async fn objectives_are_written_by_admins_and_the_leads_of_their_team<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let in_foreign_team = api
        .post(
            "/objectives",
            &org.lead.token,
            objective("Fremd", &org.sales, None),
        )
        .await;
    assert_eq!(in_foreign_team.status, StatusCode::FORBIDDEN);
    let by_member = api
        .post(
            "/objectives",
            &org.member.token,
            objective("Nein", &org.service, None),
        )
        .await;
    assert_eq!(by_member.status, StatusCode::FORBIDDEN);
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
    assert_eq!(child["parent_id"], top["id"]);
}

tutti_store::behaviour!(objectives_are_written_by_admins_and_the_leads_of_their_team);

async fn the_team_checks_in_and_a_viewer_only_reads<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    let by_member = api
        .post(
            &format!("/objectives/{}/key-results", id(&strategy.child)),
            &org.member.token,
            key_result("x", 0.0, 1.0),
        )
        .await;
    assert_eq!(by_member.status, StatusCode::FORBIDDEN);
    let check_in = api
        .created(
            &format!("/key-results/{}/check-ins", id(&strategy.response_time)),
            &org.member.token,
            json!({ "value": 12.0, "confidence": 8, "note": "läuft" }),
        )
        .await;
    assert_eq!(check_in["value"], 12.0);
    let by_viewer = api
        .post(
            &format!("/key-results/{}/check-ins", id(&strategy.renewals)),
            &org.viewer.token,
            json!({ "value": 70, "confidence": 5 }),
        )
        .await;
    assert_eq!(by_viewer.status, StatusCode::FORBIDDEN);
    let history = api
        .get(
            &format!("/key-results/{}/check-ins", id(&strategy.response_time)),
            &org.viewer.token,
        )
        .await
        .body;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

tutti_store::behaviour!(the_team_checks_in_and_a_viewer_only_reads);

async fn progress_rolls_up_from_key_results_to_the_top_objective<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    api.created(
        &format!("/key-results/{}/check-ins", id(&strategy.response_time)),
        &org.member.token,
        json!({ "value": 12.0, "confidence": 8 }),
    )
    .await;
    api.created(
        &format!("/key-results/{}/check-ins", id(&strategy.renewals)),
        &org.owner.token,
        json!({ "value": 65.0, "confidence": 6 }),
    )
    .await;
    // Child: (24 - 12) / (24 - 8) = 0.75. Top: mean(renewals 0.25, child 0.75) = 0.5.
    let detail = api
        .get(
            &format!("/objectives/{}", id(&strategy.top)),
            &org.viewer.token,
        )
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
    let tree = api
        .get("/objectives?tree=true", &org.viewer.token)
        .await
        .body;
    assert_eq!(tree["roots"].as_array().unwrap().len(), 1);
    assert_eq!(
        tree["roots"][0]["children"][0]["title"],
        "Störungen schneller beheben"
    );
}

tutti_store::behaviour!(progress_rolls_up_from_key_results_to_the_top_objective);

async fn a_moved_target_keeps_the_old_one_visible<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let strategy = Strategy::new(&api, &org).await;
    let kr = format!("/key-results/{}", id(&strategy.response_time));
    let by_member = api
        .patch(&kr, &org.member.token, json!({ "target": 4.0 }))
        .await;
    assert_eq!(by_member.status, StatusCode::FORBIDDEN);
    let moved = api
        .changed(
            &kr,
            &org.lead.token,
            json!({ "target": 4.0, "target_reason": "Notdienst verspricht 4 h" }),
        )
        .await;
    assert_eq!(moved["target"], 4.0);
    // The same target again, or only a new title, is no move.
    api.changed(
        &kr,
        &org.lead.token,
        json!({ "target": 4.0, "title": "Reaktionszeit" }),
    )
    .await;
    let moves = api
        .get(&format!("{kr}/target-moves"), &org.viewer.token)
        .await
        .body;
    let items = moves["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{moves}");
    assert_eq!(items[0]["from"], 8.0);
    assert_eq!(items[0]["to"], 4.0);
    assert_eq!(items[0]["reason"], "Notdienst verspricht 4 h");
    assert_eq!(items[0]["author_id"], org.lead.id);
    // Another org cannot read them.
    let foreign = api.get(&format!("{kr}/target-moves"), &org.stranger).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    // A bad reason is refused whole: the target did not move.
    let refused = api
        .patch(
            &kr,
            &org.lead.token,
            json!({ "target": 2.0, "target_reason": "x".repeat(20_001) }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let shown = api.get(&kr, &org.viewer.token).await.body;
    assert_eq!(shown["target"], 4.0);
}

tutti_store::behaviour!(a_moved_target_keeps_the_old_one_visible);

async fn a_sheet_of_objectives_comes_in_whole_or_not_at_all<S: Store>(store: S) {
    let api = Api::new(&store);
    let org = Lindner::new(&store, &api).await;
    let existing = api
        .created(
            "/objectives",
            &org.owner.token,
            objective("Kundenbindung stärken", &org.service, None),
        )
        .await;
    let sheet = |team: &str| {
        json!({ "objectives": [
            // The child comes first; its parent is later in the sheet.
            { "title": "Reaktionszeit senken", "period_start": "2026-10-01", "period_end": "2026-12-31",
              "owner": "AYLIN@lindner.de", "team": team, "parent": "Störungen schneller beheben",
              "key_results": [{ "title": "Reaktionszeit", "baseline": 24.0, "target": 4.0, "unit": "h" }] },
            { "title": "Störungen schneller beheben", "period_start": "2026-10-01", "period_end": "2026-12-31",
              "parent": "Kundenbindung stärken",
              "key_results": [
                  { "title": "Erstlösungsquote", "baseline": 55.0, "target": 75.0, "current": 68.0, "unit": "%", "confidence": 6 },
                  { "title": "Wiederholeinsätze", "baseline": 20.0, "target": 5.0 } ] },
        ] })
    };
    let count = || async { store.strategy_sheet(org.org_id).await.unwrap().len() };

    let by_lead = api
        .post(
            "/objectives/import",
            &org.lead.token,
            sheet("Kundenservice"),
        )
        .await;
    assert_eq!(by_lead.status, StatusCode::FORBIDDEN, "{}", by_lead.body);
    let unknown_team = api
        .post("/objectives/import", &org.owner.token, sheet("Montage"))
        .await;
    assert_eq!(unknown_team.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown_team.body["field"], "objectives[0].team");
    assert_eq!(count().await, 1, "nothing was written");

    let done = api
        .post(
            "/objectives/import",
            &org.owner.token,
            sheet("kundenservice"),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body, json!({ "objectives": 2, "key_results": 3 }));

    let sheet = store.strategy_sheet(org.org_id).await.unwrap();
    let by_title = |title: &str| sheet.iter().find(|s| s.objective.title == title).unwrap();
    let child = by_title("Reaktionszeit senken");
    assert_eq!(child.owner.as_deref(), Some("aylin@lindner.de"));
    assert_eq!(child.team.as_deref(), Some("Kundenservice"));
    assert_eq!(child.parent.as_deref(), Some("Störungen schneller beheben"));
    assert_eq!(
        child.key_results[0].current, 24.0,
        "current starts at the baseline"
    );
    let middle = by_title("Störungen schneller beheben");
    assert_eq!(
        middle.objective.parent_id.unwrap().to_string(),
        id(&existing)
    );
    assert_eq!(middle.key_results.len(), 2);

    // Out again as a sheet, through the API.
    let csv = api.get("/objectives/export", &org.viewer.token).await;
    assert_eq!(csv.status, StatusCode::OK);

    // The whole org goes out to admins only, recorded in the audit trail.
    let by_lead = api.get("/org/export", &org.lead.token).await;
    assert_eq!(by_lead.status, StatusCode::FORBIDDEN);
    let doc = api.get("/org/export", &org.owner.token).await;
    assert_eq!(doc.status, StatusCode::OK, "{}", doc.body);
    assert_eq!(doc.body["format"], "tutti.org");
    assert_eq!(doc.body["objectives"].as_array().unwrap().len(), 3);
    let exported = api
        .get("/events?action=org.exported", &org.owner.token)
        .await;
    assert_eq!(
        exported.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        exported.body
    );
}

tutti_store::behaviour!(a_sheet_of_objectives_comes_in_whole_or_not_at_all);
