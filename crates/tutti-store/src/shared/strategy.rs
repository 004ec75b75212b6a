// Objectives, key results and check-ins; see `strategy.rs` for the contract.

/// A check-in moves its key result (current `$1`, confidence `$2`, at `$3`;
/// key result `$4` of org `$5`); no row back means no such key result here.
const MOVE_KEY_RESULT: &str = "UPDATE key_results SET current = $1, confidence = $2, updated_at = $3 \
     WHERE id = $4 AND org_id = $5 RETURNING baseline, target";

/// A check-in kept, in the order of its columns.
const INSERT_CHECK_IN: &str = "INSERT INTO check_ins (id, org_id, key_result_id, value, confidence, note, author_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The objectives `roots` names (`$2`…, of org `$1`) and every objective
/// below them. The recursion carries whole rows, so each step is an index
/// lookup on `parent_id` and no planner has to guess the size of an id set.
fn forest_sql(roots: usize) -> String {
    let columns = OBJECTIVE_COLUMNS;
    let prefixed: String = columns
        .split(", ")
        .map(|c| format!("o.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let ids: Vec<String> = (2..roots + 2).map(|n| format!("${n}")).collect();
    format!(
        "WITH RECURSIVE sub({columns}) AS (SELECT {columns} FROM objectives WHERE org_id = $1 AND id IN ({})\
         UNION SELECT {prefixed} FROM objectives o JOIN sub ON o.parent_id = sub.id) SELECT {columns} FROM sub ORDER BY id",
        ids.join(", ")
    )
}

/// The key results of `objectives` objectives (`$1`…).
fn key_results_of_sql(objectives: usize) -> String {
    let ids: Vec<String> = (1..=objectives).map(|n| format!("${n}")).collect();
    format!(
        "SELECT {KEY_RESULT_COLUMNS} FROM key_results WHERE objective_id IN ({}) ORDER BY id",
        ids.join(", ")
    )
}

/// How many objectives one key-result query asks for.
const FOREST_CHUNK: usize = IMPORT_PARAMS_PER_STATEMENT / 2;

impl crate::Strategy for BackendStore {
    async fn create_objective(&self, ctx: &Ctx, new: NewObjective) -> Result<Objective> {
        let title = text("title", &new.title, TITLE_MAX)?;
        let why = tutti_domain::validate::optional_text(
            "why",
            &new.why,
            tutti_domain::validate::BODY_MAX,
        )?;
        check_period(new.period_start, new.period_end)?;
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "members",
            ctx.org_id,
            new.owner_id,
            "owner_id",
            "member",
        )
        .await?;
        require(&mut tx, "teams", ctx.org_id, new.team_id, "team_id", "team").await?;
        require(
            &mut tx,
            "objectives",
            ctx.org_id,
            new.parent_id,
            "parent_id",
            "objective",
        )
        .await?;
        let objective = Objective {
            id: Uuid::now_v7(),
            title,
            why,
            owner_id: new.owner_id,
            team_id: new.team_id,
            period_start: new.period_start,
            period_end: new.period_end,
            parent_id: new.parent_id,
            status: ObjectiveStatus::Active,
            created_at: ctx.now,
        };
        insert_objectives(&mut tx, ctx.org_id, std::slice::from_ref(&objective)).await?;
        append_event(
            &mut tx,
            ctx,
            "objective.created",
            "objective",
            Some(objective.id),
            json!({ "objective": objective }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &objective).await?;
        Ok(objective)
    }

    async fn objective(&self, org_id: Uuid, id: Uuid) -> Result<Objective> {
        load_objective(&mut *self.read().await?, org_id, id, false).await
    }

    async fn objectives(&self, org_id: Uuid, page: PageRequest) -> Result<Page<Objective>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {OBJECTIVE_COLUMNS} FROM objectives WHERE org_id = "
        ));
        query.push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<ObjectiveRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Objective>>>()?;
        Ok(page_of(items, page, |o| o.id.to_string()))
    }

    async fn update_objective(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: ObjectivePatch,
    ) -> Result<Objective> {
        let mut tx = self.begin().await?;
        let mut objective = load_objective(&mut tx, ctx.org_id, id, true).await?;
        if let Some(title) = patch.title {
            objective.title = text("title", &title, TITLE_MAX)?;
        }
        if let Some(why) = patch.why {
            objective.why = tutti_domain::validate::optional_text(
                "why",
                &why,
                tutti_domain::validate::BODY_MAX,
            )?;
        }
        if let Some(owner) = patch.owner_id {
            require(&mut tx, "members", ctx.org_id, owner, "owner_id", "member").await?;
            objective.owner_id = owner;
        }
        if let Some(team) = patch.team_id {
            require(&mut tx, "teams", ctx.org_id, team, "team_id", "team").await?;
            objective.team_id = team;
        }
        if let Some(parent) = patch.parent_id {
            require(
                &mut tx,
                "objectives",
                ctx.org_id,
                parent,
                "parent_id",
                "objective",
            )
            .await?;
            refuse_cycle(&mut tx, "objectives", id, parent).await?;
            objective.parent_id = parent;
        }
        objective.period_start = patch.period_start.unwrap_or(objective.period_start);
        objective.period_end = patch.period_end.unwrap_or(objective.period_end);
        check_period(objective.period_start, objective.period_end)?;
        objective.status = patch.status.unwrap_or(objective.status);
        sqlx::query(
            "UPDATE objectives SET title = $1, why = $2, owner_id = $3, team_id = $4, period_start = $5, period_end = $6, \
             parent_id = $7, status = $8 WHERE id = $9 AND org_id = $10",
        )
        .bind(&objective.title)
        .bind(&objective.why)
        .bind(objective.owner_id)
        .bind(objective.team_id)
        .bind(objective.period_start)
        .bind(objective.period_end)
        .bind(objective.parent_id)
        .bind(objective.status.as_str())
        .bind(id)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "objective.updated",
            "objective",
            Some(id),
            json!({ "objective": objective }),
        )
        .await?;
        tx.commit().await?;
        Ok(objective)
    }

    async fn objective_forest(&self, org_id: Uuid, roots: &[Uuid]) -> Result<ObjectiveForest> {
        if roots.is_empty() {
            return Ok(ObjectiveForest::default());
        }
        self.forest_of(org_id, roots).await
    }

    async fn all_objectives(&self, org_id: Uuid) -> Result<ObjectiveForest> {
        let mut conn = self.read().await?;
        let objectives: Vec<ObjectiveRow> = sqlx::query_as(&format!(
            "SELECT {OBJECTIVE_COLUMNS} FROM objectives WHERE org_id = $1 ORDER BY id"
        ))
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let key_results: Vec<KeyResultRow> = sqlx::query_as(&format!(
            "SELECT {KEY_RESULT_COLUMNS} FROM key_results WHERE org_id = $1 ORDER BY id"
        ))
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(ObjectiveForest {
            objectives: objectives
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_>>()?,
            key_results: key_results
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_>>()?,
        })
    }

    async fn create_key_result(
        &self,
        ctx: &Ctx,
        objective_id: Uuid,
        new: NewKeyResult,
    ) -> Result<KeyResult> {
        let title = text("title", &new.title, TITLE_MAX)?;
        let unit = tutti_domain::validate::optional_text(
            "unit",
            &new.unit,
            tutti_domain::strategy::UNIT_MAX,
        )?;
        let mut tx = self.begin().await?;
        load_objective(&mut tx, ctx.org_id, objective_id, false).await?;
        let current = new.current.unwrap_or(new.baseline);
        let key_result = KeyResult {
            id: Uuid::now_v7(),
            objective_id,
            title,
            baseline: new.baseline,
            target: new.target,
            current,
            unit,
            confidence: new.confidence,
            progress: tutti_domain::strategy::key_result_progress(
                new.baseline,
                new.target,
                current,
            ),
            updated_at: ctx.now,
        };
        insert_key_results(&mut tx, ctx.org_id, std::slice::from_ref(&key_result)).await?;
        append_event(
            &mut tx,
            ctx,
            "key_result.created",
            "key_result",
            Some(key_result.id),
            json!({ "key_result": key_result }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &key_result).await?;
        Ok(key_result)
    }

    async fn key_result(&self, org_id: Uuid, id: Uuid) -> Result<KeyResult> {
        load_key_result(&mut *self.read().await?, org_id, id, false).await
    }

    async fn update_key_result(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: KeyResultPatch,
    ) -> Result<KeyResult> {
        let mut tx = self.begin().await?;
        let mut key_result = load_key_result(&mut tx, ctx.org_id, id, true).await?;
        let reason = target_reason(patch.target_reason.as_deref().unwrap_or(""))?;
        let moved_from = patch
            .target
            .filter(|to| moves_target(key_result.target, *to))
            .map(|_| key_result.target);
        if let Some(title) = patch.title {
            key_result.title = text("title", &title, TITLE_MAX)?;
        }
        if let Some(unit) = patch.unit {
            key_result.unit = tutti_domain::validate::optional_text(
                "unit",
                &unit,
                tutti_domain::strategy::UNIT_MAX,
            )?;
        }
        key_result.baseline = patch.baseline.unwrap_or(key_result.baseline);
        key_result.target = patch.target.unwrap_or(key_result.target);
        key_result.progress = tutti_domain::strategy::key_result_progress(
            key_result.baseline,
            key_result.target,
            key_result.current,
        );
        key_result.updated_at = ctx.now;
        sqlx::query(
            "UPDATE key_results SET title = $1, unit = $2, baseline = $3, target = $4, updated_at = $5 WHERE id = $6 AND org_id = $7",
        )
        .bind(&key_result.title)
        .bind(&key_result.unit)
        .bind(key_result.baseline)
        .bind(key_result.target)
        .bind(ctx.now)
        .bind(id)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
        if let Some(from) = moved_from {
            sqlx::query(
                "INSERT INTO target_moves (id, org_id, key_result_id, from_target, to_target, reason, author_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(Uuid::now_v7())
            .bind(ctx.org_id)
            .bind(id)
            .bind(from)
            .bind(key_result.target)
            .bind(&reason)
            .bind(ctx.actor_id)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
        }
        append_event(
            &mut tx,
            ctx,
            "key_result.updated",
            "key_result",
            Some(id),
            json!({ "key_result": key_result, "target_moved_from": moved_from, "target_reason": reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(key_result)
    }

    async fn key_result_scope(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<(Option<Uuid>, Option<Uuid>)> {
        let scope: (Option<Uuid>, Option<Uuid>) = sqlx::query_as(
            "SELECT o.team_id, o.owner_id FROM key_results k JOIN objectives o ON o.id = k.objective_id \
             WHERE k.id = $1 AND k.org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_optional(&mut *self.read().await?)
        .await?
        .ok_or(StoreError::not_found("key result"))?;
        Ok(scope)
    }

    async fn create_check_in(
        &self,
        ctx: &Ctx,
        key_result_id: Uuid,
        new: NewCheckIn,
    ) -> Result<CheckIn> {
        let author_id = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("author_id", "a check-in needs an author"))?;
        let check_in = CheckIn {
            id: Uuid::now_v7(),
            key_result_id,
            value: new.value,
            confidence: new.confidence,
            note: new.note,
            author_id,
            created_at: ctx.now,
        };
        self.write_check_in(ctx, &check_in).await?;
        Ok(check_in)
    }

    async fn target_moves(
        &self,
        org_id: Uuid,
        key_result_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<TargetMove>> {
        let mut conn = self.read().await?;
        load_key_result(&mut conn, org_id, key_result_id, false).await?;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {TARGET_MOVE_COLUMNS} FROM target_moves WHERE key_result_id = "
        ));
        query.push_bind(key_result_id);
        query.push(" AND org_id = ").push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<TargetMoveRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let items = rows.into_iter().map(TargetMove::from).collect();
        Ok(page_of(items, page, |m: &TargetMove| m.id.to_string()))
    }

    async fn check_ins(
        &self,
        org_id: Uuid,
        key_result_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<CheckIn>> {
        let mut conn = self.read().await?;
        load_key_result(&mut conn, org_id, key_result_id, false).await?;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE key_result_id = "
        ));
        query.push_bind(key_result_id);
        query.push(" AND org_id = ").push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<CheckInRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<CheckIn>>>()?;
        Ok(page_of(items, page, |c| c.id.to_string()))
    }
}
