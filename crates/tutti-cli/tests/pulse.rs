//! Anonymity that holds, checked from outside: `tutti serve` on a SQLite
//! file with every log line on, two people answer a pulse (one through the
//! CLI, one over HTTP with an idempotency key), and a Python reader opens
//! the file and reads every row of every table. Nothing ties a response to
//! its person: the response row holds no person, time or order; its id
//! appears in no other row and no log line; the answer's audit event has no
//! actor; no idempotency record was kept; the comment is in one row only
//! and in no log line. The second answer of a round is refused in one line.

#![expect(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{init, python, serve_logging_to, sqlite_url, succeeded, tutti};

/// Every row of every table of a SQLite file, read by Python's own sqlite3:
/// table name to its column names and rows, blobs of 16 bytes as UUIDs.
fn every_row(
    python: &str,
    file: &std::path::Path,
) -> BTreeMap<String, (Vec<String>, Vec<Vec<String>>)> {
    let script = r#"
import json, sqlite3, sys, uuid
db = sqlite3.connect(sys.argv[1])
out = {}
for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
    cursor = db.execute(f'SELECT * FROM "{name}"')
    columns = [c[0] for c in cursor.description]
    def text(v):
        if isinstance(v, bytes):
            return str(uuid.UUID(bytes=v)) if len(v) == 16 else v.hex()
        return "" if v is None else str(v)
    out[name] = [columns, [[text(v) for v in row] for row in cursor]]
print(json.dumps(out))
"#;
    let output = Command::new(python)
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    let dump: Value = serde_json::from_slice(&succeeded(&output).into_bytes()).unwrap();
    serde_json::from_value(dump).unwrap()
}

#[tokio::test]
async fn nothing_ties_a_pulse_response_to_its_person() {
    let Some(python) = python("the pulse anonymity check") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let owner = init(&url);
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let server = serve_logging_to(&url, &[("TUTTI_LOG", "trace")], log);
    let as_owner = [
        ("TUTTI_SERVER", server.url.as_str()),
        ("TUTTI_TOKEN", owner.as_str()),
    ];
    let json_of = |args: &[&str], env: &[(&str, &str)]| -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&succeeded(&tutti(&all, env))).unwrap()
    };
    let team = json_of(&["team", "add", "--name", "Kundenservice"], &as_owner);
    let team = team["id"].as_str().unwrap().to_owned();
    let mut people = Vec::new();
    for name in ["Jonas", "Lea"] {
        let email = format!("{}@lindner.de", name.to_lowercase());
        let member = json_of(
            &[
                "member", "add", "--name", name, "--email", &email, "--team", &team,
            ],
            &as_owner,
        );
        let token = succeeded(&tutti(
            &[
                "token",
                "create",
                "--member",
                &email,
                "--database-url",
                &url,
            ],
            &[],
        ));
        people.push((
            member["id"].as_str().unwrap().to_owned(),
            token.trim().to_owned(),
        ));
    }
    let today = chrono::Utc::now().date_naive();
    let survey = json_of(
        &[
            "pulse",
            "create",
            "--team",
            &team,
            "--title",
            "Puls",
            "--opens",
            &today.to_string(),
            "--closes",
            &(today + chrono::Days::new(4)).to_string(),
        ],
        &as_owner,
    );
    let survey = survey["id"].as_str().unwrap().to_owned();

    // Jonas answers through the CLI, and once only.
    let (jonas, jonas_token) = &people[0];
    let as_jonas = [
        ("TUTTI_SERVER", server.url.as_str()),
        ("TUTTI_TOKEN", jonas_token.as_str()),
    ];
    let answered = succeeded(&tutti(
        &[
            "pulse",
            "answer",
            &survey,
            "8",
            "4",
            "-",
            "9",
            "Geheimnis-Jonas-4711",
        ],
        &as_jonas,
    ));
    assert!(answered.contains("anonymously"), "{answered}");
    let again = tutti(
        &["pulse", "answer", &survey, "1", "1", "1", "0", "-"],
        &as_jonas,
    );
    assert!(!again.status.success());
    let refused = String::from_utf8_lossy(&again.stderr);
    assert!(
        refused.contains("409") && refused.contains("answered this round"),
        "{refused}"
    );
    assert_eq!(refused.trim().lines().count(), 1, "{refused}");

    // Lea answers over HTTP with an idempotency key.
    let (lea, lea_token) = &people[1];
    let reply = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/pulse/surveys/{survey}/answers",
            server.url
        ))
        .bearer_auth(lea_token)
        .header("Idempotency-Key", "lea-answer-1")
        .json(&json!({ "answers": [6, 3, null, 7, "Geheimnis-Lea-0815"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "round": 0 }),
        "the reply names nothing to look the response up by"
    );
    drop(server);

    let tables = every_row(&python, &dir.path().join("tutti.db"));
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("pulse"), "the log was on: {} bytes", log.len());
    let (columns, responses) = &tables["pulse_responses"];
    assert_eq!(columns, &["id", "survey_id", "round", "team_id", "answers"]);
    assert_eq!(responses.len(), 2);
    let (columns, ballots) = &tables["pulse_ballots"];
    assert_eq!(columns, &["survey_id", "round", "member_id"]);
    assert_eq!(ballots.len(), 2);
    let member_ids = [jonas.as_str(), lea.as_str()];
    for response in responses {
        let row = response.join(" ");
        assert!(
            member_ids.iter().all(|m| !row.contains(m)),
            "a person in a response: {row}"
        );
        let id = &response[0];
        for (table, (_, rows)) in &tables {
            for other in rows {
                let is_itself = table == "pulse_responses" && other[0] == *id;
                assert!(
                    is_itself || !other.iter().any(|cell| cell.contains(id.as_str())),
                    "the response {id} appears in {table}: {other:?}"
                );
            }
        }
        assert!(
            !log.contains(id.as_str()),
            "the response {id} is in the log"
        );
    }
    for secret in ["Geheimnis-Jonas-4711", "Geheimnis-Lea-0815"] {
        let holding: Vec<&String> = tables
            .iter()
            .filter(|(_, (_, rows))| rows.iter().any(|r| r.iter().any(|c| c.contains(secret))))
            .map(|(table, _)| table)
            .collect();
        assert_eq!(holding, ["pulse_responses"], "{secret}");
        assert!(!log.contains(secret), "{secret} is in the log");
    }
    // The trail says someone in the team answered, not who.
    let (columns, events) = &tables["events"];
    let action = columns.iter().position(|c| c == "action").unwrap();
    let actor = columns.iter().position(|c| c == "actor_id").unwrap();
    let answers: Vec<&Vec<String>> = events
        .iter()
        .filter(|e| e[action] == "pulse.answered")
        .collect();
    assert_eq!(answers.len(), 2);
    for event in answers {
        assert_eq!(
            event[actor], "",
            "an answer's event names its actor: {event:?}"
        );
        let row = event.join(" ");
        assert!(member_ids.iter().all(|m| !row.contains(m)), "{row}");
        assert!(row.contains(&team), "{row}");
    }
    // No reply was kept for Lea's key: its request hash would tie her to
    // her answers.
    let (_, kept) = &tables["idempotency_keys"];
    assert!(
        kept.iter()
            .all(|row| !row.iter().any(|c| c == lea || c.contains("lea-answer-1"))),
        "{kept:?}"
    );
}
