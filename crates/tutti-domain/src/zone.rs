//! Time zones as tutti keeps them: IANA names (`Europe/Berlin`) read with
//! the zone database compiled in (`chrono-tz`). An org, a person and a
//! routine each store one; pages, schedules and webhooks read them here.

use chrono_tz::{Tz, UTC};

use crate::validate::{Invalid, ValidationResult};

/// A zone as it is stored (an org's, a person's, a routine's): a name the
/// zone database no longer knows reads as UTC rather than failing a page.
pub fn stored_zone(name: &str) -> Tz {
    name.parse().unwrap_or(UTC)
}

/// An IANA time zone by name (`Europe/Berlin`), or a refusal naming `field`.
pub fn parse_time_zone(field: &str, name: &str) -> ValidationResult<Tz> {
    name.trim().parse::<Tz>().map_err(|_| {
        Invalid::new(
            field,
            format!("`{name}` is not an IANA time zone (like Europe/Berlin)"),
        )
    })
}
