//! `crisp-gateway check FILE`: validate a policy and print what each agent may do.

use std::fmt::Write as _;
use std::path::Path;

use crisp_api::Access;

use crate::decide::effective_operations;
use crate::policy::{Agent, Policy};
use crate::webhooks;

/// Reads the policy at `path` and describes it: each agent's websites, resource rules,
/// budget, rate, approvals, the operations it may call (its grants, less what its resource
/// rules always refuse) and the webhook events it subscribes to (with those its grants never
/// let it see).
///
/// # Errors
///
/// The policy's first error, as `FILE:LINE:COLUMN: FIELD: what is wrong and what to do`.
pub fn check(path: &Path) -> Result<String, String> {
    let policy = Policy::load(path).map_err(|e| e.to_string())?;
    Ok(describe(&policy, &path.display().to_string()))
}

/// The description [`check`] prints.
pub fn describe(policy: &Policy, file: &str) -> String {
    let mut out = String::new();
    let count = policy.agents().len();
    let _ = writeln!(
        out,
        "{file}: valid; {count} agent{}; daily quota {} requests (all agents together); \
         proposals approvable for {}",
        if count == 1 { "" } else { "s" },
        policy.daily_quota(),
        crate::approvals::human(policy.approval_ttl())
    );
    for agent in policy.agents() {
        out.push('\n');
        describe_agent(&mut out, agent);
    }
    out
}

fn describe_agent(out: &mut String, agent: &Agent) {
    let any = |list: &Option<Vec<String>>, what: &str| match list {
        None => format!("any {what}"),
        Some(ids) => ids.join(", "),
    };
    let _ = writeln!(
        out,
        "agent {} (key id {})",
        agent.name,
        agent.key_sha256.key_id()
    );
    let _ = writeln!(out, "  websites:     {}", agent.websites);
    let _ = writeln!(out, "  inboxes:      {}", any(&agent.inboxes, "inbox"));
    let _ = writeln!(
        out,
        "  assigned to:  {}",
        any(&agent.assigned_to, "operator")
    );
    let _ = writeln!(
        out,
        "  daily budget: {}",
        agent
            .daily_budget
            .map_or_else(|| "none".to_owned(), |n| format!("{n} requests"))
    );
    let _ = writeln!(
        out,
        "  rate:         {}",
        agent
            .rate
            .map_or_else(|| "none".to_owned(), |r| r.to_string())
    );
    let _ = writeln!(out, "  confirm:      {} (MCP)", agent.confirm);
    let _ = writeln!(out, "  grants:       {}", agent.grants);
    if let Some(subscription) = &agent.webhook {
        let _ = writeln!(
            out,
            "  webhooks:     {} -> {}",
            subscription.events.join(", "),
            subscription.url
        );
        let never: Vec<String> = subscription
            .events
            .iter()
            .filter_map(|event| {
                let missing: Vec<&str> = webhooks::scopes(event)
                    .into_iter()
                    .filter(|scope| {
                        !agent
                            .grants
                            .level(scope)
                            .is_some_and(|level| level.allows(Access::Read))
                    })
                    .collect();
                (!missing.is_empty())
                    .then(|| format!("{event} (needs {} read)", missing.join(", ")))
            })
            .collect();
        if !never.is_empty() {
            let _ = writeln!(
                out,
                "  subscribed, but never sent (its grants do not read what they are about): {}",
                never.join("; ")
            );
        }
    }
    if agent.has_approvals() {
        let _ = writeln!(
            out,
            "  approve:      {} (marked `approval` below: proposed, sent once a person approves)",
            agent.approve
        );
    }
    let operations: Vec<_> = effective_operations(agent).collect();
    let _ = writeln!(out, "  operations ({}):", operations.len());
    for op in &operations {
        let line = format!("    {:<28} {:<6} {}", op.id, op.method.as_str(), op.path);
        if agent.must_approve(op) {
            let _ = writeln!(out, "{line}  approval");
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    let refused: Vec<_> = agent
        .grants
        .allowed_operations()
        .filter(|op| !operations.contains(op))
        .map(|op| op.id)
        .collect();
    if !refused.is_empty() {
        let _ = writeln!(
            out,
            "  granted, but refused by its inbox/assignee rules (the conversation cannot be \
             checked): {}",
            refused.join(", ")
        );
    }
}
