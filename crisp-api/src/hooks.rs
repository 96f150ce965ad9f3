//! What runs around every request of the generated client.

use std::time::Instant;

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};

use crate::types::ErrorEnvelope;
use crate::{Client, Operation};

/// The `tracing` target of the record every call leaves.
pub const AUDIT_TARGET: &str = "crisp_api::audit";

/// Per-client settings the generated client carries to its hooks.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Context {}

/// How much of a non-envelope error body is kept in the error message.
const BODY_EXCERPT: usize = 2048;

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

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let started = Instant::now();
        let result = self.client().execute(request).await;
        audit(info.operation_id, &result, started);
        let response = result?;
        if response.status().is_success() {
            return Ok(response);
        }
        normalize_error(response).await
    }
}

/// Leaves one `tracing` record per call, on [`AUDIT_TARGET`]: the operation, the scope and
/// access it needs, the HTTP status, Crisp's cache status (`Bloom-Status`) and the latency.
/// Never the request's headers or body, so no secret can reach it.
fn audit(operation_id: &str, result: &reqwest::Result<reqwest::Response>, started: Instant) {
    let op = Operation::find(operation_id);
    let scope = op.map_or("", |op| op.scope);
    let access = op.map_or("", |op| op.access.as_str());
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(response) => {
            let bloom_status = response
                .headers()
                .get("bloom-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info!(
                target: AUDIT_TARGET,
                operation = operation_id,
                scope,
                access,
                status = response.status().as_u16(),
                bloom_status,
                latency_ms,
                "crisp call"
            );
        }
        Err(error) => {
            tracing::warn!(
                target: AUDIT_TARGET,
                operation = operation_id,
                scope,
                access,
                error = %error,
                latency_ms,
                "crisp call failed before a response"
            );
        }
    }
}

/// Makes sure an error response carries a Crisp error envelope, so that it decodes as
/// `Error::ErrorResponse` with its status and headers kept.
///
/// Crisp answers errors with `{error, reason, data}`, but an edge proxy in front of it may
/// answer with an HTML page, and a body may be empty. Such a body is replaced by an envelope
/// whose reason is `http_error` (as Crisp's official clients do) and whose message says what
/// came back, with the start of the body. Envelopes from Crisp pass through untouched.
async fn normalize_error(response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    let version = response.version();
    let mut headers = response.headers().clone();
    let body = response.bytes().await?;
    let body: reqwest::Body = if serde_json::from_slice::<ErrorEnvelope>(&body).is_ok() {
        body.into()
    } else {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_owned();
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(BODY_EXCERPT)]).into_owned();
        let message = format!(
            "Crisp answered HTTP {status} with a body that is not a Crisp error envelope \
             ({content_type}, {} bytes); edge proxies send these when Crisp is unreachable or \
             overloaded: retry later. Body: {excerpt}{}",
            body.len(),
            if body.len() > BODY_EXCERPT { "..." } else { "" },
        );
        let envelope = serde_json::json!({
            "error": true,
            "reason": "http_error",
            "data": { "message": message },
        });
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        envelope.to_string().into()
    };
    headers.remove(CONTENT_LENGTH);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}
