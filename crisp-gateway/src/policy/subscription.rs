//! An agent's webhook subscription: which of Crisp's events it wants, and where the gateway
//! posts them. Read from the agent's `events` and `webhook_url`, checked here.
//!
//! ```toml
//! [[agents]]
//! # ...
//! events = ["message:send", "session:set_state"]   # names from the spec's webhooks
//! webhook_url = "https://agent.example.com/crisp"  # http only on loopback
//! ```

use std::net::IpAddr;

use crisp_api::webhook::Event;
use toml::Spanned;

use super::error::{PolicyError, Source};
use super::raw::SpannedList;

/// Where an agent receives the events it subscribes to, and which.
///
/// Its signing secret is not here (the policy holds no secret): the gateway derives it from
/// its master secret and the agent's name (see [`webhooks`](crate::webhooks)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The URL the gateway posts to: `https://...`, or `http://` on a loopback host.
    pub url: String,
    /// The events, by Crisp's names (each one of [`Event::NAMES`]), in file order, once each.
    pub events: Vec<String>,
}

impl Subscription {
    /// Whether it subscribes to the event named `event`.
    ///
    /// ```
    /// use crisp_gateway::policy::Subscription;
    ///
    /// let subscription = Subscription {
    ///     url: "https://agent.example.com/crisp".into(),
    ///     events: vec!["message:send".into()],
    /// };
    /// assert!(subscription.wants("message:send"));
    /// assert!(!subscription.wants("session:removed"));
    /// ```
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

/// The subscription of the agent at `at` (`agents[2]`), from its `events` and `webhook_url`:
/// both or neither.
pub(super) fn subscription(
    source: &Source<'_>,
    at: &str,
    events: Option<SpannedList>,
    url: Option<Spanned<String>>,
) -> Result<Option<Subscription>, PolicyError> {
    match (events, url) {
        (None, None) => Ok(None),
        (Some(events), None) => Err(source.error(
            &events.span(),
            format!("{at}.events"),
            "events need a webhook_url to be posted to: add webhook_url = \"https://...\" to \
             this agent, or remove its events",
        )),
        (None, Some(url)) => Err(source.error(
            &url.span(),
            format!("{at}.webhook_url"),
            format!(
                "a webhook_url needs the events to post to it: add events = [...] to this agent \
                 (from: {}), or remove its webhook_url",
                Event::NAMES.join(", ")
            ),
        )),
        (Some(events), Some(url)) => Ok(Some(Subscription {
            url: webhook_url(source, &format!("{at}.webhook_url"), &url)?,
            events: event_names(source, &format!("{at}.events"), events)?,
        })),
    }
}

/// The events' names: not empty, each one the spec knows, none twice.
fn event_names(
    source: &Source<'_>,
    field: &str,
    list: SpannedList,
) -> Result<Vec<String>, PolicyError> {
    let span = list.span();
    let items = list.into_inner();
    if items.is_empty() {
        return Err(source.error(
            &span,
            field,
            format!(
                "the list is empty: name the events this agent wants (from: {}), or remove \
                 events and webhook_url",
                Event::NAMES.join(", ")
            ),
        ));
    }
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let item_span = item.span();
        let name = item.into_inner();
        let at = format!("{field}[{index}]");
        if !Event::NAMES.contains(&name.as_str()) {
            let nearest = Event::NAMES
                .iter()
                .map(|known| (strsim::levenshtein(known, &name), *known))
                .min()
                .filter(|(distance, _)| *distance <= 3)
                .map(|(_, known)| format!(" (did you mean `{known}`?)"))
                .unwrap_or_default();
            return Err(source.error(
                &item_span,
                at,
                format!(
                    "`{}` is not one of Crisp's webhook events{nearest}: use one of {}",
                    name.escape_debug(),
                    Event::NAMES.join(", ")
                ),
            ));
        }
        if names.contains(&name) {
            return Err(source.error(
                &item_span,
                at,
                format!("`{name}` is listed twice: list each event once"),
            ));
        }
        names.push(name);
    }
    Ok(names)
}

/// The URL, if the gateway may post to it: https, or http on loopback; no credentials in it
/// (what the gateway sends is signed instead), no fragment.
fn webhook_url(
    source: &Source<'_>,
    field: &str,
    raw: &Spanned<String>,
) -> Result<String, PolicyError> {
    let refuse = |message: String| source.error(&raw.span(), field, message);
    let text = raw.get_ref();
    let url = url::Url::parse(text).map_err(|e| {
        refuse(format!(
            "`{}` is not a URL ({e}): give the agent's endpoint, such as \
             \"https://agent.example.com/crisp\"",
            text.escape_debug()
        ))
    })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(refuse(
                "http is allowed only on loopback (127.0.0.1, [::1], localhost): events carry \
                 customers' messages, so use https:// for any other host"
                    .to_owned(),
            ));
        }
        other => {
            return Err(refuse(format!(
                "the scheme `{other}` is not one the gateway posts to: use https:// (or http:// \
                 on loopback)"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(
            "the URL holds credentials: remove them (the gateway signs every event it sends, \
             and the agent checks the signature with its webhook secret)"
                .to_owned(),
        ));
    }
    if url.fragment().is_some() {
        return Err(refuse(
            "the URL has a #fragment, which is never sent: remove it".to_owned(),
        ));
    }
    Ok(text.clone())
}
