// A whole org out and in; see `transfer.rs` for the contract and
// `tutti_domain::transfer` for the document and its rules.

/// Every row of `table` in the org, in id order (time order).
async fn rows_of<R>(conn: &mut Conn, columns: &str, table: &str, org_id: Uuid) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {columns} FROM {table} WHERE org_id = $1 ORDER BY id"
    ))
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?)
}

fn converted<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> Result<Vec<T>> {
    rows.into_iter().map(T::try_from).collect()
}

impl crate::Transfer for BackendStore {
    async fn export_org(&self, ctx: &Ctx) -> Result<tutti_domain::transfer::OrgExport> {
        use tutti_domain::transfer::{
            ExportedOrg, ExportedWorkItem, LEFT_OUT, ORG_EXPORT_FORMAT, ORG_EXPORT_VERSION,
            OrgExport,
        };
        // The export is recorded first: appending takes the org's audit
        // head, which every audited write of the org takes too, so until
        // this transaction ends no change to the org commits and every read
        // below sees one state (on PostgreSQL's read-committed as well).
        let mut tx = self.begin().await?;
        append_event(
            &mut tx,
            ctx,
            "org.exported",
            "org",
            Some(ctx.org_id),
            json!({ "format": ORG_EXPORT_FORMAT, "version": ORG_EXPORT_VERSION }),
        )
        .await?;
        let org: OrgRow = sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1"))
            .bind(ctx.org_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::not_found("org"))?;
        let org = Org::from(org);
        let member_rows: Vec<MemberRow> =
            rows_of(&mut tx, MEMBER_COLUMNS, "members", ctx.org_id).await?;
        let ids: Vec<Uuid> = member_rows.iter().map(|r| r.id).collect();
        let mut teams_by_member = teams_of(&mut tx, &ids).await?;
        let members = member_rows
            .into_iter()
            .map(|r| {
                let teams = teams_by_member.remove(&r.id).unwrap_or_default();
                r.into_member(teams)
            })
            .collect::<Result<Vec<_>>>()?;
        let teams: Vec<TeamRow> = rows_of(&mut tx, TEAM_COLUMNS, "teams", ctx.org_id).await?;
        let provider_rows: Vec<ProviderRow> = rows_of(
            &mut tx,
            &format!(
                "id, name, kind, base_url, api_key_env, api_key IS NOT NULL AS has_stored_key, created_at, {LIMIT_COLUMNS}"
            ),
            "providers",
            ctx.org_id,
        )
        .await?;
        let models: Vec<ModelRow> = rows_of(
            &mut tx,
            "id, provider_id, name, input_price, cached_input_price, output_price",
            "models",
            ctx.org_id,
        )
        .await?;
        let mut models_by_provider: HashMap<Uuid, Vec<Model>> = HashMap::new();
        for model in models {
            models_by_provider
                .entry(model.provider_id)
                .or_default()
                .push(model.into());
        }
        let providers = provider_rows
            .into_iter()
            .map(|row| {
                let models = models_by_provider.remove(&row.id).unwrap_or_default();
                row.into_provider(models)
            })
            .collect::<Result<Vec<_>>>()?;
        let external_keys: HashMap<Uuid, String> = sqlx::query_as(
            "SELECT id, external_key FROM work_items WHERE org_id = $1 AND external_key IS NOT NULL",
        )
        .bind(ctx.org_id)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let work_items: Vec<WorkItem> = converted(
            rows_of::<WorkItemRow>(&mut tx, WORK_ITEM_COLUMNS, "work_items", ctx.org_id).await?,
        )?;
        let mut doc = OrgExport {
            format: ORG_EXPORT_FORMAT.to_owned(),
            version: ORG_EXPORT_VERSION,
            exported_at: ctx.now,
            org: ExportedOrg {
                name: org.name,
                currency: org.currency,
                time_zone: org.time_zone,
                created_at: org.created_at,
            },
            left_out: LEFT_OUT.iter().map(|s| (*s).to_owned()).collect(),
            members,
            teams: teams.into_iter().map(Team::from).collect(),
            providers,
            budgets: converted(
                rows_of::<BudgetRow>(&mut tx, BUDGET_COLUMNS, "budgets", ctx.org_id).await?,
            )?,
            objectives: converted(
                rows_of::<ObjectiveRow>(&mut tx, OBJECTIVE_COLUMNS, "objectives", ctx.org_id)
                    .await?,
            )?,
            key_results: converted(
                rows_of::<KeyResultRow>(&mut tx, KEY_RESULT_COLUMNS, "key_results", ctx.org_id)
                    .await?,
            )?,
            check_ins: converted(
                rows_of::<CheckInRow>(&mut tx, CHECK_IN_COLUMNS, "check_ins", ctx.org_id).await?,
            )?,
            target_moves: rows_of::<TargetMoveRow>(
                &mut tx,
                TARGET_MOVE_COLUMNS,
                "target_moves",
                ctx.org_id,
            )
            .await?
            .into_iter()
            .map(TargetMove::from)
            .collect(),
            service_products: converted(
                rows_of::<ServiceProductRow>(
                    &mut tx,
                    SERVICE_PRODUCT_COLUMNS,
                    "service_products",
                    ctx.org_id,
                )
                .await?,
            )?,
            work_items: work_items
                .into_iter()
                .map(|item| ExportedWorkItem {
                    external_key: external_keys.get(&item.id).cloned(),
                    item,
                })
                .collect(),
            spaces: converted(
                rows_of::<SpaceRow>(&mut tx, SPACE_COLUMNS, "decision_spaces", ctx.org_id).await?,
            )?,
            flows: converted(
                rows_of::<FlowRow>(&mut tx, FLOW_COLUMNS, "flows", ctx.org_id).await?,
            )?,
            gates: converted(
                rows_of::<GateRow>(&mut tx, GATE_COLUMNS, "gates", ctx.org_id).await?,
            )?,
            routines: converted(
                rows_of::<RoutineRow>(&mut tx, ROUTINE_COLUMNS, "routines", ctx.org_id).await?,
            )?,
        };
        // Whether a provider held a key here is this installation's fact;
        // the key itself stays, so the document says none.
        for provider in &mut doc.providers {
            provider.has_stored_key = false;
        }
        tx.commit().await?;
        Ok(doc)
    }

    async fn import_org(&self, ctx: &Ctx, doc: &tutti_domain::transfer::OrgExport) -> Result<Org> {
        let org = Org {
            id: ctx.org_id,
            name: text("org.name", &doc.org.name, TITLE_MAX)?,
            currency: parse_currency(&doc.org.currency)?,
            time_zone: doc.org.time_zone.clone(),
            created_at: doc.org.created_at,
        };
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO orgs (id, name, currency, time_zone, created_at, audit_seq, audit_hash) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(org.id)
        .bind(&org.name)
        .bind(&org.currency)
        .bind(&org.time_zone)
        .bind(org.created_at)
        .bind(GENESIS_HASH)
        .execute(&mut *tx)
        .await?;
        for m in &doc.members {
            sqlx::query(
                "INSERT INTO members (id, org_id, kind, name, email, role, role_card, provider, model, concurrency, \
                 external, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(m.id)
            .bind(org.id)
            .bind(m.kind.as_str())
            .bind(&m.name)
            .bind(&m.email)
            .bind(m.role.as_str())
            .bind(&m.role_card)
            .bind(&m.provider)
            .bind(&m.model)
            .bind(m.concurrency)
            .bind(m.external)
            .bind(m.created_at)
            .execute(&mut *tx)
            .await?;
        }
        // Parents come first (`prepare_import`), so each row's parent is
        // already written.
        for t in &doc.teams {
            sqlx::query(
                "INSERT INTO teams (id, org_id, name, parent_id, lead_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(t.id)
            .bind(org.id)
            .bind(&t.name)
            .bind(t.parent_id)
            .bind(t.lead_id)
            .bind(t.created_at)
            .execute(&mut *tx)
            .await?;
        }
        for m in &doc.members {
            for team in &m.teams {
                sqlx::query(
                    "INSERT INTO team_members (team_id, member_id, org_id) VALUES ($1, $2, $3)",
                )
                .bind(team)
                .bind(m.id)
                .bind(org.id)
                .execute(&mut *tx)
                .await?;
            }
        }
        for p in &doc.providers {
            sqlx::query(&format!(
                "INSERT INTO providers (id, org_id, name, kind, base_url, api_key_env, api_key, created_at, {LIMIT_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $10, $11)"
            ))
            .bind(p.id)
            .bind(org.id)
            .bind(&p.name)
            .bind(p.kind.as_str())
            .bind(&p.base_url)
            .bind(&p.api_key_env)
            .bind(p.created_at)
            .bind(i64::from(p.limits.connect_timeout_secs))
            .bind(i64::from(p.limits.first_byte_timeout_secs))
            .bind(i64::from(p.limits.idle_timeout_secs))
            .bind(i64::from(p.limits.deadline_secs))
            .execute(&mut *tx)
            .await?;
            for model in &p.models {
                sqlx::query(
                    "INSERT INTO models (id, org_id, provider_id, name, input_price, cached_input_price, output_price, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(model.id)
                .bind(org.id)
                .bind(p.id)
                .bind(&model.name)
                .bind(model.prices.input)
                .bind(model.prices.cached_input)
                .bind(model.prices.output)
                .bind(p.created_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        for b in &doc.budgets {
            sqlx::query(
                "INSERT INTO budgets (id, org_id, name, scope, scope_id, period, token_limit, cost_limit, warn_percent, hard, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(b.id)
            .bind(org.id)
            .bind(&b.name)
            .bind(b.scope.as_str())
            .bind(b.scope_id)
            .bind(b.period.as_str())
            .bind(b.token_limit)
            .bind(b.cost_limit)
            .bind(b.warn_percent)
            .bind(b.hard)
            .bind(b.created_at)
            .execute(&mut *tx)
            .await?;
        }
        insert_objectives(&mut tx, org.id, &doc.objectives).await?;
        insert_key_results(&mut tx, org.id, &doc.key_results).await?;
        for c in &doc.check_ins {
            sqlx::query(INSERT_CHECK_IN)
                .bind(c.id)
                .bind(org.id)
                .bind(c.key_result_id)
                .bind(c.value)
                .bind(i64::from(c.confidence))
                .bind(&c.note)
                .bind(c.author_id)
                .bind(c.created_at)
                .execute(&mut *tx)
                .await?;
        }
        for m in &doc.target_moves {
            sqlx::query(
                "INSERT INTO target_moves (id, org_id, key_result_id, from_target, to_target, reason, author_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(m.id)
            .bind(org.id)
            .bind(m.key_result_id)
            .bind(m.from)
            .bind(m.to)
            .bind(&m.reason)
            .bind(m.author_id)
            .bind(m.created_at)
            .execute(&mut *tx)
            .await?;
        }
        for p in &doc.service_products {
            sqlx::query(
                "INSERT INTO service_products (id, org_id, name, description, customer_group, owner_id, kind, levels, version, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(p.id)
            .bind(org.id)
            .bind(&p.name)
            .bind(&p.description)
            .bind(&p.customer_group)
            .bind(p.owner_id)
            .bind(p.kind.as_str())
            .bind(json_of(&p.levels)?)
            .bind(p.version)
            .bind(p.created_at)
            .execute(&mut *tx)
            .await?;
        }
        let items: Vec<WorkItem> = doc.work_items.iter().map(|w| w.item.clone()).collect();
        insert_work_items(&mut tx, org.id, &items).await?;
        for w in doc.work_items.iter().filter(|w| w.external_key.is_some()) {
            sqlx::query("UPDATE work_items SET external_key = $1 WHERE id = $2")
                .bind(&w.external_key)
                .bind(w.item.id)
                .execute(&mut *tx)
                .await?;
        }
        for space in &doc.spaces {
            insert_space(&mut tx, org.id, space).await?;
        }
        for flow in &doc.flows {
            sqlx::query(&format!(
                "INSERT INTO flows (org_id, {FLOW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .bind(org.id)
            .bind(flow.id)
            .bind(&flow.name)
            .bind(&flow.description)
            .bind(json_of(&flow.stages)?)
            .bind(flow.space_id)
            .bind(flow.created_at)
            .execute(&mut *tx)
            .await?;
        }
        for gate in &doc.gates {
            let criteria = json_of(&gate.criteria)?;
            sqlx::query(&format!(
                "INSERT INTO gates (org_id, {GATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(org.id)
            .bind(gate.id)
            .bind(gate.flow_id)
            .bind(gate.position)
            .bind(&gate.name)
            .bind(&criteria)
            .bind(gate.version)
            .bind(gate.updated_at)
            .execute(&mut *tx)
            .await?;
            // Only the version in force comes along; earlier ones stay
            // with the source.
            sqlx::query(
                "INSERT INTO gate_versions (gate_id, version, org_id, criteria, learning_id, changed_by, at) \
                 VALUES ($1, $2, $3, $4, NULL, NULL, $5)",
            )
            .bind(gate.id)
            .bind(gate.version)
            .bind(org.id)
            .bind(&criteria)
            .bind(gate.updated_at)
            .execute(&mut *tx)
            .await?;
        }
        for routine in &doc.routines {
            insert_routine(&mut tx, org.id, routine).await?;
        }
        append_event(
            &mut tx,
            ctx,
            "org.imported",
            "org",
            Some(org.id),
            json!({
                "org": org,
                "exported_at": doc.exported_at,
                "counts": doc.counts(),
                "left_out": doc.left_out,
            }),
        )
        .await?;
        tx.commit().await?;
        self.analyze().await?;
        Ok(org)
    }

    async fn work_sheet(
        &self,
        org_id: Uuid,
        team_id: Option<Uuid>,
    ) -> Result<Vec<tutti_domain::sheet::WorkRow>> {
        let mut conn = self.read().await?;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(team) = team_id {
            query.push(" AND team_id = ").push_bind(team);
        }
        query.push(" ORDER BY id");
        let rows: Vec<WorkItemRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let items: Vec<WorkItem> = converted(rows)?;
        // Names of everything items refer to, and every item's key (a parent
        // may lie outside the team).
        type Names = (
            Uuid,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let names: Vec<Names> = sqlx::query_as(
            "SELECT w.id, w.external_key, COALESCE(m.email, m.name), t.name, k.title, s.name \
             FROM work_items w \
             LEFT JOIN members m ON m.id = w.assignee_id \
             LEFT JOIN teams t ON t.id = w.team_id \
             LEFT JOIN key_results k ON k.id = w.key_result_id \
             LEFT JOIN service_products s ON s.id = w.service_product_id \
             WHERE w.org_id = $1",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let names: HashMap<Uuid, Names> = names.into_iter().map(|n| (n.0, n)).collect();
        let key_of = |id: Uuid| {
            names
                .get(&id)
                .and_then(|n| n.1.clone())
                .unwrap_or_else(|| id.to_string())
        };
        Ok(items
            .into_iter()
            .map(|item| {
                let named = names.get(&item.id);
                tutti_domain::sheet::WorkRow {
                    key: key_of(item.id),
                    assignee: named.and_then(|n| n.2.clone()),
                    team: named.and_then(|n| n.3.clone()),
                    parent: item.parent_id.map(key_of),
                    key_result: named.and_then(|n| n.4.clone()),
                    service_product: named.and_then(|n| n.5.clone()),
                    item,
                }
            })
            .collect())
    }

    async fn strategy_sheet(&self, org_id: Uuid) -> Result<Vec<crate::SheetStrategy>> {
        let mut conn = self.read().await?;
        let objectives: Vec<Objective> = converted(
            rows_of::<ObjectiveRow>(&mut conn, OBJECTIVE_COLUMNS, "objectives", org_id).await?,
        )?;
        let key_results: Vec<KeyResult> = converted(
            rows_of::<KeyResultRow>(&mut conn, KEY_RESULT_COLUMNS, "key_results", org_id).await?,
        )?;
        let people: HashMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>(
            "SELECT id, COALESCE(email, name) FROM members WHERE org_id = $1",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        let teams: HashMap<Uuid, String> =
            sqlx::query_as::<_, (Uuid, String)>("SELECT id, name FROM teams WHERE org_id = $1")
                .bind(org_id)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .collect();
        let titles: HashMap<Uuid, String> =
            objectives.iter().map(|o| (o.id, o.title.clone())).collect();
        let mut by_objective: HashMap<Uuid, Vec<KeyResult>> = HashMap::new();
        for kr in key_results {
            by_objective.entry(kr.objective_id).or_default().push(kr);
        }
        Ok(objectives
            .into_iter()
            .map(|objective| crate::SheetStrategy {
                owner: objective.owner_id.and_then(|id| people.get(&id).cloned()),
                team: objective.team_id.and_then(|id| teams.get(&id).cloned()),
                parent: objective.parent_id.and_then(|id| titles.get(&id).cloned()),
                key_results: by_objective.remove(&objective.id).unwrap_or_default(),
                objective,
            })
            .collect())
    }

    async fn import_objectives(
        &self,
        ctx: &Ctx,
        sheet: &[tutti_domain::sheet::SheetObjective],
    ) -> Result<crate::ObjectivesImported> {
        for (i, objective) in sheet.iter().enumerate() {
            objective.check(&format!("objectives[{i}]"))?;
        }
        let mut tx = self.begin().await?;
        let people: Vec<(Uuid, Option<String>, String)> = sqlx::query_as(
            "SELECT id, email, name FROM members WHERE org_id = $1 AND kind = 'human'",
        )
        .bind(ctx.org_id)
        .fetch_all(&mut *tx)
        .await?;
        let teams: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, name FROM teams WHERE org_id = $1")
                .bind(ctx.org_id)
                .fetch_all(&mut *tx)
                .await?;
        let existing: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, title FROM objectives WHERE org_id = $1 ORDER BY id")
                .bind(ctx.org_id)
                .fetch_all(&mut *tx)
                .await?;
        let ids: Vec<Uuid> = sheet.iter().map(|_| Uuid::now_v7()).collect();
        let mut objectives = Vec::new();
        let mut key_results = Vec::new();
        for (i, (row, id)) in sheet.iter().zip(&ids).enumerate() {
            let at = |field: &str| format!("objectives[{i}].{field}");
            let owner_id = match &row.owner {
                Some(who) => Some(tutti_domain::import::match_person(&people, who).ok_or_else(
                    || {
                        StoreError::invalid(
                            &at("owner"),
                            format!("no person of the org is `{who}`"),
                        )
                    },
                )?),
                None => None,
            };
            let team_id = match &row.team {
                Some(name) => Some(
                    teams
                        .iter()
                        .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
                        .map(|(id, _)| *id)
                        .ok_or_else(|| {
                            StoreError::invalid(&at("team"), format!("no team is named `{name}`"))
                        })?,
                ),
                None => None,
            };
            let parent_id = match &row.parent {
                Some(title) => Some(
                    sheet
                        .iter()
                        .zip(&ids)
                        .find(|(o, _)| o.title == *title)
                        .map(|(_, id)| *id)
                        .or_else(|| existing.iter().find(|(_, t)| t == title).map(|(id, _)| *id))
                        .ok_or_else(|| {
                            StoreError::invalid(
                                &at("parent"),
                                format!("no objective is titled `{title}`"),
                            )
                        })?,
                ),
                None => None,
            };
            if parent_id == Some(*id) {
                return Err(StoreError::invalid(
                    &at("parent"),
                    "an objective cannot be its own parent",
                ));
            }
            objectives.push(Objective {
                id: *id,
                title: row.title.trim().to_owned(),
                why: row.why.trim().to_owned(),
                owner_id,
                team_id,
                period_start: row.period_start,
                period_end: row.period_end,
                parent_id,
                status: row.status,
                created_at: ctx.now,
            });
            for kr in &row.key_results {
                let current = kr.current.unwrap_or(kr.baseline);
                key_results.push(KeyResult {
                    id: Uuid::now_v7(),
                    objective_id: *id,
                    title: kr.title.trim().to_owned(),
                    baseline: kr.baseline,
                    target: kr.target,
                    current,
                    unit: kr.unit.trim().to_owned(),
                    confidence: kr.confidence,
                    progress: tutti_domain::strategy::key_result_progress(
                        kr.baseline,
                        kr.target,
                        current,
                    ),
                    updated_at: ctx.now,
                });
            }
        }
        // A parent later in the sheet is written first.
        let objectives = tutti_domain::transfer::parents_first_or_refuse(
            "objectives",
            objectives,
            |o| o.id,
            |o| o.parent_id,
        )?;
        insert_objectives(&mut tx, ctx.org_id, &objectives).await?;
        insert_key_results(&mut tx, ctx.org_id, &key_results).await?;
        let imported = crate::ObjectivesImported {
            objectives: objectives.len(),
            key_results: key_results.len(),
        };
        append_event(
            &mut tx,
            ctx,
            "objectives.imported",
            "org",
            Some(ctx.org_id),
            json!({ "objectives": imported.objectives, "key_results": imported.key_results }),
        )
        .await?;
        tx.commit().await?;
        Ok(imported)
    }
}
