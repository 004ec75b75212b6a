// The cockpit's aggregates; see `figures.rs` for the contract.

impl crate::Figures for BackendStore {
    async fn work_flow(&self, org_id: Uuid, now: DateTime<Utc>, weeks: u32) -> Result<WorkFlow> {
        let mut conn = self.read().await?;
        let counts: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT state, kind, COUNT(*) FROM work_items WHERE org_id = $1 GROUP BY state, kind",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut flow = WorkFlow::default();
        let mut by_state: HashMap<WorkState, i64> = HashMap::new();
        for (state, kind, n) in counts {
            let state: WorkState = state.parse().map_err(StoreError::Corrupt)?;
            *by_state.entry(state).or_default() += n;
            if !state.is_final() {
                if kind == "unplanned" {
                    flow.unplanned_open += n;
                } else {
                    flow.planned_open += n;
                }
            }
        }
        flow.by_state = WorkState::ALL
            .iter()
            .map(|s| (*s, by_state.get(s).copied().unwrap_or(0)))
            .collect();
        let this_week = week_of(now.date_naive());
        let first_week = this_week - chrono::Duration::weeks(i64::from(weeks.max(1)) - 1);
        let from = first_week
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        let days: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT {day}, COUNT(*) FROM work_items WHERE org_id = $1 AND state = 'done' AND state_since >= $2 GROUP BY {day}",
            day = day_of("state_since")
        ))
        .bind(org_id)
        .bind(from)
        .fetch_all(&mut *conn)
        .await?;
        let mut per_week: std::collections::BTreeMap<NaiveDate, i64> = (0..weeks.max(1))
            .map(|w| (first_week + chrono::Duration::weeks(i64::from(w)), 0))
            .collect();
        for (day, n) in days {
            *per_week.entry(week_of(parse_day(&day)?)).or_default() += n;
        }
        flow.done_per_week = per_week.into_iter().collect();
        Ok(flow)
    }

    async fn load_by_week(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
        weeks: u32,
        scope: crate::LoadScope,
    ) -> Result<Vec<tutti_domain::service::WeekLoad>> {
        let weeks = weeks.clamp(
            *tutti_domain::service::LOAD_WEEKS.start(),
            *tutti_domain::service::LOAD_WEEKS.end(),
        );
        let this_week = week_of(now.date_naive());
        let first_week = this_week - chrono::Duration::weeks(i64::from(weeks) - 1);
        // The weekly counts kept with the work (`work_arrivals`): a few rows
        // per week, however much work arrived.
        let mut query = QueryBuilder::<Db>::new(
            "SELECT week, kind, CAST(SUM(count) AS BIGINT) FROM work_arrivals WHERE org_id = ",
        );
        query.push_bind(org_id);
        query.push(" AND week >= ").push_bind(first_week);
        query.push(" AND week <= ").push_bind(this_week);
        if let Some(team) = scope.team_id {
            query.push(" AND team_id = ").push_bind(team);
        }
        if let Some(product) = scope.service_product_id {
            query.push(" AND service_product_id = ").push_bind(product);
        }
        query.push(" GROUP BY week, kind");
        let rows: Vec<(NaiveDate, String, i64)> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let mut per_week: std::collections::BTreeMap<NaiveDate, (i64, i64)> = (0..weeks)
            .map(|w| (first_week + chrono::Duration::weeks(i64::from(w)), (0, 0)))
            .collect();
        for (week, kind, n) in rows {
            if let Some(entry) = per_week.get_mut(&week) {
                if kind == "unplanned" {
                    entry.1 += n;
                } else {
                    entry.0 += n;
                }
            }
        }
        Ok(per_week
            .into_iter()
            .map(
                |(week, (planned, unplanned))| tutti_domain::service::WeekLoad {
                    week,
                    planned,
                    unplanned,
                },
            )
            .collect())
    }

    async fn blocked_work(
        &self,
        org_id: Uuid,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BlockedWork>> {
        let blocked: Vec<BlockedWork> = sqlx::query_as(
            "SELECT id, title, state_since AS since, team_id, assignee_id FROM work_items \
             WHERE org_id = $1 AND state = 'blocked' AND state_since < $2 ORDER BY state_since LIMIT $3",
        )
        .bind(org_id)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(blocked)
    }

    async fn spend_by_day(
        &self,
        org_id: Uuid,
        group: LedgerGroup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SpendPoint>> {
        let day = day_of("at");
        let sums = "CAST(SUM(cost) AS BIGINT), CAST(SUM(input_tokens + cached_input_tokens + output_tokens) AS BIGINT)";
        let filter =
            "FROM ledger_entries WHERE org_id = $1 AND kind = 'settle' AND at >= $2 AND at < $3";
        let mut conn = self.read().await?;
        let rows: Vec<(String, Option<String>, i64, i64)> = if group == LedgerGroup::Model {
            let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(&format!(
                "SELECT {day}, provider, model, {sums} {filter} GROUP BY {day}, provider, model ORDER BY 1"
            ))
            .bind(org_id)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?;
            rows.into_iter()
                .map(|(d, p, m, cost, tokens)| (d, Some(format!("{p}/{m}")), cost, tokens))
                .collect()
        } else {
            let column = crate::ledger::ledger_column(group);
            let rows: Vec<(String, Option<Uuid>, i64, i64)> = sqlx::query_as(&format!(
                "SELECT {day}, {column}, {sums} {filter} GROUP BY {day}, {column} ORDER BY 1"
            ))
            .bind(org_id)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?;
            rows.into_iter()
                .map(|(d, key, cost, tokens)| (d, key.map(|k| k.to_string()), cost, tokens))
                .collect()
        };
        rows.into_iter()
            .map(|(day, key, cost, tokens)| {
                Ok(SpendPoint {
                    day: parse_day(&day)?,
                    key,
                    cost,
                    tokens,
                })
            })
            .collect()
    }
}
