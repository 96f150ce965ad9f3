//! [`ConfirmationStore`](crate::store::ConfirmationStore) for a SQL store, stamped by
//! `confirmation_store!`: a write with its caps in one `INSERT ... SELECT ... WHERE`, a redeem in
//! one `DELETE ... RETURNING`, both on the store's writing pool (a redeem right after a keep
//! must see it).

/// Implements `ConfirmationStore` for `$store`, through its writing pool field `$writer`.
macro_rules! confirmation_store {
    (store: $store:ty, writer: $writer:ident $(,)?) => {
        use ::futures::future::BoxFuture;
        use ::sqlx::Row as _;

        use $crate::store::confirmations::{CALLER_COUNT, KEEP, Kept, PRUNE, StoredToken, TAKE};
        use $crate::store::error::StoreError;
        use $crate::store::shared::failed;

        const KEEPING: &str = "keeping an MCP confirmation token";
        const TAKING: &str = "redeeming an MCP confirmation token";

        /// A cap as the schema compares it.
        fn cap(value: u64) -> i64 {
            i64::try_from(value).unwrap_or(i64::MAX)
        }

        impl $crate::store::confirmations::ConfirmationStore for $store {
            fn keep_token<'a>(
                &'a self,
                token: &'a StoredToken,
                now_ms: i64,
                per_caller: u64,
                per_scope: u64,
            ) -> BoxFuture<'a, Result<Kept, StoreError>> {
                Box::pin(async move {
                    sqlx::query(PRUNE)
                        .bind(now_ms)
                        .execute(&self.$writer)
                        .await
                        .map_err(failed(KEEPING))?;
                    let written = sqlx::query(KEEP)
                        .bind(&token.key)
                        .bind(&token.scope)
                        .bind(&token.caller)
                        .bind(&token.tool)
                        .bind(&token.request)
                        .bind(token.expires_ms)
                        .bind(now_ms)
                        .bind(cap(per_caller))
                        .bind(cap(per_scope))
                        .execute(&self.$writer)
                        .await
                        .map_err(failed(KEEPING))?
                        .rows_affected();
                    if written > 0 {
                        return Ok(Kept::Kept);
                    }
                    let held: i64 = sqlx::query_scalar(CALLER_COUNT)
                        .bind(&token.scope)
                        .bind(&token.caller)
                        .bind(now_ms)
                        .fetch_one(&self.$writer)
                        .await
                        .map_err(failed(KEEPING))?;
                    Ok(if held >= cap(per_caller) {
                        Kept::CallerFull
                    } else {
                        Kept::ScopeFull
                    })
                })
            }

            fn take_token<'a>(
                &'a self,
                scope: &'a str,
                key: &'a str,
            ) -> BoxFuture<'a, Result<Option<StoredToken>, StoreError>> {
                Box::pin(async move {
                    let row = sqlx::query(TAKE)
                        .bind(key)
                        .bind(scope)
                        .fetch_optional(&self.$writer)
                        .await
                        .map_err(failed(TAKING))?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    Ok(Some(StoredToken {
                        scope: scope.to_owned(),
                        key: key.to_owned(),
                        caller: row.try_get("caller").map_err(failed(TAKING))?,
                        tool: row.try_get("tool").map_err(failed(TAKING))?,
                        request: row.try_get("request").map_err(failed(TAKING))?,
                        expires_ms: row.try_get("expires_ms").map_err(failed(TAKING))?,
                    }))
                })
            }
        }
    };
}

pub(in crate::store) use confirmation_store;
