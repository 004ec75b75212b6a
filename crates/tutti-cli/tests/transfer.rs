//! `tutti export org` and `tutti import org`: the demo org, exported from a
//! running server, imported into an empty SQLite file and into an empty
//! PostgreSQL database, reproduces the org (its export, ids aside, is the
//! same document); its owner signs in with the printed token and its audit
//! chain verifies. A malformed file, and one whose reference leads outside
//! it, are refused naming the line, with nothing written.

#![expect(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{Server, serve, sqlite_url, succeeded as ok, tutti, up};

fn export(server: &Server, token: &str, out: &Path) -> Value {
    ok(&tutti(
        &["export", "org", "--out", out.to_str().unwrap()],
        &[("TUTTI_SERVER", &server.url), ("TUTTI_TOKEN", token)],
    ));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// The document with every id replaced by the order it first appears in,
/// times to the microsecond (what PostgreSQL keeps; SQLite keeps the
/// nanoseconds), and without the moment of export: two exports of the same
/// org, one imported from the other, are then equal.
fn without_ids(doc: &Value) -> Value {
    fn walk(value: &Value, seen: &mut HashMap<String, usize>) -> Value {
        match value {
            Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => {
                let next = seen.len();
                Value::String(format!("#{}", seen.entry(s.clone()).or_insert(next)))
            }
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
                let at = chrono::DateTime::parse_from_rfc3339(s).unwrap();
                Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, seen)).collect()),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .filter(|(k, _)| k.as_str() != "exported_at")
                    .map(|(k, v)| (k.clone(), walk(v, seen)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(doc, &mut HashMap::new())
}

/// Where two documents first differ, and how.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                let (left, right) = (x.get(key), y.get(key));
                let here = format!("{path}.{key}");
                match (left, right) {
                    (Some(l), Some(r)) => {
                        if let Some(found) = first_difference(l, r, &here) {
                            return Some(found);
                        }
                    }
                    _ => return Some(format!("{here}: {left:?} vs {right:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (l, r))| first_difference(l, r, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// Imports `file` into the database at `url`: its output, and the owner's
/// token from its last line.
fn import(url: &str, file: &Path) -> (Output, String) {
    let output = tutti(
        &[
            "import",
            "org",
            file.to_str().unwrap(),
            "--database-url",
            url,
        ],
        &[],
    );
    let token = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    (output, token)
}

/// How many orgs `tutti audit verify` finds, each with its chain intact.
fn verified_orgs(url: &str) -> usize {
    let out = ok(&tutti(&["audit", "verify", "--database-url", url], &[]));
    out.lines()
        .filter(|l| l.contains("events verified"))
        .count()
}

/// Imports the source's export into the empty database at `url`, signs in
/// there, and compares the orgs.
fn reproduces(url: &str, file: &Path, source: &Value, scratch: &Path) {
    let (output, token) = import(url, file);
    let printed = ok(&output);
    assert!(printed.contains("imported org Lindner"), "{printed}");
    assert_eq!(verified_orgs(url), 1);
    let server = serve(url, &[]);
    let copy = export(&server, &token, &scratch.join("copy.json"));
    let difference = first_difference(&without_ids(source), &without_ids(&copy), "");
    assert_eq!(difference, None, "the imported org differs from its source");
    assert!(
        copy["members"].as_array().unwrap().len() >= 5,
        "the demo's people and AI workers came along"
    );
}

#[test]
fn an_exported_org_imported_into_an_empty_database_is_the_same_org() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = up(dir.path(), &[], &[]);
    let file = dir.path().join("lindner.json");
    let source = export(&server, &token, &file);
    for (kind, min) in [
        ("teams", 2),
        ("objectives", 2),
        ("key_results", 3),
        ("check_ins", 1),
        ("work_items", 10),
        ("spaces", 1),
        ("flows", 1),
        ("gates", 1),
        ("service_products", 1),
        ("routines", 1),
        ("budgets", 1),
        ("providers", 1),
    ] {
        let count = source[kind].as_array().unwrap().len();
        assert!(
            count >= min,
            "the demo's export has {count} {kind}: {source:#}"
        );
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("$argon2") && !text.contains("password_hash"),
        "no password hash leaves"
    );

    let target = tempfile::tempdir().unwrap();
    reproduces(&sqlite_url(target.path()), &file, &source, target.path());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    match runtime
        .block_on(tutti_store::testing::fresh_postgres_url())
        .unwrap()
    {
        Some(url) => {
            reproduces(&url, &file, &source, target.path());
            runtime.block_on(tutti_store::testing::drop_postgres_database(&url));
        }
        None => eprintln!("\n!!! no PostgreSQL: the import into PostgreSQL did NOT run\n"),
    }
}

#[test]
fn a_broken_file_names_its_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = up(dir.path(), &[], &[]);
    let file = dir.path().join("lindner.json");
    let source = export(&server, &token, &file);
    let text = std::fs::read_to_string(&file).unwrap();
    let target = tempfile::tempdir().unwrap();
    let url = sqlite_url(target.path());

    // The comma after `"version": 1` lost: the next line cannot follow.
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[2], "  \"version\": 1,");
    lines[2] = "  \"version\": 1";
    let broken = target.path().join("broken.json");
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let (output, _) = import(&url, &broken);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(said.contains("line 4, column"), "{said}");
    assert!(said.contains("nothing was imported"), "{said}");

    // A work item given to someone who is not in the file.
    let assignee = source["work_items"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|w| w["assignee_id"].as_str())
        .unwrap()
        .to_owned();
    let stranger = "0190a000-0000-7000-8000-000000000001";
    let position = text
        .find(&format!("\"assignee_id\": \"{assignee}\""))
        .unwrap();
    let line = text[..position].matches('\n').count() + 1;
    let dangling = text.replacen(
        &format!("\"assignee_id\": \"{assignee}\""),
        &format!("\"assignee_id\": \"{stranger}\""),
        1,
    );
    let dangling_file = target.path().join("dangling.json");
    std::fs::write(&dangling_file, dangling).unwrap();
    let (output, _) = import(&url, &dangling_file);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(said.contains(&format!("line {line}")), "{said}");
    assert!(said.contains("assignee_id"), "{said}");

    // Nothing of either landed.
    assert_eq!(verified_orgs(&url), 0);
}

/// The rows of a CSV sheet, by header.
fn sheet(text: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn cells(rows: &[HashMap<String, String>], columns: &[&str]) -> Vec<Vec<String>> {
    let mut all: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| r[*c].clone()).collect())
        .collect();
    all.sort();
    all
}

#[test]
fn work_and_objectives_go_out_and_back_in_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = up(dir.path(), &[], &[]);
    let remote = [
        ("TUTTI_SERVER", server.url.as_str()),
        ("TUTTI_TOKEN", &token),
    ];
    // A task below one of the demo's work items, so parents travel too.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let page: Value = http
            .get(format!("{}/api/v1/work-items?limit=1", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let parent = page["items"][0]["id"].as_str().unwrap().to_owned();
        let child = http
            .post(format!("{}/api/v1/work-items", server.url))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "title": "Ersatzteil bestellen", "parent_id": parent }))
            .send()
            .await
            .unwrap();
        assert_eq!(child.status(), 201);
    });
    let work_file = dir.path().join("work.csv");
    let objectives_file = dir.path().join("objectives.csv");
    ok(&tutti(
        &["export", "work", "-o", work_file.to_str().unwrap()],
        &remote,
    ));
    ok(&tutti(
        &[
            "export",
            "objectives",
            "-o",
            objectives_file.to_str().unwrap(),
        ],
        &remote,
    ));
    let work_text = std::fs::read_to_string(&work_file).unwrap();
    let work = sheet(&work_text);
    assert!(work.len() >= 10, "{} work items", work.len());
    assert!(
        work.iter().any(|r| !r["parent"].is_empty()),
        "parents by key"
    );

    // Edited in a spreadsheet and brought back: the one changed row is
    // updated, the rest left as they are.
    let first = &work[0];
    let edited = work_text.replacen(&first["title"], "Wartung Heizung Familie Hofmann", 1);
    let edited_file = dir.path().join("edited.csv");
    std::fs::write(&edited_file, edited).unwrap();
    let said = ok(&tutti(
        &["import", "work", edited_file.to_str().unwrap()],
        &remote,
    ));
    assert!(
        said.starts_with(&format!(
            "0 created, 1 updated, {} unchanged",
            work.len() - 1
        )),
        "{said}"
    );

    // Into an org of its own: the same work and the same strategy.
    let target = tempfile::tempdir().unwrap();
    let url = sqlite_url(target.path());
    let other_token = crate::common::init(&url);
    let other = serve(&url, &[]);
    let there = [
        ("TUTTI_SERVER", other.url.as_str()),
        ("TUTTI_TOKEN", &other_token),
    ];
    let said = ok(&tutti(
        &["import", "work", work_file.to_str().unwrap()],
        &there,
    ));
    assert!(
        said.starts_with(&format!("{} created", work.len())),
        "{said}"
    );
    let again = ok(&tutti(
        &["import", "work", work_file.to_str().unwrap()],
        &there,
    ));
    assert!(
        again.starts_with(&format!("0 created, 0 updated, {} unchanged", work.len())),
        "{again}"
    );
    let copied = tutti(&["export", "work"], &there);
    let columns = [
        "key",
        "title",
        "description",
        "state",
        "priority",
        "due",
        "parent",
    ];
    assert_eq!(
        cells(&sheet(&ok(&copied)), &columns),
        cells(&work, &columns)
    );

    // The owners are people of the other org: refused, naming whom.
    let refused = tutti(
        &["import", "objectives", objectives_file.to_str().unwrap()],
        &there,
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("owner") && said.contains("lindner"), "{said}");
    let nothing = ok(&tutti(&["export", "objectives"], &there));
    assert_eq!(sheet(&nothing).len(), 0, "nothing was written");

    // Without owners and teams, the objectives come over whole.
    let strategy = sheet(&std::fs::read_to_string(&objectives_file).unwrap());
    let mut unowned = csv::Writer::from_writer(Vec::new());
    let header = [
        "objective",
        "why",
        "status",
        "period_start",
        "period_end",
        "parent",
        "key_result",
        "baseline",
        "target",
        "current",
        "unit",
        "confidence",
    ];
    unowned.write_record(header).unwrap();
    for row in &strategy {
        unowned
            .write_record(header.iter().map(|c| row[*c].as_str()))
            .unwrap();
    }
    let unowned_file = dir.path().join("unowned.csv");
    std::fs::write(&unowned_file, unowned.into_inner().unwrap()).unwrap();
    let said = ok(&tutti(
        &["import", "objectives", unowned_file.to_str().unwrap()],
        &there,
    ));
    let objectives = strategy
        .iter()
        .map(|r| r["objective"].as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    let key_results = strategy
        .iter()
        .filter(|r| !r["key_result"].is_empty())
        .count();
    assert_eq!(
        said.trim(),
        format!("{objectives} objectives and {key_results} key results created")
    );
    let copied = sheet(&ok(&tutti(&["export", "objectives"], &there)));
    assert_eq!(cells(&copied, &header), cells(&strategy, &header));
}
