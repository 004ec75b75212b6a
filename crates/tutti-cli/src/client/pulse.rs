//! Client commands for the team's voice: pulse surveys (list, create, show,
//! answer, results), the org's settings for them, and the workload view.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::Client;
use crate::cli::{PulseCommand, Remote, WorkloadArgs};

const SURVEY: &[(&str, &str)] = &[
    ("id", "id"),
    ("pulse", "title"),
    ("team", "team_id"),
    ("repeat", "repeat"),
    ("open round", "open_round"),
    ("asked", "asked"),
    ("answered", "answered"),
];
const GROUP: &[(&str, &str)] = &[
    ("team", "team"),
    ("answered", "respondents"),
    ("score", "score"),
    ("eNPS", "enps"),
];
const QUESTION: &[(&str, &str)] = &[
    ("#", "n"),
    ("question", "text"),
    ("kind", "kind"),
    ("shown", "shown"),
    ("mean", "mean"),
    ("eNPS", "enps"),
    ("comments", "comments"),
];
const LOAD: &[(&str, &str)] = &[
    ("member", "name"),
    ("kind", "kind"),
    ("backlog", "backlog"),
    ("ready", "ready"),
    ("running", "running"),
    ("in review", "in_review"),
    ("blocked", "blocked"),
    ("due soon", "due_soon"),
    ("overdue", "overdue"),
    ("decisions", "decisions_waiting"),
    ("reviews", "reviews_waiting"),
    ("runs", "runs_queued"),
    ("used", "used"),
    ("overloaded", "overloaded"),
];

/// One answer as the question asks it: `-` skips it, a scored question
/// takes a whole number, a text question takes the text as it is.
fn answer(kind: &str, n: usize, given: &str) -> anyhow::Result<Value> {
    if given == "-" {
        return Ok(Value::Null);
    }
    if kind == "text" {
        return Ok(json!(given));
    }
    given.parse::<u8>().map(|score| json!(score)).map_err(|_| {
        anyhow::anyhow!("answer {n}: `{given}` is not a whole number (or `-` to skip)")
    })
}

fn shown(disclosure: &Value, names: &Value) -> String {
    match disclosure["status"].as_str() {
        Some("shown") => format!("yes ({})", disclosure["respondents"]),
        Some("too_few") => "too few answers".to_owned(),
        Some("remainder") => {
            let with = disclosure["with"].as_str().unwrap_or_default();
            let name = names[with].as_str().unwrap_or(with);
            format!("withheld: would reveal a few beside {name}")
        }
        _ => "–".to_owned(),
    }
}

pub async fn pulse(remote: &Remote, command: PulseCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        PulseCommand::List { team } => {
            let mut query = vec!["limit=200".to_owned()];
            query.extend(team.map(|t| format!("team={t}")));
            let page = client
                .get(&format!("/pulse/surveys?{}", query.join("&")))
                .await?;
            client.print_list(&page, SURVEY)
        }
        PulseCommand::Create(create) => {
            let questions = match &create.questions {
                Some(path) => Some(
                    serde_json::from_str::<Value>(
                        &std::fs::read_to_string(path)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                    )
                    .map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", path.display()))?,
                ),
                None => None,
            };
            let body = json!({
                "team_id": create.team, "title": create.title, "questions": questions,
                "opens_on": create.opens, "closes_on": create.closes, "repeat": create.repeat,
                "enps_drop": create.enps_drop, "score_drop": create.score_drop, "lang": create.lang,
            });
            let survey = client.post("/pulse/surveys", body).await?;
            client.print_one(&survey, SURVEY)
        }
        PulseCommand::Show { id } => {
            let shown = client.get(&format!("/pulse/surveys/{id}")).await?;
            if remote.json {
                return client.print_one(&shown, SURVEY);
            }
            client.print_one(&shown, SURVEY)?;
            for (n, q) in shown["questions"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                println!(
                    "{}. [{}] {}",
                    n + 1,
                    q["kind"].as_str().unwrap_or("?"),
                    q["text"].as_str().unwrap_or("")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        PulseCommand::Answer { id, answers } => {
            let shown = client.get(&format!("/pulse/surveys/{id}")).await?;
            let questions = shown["questions"].as_array().cloned().unwrap_or_default();
            if answers.len() != questions.len() {
                anyhow::bail!(
                    "this pulse asks {} questions; give one answer each (`-` skips one)",
                    questions.len()
                );
            }
            let answers = questions
                .iter()
                .zip(&answers)
                .enumerate()
                .map(|(n, (q, given))| answer(q["kind"].as_str().unwrap_or(""), n + 1, given))
                .collect::<anyhow::Result<Vec<Value>>>()?;
            let answered = client
                .post(
                    &format!("/pulse/surveys/{id}/answers"),
                    json!({ "answers": answers }),
                )
                .await?;
            if remote.json {
                println!("{answered}");
            } else {
                println!(
                    "answered round {} — anonymously: your answers are kept without you",
                    answered["round"]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        PulseCommand::End { id } => client.print_one(
            &client
                .post(&format!("/pulse/surveys/{id}/end"), json!({}))
                .await?,
            &[("id", "id"), ("pulse", "title"), ("ended on", "ended_on")],
        ),
        PulseCommand::Results { id, round } => {
            let results = client.get(&format!("/pulse/surveys/{id}/results")).await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&results)?);
                return Ok(ExitCode::SUCCESS);
            }
            let rounds = results["rounds"].as_array().cloned().unwrap_or_default();
            let Some(chosen) = (match round {
                Some(n) => rounds.iter().find(|r| r["round"] == json!(n)),
                None => rounds.first(),
            }) else {
                anyhow::bail!("no such round of this pulse has begun");
            };
            let names = &results["team_names"];
            println!(
                "{} — round {} ({} to {}{}), shown from {} answers",
                results["survey"]["title"].as_str().unwrap_or(""),
                chosen["round"],
                chosen["opens_on"].as_str().unwrap_or(""),
                chosen["closes_on"].as_str().unwrap_or(""),
                if chosen["open"] == json!(true) {
                    ", open"
                } else {
                    ""
                },
                results["k"]
            );
            let groups = chosen["groups"].as_array().cloned().unwrap_or_default();
            let rows: Vec<Value> = groups
                .iter()
                .map(|g| {
                    let team = g["team_id"].as_str().unwrap_or_default();
                    json!({
                        "team": names[team].as_str().unwrap_or(team),
                        "respondents": g["respondents"],
                        "score": g["score"].as_f64().map(|s| format!("{s:.1}")),
                        "enps": g["enps"].as_f64().map(|s| format!("{s:+.0}")),
                    })
                })
                .collect();
            client.print(&results, &rows, GROUP)?;
            let questions = results["survey"]["questions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for g in &groups {
                let team = g["team_id"].as_str().unwrap_or_default();
                println!("{}", names[team].as_str().unwrap_or(team));
                let rows: Vec<Value> = questions
                    .iter()
                    .zip(g["questions"].as_array().into_iter().flatten())
                    .enumerate()
                    .map(|(n, (q, r))| {
                        json!({
                            "n": n + 1,
                            "text": q["text"],
                            "kind": q["kind"],
                            "shown": shown(&r["disclosure"], names),
                            "mean": r["distribution"]["mean"].as_f64().map(|m| format!("{m:.1}")),
                            "enps": r["enps"]["score"].as_f64().map(|s| format!("{s:+.0}")),
                            "comments": r["comments"].as_array().filter(|c| !c.is_empty())
                                .map(|c| c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | ")),
                        })
                    })
                    .collect();
                client.print(&results, &rows, QUESTION)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        PulseCommand::Settings {
            k,
            open,
            overdue,
            queue,
        } => {
            let mut settings = client.get("/org/voice").await?;
            if k.is_some() || open.is_some() || overdue.is_some() || queue.is_some() {
                if let Some(k) = k {
                    settings["k"] = json!(k);
                }
                for (field, value) in [
                    ("open", open),
                    ("overdue", overdue),
                    ("queue_per_slot", queue),
                ] {
                    if let Some(value) = value {
                        settings["load"][field] = json!(value);
                    }
                }
                settings = client.put("/org/voice", settings).await?;
            }
            client.print_one(
                &settings,
                &[
                    ("k", "k"),
                    ("open work", "load.open"),
                    ("overdue", "load.overdue"),
                    ("queue per slot", "load.queue_per_slot"),
                ],
            )
        }
    }
}

pub async fn workload(remote: &Remote, args: WorkloadArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    let mut query = Vec::new();
    query.extend(args.team.map(|t| format!("team={t}")));
    query.extend(args.kind.map(|k| format!("kind={k}")));
    let path = if args.candidates {
        "/workload/candidates"
    } else {
        "/workload"
    };
    let found = client.get(&format!("{path}?{}", query.join("&"))).await?;
    let members = if args.candidates {
        found.as_array().cloned().unwrap_or_default()
    } else {
        found["members"].as_array().cloned().unwrap_or_default()
    };
    let rows: Vec<Value> = members
        .into_iter()
        .map(|mut m| {
            m["used"] = json!(format!(
                "{:.0} %",
                m["used"].as_f64().unwrap_or(0.0) * 100.0
            ));
            let reasons: Vec<String> = m["overloads"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["reason"].as_str().map(|r| r.replace('_', " ")))
                .collect();
            m["overloaded"] = json!(if reasons.is_empty() {
                "–".to_owned()
            } else {
                reasons.join(", ")
            });
            m
        })
        .collect();
    client.print(&found, &rows, LOAD)
}
