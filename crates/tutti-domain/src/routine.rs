//! Routines: planned, recurring work — the yearly maintenance under a
//! contract, the weekly report an AI worker drafts for the lead — on a
//! schedule read in the org's own time zone.
//!
//! A schedule falls on local dates (every N days; every N weeks on given
//! weekdays; every N months on given days of the month) at a local time.
//! The instant of an occurrence is that local time in the zone on that
//! date: a routine at 07:00 stays at 07:00 across daylight saving. A local
//! time that does not exist (02:30 on the spring-forward night) moves on by
//! the gap and still happens once; one that happens twice (the fall-back
//! night) happens at the first. A month without the given day (the 31st in
//! April) has no occurrence on it, as in RFC 5545.
//!
//! After downtime the occurrences missed are caught up as the routine says:
//! all of them, only the latest, or none — the others are recorded as
//! skipped, never created twice.

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
pub use chrono_tz::{Tz, UTC};
use serde::{Deserialize, Serialize};

use uuid::Uuid;

use crate::service::ServiceKind;
use crate::text_enum;
use crate::validate::{BODY_MAX, Invalid, TITLE_MAX, ValidationResult, optional_text, text};
use crate::work::Priority;

/// The most occurrences one call lists: a daily routine's three years.
pub const OCCURRENCES_MAX: usize = 1100;

pub use crate::zone::{parse_time_zone, stored_zone};

text_enum! {
    /// How often a routine falls due.
    Cadence { Daily => "daily", Weekly => "weekly", Monthly => "monthly" }
}

text_enum! {
    /// What a routine does with the occurrences it missed while nothing ran.
    CatchUp { All => "all", Latest => "latest", Skip => "none" }
}

/// When a routine falls due, in local terms: on a cadence, or by an RFC 5545
/// recurrence rule (`FREQ=MONTHLY;BYDAY=1MO`) for what a cadence cannot say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    /// Daily, weekly or monthly; absent when `rule` says when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cadence: Option<Cadence>,
    /// Every `every` days, weeks or months, counted from `starts`.
    #[serde(default = "one")]
    pub every: u32,
    /// Weekdays (1 = Monday … 7 = Sunday) for a weekly routine, days of the
    /// month (1–31) for a monthly one; none for a daily one.
    #[serde(default)]
    pub days: Vec<u32>,
    /// An RFC 5545 `RRULE` value (`FREQ=…;…`) read from `starts` at `at`,
    /// instead of a cadence. Its time is `at`: no `BYHOUR`, `BYMINUTE` or
    /// `BYSECOND`, and nothing more often than daily.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The local time it falls due at.
    #[cfg_attr(
        feature = "openapi",
        schema(
            value_type = String,
            example = "07:00",
            pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
        )
    )]
    pub at: NaiveTime,
    /// The first local date it may fall on.
    pub starts: NaiveDate,
    /// The last local date it may fall on.
    #[serde(default)]
    pub ends: Option<NaiveDate>,
}

fn one() -> u32 {
    1
}

impl Schedule {
    /// The schedule, checked: a cadence or a rule (not both); for a cadence
    /// an interval of 1–366 and the days it takes (at least one, none twice,
    /// in range); for a rule, one RFC 5545 accepts that falls due at most
    /// daily at `at`; an end not before the start.
    pub fn checked(mut self) -> ValidationResult<Self> {
        if self.ends.is_some_and(|end| end < self.starts) {
            return Err(Invalid::new("ends", "must not be before the start"));
        }
        let cadence = match (self.cadence, &self.rule) {
            (Some(_), Some(_)) => {
                return Err(Invalid::new(
                    "rule",
                    "give a cadence or a recurrence rule, not both",
                ));
            }
            (None, None) => {
                return Err(Invalid::new(
                    "cadence",
                    "say how often: daily, weekly or monthly, or give a recurrence rule",
                ));
            }
            (None, Some(rule)) => {
                if self.every != 1 || !self.days.is_empty() {
                    return Err(Invalid::new(
                        "rule",
                        "a recurrence rule says its own interval and days; leave every and days out",
                    ));
                }
                let rule = rule.trim();
                let rule = rule.strip_prefix("RRULE:").unwrap_or(rule).to_owned();
                recurrence(&rule, self.starts, self.at)?;
                self.rule = Some(rule);
                return Ok(self);
            }
            (Some(cadence), None) => cadence,
        };
        if !(1..=366).contains(&self.every) {
            return Err(Invalid::new("every", "must be between 1 and 366"));
        }
        let (range, unit) = match cadence {
            Cadence::Daily if self.days.is_empty() => (None, ""),
            Cadence::Daily => {
                return Err(Invalid::new("days", "a daily routine names no days"));
            }
            Cadence::Weekly => (Some(1..=7), "week"),
            Cadence::Monthly => (Some(1..=31), "month"),
        };
        if let Some(range) = range {
            if self.days.is_empty() {
                return Err(Invalid::new(
                    "days",
                    format!("a {cadence} routine names the days it falls on"),
                ));
            }
            if let Some(day) = self.days.iter().find(|d| !range.contains(*d)) {
                return Err(Invalid::new(
                    "days",
                    format!(
                        "{day} is not a day of a {unit}; use {}–{}",
                        range.start(),
                        range.end()
                    ),
                ));
            }
            self.days.sort_unstable();
            if self.days.windows(2).any(|w| w[0] == w[1]) {
                return Err(Invalid::new("days", "a day is named twice"));
            }
        }
        Ok(self)
    }

    /// Whether it falls on local date `day`.
    pub fn falls_on(&self, day: NaiveDate) -> bool {
        day >= self.starts
            && self.ends.is_none_or(|end| day <= end)
            && self.local_days(day, day).contains(&day)
    }

    /// Its recurrence as an RFC 5545 rule: the rule it was given, or its
    /// cadence said as one (weeks start on Monday, as the cadence counts
    /// them from the week of `starts`).
    pub fn rule_text(&self) -> String {
        if let Some(rule) = &self.rule {
            return rule.clone();
        }
        let every = self.every.max(1);
        let listed = |names: &dyn Fn(u32) -> String| {
            self.days
                .iter()
                .map(|d| names(*d))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self.cadence.unwrap_or(Cadence::Daily) {
            Cadence::Daily => format!("FREQ=DAILY;INTERVAL={every}"),
            Cadence::Weekly => {
                const NAMES: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
                let byday = listed(&|d| {
                    NAMES
                        .get(d.wrapping_sub(1) as usize)
                        .copied()
                        .unwrap_or("?")
                        .to_owned()
                });
                format!("FREQ=WEEKLY;INTERVAL={every};WKST=MO;BYDAY={byday}")
            }
            Cadence::Monthly => format!(
                "FREQ=MONTHLY;INTERVAL={every};BYMONTHDAY={}",
                listed(&|d| d.to_string())
            ),
        }
    }

    /// The instant it falls due on local date `day` in `tz`.
    pub fn instant_on(&self, day: NaiveDate, tz: Tz) -> DateTime<Utc> {
        local_instant(day.and_time(self.at), tz)
    }

    /// Its occurrences after `after`, up to and including `until`, in `tz`,
    /// strictly increasing, at most [`OCCURRENCES_MAX`].
    pub fn occurrences(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let mut found = Vec::new();
        if until <= after {
            return found;
        }
        // Local dates a day either side: an instant's local date depends on
        // the zone's offset.
        let first = after
            .with_timezone(&tz)
            .date_naive()
            .pred_opt()
            .unwrap_or(NaiveDate::MIN);
        let last = until
            .with_timezone(&tz)
            .date_naive()
            .succ_opt()
            .unwrap_or(NaiveDate::MAX);
        let days = self.local_days(first.max(self.starts), last);
        for day in days {
            let at = self.instant_on(day, tz);
            if at > after && at <= until {
                found.push(at);
                if found.len() == OCCURRENCES_MAX {
                    break;
                }
            }
        }
        found
    }

    /// The local dates from `first` to `last` it falls on, as the rrule
    /// crate reads its RFC 5545 rule from `starts` at `at` (the wall clock,
    /// before any zone); none for a schedule that is not checked.
    fn local_days(&self, first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
        let Ok(set) = recurrence(&self.rule_text(), self.starts, self.at) else {
            return Vec::new();
        };
        let wall =
            |day: NaiveDate, time: NaiveTime| rrule::Tz::UTC.from_utc_datetime(&day.and_time(time));
        let last = self.ends.map_or(last, |end| last.min(end));
        set.after(wall(first, NaiveTime::MIN))
            .before(wall(last, self.at))
            .all(u16::try_from(OCCURRENCES_MAX + 2).unwrap_or(u16::MAX))
            .dates
            .into_iter()
            .map(|at| at.date_naive())
            .collect()
    }

    /// Its next occurrence after `after`, looking at most about four years on.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.occurrences(tz, after, after + Duration::days(4 * 366 + 2))
            .into_iter()
            .next()
    }
}

/// The days a person names for a schedule, comma- or space-separated:
/// weekdays by their English or German two-letter name (`Mo, Do`, `tu`) or
/// number (1 = Monday) for a weekly routine, days of the month (1–31) for a
/// monthly one. Ranges are checked by [`Schedule::checked`].
pub fn parse_days(cadence: Cadence, text: &str) -> ValidationResult<Vec<u32>> {
    const WEEKDAYS: [[&str; 2]; 7] = [
        ["mo", "mo"],
        ["tu", "di"],
        ["we", "mi"],
        ["th", "do"],
        ["fr", "fr"],
        ["sa", "sa"],
        ["su", "so"],
    ];
    text.split([',', ' ', ';'])
        .map(str::trim)
        .filter(|day| !day.is_empty())
        .map(|day| {
            if let Ok(number) = day.parse::<u32>() {
                return Ok(number);
            }
            let short: String = day.to_lowercase().chars().take(2).collect();
            WEEKDAYS
                .iter()
                .position(|names| cadence == Cadence::Weekly && names.contains(&short.as_str()))
                .and_then(|index| u32::try_from(index + 1).ok())
                .ok_or_else(|| {
                    Invalid::new(
                        "days",
                        format!("`{day}` is no weekday (Mo, Tu/Di, … or 1–7) or day of the month"),
                    )
                })
        })
        .collect()
}

/// An RFC 5545 rule read on the wall clock from `starts` at `at`, or a
/// refusal naming `rule` with what is wrong. The rrule crate reads it; the
/// zone is applied afterwards by [`local_instant`], so daylight saving is
/// handled in one place for cadences and rules alike.
fn recurrence(rule: &str, starts: NaiveDate, at: NaiveTime) -> ValidationResult<rrule::RRuleSet> {
    let bad = |message: String| Invalid::new("rule", message);
    let parsed: rrule::RRule<rrule::Unvalidated> = rule
        .parse()
        .map_err(|e: rrule::RRuleError| bad(format!("`{rule}` is no RFC 5545 rule: {e}")))?;
    if matches!(
        parsed.get_freq(),
        rrule::Frequency::Hourly | rrule::Frequency::Minutely | rrule::Frequency::Secondly
    ) {
        return Err(bad(
            "a routine falls due at most once a day: use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY"
                .into(),
        ));
    }
    if !parsed.get_by_hour().is_empty()
        || !parsed.get_by_minute().is_empty()
        || !parsed.get_by_second().is_empty()
    {
        return Err(bad(
            "the time of day is `at`: leave BYHOUR, BYMINUTE and BYSECOND out".into(),
        ));
    }
    let start = rrule::Tz::UTC.from_utc_datetime(&starts.and_time(at));
    parsed
        .build(start)
        .map_err(|e| bad(format!("`{rule}` cannot be used: {e}")))
}

/// The instant a local date-time names in `tz`: in a spring-forward gap the
/// time moves on by the gap, in a fall-back fold it is the first.
pub fn local_instant(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // The offset in force before the gap, read a day earlier: the
            // wall clock is read with it, so 02:30 in a 02:00 → 03:00 gap
            // is 03:30.
            let before = local - Duration::days(1);
            let offset = match tz.from_local_datetime(&before) {
                LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.offset().fix(),
                LocalResult::None => Utc.fix(),
            };
            (local - Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc()
        }
    }
}

/// What catching up after downtime does with the occurrences missed
/// (oldest first): which to create now, and which to record as skipped.
pub fn catch_up(
    missed: &[DateTime<Utc>],
    choice: CatchUp,
) -> (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) {
    match choice {
        CatchUp::All => (missed.to_vec(), Vec::new()),
        CatchUp::Latest => match missed.split_last() {
            Some((latest, earlier)) => (vec![*latest], earlier.to_vec()),
            None => (Vec::new(), Vec::new()),
        },
        CatchUp::Skip => (Vec::new(), missed.to_vec()),
    }
}

text_enum! {
    /// What became of one occurrence.
    OccurrenceOutcome { Created => "created", Skipped => "skipped" }
}

text_enum! {
    /// Why an occurrence made no work.
    SkipReason {
        /// It fell due while nothing ran, and the routine catches up none.
        Missed => "missed",
        /// It fell due while nothing ran, and a later one was made instead.
        Superseded => "superseded",
        /// The routine's owner may no longer create this work.
        Refused => "refused"
    }
}

/// How late an occurrence may be made and still count as on time: a
/// restart or a slow tick is not downtime. Older ones were missed and are
/// caught up as the routine says.
pub const ON_TIME: Duration = Duration::hours(1);

/// Planned, recurring work: what to create each time the schedule falls
/// due, in whose hands, and how to catch up after downtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Routine {
    pub id: Uuid,
    /// The title of the work it makes.
    pub name: String,
    pub description: String,
    /// Whom it serves, for planned service under a contract
    /// ("Familie Hoffmann"); empty when it serves the team itself.
    pub customer: String,
    pub schedule: Schedule,
    /// The IANA zone its schedule is read in; `None` for the org's.
    pub time_zone: Option<String>,
    pub catch_up: CatchUp,
    pub team_id: Option<Uuid>,
    /// A person or an AI worker; an AI worker's work goes to its queue.
    pub assignee_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    /// The preventive service product it delivers.
    pub service_product_id: Option<Uuid>,
    pub priority: Priority,
    pub paused: bool,
    /// Whose rights its work is created with.
    pub owner_id: Uuid,
    /// Every occurrence up to here is recorded, made or skipped.
    pub handled_until: DateTime<Utc>,
    /// Its next occurrence; `None` when paused or past its end.
    pub next_due: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One time a routine fell due, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Occurrence {
    pub routine_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub outcome: OccurrenceOutcome,
    /// Why it made nothing; `None` when it made its work.
    pub reason: Option<SkipReason>,
    /// The refusal's words, for `refused`; empty otherwise.
    pub detail: String,
    pub work_item_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}

/// What one firing does: the occurrences to make work for, those to record
/// as skipped, and where the routine then stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub create: Vec<DateTime<Utc>>,
    pub skip: Vec<(DateTime<Utc>, SkipReason, String)>,
    pub handled_until: DateTime<Utc>,
    pub next_due: Option<DateTime<Utc>>,
}

/// A routine's texts, checked: a name, an optional description and customer.
pub fn checked_texts(
    name: &str,
    description: &str,
    customer: &str,
) -> ValidationResult<(String, String, String)> {
    Ok((
        text("name", name, TITLE_MAX)?,
        optional_text("description", description, BODY_MAX)?,
        optional_text("customer", customer, TITLE_MAX)?,
    ))
}

/// A routine makes planned work, so it may deliver a preventive service
/// product, never a reactive one (a breakdown is not planned).
pub fn may_deliver(kind: ServiceKind, product: &str) -> ValidationResult<()> {
    match kind {
        ServiceKind::Preventive => Ok(()),
        ServiceKind::Reactive => Err(Invalid::new(
            "service_product_id",
            format!(
                "{product} is reactive service; a routine plans work, so it delivers preventive products"
            ),
        )),
    }
}

/// Whether `actor` may own a routine that makes work for `team_id` and
/// `assignee_id`: a person with the right to create that work (members for
/// themselves, leads for their teams). An AI worker does not plan
/// recurring work; a person does, and its work reaches the AI worker.
pub fn may_plan(
    actor: &crate::access::Actor,
    team_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
) -> crate::RuleResult<()> {
    if actor.kind == crate::org::MemberKind::Ai {
        return Err(crate::refused::Denied(
            "an AI worker does not plan recurring work; a person makes the routine".into(),
        )
        .into());
    }
    actor.may(crate::access::Action::CreateWork {
        team_id,
        assignee_id,
    })?;
    Ok(())
}

impl Routine {
    /// The zone its schedule is read in: its own, else the org's.
    pub fn zone(&self, org_zone: Tz) -> Tz {
        self.time_zone.as_deref().map_or(org_zone, stored_zone)
    }

    /// A new schedule or zone starts from `now`: what it would have made
    /// before is not made after the fact.
    pub fn start_from(&mut self, now: DateTime<Utc>) {
        self.handled_until = self.handled_until.max(now);
    }

    /// Where it stands after a pause or resume at `now`: paused, it has no
    /// next occurrence; resumed, the time it was paused is not caught up.
    pub fn set_paused(&mut self, paused: bool, tz: Tz, now: DateTime<Utc>) {
        if self.paused != paused {
            self.paused = paused;
            if !paused {
                self.start_from(now);
            }
        }
        self.next_due = if self.paused {
            None
        } else {
            self.schedule.next_after(tz, self.handled_until)
        };
    }

    /// Why its owner (`owner`: their rights now, `None` once they are gone)
    /// may not create its work any more; `None` while they may.
    pub fn refusal(&self, owner: Option<&crate::access::Actor>) -> Option<String> {
        match owner {
            None => Some("its owner is no longer a member".to_owned()),
            Some(actor) => actor
                .may(crate::access::Action::CreateWork {
                    team_id: self.team_id,
                    assignee_id: self.assignee_id,
                })
                .err()
                .map(|denied| denied.to_string()),
        }
    }

    /// What firing it at `now` does: every occurrence since
    /// `handled_until` is made or skipped, once. Those less than
    /// [`ON_TIME`] late are made; older ones were missed and are caught up
    /// as the routine says. An owner who may no longer create the work
    /// (`owner`: their rights now, `None` once they are gone) gets nothing
    /// made: every occurrence is skipped, with the reason.
    pub fn fire(&self, tz: Tz, now: DateTime<Utc>, owner: Option<&crate::access::Actor>) -> Firing {
        let due = if self.paused {
            Vec::new()
        } else {
            self.schedule.occurrences(tz, self.handled_until, now)
        };
        // A long outage lists at most OCCURRENCES_MAX at once: the rest
        // follow on the next firing.
        let handled_until = if due.len() == OCCURRENCES_MAX {
            due.last().copied().unwrap_or(now)
        } else {
            now.max(self.handled_until)
        };
        let next_due = if self.paused {
            None
        } else {
            self.schedule.next_after(tz, handled_until)
        };
        if let Some(why) = self.refusal(owner) {
            return Firing {
                create: Vec::new(),
                skip: due
                    .into_iter()
                    .map(|at| (at, SkipReason::Refused, why.clone()))
                    .collect(),
                handled_until,
                next_due,
            };
        }
        let (missed, on_time): (Vec<_>, Vec<_>) =
            due.into_iter().partition(|at| now - *at > ON_TIME);
        let (mut create, skipped) = match (self.catch_up, on_time.is_empty()) {
            (CatchUp::Latest, false) => (Vec::new(), missed),
            _ => catch_up(&missed, self.catch_up),
        };
        let reason = if self.catch_up == CatchUp::Skip {
            SkipReason::Missed
        } else {
            SkipReason::Superseded
        };
        create.extend(on_time);
        Firing {
            create,
            skip: skipped
                .into_iter()
                .map(|at| (at, reason, String::new()))
                .collect(),
            handled_until,
            next_due,
        }
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;

    fn berlin() -> Tz {
        parse_time_zone("time_zone", "Europe/Berlin").unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn daily_at(h: u32, m: u32) -> Schedule {
        Schedule {
            cadence: Some(Cadence::Daily),
            rule: None,
            every: 1,
            days: vec![],
            at: NaiveTime::from_hms_opt(h, m, 0).unwrap(),
            starts: day(2026, 1, 1),
            ends: None,
        }
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn a_time_zone_is_named_as_iana_names_it() {
        assert!(parse_time_zone("time_zone", "Europe/Berlin").is_ok());
        assert!(parse_time_zone("time_zone", "MEZ").is_err_and(|e| e.field == "time_zone"));
    }

    #[test]
    fn seven_in_the_morning_stays_seven_across_daylight_saving() {
        let at = daily_at(7, 0);
        // Berlin switches on 29 March and 25 October 2026.
        assert_eq!(
            at.instant_on(day(2026, 3, 28), berlin()),
            utc(2026, 3, 28, 6, 0)
        );
        assert_eq!(
            at.instant_on(day(2026, 3, 29), berlin()),
            utc(2026, 3, 29, 5, 0)
        );
        assert_eq!(
            at.instant_on(day(2026, 10, 25), berlin()),
            utc(2026, 10, 25, 6, 0)
        );
    }

    #[test]
    fn half_past_two_on_the_spring_forward_night_runs_once_an_hour_on() {
        let at = daily_at(2, 30);
        let night = at.occurrences(berlin(), utc(2026, 3, 28, 12, 0), utc(2026, 3, 30, 0, 0));
        assert_eq!(night, vec![utc(2026, 3, 29, 1, 30)], "03:30 CEST");
        // And on the fall-back night, 02:30 comes twice: it runs at the first.
        let fold = at.occurrences(berlin(), utc(2026, 10, 24, 12, 0), utc(2026, 10, 26, 0, 0));
        assert_eq!(fold, vec![utc(2026, 10, 25, 0, 30)], "02:30 CEST");
    }

    #[test]
    fn weekly_and_monthly_fall_on_their_days_and_a_short_month_has_no_31st() {
        let weekly = Schedule {
            cadence: Some(Cadence::Weekly),
            every: 2,
            days: vec![1, 4],
            ..daily_at(8, 0)
        }
        .checked()
        .unwrap();
        // 1 January 2026 is a Thursday; the routine's weeks are every other.
        assert!(weekly.falls_on(day(2026, 1, 1)));
        assert!(!weekly.falls_on(day(2026, 1, 5)), "the week in between");
        assert!(weekly.falls_on(day(2026, 1, 12)));
        let monthly = Schedule {
            cadence: Some(Cadence::Monthly),
            days: vec![31],
            ..daily_at(8, 0)
        };
        let year = monthly.occurrences(berlin(), utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
        assert_eq!(
            year.len(),
            7,
            "January, March, May, July, August, October, December"
        );
    }

    #[test]
    fn a_schedule_names_the_days_its_cadence_takes() {
        let bad = |s: Schedule| s.checked().unwrap_err().field;
        assert_eq!(
            bad(Schedule {
                days: vec![1],
                ..daily_at(7, 0)
            }),
            "days"
        );
        assert_eq!(
            bad(Schedule {
                cadence: Some(Cadence::Weekly),
                ..daily_at(7, 0)
            }),
            "days"
        );
        assert_eq!(
            bad(Schedule {
                cadence: Some(Cadence::Weekly),
                days: vec![8],
                ..daily_at(7, 0)
            }),
            "days"
        );
        assert_eq!(
            bad(Schedule {
                cadence: Some(Cadence::Monthly),
                days: vec![3, 3],
                ..daily_at(7, 0)
            }),
            "days"
        );
        assert_eq!(
            bad(Schedule {
                every: 0,
                ..daily_at(7, 0)
            }),
            "every"
        );
        assert_eq!(
            bad(Schedule {
                ends: Some(day(2025, 1, 1)),
                ..daily_at(7, 0)
            }),
            "ends"
        );
    }

    #[test]
    fn catching_up_creates_what_the_routine_chose() {
        let missed = [
            utc(2026, 1, 1, 6, 0),
            utc(2026, 1, 2, 6, 0),
            utc(2026, 1, 3, 6, 0),
        ];
        assert_eq!(catch_up(&missed, CatchUp::All).0.len(), 3);
        assert_eq!(
            catch_up(&missed, CatchUp::Latest),
            (vec![missed[2]], missed[..2].to_vec())
        );
        assert_eq!(catch_up(&missed, CatchUp::Skip), (vec![], missed.to_vec()));
    }

    const ZONES: [&str; 6] = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "America/Santiago",
        "UTC",
    ];

    /// What a cadence means, said by hand: the oracle the rrule crate's
    /// reading of the cadence's rule is held to.
    fn by_hand(s: &Schedule, day: NaiveDate) -> bool {
        if day < s.starts || s.ends.is_some_and(|end| day > end) {
            return false;
        }
        let every = i64::from(s.every.max(1));
        match s.cadence.unwrap() {
            Cadence::Daily => (day - s.starts).num_days() % every == 0,
            Cadence::Weekly => {
                let monday = |d: NaiveDate| {
                    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
                };
                let weeks = (monday(day) - monday(s.starts)).num_days() / 7;
                weeks % every == 0 && s.days.contains(&day.weekday().number_from_monday())
            }
            Cadence::Monthly => {
                let months = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
                (months(day) - months(s.starts)) % every == 0 && s.days.contains(&day.day())
            }
        }
    }

    fn routine(schedule: Schedule, catch_up: CatchUp, handled_until: DateTime<Utc>) -> Routine {
        Routine {
            id: Uuid::nil(),
            name: "Wochenbericht".into(),
            description: String::new(),
            customer: String::new(),
            schedule,
            time_zone: None,
            catch_up,
            team_id: None,
            assignee_id: None,
            key_result_id: None,
            service_product_id: None,
            priority: Priority::Normal,
            paused: false,
            owner_id: OWNER,
            handled_until,
            next_due: None,
            created_at: handled_until,
            updated_at: handled_until,
        }
    }

    const OWNER: Uuid = Uuid::from_u128(7);

    fn owner() -> crate::access::Actor {
        crate::access::Actor {
            org_id: Uuid::from_u128(1),
            member_id: OWNER,
            kind: crate::org::MemberKind::Human,
            role: crate::org::Role::Member,
            teams: vec![],
            led_teams: vec![],
        }
    }

    fn with_rule(rule: &str, at: (u32, u32), starts: NaiveDate) -> ValidationResult<Schedule> {
        Schedule {
            cadence: None,
            rule: Some(rule.into()),
            ..daily_at(at.0, at.1)
        }
        .checked()
        .map(|s| Schedule { starts, ..s })
    }

    #[test]
    fn on_time_occurrences_are_made_and_missed_ones_caught_up_as_chosen() {
        // Daily at 07:00 Berlin (06:00 UTC in winter); down from the 3rd
        // 08:00 to the 6th 06:10 UTC: the 4th and 5th were missed, the 6th
        // is on time.
        let (since, now) = (utc(2026, 2, 3, 8, 0), utc(2026, 2, 6, 6, 10));
        let me = owner();
        let fire = |choice| routine(daily_at(7, 0), choice, since).fire(berlin(), now, Some(&me));
        let all = fire(CatchUp::All);
        assert_eq!(
            all.create,
            vec![
                utc(2026, 2, 4, 6, 0),
                utc(2026, 2, 5, 6, 0),
                utc(2026, 2, 6, 6, 0)
            ]
        );
        assert!(all.skip.is_empty());
        assert_eq!(all.handled_until, now);
        assert_eq!(all.next_due, Some(utc(2026, 2, 7, 6, 0)));
        let latest = fire(CatchUp::Latest);
        assert_eq!(latest.create, vec![utc(2026, 2, 6, 6, 0)]);
        assert_eq!(
            latest
                .skip
                .iter()
                .map(|(at, why, _)| (*at, *why))
                .collect::<Vec<_>>(),
            vec![
                (utc(2026, 2, 4, 6, 0), SkipReason::Superseded),
                (utc(2026, 2, 5, 6, 0), SkipReason::Superseded)
            ]
        );
        let none = fire(CatchUp::Skip);
        assert_eq!(none.create, vec![utc(2026, 2, 6, 6, 0)]);
        assert!(
            none.skip
                .iter()
                .all(|(_, why, _)| *why == SkipReason::Missed)
        );
        assert_eq!(none.skip.len(), 2);
        // Latest with nothing on time makes the latest missed one.
        let later = routine(daily_at(7, 0), CatchUp::Latest, since).fire(
            berlin(),
            utc(2026, 2, 6, 5, 0),
            Some(&me),
        );
        assert_eq!(later.create, vec![utc(2026, 2, 5, 6, 0)]);
    }

    #[test]
    fn an_owner_without_the_right_gets_every_occurrence_skipped_with_the_reason() {
        let mut r = routine(daily_at(7, 0), CatchUp::All, utc(2026, 2, 3, 8, 0));
        r.assignee_id = Some(Uuid::from_u128(99));
        let firing = r.fire(berlin(), utc(2026, 2, 4, 6, 5), Some(&owner()));
        assert!(firing.create.is_empty());
        assert_eq!(firing.skip.len(), 1);
        assert_eq!(firing.skip[0].1, SkipReason::Refused);
        assert!(
            firing.skip[0].2.contains("themselves"),
            "{}",
            firing.skip[0].2
        );
        let gone = r.fire(berlin(), utc(2026, 2, 4, 6, 5), None);
        assert!(gone.skip[0].2.contains("no longer a member"));
    }

    #[test]
    fn a_paused_routine_makes_nothing_and_does_not_catch_up_its_pause() {
        let mut r = routine(daily_at(7, 0), CatchUp::All, utc(2026, 2, 3, 8, 0));
        r.set_paused(true, berlin(), utc(2026, 2, 3, 9, 0));
        assert_eq!(r.next_due, None);
        let firing = r.fire(berlin(), utc(2026, 2, 10, 6, 5), Some(&owner()));
        assert!(firing.create.is_empty() && firing.skip.is_empty());
        r.set_paused(false, berlin(), utc(2026, 2, 10, 6, 30));
        assert_eq!(r.handled_until, utc(2026, 2, 10, 6, 30));
        assert_eq!(r.next_due, Some(utc(2026, 2, 11, 6, 0)));
        assert!(
            r.fire(berlin(), utc(2026, 2, 10, 7, 0), Some(&owner()))
                .create
                .is_empty()
        );
    }

    #[test]
    fn days_are_named_in_english_german_or_by_number() {
        assert_eq!(parse_days(Cadence::Weekly, "Mo, Do").unwrap(), vec![1, 4]);
        assert_eq!(
            parse_days(Cadence::Weekly, "tue;sunday 6").unwrap(),
            vec![2, 7, 6]
        );
        assert_eq!(parse_days(Cadence::Monthly, "1, 15").unwrap(), vec![1, 15]);
        assert_eq!(
            parse_days(Cadence::Monthly, "Mo").unwrap_err().field,
            "days"
        );
        assert!(
            parse_days(Cadence::Weekly, "Xtag")
                .unwrap_err()
                .message
                .contains("Xtag")
        );
    }

    #[test]
    fn a_person_plans_and_an_ai_worker_does_not() {
        let me = owner();
        assert!(may_plan(&me, None, Some(OWNER)).is_ok());
        assert!(may_plan(&me, None, Some(Uuid::from_u128(99))).is_err());
        let ai = crate::access::Actor {
            kind: crate::org::MemberKind::Ai,
            ..owner()
        };
        let refused = may_plan(&ai, None, Some(OWNER)).unwrap_err();
        assert!(refused.to_string().contains("AI worker"), "{refused}");
    }

    #[test]
    fn a_new_schedule_makes_nothing_for_the_time_before() {
        let mut r = routine(daily_at(7, 0), CatchUp::All, utc(2026, 2, 1, 8, 0));
        r.start_from(utc(2026, 2, 10, 8, 0));
        let firing = r.fire(berlin(), utc(2026, 2, 10, 8, 5), Some(&owner()));
        assert!(
            firing.create.is_empty() && firing.skip.is_empty(),
            "{firing:?}"
        );
        r.start_from(utc(2026, 2, 1, 0, 0));
        assert_eq!(r.handled_until, utc(2026, 2, 10, 8, 0), "never moves back");
    }

    #[test]
    fn a_zone_kept_under_a_name_no_longer_known_reads_as_utc() {
        assert_eq!(stored_zone("Europe/Berlin"), berlin());
        assert_eq!(stored_zone("Mars/Olympus"), UTC);
    }

    #[test]
    fn a_reactive_product_cannot_be_planned() {
        assert!(may_deliver(ServiceKind::Preventive, "Wartungsvertrag").is_ok());
        let refused = may_deliver(ServiceKind::Reactive, "Notdienst").unwrap_err();
        assert_eq!(refused.field, "service_product_id");
        assert!(refused.message.contains("Notdienst"));
    }

    #[test]
    fn a_recurrence_rule_says_what_a_cadence_cannot() {
        // The first Monday of each month, at 07:00 Berlin.
        let first_monday = with_rule("FREQ=MONTHLY;BYDAY=1MO", (7, 0), day(2026, 1, 1)).unwrap();
        let found =
            first_monday.occurrences(berlin(), utc(2026, 1, 1, 0, 0), utc(2026, 5, 1, 0, 0));
        assert_eq!(
            found,
            vec![
                utc(2026, 1, 5, 6, 0),
                utc(2026, 2, 2, 6, 0),
                utc(2026, 3, 2, 6, 0),
                utc(2026, 4, 6, 5, 0)
            ]
        );
        assert!(first_monday.falls_on(day(2026, 2, 2)));
        assert!(!first_monday.falls_on(day(2026, 2, 9)));
        // Yearly maintenance on the contract's day, from an `RRULE:` line.
        let yearly = with_rule("RRULE:FREQ=YEARLY", (9, 0), day(2026, 3, 17)).unwrap();
        assert_eq!(yearly.rule.as_deref(), Some("FREQ=YEARLY"));
        assert_eq!(
            yearly.occurrences(berlin(), utc(2026, 1, 1, 0, 0), utc(2028, 12, 31, 0, 0)),
            vec![
                utc(2026, 3, 17, 8, 0),
                utc(2027, 3, 17, 8, 0),
                utc(2028, 3, 17, 8, 0)
            ]
        );
        // 02:30 on the spring-forward night happens once, at 03:30 CEST.
        let nightly = with_rule("FREQ=DAILY", (2, 30), day(2026, 3, 28)).unwrap();
        assert_eq!(
            nightly.occurrences(berlin(), utc(2026, 3, 28, 0, 0), utc(2026, 3, 30, 12, 0)),
            vec![
                utc(2026, 3, 28, 1, 30),
                utc(2026, 3, 29, 1, 30),
                utc(2026, 3, 30, 0, 30)
            ]
        );
        // COUNT ends it.
        let three = with_rule("FREQ=WEEKLY;COUNT=3", (7, 0), day(2026, 1, 5)).unwrap();
        assert_eq!(
            three
                .occurrences(berlin(), utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0))
                .len(),
            3
        );
    }

    #[test]
    fn a_rule_is_refused_naming_what_is_wrong() {
        let refused = |rule: &str| with_rule(rule, (7, 0), day(2026, 1, 1)).unwrap_err();
        for rule in [
            "FREQ=HOURLY",
            "FREQ=DAILY;BYHOUR=7",
            "every monday",
            "FREQ=WEEKLY;BYDAY=XX",
        ] {
            assert_eq!(refused(rule).field, "rule", "{rule}");
        }
        assert!(refused("FREQ=MINUTELY").message.contains("once a day"));
        let both = Schedule {
            rule: Some("FREQ=DAILY".into()),
            ..daily_at(7, 0)
        }
        .checked()
        .unwrap_err();
        assert_eq!(both.field, "rule");
        let neither = Schedule {
            cadence: None,
            ..daily_at(7, 0)
        }
        .checked()
        .unwrap_err();
        assert_eq!(neither.field, "cadence");
    }

    fn schedule() -> impl Strategy<Value = Schedule> {
        (
            0usize..3,
            1u32..4,
            proptest::collection::btree_set(1u32..32, 1..4),
            0u32..24,
            prop::sample::select(vec![0u32, 15, 30, 59]),
            0i64..400,
        )
            .prop_map(|(cadence, every, days, hour, minute, offset)| {
                let cadence = Cadence::ALL[cadence];
                let days = match cadence {
                    Cadence::Daily => vec![],
                    Cadence::Weekly => {
                        let mut week: Vec<u32> = days.iter().map(|d| (d - 1) % 7 + 1).collect();
                        week.sort_unstable();
                        week.dedup();
                        week
                    }
                    Cadence::Monthly => days.into_iter().collect(),
                };
                Schedule {
                    cadence: Some(cadence),
                    rule: None,
                    every,
                    days,
                    at: NaiveTime::from_hms_opt(hour, minute, 0).unwrap(),
                    starts: day(2025, 1, 1) + Duration::days(offset),
                    ends: None,
                }
            })
    }

    proptest! {
        /// In any zone, over two years with their daylight-saving changes:
        /// occurrences strictly increase, each date the schedule falls on
        /// has exactly one (none lost, none doubled), on that local date;
        /// and cutting the span anywhere loses or doubles nothing — which
        /// is what lets the scheduler fire window after window.
        #[test]
        fn occurrences_are_one_per_date_strictly_increasing_and_cut_anywhere(
            schedule in schedule(),
            zone in 0usize..ZONES.len(),
            cut_hours in 1i64..(2 * 365 * 24),
            cut_on_one in any::<bool>(),
            pick in any::<usize>(),
        ) {
            let tz: Tz = ZONES[zone].parse().unwrap();
            let (from, to) = (utc(2025, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
            let all = schedule.occurrences(tz, from, to);
            prop_assert!(all.windows(2).all(|w| w[0] < w[1]));
            let dates: Vec<NaiveDate> = all.iter().map(|at| at.with_timezone(&tz).date_naive()).collect();
            let mut expected = Vec::new();
            let mut d = day(2025, 1, 2);
            while d < day(2026, 12, 31) {
                if by_hand(&schedule, d) {
                    expected.push(d);
                }
                d = d.succ_opt().unwrap();
            }
            for d in &expected {
                prop_assert_eq!(dates.iter().filter(|x| *x == d).count(), 1, "on {}", d);
            }
            prop_assert!(dates.iter().all(|d| by_hand(&schedule, *d)));
            // Cut at an hour, or exactly at an occurrence (a window's end).
            let cut = match (cut_on_one, all.is_empty()) {
                (true, false) => all[pick % all.len()],
                _ => from + Duration::hours(cut_hours),
            };
            let mut joined = schedule.occurrences(tz, from, cut);
            joined.extend(schedule.occurrences(tz, cut, to));
            prop_assert_eq!(joined, all);
        }

        /// Fired at any ticks (however irregular: a restart, a week down),
        /// every occurrence is handled exactly once — made or skipped,
        /// never both, never twice, none lost — whatever the catch-up.
        #[test]
        fn firing_at_any_ticks_handles_each_occurrence_exactly_once(
            schedule in schedule(),
            zone in 0usize..ZONES.len(),
            gaps in proptest::collection::vec(1i64..(10 * 24 * 60), 1..60),
            choice in 0usize..3,
        ) {
            let tz: Tz = ZONES[zone].parse().unwrap();
            let start = utc(2025, 1, 1, 0, 0);
            let mut r = routine(schedule.clone(), CatchUp::ALL[choice], start);
            let me = owner();
            let mut handled = Vec::new();
            let mut now = start;
            for gap in gaps {
                now += Duration::minutes(gap);
                let firing = r.fire(tz, now, Some(&me));
                handled.extend(firing.create.iter().copied());
                handled.extend(firing.skip.iter().map(|(at, _, _)| *at));
                prop_assert!(firing.next_due.is_none_or(|next| next > firing.handled_until));
                r.handled_until = firing.handled_until;
            }
            handled.sort();
            prop_assert_eq!(handled, schedule.occurrences(tz, start, r.handled_until));
        }

        /// Catching up creates and skips exactly the missed occurrences,
        /// each once: all, only the latest, or none created.
        #[test]
        fn catch_up_splits_the_missed_occurrences_exactly(
            count in 0usize..20,
            choice in 0usize..3,
        ) {
            let missed: Vec<DateTime<Utc>> = (0..count).map(|i| utc(2026, 1, 1, 6, 0) + Duration::days(i as i64)).collect();
            let choice = CatchUp::ALL[choice];
            let (created, skipped) = catch_up(&missed, choice);
            let mut both = created.clone();
            both.extend(&skipped);
            both.sort();
            prop_assert_eq!(&both, &missed);
            let expected = match choice {
                CatchUp::All => count,
                CatchUp::Latest => count.min(1),
                CatchUp::Skip => 0,
            };
            prop_assert_eq!(created.len(), expected);
            if choice == CatchUp::Latest {
                prop_assert_eq!(created.last(), missed.last());
            }
        }
    }
}
