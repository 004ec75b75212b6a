//! AI labour: providers and their prices, runs of work orders, the token
//! ledger, budgets and reviews, with the arithmetic they rest on.
//!
//! Money is integer micro-units of the org's currency (1 € = 1 000 000), and
//! every division rounds up, so the ledger never under-charges and never holds
//! a float. A budget counts a call's input plus output tokens.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};

text_enum! {
    /// How a provider is reached: the embedded GGUF model in this process, or
    /// any OpenAI-compatible HTTP endpoint.
    ProviderKind { Embedded => "embedded", Openai => "openai" }
}

text_enum! {
    /// A run's life: `queued → running → succeeded | failed | cancelled`; a run
    /// whose lease expired goes back to `queued` until its attempts are used up.
    RunStatus {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

impl RunStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

text_enum! {
    /// A person's verdict on a run.
    Verdict { Accept => "accept", Revise => "revise", Reject => "reject" }
}

text_enum! {
    LedgerKind { Reserve => "reserve", Settle => "settle", Release => "release", Adjust => "adjust" }
}

text_enum! {
    /// What the ledger's summary groups by.
    LedgerGroup {
        Worker => "worker",
        Team => "team",
        Objective => "objective",
        KeyResult => "key_result",
        Model => "model",
    }
}

text_enum! {
    BudgetScope { Org => "org", Team => "team", Objective => "objective", Worker => "worker" }
}

text_enum! {
    /// The window a budget counts in; it starts over at each window's start (UTC).
    BudgetPeriod { Month => "month", Quarter => "quarter", Lifetime => "lifetime" }
}

impl BudgetPeriod {
    /// The first day of the window that contains `now`.
    pub fn window_start(self, now: DateTime<Utc>) -> NaiveDate {
        let today = now.date_naive();
        let first = |month: u32| NaiveDate::from_ymd_opt(today.year(), month, 1).unwrap_or(today);
        match self {
            Self::Month => first(today.month()),
            Self::Quarter => first((today.month() - 1) / 3 * 3 + 1),
            Self::Lifetime => NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(today),
        }
    }
}

/// Micro-units of a currency as a decimal amount (`1500000` → `1.500000`).
pub fn format_money(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    format!("{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Prices of a model in micro-units of the org's currency per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prices {
    pub input: i64,
    pub cached_input: i64,
    pub output: i64,
}

impl Prices {
    pub fn check(self) -> ValidationResult<Self> {
        for (field, value) in [
            ("input_price", self.input),
            ("cached_input_price", self.cached_input),
            ("output_price", self.output),
        ] {
            if value < 0 {
                return Err(Invalid::new(field, "a price cannot be negative"));
            }
        }
        Ok(self)
    }

    /// What the given tokens cost, rounded up to the next micro-unit.
    /// `cached_input` is the part of `input` the provider served from its cache.
    pub fn cost(self, tokens: Tokens) -> i64 {
        let cached = tokens.cached_input.min(tokens.input);
        let micro_millions = i128::from(tokens.input - cached) * i128::from(self.input)
            + i128::from(cached) * i128::from(self.cached_input)
            + i128::from(tokens.output) * i128::from(self.output);
        let cost = (micro_millions + 999_999) / 1_000_000;
        i64::try_from(cost).unwrap_or(i64::MAX)
    }

    /// The most a call can cost: no input cached, every allowed token generated.
    pub fn worst_case(self, input: i64, max_output: i64) -> i64 {
        let dearest_input = Prices {
            input: self.input.max(self.cached_input),
            ..self
        };
        dearest_input.cost(Tokens {
            input,
            cached_input: 0,
            output: max_output,
        })
    }
}

/// Token counts of one call or one ledger entry. `cached_input` is part of
/// `input`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tokens {
    pub input: i64,
    pub cached_input: i64,
    pub output: i64,
}

impl Tokens {
    /// What a budget counts.
    pub fn total(self) -> i64 {
        self.input + self.output
    }

    /// Actual use, capped to what was reserved: a call is never charged past
    /// its reservation, so a hard budget holds even against an upstream that
    /// generates more than it was allowed to.
    pub fn capped_to(self, reserved: Tokens) -> Tokens {
        let input = self.input.min(reserved.input);
        Tokens {
            input,
            cached_input: self.cached_input.min(input),
            output: self.output.min(reserved.output),
        }
    }

    pub fn minus(self, other: Tokens) -> Tokens {
        Tokens {
            input: self.input - other.input,
            cached_input: self.cached_input - other.cached_input,
            output: self.output - other.output,
        }
    }
}

/// True when a budget's use passes its warn line with this change.
pub fn crosses_warn_line(limit: Option<i64>, warn_percent: i64, before: i64, after: i64) -> bool {
    match limit {
        Some(limit) if limit > 0 => {
            let line = i128::from(limit) * i128::from(warn_percent);
            i128::from(before) * 100 < line && i128::from(after) * 100 >= line
        }
        _ => false,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provider {
    pub id: Uuid,
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    /// The environment variable the key is read from, if any.
    pub api_key_env: Option<String>,
    /// Whether a key is kept in the store; the key itself is never shown.
    pub has_stored_key: bool,
    pub models: Vec<Model>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Model {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub name: String,
    pub prices: Prices,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    pub id: Uuid,
    pub name: String,
    pub scope: BudgetScope,
    /// The team, objective or worker; none for the org.
    pub scope_id: Option<Uuid>,
    pub period: BudgetPeriod,
    pub token_limit: Option<i64>,
    /// In micro-units of the org's currency.
    pub cost_limit: Option<i64>,
    pub warn_percent: i64,
    /// A hard budget refuses calls that could pass it; a soft one only warns.
    pub hard: bool,
    pub created_at: DateTime<Utc>,
}

/// A budget and its use in the current window. `used_*` includes what running
/// calls have reserved and not yet settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetState {
    #[serde(flatten)]
    pub budget: Budget,
    pub window_start: NaiveDate,
    pub used_tokens: i64,
    pub used_cost: i64,
    /// `ok`, `warn` (past the warn line) or `exhausted` (at the limit).
    pub state: String,
}

impl BudgetState {
    /// How much of its limit the budget has used in this window, as a share
    /// of 1: the larger of the token and the cost share (either may be unset).
    pub fn used_share(&self) -> f64 {
        let share = |used: i64, limit: Option<i64>| {
            limit.filter(|l| *l > 0).map(|l| used as f64 / l as f64)
        };
        share(self.used_tokens, self.budget.token_limit)
            .into_iter()
            .chain(share(self.used_cost, self.budget.cost_limit))
            .fold(0.0, f64::max)
    }
}

impl Budget {
    pub fn check(&self) -> ValidationResult<()> {
        if self.token_limit.is_none() && self.cost_limit.is_none() {
            return Err(Invalid::new(
                "token_limit",
                "a budget needs a token_limit, a cost_limit, or both",
            ));
        }
        for (field, limit) in [
            ("token_limit", self.token_limit),
            ("cost_limit", self.cost_limit),
        ] {
            if limit.is_some_and(|l| l < 0) {
                return Err(Invalid::new(field, "a limit cannot be negative"));
            }
        }
        if !(1..=100).contains(&self.warn_percent) {
            return Err(Invalid::new("warn_percent", "must be between 1 and 100"));
        }
        match (self.scope, self.scope_id) {
            (BudgetScope::Org, Some(_)) => {
                Err(Invalid::new("scope_id", "an org budget has no scope_id"))
            }
            (BudgetScope::Org, None) | (_, Some(_)) => Ok(()),
            (scope, None) => Err(Invalid::new(
                "scope_id",
                format!("a {scope} budget needs the id of its {scope}"),
            )),
        }
    }

    /// How a use compares with this budget's limits and warn line.
    pub fn state_of(&self, tokens: i64, cost: i64) -> &'static str {
        let at = |limit: Option<i64>, used: i64| limit.is_some_and(|l| used >= l);
        let past_warn = |limit: Option<i64>, used: i64| {
            limit.is_some_and(|l| {
                i128::from(used) * 100 >= i128::from(l) * i128::from(self.warn_percent)
            })
        };
        if at(self.token_limit, tokens) || at(self.cost_limit, cost) {
            "exhausted"
        } else if past_warn(self.token_limit, tokens) || past_warn(self.cost_limit, cost) {
            "warn"
        } else {
            "ok"
        }
    }
}

/// One execution attempt chain of a work item by an AI worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    pub id: Uuid,
    pub work_item_id: Uuid,
    pub worker_id: Uuid,
    /// 1 for the first run of an item; each revision adds one.
    pub iteration: i64,
    pub status: RunStatus,
    /// The worker's role card, sent as the system message.
    pub role_card: String,
    /// The rendered work order, sent as the user message.
    pub work_order: String,
    pub output: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub max_tokens: i64,
    pub tokens: Tokens,
    /// Micro-units of the org's currency, settled so far.
    pub cost: i64,
    pub error: Option<String>,
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    pub id: Uuid,
    pub run_id: Uuid,
    pub work_item_id: Uuid,
    pub worker_id: Uuid,
    pub reviewer_id: Uuid,
    pub verdict: Verdict,
    pub feedback: String,
    pub rating: i64,
    pub created_at: DateTime<Utc>,
}

/// How a worker's results fare in review.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewStats {
    pub reviews: i64,
    pub accepted: i64,
    pub revised: i64,
    pub rejected: i64,
    pub accept_rate: Option<f64>,
    pub revise_rate: Option<f64>,
    pub reject_rate: Option<f64>,
    pub mean_rating: Option<f64>,
}

impl ReviewStats {
    pub fn from_counts(accepted: i64, revised: i64, rejected: i64, rating_sum: i64) -> Self {
        let reviews = accepted + revised + rejected;
        let share = |n: i64| (reviews > 0).then(|| n as f64 / reviews as f64);
        Self {
            reviews,
            accepted,
            revised,
            rejected,
            accept_rate: share(accepted),
            revise_rate: share(revised),
            reject_rate: share(rejected),
            mean_rating: (reviews > 0).then(|| rating_sum as f64 / reviews as f64),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerEntry {
    pub id: Uuid,
    pub reservation_id: Uuid,
    pub kind: LedgerKind,
    pub worker_id: Uuid,
    pub run_id: Option<Uuid>,
    pub work_item_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    pub objective_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub provider: String,
    pub model: String,
    pub tokens: Tokens,
    pub cost: i64,
    pub at: DateTime<Utc>,
}

/// What a work order is made of.
pub struct WorkOrderParts<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub priority: &'a str,
    pub due: Option<NaiveDate>,
    pub key_result: Option<&'a str>,
    pub objective: Option<&'a str>,
    pub why: Option<&'a str>,
    pub principles: &'a [String],
}

/// The work order a worker receives: the task, and why it matters.
pub fn render_work_order(parts: &WorkOrderParts<'_>) -> String {
    let mut order = format!("# Task: {}\n", parts.title);
    if !parts.description.is_empty() {
        order.push_str(&format!("\n{}\n", parts.description));
    }
    order.push_str(&format!("\nPriority: {}", parts.priority));
    if let Some(due) = parts.due {
        order.push_str(&format!(". Due: {due}"));
    }
    order.push('\n');
    if parts.objective.is_some() || parts.key_result.is_some() {
        order.push_str("\n## Why this matters\n");
        if let Some(objective) = parts.objective {
            order.push_str(&format!("Objective: {objective}\n"));
        }
        if let Some(why) = parts.why.filter(|w| !w.is_empty()) {
            order.push_str(&format!("Purpose: {why}\n"));
        }
        if let Some(key_result) = parts.key_result {
            order.push_str(&format!("This work serves the key result: {key_result}\n"));
        }
    }
    if !parts.principles.is_empty() {
        order.push_str("\n## Principles you must follow\n");
        for principle in parts.principles {
            order.push_str(&format!("- {principle}\n"));
        }
    }
    order.push_str("\nDeliver the result itself, ready for a person to review.\n");
    order
}

/// The next iteration's work order: the previous one with the reviewer's
/// feedback appended.
pub fn with_feedback(work_order: &str, iteration: i64, feedback: &str) -> String {
    format!(
        "{work_order}\n## Review feedback on iteration {iteration}\n{feedback}\n\nRevise your result to address this feedback.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const EURO_CENT_PER_MILLION: i64 = 10_000;

    #[test]
    fn cost_rounds_up_to_the_micro_unit() {
        let prices = Prices {
            input: EURO_CENT_PER_MILLION,
            cached_input: 0,
            output: 3 * EURO_CENT_PER_MILLION,
        };
        let one = Tokens {
            input: 1,
            cached_input: 0,
            output: 0,
        };
        assert_eq!(prices.cost(one), 1, "0.01 micro-units round up to 1");
        let mixed = Tokens {
            input: 1_000_000,
            cached_input: 500_000,
            output: 1_000_000,
        };
        assert_eq!(prices.cost(mixed), 5_000 + 30_000);
        assert_eq!(prices.cost(Tokens::default()), 0);
        assert_eq!(format_money(150_000), "0.150000");
        assert_eq!(format_money(-2_500_001), "-2.500001");
    }

    #[test]
    fn windows_start_on_the_first_of_month_and_quarter() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 21, 13, 0, 0)
            .single()
            .unwrap_or_default();
        let day = |m| NaiveDate::from_ymd_opt(2026, m, 1).unwrap_or_default();
        assert_eq!(BudgetPeriod::Month.window_start(now), day(11));
        assert_eq!(BudgetPeriod::Quarter.window_start(now), day(10));
        assert_eq!(
            BudgetPeriod::Lifetime.window_start(now),
            NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
        );
    }

    #[test]
    fn warn_line_is_crossed_once() {
        assert!(crosses_warn_line(Some(100), 80, 79, 80));
        assert!(!crosses_warn_line(Some(100), 80, 80, 90));
        assert!(!crosses_warn_line(None, 80, 0, 1_000));
    }

    #[test]
    fn budgets_need_a_limit_and_a_fitting_scope() {
        let budget = Budget {
            id: Uuid::nil(),
            name: "x".into(),
            scope: BudgetScope::Team,
            scope_id: None,
            period: BudgetPeriod::Month,
            token_limit: Some(10),
            cost_limit: None,
            warn_percent: 80,
            hard: true,
            created_at: DateTime::<Utc>::MIN_UTC,
        };
        assert_eq!(budget.check().map_err(|e| e.field), Err("scope_id".into()));
        let no_limit = Budget {
            token_limit: None,
            scope_id: Some(Uuid::nil()),
            ..budget.clone()
        };
        assert_eq!(
            no_limit.check().map_err(|e| e.field),
            Err("token_limit".into())
        );
        assert_eq!(budget.state_of(8, 0), "warn");
        assert_eq!(budget.state_of(10, 0), "exhausted");
        assert_eq!(budget.state_of(7, 0), "ok");
    }

    #[test]
    fn used_share_is_the_larger_of_tokens_and_cost() {
        let budget = Budget {
            id: Uuid::nil(),
            name: "Service".into(),
            scope: BudgetScope::Org,
            scope_id: None,
            period: BudgetPeriod::Month,
            token_limit: Some(1_000),
            cost_limit: Some(2_000_000),
            warn_percent: 80,
            hard: true,
            created_at: DateTime::<Utc>::MIN_UTC,
        };
        let state = |used_tokens, used_cost, budget: &Budget| BudgetState {
            budget: budget.clone(),
            window_start: chrono::NaiveDate::MIN,
            used_tokens,
            used_cost,
            state: String::new(),
        };
        assert_eq!(state(250, 1_500_000, &budget).used_share(), 0.75);
        assert_eq!(state(900, 0, &budget).used_share(), 0.9);
        let tokens_only = Budget {
            cost_limit: None,
            ..budget.clone()
        };
        assert_eq!(state(100, 9_000_000, &tokens_only).used_share(), 0.1);
        let zero = Budget {
            token_limit: Some(0),
            cost_limit: None,
            ..budget
        };
        assert_eq!(
            state(5, 0, &zero).used_share(),
            0.0,
            "a zero limit is not a division"
        );
    }

    #[test]
    fn feedback_is_appended_to_the_work_order() {
        let order = render_work_order(&WorkOrderParts {
            title: "Angebot prüfen",
            description: "",
            priority: "high",
            due: None,
            key_result: Some("Angebotsquote 40 %"),
            objective: Some("Wartungsgeschäft ausbauen"),
            why: Some("Damit Kunden verlässlich versorgt sind."),
            principles: &["Keine Rabatte über 10 %".to_string()],
        });
        assert!(order.contains("Damit Kunden verlässlich versorgt sind."));
        assert!(order.contains("- Keine Rabatte über 10 %"));
        let next = with_feedback(&order, 1, "Bitte kürzer.");
        assert!(next.starts_with(&order) && next.contains("Bitte kürzer."));
    }

    proptest! {
        #[test]
        fn worst_case_bounds_every_actual_cost(
            input in 0i64..1_000_000, cached in 0i64..1_000_000, output in 0i64..100_000,
            max_out in 0i64..100_000,
            pin in 0i64..10_000_000, pcached in 0i64..10_000_000, pout in 0i64..10_000_000,
        ) {
            let prices = Prices { input: pin, cached_input: pcached, output: pout };
            let reserved = Tokens { input, cached_input: 0, output: max_out };
            let actual = Tokens { input: input + 7, cached_input: cached, output }.capped_to(reserved);
            prop_assert!(prices.cost(actual) <= prices.worst_case(input, max_out));
            prop_assert!(actual.total() <= reserved.total());
        }
    }
}
