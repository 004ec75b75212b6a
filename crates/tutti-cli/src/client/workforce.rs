//! Client commands for steering the AI workforce: work-order templates and
//! their record, the org's AI capacity, a space's guard-rail checks, and
//! evidence behind check-ins.

use std::process::ExitCode;

use serde_json::{Value, json};
use tutti_domain::labour::format_money;

use super::Client;
use crate::cli::{CapacityArgs, EvidenceCommand, LeverageArgs, Remote, TemplateCommand};

const TEMPLATE: &[(&str, &str)] = &[("id", "id"), ("template", "name"), ("versions", "versions")];
const RECORD: &[(&str, &str)] = &[
    ("version", "version"),
    ("in use", "in_use"),
    ("items", "record.items"),
    ("accepted", "record.accepted"),
    ("accept rate", "record.accept_rate"),
    ("revise rounds", "record.revise_rounds"),
    ("rating", "record.mean_rating"),
    ("tokens/accepted", "record.tokens_per_accepted"),
    ("cost/accepted", "record.cost_per_accepted"),
    ("hours to accept", "record.hours_to_accept"),
    ("guard findings", "record.guard_findings"),
    ("note", "note"),
];
const AUTHOR: &[(&str, &str)] = &[
    ("author", "name"),
    ("items", "record.items"),
    ("accepted", "record.accepted"),
    ("accept rate", "record.accept_rate"),
    ("revise rounds", "record.revise_rounds"),
    ("rating", "record.mean_rating"),
];
const WORK_ITEM: &[(&str, &str)] = &[
    ("id", "id"),
    ("title", "title"),
    ("state", "state"),
    ("assignee", "assignee_id"),
];
const QUEUE: &[(&str, &str)] = &[
    ("worker", "name"),
    ("id", "worker_id"),
    ("concurrency", "concurrency"),
    ("running", "running"),
    ("queued", "queued"),
    ("oldest waits (s)", "oldest_wait_secs"),
    ("mean wait (s)", "mean_wait_secs"),
    ("started (7 d)", "started"),
];
const LEVERAGE: &[(&str, &str)] = &[
    ("group", "label"),
    ("cost", "cost_shown"),
    ("tokens", "tokens"),
    ("accepted", "accepted"),
    ("hours to accept", "cycle_hours"),
    ("key results", "key_results"),
    ("points moved", "points_moved"),
    ("cost/point", "cost_per_point_shown"),
    ("moves nothing", "moves_nothing"),
];
const EVIDENCE: &[(&str, &str)] = &[
    ("check-in", "check_in_id"),
    ("work", "title"),
    ("state", "state"),
    ("run", "run_id"),
    ("runs", "runs"),
    ("tokens", "tokens"),
    ("cost", "cost"),
];

pub async fn template(remote: &Remote, command: TemplateCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        TemplateCommand::List => {
            let mut list = client.get("/templates").await?;
            let rows: Vec<Value> = list
                .as_array_mut()
                .into_iter()
                .flatten()
                .map(|t| {
                    let mut row = t.clone();
                    row["versions"] = json!(t["versions"].as_array().map_or(0, Vec::len));
                    row
                })
                .collect();
            client.print(&list, &rows, TEMPLATE)
        }
        TemplateCommand::Show { id } => {
            let shown = client.get(&format!("/templates/{id}")).await?;
            if remote.json {
                return client.print_one(&shown, RECORD);
            }
            println!("{}", shown["template"]["name"].as_str().unwrap_or_default());
            let versions = shown["versions"].as_array().cloned().unwrap_or_default();
            client.print(&shown, &versions, RECORD)?;
            let authors = shown["authors"].as_array().cloned().unwrap_or_default();
            client.print(&shown, &authors, AUTHOR)?;
            if let Some(note) = shown["comparison"]["note"].as_str() {
                println!("{note}");
            }
            Ok(ExitCode::SUCCESS)
        }
        TemplateCommand::Add { name, text } => {
            let body = json!({ "name": name, "body": text.body, "criteria": text.criteria });
            let made = client.post("/templates", body).await?;
            client.print_one(&made, &[("id", "id"), ("template", "name")])
        }
        TemplateCommand::Version {
            id,
            text,
            note,
            side_by_side,
        } => {
            let body = json!({ "body": text.body, "criteria": text.criteria, "note": note,
                               "side_by_side": side_by_side });
            let made = client
                .post(&format!("/templates/{id}/versions"), body)
                .await?;
            let versions = made["versions"].as_array().cloned().unwrap_or_default();
            client.print(
                &made,
                &versions,
                &[
                    ("version", "version"),
                    ("in use", "in_use"),
                    ("note", "note"),
                ],
            )
        }
        TemplateCommand::Use(new) => {
            let body = json!({
                "title": new.title, "details": new.details, "team_id": new.team,
                "assignee_id": new.assignee, "key_result_id": new.key_result,
                "state": if new.ready { "ready" } else { "backlog" },
                "kind": new.kind, "priority": new.priority, "due": new.due,
            });
            let item = client
                .post(&format!("/templates/{}/work-items", new.id), body)
                .await?;
            client.print_one(&item, WORK_ITEM)
        }
    }
}

pub async fn capacity(remote: &Remote, args: CapacityArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    if let Some(cap) = args.org_cap {
        let cap = match cap.as_str() {
            "none" => Value::Null,
            n => json!(n.parse::<i64>().map_err(|_| anyhow::anyhow!(
                "--org-cap: `{n}` is not a whole number or `none`"
            ))?),
        };
        client
            .put("/org/capacity", json!({ "ai_concurrency": cap }))
            .await?;
    }
    if let (Some(worker), Some(concurrency)) = (args.worker, args.concurrency) {
        client
            .patch(
                &format!("/members/{worker}"),
                json!({ "concurrency": concurrency }),
            )
            .await?;
    }
    let capacity = client.get("/capacity").await?;
    if !remote.json {
        let cap = capacity["ai_concurrency"]
            .as_i64()
            .map_or("none".to_owned(), |n| n.to_string());
        println!(
            "org cap: {cap} · running {} · queued {}",
            capacity["running"], capacity["queued"]
        );
    }
    let workers = capacity["workers"].as_array().cloned().unwrap_or_default();
    client.print(&capacity, &workers, QUEUE)
}

/// `tutti leverage`: the leverage view as a table, JSON or CSV.
pub async fn leverage(remote: &Remote, args: LeverageArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    let query = format!("?by={}&period={}", args.by, args.period);
    if args.csv {
        let sheet = client.get(&format!("/leverage/export{query}")).await?;
        print!("{}", sheet.as_str().unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let report = client.get(&format!("/leverage{query}")).await?;
    let mut rows = report["rows"].as_array().cloned().unwrap_or_default();
    let mut total = report["total"].clone();
    total["label"] = json!("total");
    rows.push(total);
    for row in &mut rows {
        if row["label"].is_null() {
            row["label"] = json!(format!("(no {})", args.by));
        }
        for field in ["cost", "cost_per_point"] {
            let shown = row[field].as_i64().map(format_money);
            row[format!("{field}_shown")] = json!(shown);
        }
    }
    if !remote.json {
        println!(
            "{} to {}, cost in {}",
            report["from"].as_str().unwrap_or_default(),
            report["to"].as_str().unwrap_or_default(),
            report["currency"].as_str().unwrap_or_default()
        );
    }
    client.print(&report, &rows, LEVERAGE)
}

pub async fn evidence(remote: &Remote, command: EvidenceCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        EvidenceCommand::List { key_result } => {
            let list = client
                .get(&format!("/key-results/{key_result}/evidence"))
                .await?;
            let rows = list.as_array().cloned().unwrap_or_default();
            client.print(&list, &rows, EVIDENCE)
        }
        EvidenceCommand::Add {
            check_in,
            work_item,
            run,
        } => {
            let made = client
                .post(
                    &format!("/check-ins/{check_in}/evidence"),
                    json!({ "work_item_id": work_item, "run_id": run }),
                )
                .await?;
            client.print_one(&made, EVIDENCE)
        }
    }
}

/// A space's checks as flags give them: each kind once, only those given.
pub fn guards_from_flags(
    forbidden: Vec<String>,
    amount_above: Option<u32>,
    sections: Vec<String>,
) -> Value {
    let mut checks = Vec::new();
    if !forbidden.is_empty() {
        checks.push(json!({ "kind": "forbidden", "phrases": forbidden }));
    }
    if let Some(limit) = amount_above {
        checks.push(json!({ "kind": "amount_above", "limit": limit }));
    }
    if !sections.is_empty() {
        checks.push(json!({ "kind": "required_sections", "headings": sections }));
    }
    json!({ "checks": checks })
}

/// Prints a space's checks, one per line.
pub fn print_guards(remote: &Remote, guards: &Value) -> anyhow::Result<ExitCode> {
    if remote.json {
        println!("{}", serde_json::to_string_pretty(guards)?);
        return Ok(ExitCode::SUCCESS);
    }
    let checks = guards["checks"].as_array().cloned().unwrap_or_default();
    if checks.is_empty() {
        println!("no guard-rail checks");
    }
    for check in checks {
        match check["kind"].as_str() {
            Some("forbidden") => println!("forbidden: {}", join(&check["phrases"])),
            Some("amount_above") => println!("no amount above {} €", check["limit"]),
            Some("required_sections") => {
                println!("required sections: {}", join(&check["headings"]))
            }
            _ => println!("{check}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn join(texts: &Value) -> String {
    texts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
