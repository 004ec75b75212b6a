//! Guard-rails checked on an AI worker's output before a person sees it
//! (seed 003: guard-rails hold in the system, not in a prompt). A decision
//! space's principles can carry rule checks: phrases that must not appear,
//! a money amount that must not be passed, sections that must be there.
//! [`findings`] applies them to an output and says what each found, so the
//! run can be sent back with the finding as its feedback; the reviewer still
//! decides.
//!
//! When a run ends with an output, the store applies the checks of every
//! space its item falls in ([`findings`]); [`sends_back`] says whether the
//! run goes back to its worker with [`feedback`] or on to review with its
//! findings shown.

use serde::{Deserialize, Serialize};

use crate::validate::{Invalid, ValidationResult};

/// One rule check on an output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GuardCheck {
    /// None of these phrases may appear (case does not matter).
    Forbidden { phrases: Vec<String> },
    /// No money amount (with €, EUR or Euro beside it) above `limit`,
    /// in whole euros.
    AmountAbove { limit: u32 },
    /// Each of these headings must begin a line of the output.
    RequiredSections { headings: Vec<String> },
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    ForbiddenPhrase {
        phrase: String,
    },
    AmountOver {
        written: String,
        cents: u64,
        limit: u32,
    },
    SectionMissing {
        heading: String,
    },
}

/// The highest amount limit, in whole euros.
pub const AMOUNT_LIMIT_MAX: u32 = 1_000_000_000;

/// The most checks, phrases or headings one space carries.
pub const GUARDS_MAX: usize = 50;

/// How many times a work item's output is sent back to its worker for
/// failing a check before it goes to review anyway, findings shown: the
/// checks inform, a person decides.
pub const GUARD_ROUNDS_MAX: i64 = 2;

/// Whether an output with `findings` goes back to its worker, when the
/// item's outputs were sent back `rounds` times already.
pub fn sends_back(findings: &[Finding], rounds: i64) -> bool {
    !findings.is_empty() && rounds < GUARD_ROUNDS_MAX
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ForbiddenPhrase { phrase } => {
                write!(f, "it says \"{phrase}\", which must not be said")
            }
            Self::AmountOver { written, limit, .. } => {
                write!(
                    f,
                    "it names the amount {written}, above the limit of {limit} €"
                )
            }
            Self::SectionMissing { heading } => write!(f, "the section \"{heading}\" is missing"),
        }
    }
}

/// The feedback a run sent back gets: each finding, and what to do.
pub fn feedback(findings: &[Finding]) -> String {
    let mut text = String::from("The result failed the guard-rail checks of this work:\n");
    for finding in findings {
        text.push_str(&format!("- {finding}\n"));
    }
    text.push_str("Keep to the principles: change exactly these points and keep the rest.");
    text
}

/// Checks that mean something: phrases and headings with text, at most
/// [`GUARDS_MAX`] of each, a limit above nothing.
pub fn check_guards(checks: &[GuardCheck]) -> ValidationResult<()> {
    if checks.len() > GUARDS_MAX {
        return Err(Invalid::new(
            "checks",
            format!("at most {GUARDS_MAX} checks"),
        ));
    }
    for (i, check) in checks.iter().enumerate() {
        let field = format!("checks[{i}]");
        match check {
            GuardCheck::Forbidden { phrases: texts }
            | GuardCheck::RequiredSections { headings: texts } => {
                if texts.is_empty() || texts.len() > GUARDS_MAX {
                    return Err(Invalid::new(field, format!("1 to {GUARDS_MAX} texts")));
                }
                if texts.iter().any(|t| t.trim().is_empty()) {
                    return Err(Invalid::new(field, "a text with more than blanks"));
                }
            }
            GuardCheck::AmountAbove { limit } if !(1..=AMOUNT_LIMIT_MAX).contains(limit) => {
                return Err(Invalid::new(
                    field,
                    format!("a limit from 1 to {AMOUNT_LIMIT_MAX} euros"),
                ));
            }
            GuardCheck::AmountAbove { .. } => {}
        }
    }
    Ok(())
}

/// Everything the checks find in `output`, in the order of the checks.
pub fn findings(checks: &[GuardCheck], output: &str) -> Vec<Finding> {
    let lower = output.to_lowercase();
    let mut found = Vec::new();
    for check in checks {
        match check {
            GuardCheck::Forbidden { phrases } => found.extend(
                phrases
                    .iter()
                    .filter(|p| lower.contains(&p.trim().to_lowercase()))
                    .map(|p| Finding::ForbiddenPhrase {
                        phrase: p.trim().to_owned(),
                    }),
            ),
            GuardCheck::AmountAbove { limit } => found.extend(
                amounts(output)
                    .into_iter()
                    .filter(|(_, cents)| *cents > u64::from(*limit) * 100)
                    .map(|(written, cents)| Finding::AmountOver {
                        written,
                        cents,
                        limit: *limit,
                    }),
            ),
            GuardCheck::RequiredSections { headings } => found.extend(
                headings
                    .iter()
                    .filter(|h| !has_heading(output, h))
                    .map(|h| Finding::SectionMissing {
                        heading: h.trim().to_owned(),
                    }),
            ),
        }
    }
    found
}

/// Whether a line of `output` begins with `heading`, after Markdown's
/// marks (`#`, `*`, `-`, a number with a dot) and case.
fn has_heading(output: &str, heading: &str) -> bool {
    let heading = heading.trim().to_lowercase();
    output.lines().any(|line| {
        let line = line
            .trim()
            .trim_start_matches(|c: char| {
                c == '#' || c == '*' || c == '-' || c.is_ascii_digit() || c == '.'
            })
            .trim()
            .to_lowercase();
        line.starts_with(&heading)
    })
}

/// The money amounts in `text` — a number with €, EUR or Euro before or
/// after it — as written and in cents. German and English separators both
/// read: `1.250,50 €`, `€1,250.50`, `1250 EUR`, `2.000 Euro`. A separator
/// followed by exactly three digits groups thousands; followed by one or
/// two, it starts the cents.
pub fn amounts(text: &str) -> Vec<(String, u64)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_ascii_digit() || (i > 0 && is_number_char(chars[i - 1].1)) {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        let mut j = i;
        while j < chars.len() && is_number_char(chars[j].1) {
            j += 1;
        }
        // A trailing separator ends a sentence, not the number.
        while j > i && !chars[j - 1].1.is_ascii_digit() {
            j -= 1;
        }
        let end = chars.get(j).map_or(text.len(), |c| c.0);
        let number = &text[start..end];
        let before = text[..start].trim_end();
        let after = text[end..].trim_start();
        let marked = before.ends_with('€')
            || before.to_lowercase().ends_with("eur")
            || after.starts_with('€')
            || after.to_lowercase().starts_with("eur");
        if marked && let Some(cents) = cents_of(number) {
            found.push((number.to_owned(), cents));
        }
        i = j.max(i + 1);
    }
    found
}

fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || c == '.' || c == ','
}

/// A written number in cents, reading its separators as [`amounts`] says.
fn cents_of(number: &str) -> Option<u64> {
    let (whole, cents) = match number.rfind(['.', ',']) {
        Some(at) if matches!(number.len() - at - 1, 1 | 2) => (&number[..at], &number[at + 1..]),
        _ => (number, ""),
    };
    let whole: String = whole.chars().filter(char::is_ascii_digit).collect();
    let whole: u64 = whole.parse().ok()?;
    let cents: u64 = match cents.len() {
        0 => 0,
        1 => cents.parse::<u64>().ok()? * 10,
        _ => cents.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn amounts_read_in_german_and_english() {
        let text = "Angebot: 1.250,50 € für die Wartung, Anfahrt €89, Ersatzteile 2,000.00 EUR, \
                    Rabatt 3 %, Termin 12.03.2027, Gesamt 3.339 Euro.";
        let found = amounts(text);
        let cents: Vec<u64> = found.iter().map(|(_, c)| *c).collect();
        assert_eq!(cents, [125_050, 8_900, 200_000, 333_900], "{found:?}");
        assert_eq!(found[0].0, "1.250,50");
        assert!(amounts("Am 12.03.2027 um 8 Uhr").is_empty());
        assert_eq!(amounts("Preis: 450 EUR.")[0].1, 45_000);
    }

    #[test]
    fn checks_find_phrases_amounts_and_missing_sections() {
        let checks = [
            GuardCheck::Forbidden {
                phrases: vec!["garantiert".into(), "kostenlos".into()],
            },
            GuardCheck::AmountAbove { limit: 2_000 },
            GuardCheck::RequiredSections {
                headings: vec!["Leistungsumfang".into(), "Offene Fragen".into()],
            },
        ];
        let output = "## Leistungsumfang\nWartung der Heizung, Reaktionszeit GARANTIERT 4 h.\n\
                      Preis: 2.450,00 €\n";
        assert_eq!(
            findings(&checks, output),
            [
                Finding::ForbiddenPhrase {
                    phrase: "garantiert".into()
                },
                Finding::AmountOver {
                    written: "2.450,00".into(),
                    cents: 245_000,
                    limit: 2_000
                },
                Finding::SectionMissing {
                    heading: "Offene Fragen".into()
                },
            ]
        );
        let fine = "1. Leistungsumfang: Wartung\n**Offene Fragen**: keine\nPreis 1.900 €";
        assert!(findings(&checks, fine).is_empty());
    }

    #[test]
    fn a_finding_sends_the_output_back_until_the_rounds_run_out() {
        let found = [Finding::SectionMissing {
            heading: "Offene Fragen".into(),
        }];
        assert!(sends_back(&found, 0));
        assert!(sends_back(&found, GUARD_ROUNDS_MAX - 1));
        assert!(!sends_back(&found, GUARD_ROUNDS_MAX));
        assert!(!sends_back(&[], 0));
        let text = feedback(&found);
        assert!(text.contains("\"Offene Fragen\" is missing"), "{text}");
    }

    #[test]
    fn checks_must_mean_something() {
        assert!(check_guards(&[GuardCheck::AmountAbove { limit: 0 }]).is_err());
        assert!(
            check_guards(&[GuardCheck::Forbidden {
                phrases: vec![" ".into()]
            }])
            .is_err()
        );
        assert!(check_guards(&[GuardCheck::RequiredSections { headings: vec![] }]).is_err());
        assert!(check_guards(&[GuardCheck::AmountAbove { limit: 5_000 }]).is_ok());
        let too_many = vec![GuardCheck::AmountAbove { limit: 1 }; GUARDS_MAX + 1];
        assert_eq!(check_guards(&too_many).unwrap_err().field, "checks");
    }
}
