// Decision spaces and decisions; see `decisions.rs` for the contract. The
// rules of a decision's life are `tutti_domain::decision`'s; each write here
// loads the decision under its lock, applies the rule and stores the result.

const SPACE_COLUMNS: &str = "id, name, team_id, objective_id, principles, policy, attributes, quorum, \
     escalate_after_secs, escalate_to, version, created_at, updated_at";

const DECISION_COLUMNS: &str = "id, space_id, question, context, facts, options, requested_by, assignee_id, \
     run_id, status, quorum, routing, space_version, recommendation, choice, decided_by, reason, decided_at, \
     deadline, escalated_to, escalated_at, escalation, outcome, outcome_note, outcome_by, outcome_at, \
     created_at, updated_at";

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

/// The guard-rail checks of every space whose scope holds work of
/// `team_id` or serving `objective_id`, in the order the spaces were made.
async fn space_guards(
    conn: &mut Conn,
    org_id: Uuid,
    team_id: Option<Uuid>,
    objective_id: Option<Uuid>,
) -> Result<Vec<tutti_domain::guard::GuardCheck>> {
    if team_id.is_none() && objective_id.is_none() {
        return Ok(Vec::new());
    }
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT guards FROM decision_spaces WHERE org_id = $1 AND (team_id = $2 OR objective_id = $3) ORDER BY id",
    )
    .bind(org_id)
    .bind(team_id)
    .bind(objective_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut checks = Vec::new();
    for row in rows {
        checks.extend(from_json::<Vec<tutti_domain::guard::GuardCheck>>(
            "decision_spaces.guards",
            &row,
        )?);
    }
    Ok(checks)
}

/// Checks what a space refers to: its team or objective is of the org, and
/// its escalation target is a person of the org.
async fn check_space_refs(conn: &mut Conn, org_id: Uuid, space: &DecisionSpace) -> Result<()> {
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
    let target = match space.escalate_to {
        Some(to) => match load_member(&mut *conn, org_id, to).await {
            Ok(member) => Some(member),
            Err(StoreError::NotFound { .. }) => None,
            Err(other) => return Err(other),
        },
        None => None,
    };
    space.check_escalation_target(target.as_ref())?;
    Ok(())
}

/// Writes a space's row as it now stands.
fn space_json(space: &DecisionSpace) -> Result<(String, String)> {
    Ok((to_json(&space.principles)?, to_json(&space.attributes)?))
}

/// The event that says where a decision now stands.
async fn append_progress_event(conn: &mut Conn, ctx: &Ctx, decision: &Decision) -> Result<()> {
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
    append_event(conn, ctx, action, "decision", Some(decision.id), payload).await?;
    // A gate's verdict waits on this decision: settle it with it.
    settle_verdict_of(conn, ctx, decision).await
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

/// Routes and stores a new decision in `conn`'s transaction, with its events.
async fn insert_decision(conn: &mut Conn, ctx: &Ctx, new: NewDecision) -> Result<Decision> {
    let requested_by = ctx.actor_id.ok_or_else(|| {
        StoreError::invalid("requested_by", "a decision is requested by a member")
    })?;
    let space = load_space(&mut *conn, ctx.org_id, new.space_id, true).await?;
    let assignee = match new.assignee_id {
        Some(id) => match load_member(&mut *conn, ctx.org_id, id).await {
            Ok(member) => Some(member),
            Err(StoreError::NotFound { .. }) => None,
            Err(other) => return Err(other),
        },
        None => None,
    };
    require(&mut *conn, "runs", ctx.org_id, new.run_id, "run_id", "run").await?;
    let id = new.id;
    let decision = Decision::routed(new, &space, assignee.as_ref(), requested_by, ctx.now)?;
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
    .execute(&mut *conn)
    .await
    .map_err(|e| StoreError::conflict_on_unique(e, || format!("a decision with id {id} exists")))?;
    write_decision_state(&mut *conn, &decision).await?;
    append_event(
        &mut *conn,
        ctx,
        "decision.requested",
        "decision",
        Some(decision.id),
        json!({ "space_id": space.id, "space_version": space.version, "question": decision.question,
                "facts": decision.facts, "options": decision.options, "assignee_id": decision.assignee_id,
                "routing": decision.routing }),
    )
    .await?;
    append_progress_event(&mut *conn, ctx, &decision).await?;
    Ok(decision)
}

/// Writes a new space's row.
async fn insert_space(
    conn: &mut Conn,
    org_id: Uuid,
    space: &DecisionSpace,
) -> std::result::Result<(), sqlx::Error> {
    let (principles, attributes) = space_json(space).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(
        "INSERT INTO decision_spaces (id, org_id, name, team_id, objective_id, principles, policy, attributes, quorum, \
         escalate_after_secs, escalate_to, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(space.id)
    .bind(org_id)
    .bind(&space.name)
    .bind(space.team_id)
    .bind(space.objective_id)
    .bind(principles)
    .bind(&space.policy)
    .bind(attributes)
    .bind(space.quorum)
    .bind(space.escalate_after_secs)
    .bind(space.escalate_to)
    .bind(space.version)
    .bind(space.created_at)
    .bind(space.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl crate::Decisions for BackendStore {
    async fn create_space(&self, ctx: &Ctx, space: DecisionSpace) -> Result<DecisionSpace> {
        let mut tx = self.begin().await?;
        check_space_refs(&mut tx, ctx.org_id, &space).await?;
        insert_space(&mut tx, ctx.org_id, &space)
            .await
            .map_err(|e| {
                StoreError::conflict_on_unique(e, || {
                    format!("a decision space named `{}` exists", space.name)
                })
            })?;
        append_event(
            &mut tx,
            ctx,
            "decision_space.created",
            "decision_space",
            Some(space.id),
            json!({ "space": space }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &space).await?;
        Ok(space)
    }

    async fn update_space(&self, ctx: &Ctx, space: DecisionSpace) -> Result<DecisionSpace> {
        let mut tx = self.begin().await?;
        let stored = load_space(&mut tx, ctx.org_id, space.id, true).await?;
        if stored.version + 1 != space.version {
            return Err(StoreError::Conflict(format!(
                "the space was changed meanwhile (version {} → {}); load it again and repeat the change",
                space.version - 1,
                stored.version
            )));
        }
        check_space_refs(&mut tx, ctx.org_id, &space).await?;
        let (principles, attributes) = space_json(&space)?;
        sqlx::query(
            "UPDATE decision_spaces SET name = $1, principles = $2, policy = $3, attributes = $4, quorum = $5, \
             escalate_after_secs = $6, escalate_to = $7, version = $8, updated_at = $9 WHERE id = $10",
        )
        .bind(&space.name)
        .bind(principles)
        .bind(&space.policy)
        .bind(attributes)
        .bind(space.quorum)
        .bind(space.escalate_after_secs)
        .bind(space.escalate_to)
        .bind(space.version)
        .bind(space.updated_at)
        .bind(space.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            StoreError::conflict_on_unique(e, || {
                format!("a decision space named `{}` exists", space.name)
            })
        })?;
        append_event(
            &mut tx,
            ctx,
            "decision_space.updated",
            "decision_space",
            Some(space.id),
            json!({ "space": space }),
        )
        .await?;
        commit_with_response(tx, ctx, 200, &space).await?;
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
        append_event(
            &mut tx,
            ctx,
            "decision_space.deleted",
            "decision_space",
            Some(id),
            json!({ "name": space.name }),
        )
        .await?;
        commit_with_response(tx, ctx, 204, &()).await
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
        let mut tx = self.begin().await?;
        let decision = insert_decision(&mut tx, ctx, new).await?;
        commit_with_response(tx, ctx, 201, &decision).await?;
        Ok(decision)
    }

    async fn propose(&self, ctx: &Ctx, id: Uuid, proposal: Proposal) -> Result<Decision> {
        let mut tx = self.begin().await?;
        let mut decision = load_decision(&mut tx, ctx.org_id, id, true).await?;
        let by = ctx.actor_id.unwrap_or_default();
        decision.propose(by, &proposal, ctx.now)?;
        write_decision_state(&mut tx, &decision).await?;
        append_progress_event(&mut tx, ctx, &decision).await?;
        commit_with_response(tx, ctx, 200, &decision).await?;
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
        let mut tx = self.begin().await?;
        let mut decision = load_decision(&mut tx, ctx.org_id, id, true).await?;
        let why = decision.hand_to_people(&why, ctx.now)?;
        sqlx::query(
            "UPDATE decisions SET quorum = $1, routing = $2, drafting_until = NULL WHERE id = $3",
        )
        .bind(decision.routing.quorum)
        .bind(to_json(&decision.routing)?)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        write_decision_state(&mut tx, &decision).await?;
        append_event(
            &mut tx,
            ctx,
            "decision.handed_to_people",
            "decision",
            Some(id),
            json!({ "why": why, "quorum": decision.routing.quorum }),
        )
        .await?;
        commit_with_response(tx, ctx, 200, &decision).await?;
        Ok(decision)
    }

    async fn cast_ballot(&self, ctx: &Ctx, id: Uuid, ballot: Ballot) -> Result<Decision> {
        let mut tx = self.begin().await?;
        let mut decision = load_decision(&mut tx, ctx.org_id, id, true).await?;
        let voter = load_member(&mut tx, ctx.org_id, ballot.member_id).await?;
        let before = decision.status;
        let ballot = decision.cast(&voter, ballot, ctx.now)?;
        sqlx::query(
            "INSERT INTO decision_ballots (decision_id, member_id, org_id, vote, option, reason, verdict, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(ballot.member_id)
        .bind(ctx.org_id)
        .bind(ballot.vote.as_str())
        .bind(&ballot.option)
        .bind(&ballot.reason)
        .bind(to_json(&ballot.verdict)?)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || format!("{} has already voted on this decision", voter.name)))?;
        append_event(
            &mut tx,
            ctx,
            if ballot.vote == Vote::Approve { "decision.approved" } else { "decision.rejected_by" },
            "decision",
            Some(id),
            json!({ "member_id": ballot.member_id, "option": ballot.option, "reason": ballot.reason, "verdict": ballot.verdict }),
        )
        .await?;
        write_decision_state(&mut tx, &decision).await?;
        if decision.status != before {
            append_progress_event(&mut tx, ctx, &decision).await?;
        }
        commit_with_response(tx, ctx, 200, &decision).await?;
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
        let Some(explanation) = decision.escalate(to, verdict, ctx.now) else {
            return Ok(None);
        };
        write_decision_state(&mut tx, &decision).await?;
        append_event(
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
        let mut tx = self.begin().await?;
        let mut decision = load_decision(&mut tx, ctx.org_id, id, true).await?;
        let note = decision.record_outcome(outcome, &note, ctx.actor_id, ctx.now)?;
        write_decision_state(&mut tx, &decision).await?;
        append_event(
            &mut tx,
            ctx,
            "decision.outcome_reviewed",
            "decision",
            Some(id),
            json!({ "outcome": outcome, "note": note, "followed_recommendation": decision.followed_recommendation() }),
        )
        .await?;
        commit_with_response(tx, ctx, 200, &decision).await?;
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
