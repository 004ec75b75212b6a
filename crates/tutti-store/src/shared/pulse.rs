// Pulse surveys, their ballots and responses, and the workload view; see
// `pulse.rs` for the contract. A ballot and its response share no key, no
// time and no order; the answer's audit event has no actor.

const SURVEY_COLUMNS: &str = "id, team_id, title, questions, opens_on, closes_on, repeat, enps_drop, \
     score_drop, ended_on, created_by, created_at";

#[derive(sqlx::FromRow)]
struct SurveyRow {
    id: Uuid,
    team_id: Uuid,
    title: String,
    questions: String,
    opens_on: NaiveDate,
    closes_on: NaiveDate,
    repeat: String,
    enps_drop: i64,
    score_drop: f64,
    ended_on: Option<NaiveDate>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
}

impl TryFrom<SurveyRow> for tutti_domain::pulse::Survey {
    type Error = StoreError;
    fn try_from(r: SurveyRow) -> Result<Self> {
        Ok(Self {
            id: r.id,
            team_id: r.team_id,
            title: r.title,
            questions: serde_json::from_str(&r.questions)
                .map_err(|e| StoreError::Corrupt(format!("pulse_surveys.questions: {e}")))?,
            opens_on: r.opens_on,
            closes_on: r.closes_on,
            repeat: parse_column("pulse_surveys.repeat", &r.repeat)?,
            enps_drop: u32::try_from(r.enps_drop)
                .map_err(|_| StoreError::Corrupt("pulse_surveys.enps_drop".into()))?,
            score_drop: r.score_drop,
            ended_on: r.ended_on,
            created_by: r.created_by,
            created_at: r.created_at,
        })
    }
}

async fn load_survey(
    conn: &mut Conn,
    org_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<tutti_domain::pulse::Survey> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let row: SurveyRow = sqlx::query_as(&format!(
        "SELECT {SURVEY_COLUMNS} FROM pulse_surveys WHERE id = $1 AND org_id = $2{lock}"
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("survey"))?;
    row.try_into()
}

fn count(column: &str, value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column}: {value}")))
}

impl crate::Pulse for BackendStore {
    async fn voice_settings(&self, org_id: Uuid) -> Result<tutti_domain::pulse::VoiceSettings> {
        let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT pulse_k, load_open, load_overdue, load_queue_per_slot FROM orgs WHERE id = $1",
        )
        .bind(org_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        let (k, open, overdue, queue_per_slot) = row.ok_or(StoreError::not_found("org"))?;
        Ok(tutti_domain::pulse::VoiceSettings {
            k: count("orgs.pulse_k", k)?,
            load: tutti_domain::workload::LoadLimits {
                open: count("orgs.load_open", open)?,
                overdue: count("orgs.load_overdue", overdue)?,
                queue_per_slot: count("orgs.load_queue_per_slot", queue_per_slot)?,
            },
        })
    }

    async fn set_voice_settings(
        &self,
        ctx: &Ctx,
        settings: tutti_domain::pulse::VoiceSettings,
    ) -> Result<tutti_domain::pulse::VoiceSettings> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE orgs SET pulse_k = $1, load_open = $2, load_overdue = $3, load_queue_per_slot = $4 \
             WHERE id = $5",
        )
        .bind(i64::from(settings.k))
        .bind(i64::from(settings.load.open))
        .bind(i64::from(settings.load.overdue))
        .bind(i64::from(settings.load.queue_per_slot))
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "org.voice_settings_set",
            "org",
            Some(ctx.org_id),
            json!({ "settings": settings }),
        )
        .await?;
        commit_with_response(tx, ctx, 200, &settings).await?;
        Ok(settings)
    }

    async fn create_survey(
        &self,
        ctx: &Ctx,
        new: crate::NewSurvey,
    ) -> Result<tutti_domain::pulse::Survey> {
        let created_by = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("created_by", "a survey is made by someone"))?;
        let survey = tutti_domain::pulse::Survey {
            id: Uuid::now_v7(),
            team_id: new.team_id,
            title: new.title,
            questions: new.questions,
            opens_on: new.opens_on,
            closes_on: new.closes_on,
            repeat: new.repeat,
            enps_drop: new.enps_drop,
            score_drop: new.score_drop,
            ended_on: None,
            created_by,
            created_at: ctx.now,
        };
        let questions = serde_json::to_string(&survey.questions)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode questions: {e}")))?;
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "teams",
            ctx.org_id,
            Some(survey.team_id),
            "team_id",
            "team",
        )
        .await?;
        sqlx::query(&format!(
            "INSERT INTO pulse_surveys ({SURVEY_COLUMNS}, org_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(survey.id)
        .bind(survey.team_id)
        .bind(&survey.title)
        .bind(questions)
        .bind(survey.opens_on)
        .bind(survey.closes_on)
        .bind(survey.repeat.as_str())
        .bind(i64::from(survey.enps_drop))
        .bind(survey.score_drop)
        .bind(survey.ended_on)
        .bind(survey.created_by)
        .bind(survey.created_at)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            ctx,
            "pulse.created",
            "pulse_survey",
            Some(survey.id),
            json!({ "survey": survey }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, &survey).await?;
        Ok(survey)
    }

    async fn survey(&self, org_id: Uuid, id: Uuid) -> Result<tutti_domain::pulse::Survey> {
        load_survey(&mut *self.read().await?, org_id, id, false).await
    }

    async fn end_survey(
        &self,
        ctx: &Ctx,
        id: Uuid,
        today: NaiveDate,
        may: crate::MayEndSurvey<'_>,
    ) -> Result<tutti_domain::pulse::Survey> {
        let mut tx = self.begin().await?;
        let mut survey = load_survey(&mut tx, ctx.org_id, id, true).await?;
        may(&survey)?;
        survey.end(today)?;
        sqlx::query("UPDATE pulse_surveys SET ended_on = $1 WHERE id = $2")
            .bind(survey.ended_on)
            .bind(survey.id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            ctx,
            "pulse.ended",
            "pulse_survey",
            Some(survey.id),
            json!({ "ended_on": survey.ended_on }),
        )
        .await?;
        commit_with_response(tx, ctx, 200, &survey).await?;
        Ok(survey)
    }

    async fn surveys(
        &self,
        org_id: Uuid,
        team_id: Option<Uuid>,
        page: PageRequest,
    ) -> Result<Page<tutti_domain::pulse::Survey>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {SURVEY_COLUMNS} FROM pulse_surveys WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(team) = team_id {
            query.push(" AND team_id = ").push_bind(team);
        }
        push_page(&mut query, page);
        let rows: Vec<SurveyRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<tutti_domain::pulse::Survey>>>()?;
        Ok(page_of(items, page, |s| s.id.to_string()))
    }

    async fn answer_pulse(
        &self,
        ctx: &Ctx,
        survey_id: Uuid,
        round: u32,
        response: &tutti_domain::pulse::Response,
    ) -> Result<()> {
        let member_id = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("member_id", "a pulse is answered by someone"))?;
        let answers = serde_json::to_string(&response.answers)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode answers: {e}")))?;
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "pulse_surveys",
            ctx.org_id,
            Some(survey_id),
            "survey_id",
            "survey",
        )
        .await?;
        sqlx::query("INSERT INTO pulse_ballots (survey_id, round, member_id) VALUES ($1, $2, $3)")
            .bind(survey_id)
            .bind(i64::from(round))
            .bind(member_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::conflict_on_unique(e, || {
                    "you have answered this round of the pulse already".to_owned()
                })
            })?;
        // A random key: where the response sits among the others says
        // nothing about when it came.
        sqlx::query(
            "INSERT INTO pulse_responses (id, survey_id, round, team_id, answers) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(survey_id)
        .bind(i64::from(round))
        .bind(response.team_id)
        .bind(answers)
        .execute(&mut *tx)
        .await?;
        // The trail says that someone in the team answered the round, not who.
        let anonymous = Ctx {
            actor_id: None,
            idempotency: None,
            ..ctx.clone()
        };
        append_event(
            &mut tx,
            &anonymous,
            "pulse.answered",
            "pulse_survey",
            Some(survey_id),
            json!({ "round": round, "team_id": response.team_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn answered_rounds(&self, survey_id: Uuid, member_id: Uuid) -> Result<Vec<u32>> {
        let rounds: Vec<i64> = sqlx::query_scalar(
            "SELECT round FROM pulse_ballots WHERE survey_id = $1 AND member_id = $2 ORDER BY round",
        )
        .bind(survey_id)
        .bind(member_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rounds
            .into_iter()
            .map(|r| count("pulse_ballots.round", r))
            .collect()
    }

    async fn responses(
        &self,
        org_id: Uuid,
        survey_id: Uuid,
    ) -> Result<Vec<(u32, tutti_domain::pulse::Response)>> {
        let rows: Vec<(i64, Uuid, String)> = sqlx::query_as(
            "SELECT r.round, r.team_id, r.answers FROM pulse_responses r \
             JOIN pulse_surveys s ON s.id = r.survey_id \
             WHERE r.survey_id = $1 AND s.org_id = $2 ORDER BY r.id",
        )
        .bind(survey_id)
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter()
            .map(|(round, team_id, answers)| {
                Ok((
                    count("pulse_responses.round", round)?,
                    tutti_domain::pulse::Response {
                        team_id,
                        answers: serde_json::from_str(&answers).map_err(|e| {
                            StoreError::Corrupt(format!("pulse_responses.answers: {e}"))
                        })?,
                    },
                ))
            })
            .collect()
    }

    async fn carried(
        &self,
        org_id: Uuid,
        team_id: Option<Uuid>,
        today: NaiveDate,
    ) -> Result<Vec<tutti_domain::workload::Carried>> {
        use tutti_domain::work::WorkState;
        let mut conn = self.read().await?;
        let mut query = QueryBuilder::<Db>::new(
            "SELECT m.id, m.name, m.kind, m.concurrency FROM members m WHERE m.role <> 'viewer' \
             AND m.org_id = ",
        );
        query.push_bind(org_id);
        if let Some(team) = team_id {
            query
                .push(" AND EXISTS (SELECT 1 FROM team_members t WHERE t.member_id = m.id AND t.team_id = ")
                .push_bind(team)
                .push(")");
        }
        query.push(" ORDER BY m.name, m.id");
        let members: Vec<(Uuid, String, String, i64)> =
            query.build_query_as().fetch_all(&mut *conn).await?;
        let mut carried: Vec<tutti_domain::workload::Carried> = members
            .into_iter()
            .map(|(member_id, name, kind, concurrency)| {
                Ok(tutti_domain::workload::Carried {
                    member_id,
                    name,
                    kind: parse_column("members.kind", &kind)?,
                    backlog: 0,
                    ready: 0,
                    running: 0,
                    in_review: 0,
                    blocked: 0,
                    due_soon: 0,
                    overdue: 0,
                    decisions_waiting: 0,
                    reviews_waiting: 0,
                    runs_queued: 0,
                    concurrency: count("members.concurrency", concurrency)?,
                })
            })
            .collect::<Result<_>>()?;
        let index: std::collections::HashMap<Uuid, usize> = carried
            .iter()
            .enumerate()
            .map(|(i, c)| (c.member_id, i))
            .collect();
        let week_ahead = today + chrono::Days::new(7);
        let work: Vec<(Uuid, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT assignee_id, state, COUNT(*), \
               SUM(CASE WHEN due < $2 THEN 1 ELSE 0 END), \
               SUM(CASE WHEN due >= $2 AND due <= $3 THEN 1 ELSE 0 END) \
             FROM work_items WHERE org_id = $1 AND assignee_id IS NOT NULL \
               AND state NOT IN ('done', 'cancelled') \
             GROUP BY assignee_id, state",
        )
        .bind(org_id)
        .bind(today)
        .bind(week_ahead)
        .fetch_all(&mut *conn)
        .await?;
        for (member, state, n, overdue, due_soon) in work {
            let Some(c) = index.get(&member).map(|&i| &mut carried[i]) else {
                continue;
            };
            let n = count("work_items", n)?;
            match parse_column::<WorkState>("work_items.state", &state)? {
                WorkState::Backlog => c.backlog += n,
                WorkState::Ready => c.ready += n,
                WorkState::Running => c.running += n,
                WorkState::InReview => c.in_review += n,
                WorkState::Blocked => c.blocked += n,
                WorkState::Done | WorkState::Cancelled => {}
            }
            c.overdue += count("work_items.due", overdue)?;
            c.due_soon += count("work_items.due", due_soon)?;
        }
        // Each a count per member: decisions waiting on whom they are
        // escalated to (else assigned to), results in review waiting on
        // whoever ordered the work, an AI worker's runs queued and running.
        type Field = fn(&mut tutti_domain::workload::Carried) -> &mut u32;
        let per_member: [(&str, Field); 3] = [
            (
                "SELECT COALESCE(escalated_to, assignee_id), COUNT(*) FROM decisions \
                 WHERE org_id = $1 AND status IN ('open', 'awaiting_approval', 'escalated') \
                   AND COALESCE(escalated_to, assignee_id) IS NOT NULL \
                 GROUP BY COALESCE(escalated_to, assignee_id)",
                |c| &mut c.decisions_waiting,
            ),
            (
                "SELECT created_by, COUNT(*) FROM work_items \
                 WHERE org_id = $1 AND state = 'in_review' \
                   AND (assignee_id IS NULL OR assignee_id <> created_by) \
                 GROUP BY created_by",
                |c| &mut c.reviews_waiting,
            ),
            (
                "SELECT worker_id, COUNT(*) FROM runs WHERE org_id = $1 \
                   AND status IN ('queued', 'running') GROUP BY worker_id",
                |c| &mut c.runs_queued,
            ),
        ];
        for (sql, field) in per_member {
            let counts: Vec<(Uuid, i64)> = sqlx::query_as(sql)
                .bind(org_id)
                .fetch_all(&mut *conn)
                .await?;
            for (member, n) in counts {
                if let Some(&i) = index.get(&member) {
                    *field(&mut carried[i]) = count("workload", n)?;
                }
            }
        }
        Ok(carried)
    }
}
