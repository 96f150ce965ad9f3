//! Who is calling: every malformed or wrong `Authorization` header is a 401 refusal (never a
//! panic), the right one names its agent, and no answer repeats what was presented.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use crisp_gateway::identity::{
    Credentials, authenticate, parse_authorization, refuse_key_in_query,
};
use crisp_gateway::policy::{Agent, AgentKey, KeyFormat, Policy, Websites};
use crisp_gateway::refusal::{Refusal, Rule};

/// Two agents with fresh keys; the keys are returned to present them.
fn policy() -> (Policy, AgentKey, AgentKey) {
    let triage_key = AgentKey::generate(KeyFormat::Hex).unwrap();
    let reply_key = AgentKey::generate(KeyFormat::Base64Url).unwrap();
    let grants = "website:conversation:sessions=read".parse().unwrap();
    let triage = Agent::new("triage", triage_key.hash(), grants, Websites::Any);
    let mut reply = triage.clone();
    reply.name = "reply".to_owned();
    reply.key_sha256 = reply_key.hash();
    let text = format!("{}\n{}", triage.to_toml(), reply.to_toml());
    (
        Policy::parse(&text, "t.toml").unwrap(),
        triage_key,
        reply_key,
    )
}

fn basic(name: &str, key: &str) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(format!("{name}:{key}"))).into_bytes()
}

fn bearer(key: &str) -> Vec<u8> {
    format!("Bearer {key}").into_bytes()
}

/// Asserts a 401 `auth` refusal whose message says `says` and holds none of `secrets`.
fn assert_refused(result: Result<&Agent, Refusal>, says: &str, secrets: &[&str]) {
    let refusal = match result {
        Ok(agent) => panic!("accepted as {}", agent.name),
        Err(refusal) => refusal,
    };
    assert_eq!(
        (refusal.status, refusal.reason, refusal.rule),
        (401, "invalid_session", Rule::Auth),
        "{refusal}"
    );
    assert!(refusal.message.contains(says), "`{says}` not in: {refusal}");
    let rendered = format!("{refusal} {refusal:?} {}", refusal.envelope());
    for secret in secrets {
        assert!(!rendered.contains(secret), "a secret in: {rendered}");
    }
}

#[test]
fn the_right_credentials_name_their_agent_on_either_scheme() {
    let (policy, triage_key, reply_key) = policy();
    let agent = authenticate(&policy, Some(&basic("triage", triage_key.expose()))).unwrap();
    assert_eq!(agent.name, "triage");
    let agent = authenticate(&policy, Some(&bearer(reply_key.expose()))).unwrap();
    assert_eq!(agent.name, "reply");
    // The scheme in any case, padding or not, spaces around.
    let header = format!(
        "  bAsIc   {}  ",
        STANDARD_NO_PAD.encode(format!("reply:{}", reply_key.expose()))
    );
    assert_eq!(
        authenticate(&policy, Some(header.as_bytes())).unwrap().name,
        "reply"
    );
    let header = format!("BEARER {}", triage_key.expose());
    assert_eq!(
        authenticate(&policy, Some(header.as_bytes())).unwrap().name,
        "triage"
    );
    // A key may hold `:` after the name's: Basic splits at the first.
    let colon_key = AgentKey::new("a:b:c");
    let agent = Agent::new(
        "colon",
        colon_key.hash(),
        "website:visitors=read".parse().unwrap(),
        Websites::Any,
    );
    let policy = Policy::parse(&agent.to_toml(), "t.toml").unwrap();
    assert!(authenticate(&policy, Some(&basic("colon", "a:b:c"))).is_ok());
}

#[test]
fn wrong_or_unknown_credentials_are_refused_alike() {
    let (policy, triage_key, reply_key) = policy();
    let t = triage_key.expose();
    let r = reply_key.expose();
    let secrets = [t, r];
    // An unknown agent, and a known agent with a wrong key: the same answer.
    let unknown = authenticate(&policy, Some(&basic("nobody", t))).unwrap_err();
    let wrong = authenticate(&policy, Some(&basic("triage", "not-the-key"))).unwrap_err();
    assert_eq!(unknown, wrong);
    assert_refused(Err(unknown), "unknown agent or wrong key", &secrets);
    // Right name, another agent's (valid) key.
    assert_refused(
        authenticate(&policy, Some(&basic("triage", r))),
        "unknown agent or wrong key",
        &secrets,
    );
    // Bearer with what a Basic header carries (base64 of name:key, or name:key itself).
    let basic_value = STANDARD.encode(format!("triage:{t}"));
    assert_refused(
        authenticate(&policy, Some(&bearer(&basic_value))),
        "unknown agent or wrong key",
        &secrets,
    );
    assert_refused(
        authenticate(&policy, Some(&bearer(&format!("triage:{t}")))),
        "unknown agent or wrong key",
        &secrets,
    );
    // Keys are case-sensitive: a hex key in upper case, or a base64url key with its case
    // flipped, is another key.
    assert_refused(
        authenticate(&policy, Some(&bearer(&t.to_uppercase()))),
        "unknown agent or wrong key",
        &secrets,
    );
    let flipped: String = r
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    assert_ne!(flipped, r);
    assert_refused(
        authenticate(&policy, Some(&basic("reply", &flipped))),
        "unknown agent or wrong key",
        &secrets,
    );
    // The name is case-sensitive too.
    assert_refused(
        authenticate(&policy, Some(&basic("TRIAGE", t))),
        "unknown agent or wrong key",
        &secrets,
    );
}

#[test]
fn malformed_headers_are_refused_saying_how() {
    let (policy, triage_key, _) = policy();
    let t = triage_key.expose();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"Basic not base64!".to_vec(), "not base64"),
        (b"Basic ".to_vec(), "no `:`"),
        (
            format!("Basic {}", STANDARD.encode(format!("triage{t}"))).into_bytes(),
            "no `:`",
        ),
        (basic("", t), "empty agent name or key"),
        (basic("triage", ""), "empty agent name or key"),
        (
            format!("Basic {}", STANDARD.encode(b"triage:\xff\xfe")).into_bytes(),
            "not UTF-8",
        ),
        (b"Bearer".to_vec(), "empty"),
        (b"Bearer    ".to_vec(), "empty"),
        (format!("Bearer {t} {t}").into_bytes(), "holds spaces"),
        (b"Bearer \xff\xff".to_vec(), "not text"),
        (b"".to_vec(), "neither Basic nor Bearer"),
        (t.as_bytes().to_vec(), "neither Basic nor Bearer"),
        (
            format!("Digest {t}").into_bytes(),
            "neither Basic nor Bearer",
        ),
        (
            format!("Token {t}").into_bytes(),
            "neither Basic nor Bearer",
        ),
    ];
    for (header, says) in cases {
        assert_refused(authenticate(&policy, Some(&header)), says, &[t]);
        assert!(parse_authorization(&header).is_err());
    }
    assert_refused(authenticate(&policy, None), "no credentials", &[t]);
}

#[test]
fn no_header_bytes_make_it_panic() {
    let (policy, _, _) = policy();
    // Every prefix of a few headers, and every single byte after each scheme.
    let headers: [&[u8]; 3] = [b"Basic dHJpYWdlOmtleQ==", b"Bearer abc", b"Basic \xc3\x28:"];
    for header in headers {
        for end in 0..=header.len() {
            let _ = authenticate(&policy, Some(&header[..end]));
        }
    }
    for scheme in [&b"Basic "[..], b"Bearer "] {
        for byte in 0..=u8::MAX {
            let mut header = scheme.to_vec();
            header.push(byte);
            assert!(authenticate(&policy, Some(&header)).is_err());
        }
    }
}

#[test]
fn credentials_redact_their_key() {
    let header = basic("triage", "s3cret-key");
    let credentials = parse_authorization(&header).unwrap();
    assert_eq!(credentials.key().expose(), "s3cret-key");
    assert!(matches!(&credentials, Credentials::Basic { name, .. } if name == "triage"));
    assert!(!format!("{credentials:?}").contains("s3cret"));
}

#[test]
fn a_key_in_the_query_string_is_refused_without_repeating_it() {
    let (policy, triage_key, _) = policy();
    let t = triage_key.expose();
    let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert!(refuse_key_in_query(&policy, &query(&[("filter_unread", "1")])).is_ok());
    for pairs in [
        &[("filter_unread", "1"), ("q", t)][..],
        &[("key", t)],
        &[("access_token", "anything")],
        &[("ACCESS_TOKEN", "x")],
    ] {
        let refusal = refuse_key_in_query(&policy, &query(pairs)).unwrap_err();
        assert_eq!((refusal.status, refusal.rule), (400, Rule::Request));
        assert!(
            refusal.message.contains("Authorization header"),
            "{refusal}"
        );
        assert!(!refusal.to_string().contains(t));
    }
}
