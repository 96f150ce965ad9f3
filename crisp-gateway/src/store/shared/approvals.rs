//! [`ApprovalStore`](crate::store::ApprovalStore) for a SQL store, stamped by
//! `approval_store!`: the shared SQL of `store/approvals.rs`, each transition in one
//! transaction with its audit row. Each backend's module says why its locking makes a
//! transition happen once.

/// Implements `ApprovalStore` for `$store`, a store on the sqlx database `$db` whose
/// transactions are `$conn`s; it writes through its pool field `$writer` and reads through
/// `$reader` (the same field where one pool does both).
macro_rules! approval_store {
    (
        store: $store:ty,
        database: $db:ty,
        connection: $conn:ty,
        writer: $writer:ident,
        reader: $reader:ident $(,)?
    ) => {
        use ::futures::future::BoxFuture;
        use ::serde_json::Value;

        use $crate::store::approvals::{
            APPROVE, Approval, ApprovalFilter, DENY, Decision, EXPIRE, FINISH, Finish, INSERT,
            INSERT_ROW, LIST, Record, SELECT, STALE, STALE_SEND, Sweep, pairs_json,
        };
        use $crate::store::error::StoreError;
        use $crate::store::shared::{failed, path_ids_json, to_i64};
        use $crate::store::steps;
        use $crate::store::types::AuditRow;

        const DECIDING: &str = "deciding an approval";

        impl $store {
            async fn insert_approval(&self, approval: &Approval) -> Result<(), StoreError> {
                sqlx::query(INSERT)
                    .bind(&approval.id)
                    .bind(&approval.agent)
                    .bind(&approval.key_id)
                    .bind(&approval.front)
                    .bind(&approval.client)
                    .bind(&approval.operation)
                    .bind(&approval.method)
                    .bind(pairs_json(&approval.path_ids))
                    .bind(pairs_json(&approval.query))
                    .bind(approval.body.as_ref().map(Value::to_string))
                    .bind(approval.created_ms)
                    .bind(approval.expires_ms)
                    .execute(&self.$writer)
                    .await
                    .map_err(failed("storing a proposal"))?;
                Ok(())
            }

            async fn read_approval(&self, id: &str) -> Result<Option<Approval>, StoreError> {
                let record: Option<Record> = sqlx::query_as(SELECT)
                    .bind(id)
                    .fetch_optional(&self.$reader)
                    .await
                    .map_err(failed("reading an approval"))?;
                record.map(Record::into_approval).transpose()
            }

            async fn read_approvals(
                &self,
                filter: &ApprovalFilter,
            ) -> Result<Vec<Approval>, StoreError> {
                let mut query = ::sqlx::QueryBuilder::<$db>::new(LIST);
                if let Some(state) = filter.state {
                    query.push(" AND state = ").push_bind(state.as_str());
                }
                if let Some(agent) = &filter.agent {
                    query.push(" AND agent = ").push_bind(agent.clone());
                }
                query.push(" ORDER BY created_ms DESC, id DESC");
                if let Some(limit) = filter.limit {
                    query.push(" LIMIT ").push_bind(i64::from(limit));
                }
                let records: Vec<Record> = query
                    .build_query_as()
                    .fetch_all(&self.$reader)
                    .await
                    .map_err(failed("reading approvals"))?;
                records.into_iter().map(Record::into_approval).collect()
            }

            async fn decide(&self, decision: &Decision) -> Result<Option<Approval>, StoreError> {
                let mut tx = self.$writer.begin().await.map_err(failed(DECIDING))?;
                let record: Option<Record> =
                    sqlx::query_as(if decision.approve { APPROVE } else { DENY })
                        .bind(&decision.id)
                        .bind(&decision.by)
                        .bind(decision.step.at_ms)
                        .bind(&decision.note)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(DECIDING))?;
                let Some(record) = record else {
                    return Ok(None);
                };
                let approval = record.into_approval()?;
                insert_row(&mut tx, &steps::row(&approval, &decision.step), DECIDING).await?;
                tx.commit().await.map_err(failed(DECIDING))?;
                Ok(Some(approval))
            }

            async fn finish(&self, finish: &Finish) -> Result<Option<Approval>, StoreError> {
                const ACTION: &str = "recording an approval's answer";
                let mut tx = self.$writer.begin().await.map_err(failed(ACTION))?;
                let record: Option<Record> = sqlx::query_as(FINISH)
                    .bind(&finish.id)
                    .bind(finish.state.as_str())
                    .bind(finish.step.at_ms)
                    .bind(i64::from(finish.status))
                    .bind(finish.answer.to_string())
                    .bind(&finish.error)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(failed(ACTION))?;
                let Some(record) = record else {
                    return Ok(None);
                };
                let approval = record.into_approval()?;
                insert_row(&mut tx, &steps::row(&approval, &finish.step), ACTION).await?;
                tx.commit().await.map_err(failed(ACTION))?;
                Ok(Some(approval))
            }

            async fn sweep(&self, sweep: &Sweep) -> Result<Vec<Approval>, StoreError> {
                const ACTION: &str = "expiring approvals";
                let mut tx = self.$writer.begin().await.map_err(failed(ACTION))?;
                let mut records: Vec<Record> = sqlx::query_as(EXPIRE)
                    .bind(sweep.at_ms)
                    .bind(&sweep.only)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(failed(ACTION))?;
                let stale: Vec<Record> = sqlx::query_as(STALE)
                    .bind(sweep.at_ms)
                    .bind(sweep.stale_before_ms)
                    .bind(&sweep.only)
                    .bind(STALE_SEND)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(failed(ACTION))?;
                records.extend(stale);
                if records.is_empty() {
                    return Ok(Vec::new());
                }
                let approvals: Vec<Approval> = records
                    .into_iter()
                    .map(Record::into_approval)
                    .collect::<Result<_, _>>()?;
                for approval in &approvals {
                    insert_row(&mut tx, &steps::swept(approval, sweep), ACTION).await?;
                }
                tx.commit().await.map_err(failed(ACTION))?;
                Ok(approvals)
            }
        }

        /// Writes one audit row inside the step's transaction.
        async fn insert_row(
            tx: &mut $conn,
            row: &AuditRow,
            action: &'static str,
        ) -> Result<(), StoreError> {
            sqlx::query(INSERT_ROW)
                .bind(row.at_ms)
                .bind(&row.agent)
                .bind(&row.key_id)
                .bind(&row.front)
                .bind(&row.client)
                .bind(&row.operation)
                .bind(&row.method)
                .bind(path_ids_json(&row.path_ids))
                .bind(&row.decision)
                .bind(&row.why)
                .bind(&row.outcome)
                .bind(row.status.map(i64::from))
                .bind(&row.reason)
                .bind(&row.error)
                .bind(i64::from(row.attempts))
                .bind(i64::from(row.upstream_requests))
                .bind(to_i64(row.latency_us))
                .execute(tx)
                .await
                .map_err(failed(action))?;
            Ok(())
        }

        impl $crate::store::approvals::ApprovalStore for $store {
            fn create_approval<'a>(
                &'a self,
                approval: &'a Approval,
            ) -> BoxFuture<'a, Result<(), StoreError>> {
                Box::pin(self.insert_approval(approval))
            }

            fn approval<'a>(
                &'a self,
                id: &'a str,
            ) -> BoxFuture<'a, Result<Option<Approval>, StoreError>> {
                Box::pin(self.read_approval(id))
            }

            fn list_approvals<'a>(
                &'a self,
                filter: &'a ApprovalFilter,
            ) -> BoxFuture<'a, Result<Vec<Approval>, StoreError>> {
                Box::pin(self.read_approvals(filter))
            }

            fn decide_approval<'a>(
                &'a self,
                decision: &'a Decision,
            ) -> BoxFuture<'a, Result<Option<Approval>, StoreError>> {
                Box::pin(self.decide(decision))
            }

            fn finish_approval<'a>(
                &'a self,
                finish: &'a Finish,
            ) -> BoxFuture<'a, Result<Option<Approval>, StoreError>> {
                Box::pin(self.finish(finish))
            }

            fn sweep_approvals<'a>(
                &'a self,
                sweep: &'a Sweep,
            ) -> BoxFuture<'a, Result<Vec<Approval>, StoreError>> {
                Box::pin(self.sweep(sweep))
            }
        }
    };
}

pub(in crate::store) use approval_store;
