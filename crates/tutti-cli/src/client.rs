//! Client commands: they talk to a running server over the REST API, with the
//! token from `--token` or `TUTTI_TOKEN`, and print a table or (`--json`) the
//! API's own JSON.

pub mod decisions;
pub mod flows;
pub mod import;
pub mod labour;
pub mod pulse;
pub mod routines;
pub mod service;
pub mod workforce;

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use reqwest::Method;
use serde_json::{Value, json};
use tutti_domain::labour::format_money;

use crate::cli::{
    AlertCommand, CheckInCommand, KeyResultCommand, MemberCommand, ObjectiveCommand, OrgCommand,
    Remote, TeamCommand, WebhookCommand, WorkCommand,
};

pub(crate) struct Client<'a> {
    pub(crate) http: reqwest::Client,
    pub(crate) remote: &'a Remote,
    pub(crate) token: &'a str,
}

impl<'a> Client<'a> {
    pub(crate) fn new(remote: &'a Remote) -> anyhow::Result<Self> {
        let token = remote.token.as_deref().ok_or_else(|| {
            anyhow!("no token: pass --token or set TUTTI_TOKEN (tutti up and tutti init print one)")
        })?;
        Ok(Self {
            http: reqwest::Client::new(),
            remote,
            token,
        })
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1{path}", self.remote.server.trim_end_matches('/'));
        let mut request = self.http.request(method, &url).bearer_auth(self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| {
            format!(
                "cannot reach the server at {} (is `tutti serve` running?)",
                self.remote.server
            )
        })?;
        let status = response.status();
        let text = response.text().await.context("reading the response")?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let detail = value
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or("no detail given");
        match value.get("field").and_then(Value::as_str) {
            Some(field) => bail!("{} ({}): {detail}", status.as_u16(), field),
            None => bail!("{}: {detail}", status.as_u16()),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::DELETE, path, None).await
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// Prints JSON, or a table of `columns` (header, JSON field) over `rows`.
    pub(crate) fn print(
        &self,
        value: &Value,
        rows: &[Value],
        columns: &[(&str, &str)],
    ) -> anyhow::Result<ExitCode> {
        if self.remote.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header(columns.iter().map(|(header, _)| *header));
            for row in rows {
                table.add_row(columns.iter().map(|(_, field)| cell(row, field)));
            }
            println!("{table}");
        }
        Ok(ExitCode::SUCCESS)
    }

    pub(crate) fn print_list(
        &self,
        page: &Value,
        columns: &[(&str, &str)],
    ) -> anyhow::Result<ExitCode> {
        let items = page
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let code = self.print(page, &items, columns)?;
        if !self.remote.json
            && let Some(cursor) = page.get("next_cursor").and_then(Value::as_str)
        {
            eprintln!("(more: add cursor={cursor})");
        }
        Ok(code)
    }

    pub(crate) fn print_one(
        &self,
        value: &Value,
        columns: &[(&str, &str)],
    ) -> anyhow::Result<ExitCode> {
        self.print(value, std::slice::from_ref(value), columns)
    }
}

/// A field as table text: progress as a percentage, nulls as a dash.
fn cell(row: &Value, field: &str) -> String {
    let value = field.split('.').try_fold(row, |v, key| v.get(key));
    match value {
        None | Some(Value::Null) => "–".into(),
        Some(Value::String(s)) => local_time(s).unwrap_or_else(|| s.clone()),
        Some(Value::Number(n)) if field.ends_with("progress") => {
            format!("{:.0} %", n.as_f64().unwrap_or(0.0) * 100.0)
        }
        Some(Value::Number(n)) if field.ends_with("cost") || field.ends_with("cost_limit") => {
            format_money(n.as_i64().unwrap_or(0))
        }
        Some(Value::Bool(b)) if field.ends_with("at_risk") => {
            (if *b { "at risk" } else { "on track" }).into()
        }
        Some(other) => other.to_string(),
    }
}

/// An instant as the reader's clock shows it: in the terminal's local zone
/// (`TZ`), with its offset. `None` for a text that is no RFC 3339 instant.
pub(crate) fn local_time(text: &str) -> Option<String> {
    let at = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(
        at.with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M (%:z)")
            .to_string(),
    )
}

const TEAM: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("parent", "parent_id"),
    ("lead", "lead_id"),
];
const MEMBER: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("kind", "kind"),
    ("role", "role"),
    ("email", "email"),
];
const OBJECTIVE: &[(&str, &str)] = &[
    ("id", "id"),
    ("title", "title"),
    ("progress", "progress"),
    ("health", "health.at_risk"),
    ("period", "period_end"),
    ("parent", "parent_id"),
];
const TARGET_MOVE: &[(&str, &str)] = &[
    ("when", "created_at"),
    ("from", "from"),
    ("to", "to"),
    ("reason", "reason"),
];
const KEY_RESULT: &[(&str, &str)] = &[
    ("id", "id"),
    ("title", "title"),
    ("baseline", "baseline"),
    ("current", "current"),
    ("target", "target"),
    ("unit", "unit"),
    ("confidence", "confidence"),
    ("progress", "progress"),
];
const CHECK_IN: &[(&str, &str)] = &[
    ("id", "id"),
    ("value", "value"),
    ("confidence", "confidence"),
    ("note", "note"),
    ("at", "created_at"),
];
const WORK: &[(&str, &str)] = &[
    ("id", "id"),
    ("title", "title"),
    ("state", "state"),
    ("kind", "kind"),
    ("priority", "priority"),
    ("assignee", "assignee_id"),
    ("key result", "key_result_id"),
];

pub async fn whoami(remote: &Remote) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    let me = client.get("/me").await?;
    client.print_one(&me, MEMBER)
}

const ORG: &[(&str, &str)] = &[
    ("id", "id"),
    ("org", "name"),
    ("currency", "currency"),
    ("time zone", "time_zone"),
];

pub async fn org(remote: &Remote, command: OrgCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        OrgCommand::Show => client.print_one(&client.get("/org").await?, ORG),
        OrgCommand::Zone { name } => client.print_one(
            &client.patch("/org", json!({ "time_zone": name })).await?,
            ORG,
        ),
    }
}

pub async fn team(remote: &Remote, command: TeamCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        TeamCommand::List => client.print_list(&client.get("/teams?limit=500").await?, TEAM),
        TeamCommand::Add { name, parent, lead } => {
            let team = client
                .post(
                    "/teams",
                    json!({ "name": name, "parent_id": parent, "lead_id": lead }),
                )
                .await?;
            client.print_one(&team, TEAM)
        }
    }
}

pub async fn member(remote: &Remote, command: MemberCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        MemberCommand::List => client.print_list(&client.get("/members?limit=500").await?, MEMBER),
        MemberCommand::Show { id } => {
            client.print_one(&client.get(&format!("/members/{id}")).await?, MEMBER)
        }
        MemberCommand::Token { id, label } => {
            let token = client
                .post(&format!("/members/{id}/tokens"), json!({ "label": label }))
                .await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&token)?);
            } else {
                // The token alone on the last line, as `tutti token create`
                // prints it, so a script can take it.
                eprintln!("a token for {id}; it is shown this once:");
                println!("{}", token["token"].as_str().unwrap_or_default());
            }
            Ok(ExitCode::SUCCESS)
        }
        MemberCommand::Zone { name } => client.print_one(
            &client.patch("/me", json!({ "time_zone": name })).await?,
            &[("id", "id"), ("name", "name"), ("time zone", "time_zone")],
        ),
        MemberCommand::Add {
            name,
            email,
            role,
            kind,
            teams,
            role_card,
            provider,
            model,
            external,
        } => {
            let body = json!({
                "name": name, "email": email, "role": role, "kind": kind, "teams": teams,
                "role_card": role_card, "provider": provider, "model": model, "external": external,
            });
            client.print_one(&client.post("/members", body).await?, MEMBER)
        }
        MemberCommand::SetPassword { .. } => {
            anyhow::bail!("set-password works on the database; main dispatches it there")
        }
    }
}

pub async fn objective(remote: &Remote, command: ObjectiveCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        ObjectiveCommand::List => {
            client.print_list(&client.get("/objectives?limit=500").await?, OBJECTIVE)
        }
        ObjectiveCommand::Tree => {
            let tree = client.get("/objectives?tree=true").await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&tree)?);
            } else {
                let roots = tree
                    .get("roots")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for root in &roots {
                    print_node(root, 0);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ObjectiveCommand::Show { id } => {
            let detail = client.get(&format!("/objectives/{id}")).await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("{}", cell(&detail, "title"));
            println!("why:      {}", cell(&detail, "why"));
            println!(
                "period:   {} – {}",
                cell(&detail, "period_start"),
                cell(&detail, "period_end")
            );
            println!(
                "progress: {}  ({}; expected by now {})",
                cell(&detail, "progress"),
                cell(&detail, "health.at_risk"),
                cell(&detail, "health.expected_progress")
            );
            let key_results = detail
                .get("key_results")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            client.print(&detail, &key_results, KEY_RESULT)?;
            let children = detail
                .get("children")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !children.is_empty() {
                println!("below it:");
                client.print(&detail, &children, OBJECTIVE)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ObjectiveCommand::Add {
            title,
            why,
            start,
            end,
            team,
            owner,
            parent,
        } => {
            let body = json!({
                "title": title, "why": why, "period_start": start, "period_end": end,
                "team_id": team, "owner_id": owner, "parent_id": parent,
            });
            client.print_one(&client.post("/objectives", body).await?, OBJECTIVE)
        }
        ObjectiveCommand::Edit {
            id,
            title,
            why,
            start,
            end,
            team,
            no_team,
            owner,
            no_owner,
            parent,
            top,
            status,
        } => {
            // `--no-team` and the like clear the field: an explicit null.
            let cleared = |id: Option<uuid::Uuid>, clear: bool| match clear {
                true => Some(Value::Null),
                false => id.map(|id| Value::from(id.to_string())),
            };
            let body = given(&[
                ("title", title.map(Value::from)),
                ("why", why.map(Value::from)),
                ("period_start", start.map(Value::from)),
                ("period_end", end.map(Value::from)),
                ("status", status.map(Value::from)),
                ("team_id", cleared(team, no_team)),
                ("owner_id", cleared(owner, no_owner)),
                ("parent_id", cleared(parent, top)),
            ]);
            client.print_one(
                &client.patch(&format!("/objectives/{id}"), body).await?,
                OBJECTIVE,
            )
        }
    }
}

/// A patch of the fields given on the command line; the others stay.
fn given(fields: &[(&str, Option<Value>)]) -> Value {
    Value::Object(
        fields
            .iter()
            .filter_map(|(name, value)| Some(((*name).to_owned(), value.clone()?)))
            .collect(),
    )
}

fn print_node(node: &Value, depth: usize) {
    let risk = if node
        .pointer("/health/at_risk")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        "  ⚠ at risk"
    } else {
        ""
    };
    println!(
        "{}{}  {}  [{}]{risk}",
        "  ".repeat(depth),
        cell(node, "progress"),
        cell(node, "title"),
        cell(node, "id")
    );
    for kr in node
        .get("key_results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        println!(
            "{}  · {}  {} → {} {} (now {})",
            "  ".repeat(depth + 1),
            cell(kr, "title"),
            cell(kr, "baseline"),
            cell(kr, "target"),
            cell(kr, "unit"),
            cell(kr, "current"),
        );
    }
    for child in node
        .get("children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        print_node(child, depth + 1);
    }
}

pub async fn key_result(remote: &Remote, command: KeyResultCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        KeyResultCommand::Show { id } => client.print_one(
            &client.get(&format!("/key-results/{id}")).await?,
            KEY_RESULT,
        ),
        KeyResultCommand::Add {
            objective,
            title,
            baseline,
            target,
            unit,
            confidence,
        } => {
            let body = json!({ "title": title, "baseline": baseline, "target": target, "unit": unit, "confidence": confidence });
            client.print_one(
                &client
                    .post(&format!("/objectives/{objective}/key-results"), body)
                    .await?,
                KEY_RESULT,
            )
        }
        KeyResultCommand::Edit {
            id,
            title,
            baseline,
            target,
            unit,
            reason,
        } => {
            let body = given(&[
                ("title", title.map(Value::from)),
                ("baseline", baseline.map(Value::from)),
                ("target", target.map(Value::from)),
                ("unit", unit.map(Value::from)),
                ("target_reason", reason.map(Value::from)),
            ]);
            client.print_one(
                &client.patch(&format!("/key-results/{id}"), body).await?,
                KEY_RESULT,
            )
        }
        KeyResultCommand::Targets { id } => client.print_list(
            &client
                .get(&format!("/key-results/{id}/target-moves?limit=500"))
                .await?,
            TARGET_MOVE,
        ),
    }
}

pub async fn check_in(remote: &Remote, command: CheckInCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        CheckInCommand::List { key_result } => client.print_list(
            &client
                .get(&format!("/key-results/{key_result}/check-ins?limit=500"))
                .await?,
            CHECK_IN,
        ),
        CheckInCommand::Add {
            key_result,
            value,
            confidence,
            note,
        } => {
            let body = json!({ "value": value, "confidence": confidence, "note": note });
            client.print_one(
                &client
                    .post(&format!("/key-results/{key_result}/check-ins"), body)
                    .await?,
                CHECK_IN,
            )
        }
    }
}

pub async fn work(remote: &Remote, command: WorkCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        WorkCommand::List {
            state,
            assignee,
            key_result,
            team,
            unaligned,
            limit,
        } => {
            let mut query = vec![format!("limit={limit}")];
            query.extend(state.map(|s| format!("state={s}")));
            query.extend(assignee.map(|a| format!("assignee={a}")));
            query.extend(key_result.map(|k| format!("key_result={k}")));
            query.extend(team.map(|t| format!("team={t}")));
            if unaligned {
                query.push("unaligned=true".into());
            }
            client.print_list(
                &client
                    .get(&format!("/work-items?{}", query.join("&")))
                    .await?,
                WORK,
            )
        }
        WorkCommand::Show { id } => {
            client.print_one(&client.get(&format!("/work-items/{id}")).await?, WORK)
        }
        WorkCommand::Add {
            title,
            description,
            team,
            assignee,
            key_result,
            kind,
            priority,
            due,
            service,
        } => {
            let body = json!({
                "title": title, "description": description, "team_id": team, "assignee_id": assignee,
                "key_result_id": key_result, "kind": kind, "priority": priority, "due": due,
                "service_product_id": service,
            });
            client.print_one(&client.post("/work-items", body).await?, WORK)
        }
        WorkCommand::Move { id, state } => client.print_one(
            &client
                .patch(&format!("/work-items/{id}"), json!({ "state": state }))
                .await?,
            WORK,
        ),
    }
}

const ALERT: &[(&str, &str)] = &[
    ("id", "id"),
    ("kind", "kind"),
    ("alert", "explanation"),
    ("team", "team_id"),
    ("person", "person_id"),
    ("raised", "raised_at"),
    ("cleared", "cleared_at"),
];

pub async fn alert(remote: &Remote, command: AlertCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        AlertCommand::List { all, mine, lang } => {
            let alerts = client
                .get(&format!("/alerts?all={all}&mine={mine}&lang={lang}"))
                .await?;
            let items = alerts.as_array().cloned().unwrap_or_default();
            client.print(&alerts, &items, ALERT)
        }
        AlertCommand::Refresh => {
            let refreshed = client.post("/alerts/refresh", json!({})).await?;
            let raised = refreshed["raised"].as_array().map(Vec::len).unwrap_or(0);
            if client.remote.json {
                println!("{refreshed}");
            } else {
                println!("{raised} raised, {} cleared", refreshed["cleared"]);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

const WEBHOOK: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("format", "format"),
    ("url", "url_hint"),
    ("locale", "locale"),
    ("team", "team_id"),
];

const DELIVERY: &[(&str, &str)] = &[
    ("id", "id"),
    ("alert", "alert_id"),
    ("status", "status"),
    ("attempts", "attempts"),
    ("next attempt", "next_attempt_at"),
    ("error", "last_error"),
];

pub async fn webhook(remote: &Remote, command: WebhookCommand) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    match command {
        WebhookCommand::List => {
            let hooks = client.get("/webhooks").await?;
            let items = hooks.as_array().cloned().unwrap_or_default();
            client.print(&hooks, &items, WEBHOOK)
        }
        WebhookCommand::Add {
            name,
            format,
            url,
            locale,
            team,
        } => {
            let body = json!({ "name": name, "format": format, "url": url, "locale": locale, "team_id": team });
            client.print_one(&client.post("/webhooks", body).await?, WEBHOOK)
        }
        WebhookCommand::Delete { id } => {
            client.delete(&format!("/webhooks/{id}")).await?;
            eprintln!("deleted webhook {id}");
            Ok(ExitCode::SUCCESS)
        }
        WebhookCommand::Deliveries { id } => client.print_list(
            &client
                .get(&format!("/webhooks/{id}/deliveries?limit=500"))
                .await?,
            DELIVERY,
        ),
    }
}

pub async fn audit_log(
    remote: &Remote,
    limit: u32,
    action: Option<String>,
) -> anyhow::Result<ExitCode> {
    let client = Client::new(remote)?;
    let mut path = format!("/events?limit={limit}");
    if let Some(action) = action {
        path.push_str(&format!("&action={action}"));
    }
    let page = client.get(&path).await?;
    client.print_list(
        &page,
        &[
            ("seq", "seq"),
            ("at", "at"),
            ("action", "action"),
            ("actor", "actor_id"),
            ("subject", "subject_id"),
        ],
    )
}
