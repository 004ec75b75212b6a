// Providers, models and prices; see `providers.rs` for the contract.

#[derive(sqlx::FromRow)]
struct RouteRow {
    provider: String,
    kind: String,
    base_url: Option<String>,
    api_key_env: Option<String>,
    api_key: Option<String>,
    model: String,
    input_price: i64,
    cached_input_price: i64,
    output_price: i64,
    connect_timeout_secs: Option<i64>,
    first_byte_timeout_secs: Option<i64>,
    idle_timeout_secs: Option<i64>,
    deadline_secs: Option<i64>,
}

/// A model of a provider of the org (`$1`), by provider name (`$2`) and model name (`$3`).
const ROUTE: &str = "SELECT p.name AS provider, p.kind, p.base_url, p.api_key_env, p.api_key, m.name AS model, \
     m.input_price, m.cached_input_price, m.output_price, \
     p.connect_timeout_secs, p.first_byte_timeout_secs, p.idle_timeout_secs, p.deadline_secs \
     FROM providers p JOIN models m ON m.provider_id = p.id \
     WHERE p.org_id = $1 AND p.name = $2 AND m.name = $3";

/// The member a token hash (`$1`) belongs to, with its provider and model.
const TOKEN_HOLDER: &str = "SELECT m.id, m.org_id, m.kind, m.provider, m.model, m.external \
     FROM api_tokens t JOIN members m ON m.id = t.member_id WHERE t.token_hash = $1";

/// One row of [`TOKEN_HOLDER`].
type TokenHolderRow = (Uuid, Uuid, String, Option<String>, Option<String>, bool);

fn token_holder_from_row(
    (member_id, org_id, kind, provider, model, external): TokenHolderRow,
) -> Result<TokenHolder> {
    Ok(TokenHolder {
        org_id,
        member_id,
        kind: kind.parse().map_err(StoreError::Corrupt)?,
        provider,
        model,
        external,
    })
}

async fn load_route(
    conn: &mut Conn,
    org_id: Uuid,
    provider: &str,
    model: &str,
) -> Result<ModelRoute> {
    let row: Option<RouteRow> = sqlx::query_as(ROUTE)
        .bind(org_id)
        .bind(provider)
        .bind(model)
        .fetch_optional(&mut *conn)
        .await?;
    route_from_row(row, provider, model)
}

fn route_from_row(row: Option<RouteRow>, provider: &str, model: &str) -> Result<ModelRoute> {
    let row = row.ok_or_else(|| {
        StoreError::invalid(
            "model",
            format!("no model {model} of a provider {provider} in this org"),
        )
    })?;
    Ok(ModelRoute {
        provider: row.provider,
        kind: row.kind.parse().map_err(StoreError::Corrupt)?,
        base_url: row.base_url,
        api_key_env: row.api_key_env,
        api_key: row.api_key,
        model: row.model,
        prices: tutti_domain::labour::Prices {
            input: row.input_price,
            cached_input: row.cached_input_price,
            output: row.output_price,
        },
        limits: limits_of([
            row.connect_timeout_secs,
            row.first_byte_timeout_secs,
            row.idle_timeout_secs,
            row.deadline_secs,
        ]),
    })
}

/// A provider's [`LIMIT_COLUMNS`] as kept.
type KeptLimits = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// The provider columns [`limits_of`] reads, in its order.
const LIMIT_COLUMNS: &str =
    "connect_timeout_secs, first_byte_timeout_secs, idle_timeout_secs, deadline_secs";

impl crate::Providers for BackendStore {
    async fn create_provider(&self, ctx: &Ctx, new: NewProvider) -> Result<Provider> {
        let name = text("name", &new.name, TITLE_MAX)?;
        check_provider(
            new.kind,
            new.base_url.as_deref(),
            new.api_key.is_some(),
            new.api_key_env.as_deref(),
        )?;
        let limits = new.limits.checked()?;
        let mut tx = self.begin().await?;
        let provider = Provider {
            id: Uuid::now_v7(),
            name,
            kind: new.kind,
            base_url: new.base_url,
            api_key_env: new.api_key_env,
            has_stored_key: new.api_key.is_some(),
            limits,
            models: Vec::new(),
            created_at: ctx.now,
        };
        sqlx::query(
            &format!("INSERT INTO providers (id, org_id, name, kind, base_url, api_key_env, api_key, created_at, {LIMIT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
        )
        .bind(provider.id)
        .bind(ctx.org_id)
        .bind(&provider.name)
        .bind(provider.kind.as_str())
        .bind(&provider.base_url)
        .bind(&provider.api_key_env)
        .bind(&new.api_key)
        .bind(ctx.now)
        .bind(i64::from(limits.connect_timeout_secs))
        .bind(i64::from(limits.first_byte_timeout_secs))
        .bind(i64::from(limits.idle_timeout_secs))
        .bind(i64::from(limits.deadline_secs))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || format!("a provider named {} already exists", provider.name)))?;
        append_event(
            &mut tx,
            ctx,
            "provider.created",
            "provider",
            Some(provider.id),
            json!({ "provider": provider }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &provider).await?;
        Ok(provider)
    }

    async fn providers(&self, org_id: Uuid) -> Result<Vec<Provider>> {
        let mut conn = self.read().await?;
        let rows: Vec<ProviderRow> = sqlx::query_as(&format!(
            "SELECT id, name, kind, base_url, api_key_env, api_key IS NOT NULL AS has_stored_key, created_at, \
             {LIMIT_COLUMNS} FROM providers WHERE org_id = $1 ORDER BY id"
        ))
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let models: Vec<ModelRow> = sqlx::query_as(
            "SELECT id, provider_id, name, input_price, cached_input_price, output_price FROM models WHERE org_id = $1 ORDER BY name",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut by_provider: HashMap<Uuid, Vec<Model>> = HashMap::new();
        for model in models {
            by_provider
                .entry(model.provider_id)
                .or_default()
                .push(model.into());
        }
        rows.into_iter()
            .map(|row| {
                let models = by_provider.remove(&row.id).unwrap_or_default();
                row.into_provider(models)
            })
            .collect()
    }

    async fn update_limits(&self, ctx: &Ctx, id: Uuid, patch: LimitsPatch) -> Result<Provider> {
        let mut tx = self.begin().await?;
        let kept: Option<KeptLimits> = sqlx::query_as(&format!(
            "SELECT {LIMIT_COLUMNS} FROM providers WHERE id = $1 AND org_id = $2"
        ))
        .bind(id)
        .bind(ctx.org_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (connect, first_byte, idle, deadline) =
            kept.ok_or(StoreError::not_found("provider"))?;
        let limits = patch.applied_to(limits_of([connect, first_byte, idle, deadline]))?;
        sqlx::query(
            "UPDATE providers SET connect_timeout_secs = $1, first_byte_timeout_secs = $2, idle_timeout_secs = $3, \
             deadline_secs = $4 WHERE id = $5",
        )
        .bind(i64::from(limits.connect_timeout_secs))
        .bind(i64::from(limits.first_byte_timeout_secs))
        .bind(i64::from(limits.idle_timeout_secs))
        .bind(i64::from(limits.deadline_secs))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "provider.limits_changed",
            "provider",
            Some(id),
            json!({ "limits": limits }),
        )
        .await?;
        tx.commit().await?;
        self.providers(ctx.org_id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(StoreError::not_found("provider"))
    }

    async fn put_model(&self, ctx: &Ctx, provider_id: Uuid, new: NewModel) -> Result<Model> {
        let name = text("name", &new.name, TITLE_MAX)?;
        let prices = new.prices.check()?;
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "providers",
            ctx.org_id,
            Some(provider_id),
            "provider_id",
            "provider",
        )
        .await
        .map_err(|_| StoreError::not_found("provider"))?;
        let existing: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM models WHERE provider_id = $1 AND name = $2")
                .bind(provider_id)
                .bind(&name)
                .fetch_optional(&mut *tx)
                .await?;
        let model = Model {
            id: existing.unwrap_or_else(Uuid::now_v7),
            provider_id,
            name,
            prices,
        };
        if existing.is_some() {
            sqlx::query("UPDATE models SET input_price = $1, cached_input_price = $2, output_price = $3 WHERE id = $4")
                .bind(prices.input)
                .bind(prices.cached_input)
                .bind(prices.output)
                .bind(model.id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO models (id, org_id, provider_id, name, input_price, cached_input_price, output_price, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(model.id)
            .bind(ctx.org_id)
            .bind(provider_id)
            .bind(&model.name)
            .bind(prices.input)
            .bind(prices.cached_input)
            .bind(prices.output)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
        }
        append_event(
            &mut tx,
            ctx,
            "model.priced",
            "provider",
            Some(provider_id),
            json!({ "model": model }),
        )
        .await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn route(&self, org_id: Uuid, provider: &str, model: &str) -> Result<ModelRoute> {
        self.route_of(org_id, provider, model).await
    }

    async fn token_holder(&self, token_hash: &str) -> Result<Option<TokenHolder>> {
        self.token_holder_of(token_hash).await
    }

    async fn models(&self, org_id: Uuid) -> Result<Vec<(String, Model)>> {
        let rows: Vec<(String, Uuid, Uuid, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT p.name, m.id, m.provider_id, m.name, m.input_price, m.cached_input_price, m.output_price \
             FROM models m JOIN providers p ON p.id = m.provider_id WHERE m.org_id = $1 ORDER BY p.name, m.name",
        )
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(provider, id, provider_id, name, input, cached_input, output)| {
                    let prices = tutti_domain::labour::Prices {
                        input,
                        cached_input,
                        output,
                    };
                    (
                        provider,
                        Model {
                            id,
                            provider_id,
                            name,
                            prices,
                        },
                    )
                },
            )
            .collect())
    }
}
