//! The REST API under `/api/v1`: routes, the OpenAPI document generated from
//! the handlers' annotations, and what the resource modules share
//! (pagination, idempotent creation, partial updates).

use std::future::Future;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use tutti_domain::access::Actor;
use tutti_engine::EngineError;
use tutti_store::prelude::*;
use tutti_store::{Ctx, Page, PageRequest};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use uuid::Uuid;

use crate::error::Problem;
use crate::extract::IdempotencyKey;
use crate::{ApiError, AppState};

pub mod agents;
pub mod alerts;
pub mod decisions;
pub mod events;
pub mod flows;
pub mod labour;
pub mod members;
pub mod objectives;
pub mod pulse;
pub mod routines;
pub mod service;
pub mod system;
pub mod teams;
pub mod work_items;
pub mod workforce;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/health", get(system::health::<S>))
        .route("/openapi.json", get(system::openapi))
        .route("/me", get(members::me::<S>).patch(members::update_me::<S>))
        .route("/me/work", get(agents::my_work::<S>))
        .route("/me/budgets", get(agents::my_budgets::<S>))
        .route(
            "/org",
            get(members::org::<S>).patch(members::update_org::<S>),
        )
        .route("/org/export", get(members::export::<S>))
        .route("/teams", get(teams::list::<S>).post(teams::create::<S>))
        .route(
            "/teams/{id}",
            get(teams::show::<S>).patch(teams::update::<S>),
        )
        .route(
            "/members",
            get(members::list::<S>).post(members::create::<S>),
        )
        .route(
            "/members/{id}",
            get(members::show::<S>).patch(members::update::<S>),
        )
        .route(
            "/members/{id}/tokens",
            axum::routing::post(members::create_token::<S>),
        )
        .route(
            "/objectives",
            get(objectives::list::<S>).post(objectives::create::<S>),
        )
        .route(
            "/objectives/{id}",
            get(objectives::show::<S>).patch(objectives::update::<S>),
        )
        .route(
            "/objectives/{id}/key-results",
            get(objectives::list_key_results::<S>).post(objectives::create_key_result::<S>),
        )
        .route(
            "/key-results/{id}",
            get(objectives::show_key_result::<S>).patch(objectives::update_key_result::<S>),
        )
        .route(
            "/key-results/{id}/target-moves",
            get(objectives::list_target_moves::<S>),
        )
        .route(
            "/key-results/{id}/check-ins",
            get(objectives::list_check_ins::<S>).post(objectives::create_check_in::<S>),
        )
        .route(
            "/work-items",
            get(work_items::list::<S>).post(work_items::create::<S>),
        )
        .route(
            "/work-items/{id}",
            get(work_items::show::<S>).patch(work_items::update::<S>),
        )
        .route(
            "/providers",
            get(labour::list_providers::<S>).post(labour::create_provider::<S>),
        )
        .route(
            "/providers/{id}/models",
            axum::routing::post(labour::put_model::<S>),
        )
        .route(
            "/providers/{id}/limits",
            axum::routing::patch(labour::update_limits::<S>),
        )
        .route(
            "/budgets",
            get(labour::list_budgets::<S>).post(labour::create_budget::<S>),
        )
        .route(
            "/budgets/{id}",
            axum::routing::patch(labour::update_budget::<S>).delete(labour::delete_budget::<S>),
        )
        .route(
            "/work-items/{id}/runs",
            axum::routing::post(labour::start_run::<S>),
        )
        .route("/work-items/{id}/reviews", get(labour::list_reviews::<S>))
        .route("/work-items/{id}/brief", get(agents::brief::<S>))
        .route(
            "/work-items/import",
            axum::routing::post(work_items::import::<S>),
        )
        .route("/work-items/export", get(work_items::export::<S>))
        .route("/objectives/export", get(objectives::export::<S>))
        .route(
            "/objectives/import",
            axum::routing::post(objectives::import::<S>),
        )
        .route("/runs/claim", axum::routing::post(agents::claim::<S>))
        .route(
            "/runs/{id}/progress",
            axum::routing::post(agents::progress::<S>),
        )
        .route(
            "/runs/{id}/result",
            axum::routing::post(agents::submit::<S>),
        )
        .route(
            "/runs/{id}/release",
            axum::routing::post(agents::release::<S>),
        )
        .route("/runs", get(labour::list_runs::<S>))
        .route("/runs/{id}", get(labour::show_run::<S>))
        .route("/runs/{id}/stream", get(labour::stream_run::<S>))
        .route(
            "/runs/{id}/cancel",
            axum::routing::post(labour::cancel_run::<S>),
        )
        .route(
            "/runs/{id}/review",
            axum::routing::post(labour::review_run::<S>),
        )
        .route("/members/{id}/review-stats", get(labour::review_stats::<S>))
        .route("/ledger/summary", get(labour::ledger_summary::<S>))
        .route("/ledger/totals", get(labour::ledger_totals::<S>))
        .route("/ledger/entries", get(labour::ledger_entries::<S>))
        .route(
            "/decision-spaces",
            get(decisions::list_spaces::<S>).post(decisions::create_space::<S>),
        )
        .route("/decision-spaces/templates", get(decisions::templates))
        .route(
            "/decision-spaces/{id}",
            get(decisions::show_space::<S>)
                .patch(decisions::update_space::<S>)
                .delete(decisions::delete_space::<S>),
        )
        .route(
            "/decision-spaces/{id}/simulate",
            axum::routing::post(decisions::simulate::<S>),
        )
        .route(
            "/decisions",
            get(decisions::list_decisions::<S>).post(decisions::create_decision::<S>),
        )
        .route("/decisions/{id}", get(decisions::show_decision::<S>))
        .route(
            "/decisions/{id}/propose",
            axum::routing::post(decisions::propose::<S>),
        )
        .route(
            "/decisions/{id}/approve",
            axum::routing::post(decisions::approve::<S>),
        )
        .route(
            "/decisions/{id}/reject",
            axum::routing::post(decisions::reject::<S>),
        )
        .route(
            "/decisions/{id}/outcome",
            axum::routing::post(decisions::review_outcome::<S>),
        )
        .route("/decision-register", get(decisions::register::<S>))
        .route(
            "/decision-register/summary",
            get(decisions::register_summary::<S>),
        )
        .route("/alerts", get(alerts::list::<S>))
        .route(
            "/alerts/refresh",
            axum::routing::post(alerts::refresh_now::<S>),
        )
        .route(
            "/webhooks",
            get(alerts::list_webhooks::<S>).post(alerts::create_webhook::<S>),
        )
        .route(
            "/webhooks/{id}",
            axum::routing::delete(alerts::delete_webhook::<S>),
        )
        .route("/webhooks/{id}/deliveries", get(alerts::deliveries::<S>))
        .route(
            "/service-products",
            get(service::list_products::<S>).post(service::create_product::<S>),
        )
        .route("/service-products/{id}", get(service::show_product::<S>))
        .route(
            "/promises",
            get(service::list_promises::<S>).post(service::make_promise::<S>),
        )
        .route("/promises/{id}", get(service::show_promise::<S>))
        .route("/service/load", get(service::load::<S>))
        .route("/promises/{id}/sign-off", post(service::sign_off::<S>))
        .route("/promises/{id}/pause", post(service::pause::<S>))
        .route("/promises/{id}/resume", post(service::resume::<S>))
        .route("/promises/{id}/keep", post(service::keep::<S>))
        .route("/promises/{id}/break", post(service::break_promise::<S>))
        .route(
            "/flows",
            get(flows::list_flows::<S>).post(flows::create_flow::<S>),
        )
        .route("/flows/{id}", get(flows::show_flow::<S>))
        .route("/gates/{id}", get(flows::show_gate::<S>))
        .route(
            "/gates/{id}/criteria",
            axum::routing::put(flows::set_criteria::<S>),
        )
        .route(
            "/cases",
            get(flows::list_cases::<S>).post(flows::open_case::<S>),
        )
        .route("/cases/{id}", get(flows::show_case::<S>))
        .route("/cases/{id}/checks", post(flows::check::<S>))
        .route("/cases/{id}/verdicts", post(flows::propose_verdict::<S>))
        .route(
            "/learnings",
            get(flows::list_learnings::<S>).post(flows::write_learning::<S>),
        )
        .route("/learnings/{id}", get(flows::show_learning::<S>))
        .route("/learnings/{id}/accept", post(flows::accept_learning::<S>))
        .route(
            "/learnings/{id}/decline",
            post(flows::decline_learning::<S>),
        )
        .route(
            "/routines",
            get(routines::list::<S>).post(routines::create::<S>),
        )
        .route(
            "/routines/{id}",
            get(routines::show::<S>).patch(routines::update::<S>),
        )
        .route(
            "/org/voice",
            get(pulse::show_settings::<S>).put(pulse::set_settings::<S>),
        )
        .route(
            "/pulse/surveys",
            get(pulse::list::<S>).post(pulse::create::<S>),
        )
        .route("/pulse/surveys/{id}", get(pulse::show::<S>))
        .route("/pulse/surveys/{id}/answers", post(pulse::answer::<S>))
        .route("/pulse/surveys/{id}/end", post(pulse::end::<S>))
        .route("/pulse/surveys/{id}/results", get(pulse::results::<S>))
        .route("/pulse/starter", get(pulse::starter))
        .route("/workload", get(pulse::show_workload::<S>))
        .route("/workload/candidates", get(pulse::candidates::<S>))
        .route(
            "/decision-spaces/{id}/guards",
            get(workforce::show_guards::<S>).put(workforce::set_guards::<S>),
        )
        .route("/capacity", get(workforce::show_capacity::<S>))
        .route("/org/capacity", put(workforce::set_capacity::<S>))
        .route(
            "/templates",
            get(workforce::list_templates::<S>).post(workforce::create_template::<S>),
        )
        .route("/templates/{id}", get(workforce::show_template::<S>))
        .route(
            "/templates/{id}/versions",
            post(workforce::add_version::<S>),
        )
        .route(
            "/templates/{id}/work-items",
            post(workforce::create_work_item::<S>),
        )
        .route(
            "/check-ins/{id}/evidence",
            post(workforce::attach_evidence::<S>),
        )
        .route(
            "/key-results/{id}/evidence",
            get(workforce::list_evidence::<S>),
        )
        .route("/leverage", get(workforce::leverage::<S>))
        .route("/leverage/export", get(workforce::leverage_export::<S>))
        .route("/events", get(events::list::<S>))
        .route("/events/verify", get(events::verify::<S>))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "tutti", description = "The orchestration cockpit for hybrid teams: strategy, work, people and AI workers."),
    paths(
        system::health,
        members::me, members::update_me, members::org, members::update_org, members::export, members::list, members::create, members::show, members::update, members::create_token,
        teams::list, teams::create, teams::show, teams::update,
        objectives::list, objectives::create, objectives::show, objectives::update,
        objectives::list_key_results, objectives::create_key_result, objectives::show_key_result,
        objectives::update_key_result, objectives::list_target_moves, objectives::list_check_ins, objectives::create_check_in,
        work_items::list, work_items::create, work_items::show, work_items::update, work_items::import, work_items::export, objectives::export, objectives::import,
                events::list, events::verify,
        labour::list_providers, labour::create_provider, labour::update_limits, labour::put_model,
        labour::list_budgets, labour::create_budget, labour::update_budget, labour::delete_budget,
        labour::start_run, labour::list_runs, labour::show_run, labour::stream_run, labour::cancel_run,
        labour::review_run, labour::list_reviews, labour::review_stats,
                labour::ledger_summary, labour::ledger_totals, labour::ledger_entries,
        decisions::list_spaces, decisions::create_space, decisions::show_space, decisions::update_space,
        decisions::delete_space, decisions::templates, decisions::simulate,
        decisions::create_decision, decisions::list_decisions, decisions::show_decision, decisions::propose,
        decisions::approve, decisions::reject, decisions::review_outcome,
        decisions::register, decisions::register_summary,
        alerts::list, alerts::refresh_now, alerts::create_webhook, alerts::list_webhooks,
        alerts::delete_webhook, alerts::deliveries,
        service::list_products, service::create_product, service::show_product,
        service::list_promises, service::make_promise, service::show_promise, service::sign_off,
        service::pause, service::resume, service::keep, service::break_promise, service::load,
        flows::list_flows, flows::create_flow, flows::show_flow, flows::show_gate, flows::set_criteria,
        flows::list_cases, flows::open_case, flows::show_case, flows::check, flows::propose_verdict,
        flows::list_learnings, flows::write_learning, flows::show_learning, flows::accept_learning,
        flows::decline_learning,
        routines::list, routines::create, routines::show, routines::update,
        pulse::show_settings, pulse::set_settings, pulse::list, pulse::create, pulse::show,
        pulse::answer, pulse::end, pulse::results, pulse::starter, pulse::show_workload, pulse::candidates,
        agents::my_work, agents::my_budgets, agents::brief, agents::claim, agents::progress,
        agents::submit, agents::release,
        workforce::show_guards, workforce::set_guards, workforce::show_capacity, workforce::set_capacity,
        workforce::list_templates, workforce::create_template, workforce::show_template, workforce::add_version,
        workforce::create_work_item, workforce::attach_evidence, workforce::list_evidence,
        workforce::leverage, workforce::leverage_export,
    ),
    // Query parameters' types are not collected from the handlers.
    components(schemas(
        Problem,
        alerts::Lang,
        decisions::Awaiting,
        decisions::RegisterFormat,
        tutti_domain::service::PromiseState,
        tutti_domain::service::CaseStatus,
        tutti_domain::service::LearningStatus
    )),
    modifiers(&BearerAuth, &ProblemAnswers),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Documents on every operation the problem answers the API gives for any
/// request of its shape, where the operation does not say more itself: a
/// missing or unknown token (401) and a role without the right (403) where
/// a token is needed; an unknown id (404) on a path with one; a malformed
/// parameter or body (400) and a value out of place (422) where there are
/// any; and for a body, one too large (413) or not JSON (415). Problems are
/// documented as `application/problem+json`, as they are sent, and the
/// paging parameters with the values they take. So the document lists every
/// answer the API gives.
struct ProblemAnswers;

impl Modify for ProblemAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        let add = |operation: &mut Operation, path: &str| {
            let public = operation.security.as_ref().is_some_and(|requirements| {
                requirements
                    .iter()
                    .all(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
            });
            let has_query = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let has_body = operation.request_body.is_some();
            let mut answers = Vec::new();
            if !public {
                answers.push(("401", "No token, or one this server does not know"));
                answers.push(("403", "The caller's role does not allow this"));
            }
            if path.contains('{') {
                answers.push(("404", "Nothing with this id in the caller's org"));
            }
            if path.contains('{') || has_query || has_body {
                answers.push(("400", "A malformed id, parameter or body"));
                answers.push(("422", "A value that does not fit, naming its field"));
            }
            if has_body {
                answers.push(("413", "The body is too large"));
                answers.push(("415", "The body is not JSON"));
            }
            for (status, description) in answers {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(description).into());
            }
            for answer in operation.responses.responses.values_mut() {
                if let utoipa::openapi::RefOr::T(answer) = answer {
                    let is_problem = answer.content.get("application/json").is_some_and(|c| {
                        matches!(&c.schema, Some(utoipa::openapi::RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"))
                    });
                    if is_problem
                        && let Some(content) = answer.content.shift_remove("application/json")
                    {
                        answer
                            .content
                            .insert("application/problem+json".to_owned(), content);
                    }
                }
            }
            for parameter in operation.parameters.iter_mut().flatten() {
                parameter.schema = match parameter.name.as_str() {
                    "limit" => Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1))
                            .maximum(Some(PageRequest::MAX_LIMIT))
                            .into(),
                    ),
                    // A string cursor is an id; the audit log's is a number.
                    "cursor"
                        if serde_json::to_string(&parameter.schema)
                            .is_ok_and(|schema| schema.contains("\"string\"")) =>
                    {
                        Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                                .into(),
                        )
                    }
                    _ => continue,
                };
            }
        };
        let mut bodies = Vec::new();
        for item in openapi.paths.paths.values() {
            for operation in [&item.post, &item.put, &item.patch].into_iter().flatten() {
                let body = operation
                    .request_body
                    .as_ref()
                    .and_then(|b| b.content.get("application/json"));
                if let Some(utoipa::openapi::RefOr::Ref(r)) = body.and_then(|c| c.schema.as_ref()) {
                    bodies.push(
                        r.ref_location
                            .trim_start_matches("#/components/schemas/")
                            .to_owned(),
                    );
                }
            }
        }
        if let Some(components) = openapi.components.as_mut() {
            // The schemas a body holds are input too (a decision's facts, a
            // provider's limits): their fields follow the same rules.
            let mut seen = std::collections::BTreeSet::new();
            while let Some(name) = bodies.pop() {
                if !seen.insert(name.clone()) {
                    continue;
                }
                let text =
                    serde_json::to_string(&components.schemas.get(&name)).unwrap_or_default();
                bodies.extend(
                    text.split("#/components/schemas/")
                        .skip(1)
                        .filter_map(|rest| rest.split('"').next())
                        .map(str::to_owned),
                );
            }
            for name in seen {
                if let Some(utoipa::openapi::RefOr::T(Schema::Object(body))) =
                    components.schemas.get_mut(&name)
                {
                    state_field_rules(&name, body);
                }
            }
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add(operation, path);
            }
        }
    }
}

/// States on a request body's fields the rules the domain holds them to,
/// from the domain's own constants: short texts (names, titles, labels, a
/// decision's question) not blank, without control characters, at most so
/// long once trimmed (`tutti_domain::validate::text`); numbers in their
/// ranges.
fn state_field_rules(body_name: &str, body: &mut utoipa::openapi::schema::Object) {
    use serde_json::Value;
    use tutti_domain::decision::PRINCIPLE_MAX;
    use tutti_domain::labour::{CallLimits, MaxTokens, Rating, budget::WARN_PERCENT};
    use tutti_domain::signal::{WEBHOOK_NAME_MAX, webhook_url_pattern};
    use tutti_domain::strategy::UNIT_MAX;
    use tutti_domain::validate::{BODY_MAX, TITLE_MAX, optional_text_pattern, text_pattern};
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    for (field, property) in body.properties.iter_mut() {
        let range: Option<(i64, Option<i64>)> = match (body_name, field.as_str()) {
            ("CreateCheckIn" | "CreateKeyResult" | "UpdateKeyResult", "confidence") => {
                Some((0, Some(i64::from(tutti_domain::strategy::CONFIDENCE_MAX))))
            }
            (_, "rating") => Some((*Rating::RANGE.start(), Some(*Rating::RANGE.end()))),
            (_, "max_tokens") => Some((1, Some(MaxTokens::LIMIT))),
            (_, "warn_percent") => Some((*WARN_PERCENT.start(), Some(*WARN_PERCENT.end()))),
            ("LimitsPatch", _) => Some((1, Some(i64::from(CallLimits::MAX_SECS)))),
            ("PutModel", _) if field.ends_with("_price") => Some((0, None)),
            (_, "escalate_after_secs") => {
                let secs = tutti_domain::decision::ESCALATE_AFTER_SECS;
                Some((*secs.start(), Some(*secs.end())))
            }
            _ => None,
        };
        if let Some((minimum, maximum)) = range {
            if let utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(property)) =
                property
            {
                property.minimum = Some(minimum.into());
                property.maximum = maximum.map(Into::into);
            }
            continue;
        }
        match (body_name, field.as_str()) {
            ("FactsInput", "amount") => {
                *property = amount_schema();
                continue;
            }
            ("CreateWebhook", "locale") => {
                if let RefOr::T(Schema::Object(property)) = property {
                    property.enum_values = Some(vec!["de".into(), "en".into(), Value::Null]);
                }
                continue;
            }
            _ => {}
        }
        let (pattern, items) = match (body_name, field.as_str()) {
            ("CreateWebhook", "name") => (text_pattern(WEBHOOK_NAME_MAX), false),
            ("CreateWebhook", "url") => (webhook_url_pattern(), false),
            (_, "name" | "title" | "question") => (text_pattern(TITLE_MAX), false),
            (_, "label") => (optional_text_pattern(TITLE_MAX), false),
            (_, "unit") => (optional_text_pattern(UNIT_MAX), false),
            (_, "customer") => (text_pattern(TITLE_MAX), false),
            (_, "customer_group") => (optional_text_pattern(TITLE_MAX), false),
            ("CreateServiceProduct", "levels") => (text_pattern(TITLE_MAX), true),
            (_, "rationale" | "reason") => (text_pattern(BODY_MAX), false),
            (
                _,
                "description" | "why" | "note" | "feedback" | "context" | "role_card"
                | "target_reason",
            ) => (optional_text_pattern(BODY_MAX), false),
            (_, "options") => (text_pattern(TITLE_MAX), true),
            (_, "principles") => (text_pattern(PRINCIPLE_MAX), true),
            _ => continue,
        };
        let target = match property {
            RefOr::T(Schema::Array(array)) if items => match &mut array.items {
                utoipa::openapi::schema::ArrayItems::RefOrSchema(item) => item.as_mut(),
                utoipa::openapi::schema::ArrayItems::False => continue,
            },
            other => other,
        };
        if let RefOr::T(Schema::Object(property)) = target
            && serde_json::to_string(&property.schema_type).is_ok_and(|t| t.contains("string"))
        {
            property.pattern = Some(pattern);
        }
    }
}

/// A decision's amount as sent: a whole number, or a text with up to two
/// decimals (`tutti_domain::decision::parse_amount`).
fn amount_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    let largest = tutti_domain::decision::MAX_AMOUNT_MINOR / 100;
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(tutti_domain::decision::amount_pattern())),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(largest)),
        )
        .description(Some(
            "In the currency's major unit: a whole number (`500`) or a text with up to two decimals (`\"499.50\"`).",
        ))
        .into()
}

/// A page of results, oldest first; pass `next_cursor` as `cursor` for the next.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for PageOf<T> {
    fn from(page: Page<T>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// `limit` and `cursor`, shared by every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// At most this many items (1–500, default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        page_request(self.limit, self.cursor.as_deref())
    }
}

pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(tutti_domain::Invalid::new(
            "limit",
            format!("must be between 1 and {}", PageRequest::MAX_LIMIT),
        )
        .into());
    }
    let after = cursor
        .map(|c| {
            c.parse::<Uuid>().map_err(|_| ApiError::Malformed {
                field: Some("cursor".into()),
                detail: "is not a cursor returned by this list".into(),
            })
        })
        .transpose()?;
    Ok(PageRequest { after, limit })
}

/// For partial updates: an absent field stays `None`, an explicit `null`
/// becomes `Some(None)` (clear it), a value `Some(Some(v))`.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

pub fn ctx<S: Store>(state: &AppState<S>, actor: &Actor) -> Ctx {
    Ctx::new(actor.org_id, Some(actor.member_id), state.clock.now())
}

/// Runs a creating call, honouring `Idempotency-Key`: a retried request with
/// the same key and body gets the first response again; the same key with a
/// different request is refused.
pub async fn create<S, T, F, Fut>(
    state: &AppState<S>,
    actor: &Actor,
    key: IdempotencyKey,
    route: &str,
    digest: &str,
    make: F,
) -> Result<Response, ApiError>
where
    S: Store,
    T: Serialize,
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result<T, EngineError>>,
{
    let mut ctx = ctx(state, actor);
    let Some(key) = key.0 else {
        let created = make(ctx).await?;
        return Ok((StatusCode::CREATED, Json(created)).into_response());
    };
    let request_hash = hex::encode(Sha256::digest(format!("{route}\n{digest}")));
    let kept = state
        .store
        .idempotent_response(actor.org_id, actor.member_id, &key)
        .await?;
    if let Some(kept) = kept {
        return replay(kept, &request_hash);
    }
    ctx.idempotency = Some(tutti_store::IdempotencyKey {
        key: key.clone(),
        request_hash: request_hash.clone(),
    });
    match make(ctx).await {
        Ok(created) => Ok((StatusCode::CREATED, Json(created)).into_response()),
        Err(EngineError::IdempotencyRace) => {
            match state
                .store
                .idempotent_response(actor.org_id, actor.member_id, &key)
                .await?
            {
                Some(kept) => replay(kept, &request_hash),
                None => Err(EngineError::IdempotencyRace.into()),
            }
        }
        Err(other) => Err(other.into()),
    }
}

fn replay(kept: tutti_store::StoredResponse, request_hash: &str) -> Result<Response, ApiError> {
    if kept.request_hash != request_hash {
        return Err(tutti_domain::Invalid::new(
            "Idempotency-Key",
            "was already used for a different request; use a new key for a new request",
        )
        .into());
    }
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let mut response = (status, kept.body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}

/// A CSV sheet as a download named `filename`.
pub fn csv_download(filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}
