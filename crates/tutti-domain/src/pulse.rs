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

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validate::{Invalid, ValidationResult};
use crate::workload::LoadLimits;

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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// An org's settings for hearing its team: the fewest answers a pulse
/// figure stands on, and when the workload view calls someone overloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VoiceSettings {
    pub k: u32,
    pub load: LoadLimits,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        Self {
            k: K_DEFAULT,
            load: LoadLimits::default(),
        }
    }
}

/// Settings that hold: *k* within its range, limits that mean something.
pub fn check_settings(settings: VoiceSettings) -> ValidationResult<VoiceSettings> {
    Ok(VoiceSettings {
        k: check_k(i64::from(settings.k))?,
        load: crate::workload::check_limits(settings.load)?,
    })
}

/// A survey's scope: its team and every team below it, with how far below
/// each sits (`parents`: every team of the org and the one it hangs under).
pub fn scope(top: Uuid, parents: &BTreeMap<Uuid, Option<Uuid>>) -> BTreeMap<Uuid, u32> {
    parents
        .keys()
        .filter_map(|&team| {
            let mut at = team;
            // A team tree is no deeper than the org has teams.
            for depth in 0..=parents.len() as u32 {
                if at == top {
                    return Some((team, depth));
                }
                at = parents.get(&at).copied().flatten()?;
            }
            None
        })
        .collect()
}

/// The groups a survey's results are shown for: each team of the scope with
/// the teams below it.
pub fn groups(
    scope: &BTreeMap<Uuid, u32>,
    parents: &BTreeMap<Uuid, Option<Uuid>>,
) -> Vec<(Uuid, BTreeSet<Uuid>)> {
    scope
        .keys()
        .map(|&team| {
            let below = self::scope(team, parents).into_keys().collect();
            (team, below)
        })
        .collect()
}

/// A pulse survey: questions asked of a team and the teams below it, in
/// rounds. The first round runs from `opens_on` to `closes_on` (both days
/// included, in the org's zone); a repeating survey opens the next round a
/// period later, as long as the one before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Survey {
    pub id: Uuid,
    pub team_id: Uuid,
    pub title: String,
    pub questions: Vec<Question>,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    pub repeat: Repeat,
    /// eNPS points (of −100..+100) a team's figure may fall between two
    /// rounds before the pulse-drop signal fires.
    pub enps_drop: u32,
    /// Points (on 0–10) a team's score may fall before the signal fires.
    pub score_drop: f64,
    /// The last day a round may run, once someone ended the survey.
    pub ended_on: Option<NaiveDate>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A new survey's thresholds unless its maker sets others.
pub const ENPS_DROP_DEFAULT: u32 = 20;
pub const SCORE_DROP_DEFAULT: f64 = 1.0;

/// The longest first round of a repeating survey: one round closes before
/// the next opens.
fn longest_round(repeat: Repeat) -> Option<i64> {
    match repeat {
        Repeat::Once => None,
        Repeat::Biweekly => Some(14),
        Repeat::Monthly => Some(28),
    }
}

/// A new survey's dates and thresholds, checked: it closes on or after it
/// opens; a repeating one closes before its next round opens; drops between
/// 1 and 200 eNPS points and 0.1 to 10 score points.
pub fn check_schedule(
    opens_on: NaiveDate,
    closes_on: NaiveDate,
    repeat: Repeat,
    enps_drop: u32,
    score_drop: f64,
) -> ValidationResult<()> {
    if closes_on < opens_on {
        return Err(Invalid::new(
            "closes_on",
            "a survey closes on or after it opens",
        ));
    }
    if let Some(days) = longest_round(repeat)
        && (closes_on - opens_on).num_days() >= days
    {
        return Err(Invalid::new(
            "closes_on",
            format!("a round of a {repeat} survey lasts less than {days} days"),
        ));
    }
    if !(1..=200).contains(&enps_drop) {
        return Err(Invalid::new("enps_drop", "between 1 and 200 points"));
    }
    if !(0.1..=10.0).contains(&score_drop) {
        return Err(Invalid::new("score_drop", "between 0.1 and 10 points"));
    }
    Ok(())
}

impl Survey {
    /// The days round `n` (from 0) runs, both included; `None` past the
    /// calendar, or past the first round of a survey that does not repeat.
    /// An ended survey has no round opening after its end, and the round
    /// open then closes on that day.
    pub fn round_window(&self, n: u32) -> Option<(NaiveDate, NaiveDate)> {
        let shift = |day: NaiveDate| match self.repeat {
            Repeat::Once => (n == 0).then_some(day),
            Repeat::Biweekly => day.checked_add_days(Days::new(14 * u64::from(n))),
            Repeat::Monthly => day.checked_add_months(Months::new(n)),
        };
        let (opens, closes) = (shift(self.opens_on)?, shift(self.closes_on)?);
        match self.ended_on {
            Some(end) if opens > end => None,
            Some(end) => Some((opens, closes.min(end))),
            None => Some((opens, closes)),
        }
    }

    /// Ends the survey on `today`: no round opens after it, and a round
    /// open today closes today (today's answers still count).
    pub fn end(&mut self, today: NaiveDate) -> crate::RuleResult<()> {
        if let Some(end) = self.ended_on {
            return Err(crate::Refused::conflict(format!(
                "the pulse “{}” ended on {end}",
                self.title
            )));
        }
        self.ended_on = Some(today);
        Ok(())
    }

    /// How many rounds have opened by `day`.
    pub fn rounds_begun(&self, day: NaiveDate) -> u32 {
        if day < self.opens_on || self.round_window(0).is_none() {
            return 0;
        }
        let mut n = match self.repeat {
            Repeat::Once => 0,
            Repeat::Biweekly => ((day - self.opens_on).num_days() / 14) as u32,
            Repeat::Monthly => {
                let months = (day.year() - self.opens_on.year()) * 12 + day.month() as i32
                    - self.opens_on.month() as i32;
                months.max(0) as u32
            }
        };
        // A month's round opens on the day of the month it first opened;
        // an ended survey opens none after its end.
        while n > 0 && self.round_window(n).is_none_or(|(opens, _)| opens > day) {
            n -= 1;
        }
        n + 1
    }

    /// The round open on `day`, if any.
    pub fn round_on(&self, day: NaiveDate) -> Option<u32> {
        let last = self.rounds_begun(day).checked_sub(1)?;
        let (_, closes) = self.round_window(last)?;
        (day <= closes).then_some(last)
    }
}

/// The team a respondent's answers are filed under: the deepest of their
/// teams within the survey's scope (`depth` holds the scope's teams and how
/// far below the survey's team each sits), the lowest id among equals.
/// `None` when they belong to none of them: they are not asked.
pub fn atom_of(member_teams: &[Uuid], depth: &BTreeMap<Uuid, u32>) -> Option<Uuid> {
    member_teams
        .iter()
        .filter_map(|t| depth.get(t).map(|d| (*d, *t)))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
        .map(|(_, t)| t)
}

/// One stored response: the team it is filed under and its answers. No
/// person, no time, no order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub team_id: Uuid,
    pub answers: Vec<Option<Answer>>,
}

/// A question's result for one group, shown or withheld with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuestionResult {
    /// `{"status": "shown", "respondents": n}`, `{"status": "too_few"}` or
    /// `{"status": "remainder", "with": team}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub disclosure: Disclosure<Uuid>,
    /// Scale, agree and eNPS questions, when shown.
    pub distribution: Option<Distribution>,
    /// The eNPS question, when shown.
    pub enps: Option<Enps>,
    /// A text question's comments, when shown, in alphabetical order: no
    /// time, no order of arrival.
    pub comments: Vec<String>,
}

/// One group's results for a round: a team and the teams below it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupResult {
    pub team_id: Uuid,
    /// How many answered in the group: a count, never who.
    pub respondents: usize,
    pub questions: Vec<QuestionResult>,
    /// The mean of the shown scale and agree questions' means, on 0–10.
    pub score: Option<f64>,
    /// The eNPS score, when the eNPS question is shown.
    pub enps: Option<f64>,
}

/// A scored question's mean on 0–10: an agree mean (1–5) is stretched.
fn on_ten(kind: QuestionKind, mean: f64) -> Option<f64> {
    match kind {
        QuestionKind::Scale => Some(mean),
        QuestionKind::Agree => Some((mean - 1.0) * 2.5),
        QuestionKind::Enps | QuestionKind::Text => None,
    }
}

/// A round's results for every group: each team of the scope with the teams
/// below it (`groups`: a team and the atoms it covers). Each question is
/// disclosed on its own answers, as [`disclosed`] says, so nothing shown —
/// nor any difference of two shown figures — stands on fewer than `k`.
pub fn results(
    k: u32,
    questions: &[Question],
    groups: &[(Uuid, BTreeSet<Uuid>)],
    responses: &[Response],
) -> Vec<GroupResult> {
    let answer = |r: &Response, q: usize| r.answers.get(q).cloned().flatten();
    let per_question: Vec<BTreeMap<Uuid, Disclosure<Uuid>>> = (0..questions.len())
        .map(|q| {
            let mut counts = BTreeMap::new();
            for r in responses.iter().filter(|r| answer(r, q).is_some()) {
                *counts.entry(r.team_id).or_insert(0) += 1;
            }
            disclosed(k, &counts, groups)
        })
        .collect();
    groups
        .iter()
        .map(|(team_id, atoms)| {
            let inside: Vec<&Response> = responses
                .iter()
                .filter(|r| atoms.contains(&r.team_id))
                .collect();
            let results: Vec<QuestionResult> = questions
                .iter()
                .enumerate()
                .map(|(q, question)| {
                    let mut result = QuestionResult {
                        disclosure: per_question[q][team_id].clone(),
                        distribution: None,
                        enps: None,
                        comments: Vec::new(),
                    };
                    if !result.disclosure.is_shown() {
                        return result;
                    }
                    let answers = inside.iter().filter_map(|r| answer(r, q));
                    if question.kind == QuestionKind::Text {
                        result.comments = answers
                            .filter_map(|a| match a {
                                Answer::Comment(text) => Some(text),
                                Answer::Score(_) => None,
                            })
                            .collect();
                        result.comments.sort();
                    } else {
                        let scores: Vec<u8> = answers
                            .filter_map(|a| match a {
                                Answer::Score(s) => Some(s),
                                Answer::Comment(_) => None,
                            })
                            .collect();
                        result.distribution = Some(distribution(question.kind, &scores));
                        if question.kind == QuestionKind::Enps {
                            result.enps = enps(&scores);
                        }
                    }
                    result
                })
                .collect();
            let scored: Vec<f64> = questions
                .iter()
                .zip(&results)
                .filter_map(|(q, r)| on_ten(q.kind, r.distribution.as_ref()?.mean?))
                .collect();
            GroupResult {
                team_id: *team_id,
                respondents: inside.len(),
                score: (!scored.is_empty())
                    .then(|| scored.iter().sum::<f64>() / scored.len() as f64),
                enps: results.iter().find_map(|r| r.enps.map(|e| e.score)),
                questions: results,
            }
        })
        .collect()
}

/// What fell between two rounds of one group, for the pulse-drop signal:
/// the eNPS or the score, from and to (shown figures only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Drop {
    pub figure: DropFigure,
    pub from: f64,
    pub to: f64,
}

crate::text_enum! {
    DropFigure { Enps => "enps", Score => "score" }
}

/// The drops from `previous` to `current` of one group that pass the
/// survey's thresholds.
pub fn drops(survey: &Survey, previous: &GroupResult, current: &GroupResult) -> Vec<Drop> {
    let mut found = Vec::new();
    if pulse_dropped(previous.enps, current.enps, f64::from(survey.enps_drop)) {
        found.push(Drop {
            figure: DropFigure::Enps,
            from: previous.enps.unwrap_or_default(),
            to: current.enps.unwrap_or_default(),
        });
    }
    if pulse_dropped(previous.score, current.score, survey.score_drop) {
        found.push(Drop {
            figure: DropFigure::Score,
            from: previous.score.unwrap_or_default(),
            to: current.score.unwrap_or_default(),
        });
    }
    found
}

/// Starter questions for a new pulse, in German or English: a minute's
/// worth of how the team is doing, the eNPS question and room to say more.
pub fn starter_questions(german: bool) -> Vec<Question> {
    let q = |kind, text: &str| Question {
        kind,
        text: text.to_owned(),
    };
    if german {
        vec![
            q(
                QuestionKind::Scale,
                "Wie zufrieden bist du mit deiner Arbeit in den letzten zwei Wochen?",
            ),
            q(
                QuestionKind::Agree,
                "Ich weiß, welche Ergebnisse von mir erwartet werden.",
            ),
            q(
                QuestionKind::Agree,
                "Meine Arbeitslast ist gut zu schaffen.",
            ),
            q(
                QuestionKind::Enps,
                "Wie wahrscheinlich ist es, dass du uns als Arbeitgeber weiterempfiehlst?",
            ),
            q(
                QuestionKind::Text,
                "Was hängt gerade, und was würde dir helfen?",
            ),
        ]
    } else {
        vec![
            q(
                QuestionKind::Scale,
                "How satisfied are you with your work over the last two weeks?",
            ),
            q(
                QuestionKind::Agree,
                "I know which results are expected of me.",
            ),
            q(QuestionKind::Agree, "My workload is manageable."),
            q(
                QuestionKind::Enps,
                "How likely are you to recommend us as an employer?",
            ),
            q(
                QuestionKind::Text,
                "What is stuck right now, and what would help you?",
            ),
        ]
    }
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

    fn survey(repeat: Repeat, opens: &str, closes: &str) -> Survey {
        Survey {
            id: Uuid::nil(),
            team_id: Uuid::nil(),
            title: "Puls".into(),
            questions: starter_questions(true),
            opens_on: opens.parse().unwrap(),
            closes_on: closes.parse().unwrap(),
            repeat,
            enps_drop: ENPS_DROP_DEFAULT,
            score_drop: SCORE_DROP_DEFAULT,
            ended_on: None,
            created_by: Uuid::nil(),
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn an_ended_survey_closes_its_round_and_opens_no_more() {
        let mut biweekly = survey(Repeat::Biweekly, "2026-11-02", "2026-11-06");
        biweekly.end(day("2026-11-17")).unwrap();
        assert!(biweekly.end(day("2026-11-18")).is_err(), "ended once");
        assert_eq!(biweekly.round_on(day("2026-11-17")), Some(1));
        assert_eq!(biweekly.round_on(day("2026-11-18")), None);
        assert_eq!(
            biweekly.round_window(1),
            Some((day("2026-11-16"), day("2026-11-17")))
        );
        assert_eq!(biweekly.rounds_begun(day("2027-01-01")), 2);
        let mut early = survey(Repeat::Monthly, "2026-12-01", "2026-12-05");
        early.end(day("2026-11-20")).unwrap();
        assert_eq!(early.rounds_begun(day("2027-03-01")), 0);
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn rounds_follow_the_calendar() {
        let biweekly = survey(Repeat::Biweekly, "2026-11-02", "2026-11-06");
        assert_eq!(biweekly.round_on(day("2026-11-01")), None);
        assert_eq!(biweekly.round_on(day("2026-11-02")), Some(0));
        assert_eq!(biweekly.round_on(day("2026-11-06")), Some(0));
        assert_eq!(biweekly.round_on(day("2026-11-07")), None);
        assert_eq!(biweekly.rounds_begun(day("2026-11-07")), 1);
        assert_eq!(biweekly.round_on(day("2026-11-16")), Some(1));
        assert_eq!(
            biweekly.round_window(2),
            Some((day("2026-11-30"), day("2026-12-04")))
        );
        let monthly = survey(Repeat::Monthly, "2026-01-31", "2026-02-03");
        assert_eq!(monthly.rounds_begun(day("2026-02-27")), 1);
        // February has no 31st: its round opens on its last day.
        assert_eq!(monthly.round_on(day("2026-02-28")), Some(1));
        assert_eq!(monthly.round_on(day("2026-03-31")), Some(2));
        let once = survey(Repeat::Once, "2026-11-02", "2026-11-06");
        assert_eq!(once.round_on(day("2026-11-16")), None);
        assert_eq!(once.rounds_begun(day("2027-11-16")), 1);
        assert_eq!(once.round_window(1), None);
    }

    #[test]
    fn a_round_ends_before_the_next_begins() {
        let ok = |repeat, closes| {
            check_schedule(day("2026-11-02"), day(closes), repeat, 20, 1.0).is_ok()
        };
        assert!(ok(Repeat::Biweekly, "2026-11-15"));
        assert!(!ok(Repeat::Biweekly, "2026-11-16"));
        assert!(!ok(Repeat::Once, "2026-11-01"));
        assert!(ok(Repeat::Once, "2027-11-01"));
        assert!(
            check_schedule(day("2026-11-02"), day("2026-11-03"), Repeat::Once, 0, 1.0).is_err()
        );
    }

    #[test]
    fn answers_are_filed_under_the_deepest_team_in_scope() {
        let (top, sub, other) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let depth = BTreeMap::from([(top, 0), (sub, 1)]);
        assert_eq!(atom_of(&[top, sub], &depth), Some(sub));
        assert_eq!(atom_of(&[other, top], &depth), Some(top));
        assert_eq!(atom_of(&[other], &depth), None);
    }

    fn team(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn a_team_of_four_shows_nothing_and_of_five_shows_all() {
        let questions = starter_questions(false);
        let groups = [(team(1), BTreeSet::from([team(1)]))];
        let response = |score: u8| Response {
            team_id: team(1),
            answers: vec![
                Some(Answer::Score(score)),
                Some(Answer::Score(4)),
                None,
                Some(Answer::Score(score)),
                Some(Answer::Comment(format!("Kommentar {score}"))),
            ],
        };
        let four: Vec<Response> = (6..10).map(response).collect();
        let shown = results(5, &questions, &groups, &four);
        assert_eq!(shown[0].respondents, 4);
        assert!(
            shown[0]
                .questions
                .iter()
                .all(|q| q.disclosure == Disclosure::TooFew)
        );
        assert!(
            shown[0]
                .questions
                .iter()
                .all(|q| q.comments.is_empty() && q.distribution.is_none())
        );
        assert_eq!((shown[0].score, shown[0].enps), (None, None));
        let five: Vec<Response> = (6..11).map(response).collect();
        let shown = results(5, &questions, &groups, &five);
        let q = &shown[0].questions;
        assert!(q[0].disclosure.is_shown() && q[4].disclosure.is_shown());
        // Nobody answered the third question: it stays withheld.
        assert_eq!(q[2].disclosure, Disclosure::TooFew);
        assert_eq!(q[4].comments.len(), 5);
        let enps = q[3].enps.unwrap();
        assert_eq!((enps.promoters, enps.passives, enps.detractors), (2, 2, 1));
        assert_eq!(shown[0].enps, Some(20.0));
        // Scale mean 8 and agree 4 (7.5 on ten).
        assert_eq!(shown[0].score, Some(7.75));
    }

    #[test]
    fn a_drop_needs_both_rounds_shown_and_the_threshold_passed() {
        let s = survey(Repeat::Biweekly, "2026-11-02", "2026-11-06");
        let group = |score, enps| GroupResult {
            team_id: team(1),
            respondents: 5,
            questions: Vec::new(),
            score,
            enps,
        };
        let fell = drops(
            &s,
            &group(Some(8.0), Some(40.0)),
            &group(Some(6.5), Some(10.0)),
        );
        assert_eq!(fell.len(), 2);
        assert_eq!(fell[0].figure, DropFigure::Enps);
        assert!(
            drops(
                &s,
                &group(Some(8.0), Some(40.0)),
                &group(Some(7.5), Some(25.0))
            )
            .is_empty()
        );
        assert!(drops(&s, &group(None, None), &group(Some(1.0), Some(-100.0))).is_empty());
    }

    #[test]
    fn a_scope_is_the_team_and_the_teams_below_it() {
        let parents = BTreeMap::from([
            (team(1), None),
            (team(2), Some(team(1))),
            (team(3), Some(team(2))),
            (team(4), None),
        ]);
        let inside = scope(team(2), &parents);
        assert_eq!(inside, BTreeMap::from([(team(2), 0), (team(3), 1)]));
        let groups = groups(&scope(team(1), &parents), &parents);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].1, BTreeSet::from([team(1), team(2), team(3)]));
        assert_eq!(groups[2].1, BTreeSet::from([team(3)]));
        assert!(
            check_settings(VoiceSettings {
                k: 2,
                ..VoiceSettings::default()
            })
            .is_err()
        );
        assert!(check_settings(VoiceSettings::default()).is_ok());
    }

    proptest! {
        /// Any scope of teams, any responses with any skips: no shown
        /// figure of a question, and no difference between two shown
        /// figures of it, stands on fewer than k answers.
        #[test]
        fn no_result_shown_or_subtracted_stands_on_fewer_than_k(
            k in K_MIN..=K_MAX,
            parents in proptest::collection::vec(0usize..6, 5),
            answers in proptest::collection::vec((0usize..6, proptest::collection::vec(proptest::option::of(0u8..=10), 3)), 0..40),
        ) {
            // Six teams; team i > 0 hangs under one of the teams before it.
            let parent = |i: usize| (i > 0).then(|| parents[i - 1] % i);
            let below = |top: usize| -> BTreeSet<Uuid> {
                (0..6).filter(|&t| {
                    let mut at = Some(t);
                    while let Some(x) = at {
                        if x == top { return true; }
                        at = parent(x);
                    }
                    false
                }).map(|t| team(t as u128)).collect()
            };
            let groups: Vec<(Uuid, BTreeSet<Uuid>)> = (0..6).map(|t| (team(t as u128), below(t))).collect();
            let questions = vec![
                Question { kind: QuestionKind::Scale, text: "a".into() },
                Question { kind: QuestionKind::Enps, text: "b".into() },
                Question { kind: QuestionKind::Text, text: "c".into() },
            ];
            let responses: Vec<Response> = answers.iter().map(|(t, a)| Response {
                team_id: team(*t as u128),
                answers: vec![
                    a[0].map(Answer::Score),
                    a[1].map(Answer::Score),
                    a[2].map(|s| Answer::Comment(s.to_string())),
                ],
            }).collect();
            let shown = results(k, &questions, &groups, &responses);
            let k = k as usize;
            for q in 0..questions.len() {
                let answered = |atoms: &BTreeSet<Uuid>| -> BTreeSet<usize> {
                    responses.iter().enumerate()
                        .filter(|(_, r)| atoms.contains(&r.team_id) && r.answers[q].is_some())
                        .map(|(i, _)| i).collect()
                };
                let visible: Vec<BTreeSet<usize>> = shown.iter().zip(&groups)
                    .filter(|(r, _)| r.questions[q].disclosure.is_shown())
                    .map(|(_, (_, atoms))| answered(atoms)).collect();
                for (r, (_, atoms)) in shown.iter().zip(&groups) {
                    let result = &r.questions[q];
                    if !result.disclosure.is_shown() {
                        prop_assert!(result.distribution.is_none() && result.comments.is_empty());
                    } else if let Some(d) = &result.distribution {
                        prop_assert_eq!(d.counts.iter().sum::<usize>(), answered(atoms).len());
                    }
                }
                for one in &visible {
                    prop_assert!(one.len() >= k);
                    for other in &visible {
                        let apart = one.difference(other).count();
                        prop_assert!(apart == 0 || apart >= k, "{} answers apart", apart);
                    }
                }
            }
        }
    }
}
