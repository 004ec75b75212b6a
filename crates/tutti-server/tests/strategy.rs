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
