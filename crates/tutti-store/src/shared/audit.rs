// The audit chain's reads; see `audit.rs` for the contract. Events are
// appended by every write, through `append_event` in `common.rs`.

impl crate::Audit for BackendStore {
    async fn events(&self, org_id: Uuid, filter: &EventFilter) -> Result<Page<Event>> {
        let limit = filter.limit.clamp(1, PageRequest::MAX_LIMIT);
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(after) = filter.after_seq {
            query.push(" AND seq > ").push_bind(after);
        }
        if let Some(action) = &filter.action {
            query.push(" AND action = ").push_bind(action.clone());
        }
        if let Some(subject) = filter.subject_id {
            query.push(" AND subject_id = ").push_bind(subject);
        }
        query
            .push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows: Vec<EventRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Event>>>()?;
        Ok(page_of(items, PageRequest { after: None, limit }, |e| {
            e.seq.to_string()
        }))
    }

    async fn verify_chain(&self, org_id: Uuid) -> Result<Result<i64, ChainBreak>> {
        Ok(self.verify_chain_after(org_id, None).await?.0)
    }

    async fn verify_chain_after(
        &self,
        org_id: Uuid,
        from: Option<VerifiedHead>,
    ) -> Result<(Result<i64, ChainBreak>, Option<VerifiedHead>)> {
        const BATCH: i64 = 5_000;
        let mut conn = self.read().await?;
        let (head_seq, head_hash): (i64, String) =
            sqlx::query_as("SELECT audit_seq, audit_hash FROM orgs WHERE id = $1")
                .bind(org_id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::not_found("org"))?;
        let mut verifier = match &from {
            Some(head) => ChainVerifier::resume(org_id, head),
            None => ChainVerifier::new(org_id),
        };
        let mut after = from.as_ref().map_or(0, |head| head.seq);
        loop {
            let rows: Vec<EventRow> = sqlx::query_as(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ))
            .bind(org_id)
            .bind(after)
            .bind(BATCH)
            .fetch_all(&mut *conn)
            .await?;
            let done = (rows.len() as i64) < BATCH;
            for row in rows {
                after = row.seq;
                if let Err(broken) = verifier.check(&row.into()) {
                    return Ok((Err(broken), from));
                }
            }
            if done {
                break;
            }
        }
        match verifier.finish(head_seq, &head_hash) {
            Ok(n) => Ok((
                Ok(n),
                Some(VerifiedHead {
                    seq: head_seq,
                    hash: head_hash,
                }),
            )),
            Err(broken) => Ok((Err(broken), from)),
        }
    }

    async fn audit_seq(&self, org_id: Uuid) -> Result<i64> {
        sqlx::query_scalar("SELECT audit_seq FROM orgs WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&mut *self.read().await?)
            .await?
            .ok_or(StoreError::not_found("org"))
    }
}
