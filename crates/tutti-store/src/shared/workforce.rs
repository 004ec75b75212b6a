// Steering the AI workforce; see `workforce.rs` for the contract. The
// guard-rail checks are applied where a run ends (`finish_run` in
// `runs.rs`); the template record's arithmetic is the domain's.

const TEMPLATE_VERSION_COLUMNS: &str =
    "id, template_id, version, body, criteria, note, in_use, created_by, created_at";

#[derive(sqlx::FromRow)]
struct TemplateVersionRow {
    id: Uuid,
    template_id: Uuid,
    version: i64,
    body: String,
    criteria: String,
    note: String,
    in_use: bool,
    created_by: Uuid,
    created_at: DateTime<Utc>,
}

impl From<TemplateVersionRow> for tutti_domain::labour::template::TemplateVersion {
    fn from(r: TemplateVersionRow) -> Self {
        Self {
            id: r.id,
            template_id: r.template_id,
            version: r.version,
            body: r.body,
            criteria: r.criteria,
            note: r.note,
            in_use: r.in_use,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

async fn load_template(
    conn: &mut Conn,
    org_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<tutti_domain::labour::template::Template> {
    let row: (Uuid, String, Uuid, DateTime<Utc>) = sqlx::query_as(&format!(
        "SELECT id, name, created_by, created_at FROM templates WHERE id = $1 AND org_id = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("template"))?;
    let versions: Vec<TemplateVersionRow> = sqlx::query_as(&format!(
        "SELECT {TEMPLATE_VERSION_COLUMNS} FROM template_versions WHERE template_id = $1 ORDER BY version"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(tutti_domain::labour::template::Template {
        id: row.0,
        name: row.1,
        created_by: row.2,
        created_at: row.3,
        versions: versions.into_iter().map(Into::into).collect(),
    })
}

/// Inserts version `number` of a template, in use.
async fn insert_template_version(
    conn: &mut Conn,
    ctx: &Ctx,
    template_id: Uuid,
    number: i64,
    new: &crate::NewTemplateVersion,
) -> Result<Uuid> {
    let created_by = ctx
        .actor_id
        .ok_or_else(|| StoreError::invalid("created_by", "a template is written by someone"))?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO template_versions (id, org_id, template_id, version, body, criteria, note, in_use, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9)",
    )
    .bind(id)
    .bind(ctx.org_id)
    .bind(template_id)
    .bind(number)
    .bind(&new.body)
    .bind(&new.criteria)
    .bind(&new.note)
    .bind(created_by)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct SpendRow {
    work_item_id: Option<Uuid>,
    key_result_id: Option<Uuid>,
    objective_id: Option<Uuid>,
    team_id: Option<Uuid>,
    role: Option<String>,
    tokens: i64,
    cost: i64,
}

/// A key result with its value before the window's start and end.
#[derive(sqlx::FromRow)]
struct MoveRow {
    id: Uuid,
    baseline: f64,
    target: f64,
    at_start: Option<f64>,
    at_end: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct AcceptanceRow {
    work_item_id: Uuid,
    key_result_id: Option<Uuid>,
    objective_id: Option<Uuid>,
    team_id: Option<Uuid>,
    role: Option<String>,
    ordered_at: DateTime<Utc>,
    accepted_at: DateTime<Utc>,
}

impl crate::Workforce for BackendStore {
    async fn space_guards(
        &self,
        org_id: Uuid,
        space_id: Uuid,
    ) -> Result<Vec<tutti_domain::guard::GuardCheck>> {
        let row: Option<String> =
            sqlx::query_scalar("SELECT guards FROM decision_spaces WHERE id = $1 AND org_id = $2")
                .bind(space_id)
                .bind(org_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        from_json(
            "decision_spaces.guards",
            &row.ok_or(StoreError::not_found("decision space"))?,
        )
    }

    async fn set_space_guards(
        &self,
        ctx: &Ctx,
        space_id: Uuid,
        checks: Vec<tutti_domain::guard::GuardCheck>,
    ) -> Result<Vec<tutti_domain::guard::GuardCheck>> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE decision_spaces SET guards = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
        )
        .bind(to_json(&checks)?)
        .bind(ctx.now)
        .bind(space_id)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::not_found("decision space"));
        }
        append_event(
            &mut tx,
            ctx,
            "space.guards_set",
            "decision_space",
            Some(space_id),
            json!({ "guards": checks }),
        )
        .await?;
        commit_with_response(tx, ctx, 200, &checks).await?;
        Ok(checks)
    }

    async fn capacity(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<tutti_domain::labour::capacity::Capacity> {
        use tutti_domain::labour::capacity::{
            Capacity, WAIT_WINDOW_DAYS, WorkerQueue, mean_wait, oldest_wait,
        };
        let mut conn = self.read().await?;
        let cap: Option<Option<i64>> =
            sqlx::query_scalar("SELECT ai_concurrency FROM orgs WHERE id = $1")
                .bind(org_id)
                .fetch_optional(&mut *conn)
                .await?;
        let cap = cap.ok_or(StoreError::not_found("org"))?;
        let workers: Vec<(Uuid, String, bool, i64, i64, i64)> = sqlx::query_as(
            "SELECT m.id, m.name, m.external, m.concurrency, \
             (SELECT COUNT(*) FROM runs r WHERE r.worker_id = m.id AND r.status = 'running'), \
             (SELECT COUNT(*) FROM runs r WHERE r.worker_id = m.id AND r.status = 'queued') \
             FROM members m WHERE m.org_id = $1 AND m.kind = 'ai' ORDER BY m.name, m.id",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let oldest: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as(
            "SELECT worker_id, created_at FROM runs r WHERE org_id = $1 AND status = 'queued' \
             AND NOT EXISTS (SELECT 1 FROM runs e WHERE e.worker_id = r.worker_id AND e.status = 'queued' AND e.id < r.id)",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let started: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT worker_id, created_at, started_at FROM runs \
             WHERE org_id = $1 AND started_at IS NOT NULL AND started_at >= $2",
        )
        .bind(org_id)
        .bind(now - chrono::Duration::days(WAIT_WINDOW_DAYS))
        .fetch_all(&mut *conn)
        .await?;
        let workers: Vec<WorkerQueue> = workers
            .into_iter()
            .map(|(id, name, external, concurrency, running, queued)| {
                let waits: Vec<(DateTime<Utc>, DateTime<Utc>)> = started
                    .iter()
                    .filter(|(worker, _, _)| *worker == id)
                    .map(|(_, queued_at, started_at)| (*queued_at, *started_at))
                    .collect();
                WorkerQueue {
                    worker_id: id,
                    name,
                    external,
                    concurrency,
                    running,
                    queued,
                    oldest_wait_secs: oldest_wait(
                        oldest.iter().find(|(w, _)| *w == id).map(|(_, at)| *at),
                        now,
                    ),
                    mean_wait_secs: mean_wait(&waits),
                    started: waits.len() as i64,
                }
            })
            .collect();
        Ok(Capacity {
            ai_concurrency: cap,
            running: workers.iter().map(|w| w.running).sum(),
            queued: workers.iter().map(|w| w.queued).sum(),
            workers,
        })
    }

    async fn set_ai_concurrency(&self, ctx: &Ctx, cap: Option<i64>) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE orgs SET ai_concurrency = $1 WHERE id = $2")
            .bind(cap)
            .bind(ctx.org_id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            ctx,
            "org.ai_concurrency_set",
            "org",
            Some(ctx.org_id),
            json!({ "ai_concurrency": cap }),
        )
        .await?;
        commit_with_response(tx, ctx, 200, &json!({ "ai_concurrency": cap })).await?;
        Ok(cap)
    }

    async fn create_template(
        &self,
        ctx: &Ctx,
        name: String,
        first: crate::NewTemplateVersion,
    ) -> Result<tutti_domain::labour::template::Template> {
        let created_by = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("created_by", "a template is written by someone"))?;
        let mut tx = self.begin().await?;
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO templates (id, org_id, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(ctx.org_id)
        .bind(&name)
        .bind(created_by)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            StoreError::conflict_on_unique(e, || format!("a template named {name:?} exists already"))
        })?;
        insert_template_version(&mut tx, ctx, id, 1, &first).await?;
        let template = load_template(&mut tx, ctx.org_id, id, false).await?;
        append_event(
            &mut tx,
            ctx,
            "template.created",
            "template",
            Some(id),
            json!({ "template": template }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &template).await?;
        Ok(template)
    }

    async fn add_template_version(
        &self,
        ctx: &Ctx,
        template_id: Uuid,
        version: crate::NewTemplateVersion,
    ) -> Result<tutti_domain::labour::template::Template> {
        let mut tx = self.begin().await?;
        let before = load_template(&mut tx, ctx.org_id, template_id, true).await?;
        let in_use: Vec<i64> = before.in_use().map(|v| v.version).collect();
        let stays = tutti_domain::labour::template::stay_in_use(&in_use, version.side_by_side);
        sqlx::query("UPDATE template_versions SET in_use = (version = $1) WHERE template_id = $2")
            .bind(stays.unwrap_or(0))
            .bind(template_id)
            .execute(&mut *tx)
            .await?;
        let number = before.versions.last().map_or(1, |v| v.version + 1);
        let id = insert_template_version(&mut tx, ctx, template_id, number, &version).await?;
        let template = load_template(&mut tx, ctx.org_id, template_id, false).await?;
        append_event(
            &mut tx,
            ctx,
            "template.version_added",
            "template",
            Some(template_id),
            json!({ "version_id": id, "version": number, "note": version.note, "in_use": template.in_use().map(|v| v.version).collect::<Vec<_>>() }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &template).await?;
        Ok(template)
    }

    async fn template(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<tutti_domain::labour::template::Template> {
        load_template(&mut *self.read().await?, org_id, id, false).await
    }

    async fn templates(
        &self,
        org_id: Uuid,
    ) -> Result<Vec<tutti_domain::labour::template::Template>> {
        let mut conn = self.read().await?;
        let rows: Vec<(Uuid, String, Uuid, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, name, created_by, created_at FROM templates WHERE org_id = $1 ORDER BY name, id",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let versions: Vec<TemplateVersionRow> = sqlx::query_as(&format!(
            "SELECT {TEMPLATE_VERSION_COLUMNS} FROM template_versions WHERE org_id = $1 ORDER BY template_id, version"
        ))
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut by_template: std::collections::HashMap<Uuid, Vec<_>> =
            std::collections::HashMap::new();
        for v in versions {
            by_template.entry(v.template_id).or_default().push(v.into());
        }
        Ok(rows
            .into_iter()
            .map(
                |(id, name, created_by, created_at)| tutti_domain::labour::template::Template {
                    id,
                    name,
                    created_by,
                    created_at,
                    versions: by_template.remove(&id).unwrap_or_default(),
                },
            )
            .collect())
    }

    async fn create_from_template(
        &self,
        ctx: &Ctx,
        template_id: Uuid,
        new: crate::FromTemplate,
    ) -> Result<WorkItem> {
        use tutti_domain::labour::template::{Fill, describe, pick_version};
        let mut tx = self.begin().await?;
        // The template's row lock makes the turns strict under concurrency.
        let template = load_template(&mut tx, ctx.org_id, template_id, true).await?;
        let counts: Vec<(Uuid, i64, i64)> = sqlx::query_as(
            "SELECT v.id, v.version, (SELECT COUNT(*) FROM work_items w WHERE w.template_version_id = v.id) \
             FROM template_versions v WHERE v.template_id = $1 AND v.in_use",
        )
        .bind(template_id)
        .fetch_all(&mut *tx)
        .await?;
        let version_id = pick_version(&counts).ok_or_else(|| {
            StoreError::Conflict(format!(
                "the template {:?} has no version in use",
                template.name
            ))
        })?;
        let version = template
            .versions
            .iter()
            .find(|v| v.id == version_id)
            .ok_or(StoreError::not_found("template version"))?;
        require(
            &mut tx,
            "key_results",
            ctx.org_id,
            new.key_result_id,
            "key_result_id",
            "key result",
        )
        .await?;
        require(&mut tx, "teams", ctx.org_id, new.team_id, "team_id", "team").await?;
        let key_result = match new.key_result_id {
            Some(id) => Some(load_key_result(&mut tx, ctx.org_id, id, false).await?),
            None => None,
        };
        let objective = match &key_result {
            Some(kr) => Some(load_objective(&mut tx, ctx.org_id, kr.objective_id, false).await?),
            None => None,
        };
        let team: Option<String> = match new.team_id {
            Some(id) => {
                sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let description = describe(
            version,
            &Fill {
                title: &new.title,
                details: &new.details,
                key_result: key_result.as_ref().map(|k| k.title.as_str()),
                objective: objective.as_ref().map(|o| o.title.as_str()),
                why: objective.as_ref().map(|o| o.why.as_str()),
                team: team.as_deref(),
                due: new.due,
            },
        );
        let item = insert_new_work_item(
            &mut tx,
            ctx,
            crate::NewWorkItem {
                title: new.title,
                description,
                team_id: new.team_id,
                assignee_id: new.assignee_id,
                state: new.state,
                kind: new.kind,
                priority: new.priority,
                due: new.due,
                parent_id: None,
                key_result_id: new.key_result_id,
                service_product_id: None,
            },
            Some(version_id),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &item).await?;
        Ok(item)
    }

    async fn template_facts(
        &self,
        org_id: Uuid,
        template_id: Option<Uuid>,
    ) -> Result<Vec<tutti_domain::labour::template::ItemFacts>> {
        use tutti_domain::labour::template::ItemFacts;
        let mut conn = self.read().await?;
        let scope = "FROM work_items w JOIN template_versions v ON v.id = w.template_version_id \
                     WHERE w.org_id = $1 AND ($2 IS NULL OR v.template_id = $2)";
        let items: Vec<(Uuid, Uuid, Uuid, DateTime<Utc>)> = sqlx::query_as(&format!(
            "SELECT w.id, w.template_version_id, w.created_by, w.created_at {scope} ORDER BY w.id"
        ))
        .bind(org_id)
        .bind(template_id)
        .fetch_all(&mut *conn)
        .await?;
        let reviews: Vec<(Uuid, String, i64, DateTime<Utc>)> = sqlx::query_as(&format!(
            "SELECT rv.work_item_id, rv.verdict, rv.rating, rv.created_at FROM reviews rv \
             WHERE rv.work_item_id IN (SELECT w.id {scope}) ORDER BY rv.id"
        ))
        .bind(org_id)
        .bind(template_id)
        .fetch_all(&mut *conn)
        .await?;
        let runs: Vec<(Uuid, i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT r.work_item_id, CAST(SUM(r.input_tokens + r.output_tokens) AS BIGINT), CAST(SUM(r.cost) AS BIGINT), \
             CAST(SUM(CASE WHEN r.findings <> '[]' THEN 1 ELSE 0 END) AS BIGINT) FROM runs r \
             WHERE r.work_item_id IN (SELECT w.id {scope}) GROUP BY r.work_item_id"
        ))
        .bind(org_id)
        .bind(template_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut facts: Vec<ItemFacts> = Vec::with_capacity(items.len());
        for (item_id, version_id, author_id, ordered_at) in items {
            let mut item_reviews = Vec::new();
            for (_, verdict, rating, at) in reviews.iter().filter(|r| r.0 == item_id) {
                let verdict = verdict.parse::<Verdict>().map_err(StoreError::Corrupt)?;
                item_reviews.push((verdict, *rating, *at));
            }
            let (tokens, cost, guard_findings) = runs
                .iter()
                .find(|r| r.0 == item_id)
                .map_or((0, 0, 0), |r| (r.1, r.2, r.3));
            facts.push(ItemFacts {
                version_id,
                author_id,
                ordered_at,
                reviews: item_reviews,
                tokens,
                cost,
                guard_findings,
            });
        }
        Ok(facts)
    }

    async fn leverage_facts(
        &self,
        org_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<tutti_domain::labour::leverage::LeverageFacts> {
        use tutti_domain::labour::leverage::{
            Acceptance, KeyResultMove, LeverageFacts, Served, Spend,
        };
        use tutti_domain::org::Role;
        let role = |text: Option<String>| -> Result<Option<Role>> {
            text.map(|r| r.parse::<Role>().map_err(StoreError::Corrupt))
                .transpose()
        };
        let mut conn = self.read().await?;
        // A call for a work item counts for what the item serves now (work
        // is often linked to its key result after it began); a call for no
        // item, for what the ledger kept when it was reserved.
        let spent: Vec<SpendRow> = sqlx::query_as(
            "SELECT e.work_item_id, \
             CASE WHEN w.id IS NULL THEN e.key_result_id ELSE w.key_result_id END AS key_result_id, \
             CASE WHEN w.id IS NULL THEN e.objective_id ELSE k.objective_id END AS objective_id, \
             CASE WHEN w.id IS NULL THEN e.team_id ELSE w.team_id END AS team_id, m.role, \
             CAST(e.input_tokens + e.output_tokens AS BIGINT) AS tokens, e.cost \
             FROM ledger_entries e LEFT JOIN work_items w ON w.id = e.work_item_id \
             LEFT JOIN key_results k ON k.id = w.key_result_id \
             LEFT JOIN members m ON m.id = w.created_by \
             WHERE e.org_id = $1 AND e.kind = 'settle' AND e.at >= $2 AND e.at < $3",
        )
        .bind(org_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        let accepted: Vec<AcceptanceRow> = sqlx::query_as(
            "SELECT w.id AS work_item_id, w.key_result_id, k.objective_id, w.team_id, m.role, \
             w.created_at AS ordered_at, rv.created_at AS accepted_at \
             FROM reviews rv JOIN work_items w ON w.id = rv.work_item_id \
             LEFT JOIN key_results k ON k.id = w.key_result_id \
             LEFT JOIN members m ON m.id = w.created_by \
             WHERE rv.org_id = $1 AND rv.verdict = 'accept' AND rv.created_at >= $2 AND rv.created_at < $3",
        )
        .bind(org_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        let value_before = |bound: &str| {
            format!(
                "(SELECT c.value FROM check_ins c WHERE c.key_result_id = k.id AND c.created_at < {bound} \
                 ORDER BY c.created_at DESC, c.id DESC LIMIT 1)"
            )
        };
        let moves: Vec<MoveRow> = sqlx::query_as(&format!(
            "SELECT k.id, k.baseline, k.target, {} AS at_start, {} AS at_end FROM key_results k WHERE k.org_id = $1",
            value_before("$2"),
            value_before("$3"),
        ))
        .bind(org_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        let mut facts = LeverageFacts::default();
        for row in spent {
            facts.spend.push(Spend {
                served: Served {
                    work_item_id: row.work_item_id,
                    key_result_id: row.key_result_id,
                    objective_id: row.objective_id,
                    team_id: row.team_id,
                    ordered_by: role(row.role)?,
                },
                tokens: row.tokens,
                cost: row.cost,
            });
        }
        for row in accepted {
            facts.accepted.push(Acceptance {
                served: Served {
                    work_item_id: Some(row.work_item_id),
                    key_result_id: row.key_result_id,
                    objective_id: row.objective_id,
                    team_id: row.team_id,
                    ordered_by: role(row.role)?,
                },
                ordered_at: row.ordered_at,
                accepted_at: row.accepted_at,
            });
        }
        facts.moves = moves
            .into_iter()
            .map(|m| {
                let value_at_start = m.at_start.unwrap_or(m.baseline);
                KeyResultMove {
                    key_result_id: m.id,
                    baseline: m.baseline,
                    target: m.target,
                    value_at_start,
                    value_at_end: m.at_end.unwrap_or(value_at_start),
                }
            })
            .collect();
        Ok(facts)
    }

    async fn attach_evidence(
        &self,
        ctx: &Ctx,
        check_in_id: Uuid,
        work_item_id: Uuid,
        run_id: Option<Uuid>,
    ) -> Result<tutti_domain::strategy::Evidence> {
        let attached_by = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("attached_by", "evidence is attached by someone"))?;
        let mut tx = self.begin().await?;
        let check_in: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM check_ins WHERE id = $1 AND org_id = $2")
                .bind(check_in_id)
                .bind(ctx.org_id)
                .fetch_optional(&mut *tx)
                .await?;
        check_in.ok_or(StoreError::not_found("check-in"))?;
        let item = load_work_item(&mut tx, ctx.org_id, work_item_id, true)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => StoreError::invalid(
                    "work_item_id",
                    format!("no work item with id {work_item_id} in this org"),
                ),
                e => e,
            })?;
        let run = match run_id {
            Some(run_id) => {
                let of_item: Option<Uuid> = sqlx::query_scalar(
                    "SELECT work_item_id FROM runs WHERE id = $1 AND org_id = $2",
                )
                .bind(run_id)
                .bind(ctx.org_id)
                .fetch_optional(&mut *tx)
                .await?;
                let of_item = of_item.ok_or_else(|| {
                    StoreError::invalid("run_id", format!("no run with id {run_id} in this org"))
                })?;
                let accepted: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM reviews WHERE run_id = $1 AND verdict = 'accept'",
                )
                .bind(run_id)
                .fetch_one(&mut *tx)
                .await?;
                Some((of_item == item.id, accepted > 0))
            }
            None => None,
        };
        tutti_domain::strategy::check_evidence(item.state, run)?;
        sqlx::query(
            "INSERT INTO check_in_evidence (check_in_id, work_item_id, org_id, run_id, attached_by, attached_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(check_in_id)
        .bind(work_item_id)
        .bind(ctx.org_id)
        .bind(run_id)
        .bind(attached_by)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            StoreError::conflict_on_unique(e, || "this work is attached to the check-in already".into())
        })?;
        let evidence = load_evidence(
            &mut tx,
            ctx.org_id,
            "e.check_in_id = $2 AND e.work_item_id = $3",
            check_in_id,
            Some(work_item_id),
        )
        .await?
        .pop()
        .ok_or(StoreError::not_found("evidence"))?;
        append_event(
            &mut tx,
            ctx,
            "check_in.evidence_attached",
            "check_in",
            Some(check_in_id),
            json!({ "work_item_id": work_item_id, "run_id": run_id }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &evidence).await?;
        Ok(evidence)
    }

    async fn check_in_key_result(&self, org_id: Uuid, check_in_id: Uuid) -> Result<Uuid> {
        let found: Option<Uuid> =
            sqlx::query_scalar("SELECT key_result_id FROM check_ins WHERE id = $1 AND org_id = $2")
                .bind(check_in_id)
                .bind(org_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        found.ok_or(StoreError::not_found("check-in"))
    }

    async fn evidence(
        &self,
        org_id: Uuid,
        key_result_id: Uuid,
    ) -> Result<Vec<tutti_domain::strategy::Evidence>> {
        load_evidence(
            &mut *self.read().await?,
            org_id,
            "e.check_in_id IN (SELECT c.id FROM check_ins c WHERE c.key_result_id = $2)",
            key_result_id,
            None,
        )
        .await
    }
}

/// Evidence rows matching `condition` (which binds `$2`, and `$3` when
/// `third` is given), with what the item's runs cost, oldest first.
async fn load_evidence(
    conn: &mut Conn,
    org_id: Uuid,
    condition: &str,
    second: Uuid,
    third: Option<Uuid>,
) -> Result<Vec<tutti_domain::strategy::Evidence>> {
    #[derive(sqlx::FromRow)]
    struct EvidenceRow {
        check_in_id: Uuid,
        work_item_id: Uuid,
        title: String,
        state: String,
        run_id: Option<Uuid>,
        tokens: i64,
        cost: i64,
        runs: i64,
        attached_by: Uuid,
        attached_at: DateTime<Utc>,
    }
    let sql = format!(
        "SELECT e.check_in_id, e.work_item_id, w.title, w.state, e.run_id, \
         CAST(COALESCE((SELECT SUM(r.input_tokens + r.output_tokens) FROM runs r WHERE r.work_item_id = w.id), 0) AS BIGINT) AS tokens, \
         CAST(COALESCE((SELECT SUM(r.cost) FROM runs r WHERE r.work_item_id = w.id), 0) AS BIGINT) AS cost, \
         (SELECT COUNT(*) FROM runs r WHERE r.work_item_id = w.id) AS runs, \
         e.attached_by, e.attached_at \
         FROM check_in_evidence e JOIN work_items w ON w.id = e.work_item_id \
         WHERE e.org_id = $1 AND {condition} ORDER BY e.attached_at, e.work_item_id"
    );
    let mut query = sqlx::query_as::<_, EvidenceRow>(&sql)
        .bind(org_id)
        .bind(second);
    if let Some(third) = third {
        query = query.bind(third);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.into_iter()
        .map(|r| {
            Ok(tutti_domain::strategy::Evidence {
                check_in_id: r.check_in_id,
                work_item_id: r.work_item_id,
                title: r.title,
                state: r.state.parse().map_err(StoreError::Corrupt)?,
                run_id: r.run_id,
                tokens: r.tokens,
                cost: r.cost,
                runs: r.runs,
                attached_by: r.attached_by,
                attached_at: r.attached_at,
            })
        })
        .collect()
}
