// Passwords, languages and sessions; see `sessions.rs` for the contract.

/// A live session's CSRF token, its member's language, zone and name, and
/// when it ends.
type SessionRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    DateTime<Utc>,
);

/// Sets one of a person's own preferences (`locale`, `time_zone`: a
/// column of `members`), audited as `member.<column>_set`.
async fn set_preference(
    mut tx: Tx,
    ctx: &Ctx,
    member_id: Uuid,
    column: &'static str,
    value: Option<&str>,
) -> Result<()> {
    load_member(&mut tx, ctx.org_id, member_id).await?;
    sqlx::query(&format!("UPDATE members SET {column} = $1 WHERE id = $2"))
        .bind(value)
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
    append_event(
        &mut tx,
        ctx,
        &format!("member.{column}_set"),
        "member",
        Some(member_id),
        json!({ column: value }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

impl crate::Sessions for BackendStore {
    async fn set_password(&self, ctx: &Ctx, member_id: Uuid, password_hash: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let member = load_member(&mut tx, ctx.org_id, member_id).await?;
        write_password(&mut tx, ctx, &member, password_hash).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_locale(&self, ctx: &Ctx, member_id: Uuid, locale: Option<&str>) -> Result<()> {
        if let Some(locale) = locale {
            check_locale(locale)?;
        }
        set_preference(self.begin().await?, ctx, member_id, "locale", locale).await
    }

    async fn set_member_time_zone(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        time_zone: Option<&str>,
    ) -> Result<()> {
        set_preference(self.begin().await?, ctx, member_id, "time_zone", time_zone).await
    }

    async fn member_time_zone(&self, org_id: Uuid, member_id: Uuid) -> Result<Option<String>> {
        let zone: Option<Option<String>> =
            sqlx::query_scalar("SELECT time_zone FROM members WHERE id = $1 AND org_id = $2")
                .bind(member_id)
                .bind(org_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        zone.ok_or(StoreError::not_found("member"))
    }

    async fn credentials(&self, email: &Email) -> Result<Vec<Credential>> {
        let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT org_id, id, password_hash FROM members \
             WHERE email = $1 AND kind = 'human' AND password_hash IS NOT NULL ORDER BY id",
        )
        .bind(email.as_str())
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(org_id, member_id, password_hash)| Credential {
                org_id,
                member_id,
                password_hash,
            })
            .collect())
    }

    async fn create_session(&self, ctx: &Ctx, session: NewSession) -> Result<()> {
        let member_id = ctx.actor_id.ok_or(StoreError::not_found("member"))?;
        let mut tx = self.begin().await?;
        // Sessions that ran out are swept here, where one is added anyway.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, org_id, member_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&session.token_hash)
        .bind(ctx.org_id)
        .bind(member_id)
        .bind(&session.csrf_token)
        .bind(ctx.now)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "session.started",
            "member",
            Some(member_id),
            json!({ "expires_at": session.expires_at }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let mut conn = self.read().await?;
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.csrf_token, m.locale, m.time_zone, m.name, s.expires_at FROM sessions s JOIN members m ON m.id = s.member_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((csrf_token, locale, time_zone, name, expires_at)) = row else {
            return Ok(None);
        };
        let actor = load_actor(
            &mut conn,
            "SELECT m.id, m.org_id, m.kind, m.role FROM sessions s JOIN members m ON m.id = s.member_id \
             WHERE s.token_hash = $1",
            token_hash.to_owned(),
        )
        .await?;
        Ok(actor.map(|actor| Session {
            actor,
            name,
            csrf_token,
            locale,
            time_zone,
            expires_at,
        }))
    }

    async fn sign_in_refused(&self, ctx: &Ctx, member_id: Uuid, throttled: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        append_event(
            &mut tx,
            ctx,
            "session.refused",
            "member",
            Some(member_id),
            json!({ "throttled": throttled }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_session(&self, ctx: &Ctx, token_hash: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let ended = sqlx::query("DELETE FROM sessions WHERE token_hash = $1 AND org_id = $2")
            .bind(token_hash)
            .bind(ctx.org_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if ended > 0 {
            append_event(
                &mut tx,
                ctx,
                "session.ended",
                "member",
                ctx.actor_id,
                json!({}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
