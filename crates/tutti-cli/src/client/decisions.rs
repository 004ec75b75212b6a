//! Client commands for decision spaces and decisions: spaces with their
//! policy (from a file or a starter template), simulation, decisions, votes,
//! outcome reviews and the register.

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use serde_json::{Map, Value, json};

use super::Client;
use crate::cli::{DecisionCommand, FactsArgs, Remote, SpaceCommand};

const SPACE: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("team", "team_id"),
    ("objective", "objective_id"),
    ("quorum", "quorum"),
    ("escalate after (s)", "escalate_after_secs"),
    ("version", "version"),
];
const DECISION: &[(&str, &str)] = &[
    ("id", "id"),
    ("question", "question"),
    ("autonomy", "routing.autonomy"),
    ("quorum", "routing.quorum"),
    ("status", "status"),
    ("recommended", "recommendation.option"),
    ("choice", "choice"),
];
const TRAIL: &[(&str, &str)] = &[("at", "at"), ("action", "action"), ("by", "actor_id")];

/// `90m`, `8h`, `2d`, or plain seconds.
fn parse_duration(text: &str) -> anyhow::Result<i64> {
    let invalid = || anyhow!("--escalate-after: `{text}` is not a duration like 90m, 8h or 2d");
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |i| text.split_at(i));
    let n: i64 = number.parse().map_err(|_| invalid())?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(invalid()),
    };
    n.checked_mul(factor).ok_or_else(invalid)
}

fn read_policy(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the policy file {}", path.display()))
}

fn facts_json(facts: FactsArgs) -> anyhow::Result<Value> {
    let mut attributes = Map::new();
    for pair in &facts.attributes {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--attr: `{pair}` is not name=value"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        attributes.insert(name.to_owned(), value);
    }
    Ok(json!({
        "amount": facts.amount, "currency": facts.currency, "risk": facts.risk,
        "reversible": facts.reversible, "customer_facing": facts.customer_facing,
        "attributes": attributes,
    }))
}

fn print_routing(routing: &Value) {
    println!(
        "routing: {}",
        routing["explanation"].as_str().unwrap_or("?")
    );
}

pub async fn space(remote: &Remote, command: SpaceCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        SpaceCommand::List => {
            client.print_list(&client.get("/decision-spaces?limit=500").await?, SPACE)
        }
        SpaceCommand::Show { id } => {
            let space = client.get(&format!("/decision-spaces/{id}")).await?;
            client.print_one(&space, SPACE)?;
            if !remote.json {
                println!("\n── principles");
                for principle in space["principles"].as_array().into_iter().flatten() {
                    println!("- {}", principle.as_str().unwrap_or(""));
                }
                println!("\n── policy\n{}", space["policy"].as_str().unwrap_or(""));
            }
            Ok(ExitCode::SUCCESS)
        }
        SpaceCommand::Templates { name } => {
            let all = client.get("/decision-spaces/templates").await?;
            let templates = all["templates"].as_array().cloned().unwrap_or_default();
            match name {
                None => client.print(
                    &all,
                    &templates,
                    &[("name", "name"), ("what it does", "title")],
                ),
                Some(name) => {
                    let template = templates
                        .iter()
                        .find(|t| t["name"] == name.as_str())
                        .ok_or_else(|| {
                            anyhow!(
                                "no template named `{name}`; `tutti space templates` lists them"
                            )
                        })?;
                    print!("{}", template["source"].as_str().unwrap_or(""));
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        SpaceCommand::Add {
            name,
            team,
            objective,
            policy_file,
            template,
            principles,
            attributes,
            quorum,
            escalate_after,
            escalate_to,
        } => {
            let policy = match (policy_file, template) {
                (Some(path), _) => read_policy(&path)?,
                (None, Some(name)) => {
                    let all = client.get("/decision-spaces/templates").await?;
                    all["templates"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|t| t["name"] == name.as_str())
                        .and_then(|t| t["source"].as_str())
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            anyhow!(
                                "no template named `{name}`; `tutti space templates` lists them"
                            )
                        })?
                }
                (None, None) => bail!("give the policy: --policy-file FILE or --template NAME"),
            };
            let mut declared = Map::new();
            for pair in &attributes {
                let (attr, kind) = pair
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--attribute: `{pair}` is not name=long|string|bool"))?;
                declared.insert(attr.to_owned(), json!(kind));
            }
            let escalate_after = escalate_after.as_deref().map(parse_duration).transpose()?;
            let body = json!({
                "name": name, "team_id": team, "objective_id": objective, "principles": principles,
                "policy": policy, "attributes": declared, "quorum": quorum,
                "escalate_after_secs": escalate_after, "escalate_to": escalate_to,
            });
            client.print_one(&client.post("/decision-spaces", body).await?, SPACE)
        }
        SpaceCommand::Edit {
            id,
            name,
            policy_file,
            principles,
            quorum,
        } => {
            let mut body = Map::new();
            if let Some(name) = name {
                body.insert("name".into(), json!(name));
            }
            if let Some(path) = policy_file {
                body.insert("policy".into(), json!(read_policy(&path)?));
            }
            if !principles.is_empty() {
                body.insert("principles".into(), json!(principles));
            }
            if let Some(quorum) = quorum {
                body.insert("quorum".into(), json!(quorum));
            }
            client.print_one(
                &client
                    .patch(&format!("/decision-spaces/{id}"), Value::Object(body))
                    .await?,
                SPACE,
            )
        }
        SpaceCommand::Guards {
            id,
            forbidden,
            amount_above,
            sections,
            clear,
        } => {
            let path = format!("/decision-spaces/{id}/guards");
            let given =
                clear || !forbidden.is_empty() || amount_above.is_some() || !sections.is_empty();
            let guards = if given {
                let body = super::workforce::guards_from_flags(forbidden, amount_above, sections);
                client.put(&path, body).await?
            } else {
                client.get(&path).await?
            };
            super::workforce::print_guards(remote, &guards)
        }
        SpaceCommand::Delete { id } => {
            client.delete(&format!("/decision-spaces/{id}")).await?;
            if !remote.json {
                println!("deleted {id}");
            }
            Ok(ExitCode::SUCCESS)
        }
        SpaceCommand::Simulate {
            id,
            facts,
            assignee,
            approver,
            policy_file,
        } => {
            let policy = policy_file.as_deref().map(read_policy).transpose()?;
            let body = json!({
                "facts": facts_json(facts)?, "assignee_id": assignee, "approver_id": approver, "policy": policy,
            });
            let simulation = client
                .post(&format!("/decision-spaces/{id}/simulate"), body)
                .await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&simulation)?);
                return Ok(ExitCode::SUCCESS);
            }
            print_routing(&simulation["routing"]);
            if let Some(approval) = simulation["approval"].as_object() {
                let policies: Vec<&str> = approval["policies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                println!(
                    "approve: {} ({})",
                    if approval["allowed"] == true {
                        "allowed"
                    } else {
                        "denied"
                    },
                    if policies.is_empty() {
                        "no policy permits it".to_owned()
                    } else {
                        policies.join(", ")
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn decision(remote: &Remote, command: DecisionCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        DecisionCommand::List {
            space,
            status,
            awaiting_me,
            limit,
        } => {
            let mut query = vec![format!("limit={limit}")];
            query.extend(space.map(|s| format!("space={s}")));
            query.extend(status.map(|s| format!("status={s}")));
            if awaiting_me {
                query.push("awaiting=me".into());
            }
            client.print_list(
                &client
                    .get(&format!("/decisions?{}", query.join("&")))
                    .await?,
                DECISION,
            )
        }
        DecisionCommand::Show { id } => {
            let decision = client.get(&format!("/decisions/{id}")).await?;
            client.print_one(&decision, DECISION)?;
            if remote.json {
                return Ok(ExitCode::SUCCESS);
            }
            print_routing(&decision["routing"]);
            println!(
                "options: {}",
                decision["options"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            if let Some(rec) = decision["recommendation"].as_object() {
                println!(
                    "AI recommends: {} (confidence {}) — {}",
                    rec["option"].as_str().unwrap_or("?"),
                    rec["confidence"],
                    rec["rationale"].as_str().unwrap_or("")
                );
            }
            let trail = decision["trail"].as_array().cloned().unwrap_or_default();
            println!("\n── trail");
            client.print(&Value::Null, &trail, TRAIL)?;
            Ok(ExitCode::SUCCESS)
        }
        DecisionCommand::Add {
            space,
            question,
            context,
            options,
            facts,
            assignee,
            propose,
            rationale,
            confidence,
        } => {
            let proposal = propose.map(|option| json!({ "option": option, "rationale": rationale, "confidence": confidence }));
            let body = json!({
                "space_id": space, "question": question, "context": context, "options": options,
                "facts": facts_json(facts)?, "assignee_id": assignee, "proposal": proposal,
            });
            let decision = client.post("/decisions", body).await?;
            client.print_one(&decision, DECISION)?;
            if !remote.json {
                print_routing(&decision["routing"]);
            }
            Ok(ExitCode::SUCCESS)
        }
        DecisionCommand::Propose {
            id,
            option,
            rationale,
            confidence,
        } => {
            let body =
                json!({ "option": option, "rationale": rationale, "confidence": confidence });
            client.print_one(
                &client
                    .post(&format!("/decisions/{id}/propose"), body)
                    .await?,
                DECISION,
            )
        }
        DecisionCommand::Approve { id, option, reason } => {
            let body = json!({ "option": option, "reason": reason });
            client.print_one(
                &client
                    .post(&format!("/decisions/{id}/approve"), body)
                    .await?,
                DECISION,
            )
        }
        DecisionCommand::Reject { id, reason } => {
            let body = json!({ "reason": reason });
            client.print_one(
                &client
                    .post(&format!("/decisions/{id}/reject"), body)
                    .await?,
                DECISION,
            )
        }
        DecisionCommand::Outcome { id, outcome, note } => {
            let body = json!({ "outcome": outcome, "note": note });
            client.print_one(
                &client
                    .post(&format!("/decisions/{id}/outcome"), body)
                    .await?,
                DECISION,
            )
        }
        DecisionCommand::Register {
            space,
            csv,
            summary,
        } => {
            let mut query = Vec::new();
            query.extend(space.map(|s| format!("space={s}")));
            if summary {
                let summary = client
                    .get(&format!("/decision-register/summary?{}", query.join("&")))
                    .await?;
                println!("{}", serde_json::to_string_pretty(&summary)?);
                return Ok(ExitCode::SUCCESS);
            }
            if csv {
                query.push("format=csv".into());
                let text = client
                    .get(&format!("/decision-register?{}", query.join("&")))
                    .await?;
                print!("{}", text.as_str().unwrap_or(""));
                return Ok(ExitCode::SUCCESS);
            }
            let rows = client
                .get(&format!("/decision-register?{}", query.join("&")))
                .await?;
            let list = rows.as_array().cloned().unwrap_or_default();
            client.print(
                &rows,
                &list,
                &[
                    ("id", "id"),
                    ("question", "question"),
                    ("amount", "amount"),
                    ("autonomy", "autonomy"),
                    ("policies", "policies"),
                    ("status", "status"),
                    ("recommended", "recommendation"),
                    ("choice", "choice"),
                    ("followed", "followed_recommendation"),
                    ("outcome", "outcome"),
                ],
            )
        }
    }
}
