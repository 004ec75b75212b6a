//! Runs: one AI worker's attempts at a work item, their life cycle, and the
//! work order they carry.
//!
//! A run is `queued` when an item becomes ready in an AI worker's hands (or
//! someone starts one), `running` once an engine claims it with a lease, and
//! ends `succeeded`, `failed` or `cancelled`. Its end moves the work item on:
//! a result goes to review, a failure blocks the item, a cancellation hands
//! it back as ready. A run whose engine died (its lease expired) goes back to
//! the queue until its attempts are used up, then fails with the reason.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Tokens;
use crate::org::{Member, MemberKind};
use crate::refused::{Refused, RuleResult};
use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};
use crate::work::{WorkItem, WorkState};

text_enum! {
    /// A run's life: `queued → running → succeeded | failed | cancelled`; a run
    /// whose lease expired goes back to `queued` until its attempts are used up.
    RunStatus {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

impl RunStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// Where a run ending in this status moves its work item: a result to
    /// review, a failure to `blocked`, a cancellation back to `ready`.
    /// Queued and running runs move nothing.
    pub fn item_state_after(self) -> Option<WorkState> {
        match self {
            Self::Succeeded => Some(WorkState::InReview),
            Self::Failed => Some(WorkState::Blocked),
            Self::Cancelled => Some(WorkState::Ready),
            Self::Queued | Self::Running => None,
        }
    }
}

/// How many times a run is attempted before a lost lease fails it.
pub const RUN_MAX_ATTEMPTS: i64 = 3;

/// How long a run's answer may be, in tokens: 1 to 32 768, 400 unless asked
/// otherwise. The budget reservation is built on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct MaxTokens(i64);

impl MaxTokens {
    pub const LIMIT: i64 = 32_768;
    pub const DEFAULT: MaxTokens = MaxTokens(400);

    pub fn parse(value: i64) -> ValidationResult<Self> {
        if (1..=Self::LIMIT).contains(&value) {
            Ok(Self(value))
        } else {
            Err(Invalid::new(
                "max_tokens",
                format!("must be between 1 and {}", Self::LIMIT),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl Default for MaxTokens {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<i64> for MaxTokens {
    type Error = Invalid;
    fn try_from(value: i64) -> ValidationResult<Self> {
        Self::parse(value)
    }
}

impl From<MaxTokens> for i64 {
    fn from(value: MaxTokens) -> i64 {
        value.0
    }
}

/// What a worker is told it is when its member has no role card.
pub fn role_card_of(worker: &Member) -> String {
    worker.role_card.clone().unwrap_or_else(|| {
        format!(
            "You are {}, an AI worker in the team. Do the task you are given carefully and say plainly what you did.",
            worker.name
        )
    })
}

/// Whether `item` may get a new run now by `worker`, its assignee as loaded
/// (`None` when it has none), with `active_runs` of it queued or running:
/// open work in an AI worker's hands, with no run going. Each refusal is a
/// conflict with the item as it stands (the request itself names nothing
/// wrong), so the API answers 409.
pub fn check_new_run(item: &WorkItem, worker: Option<&Member>, active_runs: i64) -> RuleResult<()> {
    if item.state.is_final() {
        return Err(Refused::conflict(format!(
            "the item is {}; a final item is not run",
            item.state
        )));
    }
    let Some(worker) = worker else {
        return Err(Refused::conflict(
            "the item has no assignee; assign it to an AI worker first",
        ));
    };
    if worker.kind != MemberKind::Ai {
        return Err(Refused::conflict(format!(
            "the item is assigned to {}, a person; only AI workers run work orders",
            worker.name
        )));
    }
    if active_runs > 0 {
        return Err(Refused::conflict(
            "the item already has a run queued or running",
        ));
    }
    Ok(())
}

impl WorkItem {
    /// The member a change hands this item to as ready work, if it does:
    /// it is `ready` in someone's hands now, and was not already ready in
    /// the same hands (`before`: its assignee and state before the change,
    /// `None` for a new item). Ready work in an AI worker's hands with no
    /// run going gets a run queued ([`queues_a_run`]).
    pub fn newly_ready_for(&self, before: Option<(Option<Uuid>, WorkState)>) -> Option<Uuid> {
        let assignee = self.assignee_id?;
        let unchanged = before == Some((Some(assignee), WorkState::Ready));
        (self.state == WorkState::Ready && !unchanged).then_some(assignee)
    }
}

/// Whether ready work newly in the hands of a member of `kind`, with
/// `active_runs` of it queued or running, gets a run queued: an AI worker
/// starts on ready work by itself.
pub fn queues_a_run(kind: MemberKind, active_runs: i64) -> bool {
    kind == MemberKind::Ai && active_runs == 0
}

/// What cancelling a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancellation {
    /// A queued run ends `cancelled` at once.
    Now,
    /// A running run is asked to stop; the engine holding it ends it.
    AskTheEngine,
}

/// One execution attempt chain of a work item by an AI worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    pub id: Uuid,
    pub work_item_id: Uuid,
    pub worker_id: Uuid,
    /// 1 for the first run of an item; each revision adds one.
    pub iteration: i64,
    pub status: RunStatus,
    /// The worker's role card, sent as the system message.
    pub role_card: String,
    /// The rendered work order, sent as the user message.
    pub work_order: String,
    pub output: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub max_tokens: i64,
    pub tokens: Tokens,
    /// Micro-units of the org's currency, settled so far.
    pub cost: i64,
    pub error: Option<String>,
    pub cancel_requested: bool,
    /// What the guard-rail checks of its item's spaces found in its output.
    #[serde(default)]
    pub findings: Vec<crate::guard::Finding>,
    /// The output failed a check and went back to the worker instead of
    /// to review (the next iteration carries the findings as feedback).
    #[serde(default)]
    pub sent_back: bool,
    /// The work-order template version its item was made from, if any.
    #[serde(default)]
    pub template_version_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Run {
    /// A new run of `item_id` by `worker`, queued.
    pub fn queued(
        id: Uuid,
        item_id: Uuid,
        worker: &Member,
        iteration: i64,
        work_order: String,
        max_tokens: MaxTokens,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            work_item_id: item_id,
            worker_id: worker.id,
            iteration,
            status: RunStatus::Queued,
            role_card: role_card_of(worker),
            work_order,
            output: String::new(),
            provider: None,
            model: None,
            attempts: 0,
            max_attempts: RUN_MAX_ATTEMPTS,
            max_tokens: max_tokens.get(),
            tokens: Tokens::default(),
            cost: 0,
            error: None,
            cancel_requested: false,
            findings: Vec::new(),
            sent_back: false,
            template_version_id: None,
            created_at: now,
            started_at: None,
            finished_at: None,
        }
    }

    /// An engine claims the run: it runs on `provider`'s `model`, as one
    /// more attempt.
    pub fn start(&mut self, provider: &str, model: &str, now: DateTime<Utc>) {
        self.status = RunStatus::Running;
        self.attempts += 1;
        self.provider = Some(provider.to_owned());
        self.model = Some(model.to_owned());
        self.started_at = self.started_at.or(Some(now));
    }

    /// What a running run whose lease `holder` lost becomes: queued again
    /// while attempts are left, else failed; with the reason it says.
    pub fn after_lost_lease(&self, holder: &str) -> (RunStatus, String) {
        if self.attempts < self.max_attempts {
            (
                RunStatus::Queued,
                format!(
                    "the lease of {holder} expired during attempt {}; queued again",
                    self.attempts
                ),
            )
        } else {
            (
                RunStatus::Failed,
                format!(
                    "the lease expired on each of {} attempts (last holder {holder}); giving up",
                    self.attempts
                ),
            )
        }
    }

    /// What cancelling the run does now, or why it cannot be cancelled.
    pub fn cancellation(&self) -> RuleResult<Cancellation> {
        match self.status {
            RunStatus::Queued => Ok(Cancellation::Now),
            RunStatus::Running => Ok(Cancellation::AskTheEngine),
            status => Err(Refused::conflict(format!(
                "the run is {status} already; only queued or running runs can be cancelled"
            ))),
        }
    }

    /// Ends an attempt: the tokens and cost settled for it are added, and a
    /// run that is not queued again is finished at `now`.
    pub fn end(
        &mut self,
        status: RunStatus,
        output: String,
        error: Option<String>,
        settled: Tokens,
        settled_cost: i64,
        now: DateTime<Utc>,
    ) {
        self.tokens = Tokens {
            input: self.tokens.input + settled.input,
            cached_input: self.tokens.cached_input + settled.cached_input,
            output: self.tokens.output + settled.output,
        };
        self.cost += settled_cost;
        self.status = status;
        self.output = output;
        self.error = error;
        if status != RunStatus::Queued {
            self.finished_at = Some(now);
        }
    }
}

/// What a work order is made of.
pub struct WorkOrderParts<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub priority: &'a str,
    pub due: Option<NaiveDate>,
    pub key_result: Option<&'a str>,
    pub objective: Option<&'a str>,
    pub why: Option<&'a str>,
    pub principles: &'a [String],
}

/// The work order a worker receives: the task, and why it matters.
pub fn render_work_order(parts: &WorkOrderParts<'_>) -> String {
    let mut order = format!("# Task: {}\n", parts.title);
    if !parts.description.is_empty() {
        order.push_str(&format!("\n{}\n", parts.description));
    }
    order.push_str(&format!("\nPriority: {}", parts.priority));
    if let Some(due) = parts.due {
        order.push_str(&format!(". Due: {due}"));
    }
    order.push('\n');
    if parts.objective.is_some() || parts.key_result.is_some() {
        order.push_str("\n## Why this matters\n");
        if let Some(objective) = parts.objective {
            order.push_str(&format!("Objective: {objective}\n"));
        }
        if let Some(why) = parts.why.filter(|w| !w.is_empty()) {
            order.push_str(&format!("Purpose: {why}\n"));
        }
        if let Some(key_result) = parts.key_result {
            order.push_str(&format!("This work serves the key result: {key_result}\n"));
        }
    }
    if !parts.principles.is_empty() {
        order.push_str("\n## Principles you must follow\n");
        for principle in parts.principles {
            order.push_str(&format!("- {principle}\n"));
        }
    }
    order.push_str("\nDeliver the result itself, ready for a person to review.\n");
    order
}

/// The next iteration's work order: the previous one with the reviewer's
/// feedback appended.
pub fn with_feedback(work_order: &str, iteration: i64, feedback: &str) -> String {
    format!(
        "{work_order}\n## Review feedback on iteration {iteration}\n{feedback}\n\nRevise your result to address this feedback.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::Role;
    use crate::work::{Priority, WorkKind};

    fn member(kind: MemberKind) -> Member {
        Member {
            id: Uuid::from_u128(5),
            kind,
            name: "Ada".into(),
            email: None,
            role: Role::Member,
            teams: vec![],
            role_card: None,
            provider: None,
            model: None,
            concurrency: 2,
            external: false,
            created_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    fn item(state: WorkState, assignee: Option<Uuid>) -> WorkItem {
        WorkItem {
            id: Uuid::from_u128(9),
            title: "Angebot prüfen".into(),
            description: String::new(),
            team_id: None,
            assignee_id: assignee,
            state,
            kind: WorkKind::Planned,
            priority: Priority::Normal,
            due: None,
            parent_id: None,
            key_result_id: None,
            service_product_id: None,
            created_by: Uuid::from_u128(1),
            created_at: DateTime::<Utc>::MIN_UTC,
            updated_at: DateTime::<Utc>::MIN_UTC,
            state_since: DateTime::<Utc>::MIN_UTC,
        }
    }

    fn run() -> Run {
        Run::queued(
            Uuid::from_u128(3),
            Uuid::from_u128(9),
            &member(MemberKind::Ai),
            1,
            "# Task".into(),
            MaxTokens::default(),
            DateTime::<Utc>::MIN_UTC,
        )
    }

    #[test]
    fn feedback_is_appended_to_the_work_order() {
        let order = render_work_order(&WorkOrderParts {
            title: "Angebot prüfen",
            description: "",
            priority: "high",
            due: None,
            key_result: Some("Angebotsquote 40 %"),
            objective: Some("Wartungsgeschäft ausbauen"),
            why: Some("Damit Kunden verlässlich versorgt sind."),
            principles: &["Keine Rabatte über 10 %".to_string()],
        });
        assert!(order.contains("Damit Kunden verlässlich versorgt sind."));
        assert!(order.contains("- Keine Rabatte über 10 %"));
        let next = with_feedback(&order, 1, "Bitte kürzer.");
        assert!(next.starts_with(&order) && next.contains("Bitte kürzer."));
    }

    #[test]
    fn a_result_goes_to_review_a_failure_blocks_a_cancellation_hands_back() {
        assert_eq!(
            RunStatus::Succeeded.item_state_after(),
            Some(WorkState::InReview)
        );
        assert_eq!(
            RunStatus::Failed.item_state_after(),
            Some(WorkState::Blocked)
        );
        assert_eq!(
            RunStatus::Cancelled.item_state_after(),
            Some(WorkState::Ready)
        );
        assert_eq!(RunStatus::Queued.item_state_after(), None);
        assert_eq!(RunStatus::Running.item_state_after(), None);
    }

    #[test]
    fn only_open_work_in_an_ai_workers_hands_without_a_run_going_is_run() {
        let ai = member(MemberKind::Ai);
        let person = member(MemberKind::Human);
        let ready = item(WorkState::Ready, Some(ai.id));
        assert_eq!(check_new_run(&ready, Some(&ai), 0), Ok(()));
        let refusal = |r: RuleResult<()>| match r {
            Err(Refused::Conflict(message)) => message,
            other => format!("{other:?}"),
        };
        assert!(
            refusal(check_new_run(
                &item(WorkState::Done, Some(ai.id)),
                Some(&ai),
                0
            ))
            .contains("final")
        );
        assert!(refusal(check_new_run(&ready, None, 0)).contains("no assignee"));
        assert!(refusal(check_new_run(&ready, Some(&person), 0)).contains("a person"));
        assert!(refusal(check_new_run(&ready, Some(&ai), 1)).contains("already has a run"));
    }

    #[test]
    fn ready_work_newly_in_an_ai_workers_hands_queues_a_run() {
        let ai = Uuid::from_u128(5);
        let ready = item(WorkState::Ready, Some(ai));
        assert_eq!(ready.newly_ready_for(None), Some(ai), "created ready");
        assert_eq!(
            ready.newly_ready_for(Some((Some(ai), WorkState::Backlog))),
            Some(ai),
            "moved to ready"
        );
        assert_eq!(
            ready.newly_ready_for(Some((None, WorkState::Ready))),
            Some(ai),
            "assigned while ready"
        );
        assert_eq!(
            ready.newly_ready_for(Some((Some(ai), WorkState::Ready))),
            None,
            "edited, nothing new"
        );
        assert_eq!(
            item(WorkState::Backlog, Some(ai)).newly_ready_for(None),
            None
        );
        assert_eq!(item(WorkState::Ready, None).newly_ready_for(None), None);
        assert!(queues_a_run(MemberKind::Ai, 0));
        assert!(!queues_a_run(MemberKind::Ai, 1));
        assert!(!queues_a_run(MemberKind::Human, 0));
    }

    #[test]
    fn a_lost_lease_queues_the_run_again_until_its_attempts_are_used_up() {
        let mut run = run();
        for attempt in 1..RUN_MAX_ATTEMPTS {
            run.start("local", "smollm2", DateTime::<Utc>::MIN_UTC);
            let (status, why) = run.after_lost_lease("node-1");
            assert_eq!(status, RunStatus::Queued, "attempt {attempt}");
            assert!(why.contains("node-1") && why.contains(&format!("attempt {attempt}")));
            run.status = status;
        }
        run.start("local", "smollm2", DateTime::<Utc>::MIN_UTC);
        let (status, why) = run.after_lost_lease("node-2");
        assert_eq!(status, RunStatus::Failed);
        assert!(why.contains("giving up") && why.contains("node-2"));
    }

    #[test]
    fn a_queued_run_cancels_at_once_a_running_one_is_asked_to_stop() {
        let mut run = run();
        assert_eq!(run.cancellation(), Ok(Cancellation::Now));
        run.start("local", "smollm2", DateTime::<Utc>::MIN_UTC);
        assert_eq!(run.cancellation(), Ok(Cancellation::AskTheEngine));
        for status in [
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Cancelled,
        ] {
            run.status = status;
            assert!(
                matches!(run.cancellation(), Err(Refused::Conflict(_))),
                "{status}"
            );
        }
    }

    #[test]
    fn an_attempt_adds_its_settled_use_and_only_a_final_end_finishes_the_run() {
        let mut run = run();
        let used = Tokens {
            input: 10,
            cached_input: 2,
            output: 5,
        };
        run.end(
            RunStatus::Queued,
            String::new(),
            Some("lost".into()),
            used,
            7,
            DateTime::<Utc>::MAX_UTC,
        );
        assert_eq!((run.tokens, run.cost, run.finished_at), (used, 7, None));
        run.end(
            RunStatus::Succeeded,
            "Fertig".into(),
            None,
            used,
            7,
            DateTime::<Utc>::MAX_UTC,
        );
        assert_eq!(run.tokens.total(), 30);
        assert_eq!(run.cost, 14);
        assert_eq!(run.finished_at, Some(DateTime::<Utc>::MAX_UTC));
    }

    #[test]
    fn max_tokens_is_bounded_and_defaults_to_400() {
        assert_eq!(MaxTokens::default().get(), 400);
        assert!(MaxTokens::parse(1).is_ok() && MaxTokens::parse(MaxTokens::LIMIT).is_ok());
        for bad in [0, -1, MaxTokens::LIMIT + 1] {
            assert!(
                MaxTokens::parse(bad).is_err_and(|e| e.field == "max_tokens"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_worker_without_a_role_card_is_told_who_it_is() {
        let mut ai = member(MemberKind::Ai);
        assert!(role_card_of(&ai).starts_with("You are Ada, an AI worker"));
        ai.role_card = Some("Du bist Ada.".into());
        assert_eq!(role_card_of(&ai), "Du bist Ada.");
    }
}
