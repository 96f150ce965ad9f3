//! What a sandbox can be told: the tokens it accepts, and the faults it injects.

use std::fmt;
use std::str::FromStr;

use crisp_api::types::SecretString;
use crisp_api::{Grants, Tier};
use serde::{Deserialize, Serialize};

/// A token the sandbox accepts: HTTP Basic auth with its identifier and key, and an
/// `X-Crisp-Tier` header naming its tier.
///
/// A token with grants is refused, with 403 `not_allowed`, every operation they do not
/// allow; without grants (the default) it may call every operation, as a website token can.
/// A daily quota answers 429 `rate_limited` once that many requests were made since midnight
/// UTC. The key never appears in `Debug`.
///
/// ```
/// use crisp_api::Grants;
/// use crisp_sandbox::Token;
///
/// let token = Token::plugin("my-agent", "secret-key")
///     .with_grants("website:conversation:sessions=read".parse::<Grants>()?)
///     .with_daily_quota(Some(100));
/// assert!(!format!("{token:?}").contains("secret-key"));
/// # Ok::<(), crisp_api::GrantsError>(())
/// ```
#[derive(Clone)]
pub struct Token {
    pub(crate) identifier: String,
    pub(crate) key: SecretString,
    pub(crate) tier: Tier,
    pub(crate) grants: Option<Grants>,
    pub(crate) daily_quota: Option<u64>,
}

/// Crisp's default daily quota of a plugin token.
pub const PLUGIN_DAILY_QUOTA: u64 = 5_000;
/// Crisp's default daily quota of a website or user token.
pub const WEBSITE_DAILY_QUOTA: u64 = 10_000;

impl Token {
    /// A token of `tier`, with no grants (every operation) and Crisp's default quota for the
    /// tier.
    pub fn new(tier: Tier, identifier: impl Into<String>, key: impl Into<String>) -> Self {
        let quota = if tier == Tier::Plugin {
            PLUGIN_DAILY_QUOTA
        } else {
            WEBSITE_DAILY_QUOTA
        };
        Self {
            identifier: identifier.into(),
            key: SecretString::from(key.into()),
            tier,
            grants: None,
            daily_quota: Some(quota),
        }
    }

    /// A plugin token (tier `plugin`, quota 5,000 a day).
    pub fn plugin(identifier: impl Into<String>, key: impl Into<String>) -> Self {
        Self::new(Tier::Plugin, identifier, key)
    }

    /// Limits the token to these grants.
    #[must_use]
    pub fn with_grants(mut self, grants: Grants) -> Self {
        self.grants = Some(grants);
        self
    }

    /// Sets the daily quota; `None` for no limit.
    #[must_use]
    pub fn with_daily_quota(mut self, quota: Option<u64>) -> Self {
        self.daily_quota = quota;
        self
    }

    /// The token identifier (the Basic auth user name).
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The token key (the Basic auth password). Don't log it.
    pub fn key(&self) -> &str {
        self.key.expose_secret()
    }

    /// The tier the `X-Crisp-Tier` header must name.
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// The grants, if the token is limited to some.
    pub fn grants(&self) -> Option<&Grants> {
        self.grants.as_ref()
    }

    /// The daily quota, if any.
    pub fn daily_quota(&self) -> Option<u64> {
        self.daily_quota
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("identifier", &self.identifier)
            .field("key", &"[redacted]")
            .field("tier", &self.tier)
            .field("grants", &self.grants.as_ref().map(ToString::to_string))
            .field("daily_quota", &self.daily_quota)
            .finish()
    }
}

/// Faults to inject into `/v1` requests, to test how a client copes. Each share is a
/// probability from 0 to 1; a seeded generator decides, so the same sequence of requests meets
/// the same faults run after run.
///
/// As JSON (the body of `PUT /_sandbox/faults`), every field is optional:
/// `{"rate_limited": 0.1, "retry_after_secs": 2, "bad_gateway": 0.05, "drop": 0.02,
/// "delay": 0.2, "delay_ms": 300, "seed": 7}`.
///
/// ```
/// use crisp_sandbox::{Faults, Sandbox};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // One request in ten answered 429 with `Retry-After: 1`, one in twenty a 502 HTML page.
/// let faults: Faults = r#"{"rate_limited": 0.1, "retry_after_secs": 1, "bad_gateway": 0.05, "seed": 7}"#
///     .parse()?;
/// let sandbox = Sandbox::builder().faults(faults).start().await?;
/// // ... point the client under test at `sandbox.base_url()` ...
/// sandbox.set_faults(None)?; // and back to a healthy server
/// sandbox.shutdown().await;
/// # Ok(())
/// # }
/// ```
///
/// A share outside 0 to 1 is refused, naming the field: by [`Faults::check`], when parsed, by
/// [`SandboxBuilder::start`](crate::SandboxBuilder::start),
/// [`Sandbox::set_faults`](crate::Sandbox::set_faults) and `PUT /_sandbox/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FaultsFields")]
pub struct Faults {
    /// Share of requests answered 429 `rate_limited` with a `Retry-After` header.
    pub rate_limited: f64,
    /// The `Retry-After` of those answers, in seconds.
    pub retry_after_secs: u64,
    /// Share of requests answered 502 with an HTML page, as an edge proxy does.
    pub bad_gateway: f64,
    /// Share of requests whose connection is dropped without an answer.
    pub drop: f64,
    /// Share of requests delayed by `delay_ms` before they are handled.
    pub delay: f64,
    /// The delay, in milliseconds.
    pub delay_ms: u64,
    /// The seed of the generator that picks the requests.
    pub seed: u64,
}

/// The JSON form of [`Faults`], before its shares are checked.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FaultsFields {
    rate_limited: f64,
    retry_after_secs: u64,
    bad_gateway: f64,
    drop: f64,
    delay: f64,
    delay_ms: u64,
    seed: u64,
}

impl Default for FaultsFields {
    fn default() -> Self {
        let Faults {
            rate_limited,
            retry_after_secs,
            bad_gateway,
            drop,
            delay,
            delay_ms,
            seed,
        } = Faults::default();
        Self {
            rate_limited,
            retry_after_secs,
            bad_gateway,
            drop,
            delay,
            delay_ms,
            seed,
        }
    }
}

impl TryFrom<FaultsFields> for Faults {
    type Error = FaultsError;

    fn try_from(fields: FaultsFields) -> Result<Self, FaultsError> {
        let faults = Faults {
            rate_limited: fields.rate_limited,
            retry_after_secs: fields.retry_after_secs,
            bad_gateway: fields.bad_gateway,
            drop: fields.drop,
            delay: fields.delay,
            delay_ms: fields.delay_ms,
            seed: fields.seed,
        };
        faults.check()?;
        Ok(faults)
    }
}

impl Faults {
    /// Whether every share is a probability, from 0 to 1.
    ///
    /// # Errors
    ///
    /// The first share that is not, by its field name.
    pub fn check(&self) -> Result<(), FaultsError> {
        let shares = [
            ("rate_limited", self.rate_limited),
            ("bad_gateway", self.bad_gateway),
            ("drop", self.drop),
            ("delay", self.delay),
        ];
        match shares
            .into_iter()
            .find(|(_, value)| !(0.0..=1.0).contains(value))
        {
            Some((field, value)) => Err(FaultsError { field, value }),
            None => Ok(()),
        }
    }
}

/// A share of [`Faults`] outside 0 to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultsError {
    field: &'static str,
    value: f64,
}

impl FaultsError {
    /// The field, such as `rate_limited`.
    pub fn field(&self) -> &'static str {
        self.field
    }
}

impl fmt::Display for FaultsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "faults: `{}` is {}, but a share of requests is from 0 to 1",
            self.field, self.value
        )
    }
}

impl std::error::Error for FaultsError {}

/// A fault picked for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    RateLimited { retry_after: u64 },
    BadGateway,
    Drop,
}

/// The faults in force and their generator.
pub(crate) struct FaultState {
    faults: Faults,
    rng: fastrand::Rng,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(faults.seed),
            faults,
        }
    }

    /// Draws the fate of the next request: a delay, then perhaps a fault.
    pub fn draw(&mut self) -> (Option<u64>, Option<Fault>) {
        let f = &self.faults;
        let delay = (self.rng.f64() < f.delay).then_some(f.delay_ms);
        let roll = self.rng.f64();
        let fault = if roll < f.rate_limited {
            Some(Fault::RateLimited {
                retry_after: f.retry_after_secs,
            })
        } else if roll < f.rate_limited + f.bad_gateway {
            Some(Fault::BadGateway)
        } else if roll < f.rate_limited + f.bad_gateway + f.drop {
            Some(Fault::Drop)
        } else {
            None
        };
        (delay, fault)
    }
}

impl FromStr for Faults {
    type Err = serde_json::Error;

    /// Reads faults from their JSON form.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_picks_the_same_requests() {
        let faults = Faults {
            rate_limited: 0.2,
            bad_gateway: 0.2,
            drop: 0.1,
            delay: 0.3,
            delay_ms: 5,
            seed: 42,
            ..Faults::default()
        };
        let run = || {
            let mut state = FaultState::new(faults.clone());
            (0..200).map(|_| state.draw()).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let limited = first
            .iter()
            .filter(|(_, f)| matches!(f, Some(Fault::RateLimited { .. })))
            .count();
        assert!((20..=60).contains(&limited), "{limited} of 200");
        assert!(first.iter().any(|(_, f)| *f == Some(Fault::Drop)));
        assert!(first.iter().any(|(d, _)| d.is_some()));
        assert!(first.iter().any(|(_, f)| f.is_none()));
    }

    #[test]
    fn a_share_outside_0_to_1_is_refused_by_name() {
        for (text, field) in [
            (r#"{"rate_limited": 1.5}"#, "rate_limited"),
            (r#"{"bad_gateway": -0.1}"#, "bad_gateway"),
            (r#"{"drop": 2}"#, "drop"),
            (
                r#"{"delay": 0.5, "delay_ms": 10, "rate_limited": 1e9}"#,
                "rate_limited",
            ),
        ] {
            let error = text.parse::<Faults>().unwrap_err().to_string();
            assert!(
                error.contains(&format!("`{field}`")) && error.contains("from 0 to 1"),
                "{text}: {error}"
            );
        }
        let nan = Faults {
            delay: f64::NAN,
            ..Faults::default()
        };
        assert_eq!(nan.check().unwrap_err().field(), "delay");
        let edges: Faults = r#"{"rate_limited": 0, "drop": 1}"#.parse().unwrap();
        assert_eq!(edges.check(), Ok(()));
    }

    #[test]
    fn no_faults_by_default() {
        let mut state = FaultState::new(Faults::default());
        assert!((0..100).all(|_| state.draw() == (None, None)));
    }
}
