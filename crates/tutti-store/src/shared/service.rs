// The service catalogue and promises; see `service.rs` for the contract. A
// promise's steps are `tutti_domain::service`'s rules, applied to the
// promise as it stands under its lock.

const SERVICE_PRODUCT_COLUMNS: &str =
    "id, name, description, customer_group, owner_id, kind, levels, version, created_at";

const PROMISE_COLUMNS: &str = "id, title, customer, service_product_id, work_item_id, made_by_team_id, \
     keeper_team_id, promised_by, made_at, due_at, state, paused_since, paused_secs, feasibility, \
     feasibility_by, feasibility_note, closed_at, close_note";

#[derive(sqlx::FromRow)]
struct ServiceProductRow {
    id: Uuid,
    name: String,
    description: String,
    customer_group: String,
    owner_id: Option<Uuid>,
    kind: String,
    levels: String,
    version: i64,
    created_at: DateTime<Utc>,
}

impl TryFrom<ServiceProductRow> for ServiceProduct {
    type Error = StoreError;
    fn try_from(r: ServiceProductRow) -> Result<Self> {
        Ok(ServiceProduct {
            id: r.id,
            name: r.name,
            description: r.description,
            customer_group: r.customer_group,
            owner_id: r.owner_id,
            kind: parse_column("service_products.kind", &r.kind)?,
            levels: serde_json::from_str(&r.levels)
                .map_err(|e| StoreError::Corrupt(format!("service_products.levels: {e}")))?,
            version: r.version,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PromiseRow {
    id: Uuid,
    title: String,
    customer: String,
    service_product_id: Option<Uuid>,
    work_item_id: Option<Uuid>,
    made_by_team_id: Option<Uuid>,
    keeper_team_id: Option<Uuid>,
    promised_by: Uuid,
    made_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    state: String,
    paused_since: Option<DateTime<Utc>>,
    paused_secs: i64,
    feasibility: String,
    feasibility_by: Option<Uuid>,
    feasibility_note: String,
    closed_at: Option<DateTime<Utc>>,
    close_note: String,
}

impl TryFrom<PromiseRow> for Promise {
    type Error = StoreError;
    fn try_from(r: PromiseRow) -> Result<Self> {
        Ok(Promise {
            id: r.id,
            title: r.title,
            customer: r.customer,
            service_product_id: r.service_product_id,
            work_item_id: r.work_item_id,
            made_by_team_id: r.made_by_team_id,
            keeper_team_id: r.keeper_team_id,
            promised_by: r.promised_by,
            made_at: r.made_at,
            due_at: r.due_at,
            state: parse_column("promises.state", &r.state)?,
            paused_since: r.paused_since,
            paused_secs: r.paused_secs,
            feasibility: parse_column("promises.feasibility", &r.feasibility)?,
            feasibility_by: r.feasibility_by,
            feasibility_note: r.feasibility_note,
            closed_at: r.closed_at,
            close_note: r.close_note,
        })
    }
}

/// A stored enum text back to its type; anything else is a corrupt row.
fn parse_column<T: std::str::FromStr>(column: &str, text: &str) -> Result<T> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column}: `{text}`")))
}

async fn load_promise(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<Promise> {
    let row: PromiseRow = sqlx::query_as(&format!(
        "SELECT {PROMISE_COLUMNS} FROM promises WHERE id = $1 AND org_id = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("promise"))?;
    row.try_into()
}

impl crate::Services for BackendStore {
    async fn create_service_product(
        &self,
        ctx: &Ctx,
        new: NewServiceProduct,
    ) -> Result<ServiceProduct> {
        let (name, description, customer_group, levels) =
            tutti_domain::service::check_product_texts(
                &new.name,
                &new.description,
                &new.customer_group,
                &new.levels,
            )?;
        let product = ServiceProduct {
            id: Uuid::now_v7(),
            name,
            description,
            customer_group,
            owner_id: new.owner_id,
            kind: new.kind,
            levels,
            version: 1,
            created_at: ctx.now,
        };
        let levels = serde_json::to_string(&product.levels)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode levels: {e}")))?;
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "members",
            ctx.org_id,
            product.owner_id,
            "owner_id",
            "member",
        )
        .await?;
        sqlx::query(
            "INSERT INTO service_products (id, org_id, name, description, customer_group, owner_id, kind, levels, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(product.id)
        .bind(ctx.org_id)
        .bind(&product.name)
        .bind(&product.description)
        .bind(&product.customer_group)
        .bind(product.owner_id)
        .bind(product.kind.as_str())
        .bind(levels)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "service_product.created",
            "service_product",
            Some(product.id),
            json!({ "service_product": product }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &product).await?;
        Ok(product)
    }

    async fn service_product(&self, org_id: Uuid, id: Uuid) -> Result<ServiceProduct> {
        let row: ServiceProductRow = sqlx::query_as(&format!(
            "SELECT {SERVICE_PRODUCT_COLUMNS} FROM service_products WHERE id = $1 AND org_id = $2"
        ))
        .bind(id)
        .bind(org_id)
        .fetch_optional(&mut *self.read().await?)
        .await?
        .ok_or(StoreError::not_found("service product"))?;
        row.try_into()
    }

    async fn service_products(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<ServiceProduct>> {
        let mut conn = self.read().await?;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {SERVICE_PRODUCT_COLUMNS} FROM service_products WHERE org_id = "
        ));
        query.push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<ServiceProductRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<ServiceProduct>>>()?;
        Ok(page_of(items, page, |p| p.id.to_string()))
    }

    async fn create_promise(&self, ctx: &Ctx, new: NewPromise) -> Result<Promise> {
        let (title, customer) = tutti_domain::service::check_new_promise(
            &new.title,
            &new.customer,
            ctx.now,
            new.due_at,
        )?;
        let promised_by = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("promised_by", "a promise is made by someone"))?;
        let promise = Promise {
            id: Uuid::now_v7(),
            title,
            customer,
            service_product_id: new.service_product_id,
            work_item_id: new.work_item_id,
            made_by_team_id: new.made_by_team_id,
            keeper_team_id: new.keeper_team_id,
            promised_by,
            made_at: ctx.now,
            due_at: new.due_at,
            state: PromiseState::Open,
            paused_since: None,
            paused_secs: 0,
            feasibility: Feasibility::Pending,
            feasibility_by: None,
            feasibility_note: String::new(),
            closed_at: None,
            close_note: String::new(),
        };
        let mut tx = self.begin().await?;
        let org = ctx.org_id;
        require(
            &mut tx,
            "service_products",
            org,
            promise.service_product_id,
            "service_product_id",
            "service product",
        )
        .await?;
        require(
            &mut tx,
            "work_items",
            org,
            promise.work_item_id,
            "work_item_id",
            "work item",
        )
        .await?;
        require(
            &mut tx,
            "teams",
            org,
            promise.made_by_team_id,
            "made_by_team_id",
            "team",
        )
        .await?;
        require(
            &mut tx,
            "teams",
            org,
            promise.keeper_team_id,
            "keeper_team_id",
            "team",
        )
        .await?;
        sqlx::query(&format!(
            "INSERT INTO promises (org_id, {PROMISE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        ))
        .bind(org)
        .bind(promise.id)
        .bind(&promise.title)
        .bind(&promise.customer)
        .bind(promise.service_product_id)
        .bind(promise.work_item_id)
        .bind(promise.made_by_team_id)
        .bind(promise.keeper_team_id)
        .bind(promise.promised_by)
        .bind(promise.made_at)
        .bind(promise.due_at)
        .bind(promise.state.as_str())
        .bind(promise.paused_since)
        .bind(promise.paused_secs)
        .bind(promise.feasibility.as_str())
        .bind(promise.feasibility_by)
        .bind(&promise.feasibility_note)
        .bind(promise.closed_at)
        .bind(&promise.close_note)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "promise.made",
            "promise",
            Some(promise.id),
            json!({ "promise": promise }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &promise).await?;
        Ok(promise)
    }

    async fn promise(&self, org_id: Uuid, id: Uuid) -> Result<Promise> {
        load_promise(&mut *self.read().await?, org_id, id, false).await
    }

    async fn promises(
        &self,
        org_id: Uuid,
        filter: &PromiseFilter,
        page: PageRequest,
    ) -> Result<Page<Promise>> {
        let mut conn = self.read().await?;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {PROMISE_COLUMNS} FROM promises WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(state) = filter.state {
            query.push(" AND state = ").push_bind(state.as_str());
        }
        if filter.unfinished {
            query.push(" AND state IN ('open', 'paused')");
        }
        if let Some(product) = filter.service_product_id {
            query.push(" AND service_product_id = ").push_bind(product);
        }
        if let Some(team) = filter.keeper_team_id {
            query.push(" AND keeper_team_id = ").push_bind(team);
        }
        if let Some(item) = filter.work_item_id {
            query.push(" AND work_item_id = ").push_bind(item);
        }
        let first_only = |query: &mut QueryBuilder<'_, Db>, order: &str| {
            let limit = i64::from(page.limit.clamp(1, PageRequest::MAX_LIMIT));
            query.push(order).push(" LIMIT ").push_bind(limit);
        };
        match filter.order {
            PromiseOrder::Made => push_page(&mut query, page),
            PromiseOrder::SoonestDue => first_only(&mut query, " ORDER BY due_at, id"),
            PromiseOrder::LatestClosed => {
                query.push(" AND closed_at IS NOT NULL");
                first_only(&mut query, " ORDER BY closed_at DESC, id");
            }
        }
        let rows: Vec<PromiseRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Promise>>>()?;
        if filter.order != PromiseOrder::Made {
            return Ok(Page {
                items,
                next_cursor: None,
            });
        }
        Ok(page_of(items, page, |p| p.id.to_string()))
    }

    async fn step_promise(&self, ctx: &Ctx, id: Uuid, step: PromiseStep) -> Result<Promise> {
        let by = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("actor", "a promise is acted on by someone"))?;
        let mut tx = self.begin().await?;
        let mut promise = load_promise(&mut tx, ctx.org_id, id, true).await?;
        let action = match &step {
            PromiseStep::SignOff { .. } => "promise.signed_off",
            PromiseStep::Pause => "promise.paused",
            PromiseStep::Resume => "promise.resumed",
            PromiseStep::Keep { .. } => "promise.kept",
            PromiseStep::Break { .. } => "promise.broken",
        };
        promise.apply(step, by, ctx.now)?;
        sqlx::query(
            "UPDATE promises SET state = $1, paused_since = $2, paused_secs = $3, feasibility = $4, \
             feasibility_by = $5, feasibility_note = $6, closed_at = $7, close_note = $8 \
             WHERE id = $9 AND org_id = $10",
        )
        .bind(promise.state.as_str())
        .bind(promise.paused_since)
        .bind(promise.paused_secs)
        .bind(promise.feasibility.as_str())
        .bind(promise.feasibility_by)
        .bind(&promise.feasibility_note)
        .bind(promise.closed_at)
        .bind(&promise.close_note)
        .bind(id)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            action,
            "promise",
            Some(id),
            json!({ "promise": promise }),
        )
        .await?;
        tx.commit().await?;
        Ok(promise)
    }
}
