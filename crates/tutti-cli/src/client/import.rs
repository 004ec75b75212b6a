//! `tutti import jira` and `tutti import work`: a Jira project's issues, or
//! a CSV sheet of work, as work items; `tutti import objectives`; and
//! `tutti export` (the org as JSON, work and objectives as CSV). A file is
//! read here by the domain's parsers (a file that cannot be read names its
//! line and nothing is sent); a work import is first tried as a dry run in
//! one transaction (so a refusal anywhere writes nothing), then sent in
//! batches with a progress bar. A batch that fails after others landed is
//! safe to repeat: an item is keyed by its key, so running the same import
//! again updates what is there and adds the rest.

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tutti_domain::import::{ImportedItem, parents_first, parse_jira_csv, parse_jira_search};
use tutti_domain::sheet::{parse_objectives_csv, parse_work_csv};

use super::Client;
use crate::cli::{ExportCommand, ImportCommand, Remote};

/// Items per request once the dry run has passed.
const BATCH: usize = 250;

/// `tutti export`: the org as JSON, its work or objectives as CSV, to a
/// file or standard output.
pub async fn export(remote: &Remote, command: ExportCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    let (text, out) = match command {
        ExportCommand::Org { out } => {
            let doc = client.get("/org/export").await?;
            (serde_json::to_string_pretty(&doc)? + "\n", out)
        }
        ExportCommand::Work { team, out } => {
            let query = team.map(|t| format!("?team_id={t}")).unwrap_or_default();
            let csv = client.get(&format!("/work-items/export{query}")).await?;
            (csv.as_str().unwrap_or_default().to_owned(), out)
        }
        ExportCommand::Objectives { out } => {
            let csv = client.get("/objectives/export").await?;
            (csv.as_str().unwrap_or_default().to_owned(), out)
        }
    };
    match out {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn import(remote: &Remote, command: ImportCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    let (source, file, team, dry_run) = match command {
        ImportCommand::Jira {
            file,
            team,
            dry_run,
        } => ("jira", file, team, dry_run),
        ImportCommand::Work {
            file,
            team,
            dry_run,
        } => ("csv", file, team, dry_run),
        ImportCommand::Objectives { file } => return import_objectives(&client, &file).await,
        ImportCommand::Org { .. } => {
            anyhow::bail!(
                "an org is imported into a database: tutti import org FILE --database-url URL"
            )
        }
    };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let looks_json = matches!(
        text.trim_start_matches('\u{feff}')
            .trim_start()
            .chars()
            .next(),
        Some('{' | '[')
    );
    let parsed = match source {
        "jira" if looks_json => parse_jira_search(&text),
        "jira" => parse_jira_csv(&text),
        _ => parse_work_csv(&text),
    };
    let items = parents_first(
        parsed.map_err(|e| anyhow!("{}: {}: {}", file.display(), e.field, e.message))?,
    );
    if items.is_empty() {
        return Err(anyhow!("{}: no rows in the file", file.display()));
    }
    let body = |items: &[ImportedItem], dry_run: bool| json!({ "source": source, "team_id": team, "dry_run": dry_run, "items": items });
    let trial = client
        .post("/work-items/import", body(&items, true))
        .await?;
    if dry_run {
        return report(&client, &trial, "would be");
    }
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} items {msg}")
            .map_err(|e| anyhow!("{e}"))?,
    );
    let mut totals = json!({ "dry_run": false, "created": 0, "updated": 0, "unchanged": 0,
                             "unmatched_assignees": trial["unmatched_assignees"],
                             "missing_parents": trial["missing_parents"], "items": [] });
    for batch in items.chunks(BATCH) {
        let done = client
            .post("/work-items/import", body(batch, false))
            .await?;
        for field in ["created", "updated", "unchanged"] {
            totals[field] =
                json!(totals[field].as_i64().unwrap_or(0) + done[field].as_i64().unwrap_or(0));
        }
        if let (Some(all), Some(rows)) = (totals["items"].as_array_mut(), done["items"].as_array())
        {
            all.extend(rows.iter().cloned());
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    report(&client, &totals, "")
}

/// Prints the counts and what did not match, or the JSON.
fn report(client: &Client<'_>, report: &Value, would: &str) -> anyhow::Result<ExitCode> {
    if client.remote.json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let count = |field: &str| report[field].as_i64().unwrap_or(0);
    let verb = |done: &str| {
        if would.is_empty() {
            done.to_owned()
        } else {
            format!("{would} {done}")
        }
    };
    println!(
        "{} {}, {} {}, {} unchanged",
        count("created"),
        verb("created"),
        count("updated"),
        verb("updated"),
        count("unchanged")
    );
    let list = |field: &str| -> Vec<String> {
        report[field]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let unmatched = list("unmatched_assignees");
    if !unmatched.is_empty() {
        println!(
            "left unassigned (no person of the org by that email or name): {}",
            unmatched.join(", ")
        );
    }
    let orphans = list("missing_parents");
    if !orphans.is_empty() {
        println!(
            "parent neither in the file nor in tutti: {}",
            orphans.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `tutti import objectives`: the sheet read here (a bad row names its
/// line, and nothing is sent), written in one call, all or nothing.
async fn import_objectives(
    client: &Client<'_>,
    file: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let objectives = parse_objectives_csv(&text)
        .map_err(|e| anyhow!("{}: {}: {}", file.display(), e.field, e.message))?;
    if objectives.is_empty() {
        return Err(anyhow!("{}: no objectives in the file", file.display()));
    }
    let done = client
        .post("/objectives/import", json!({ "objectives": objectives }))
        .await?;
    if client.remote.json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        println!(
            "{} objectives and {} key results created",
            done["objectives"], done["key_results"]
        );
    }
    Ok(ExitCode::SUCCESS)
}
