// Routines and their occurrences; see `routines.rs` for the contract.
// Firing is `tutti_domain::routine::Routine::fire`, applied to the routine
// as it stands under its lock.

const ROUTINE_COLUMNS: &str = "id, name, description, customer, schedule, time_zone, catch_up, team_id, \
     assignee_id, key_result_id, service_product_id, priority, paused, owner_id, handled_until, next_due, \
     created_at, updated_at";

#[derive(sqlx::FromRow)]
struct RoutineRow {
    id: Uuid,
    name: String,
    description: String,
    customer: String,
    schedule: String,
    time_zone: Option<String>,
    catch_up: String,
    team_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
    key_result_id: Option<Uuid>,
    service_product_id: Option<Uuid>,
    priority: String,
    paused: bool,
    owner_id: Uuid,
    handled_until: DateTime<Utc>,
    next_due: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RoutineRow> for tutti_domain::routine::Routine {
    type Error = StoreError;
    fn try_from(r: RoutineRow) -> Result<Self> {
        Ok(Self {
            id: r.id,
            name: r.name,
            description: r.description,
            customer: r.customer,
            schedule: serde_json::from_str(&r.schedule)
                .map_err(|e| StoreError::Corrupt(format!("routines.schedule: {e}")))?,
            time_zone: r.time_zone,
            catch_up: parse_column("routines.catch_up", &r.catch_up)?,
            team_id: r.team_id,
            assignee_id: r.assignee_id,
            key_result_id: r.key_result_id,
            service_product_id: r.service_product_id,
            priority: parse_column("routines.priority", &r.priority)?,
            paused: r.paused,
            owner_id: r.owner_id,
            handled_until: r.handled_until,
            next_due: r.next_due,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct OccurrenceRow {
    routine_id: Uuid,
    due_at: DateTime<Utc>,
    outcome: String,
    reason: Option<String>,
    detail: String,
    work_item_id: Option<Uuid>,
    recorded_at: DateTime<Utc>,
}

async fn load_routine(
    conn: &mut Conn,
    org_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<tutti_domain::routine::Routine> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let row: RoutineRow = sqlx::query_as(&format!(
        "SELECT {ROUTINE_COLUMNS} FROM routines WHERE id = $1 AND org_id = $2{lock}"
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("routine"))?;
    row.try_into()
}

/// The org's IANA zone, as the org keeps it.
async fn org_zone(conn: &mut Conn, org_id: Uuid) -> Result<tutti_domain::routine::Tz> {
    let name: String = sqlx::query_scalar("SELECT time_zone FROM orgs WHERE id = $1")
        .bind(org_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(tutti_domain::zone::stored_zone(&name))
}

/// Checks a routine's references and that the service product it delivers
/// is preventive.
async fn check_routine_refs(
    conn: &mut Conn,
    org_id: Uuid,
    routine: &tutti_domain::routine::Routine,
) -> Result<()> {
    require(conn, "teams", org_id, routine.team_id, "team_id", "team").await?;
    require(
        conn,
        "members",
        org_id,
        routine.assignee_id,
        "assignee_id",
        "member",
    )
    .await?;
    require(
        conn,
        "key_results",
        org_id,
        routine.key_result_id,
        "key_result_id",
        "key result",
    )
    .await?;
    if let Some(product) = routine.service_product_id {
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT name, kind FROM service_products WHERE id = $1 AND org_id = $2")
                .bind(product)
                .bind(org_id)
                .fetch_optional(&mut *conn)
                .await?;
        let Some((name, kind)) = found else {
            return Err(StoreError::invalid(
                "service_product_id",
                format!("no service product with id {product} in this org"),
            ));
        };
        tutti_domain::routine::may_deliver(parse_column("service_products.kind", &kind)?, &name)?;
    }
    Ok(())
}

/// Writes a new routine's row.
async fn insert_routine(
    conn: &mut Conn,
    org_id: Uuid,
    routine: &tutti_domain::routine::Routine,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO routines ({ROUTINE_COLUMNS}, org_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    ))
    .bind(routine.id)
    .bind(&routine.name)
    .bind(&routine.description)
    .bind(&routine.customer)
    .bind(schedule_json(&routine.schedule)?)
    .bind(&routine.time_zone)
    .bind(routine.catch_up.as_str())
    .bind(routine.team_id)
    .bind(routine.assignee_id)
    .bind(routine.key_result_id)
    .bind(routine.service_product_id)
    .bind(routine.priority.as_str())
    .bind(routine.paused)
    .bind(routine.owner_id)
    .bind(routine.handled_until)
    .bind(routine.next_due)
    .bind(routine.created_at)
    .bind(routine.updated_at)
    .bind(org_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_routine(conn: &mut Conn, routine: &tutti_domain::routine::Routine) -> Result<()> {
    sqlx::query(
        "UPDATE routines SET name = $1, description = $2, customer = $3, schedule = $4, time_zone = $5, \
         catch_up = $6, team_id = $7, assignee_id = $8, key_result_id = $9, service_product_id = $10, \
         priority = $11, paused = $12, handled_until = $13, next_due = $14, updated_at = $15 WHERE id = $16",
    )
    .bind(&routine.name)
    .bind(&routine.description)
    .bind(&routine.customer)
    .bind(schedule_json(&routine.schedule)?)
    .bind(&routine.time_zone)
    .bind(routine.catch_up.as_str())
    .bind(routine.team_id)
    .bind(routine.assignee_id)
    .bind(routine.key_result_id)
    .bind(routine.service_product_id)
    .bind(routine.priority.as_str())
    .bind(routine.paused)
    .bind(routine.handled_until)
    .bind(routine.next_due)
    .bind(routine.updated_at)
    .bind(routine.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn schedule_json(schedule: &tutti_domain::routine::Schedule) -> Result<String> {
    serde_json::to_string(schedule)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode a schedule: {e}")))
}

/// The work item one occurrence makes: the routine's work, planned, due on
/// the occurrence's local date, ready for whoever carries it.
fn routine_work(
    routine: &tutti_domain::routine::Routine,
    due_at: DateTime<Utc>,
    tz: tutti_domain::routine::Tz,
    now: DateTime<Utc>,
) -> WorkItem {
    let title = if routine.customer.is_empty() {
        routine.name.clone()
    } else {
        let both = format!("{} · {}", routine.name, routine.customer);
        both.chars().take(TITLE_MAX).collect()
    };
    WorkItem {
        id: Uuid::now_v7(),
        title,
        description: routine.description.clone(),
        team_id: routine.team_id,
        assignee_id: routine.assignee_id,
        state: WorkState::Ready,
        kind: WorkKind::Planned,
        priority: routine.priority,
        due: Some(due_at.with_timezone(&tz).date_naive()),
        parent_id: None,
        key_result_id: routine.key_result_id,
        service_product_id: routine.service_product_id,
        created_by: routine.owner_id,
        created_at: now,
        updated_at: now,
        state_since: now,
    }
}

impl crate::Routines for BackendStore {
    async fn create_routine(
        &self,
        ctx: &Ctx,
        new: crate::NewRoutine,
    ) -> Result<tutti_domain::routine::Routine> {
        let (name, description, customer) =
            tutti_domain::routine::checked_texts(&new.name, &new.description, &new.customer)?;
        let owner_id = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("owner_id", "a routine is made by someone"))?;
        let mut tx = self.begin().await?;
        let mut routine = tutti_domain::routine::Routine {
            id: Uuid::now_v7(),
            name,
            description,
            customer,
            schedule: new.schedule,
            time_zone: new.time_zone,
            catch_up: new.catch_up,
            team_id: new.team_id,
            assignee_id: new.assignee_id,
            key_result_id: new.key_result_id,
            service_product_id: new.service_product_id,
            priority: new.priority,
            paused: false,
            owner_id,
            handled_until: ctx.now,
            next_due: None,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        check_routine_refs(&mut tx, ctx.org_id, &routine).await?;
        let tz = routine.zone(org_zone(&mut tx, ctx.org_id).await?);
        routine.set_paused(new.paused, tz, ctx.now);
        insert_routine(&mut tx, ctx.org_id, &routine).await?;
        append_event(
            &mut tx,
            ctx,
            "routine.created",
            "routine",
            Some(routine.id),
            json!({ "routine": routine }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &routine).await?;
        Ok(routine)
    }

    async fn routine(&self, org_id: Uuid, id: Uuid) -> Result<tutti_domain::routine::Routine> {
        load_routine(&mut *self.read().await?, org_id, id, false).await
    }

    async fn routines(
        &self,
        org_id: Uuid,
        filter: &crate::RoutineFilter,
        page: PageRequest,
    ) -> Result<Page<tutti_domain::routine::Routine>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {ROUTINE_COLUMNS} FROM routines WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(product) = filter.service_product_id {
            query.push(" AND service_product_id = ").push_bind(product);
        }
        if let Some(team) = filter.team_id {
            query.push(" AND team_id = ").push_bind(team);
        }
        if let Some(assignee) = filter.assignee_id {
            query.push(" AND assignee_id = ").push_bind(assignee);
        }
        push_page(&mut query, page);
        let rows: Vec<RoutineRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<tutti_domain::routine::Routine>>>()?;
        Ok(page_of(items, page, |r| r.id.to_string()))
    }

    async fn update_routine(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: crate::RoutinePatch,
        may: crate::MayChangeRoutine<'_>,
    ) -> Result<tutti_domain::routine::Routine> {
        let mut tx = self.begin().await?;
        let mut routine = load_routine(&mut tx, ctx.org_id, id, true).await?;
        may(&routine, &patch)?;
        let before = routine.clone();
        let (name, description, customer) = tutti_domain::routine::checked_texts(
            patch.name.as_deref().unwrap_or(&routine.name),
            patch.description.as_deref().unwrap_or(&routine.description),
            patch.customer.as_deref().unwrap_or(&routine.customer),
        )?;
        (routine.name, routine.description, routine.customer) = (name, description, customer);
        let reschedules = patch.schedule.is_some() || patch.time_zone.is_some();
        if let Some(schedule) = patch.schedule {
            routine.schedule = schedule;
        }
        if let Some(zone) = patch.time_zone {
            routine.time_zone = zone;
        }
        if let Some(catch_up) = patch.catch_up {
            routine.catch_up = catch_up;
        }
        if let Some(team) = patch.team_id {
            routine.team_id = team;
        }
        if let Some(assignee) = patch.assignee_id {
            routine.assignee_id = assignee;
        }
        if let Some(key_result) = patch.key_result_id {
            routine.key_result_id = key_result;
        }
        if let Some(product) = patch.service_product_id {
            routine.service_product_id = product;
        }
        if let Some(priority) = patch.priority {
            routine.priority = priority;
        }
        check_routine_refs(&mut tx, ctx.org_id, &routine).await?;
        if reschedules {
            routine.start_from(ctx.now);
        }
        let tz = routine.zone(org_zone(&mut tx, ctx.org_id).await?);
        routine.set_paused(patch.paused.unwrap_or(routine.paused), tz, ctx.now);
        routine.updated_at = ctx.now;
        write_routine(&mut tx, &routine).await?;
        let action = match (before.paused, routine.paused) {
            (false, true) => "routine.paused",
            (true, false) => "routine.resumed",
            _ => "routine.updated",
        };
        append_event(
            &mut tx,
            ctx,
            action,
            "routine",
            Some(id),
            json!({ "routine": routine }),
        )
        .await?;
        commit_with_response(tx, ctx, 200, &routine).await?;
        Ok(routine)
    }

    async fn occurrences(
        &self,
        org_id: Uuid,
        routine_id: Uuid,
        limit: i64,
    ) -> Result<Vec<tutti_domain::routine::Occurrence>> {
        let rows: Vec<OccurrenceRow> = sqlx::query_as(
            "SELECT routine_id, due_at, outcome, reason, detail, work_item_id, recorded_at \
             FROM routine_occurrences WHERE org_id = $1 AND routine_id = $2 ORDER BY due_at DESC LIMIT $3",
        )
        .bind(org_id)
        .bind(routine_id)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(tutti_domain::routine::Occurrence {
                    routine_id: r.routine_id,
                    due_at: r.due_at,
                    outcome: parse_column("routine_occurrences.outcome", &r.outcome)?,
                    reason: r
                        .reason
                        .map(|reason| parse_column("routine_occurrences.reason", &reason))
                        .transpose()?,
                    detail: r.detail,
                    work_item_id: r.work_item_id,
                    recorded_at: r.recorded_at,
                })
            })
            .collect()
    }

    async fn due_routines(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<(Uuid, Uuid)>> {
        Ok(sqlx::query_as(
            "SELECT org_id, id FROM routines WHERE next_due IS NOT NULL AND next_due <= $1 \
             ORDER BY next_due LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    async fn fire_routine(
        &self,
        org_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::Fired>> {
        let mut tx = self.begin().await?;
        let mut routine = load_routine(&mut tx, org_id, id, true).await?;
        if routine.next_due.is_none_or(|next| next > now) {
            // Another node fired it first, or it was paused meanwhile.
            return Ok(None);
        }
        let tz = routine.zone(org_zone(&mut tx, org_id).await?);
        let owner = load_actor(
            &mut tx,
            "SELECT m.id, m.org_id, m.kind, m.role FROM members m WHERE m.id = $1",
            routine.owner_id,
        )
        .await?
        .filter(|owner| owner.org_id == org_id);
        let firing = routine.fire(tz, now, owner.as_ref());
        // The work is made with its owner's rights, and says so.
        let ctx = Ctx::new(org_id, Some(routine.owner_id), now);
        let mut created = Vec::with_capacity(firing.create.len());
        for due_at in &firing.create {
            let item = routine_work(&routine, *due_at, tz, ctx.now);
            insert_work_items(&mut tx, org_id, std::slice::from_ref(&item)).await?;
            append_event(
                &mut tx,
                &ctx,
                "work_item.created",
                "work_item",
                Some(item.id),
                json!({ "work_item": item, "routine_id": routine.id, "due_at": due_at }),
            )
            .await?;
            queue_when_ready_for_ai(&mut tx, &ctx, &item, None).await?;
            record_occurrence(
                &mut tx,
                org_id,
                routine.id,
                *due_at,
                Some(item.id),
                None,
                "",
                now,
            )
            .await?;
            created.push(item);
        }
        for (due_at, reason, detail) in &firing.skip {
            record_occurrence(
                &mut tx,
                org_id,
                routine.id,
                *due_at,
                None,
                Some(*reason),
                detail,
                now,
            )
            .await?;
        }
        routine.handled_until = firing.handled_until;
        routine.next_due = firing.next_due;
        write_routine(&mut tx, &routine).await?;
        append_event(
            &mut tx,
            &ctx,
            "routine.fired",
            "routine",
            Some(routine.id),
            json!({
                "created": firing.create.iter().zip(&created).map(|(at, item)| json!({ "due_at": at, "work_item_id": item.id })).collect::<Vec<_>>(),
                "skipped": firing.skip.iter().map(|(at, reason, detail)| json!({ "due_at": at, "reason": reason, "detail": detail })).collect::<Vec<_>>(),
                "next_due": routine.next_due,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(crate::Fired {
            routine,
            skipped: firing.skip.len(),
            created,
        }))
    }
}

/// Records one occurrence; its key (routine, instant) makes a second
/// record of it impossible.
#[expect(clippy::too_many_arguments)]
async fn record_occurrence(
    conn: &mut Conn,
    org_id: Uuid,
    routine_id: Uuid,
    due_at: DateTime<Utc>,
    work_item_id: Option<Uuid>,
    reason: Option<tutti_domain::routine::SkipReason>,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let outcome = if work_item_id.is_some() {
        tutti_domain::routine::OccurrenceOutcome::Created
    } else {
        tutti_domain::routine::OccurrenceOutcome::Skipped
    };
    sqlx::query(
        "INSERT INTO routine_occurrences (routine_id, due_at, org_id, outcome, reason, detail, work_item_id, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(routine_id)
    .bind(due_at)
    .bind(org_id)
    .bind(outcome.as_str())
    .bind(reason.map(|r| r.as_str()))
    .bind(detail)
    .bind(work_item_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
