//! Client commands for AI labour: providers and prices, budgets, runs (with a
//! live view of a run's output), reviews and the ledger.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

use tutti_domain::labour::format_money;

use super::Client;
use crate::cli::{
    BudgetCommand, CallLimitArgs, LedgerCommand, ProviderCommand, Remote, ReviewCommand, RunCommand,
};

/// A money option read by the domain's one rule for it.
fn parse_money(option: &str, text: &str) -> anyhow::Result<i64> {
    tutti_domain::labour::parse_money(option, text).map_err(|e| anyhow!("{e}"))
}

const PROVIDER: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("kind", "kind"),
    ("base url", "base_url"),
    ("key from", "api_key_env"),
    ("first byte s", "limits.first_byte_timeout_secs"),
    ("deadline s", "limits.deadline_secs"),
];
/// The limits the flags name, as the API takes them.
fn limits_body(limits: &CallLimitArgs) -> Value {
    let mut body = serde_json::Map::new();
    for (field, secs) in [
        ("connect_timeout_secs", limits.connect_timeout),
        ("first_byte_timeout_secs", limits.first_byte_timeout),
        ("idle_timeout_secs", limits.idle_timeout),
        ("deadline_secs", limits.deadline),
    ] {
        if let Some(secs) = secs {
            body.insert(field.into(), json!(secs));
        }
    }
    Value::Object(body)
}

const MODEL: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("input /M", "prices.input_cost"),
    ("cached /M", "prices.cached_input_cost"),
    ("output /M", "prices.output_cost"),
];
const BUDGET: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("scope", "scope"),
    ("period", "period"),
    ("tokens used", "used_tokens"),
    ("token limit", "token_limit"),
    ("spent", "used_cost"),
    ("cost limit", "cost_limit"),
    ("state", "state"),
    ("hard", "hard"),
];
const RUN: &[(&str, &str)] = &[
    ("id", "id"),
    ("item", "work_item_id"),
    ("iteration", "iteration"),
    ("status", "status"),
    ("attempts", "attempts"),
    ("tokens in", "tokens.input"),
    ("tokens out", "tokens.output"),
    ("cost", "cost"),
    ("error", "error"),
];
const REVIEW: &[(&str, &str)] = &[
    ("run", "run_id"),
    ("verdict", "verdict"),
    ("rating", "rating"),
    ("feedback", "feedback"),
    ("at", "created_at"),
];
const STATS: &[(&str, &str)] = &[
    ("reviews", "reviews"),
    ("accept rate", "accept_rate"),
    ("revise rate", "revise_rate"),
    ("reject rate", "reject_rate"),
    ("mean rating", "mean_rating"),
];
const ENTRY: &[(&str, &str)] = &[
    ("at", "at"),
    ("kind", "kind"),
    ("reservation", "reservation_id"),
    ("worker", "worker_id"),
    ("run", "run_id"),
    ("model", "model"),
    ("tokens in", "tokens.input"),
    ("tokens out", "tokens.output"),
    ("cost", "cost"),
];
const LEDGER: &[(&str, &str)] = &[
    ("for", "key"),
    ("calls", "calls"),
    ("tokens in", "tokens.input"),
    ("tokens out", "tokens.output"),
    ("cost", "cost"),
];

pub async fn provider(remote: &Remote, command: ProviderCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        ProviderCommand::List => {
            let providers = client.get("/providers").await?;
            if remote.json {
                return client.print(&providers, &[], PROVIDER);
            }
            let list = providers.as_array().cloned().unwrap_or_default();
            client.print(&providers, &list, PROVIDER)?;
            for provider in &list {
                let models: Vec<Value> = provider["models"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|mut m| {
                        for price in ["input", "cached_input", "output"] {
                            let micros = m["prices"][price].as_i64().unwrap_or(0);
                            m["prices"][format!("{price}_cost")] = json!(micros);
                        }
                        m
                    })
                    .collect();
                println!("models of {}:", provider["name"].as_str().unwrap_or("?"));
                client.print(&Value::Null, &models, MODEL)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::Add {
            name,
            kind,
            base_url,
            api_key_env,
            limits,
        } => {
            let body = json!({ "name": name, "kind": kind, "base_url": base_url, "api_key_env": api_key_env,
                               "limits": limits_body(&limits) });
            client.print_one(&client.post("/providers", body).await?, PROVIDER)
        }
        ProviderCommand::Limits { provider, limits } => {
            let provider = client
                .patch(
                    &format!("/providers/{provider}/limits"),
                    limits_body(&limits),
                )
                .await?;
            client.print_one(&provider, PROVIDER)
        }
        ProviderCommand::Price {
            provider,
            model,
            input,
            cached_input,
            output,
        } => {
            let input = parse_money("--input", &input)?;
            let cached_input = cached_input
                .map(|c| parse_money("--cached-input", &c))
                .transpose()?;
            let output = parse_money("--output", &output)?;
            let body = json!({ "name": model, "input_price": input, "cached_input_price": cached_input, "output_price": output });
            let model = client
                .post(&format!("/providers/{provider}/models"), body)
                .await?;
            if remote.json {
                return client.print(&model, &[], MODEL);
            }
            println!(
                "{}: input {} · cached {} · output {} per million tokens",
                model["name"].as_str().unwrap_or("?"),
                format_money(model["prices"]["input"].as_i64().unwrap_or(0)),
                format_money(model["prices"]["cached_input"].as_i64().unwrap_or(0)),
                format_money(model["prices"]["output"].as_i64().unwrap_or(0)),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn budget(remote: &Remote, command: BudgetCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        BudgetCommand::List => {
            let budgets = client.get("/budgets").await?;
            let rows = budgets.as_array().cloned().unwrap_or_default();
            client.print(&budgets, &rows, BUDGET)
        }
        BudgetCommand::Add {
            name,
            scope,
            scope_id,
            period,
            tokens,
            cost,
            warn,
            soft,
        } => {
            let cost = cost.map(|c| parse_money("--cost", &c)).transpose()?;
            let body = json!({
                "name": name, "scope": scope, "scope_id": scope_id, "period": period,
                "token_limit": tokens, "cost_limit": cost, "warn_percent": warn, "hard": !soft,
            });
            client.print_one(&client.post("/budgets", body).await?, BUDGET)
        }
        BudgetCommand::Delete { id } => {
            client.delete(&format!("/budgets/{id}")).await?;
            eprintln!("deleted budget {id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn run(remote: &Remote, command: RunCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        RunCommand::List {
            status,
            item,
            worker,
            limit,
        } => {
            let mut query = vec![format!("limit={limit}")];
            query.extend(status.map(|s| format!("status={s}")));
            query.extend(item.map(|i| format!("work_item={i}")));
            query.extend(worker.map(|w| format!("worker={w}")));
            client.print_list(
                &client.get(&format!("/runs?{}", query.join("&"))).await?,
                RUN,
            )
        }
        RunCommand::Show { id } => {
            let run = client.get(&format!("/runs/{id}")).await?;
            if remote.json {
                return client.print_one(&run, RUN);
            }
            client.print_one(&run, RUN)?;
            println!(
                "\n── role card\n{}",
                run["role_card"].as_str().unwrap_or("")
            );
            println!(
                "\n── work order\n{}",
                run["work_order"].as_str().unwrap_or("")
            );
            println!("── output\n{}", run["output"].as_str().unwrap_or(""));
            Ok(ExitCode::SUCCESS)
        }
        RunCommand::Start { item, max_tokens } => {
            let run = client
                .post(
                    &format!("/work-items/{item}/runs"),
                    json!({ "max_tokens": max_tokens }),
                )
                .await?;
            client.print_one(&run, RUN)
        }
        RunCommand::Watch { id } => watch(&client, id).await,
        RunCommand::Cancel { id } => client.print_one(
            &client
                .post(&format!("/runs/{id}/cancel"), json!({}))
                .await?,
            RUN,
        ),
    }
}

/// Follows a run's event stream, printing text as it comes.
async fn watch(client: &Client<'_>, id: uuid::Uuid) -> anyhow::Result<ExitCode> {
    let url = format!(
        "{}/api/v1/runs/{id}/stream",
        client.remote.server.trim_end_matches('/')
    );
    let mut response = client
        .http
        .get(&url)
        .bearer_auth(client.token)
        .send()
        .await
        .with_context(|| format!("cannot reach the server at {}", client.remote.server))?;
    if !response.status().is_success() {
        // Let the regular path render the problem document.
        client.get(&format!("/runs/{id}")).await?;
        bail!(
            "the server refused to stream run {id} ({})",
            response.status()
        );
    }
    let mut pending = String::new();
    let mut stdout = std::io::stdout();
    let mut printed = false;
    while let Some(chunk) = response.chunk().await.context("reading the stream")? {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let frame: String = pending.drain(..end + 2).collect();
            let event = frame
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("");
            let data: Vec<&str> = frame
                .lines()
                .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
                .collect();
            let data = data.join("\n");
            match event {
                "text" => {
                    printed = true;
                    print!("{data}");
                    stdout.flush()?;
                }
                "end" => {
                    let end: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                    let status = end["status"].as_str().unwrap_or("?");
                    if !printed {
                        // A run that had ended already: its whole output.
                        print!("{}", end["output"].as_str().unwrap_or(""));
                    }
                    println!();
                    eprintln!(
                        "── run {status}{}",
                        end["error"]
                            .as_str()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    );
                    return Ok(if status == "succeeded" {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    });
                }
                _ => {}
            }
        }
    }
    bail!("the stream of run {id} ended early")
}

pub async fn review(remote: &Remote, command: ReviewCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        ReviewCommand::Add {
            run,
            verdict,
            rating,
            feedback,
        } => {
            let reviewed = client
                .post(
                    &format!("/runs/{run}/review"),
                    json!({ "verdict": verdict, "rating": rating, "feedback": feedback }),
                )
                .await?;
            if remote.json {
                return client.print_one(&reviewed, REVIEW);
            }
            client.print_one(&reviewed["review"], REVIEW)?;
            if let Some(next) = reviewed["next_run"].as_object() {
                println!(
                    "queued iteration {} as run {}",
                    next["iteration"],
                    next["id"].as_str().unwrap_or("?")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewCommand::List { item } => {
            let reviews = client.get(&format!("/work-items/{item}/reviews")).await?;
            let rows = reviews.as_array().cloned().unwrap_or_default();
            client.print(&reviews, &rows, REVIEW)
        }
        ReviewCommand::Stats { member } => client.print_one(
            &client
                .get(&format!("/members/{member}/review-stats"))
                .await?,
            STATS,
        ),
    }
}

pub async fn ledger(remote: &Remote, command: LedgerCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        LedgerCommand::Summary { group_by, period } => {
            let summary = client
                .get(&format!(
                    "/ledger/summary?group_by={group_by}&period={period}"
                ))
                .await?;
            let rows = summary["lines"].as_array().cloned().unwrap_or_default();
            if !remote.json {
                println!(
                    "settled use by {group_by}, {} to {} (cost in {})",
                    summary["from"].as_str().unwrap_or("?"),
                    summary["to"].as_str().unwrap_or("?"),
                    summary["currency"].as_str().unwrap_or("?")
                );
            }
            client.print(&summary, &rows, LEDGER)
        }
        LedgerCommand::Entries {
            worker,
            run,
            kind,
            limit,
        } => {
            let mut query = vec![format!("limit={limit}")];
            query.extend(worker.map(|w| format!("worker={w}")));
            query.extend(run.map(|r| format!("run={r}")));
            query.extend(kind.map(|k| format!("kind={k}")));
            client.print_list(
                &client
                    .get(&format!("/ledger/entries?{}", query.join("&")))
                    .await?,
                ENTRY,
            )
        }
        LedgerCommand::Totals => {
            let totals = client.get("/ledger/totals").await?;
            if remote.json {
                return client.print_one(&totals, &[]);
            }
            let n = |k: &str| totals[k].as_i64().unwrap_or(0);
            println!(
                "reserved {} tokens ({})",
                n("reserved_tokens"),
                format_money(n("reserved_cost"))
            );
            println!(
                "settled  {} tokens ({})",
                n("settled_tokens"),
                format_money(n("settled_cost"))
            );
            println!(
                "released {} tokens ({})",
                n("released_tokens"),
                format_money(n("released_cost"))
            );
            let open = totals["open"].as_array().cloned().unwrap_or_default();
            match open.iter().filter_map(|o| o["age_secs"].as_i64()).max() {
                Some(oldest) => println!(
                    "open reservations: {} (calls in flight or awaiting recovery; oldest {oldest} s)",
                    open.len()
                ),
                None => println!("open reservations: 0"),
            }
            let unbalanced: Vec<&str> = totals["unbalanced_reservations"]
                .as_array()
                .map(|ids| ids.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !unbalanced.is_empty() {
                println!(
                    "UNBALANCED reservations ({}): {}",
                    unbalanced.len(),
                    unbalanced.join(", ")
                );
                return Ok(ExitCode::FAILURE);
            }
            println!("every settled reservation balances (reserve = settle + release)");
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_money_option_is_refused_naming_it() {
        assert_eq!(parse_money("--input", "0.15").unwrap(), 150_000);
        let refused = parse_money("--input", "abc").unwrap_err().to_string();
        assert!(refused.starts_with("--input: "), "{refused}");
    }
}
