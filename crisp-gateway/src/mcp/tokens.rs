//! One agent's MCP confirmation tokens in the gateway's store ([`ConfirmationStore`]), as
//! crisp-mcp's [`TokenStore`]: with a store replicas share, a token one replica issued is
//! redeemed on another, once. Scoped to the agent: a token is redeemed only by the server of
//! the agent it was issued to. The store's errors are logged (without the token: the store
//! holds its SHA-256 only) and answered as crisp-mcp's `confirmations_unavailable`.

use std::sync::Arc;

use crisp_mcp::confirm::{
    IssueError, MAX_PENDING, MAX_PENDING_PER_CALLER, Pending, Rejection, TokenStore,
};
use futures::future::BoxFuture;

use crate::gateway::Gateway;
use crate::store::{ConfirmationStore, Kept, StoredToken};

/// The tokens of agent `scope`, in the gateway's store.
pub(super) struct StoreTokens {
    gateway: Arc<Gateway>,
    scope: String,
}

impl StoreTokens {
    pub(super) fn new(gateway: Arc<Gateway>, scope: String) -> Self {
        Self { gateway, scope }
    }

    fn store(&self) -> Option<&dyn ConfirmationStore> {
        self.gateway.store().confirmations()
    }
}

/// A caller or scope cap as the store counts it.
fn cap(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl TokenStore for StoreTokens {
    fn keep(&self, pending: Pending, now_ms: i64) -> BoxFuture<'_, Result<(), IssueError>> {
        Box::pin(async move {
            let store = self.store().ok_or(IssueError::Unavailable)?;
            let token = StoredToken {
                scope: self.scope.clone(),
                key: hex::encode(pending.key),
                caller: pending.caller,
                tool: pending.tool,
                request: hex::encode(pending.request),
                expires_ms: pending.expires_ms,
            };
            let kept = store
                .keep_token(
                    &token,
                    now_ms,
                    cap(MAX_PENDING_PER_CALLER),
                    cap(MAX_PENDING),
                )
                .await
                .map_err(|error| {
                    tracing::error!(%error, agent = %self.scope, "an MCP confirmation token was not kept");
                    IssueError::Unavailable
                })?;
            match kept {
                Kept::Kept => Ok(()),
                Kept::CallerFull => Err(IssueError::CallerFull),
                Kept::ScopeFull => Err(IssueError::StoreFull),
            }
        })
    }

    fn take(&self, key: [u8; 32]) -> BoxFuture<'_, Result<Option<Pending>, Rejection>> {
        Box::pin(async move {
            let store = self.store().ok_or(Rejection::Unavailable)?;
            let taken = store
                .take_token(&self.scope, &hex::encode(key))
                .await
                .map_err(|error| {
                    tracing::error!(%error, agent = %self.scope, "an MCP confirmation token could not be redeemed");
                    Rejection::Unavailable
                })?;
            let Some(token) = taken else {
                return Ok(None);
            };
            // A row this gateway did not write (its digest not 32 bytes) confirms nothing.
            let Some(request) = hex::decode(&token.request)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            else {
                return Ok(None);
            };
            Ok(Some(Pending::new(
                key,
                token.caller,
                token.tool,
                request,
                token.expires_ms,
            )))
        })
    }
}
