//! The team's voice: what a pulse survey may show without exposing anyone.
//!
//! Answers are counted per *atom*: the smallest group a response is filed
//! under (a team, for the people who belong to it and no team below it). A
//! shown figure — a question's result for a team and the teams below it,
//! a filter, a cell of an export — covers the atoms of its group. Two rules
//! decide what may be shown, as the best tools do it:
//!
//! - the *k*-rule: a figure is shown only when at least *k* people answered
//!   within its group (per question, since a skipped question can fall
//!   below *k* where the survey does not);
//! - the remainder rule: two shown figures must not differ by fewer than *k*
//!   people, or subtracting one from the other tells what those few said
//!   (team A shown, and its sub-team B with A's other two members: A − B is
//!   those two). For any two shown groups, the people in one and not the
//!   other are none or at least *k*.
//!
//! [`disclosed`] applies both to a set of candidate figures, largest first,
//! so the broad figures a leader needs survive and the narrow ones that
//! would let a remainder be derived are withheld, each with its reason.
//!
//! The survey's own rules live here too: its questions and what answers
//! them ([`check_answers`]), a scored question's [`distribution`], the
//! [`enps`], and when a team's figure has dropped ([`pulse_dropped`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::validate::{Invalid, ValidationResult};

/// The fewest answers a figure may stand on unless an admin sets more.
pub const K_DEFAULT: u32 = 5;
/// The range an admin may set *k* in: never below 3.
pub const K_MIN: u32 = 3;
pub const K_MAX: u32 = 10;

/// An org's *k*, checked.
pub fn check_k(k: i64) -> ValidationResult<u32> {
    u32::try_from(k)
        .ok()
        .filter(|k| (K_MIN..=K_MAX).contains(k))
        .ok_or_else(|| {
            Invalid::new(
                "k",
                format!("results need between {K_MIN} and {K_MAX} answers to be shown"),
            )
        })
}

/// Whether a figure is shown, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Disclosure<K> {
    Shown {
        respondents: usize,
    },
    /// Fewer than *k* answered in the group.
    TooFew,
    /// Shown next to `with`, it would let fewer than *k* answers be derived.
    Remainder {
        with: K,
    },
}

impl<K> Disclosure<K> {
    pub fn is_shown(&self) -> bool {
        matches!(self, Disclosure::Shown { .. })
    }
}

/// Which of the candidate `groups` (a key and the atoms it covers) may be
/// shown, given how many answered in each atom (`counts`; an atom not in it
/// counts none). Groups are taken largest first (then by key), each shown
/// only when at least `k` answered in it and, against every group already
/// shown, the answers in one and not the other are none or at least `k`.
pub fn disclosed<A: Ord, K: Ord + Clone>(
    k: u32,
    counts: &BTreeMap<A, usize>,
    groups: &[(K, BTreeSet<A>)],
) -> BTreeMap<K, Disclosure<K>> {
    let k = k as usize;
    let answered = |atom: &A| counts.get(atom).copied().unwrap_or(0);
    let size = |atoms: &BTreeSet<A>| atoms.iter().map(answered).sum::<usize>();
    // The answers in `one` and not in `other`.
    let apart =
        |one: &BTreeSet<A>, other: &BTreeSet<A>| one.difference(other).map(answered).sum::<usize>();
    let mut order: Vec<&(K, BTreeSet<A>)> = groups.iter().collect();
    order.sort_by(|a, b| size(&b.1).cmp(&size(&a.1)).then_with(|| a.0.cmp(&b.0)));
    let mut shown: Vec<&(K, BTreeSet<A>)> = Vec::new();
    let mut verdicts = BTreeMap::new();
    for group in order {
        let (key, atoms) = group;
        let respondents = size(atoms);
        let verdict = if respondents < k {
            Disclosure::TooFew
        } else if let Some((with, _)) = shown.iter().map(|g| (&g.0, &g.1)).find(|(_, other)| {
            let (only_here, only_there) = (apart(atoms, other), apart(other, atoms));
            (only_here > 0 && only_here < k) || (only_there > 0 && only_there < k)
        }) {
            Disclosure::Remainder { with: with.clone() }
        } else {
            shown.push(group);
            Disclosure::Shown { respondents }
        };
        verdicts.insert(key.clone(), verdict);
    }
    verdicts
}

crate::text_enum! {
    /// What a question asks for: a 0–10 scale, agreement on 1 (not at all)
    /// to 5 (fully), the eNPS question (0–10), or free text.
    QuestionKind { Scale => "scale", Agree => "agree", Enps => "enps", Text => "text" }
}

crate::text_enum! {
    /// How often a survey opens a new round.
    Repeat { Once => "once", Biweekly => "biweekly", Monthly => "monthly" }
}

/// A question of a survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Question {
    pub kind: QuestionKind,
    pub text: String,
}

/// The most questions a pulse asks: it is meant to take a minute.
pub const QUESTIONS_MAX: usize = 12;
/// The longest comment kept.
pub const COMMENT_MAX: usize = 2_000;

/// A survey's questions, checked: one to [`QUESTIONS_MAX`], each with a text.
pub fn check_questions(questions: &[Question]) -> ValidationResult<Vec<Question>> {
    if questions.is_empty() || questions.len() > QUESTIONS_MAX {
        return Err(Invalid::new(
            "questions",
            format!("a pulse asks 1 to {QUESTIONS_MAX} questions"),
        ));
    }
    questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            Ok(Question {
                kind: q.kind,
                text: crate::validate::text(
                    &format!("questions[{i}].text"),
                    &q.text,
                    crate::validate::TITLE_MAX,
                )?,
            })
        })
        .collect()
}

/// One answer to one question; a question may be skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Score(u8),
    Comment(String),
}

/// The answers of one response, checked against the questions: as many as
/// there are questions (`None` skips one), each of the question's kind and
/// range. At least one answered.
pub fn check_answers(
    questions: &[Question],
    answers: &[Option<Answer>],
) -> ValidationResult<Vec<Option<Answer>>> {
    if answers.len() != questions.len() {
        return Err(Invalid::new(
            "answers",
            format!(
                "{} answers for {} questions",
                answers.len(),
                questions.len()
            ),
        ));
    }
    if answers.iter().all(Option::is_none) {
        return Err(Invalid::new("answers", "answer at least one question"));
    }
    questions
        .iter()
        .zip(answers)
        .enumerate()
        .map(|(i, (question, answer))| {
            let field = format!("answers[{i}]");
            let range = match question.kind {
                QuestionKind::Scale | QuestionKind::Enps => Some(0..=10),
                QuestionKind::Agree => Some(1..=5),
                QuestionKind::Text => None,
            };
            match (answer, range) {
                (None, _) => Ok(None),
                (Some(Answer::Score(score)), Some(range)) if range.contains(score) => {
                    Ok(Some(Answer::Score(*score)))
                }
                (Some(Answer::Score(_)), Some(range)) => Err(Invalid::new(
                    field,
                    format!("a number from {} to {}", range.start(), range.end()),
                )),
                (Some(Answer::Comment(text)), None) => {
                    let text = crate::validate::optional_text(&field, text, COMMENT_MAX)?;
                    Ok((!text.is_empty()).then_some(Answer::Comment(text)))
                }
                (Some(_), Some(_)) => Err(Invalid::new(field, "a number is asked for")),
                (Some(_), None) => Err(Invalid::new(field, "text is asked for")),
            }
        })
        .collect()
}

/// The distribution of a scored question's answers (a count per point of
/// its scale, from its lowest) and their mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Distribution {
    pub lowest: u8,
    pub counts: Vec<usize>,
    pub mean: Option<f64>,
}

pub fn distribution(kind: QuestionKind, scores: &[u8]) -> Distribution {
    let (lowest, highest) = match kind {
        QuestionKind::Agree => (1u8, 5u8),
        _ => (0, 10),
    };
    let mut counts = vec![0; usize::from(highest - lowest) + 1];
    for score in scores.iter().filter(|s| (lowest..=highest).contains(*s)) {
        counts[usize::from(score - lowest)] += 1;
    }
    let mean = (!scores.is_empty())
        .then(|| scores.iter().map(|s| f64::from(*s)).sum::<f64>() / scores.len() as f64);
    Distribution {
        lowest,
        counts,
        mean,
    }
}

/// Whether a team's figure fell by more than `threshold` from one round to
/// the next (points of eNPS, or of a mean); a round not shown compares
/// nothing.
pub fn pulse_dropped(previous: Option<f64>, current: Option<f64>, threshold: f64) -> bool {
    matches!((previous, current), (Some(p), Some(c)) if p - c > threshold)
}

/// The Net Promoter Score of 0–10 answers: promoters 9–10, passives 7–8,
/// detractors 0–6; the score is the share of promoters minus the share of
/// detractors, −100 to +100. `None` without answers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Enps {
    pub promoters: usize,
    pub passives: usize,
    pub detractors: usize,
    pub score: f64,
}

pub fn enps(answers: &[u8]) -> Option<Enps> {
    if answers.is_empty() {
        return None;
    }
    let promoters = answers.iter().filter(|a| **a >= 9).count();
    let detractors = answers.iter().filter(|a| **a <= 6).count();
    let passives = answers.len() - promoters - detractors;
    let share = |n: usize| n as f64 * 100.0 / answers.len() as f64;
    Some(Enps {
        promoters,
        passives,
        detractors,
        score: share(promoters) - share(detractors),
    })
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn set(atoms: &[u8]) -> BTreeSet<u8> {
        atoms.iter().copied().collect()
    }

    #[test]
    fn a_team_and_its_sub_team_differing_by_two_are_not_both_shown() {
        // Team A: its own 2 people (atom 1) and sub-team B's 6 (atom 2).
        let counts = BTreeMap::from([(1, 2), (2, 6)]);
        let groups = [("A", set(&[1, 2])), ("B", set(&[2]))];
        let shown = disclosed(5, &counts, &groups);
        assert_eq!(shown["A"], Disclosure::Shown { respondents: 8 });
        assert_eq!(shown["B"], Disclosure::Remainder { with: "A" });
        // With 5 of A's own, both stand.
        let counts = BTreeMap::from([(1, 5), (2, 6)]);
        let shown = disclosed(5, &counts, &groups);
        assert!(shown["A"].is_shown() && shown["B"].is_shown());
    }

    #[test]
    fn four_answers_show_nothing_and_five_do() {
        let groups = [("A", set(&[1]))];
        assert_eq!(
            disclosed(5, &BTreeMap::from([(1, 4)]), &groups)["A"],
            Disclosure::TooFew
        );
        assert!(disclosed(5, &BTreeMap::from([(1, 5)]), &groups)["A"].is_shown());
    }

    fn questions() -> Vec<Question> {
        vec![
            Question {
                kind: QuestionKind::Enps,
                text: "Wie wahrscheinlich ist es, dass du uns als Arbeitgeber weiterempfiehlst?"
                    .into(),
            },
            Question {
                kind: QuestionKind::Agree,
                text: "Ich weiß, was diese Woche wichtig ist.".into(),
            },
            Question {
                kind: QuestionKind::Text,
                text: "Was sollten wir ändern?".into(),
            },
        ]
    }

    #[test]
    fn answers_fit_their_questions() {
        let qs = questions();
        let ok = check_answers(
            &qs,
            &[
                Some(Answer::Score(9)),
                None,
                Some(Answer::Comment("  Mehr Ersatzteile im Wagen ".into())),
            ],
        )
        .unwrap();
        assert_eq!(
            ok[2],
            Some(Answer::Comment("Mehr Ersatzteile im Wagen".into()))
        );
        let refused = check_answers(&qs, &[Some(Answer::Score(9)), Some(Answer::Score(6)), None])
            .unwrap_err();
        assert_eq!(refused.field, "answers[1]");
        let refused =
            check_answers(&qs, &[Some(Answer::Comment("neun".into())), None, None]).unwrap_err();
        assert_eq!(refused.field, "answers[0]");
        assert!(check_answers(&qs, &[None, None, None]).is_err());
        assert!(check_answers(&qs, &[None]).is_err());
        assert!(check_questions(&[]).is_err());
        assert_eq!(check_questions(&qs).unwrap(), qs);
    }

    #[test]
    fn a_distribution_counts_each_point_and_a_drop_needs_two_rounds() {
        let d = distribution(QuestionKind::Agree, &[1, 5, 5, 4]);
        assert_eq!((d.lowest, d.counts.clone()), (1, vec![1, 0, 0, 1, 2]));
        assert!((d.mean.unwrap() - 3.75).abs() < 1e-9);
        assert_eq!(distribution(QuestionKind::Scale, &[]).mean, None);
        assert!(pulse_dropped(Some(20.0), Some(5.0), 10.0));
        assert!(!pulse_dropped(Some(20.0), Some(15.0), 10.0));
        assert!(
            !pulse_dropped(None, Some(-50.0), 10.0),
            "a withheld round compares nothing"
        );
    }

    #[test]
    fn k_stays_between_three_and_ten() {
        assert_eq!(check_k(5).unwrap(), 5);
        assert!(check_k(2).is_err());
        assert!(check_k(11).is_err());
        assert!(check_k(-1).is_err());
    }

    #[test]
    fn enps_counts_promoters_against_detractors() {
        let e = enps(&[10, 9, 8, 7, 6, 0]).unwrap();
        assert_eq!((e.promoters, e.passives, e.detractors), (2, 2, 2));
        assert!(e.score.abs() < 1e-9);
        assert!((enps(&[10; 4]).unwrap().score - 100.0).abs() < 1e-9);
        assert!((enps(&[3]).unwrap().score + 100.0).abs() < 1e-9);
        assert_eq!(enps(&[]), None);
    }

    proptest! {
        /// For any answers in up to six atoms, any candidate groups and any
        /// k: every shown figure covers at least k answers, and the
        /// difference of any two shown figures covers none or at least k.
        #[test]
        fn nothing_below_k_is_derivable_from_what_is_shown(
            k in K_MIN..=K_MAX,
            counts in proptest::collection::vec(0usize..9, 6),
            groups in proptest::collection::vec(proptest::collection::btree_set(0u8..6, 1..6), 1..8),
        ) {
            let counts: BTreeMap<u8, usize> = counts.into_iter().enumerate().map(|(a, n)| (a as u8, n)).collect();
            let groups: Vec<(usize, BTreeSet<u8>)> = groups.into_iter().enumerate().collect();
            let verdicts = disclosed(k, &counts, &groups);
            prop_assert_eq!(verdicts.len(), groups.len());
            let size = |atoms: &BTreeSet<u8>| atoms.iter().map(|a| counts[a]).sum::<usize>();
            let shown: Vec<&BTreeSet<u8>> = groups.iter().filter(|(key, _)| verdicts[key].is_shown()).map(|(_, atoms)| atoms).collect();
            for one in &shown {
                prop_assert!(size(one) >= k as usize);
                for other in &shown {
                    let apart: usize = one.difference(other).map(|a| counts[a]).sum();
                    prop_assert!(apart == 0 || apart >= k as usize, "a remainder of {} below k = {}", apart, k);
                }
            }
            // The largest group with enough answers is always shown.
            if let Some((key, _)) = groups.iter().filter(|(_, atoms)| size(atoms) >= k as usize)
                .max_by(|a, b| size(&a.1).cmp(&size(&b.1)).then_with(|| b.0.cmp(&a.0))) {
                prop_assert!(verdicts[key].is_shown());
            }
        }
    }
}
