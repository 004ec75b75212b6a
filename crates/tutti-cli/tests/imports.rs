//! `tutti import jira` against `tutti serve`: a CSV export of 1 500 issues
//! (epics, stories, sub-tasks; a byte-order mark, CRLF, repeated Labels,
//! Jira's dates, quoted descriptions with commas and line breaks) and saved
//! search/jql responses (two pages, descriptions in Atlassian Document
//! Format), built here to the shapes Jira documents. Parents, states and
//! assignees land right; a dry run and a malformed file write nothing; the
//! same file again changes nothing, and a changed status updates one item.

#![expect(clippy::unwrap_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::Output;

use serde_json::{Value, json};

use crate::common::{self, Server, init, serve, sqlite_url, succeeded as ok};

/// The Jira CSV export: 30 epics, 10 stories under each, 3 sub-tasks under
/// each story, the rest loose tasks: 1 500 issues in all.
fn jira_csv(done_story: &str) -> String {
    let mut csv = String::from(
        "\u{feff}Summary,Issue key,Issue id,Issue Type,Status,Status Category,Assignee,Labels,Labels,Due date,Parent id,Description\r\n",
    );
    let mut id = 10_000;
    let mut row = |summary: &str,
                   key: &str,
                   kind: &str,
                   category: &str,
                   assignee: &str,
                   parent: Option<u32>| {
        id += 1;
        let status = match category {
            "Done" => "Erledigt",
            "In Progress" => "In Arbeit",
            _ => "Zu erledigen",
        };
        let parent = parent.map(|p| p.to_string()).unwrap_or_default();
        let _ = write!(
            csv,
            "{summary},{key},{id},{kind},{status},{category},{assignee},wartung,{label},14/Jul/25 3:42 PM,{parent},\"Kunde sagt: \"\"bitte vormittags\"\", Zugang über Hof\r\nSchlüssel beim Hausmeister\"\r\n",
            label = if kind == "Sub-task" { "vor-ort" } else { "" },
        );
        id
    };
    let mut count = 0;
    for epic in 1..=30 {
        let epic_id = row(
            &format!("Wartungsrunde {epic}"),
            &format!("WART-{epic}"),
            "Epic",
            "In Progress",
            "",
            None,
        );
        count += 1;
        for story in 1..=10 {
            let key = format!("WART-{}", 100 + epic * 10 + story);
            let category = if key == done_story { "Done" } else { "To Do" };
            let story_id = row(
                &format!("Anlage {epic}.{story} warten"),
                &key,
                "Story",
                category,
                "jonas@lindner.de",
                Some(epic_id),
            );
            count += 1;
            for task in 1..=3 {
                let key = format!("WART-{}", 1_000 + (epic * 10 + story) * 3 + task);
                row(
                    &format!("Schritt {task} an Anlage {epic}.{story}"),
                    &key,
                    "Sub-task",
                    "Done",
                    "Ghost Person",
                    Some(story_id),
                );
                count += 1;
            }
        }
    }
    let mut loose = 5_000;
    while count < 1_500 {
        loose += 1;
        row(
            &format!("Kundenanfrage {loose}"),
            &format!("WART-{loose}"),
            "Task",
            "To Do",
            "",
            None,
        );
        count += 1;
    }
    csv
}

/// Two saved pages of `/rest/api/3/search/jql`: an epic and 119 tasks
/// under it, assigned by email, described in ADF.
fn jira_search() -> String {
    let issue = |key: String,
                 summary: String,
                 category: &str,
                 parent: Option<&str>,
                 email: Option<&str>| {
        json!({ "id": "1", "key": key, "fields": {
            "summary": summary,
            "status": { "name": "egal", "statusCategory": { "key": category } },
            "assignee": email.map(|e| json!({ "emailAddress": e, "displayName": "Aylin" })),
            "parent": parent.map(|p| json!({ "key": p })),
            "labels": ["projekt"],
            "duedate": "2026-03-17",
            "description": { "type": "doc", "version": 1, "content": [
                { "type": "paragraph", "content": [{ "type": "text", "text": format!("Details zu {key}") }] } ] },
        } })
    };
    let mut first = vec![issue(
        "MOD-1".into(),
        "Modernisierung Kita".into(),
        "indeterminate",
        None,
        None,
    )];
    let mut second = Vec::new();
    for n in 2..=120 {
        let item = issue(
            format!("MOD-{n}"),
            format!("Raum {n} umrüsten"),
            if n % 2 == 0 { "done" } else { "new" },
            Some("MOD-1"),
            Some("aylin@lindner.de"),
        );
        if n <= 60 {
            first.push(item)
        } else {
            second.push(item)
        }
    }
    json!([{ "issues": first, "nextPageToken": "zwei" }, { "issues": second, "isLast": true }])
        .to_string()
}

fn tutti(server: &Server, token: &str, args: &[&str]) -> Output {
    common::tutti(
        args,
        &[("TUTTI_SERVER", &server.url), ("TUTTI_TOKEN", token)],
    )
}

/// Every work item of `team`, by the Jira key at the end of its description.
async fn items(
    http: &reqwest::Client,
    server: &Server,
    token: &str,
    team: &str,
) -> HashMap<String, Value> {
    let mut all = HashMap::new();
    let mut cursor = String::new();
    loop {
        let page: Value = http
            .get(format!(
                "{}/api/v1/work-items?team={team}&limit=500{cursor}",
                server.url
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            let description = item["description"].as_str().unwrap();
            let key = description
                .rsplit("Jira: ")
                .next()
                .unwrap()
                .split(' ')
                .next()
                .unwrap();
            all.insert(key.to_owned(), item.clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return all,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jira_project_comes_in_with_parents_states_and_assignees() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let owner = init(&url);
    let server = serve(&url, &[]);
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}/api/v1{path}", server.url))
            .bearer_auth(&owner)
            .json(&body)
            .send()
    };
    let team: Value = post("/teams", json!({ "name": "Kundendienst" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let team = team["id"].as_str().unwrap().to_owned();
    let projects: Value = post("/teams", json!({ "name": "Projekte" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let projects = projects["id"].as_str().unwrap().to_owned();
    for (name, email) in [("Jonas", "jonas@lindner.de"), ("Aylin", "aylin@lindner.de")] {
        post(
            "/members",
            json!({ "name": name, "email": email, "teams": [team] }),
        )
        .await
        .unwrap();
    }
    let file = dir.path().join("jira.csv");
    std::fs::write(&file, jira_csv("WART-111")).unwrap();
    let path = file.to_str().unwrap();

    // A dry run says what would happen and writes nothing.
    let dry = ok(&tutti(
        &server,
        &owner,
        &["import", "jira", path, "--team", &team, "--dry-run"],
    ));
    assert!(
        dry.contains("1500 would be created, 0 would be updated"),
        "{dry}"
    );
    assert!(dry.contains("Ghost Person"), "{dry}");
    assert!(items(&http, &server, &owner, &team).await.is_empty());

    // A malformed file names its line and writes nothing either.
    let broken = dir.path().join("broken.csv");
    let mut lines: Vec<String> = jira_csv("WART-111")
        .split("\r\n")
        .map(str::to_owned)
        .collect();
    lines[3] = lines[3].replace("14/Jul/25 3:42 PM", "32/Jul/25 3:42 PM");
    std::fs::write(&broken, lines.join("\r\n")).unwrap();
    let refused = tutti(
        &server,
        &owner,
        &["import", "jira", broken.to_str().unwrap(), "--team", &team],
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("line 4") && said.contains("32/Jul/25"),
        "{said}"
    );
    assert!(items(&http, &server, &owner, &team).await.is_empty());

    // The import: every issue, with its parent, state and assignee.
    let done = ok(&tutti(
        &server,
        &owner,
        &["import", "jira", path, "--team", &team],
    ));
    assert!(
        done.contains("1500 created, 0 updated, 0 unchanged"),
        "{done}"
    );
    let imported = items(&http, &server, &owner, &team).await;
    assert_eq!(imported.len(), 1500);
    let epic = &imported["WART-1"];
    let story = &imported["WART-111"];
    let task = &imported["WART-1034"];
    assert_eq!(epic["state"], "running");
    assert_eq!(story["parent_id"], epic["id"]);
    assert_eq!(task["parent_id"], story["id"]);
    assert_eq!(story["state"], "done");
    assert_eq!(imported["WART-112"]["state"], "backlog");
    assert_eq!(task["state"], "done");
    assert_eq!(story["due"], "2025-07-14");
    let jonas = &story["assignee_id"];
    assert!(jonas.is_string());
    assert_eq!(
        task["assignee_id"],
        Value::Null,
        "Ghost Person is nobody here"
    );
    assert!(
        task["description"]
            .as_str()
            .unwrap()
            .starts_with("Kunde sagt: \"bitte vormittags\", Zugang über Hof\nSchlüssel"),
        "{task}"
    );
    assert!(
        task["description"]
            .as_str()
            .unwrap()
            .ends_with("Jira: WART-1034 · Labels: wartung, vor-ort")
    );

    // Again: nothing changes; a story moved to done in Jira is updated.
    let again = ok(&tutti(
        &server,
        &owner,
        &["import", "jira", path, "--team", &team],
    ));
    assert!(
        again.contains("0 created, 0 updated, 1500 unchanged"),
        "{again}"
    );
    std::fs::write(&file, jira_csv("WART-112")).unwrap();
    let moved = ok(&tutti(
        &server,
        &owner,
        &["import", "jira", path, "--team", &team],
    ));
    assert!(
        moved.contains("0 created, 2 updated, 1498 unchanged"),
        "{moved}"
    );
    let after = items(&http, &server, &owner, &team).await;
    assert_eq!(after.len(), 1500);
    assert_eq!(after["WART-112"]["state"], "done");
    assert_eq!(after["WART-112"]["id"], imported["WART-112"]["id"]);
    assert_eq!(after["WART-111"]["state"], "backlog");

    // Saved search/jql responses: two pages, ADF descriptions, emails.
    let search = dir.path().join("search.json");
    std::fs::write(&search, jira_search()).unwrap();
    let json = ok(&tutti(
        &server,
        &owner,
        &[
            "import",
            "jira",
            search.to_str().unwrap(),
            "--team",
            &projects,
            "--json",
        ],
    ));
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["created"], 120, "{report}");
    let modern = items(&http, &server, &owner, &projects).await;
    assert_eq!(modern["MOD-2"]["parent_id"], modern["MOD-1"]["id"]);
    assert_eq!(modern["MOD-2"]["state"], "done");
    assert_eq!(modern["MOD-3"]["state"], "backlog");
    assert_eq!(modern["MOD-1"]["state"], "running");
    assert!(modern["MOD-90"]["assignee_id"].is_string());
    assert!(
        modern["MOD-90"]["description"]
            .as_str()
            .unwrap()
            .starts_with("Details zu MOD-90\n\nJira: MOD-90")
    );

    // Only the team's lead or an admin imports into a team.
    let member: Value = post(
        "/members",
        json!({ "name": "Lea", "email": "lea@lindner.de", "teams": [team] }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token: Value = post(
        &format!("/members/{}/tokens", member["id"].as_str().unwrap()),
        json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let denied = tutti(
        &server,
        token["token"].as_str().unwrap(),
        &["import", "jira", path, "--team", &team],
    );
    assert!(!denied.status.success());
    assert!(String::from_utf8_lossy(&denied.stderr).contains("403"));
}
