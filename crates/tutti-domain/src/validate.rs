//! Validated input values.
//!
//! Every value that reaches the store went through one of these parsers, so a
//! handler cannot forget to check a title's length or an email's shape; the error
//! names the field so the API can say exactly what was wrong.

use std::fmt;

/// Input that breaks a rule, with the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type ValidationResult<T> = Result<T, Invalid>;

/// Trimmed, non-empty text of at most `max` characters, without control characters
/// other than newlines and tabs.
pub fn text(field: &str, value: &str, max: usize) -> ValidationResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    optional_text(field, trimmed, max)
}

/// Like [`text`] but an empty value is allowed (it stays empty).
pub fn optional_text(field: &str, value: &str, max: usize) -> ValidationResult<String> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars > max {
        return Err(Invalid::new(
            field,
            format!("is {chars} characters long; at most {max} are allowed"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// What `str::trim` takes away, and `char::is_whitespace` finds: the
/// White_Space property, as the body of a regular expression's class.
pub const SPACE: &str = r"\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// The regular expression (for an API document's `pattern`) that matches
/// exactly the values [`text`] accepts with this `max`: Unicode white space
/// at either end (trimmed away), between them at least one and at most
/// `max` characters that start and end with neither white space nor a
/// control character, and hold no control character but newlines and tabs.
pub fn text_pattern(max: usize) -> String {
    // `char::is_control`: the Cc category.
    const CONTROL: &str = r"\u0000-\u001F\u007F-\u009F";
    const CONTROL_BUT_LINES: &str = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F";
    let edge = format!("[^{CONTROL}{SPACE}]");
    let inner = format!("[^{CONTROL_BUT_LINES}]");
    let between = max.saturating_sub(2);
    format!("^[{SPACE}]*(?:{edge}|{edge}{inner}{{0,{between}}}{edge})[{SPACE}]*$")
}

/// Like [`text_pattern`], for [`optional_text`]: blank is allowed too.
pub fn optional_text_pattern(max: usize) -> String {
    format!(r"^[{SPACE}]*$|{}", text_pattern(max))
}

/// Short titles and names.
pub const TITLE_MAX: usize = 200;
/// Longer texts: descriptions, purposes, notes, role cards.
pub const BODY_MAX: usize = 20_000;

/// An email address, lower-cased. Deliberately modest: one `@`, something on each
/// side, a dot in the domain, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> ValidationResult<Self> {
        let value = value.trim().to_lowercase();
        let valid = value.len() <= 254
            && !value.chars().any(char::is_whitespace)
            && match value.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(value))
        } else {
            Err(Invalid::new(field, "is not an email address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A finite number (no NaN, no infinity).
pub fn finite(field: &str, value: f64) -> ValidationResult<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Invalid::new(field, "must be a finite number"))
    }
}

/// A value within `0..=max`.
pub fn at_most(field: &str, value: i64, max: i64) -> ValidationResult<i64> {
    if (0..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Invalid::new(
            field,
            format!("must be between 0 and {max}, got {value}"),
        ))
    }
}

/// Defines a string-backed enum with `as_str`, `FromStr` and serde in snake_case,
/// so that the API, the database and the CLI all spell the variants the same way.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        // After the derives, so an enum may pass their helper attributes
        // (`schema(as = …)` where two enums share a name).
        $(#[$meta])*
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown value `{other}`; expected one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("title", "  Hallo  ", 10).unwrap(), "Hallo");
        assert_eq!(text("title", "   ", 10).unwrap_err().field, "title");
        assert!(text("title", "abcdefghijk", 10).is_err());
        assert!(text("title", "a\u{0}b", 10).is_err());
        assert_eq!(text("title", "äöüßäöüßäö", 10).unwrap(), "äöüßäöüßäö");
    }

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(
            Email::parse("email", " Anna@Example.DE ").unwrap().as_str(),
            "anna@example.de"
        );
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.de",
            "anna@example",
            "a b@x.de",
            "a@b@c.de",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn the_text_pattern_accepts_exactly_what_text_accepts() {
        let pattern = regex::Regex::new(&text_pattern(10)).unwrap();
        let optional = regex::Regex::new(&optional_text_pattern(10)).unwrap();
        for value in [
            "Hallo",
            "  Hallo  ",
            "a",
            "\u{3000}Grüße\u{00A0}",
            "zwei\nZeilen\tund",
            "äöüßäöüßäö",
            " äöüßäöüßäö\n",
            "",
            "   ",
            "\n\t",
            "a\u{0}b",
            "a\u{85}b",
            "\u{1c}a",
            "abcdefghijk",
            "a\u{7f}",
            "\u{2003}x\u{2003}",
        ] {
            assert_eq!(
                pattern.is_match(value),
                text("f", value, 10).is_ok(),
                "{value:?}"
            );
            assert_eq!(
                optional.is_match(value),
                optional_text("f", value, 10).is_ok(),
                "optional {value:?}"
            );
        }
    }
}
