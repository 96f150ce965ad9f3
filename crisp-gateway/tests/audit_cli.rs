//! `crisp-gateway audit`: its arguments as clap parses them, the query on a real store (beside
//! a gateway that has it open), the table and the JSON lines.

use clap::Parser as _;
use crisp_gateway::cli::audit::{self, Args};
use crisp_gateway::store::{AuditRow, SqliteStore, Store as _};

#[derive(clap::Parser)]
struct Command {
    #[command(flatten)]
    args: Args,
}

fn args(data: &std::path::Path, more: &[&str]) -> Args {
    let data = data.to_str().unwrap();
    Command::try_parse_from(["audit", "--data", data].iter().chain(more))
        .unwrap_or_else(|e| panic!("{e}"))
        .args
}

const HOUR_MS: i64 = 3_600_000;
const NOW_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn row(ago_ms: i64, agent: &str, operation: &str, refused: bool) -> AuditRow {
    AuditRow {
        at_ms: NOW_MS - ago_ms,
        agent: Some(agent.to_owned()),
        key_id: Some("9f86d081".to_owned()),
        front: "mcp".to_owned(),
        client: Some("claude\u{1b}]0;pwned\u{7}".to_owned()),
        operation: Some(operation.to_owned()),
        method: Some("POST".to_owned()),
        path_ids: vec![
            (
                "website_id".to_owned(),
                "8c842203-7ed8-4e29-a608-7cf78a7d2fcc".to_owned(),
            ),
            (
                "session_id".to_owned(),
                "session_700c65e1-5bd1-4b7a-a0e4-9f5b2d1e3c4a".to_owned(),
            ),
        ],
        decision: if refused { "refused" } else { "allowed" }.to_owned(),
        why: refused.then(|| "inbox".to_owned()),
        outcome: (!refused).then(|| "succeeded".to_owned()),
        status: Some(if refused { 403 } else { 200 }),
        reason: Some(if refused { "not_allowed" } else { "dispatched" }.to_owned()),
        error: None,
        attempts: u32::from(!refused),
        upstream_requests: 1,
        latency_us: 2_500,
    }
}

/// A data directory whose store a "gateway" holds open (and keeps writing to).
async fn data_dir() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let gateway = SqliteStore::open(dir.path().join("gateway.sqlite"))
        .await
        .unwrap();
    gateway
        .write_audit(&[
            row(3 * HOUR_MS, "triage", "list_conversations", false),
            row(2 * HOUR_MS, "reply", "send_message", true),
            row(HOUR_MS / 2, "reply", "send_message", false),
            row(1_000, "triage", "get_conversation", false),
        ])
        .await
        .unwrap();
    (dir, gateway)
}

async fn times(args: &Args) -> Vec<i64> {
    audit::query(args, NOW_MS)
        .await
        .unwrap()
        .iter()
        .map(|r| (NOW_MS - r.at_ms) / 1_000)
        .collect()
}

#[tokio::test]
async fn the_filters_narrow_the_rows_newest_first() {
    let (dir, _gateway) = data_dir().await;
    let d = dir.path();
    assert_eq!(times(&args(d, &[])).await, [1, 1_800, 7_200, 10_800]);
    assert_eq!(times(&args(d, &["--agent", "reply"])).await, [1_800, 7_200]);
    assert_eq!(
        times(&args(d, &["--operation", "get_conversation"])).await,
        [1]
    );
    assert_eq!(times(&args(d, &["--decision", "refused"])).await, [7_200]);
    assert_eq!(times(&args(d, &["--since", "1h"])).await, [1, 1_800]);
    assert_eq!(times(&args(d, &["--since", "30m"])).await, [1, 1_800]);
    assert_eq!(
        times(&args(d, &["--since", "2025-12-31T21:30:00Z"])).await,
        [1, 1_800, 7_200]
    );
    assert_eq!(times(&args(d, &["--limit", "2"])).await, [1, 1_800]);
    assert!(
        times(&args(d, &["--agent", "reply", "--since", "10m"]))
            .await
            .is_empty()
    );
}

#[test]
fn bad_arguments_are_refused_with_what_is_accepted() {
    let d = std::path::Path::new("/nowhere");
    for (flag, value, expected) in [
        ("--decision", "refuse", "one of: allowed, refused"),
        ("--since", "yesterday", "neither a duration"),
        ("--limit", "-3", "-3"),
    ] {
        let error = Command::try_parse_from(["audit", "--data", d.to_str().unwrap(), flag, value])
            .err()
            .unwrap_or_else(|| panic!("{flag} {value} is refused"))
            .to_string();
        assert!(error.contains(expected), "{error}");
    }
    let defaults = Command::try_parse_from(["audit"]).unwrap().args;
    assert_eq!(defaults.data.data, std::path::Path::new("./.crisp-gateway"));
    assert_eq!(defaults.limit, 100);
    assert!(!defaults.json);
}

#[tokio::test]
async fn json_is_one_object_per_line_with_every_field() {
    let (dir, _gateway) = data_dir().await;
    let rows = audit::query(&args(dir.path(), &["--json"]), NOW_MS)
        .await
        .unwrap();
    let mut out = Vec::new();
    audit::render(&rows, true, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    let refused = &lines[2];
    assert_eq!(refused["at"], "2025-12-31T22:00:00.000Z");
    assert_eq!(refused["at_ms"], NOW_MS - 2 * HOUR_MS);
    assert_eq!(refused["agent"], "reply");
    assert_eq!(refused["key_id"], "9f86d081");
    assert_eq!(refused["front"], "mcp");
    assert_eq!(refused["client"], "claude\u{1b}]0;pwned\u{7}");
    assert_eq!(refused["operation"], "send_message");
    assert_eq!(refused["method"], "POST");
    assert_eq!(
        refused["ids"],
        serde_json::json!({
            "website_id": "8c842203-7ed8-4e29-a608-7cf78a7d2fcc",
            "session_id": "session_700c65e1-5bd1-4b7a-a0e4-9f5b2d1e3c4a",
        })
    );
    assert_eq!(refused["decision"], "refused");
    assert_eq!(refused["why"], "inbox");
    assert_eq!(refused["outcome"], serde_json::Value::Null);
    assert_eq!(refused["status"], 403);
    assert_eq!(refused["reason"], "not_allowed");
    assert_eq!(refused["attempts"], 0);
    assert_eq!(refused["upstream_requests"], 1);
    assert_eq!(refused["latency_us"], 2_500);
    // The escape sequence is escaped by JSON, not passed to the terminal.
    assert!(!text.contains('\u{1b}'));
}

#[tokio::test]
async fn the_table_is_readable_and_safe_for_a_terminal() {
    let (dir, _gateway) = data_dir().await;
    let rows = audit::query(&args(dir.path(), &[]), NOW_MS).await.unwrap();
    let mut out = Vec::new();
    audit::render(&rows, false, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    for column in [
        "TIME (UTC)",
        "AGENT",
        "FRONT",
        "OPERATION",
        "IDS",
        "DECISION",
        "WHY",
        "STATUS",
        "REASON",
        "LATENCY",
    ] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }
    let refused = lines[3];
    for cell in [
        "2025-12-31 22:00:00.000",
        "reply",
        "mcp",
        "send_message",
        "website=8c842203…,session=700c65e1…",
        "refused",
        "inbox",
        "403",
        "not_allowed",
        "2.5ms",
    ] {
        assert!(refused.contains(cell), "{cell} in {refused}");
    }
    // The columns line up (in characters: a shortened id ends with `…`).
    let column =
        |line: &str, start: usize| -> String { line.chars().skip(start).take(7).collect() };
    let at = lines[0].find("DECISION").unwrap();
    assert_eq!(column(lines[3], at), "refused");
    assert_eq!(column(lines[1], at), "allowed");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));

    let mut out = Vec::new();
    audit::render(&[], false, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "no audit rows match\n");
}

#[tokio::test]
async fn a_missing_store_says_where_it_looked_and_how_to_start_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nothing-here");
    let error = audit::run(args(&data, &[])).await.unwrap_err();
    assert!(
        error.contains(&data.join("gateway.sqlite").display().to_string()),
        "{error}"
    );
    assert!(error.contains("start the gateway"), "{error}");
    assert!(
        error.contains(&format!("--data {}", data.display())),
        "{error}"
    );
    assert!(!data.exists(), "the query creates nothing");
}
