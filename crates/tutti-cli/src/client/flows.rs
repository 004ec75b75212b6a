//! Client commands for flows and their quality gates: flows, gate criteria,
//! cases with their checks and verdicts, and learnings.

use std::process::ExitCode;

use anyhow::bail;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Client;
use crate::cli::{CaseCommand, FlowCommand, GateCommand, LearningCommand, Remote};

const FLOW: &[(&str, &str)] = &[("id", "id"), ("flow", "name"), ("space", "space_id")];
const GATE: &[(&str, &str)] = &[
    ("id", "id"),
    ("gate", "name"),
    ("version", "version"),
    ("criteria", "criteria"),
];
const CASE: &[(&str, &str)] = &[
    ("id", "id"),
    ("case", "title"),
    ("customer", "customer"),
    ("stage", "stage"),
    ("status", "status"),
    ("hold until", "hold_until"),
    ("redo", "redo"),
];
const CRITERION: &[(&str, &str)] = &[
    ("criterion", "text"),
    ("by", "check_by"),
    ("outcome", "outcome"),
    ("reason", "reason"),
];
const VERDICT: &[(&str, &str)] = &[
    ("id", "id"),
    ("proposed", "proposed.verdict"),
    ("status", "status"),
    ("decision", "decision_id"),
    ("note", "note"),
];
const CHECK: &[(&str, &str)] = &[
    ("id", "id"),
    ("criterion", "criterion"),
    ("outcome", "outcome"),
    ("reason", "reason"),
];
const LEARNING: &[(&str, &str)] = &[
    ("id", "id"),
    ("learning", "title"),
    ("status", "status"),
    ("gate", "gate_id"),
    ("service", "service_product_id"),
    ("version made", "made_version"),
];

/// A stage as given: `Name` or `Name@TEAM_ID`.
fn stage(spec: &str) -> anyhow::Result<Value> {
    match spec.rsplit_once('@') {
        Some((name, team)) => match team.parse::<Uuid>() {
            Ok(team) => Ok(json!({ "name": name, "team_id": team })),
            Err(_) => bail!("--stage {spec}: `{team}` is not a team id (Name@TEAM_ID)"),
        },
        None => Ok(json!({ "name": spec })),
    }
}

/// A criterion as given: `person:TEXT`, `rule:RULE:TEXT` or `ai:WORKER_ID:TEXT`.
fn criterion(spec: &str) -> anyhow::Result<Value> {
    let bad = || {
        anyhow::anyhow!(
            "--criterion {spec}: expected person:TEXT, rule:RULE:TEXT or ai:WORKER_ID:TEXT"
        )
    };
    let (kind, rest) = spec.split_once(':').ok_or_else(bad)?;
    match kind {
        "person" => Ok(json!({ "text": rest, "check_by": "person" })),
        "rule" => {
            let (rule, text) = rest.split_once(':').ok_or_else(bad)?;
            Ok(json!({ "text": text, "check_by": "rule", "rule": rule }))
        }
        "ai" => {
            let (worker, text) = rest.split_once(':').ok_or_else(bad)?;
            let Ok(worker) = worker.parse::<Uuid>() else {
                bail!("--criterion {spec}: `{worker}` is not an AI worker's id");
            };
            Ok(json!({ "text": text, "check_by": "ai", "worker_id": worker }))
        }
        _ => Err(bad()),
    }
}

fn criteria(specs: &[String]) -> anyhow::Result<Vec<Value>> {
    specs.iter().map(|s| criterion(s)).collect()
}

pub async fn flow(remote: &Remote, command: FlowCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        FlowCommand::List => client.print_list(&client.get("/flows?limit=500").await?, FLOW),
        FlowCommand::Add {
            name,
            description,
            space,
            stages,
        } => {
            let stages = stages
                .iter()
                .map(|s| stage(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let body = json!({ "name": name, "description": description, "space_id": space, "stages": stages });
            client.print_one(&client.post("/flows", body).await?, FLOW)
        }
        FlowCommand::Show { id } => {
            let flow = client.get(&format!("/flows/{id}")).await?;
            let gates = flow["gates"].as_array().cloned().unwrap_or_default();
            client.print(&flow, &gates, GATE)
        }
    }
}

pub async fn gate(remote: &Remote, command: GateCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        GateCommand::Show { id } => {
            let gate = client.get(&format!("/gates/{id}")).await?;
            let criteria = gate["criteria"].as_array().cloned().unwrap_or_default();
            client.print(
                &gate,
                &criteria,
                &[
                    ("criterion", "text"),
                    ("by", "check_by"),
                    ("rule", "rule"),
                    ("worker", "worker_id"),
                ],
            )
        }
        GateCommand::Criteria {
            id,
            based_on,
            criteria: specs,
        } => {
            let body = json!({ "criteria": criteria(&specs)?, "based_on": based_on });
            client.print_one(
                &client.put(&format!("/gates/{id}/criteria"), body).await?,
                GATE,
            )
        }
    }
}

pub async fn case(remote: &Remote, command: CaseCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        CaseCommand::List { flow, status } => {
            let mut query = vec!["limit=500".to_owned()];
            query.extend(flow.map(|f| format!("flow={f}")));
            query.extend(status.map(|s| format!("status={s}")));
            client.print_list(
                &client.get(&format!("/cases?{}", query.join("&"))).await?,
                CASE,
            )
        }
        CaseCommand::Open {
            flow,
            title,
            customer,
            work_item,
        } => {
            let body = json!({ "flow_id": flow, "title": title, "customer": customer, "work_item_id": work_item });
            client.print_one(&client.post("/cases", body).await?, CASE)
        }
        CaseCommand::Show { id } => {
            let case = client.get(&format!("/cases/{id}")).await?;
            let rows = case["criteria"].as_array().cloned().unwrap_or_default();
            if !remote.json {
                let gate = case["gate"]["name"].as_str().unwrap_or("–");
                println!(
                    "{} — stage {} ({}), gate ahead: {gate}",
                    case["title"].as_str().unwrap_or(""),
                    case["stage_name"].as_str().unwrap_or(""),
                    case["status"].as_str().unwrap_or("")
                );
            }
            client.print(&case, &rows, CRITERION)
        }
        CaseCommand::Check {
            id,
            criterion,
            pass,
            fail,
            reason,
        } => {
            let passed = match (pass, fail) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let body = json!({ "criterion": criterion, "passed": passed, "reason": reason });
            client.print_one(
                &client.post(&format!("/cases/{id}/checks"), body).await?,
                CHECK,
            )
        }
        CaseCommand::Verdict {
            id,
            verdict,
            reason,
            until,
            redo,
        } => {
            let body =
                json!({ "verdict": verdict, "reason": reason, "until": until, "redo": redo });
            client.print_one(
                &client.post(&format!("/cases/{id}/verdicts"), body).await?,
                VERDICT,
            )
        }
    }
}

pub async fn learning(remote: &Remote, command: LearningCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        LearningCommand::List { status, gate } => {
            let mut query = vec!["limit=500".to_owned()];
            query.extend(status.map(|s| format!("status={s}")));
            query.extend(gate.map(|g| format!("gate={g}")));
            client.print_list(
                &client
                    .get(&format!("/learnings?{}", query.join("&")))
                    .await?,
                LEARNING,
            )
        }
        LearningCommand::Add {
            title,
            body,
            team,
            promise,
            gate,
            service,
            criteria: specs,
            levels,
        } => {
            let amendment = if !specs.is_empty() {
                json!({ "kind": "criteria", "criteria": criteria(&specs)? })
            } else if !levels.is_empty() {
                json!({ "kind": "levels", "levels": levels })
            } else {
                Value::Null
            };
            let body = json!({
                "title": title, "body": body, "team_id": team, "promise_id": promise,
                "gate_id": gate, "service_product_id": service, "amendment": amendment,
            });
            client.print_one(&client.post("/learnings", body).await?, LEARNING)
        }
        LearningCommand::Accept { id, answer } => client.print_one(
            &client
                .post(
                    &format!("/learnings/{id}/accept"),
                    json!({ "answer": answer }),
                )
                .await?,
            LEARNING,
        ),
        LearningCommand::Decline { id, answer } => client.print_one(
            &client
                .post(
                    &format!("/learnings/{id}/decline"),
                    json!({ "answer": answer }),
                )
                .await?,
            LEARNING,
        ),
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn criteria_and_stages_are_read_or_refused_with_the_expected_form() {
        assert_eq!(
            criterion("person:Termin steht").unwrap()["check_by"],
            "person"
        );
        let rule = criterion("rule:no_blocked_work:Nichts blockiert").unwrap();
        assert_eq!(
            (rule["rule"].as_str(), rule["text"].as_str()),
            (Some("no_blocked_work"), Some("Nichts blockiert"))
        );
        assert!(
            criterion("ai:emil:x")
                .unwrap_err()
                .to_string()
                .contains("not an AI worker's id")
        );
        assert!(criterion("Termin").is_err());
        assert_eq!(stage("Vertrieb").unwrap(), json!({ "name": "Vertrieb" }));
        assert!(stage("Vertrieb@sales").is_err());
    }
}
