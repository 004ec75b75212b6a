//! Budgets: which calls a budget holds, what a call reserves against it, when
//! it refuses and when it warns, and how a reservation settles.
//!
//! A call reserves its worst case (its prompt and every token it may
//! generate, priced) against every budget that applies before it starts, and
//! settles to what it actually used when it ends; the rest is released. A
//! hard budget refuses a call it has no room for, so it holds however many
//! calls run at once. Counting the reservation against the budget's use in
//! its window is the store's (one conditional upsert under the row's lock);
//! everything decided about it is here.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Prices, Tokens, format_money};
use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};

/// Where a budget's warn line may sit, in percent of its limit.
pub const WARN_PERCENT: std::ops::RangeInclusive<i64> = 1..=100;

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
        if !WARN_PERCENT.contains(&self.warn_percent) {
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

/// What a call is charged to, as budgets see it: the worker making it, and
/// the team and objective of the work it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeScope {
    pub worker_id: Uuid,
    pub team_id: Option<Uuid>,
    pub objective_id: Option<Uuid>,
}

impl ChargeScope {
    /// The budgets that hold a call charged here, by their scope and the id
    /// they name: the org's (which names none), the worker's, and those of
    /// the team and the objective the call is charged to, if any.
    pub fn budget_keys(&self) -> Vec<(BudgetScope, Option<Uuid>)> {
        let mut keys = vec![
            (BudgetScope::Org, None),
            (BudgetScope::Worker, Some(self.worker_id)),
        ];
        if let Some(team) = self.team_id {
            keys.push((BudgetScope::Team, Some(team)));
        }
        if let Some(objective) = self.objective_id {
            keys.push((BudgetScope::Objective, Some(objective)));
        }
        keys
    }

    /// The team a call is charged to: its work item's, or for work without a
    /// team and for gateway calls (which serve no item) the worker's first
    /// team, so a team budget also holds its AI workers' own calls.
    pub fn charged_team(item_team: Option<Uuid>, worker_first_team: Option<Uuid>) -> Option<Uuid> {
        item_team.or(worker_first_team)
    }
}

/// The most a call may use: its prompt and every token it may generate,
/// and what that costs. A call reserves this before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorstCase {
    pub reserved: Tokens,
    pub cost: i64,
}

impl WorstCase {
    /// The worst case of a call with `input_tokens` of prompt (an upper
    /// bound) that may generate `max_output_tokens`.
    pub fn of(prices: Prices, input_tokens: i64, max_output_tokens: i64) -> ValidationResult<Self> {
        if input_tokens < 0 || max_output_tokens < 1 {
            return Err(Invalid::new("max_tokens", "must be at least 1"));
        }
        let reserved = Tokens {
            input: input_tokens,
            cached_input: 0,
            output: max_output_tokens,
        };
        Ok(Self {
            reserved,
            cost: prices.worst_case(reserved.input, reserved.output),
        })
    }
}

/// A budget's refusal of a call, in words that say which budget, how full it
/// is, and what the call needed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BudgetRefusal {
    pub budget_id: Uuid,
    pub message: String,
}

impl Budget {
    /// Whether this budget holds calls charged to `scope`: it is one of the
    /// budgets [`ChargeScope::budget_keys`] names.
    pub fn applies_to(&self, scope: &ChargeScope) -> bool {
        scope.budget_keys().contains(&(self.scope, self.scope_id))
    }

    /// Whether this budget refuses a call even with nothing else in its
    /// window: a hard budget whose limit is below the call's worst case.
    pub fn could_never_hold(&self, call: WorstCase) -> bool {
        self.hard
            && (self
                .token_limit
                .is_some_and(|limit| call.reserved.total() > limit)
                || self.cost_limit.is_some_and(|limit| call.cost > limit))
    }

    /// The refusal of a call this budget has no room for, when its window
    /// has used `used_tokens` and `used_cost`.
    pub fn refusal(&self, used_tokens: i64, used_cost: i64, call: WorstCase) -> BudgetRefusal {
        let mut limits = Vec::new();
        if let Some(limit) = self.token_limit {
            limits.push(format!("{used_tokens} of {limit} tokens used"));
        }
        if let Some(limit) = self.cost_limit {
            limits.push(format!(
                "{} of {} spent",
                format_money(used_cost),
                format_money(limit)
            ));
        }
        BudgetRefusal {
            budget_id: self.id,
            message: format!(
                "budget \"{}\" ({} {}, {}) has no room for this call: {}; the call needs up to {} tokens ({})",
                self.name,
                self.scope,
                self.period,
                if self.hard { "hard" } else { "soft" },
                limits.join(", "),
                call.reserved.total(),
                format_money(call.cost),
            ),
        }
    }

    /// Whether reserving `call`, which raised the window's use to
    /// `used_tokens` and `used_cost`, is what first crosses the warn line:
    /// a budget warns once per window (`warned`: it already has).
    pub fn warns_now(
        &self,
        call: WorstCase,
        used_tokens: i64,
        used_cost: i64,
        warned: bool,
    ) -> bool {
        let crossed = crosses_warn_line(
            self.token_limit,
            self.warn_percent,
            used_tokens - call.reserved.total(),
            used_tokens,
        ) || crosses_warn_line(
            self.cost_limit,
            self.warn_percent,
            used_cost - call.cost,
            used_cost,
        );
        crossed && !warned
    }
}

/// How a reservation ends: what is settled (the use, capped to what was
/// reserved) and what is released (the rest), with their costs. Settled and
/// released add up to the reservation, tokens and cost alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub settled: Tokens,
    pub settled_cost: i64,
    pub released: Tokens,
    pub released_cost: i64,
}

impl Settlement {
    /// Settles a reservation of `reserved` tokens, costing `reserved_cost` at
    /// `prices`, to the call's actual use.
    pub fn of(reserved: Tokens, reserved_cost: i64, prices: Prices, used: Tokens) -> Self {
        let settled = Tokens {
            input: used.input.max(0),
            cached_input: used.cached_input.max(0),
            output: used.output.max(0),
        }
        .capped_to(reserved);
        let settled_cost = prices.cost(settled).min(reserved_cost);
        Self {
            settled,
            settled_cost,
            released: reserved.minus(settled),
            released_cost: reserved_cost - settled_cost,
        }
    }
}

/// The window a report covers, `[from, to)` in UTC: `month` (the current
/// one), `quarter` (the current one), `all`, or a month as `YYYY-MM`;
/// `default` when none is named.
pub fn report_window(
    period: Option<&str>,
    default: &str,
    now: DateTime<Utc>,
) -> ValidationResult<(DateTime<Utc>, DateTime<Utc>)> {
    let at = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc());
    let next_month = |d: NaiveDate| {
        let (y, m) = if d.month() == 12 {
            (d.year() + 1, 1)
        } else {
            (d.year(), d.month() + 1)
        };
        NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
    };
    match period.unwrap_or(default) {
        "month" => {
            let start = BudgetPeriod::Month.window_start(now);
            Ok((at(start), at(next_month(start))))
        }
        "quarter" => {
            let start = BudgetPeriod::Quarter.window_start(now);
            Ok((at(start), at(next_month(next_month(next_month(start))))))
        }
        "all" => Ok((DateTime::<Utc>::UNIX_EPOCH, now + chrono::Duration::days(1))),
        month => {
            // Exactly `YYYY-MM`, as the API's pattern says.
            let start = month
                .split_once('-')
                .filter(|(y, m)| {
                    y.len() == 4
                        && m.len() == 2
                        && y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
                })
                .and_then(|(y, m)| NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1))
                .ok_or_else(|| {
                    Invalid::new(
                        "period",
                        "must be month, quarter, all, or a month as YYYY-MM",
                    )
                })?;
            Ok((at(start), at(next_month(start))))
        }
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_report_window_is_a_month_a_quarter_or_a_named_month() {
        let now = "2026-11-20T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let day = |d: &str| format!("{d}T00:00:00Z").parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            report_window(None, "quarter", now).unwrap(),
            (day("2026-10-01"), day("2027-01-01"))
        );
        assert_eq!(
            report_window(Some("month"), "quarter", now).unwrap(),
            (day("2026-11-01"), day("2026-12-01"))
        );
        assert_eq!(
            report_window(Some("2026-12"), "month", now).unwrap(),
            (day("2026-12-01"), day("2027-01-01"))
        );
        for bad in ["2026-13", "26-01", "2026-1", "week", ""] {
            assert!(report_window(Some(bad), "month", now).is_err(), "{bad}");
        }
    }
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn budget(scope: BudgetScope, scope_id: Option<Uuid>) -> Budget {
        Budget {
            id: Uuid::from_u128(7),
            name: "Service".into(),
            scope,
            scope_id,
            period: BudgetPeriod::Month,
            token_limit: Some(1_000),
            cost_limit: None,
            warn_percent: 80,
            hard: true,
            created_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    fn call(tokens: i64, cost: i64) -> WorstCase {
        WorstCase {
            reserved: Tokens {
                input: tokens / 2,
                cached_input: 0,
                output: tokens - tokens / 2,
            },
            cost,
        }
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
    fn a_budget_holds_the_calls_charged_to_its_scope() {
        let worker = Uuid::from_u128(1);
        let team = Uuid::from_u128(2);
        let objective = Uuid::from_u128(3);
        let other = Uuid::from_u128(4);
        let scope = ChargeScope {
            worker_id: worker,
            team_id: Some(team),
            objective_id: Some(objective),
        };
        assert!(budget(BudgetScope::Org, None).applies_to(&scope));
        assert!(budget(BudgetScope::Worker, Some(worker)).applies_to(&scope));
        assert!(budget(BudgetScope::Team, Some(team)).applies_to(&scope));
        assert!(budget(BudgetScope::Objective, Some(objective)).applies_to(&scope));
        for scoped in [
            BudgetScope::Worker,
            BudgetScope::Team,
            BudgetScope::Objective,
        ] {
            assert!(!budget(scoped, Some(other)).applies_to(&scope), "{scoped}");
        }
        let unaligned = ChargeScope {
            team_id: None,
            objective_id: None,
            ..scope
        };
        assert!(!budget(BudgetScope::Team, Some(team)).applies_to(&unaligned));
        assert!(!budget(BudgetScope::Objective, None).applies_to(&unaligned));
        assert_eq!(
            unaligned.budget_keys(),
            vec![
                (BudgetScope::Org, None),
                (BudgetScope::Worker, Some(worker))
            ]
        );
        assert_eq!(scope.budget_keys().len(), 4);
        assert_eq!(ChargeScope::charged_team(None, Some(team)), Some(team));
        assert_eq!(
            ChargeScope::charged_team(Some(other), Some(team)),
            Some(other)
        );
    }

    #[test]
    fn a_call_reserves_its_prompt_and_every_token_it_may_generate() {
        let prices = Prices {
            input: 1_000_000,
            cached_input: 0,
            output: 2_000_000,
        };
        let worst = WorstCase::of(prices, 100, 50).unwrap_or(call(0, 0));
        assert_eq!(worst.reserved.total(), 150);
        assert_eq!(worst.cost, 100 + 2 * 50);
        assert!(WorstCase::of(prices, 100, 0).is_err_and(|e| e.field == "max_tokens"));
        assert!(WorstCase::of(prices, -1, 10).is_err());
    }

    #[test]
    fn a_hard_budget_smaller_than_the_call_refuses_it_outright() {
        let hard = budget(BudgetScope::Org, None);
        assert!(hard.could_never_hold(call(1_001, 0)));
        assert!(!hard.could_never_hold(call(1_000, 0)));
        let soft = Budget {
            hard: false,
            ..hard.clone()
        };
        assert!(!soft.could_never_hold(call(5_000, 0)));
        let priced = Budget {
            cost_limit: Some(10),
            ..hard
        };
        assert!(priced.could_never_hold(call(1, 11)));
    }

    #[test]
    fn a_refusal_names_the_budget_its_use_and_the_call() {
        let refusal = Budget {
            cost_limit: Some(2_000_000),
            ..budget(BudgetScope::Org, None)
        }
        .refusal(990, 1_500_000, call(40, 600_000));
        assert_eq!(refusal.budget_id, Uuid::from_u128(7));
        assert_eq!(
            refusal.message,
            "budget \"Service\" (org month, hard) has no room for this call: 990 of 1000 tokens used, \
             1.500000 of 2.000000 spent; the call needs up to 40 tokens (0.600000)"
        );
    }

    #[test]
    fn a_budget_warns_once_when_a_call_crosses_its_line() {
        let budget = budget(BudgetScope::Org, None);
        assert!(budget.warns_now(call(100, 0), 800, 0, false));
        assert!(
            !budget.warns_now(call(100, 0), 800, 0, true),
            "warned already"
        );
        assert!(
            !budget.warns_now(call(100, 0), 700, 0, false),
            "below the line"
        );
        assert!(
            !budget.warns_now(call(100, 0), 950, 0, false),
            "past it before"
        );
    }

    proptest! {
        #[test]
        fn a_settlement_balances_the_reservation(
            input in 0i64..100_000, output in 0i64..100_000,
            used_in in -10i64..200_000, used_cached in -10i64..200_000, used_out in -10i64..200_000,
            pin in 0i64..10_000_000, pcached in 0i64..10_000_000, pout in 0i64..10_000_000,
        ) {
            let prices = Prices { input: pin, cached_input: pcached, output: pout };
            let reserved = Tokens { input, cached_input: 0, output };
            let cost = prices.worst_case(input, output);
            let used = Tokens { input: used_in, cached_input: used_cached, output: used_out };
            let s = Settlement::of(reserved, cost, prices, used);
            prop_assert_eq!(s.settled.input + s.released.input, reserved.input);
            prop_assert_eq!(s.settled.output + s.released.output, reserved.output);
            prop_assert_eq!(s.settled_cost + s.released_cost, cost);
            prop_assert!(s.settled_cost >= 0 && s.released_cost >= 0);
            prop_assert!(s.released.input >= 0 && s.released.output >= 0);
        }
    }
}
