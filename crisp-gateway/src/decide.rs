//! The decision: may this agent make this call, and with which query? Pure: it reads values
//! only (the agent, the operation, the ids, the query, and the conversation's facts when they
//! were fetched), so every rule is tested without HTTP, a clock or a database.
//!
//! The checks, in order (the first that fails refuses):
//! 1. **website**: the path's `website_id` is one of the agent's websites (`["*"]`: any). An
//!    operation with no `website_id` is allowed only to an agent with `["*"]`.
//! 2. **grants**: the agent's grants allow the operation's scope at its access level.
//! 3. **resource rules**, when the agent has `inboxes` or `assigned_to`:
//!    - a call on one conversation (`{session_id}` in its path): the conversation's inbox must
//!      be one of `inboxes`, and its assignee one of `assigned_to`. The caller fetches the
//!      conversation first when [`needs`] says so, and hands its [`ConversationFacts`] in;
//!    - `list_conversations`: with one allowed inbox the gateway sets `filter_inbox_id` itself
//!      (and refuses another one the agent asked for); with several, the agent must pass one of
//!      them. The same for `filter_assigned` with `assigned_to`. So pages stay whole;
//!    - any other conversation operation (`create_conversation`) is refused: the gateway
//!      cannot tell which inbox or assignee it touches;
//!    - other operations are not conversation-scoped: only the website and grants apply.
//!
//! Rate, budget and quota are checked after this, by the gateway: they need state.

use crisp_api::Operation;

use crate::policy::{Agent, Websites};
use crate::refusal::{Refusal, Rule};

/// A call as the fronts read it.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// The operation.
    pub operation: &'static Operation,
    /// The path ids, in path order, as `(name, value)`.
    pub ids: &'a [(&'static str, String)],
    /// The query parameters, in order.
    pub query: &'a [(String, String)],
}

impl Call<'_> {
    /// The value of the path id `name`.
    pub fn id(&self, name: &str) -> Option<&str> {
        self.ids
            .iter()
            .find(|(id, _)| *id == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What the gateway knows about one conversation, read from Crisp before a call on it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationFacts {
    /// The inbox it is in (`inbox_id`), if any.
    pub inbox_id: Option<String>,
    /// The operator it is assigned to (`assigned.user_id`), if any.
    pub assigned: Option<String>,
}

/// What [`decide`] needs fetched before it can decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Needed {
    /// The conversation's [`ConversationFacts`] (from `get_conversation`).
    Conversation {
        /// Its website.
        website_id: String,
        /// Its session id.
        session_id: String,
    },
}

/// What to send upstream for an allowed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The query to send: the agent's, with the filters its rules set.
    pub query: Vec<(String, String)>,
}

/// The query parameters of `list_conversations` that the resource rules set.
pub const FILTER_INBOX: &str = "filter_inbox_id";
/// See [`FILTER_INBOX`].
pub const FILTER_ASSIGNED: &str = "filter_assigned";

/// How the resource rules see an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// It acts on one conversation (`{session_id}` in its path).
    OneConversation,
    /// `list_conversations`: filtered.
    ConversationList,
    /// Another conversation operation: which conversation it touches cannot be checked.
    Unchecked,
    /// Not conversation-scoped.
    Other,
}

fn target(operation: &Operation) -> Target {
    if operation.path_params().any(|name| name == "session_id") {
        Target::OneConversation
    } else if operation.id == Operation::LIST_CONVERSATIONS.id {
        Target::ConversationList
    } else if operation.scope.starts_with("website:conversation:") {
        Target::Unchecked
    } else {
        Target::Other
    }
}

/// What must be fetched before [`decide`]: the conversation of a call on one conversation,
/// when the agent has inbox or assignee rules and the website and grants already allow the
/// call (a call refused anyway costs no fetch).
///
/// ```
/// use crisp_api::Operation;
/// use crisp_gateway::decide::{Call, Needed, needs};
/// use crisp_gateway::policy::{Agent, KeyHash, Websites};
///
/// let mut agent = Agent::new("triage", KeyHash::of(b"k"), "website:conversation:sessions=read".parse()?, Websites::Any);
/// let ids = [("website_id", "w1".to_owned()), ("session_id", "s1".to_owned())];
/// let call = Call { operation: &Operation::GET_CONVERSATION, ids: &ids, query: &[] };
/// assert_eq!(needs(&agent, &call), None);
/// agent.inboxes = Some(vec!["i1".into()]);
/// assert_eq!(
///     needs(&agent, &call),
///     Some(Needed::Conversation { website_id: "w1".into(), session_id: "s1".into() })
/// );
/// # Ok::<(), crisp_api::GrantsError>(())
/// ```
pub fn needs(agent: &Agent, call: &Call<'_>) -> Option<Needed> {
    if !agent.has_conversation_rules() || target(call.operation) != Target::OneConversation {
        return None;
    }
    check_website(agent, call).ok()?;
    check_grants(agent, call.operation).ok()?;
    Some(Needed::Conversation {
        website_id: call.id("website_id")?.to_owned(),
        session_id: call.id("session_id")?.to_owned(),
    })
}

/// Whether `agent` may make `call`: the [`Plan`] to send, or the [`Refusal`] of the first rule
/// that does not allow it (see the module's documentation for the order). `facts` is the
/// conversation [`needs`] asked for; without it, a call that needs it is refused.
///
/// # Errors
///
/// A 403 refusal (`website`, `grants`, `inbox`, `assignee`) naming the agent, the operation and
/// the rule; a 400 (`request`) for a filter given twice.
pub fn decide(
    agent: &Agent,
    call: &Call<'_>,
    facts: Option<&ConversationFacts>,
) -> Result<Plan, Refusal> {
    check_website(agent, call)?;
    check_grants(agent, call.operation)?;
    let mut query = call.query.to_vec();
    if agent.has_conversation_rules() {
        match target(call.operation) {
            Target::OneConversation => {
                let Some(facts) = facts else {
                    let rule = if agent.inboxes.is_some() {
                        Rule::Inbox
                    } else {
                        Rule::Assignee
                    };
                    return Err(Refusal::not_allowed(
                        rule,
                        &agent.name,
                        call.operation,
                        "the conversation could not be read to check its inbox and assignee",
                    ));
                };
                check_conversation(agent, call.operation, facts)?;
            }
            Target::ConversationList => {
                if let Some(inboxes) = &agent.inboxes {
                    filter(
                        agent,
                        call.operation,
                        &mut query,
                        FILTER_INBOX,
                        inboxes,
                        Rule::Inbox,
                    )?;
                }
                if let Some(operators) = &agent.assigned_to {
                    filter(
                        agent,
                        call.operation,
                        &mut query,
                        FILTER_ASSIGNED,
                        operators,
                        Rule::Assignee,
                    )?;
                }
            }
            Target::Unchecked => {
                let (rule, list) = match &agent.inboxes {
                    Some(_) => (Rule::Inbox, "inboxes"),
                    None => (Rule::Assignee, "assigned_to"),
                };
                let what = if call.operation.method == crisp_api::Method::Post {
                    "a new conversation has no inbox or assignee the gateway can check"
                } else {
                    "the gateway cannot check which conversations it touches"
                };
                return Err(Refusal::not_allowed(
                    rule,
                    &agent.name,
                    call.operation,
                    &format!("its `{list}` rule limits it to some conversations, and {what}"),
                ));
            }
            Target::Other => {}
        }
    }
    Ok(Plan { query })
}

/// Whether a conversation with these facts is one `agent` may act on: its inbox is one of
/// `inboxes` and its assignee one of `assigned_to` (each when set). The REST front also uses it
/// to drop, as a second wall, conversations of a list answer that do not match.
///
/// # Errors
///
/// A 403 refusal (`inbox` or `assignee`) naming the agent, `operation` and the rule.
pub fn check_conversation(
    agent: &Agent,
    operation: &Operation,
    facts: &ConversationFacts,
) -> Result<(), Refusal> {
    if let Some(inboxes) = &agent.inboxes {
        let inbox = facts.inbox_id.as_deref();
        if !inbox.is_some_and(|inbox| inboxes.iter().any(|allowed| allowed == inbox)) {
            let is = inbox.map_or_else(|| "in no inbox".to_owned(), |i| format!("in inbox `{i}`"));
            return Err(Refusal::not_allowed(
                Rule::Inbox,
                &agent.name,
                operation,
                &format!(
                    "the conversation is {is}, and its inboxes are {}",
                    inboxes.join(", ")
                ),
            ));
        }
    }
    if let Some(operators) = &agent.assigned_to {
        let assigned = facts.assigned.as_deref();
        if !assigned.is_some_and(|user| operators.iter().any(|allowed| allowed == user)) {
            let is = assigned.map_or_else(
                || "assigned to no operator".to_owned(),
                |user| format!("assigned to `{user}`"),
            );
            return Err(Refusal::not_allowed(
                Rule::Assignee,
                &agent.name,
                operation,
                &format!(
                    "the conversation is {is}, and it may act only on conversations assigned to {}",
                    operators.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The operations `agent` may call at all: those its grants allow, less those its resource
/// rules always refuse (a conversation operation that cannot be checked). Websites and the
/// conversations' facts are checked per call.
pub fn effective_operations(agent: &Agent) -> impl Iterator<Item = &'static Operation> + '_ {
    agent
        .grants
        .allowed_operations()
        .filter(|op| !(agent.has_conversation_rules() && target(op) == Target::Unchecked))
}

fn check_website(agent: &Agent, call: &Call<'_>) -> Result<(), Refusal> {
    let website = call.id("website_id");
    let why = match (&agent.websites, website) {
        (Websites::Any, _) => return Ok(()),
        (websites, Some(id)) if websites.allows(id) => return Ok(()),
        (Websites::Only(ids), Some(id)) => format!(
            "website `{id}` is not one of its websites ({})",
            ids.join(", ")
        ),
        (Websites::Only(_), None) => {
            "the operation names no website, and only an agent with websites = [\"*\"] may \
             call it"
                .to_owned()
        }
    };
    Err(Refusal::not_allowed(
        Rule::Website,
        &agent.name,
        call.operation,
        &why,
    ))
}

fn check_grants(agent: &Agent, operation: &Operation) -> Result<(), Refusal> {
    if agent.grants.allows(operation) {
        return Ok(());
    }
    let has = match agent.grants.level(operation.scope) {
        Some(level) => format!("its grants give it `{level}` only"),
        None => "its grants do not include that scope".to_owned(),
    };
    Err(Refusal::not_allowed(
        Rule::Grants,
        &agent.name,
        operation,
        &format!(
            "it needs scope `{}` at `{}` level, and {has}",
            operation.scope, operation.access
        ),
    ))
}

/// Sets or checks one filter of `list_conversations` against the allowed values.
fn filter(
    agent: &Agent,
    operation: &Operation,
    query: &mut Vec<(String, String)>,
    name: &str,
    allowed: &[String],
    rule: Rule,
) -> Result<(), Refusal> {
    let mut given = query.iter().filter(|(key, _)| key == name).map(|(_, v)| v);
    let first = given.next().cloned();
    if given.next().is_some() {
        return Err(Refusal::request(format!(
            "the query parameter `{name}` is given more than once: give it once"
        )));
    }
    let list = allowed.join(", ");
    match (first, allowed) {
        (None, [only]) => {
            query.push((name.to_owned(), only.clone()));
            Ok(())
        }
        (Some(value), _) if allowed.contains(&value) => Ok(()),
        (None, _) => Err(Refusal::not_allowed(
            rule,
            &agent.name,
            operation,
            &format!("it may list only some conversations: pass `{name}` as one of {list}"),
        )),
        (Some(value), _) => Err(Refusal::not_allowed(
            rule,
            &agent.name,
            operation,
            &format!(
                "`{name}` is `{}`, and it may list only conversations with `{name}` one of {list}",
                value.escape_debug()
            ),
        )),
    }
}
