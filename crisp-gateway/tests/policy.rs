//! The policy file: a valid one reads into the agents it says; every malformed one is refused
//! with its line, column and field path, and says what to do.

use crisp_api::{Level, Operation};
use crisp_gateway::policy::{
    Agent, ConfirmMode, DEFAULT_DAILY_QUOTA, KeyHash, Policy, PolicyError, Websites, demo,
};

const HASH_A: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; // "test"
const HASH_B: &str = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"; // "a"

/// A valid policy; each case below changes one thing in it. Line numbers matter: the corpus
/// checks them.
fn valid() -> String {
    format!(
        r#"daily_quota = 1000

[[agents]]
name = "triage"
key_sha256 = "{HASH_A}"
grants = "website:conversation:sessions=read, website:conversation:messages=read"
websites = ["w1"]

[[agents]]
name = "reply"
key_sha256 = "{HASH_B}"
grants = "website:conversation:sessions=read, website:conversation:messages=read-write"
websites = ["w1", "w2"]
inboxes = ["i1", "i2"]
assigned_to = ["u1"]
daily_budget = 50
rate = "5/second"
confirm = "never"
"#
    )
}

fn refused(text: &str) -> PolicyError {
    match Policy::parse(text, "gateway.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => error,
    }
}

#[test]
fn a_valid_policy_reads_into_plain_data() {
    let policy = Policy::parse(&valid(), "gateway.toml").unwrap();
    assert_eq!(policy.daily_quota(), 1000);
    let names: Vec<_> = policy.agents().iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["triage", "reply"]);

    let triage = policy.agent("triage").unwrap();
    assert_eq!(triage.key_sha256, KeyHash::of(b"test"));
    assert_eq!(triage.websites, Websites::Only(vec!["w1".into()]));
    assert!(triage.grants.allows(&Operation::LIST_MESSAGES));
    assert!(!triage.grants.allows(&Operation::SEND_MESSAGE));
    assert_eq!(
        (triage.inboxes.as_ref(), triage.daily_budget, triage.rate),
        (None, None, None)
    );
    assert_eq!(triage.confirm, ConfirmMode::Always);

    let reply = policy.agent("reply").unwrap();
    assert_eq!(reply.key_sha256, KeyHash::of(b"a"));
    assert_eq!(
        reply.grants.level("website:conversation:messages"),
        Some(Level::ReadWrite)
    );
    assert_eq!(reply.inboxes, Some(vec!["i1".to_owned(), "i2".to_owned()]));
    assert_eq!(reply.assigned_to, Some(vec!["u1".to_owned()]));
    assert_eq!(reply.daily_budget, Some(50));
    assert_eq!(
        reply.rate.map(|r| r.to_string()).as_deref(),
        Some("5/second")
    );
    assert_eq!(reply.confirm, ConfirmMode::Never);
    assert!(policy.agent("nobody").is_none());
}

#[test]
fn defaults_star_websites_and_upper_case_hashes() {
    let text = valid()
        .replace("daily_quota = 1000\n", "")
        .replace(r#"websites = ["w1"]"#, r#"websites = ["*"]"#)
        .replace(HASH_A, &HASH_A.to_uppercase());
    let policy = Policy::parse(&text, "gateway.toml").unwrap();
    assert_eq!(policy.daily_quota(), DEFAULT_DAILY_QUOTA);
    let triage = policy.agent("triage").unwrap();
    assert_eq!(triage.websites, Websites::Any);
    assert_eq!(triage.key_sha256, KeyHash::of(b"test"));
}

#[test]
fn every_agent_writes_back_as_the_table_that_reads_as_it() {
    let policy = Policy::parse(&valid(), "gateway.toml").unwrap();
    let text: String = policy.agents().iter().map(|a| a.to_toml() + "\n").collect();
    let again = Policy::parse(&text, "again.toml").unwrap();
    assert_eq!(again.agents(), policy.agents());
}

#[test]
fn the_example_file_is_a_valid_policy() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.example.toml");
    let policy = Policy::load(std::path::Path::new(path)).unwrap();
    assert_eq!(policy.agents().len(), 2);
    assert_eq!(
        policy.agent("triage").unwrap().key_sha256,
        KeyHash::of(b"triage-example-key")
    );
    assert_eq!(
        policy.agent("reply").unwrap().key_sha256,
        KeyHash::of(b"reply-example-key")
    );
}

#[test]
fn the_demo_policy_has_two_agents_and_their_fresh_keys() {
    let (policy, keys) = demo("site-1").unwrap();
    let (again, _) = demo("site-1").unwrap();
    let agents: Vec<&Agent> = policy.agents().iter().collect();
    assert_eq!(agents.len(), 2);
    assert_eq!(keys.len(), 2);
    for (agent, key) in agents.iter().zip(&keys) {
        assert_eq!(agent.name, key.name);
        assert_eq!(agent.key_sha256, key.key.hash());
        assert_eq!(agent.websites, Websites::Only(vec!["site-1".into()]));
        assert_eq!(key.key.expose().len(), 64);
        assert!(!format!("{key:?}").contains(key.key.expose()));
    }
    assert_ne!(agents[0].key_sha256, again.agents()[0].key_sha256);
    let (triage, reply) = (agents[0], agents[1]);
    assert_eq!(
        (triage.name.as_str(), reply.name.as_str()),
        ("triage", "reply")
    );
    assert!(triage.grants.allowed_operations().all(|op| !op.is_write()));
    assert!(triage.grants.allows(&Operation::LIST_CONVERSATIONS));
    assert!(reply.grants.allows(&Operation::SEND_MESSAGE));
    assert!(!reply.grants.allows(&Operation::REMOVE_CONVERSATION));
}

/// One malformed file: what to change in the valid one, and where and what the error says.
struct Case {
    what: &'static str,
    from: &'static str,
    to: String,
    line: usize,
    column: Option<usize>,
    field: &'static str,
    says: &'static [&'static str],
}

fn case(
    what: &'static str,
    from: &'static str,
    to: impl Into<String>,
    line: usize,
    field: &'static str,
    says: &'static [&'static str],
) -> Case {
    Case {
        what,
        from,
        to: to.into(),
        line,
        column: None,
        field,
        says,
    }
}

fn at_column(mut case: Case, column: usize) -> Case {
    case.column = Some(column);
    case
}

#[test]
fn every_malformed_policy_names_its_line_field_and_what_to_do() {
    let cases = [
        at_column(
            case(
                "an unknown field",
                "rate = ",
                "colour = ",
                17,
                "agents[1].colour",
                &["unknown field `colour`", "expected one of", "`rate`"],
            ),
            1,
        ),
        case(
            "an unknown top-level field",
            "daily_quota = 1000",
            "daily_quotas = 1000",
            1,
            "daily_quotas",
            &["unknown field `daily_quotas`", "`daily_quota`"],
        ),
        at_column(
            case(
                "a key hash too short",
                "key_sha256 = \"ca97",
                "key_sha256 = \"ca9",
                11,
                "agents[1].key_sha256",
                &["64 hex digits", "63 characters", "sha256sum", "agents add"],
            ),
            14,
        ),
        case(
            "a key hash with a non-hex digit",
            "key_sha256 = \"ca97",
            "key_sha256 = \"ca9z",
            11,
            "agents[1].key_sha256",
            &["`z` is not a hex digit"],
        ),
        case(
            "two agents with one key",
            HASH_B,
            HASH_A,
            11,
            "agents[1].key_sha256",
            &["agents[0] has the same key hash", "its own key"],
        ),
        case(
            "two agents with one key, in different cases",
            HASH_B,
            HASH_A.to_uppercase(),
            11,
            "agents[1].key_sha256",
            &["agents[0] has the same key hash"],
        ),
        at_column(
            case(
                "two agents with one name",
                "name = \"reply\"",
                "name = \"triage\"",
                10,
                "agents[1].name",
                &["agents[0] is already named `triage`", "its own name"],
            ),
            8,
        ),
        at_column(
            case(
                "an unknown scope",
                "website:conversation:messages=read-write",
                "website:conversation:mesages=read-write",
                12,
                "agents[1].grants",
                // The scope, and the one meant (crisp-api's own check may word it otherwise).
                &[
                    "website:conversation:mesages",
                    "`website:conversation:messages`",
                ],
            ),
            // The column of the entry inside the grants string, not of the string.
            47,
        ),
        case(
            "a grant with a bad level",
            "messages=read-write",
            "messages=admin",
            12,
            "agents[1].grants",
            &[
                "`website:conversation:messages=admin`",
                "`read`, `write` or `read-write`",
            ],
        ),
        case(
            "empty grants",
            "grants = \"website:conversation:sessions=read, website:conversation:messages=read\"",
            "grants = \"\"",
            6,
            "agents[0].grants",
            &["no grants given"],
        ),
        at_column(
            case(
                "a bad rate",
                "5/second",
                "5/fortnight",
                17,
                "agents[1].rate",
                &["`N/second`, `N/minute` or `N/hour`"],
            ),
            8,
        ),
        case(
            "a rate of the wrong type",
            "rate = \"5/second\"",
            "rate = 5",
            17,
            "agents[1].rate",
            &["invalid type", "\"60/minute\""],
        ),
        at_column(
            case(
                "empty websites",
                r#"websites = ["w1"]"#,
                "websites = []",
                7,
                "agents[0].websites",
                &["the list is empty", "[\"*\"] for every website"],
            ),
            12,
        ),
        case(
            "missing websites",
            "websites = [\"w1\"]\n",
            "",
            3,
            "agents[0]",
            &["missing field `websites`", "[\"*\"] for every website"],
        ),
        case(
            "`*` among website ids",
            r#"websites = ["w1", "w2"]"#,
            r#"websites = ["w1", "*"]"#,
            13,
            "agents[1].websites",
            &["`*` means every website", "alone"],
        ),
        case(
            "an empty inbox list",
            r#"inboxes = ["i1", "i2"]"#,
            "inboxes = []",
            14,
            "agents[1].inboxes",
            &["the list is empty", "remove the line to allow every inbox"],
        ),
        at_column(
            case(
                "an inbox id with a space",
                r#"inboxes = ["i1", "i2"]"#,
                r#"inboxes = ["i1", "i 2"]"#,
                14,
                "agents[1].inboxes[1]",
                &["`i 2` is not a inbox id"],
            ),
            18,
        ),
        case(
            "a budget of 0",
            "daily_budget = 50",
            "daily_budget = 0",
            16,
            "agents[1].daily_budget",
            &["budget of 0", "remove the line"],
        ),
        case(
            "a negative budget",
            "daily_budget = 50",
            "daily_budget = -5",
            16,
            "agents[1].daily_budget",
            &["-5", "whole number"],
        ),
        case(
            "a quota of 0",
            "daily_quota = 1000",
            "daily_quota = 0",
            1,
            "daily_quota",
            &["quota of 0"],
        ),
        case(
            "a bad confirm mode",
            "confirm = \"never\"",
            "confirm = \"sometimes\"",
            18,
            "agents[1].confirm",
            &[
                "`sometimes` is not a confirm mode",
                "\"always\"",
                "\"never\"",
            ],
        ),
        case(
            "a name that is not [a-z0-9_-]",
            "name = \"reply\"",
            "name = \"Reply Bot\"",
            10,
            "agents[1].name",
            &["`Reply Bot` is not an agent name", "a-z, 0-9"],
        ),
        case(
            "a TOML syntax error",
            "[[agents]]\nname = \"reply\"",
            "[[agents]\nname = \"reply\"",
            9,
            "",
            &["not valid TOML", "unclosed array table"],
        ),
        case(
            "a value that is not TOML",
            "name = \"triage\"",
            "name = triage",
            4,
            "",
            &["not valid TOML", "strings are quoted"],
        ),
    ];
    let valid = valid();
    for case in cases {
        assert!(
            valid.contains(case.from),
            "{}: `{}` not in the file",
            case.what,
            case.from
        );
        let text = valid.replacen(case.from, &case.to, 1);
        let error = refused(&text);
        let shown = error.to_string();
        assert_eq!(
            (error.line, error.field.as_str()),
            (case.line, case.field),
            "{}: {shown}",
            case.what
        );
        if let Some(column) = case.column {
            assert_eq!(error.column, column, "{}: {shown}", case.what);
        }
        assert!(error.column >= 1, "{}: {shown}", case.what);
        let place = if case.field.is_empty() {
            format!("gateway.toml:{}:{}: ", error.line, error.column)
        } else {
            format!(
                "gateway.toml:{}:{}: {}: ",
                error.line, error.column, case.field
            )
        };
        assert!(shown.starts_with(&place), "{}: {shown}", case.what);
        for part in case.says {
            assert!(
                shown.contains(part),
                "{}: `{part}` not in: {shown}",
                case.what
            );
        }
        // A message never holds a key hash's full text (nor, in these files, anything secret).
        assert!(
            !shown.contains(HASH_A) && !shown.contains(HASH_B),
            "{shown}"
        );
    }
}

#[test]
fn a_policy_without_agents_or_file_is_refused() {
    let error = refused("daily_quota = 10\n");
    assert_eq!(error.field, "agents");
    assert!(error.message.contains("agents add"), "{error}");

    let error = Policy::load(std::path::Path::new("/nonexistent/gateway.toml")).unwrap_err();
    assert_eq!((error.line, error.field.as_str()), (0, ""));
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/gateway.toml: cannot read"),
        "{error}"
    );
}

#[test]
fn approvals_are_operation_ids_or_prefixes_and_a_time() {
    use std::time::Duration;

    let text = valid()
        .replace(
            "daily_quota = 1000\n",
            "daily_quota = 1000\napproval_ttl = \"30m\"\n",
        )
        .replace(
            "confirm = \"never\"\n",
            "confirm = \"never\"\napprove = [\"send_message\", \"remove_*\"]\n",
        );
    let policy = Policy::parse(&text, "gateway.toml").unwrap();
    assert_eq!(policy.approval_ttl(), Duration::from_secs(1800));
    let reply = policy.agent("reply").unwrap();
    assert!(reply.has_approvals());
    assert!(reply.must_approve(&Operation::SEND_MESSAGE));
    assert!(reply.must_approve(&Operation::REMOVE_CONVERSATION));
    assert!(!reply.must_approve(&Operation::LIST_MESSAGES));
    let triage = policy.agent("triage").unwrap();
    assert!(!triage.has_approvals() && !triage.must_approve(&Operation::SEND_MESSAGE));
    assert_eq!(
        Policy::parse(&valid(), "gateway.toml")
            .unwrap()
            .approval_ttl(),
        Duration::from_secs(24 * 3600),
        "24 h by default"
    );
    // Written back, the table reads as the same agent.
    let again = Policy::parse(&reply.to_toml(), "again.toml").unwrap();
    assert_eq!(again.agents()[0].approve, reply.approve);

    // A mistake names its line and field: the entry's index, a near operation.
    let typo = text.replace("\"remove_*\"", "\"send_mesage\"");
    let error = refused(&typo);
    assert_eq!(
        (error.line, error.field.as_str()),
        (20, "agents[1].approve[1]")
    );
    assert!(
        error.message.contains("did you mean \"send_message\""),
        "{error}"
    );
    for (bad, needle) in [
        ("\"*_message\"", "suffix wildcard only"),
        ("\"nothing_*\"", "matches no operation"),
    ] {
        let error = refused(&text.replace("\"remove_*\"", bad));
        assert_eq!(error.field, "agents[1].approve[1]", "{error}");
        assert!(error.message.contains(needle), "{error}");
    }
    let empty = refused(&text.replace(r#"["send_message", "remove_*"]"#, "[]"));
    assert_eq!(empty.field, "agents[1].approve", "{empty}");
    for ttl in ["\"1.5h\"", "\"0s\"", "\"31d\"", "24"] {
        let error = refused(&text.replace("\"30m\"", ttl));
        assert_eq!(
            (error.line, error.field.as_str()),
            (2, "approval_ttl"),
            "{ttl}: {error}"
        );
    }
}
