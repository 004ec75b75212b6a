//! Learnings (KVP): what a later stage learned, carried back to where the
//! firm promises — the seed's "Wie fließen späte Erkenntnisse zurück?".
//!
//! A learning says what happened and what to change, and concerns a
//! promise, a gate or a service product. It may propose an amendment: new
//! criteria for its gate, or new levels for its service product. Accepting
//! it makes that amendment a new version; declining it needs a why. A
//! learning nobody answers for a while raises a signal.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::refused::{Refused, RuleResult};
use crate::text_enum;
use crate::validate::{BODY_MAX, Invalid, TITLE_MAX, ValidationResult, optional_text, text};

use super::flow::{Criterion, check_criteria};

text_enum! {
    LearningStatus { Open => "open", Accepted => "accepted", Declined => "declined" }
}

/// A change a learning proposes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Amendment {
    /// The gate's criteria as they should be.
    Criteria { criteria: Vec<Criterion> },
    /// The service product's levels as they should be.
    Levels { levels: Vec<String> },
}

/// What a learning concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LearningSubject {
    #[serde(default)]
    pub promise_id: Option<Uuid>,
    #[serde(default)]
    pub gate_id: Option<Uuid>,
    #[serde(default)]
    pub service_product_id: Option<Uuid>,
}

/// A learning from a later stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Learning {
    pub id: Uuid,
    /// What happened ("Ersatzteil erst nach 5 Tagen da").
    pub title: String,
    /// What to change, and why.
    pub body: String,
    /// The team (stage) that learned it.
    pub team_id: Option<Uuid>,
    #[serde(flatten)]
    pub subject: LearningSubject,
    pub amendment: Option<Amendment>,
    pub status: LearningStatus,
    pub author_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answer: String,
    /// The version of the gate or product the accepted amendment made.
    pub made_version: Option<i64>,
}

/// A new learning, checked: a title, a body, at least one subject, and an
/// amendment only for its kind of subject (criteria for a gate, levels for
/// a service product).
pub fn check_new_learning(
    title: &str,
    body: &str,
    subject: LearningSubject,
    amendment: Option<Amendment>,
) -> ValidationResult<(String, String, Option<Amendment>)> {
    let title = text("title", title, TITLE_MAX)?;
    let body = optional_text("body", body, BODY_MAX)?;
    if subject == LearningSubject::default() {
        return Err(Invalid::new(
            "promise_id",
            "a learning concerns a promise, a gate or a service product; name one",
        ));
    }
    let amendment = match amendment {
        None => None,
        Some(Amendment::Criteria { criteria }) => {
            if subject.gate_id.is_none() {
                return Err(Invalid::new(
                    "amendment",
                    "new criteria are proposed for a gate; name it in gate_id",
                ));
            }
            let criteria = check_criteria(&criteria)
                .map_err(|e| Invalid::new(format!("amendment.{}", e.field), e.message))?;
            Some(Amendment::Criteria { criteria })
        }
        Some(Amendment::Levels { levels }) => {
            if subject.service_product_id.is_none() {
                return Err(Invalid::new(
                    "amendment",
                    "new levels are proposed for a service product; name it in service_product_id",
                ));
            }
            let (_, _, _, levels) = super::check_product_texts("x", "", "", &levels)
                .map_err(|e| Invalid::new(format!("amendment.{}", e.field), e.message))?;
            Some(Amendment::Levels { levels })
        }
    };
    Ok((title, body, amendment))
}

impl Learning {
    /// Answers an open learning: accepted (its amendment then applies) or
    /// declined with a why.
    pub fn answer(
        &mut self,
        accept: bool,
        note: &str,
        by: Uuid,
        now: DateTime<Utc>,
    ) -> RuleResult<()> {
        if self.status != LearningStatus::Open {
            return Err(Refused::conflict(format!(
                "the learning was {} already",
                self.status
            )));
        }
        let note = optional_text("answer", note, BODY_MAX)?;
        if !accept && note.is_empty() {
            return Err(Refused::invalid(
                "answer",
                "say why the learning is declined",
            ));
        }
        self.status = if accept {
            LearningStatus::Accepted
        } else {
            LearningStatus::Declined
        };
        self.answer = note;
        self.answered_by = Some(by);
        self.answered_at = Some(now);
        Ok(())
    }

    /// Whether it has waited for an answer longer than `after` at `now`.
    pub fn unanswered(&self, now: DateTime<Utc>, after: Duration) -> bool {
        self.status == LearningStatus::Open && now - self.created_at > after
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use crate::service::flow::CheckBy;
    use chrono::TimeZone;

    fn learning() -> Learning {
        Learning {
            id: Uuid::from_u128(1),
            title: "Ersatzteil erst nach 5 Tagen".into(),
            body: "Vertrieb sagt 24 h zu, der Großhandel liefert in 3–5 Tagen.".into(),
            team_id: None,
            subject: LearningSubject {
                gate_id: Some(Uuid::from_u128(2)),
                ..LearningSubject::default()
            },
            amendment: None,
            status: LearningStatus::Open,
            author_id: Uuid::from_u128(3),
            created_at: Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap(),
            answered_by: None,
            answered_at: None,
            answer: String::new(),
            made_version: None,
        }
    }

    #[test]
    fn a_learning_names_a_subject_and_amends_only_its_kind() {
        let none = check_new_learning("t", "", LearningSubject::default(), None);
        assert!(none.is_err_and(|e| e.field == "promise_id"));
        let product = LearningSubject {
            service_product_id: Some(Uuid::from_u128(4)),
            ..LearningSubject::default()
        };
        let criteria = Amendment::Criteria {
            criteria: vec![Criterion {
                text: "Lieferzeit geprüft".into(),
                check_by: CheckBy::Person,
                rule: None,
                worker_id: None,
            }],
        };
        assert!(
            check_new_learning("t", "", product, Some(criteria))
                .is_err_and(|e| e.field == "amendment")
        );
        let empty_level = Amendment::Levels {
            levels: vec![" ".into()],
        };
        assert!(
            check_new_learning("t", "", product, Some(empty_level))
                .is_err_and(|e| e.field == "amendment.levels")
        );
        let levels = Amendment::Levels {
            levels: vec!["Ersatzteil binnen 5 Tagen".into()],
        };
        assert!(check_new_learning("t", "", product, Some(levels)).is_ok());
    }

    #[test]
    fn a_learning_is_answered_once_and_a_decline_says_why() {
        let mut learning = learning();
        let now = learning.created_at + Duration::days(15);
        assert!(learning.unanswered(now, Duration::days(14)));
        assert!(
            learning
                .answer(false, "", Uuid::from_u128(5), now)
                .is_err_and(|e| matches!(e, Refused::Invalid(_)))
        );
        learning.answer(true, "", Uuid::from_u128(5), now).unwrap();
        assert!(!learning.unanswered(now, Duration::days(14)));
        assert!(
            learning
                .answer(false, "doch nicht", Uuid::from_u128(5), now)
                .is_err_and(|e| matches!(e, Refused::Conflict(_)))
        );
    }
}
