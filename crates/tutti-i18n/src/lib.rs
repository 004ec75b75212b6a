//! tutti in German and English: the Fluent messages of the cockpit and of
//! alert webhooks, and numbers, money and dates written as each language
//! writes them.
//!
//! Messages live in `locales/{de,en}.ftl` and are compiled into the binary.
//! A test checks that both files define the same messages, so no page ever
//! shows a message id. Fluent's own number formatting is not locale-aware, so
//! figures are formatted here and handed to messages as text; plain numbers
//! are passed only where a message picks a plural.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, NaiveDate, Utc};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

pub use fluent_bundle::FluentArgs as Args;

/// A language tutti speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    De,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::De, Locale::En];

    pub fn code(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }

    /// `de` or `en`, also as a region tag (`de-AT`, `en-GB`).
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "de" => Some(Self::De),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header: the offered one
    /// with the highest weight, German when none is offered.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, usize, Locale)> = None;
        for (position, part) in header.split(',').enumerate() {
            let mut pieces = part.split(';');
            let Some(locale) = pieces.next().and_then(Self::parse) else {
                continue;
            };
            let weight = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if weight <= 0.0 {
                continue;
            }
            // Higher weight wins; among equals, the earlier one.
            let better = match best {
                None => true,
                Some((w, p, _)) => weight > w || (weight == w && position < p),
            };
            if better {
                best = Some((weight, position, locale));
            }
        }
        best.map(|(_, _, l)| l).unwrap_or_default()
    }

    fn source(self) -> &'static str {
        match self {
            Self::De => include_str!("../locales/de.ftl"),
            Self::En => include_str!("../locales/en.ftl"),
        }
    }
}

/// The compiled messages of one language.
pub struct Messages {
    locale: Locale,
    bundle: FluentBundle<FluentResource>,
    /// The zone times are shown in.
    zone: chrono_tz::Tz,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages")
            .field("locale", &self.locale)
            .finish()
    }
}

/// The messages compiled per language and time zone.
type ByZone = HashMap<(Locale, chrono_tz::Tz), Arc<Messages>>;

impl Messages {
    /// The messages of a language, compiled once per process.
    pub fn of(locale: Locale) -> Arc<Messages> {
        static DE: OnceLock<Arc<Messages>> = OnceLock::new();
        static EN: OnceLock<Arc<Messages>> = OnceLock::new();
        let cell = match locale {
            Locale::De => &DE,
            Locale::En => &EN,
        };
        cell.get_or_init(|| Arc::new(Self::compile(locale, chrono_tz::UTC)))
            .clone()
    }

    /// The messages of a language that show times in `zone`, compiled once
    /// per process and zone.
    pub fn of_in(locale: Locale, zone: chrono_tz::Tz) -> Arc<Messages> {
        if zone == chrono_tz::UTC {
            return Self::of(locale);
        }
        static IN_ZONE: OnceLock<Mutex<ByZone>> = OnceLock::new();
        let cache = IN_ZONE.get_or_init(Default::default);
        let Ok(mut compiled) = cache.lock() else {
            return Arc::new(Self::compile(locale, zone));
        };
        compiled
            .entry((locale, zone))
            .or_insert_with(|| Arc::new(Self::compile(locale, zone)))
            .clone()
    }

    fn compile(locale: Locale, zone: chrono_tz::Tz) -> Self {
        let resource = match FluentResource::try_new(locale.source().to_owned()) {
            Ok(resource) => resource,
            // The files are part of the binary and tested; a broken line
            // drops only its own message.
            Err((resource, _)) => resource,
        };
        let lang: unic_langid::LanguageIdentifier = locale.code().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![lang]);
        // Isolation marks around arguments would end up in HTML and in tests.
        bundle.set_use_isolating(false);
        let _ = bundle.add_resource(resource);
        Self {
            locale,
            bundle,
            zone,
        }
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// A message without arguments; its id when it is missing.
    pub fn get(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message with arguments.
    pub fn with(&self, id: &str, args: &FluentArgs) -> String {
        self.format(id, Some(args))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_owned();
        };
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }

    pub fn has(&self, id: &str) -> bool {
        self.bundle.has_message(id)
    }

    /// A whole number: `12.345` in German, `12,345` in English.
    pub fn int(&self, n: i64) -> String {
        group_digits(n.unsigned_abs(), self.thousands(), n < 0)
    }

    /// A number with `decimals` places.
    pub fn decimal(&self, value: f64, decimals: usize) -> String {
        let text = format!("{:.*}", decimals, value.abs());
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let whole: u64 = whole.parse().unwrap_or(0);
        let negative = value < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0');
        let mut out = group_digits(whole, self.thousands(), negative);
        if !fraction.is_empty() {
            out.push(self.decimal_mark());
            out.push_str(fraction);
        }
        out
    }

    /// A share of 1 as a percentage: `45 %` in German, `45%` in English.
    pub fn percent(&self, share: f64) -> String {
        let n = (share * 100.0).round() as i64;
        match self.locale {
            Locale::De => format!("{} %", self.int(n)),
            Locale::En => format!("{}%", self.int(n)),
        }
    }

    /// Micro-units of a currency. Small sums keep four places, because a
    /// model call often costs a fraction of a cent.
    pub fn money(&self, micro: i64, currency: &str) -> String {
        let units = micro as f64 / 1_000_000.0;
        let places = if micro != 0 && micro.abs() < 10_000 {
            4
        } else {
            2
        };
        let amount = self.decimal(units, places);
        self.with_currency(amount, currency)
    }

    /// An amount in minor units (cents) of `currency`, exactly: a
    /// decision's amount, however large.
    pub fn money_minor(&self, minor: i64, currency: &str) -> String {
        let whole = group_digits(minor.unsigned_abs() / 100, self.thousands(), minor < 0);
        let cents = minor.unsigned_abs() % 100;
        let amount = format!("{whole}{}{cents:02}", self.decimal_mark());
        self.with_currency(amount, currency)
    }

    /// `amount` with the currency's symbol where the language puts it.
    fn with_currency(&self, amount: String, currency: &str) -> String {
        let symbol = match currency {
            "EUR" => "€",
            "USD" => "$",
            "GBP" => "£",
            "CHF" => "CHF",
            other => other,
        };
        match (self.locale, symbol.chars().count()) {
            (Locale::De, _) => format!("{amount} {symbol}"),
            (Locale::En, 1) => format!("{symbol}{amount}"),
            (Locale::En, _) => format!("{symbol} {amount}"),
        }
    }

    /// A day: `21.11.2026` in German, `21 Nov 2026` in English.
    pub fn date(&self, day: NaiveDate) -> String {
        match self.locale {
            Locale::De => day.format("%d.%m.%Y").to_string(),
            Locale::En => day.format("%-d %b %Y").to_string(),
        }
    }

    /// A moment, to the minute, in the zone these messages show times in,
    /// with the zone's abbreviation (`21.11.2026, 09:00 CET`).
    pub fn datetime(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.zone);
        format!(
            "{}, {} {}",
            self.date(local.date_naive()),
            local.format("%H:%M"),
            local.format("%Z")
        )
    }

    fn thousands(&self) -> char {
        match self.locale {
            Locale::De => '.',
            Locale::En => ',',
        }
    }

    fn decimal_mark(&self) -> char {
        match self.locale {
            Locale::De => ',',
            Locale::En => '.',
        }
    }
}

fn group_digits(n: u64, separator: char, negative: bool) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if negative {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// Arguments for a message, built from pairs.
pub fn args<'a, I, V>(pairs: I) -> FluentArgs<'a>
where
    I: IntoIterator<Item = (&'a str, V)>,
    V: Into<FluentValue<'a>>,
{
    let mut args = FluentArgs::new();
    for (name, value) in pairs {
        args.set(name, value);
    }
    args
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    fn ids(source: &str) -> std::collections::BTreeSet<String> {
        source
            .lines()
            .filter(|l| {
                l.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '-')
            })
            .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim().to_owned()))
            .collect()
    }

    #[test]
    fn both_languages_define_the_same_messages() {
        let de = ids(Locale::De.source());
        let en = ids(Locale::En.source());
        let only_de: Vec<_> = de.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&de).collect();
        assert!(only_de.is_empty(), "only in de.ftl: {only_de:?}");
        assert!(only_en.is_empty(), "only in en.ftl: {only_en:?}");
        assert!(
            de.len() > 50,
            "the cockpit has more to say than {}",
            de.len()
        );
    }

    #[test]
    fn every_message_parses_and_formats() {
        for locale in Locale::ALL {
            let parsed = FluentResource::try_new(locale.source().to_owned());
            assert!(
                parsed.is_ok(),
                "{locale:?}: {:?}",
                parsed.err().map(|e| e.1)
            );
            let messages = Messages::of(locale);
            for id in ids(locale.source()) {
                if id.starts_with('-') {
                    continue;
                }
                assert!(messages.has(&id), "{locale:?} lacks {id}");
            }
        }
    }

    #[test]
    fn accept_language_picks_the_best_offered_language() {
        assert_eq!(Locale::from_accept_language("en-US,en;q=0.9"), Locale::En);
        assert_eq!(
            Locale::from_accept_language("fr-FR, en;q=0.5, de;q=0.8"),
            Locale::De
        );
        assert_eq!(
            Locale::from_accept_language("de;q=0.2, en;q=0.7"),
            Locale::En
        );
        assert_eq!(Locale::from_accept_language("fr, es"), Locale::De);
        assert_eq!(Locale::from_accept_language("en;q=0, de-AT"), Locale::De);
        assert_eq!(Locale::from_accept_language(""), Locale::De);
    }

    #[test]
    fn figures_are_written_as_each_language_writes_them() {
        let de = Messages::of(Locale::De);
        let en = Messages::of(Locale::En);
        assert_eq!(de.int(1_234_567), "1.234.567");
        assert_eq!(en.int(-1_234), "-1,234");
        assert_eq!(de.money(1_234_560_000, "EUR"), "1.234,56 €");
        assert_eq!(en.money(1_234_560_000, "EUR"), "€1,234.56");
        assert_eq!(en.money(1_500, "EUR"), "€0.0015");
        assert_eq!(de.money(2_000_000, "CHF"), "2,00 CHF");
        assert_eq!(de.money_minor(3_800_000, "EUR"), "38.000,00 €");
        assert_eq!(en.money_minor(3_800_005, "EUR"), "€38,000.05");
        // Exact beyond what a float carries.
        assert_eq!(
            de.money_minor(100_000_000_000_000, "EUR"),
            "1.000.000.000.000,00 €"
        );
        assert_eq!(de.percent(0.456), "46 %");
        assert_eq!(en.percent(0.456), "46%");
        assert_eq!(de.decimal(-0.001, 2), "0,00");
        let day: NaiveDate = "2026-11-21".parse().unwrap();
        assert_eq!(de.date(day), "21.11.2026");
        assert_eq!(en.date(day), "21 Nov 2026");
    }

    #[test]
    fn messages_fill_in_their_arguments() {
        let en = Messages::of(Locale::En);
        let text = en.with(
            "signal-work_blocked",
            &args([("title", "Ersatzteil fehlt"), ("days", "6")]),
        );
        assert!(
            text.contains("Ersatzteil fehlt") && text.contains('6'),
            "{text}"
        );
        assert_eq!(en.get("no-such-message"), "no-such-message");
    }
}
