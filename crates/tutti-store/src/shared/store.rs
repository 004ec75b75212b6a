// What belongs to no one concern: the schema, idempotent responses, bulk
// imports; see `lib.rs` for the contract.

impl crate::Store for BackendStore {
    async fn migrate(&self) -> Result<()> {
        self.run_migrations().await
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.read().await?)
            .await?;
        Ok(())
    }

    async fn idempotent_response(
        &self,
        org_id: Uuid,
        member_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>> {
        let row: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT request_hash, status, body FROM idempotency_keys WHERE org_id = $1 AND member_id = $2 AND key = $3",
        )
        .bind(org_id)
        .bind(member_id)
        .bind(key)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(|(request_hash, status, body)| StoredResponse {
            request_hash,
            status: u16::try_from(status).unwrap_or(200),
            body,
        }))
    }

    async fn import(&self, ctx: &Ctx, import: Import) -> Result<()> {
        let mut tx = self.begin().await?;
        insert_objectives(&mut tx, ctx.org_id, &import.objectives).await?;
        insert_key_results(&mut tx, ctx.org_id, &import.key_results).await?;
        insert_work_items(&mut tx, ctx.org_id, &import.work_items).await?;
        append_event(
            &mut tx,
            ctx,
            "import.completed",
            "org",
            Some(ctx.org_id),
            json!({
                "objectives": import.objectives.len(),
                "key_results": import.key_results.len(),
                "work_items": import.work_items.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        // Fresh statistics, so the planner knows the new row counts at once.
        self.analyze().await?;
        Ok(())
    }
}

async fn insert_objectives(conn: &mut Conn, org_id: Uuid, objectives: &[Objective]) -> Result<()> {
    for chunk in objectives.chunks(IMPORT_PARAMS_PER_STATEMENT / 11) {
        let mut query = QueryBuilder::<Db>::new(
            "INSERT INTO objectives (id, org_id, title, why, owner_id, team_id, period_start, period_end, parent_id, status, created_at) ",
        );
        query.push_values(chunk, |mut row, o| {
            row.push_bind(o.id)
                .push_bind(org_id)
                .push_bind(o.title.clone())
                .push_bind(o.why.clone())
                .push_bind(o.owner_id)
                .push_bind(o.team_id)
                .push_bind(o.period_start)
                .push_bind(o.period_end)
                .push_bind(o.parent_id)
                .push_bind(o.status.as_str())
                .push_bind(o.created_at);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_key_results(
    conn: &mut Conn,
    org_id: Uuid,
    key_results: &[KeyResult],
) -> Result<()> {
    for chunk in key_results.chunks(IMPORT_PARAMS_PER_STATEMENT / 10) {
        let mut query = QueryBuilder::<Db>::new(
            "INSERT INTO key_results (id, org_id, objective_id, title, baseline, target, current, unit, confidence, updated_at) ",
        );
        query.push_values(chunk, |mut row, k| {
            row.push_bind(k.id)
                .push_bind(org_id)
                .push_bind(k.objective_id)
                .push_bind(k.title.clone())
                .push_bind(k.baseline)
                .push_bind(k.target)
                .push_bind(k.current)
                .push_bind(k.unit.clone())
                .push_bind(i64::from(k.confidence))
                .push_bind(k.updated_at);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One arrival group of `work_arrivals`: the week, team, service product
/// and kind work arrived as.
type Arrival = (NaiveDate, Uuid, Uuid, WorkKind);

/// The group `item` counts in.
fn arrival_of(item: &WorkItem) -> Arrival {
    let day = item.created_at.date_naive();
    let monday = day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()));
    (
        monday,
        item.team_id.unwrap_or_else(Uuid::nil),
        item.service_product_id.unwrap_or_else(Uuid::nil),
        item.kind,
    )
}

/// Adds `delta` for each arrival to the weekly counts, one upsert per group.
async fn count_arrivals(
    conn: &mut Conn,
    org_id: Uuid,
    arrivals: impl IntoIterator<Item = Arrival>,
    delta: i64,
) -> Result<()> {
    let mut groups: std::collections::BTreeMap<(NaiveDate, Uuid, Uuid, &'static str), i64> =
        std::collections::BTreeMap::new();
    for (week, team, product, kind) in arrivals {
        *groups
            .entry((week, team, product, kind.as_str()))
            .or_default() += delta;
    }
    for ((week, team, product, kind), count) in groups {
        sqlx::query(
            "INSERT INTO work_arrivals (org_id, week, team_id, service_product_id, kind, count) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (org_id, week, team_id, service_product_id, kind) \
             DO UPDATE SET count = work_arrivals.count + excluded.count",
        )
        .bind(org_id)
        .bind(week)
        .bind(team)
        .bind(product)
        .bind(kind)
        .bind(count)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn insert_work_items(conn: &mut Conn, org_id: Uuid, items: &[WorkItem]) -> Result<()> {
    count_arrivals(conn, org_id, items.iter().map(arrival_of), 1).await?;
    for chunk in items.chunks(IMPORT_PARAMS_PER_STATEMENT / 17) {
        let mut query = QueryBuilder::<Db>::new(
            "INSERT INTO work_items (id, org_id, title, description, team_id, assignee_id, state, kind, priority, due, \
             parent_id, key_result_id, service_product_id, created_by, created_at, updated_at, state_since) ",
        );
        query.push_values(chunk, |mut row, w| {
            row.push_bind(w.id)
                .push_bind(org_id)
                .push_bind(w.title.clone())
                .push_bind(w.description.clone())
                .push_bind(w.team_id)
                .push_bind(w.assignee_id)
                .push_bind(w.state.as_str())
                .push_bind(w.kind.as_str())
                .push_bind(w.priority.as_str())
                .push_bind(w.due)
                .push_bind(w.parent_id)
                .push_bind(w.key_result_id)
                .push_bind(w.service_product_id)
                .push_bind(w.created_by)
                .push_bind(w.created_at)
                .push_bind(w.updated_at)
                .push_bind(w.state_since);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}
