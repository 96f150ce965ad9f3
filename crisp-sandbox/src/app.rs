//! Everything a running sandbox holds, and the changes the admin routes and
//! [`Sandbox`](crate::Sandbox) share.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::http::HeaderMap;
use parking_lot::Mutex;

use crate::auth::{self, Quota};
use crate::config::{FaultState, Faults, FaultsError, Token};
use crate::envelope::ApiError;
use crate::fixtures::Fixtures;
use crate::route::Route;
use crate::state::Workspace;
use crate::validate::Validators;
use crate::webhook::Webhooks;

/// Everything a running sandbox holds.
pub(crate) struct App {
    pub routes: Vec<Route>,
    pub validators: Arc<Validators>,
    pub workspace: Mutex<Workspace>,
    /// The workspace as loaded, for `reset`.
    pub initial: Workspace,
    pub tokens: Mutex<Vec<Token>>,
    pub quota: Mutex<Quota>,
    pub faults: Mutex<Option<FaultState>>,
    pub webhooks: Webhooks,
    /// Requests received under `/v1` since the start, whatever their answer.
    pub api_requests: AtomicU64,
    /// The digest of the token the admin routes need, if they need one.
    pub admin_token: Option<[u8; 32]>,
}

impl App {
    /// Injects `faults` from now on (`None`: no more), if their shares are from 0 to 1.
    pub fn set_faults(&self, faults: Option<Faults>) -> Result<(), FaultsError> {
        if let Some(faults) = &faults {
            faults.check()?;
        }
        *self.faults.lock() = faults.map(FaultState::new);
        Ok(())
    }

    /// Accepts `token` from now on, replacing one with the same identifier.
    pub fn add_token(&self, token: Token) {
        let mut tokens = self.tokens.lock();
        tokens.retain(|t| t.identifier != token.identifier);
        tokens.push(token);
    }

    /// Back to the workspace as loaded, and every quota unspent.
    pub fn reset(&self) {
        *self.workspace.lock() = self.initial.clone();
        self.quota.lock().clear();
    }

    /// The workspace now, as fixtures.
    pub fn fixtures(&self) -> Fixtures {
        self.workspace.lock().to_fixtures()
    }

    /// The token a request authenticates as.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Token, ApiError> {
        auth::authenticate(headers, |identifier, key| {
            self.tokens
                .lock()
                .iter()
                .find(|t| t.identifier == identifier && auth::same(t.key(), key))
                .cloned()
        })
    }
}
