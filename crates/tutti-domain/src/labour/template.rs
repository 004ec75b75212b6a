//! Work-order templates, the org's prompt library (seed 002: "Prompting ist
//! … eine Führungsaufgabe"). A template is a way of asking for recurring
//! work: a body with placeholders filled from the work item, its key result
//! and objective, and the acceptance criteria the reviewer will judge by.
//!
//! A version is never edited; a changed way of asking is a new version, and
//! every item and run made from it names it, so its [`Record`] — accept
//! rate, revise rounds until accepted, rating, tokens and cost per accepted
//! result, hours from order to acceptance — says how well that way of asking
//! works. Two versions can run side by side: new work goes to the one with
//! fewer items ([`pick_version`]), and a [`Comparison`] says honestly when
//! the counts are too small to tell.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Verdict;
use crate::validate::{Invalid, ValidationResult};

/// The placeholders a body may use, each in braces: `{key_result}`.
pub const PLACEHOLDERS: &[&str] = &[
    "title",
    "details",
    "key_result",
    "objective",
    "why",
    "team",
    "due",
];

/// The longest body or criteria, in characters.
pub const BODY_MAX: usize = 20_000;
/// The longest name, in characters.
pub const NAME_MAX: usize = 120;
/// How many accepted items each side of a comparison needs before its
/// figures say more than chance.
pub const ENOUGH_TO_TELL: i64 = 5;

/// A template and its versions, newest last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    pub id: Uuid,
    pub name: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub versions: Vec<TemplateVersion>,
}

/// One way of asking, unchanged once made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateVersion {
    pub id: Uuid,
    pub template_id: Uuid,
    /// 1 for the first; each new version adds one.
    pub version: i64,
    /// The work order's text, with placeholders.
    pub body: String,
    /// What the reviewer judges the result by.
    pub criteria: String,
    /// What changed against the version before, in the author's words.
    pub note: String,
    /// New work from the template goes to the versions in use, in turns.
    pub in_use: bool,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

impl Template {
    /// The versions new work goes to.
    pub fn in_use(&self) -> impl Iterator<Item = &TemplateVersion> {
        self.versions.iter().filter(|v| v.in_use)
    }
}

/// A template's name: 1 to [`NAME_MAX`] characters, trimmed.
pub fn check_name(name: &str) -> ValidationResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(Invalid::new("name", format!("1 to {NAME_MAX} characters")));
    }
    Ok(name.to_owned())
}

/// A version's body and criteria: both with text, within [`BODY_MAX`], and
/// only known placeholders, so no work order goes out with a `{typo}` in it.
pub fn check_version(body: &str, criteria: &str) -> ValidationResult<()> {
    for (field, text) in [("body", body), ("criteria", criteria)] {
        if text.trim().is_empty() {
            return Err(Invalid::new(field, "must not be empty"));
        }
        if text.chars().count() > BODY_MAX {
            return Err(Invalid::new(
                field,
                format!("at most {BODY_MAX} characters"),
            ));
        }
        if let Some(unknown) = placeholders(text)
            .into_iter()
            .find(|p| !PLACEHOLDERS.contains(p))
        {
            return Err(Invalid::new(
                field,
                format!(
                    "unknown placeholder {{{unknown}}}; known are {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The placeholders in `text`: a brace, lower-case letters and underscores,
/// a brace.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('}') {
            found.push(&after[..name_len]);
            rest = &after[name_len + 1..];
        } else {
            rest = after;
        }
    }
    found
}

/// What fills a template's placeholders.
#[derive(Debug, Clone, Default)]
pub struct Fill<'a> {
    pub title: &'a str,
    pub details: &'a str,
    pub key_result: Option<&'a str>,
    pub objective: Option<&'a str>,
    pub why: Option<&'a str>,
    pub team: Option<&'a str>,
    pub due: Option<NaiveDate>,
}

impl Fill<'_> {
    fn value(&self, placeholder: &str) -> String {
        let or_dash = |v: Option<&str>| v.filter(|v| !v.is_empty()).unwrap_or("–").to_owned();
        match placeholder {
            "title" => self.title.to_owned(),
            "details" => or_dash(Some(self.details)),
            "key_result" => or_dash(self.key_result),
            "objective" => or_dash(self.objective),
            "why" => or_dash(self.why),
            "team" => or_dash(self.team),
            "due" => self.due.map_or_else(|| "–".to_owned(), |d| d.to_string()),
            other => format!("{{{other}}}"),
        }
    }
}

/// `text` with its placeholders filled.
pub fn fill(text: &str, with: &Fill<'_>) -> String {
    let mut out = text.to_owned();
    for placeholder in PLACEHOLDERS {
        let mark = format!("{{{placeholder}}}");
        if out.contains(&mark) {
            out = out.replace(&mark, &with.value(placeholder));
        }
    }
    out
}

/// The description of an item made from `version`: the filled body, and the
/// acceptance criteria under their heading.
pub fn describe(version: &TemplateVersion, with: &Fill<'_>) -> String {
    format!(
        "{}\n\n## Acceptance criteria\n{}",
        fill(version.body.trim_end(), with),
        fill(version.criteria.trim(), with)
    )
}

/// Which version new work goes to, of those in use with how many items
/// each has so far (id, version number, items): the one with fewest, the
/// older on a tie — so two versions side by side take turns.
pub fn pick_version(in_use: &[(Uuid, i64, i64)]) -> Option<Uuid> {
    in_use
        .iter()
        .min_by_key(|(_, version, items)| (*items, *version))
        .map(|(id, _, _)| *id)
}

/// The versions that stay in use beside a new one: with `side_by_side`,
/// the newest of those in use now (two run side by side, never more);
/// otherwise none, and the new version takes all new work.
pub fn stay_in_use(in_use_now: &[i64], side_by_side: bool) -> Option<i64> {
    if side_by_side {
        in_use_now.iter().max().copied()
    } else {
        None
    }
}

/// What one work item made from a template went through.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFacts {
    pub version_id: Uuid,
    /// Who wrote the work order (created the item).
    pub author_id: Uuid,
    pub ordered_at: DateTime<Utc>,
    /// Its reviews in order: verdict, rating, when.
    pub reviews: Vec<(Verdict, i64, DateTime<Utc>)>,
    /// Settled tokens and cost of all its runs.
    pub tokens: i64,
    pub cost: i64,
    /// Its runs whose output failed a guard-rail check.
    pub guard_findings: i64,
}

/// How a way of asking fares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Record {
    /// Items made from it.
    pub items: i64,
    pub reviews: i64,
    /// Items accepted in the end.
    pub accepted: i64,
    /// Accepting reviews among all its reviews.
    pub accept_rate: Option<f64>,
    /// Of the accepted items, the mean number of revisions asked before.
    pub revise_rounds: Option<f64>,
    pub mean_rating: Option<f64>,
    /// Settled tokens and cost (micro-units) of all its items' runs, per
    /// accepted item.
    pub tokens_per_accepted: Option<i64>,
    pub cost_per_accepted: Option<i64>,
    /// Of the accepted items, the mean hours from order to acceptance.
    pub hours_to_accept: Option<f64>,
    /// Runs whose output failed a guard-rail check.
    pub guard_findings: i64,
}

/// The record of a set of items.
pub fn record<'a>(items: impl IntoIterator<Item = &'a ItemFacts>) -> Record {
    let mut r = Record::default();
    let (mut accepting, mut rating_sum, mut rounds, mut hours) = (0, 0, 0, 0.0);
    let (mut tokens, mut cost) = (0, 0);
    for item in items {
        r.items += 1;
        r.reviews += item.reviews.len() as i64;
        r.guard_findings += item.guard_findings;
        tokens += item.tokens;
        cost += item.cost;
        rating_sum += item
            .reviews
            .iter()
            .map(|(_, rating, _)| rating)
            .sum::<i64>();
        let accept = item
            .reviews
            .iter()
            .position(|(verdict, _, _)| *verdict == Verdict::Accept);
        accepting += item
            .reviews
            .iter()
            .filter(|(verdict, _, _)| *verdict == Verdict::Accept)
            .count() as i64;
        if let Some(at) = accept {
            r.accepted += 1;
            rounds += item.reviews[..at]
                .iter()
                .filter(|(verdict, _, _)| *verdict == Verdict::Revise)
                .count() as i64;
            hours += (item.reviews[at].2 - item.ordered_at).num_seconds() as f64 / 3600.0;
        }
    }
    if r.reviews > 0 {
        r.accept_rate = Some(accepting as f64 / r.reviews as f64);
        r.mean_rating = Some(rating_sum as f64 / r.reviews as f64);
    }
    if r.accepted > 0 {
        r.revise_rounds = Some(rounds as f64 / r.accepted as f64);
        r.hours_to_accept = Some(hours / r.accepted as f64);
        r.tokens_per_accepted = Some(tokens / r.accepted);
        r.cost_per_accepted = Some(cost / r.accepted);
    }
    r
}

/// The records of the items grouped by `key` (a version, an author).
pub fn records_by<K: Ord>(
    items: &[ItemFacts],
    key: impl Fn(&ItemFacts) -> K,
) -> BTreeMap<K, Record> {
    let mut groups: BTreeMap<K, Vec<&ItemFacts>> = BTreeMap::new();
    for item in items {
        groups.entry(key(item)).or_default().push(item);
    }
    groups
        .into_iter()
        .map(|(k, items)| (k, record(items)))
        .collect()
}

/// Two records side by side, and whether they are big enough to tell apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comparison {
    /// Both sides have at least [`ENOUGH_TO_TELL`] accepted items.
    pub enough_to_tell: bool,
    /// What the counts allow to say, in plain words.
    pub note: String,
}

/// Whether `a` and `b` (named) can be compared.
pub fn compare(a: (&str, &Record), b: (&str, &Record)) -> Comparison {
    let fewest = a.1.accepted.min(b.1.accepted);
    if fewest < ENOUGH_TO_TELL {
        return Comparison {
            enough_to_tell: false,
            note: format!(
                "too few to tell: {} has {} accepted results, {} has {}; \
                 each needs {ENOUGH_TO_TELL} before a difference means more than chance",
                a.0, a.1.accepted, b.0, b.1.accepted
            ),
        };
    }
    Comparison {
        enough_to_tell: true,
        note: format!(
            "{} and {} each have at least {ENOUGH_TO_TELL} accepted results",
            a.0, b.0
        ),
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use chrono::Duration;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::MIN_UTC + Duration::days(1) + Duration::hours(hours)
    }

    #[test]
    fn only_known_placeholders_pass() {
        assert!(check_version("Fasse nach: {title}. Ziel: {key_result}", "Höflich").is_ok());
        let err = check_version("Hallo {kunde}", "ok").unwrap_err();
        assert_eq!(err.field, "body");
        assert!(err.message.contains("{kunde}"), "{}", err.message);
        assert_eq!(check_version("x", " ").unwrap_err().field, "criteria");
        // Braces that are no placeholder are text.
        assert_eq!(placeholders("{ x } {A} {} {due}"), ["due"]);
    }

    #[test]
    fn a_filled_template_names_the_item_and_why() {
        let version = TemplateVersion {
            id: Uuid::from_u128(1),
            template_id: Uuid::from_u128(2),
            version: 1,
            body:
                "Fasse das Angebot „{title}“ nach. {details}\nEs dient: {key_result} ({objective})."
                    .into(),
            criteria: "Nennt den nächsten Termin bis {due}.".into(),
            note: String::new(),
            in_use: true,
            created_by: Uuid::from_u128(3),
            created_at: at(0),
        };
        let text = describe(
            &version,
            &Fill {
                title: "Wartung Berger",
                details: "",
                key_result: Some("Angebotsquote 40 %"),
                objective: None,
                due: NaiveDate::from_ymd_opt(2026, 12, 1),
                ..Fill::default()
            },
        );
        assert_eq!(
            text,
            "Fasse das Angebot „Wartung Berger“ nach. –\nEs dient: Angebotsquote 40 % (–).\n\n\
             ## Acceptance criteria\nNennt den nächsten Termin bis 2026-12-01."
        );
    }

    #[test]
    fn versions_side_by_side_take_turns() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(pick_version(&[(a, 1, 0), (b, 2, 0)]), Some(a));
        assert_eq!(pick_version(&[(a, 1, 1), (b, 2, 0)]), Some(b));
        assert_eq!(pick_version(&[(a, 1, 1), (b, 2, 1)]), Some(a));
        assert_eq!(pick_version(&[]), None);
        assert_eq!(stay_in_use(&[1, 2], true), Some(2));
        assert_eq!(stay_in_use(&[1], false), None);
    }

    #[test]
    fn a_record_counts_rounds_cost_and_time_to_acceptance() {
        let v = Uuid::from_u128(1);
        let author = Uuid::from_u128(7);
        let items = [
            // Revised once, then accepted after 10 hours.
            ItemFacts {
                version_id: v,
                author_id: author,
                ordered_at: at(0),
                reviews: vec![(Verdict::Revise, 2, at(4)), (Verdict::Accept, 4, at(10))],
                tokens: 900,
                cost: 3_000,
                guard_findings: 1,
            },
            // Accepted at once after 2 hours.
            ItemFacts {
                version_id: v,
                author_id: author,
                ordered_at: at(0),
                reviews: vec![(Verdict::Accept, 5, at(2))],
                tokens: 300,
                cost: 1_000,
                guard_findings: 0,
            },
            // Rejected.
            ItemFacts {
                version_id: v,
                author_id: author,
                ordered_at: at(0),
                reviews: vec![(Verdict::Reject, 1, at(1))],
                tokens: 200,
                cost: 600,
                guard_findings: 0,
            },
        ];
        let r = record(&items);
        assert_eq!((r.items, r.reviews, r.accepted), (3, 4, 2));
        assert_eq!(r.accept_rate, Some(0.5));
        assert_eq!(r.revise_rounds, Some(0.5));
        assert_eq!(r.mean_rating, Some(3.0));
        assert_eq!(r.tokens_per_accepted, Some(700));
        assert_eq!(r.cost_per_accepted, Some(2_300));
        assert_eq!(r.hours_to_accept, Some(6.0));
        assert_eq!(r.guard_findings, 1);
        assert_eq!(records_by(&items, |i| i.author_id)[&author], r);
        assert_eq!(record(&[]), Record::default());
    }

    #[test]
    fn small_counts_are_called_too_small() {
        let few = Record {
            accepted: 3,
            ..Record::default()
        };
        let many = Record {
            accepted: 9,
            ..Record::default()
        };
        let c = compare(("v1", &many), ("v2", &few));
        assert!(!c.enough_to_tell);
        assert!(c.note.contains("too few to tell"), "{}", c.note);
        assert!(compare(("v1", &many), ("v2", &many)).enough_to_tell);
    }
}
