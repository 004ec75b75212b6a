//! Client commands for service quality: the service catalogue and promises
//! to customers (made, signed off, paused, kept or broken).

use std::process::ExitCode;

use serde_json::{Value, json};

use super::Client;
use crate::cli::{PromiseCommand, Remote, ServiceCommand};

const PRODUCT: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("kind", "kind"),
    ("for", "customer_group"),
    ("levels", "levels"),
];
const PROMISE: &[(&str, &str)] = &[
    ("id", "id"),
    ("promise", "title"),
    ("customer", "customer"),
    ("state", "state"),
    ("health", "health"),
    ("due", "effective_due_at"),
    ("feasible", "feasibility"),
];

pub async fn service(remote: &Remote, command: ServiceCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        ServiceCommand::List => {
            client.print_list(&client.get("/service-products?limit=500").await?, PRODUCT)
        }
        ServiceCommand::Add {
            name,
            kind,
            customer_group,
            description,
            levels,
            owner,
        } => {
            let body = json!({
                "name": name, "kind": kind, "customer_group": customer_group,
                "description": description, "levels": levels, "owner_id": owner,
            });
            client.print_one(&client.post("/service-products", body).await?, PRODUCT)
        }
        ServiceCommand::Load {
            weeks,
            team,
            service,
        } => {
            let mut query = vec![format!("weeks={weeks}")];
            query.extend(team.map(|t| format!("team={t}")));
            query.extend(service.map(|s| format!("service_product={s}")));
            let load = client
                .get(&format!("/service/load?{}", query.join("&")))
                .await?;
            let rows = load.as_array().cloned().unwrap_or_default();
            client.print(
                &load,
                &rows,
                &[
                    ("week", "week"),
                    ("planned", "planned"),
                    ("unplanned", "unplanned"),
                    ("reactive share", "reactive_share"),
                ],
            )
        }
    }
}

pub async fn promise(remote: &Remote, command: PromiseCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    let step = |id: uuid::Uuid, step: &str| format!("/promises/{id}/{step}");
    match command {
        PromiseCommand::List {
            state,
            service,
            keeper,
            unfinished,
        } => {
            let mut query = vec!["limit=500".to_owned()];
            query.extend(state.map(|s| format!("state={s}")));
            query.extend(service.map(|s| format!("service_product={s}")));
            query.extend(keeper.map(|k| format!("keeper_team={k}")));
            if unfinished {
                query.push("unfinished=true".into());
            }
            client.print_list(
                &client
                    .get(&format!("/promises?{}", query.join("&")))
                    .await?,
                PROMISE,
            )
        }
        PromiseCommand::Show { id } => {
            client.print_one(&client.get(&format!("/promises/{id}")).await?, PROMISE)
        }
        PromiseCommand::Add {
            title,
            customer,
            due,
            team,
            keeper,
            service,
            case,
        } => {
            let body = json!({
                "title": title, "customer": customer, "due_at": due,
                "made_by_team_id": team, "keeper_team_id": keeper,
                "service_product_id": service, "work_item_id": case,
            });
            client.print_one(&client.post("/promises", body).await?, PROMISE)
        }
        PromiseCommand::SignOff {
            id,
            not_feasible,
            note,
        } => {
            let body = json!({ "feasible": !not_feasible, "note": note });
            client.print_one(&client.post(&step(id, "sign-off"), body).await?, PROMISE)
        }
        PromiseCommand::Pause { id } => {
            client.print_one(&client.post(&step(id, "pause"), json!({})).await?, PROMISE)
        }
        PromiseCommand::Resume { id } => {
            client.print_one(&client.post(&step(id, "resume"), json!({})).await?, PROMISE)
        }
        PromiseCommand::Keep { id, note } => client.print_one(
            &client.post(&step(id, "keep"), note_body(note)).await?,
            PROMISE,
        ),
        PromiseCommand::Break { id, note } => client.print_one(
            &client
                .post(&step(id, "break"), note_body(Some(note)))
                .await?,
            PROMISE,
        ),
    }
}

fn note_body(note: Option<String>) -> Value {
    json!({ "note": note.unwrap_or_default() })
}
