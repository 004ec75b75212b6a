// Alerts, webhooks and deliveries; see `alerts.rs` for the contract.

const ALERT_COLUMNS: &str =
    "id, kind, subject_id, team_id, person_id, params, link, raised_at, cleared_at";

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: Uuid,
    kind: String,
    subject_id: Option<Uuid>,
    team_id: Option<Uuid>,
    person_id: Option<Uuid>,
    params: String,
    link: String,
    raised_at: DateTime<Utc>,
    cleared_at: Option<DateTime<Utc>>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = StoreError;
    fn try_from(r: AlertRow) -> Result<Self> {
        Ok(Alert {
            id: r.id,
            kind: r.kind.parse().map_err(StoreError::Corrupt)?,
            subject_id: r.subject_id,
            concern: Concern {
                team_id: r.team_id,
                person_id: r.person_id,
            },
            params: from_json("alerts.params", &r.params)?,
            link: r.link,
            raised_at: r.raised_at,
            cleared_at: r.cleared_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: Uuid,
    name: String,
    format: String,
    url: String,
    locale: String,
    team_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

/// Narrows a query of alerts to an audience's: the same rule as
/// `Audience::includes`, about the reader or in one of the reader's teams.
fn push_audience(select: &mut QueryBuilder<'_, Db>, audience: &Audience) {
    if let Audience::Only { person_id, teams } = audience {
        select.push(" AND (person_id = ").push_bind(*person_id);
        if !teams.is_empty() {
            select.push(" OR team_id IN (");
            let mut list = select.separated(", ");
            for team in teams {
                list.push_bind(*team);
            }
            list.push_unseparated(")");
        }
        select.push(")");
    }
}

/// Scheme and host of a webhook URL: enough to recognise it, without the
/// path, which for Slack and Teams is the secret.
fn url_hint(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{host}/…")
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = StoreError;
    fn try_from(r: WebhookRow) -> Result<Self> {
        Ok(Webhook {
            id: r.id,
            name: r.name,
            format: r.format.parse().map_err(StoreError::Corrupt)?,
            url_hint: url_hint(&r.url),
            locale: r.locale,
            team_id: r.team_id,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: Uuid,
    webhook_id: Uuid,
    alert_id: Uuid,
    status: String,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery> {
        Ok(Delivery {
            id: self.id,
            webhook_id: self.webhook_id,
            alert_id: self.alert_id,
            status: delivery_status(&self.status)?,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            last_error: self.last_error,
            delivered_at: self.delivered_at,
            created_at: self.created_at,
        })
    }
}

fn delivery_status(text: &str) -> Result<DeliveryStatus> {
    match text {
        "pending" => Ok(DeliveryStatus::Pending),
        "delivered" => Ok(DeliveryStatus::Delivered),
        "failed" => Ok(DeliveryStatus::Failed),
        other => Err(StoreError::Corrupt(format!("delivery status `{other}`"))),
    }
}

fn parse_day(text: &str) -> Result<NaiveDate> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("day `{text}`: {e}")))
}

/// The Monday of a day's ISO week.
fn week_of(day: NaiveDate) -> NaiveDate {
    day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

impl crate::Alerts for BackendStore {
    async fn sync_alerts(
        &self,
        ctx: &Ctx,
        evaluated: &[SignalKind],
        signals: &[Signal],
    ) -> Result<AlertSync> {
        let mut tx = self.begin().await?;
        // Engine nodes evaluating the same org at once take turns here, so
        // the second sees the alerts the first raised instead of raising
        // them again into the unique index. (The audit chain takes this lock
        // anyway, a moment later.)
        sqlx::query(&format!("SELECT id FROM orgs WHERE id = $1{FOR_UPDATE}"))
            .bind(ctx.org_id)
            .fetch_optional(&mut *tx)
            .await?;
        #[derive(sqlx::FromRow)]
        struct OpenAlert {
            id: Uuid,
            kind: String,
            fingerprint: String,
            team_id: Option<Uuid>,
            person_id: Option<Uuid>,
        }
        let open: Vec<OpenAlert> = sqlx::query_as(
            "SELECT id, kind, fingerprint, team_id, person_id FROM alerts WHERE org_id = $1 AND cleared_at IS NULL",
        )
        .bind(ctx.org_id)
        .fetch_all(&mut *tx)
        .await?;
        let firing: HashMap<String, &Signal> =
            signals.iter().map(|s| (s.fingerprint(), s)).collect();
        let mut sync = AlertSync::default();
        for OpenAlert {
            id,
            kind,
            fingerprint,
            team_id,
            person_id,
        } in &open
        {
            let evaluated_now = kind
                .parse::<SignalKind>()
                .is_ok_and(|k| evaluated.contains(&k));
            match firing.get(fingerprint) {
                None if evaluated_now => {
                    sqlx::query("UPDATE alerts SET cleared_at = $1 WHERE id = $2")
                        .bind(ctx.now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    append_event(
                        &mut tx,
                        ctx,
                        "alert.cleared",
                        "alert",
                        Some(*id),
                        json!({ "kind": kind }),
                    )
                    .await?;
                    sync.cleared += 1;
                }
                // Its subject moved (an objective to another team, an item
                // to another assignee): the alert follows, so that it shows
                // to whom it now concerns. Who reads it is not audited.
                Some(signal)
                    if signal.concern
                        != (Concern {
                            team_id: *team_id,
                            person_id: *person_id,
                        }) =>
                {
                    sqlx::query("UPDATE alerts SET team_id = $1, person_id = $2 WHERE id = $3")
                        .bind(signal.concern.team_id)
                        .bind(signal.concern.person_id)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                _ => {}
            }
        }
        let already: std::collections::HashSet<&str> =
            open.iter().map(|a| a.fingerprint.as_str()).collect();
        let webhooks: Vec<(Uuid, Option<Uuid>)> =
            sqlx::query_as("SELECT id, team_id FROM webhooks WHERE org_id = $1")
                .bind(ctx.org_id)
                .fetch_all(&mut *tx)
                .await?;
        let parents: HashMap<Uuid, Option<Uuid>> =
            if webhooks.iter().any(|(_, team)| team.is_some()) {
                sqlx::query_as("SELECT id, parent_id FROM teams WHERE org_id = $1")
                    .bind(ctx.org_id)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect()
            } else {
                HashMap::new()
            };
        for (fingerprint, signal) in &firing {
            if already.contains(fingerprint.as_str()) {
                continue;
            }
            let alert = Alert {
                id: Uuid::now_v7(),
                kind: signal.kind,
                subject_id: signal.subject_id,
                concern: signal.concern,
                params: signal.params.clone(),
                link: signal.link.clone(),
                raised_at: ctx.now,
                cleared_at: None,
            };
            sqlx::query(
                "INSERT INTO alerts (id, org_id, kind, subject_id, team_id, person_id, fingerprint, params, link, raised_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(alert.id)
            .bind(ctx.org_id)
            .bind(alert.kind.as_str())
            .bind(alert.subject_id)
            .bind(alert.concern.team_id)
            .bind(alert.concern.person_id)
            .bind(fingerprint)
            .bind(to_json(&alert.params)?)
            .bind(&alert.link)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
            // A team's webhook takes only the alerts in its team and below.
            let receiving = webhooks.iter().filter(|(_, team)| {
                team.is_none_or(|team| alert.concern.within_team(team, &parents))
            });
            for (webhook_id, _) in receiving {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (id, org_id, webhook_id, alert_id, status, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
                )
                .bind(Uuid::now_v7())
                .bind(ctx.org_id)
                .bind(webhook_id)
                .bind(alert.id)
                .bind(ctx.now)
                .execute(&mut *tx)
                .await?;
            }
            append_event(
                &mut tx,
                ctx,
                "alert.raised",
                "alert",
                Some(alert.id),
                json!({
                    "kind": alert.kind, "subject_id": alert.subject_id, "params": alert.params,
                }),
            )
            .await?;
            sync.raised.push(alert);
        }
        tx.commit().await?;
        Ok(sync)
    }

    async fn alerts(&self, org_id: Uuid, filter: &AlertFilter, limit: u32) -> Result<Vec<Alert>> {
        let mut select = QueryBuilder::<Db>::new(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = "
        ));
        select.push_bind(org_id);
        if !filter.include_cleared {
            select.push(" AND cleared_at IS NULL");
        }
        push_audience(&mut select, &filter.audience);
        select
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit.clamp(1, PageRequest::MAX_LIMIT)));
        let rows: Vec<AlertRow> = select
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn open_alert_count(&self, org_id: Uuid, audience: &Audience) -> Result<i64> {
        let mut select = QueryBuilder::<Db>::new(
            "SELECT COUNT(*) FROM alerts WHERE cleared_at IS NULL AND org_id = ",
        );
        select.push_bind(org_id);
        push_audience(&mut select, audience);
        let count: i64 = select
            .build_query_scalar()
            .fetch_one(&mut *self.read().await?)
            .await?;
        Ok(count)
    }

    async fn create_webhook(&self, ctx: &Ctx, new: NewWebhook) -> Result<Webhook> {
        let name = text("name", &new.name, WEBHOOK_NAME_MAX)?;
        let url = parse_webhook_url(&new.url)?;
        check_locale(&new.locale)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "teams", ctx.org_id, new.team_id, "team_id", "team").await?;
        let webhook = Webhook {
            id: Uuid::now_v7(),
            name,
            format: new.format,
            url_hint: url_hint(&url),
            locale: new.locale,
            team_id: new.team_id,
            created_at: ctx.now,
        };
        sqlx::query("INSERT INTO webhooks (id, org_id, name, format, url, locale, team_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(webhook.id)
            .bind(ctx.org_id)
            .bind(&webhook.name)
            .bind(webhook.format.as_str())
            .bind(&url)
            .bind(&webhook.locale)
            .bind(webhook.team_id)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
        // The URL is a secret: the chain keeps only its hint.
        append_event(&mut tx, ctx, "webhook.created", "webhook", Some(webhook.id), json!({
            "name": webhook.name, "format": webhook.format, "url": webhook.url_hint, "locale": webhook.locale,
            "team_id": webhook.team_id,
        })).await?;
        commit_with_response(tx, ctx, 201, &webhook).await?;
        Ok(webhook)
    }

    async fn webhooks(&self, org_id: Uuid) -> Result<Vec<Webhook>> {
        let rows: Vec<WebhookRow> = sqlx::query_as(
            "SELECT id, name, format, url, locale, team_id, created_at FROM webhooks WHERE org_id = $1 ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn delete_webhook(&self, ctx: &Ctx, id: Uuid) -> Result<()> {
        let mut tx = self.begin().await?;
        let name: String =
            sqlx::query_scalar("SELECT name FROM webhooks WHERE id = $1 AND org_id = $2")
                .bind(id)
                .bind(ctx.org_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::not_found("webhook"))?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            ctx,
            "webhook.deleted",
            "webhook",
            Some(id),
            json!({ "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn due_deliveries(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueDelivery>> {
        // Claimed for a minute, so that another engine skips them while this
        // one posts; `record_attempt` then sets the real next attempt.
        let mut tx = self.begin().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(&format!(
            "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT $2{SKIP_LOCKED}"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let held = now + chrono::Duration::seconds(60);
        let mut claim = QueryBuilder::<Db>::new("UPDATE webhook_deliveries SET next_attempt_at = ");
        claim.push_bind(held).push(" WHERE id IN (");
        let mut list = claim.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        claim.build().execute(&mut *tx).await?;
        #[derive(sqlx::FromRow)]
        struct DueRow {
            delivery_id: Uuid,
            org_id: Uuid,
            attempts: i64,
            format: String,
            url: String,
            locale: String,
            #[sqlx(flatten)]
            alert: AlertRow,
        }
        let mut select = QueryBuilder::<Db>::new(
            "SELECT d.id AS delivery_id, d.org_id, d.attempts, w.format, w.url, w.locale, \
                    a.id, a.kind, a.subject_id, a.team_id, a.person_id, a.params, a.link, a.raised_at, a.cleared_at \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN alerts a ON a.id = d.alert_id \
             WHERE d.id IN (",
        );
        let mut list = select.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        list.push_unseparated(") ORDER BY d.id");
        let rows: Vec<DueRow> = select.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.into_iter()
            .map(|r| {
                Ok(DueDelivery {
                    id: r.delivery_id,
                    org_id: r.org_id,
                    attempts: r.attempts,
                    format: r
                        .format
                        .parse::<WebhookFormat>()
                        .map_err(StoreError::Corrupt)?,
                    url: r.url,
                    locale: r.locale,
                    alert: r.alert.try_into()?,
                })
            })
            .collect()
    }

    async fn record_attempt(&self, id: Uuid, now: DateTime<Utc>, attempt: Attempt) -> Result<()> {
        let mut tx = self.begin().await?;
        // Only a pending delivery moves on: two engines that raced for the
        // same delivery record one outcome.
        let query = match &attempt {
            Attempt::Delivered => sqlx::query(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $2, last_error = NULL \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(now),
            Attempt::Failed { error, retry_at } => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $2, \
                 status = CASE WHEN $3 THEN 'pending' ELSE 'failed' END, next_attempt_at = $4 \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(error.chars().take(500).collect::<String>())
            .bind(retry_at.is_some())
            .bind(retry_at.unwrap_or(now)),
        };
        query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn deliveries(
        &self,
        org_id: Uuid,
        webhook_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<Delivery>> {
        let mut query = QueryBuilder::<Db>::new(
            "SELECT id, webhook_id, alert_id, status, attempts, next_attempt_at, last_error, delivered_at, created_at \
             FROM webhook_deliveries WHERE org_id = ",
        );
        query
            .push_bind(org_id)
            .push(" AND webhook_id = ")
            .push_bind(webhook_id);
        push_page(&mut query, page);
        let rows: Vec<DeliveryRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let items = rows
            .into_iter()
            .map(DeliveryRow::into_delivery)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, page, |d| d.id.to_string()))
    }

    async fn latest_deliveries(
        &self,
        org_id: Uuid,
        webhook_id: Uuid,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(
            "SELECT id, webhook_id, alert_id, status, attempts, next_attempt_at, last_error, delivered_at, created_at \
             FROM webhook_deliveries WHERE org_id = $1 AND webhook_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(org_id)
        .bind(webhook_id)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }
}
