// Flows, gates, cases, checks, verdicts and learnings; see `flows.rs` for
// the contract. The rules are `tutti_domain::service::flow` and `::learning`;
// each write loads what they judge under its lock and stores the result
// with its audit event.

const FLOW_COLUMNS: &str = "id, name, description, stages, space_id, created_at";
const GATE_COLUMNS: &str = "id, flow_id, position, name, criteria, version, updated_at";
const CASE_COLUMNS: &str = "id, flow_id, title, customer, work_item_id, stage, status, stage_since, round, \
     hold_until, hold_reason, redo, opened_by, created_at, updated_at";
const CHECK_COLUMNS: &str = "id, case_id, gate_id, criterion, check_by, round, outcome, reason, checked_by, \
     requested_by, requested_at, checked_at";
const VERDICT_COLUMNS: &str = "id, case_id, gate_id, gate_version, proposed, given, status, note, snapshot, \
     decision_id, proposed_by, proposed_at, settled_at";
const LEARNING_COLUMNS: &str = "id, title, body, team_id, promise_id, gate_id, service_product_id, amendment, \
     status, author_id, created_at, answered_by, answered_at, answer, made_version";

fn json_of<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))
}

fn json_column<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn enum_column<T: std::str::FromStr>(column: &str, text: &str) -> Result<T> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column}: `{text}`")))
}

#[derive(sqlx::FromRow)]
struct FlowRow {
    id: Uuid,
    name: String,
    description: String,
    stages: String,
    space_id: Uuid,
    created_at: DateTime<Utc>,
}

impl TryFrom<FlowRow> for Flow {
    type Error = StoreError;
    fn try_from(r: FlowRow) -> Result<Self> {
        Ok(Flow {
            id: r.id,
            name: r.name,
            description: r.description,
            stages: json_column("flows.stages", &r.stages)?,
            space_id: r.space_id,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct GateRow {
    id: Uuid,
    flow_id: Uuid,
    position: i64,
    name: String,
    criteria: String,
    version: i64,
    updated_at: DateTime<Utc>,
}

impl TryFrom<GateRow> for Gate {
    type Error = StoreError;
    fn try_from(r: GateRow) -> Result<Self> {
        Ok(Gate {
            id: r.id,
            flow_id: r.flow_id,
            position: r.position,
            name: r.name,
            criteria: json_column("gates.criteria", &r.criteria)?,
            version: r.version,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct GateVersionRow {
    version: i64,
    criteria: String,
    learning_id: Option<Uuid>,
    changed_by: Option<Uuid>,
    at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: Uuid,
    flow_id: Uuid,
    title: String,
    customer: String,
    work_item_id: Option<Uuid>,
    stage: i64,
    status: String,
    stage_since: DateTime<Utc>,
    round: i64,
    hold_until: Option<DateTime<Utc>>,
    hold_reason: String,
    redo: String,
    opened_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CaseRow> for Case {
    type Error = StoreError;
    fn try_from(r: CaseRow) -> Result<Self> {
        Ok(Case {
            id: r.id,
            flow_id: r.flow_id,
            title: r.title,
            customer: r.customer,
            work_item_id: r.work_item_id,
            stage: r.stage,
            status: enum_column("cases.status", &r.status)?,
            stage_since: r.stage_since,
            round: r.round,
            hold_until: r.hold_until,
            hold_reason: r.hold_reason,
            redo: r.redo,
            opened_by: r.opened_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CheckRow {
    id: Uuid,
    case_id: Uuid,
    gate_id: Uuid,
    criterion: String,
    check_by: String,
    round: i64,
    outcome: String,
    reason: String,
    checked_by: Uuid,
    requested_by: Uuid,
    requested_at: DateTime<Utc>,
    checked_at: Option<DateTime<Utc>>,
}

impl TryFrom<CheckRow> for CriterionCheck {
    type Error = StoreError;
    fn try_from(r: CheckRow) -> Result<Self> {
        Ok(CriterionCheck {
            id: r.id,
            case_id: r.case_id,
            gate_id: r.gate_id,
            criterion: r.criterion,
            check_by: enum_column("criterion_checks.check_by", &r.check_by)?,
            round: r.round,
            outcome: enum_column("criterion_checks.outcome", &r.outcome)?,
            reason: r.reason,
            checked_by: r.checked_by,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            checked_at: r.checked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct VerdictRow {
    id: Uuid,
    case_id: Uuid,
    gate_id: Uuid,
    gate_version: i64,
    proposed: String,
    given: Option<String>,
    status: String,
    note: String,
    snapshot: String,
    decision_id: Uuid,
    proposed_by: Uuid,
    proposed_at: DateTime<Utc>,
    settled_at: Option<DateTime<Utc>>,
}

impl TryFrom<VerdictRow> for GateVerdict {
    type Error = StoreError;
    fn try_from(r: VerdictRow) -> Result<Self> {
        Ok(GateVerdict {
            id: r.id,
            case_id: r.case_id,
            gate_id: r.gate_id,
            gate_version: r.gate_version,
            proposed: json_column("gate_verdicts.proposed", &r.proposed)?,
            given: r
                .given
                .as_deref()
                .map(|g| json_column("gate_verdicts.given", g))
                .transpose()?,
            status: enum_column("gate_verdicts.status", &r.status)?,
            note: r.note,
            snapshot: json_column("gate_verdicts.snapshot", &r.snapshot)?,
            decision_id: r.decision_id,
            proposed_by: r.proposed_by,
            proposed_at: r.proposed_at,
            settled_at: r.settled_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LearningRow {
    id: Uuid,
    title: String,
    body: String,
    team_id: Option<Uuid>,
    promise_id: Option<Uuid>,
    gate_id: Option<Uuid>,
    service_product_id: Option<Uuid>,
    amendment: Option<String>,
    status: String,
    author_id: Uuid,
    created_at: DateTime<Utc>,
    answered_by: Option<Uuid>,
    answered_at: Option<DateTime<Utc>>,
    answer: String,
    made_version: Option<i64>,
}

impl TryFrom<LearningRow> for Learning {
    type Error = StoreError;
    fn try_from(r: LearningRow) -> Result<Self> {
        Ok(Learning {
            id: r.id,
            title: r.title,
            body: r.body,
            team_id: r.team_id,
            subject: LearningSubject {
                promise_id: r.promise_id,
                gate_id: r.gate_id,
                service_product_id: r.service_product_id,
            },
            amendment: r
                .amendment
                .as_deref()
                .map(|a| json_column("learnings.amendment", a))
                .transpose()?,
            status: enum_column("learnings.status", &r.status)?,
            author_id: r.author_id,
            created_at: r.created_at,
            answered_by: r.answered_by,
            answered_at: r.answered_at,
            answer: r.answer,
            made_version: r.made_version,
        })
    }
}

/// One row of `table` in the org, as `T`; `lock` takes it for the
/// transaction. `NotFound` naming `what` otherwise.
async fn load_row<R, T>(
    conn: &mut Conn,
    (table, columns, what): (&str, &str, &'static str),
    org_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<T>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    T: TryFrom<R, Error = StoreError>,
{
    let row: R = sqlx::query_as(&format!(
        "SELECT {columns} FROM {table} WHERE id = $1 AND org_id = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found(what))?;
    row.try_into()
}

async fn load_flow(conn: &mut Conn, org_id: Uuid, id: Uuid) -> Result<Flow> {
    load_row::<FlowRow, _>(conn, ("flows", FLOW_COLUMNS, "flow"), org_id, id, false).await
}

async fn load_gate(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<Gate> {
    load_row::<GateRow, _>(conn, ("gates", GATE_COLUMNS, "gate"), org_id, id, lock).await
}

async fn load_case(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<Case> {
    load_row::<CaseRow, _>(conn, ("cases", CASE_COLUMNS, "case"), org_id, id, lock).await
}

async fn load_check(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<CriterionCheck> {
    let what = ("criterion_checks", CHECK_COLUMNS, "check");
    load_row::<CheckRow, _>(conn, what, org_id, id, lock).await
}

async fn load_learning(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<Learning> {
    let what = ("learnings", LEARNING_COLUMNS, "learning");
    load_row::<LearningRow, _>(conn, what, org_id, id, lock).await
}

/// Refuses an AI criterion whose worker is not one of the org's AI workers.
async fn require_ai_workers(
    conn: &mut Conn,
    org_id: Uuid,
    criteria: &[Criterion],
    field: &str,
) -> Result<()> {
    for (i, criterion) in criteria.iter().enumerate() {
        let Some(worker) = criterion.worker_id else {
            continue;
        };
        let kind: Option<String> =
            sqlx::query_scalar("SELECT kind FROM members WHERE id = $1 AND org_id = $2")
                .bind(worker)
                .bind(org_id)
                .fetch_optional(&mut *conn)
                .await?;
        if kind.as_deref() != Some("ai") {
            return Err(StoreError::invalid(
                &format!("{field}[{i}].worker_id"),
                format!("no AI worker with id {worker} in this org"),
            ));
        }
    }
    Ok(())
}

/// Writes a gate's criteria as its next version, made by `learning_id` if
/// a learning made it.
async fn write_gate_version(
    conn: &mut Conn,
    ctx: &Ctx,
    gate: &Gate,
    learning_id: Option<Uuid>,
) -> Result<()> {
    let criteria = json_of(&gate.criteria)?;
    sqlx::query("UPDATE gates SET criteria = $1, version = $2, updated_at = $3 WHERE id = $4")
        .bind(&criteria)
        .bind(gate.version)
        .bind(ctx.now)
        .bind(gate.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO gate_versions (gate_id, version, org_id, criteria, learning_id, changed_by, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(gate.id)
    .bind(gate.version)
    .bind(ctx.org_id)
    .bind(&criteria)
    .bind(learning_id)
    .bind(ctx.actor_id)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    append_event(
        conn,
        ctx,
        "gate.criteria_changed",
        "gate",
        Some(gate.id),
        json!({ "version": gate.version, "criteria": gate.criteria, "learning_id": learning_id }),
    )
    .await
}

async fn write_case(conn: &mut Conn, case: &Case) -> Result<()> {
    sqlx::query(
        "UPDATE cases SET stage = $1, status = $2, stage_since = $3, hold_until = $4, hold_reason = $5, \
         redo = $6, updated_at = $7, round = $9 WHERE id = $8",
    )
    .bind(case.stage)
    .bind(case.status.as_str())
    .bind(case.stage_since)
    .bind(case.hold_until)
    .bind(&case.hold_reason)
    .bind(&case.redo)
    .bind(case.updated_at)
    .bind(case.id)
    .bind(case.round)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Settles the gate verdict that waits on `decision`, if one does and the
/// decision is final: gives it (moving the case) or refuses it, in the
/// decision's own transaction.
async fn settle_verdict_of(conn: &mut Conn, ctx: &Ctx, decision: &Decision) -> Result<()> {
    if !decision.status.is_final() {
        return Ok(());
    }
    let row: Option<VerdictRow> = sqlx::query_as(&format!(
        "SELECT {VERDICT_COLUMNS} FROM gate_verdicts WHERE decision_id = $1 AND org_id = $2 AND status = 'pending'{FOR_UPDATE}"
    ))
    .bind(decision.id)
    .bind(ctx.org_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let mut verdict: GateVerdict = row.try_into()?;
    let mut case = load_case(conn, ctx.org_id, verdict.case_id, true).await?;
    let from_stage = case.stage;
    if let Some(terms) = verdict.settle(decision, ctx.now) {
        let gate = load_gate(conn, ctx.org_id, verdict.gate_id, false).await?;
        match case.may_be_judged_at(&gate) {
            Ok(()) => {
                let flow = load_flow(conn, ctx.org_id, case.flow_id).await?;
                case.apply(&terms, flow.stages.len(), ctx.now);
                write_case(conn, &case).await?;
            }
            Err(why) => {
                verdict.status = tutti_domain::service::VerdictStatus::Refused;
                verdict.given = None;
                verdict.note = why.to_string();
            }
        }
    }
    sqlx::query(
        "UPDATE gate_verdicts SET given = $1, verdict = $2, status = $3, note = $4, settled_at = $5 WHERE id = $6",
    )
    .bind(verdict.given.as_ref().map(json_of).transpose()?)
    .bind(verdict.given.as_ref().map(|g| g.verdict.as_str()))
    .bind(verdict.status.as_str())
    .bind(&verdict.note)
    .bind(verdict.settled_at)
    .bind(verdict.id)
    .execute(&mut *conn)
    .await?;
    append_event(
        conn,
        ctx,
        if verdict.given.is_some() { "case.verdict_given" } else { "case.verdict_refused" },
        "case",
        Some(case.id),
        json!({ "verdict_id": verdict.id, "gate_id": verdict.gate_id, "given": verdict.given,
                "note": verdict.note, "from_stage": from_stage, "stage": case.stage, "status": case.status }),
    )
    .await
}

impl crate::Flows for BackendStore {
    async fn create_flow(&self, ctx: &Ctx, new: NewFlow) -> Result<Flow> {
        let (name, description, stages) =
            tutti_domain::service::check_flow(&new.name, &new.description, &new.stages)?;
        let flow = Flow {
            id: Uuid::now_v7(),
            name,
            description,
            stages,
            space_id: new.space_id,
            created_at: ctx.now,
        };
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "decision_spaces",
            ctx.org_id,
            Some(flow.space_id),
            "space_id",
            "decision space",
        )
        .await?;
        for (i, stage) in flow.stages.iter().enumerate() {
            require(
                &mut tx,
                "teams",
                ctx.org_id,
                stage.team_id,
                &format!("stages[{i}].team_id"),
                "team",
            )
            .await?;
        }
        sqlx::query(&format!(
            "INSERT INTO flows (org_id, {FLOW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(ctx.org_id)
        .bind(flow.id)
        .bind(&flow.name)
        .bind(&flow.description)
        .bind(json_of(&flow.stages)?)
        .bind(flow.space_id)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await?;
        let mut gates = Vec::new();
        for (position, pair) in flow.stages.windows(2).enumerate() {
            let gate = Gate {
                id: Uuid::now_v7(),
                flow_id: flow.id,
                position: i64::try_from(position).unwrap_or(i64::MAX),
                name: tutti_domain::service::gate_name(&pair[0].name, &pair[1].name),
                criteria: Vec::new(),
                version: 1,
                updated_at: ctx.now,
            };
            sqlx::query(&format!(
                "INSERT INTO gates (org_id, {GATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(ctx.org_id)
            .bind(gate.id)
            .bind(gate.flow_id)
            .bind(gate.position)
            .bind(&gate.name)
            .bind("[]")
            .bind(gate.version)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO gate_versions (gate_id, version, org_id, criteria, learning_id, changed_by, at) \
                 VALUES ($1, 1, $2, '[]', NULL, $3, $4)",
            )
            .bind(gate.id)
            .bind(ctx.org_id)
            .bind(ctx.actor_id)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
            gates.push(gate);
        }
        append_event(
            &mut tx,
            ctx,
            "flow.created",
            "flow",
            Some(flow.id),
            json!({ "flow": flow, "gates": gates }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &flow).await?;
        Ok(flow)
    }

    async fn flow(&self, org_id: Uuid, id: Uuid) -> Result<Flow> {
        load_flow(&mut *self.read().await?, org_id, id).await
    }

    async fn flows(&self, org_id: Uuid, page: PageRequest) -> Result<Page<Flow>> {
        let mut conn = self.read().await?;
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {FLOW_COLUMNS} FROM flows WHERE org_id = "));
        query.push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<FlowRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Flow>>>()?;
        Ok(page_of(items, page, |f| f.id.to_string()))
    }

    async fn gates(&self, org_id: Uuid, flow_id: Uuid) -> Result<Vec<Gate>> {
        let rows: Vec<GateRow> = sqlx::query_as(&format!(
            "SELECT {GATE_COLUMNS} FROM gates WHERE flow_id = $1 AND org_id = $2 ORDER BY position"
        ))
        .bind(flow_id)
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn gate(&self, org_id: Uuid, id: Uuid) -> Result<Gate> {
        load_gate(&mut *self.read().await?, org_id, id, false).await
    }

    async fn gate_versions(&self, org_id: Uuid, gate_id: Uuid) -> Result<Vec<GateVersion>> {
        let rows: Vec<GateVersionRow> = sqlx::query_as(
            "SELECT version, criteria, learning_id, changed_by, at FROM gate_versions \
             WHERE gate_id = $1 AND org_id = $2 ORDER BY version",
        )
        .bind(gate_id)
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(GateVersion {
                    version: r.version,
                    criteria: json_column("gate_versions.criteria", &r.criteria)?,
                    learning_id: r.learning_id,
                    changed_by: r.changed_by,
                    at: r.at,
                })
            })
            .collect()
    }

    async fn set_criteria(
        &self,
        ctx: &Ctx,
        gate_id: Uuid,
        criteria: Vec<Criterion>,
        based_on: i64,
    ) -> Result<Gate> {
        let criteria = tutti_domain::service::check_criteria(&criteria)?;
        let mut tx = self.begin().await?;
        let mut gate = load_gate(&mut tx, ctx.org_id, gate_id, true).await?;
        if gate.version != based_on {
            return Err(StoreError::Conflict(format!(
                "the gate's criteria changed meanwhile: it is at version {}, not {based_on}; look again",
                gate.version
            )));
        }
        require_ai_workers(&mut tx, ctx.org_id, &criteria, "criteria").await?;
        gate.criteria = criteria;
        gate.version += 1;
        gate.updated_at = ctx.now;
        write_gate_version(&mut tx, ctx, &gate, None).await?;
        commit_with_response(tx, ctx, 200, &gate).await?;
        Ok(gate)
    }

    async fn open_case(&self, ctx: &Ctx, new: NewCase) -> Result<Case> {
        let title = text("title", &new.title, TITLE_MAX)?;
        let customer = tutti_domain::validate::optional_text("customer", &new.customer, TITLE_MAX)?;
        let opened_by = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("opened_by", "a case is opened by someone"))?;
        let case = Case {
            id: Uuid::now_v7(),
            flow_id: new.flow_id,
            title,
            customer,
            work_item_id: new.work_item_id,
            stage: 0,
            status: CaseStatus::Active,
            stage_since: ctx.now,
            round: 1,
            hold_until: None,
            hold_reason: String::new(),
            redo: String::new(),
            opened_by,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "flows",
            ctx.org_id,
            Some(case.flow_id),
            "flow_id",
            "flow",
        )
        .await?;
        require(
            &mut tx,
            "work_items",
            ctx.org_id,
            case.work_item_id,
            "work_item_id",
            "work item",
        )
        .await?;
        sqlx::query(&format!(
            "INSERT INTO cases (org_id, {CASE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ))
        .bind(ctx.org_id)
        .bind(case.id)
        .bind(case.flow_id)
        .bind(&case.title)
        .bind(&case.customer)
        .bind(case.work_item_id)
        .bind(case.stage)
        .bind(case.status.as_str())
        .bind(case.stage_since)
        .bind(case.round)
        .bind(case.hold_until)
        .bind(&case.hold_reason)
        .bind(&case.redo)
        .bind(case.opened_by)
        .bind(case.created_at)
        .bind(case.updated_at)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "case.opened",
            "case",
            Some(case.id),
            json!({ "case": case }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &case).await?;
        Ok(case)
    }

    async fn case(&self, org_id: Uuid, id: Uuid) -> Result<Case> {
        load_case(&mut *self.read().await?, org_id, id, false).await
    }

    async fn cases(
        &self,
        org_id: Uuid,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Page<Case>> {
        let mut conn = self.read().await?;
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {CASE_COLUMNS} FROM cases WHERE org_id = "));
        query.push_bind(org_id);
        if let Some(flow) = filter.flow_id {
            query.push(" AND flow_id = ").push_bind(flow);
        }
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(item) = filter.work_item_id {
            query.push(" AND work_item_id = ").push_bind(item);
        }
        if let Some(stage) = filter.stage {
            query.push(" AND stage = ").push_bind(stage);
        }
        if filter.unfinished {
            query.push(" AND status IN ('active', 'on_hold')");
        }
        if let Some(before) = filter.hold_before {
            query
                .push(" AND status = 'on_hold' AND hold_until < ")
                .push_bind(before);
        }
        push_page(&mut query, page);
        let rows: Vec<CaseRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Case>>>()?;
        Ok(page_of(items, page, |c| c.id.to_string()))
    }

    async fn case_counts(&self, org_id: Uuid, flow_id: Uuid) -> Result<Vec<CaseCount>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT stage, status, COUNT(*) FROM cases WHERE org_id = $1 AND flow_id = $2 \
             GROUP BY stage, status ORDER BY stage, status",
        )
        .bind(org_id)
        .bind(flow_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter()
            .map(|(stage, status, count)| {
                Ok(CaseCount {
                    stage,
                    status: enum_column("cases.status", &status)?,
                    count,
                })
            })
            .collect()
    }

    async fn record_check(&self, ctx: &Ctx, check: CriterionCheck) -> Result<CriterionCheck> {
        let mut check = check;
        check.reason = tutti_domain::validate::optional_text(
            "reason",
            &check.reason,
            tutti_domain::validate::BODY_MAX,
        )?;
        let mut tx = self.begin().await?;
        // The case's lock orders this check against a verdict's snapshot; a
        // check of a round that ended meanwhile would count for nothing.
        let case = load_case(&mut tx, ctx.org_id, check.case_id, true).await?;
        if case.round != check.round || case.status.is_final() {
            return Err(StoreError::Conflict(
                "the case moved on while it was checked; look at it again".into(),
            ));
        }
        if check.outcome == CheckOutcome::Pending {
            // An AI worker asked twice would be paid twice for one answer.
            let asked: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM criterion_checks WHERE case_id = $1 AND gate_id = $2 AND criterion = $3 \
                 AND round = $4 AND outcome = 'pending'",
            )
            .bind(check.case_id)
            .bind(check.gate_id)
            .bind(&check.criterion)
            .bind(check.round)
            .fetch_optional(&mut *tx)
            .await?;
            if asked.is_some() {
                return Err(StoreError::Conflict(format!(
                    "the AI worker is checking `{}` already; its answer comes shortly",
                    check.criterion
                )));
            }
        }
        sqlx::query(&format!(
            "INSERT INTO criterion_checks (org_id, {CHECK_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(ctx.org_id)
        .bind(check.id)
        .bind(check.case_id)
        .bind(check.gate_id)
        .bind(&check.criterion)
        .bind(check.check_by.as_str())
        .bind(check.round)
        .bind(check.outcome.as_str())
        .bind(&check.reason)
        .bind(check.checked_by)
        .bind(check.requested_by)
        .bind(check.requested_at)
        .bind(check.checked_at)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            if check.outcome == CheckOutcome::Pending {
                "case.check_requested"
            } else {
                "case.checked"
            },
            "case",
            Some(check.case_id),
            json!({ "check": check }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &check).await?;
        Ok(check)
    }

    async fn checks(&self, org_id: Uuid, case_id: Uuid) -> Result<Vec<CriterionCheck>> {
        let rows: Vec<CheckRow> = sqlx::query_as(&format!(
            "SELECT {CHECK_COLUMNS} FROM criterion_checks WHERE case_id = $1 AND org_id = $2 ORDER BY requested_at, id"
        ))
        .bind(case_id)
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn claim_checks(
        &self,
        node: &EngineNode,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AiCheck>> {
        let mut tx = self.begin().await?;
        let ids: Vec<(Uuid, Uuid)> = sqlx::query_as(&format!(
            "SELECT c.org_id, c.id FROM criterion_checks c \
             WHERE c.outcome = 'pending' AND (c.drafting_until IS NULL OR c.drafting_until <= $1) AND {} \
             ORDER BY c.requested_at LIMIT $2{SKIP_LOCKED}",
            node_may_take("c.checked_by", "$3", "$1")
        ))
        .bind(now)
        .bind(limit)
        .bind(node.embedded_model)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for (org_id, id) in ids {
            sqlx::query("UPDATE criterion_checks SET drafting_until = $1 WHERE id = $2")
                .bind(hold_until)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let check = load_check(&mut tx, org_id, id, false).await?;
            let case = load_case(&mut tx, org_id, check.case_id, false).await?;
            let flow = load_flow(&mut tx, org_id, case.flow_id).await?;
            let gate = load_gate(&mut tx, org_id, check.gate_id, false).await?;
            let worker = load_member(&mut tx, org_id, check.checked_by).await?;
            claimed.push(AiCheck {
                org_id,
                check,
                case,
                flow,
                gate,
                worker,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn finish_check(
        &self,
        ctx: &Ctx,
        id: Uuid,
        outcome: CheckOutcome,
        reason: String,
    ) -> Result<CriterionCheck> {
        let mut tx = self.begin().await?;
        let mut check = load_check(&mut tx, ctx.org_id, id, true).await?;
        if check.outcome != CheckOutcome::Pending {
            return Err(StoreError::Conflict(
                "the check was answered already".into(),
            ));
        }
        check.outcome = outcome;
        check.reason = reason;
        check.checked_at = Some(ctx.now);
        sqlx::query("UPDATE criterion_checks SET outcome = $1, reason = $2, checked_at = $3, drafting_until = NULL WHERE id = $4")
            .bind(check.outcome.as_str())
            .bind(&check.reason)
            .bind(check.checked_at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            ctx,
            "case.checked",
            "case",
            Some(check.case_id),
            json!({ "check": check }),
        )
        .await?;
        tx.commit().await?;
        Ok(check)
    }

    async fn propose_verdict(
        &self,
        ctx: &Ctx,
        verdict: GateVerdict,
        decision: NewDecision,
    ) -> Result<(GateVerdict, Decision)> {
        let mut tx = self.begin().await?;
        let case = load_case(&mut tx, ctx.org_id, verdict.case_id, true).await?;
        let gate = load_gate(&mut tx, ctx.org_id, verdict.gate_id, false).await?;
        case.may_be_judged_at(&gate)?;
        if gate.version != verdict.gate_version {
            return Err(StoreError::Conflict(format!(
                "the gate's criteria changed meanwhile (now version {}); judge again",
                gate.version
            )));
        }
        let pending: Option<Uuid> = sqlx::query_scalar(
            "SELECT decision_id FROM gate_verdicts WHERE case_id = $1 AND status = 'pending'",
        )
        .bind(case.id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(decision_id) = pending {
            return Err(StoreError::Conflict(format!(
                "a verdict on this case waits on decision {decision_id}; decide or reject it first"
            )));
        }
        let decision = insert_decision(&mut tx, ctx, decision).await?;
        sqlx::query(&format!(
            "INSERT INTO gate_verdicts (org_id, {VERDICT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $10, $11, $12, NULL)"
        ))
        .bind(ctx.org_id)
        .bind(verdict.id)
        .bind(verdict.case_id)
        .bind(verdict.gate_id)
        .bind(verdict.gate_version)
        .bind(json_of(&verdict.proposed)?)
        .bind(verdict.status.as_str())
        .bind(&verdict.note)
        .bind(json_of(&verdict.snapshot)?)
        .bind(decision.id)
        .bind(verdict.proposed_by)
        .bind(verdict.proposed_at)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "case.verdict_proposed",
            "case",
            Some(case.id),
            json!({ "verdict_id": verdict.id, "gate_id": gate.id, "gate_version": gate.version,
                    "proposed": verdict.proposed, "snapshot": verdict.snapshot, "decision_id": decision.id }),
        )
        .await?;
        settle_verdict_of(&mut tx, ctx, &decision).await?;
        let row: VerdictRow = sqlx::query_as(&format!(
            "SELECT {VERDICT_COLUMNS} FROM gate_verdicts WHERE id = $1"
        ))
        .bind(verdict.id)
        .fetch_one(&mut *tx)
        .await?;
        let stored: GateVerdict = row.try_into()?;
        // Kept as the API answers it: the verdict with its decision.
        let mut answer = serde_json::to_value(&stored)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))?;
        answer["decision"] = serde_json::to_value(&decision)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))?;
        commit_with_response(tx, ctx, 201, &answer).await?;
        Ok((stored, decision))
    }

    async fn verdicts(&self, org_id: Uuid, case_id: Uuid) -> Result<Vec<GateVerdict>> {
        let rows: Vec<VerdictRow> = sqlx::query_as(&format!(
            "SELECT {VERDICT_COLUMNS} FROM gate_verdicts WHERE case_id = $1 AND org_id = $2 ORDER BY proposed_at, id"
        ))
        .bind(case_id)
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn verdict(&self, org_id: Uuid, id: Uuid) -> Result<GateVerdict> {
        let what = ("gate_verdicts", VERDICT_COLUMNS, "verdict");
        load_row::<VerdictRow, _>(&mut *self.read().await?, what, org_id, id, false).await
    }

    async fn given_verdicts(
        &self,
        org_id: Uuid,
        since: DateTime<Utc>,
    ) -> Result<Vec<GivenVerdict>> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT gate_id, verdict FROM gate_verdicts \
             WHERE org_id = $1 AND status = 'given' AND settled_at >= $2",
        )
        .bind(org_id)
        .bind(since)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter()
            .map(|(gate_id, verdict)| {
                Ok(GivenVerdict {
                    gate_id,
                    verdict: enum_column("gate_verdicts.verdict", &verdict)?,
                })
            })
            .collect()
    }

    async fn create_learning(&self, ctx: &Ctx, new: NewLearning) -> Result<Learning> {
        let (title, body, amendment) = tutti_domain::service::check_new_learning(
            &new.title,
            &new.body,
            new.subject,
            new.amendment,
        )?;
        let author_id = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("author_id", "a learning is written by someone"))?;
        let learning = Learning {
            id: Uuid::now_v7(),
            title,
            body,
            team_id: new.team_id,
            subject: new.subject,
            amendment,
            status: LearningStatus::Open,
            author_id,
            created_at: ctx.now,
            answered_by: None,
            answered_at: None,
            answer: String::new(),
            made_version: None,
        };
        let mut tx = self.begin().await?;
        let org = ctx.org_id;
        require(&mut tx, "teams", org, learning.team_id, "team_id", "team").await?;
        require(
            &mut tx,
            "promises",
            org,
            learning.subject.promise_id,
            "promise_id",
            "promise",
        )
        .await?;
        require(
            &mut tx,
            "gates",
            org,
            learning.subject.gate_id,
            "gate_id",
            "gate",
        )
        .await?;
        require(
            &mut tx,
            "service_products",
            org,
            learning.subject.service_product_id,
            "service_product_id",
            "service product",
        )
        .await?;
        if let Some(Amendment::Criteria { criteria }) = &learning.amendment {
            require_ai_workers(&mut tx, org, criteria, "amendment.criteria").await?;
        }
        sqlx::query(&format!(
            "INSERT INTO learnings (org_id, {LEARNING_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, '', NULL)"
        ))
        .bind(org)
        .bind(learning.id)
        .bind(&learning.title)
        .bind(&learning.body)
        .bind(learning.team_id)
        .bind(learning.subject.promise_id)
        .bind(learning.subject.gate_id)
        .bind(learning.subject.service_product_id)
        .bind(learning.amendment.as_ref().map(json_of).transpose()?)
        .bind(learning.status.as_str())
        .bind(learning.author_id)
        .bind(learning.created_at)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "learning.written",
            "learning",
            Some(learning.id),
            json!({ "learning": learning }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &learning).await?;
        Ok(learning)
    }

    async fn learning(&self, org_id: Uuid, id: Uuid) -> Result<Learning> {
        load_learning(&mut *self.read().await?, org_id, id, false).await
    }

    async fn learnings(
        &self,
        org_id: Uuid,
        filter: &LearningFilter,
        page: PageRequest,
    ) -> Result<Page<Learning>> {
        let mut conn = self.read().await?;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {LEARNING_COLUMNS} FROM learnings WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(gate) = filter.gate_id {
            query.push(" AND gate_id = ").push_bind(gate);
        }
        if let Some(product) = filter.service_product_id {
            query.push(" AND service_product_id = ").push_bind(product);
        }
        if let Some(before) = filter.created_before {
            query.push(" AND created_at < ").push_bind(before);
        }
        push_page(&mut query, page);
        let rows: Vec<LearningRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Learning>>>()?;
        Ok(page_of(items, page, |l| l.id.to_string()))
    }

    async fn answer_learning(
        &self,
        ctx: &Ctx,
        id: Uuid,
        accept: bool,
        note: String,
    ) -> Result<Learning> {
        let by = ctx.actor_id.ok_or_else(|| {
            StoreError::invalid("answered_by", "a learning is answered by someone")
        })?;
        let mut tx = self.begin().await?;
        let mut learning = load_learning(&mut tx, ctx.org_id, id, true).await?;
        learning.answer(accept, &note, by, ctx.now)?;
        if accept {
            match &learning.amendment {
                Some(Amendment::Criteria { criteria }) => {
                    let gate_id = learning.subject.gate_id.ok_or_else(|| {
                        StoreError::Corrupt("a criteria amendment without its gate".into())
                    })?;
                    let mut gate = load_gate(&mut tx, ctx.org_id, gate_id, true).await?;
                    gate.criteria = criteria.clone();
                    gate.version += 1;
                    gate.updated_at = ctx.now;
                    write_gate_version(&mut tx, ctx, &gate, Some(learning.id)).await?;
                    learning.made_version = Some(gate.version);
                }
                Some(Amendment::Levels { levels }) => {
                    let product_id = learning.subject.service_product_id.ok_or_else(|| {
                        StoreError::Corrupt("a levels amendment without its product".into())
                    })?;
                    let version: i64 = sqlx::query_scalar(&format!(
                        "SELECT version FROM service_products WHERE id = $1 AND org_id = $2{FOR_UPDATE}"
                    ))
                    .bind(product_id)
                    .bind(ctx.org_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE service_products SET levels = $1, version = $2 WHERE id = $3",
                    )
                    .bind(json_of(levels)?)
                    .bind(version + 1)
                    .bind(product_id)
                    .execute(&mut *tx)
                    .await?;
                    append_event(
                        &mut tx,
                        ctx,
                        "service_product.levels_changed",
                        "service_product",
                        Some(product_id),
                        json!({ "version": version + 1, "levels": levels, "learning_id": learning.id }),
                    )
                    .await?;
                    learning.made_version = Some(version + 1);
                }
                None => {}
            }
        }
        sqlx::query(
            "UPDATE learnings SET status = $1, answered_by = $2, answered_at = $3, answer = $4, made_version = $5 WHERE id = $6",
        )
        .bind(learning.status.as_str())
        .bind(learning.answered_by)
        .bind(learning.answered_at)
        .bind(&learning.answer)
        .bind(learning.made_version)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            if accept {
                "learning.accepted"
            } else {
                "learning.declined"
            },
            "learning",
            Some(id),
            json!({ "answer": learning.answer, "made_version": learning.made_version }),
        )
        .await?;
        commit_with_response(tx, ctx, 200, &learning).await?;
        Ok(learning)
    }
}
