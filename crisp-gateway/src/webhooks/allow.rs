//! Whether an agent may see an event: the same rules as for a call that reads what the event
//! is about. Pure, like [`decide`](mod@crate::decide): the conversation's facts, when the agent's
//! rules need them, are fetched by the caller and handed in.
//!
//! In order (the first that fails refuses):
//! 1. **website**: the event's website is one of the agent's (`["*"]`: any; an event that names
//!    no website goes only to an agent with `["*"]`);
//! 2. **grants**: every scope the event is about ([`scopes`]), at `read` level;
//! 3. **resource rules**, for an event about a conversation (its data has a `session_id`) and an
//!    agent with `inboxes` or `assigned_to`: the conversation's inbox and assignee, as for a
//!    call on it ([`decide::check_conversation`]). Other events are not conversation-scoped.

use crisp_api::{Access, Operation};

use super::event::EventFacts;
use crate::decide::{self, ConversationFacts};
use crate::policy::{Agent, Websites};
use crate::refusal::Rule;

/// Why an agent does not get an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    /// The rule that refused: `website`, `grants`, `inbox`, `assignee`, `budget`, `quota`.
    pub rule: Rule,
    /// What it says, naming the agent and the event.
    pub message: String,
}

/// What [`check`] allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The agent gets the event.
    Allowed,
    /// The agent gets it if the conversation's facts pass its rules ([`check_conversation`]):
    /// read them first.
    NeedsConversation {
        /// The conversation's website.
        website_id: String,
        /// Its session id.
        session_id: String,
    },
}

/// The scopes an agent needs, at `read` level, to see the event named `event`: those of the
/// operations that fire it (the operations table's `webhook`). An event no operation fires
/// (`message:send`: a visitor writes in Crisp's chat) takes those of its family, the events
/// whose name has the same part before the last `:` (`message:received`, `message:updated`:
/// `website:conversation:messages`). Empty for an event the spec does not know.
///
/// ```
/// use crisp_gateway::webhooks::scopes;
///
/// assert_eq!(scopes("message:send"), ["website:conversation:messages"]);
/// assert_eq!(scopes("session:set_state"), ["website:conversation:states"]);
/// assert!(scopes("brand:new").is_empty());
/// ```
pub fn scopes(event: &str) -> Vec<&'static str> {
    let fired = |matches: &dyn Fn(&str) -> bool| -> Vec<&'static str> {
        let mut scopes: Vec<&'static str> = Operation::ALL
            .iter()
            .filter(|op| op.webhook.is_some_and(matches))
            .map(|op| op.scope)
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    };
    let own = fired(&|fired| fired == event);
    if !own.is_empty() {
        return own;
    }
    match event.rsplit_once(':') {
        Some((family, _)) => {
            fired(&|fired| fired.rsplit_once(':').is_some_and(|(f, _)| f == family))
        }
        None => Vec::new(),
    }
}

/// Whether `agent` may see the event `facts` describes (see the [module docs](self) for the
/// order). Its subscription is the caller's to check.
///
/// # Errors
/// [`Denied`] by the first rule that does not allow it.
pub fn check(agent: &Agent, facts: &EventFacts) -> Result<Verdict, Denied> {
    let deny = |rule: Rule, why: String| Denied {
        rule,
        message: format!(
            "agent `{}` does not get `{}`: {why}",
            agent.name, facts.name
        ),
    };
    match (&agent.websites, facts.website_id.as_deref()) {
        (Websites::Any, _) => {}
        (websites, Some(id)) if websites.allows(id) => {}
        (Websites::Only(ids), Some(id)) => {
            return Err(deny(
                Rule::Website,
                format!(
                    "website `{id}` is not one of its websites ({})",
                    ids.join(", ")
                ),
            ));
        }
        (Websites::Only(_), None) => {
            return Err(deny(
                Rule::Website,
                "the event names no website, and only an agent with websites = [\"*\"] gets \
                 it"
                .to_owned(),
            ));
        }
    }
    let needed = scopes(&facts.name);
    if needed.is_empty() {
        return Err(deny(
            Rule::Grants,
            "no operation of the spec tells which scope it is about".to_owned(),
        ));
    }
    for scope in needed {
        if !agent
            .grants
            .level(scope)
            .is_some_and(|level| level.allows(Access::Read))
        {
            return Err(deny(
                Rule::Grants,
                format!("it needs scope `{scope}` at `read` level to see what the event is about"),
            ));
        }
    }
    match (&facts.session_id, &facts.website_id) {
        (Some(session), Some(website)) if agent.has_conversation_rules() => {
            Ok(Verdict::NeedsConversation {
                website_id: website.clone(),
                session_id: session.clone(),
            })
        }
        // A conversation that cannot be read (no website to read it on) cannot be checked.
        (Some(_), None) if agent.has_conversation_rules() => Err(deny(
            if agent.inboxes.is_some() {
                Rule::Inbox
            } else {
                Rule::Assignee
            },
            "the event names no website, so its conversation cannot be read to check the \
             agent's inbox and assignee rules"
                .to_owned(),
        )),
        _ => Ok(Verdict::Allowed),
    }
}

/// Whether the conversation `facts` describe passes `agent`'s inbox and assignee rules, as
/// for a call on it; `None`: it could not be read (removed, or Crisp refused), so it cannot be
/// checked and the agent does not get the event.
///
/// # Errors
/// [`Denied`] by the `inbox` or `assignee` rule.
pub fn check_conversation(
    agent: &Agent,
    event: &str,
    facts: Option<&ConversationFacts>,
) -> Result<(), Denied> {
    let rule = || {
        if agent.inboxes.is_some() {
            Rule::Inbox
        } else {
            Rule::Assignee
        }
    };
    let Some(facts) = facts else {
        return Err(Denied {
            rule: rule(),
            message: format!(
                "agent `{}` does not get `{event}`: the conversation could not be read to check \
                 its inbox and assignee",
                agent.name
            ),
        });
    };
    decide::check_conversation(agent, &Operation::GET_CONVERSATION, facts).map_err(|refusal| {
        let is = match refusal.rule {
            Rule::Inbox => facts.inbox_id.as_deref().map_or_else(
                || "the conversation is in no inbox".to_owned(),
                |inbox| format!("the conversation is in inbox `{inbox}`"),
            ),
            _ => facts.assigned.as_deref().map_or_else(
                || "the conversation is assigned to no operator".to_owned(),
                |user| format!("the conversation is assigned to `{user}`"),
            ),
        };
        Denied {
            rule: refusal.rule,
            message: format!(
                "agent `{}` does not get `{event}`: {is}, outside its `{}` rule",
                agent.name,
                refusal.rule.as_str()
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::KeyHash;

    fn agent(grants: &str, websites: Websites) -> Agent {
        Agent::new("a", KeyHash::of(b"k"), grants.parse().unwrap(), websites)
    }

    fn event(name: &str, website: Option<&str>, session: Option<&str>) -> EventFacts {
        EventFacts {
            name: name.to_owned(),
            website_id: website.map(str::to_owned),
            session_id: session.map(str::to_owned),
            key: "k".repeat(64),
        }
    }

    #[test]
    fn every_event_of_the_spec_is_about_some_scope() {
        for name in crisp_api::webhook::Event::NAMES {
            assert!(!scopes(name).is_empty(), "{name}");
        }
        assert_eq!(
            scopes("people:profile:updated"),
            ["website:people:profiles"]
        );
        assert_eq!(
            scopes("session:request:initiated"),
            ["website:conversation:sessions"]
        );
        assert_eq!(
            scopes("campaign:dispatched"),
            ["website:campaign:templates"]
        );
    }

    #[test]
    fn a_message_event_needs_the_messages_scope_at_read_level() {
        let message = event("message:send", Some("w1"), Some("s1"));
        let states = agent("website:conversation:states=read", Websites::Any);
        let denied = check(&states, &message).unwrap_err();
        assert_eq!(denied.rule, Rule::Grants);
        assert!(
            denied.message.contains("website:conversation:messages"),
            "{}",
            denied.message
        );
        // Write alone does not read.
        let writer = agent("website:conversation:messages=write", Websites::Any);
        assert_eq!(check(&writer, &message).unwrap_err().rule, Rule::Grants);
        let reader = agent("website:conversation:messages=read", Websites::Any);
        assert_eq!(check(&reader, &message), Ok(Verdict::Allowed));
        // The states agent gets the state changes.
        let state = event("session:set_state", Some("w1"), Some("s1"));
        assert_eq!(check(&states, &state), Ok(Verdict::Allowed));
    }

    #[test]
    fn the_website_comes_before_the_grants() {
        let reader = agent(
            "website:conversation:messages=read",
            Websites::Only(vec!["w1".into()]),
        );
        let elsewhere = check(&reader, &event("message:send", Some("w2"), Some("s1")));
        assert_eq!(elsewhere.unwrap_err().rule, Rule::Website);
        let nowhere = check(&reader, &event("message:send", None, Some("s1")));
        assert_eq!(nowhere.unwrap_err().rule, Rule::Website);
        assert!(check(&reader, &event("message:send", Some("w1"), Some("s1"))).is_ok());
        let unknown = check(&reader, &event("brand:new", Some("w1"), None));
        assert_eq!(unknown.unwrap_err().rule, Rule::Grants);
    }

    #[test]
    fn conversation_rules_need_the_conversation_and_then_hold() {
        let mut reader = agent("website:conversation:messages=read", Websites::Any);
        reader.inboxes = Some(vec!["i1".into()]);
        assert_eq!(
            check(&reader, &event("message:send", Some("w1"), Some("s1"))),
            Ok(Verdict::NeedsConversation {
                website_id: "w1".into(),
                session_id: "s1".into()
            })
        );
        let facts = |inbox: Option<&str>| ConversationFacts {
            inbox_id: inbox.map(str::to_owned),
            assigned: None,
        };
        assert!(check_conversation(&reader, "message:send", Some(&facts(Some("i1")))).is_ok());
        let other = check_conversation(&reader, "message:send", Some(&facts(Some("i2"))));
        let other = other.unwrap_err();
        assert_eq!(other.rule, Rule::Inbox);
        assert!(other.message.contains("inbox `i2`"), "{}", other.message);
        let unread = check_conversation(&reader, "message:send", None).unwrap_err();
        assert_eq!(unread.rule, Rule::Inbox);
        // A conversation on no website cannot be read, so it is refused.
        let unnamed = check(&reader, &event("message:send", None, Some("s1")));
        assert_eq!(unnamed.unwrap_err().rule, Rule::Inbox);
        // An event about no conversation is not limited by them.
        let mut people = agent("website:people:profiles=read", Websites::Any);
        people.assigned_to = Some(vec!["u1".into()]);
        assert_eq!(
            check(&people, &event("people:profile:created", Some("w1"), None)),
            Ok(Verdict::Allowed)
        );
    }
}
