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
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
pub use chrono_tz::{Tz, UTC};
use serde::{Deserialize, Serialize};

use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};

/// The most occurrences one call lists: a daily routine's three years.
pub const OCCURRENCES_MAX: usize = 1100;

/// An IANA time zone by name (`Europe/Berlin`), or a refusal naming `field`.
pub fn parse_time_zone(field: &str, name: &str) -> ValidationResult<Tz> {
    name.trim().parse::<Tz>().map_err(|_| {
        Invalid::new(
            field,
            format!("`{name}` is not an IANA time zone (like Europe/Berlin)"),
        )
    })
}

text_enum! {
    /// How often a routine falls due.
    Cadence { Daily => "daily", Weekly => "weekly", Monthly => "monthly" }
}

text_enum! {
    /// What a routine does with the occurrences it missed while nothing ran.
    CatchUp { All => "all", Latest => "latest", Skip => "none" }
}

/// When a routine falls due, in local terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    pub cadence: Cadence,
    /// Every `every` days, weeks or months, counted from `starts`.
    pub every: u32,
    /// Weekdays (1 = Monday … 7 = Sunday) for a weekly routine, days of the
    /// month (1–31) for a monthly one; none for a daily one.
    #[serde(default)]
    pub days: Vec<u32>,
    /// The local time it falls due at.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "07:00:00"))]
    pub at: NaiveTime,
    /// The first local date it may fall on.
    pub starts: NaiveDate,
    /// The last local date it may fall on.
    #[serde(default)]
    pub ends: Option<NaiveDate>,
}

impl Schedule {
    /// The schedule, checked: an interval of 1–366, the days its cadence
    /// takes (at least one, none twice, in range), an end not before the start.
    pub fn checked(mut self) -> ValidationResult<Self> {
        if !(1..=366).contains(&self.every) {
            return Err(Invalid::new("every", "must be between 1 and 366"));
        }
        let (range, unit) = match self.cadence {
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
                    format!("a {} routine names the days it falls on", self.cadence),
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
        if self.ends.is_some_and(|end| end < self.starts) {
            return Err(Invalid::new("ends", "must not be before the start"));
        }
        Ok(self)
    }

    /// Whether it falls on local date `day`.
    pub fn falls_on(&self, day: NaiveDate) -> bool {
        if day < self.starts || self.ends.is_some_and(|end| day > end) {
            return false;
        }
        let every = i64::from(self.every.max(1));
        match self.cadence {
            Cadence::Daily => (day - self.starts).num_days() % every == 0,
            Cadence::Weekly => {
                let monday = |d: NaiveDate| {
                    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
                };
                let weeks = (monday(day) - monday(self.starts)).num_days() / 7;
                weeks % every == 0 && self.days.contains(&day.weekday().number_from_monday())
            }
            Cadence::Monthly => {
                let months = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
                (months(day) - months(self.starts)) % every == 0 && self.days.contains(&day.day())
            }
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
        let mut day = first.max(self.starts);
        while day <= last && self.ends.is_none_or(|end| day <= end) {
            if self.falls_on(day) {
                let at = self.instant_on(day, tz);
                if at > after && at <= until {
                    found.push(at);
                    if found.len() == OCCURRENCES_MAX {
                        break;
                    }
                }
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        found
    }

    /// Its next occurrence after `after`, looking at most about four years on.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.occurrences(tz, after, after + Duration::days(4 * 366 + 2))
            .into_iter()
            .next()
    }
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

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn berlin() -> Tz {
        parse_time_zone("time_zone", "Europe/Berlin").unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn daily_at(h: u32, m: u32) -> Schedule {
        Schedule {
            cadence: Cadence::Daily,
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
            cadence: Cadence::Weekly,
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
            cadence: Cadence::Monthly,
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
                cadence: Cadence::Weekly,
                ..daily_at(7, 0)
            }),
            "days"
        );
        assert_eq!(
            bad(Schedule {
                cadence: Cadence::Weekly,
                days: vec![8],
                ..daily_at(7, 0)
            }),
            "days"
        );
        assert_eq!(
            bad(Schedule {
                cadence: Cadence::Monthly,
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
                    cadence,
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
                if schedule.falls_on(d) {
                    expected.push(d);
                }
                d = d.succ_opt().unwrap();
            }
            for d in &expected {
                prop_assert_eq!(dates.iter().filter(|x| *x == d).count(), 1, "on {}", d);
            }
            prop_assert!(dates.iter().all(|d| schedule.falls_on(*d)));
            // Cut at an hour, or exactly at an occurrence (a window's end).
            let cut = match (cut_on_one, all.is_empty()) {
                (true, false) => all[pick % all.len()],
                _ => from + Duration::hours(cut_hours),
            };
            let mut joined = schedule.occurrences(tz, from, cut);
            joined.extend(schedule.occurrences(tz, cut, to));
            prop_assert_eq!(joined, all);
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
