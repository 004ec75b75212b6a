//! Data in and out, in the cockpit: the work and the objectives as CSV
//! sheets to download, the whole org as JSON (admins), and forms that bring
//! a sheet of work or of objectives back in. The sheet is pasted, or read
//! from a file by the page's script; the domain's parsers read it, and the
//! engine's use cases write it, as for the API and the CLI.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_engine::{strategy, transfer, work};
use tutti_store::prelude::*;
use tutti_store::{ImportReport, ObjectivesImported, PageRequest, WorkImport};

use super::{Form, Nav, Web, optional_id};
use crate::{ApiError, AppState};

#[derive(Debug, Default, Deserialize)]
pub struct TeamQuery {
    #[serde(default)]
    team: Option<String>,
}

/// The work sheet (of one team, if chosen).
pub async fn work_csv<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    Query(query): Query<TeamQuery>,
) -> Response {
    let sheet = async {
        let team = optional_id("team", &query.team)?;
        Ok::<_, ApiError>(work::export_sheet(&state.store, &web.actor, team).await?)
    }
    .await;
    match sheet {
        Ok(sheet) => crate::api::csv_download("work-items.csv", sheet),
        Err(e) => web.error(e),
    }
}

/// The objectives sheet.
pub async fn objectives_csv<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    match strategy::export_sheet(&state.store, &web.actor).await {
        Ok(sheet) => crate::api::csv_download("objectives.csv", sheet),
        Err(e) => web.error(e),
    }
}

/// The whole org as JSON (admins), for `tutti import org` elsewhere.
pub async fn org_json<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    let ctx = crate::api::ctx(&state, &web.actor);
    let doc = match transfer::export_org(&state.store, &web.actor, &ctx).await {
        Ok(doc) => doc,
        Err(e) => return web.error(e),
    };
    match serde_json::to_string_pretty(&doc) {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"tutti-org.json\"".to_owned(),
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => web.error(ApiError::Internal(format!("cannot write the export: {e}"))),
    }
}

pub async fn page<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    let rendered = render(&state, &web, None).await;
    web.show(rendered, "transfer-title", Nav::Work)
}

/// What a sent sheet did, shown above the forms.
enum Outcome {
    Work(ImportReport),
    Objectives(ObjectivesImported),
    Refused(Markup),
}

async fn render<S: Store>(
    state: &AppState<S>,
    web: &Web,
    outcome: Option<Outcome>,
) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let teams = state
        .store
        .teams(web.actor.org_id, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    let admin = web.actor.may(Action::ManageOrg).is_ok();
    // Work comes in to a team its lead (or an admin) imports to; without a
    // team, only an admin imports.
    let teams: Vec<_> = teams
        .into_iter()
        .filter(|team| admin || web.actor.led_teams.contains(&team.id))
        .collect();
    let imports_work = admin || !teams.is_empty();
    let count = |n: i64| n.to_string();
    Ok(html! {
        @match &outcome {
            Some(Outcome::Work(report)) => div.ok role="status" {
                p { (t.with("transfer-work-done", &tutti_i18n::args([
                    ("created", count(report.created)),
                    ("updated", count(report.updated)),
                    ("unchanged", count(report.unchanged)),
                ]))) @if report.dry_run { " " strong { (t.get("transfer-dry-run-note")) } } }
                @if !report.unmatched_assignees.is_empty() {
                    p { (t.get("transfer-unmatched")) " " (report.unmatched_assignees.join(", ")) }
                }
                @if !report.missing_parents.is_empty() {
                    p { (t.get("transfer-missing-parents")) " " (report.missing_parents.join(", ")) }
                }
            },
            Some(Outcome::Objectives(done)) => div.ok role="status" {
                p { (t.with("transfer-objectives-done", &tutti_i18n::args([
                    ("objectives", done.objectives.to_string()),
                    ("key_results", done.key_results.to_string()),
                ]))) }
            },
            Some(Outcome::Refused(problem)) => (problem),
            None => {},
        }
        section aria-labelledby="out" {
            h2 #out { (t.get("transfer-out")) }
            ul {
                li { a href="/work/export.csv" hx-boost="false" download { (t.get("transfer-work-csv")) } }
                li { a href="/objectives/export.csv" hx-boost="false" download { (t.get("transfer-objectives-csv")) } }
                @if admin { li { a href="/org/export.json" hx-boost="false" download { (t.get("transfer-org-json")) } } }
            }
            p.quiet { (t.get("transfer-out-hint")) }
        }
        @if imports_work { section aria-labelledby="in-work" {
            h2 #in-work { (t.get("transfer-in-work")) }
            p.quiet { (t.get("transfer-in-work-hint")) }
            form method="post" action="/transfer/work" {
                (web.csrf_field())
                label { (t.get("transfer-team")) " "
                    select name="team" {
                        @if admin { option value="" { (t.get("transfer-team-none")) } }
                        @for team in &teams { option value=(team.id) { (team.name) } }
                    }
                }
                label { (t.get("transfer-file")) " " input type="file" accept=".csv,text/csv" data-fills="work-sheet"; }
                label { (t.get("transfer-sheet")) textarea #work-sheet name="sheet" rows="8" required {} }
                label { input type="checkbox" name="dry_run" value="true"; " " (t.get("transfer-dry-run")) }
                button type="submit" { (t.get("transfer-import")) }
            }
        } }
        @if admin {
            section aria-labelledby="in-objectives" {
                h2 #in-objectives { (t.get("transfer-in-objectives")) }
                p.quiet { (t.get("transfer-in-objectives-hint")) }
                form method="post" action="/transfer/objectives" {
                    (web.csrf_field())
                    label { (t.get("transfer-file")) " " input type="file" accept=".csv,text/csv" data-fills="objectives-sheet"; }
                    label { (t.get("transfer-sheet")) textarea #objectives-sheet name="sheet" rows="8" required {} }
                    button type="submit" { (t.get("transfer-import")) }
                }
            }
        }
    })
}

#[derive(Debug, Deserialize)]
pub struct SheetForm {
    #[serde(default)]
    sheet: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    dry_run: Option<String>,
}

/// Brings a sheet of work in: a bad row is named, nothing written.
pub async fn import_work<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<SheetForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let items = tutti_domain::sheet::parse_work_csv(&value.sheet)?;
        let import = WorkImport {
            source: "csv".into(),
            team_id: optional_id("team", &value.team)?,
            items,
            dry_run: value.dry_run.is_some(),
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(work::import_items(&state.store, &web.actor, &ctx, import).await?)
    }
    .await;
    answer(&state, &web, done.map(Outcome::Work)).await
}

/// Brings a sheet of objectives in (admins), all or nothing.
pub async fn import_objectives<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<SheetForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let objectives = tutti_domain::sheet::parse_objectives_csv(&value.sheet)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            strategy::import_sheet(&state.store, &web.actor, &ctx, &objectives).await?,
        )
    }
    .await;
    answer(&state, &web, done.map(Outcome::Objectives)).await
}

/// The page again with what the import did, or why it was refused (a 422
/// for a sheet that cannot be read).
async fn answer<S: Store>(
    state: &AppState<S>,
    web: &Web,
    done: Result<Outcome, ApiError>,
) -> Response {
    match done {
        Ok(outcome) => web.show(
            render(state, web, Some(outcome)).await,
            "transfer-title",
            Nav::Work,
        ),
        Err(e @ (ApiError::Invalid(_) | ApiError::Malformed { .. })) => {
            let refused = Outcome::Refused(web.form_problem(&e));
            web.show_with_status(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                render(state, web, Some(refused)).await,
                "transfer-title",
                Nav::Work,
            )
        }
        Err(e) => web.error(e),
    }
}
