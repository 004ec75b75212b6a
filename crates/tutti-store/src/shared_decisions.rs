// The decision-space store shared by both backends; `include!`d after
// `shared.rs` (see there for what each backend defines).

use tutti_domain::decision::{
    Autonomy, Ballot, Decision, DecisionSpace, DecisionStatus, Outcome, PolicyVerdict, Proposal,
    Tally, Vote, check_attribute_name, check_attributes, tally,
};
use tutti_domain::validate::optional_text;

use crate::decisions::{
    DecisionFilter, Decisions, Draft, NewDecision, NewSpace, Overdue, SpacePatch,
};

const SPACE_COLUMNS: &str = "id, name, team_id, objective_id, principles, policy, attributes, quorum, \
     escalate_after_secs, escalate_to, version, created_at, updated_at";
const DECISION_COLUMNS: &str = "id, space_id, question, context, facts, options, requested_by, assignee_id, \
     run_id, status, quorum, routing, space_version, recommendation, choice, decided_by, reason, decided_at, \
     deadline, escalated_to, escalated_at, escalation, outcome, outcome_note, outcome_by, outcome_at, \
     created_at, updated_at";
const PRINCIPLE_MAX: usize = 500;
const MAX_PRINCIPLES: usize = 20;
const MAX_OPTIONS: usize = 10;
/// A month: a decision waits at most this long before it escalates.
const MAX_ESCALATE_AFTER_SECS: i64 = 31 * 24 * 3600;

#[derive(sqlx::FromRow)]
struct SpaceRow {
    id: Uuid,
    name: String,
    team_id: Option<Uuid>,
    objective_id: Option<Uuid>,
    principles: String,
    policy: String,
    attributes: String,
    quorum: i64,
    escalate_after_secs: Option<i64>,
    escalate_to: Option<Uuid>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn from_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))
}

impl TryFrom<SpaceRow> for DecisionSpace {
    type Error = StoreError;
    fn try_from(r: SpaceRow) -> Result<Self> {
        Ok(DecisionSpace {
            id: r.id,
            name: r.name,
            team_id: r.team_id,
            objective_id: r.objective_id,
            principles: from_json("decision_spaces.principles", &r.principles)?,
            policy: r.policy,
            attributes: from_json("decision_spaces.attributes", &r.attributes)?,
            quorum: r.quorum,
            escalate_after_secs: r.escalate_after_secs,
            escalate_to: r.escalate_to,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DecisionRow {
    id: Uuid,
    space_id: Uuid,
    question: String,
    context: String,
    facts: String,
    options: String,
    requested_by: Uuid,
    assignee_id: Option<Uuid>,
    run_id: Option<Uuid>,
    status: String,
    quorum: i64,
    routing: String,
    space_version: i64,
    recommendation: Option<String>,
    choice: Option<String>,
    decided_by: Option<Uuid>,
    reason: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    deadline: Option<DateTime<Utc>>,
    escalated_to: Option<Uuid>,
    escalated_at: Option<DateTime<Utc>>,
    escalation: Option<String>,
    outcome: Option<String>,
    outcome_note: Option<String>,
    outcome_by: Option<Uuid>,
    outcome_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl DecisionRow {
    fn into_decision(self, ballots: Vec<Ballot>) -> Result<Decision> {
        let mut routing: tutti_domain::decision::Routing =
            from_json("decisions.routing", &self.routing)?;
        routing.quorum = self.quorum;
        Ok(Decision {
            id: self.id,
            space_id: self.space_id,
            question: self.question,
            context: self.context,
            facts: from_json("decisions.facts", &self.facts)?,
            options: from_json("decisions.options", &self.options)?,
            requested_by: self.requested_by,
            assignee_id: self.assignee_id,
            run_id: self.run_id,
            status: self
                .status
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("decisions.status: {e}")))?,
            routing,
            space_version: self.space_version,
            recommendation: self
                .recommendation
                .as_deref()
                .map(|r| from_json("decisions.recommendation", r))
                .transpose()?,
            ballots,
            choice: self.choice,
            decided_by: self.decided_by,
            reason: self.reason,
            decided_at: self.decided_at,
            deadline: self.deadline,
            escalated_to: self.escalated_to,
            escalated_at: self.escalated_at,
            escalation: self
                .escalation
                .as_deref()
                .map(|e| from_json("decisions.escalation", e))
                .transpose()?,
            outcome: self
                .outcome
                .as_deref()
                .map(|o| {
                    o.parse::<Outcome>()
                        .map_err(|e| StoreError::Corrupt(format!("decisions.outcome: {e}")))
                })
                .transpose()?,
            outcome_note: self.outcome_note,
            outcome_by: self.outcome_by,
            outcome_at: self.outcome_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct BallotRow {
    decision_id: Uuid,
    member_id: Uuid,
    vote: String,
    option: Option<String>,
    reason: String,
    verdict: String,
    at: DateTime<Utc>,
}

impl TryFrom<BallotRow> for Ballot {
    type Error = StoreError;
    fn try_from(r: BallotRow) -> Result<Self> {
        Ok(Ballot {
            member_id: r.member_id,
            vote: r
                .vote
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("decision_ballots.vote: {e}")))?,
            option: r.option,
            reason: r.reason,
            verdict: from_json("decision_ballots.verdict", &r.verdict)?,
            at: r.at,
        })
    }
}

async fn load_space(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<DecisionSpace> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let row: SpaceRow = sqlx::query_as(&format!(
        "SELECT {SPACE_COLUMNS} FROM decision_spaces WHERE id = $1 AND org_id = $2{lock}"
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("decision space"))?;
    row.try_into()
}

/// Loads decisions with their ballots, in the order of `rows`.
async fn with_ballots(conn: &mut Conn, rows: Vec<DecisionRow>) -> Result<Vec<Decision>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = QueryBuilder::<Db>::new(
        "SELECT decision_id, member_id, vote, option, reason, verdict, at FROM decision_ballots WHERE decision_id IN (",
    );
    let mut ids = query.separated(", ");
    for row in &rows {
        ids.push_bind(row.id);
    }
    query.push(") ORDER BY at, member_id");
    let ballots: Vec<BallotRow> = query.build_query_as().fetch_all(&mut *conn).await?;
    let mut by_decision: HashMap<Uuid, Vec<Ballot>> = HashMap::new();
    for row in ballots {
        by_decision
            .entry(row.decision_id)
            .or_default()
            .push(row.try_into()?);
    }
    rows.into_iter()
        .map(|row| {
            let ballots = by_decision.remove(&row.id).unwrap_or_default();
            row.into_decision(ballots)
        })
        .collect()
}

async fn load_decision(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<Decision> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let row: DecisionRow = sqlx::query_as(&format!(
        "SELECT {DECISION_COLUMNS} FROM decisions WHERE id = $1 AND org_id = $2{lock}"
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("decision"))?;
    let mut decisions = with_ballots(conn, vec![row]).await?;
    decisions.pop().ok_or(StoreError::not_found("decision"))
}

/// The principles of every space whose scope holds work of `team_id` or
/// serving `objective_id`, in the order the spaces were made.
async fn space_principles(
    conn: &mut Conn,
    org_id: Uuid,
    team_id: Option<Uuid>,
    objective_id: Option<Uuid>,
) -> Result<Vec<String>> {
    if team_id.is_none() && objective_id.is_none() {
        return Ok(Vec::new());
    }
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT principles FROM decision_spaces WHERE org_id = $1 AND (team_id = $2 OR objective_id = $3) ORDER BY id",
    )
    .bind(org_id)
    .bind(team_id)
    .bind(objective_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut principles: Vec<String> = Vec::new();
    for row in rows {
        for principle in from_json::<Vec<String>>("decision_spaces.principles", &row)? {
            if !principles.contains(&principle) {
                principles.push(principle);
            }
        }
    }
    Ok(principles)
}

fn check_principles(principles: Vec<String>) -> Result<Vec<String>> {
    if principles.len() > MAX_PRINCIPLES {
        return Err(StoreError::invalid(
            "principles",
            format!("at most {MAX_PRINCIPLES} principles"),
        ));
    }
    principles
        .iter()
        .enumerate()
        .map(|(i, p)| text(&format!("principles[{i}]"), p, PRINCIPLE_MAX).map_err(Into::into))
        .collect()
}

/// Validates everything of a space that stands on its own, and compiles
/// its policy against the schema its attributes make.
fn check_space(space: &mut DecisionSpace) -> Result<()> {
    space.name = text("name", &space.name, TITLE_MAX)?;
    space.principles = check_principles(std::mem::take(&mut space.principles))?;
    for name in space.attributes.keys() {
        check_attribute_name(name)?;
    }
    if !(1..=tutti_policy::MAX_QUORUM).contains(&space.quorum) {
        return Err(StoreError::invalid(
            "quorum",
            format!("must be between 1 and {}", tutti_policy::MAX_QUORUM),
        ));
    }
    if space
        .escalate_after_secs
        .is_some_and(|secs| !(60..=MAX_ESCALATE_AFTER_SECS).contains(&secs))
    {
        return Err(StoreError::invalid(
            "escalate_after_secs",
            "must be between 60 seconds and 31 days",
        ));
    }
    if space.policy.len() > 200_000 {
        return Err(StoreError::invalid("policy", "at most 200 000 bytes"));
    }
    tutti_policy::compile(&space.policy, &space.attributes)
        .map_err(|refused| StoreError::invalid("policy", refused.to_string()))?;
    Ok(())
}

async fn check_space_refs(conn: &mut Conn, org_id: Uuid, space: &DecisionSpace) -> Result<()> {
    if space.team_id.is_some() == space.objective_id.is_some() {
        return Err(StoreError::invalid(
            "team_id",
            "a space is scoped to exactly one team or one objective",
        ));
    }
    require(
        &mut *conn,
        "teams",
        org_id,
        space.team_id,
        "team_id",
        "team",
    )
    .await?;
    require(
        &mut *conn,
        "objectives",
        org_id,
        space.objective_id,
        "objective_id",
        "objective",
    )
    .await?;
    if let Some(to) = space.escalate_to {
        let member = load_member(&mut *conn, org_id, to).await.map_err(|_| {
            StoreError::invalid("escalate_to", format!("no member with id {to} in this org"))
        })?;
        if member.kind != MemberKind::Human {
            return Err(StoreError::invalid(
                "escalate_to",
                "decisions escalate to a person, not an AI worker",
            ));
        }
    }
    if space.escalate_after_secs.is_some() != space.escalate_to.is_some() {
        return Err(StoreError::invalid(
            "escalate_to",
            "escalation needs both escalate_after_secs and escalate_to",
        ));
    }
    Ok(())
}

fn check_proposal(decision: &Decision, proposal: &Proposal) -> Result<Proposal> {
    if !decision.options.contains(&proposal.option) {
        return Err(StoreError::invalid(
            "option",
            format!(
                "`{}` is not one of the options: {}",
                proposal.option,
                decision.options.join(" | ")
            ),
        ));
    }
    if !(0.0..=1.0).contains(&proposal.confidence) {
        return Err(StoreError::invalid("confidence", "must be between 0 and 1"));
    }
    Ok(Proposal {
        option: proposal.option.clone(),
        rationale: text("rationale", &proposal.rationale, BODY_MAX)?,
        confidence: proposal.confidence,
    })
}

/// Moves a decision on with a proposal: the AI worker's choice when it may
/// decide, its recommendation when it may prepare.
fn apply_proposal(decision: &mut Decision, proposal: Proposal, now: DateTime<Utc>) {
    match decision.routing.autonomy {
        Autonomy::AiDecides => {
            decision.status = DecisionStatus::Decided;
            decision.choice = Some(proposal.option.clone());
            decision.decided_by = decision.assignee_id;
            decision.reason = Some(proposal.rationale.clone());
            decision.decided_at = Some(now);
        }
        Autonomy::AiPrepares | Autonomy::HumanOnly => {
            decision.status = DecisionStatus::AwaitingApproval
        }
    }
    decision.recommendation = Some(proposal);
}

/// The event that says where a decision now stands.
async fn record_progress(conn: &mut Conn, ctx: &Ctx, decision: &Decision) -> Result<()> {
    let (action, payload) = match decision.status {
        DecisionStatus::Decided => (
            "decision.decided",
            json!({ "choice": decision.choice, "decided_by": decision.decided_by, "reason": decision.reason,
                    "autonomy": decision.routing.autonomy }),
        ),
        DecisionStatus::Rejected => ("decision.rejected", json!({ "reason": decision.reason })),
        DecisionStatus::AwaitingApproval if decision.recommendation.is_some() => (
            "decision.prepared",
            json!({ "recommendation": decision.recommendation, "quorum": decision.routing.quorum }),
        ),
        _ => return Ok(()),
    };
    record(conn, ctx, action, "decision", Some(decision.id), payload).await
}

async fn write_decision_state(conn: &mut Conn, decision: &Decision) -> Result<()> {
    sqlx::query(
        "UPDATE decisions SET status = $1, recommendation = $2, choice = $3, decided_by = $4, reason = $5, \
         decided_at = $6, escalated_to = $7, escalated_at = $8, escalation = $9, outcome = $10, outcome_note = $11, \
         outcome_by = $12, outcome_at = $13, updated_at = $14 WHERE id = $15",
    )
    .bind(decision.status.as_str())
    .bind(decision.recommendation.as_ref().map(to_json).transpose()?)
    .bind(&decision.choice)
    .bind(decision.decided_by)
    .bind(&decision.reason)
    .bind(decision.decided_at)
    .bind(decision.escalated_to)
    .bind(decision.escalated_at)
    .bind(decision.escalation.as_ref().map(to_json).transpose()?)
    .bind(decision.outcome.map(|o| o.as_str()))
    .bind(&decision.outcome_note)
    .bind(decision.outcome_by)
    .bind(decision.outcome_at)
    .bind(decision.updated_at)
    .bind(decision.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Decisions for This {
    async fn create_space(&self, ctx: &Ctx, new: NewSpace) -> Result<DecisionSpace> {
        let mut space = DecisionSpace {
            id: Uuid::now_v7(),
            name: new.name,
            team_id: new.team_id,
            objective_id: new.objective_id,
            principles: new.principles,
            policy: new.policy,
            attributes: new.attributes,
            quorum: new.quorum,
            escalate_after_secs: new.escalate_after_secs,
            escalate_to: new.escalate_to,
            version: 1,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        check_space(&mut space)?;
        let mut tx = self.begin().await?;
        check_space_refs(&mut tx, ctx.org_id, &space).await?;
        sqlx::query(
            "INSERT INTO decision_spaces (id, org_id, name, team_id, objective_id, principles, policy, attributes, quorum, \
             escalate_after_secs, escalate_to, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(space.id)
        .bind(ctx.org_id)
        .bind(&space.name)
        .bind(space.team_id)
        .bind(space.objective_id)
        .bind(to_json(&space.principles)?)
        .bind(&space.policy)
        .bind(to_json(&space.attributes)?)
        .bind(space.quorum)
        .bind(space.escalate_after_secs)
        .bind(space.escalate_to)
        .bind(space.version)
        .bind(ctx.now)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || format!("a decision space named `{}` exists", space.name)))?;
        record(
            &mut tx,
            ctx,
            "decision_space.created",
            "decision_space",
            Some(space.id),
            json!({ "space": space }),
        )
        .await?;
        finish(tx, ctx, 201, &space).await?;
        Ok(space)
    }

    async fn update_space(&self, ctx: &Ctx, id: Uuid, patch: SpacePatch) -> Result<DecisionSpace> {
        let mut tx = self.begin().await?;
        let mut space = load_space(&mut tx, ctx.org_id, id, true).await?;
        if let Some(name) = patch.name {
            space.name = name;
        }
        if let Some(principles) = patch.principles {
            space.principles = principles;
        }
        if let Some(policy) = patch.policy {
            space.policy = policy;
        }
        if let Some(attributes) = patch.attributes {
            space.attributes = attributes;
        }
        if let Some(quorum) = patch.quorum {
            space.quorum = quorum;
        }
        if let Some(after) = patch.escalate_after_secs {
            space.escalate_after_secs = after;
        }
        if let Some(to) = patch.escalate_to {
            space.escalate_to = to;
        }
        check_space(&mut space)?;
        check_space_refs(&mut tx, ctx.org_id, &space).await?;
        space.version += 1;
        space.updated_at = ctx.now;
        sqlx::query(
            "UPDATE decision_spaces SET name = $1, principles = $2, policy = $3, attributes = $4, quorum = $5, \
             escalate_after_secs = $6, escalate_to = $7, version = $8, updated_at = $9 WHERE id = $10",
        )
        .bind(&space.name)
        .bind(to_json(&space.principles)?)
        .bind(&space.policy)
        .bind(to_json(&space.attributes)?)
        .bind(space.quorum)
        .bind(space.escalate_after_secs)
        .bind(space.escalate_to)
        .bind(space.version)
        .bind(ctx.now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || format!("a decision space named `{}` exists", space.name)))?;
        record(
            &mut tx,
            ctx,
            "decision_space.updated",
            "decision_space",
            Some(id),
            json!({ "space": space }),
        )
        .await?;
        finish(tx, ctx, 200, &space).await?;
        Ok(space)
    }

    async fn delete_space(&self, ctx: &Ctx, id: Uuid) -> Result<()> {
        let mut tx = self.begin().await?;
        let space = load_space(&mut tx, ctx.org_id, id, true).await?;
        let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decisions WHERE space_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if held > 0 {
            return Err(StoreError::Conflict(format!(
                "the space holds {held} decision(s) and keeps their register; change its policy instead"
            )));
        }
        sqlx::query("DELETE FROM decision_spaces WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            ctx,
            "decision_space.deleted",
            "decision_space",
            Some(id),
            json!({ "name": space.name }),
        )
        .await?;
        finish(tx, ctx, 204, &()).await
    }

    async fn space(&self, org_id: Uuid, id: Uuid) -> Result<DecisionSpace> {
        load_space(&mut *self.read().await?, org_id, id, false).await
    }

    async fn spaces(&self, org_id: Uuid, page: PageRequest) -> Result<Page<DecisionSpace>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {SPACE_COLUMNS} FROM decision_spaces WHERE org_id = "
        ));
        query.push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<SpaceRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let spaces = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<DecisionSpace>>>()?;
        Ok(page_of(spaces, page, |s| s.id.to_string()))
    }

    async fn create_decision(&self, ctx: &Ctx, new: NewDecision) -> Result<Decision> {
        let question = text("question", &new.question, TITLE_MAX)?;
        let context = optional_text("context", &new.context, BODY_MAX)?;
        if !(2..=MAX_OPTIONS).contains(&new.options.len()) {
            return Err(StoreError::invalid(
                "options",
                format!("a decision has 2 to {MAX_OPTIONS} options"),
            ));
        }
        let mut options = Vec::with_capacity(new.options.len());
        for (i, option) in new.options.iter().enumerate() {
            let option = text(&format!("options[{i}]"), option, TITLE_MAX)?;
            if options.contains(&option) {
                return Err(StoreError::invalid(
                    &format!("options[{i}]"),
                    format!("`{option}` is listed twice"),
                ));
            }
            options.push(option);
        }
        let requested_by = ctx.actor_id.ok_or_else(|| {
            StoreError::invalid("requested_by", "a decision is requested by a member")
        })?;
        let mut tx = self.begin().await?;
        let space = load_space(&mut tx, ctx.org_id, new.space_id, true).await?;
        if space.version != new.space_version {
            return Err(StoreError::Conflict(format!(
                "the space changed (version {} → {}) while the decision was routed; send it again",
                new.space_version, space.version
            )));
        }
        check_attributes(&space.attributes, &new.facts.attributes)?;
        if let Some(assignee) = new.assignee_id {
            let worker = load_member(&mut tx, ctx.org_id, assignee)
                .await
                .map_err(|_| {
                    StoreError::invalid(
                        "assignee_id",
                        format!("no member with id {assignee} in this org"),
                    )
                })?;
            if worker.kind != MemberKind::Ai {
                return Err(StoreError::invalid(
                    "assignee_id",
                    "decisions are assigned to AI workers; people vote on them",
                ));
            }
        }
        require(&mut tx, "runs", ctx.org_id, new.run_id, "run_id", "run").await?;
        let mut decision = Decision {
            id: new.id,
            space_id: space.id,
            question,
            context,
            facts: new.facts,
            options,
            requested_by,
            assignee_id: new.assignee_id,
            run_id: new.run_id,
            status: match new.routing.autonomy {
                Autonomy::AiDecides | Autonomy::AiPrepares => DecisionStatus::Open,
                Autonomy::HumanOnly => DecisionStatus::AwaitingApproval,
            },
            routing: new.routing,
            space_version: space.version,
            recommendation: None,
            ballots: Vec::new(),
            choice: None,
            decided_by: None,
            reason: None,
            decided_at: None,
            deadline: space
                .escalate_after_secs
                .map(|secs| ctx.now + chrono::Duration::seconds(secs)),
            escalated_to: None,
            escalated_at: None,
            escalation: None,
            outcome: None,
            outcome_note: None,
            outcome_by: None,
            outcome_at: None,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        // A proposal only counts where the policy lets the AI worker decide or
        // prepare. A human-only decision goes to people without one, and its
        // routing says the proposal was set aside rather than losing it silently.
        match &new.proposal {
            Some(proposal) if decision.status == DecisionStatus::Open => {
                let proposal = check_proposal(&decision, proposal)?;
                apply_proposal(&mut decision, proposal, ctx.now);
            }
            Some(_) => {
                decision.routing.explanation = format!(
                    "{}; the AI worker's proposal was set aside, because the policy leaves this decision to people",
                    decision.routing.explanation.trim_end_matches('.')
                );
            }
            None => {}
        }
        sqlx::query(
            "INSERT INTO decisions (id, org_id, space_id, question, context, facts, options, requested_by, assignee_id, \
             run_id, status, autonomy, quorum, routing, space_version, deadline, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(decision.id)
        .bind(ctx.org_id)
        .bind(decision.space_id)
        .bind(&decision.question)
        .bind(&decision.context)
        .bind(to_json(&decision.facts)?)
        .bind(to_json(&decision.options)?)
        .bind(decision.requested_by)
        .bind(decision.assignee_id)
        .bind(decision.run_id)
        .bind(decision.status.as_str())
        .bind(decision.routing.autonomy.as_str())
        .bind(decision.routing.quorum)
        .bind(to_json(&decision.routing)?)
        .bind(decision.space_version)
        .bind(decision.deadline)
        .bind(ctx.now)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || format!("a decision with id {} exists", new.id)))?;
        write_decision_state(&mut tx, &decision).await?;
        record(
            &mut tx,
            ctx,
            "decision.requested",
            "decision",
            Some(decision.id),
            json!({ "space_id": space.id, "space_version": space.version, "question": decision.question,
                    "facts": decision.facts, "options": decision.options, "assignee_id": decision.assignee_id,
                    "routing": decision.routing }),
        )
        .await?;
        record_progress(&mut tx, ctx, &decision).await?;
        finish(tx, ctx, 201, &decision).await?;
        Ok(decision)
    }

    async fn propose(&self, ctx: &Ctx, id: Uuid, proposal: Proposal) -> Result<Decision> {
        let mut tx = self.begin().await?;
        let mut decision = load_decision(&mut tx, ctx.org_id, id, true).await?;
        if decision.assignee_id.is_none() || decision.assignee_id != ctx.actor_id {
            return Err(StoreError::invalid(
                "assignee_id",
                "only the AI worker assigned to the decision proposes for it",
            ));
        }
        if decision.status != DecisionStatus::Open {
            return Err(StoreError::Conflict(format!(
                "the decision is {}; only an open decision takes a proposal",
                decision.status
            )));
        }
        let proposal = check_proposal(&decision, &proposal)?;
        apply_proposal(&mut decision, proposal, ctx.now);
        decision.updated_at = ctx.now;
        write_decision_state(&mut tx, &decision).await?;
        record_progress(&mut tx, ctx, &decision).await?;
        finish(tx, ctx, 200, &decision).await?;
        Ok(decision)
    }

    async fn claim_drafts(
        &self,
        node: &EngineNode,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Draft>> {
        let mut tx = self.begin().await?;
        let ids: Vec<(Uuid, Uuid)> = sqlx::query_as(&format!(
            "SELECT d.org_id, d.id FROM decisions d \
             WHERE d.status = 'open' AND d.recommendation IS NULL \
               AND (d.drafting_until IS NULL OR d.drafting_until <= $1) \
               AND EXISTS (SELECT 1 FROM members w WHERE w.id = d.assignee_id AND w.kind = 'ai') \
               AND EXISTS (SELECT 1 FROM members r WHERE r.id = d.requested_by AND r.kind = 'human') \
               AND {} \
             ORDER BY d.created_at LIMIT $2{SKIP_LOCKED}",
            node_may_take("d.assignee_id", "$3", "$1")
        ))
        .bind(now)
        .bind(limit)
        .bind(node.embedded_model)
        .fetch_all(&mut *tx)
        .await?;
        let mut drafts = Vec::with_capacity(ids.len());
        for (org_id, id) in ids {
            sqlx::query("UPDATE decisions SET drafting_until = $1 WHERE id = $2")
                .bind(hold_until)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let decision = load_decision(&mut tx, org_id, id, false).await?;
            let space = load_space(&mut tx, org_id, decision.space_id, false).await?;
            let Some(worker_id) = decision.assignee_id else {
                continue;
            };
            let worker = load_member(&mut tx, org_id, worker_id).await?;
            drafts.push(Draft {
                org_id,
                decision,
                space,
                worker,
            });
        }
        tx.commit().await?;
        Ok(drafts)
    }

    async fn hand_to_people(&self, ctx: &Ctx, id: Uuid, why: String) -> Result<Decision> {
        let why = text("why", &why, BODY_MAX)?;
        let mut tx = self.begin().await?;
        let mut decision = load_decision(&mut tx, ctx.org_id, id, true).await?;
        if decision.status != DecisionStatus::Open {
            return Err(StoreError::Conflict(format!(
                "the decision is {}; only an open decision is handed to people",
                decision.status
            )));
        }
        decision.status = DecisionStatus::AwaitingApproval;
        decision.routing.quorum = decision.routing.quorum.max(1);
        decision.routing.explanation = format!(
            "{}; the AI worker could not propose ({why}), so people decide",
            decision.routing.explanation.trim_end_matches('.')
        );
        decision.updated_at = ctx.now;
        sqlx::query(
            "UPDATE decisions SET quorum = $1, routing = $2, drafting_until = NULL WHERE id = $3",
        )
        .bind(decision.routing.quorum)
        .bind(to_json(&decision.routing)?)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        write_decision_state(&mut tx, &decision).await?;
        record(
            &mut tx,
            ctx,
            "decision.handed_to_people",
            "decision",
            Some(id),
            json!({ "why": why, "quorum": decision.routing.quorum }),
        )
        .await?;
        finish(tx, ctx, 200, &decision).await?;
        Ok(decision)
    }

    async fn cast_ballot(&self, ctx: &Ctx, id: Uuid, ballot: Ballot) -> Result<Decision> {
        let mut tx = self.begin().await?;
        let mut decision = load_decision(&mut tx, ctx.org_id, id, true).await?;
        let voter = load_member(&mut tx, ctx.org_id, ballot.member_id).await?;
        if voter.kind != MemberKind::Human {
            return Err(StoreError::invalid(
                "member_id",
                "AI workers never approve or reject decisions",
            ));
        }
        if !ballot.verdict.allowed {
            return Err(StoreError::invalid("member_id", ballot.verdict.explain()));
        }
        if !decision.status.takes_votes() {
            return Err(StoreError::Conflict(format!(
                "the decision is {}; it takes no votes",
                decision.status
            )));
        }
        let reason = text("reason", &ballot.reason, BODY_MAX)?;
        let option = match (ballot.vote, &ballot.option) {
            (Vote::Approve, None) => {
                return Err(StoreError::invalid(
                    "option",
                    "an approval names the option it approves",
                ));
            }
            (Vote::Approve, Some(option)) if !decision.options.contains(option) => {
                return Err(StoreError::invalid(
                    "option",
                    format!(
                        "`{option}` is not one of the options: {}",
                        decision.options.join(" | ")
                    ),
                ));
            }
            (_, option) => option.clone(),
        };
        sqlx::query(
            "INSERT INTO decision_ballots (decision_id, member_id, org_id, vote, option, reason, verdict, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(ballot.member_id)
        .bind(ctx.org_id)
        .bind(ballot.vote.as_str())
        .bind(&option)
        .bind(&reason)
        .bind(to_json(&ballot.verdict)?)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || format!("{} has already voted on this decision", voter.name)))?;
        record(
            &mut tx,
            ctx,
            if ballot.vote == Vote::Approve { "decision.approved" } else { "decision.rejected_by" },
            "decision",
            Some(id),
            json!({ "member_id": ballot.member_id, "option": option, "reason": reason, "verdict": ballot.verdict }),
        )
        .await?;
        decision.ballots.push(Ballot {
            option,
            reason: reason.clone(),
            at: ctx.now,
            ..ballot
        });
        let before = decision.status;
        let empowered = decision
            .escalation
            .as_ref()
            .filter(|verdict| verdict.allowed)
            .map(|verdict| verdict.principal_id);
        match tally(
            &decision.ballots,
            decision.routing.quorum,
            decision.requested_by,
            empowered,
        ) {
            Tally::Waiting { .. } => {}
            Tally::Decided { option } => {
                let approvers: Vec<&Ballot> = decision
                    .ballots
                    .iter()
                    .filter(|b| {
                        b.vote == Vote::Approve && b.option.as_deref() == Some(option.as_str())
                    })
                    .collect();
                decision.reason = Some(
                    approvers
                        .iter()
                        .map(|b| b.reason.as_str())
                        .collect::<Vec<_>>()
                        .join(" · "),
                );
                decision.choice = Some(option);
                decision.decided_by = Some(ctx.actor_id.unwrap_or(voter.id));
                decision.decided_at = Some(ctx.now);
                decision.status = DecisionStatus::Decided;
            }
            Tally::Rejected => {
                decision.reason = Some(reason);
                decision.decided_by = Some(voter.id);
                decision.decided_at = Some(ctx.now);
                decision.status = DecisionStatus::Rejected;
            }
        }
        decision.updated_at = ctx.now;
        write_decision_state(&mut tx, &decision).await?;
        if decision.status != before {
            record_progress(&mut tx, ctx, &decision).await?;
        }
        finish(tx, ctx, 200, &decision).await?;
        Ok(decision)
    }

    async fn escalate(
        &self,
        ctx: &Ctx,
        id: Uuid,
        to: Option<Uuid>,
        verdict: Option<PolicyVerdict>,
    ) -> Result<Option<Decision>> {
        let mut tx = self.begin().await?;
        let mut decision = load_decision(&mut tx, ctx.org_id, id, true).await?;
        let waiting = matches!(
            decision.status,
            DecisionStatus::Open | DecisionStatus::AwaitingApproval
        );
        if !waiting || decision.deadline.is_none_or(|deadline| deadline > ctx.now) {
            return Ok(None);
        }
        decision.status = DecisionStatus::Escalated;
        decision.escalated_to = to;
        decision.escalated_at = Some(ctx.now);
        decision.escalation = verdict;
        decision.updated_at = ctx.now;
        write_decision_state(&mut tx, &decision).await?;
        let explanation = match (&decision.escalation, to) {
            (Some(v), Some(_)) if v.allowed => format!(
                "past its deadline; {}, who may now decide alone",
                v.explain()
            ),
            (Some(v), Some(_)) => format!(
                "past its deadline; {}, so the quorum still applies",
                v.explain()
            ),
            _ => "past its deadline; the space names nobody to escalate to".to_owned(),
        };
        record(
            &mut tx,
            ctx,
            "decision.escalated",
            "decision",
            Some(id),
            json!({ "deadline": decision.deadline, "escalated_to": to, "verdict": decision.escalation,
                    "explanation": explanation }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(decision))
    }

    async fn overdue_decisions(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Overdue>> {
        let mut conn = self.read().await?;
        let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT org_id, id FROM decisions WHERE status IN ('open', 'awaiting_approval') AND deadline <= $1 \
             ORDER BY deadline LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        let mut overdue = Vec::with_capacity(rows.len());
        for (org_id, id) in rows {
            let decision = load_decision(&mut conn, org_id, id, false).await?;
            let space = load_space(&mut conn, org_id, decision.space_id, false).await?;
            overdue.push(Overdue {
                org_id,
                decision,
                space,
            });
        }
        Ok(overdue)
    }

    async fn review_outcome(
        &self,
        ctx: &Ctx,
        id: Uuid,
        outcome: Outcome,
        note: String,
    ) -> Result<Decision> {
        let note = optional_text("note", &note, BODY_MAX)?;
        let mut tx = self.begin().await?;
        let mut decision = load_decision(&mut tx, ctx.org_id, id, true).await?;
        if decision.status != DecisionStatus::Decided {
            return Err(StoreError::Conflict(format!(
                "the decision is {}; only a decided one has an outcome",
                decision.status
            )));
        }
        decision.outcome = Some(outcome);
        decision.outcome_note = Some(note.clone());
        decision.outcome_by = ctx.actor_id;
        decision.outcome_at = Some(ctx.now);
        decision.updated_at = ctx.now;
        write_decision_state(&mut tx, &decision).await?;
        record(
            &mut tx,
            ctx,
            "decision.outcome_reviewed",
            "decision",
            Some(id),
            json!({ "outcome": outcome, "note": note, "followed_recommendation": decision.followed_recommendation() }),
        )
        .await?;
        finish(tx, ctx, 200, &decision).await?;
        Ok(decision)
    }

    async fn decision(&self, org_id: Uuid, id: Uuid) -> Result<Decision> {
        load_decision(&mut *self.read().await?, org_id, id, false).await
    }

    async fn decisions(
        &self,
        org_id: Uuid,
        filter: &DecisionFilter,
        page: PageRequest,
    ) -> Result<Page<Decision>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {DECISION_COLUMNS} FROM decisions WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(space) = filter.space_id {
            query.push(" AND space_id = ").push_bind(space);
        }
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if filter.waiting {
            query.push(" AND status IN ('awaiting_approval', 'escalated')");
        }
        if let Some(requester) = filter.requested_by {
            query.push(" AND requested_by = ").push_bind(requester);
        }
        if let Some(assignee) = filter.assignee_id {
            query.push(" AND assignee_id = ").push_bind(assignee);
        }
        push_page(&mut query, page);
        let mut conn = self.read().await?;
        let rows: Vec<DecisionRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let decisions = with_ballots(&mut conn, rows).await?;
        Ok(page_of(decisions, page, |d| d.id.to_string()))
    }
}
