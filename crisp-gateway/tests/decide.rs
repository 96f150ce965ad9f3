//! The decision, rule by rule and in order, without HTTP: website, then grants, then the
//! resource rules (one conversation, the list's filters, operations that cannot be checked).

use crisp_api::Operation;
use crisp_gateway::decide::{
    Call, ConversationFacts, Needed, Plan, check_conversation, decide, effective_operations, needs,
};
use crisp_gateway::policy::{Agent, KeyHash, Websites};
use crisp_gateway::refusal::{Refusal, Rule};

const READ_CONVERSATIONS: &str =
    "website:conversation:sessions=read, website:conversation:messages=read";
const REPLY: &str =
    "website:conversation:sessions=read-write, website:conversation:messages=read-write";

fn agent(grants: &str, websites: &[&str]) -> Agent {
    let websites = if websites == ["*"] {
        Websites::Any
    } else {
        Websites::Only(websites.iter().map(|w| (*w).to_owned()).collect())
    };
    Agent::new("bot", KeyHash::of(b"k"), grants.parse().unwrap(), websites)
}

fn with_inboxes(mut agent: Agent, inboxes: &[&str]) -> Agent {
    agent.inboxes = Some(inboxes.iter().map(|i| (*i).to_owned()).collect());
    agent
}

fn with_assignees(mut agent: Agent, users: &[&str]) -> Agent {
    agent.assigned_to = Some(users.iter().map(|u| (*u).to_owned()).collect());
    agent
}

fn ids(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A call on conversation `s1` of website `website`.
fn on_conversation(
    op: &'static Operation,
    website: &str,
) -> (Vec<(&'static str, String)>, &'static Operation) {
    let mut pairs = ids(&[("website_id", website), ("session_id", "s1")]);
    if op.path.contains("{fingerprint}") {
        pairs.push(("fingerprint", "42".to_owned()));
    }
    (pairs, op)
}

fn facts(inbox: Option<&str>, assigned: Option<&str>) -> ConversationFacts {
    ConversationFacts {
        inbox_id: inbox.map(str::to_owned),
        assigned: assigned.map(str::to_owned),
    }
}

fn run(
    agent: &Agent,
    op: &'static Operation,
    ids: &[(&'static str, String)],
    query: &[(String, String)],
    facts: Option<&ConversationFacts>,
) -> Result<Plan, Refusal> {
    decide(
        agent,
        &Call {
            operation: op,
            ids,
            query,
        },
        facts,
    )
}

fn refused_by(result: Result<Plan, Refusal>, rule: Rule) -> Refusal {
    let refusal = result.expect_err("refused");
    assert_eq!(refusal.rule, rule, "{refusal}");
    let status = if rule == Rule::Request { 400 } else { 403 };
    assert_eq!(refusal.status, status, "{refusal}");
    refusal
}

fn list_ids() -> Vec<(&'static str, String)> {
    ids(&[("website_id", "w1"), ("page_number", "1")])
}

#[test]
fn the_website_must_be_one_of_the_agents() {
    let bot = agent(READ_CONVERSATIONS, &["w1", "w2"]);
    let (ids_w2, op) = on_conversation(&Operation::GET_CONVERSATION, "w2");
    assert!(run(&bot, op, &ids_w2, &[], None).is_ok());
    let (ids_w3, _) = on_conversation(op, "w3");
    let refusal = refused_by(run(&bot, op, &ids_w3, &[], None), Rule::Website);
    assert_eq!(
        refusal.message,
        "agent `bot` may not call get_conversation: website `w3` is not one of its websites (w1, w2)"
    );
    // ["*"]: every website.
    let any = agent(READ_CONVERSATIONS, &["*"]);
    assert!(run(&any, op, &ids_w3, &[], None).is_ok());
    // A call that names no website is allowed only to an agent with ["*"].
    let no_website = ids(&[("session_id", "s1")]);
    let refusal = refused_by(run(&bot, op, &no_website, &[], None), Rule::Website);
    assert!(refusal.message.contains("names no website"), "{refusal}");
    assert!(run(&any, op, &no_website, &[], None).is_ok());
}

#[test]
fn the_website_is_checked_before_the_grants() {
    // Neither the website nor the grants allow it: the website rule is the one named.
    let bot = agent("website:visitors=read", &["w1"]);
    let (ids, op) = on_conversation(&Operation::SEND_MESSAGE, "w9");
    refused_by(run(&bot, op, &ids, &[], None), Rule::Website);
}

#[test]
fn the_grants_must_allow_the_scope_at_its_level() {
    let reader = agent(READ_CONVERSATIONS, &["w1"]);
    let (ids, op) = on_conversation(&Operation::SEND_MESSAGE, "w1");
    let refusal = refused_by(run(&reader, op, &ids, &[], None), Rule::Grants);
    assert_eq!(
        refusal.message,
        "agent `bot` may not call send_message: it needs scope `website:conversation:messages` \
         at `write` level, and its grants give it `read` only"
    );
    let (state_ids, state) = on_conversation(&Operation::GET_CONVERSATION_STATE, "w1");
    let refusal = refused_by(run(&reader, state, &state_ids, &[], None), Rule::Grants);
    assert!(
        refusal.message.contains("do not include that scope"),
        "{refusal}"
    );
    // `write` alone does not allow reads.
    let writer = agent("website:conversation:messages=write", &["w1"]);
    assert!(run(&writer, op, &ids, &[], None).is_ok());
    let (list_ids, list) = on_conversation(&Operation::LIST_MESSAGES, "w1");
    refused_by(run(&writer, list, &list_ids, &[], None), Rule::Grants);
}

#[test]
fn the_grants_are_checked_before_the_resource_rules_and_cost_no_fetch() {
    let bot = with_inboxes(agent(READ_CONVERSATIONS, &["w1"]), &["i1"]);
    let (ids, op) = on_conversation(&Operation::SEND_MESSAGE, "w1");
    let call = Call {
        operation: op,
        ids: &ids,
        query: &[],
    };
    assert_eq!(needs(&bot, &call), None);
    refused_by(decide(&bot, &call, None), Rule::Grants);
    // Nor for a website it may not act on.
    let (other_ids, get) = on_conversation(&Operation::GET_CONVERSATION, "w9");
    let call = Call {
        operation: get,
        ids: &other_ids,
        query: &[],
    };
    assert_eq!(needs(&bot, &call), None);
    refused_by(decide(&bot, &call, None), Rule::Website);
}

#[test]
fn a_call_on_one_conversation_needs_it_only_under_resource_rules() {
    let (ids, op) = on_conversation(&Operation::SEND_MESSAGE, "w1");
    let call = Call {
        operation: op,
        ids: &ids,
        query: &[],
    };
    let free = agent(REPLY, &["w1"]);
    assert_eq!(needs(&free, &call), None);
    assert!(decide(&free, &call, None).is_ok());
    let wanted = Some(Needed::Conversation {
        website_id: "w1".into(),
        session_id: "s1".into(),
    });
    assert_eq!(needs(&with_inboxes(free.clone(), &["i1"]), &call), wanted);
    assert_eq!(needs(&with_assignees(free, &["u1"]), &call), wanted);
    // Every operation with a session id in its path is one conversation's.
    let bot = with_inboxes(agent(REPLY, &["w1"]), &["i1"]);
    for op in Operation::ALL
        .iter()
        .filter(|op| op.path.contains("{session_id}"))
    {
        let (ids, op) = on_conversation(op, "w1");
        let call = Call {
            operation: op,
            ids: &ids,
            query: &[],
        };
        if bot.grants.allows(op) {
            assert!(needs(&bot, &call).is_some(), "{}", op.id);
        }
    }
}

#[test]
fn the_conversation_must_be_in_one_of_the_agents_inboxes() {
    let bot = with_inboxes(agent(REPLY, &["w1"]), &["i1", "i2"]);
    let (ids, op) = on_conversation(&Operation::SEND_MESSAGE, "w1");
    let plan = run(
        &bot,
        op,
        &ids,
        &query(&[("x", "1")]),
        Some(&facts(Some("i2"), None)),
    )
    .unwrap();
    assert_eq!(plan.query, query(&[("x", "1")]));
    let refusal = refused_by(
        run(&bot, op, &ids, &[], Some(&facts(Some("i3"), Some("u1")))),
        Rule::Inbox,
    );
    assert_eq!(
        refusal.message,
        "agent `bot` may not call send_message: the conversation is in inbox `i3`, and its \
         inboxes are i1, i2"
    );
    let refusal = refused_by(
        run(&bot, op, &ids, &[], Some(&facts(None, None))),
        Rule::Inbox,
    );
    assert!(refusal.message.contains("in no inbox"), "{refusal}");
    // Without the facts it asked for, the call is refused, never allowed.
    let refusal = refused_by(run(&bot, op, &ids, &[], None), Rule::Inbox);
    assert!(refusal.message.contains("could not be read"), "{refusal}");
}

#[test]
fn the_conversation_must_be_assigned_to_one_of_the_agents_operators() {
    let bot = with_assignees(agent(REPLY, &["w1"]), &["u1"]);
    let (ids, op) = on_conversation(&Operation::SEND_MESSAGE, "w1");
    assert!(run(&bot, op, &ids, &[], Some(&facts(Some("any"), Some("u1")))).is_ok());
    let refusal = refused_by(
        run(&bot, op, &ids, &[], Some(&facts(None, Some("u2")))),
        Rule::Assignee,
    );
    assert!(refusal.message.contains("assigned to `u2`"), "{refusal}");
    let refusal = refused_by(
        run(&bot, op, &ids, &[], Some(&facts(None, None))),
        Rule::Assignee,
    );
    assert!(
        refusal.message.contains("assigned to no operator"),
        "{refusal}"
    );
    refused_by(run(&bot, op, &ids, &[], None), Rule::Assignee);
}

#[test]
fn the_inbox_is_checked_before_the_assignee() {
    let bot = with_assignees(with_inboxes(agent(REPLY, &["w1"]), &["i1"]), &["u1"]);
    let (ids, op) = on_conversation(&Operation::GET_CONVERSATION, "w1");
    refused_by(
        run(&bot, op, &ids, &[], Some(&facts(Some("i9"), Some("u9")))),
        Rule::Inbox,
    );
    refused_by(
        run(&bot, op, &ids, &[], Some(&facts(Some("i1"), Some("u9")))),
        Rule::Assignee,
    );
    assert!(run(&bot, op, &ids, &[], Some(&facts(Some("i1"), Some("u1")))).is_ok());
    // The same check, on its own (the REST front's second wall over list answers).
    let conversation = facts(Some("i1"), Some("u9"));
    let refusal =
        check_conversation(&bot, &Operation::LIST_CONVERSATIONS, &conversation).unwrap_err();
    assert_eq!(refusal.rule, Rule::Assignee);
    assert!(check_conversation(&bot, op, &facts(Some("i1"), Some("u1"))).is_ok());
}

#[test]
fn listing_with_one_allowed_inbox_sets_the_filter() {
    let bot = with_inboxes(agent(READ_CONVERSATIONS, &["w1"]), &["i1"]);
    let op = &Operation::LIST_CONVERSATIONS;
    let ids = list_ids();
    assert_eq!(
        needs(
            &bot,
            &Call {
                operation: op,
                ids: &ids,
                query: &[]
            }
        ),
        None
    );
    let plan = run(&bot, op, &ids, &query(&[("filter_unread", "1")]), None).unwrap();
    assert_eq!(
        plan.query,
        query(&[("filter_unread", "1"), ("filter_inbox_id", "i1")])
    );
    // The same inbox, asked for: kept once.
    let asked = query(&[("filter_inbox_id", "i1")]);
    assert_eq!(run(&bot, op, &ids, &asked, None).unwrap().query, asked);
    // Another inbox: refused, never widened.
    let refusal = refused_by(
        run(&bot, op, &ids, &query(&[("filter_inbox_id", "i2")]), None),
        Rule::Inbox,
    );
    assert!(
        refusal.message.contains("`filter_inbox_id` is `i2`"),
        "{refusal}"
    );
    // Given twice: a malformed request, refused.
    let twice = query(&[("filter_inbox_id", "i1"), ("filter_inbox_id", "i2")]);
    refused_by(run(&bot, op, &ids, &twice, None), Rule::Request);
}

#[test]
fn listing_with_several_allowed_inboxes_requires_one_of_them() {
    let bot = with_inboxes(agent(READ_CONVERSATIONS, &["w1"]), &["i1", "i2"]);
    let op = &Operation::LIST_CONVERSATIONS;
    let ids = list_ids();
    let refusal = refused_by(run(&bot, op, &ids, &[], None), Rule::Inbox);
    assert!(
        refusal
            .message
            .contains("pass `filter_inbox_id` as one of i1, i2"),
        "{refusal}"
    );
    let asked = query(&[("filter_inbox_id", "i2")]);
    assert_eq!(run(&bot, op, &ids, &asked, None).unwrap().query, asked);
    refused_by(
        run(&bot, op, &ids, &query(&[("filter_inbox_id", "i3")]), None),
        Rule::Inbox,
    );
    refused_by(
        run(&bot, op, &ids, &query(&[("filter_inbox_id", "")]), None),
        Rule::Inbox,
    );
}

#[test]
fn listing_under_assignee_rules_sets_or_requires_filter_assigned() {
    let op = &Operation::LIST_CONVERSATIONS;
    let ids = list_ids();
    let one = with_assignees(agent(READ_CONVERSATIONS, &["w1"]), &["u1"]);
    assert_eq!(
        run(&one, op, &ids, &[], None).unwrap().query,
        query(&[("filter_assigned", "u1")])
    );
    refused_by(
        run(&one, op, &ids, &query(&[("filter_assigned", "u2")]), None),
        Rule::Assignee,
    );
    let several = with_assignees(agent(READ_CONVERSATIONS, &["w1"]), &["u1", "u2"]);
    refused_by(run(&several, op, &ids, &[], None), Rule::Assignee);
    let asked = query(&[("filter_assigned", "u2")]);
    assert_eq!(run(&several, op, &ids, &asked, None).unwrap().query, asked);
    // Both rules: both filters.
    let both = with_inboxes(one, &["i1"]);
    assert_eq!(
        run(&both, op, &ids, &[], None).unwrap().query,
        query(&[("filter_inbox_id", "i1"), ("filter_assigned", "u1")])
    );
}

#[test]
fn creating_a_conversation_is_refused_under_resource_rules() {
    let op = &Operation::CREATE_CONVERSATION;
    let ids = ids(&[("website_id", "w1")]);
    let free = agent(REPLY, &["w1"]);
    assert!(run(&free, op, &ids, &[], None).is_ok());
    let boxed = with_inboxes(free.clone(), &["i1"]);
    assert_eq!(
        needs(
            &boxed,
            &Call {
                operation: op,
                ids: &ids,
                query: &[]
            }
        ),
        None
    );
    let refusal = refused_by(run(&boxed, op, &ids, &[], None), Rule::Inbox);
    assert!(
        refusal.message.contains("a new conversation has no inbox"),
        "{refusal}"
    );
    // Even with facts handed in: they are not this conversation's.
    refused_by(
        run(&boxed, op, &ids, &[], Some(&facts(Some("i1"), None))),
        Rule::Inbox,
    );
    refused_by(
        run(&with_assignees(free, &["u1"]), op, &ids, &[], None),
        Rule::Assignee,
    );
    // `check` leaves it out of the agent's operations.
    assert!(effective_operations(&boxed).all(|o| o.id != op.id));
    assert!(effective_operations(&boxed).any(|o| o.id == "send_message"));
}

#[test]
fn operations_that_are_not_conversation_scoped_see_only_website_and_grants() {
    let bot = with_assignees(
        with_inboxes(
            agent(
                "website:people:profiles=read, website:settings=read",
                &["w1"],
            ),
            &["i1"],
        ),
        &["u1"],
    );
    for (op, ids) in [
        (&Operation::LIST_PEOPLE_PROFILES, list_ids()),
        (
            &Operation::GET_WEBSITE_SETTINGS,
            ids(&[("website_id", "w1")]),
        ),
    ] {
        let q = query(&[("search_text", "x")]);
        let call = Call {
            operation: op,
            ids: &ids,
            query: &q,
        };
        assert_eq!(needs(&bot, &call), None, "{}", op.id);
        assert_eq!(decide(&bot, &call, None).unwrap().query, q, "{}", op.id);
    }
    let (ids, op) = (
        ids(&[("website_id", "w2")]),
        &Operation::GET_WEBSITE_SETTINGS,
    );
    refused_by(run(&bot, op, &ids, &[], None), Rule::Website);
}
