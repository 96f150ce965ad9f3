//! `crisp-gateway approvals`: the proposals agents made, approved or denied by a person.
//!
//! ```text
//! crisp-gateway approvals list    [--data DIR] [--all] [--agent NAME] [--limit N] [--json]
//! crisp-gateway approvals approve ID --policy FILE [--data DIR] [--note TEXT] [--as NAME]
//! crisp-gateway approvals deny    ID [--data DIR] [--note TEXT] [--as NAME]
//! ```
//!
//! Every command acts on the store directly, so it works beside a running gateway and with the
//! gateway stopped. `list` only reads (it shows a pending proposal past its time as expired).
//! `approve` sends the request itself, through the same path as the gateway
//! ([`Gateway::approve`]): it needs what the gateway's `run` has, the upstream token in the
//! environment (`CRISP_IDENTIFIER`, `CRISP_KEY`, `CRISP_TIER`, `CRISP_BASE_URL`) and the policy
//! (`--policy`: the agent must still be in it, its rules still allow the call, and its budget
//! and the token's quota are charged, in the store the gateway counts in). The reviewer is the
//! OS user, or `--as NAME`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crisp_api::Client;
use crisp_api::env::{Env, Website};
use serde_json::{Value, json};

use super::audit::{Data, cell, clean_cut, short_ids, write_table};
use super::run::USER_AGENT;
use crate::approvals::{ApprovalView, human};
use crate::audit::{AuditConfig, AuditLog};
use crate::gateway::{Gateway, Outcome, ReviewError, Reviewer, deny_in_store};
use crate::policy::Policy;
use crate::store::{self, Approval, ApprovalFilter, ApprovalState, SQLITE_FILE, Store};
use crate::upstream::Upstream;

/// The audit rows' front of a step taken on the command line.
pub const FRONT: &str = "cli";

/// The longest note a reviewer may leave (the agent reads it).
pub const NOTE_MAX: usize = 2_000;

/// The arguments of `approvals list`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ListArgs {
    /// The data directory.
    #[command(flatten)]
    pub data: Data,
    /// Every proposal (approved, denied, expired ... with its state), not only pending ones.
    #[arg(long)]
    pub all: bool,
    /// Only this agent's proposals.
    #[arg(long, value_name = "NAME")]
    pub agent: Option<String>,
    /// At most this many, the newest.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: u32,
    /// One JSON object per line (the whole request and what became of it) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `approvals approve` and `approvals deny`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct DecideArgs {
    /// The approval's id (`approvals list` shows it).
    pub id: String,
    /// The data directory.
    #[command(flatten)]
    pub data: Data,
    /// A note for the agent (it reads it in the approval's status).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Who decides, as the audit records it (default: the OS user).
    #[arg(long = "as", value_name = "NAME")]
    pub reviewer: Option<String>,
}

/// The arguments of `approvals approve`: those of [`DecideArgs`], and the policy.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ApproveArgs {
    /// The approval, the data directory, the note and the reviewer.
    #[command(flatten)]
    pub decide: DecideArgs,
    /// The policy file the gateway runs with: the call is checked again under it, and the
    /// agent's budget and the token's quota are charged.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
}

/// Runs `approvals list`: prints the proposals on standard output.
///
/// # Errors
/// One sentence for the user: the store is missing, cannot be opened or read.
pub async fn list(args: ListArgs) -> Result<(), String> {
    let now = Utc::now().timestamp_millis();
    let store = args.data.open_read_only().await?;
    let filter = ApprovalFilter {
        state: (!args.all).then_some(ApprovalState::Pending),
        agent: args.agent.clone(),
        limit: Some(args.limit),
    };
    let found = match store.approvals() {
        Some(approvals) => approvals.list_approvals(&filter).await,
        None => Ok(Vec::new()),
    };
    store.close().await;
    let views: Vec<ApprovalView> = found
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|approval| ApprovalView::new(approval, now))
        .filter(|view| args.all || view.state == ApprovalState::Pending)
        .collect();
    match render(&views, args.all, args.json, now, &mut io::stdout().lock()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the approvals: {e}"))
        }
        _ => Ok(()),
    }
}

/// Runs `approvals approve`: checks, charges, claims and sends the proposal, and says what
/// Crisp answered.
///
/// # Errors
/// One sentence for the user: nothing to approve (unknown, decided, expired), the call refused
/// now, the environment or policy missing, the store; or, once sent, Crisp's error or an
/// unknown outcome (the request is never sent again).
pub async fn approve(args: ApproveArgs) -> Result<String, String> {
    let reviewer = reviewer(args.decide.reviewer.as_deref())?;
    let note = note(args.decide.note)?;
    let policy = Policy::load(&args.policy).map_err(|e| e.to_string())?;
    let client = upstream_client()?;
    let store = open(&args.decide.data).await?;
    let audit = AuditLog::start(Arc::clone(&store), AuditConfig::default());
    let gateway = Gateway::new(policy, Arc::clone(&store), audit, Upstream::new(client));
    let now = Utc::now().timestamp_millis();
    let result = gateway.approve(&args.decide.id, &reviewer, note, now).await;
    if let Err(error) = gateway.close().await {
        tracing::warn!(%error, "the approval's audit log did not close cleanly");
    }
    store.close().await;
    let sent = result.map_err(|e| e.to_string())?;
    let approval = &sent.approval;
    let what = format!(
        "approved {} ({} by agent `{}`) and sent it",
        approval.id, approval.operation, approval.agent
    );
    let envelope = sent.outcome.envelope();
    let said = |envelope: &Value| {
        let reason = envelope["reason"].as_str().unwrap_or("-");
        match envelope["data"]["message"].as_str() {
            Some(message) => format!("{reason}: {message}"),
            None => reason.to_owned(),
        }
    };
    match (&sent.outcome, approval.state) {
        (_, ApprovalState::UnknownOutcome) => Err(format!(
            "{what}, but what happened is not known ({}): it is never sent again; check in Crisp",
            said(&envelope)
        )),
        (outcome, _) if outcome.is_success() => {
            let recorded = if sent.recorded {
                ""
            } else {
                " (the answer could not be recorded: the approval will read unknown_outcome)"
            };
            Ok(format!(
                "{what}: Crisp answered {} {}{recorded}",
                outcome.status(),
                envelope["reason"].as_str().unwrap_or("-")
            ))
        }
        (Outcome::Answered { status, .. }, _) => Err(format!(
            "{what}, and Crisp answered {status} {}; it is not sent again",
            said(&envelope)
        )),
        (outcome, _) => Err(format!(
            "{what}, and it was answered {} {}",
            outcome.status(),
            said(&envelope)
        )),
    }
}

/// Runs `approvals deny`: the proposal is never sent; the agent reads the note.
///
/// # Errors
/// One sentence for the user: nothing to deny (unknown, decided, expired), or the store.
pub async fn deny(args: DecideArgs) -> Result<String, String> {
    let reviewer = reviewer(args.reviewer.as_deref())?;
    let note = note(args.note)?;
    let store = open(&args.data).await?;
    // No upstream: a denial sends nothing. The gateway's decision path is not needed either;
    // the store's transition is the whole of it.
    let now = Utc::now().timestamp_millis();
    let result = match store.approvals() {
        Some(approvals) => deny_in_store(approvals, &args.id, &reviewer, note, now)
            .await
            .map_err(|e| e.to_string()),
        None => Err(ReviewError::NoApprovals.to_string()),
    };
    store.close().await;
    let denied = result?;
    Ok(format!(
        "denied {} ({} by agent `{}`): it is never sent",
        denied.id, denied.operation, denied.agent
    ))
}

/// The gateway's store: its PostgreSQL database, or the SQLite file under `data`, which must
/// exist (a decision on a store that was never started is a wrong `--data`).
async fn open(data: &Data) -> Result<Arc<dyn Store>, String> {
    let file = data.data.join(SQLITE_FILE);
    if data.database.is_none() && !file.is_file() {
        return Err(store::StoreError::Missing { path: file }.to_string());
    }
    store::open(&data.data, data.database.as_deref())
        .await
        .map_err(|e| e.to_string())
}

/// The upstream client, from the environment the gateway runs with.
fn upstream_client() -> Result<Client, String> {
    let env = Env::read(Website::Optional).map_err(|e| e.to_string())?;
    let crisp = env.crisp.ok_or_else(|| {
        "approve sends the request, so it needs the gateway's upstream token: run it with the \
         same CRISP_IDENTIFIER, CRISP_KEY and CRISP_TIER (and CRISP_BASE_URL, if set) as the \
         gateway (a gateway on its embedded sandbox has no token to share: approve from its \
         dashboard instead)"
            .to_owned()
    })?;
    crisp
        .client_builder()
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| format!("the upstream client: {e}"))
}

/// The reviewer: `--as NAME`, or the OS user.
fn reviewer(name: Option<&str>) -> Result<Reviewer, String> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => whoami::username()
            .map_err(|e| format!("cannot tell who you are ({e}): say it with --as NAME"))?,
    };
    if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(format!(
            "`{}` is not a reviewer's name: give 1 to 64 characters, no control characters \
             (--as NAME)",
            name.escape_debug()
        ));
    }
    Ok(Reviewer::new(name, FRONT))
}

/// The note, checked: at most [`NOTE_MAX`] characters, no control characters but new lines.
fn note(note: Option<String>) -> Result<Option<String>, String> {
    let Some(note) = note else { return Ok(None) };
    if note.chars().count() > NOTE_MAX {
        return Err(format!(
            "the note is longer than {NOTE_MAX} characters: shorten it"
        ));
    }
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err("the note holds control characters: write plain text".to_owned());
    }
    Ok(Some(note))
}

/// Writes `views` to `out`: a table (with a STATE column for `all`), or one JSON object per
/// line with `json`.
///
/// # Errors
/// What writing to `out` returned.
pub fn render(
    views: &[ApprovalView],
    all: bool,
    json: bool,
    now_ms: i64,
    out: &mut dyn Write,
) -> io::Result<()> {
    if json {
        for view in views {
            writeln!(out, "{}", json_line(view))?;
        }
        return Ok(());
    }
    if views.is_empty() {
        return writeln!(
            out,
            "{}",
            if all {
                "no approvals"
            } else {
                "no pending approvals"
            }
        );
    }
    let mut header = vec!["ID", "AGENT", "OPERATION", "IDS", "AGE"];
    if all {
        header.push("STATE");
    }
    header.push("PREVIEW");
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|view| {
            let approval = &view.approval;
            let mut cells = vec![
                approval.id.clone(),
                cell(&approval.agent),
                cell(&approval.operation),
                short_ids(&approval.path_ids),
                human_age(now_ms.saturating_sub(approval.created_ms)),
            ];
            if all {
                cells.push(view.state.as_str().to_owned());
            }
            cells.push(preview(approval));
            cells
        })
        .collect();
    write_table(out, &header, &rows)
}

/// The longest one-line preview.
const PREVIEW_MAX: usize = 60;

/// What the request would do, in one line: a message's text (`text: "Hello"`), or the body in
/// compact JSON, or the method and path; control characters shown as `?`.
pub fn preview(approval: &Approval) -> String {
    let text = match &approval.body {
        Some(body) => match (
            body.get("type").and_then(Value::as_str),
            body.get("content"),
        ) {
            (Some(kind), Some(Value::String(content))) => format!("{kind}: {content:?}"),
            _ => body.to_string(),
        },
        None => format!("{} {}", approval.method, approval.operation),
    };
    clean_cut(&text, PREVIEW_MAX)
}

/// An age such as `42s`, `5m`, `3h`, `2d` (rounded down).
fn human_age(ms: i64) -> String {
    let seconds = u64::try_from(ms / 1000).unwrap_or(0);
    let whole = match seconds {
        s if s >= 86_400 => s - s % 86_400,
        s if s >= 3600 => s - s % 3600,
        s if s >= 60 => s - s % 60,
        s => s,
    };
    human(std::time::Duration::from_secs(whole))
}

fn json_line(view: &ApprovalView) -> Value {
    let a = &view.approval;
    let at = |ms: Option<i64>| {
        ms.and_then(DateTime::<Utc>::from_timestamp_millis)
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    let ids: serde_json::Map<String, Value> = a
        .path_ids
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    let query: serde_json::Map<String, Value> = a
        .query
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    json!({
        "id": a.id,
        "state": view.state.as_str(),
        "status": view.status(),
        "agent": a.agent,
        "key_id": a.key_id,
        "front": a.front,
        "client": a.client,
        "operation": a.operation,
        "method": a.method,
        "ids": ids,
        "query": query,
        "body": a.body,
        "created_at": at(Some(a.created_ms)),
        "expires_at": at(Some(a.expires_ms)),
        "decided_by": a.decided_by,
        "decided_at": at(a.decided_ms),
        "note": a.note,
        "sent_at": at(a.sending_ms),
        "finished_at": at(a.finished_ms),
        "answer_status": a.answer_status,
        "answer": a.answer,
        "error": a.error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(body: Option<Value>) -> Approval {
        let mut approval = Approval::pending("a".repeat(32), "reply".into(), 0, 1);
        approval.operation = "send_message".into();
        approval.method = "POST".into();
        approval.body = body;
        approval
    }

    #[test]
    fn a_message_is_previewed_by_its_text_on_one_safe_line() {
        let message = approval(Some(
            json!({"type": "text", "from": "operator", "origin": "chat",
            "content": "Hello\nthere \u{1b}[2J"}),
        ));
        assert_eq!(preview(&message), r#"text: "Hello\nthere \u{1b}[2J""#);
        let other = approval(Some(json!({"state": "resolved"})));
        assert_eq!(preview(&other), r#"{"state":"resolved"}"#);
        assert_eq!(preview(&approval(None)), "POST send_message");
        let long = approval(Some(json!({"type": "text", "content": "x".repeat(200)})));
        assert_eq!(preview(&long).chars().count(), PREVIEW_MAX);
    }

    #[test]
    fn ages_round_down_to_their_largest_unit() {
        assert_eq!(human_age(42_500), "42s");
        assert_eq!(human_age(5 * 60_000 + 10_000), "5m");
        assert_eq!(human_age(3 * 3_600_000 + 1), "3h");
        assert_eq!(human_age(2 * 86_400_000 + 3_600_000), "2d");
    }

    #[test]
    fn reviewers_and_notes_are_checked() {
        assert_eq!(reviewer(Some("alice")).unwrap().name, "alice");
        assert!(reviewer(Some("")).is_err());
        assert!(reviewer(Some("a\u{1b}b")).is_err());
        assert_eq!(
            note(Some("ok\nthanks".into())),
            Ok(Some("ok\nthanks".into()))
        );
        assert!(note(Some("x".repeat(NOTE_MAX + 1))).is_err());
        assert!(note(Some("bad\u{7}".into())).is_err());
    }
}
