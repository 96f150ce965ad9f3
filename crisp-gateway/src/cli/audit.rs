//! `crisp-gateway audit`: the audit log, queried from the store (read-only, so it runs beside
//! a running gateway).
//!
//! ```text
//! crisp-gateway audit [--data DIR] [--agent A] [--operation OP] [--decision refused]
//!                     [--since 1h|30m|2d|RFC3339] [--limit N] [--json]
//! ```
//!
//! A table by default, newest first; `--json` prints one object per line.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::store::{self, AuditFilter, AuditRow, DECISIONS, Store};

/// Where a gateway's store is, for the commands that read or change it beside the gateway
/// (`audit` and `approvals`).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Data {
    /// The gateway's data directory (the one it was started with), holding gateway.sqlite.
    #[arg(long, value_name = "DIR", default_value = "./.crisp-gateway")]
    pub data: PathBuf,
    /// The gateway's PostgreSQL database, when it runs on one (`--database` of `run`); used
    /// instead of gateway.sqlite.
    #[arg(
        long,
        value_name = "URL",
        env = "CRISP_GATEWAY_DATABASE",
        hide_env_values = true
    )]
    pub database: Option<String>,
}

impl Data {
    /// The store, opened read-only.
    ///
    /// # Errors
    /// The store's error, as one sentence: it is missing, or cannot be opened.
    pub async fn open_read_only(&self) -> Result<Arc<dyn Store>, String> {
        store::open_read_only(&self.data, self.database.as_deref())
            .await
            .map_err(|e| e.to_string())
    }
}

/// The arguments of `crisp-gateway audit`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Args {
    /// Where the store is.
    #[command(flatten)]
    pub data: Data,
    /// Only this agent's requests.
    #[arg(long, value_name = "NAME")]
    pub agent: Option<String>,
    /// Only requests for this operation (an operation id, such as list_conversations).
    #[arg(long, value_name = "OPERATION")]
    pub operation: Option<String>,
    /// Only rows with this decision: allowed, refused, confirmed, awaiting_confirmation, or an
    /// approval's proposed, approved, denied, expired, sent, unknown_outcome.
    #[arg(long, value_name = "DECISION", value_parser = parse_decision)]
    pub decision: Option<String>,
    /// Only requests since then: a duration ago (90s, 30m, 1h, 2d) or an RFC 3339 time
    /// (2026-05-01T12:00:00Z).
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<Since>,
    /// At most this many requests, the newest.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: u32,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A `--since` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// This many milliseconds before now.
    Ago(i64),
    /// This Unix time in milliseconds.
    At(i64),
}

impl Since {
    /// The Unix time in milliseconds this means, `now_ms` being now.
    pub fn resolve(self, now_ms: i64) -> i64 {
        match self {
            Self::Ago(ms) => now_ms.saturating_sub(ms),
            Self::At(ms) => ms,
        }
    }
}

/// Parses `--since`: `N` followed by `s`, `m`, `h` or `d`, or an RFC 3339 time.
///
/// # Errors
/// A message naming the value and the forms accepted.
pub fn parse_since(text: &str) -> Result<Since, String> {
    let unit_ms = match text.chars().last() {
        Some('s') => Some(1_000),
        Some('m') => Some(60_000),
        Some('h') => Some(3_600_000),
        Some('d') => Some(86_400_000),
        _ => None,
    };
    if let Some(unit_ms) = unit_ms {
        let digits = &text[..text.len() - 1];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return digits
                .parse::<i64>()
                .ok()
                .and_then(|n| n.checked_mul(unit_ms))
                .map(Since::Ago)
                .ok_or_else(|| format!("`{text}` is too long ago"));
        }
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| Since::At(at.timestamp_millis()))
        .map_err(|_| {
            format!(
                "`{text}` is neither a duration (90s, 30m, 1h, 2d) nor an RFC 3339 time \
                 (2026-05-01T12:00:00Z)"
            )
        })
}

fn parse_decision(text: &str) -> Result<String, String> {
    if DECISIONS.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not a decision; one of: {}",
            DECISIONS.join(", ")
        ))
    }
}

/// Runs `crisp-gateway audit`: queries the store under `--data` and prints the rows on
/// standard output.
///
/// # Errors
/// One sentence for the user: the store is missing (where it looked, and how to start the
/// gateway), cannot be opened or read.
pub async fn run(args: Args) -> Result<(), String> {
    let rows = query(&args, Utc::now().timestamp_millis()).await?;
    match render(&rows, args.json, &mut io::stdout().lock()) {
        // `crisp-gateway audit | head` closes the pipe early: that is not a failure.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the audit rows: {e}"))
        }
        _ => Ok(()),
    }
}

/// The rows `args` asks for, newest first, from the store under `args.data` opened read-only;
/// `now_ms` resolves a relative `--since`.
///
/// # Errors
/// The store's error, as one sentence.
pub async fn query(args: &Args, now_ms: i64) -> Result<Vec<AuditRow>, String> {
    let store = args.data.open_read_only().await?;
    let filter = AuditFilter {
        agent: args.agent.clone(),
        operation: args.operation.clone(),
        decision: args.decision.clone(),
        since_ms: args.since.map(|since| since.resolve(now_ms)),
        limit: Some(args.limit),
        ..AuditFilter::default()
    };
    let rows = store.query_audit(&filter).await.map_err(|e| e.to_string());
    store.close().await;
    rows
}

/// Writes `rows` to `out`: a table, or one JSON object per line with `json`.
///
/// # Errors
/// What writing to `out` returned.
pub fn render(rows: &[AuditRow], json: bool, out: &mut dyn Write) -> io::Result<()> {
    if json {
        for row in rows {
            writeln!(out, "{}", json_line(row))?;
        }
        return Ok(());
    }
    if rows.is_empty() {
        return writeln!(out, "no audit rows match");
    }
    let table: Vec<[String; COLUMNS.len()]> = rows.iter().map(table_cells).collect();
    write_table(out, &COLUMNS, &table)
}

/// Writes a table: `header` and `rows` in columns as wide as their widest cell, two spaces
/// apart, no trailing spaces.
///
/// # Errors
/// What writing to `out` returned.
pub(super) fn write_table<R: AsRef<[String]>>(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[R],
) -> io::Result<()> {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|cells| cells.as_ref()[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let header: Vec<String> = header.iter().map(|c| (*c).to_owned()).collect();
    for cells in std::iter::once(&header[..]).chain(rows.iter().map(AsRef::as_ref)) {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

const COLUMNS: [&str; 10] = [
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
];

/// The longest a table cell gets (the JSON has everything).
const CELL_MAX: usize = 40;

fn table_cells(row: &AuditRow) -> [String; COLUMNS.len()] {
    let text = |value: &Option<String>| value.as_deref().map_or_else(|| "-".to_owned(), cell);
    [
        time(row.at_ms),
        text(&row.agent),
        cell(&row.front),
        text(&row.operation),
        short_ids(&row.path_ids),
        cell(&row.decision),
        text(&row.why),
        row.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
        text(&row.reason),
        latency(row.latency_us),
    ]
}

/// A value fit for a terminal cell: control characters (a client name is the agent's to
/// choose, and could carry escape sequences) become `?`, and a long value is cut.
pub(super) fn cell(value: &str) -> String {
    clean_cut(value, CELL_MAX)
}

/// `value` with its control characters shown as `?`, cut to `max` characters (the last an
/// ellipsis) when longer.
pub(super) fn clean_cut(value: &str, max: usize) -> String {
    let clean: String = value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() > max {
        let cut: String = clean.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        clean
    }
}

/// Path ids, short, for a table cell (`website=8c842203…,session=700c65e1…`; `-` for none).
pub(super) fn short_ids(path_ids: &[(String, String)]) -> String {
    if path_ids.is_empty() {
        return "-".to_owned();
    }
    path_ids
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                cell(name.strip_suffix("_id").unwrap_or(name)),
                short_id(value)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// An id shortened to its first 8 characters (after a `session_`-style prefix), as git
/// shortens hashes.
pub(super) fn short_id(value: &str) -> String {
    const KEEP: usize = 8;
    let rest = match value.split_once('_') {
        Some((prefix, rest)) if prefix.chars().all(|c| c.is_ascii_lowercase()) => rest,
        _ => value,
    };
    if rest.chars().count() <= KEEP + 1 {
        return cell(value);
    }
    let kept: String = rest.chars().take(KEEP).collect();
    format!("{}…", cell(&kept))
}

fn time(at_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(at_ms).map_or_else(
        || at_ms.to_string(),
        |at| at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
    )
}

fn latency(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else {
        // Display only: a latency is far below f64's exact range.
        #[allow(clippy::cast_precision_loss)]
        let ms = us as f64 / 1_000.0;
        format!("{ms:.1}ms")
    }
}

/// One audit row as the JSON object `--json` prints (and the dashboard exports): every field,
/// the path ids as an object, the time as RFC 3339 beside the Unix milliseconds.
pub fn json_line(row: &AuditRow) -> serde_json::Value {
    let ids: serde_json::Map<String, serde_json::Value> = row
        .path_ids
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    json!({
        "at": DateTime::<Utc>::from_timestamp_millis(row.at_ms)
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        "at_ms": row.at_ms,
        "agent": row.agent,
        "key_id": row.key_id,
        "front": row.front,
        "client": row.client,
        "operation": row.operation,
        "method": row.method,
        "ids": ids,
        "decision": row.decision,
        "why": row.why,
        "outcome": row.outcome,
        "status": row.status,
        "reason": row.reason,
        "error": row.error,
        "attempts": row.attempts,
        "upstream_requests": row.upstream_requests,
        "latency_us": row.latency_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_rfc3339_times() {
        assert_eq!(parse_since("90s"), Ok(Since::Ago(90_000)));
        assert_eq!(parse_since("30m"), Ok(Since::Ago(1_800_000)));
        assert_eq!(parse_since("1h"), Ok(Since::Ago(3_600_000)));
        assert_eq!(parse_since("2d"), Ok(Since::Ago(172_800_000)));
        assert_eq!(
            parse_since("2026-01-01T00:00:00Z"),
            Ok(Since::At(1_767_225_600_000))
        );
        assert_eq!(
            parse_since("2026-01-01T01:00:00+01:00"),
            Ok(Since::At(1_767_225_600_000))
        );
        assert_eq!(Since::Ago(1_000).resolve(5_000), 4_000);
        for bad in [
            "",
            "h",
            "1w",
            "-1h",
            "1.5h",
            "yesterday",
            "99999999999999999999d",
        ] {
            let error = parse_since(bad).unwrap_err();
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }

    #[test]
    fn decisions_are_checked() {
        assert_eq!(parse_decision("refused"), Ok("refused".to_owned()));
        let error = parse_decision("refuse").unwrap_err();
        assert!(error.contains("allowed, refused"), "{error}");
    }

    #[test]
    fn ids_are_shortened_and_cells_are_safe_for_a_terminal() {
        assert_eq!(
            short_id("8c842203-7ed8-4e29-a608-7cf78a7d2fcc"),
            "8c842203…"
        );
        assert_eq!(
            short_id("session_700c65e1-5bd1-4b7a-a0e4-9f5b2d1e3c4a"),
            "700c65e1…"
        );
        assert_eq!(short_id("short"), "short");
        assert_eq!(cell("evil\u{1b}[2Jclient"), "evil?[2Jclient");
        assert_eq!(cell(&"x".repeat(100)).chars().count(), CELL_MAX);
        assert_eq!(latency(850), "850us");
        assert_eq!(latency(12_345), "12.3ms");
    }
}
