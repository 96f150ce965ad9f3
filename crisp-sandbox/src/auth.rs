//! Who is calling: a token from HTTP Basic auth and `X-Crisp-Tier`, as Crisp reads them, and
//! each token's daily quota.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use base64::Engine;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::config::Token;
use crate::envelope::ApiError;

const DAY_MS: i64 = 86_400_000;

/// The token of a request, from its Basic auth and `X-Crisp-Tier` headers. `find` looks a token
/// up by identifier and key.
pub(crate) fn authenticate(
    headers: &HeaderMap,
    find: impl FnOnce(&str, &str) -> Option<Token>,
) -> Result<Token, ApiError> {
    let auth = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::invalid_session(
            "no Authorization header: send HTTP Basic auth from the token identifier and key",
        )
    })?;
    let encoded = auth
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
        })
        .ok_or_else(|| {
            ApiError::invalid_session("the Authorization header is not HTTP Basic auth")
        })?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::invalid_session(
                "the Basic auth credentials are not base64 of `identifier:key`",
            )
        })?;
    let (identifier, key) = decoded.split_once(':').ok_or_else(|| {
        ApiError::invalid_session("the Basic auth credentials are not `identifier:key`")
    })?;
    let token = find(identifier, key)
        .ok_or_else(|| ApiError::invalid_session("the token identifier or key is wrong"))?;
    let tier = headers
        .get(crisp_api::TIER_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::invalid_session(format!(
                "no X-Crisp-Tier header: this token needs `X-Crisp-Tier: {}`",
                token.tier
            ))
        })?;
    if !tier.trim().eq_ignore_ascii_case(token.tier.as_str()) {
        return Err(ApiError::invalid_session(format!(
            "X-Crisp-Tier is `{}`, but this token's tier is `{}`",
            tier.trim(),
            token.tier
        )));
    }
    Ok(token)
}

/// A secret's SHA-256: what is kept of a secret that is only ever compared.
pub(crate) fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares two secrets in time that depends on neither their contents nor their lengths.
pub(crate) fn same(a: &str, b: &str) -> bool {
    digest(a).ct_eq(&digest(b)).into()
}

/// Whether the request carries `Authorization: Bearer <token>` for the token of this digest.
pub(crate) fn bearer_matches(headers: &HeaderMap, expected: &[u8; 32]) -> bool {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        // The scheme is case-insensitive (RFC 9110).
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, token)| digest(token.trim()).ct_eq(expected).into())
}

/// Requests made today per token identifier.
#[derive(Debug, Default)]
pub(crate) struct Quota {
    /// Identifier to (day since the epoch, requests that day).
    usage: HashMap<String, (i64, u64)>,
}

impl Quota {
    /// Counts one request of `token` at `now` (Unix milliseconds), or refuses it with 429
    /// `rate_limited` when its daily quota is spent.
    pub fn spend(&mut self, token: &Token, now: i64) -> Result<(), ApiError> {
        let day = now.div_euclid(DAY_MS);
        let entry = self
            .usage
            .entry(token.identifier.clone())
            .or_insert((day, 0));
        if entry.0 != day {
            *entry = (day, 0);
        }
        if let Some(quota) = token.daily_quota
            && entry.1 >= quota
        {
            let next_day_ms = (day + 1) * DAY_MS - now;
            let retry_after = u64::try_from(next_day_ms.div_euclid(1000) + 1).unwrap_or(1);
            return Err(ApiError::rate_limited(
                format!(
                    "the token's daily quota of {quota} requests is spent; it resets at midnight UTC"
                ),
                retry_after,
            ));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Forgets today's usage of every token.
    pub fn clear(&mut self) {
        self.usage.clear();
    }
}
