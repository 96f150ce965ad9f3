//! The environment every crisp-api tool reads, read one way: the same names, defaults, checks
//! and messages in the library, its examples, `crisp-mcp` and whatever else is built on it.
//!
//! [`Env::read`] reads the process environment; [`Env::from_lookup`] reads through any
//! function (tests give it a map, so they never touch the process environment). Either
//! returns the real Crisp's settings when the token is set, nothing when no variable of the
//! token is set (use a local sandbox), and an [`EnvError`] for anything in between: a program
//! that is half configured must not quietly fall back to the sandbox, nor call Crisp without
//! the website or base URL it was meant to use. Every problem is reported at once, in one
//! sentence that names the variables and what to do; the key never appears in it.
//!
//! ```
//! use std::collections::HashMap;
//! use crisp_api::env::{Env, Website};
//!
//! let vars = HashMap::from([
//!     ("CRISP_IDENTIFIER", "d8a2e3b1-identifier"),
//!     ("CRISP_KEY", "the-key"),
//!     ("CRISP_WEBSITE_ID", "8c842203-7ed8-4e29-a608-7cf78a7d2fcc"),
//! ]);
//! let env = Env::from_lookup(Website::Required, |name| vars.get(name).map(|v| v.to_string()))?;
//! let crisp = env.crisp.expect("the token is set");
//! assert_eq!(crisp.credentials.tier(), crisp_api::Tier::Plugin); // the default tier
//! assert_eq!(crisp.base_url, crisp_api::DEFAULT_BASE_URL);
//!
//! // The key alone: an error that says what is missing, never the sandbox.
//! let error = Env::from_lookup(Website::Required, |name| {
//!     (name == "CRISP_KEY").then(|| "the-key".to_owned())
//! })
//! .unwrap_err();
//! assert!(error.to_string().contains("CRISP_IDENTIFIER and CRISP_WEBSITE_ID are not set"));
//! # Ok::<(), crisp_api::env::EnvError>(())
//! ```
//!
//! The variables, as every program's `--help` shows them ([`HELP`]):
//!
#![doc = concat!("```text\n", include_str!("table.txt"), "```")]

use std::fmt;

use crate::auth::{Credentials, Tier};
use crate::client::{Client, ClientBuilder, DEFAULT_BASE_URL};
use crate::grants::Grants;
use crate::operation::Operation;

/// The token's identifier.
pub const IDENTIFIER: &str = "CRISP_IDENTIFIER";
/// The token's key (a secret).
pub const KEY: &str = "CRISP_KEY";
/// The website to act on.
pub const WEBSITE_ID: &str = "CRISP_WEBSITE_ID";
/// The token's tier: `plugin` (the default), `user` or `website`.
pub const TIER: &str = "CRISP_TIER";
/// The API's base URL ([`DEFAULT_BASE_URL`] when unset).
pub const BASE_URL: &str = "CRISP_BASE_URL";
/// What the agent may do, in [`Grants`]' text form.
pub const GRANTS: &str = "CRISP_GRANTS";

/// Every variable this module reads, in the order of [`HELP`].
pub const VARIABLES: [&str; 6] = [IDENTIFIER, KEY, WEBSITE_ID, TIER, BASE_URL, GRANTS];

/// The table of the variables (names, meanings, defaults and checks) as plain text, for a
/// program's `--help` (clap's `after_help`). The module documentation shows the same text:
/// it is kept in one file, so the two cannot drift.
pub const HELP: &str = include_str!("table.txt");

/// The tier when `CRISP_TIER` is unset: `plugin`, what Marketplace plugin tokens use.
pub const DEFAULT_TIER: Tier = Tier::Plugin;

/// Whether a program needs `CRISP_WEBSITE_ID` with the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Website {
    /// The program acts on one website (the examples, `crisp-mcp`): the token without
    /// `CRISP_WEBSITE_ID` is an error, and [`RealCrisp::website_id`] is always `Some`.
    Required,
    /// The program acts on the websites each call names (a gateway): `CRISP_WEBSITE_ID` may
    /// be left out, and is still checked when set.
    Optional,
}

/// What the environment says.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Env {
    /// The real Crisp, when the token is set; `None` when none of its variables is set (use a
    /// local sandbox).
    pub crisp: Option<RealCrisp>,
    /// `CRISP_GRANTS`, when set.
    pub grants: Option<Grants>,
}

/// The real Crisp: the token, the base URL and the website. `Debug` never shows the key.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RealCrisp {
    /// `CRISP_IDENTIFIER`, `CRISP_KEY` and `CRISP_TIER` (`plugin` when unset).
    pub credentials: Credentials,
    /// `CRISP_BASE_URL` without a trailing `/`, or [`DEFAULT_BASE_URL`].
    pub base_url: String,
    /// `CRISP_WEBSITE_ID`: always `Some` when read with [`Website::Required`].
    pub website_id: Option<String>,
}

impl RealCrisp {
    /// A client builder with these credentials and this base URL: add grants, a budget and
    /// the rest, then build.
    ///
    /// ```
    /// use crisp_api::env::{Env, Website};
    ///
    /// let vars = [("CRISP_IDENTIFIER", "i"), ("CRISP_KEY", "k"), ("CRISP_BASE_URL", "http://127.0.0.1:8080/v1/")];
    /// let lookup = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
    /// let crisp = Env::from_lookup(Website::Optional, lookup)?.crisp.unwrap();
    /// let client = crisp.client_builder().build().unwrap();
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8080/v1");
    /// # Ok::<(), crisp_api::env::EnvError>(())
    /// ```
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder(self.credentials.clone()).base_url(self.base_url.clone())
    }
}

/// What is wrong with the environment, and what to do: one sentence naming the variables.
/// Never holds the key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EnvError {
    variables: Vec<&'static str>,
    message: String,
}

impl EnvError {
    /// The variables the problem is about.
    ///
    /// ```
    /// use crisp_api::env::{Env, Website};
    ///
    /// let error = Env::from_lookup(Website::Required, |name| {
    ///     (name == "CRISP_TIER").then(|| "admin".to_owned())
    /// })
    /// .unwrap_err();
    /// assert!(error.variables().contains(&"CRISP_IDENTIFIER"));
    /// ```
    pub fn variables(&self) -> &[&'static str] {
        &self.variables
    }
}

impl Env {
    /// Reads the process environment. A variable that is not valid UTF-8 is an error.
    ///
    /// # Errors
    ///
    /// As [`Env::from_lookup`].
    pub fn read(website: Website) -> Result<Self, EnvError> {
        let mut values = Vec::with_capacity(VARIABLES.len());
        for name in VARIABLES {
            match std::env::var(name) {
                Ok(value) => values.push((name, value)),
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(EnvError {
                        variables: vec![name],
                        message: format!("{name} is not valid UTF-8: set it again, or unset it"),
                    });
                }
            }
        }
        Self::from_lookup(website, |name| {
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        })
    }

    /// Reads the variables through `lookup` (a variable's value, or `None` when unset).
    ///
    /// # Errors
    ///
    /// Every problem at once, in one sentence: some of the token's variables set and others
    /// not (the website too with [`Website::Required`]); a variable set but empty; a tier that
    /// is not `plugin`, `user` or `website`; a base URL that is not http(s), or that holds a
    /// user name or password; credentials a header cannot carry; grants that do not parse
    /// (an unknown scope, no grants given).
    pub fn from_lookup(
        website: Website,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, EnvError> {
        let mut problems = Problems::default();
        let crisp = real_crisp(website, &lookup, &mut problems);
        let grants = match lookup(GRANTS) {
            None => None,
            Some(text) => match text.parse::<Grants>() {
                Ok(grants) => Some(grants),
                Err(error) => {
                    problems.add(&[GRANTS], format!("{GRANTS}: {error}"));
                    None
                }
            },
        };
        problems.into_result()?;
        Ok(Self { crisp, grants })
    }

    /// The least grants that allow `operations`, for a program that makes exactly these
    /// calls; when `CRISP_GRANTS` is set, it must allow every one of them.
    ///
    /// # Errors
    ///
    /// When `CRISP_GRANTS` does not allow one of `operations`: the error names it and the
    /// grant it needs, so the program stops before its first call rather than part way.
    ///
    /// ```
    /// use crisp_api::env::{Env, Website};
    /// use crisp_api::Operation;
    ///
    /// let env = Env::from_lookup(Website::Required, |name| {
    ///     (name == "CRISP_GRANTS").then(|| "website:conversation:sessions=read".to_owned())
    /// })?;
    /// assert!(env.grants_for(&[&Operation::LIST_CONVERSATIONS]).is_ok());
    /// let error = env.grants_for(&[&Operation::SEND_MESSAGE]).unwrap_err();
    /// assert!(error.to_string().contains("website:conversation:messages=write"));
    /// # Ok::<(), crisp_api::env::EnvError>(())
    /// ```
    pub fn grants_for(&self, operations: &[&Operation]) -> Result<Grants, EnvError> {
        if let Some(granted) = &self.grants {
            let missing: Vec<&Operation> = operations
                .iter()
                .copied()
                .filter(|op| !granted.allows(op))
                .collect();
            if !missing.is_empty() {
                let names: Vec<String> = missing.iter().map(|op| format!("`{}`", op.id)).collect();
                return Err(EnvError {
                    variables: vec![GRANTS],
                    message: format!(
                        "{GRANTS} ({granted}) does not allow {}, which this program calls: add \
                         `{}` to it, or unset {GRANTS}",
                        list(&names),
                        Grants::for_operations(&missing),
                    ),
                });
            }
        }
        Ok(Grants::for_operations(operations))
    }
}

/// The token's variables, checked: `None` when none is set.
fn real_crisp(
    website: Website,
    lookup: &impl Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Option<RealCrisp> {
    let group = [IDENTIFIER, KEY, WEBSITE_ID, TIER, BASE_URL];
    let required: &[&str] = match website {
        Website::Required => &[IDENTIFIER, KEY, WEBSITE_ID],
        Website::Optional => &[IDENTIFIER, KEY],
    };
    let values: Vec<(&'static str, Option<String>)> =
        group.iter().map(|name| (*name, lookup(name))).collect();
    let present: Vec<&str> = values
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(n, _)| *n)
        .collect();
    if present.is_empty() {
        return None;
    }
    let value = |name: &str| {
        values
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.clone())
    };
    let empty: Vec<&str> = values
        .iter()
        .filter(|(_, v)| v.as_deref().is_some_and(|v| v.trim().is_empty()))
        .map(|(n, _)| *n)
        .collect();
    let unset: Vec<&str> = required
        .iter()
        .copied()
        .filter(|name| value(name).is_none())
        .collect();
    if !unset.is_empty() || !empty.is_empty() {
        let mut what = Vec::new();
        if !unset.is_empty() {
            what.push(format!("{} {} not set", list(&unset), are(&unset)));
        }
        if !empty.is_empty() {
            what.push(format!("{} {} empty", list(&empty), are(&empty)));
        }
        let to_fill: Vec<&str> = unset.iter().chain(&empty).copied().collect();
        problems.add(
            &to_fill,
            format!(
                "the Crisp token's settings are incomplete: {}; give {} a value to call the real \
                 Crisp, or unset {} to use the local sandbox",
                what.join(" and "),
                if to_fill.len() == 1 { "it" } else { "them" },
                list(&present),
            ),
        );
        return None;
    }
    let tier = match value(TIER) {
        None => DEFAULT_TIER,
        Some(text) => match text.parse::<Tier>() {
            Ok(tier) => tier,
            Err(_) => {
                problems.add(
                    &[TIER],
                    format!(
                        "{TIER} is `{}`, which is not a tier: use plugin (the default, for \
                         Marketplace plugin tokens), user (user tokens and website tokens) or \
                         website",
                        Shown(&text)
                    ),
                );
                DEFAULT_TIER
            }
        },
    };
    let credentials = Credentials::new(
        tier,
        value(IDENTIFIER).unwrap_or_default(),
        value(KEY).unwrap_or_default(),
    );
    if let Err(problem) = credentials.check() {
        problems.add(
            &[IDENTIFIER, KEY],
            format!(
                "{IDENTIFIER} or {KEY} cannot be used: {problem}; copy them again from the \
                 token's settings"
            ),
        );
    }
    let base_url = match value(BASE_URL) {
        None => DEFAULT_BASE_URL.to_owned(),
        Some(text) => match check_base_url(&text) {
            Ok(url) => url,
            Err(problem) => {
                problems.add(&[BASE_URL], problem);
                String::new()
            }
        },
    };
    Some(RealCrisp {
        credentials,
        base_url,
        website_id: value(WEBSITE_ID).map(|w| w.trim().to_owned()),
    })
}

/// The base URL without surrounding white space and trailing `/`, or why it cannot be used.
/// The text is shown only when it holds no user name or password.
fn check_base_url(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_end_matches('/');
    let example = DEFAULT_BASE_URL;
    let url = match reqwest::Url::parse(trimmed) {
        Ok(url) => url,
        Err(e) if !trimmed.contains('@') => {
            return Err(format!(
                "{BASE_URL} is `{}`, which is not a URL ({e}): give the API's base URL, such as \
                 {example}",
                Shown(trimmed)
            ));
        }
        Err(e) => {
            return Err(format!(
                "{BASE_URL} is not a URL ({e}): give the API's base URL, such as {example}"
            ));
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{BASE_URL} holds a user name or password: give the base URL alone, such as \
             {example}, and the token in {IDENTIFIER} and {KEY}"
        ));
    }
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(format!(
            "{BASE_URL} is `{}`, which is not an http or https URL with a host: give the API's \
             base URL, such as {example}",
            Shown(trimmed)
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{BASE_URL} is `{}`, with a query or fragment: give the base URL alone, such as \
             {example}",
            Shown(trimmed)
        ));
    }
    Ok(trimmed.to_owned())
}

/// The problems found so far; reported together.
#[derive(Default)]
struct Problems {
    variables: Vec<&'static str>,
    messages: Vec<String>,
}

impl Problems {
    fn add(&mut self, variables: &[&'static str], message: String) {
        for name in variables {
            if !self.variables.contains(name) {
                self.variables.push(name);
            }
        }
        self.messages.push(message);
    }

    fn into_result(self) -> Result<(), EnvError> {
        if self.messages.is_empty() {
            return Ok(());
        }
        Err(EnvError {
            variables: self.variables,
            message: self.messages.join("; also, "),
        })
    }
}

/// `A`, `A and B`, `A, B and C`.
fn list<T: AsRef<str>>(items: &[T]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// `is` or `are`.
fn are<T>(items: &[T]) -> &'static str {
    if items.len() == 1 { "is" } else { "are" }
}

/// A value as shown in a message: trimmed, control characters escaped, at most 80 characters.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.trim();
        for (i, c) in text.chars().enumerate() {
            if i == 80 {
                return f.write_str("…");
            }
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

// Here rather than in `auth`, so that `env` reads `auth` and never the reverse.
impl Credentials {
    /// Credentials from the environment: `CRISP_IDENTIFIER`, `CRISP_KEY` and `CRISP_TIER`
    /// (`plugin` when unset), read and checked as [`Env::read`] reads them, with
    /// `CRISP_WEBSITE_ID` optional. `Ok(None)` only when none of the token's variables is set.
    ///
    /// # Errors
    ///
    /// As [`Env::from_lookup`]: the identifier without the key (or the reverse), an empty
    /// value, an unknown tier, a bad `CRISP_BASE_URL` or `CRISP_GRANTS`.
    #[deprecated(
        note = "use crisp_api::env::Env::read: it gives the base URL (CRISP_BASE_URL) and the \
                website (CRISP_WEBSITE_ID) with the credentials, so a program cannot ignore them"
    )]
    pub fn from_env() -> Result<Option<Self>, EnvError> {
        Ok(Env::read(Website::Optional)?
            .crisp
            .map(|crisp| crisp.credentials))
    }
}

#[cfg(test)]
mod tests;
