//! AI labour: providers and their prices, runs of work orders, the token
//! ledger, budgets and reviews, with the arithmetic they rest on.
//!
//! Money is integer micro-units of the org's currency (1 € = 1 000 000), and
//! every division rounds up, so the ledger never under-charges and never holds
//! a float. A budget counts a call's input plus output tokens.
//!
//! - [`run`]: a run's life cycle, what its end does to the work, retries;
//! - [`review`]: verdicts and what they do to the work;
//! - [`agent`]: external AI workers' claims, results and notes;
//! - [`budget`]: which budgets hold a call, its worst case, refusals,
//!   warnings and settlement;
//! - [`capacity`]: how many runs run at once, per worker and per org;
//! - [`template`]: work-order templates, their versions and track record;
//! - [`leverage`]: AI spend set against the outcome it served.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};

pub mod agent;
pub mod budget;
pub mod capacity;
pub mod leverage;
pub mod output;
pub mod review;
pub mod run;
pub mod template;

pub use budget::*;
pub use review::*;
pub use run::*;

text_enum! {
    /// How a provider is reached: the embedded GGUF model in this process, or
    /// any OpenAI-compatible HTTP endpoint.
    ProviderKind { Embedded => "embedded", Openai => "openai" }
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

/// Micro-units of a currency as a decimal amount (`1500000` → `1.500000`).
pub fn format_money(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    format!("{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Reads a money amount in the currency's major unit (`0.15`, `25`, `.5`,
/// and with a decimal comma as German readers write it, `0,15`) into
/// micro-units, without floats: digits only, at most six decimals, never
/// negative.
pub fn parse_money(field: &str, text: &str) -> ValidationResult<i64> {
    let invalid = || {
        Invalid::new(
            field,
            format!("`{text}` is not an amount like 0.15 or 25 (at most six decimals)"),
        )
    };
    let trimmed = text.trim();
    let (whole, fraction) = trimmed.split_once(['.', ',']).unwrap_or((trimmed, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || fraction.len() > 6
        || !digits(whole)
        || !digits(fraction)
    {
        return Err(invalid());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let fraction: i64 = format!("{fraction:0<6}").parse().map_err(|_| invalid())?;
    whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(invalid)
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
    /// How long a call to an `openai` provider may wait on it.
    pub limits: CallLimits,
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

/// How long a call waits on an OpenAI-compatible provider, in seconds. A
/// hanging upstream must not hold a call (and its budget reservation) for
/// minutes: the deadline bounds the whole call, retries included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallLimits {
    /// Until the connection stands.
    pub connect_timeout_secs: u32,
    /// Until the upstream's answer begins (its response headers).
    pub first_byte_timeout_secs: u32,
    /// Between two pieces of a streamed answer.
    pub idle_timeout_secs: u32,
    /// The whole call, every retry included.
    pub deadline_secs: u32,
}

impl Default for CallLimits {
    /// Ends a call to an upstream that never answers in 45 s, a stalled
    /// stream 20 s after its last piece.
    fn default() -> Self {
        Self {
            connect_timeout_secs: 5,
            first_byte_timeout_secs: 20,
            idle_timeout_secs: 20,
            deadline_secs: 45,
        }
    }
}

impl CallLimits {
    /// The longest any limit may be: a call that takes longer than ten
    /// minutes holds its budget reservation too long.
    pub const MAX_SECS: u32 = 600;

    /// Each limit between 1 s and [`Self::MAX_SECS`]. Each holds on its own:
    /// a first-byte or idle limit longer than the deadline is allowed and
    /// simply never reached, since the deadline ends the call first; so a
    /// shorter deadline can be set alone.
    pub fn checked(self) -> ValidationResult<Self> {
        for (field, secs) in [
            ("connect_timeout_secs", self.connect_timeout_secs),
            ("first_byte_timeout_secs", self.first_byte_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("deadline_secs", self.deadline_secs),
        ] {
            if !(1..=Self::MAX_SECS).contains(&secs) {
                return Err(Invalid::new(
                    field,
                    format!("must be between 1 and {} seconds", Self::MAX_SECS),
                ));
            }
        }
        Ok(self)
    }
}

/// A change to a provider's limits; `None` leaves a limit as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LimitsPatch {
    pub connect_timeout_secs: Option<u32>,
    pub first_byte_timeout_secs: Option<u32>,
    pub idle_timeout_secs: Option<u32>,
    pub deadline_secs: Option<u32>,
}

impl LimitsPatch {
    /// `limits` with the patch applied, checked.
    pub fn applied_to(self, limits: CallLimits) -> ValidationResult<CallLimits> {
        CallLimits {
            connect_timeout_secs: self
                .connect_timeout_secs
                .unwrap_or(limits.connect_timeout_secs),
            first_byte_timeout_secs: self
                .first_byte_timeout_secs
                .unwrap_or(limits.first_byte_timeout_secs),
            idle_timeout_secs: self.idle_timeout_secs.unwrap_or(limits.idle_timeout_secs),
            deadline_secs: self.deadline_secs.unwrap_or(limits.deadline_secs),
        }
        .checked()
    }
}

/// Checks how a provider is reached: an `openai` provider needs an http(s)
/// base URL; the `embedded` one takes no URL and no key; a key read from the
/// environment names a variable.
pub fn check_provider(
    kind: ProviderKind,
    base_url: Option<&str>,
    has_key: bool,
    api_key_env: Option<&str>,
) -> ValidationResult<()> {
    match kind {
        ProviderKind::Openai => {
            let url = base_url.unwrap_or_default();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Invalid::new(
                    "base_url",
                    "an openai provider needs a base_url starting with http:// or https://",
                ));
            }
        }
        ProviderKind::Embedded => {
            if base_url.is_some() || has_key || api_key_env.is_some() {
                return Err(Invalid::new(
                    "base_url",
                    "the embedded provider takes no base_url and no key",
                ));
            }
        }
    }
    if let Some(env) = api_key_env
        && (env.is_empty() || !env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(Invalid::new(
            "api_key_env",
            "must be the name of an environment variable (letters, digits, _)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_parses_without_floats_with_a_decimal_point_or_comma() {
        let ok = |text| parse_money("x", text);
        assert_eq!(ok("0.15"), Ok(150_000));
        assert_eq!(ok("0,15"), Ok(150_000));
        assert_eq!(ok(" 25 "), Ok(25_000_000));
        assert_eq!(ok("3.000001"), Ok(3_000_001));
        assert_eq!(ok(".5"), Ok(500_000));
        for bad in [
            "",
            ".",
            "-1",
            "+1",
            "1.+5",
            "1.2345678",
            "abc",
            "1.x",
            "1.5.5",
            "1 000",
        ] {
            assert!(
                parse_money("x", bad).is_err_and(|e| e.field == "x"),
                "{bad}"
            );
        }
        assert_eq!(format_money(150_000), "0.150000");
    }

    proptest! {
        #[test]
        fn money_reads_back_what_it_writes(micros in 0_i64..=i64::MAX / 2) {
            prop_assert_eq!(parse_money("x", &format_money(micros)), Ok(micros));
        }
    }

    const EURO_CENT_PER_MILLION: i64 = 10_000;

    #[test]
    fn a_provider_is_reached_by_url_or_runs_here_without_one() {
        let openai = |url, env| check_provider(ProviderKind::Openai, url, false, env);
        assert!(openai(Some("https://api.example/v1"), Some("VLLM_KEY")).is_ok());
        assert!(openai(None, None).is_err_and(|e| e.field == "base_url"));
        assert!(openai(Some("ftp://x"), None).is_err_and(|e| e.field == "base_url"));
        assert!(
            openai(Some("http://x"), Some("NOT-A-VAR")).is_err_and(|e| e.field == "api_key_env")
        );
        assert!(openai(Some("http://x"), Some("")).is_err_and(|e| e.field == "api_key_env"));
        assert!(check_provider(ProviderKind::Embedded, None, false, None).is_ok());
        assert!(check_provider(ProviderKind::Embedded, None, true, None).is_err());
        assert!(check_provider(ProviderKind::Embedded, Some("http://x"), false, None).is_err());
    }

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

    #[test]
    fn call_limits_end_a_hanging_call_well_under_a_minute_each_in_its_range() {
        let defaults = CallLimits::default();
        assert_eq!(defaults.checked(), Ok(defaults));
        assert!(defaults.deadline_secs < 60);
        let patch = |p: LimitsPatch| p.applied_to(defaults).map_err(|e| e.field);
        assert_eq!(
            patch(LimitsPatch {
                deadline_secs: Some(10),
                ..LimitsPatch::default()
            })
            .map(|l| (l.first_byte_timeout_secs, l.deadline_secs)),
            Ok((20, 10)),
            "a shorter deadline alone: it bounds the first byte's wait"
        );
        assert_eq!(
            patch(LimitsPatch {
                idle_timeout_secs: Some(0),
                ..LimitsPatch::default()
            }),
            Err("idle_timeout_secs".into())
        );
        assert_eq!(
            patch(LimitsPatch {
                connect_timeout_secs: Some(CallLimits::MAX_SECS + 1),
                ..LimitsPatch::default()
            }),
            Err("connect_timeout_secs".into())
        );
        let tight = patch(LimitsPatch {
            first_byte_timeout_secs: Some(2),
            idle_timeout_secs: Some(2),
            deadline_secs: Some(3),
            connect_timeout_secs: Some(1),
        });
        assert_eq!(tight.map(|l| l.deadline_secs), Ok(3));
    }
}
