//! Who is calling: an agent, from the `Authorization` header.
//!
//! - REST (`/v1`, as Crisp): `Authorization: Basic base64(name:key)`, the agent's name as the
//!   identifier and its key as the key. The tier header is not read.
//! - MCP: `Authorization: Bearer key`.
//!
//! The policy stores `sha256(key)` only ([`KeyHash`]); a presented key is hashed and compared
//! in constant time with every agent's hash (no early exit, so how long it takes does not say
//! which agent, or whether a name exists). Keys are case-sensitive: a key is compared exactly as
//! sent. An unknown agent and a wrong key get the same answer, so that agents' names cannot be
//! probed. A key in the query string is never read, and a request that carries one is refused
//! ([`refuse_key_in_query`]): it would leak into logs.
//!
//! Nothing in here panics on what a client sends, and no error holds what was presented.

use base64::Engine as _;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};

use crate::policy::{Agent, Policy};
use crate::refusal::Refusal;

pub use crate::policy::{AgentKey, KeyFormat, KeyHash};

/// Credentials read from an `Authorization` header. The key's `Debug` is redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `Basic base64(name:key)`.
    Basic {
        /// The agent's name, as sent.
        name: String,
        /// The key, as sent.
        key: AgentKey,
    },
    /// `Bearer key`.
    Bearer {
        /// The key, as sent.
        key: AgentKey,
    },
}

impl Credentials {
    /// The key presented.
    pub fn key(&self) -> &AgentKey {
        match self {
            Self::Basic { key, .. } | Self::Bearer { key } => key,
        }
    }
}

/// Standard base64, with or without its `=` padding (clients differ).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

const HOW: &str = "send `Authorization: Basic` with the base64 of `agent-name:key` (Crisp's REST \
                   API at /v1), or `Authorization: Bearer key` (MCP)";

/// Reads an `Authorization` header's value (its raw bytes: a header need not be UTF-8). The
/// scheme is matched in any case (`basic`, `BEARER`), as HTTP says.
///
/// ```
/// use crisp_gateway::identity::{Credentials, parse_authorization};
///
/// let basic = parse_authorization(b"Basic dHJpYWdlOnMzY3JldA==")?; // triage:s3cret
/// assert!(matches!(&basic, Credentials::Basic { name, .. } if name == "triage"));
/// assert_eq!(basic.key().expose(), "s3cret");
/// assert!(parse_authorization(b"Basic not base64!").is_err());
/// # Ok::<(), crisp_gateway::refusal::Refusal>(())
/// ```
///
/// # Errors
///
/// A 401 [`Refusal`] (rule `auth`) saying what is malformed: not text, a scheme other than
/// Basic or Bearer, Basic credentials that are not base64, not UTF-8, without a `:`, or with an
/// empty name or key, or an empty Bearer token. The message never repeats what was sent.
pub fn parse_authorization(value: &[u8]) -> Result<Credentials, Refusal> {
    let text = std::str::from_utf8(value)
        .map_err(|_| Refusal::auth(format!("the Authorization header is not text: {HOW}")))?;
    let text = text.trim();
    let (scheme, rest) = text.split_once([' ', '\t']).unwrap_or((text, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        parse_basic(rest)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(Refusal::auth(format!(
                "the Bearer token is empty or holds spaces: {HOW}"
            )));
        }
        Ok(Credentials::Bearer {
            key: AgentKey::new(rest),
        })
    } else {
        // The "scheme" is not repeated: a client that sent its bare key would see it echoed.
        Err(Refusal::auth(format!(
            "the Authorization header's scheme is neither Basic nor Bearer: {HOW}"
        )))
    }
}

fn parse_basic(encoded: &str) -> Result<Credentials, Refusal> {
    let decoded = BASE64
        .decode(encoded)
        .map_err(|_| Refusal::auth(format!("the Basic credentials are not base64: {HOW}")))?;
    let decoded = String::from_utf8(decoded).map_err(|_| {
        Refusal::auth(format!(
            "the Basic credentials, once decoded, are not UTF-8 text: {HOW}"
        ))
    })?;
    let Some((name, key)) = decoded.split_once(':') else {
        return Err(Refusal::auth(format!(
            "the Basic credentials hold no `:` between the agent's name and its key: {HOW}"
        )));
    };
    if name.is_empty() || key.is_empty() {
        return Err(Refusal::auth(format!(
            "the Basic credentials have an empty agent name or key: {HOW}"
        )));
    }
    Ok(Credentials::Basic {
        name: name.to_owned(),
        key: AgentKey::new(key),
    })
}

/// The agent that the `Authorization` header (its raw value, if the request has one) names.
///
/// ```
/// use crisp_gateway::identity::authenticate;
/// use crisp_gateway::policy::Policy;
///
/// let policy = Policy::parse(r#"
/// [[agents]]
/// name = "triage"
/// key_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" # sha256("test")
/// grants = "website:visitors=read"
/// websites = ["*"]
/// "#, "gateway.toml").unwrap();
/// assert_eq!(authenticate(&policy, Some(b"Bearer test")).unwrap().name, "triage");
/// assert_eq!(authenticate(&policy, Some(b"Bearer TEST")).unwrap_err().status, 401);
/// assert_eq!(authenticate(&policy, None).unwrap_err().status, 401);
/// ```
///
/// # Errors
///
/// A 401 [`Refusal`]: no header, a malformed one ([`parse_authorization`]), or credentials
/// that match no agent (the same answer for an unknown name and a wrong key).
pub fn authenticate<'p>(policy: &'p Policy, header: Option<&[u8]>) -> Result<&'p Agent, Refusal> {
    agent_index(policy, header).map(|index| &policy.agents()[index])
}

/// The index in `policy.agents()` of the agent the header names: [`authenticate`]'s check,
/// for a caller that keeps the policy and the index together (the gateway's `Caller`).
///
/// # Errors
///
/// As [`authenticate`].
pub(crate) fn agent_index(policy: &Policy, header: Option<&[u8]>) -> Result<usize, Refusal> {
    let Some(header) = header else {
        return Err(Refusal::auth(format!("no credentials: {HOW}")));
    };
    let credentials = parse_authorization(header)?;
    let presented = credentials.key().hash();
    let name = match &credentials {
        Credentials::Basic { name, .. } => Some(name.as_str()),
        Credentials::Bearer { .. } => None,
    };
    // Every agent's hash is compared, in constant time, whatever matched before.
    let mut found = None;
    for (index, agent) in policy.agents().iter().enumerate() {
        let key_matches = agent.key_sha256 == presented;
        let name_matches = name.is_none_or(|name| name == agent.name);
        if key_matches && name_matches && found.is_none() {
            found = Some(index);
        }
    }
    found.ok_or_else(|| {
        Refusal::auth(
            "unknown agent or wrong key: check the agent's name and key (keys are \
             case-sensitive); the gateway's operator can make a new key with \
             `crisp-gateway agents add`",
        )
    })
}

/// Refuses a request whose query string carries a credential: a parameter named
/// `access_token`, or any value that is one of the policy's agents' keys. A key in a URL ends up
/// in logs and browser histories; the key is not used, and should be replaced.
///
/// ```
/// use crisp_gateway::identity::refuse_key_in_query;
/// use crisp_gateway::policy::Policy;
///
/// let policy = Policy::parse(r#"
/// [[agents]]
/// name = "triage"
/// key_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" # sha256("test")
/// grants = "website:visitors=read"
/// websites = ["*"]
/// "#, "gateway.toml").unwrap();
/// let query = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
/// assert!(refuse_key_in_query(&policy, &query("filter_unread", "1")).is_ok());
/// assert_eq!(refuse_key_in_query(&policy, &query("q", "test")).unwrap_err().status, 400);
/// ```
///
/// # Errors
///
/// A 400 [`Refusal`] (rule `request`) that names the parameter, never its value.
pub fn refuse_key_in_query(policy: &Policy, query: &[(String, String)]) -> Result<(), Refusal> {
    for (name, value) in query {
        // Each value is hashed once, then compared with every agent's hash in constant time.
        let is_key = name.eq_ignore_ascii_case("access_token") || {
            let hash = KeyHash::of(value.as_bytes());
            policy
                .agents()
                .iter()
                .fold(false, |found, agent| found | (agent.key_sha256 == hash))
        };
        if is_key {
            return Err(Refusal::request(format!(
                "the query parameter `{}` carries a credential: keys go only in the \
                 Authorization header (a URL ends up in logs), so this key should be replaced",
                name.escape_debug()
            )));
        }
    }
    Ok(())
}

/// The [key id](KeyHash::key_id) of the key an `Authorization` header presents, if it presents
/// one: for the audit row of a request whose credentials were refused (an unknown or revoked
/// key is then recognisable, and the key itself is never written).
///
/// ```
/// use crisp_gateway::identity::presented_key_id;
///
/// assert_eq!(presented_key_id(Some(b"Bearer test")).as_deref(), Some("9f86d081"));
/// assert_eq!(presented_key_id(Some(b"Basic !!!")), None);
/// assert_eq!(presented_key_id(None), None);
/// ```
pub fn presented_key_id(header: Option<&[u8]>) -> Option<String> {
    let credentials = parse_authorization(header?).ok()?;
    Some(credentials.key().hash().key_id())
}
