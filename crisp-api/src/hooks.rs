//! What runs around every request of the generated client.

use progenitor_client::{ClientHooks, Error, OperationInfo};

use crate::Client;

/// Per-client settings the generated client carries to its hooks.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Context {}

impl ClientHooks<Context> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        // progenitor sends the spec's version in an `api-version` header; Crisp has no such
        // header, so keep the request clean.
        request.headers_mut().remove("api-version");
        Ok(())
    }
}
