//! `crisp-gateway`: see the library's documentation and the README.
//!
//! `crisp-gateway [run]` serves the gateway (the default command); `check FILE` validates a
//! policy and prints what each agent may do; `agents add NAME` makes an agent's key and prints
//! the table to paste into the policy; `agents webhook-secret NAME` prints an agent's webhook
//! signing secret; `audit` queries the audit log; `reload` makes the running gateway re-read
//! its policy; `approvals list|approve|deny` reviews what agents may only propose.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use crisp_gateway::cli::{self, agents::NewAgent};
use crisp_gateway::policy::KeyFormat;

/// One door between a team's AI agents and Crisp: each agent its own key, grants, websites,
/// conversations and budget; the Crisp key never leaves the gateway; every call checked and
/// stored in an audit log.
#[derive(Parser)]
#[command(
    name = "crisp-gateway",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: cli::run::Args,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gateway (the default command): Crisp's REST API at /v1 (Basic name:key) and MCP
    /// at /mcp (Bearer key) for each agent of the policy, forwarding to Crisp (or to an embedded
    /// sandbox when no Crisp token is in the environment), and the dashboard at / (sign in with
    /// CRISP_GATEWAY_ADMIN_TOKEN, or from loopback only). Prints one JSON line (base_url,
    /// mcp_url, dashboard_url, agents), then logs on stderr.
    /// Receives Crisp's webhooks at /webhooks/crisp when CRISP_WEBHOOK_SECRET (the plugin's
    /// signing secret) is set, and posts each event to the agents that subscribe to it, signed
    /// with secrets derived from CRISP_GATEWAY_WEBHOOK_SECRET.
    Run(cli::run::Args),
    /// Validate a policy file and print each agent's websites, rules, budget, rate and the
    /// operations it may call. Exits 1 with the line and field of the first error.
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
    /// Manage agents.
    Agents {
        #[command(subcommand)]
        command: AgentsCommand,
    },
    /// Query the audit log: every request, refused ones included, newest first.
    Audit(cli::audit::Args),
    /// Make the running gateway re-read its policy file (SIGHUP); a file it refuses leaves
    /// the policy in force.
    Reload(cli::reload::Args),
    /// Review the calls agents may only propose (the policy's `approve`): list them, approve
    /// one (it is then sent, once) or deny it. Works on the store, with the gateway running or
    /// stopped.
    Approvals {
        #[command(subcommand)]
        command: ApprovalsCommand,
    },
}

#[derive(Subcommand)]
enum ApprovalsCommand {
    /// List the pending proposals (id, agent, operation, ids, age, a one-line preview); with
    /// --all every one and its state; --json for one object per line with the whole request.
    List(cli::approvals::ListArgs),
    /// Approve a proposal and send it now, through the same upstream path as the gateway (the
    /// agent's budget and the token's quota are charged then). Needs the gateway's upstream
    /// token in the environment (CRISP_IDENTIFIER, CRISP_KEY, CRISP_TIER, CRISP_BASE_URL) and
    /// its policy (--policy).
    Approve(cli::approvals::ApproveArgs),
    /// Deny a proposal: it is never sent; the agent reads the note in its status.
    Deny(cli::approvals::DecideArgs),
}

#[derive(Subcommand)]
enum AgentsCommand {
    /// Make a new agent's 256-bit key: print the key once on stdout's first line (give it to
    /// the agent; the gateway keeps only its hash), then the [[agents]] table to paste into the
    /// policy file.
    Add(AddArgs),
    /// Print an agent's webhook signing secret (`whsec_...`, Standard Webhooks): derived from
    /// CRISP_GATEWAY_WEBHOOK_SECRET and the agent's name, the same on every replica. Give it to
    /// the agent, which checks the webhook-signature of each event the gateway posts to it.
    WebhookSecret {
        /// The agent's name, as in the policy.
        name: String,
    },
}

#[derive(Args)]
struct AddArgs {
    /// The agent's name: 1 to 64 of a-z, 0-9, `_`, `-` (its Basic identifier on /v1).
    name: String,
    /// Its grants, `scope=level, ...`. Default: read conversations, their messages and states.
    #[arg(long, value_name = "GRANTS", default_value = cli::agents::DEFAULT_GRANTS)]
    grants: String,
    /// A website id it may act on (repeat for several; `*` for every website).
    #[arg(long = "website", value_name = "ID", required = true)]
    websites: Vec<String>,
    /// Only conversations in this inbox (repeat for several).
    #[arg(long = "inbox", value_name = "ID")]
    inboxes: Vec<String>,
    /// Only conversations assigned to this operator's user id (repeat for several).
    #[arg(long = "assigned-to", value_name = "USER_ID")]
    assigned_to: Vec<String>,
    /// Requests a day (UTC) for this agent.
    #[arg(long, value_name = "N")]
    daily_budget: Option<u64>,
    /// Its rate: N/second, N/minute or N/hour.
    #[arg(long, value_name = "RATE")]
    rate: Option<String>,
    /// How the key is written.
    #[arg(long, value_enum, default_value_t = Format::Hex)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// 64 hex digits.
    Hex,
    /// 43 characters of base64url.
    Base64url,
}

#[tokio::main]
async fn main() -> ExitCode {
    crisp_serve::tracing_to_stderr_capped("crisp_gateway=info", crisp_gateway::mcp::LOG_CAPS);
    let cli = Cli::parse();
    let result = match cli.command {
        None => cli::run::run(cli.run).await,
        Some(Command::Run(args)) => cli::run::run(args).await,
        Some(Command::Check { file }) => cli::check::check(&file).and_then(|text| print(&text)),
        Some(Command::Agents {
            command: AgentsCommand::Add(args),
        }) => add(args),
        Some(Command::Agents {
            command: AgentsCommand::WebhookSecret { name },
        }) => webhook_secret(&name),
        Some(Command::Audit(args)) => cli::audit::run(args).await,
        Some(Command::Reload(args)) => {
            cli::reload::run(&args).map(|said| eprintln!("crisp-gateway: {said}"))
        }
        Some(Command::Approvals { command }) => match command {
            ApprovalsCommand::List(args) => cli::approvals::list(args).await,
            ApprovalsCommand::Approve(args) => cli::approvals::approve(args)
                .await
                .and_then(|said| print(&format!("{said}\n"))),
            ApprovalsCommand::Deny(args) => cli::approvals::deny(args)
                .await
                .and_then(|said| print(&format!("{said}\n"))),
        },
    };
    crisp_serve::exit("crisp-gateway", result)
}

fn add(args: AddArgs) -> Result<(), String> {
    let added = cli::agents::add(&NewAgent {
        name: args.name,
        grants: args.grants,
        websites: args.websites,
        inboxes: args.inboxes,
        assigned_to: args.assigned_to,
        daily_budget: args.daily_budget,
        rate: args.rate,
        format: match args.format {
            Format::Hex => KeyFormat::Hex,
            Format::Base64url => KeyFormat::Base64Url,
        },
    })?;
    print(&format!("{}\n\n{}", added.key.expose(), added.table))?;
    eprintln!(
        "crisp-gateway: the first line is the agent's key, shown only this once: give it to the \
         agent (Basic name:key on /v1, Bearer on /mcp). Paste the table into the policy file; \
         the gateway keeps only the key's hash."
    );
    Ok(())
}

fn webhook_secret(name: &str) -> Result<(), String> {
    let secret =
        crisp_gateway::webhooks::agent_webhook_secret(name, |var| std::env::var(var).ok())?;
    print(&format!("{}\n", secret.whsec()))?;
    eprintln!(
        "crisp-gateway: agent `{name}`'s webhook signing secret (a secret: give it to the agent \
         only); it checks the webhook-id, webhook-timestamp and webhook-signature headers of \
         what the gateway posts (Standard Webhooks). It changes if \
         CRISP_GATEWAY_WEBHOOK_SECRET does."
    );
    Ok(())
}

/// Writes to stdout, saying so when it cannot (a closed pipe) rather than panicking.
fn print(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}
