// Orgs, teams, members and tokens; see `directory.rs` for the contract.

impl crate::Directory for BackendStore {
    async fn set_time_zone(&self, ctx: &Ctx, time_zone: &str) -> Result<Org> {
        let mut tx = self.begin().await?;
        let row: OrgRow = sqlx::query_as(&format!(
            "UPDATE orgs SET time_zone = $1 WHERE id = $2 RETURNING {ORG_COLUMNS}"
        ))
        .bind(time_zone)
        .bind(ctx.org_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::not_found("org"))?;
        append_event(
            &mut tx,
            ctx,
            "org.time_zone_set",
            "org",
            Some(ctx.org_id),
            json!({ "time_zone": time_zone }),
        )
        .await?;
        let org = Org::from(row);
        commit_with_response(tx, ctx, 200, &org).await?;
        Ok(org)
    }

    async fn create_org(
        &self,
        name: &str,
        currency: &str,
        owner: NewMember,
        now: DateTime<Utc>,
    ) -> Result<(Org, Member)> {
        let name = text("name", name, TITLE_MAX)?;
        let currency = parse_currency(currency)?;
        if owner.role != Role::Owner {
            return Err(StoreError::invalid(
                "role",
                "an org's first member must be its owner",
            ));
        }
        let org_id = Uuid::now_v7();
        let ctx = Ctx::new(org_id, None, now);
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO orgs (id, name, currency, created_at, audit_seq, audit_hash) VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(org_id)
        .bind(&name)
        .bind(&currency)
        .bind(ctx.now)
        .bind(GENESIS_HASH)
        .execute(&mut *tx)
        .await?;
        let org = Org {
            id: org_id,
            name,
            currency,
            time_zone: "UTC".into(),
            created_at: ctx.now,
        };
        append_event(
            &mut tx,
            &ctx,
            "org.created",
            "org",
            Some(org_id),
            json!({ "org": org }),
        )
        .await?;
        let member = insert_member(&mut tx, &ctx, owner).await?;
        tx.commit().await?;
        Ok((org, member))
    }

    async fn org(&self, org_id: Uuid) -> Result<Org> {
        let row: OrgRow = sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1"))
            .bind(org_id)
            .fetch_optional(&mut *self.read().await?)
            .await?
            .ok_or(StoreError::not_found("org"))?;
        Ok(row.into())
    }

    async fn orgs(&self) -> Result<Vec<Org>> {
        let rows: Vec<OrgRow> =
            sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs ORDER BY id"))
                .fetch_all(&mut *self.read().await?)
                .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_token(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        label: &str,
        token_hash: &str,
    ) -> Result<TokenInfo> {
        let label = tutti_domain::validate::optional_text("label", label, TITLE_MAX)?;
        let mut tx = self.begin().await?;
        load_member(&mut tx, ctx.org_id, member_id).await?;
        let token = TokenInfo {
            id: Uuid::now_v7(),
            member_id,
            label,
            created_at: ctx.now,
        };
        sqlx::query(
            "INSERT INTO api_tokens (id, org_id, member_id, label, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token.id)
        .bind(ctx.org_id)
        .bind(member_id)
        .bind(&token.label)
        .bind(token_hash)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "token.created",
            "member",
            Some(member_id),
            json!({ "token": token }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &token).await?;
        Ok(token)
    }

    async fn actor_by_token(&self, token_hash: &str) -> Result<Option<Actor>> {
        self.actor_by_token_hash(token_hash).await
    }

    async fn actor(&self, org_id: Uuid, member_id: Uuid) -> Result<Option<Actor>> {
        let actor = load_actor(
            &mut *self.read().await?,
            "SELECT m.id, m.org_id, m.kind, m.role FROM members m WHERE m.id = $1",
            member_id,
        )
        .await?;
        Ok(actor.filter(|a| a.org_id == org_id))
    }

    async fn member_by_email(&self, org_id: Uuid, email: &Email) -> Result<Member> {
        let mut conn = self.read().await?;
        let id: Uuid =
            sqlx::query_scalar("SELECT id FROM members WHERE org_id = $1 AND email = $2")
                .bind(org_id)
                .bind(email.as_str())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::not_found("member"))?;
        load_member(&mut conn, org_id, id).await
    }

    async fn create_team(&self, ctx: &Ctx, new: NewTeam) -> Result<Team> {
        let name = text("name", &new.name, TITLE_MAX)?;
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "teams",
            ctx.org_id,
            new.parent_id,
            "parent_id",
            "team",
        )
        .await?;
        require(
            &mut tx,
            "members",
            ctx.org_id,
            new.lead_id,
            "lead_id",
            "member",
        )
        .await?;
        let team = Team {
            id: Uuid::now_v7(),
            name,
            parent_id: new.parent_id,
            lead_id: new.lead_id,
            created_at: ctx.now,
        };
        sqlx::query("INSERT INTO teams (id, org_id, name, parent_id, lead_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(team.id)
            .bind(ctx.org_id)
            .bind(&team.name)
            .bind(team.parent_id)
            .bind(team.lead_id)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            ctx,
            "team.created",
            "team",
            Some(team.id),
            json!({ "team": team }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &team).await?;
        Ok(team)
    }

    async fn team(&self, org_id: Uuid, id: Uuid) -> Result<Team> {
        load_team(&mut *self.read().await?, org_id, id, false).await
    }

    async fn teams(&self, org_id: Uuid, page: PageRequest) -> Result<Page<Team>> {
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {TEAM_COLUMNS} FROM teams WHERE org_id = "));
        query.push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<TeamRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        Ok(page_of(
            rows.into_iter().map(Into::into).collect(),
            page,
            |t: &Team| t.id.to_string(),
        ))
    }

    async fn update_team(&self, ctx: &Ctx, id: Uuid, patch: TeamPatch) -> Result<Team> {
        let mut tx = self.begin().await?;
        let mut team = load_team(&mut tx, ctx.org_id, id, true).await?;
        if let Some(name) = patch.name {
            team.name = text("name", &name, TITLE_MAX)?;
        }
        if let Some(parent) = patch.parent_id {
            require(&mut tx, "teams", ctx.org_id, parent, "parent_id", "team").await?;
            refuse_cycle(&mut tx, "teams", id, parent).await?;
            team.parent_id = parent;
        }
        if let Some(lead) = patch.lead_id {
            require(&mut tx, "members", ctx.org_id, lead, "lead_id", "member").await?;
            team.lead_id = lead;
        }
        sqlx::query("UPDATE teams SET name = $1, parent_id = $2, lead_id = $3 WHERE id = $4 AND org_id = $5")
            .bind(&team.name)
            .bind(team.parent_id)
            .bind(team.lead_id)
            .bind(id)
            .bind(ctx.org_id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            ctx,
            "team.updated",
            "team",
            Some(id),
            json!({ "team": team }),
        )
        .await?;
        tx.commit().await?;
        Ok(team)
    }

    async fn create_member(&self, ctx: &Ctx, new: NewMember) -> Result<Member> {
        let mut tx = self.begin().await?;
        let member = insert_member(&mut tx, ctx, new).await?;
        commit_with_response(tx, ctx, 201, &member).await?;
        Ok(member)
    }

    async fn enrol_member(
        &self,
        ctx: &Ctx,
        new: NewMember,
        enrolment: Enrolment,
    ) -> Result<Member> {
        let mut tx = self.begin().await?;
        let mut member = insert_member(&mut tx, ctx, new).await?;
        if let Some(hash) = &enrolment.password_hash {
            write_password(&mut tx, ctx, &member, hash).await?;
        }
        if enrolment.concurrency.is_some() || enrolment.external {
            if let Some(concurrency) = enrolment.concurrency {
                member.concurrency = check_concurrency(concurrency)?;
            }
            member.external = check_external(member.kind, enrolment.external)?;
            sqlx::query(
                "UPDATE members SET concurrency = $1, external = $4 WHERE id = $2 AND org_id = $3",
            )
            .bind(member.concurrency)
            .bind(member.id)
            .bind(ctx.org_id)
            .bind(member.external)
            .execute(&mut *tx)
            .await?;
            append_event(
                &mut tx,
                ctx,
                "member.updated",
                "member",
                Some(member.id),
                json!({ "member": member }),
            )
            .await?;
        }
        if let Some(budget) = enrolment.budget {
            let scoped = NewBudget {
                scope: BudgetScope::Worker,
                scope_id: Some(member.id),
                ..budget
            };
            insert_budget(&mut tx, ctx, scoped).await?;
        }
        commit_with_response(tx, ctx, 201, &member).await?;
        Ok(member)
    }

    async fn member(&self, org_id: Uuid, id: Uuid) -> Result<Member> {
        load_member(&mut *self.read().await?, org_id, id).await
    }

    async fn members(&self, org_id: Uuid, page: PageRequest) -> Result<Page<Member>> {
        let mut conn = self.read().await?;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE org_id = "
        ));
        query.push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<MemberRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut teams = teams_of(&mut conn, &ids).await?;
        let members = rows
            .into_iter()
            .map(|r| {
                let t = teams.remove(&r.id).unwrap_or_default();
                r.into_member(t)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(members, page, |m: &Member| m.id.to_string()))
    }

    async fn update_member(&self, ctx: &Ctx, id: Uuid, patch: MemberPatch) -> Result<Member> {
        let mut tx = self.begin().await?;
        let mut member = load_member(&mut tx, ctx.org_id, id).await?;
        if let Some(name) = patch.name {
            member.name = text("name", &name, TITLE_MAX)?;
        }
        if let Some(role) = patch.role {
            check_role_for_kind(member.kind, role)?;
            let owners: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM members WHERE org_id = $1 AND role = 'owner'",
            )
            .bind(ctx.org_id)
            .fetch_one(&mut *tx)
            .await?;
            check_role_change(member.role, role, owners)?;
            member.role = role;
        }
        if let Some(card) = patch.role_card {
            member.role_card = card;
        }
        if let Some(provider) = patch.provider {
            member.provider = provider;
        }
        if let Some(model) = patch.model {
            member.model = model;
        }
        if let Some(concurrency) = patch.concurrency {
            member.concurrency = check_concurrency(concurrency)?;
        }
        if let Some(external) = patch.external {
            member.external = check_external(member.kind, external)?;
        }
        sqlx::query(
            "UPDATE members SET name = $1, role = $2, role_card = $3, provider = $4, model = $5, concurrency = $8, external = $9 \
             WHERE id = $6 AND org_id = $7",
        )
        .bind(&member.name)
        .bind(member.role.as_str())
        .bind(&member.role_card)
        .bind(&member.provider)
        .bind(&member.model)
        .bind(id)
        .bind(ctx.org_id)
        .bind(member.concurrency)
        .bind(member.external)
        .execute(&mut *tx)
        .await?;
        if let Some(teams) = patch.teams {
            check_member_teams(&mut tx, ctx.org_id, &teams).await?;
            set_member_teams(&mut tx, ctx.org_id, id, &teams).await?;
        }
        let member = load_member(&mut tx, ctx.org_id, id).await?;
        append_event(
            &mut tx,
            ctx,
            "member.updated",
            "member",
            Some(id),
            json!({ "member": member }),
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }
}
