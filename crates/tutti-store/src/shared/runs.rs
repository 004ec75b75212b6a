// The run queue, leases and reviews; see `runs.rs` for the contract. When a
// run is queued, what its end does to the work, retry or fail after a lost
// lease, and what a verdict does are `tutti_domain::labour`'s rules; here
// they are applied to the rows as they stand inside each transaction.

/// Reservations of runs are recovered through their run's lease, not by age.
const RUN_RESERVATION_HORIZON_DAYS: i64 = 3650;

/// SQL: how many runs the worker of the run `r` has running.
const RUNNING_OF_WORKER: &str =
    "(SELECT COUNT(*) FROM runs w WHERE w.worker_id = r.worker_id AND w.status = 'running')";

/// How many runs of an item are queued or running. Binds `$1` the item.
const ACTIVE_RUNS: &str =
    "SELECT COUNT(*) FROM runs WHERE work_item_id = $1 AND status IN ('queued', 'running')";

async fn load_run(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<Run> {
    let row: RunRow = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE id = $1 AND org_id = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("run"))?;
    row.try_into()
}

async fn active_runs(conn: &mut Conn, item_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(ACTIVE_RUNS)
        .bind(item_id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Moves a work item as a run's life asks, when that is still a legal move
/// (a person may have moved it meanwhile). Returns the state it is in.
async fn move_item(
    conn: &mut Conn,
    ctx: &Ctx,
    id: Uuid,
    to: WorkState,
    unassign: bool,
) -> Result<WorkState> {
    let item = load_work_item(&mut *conn, ctx.org_id, id, true).await?;
    if item.state == to || item.state.transition(to).is_err() {
        return Ok(item.state);
    }
    let assignee = if unassign { None } else { item.assignee_id };
    sqlx::query("UPDATE work_items SET state = $1, assignee_id = $2, updated_at = $3, state_since = $3 WHERE id = $4")
        .bind(to.as_str())
        .bind(assignee)
        .bind(ctx.now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(to)
}

/// Renders and inserts the next run of a work item by its AI assignee, once
/// the rule says it may have one (`check_new_run`). A revision's work order
/// is the previous one with the reviewer's feedback (`previous`).
async fn insert_run(
    conn: &mut Conn,
    ctx: &Ctx,
    item: &WorkItem,
    max_tokens: MaxTokens,
    previous: Option<(&Run, &str)>,
) -> Result<Run> {
    let worker = match item.assignee_id {
        Some(id) => Some(load_member(&mut *conn, ctx.org_id, id).await?),
        None => None,
    };
    let active = active_runs(&mut *conn, item.id).await?;
    check_new_run(item, worker.as_ref(), active)?;
    let Some(worker) = worker else {
        return Err(StoreError::invalid(
            "assignee_id",
            "the item has no assignee",
        ));
    };
    let iteration: Option<i64> =
        sqlx::query_scalar("SELECT MAX(iteration) FROM runs WHERE work_item_id = $1")
            .bind(item.id)
            .fetch_one(&mut *conn)
            .await?;
    let work_order = match previous {
        Some((run, feedback)) => with_feedback(&run.work_order, run.iteration, feedback),
        None => work_order_of(&mut *conn, ctx.org_id, item).await?,
    };
    let mut run = Run::queued(
        Uuid::now_v7(),
        item.id,
        &worker,
        iteration.unwrap_or(0) + 1,
        work_order,
        max_tokens,
        ctx.now,
    );
    run.template_version_id =
        sqlx::query_scalar("SELECT template_version_id FROM work_items WHERE id = $1")
            .bind(item.id)
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query(
        "INSERT INTO runs (id, org_id, work_item_id, worker_id, iteration, status, role_card, work_order, output, \
         attempts, max_attempts, max_tokens, cancel_requested, input_tokens, cached_input_tokens, output_tokens, cost, \
         created_by, created_at, template_version_id) \
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, '', 0, $8, $9, FALSE, 0, 0, 0, 0, $10, $11, $12)",
    )
    .bind(run.id)
    .bind(ctx.org_id)
    .bind(run.work_item_id)
    .bind(run.worker_id)
    .bind(run.iteration)
    .bind(&run.role_card)
    .bind(&run.work_order)
    .bind(run.max_attempts)
    .bind(run.max_tokens)
    .bind(ctx.actor_id)
    .bind(ctx.now)
    .bind(run.template_version_id)
    .execute(&mut *conn)
    .await?;
    append_event(
        &mut *conn,
        ctx,
        "run.queued",
        "run",
        Some(run.id),
        json!({ "run": run_summary(&run) }),
    )
    .await?;
    Ok(run)
}

/// The work order of an item's first run: the task, and why it matters (the
/// key result it serves, its objective and purpose, and the principles of
/// the decision spaces it falls in).
async fn work_order_of(conn: &mut Conn, org_id: Uuid, item: &WorkItem) -> Result<String> {
    let key_result = match item.key_result_id {
        Some(id) => Some(load_key_result(&mut *conn, org_id, id, false).await?),
        None => None,
    };
    let objective = match &key_result {
        Some(kr) => Some(load_objective(&mut *conn, org_id, kr.objective_id, false).await?),
        None => None,
    };
    let principles = space_principles(
        &mut *conn,
        org_id,
        item.team_id,
        objective.as_ref().map(|o| o.id),
    )
    .await?;
    Ok(render_work_order(&WorkOrderParts {
        title: &item.title,
        description: &item.description,
        priority: item.priority.as_str(),
        due: item.due,
        key_result: key_result.as_ref().map(|k| k.title.as_str()),
        objective: objective.as_ref().map(|o| o.title.as_str()),
        why: objective.as_ref().map(|o| o.why.as_str()),
        principles: &principles,
    }))
}

/// Queues a run when a change leaves ready work newly in an AI worker's
/// hands (`before`: the assignee and state before the change; none for a
/// new item), as the rule says (`newly_ready_for`, `queues_a_run`).
async fn queue_when_ready_for_ai(
    conn: &mut Conn,
    ctx: &Ctx,
    item: &WorkItem,
    before: Option<(Option<Uuid>, WorkState)>,
) -> Result<()> {
    let Some(assignee) = item.newly_ready_for(before) else {
        return Ok(());
    };
    let kind: String = sqlx::query_scalar("SELECT kind FROM members WHERE id = $1")
        .bind(assignee)
        .fetch_one(&mut *conn)
        .await?;
    let kind: MemberKind = kind.parse().map_err(StoreError::Corrupt)?;
    if queues_a_run(kind, active_runs(&mut *conn, item.id).await?) {
        insert_run(conn, ctx, item, MaxTokens::default(), None).await?;
    }
    Ok(())
}

/// A run for the audit log: without the long texts, which the run keeps.
fn run_summary(run: &Run) -> serde_json::Value {
    json!({
        "id": run.id, "work_item_id": run.work_item_id, "worker_id": run.worker_id, "iteration": run.iteration,
        "status": run.status, "attempts": run.attempts, "provider": run.provider, "model": run.model,
        "tokens": run.tokens, "cost": run.cost, "error": run.error,
    })
}

/// The org and worker of a run, for engine calls that come without a ctx.
async fn run_owner(conn: &mut Conn, run_id: Uuid) -> Result<(Uuid, Uuid)> {
    sqlx::query_as("SELECT org_id, worker_id FROM runs WHERE id = $1")
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::not_found("run"))
}

#[derive(sqlx::FromRow)]
struct ExpiredRun {
    id: Uuid,
    org_id: Uuid,
    worker_id: Uuid,
    reservation_id: Option<Uuid>,
    lease_owner: Option<String>,
}

/// How a run's attempt ends.
struct Ending {
    status: RunStatus,
    output: String,
    used: Tokens,
    error: Option<String>,
}

/// What the guard-rail checks of the spaces an item falls in find in a
/// result, and whether it goes back to its worker (`guard::sends_back`,
/// counting the item's runs sent back before; never for an item a person
/// closed meanwhile).
async fn guard_output(
    conn: &mut Conn,
    org_id: Uuid,
    item_id: Uuid,
    output: &str,
) -> Result<(Vec<tutti_domain::guard::Finding>, bool)> {
    let item = load_work_item(&mut *conn, org_id, item_id, true).await?;
    let objective_id = match item.key_result_id {
        Some(id) => Some(
            load_key_result(&mut *conn, org_id, id, false)
                .await?
                .objective_id,
        ),
        None => None,
    };
    let checks = space_guards(&mut *conn, org_id, item.team_id, objective_id).await?;
    let found = tutti_domain::guard::findings(&checks, output);
    if found.is_empty() {
        return Ok((found, false));
    }
    let rounds: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE work_item_id = $1 AND sent_back")
            .bind(item_id)
            .fetch_one(&mut *conn)
            .await?;
    let back = tutti_domain::guard::sends_back(&found, rounds) && !item.state.is_final();
    Ok((found, back))
}

/// Ends an attempt of a run: settles its open reservation, writes its new
/// state, moves its item as the run's end asks (`item_state_after`) and
/// records the change. A result is first held against the guard-rail
/// checks of its item's spaces: one that fails goes back to the worker as
/// a new iteration with the findings as feedback, its item `ready`, until
/// the rounds run out; then it goes to review with its findings shown.
async fn finish_run(
    conn: &mut Conn,
    ctx: &Ctx,
    mut run: Run,
    reservation_id: Option<Uuid>,
    ending: Ending,
) -> Result<Run> {
    let Ending {
        status,
        output,
        used,
        error,
    } = ending;
    let (settled, settled_cost) = match reservation_id {
        Some(reservation) => {
            close_reservation(&mut SqlxLedger(&mut *conn), ctx, reservation, used).await?
        }
        None => (Tokens::default(), 0),
    };
    if status == RunStatus::Succeeded {
        (run.findings, run.sent_back) =
            guard_output(&mut *conn, ctx.org_id, run.work_item_id, &output).await?;
    }
    run.end(status, output, error, settled, settled_cost, ctx.now);
    sqlx::query(
        "UPDATE runs SET status = $1, output = $2, error = $3, input_tokens = $4, cached_input_tokens = $5, \
         output_tokens = $6, cost = $7, finished_at = $8, lease_owner = NULL, lease_expires_at = NULL, \
         reservation_id = NULL, findings = $9, sent_back = $10 WHERE id = $11",
    )
    .bind(status.as_str())
    .bind(&run.output)
    .bind(&run.error)
    .bind(run.tokens.input)
    .bind(run.tokens.cached_input)
    .bind(run.tokens.output)
    .bind(run.cost)
    .bind(run.finished_at)
    .bind(to_json(&run.findings)?)
    .bind(run.sent_back)
    .bind(run.id)
    .execute(&mut *conn)
    .await?;
    let (item_state, next_run) = if run.sent_back {
        let state = move_item(&mut *conn, ctx, run.work_item_id, WorkState::Ready, false).await?;
        let item = load_work_item(&mut *conn, ctx.org_id, run.work_item_id, false).await?;
        let feedback = tutti_domain::guard::feedback(&run.findings);
        let max_tokens = MaxTokens::parse(run.max_tokens)?;
        let next = insert_run(&mut *conn, ctx, &item, max_tokens, Some((&run, &feedback))).await?;
        (Some(state), Some(next.id))
    } else {
        let state = match status.item_state_after() {
            Some(to) => Some(move_item(&mut *conn, ctx, run.work_item_id, to, false).await?),
            None => None,
        };
        (state, None)
    };
    let action = if run.sent_back {
        "run.sent_back".to_string()
    } else if status == RunStatus::Queued {
        "run.requeued".to_string()
    } else {
        format!("run.{status}")
    };
    let mut event = json!({ "run": run_summary(&run), "work_item_state": item_state });
    if !run.findings.is_empty() {
        event["findings"] = json!(run.findings);
    }
    if let Some(next) = next_run {
        event["next_run_id"] = json!(next);
    }
    append_event(&mut *conn, ctx, &action, "run", Some(run.id), event).await?;
    Ok(run)
}

/// Writes a claimed run (`Run::start` applied) as running under `owner`'s
/// lease until `lease_until`, and moves its item to `running`; returns the
/// item's state.
async fn start_run(
    conn: &mut Conn,
    ctx: &Ctx,
    run: &Run,
    owner: &str,
    lease_until: DateTime<Utc>,
) -> Result<WorkState> {
    sqlx::query(
        "UPDATE runs SET status = 'running', attempts = $1, provider = $2, model = $3, started_at = $4, \
         lease_owner = $5, lease_expires_at = $6 WHERE id = $7",
    )
    .bind(run.attempts)
    .bind(&run.provider)
    .bind(&run.model)
    .bind(run.started_at)
    .bind(owner)
    .bind(lease_until)
    .bind(run.id)
    .execute(&mut *conn)
    .await?;
    move_item(conn, ctx, run.work_item_id, WorkState::Running, false).await
}

/// The org's cap on AI runs at once and how many run now, with the org's
/// row locked so that the cap holds across processes (lock the worker's row
/// first, as every claim does).
async fn org_cap_locked(conn: &mut Conn, org_id: Uuid) -> Result<(Option<i64>, i64)> {
    let cap: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT ai_concurrency FROM orgs WHERE id = $1{FOR_UPDATE}"
    ))
    .bind(org_id)
    .fetch_one(&mut *conn)
    .await?;
    let org_running: i64 = match cap {
        Some(_) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE org_id = $1 AND status = 'running'")
                .bind(org_id)
                .fetch_one(&mut *conn)
                .await?
        }
        None => 0,
    };
    Ok((cap, org_running))
}

/// SQL condition: a node may take the work of the AI worker in
/// `worker_column`. A node without the embedded model (`has_model` false)
/// leaves the work of workers on the embedded provider to a live node that
/// has it; with no such node alive, it takes the work and fails it, saying
/// why, rather than leaving it queued with nobody to run it.
fn node_may_take(worker_column: &str, has_model: &str, now: &str) -> String {
    format!(
        "({has_model} \
          OR NOT EXISTS (SELECT 1 FROM engine_nodes n WHERE n.embedded_model AND n.seen_until > {now}) \
          OR NOT EXISTS (SELECT 1 FROM members w JOIN providers p ON p.org_id = w.org_id AND p.name = w.provider \
                         WHERE w.id = {worker_column} AND p.kind = 'embedded'))"
    )
}

/// The external agent behind a context, loaded and checked
/// (`agent::check_agent`).
async fn load_agent(conn: &mut Conn, ctx: &Ctx) -> Result<Member> {
    let id = ctx
        .actor_id
        .ok_or_else(|| StoreError::invalid("agent", "an agent's call needs the agent"))?;
    let agent = load_member(&mut *conn, ctx.org_id, id).await?;
    tutti_domain::labour::agent::check_agent(&agent)?;
    Ok(agent)
}

/// A run locked for an agent's call, with its lease as it stands.
async fn load_leased_run(
    conn: &mut Conn,
    org_id: Uuid,
    run_id: Uuid,
) -> Result<(Run, Option<tutti_domain::labour::agent::Lease>)> {
    let run = load_run(&mut *conn, org_id, run_id, true).await?;
    let lease: (Option<String>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT lease_owner, lease_expires_at FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(&mut *conn)
            .await?;
    let lease = match lease {
        (Some(owner), Some(expires_at)) => {
            Some(tutti_domain::labour::agent::Lease { owner, expires_at })
        }
        _ => None,
    };
    Ok((run, lease))
}

/// A run the agent behind `ctx` holds now, locked, or the refusal that
/// says why not (`agent::check_holds`).
async fn held_by_agent(conn: &mut Conn, ctx: &Ctx, run_id: Uuid) -> Result<(Member, Run)> {
    let agent = load_agent(&mut *conn, ctx).await?;
    let (run, lease) = load_leased_run(&mut *conn, ctx.org_id, run_id).await?;
    tutti_domain::labour::agent::check_holds(&agent, &run, lease.as_ref(), ctx.now)?;
    Ok((agent, run))
}

/// What an agent is told when a person cancelled the run it works on.
const CANCELLED_FOR_AGENT: &str =
    "a person cancelled this run while you worked on it; stop, nothing more is taken";

/// Ends an agent's run `cancelled`, with `error` saying why when it gave
/// the work back.
async fn end_agent_run(conn: &mut Conn, ctx: &Ctx, run: Run, error: Option<String>) -> Result<Run> {
    let output = run.output.clone();
    let ending = Ending {
        status: RunStatus::Cancelled,
        output,
        used: Tokens::default(),
        error,
    };
    finish_run(conn, ctx, run, None, ending).await
}

/// Ends a run a person asked to cancel, at the agent's next call: the
/// engine ends its own runs so at a heartbeat, an agent's end here. Commits.
async fn cancel_for_agent(mut tx: Tx, ctx: &Ctx, run: Run) -> Result<()> {
    end_agent_run(&mut tx, ctx, run, None).await?;
    tx.commit().await?;
    Ok(())
}

impl crate::Runs for BackendStore {
    async fn queue_run(&self, ctx: &Ctx, work_item_id: Uuid, max_tokens: MaxTokens) -> Result<Run> {
        let mut tx = self.begin().await?;
        let item = load_work_item(&mut tx, ctx.org_id, work_item_id, true).await?;
        let run = insert_run(&mut tx, ctx, &item, max_tokens, None).await?;
        commit_with_response(tx, ctx, 201, &run).await?;
        Ok(run)
    }

    async fn run(&self, org_id: Uuid, id: Uuid) -> Result<Run> {
        load_run(&mut *self.read().await?, org_id, id, false).await
    }

    async fn runs(&self, org_id: Uuid, filter: &RunFilter, page: PageRequest) -> Result<Page<Run>> {
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {RUN_COLUMNS} FROM runs WHERE org_id = "));
        query.push_bind(org_id);
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(item) = filter.work_item_id {
            query.push(" AND work_item_id = ").push_bind(item);
        }
        if let Some(worker) = filter.worker_id {
            query.push(" AND worker_id = ").push_bind(worker);
        }
        push_page(&mut query, page);
        let rows: Vec<RunRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let runs = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Run>>>()?;
        Ok(page_of(runs, page, |r: &Run| r.id.to_string()))
    }

    async fn cancel_run(&self, ctx: &Ctx, id: Uuid) -> Result<Run> {
        let mut tx = self.begin().await?;
        let mut run = load_run(&mut tx, ctx.org_id, id, true).await?;
        match run.cancellation()? {
            Cancellation::Now => {
                run = finish_run(
                    &mut tx,
                    ctx,
                    run,
                    None,
                    Ending {
                        status: RunStatus::Cancelled,
                        output: String::new(),
                        used: Tokens::default(),
                        error: None,
                    },
                )
                .await?;
            }
            Cancellation::AskTheEngine => {
                sqlx::query("UPDATE runs SET cancel_requested = TRUE WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                run.cancel_requested = true;
                append_event(
                    &mut tx,
                    ctx,
                    "run.cancel_requested",
                    "run",
                    Some(id),
                    json!({ "run": run_summary(&run) }),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(run)
    }

    async fn announce_node(
        &self,
        node: &EngineNode,
        now: DateTime<Utc>,
        seen_until: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO engine_nodes (name, embedded_model, seen_until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET embedded_model = excluded.embedded_model, seen_until = excluded.seen_until",
        )
        .bind(&node.name)
        .bind(node.embedded_model)
        .bind(seen_until)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM engine_nodes WHERE seen_until < $1")
            .bind(now - chrono::Duration::days(1))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_run(
        &self,
        node: &EngineNode,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedRun>> {
        let owner = node.name.as_str();
        let mut tx = self.begin().await?;
        // Only runs whose worker has room, and whose org is under its cap,
        // are candidates, so a worker at its limit never holds back the
        // others' work however many runs it has queued; the least busy
        // worker's oldest run goes first, so workers take turns.
        let candidates: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(&format!(
            "SELECT r.id, r.org_id, r.worker_id FROM runs r WHERE r.status = 'queued' AND {} \
             AND NOT EXISTS (SELECT 1 FROM members x WHERE x.id = r.worker_id AND x.external) \
             AND {RUNNING_OF_WORKER} < (SELECT m.concurrency FROM members m WHERE m.id = r.worker_id) \
             AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = r.org_id AND o.ai_concurrency IS NOT NULL \
                 AND o.ai_concurrency <= (SELECT COUNT(*) FROM runs y WHERE y.org_id = r.org_id AND y.status = 'running')) \
             ORDER BY {RUNNING_OF_WORKER}, r.id LIMIT 16{SKIP_LOCKED}",
            node_may_take("r.worker_id", "$1", "$2")
        ))
        .bind(node.embedded_model)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for (run_id, org_id, worker_id) in candidates {
            // Locking the worker serialises claims of its runs across
            // processes, so its concurrency limit holds; with a cap, the
            // org's row (which its audit chain locks anyway) does the same
            // for the cap.
            let concurrency: i64 = sqlx::query_scalar(&format!(
                "SELECT concurrency FROM members WHERE id = $1{FOR_UPDATE}"
            ))
            .bind(worker_id)
            .fetch_one(&mut *tx)
            .await?;
            let running: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM runs WHERE worker_id = $1 AND status = 'running'",
            )
            .bind(worker_id)
            .fetch_one(&mut *tx)
            .await?;
            let (cap, org_running) = org_cap_locked(&mut tx, org_id).await?;
            if !tutti_domain::labour::capacity::has_room(running, concurrency, org_running, cap) {
                continue;
            }
            let worker = load_member(&mut tx, org_id, worker_id).await?;
            let ctx = Ctx::new(org_id, Some(worker_id), now);
            let mut run = load_run(&mut tx, org_id, run_id, false).await?;
            let route = match (&worker.provider, &worker.model) {
                (Some(provider), Some(model)) => {
                    let found = load_route(&mut tx, org_id, provider, model).await;
                    found.map_err(|e| e.to_string())
                }
                _ => Err(format!(
                    "{} has no provider and model; set them on the member (provider, model) to let it run work",
                    worker.name
                )),
            };
            let route = match route {
                Ok(route) => route,
                Err(reason) => {
                    finish_run(
                        &mut tx,
                        &ctx,
                        run,
                        None,
                        Ending {
                            status: RunStatus::Failed,
                            output: String::new(),
                            used: Tokens::default(),
                            error: Some(reason),
                        },
                    )
                    .await?;
                    continue;
                }
            };
            run.start(&route.provider, &route.model, ctx.now);
            let item_state = start_run(&mut tx, &ctx, &run, owner, lease_until).await?;
            append_event(&mut tx, &ctx, "run.started", "run", Some(run.id), json!({ "run": run_summary(&run), "lease_owner": owner, "work_item_state": item_state }))
                .await?;
            tx.commit().await?;
            return Ok(Some(ClaimedRun { org_id, run, route }));
        }
        tx.commit().await?;
        Ok(None)
    }

    async fn heartbeat(
        &self,
        run_id: Uuid,
        owner: &str,
        lease_until: DateTime<Utc>,
        output: &str,
        used: Tokens,
    ) -> Result<LeaseState> {
        let mut tx = self.begin().await?;
        let held: Option<(bool, Option<Uuid>)> = sqlx::query_as(
            "UPDATE runs SET lease_expires_at = $1, output = $2 WHERE id = $3 AND lease_owner = $4 AND status = 'running' \
             RETURNING cancel_requested, reservation_id",
        )
        .bind(lease_until)
        .bind(output)
        .bind(run_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((cancel_requested, reservation)) = held else {
            return Ok(LeaseState::Lost);
        };
        if let Some(reservation) = reservation {
            sqlx::query(
                "UPDATE reservations SET seen_output_tokens = $1 WHERE id = $2 AND is_open",
            )
            .bind(used.output)
            .bind(reservation)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(if cancel_requested {
            LeaseState::CancelRequested
        } else {
            LeaseState::Held
        })
    }

    async fn reserve_for_run(
        &self,
        run_id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        charge: Charge,
    ) -> Result<Reservation> {
        let mut tx = self.begin().await?;
        let (org_id, worker_id) = run_owner(&mut tx, run_id).await?;
        let held: Option<(Uuid, Option<Uuid>)> = sqlx::query_as(&format!(
            "SELECT work_item_id, reservation_id FROM runs WHERE id = $1 AND lease_owner = $2 AND status = 'running'{FOR_UPDATE}"
        ))
        .bind(run_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let (item, open) =
            held.ok_or_else(|| StoreError::Conflict("the run's lease is lost".into()))?;
        if open.is_some() {
            return Err(StoreError::Conflict(
                "the run already holds a reservation".into(),
            ));
        }
        let ctx = Ctx::new(org_id, Some(worker_id), now);
        let charge = Charge {
            worker_id,
            run_id: Some(run_id),
            work_item_id: Some(item),
            expires_at: now + chrono::Duration::days(RUN_RESERVATION_HORIZON_DAYS),
            holder: None,
            ..charge
        };
        let reservation =
            open_reservation(&mut SqlxLedger(&mut tx), &ctx, &charge, Some(item)).await?;
        sqlx::query("UPDATE runs SET reservation_id = $1 WHERE id = $2")
            .bind(reservation.id)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(reservation)
    }

    async fn end_run(
        &self,
        run_id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        end: RunEnd,
    ) -> Result<Run> {
        let mut tx = self.begin().await?;
        let (org_id, worker_id) = run_owner(&mut tx, run_id).await?;
        let ctx = Ctx::new(org_id, Some(worker_id), now);
        let held: Option<(Option<Uuid>,)> = sqlx::query_as(&format!(
            "SELECT reservation_id FROM runs WHERE id = $1 AND lease_owner = $2 AND status = 'running'{FOR_UPDATE}"
        ))
        .bind(run_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let (reservation,) =
            held.ok_or_else(|| StoreError::Conflict("the run's lease is lost".into()))?;
        let run = load_run(&mut tx, org_id, run_id, false).await?;
        let (status, output, used, error) = match end {
            RunEnd::Succeeded { output, used } => (RunStatus::Succeeded, output, used, None),
            RunEnd::Failed {
                output,
                used,
                error,
            } => (RunStatus::Failed, output, used, Some(error)),
            RunEnd::Cancelled { output, used } => (RunStatus::Cancelled, output, used, None),
        };
        let run = finish_run(
            &mut tx,
            &ctx,
            run,
            reservation,
            Ending {
                status,
                output,
                used,
                error,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(run)
    }

    async fn recover(&self, now: DateTime<Utc>) -> Result<(u64, u64)> {
        let mut runs = 0;
        loop {
            let mut tx = self.begin().await?;
            let expired: Option<ExpiredRun> = sqlx::query_as(&format!(
                "SELECT id, org_id, worker_id, reservation_id, lease_owner FROM runs \
                 WHERE status = 'running' AND lease_expires_at < $1 ORDER BY id LIMIT 1{SKIP_LOCKED}"
            ))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(ExpiredRun {
                id: run_id,
                org_id,
                worker_id,
                reservation_id: reservation,
                lease_owner: owner,
            }) = expired
            else {
                break;
            };
            let ctx = Ctx::new(org_id, Some(worker_id), now);
            let run = load_run(&mut tx, org_id, run_id, false).await?;
            // What a crash is charged: the prompt, and the output seen at the
            // last heartbeat.
            let used = match reservation {
                Some(id) => {
                    let (input, seen): (i64, i64) = sqlx::query_as(
                        "SELECT input_tokens, seen_output_tokens FROM reservations WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                    Tokens {
                        input,
                        cached_input: 0,
                        output: seen,
                    }
                }
                None => Tokens::default(),
            };
            let (status, error) = run.after_lost_lease(&owner.unwrap_or_default());
            let output = run.output.clone();
            finish_run(
                &mut tx,
                &ctx,
                run,
                reservation,
                Ending {
                    status,
                    output,
                    used,
                    error: Some(error),
                },
            )
            .await?;
            tx.commit().await?;
            runs += 1;
        }
        // Gateway calls, an external agent's among them (which name the run
        // they serve). A run's own reservation never matches: it has no
        // holder and is recovered through the run's lease above, so it
        // expires only after `RUN_RESERVATION_HORIZON_DAYS`.
        let mut calls = 0;
        loop {
            let mut tx = self.begin().await?;
            let abandoned: Option<(Uuid, Uuid, Uuid, i64)> = sqlx::query_as(&format!(
                "SELECT id, org_id, worker_id, input_tokens FROM reservations r \
                 WHERE is_open AND (expires_at < $1 OR (holder IS NOT NULL AND NOT EXISTS \
                     (SELECT 1 FROM engine_nodes n WHERE n.name = r.holder AND n.seen_until >= $1))) \
                 ORDER BY id LIMIT 1{SKIP_LOCKED}"
            ))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id, org_id, worker_id, input)) = abandoned else {
                break;
            };
            let ctx = Ctx::new(org_id, Some(worker_id), now);
            let (settled, cost) = close_reservation(
                &mut SqlxLedger(&mut tx),
                &ctx,
                id,
                Tokens {
                    input,
                    cached_input: 0,
                    output: 0,
                },
            )
            .await?;
            append_event(
                &mut tx,
                &ctx,
                "reservation.abandoned",
                "member",
                Some(worker_id),
                json!({ "reservation_id": id, "settled": settled, "cost": cost }),
            )
            .await?;
            tx.commit().await?;
            calls += 1;
        }
        Ok((runs, calls))
    }

    async fn hand_back_leases(&self, owner: &str, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let handed = sqlx::query(
            "UPDATE runs SET lease_expires_at = $1, lease_owner = $2 WHERE lease_owner = $3 AND status = 'running'",
        )
        .bind(now - chrono::Duration::milliseconds(1))
        .bind(format!("{owner} (stopped)"))
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(handed)
    }

    async fn claim_for_agent(
        &self,
        ctx: &Ctx,
        target: ClaimTarget,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Run>> {
        use tutti_domain::labour::agent;
        let mut tx = self.begin().await?;
        let agent = load_agent(&mut tx, ctx).await?;
        // The agent's row lock serialises its claims, so its concurrency
        // limit holds however many sessions it runs.
        sqlx::query(&format!("SELECT id FROM members WHERE id = $1{FOR_UPDATE}"))
            .bind(agent.id)
            .fetch_one(&mut *tx)
            .await?;
        let run_id: Option<Uuid> = match target {
            ClaimTarget::Next => {
                sqlx::query_scalar(
                    "SELECT id FROM runs WHERE worker_id = $1 AND status = 'queued' ORDER BY id LIMIT 1",
                )
                .bind(agent.id)
                .fetch_optional(&mut *tx)
                .await?
            }
            ClaimTarget::Item(item_id) => {
                let item = load_work_item(&mut tx, ctx.org_id, item_id, false).await?;
                let latest: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM runs WHERE work_item_id = $1 ORDER BY iteration DESC, id DESC LIMIT 1",
                )
                .bind(item.id)
                .fetch_optional(&mut *tx)
                .await?;
                match latest {
                    Some(id) => Some(id),
                    None => {
                        return Err(StoreError::Conflict(format!(
                            "the item is {} and has no run waiting; work reaches an agent when it is ready in its hands",
                            item.state
                        )));
                    }
                }
            }
        };
        let Some(run_id) = run_id else {
            tx.commit().await?;
            return Ok(None);
        };
        let (mut run, lease) = load_leased_run(&mut tx, ctx.org_id, run_id).await?;
        agent::check_claim(&agent, &run, lease.as_ref(), ctx.now)?;
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM runs WHERE worker_id = $1 AND status = 'running'",
        )
        .bind(agent.id)
        .fetch_one(&mut *tx)
        .await?;
        if running >= agent.concurrency {
            return Err(StoreError::Conflict(format!(
                "{} holds {running} claims already, its limit; submit or release one first",
                agent.name
            )));
        }
        // The org's cap holds for agents outside as for the engine's runs.
        let (cap, org_running) = org_cap_locked(&mut tx, ctx.org_id).await?;
        if !tutti_domain::labour::capacity::has_room(running, agent.concurrency, org_running, cap) {
            return Err(StoreError::Conflict(format!(
                "the org runs {org_running} AI runs at once, its cap; claim again when one ends"
            )));
        }
        let owner = agent::agent_lease_owner(agent.id);
        run.start("external", &agent.name, ctx.now);
        let item_state = start_run(&mut tx, ctx, &run, &owner, lease_until).await?;
        append_event(
            &mut tx,
            ctx,
            "run.claimed",
            "run",
            Some(run.id),
            json!({ "run": run_summary(&run), "lease_owner": owner, "lease_until": lease_until, "work_item_state": item_state }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(run))
    }

    async fn agent_heartbeat(
        &self,
        ctx: &Ctx,
        run_id: Uuid,
        lease_until: DateTime<Utc>,
        note: Option<String>,
    ) -> Result<Run> {
        let mut tx = self.begin().await?;
        let (_, run) = held_by_agent(&mut tx, ctx, run_id).await?;
        if run.cancel_requested {
            cancel_for_agent(tx, ctx, run).await?;
            return Err(StoreError::Conflict(CANCELLED_FOR_AGENT.into()));
        }
        sqlx::query("UPDATE runs SET lease_expires_at = $1 WHERE id = $2")
            .bind(lease_until)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        // A bare heartbeat is not audited (an agent renews every few
        // minutes); a note is what it tells people, so it is.
        if let Some(note) = note {
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO run_notes (id, org_id, run_id, note, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(ctx.org_id)
            .bind(run_id)
            .bind(&note)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
            append_event(
                &mut tx,
                ctx,
                "run.progress",
                "run",
                Some(run_id),
                json!({ "note_id": id, "note": note, "lease_until": lease_until }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(run)
    }

    async fn submit_run(&self, ctx: &Ctx, run_id: Uuid, output: String) -> Result<Run> {
        let mut tx = self.begin().await?;
        let (_, mut run) = held_by_agent(&mut tx, ctx, run_id).await?;
        if run.cancel_requested {
            cancel_for_agent(tx, ctx, run).await?;
            return Err(StoreError::Conflict(CANCELLED_FOR_AGENT.into()));
        }
        // What the agent's gateway calls for this run settled.
        let (input, cached_input, output_tokens, cost): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(cached_input_tokens), 0) AS BIGINT), \
             CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(cost), 0) AS BIGINT) \
             FROM ledger_entries WHERE run_id = $1 AND kind = 'settle'",
        )
        .bind(run_id)
        .fetch_one(&mut *tx)
        .await?;
        run.tokens = Tokens {
            input,
            cached_input,
            output: output_tokens,
        };
        run.cost = cost;
        let run = finish_run(
            &mut tx,
            ctx,
            run,
            None,
            Ending {
                status: RunStatus::Succeeded,
                output,
                used: Tokens::default(),
                error: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(run)
    }

    async fn release_run(&self, ctx: &Ctx, run_id: Uuid, reason: String) -> Result<Run> {
        let mut tx = self.begin().await?;
        let (agent, run) = held_by_agent(&mut tx, ctx, run_id).await?;
        if run.cancel_requested {
            cancel_for_agent(tx, ctx, run).await?;
            return Err(StoreError::Conflict(CANCELLED_FOR_AGENT.into()));
        }
        let why = format!("{} gave the work back: {reason}", agent.name);
        let run = end_agent_run(&mut tx, ctx, run, Some(why)).await?;
        // Back to people: ready, in nobody's hands, for a lead to hand on.
        let state = move_item(&mut tx, ctx, run.work_item_id, WorkState::Ready, true).await?;
        sqlx::query(
            "UPDATE work_items SET assignee_id = NULL, updated_at = $1 WHERE id = $2 AND assignee_id = $3",
        )
        .bind(ctx.now)
        .bind(run.work_item_id)
        .bind(agent.id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "work_item.released",
            "work_item",
            Some(run.work_item_id),
            json!({ "run_id": run.id, "worker_id": agent.id, "reason": reason, "work_item_state": state }),
        )
        .await?;
        tx.commit().await?;
        Ok(run)
    }

    async fn run_notes(&self, org_id: Uuid, run_id: Uuid) -> Result<Vec<RunNote>> {
        let rows: Vec<(Uuid, Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, run_id, note, created_at FROM run_notes WHERE org_id = $1 AND run_id = $2 ORDER BY id",
        )
        .bind(org_id)
        .bind(run_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, run_id, note, created_at)| RunNote {
                id,
                run_id,
                note,
                created_at,
            })
            .collect())
    }

    async fn agent_call_run(
        &self,
        org_id: Uuid,
        worker_id: Uuid,
        run_id: Option<Uuid>,
    ) -> Result<Option<(Uuid, Uuid)>> {
        let mut query = QueryBuilder::<Db>::new(
            "SELECT id, work_item_id FROM runs WHERE status = 'running' AND org_id = ",
        );
        query.push_bind(org_id);
        query.push(" AND worker_id = ").push_bind(worker_id);
        if let Some(run_id) = run_id {
            query.push(" AND id = ").push_bind(run_id);
        }
        query.push(" ORDER BY id LIMIT 2");
        let held: Vec<(Uuid, Uuid)> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        Ok(match held.as_slice() {
            [one] => Some(*one),
            _ => None,
        })
    }

    async fn review_run(&self, ctx: &Ctx, run_id: Uuid, new: NewReview) -> Result<Reviewed> {
        let reviewer_id = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("reviewer", "a review needs a reviewer"))?;
        let mut tx = self.begin().await?;
        let run = load_run(&mut tx, ctx.org_id, run_id, true).await?;
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(iteration) FROM runs WHERE work_item_id = $1")
                .bind(run.work_item_id)
                .fetch_one(&mut *tx)
                .await?;
        let item = load_work_item(&mut tx, ctx.org_id, run.work_item_id, true).await?;
        check_reviewable(&run, latest.unwrap_or(0), item.state)?;
        let review = Review {
            id: Uuid::now_v7(),
            run_id,
            work_item_id: run.work_item_id,
            worker_id: run.worker_id,
            reviewer_id,
            verdict: new.verdict,
            feedback: new.feedback.clone(),
            rating: new.rating.get(),
            created_at: ctx.now,
        };
        sqlx::query(
            "INSERT INTO reviews (id, org_id, run_id, work_item_id, worker_id, reviewer_id, verdict, feedback, rating, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(review.id)
        .bind(ctx.org_id)
        .bind(run_id)
        .bind(review.work_item_id)
        .bind(review.worker_id)
        .bind(reviewer_id)
        .bind(review.verdict.as_str())
        .bind(&review.feedback)
        .bind(review.rating)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || "this run has been reviewed already".into()))?;
        let moved = new.verdict.item_move();
        let state = move_item(&mut tx, ctx, item.id, moved.to, moved.unassign).await?;
        append_event(
            &mut tx,
            ctx,
            "review.created",
            "run",
            Some(run_id),
            json!({ "review": review, "work_item_state": state }),
        )
        .await?;
        let next_run = if new.verdict == Verdict::Revise {
            let item = load_work_item(&mut tx, ctx.org_id, item.id, false).await?;
            let max_tokens = MaxTokens::parse(run.max_tokens)?;
            let previous = Some((&run, new.feedback.as_str()));
            Some(insert_run(&mut tx, ctx, &item, max_tokens, previous).await?)
        } else {
            None
        };
        let reviewed = Reviewed { review, next_run };
        commit_with_response(tx, ctx, 201, &reviewed).await?;
        Ok(reviewed)
    }

    async fn reviews(&self, org_id: Uuid, work_item_id: Uuid) -> Result<Vec<Review>> {
        let rows: Vec<ReviewRow> = sqlx::query_as(&format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews WHERE org_id = $1 AND work_item_id = $2 ORDER BY id"
        ))
        .bind(org_id)
        .bind(work_item_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn review_stats(&self, org_id: Uuid, worker_id: Uuid) -> Result<ReviewStats> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT verdict, COUNT(*), CAST(COALESCE(SUM(rating), 0) AS BIGINT) FROM reviews WHERE org_id = $1 AND worker_id = $2 GROUP BY verdict",
        )
        .bind(org_id)
        .bind(worker_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        let (mut accepted, mut revised, mut rejected, mut ratings) = (0, 0, 0, 0);
        for (verdict, count, rating_sum) in rows {
            ratings += rating_sum;
            match verdict.parse::<Verdict>().map_err(StoreError::Corrupt)? {
                Verdict::Accept => accepted = count,
                Verdict::Revise => revised = count,
                Verdict::Reject => rejected = count,
            }
        }
        Ok(ReviewStats::from_counts(
            accepted, revised, rejected, ratings,
        ))
    }
}
