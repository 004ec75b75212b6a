//! The web cockpit at `/`: server-rendered HTML (maud), progressively
//! enhanced with htmx (vendored, no build step), charts drawn by plotters as
//! SVG, in German and English.
//!
//! Every page and every action goes through the same [`Actor::may`] checks
//! and the same store and engine calls as the REST API, so a viewer can do
//! in the browser exactly what their token could do. Pages need a session
//! ([`Web`]); every form carries the session's CSRF token and every POST
//! checks it ([`Form`]). Without JavaScript all forms still work: each POST
//! answers with a redirect (303) to the page that shows the result.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::de::DeserializeOwned;
use tutti_domain::access::Actor;
use tutti_domain::org::Org;
use tutti_i18n::{Locale, Messages};
use tutti_store::Session;
use tutti_store::prelude::*;

use crate::{ApiError, AppState};

mod alerts;
pub mod audit;
mod charts;
mod decisions;
mod flows;
mod home;
mod ledger;
mod objectives;
mod people;
mod providers;
mod pulse;
mod routines;
mod service;
pub mod session;
mod transfer;
mod work;
mod workforce;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/", get(home::page::<S>))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in::<S>),
        )
        .route("/sign-out", post(session::sign_out::<S>))
        .route("/language", post(session::set_language::<S>))
        .route("/me/time-zone", post(session::set_time_zone::<S>))
        .route(
            "/objectives",
            get(objectives::tree::<S>).post(objectives::create::<S>),
        )
        .route(
            "/objectives/{id}",
            get(objectives::show::<S>).post(objectives::edit::<S>),
        )
        .route("/key-results/{id}", post(objectives::edit_key_result::<S>))
        .route(
            "/objectives/{id}/key-results",
            post(objectives::add_key_result::<S>),
        )
        .route("/objectives/{id}/status", post(objectives::set_status::<S>))
        .route(
            "/key-results/{id}/check-ins",
            post(objectives::check_in::<S>),
        )
        .route("/work", get(work::board::<S>).post(work::create::<S>))
        .route("/work/export.csv", get(transfer::work_csv::<S>))
        .route("/objectives/export.csv", get(transfer::objectives_csv::<S>))
        .route("/org/export.json", get(transfer::org_json::<S>))
        .route("/transfer", get(transfer::page::<S>))
        .route("/transfer/work", post(transfer::import_work::<S>))
        .route(
            "/transfer/objectives",
            post(transfer::import_objectives::<S>),
        )
        .route("/work/{id}", get(work::show::<S>))
        .route("/work/{id}/move", post(work::move_item::<S>))
        .route("/work/{id}/assign", post(work::assign::<S>))
        .route("/work/{id}/runs", post(work::start_run::<S>))
        .route("/runs/{id}/review", post(work::review::<S>))
        .route("/runs/{id}/stream", get(work::stream::<S>))
        .route("/decisions", get(decisions::queue::<S>))
        .route("/decisions/{id}", get(decisions::show::<S>))
        .route("/decisions/{id}/approve", post(decisions::approve::<S>))
        .route("/decisions/{id}/reject", post(decisions::reject::<S>))
        .route(
            "/spaces",
            get(decisions::spaces::<S>).post(decisions::create_space::<S>),
        )
        .route(
            "/spaces/{id}",
            get(decisions::space::<S>).post(decisions::save_space::<S>),
        )
        .route("/spaces/{id}/simulate", post(decisions::simulate::<S>))
        .route("/spaces/{id}/decisions", post(decisions::raise::<S>))
        .route("/decisions/{id}/outcome", post(decisions::outcome::<S>))
        .route("/service", get(service::page::<S>))
        .route("/service/products", post(service::add_product::<S>))
        .route("/promises", post(service::make_promise::<S>))
        .route("/promises/{id}/{step}", post(service::step::<S>))
        .route(
            "/flows",
            get(flows::page::<S>).post(flows::create_flow::<S>),
        )
        .route("/cases", post(flows::open_case::<S>))
        .route("/cases/{id}", get(flows::case_page::<S>))
        .route("/cases/{id}/checks", post(flows::check::<S>))
        .route("/cases/{id}/verdicts", post(flows::propose_verdict::<S>))
        .route("/gates/{id}", get(flows::gate_page::<S>))
        .route("/gates/{id}/criteria", post(flows::set_criteria::<S>))
        .route("/learnings", post(flows::write_learning::<S>))
        .route("/learnings/{id}/{how}", post(flows::answer_learning::<S>))
        .route(
            "/routines",
            get(routines::page::<S>).post(routines::create::<S>),
        )
        .route("/pulse", get(pulse::page::<S>).post(pulse::create::<S>))
        .route("/pulse/{id}", get(pulse::show::<S>))
        .route("/pulse/{id}/answer", post(pulse::answer::<S>))
        .route("/pulse/{id}/end", post(pulse::end::<S>))
        .route(
            "/templates",
            get(workforce::page::<S>).post(workforce::create::<S>),
        )
        .route("/templates/{id}", get(workforce::show::<S>))
        .route(
            "/templates/{id}/versions",
            post(workforce::add_version::<S>),
        )
        .route("/templates/{id}/use", post(workforce::use_template::<S>))
        .route("/capacity", get(workforce::capacity_page::<S>))
        .route("/leverage", get(workforce::leverage_page::<S>))
        .route("/leverage.csv", get(workforce::leverage_csv::<S>))
        .route("/capacity/org", post(workforce::set_org_cap::<S>))
        .route(
            "/capacity/workers/{id}",
            post(workforce::set_worker_concurrency::<S>),
        )
        .route("/spaces/{id}/guards", post(workforce::set_guards::<S>))
        .route(
            "/check-ins/{id}/evidence",
            post(workforce::attach_evidence::<S>),
        )
        .route("/workload", get(pulse::workload_page::<S>))
        .route("/workload/settings", post(pulse::set_settings::<S>))
        .route("/routines/{id}", get(routines::show::<S>))
        .route("/routines/{id}/{how}", post(routines::pause_or_resume::<S>))
        .route("/people", get(people::page::<S>).post(people::invite::<S>))
        .route("/people/ai", post(people::add_worker::<S>))
        .route("/people/{id}/token", post(people::issue_token::<S>))
        .route("/teams", post(people::add_team::<S>))
        .route("/ledger", get(ledger::page::<S>))
        .route("/budgets", post(ledger::add_budget::<S>))
        .route(
            "/providers",
            get(providers::page::<S>).post(providers::add::<S>),
        )
        .route("/providers/{id}/limits", post(providers::set_limits::<S>))
        .route("/providers/{id}/models", post(providers::set_model::<S>))
        .route("/audit", get(audit::page::<S>))
        .route("/alerts", get(alerts::page::<S>))
        .route("/webhooks", post(alerts::add_webhook::<S>))
        .route("/webhooks/{id}/delete", post(alerts::delete_webhook::<S>))
        .route("/static/{file}", get(asset))
}

/// The vendored assets, compiled into the binary.
async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match file.as_str() {
        "htmx.min.js" => (
            include_bytes!("../../static/htmx.min.js"),
            "text/javascript",
        ),
        "tutti.css" => (include_bytes!("../../static/tutti.css"), "text/css"),
        "tutti.js" => (include_bytes!("../../static/tutti.js"), "text/javascript"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A signed-in person on a page: who they are, their org, their language.
pub struct Web {
    pub actor: Actor,
    pub name: String,
    pub csrf: String,
    pub org: Org,
    pub t: Arc<Messages>,
    /// The zone the reader reads times in: their own, else the org's.
    pub zone: tutti_domain::routine::Tz,
    /// Where the page was asked for, to come back to after an action.
    pub path: String,
}

impl Web {
    pub fn locale(&self) -> Locale {
        self.t.locale()
    }

    /// Money of the org's currency.
    pub fn money(&self, micro: i64) -> String {
        self.t.money(micro, &self.org.currency)
    }

    /// A rendered page under the title message `title_id`, or the page
    /// that says why it could not be rendered.
    pub fn show(
        &self,
        rendered: Result<Markup, ApiError>,
        title_id: &str,
        active: Nav,
    ) -> Response {
        self.show_with_status(StatusCode::OK, rendered, title_id, active)
    }

    pub fn show_with_status(
        &self,
        status: StatusCode,
        rendered: Result<Markup, ApiError>,
        title_id: &str,
        active: Nav,
    ) -> Response {
        match rendered {
            Ok(body) => self.page_with_status(status, &self.t.get(title_id), active, body),
            Err(e) => self.error(e),
        }
    }

    /// A page in the cockpit's frame.
    pub fn page(&self, title: &str, active: Nav, body: Markup) -> Response {
        self.page_with_status(StatusCode::OK, title, active, body)
    }

    pub fn page_with_status(
        &self,
        status: StatusCode,
        title: &str,
        active: Nav,
        body: Markup,
    ) -> Response {
        let t = &self.t;
        let nav = [
            (Nav::Home, "/", "nav-home"),
            (Nav::Objectives, "/objectives", "nav-objectives"),
            (Nav::Work, "/work", "nav-work"),
            (Nav::Decisions, "/decisions", "nav-decisions"),
            (Nav::Service, "/service", "nav-service"),
            (Nav::People, "/people", "nav-people"),
            (Nav::Ledger, "/ledger", "nav-ledger"),
            (Nav::Alerts, "/alerts", "nav-alerts"),
            (Nav::Audit, "/audit", "nav-audit"),
        ];
        let other = match self.locale() {
            Locale::De => Locale::En,
            Locale::En => Locale::De,
        };
        let markup = html! {
            (DOCTYPE)
            html lang=(self.locale().code()) {
                (head(title))
                body hx-boost="true" {
                    a.skip href="#main" { (t.get("skip-to-content")) }
                    header.top {
                        a.brand href="/" { "tutti" span.org { (self.org.name) } }
                        nav aria-label=(t.get("nav-label")) {
                            ul {
                                @for (item, href, label) in nav {
                                    li { a href=(href) aria-current=[(item == active).then_some("page")] { (t.get(label)) } }
                                }
                            }
                        }
                        div.who {
                            // A full page load, so that `<html lang>` changes too.
                            form method="post" action="/language" hx-boost="false" {
                                (self.csrf_field())
                                input type="hidden" name="back" value=(self.path);
                                input type="hidden" name="locale" value=(other.code());
                                button.link type="submit" lang=(other.code()) title=(t.get("language-switch")) { (t.get("language-other")) }
                            }
                            span.name { (self.name) }
                            form method="post" action="/sign-out" hx-boost="false" {
                                (self.csrf_field())
                                button.link type="submit" { (t.get("nav-sign-out")) }
                            }
                        }
                    }
                    main #main { h1 { (title) } (body) }
                }
            }
        };
        (status, markup).into_response()
    }

    /// The reader's time zone (their own, else the org's): the cockpit
    /// shows times in it and reads the times its forms are given in it.
    pub fn zone(&self) -> tutti_domain::routine::Tz {
        self.zone
    }

    /// The hidden field every form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// A refusal or a failure as a page that says what went wrong.
    pub fn error(&self, err: impl Into<ApiError>) -> Response {
        let err = err.into();
        let status = err.status();
        let t = &self.t;
        let title = match status {
            StatusCode::FORBIDDEN => t.get("error-forbidden"),
            StatusCode::NOT_FOUND => t.get("error-not-found"),
            s if s.is_client_error() => t.get("error-invalid"),
            _ => t.get("error-internal"),
        };
        let (lead, detail) = self.explain(&err);
        let body = html! {
            p.problem role="alert" { (lead) }
            @if let Some(detail) = detail { p.quiet { (t.get("error-detail")) " " span lang=[self.detail_lang()] { (detail) } } }
            p { a href="javascript:history.back()" { (t.get("error-back")) } " · " a href="/" { (t.get("nav-home")) } }
        };
        self.page_with_status(status, &title, Nav::None, body)
    }

    /// A refused form's problem, shown above the form that keeps the draft:
    /// what is wrong in the reader's language, then the rule's own words.
    pub fn form_problem(&self, err: &ApiError) -> Markup {
        let (lead, detail) = self.explain(err);
        html! {
            p.problem role="alert" {
                (lead)
                @if let Some(detail) = detail { " " span lang=[self.detail_lang()] { (detail) } }
            }
        }
    }

    /// The details come in English: marked so for readers of another language.
    fn detail_lang(&self) -> Option<&'static str> {
        (self.locale() != Locale::En).then_some("en")
    }

    /// What kind of problem it is, in the reader's language, and the store's
    /// or the policy engine's own words, in English, that say which.
    fn explain(&self, err: &ApiError) -> (String, Option<String>) {
        let t = &self.t;
        match err {
            ApiError::Internal(_) => (t.get("error-explain-internal"), None),
            ApiError::Invalid(invalid) => (
                t.with(
                    "error-explain-invalid",
                    &tutti_i18n::args([("field", invalid.field.clone())]),
                ),
                Some(invalid.message.clone()),
            ),
            other => {
                let kind = match err.status() {
                    StatusCode::FORBIDDEN => "error-explain-forbidden",
                    StatusCode::NOT_FOUND => "error-explain-not-found",
                    StatusCode::CONFLICT => "error-explain-conflict",
                    _ => "error-explain-other",
                };
                (t.get(kind), Some(other.detail()))
            }
        }
    }
}

/// Which section of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Objectives,
    Work,
    Decisions,
    Service,
    People,
    Ledger,
    Alerts,
    Audit,
    None,
}

/// Swap every answer but a 204, errors included (see `head`).
const HTMX_CONFIG: &str =
    r#"{"responseHandling":[{"code":"204","swap":false},{"code":"...","swap":true}]}"#;

pub(crate) fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · tutti" }
            link rel="stylesheet" href="/static/tutti.css";
            // htmx leaves the page alone on a 4xx or 5xx by default, so a
            // refused form (its draft and the reason) would never be seen;
            // every answer of the cockpit is a whole page, so swap them all.
            meta name="htmx-config" content=(HTMX_CONFIG);
            script src="/static/htmx.min.js" defer {}
            script src="/static/tutti.js" defer {}
        }
    }
}

/// The language for a request without a member preference.
pub(crate) fn browser_locale(headers: &axum::http::HeaderMap) -> Locale {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Locale::from_accept_language)
        .unwrap_or_default()
}

/// The session a request's cookie opens, if any.
pub(crate) async fn current_session<S: Store>(
    headers: &axum::http::HeaderMap,
    state: &AppState<S>,
) -> Result<Option<(String, Session)>, ApiError> {
    let Some(token) = session::cookie(headers, session::SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = crate::auth::hash_token(&token);
    let found = state.store.session(&hash, state.clock.now()).await?;
    Ok(found.map(|s| (hash, s)))
}

impl<S: Store> FromRequestParts<AppState<S>> for Web {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, Response> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let fail = |e: ApiError| {
            let t = Messages::of(browser_locale(&parts.headers));
            (
                e.status(),
                bare_page(&t, &t.get("error-internal"), &e.detail()),
            )
                .into_response()
        };
        let Some((_, session)) = current_session(&parts.headers, state).await.map_err(fail)? else {
            let target = if parts.method == axum::http::Method::GET {
                format!("/sign-in?next={}", session::encode(&path))
            } else {
                "/sign-in".into()
            };
            return Err(Redirect::to(&target).into_response());
        };
        let org = state
            .store
            .org(session.actor.org_id)
            .await
            .map_err(|e| fail(e.into()))?;
        let locale = session
            .locale
            .as_deref()
            .and_then(Locale::parse)
            .unwrap_or_else(|| browser_locale(&parts.headers));
        // Times read in the person's own zone, else the org's.
        let zone = session
            .time_zone
            .as_deref()
            .map_or_else(|| org.zone(), tutti_domain::zone::stored_zone);
        Ok(Web {
            actor: session.actor,
            name: session.name,
            csrf: session.csrf_token,
            org,
            t: Messages::of_in(locale, zone),
            zone,
            path,
        })
    }
}

/// A page outside the cockpit's frame (sign-in, failures before a session).
pub(crate) fn bare_page(t: &Messages, title: &str, body: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(t.locale().code()) {
            (head(title))
            body.bare { main #main { h1 { (title) } p.problem role="alert" { (body) } p { a href="/" { "tutti" } } } }
        }
    }
}

/// A submitted form whose CSRF token matched the session's, with the page
/// context of whoever sent it.
pub struct Form<T> {
    pub web: Web,
    pub value: T,
}

#[derive(serde::Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

/// The largest form the cockpit accepts (a policy text is the biggest field).
const FORM_LIMIT: usize = 256 * 1024;

impl<S: Store, T: DeserializeOwned + Send> FromRequest<AppState<S>> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState<S>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let web = Web::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| web.error(ApiError::TooLarge))?;
        let csrf: CsrfOnly =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| web.error(form_error(e)))?;
        if !csrf
            .csrf
            .is_some_and(|sent| session::same_secret(&sent, &web.csrf))
        {
            return Err(web.error(ApiError::Forbidden(web.t.get("error-csrf"))));
        }
        let value = serde_urlencoded::from_bytes(&bytes).map_err(|e| web.error(form_error(e)))?;
        Ok(Form { web, value })
    }
}

fn form_error(e: serde_urlencoded::de::Error) -> ApiError {
    ApiError::Malformed {
        field: None,
        detail: format!("the form could not be read: {e}"),
    }
}

/// After an action: back to where the person came from, or to `fallback`.
/// An optional id from a form or query field; empty means none.
pub(crate) fn optional_id(
    field: &str,
    raw: &Option<String>,
) -> Result<Option<uuid::Uuid>, ApiError> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| ApiError::Malformed {
            field: Some(field.into()),
            detail: format!("`{text}` is not a UUID"),
        }),
    }
}

/// The org's team names by id, for pages that name the teams of what they list.
pub(crate) async fn team_names<S: Store>(
    store: &S,
    org_id: uuid::Uuid,
) -> Result<std::collections::HashMap<uuid::Uuid, String>, ApiError> {
    let teams = store
        .teams(
            org_id,
            tutti_store::PageRequest::first(tutti_store::PageRequest::MAX_LIMIT),
        )
        .await?;
    Ok(teams
        .items
        .into_iter()
        .map(|team| (team.id, team.name))
        .collect())
}

/// Where a form's `back` field sends the reader after the action: a local
/// path only, else `default`.
pub(crate) fn back_to(back: Option<&str>, default: &str) -> String {
    match back {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => default.to_owned(),
    }
}

pub(crate) fn see_other(target: &str) -> Response {
    let mut response = Redirect::to(target).into_response();
    // htmx follows the redirect itself; tell it the address changed.
    if let Ok(value) = HeaderValue::from_str(target) {
        response.headers_mut().insert("HX-Push-Url", value);
    }
    response
}

/// A progress bar with an expected-progress marker, with its figures as text
/// for screen readers.
pub(crate) fn progress_bar(t: &Messages, progress: f64, expected: Option<f64>) -> Markup {
    let label = match expected {
        Some(e) => t.with(
            "progress-of-expected",
            &tutti_i18n::args([
                ("progress", t.percent(progress)),
                ("expected", t.percent(e)),
            ]),
        ),
        None => t.percent(progress),
    };
    html! {
        span.bar role="img" aria-label=(label) title=(label) {
            span.fill style=(format!("width:{:.1}%", progress.clamp(0.0, 1.0) * 100.0)) {}
            @if let Some(e) = expected {
                span.expected style=(format!("left:{:.1}%", e.clamp(0.0, 1.0) * 100.0)) {}
            }
        }
        " " span.figure { (t.percent(progress)) }
    }
}

/// A UUID from the last path segment; a malformed one is a 400 page.
pub struct PageId(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PageId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
        parse_id(&raw).map(PageId).map_err(|e| {
            let t = Messages::of(browser_locale(&parts.headers));
            (
                e.status(),
                bare_page(&t, &t.get("error-invalid"), &e.detail()),
            )
                .into_response()
        })
    }
}

/// A UUID from the path, or the problem that it is not one.
pub(crate) fn parse_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::Malformed {
        field: Some("id".into()),
        detail: format!("`{raw}` is not a UUID"),
    })
}

/// An SVG the page embeds as it is.
pub(crate) fn svg(text: String) -> Markup {
    PreEscaped(text)
}

#[cfg(test)]
mod tests {
    use tutti_domain::decision::{Autonomy, DecisionStatus, Risk, Vote};
    use tutti_domain::labour::{BudgetPeriod, BudgetScope, RunStatus, Verdict};
    use tutti_domain::signal::SignalKind;
    use tutti_domain::work::{Priority, WorkKind, WorkState};
    use tutti_i18n::{Locale, Messages};

    /// The message ids the pages name literally, as `get("…")` or `with("…")`.
    fn literal_ids() -> Vec<String> {
        let sources = [
            include_str!("mod.rs"),
            include_str!("session.rs"),
            include_str!("home.rs"),
            include_str!("objectives.rs"),
            include_str!("work.rs"),
            include_str!("decisions.rs"),
            include_str!("ledger.rs"),
            include_str!("audit.rs"),
        ];
        let mut ids = Vec::new();
        for source in sources {
            for call in ["get(\"", "with(\"", "{ \""] {
                for piece in source.split(call).skip(1) {
                    let id: String = piece
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                        .collect();
                    // Header names are read with `get("…")` too.
                    if piece[id.len()..].starts_with('"')
                        && id.contains('-')
                        && !id.starts_with("x-")
                    {
                        ids.push(id);
                    }
                }
            }
        }
        ids
    }

    #[test]
    fn every_message_the_pages_name_exists_in_both_languages() {
        let mut ids = literal_ids();
        assert!(ids.len() > 100, "the scan found only {} ids", ids.len());
        let mut add = |prefix: &str, names: &[&str]| {
            ids.extend(names.iter().map(|n| format!("{prefix}{n}")));
        };
        fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
            all.iter().map(|v| name(*v)).collect()
        }
        add("work-state-", &names(WorkState::ALL, WorkState::as_str));
        add("work-kind-", &names(WorkKind::ALL, WorkKind::as_str));
        add("priority-", &names(Priority::ALL, Priority::as_str));
        add("run-status-", &names(RunStatus::ALL, RunStatus::as_str));
        add("verdict-", &names(Verdict::ALL, Verdict::as_str));
        add(
            "decision-status-",
            &names(DecisionStatus::ALL, DecisionStatus::as_str),
        );
        add("autonomy-", &names(Autonomy::ALL, Autonomy::as_str));
        add("risk-", &names(Risk::ALL, Risk::as_str));
        add("vote-", &names(Vote::ALL, Vote::as_str));
        add(
            "budget-scope-",
            &names(BudgetScope::ALL, BudgetScope::as_str),
        );
        add(
            "budget-period-",
            &names(BudgetPeriod::ALL, BudgetPeriod::as_str),
        );
        add("budget-state-", &["ok", "warn", "exhausted"]);
        add("signal-", &names(SignalKind::ALL, SignalKind::as_str));
        add("signal-title-", &names(SignalKind::ALL, SignalKind::as_str));
        for locale in Locale::ALL {
            let messages = Messages::of(locale);
            let missing: Vec<&String> = ids.iter().filter(|id| !messages.has(id)).collect();
            assert!(missing.is_empty(), "{locale:?} lacks {missing:?}");
        }
    }
}
