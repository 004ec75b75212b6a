// Work items; see `work.rs` for the contract.

/// Checks and inserts a new work item (made from `template_version`, if
/// given), records it, and queues its run when it is ready in an AI
/// worker's hands. The caller commits.
async fn insert_new_work_item(
    conn: &mut Conn,
    ctx: &Ctx,
    new: NewWorkItem,
    template_version: Option<Uuid>,
) -> Result<WorkItem> {
    let title = text("title", &new.title, TITLE_MAX)?;
    let description = tutti_domain::validate::optional_text(
        "description",
        &new.description,
        tutti_domain::validate::BODY_MAX,
    )?;
    let created_by = ctx
        .actor_id
        .ok_or_else(|| StoreError::invalid("created_by", "work needs a creator"))?;
    require(
        &mut *conn,
        "teams",
        ctx.org_id,
        new.team_id,
        "team_id",
        "team",
    )
    .await?;
    require(
        &mut *conn,
        "members",
        ctx.org_id,
        new.assignee_id,
        "assignee_id",
        "member",
    )
    .await?;
    require(
        &mut *conn,
        "work_items",
        ctx.org_id,
        new.parent_id,
        "parent_id",
        "work item",
    )
    .await?;
    require(
        &mut *conn,
        "key_results",
        ctx.org_id,
        new.key_result_id,
        "key_result_id",
        "key result",
    )
    .await?;
    require(
        &mut *conn,
        "service_products",
        ctx.org_id,
        new.service_product_id,
        "service_product_id",
        "service product",
    )
    .await?;
    let item = WorkItem {
        id: Uuid::now_v7(),
        title,
        description,
        team_id: new.team_id,
        assignee_id: new.assignee_id,
        state: new.state,
        kind: new.kind,
        priority: new.priority,
        due: new.due,
        parent_id: new.parent_id,
        key_result_id: new.key_result_id,
        service_product_id: new.service_product_id,
        created_by,
        created_at: ctx.now,
        updated_at: ctx.now,
        state_since: ctx.now,
    };
    insert_work_items(&mut *conn, ctx.org_id, std::slice::from_ref(&item)).await?;
    if let Some(version) = template_version {
        sqlx::query("UPDATE work_items SET template_version_id = $1 WHERE id = $2")
            .bind(version)
            .bind(item.id)
            .execute(&mut *conn)
            .await?;
    }
    let mut event = json!({ "work_item": item });
    if let Some(version) = template_version {
        event["template_version_id"] = json!(version);
    }
    append_event(
        &mut *conn,
        ctx,
        "work_item.created",
        "work_item",
        Some(item.id),
        event,
    )
    .await?;
    queue_when_ready_for_ai(&mut *conn, ctx, &item, None).await?;
    Ok(item)
}

impl crate::Work for BackendStore {
    async fn import_work_items(&self, ctx: &Ctx, import: &WorkImport) -> Result<ImportReport> {
        let mut tx = self.begin().await?;
        let report = self.import_in(&mut tx, ctx, import).await?;
        // A dry run is dropped unfinished: both backends roll it back.
        if !import.dry_run {
            tx.commit().await?;
        }
        Ok(report)
    }

    async fn create_work_item(&self, ctx: &Ctx, new: NewWorkItem) -> Result<WorkItem> {
        let mut tx = self.begin().await?;
        let item = insert_new_work_item(&mut tx, ctx, new, None).await?;
        commit_with_response(tx, ctx, 201, &item).await?;
        Ok(item)
    }

    async fn work_item(&self, org_id: Uuid, id: Uuid) -> Result<WorkItem> {
        load_work_item(&mut *self.read().await?, org_id, id, false).await
    }

    async fn work_items(
        &self,
        org_id: Uuid,
        filter: &WorkFilter,
        page: PageRequest,
    ) -> Result<Page<WorkItem>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(state) = filter.state {
            query.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(assignee) = filter.assignee_id {
            query.push(" AND assignee_id = ").push_bind(assignee);
        }
        if let Some(key_result) = filter.key_result_id {
            query.push(" AND key_result_id = ").push_bind(key_result);
        }
        if let Some(team) = filter.team_id {
            query.push(" AND team_id = ").push_bind(team);
        }
        if filter.unaligned {
            query.push(" AND key_result_id IS NULL");
        }
        push_page(&mut query, page);
        let rows: Vec<WorkItemRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<WorkItem>>>()?;
        Ok(page_of(items, page, |w| w.id.to_string()))
    }

    async fn update_work_item(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: WorkItemPatch,
        may: MayPatch<'_>,
    ) -> Result<WorkItem> {
        let mut tx = self.begin().await?;
        let mut item = load_work_item(&mut tx, ctx.org_id, id, true).await?;
        may(&item, &patch)?;
        let from_state = item.state;
        let before_assignee = item.assignee_id;
        if let Some(title) = patch.title {
            item.title = text("title", &title, TITLE_MAX)?;
        }
        let arrived_as = arrival_of(&item);
        if let Some(description) = patch.description {
            item.description = tutti_domain::validate::optional_text(
                "description",
                &description,
                tutti_domain::validate::BODY_MAX,
            )?;
        }
        if let Some(state) = patch.state
            && state != item.state
        {
            item.state = item.state.transition(state)?;
        }
        if let Some(team) = patch.team_id {
            require(&mut tx, "teams", ctx.org_id, team, "team_id", "team").await?;
            item.team_id = team;
        }
        if let Some(assignee) = patch.assignee_id {
            require(
                &mut tx,
                "members",
                ctx.org_id,
                assignee,
                "assignee_id",
                "member",
            )
            .await?;
            item.assignee_id = assignee;
        }
        if let Some(parent) = patch.parent_id {
            require(
                &mut tx,
                "work_items",
                ctx.org_id,
                parent,
                "parent_id",
                "work item",
            )
            .await?;
            refuse_cycle(&mut tx, "work_items", id, parent).await?;
            item.parent_id = parent;
        }
        if let Some(key_result) = patch.key_result_id {
            require(
                &mut tx,
                "key_results",
                ctx.org_id,
                key_result,
                "key_result_id",
                "key result",
            )
            .await?;
            item.key_result_id = key_result;
        }
        item.kind = patch.kind.unwrap_or(item.kind);
        item.priority = patch.priority.unwrap_or(item.priority);
        if let Some(due) = patch.due {
            item.due = due;
        }
        item.updated_at = ctx.now;
        if item.state != from_state {
            item.state_since = ctx.now;
        }
        // Re-kinded or moved to another team: it counts where it is now.
        let arrives_as = arrival_of(&item);
        if arrives_as != arrived_as {
            count_arrivals(&mut tx, ctx.org_id, [arrived_as], -1).await?;
            count_arrivals(&mut tx, ctx.org_id, [arrives_as], 1).await?;
        }
        sqlx::query(
            "UPDATE work_items SET title = $1, description = $2, team_id = $3, assignee_id = $4, state = $5, kind = $6, \
             priority = $7, due = $8, parent_id = $9, key_result_id = $10, updated_at = $11, state_since = $12 \
             WHERE id = $13 AND org_id = $14",
        )
        .bind(&item.title)
        .bind(&item.description)
        .bind(item.team_id)
        .bind(item.assignee_id)
        .bind(item.state.as_str())
        .bind(item.kind.as_str())
        .bind(item.priority.as_str())
        .bind(item.due)
        .bind(item.parent_id)
        .bind(item.key_result_id)
        .bind(ctx.now)
        .bind(item.state_since)
        .bind(id)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
        let payload = if from_state == item.state {
            json!({ "work_item": item })
        } else {
            json!({ "work_item": item, "from_state": from_state, "to_state": item.state })
        };
        append_event(
            &mut tx,
            ctx,
            "work_item.updated",
            "work_item",
            Some(id),
            payload,
        )
        .await?;
        queue_when_ready_for_ai(&mut tx, ctx, &item, Some((before_assignee, from_state))).await?;
        tx.commit().await?;
        Ok(item)
    }
}

impl BackendStore {
    /// `Work::import_work_items`, on its transaction.
    async fn import_in(&self, tx: &mut Tx, ctx: &Ctx, import: &WorkImport) -> Result<ImportReport> {
        let created_by = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("created_by", "work needs a creator"))?;
        require(
            &mut *tx,
            "teams",
            ctx.org_id,
            import.team_id,
            "team_id",
            "team",
        )
        .await?;
        let people: Vec<(Uuid, Option<String>, String)> = sqlx::query_as(
            "SELECT id, email, name FROM members WHERE org_id = $1 AND kind = 'human'",
        )
        .bind(ctx.org_id)
        .fetch_all(&mut **tx)
        .await?;
        let mut report = ImportReport {
            dry_run: import.dry_run,
            ..ImportReport::default()
        };
        let mut ids: HashMap<String, Uuid> = HashMap::new();
        let mut arrivals = Vec::new();
        for item in &import.items {
            let field = |name: &str| format!("items[{}].{name}", item.key);
            let title = text(&field("title"), &item.title, TITLE_MAX)?;
            let description = tutti_domain::validate::optional_text(
                &field("description"),
                &item.full_description(&import.source),
                tutti_domain::validate::BODY_MAX,
            )?;
            let assignee = match &item.assignee {
                Some(who) => {
                    let found = tutti_domain::import::match_person(&people, who);
                    if found.is_none() && !report.unmatched_assignees.iter().any(|w| w == who) {
                        report.unmatched_assignees.push(who.clone());
                    }
                    found
                }
                None => None,
            };
            let parent = match &item.parent_key {
                Some(key) => match ids.get(key) {
                    Some(id) => Some(*id),
                    None => {
                        let found = item_by_key(&mut *tx, ctx.org_id, key)
                            .await?
                            .map(|row| row.id);
                        if found.is_none() {
                            report.missing_parents.push(item.key.clone());
                        }
                        found
                    }
                },
                None => None,
            };
            let existing = item_by_key(&mut *tx, ctx.org_id, &item.key).await?;
            let (id, action) = match existing {
                Some(row) => {
                    let before: WorkItem = row.try_into()?;
                    let merged = item.merged(
                        tutti_domain::import::Merged {
                            description: before.description.clone(),
                            state: before.state,
                            assignee: before.assignee_id,
                            parent: before.parent_id,
                            due: before.due,
                        },
                        tutti_domain::import::Merged {
                            description,
                            state: item.state,
                            assignee,
                            parent,
                            due: item.due,
                        },
                    );
                    let (description, parent, due) =
                        (merged.description, merged.parent, merged.due);
                    let (state, assignee) = tutti_domain::import::reimported(
                        (before.state, before.assignee_id),
                        (merged.state, merged.assignee),
                        &people,
                    );
                    let priority = item.priority.unwrap_or(before.priority);
                    let same = before.title == title
                        && before.description == description
                        && before.state == state
                        && before.assignee_id == assignee
                        && before.parent_id == parent
                        && before.due == due
                        && before.priority == priority;
                    if same {
                        report.unchanged += 1;
                        (before.id, "unchanged")
                    } else {
                        let since = if before.state == state {
                            before.state_since
                        } else {
                            ctx.now
                        };
                        sqlx::query(
                            "UPDATE work_items SET title = $1, description = $2, state = $3, assignee_id = $4, \
                             parent_id = $5, due = $6, updated_at = $7, state_since = $8, priority = $9 WHERE id = $10",
                        )
                        .bind(&title)
                        .bind(&description)
                        .bind(state.as_str())
                        .bind(assignee)
                        .bind(parent)
                        .bind(due)
                        .bind(ctx.now)
                        .bind(since)
                        .bind(priority.as_str())
                        .bind(before.id)
                        .execute(&mut **tx)
                        .await?;
                        report.updated += 1;
                        (before.id, "updated")
                    }
                }
                None => {
                    let work = WorkItem {
                        id: Uuid::now_v7(),
                        title,
                        description,
                        team_id: import.team_id,
                        assignee_id: assignee,
                        state: item.state,
                        kind: WorkKind::Planned,
                        priority: item
                            .priority
                            .unwrap_or(tutti_domain::work::Priority::Normal),
                        due: item.due,
                        parent_id: parent,
                        key_result_id: None,
                        service_product_id: None,
                        created_by,
                        created_at: ctx.now,
                        updated_at: ctx.now,
                        state_since: ctx.now,
                    };
                    sqlx::query(
                        "INSERT INTO work_items (id, org_id, title, description, team_id, assignee_id, state, kind, priority, due, \
                         parent_id, key_result_id, service_product_id, created_by, created_at, updated_at, state_since, external_key) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, $12, $13, $13, $13, $14)",
                    )
                    .bind(work.id)
                    .bind(ctx.org_id)
                    .bind(&work.title)
                    .bind(&work.description)
                    .bind(work.team_id)
                    .bind(work.assignee_id)
                    .bind(work.state.as_str())
                    .bind(work.kind.as_str())
                    .bind(work.priority.as_str())
                    .bind(work.due)
                    .bind(work.parent_id)
                    .bind(created_by)
                    .bind(ctx.now)
                    .bind(&item.key)
                    .execute(&mut **tx)
                    .await?;
                    arrivals.push(arrival_of(&work));
                    report.created += 1;
                    (work.id, "created")
                }
            };
            ids.insert(item.key.clone(), id);
            report.items.push(ImportedRow {
                key: item.key.clone(),
                id,
                action,
            });
        }
        count_arrivals(&mut *tx, ctx.org_id, arrivals, 1).await?;
        append_event(
            &mut *tx,
            ctx,
            "work_items.imported",
            "org",
            Some(ctx.org_id),
            json!({
                "source": import.source, "team_id": import.team_id, "created": report.created,
                "updated": report.updated, "unchanged": report.unchanged,
            }),
        )
        .await?;
        Ok(report)
    }
}

/// The work item a key names, locked: the one with that key elsewhere,
/// else, when the key is a tutti id, the one with that id. Two lookups,
/// each on its own index, rather than one `OR` a planner may scan for.
async fn item_by_key(conn: &mut Conn, org_id: Uuid, key: &str) -> Result<Option<WorkItemRow>> {
    let by_key: Option<WorkItemRow> = sqlx::query_as(&format!(
        "SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE org_id = $1 AND external_key = $2{FOR_UPDATE}"
    ))
    .bind(org_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let id = tutti_domain::import::id_of_key(key);
    if by_key.is_some() || id.is_nil() {
        return Ok(by_key);
    }
    Ok(sqlx::query_as(&format!(
        "SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE org_id = $1 AND id = $2{FOR_UPDATE}"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}
