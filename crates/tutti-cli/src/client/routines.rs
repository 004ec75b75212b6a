//! Client commands for routines: list, show (with the next occurrences and
//! the record of the last), add, pause and resume. Instants are shown on
//! the reader's clock.

use std::process::ExitCode;

use serde_json::{Value, json};
use tutti_domain::routine::{Cadence, parse_days};

use super::{Client, local_time};
use crate::cli::{Remote, RoutineCommand};

const ROUTINE: &[(&str, &str)] = &[
    ("id", "id"),
    ("routine", "name"),
    ("customer", "customer"),
    ("assignee", "assignee_id"),
    ("paused", "paused"),
    ("next", "next_due"),
];
const OCCURRENCE: &[(&str, &str)] = &[
    ("due", "due_at"),
    ("outcome", "outcome"),
    ("why", "reason"),
    ("detail", "detail"),
    ("work item", "work_item_id"),
];

pub async fn routine(remote: &Remote, command: RoutineCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        RoutineCommand::List {
            service,
            team,
            assignee,
        } => {
            let mut query = vec!["limit=500".to_owned()];
            query.extend(service.map(|s| format!("service_product={s}")));
            query.extend(team.map(|t| format!("team={t}")));
            query.extend(assignee.map(|a| format!("assignee={a}")));
            client.print_list(
                &client
                    .get(&format!("/routines?{}", query.join("&")))
                    .await?,
                ROUTINE,
            )
        }
        RoutineCommand::Show { id } => {
            let shown = client.get(&format!("/routines/{id}")).await?;
            if remote.json {
                return client.print_one(&shown, ROUTINE);
            }
            client.print_one(&shown, ROUTINE)?;
            println!("read in {}", shown["zone"].as_str().unwrap_or("UTC"));
            let upcoming: Vec<String> = shown["upcoming"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|at| local_time(at).unwrap_or_else(|| at.to_owned()))
                .collect();
            if upcoming.is_empty() {
                println!("next: none (paused or ended)");
            } else {
                println!("next: {}", upcoming.join(", "));
            }
            let occurrences = shown["occurrences"].as_array().cloned().unwrap_or_default();
            client.print(&shown, &occurrences, OCCURRENCE)
        }
        RoutineCommand::Add(add) => {
            let crate::cli::RoutineAdd {
                name,
                cadence,
                days,
                every,
                rule,
                at,
                starts,
                ends,
                zone,
                catch_up,
                team,
                assignee,
                key_result,
                service,
                priority,
                customer,
                description,
                paused,
            } = *add;
            let days = match cadence.as_deref().map(str::parse::<Cadence>) {
                Some(Ok(cadence)) => parse_days(cadence, &days.join(","))
                    .map_err(|e| anyhow::anyhow!("--days: {}", e.message))?,
                _ => Vec::new(),
            };
            let starts = starts.unwrap_or_else(|| chrono::Local::now().date_naive().to_string());
            let schedule = match rule {
                Some(rule) => json!({ "rule": rule, "at": at, "starts": starts, "ends": ends }),
                None => json!({
                    "cadence": cadence, "every": every, "days": days, "at": at,
                    "starts": starts, "ends": ends,
                }),
            };
            let body = json!({
                "name": name, "customer": customer, "description": description,
                "schedule": schedule, "time_zone": zone, "catch_up": catch_up,
                "team_id": team, "assignee_id": assignee, "key_result_id": key_result,
                "service_product_id": service, "priority": priority, "paused": paused,
            });
            client.print_one(&client.post("/routines", body).await?, ROUTINE)
        }
        RoutineCommand::Pause { id } => client.print_one(
            &client
                .patch(&format!("/routines/{id}"), json!({ "paused": true }))
                .await?,
            ROUTINE,
        ),
        RoutineCommand::Resume { id } => client.print_one(
            &client
                .patch(&format!("/routines/{id}"), json!({ "paused": false }))
                .await?,
            ROUTINE,
        ),
    }
}
