//! `crisp-gateway [run]`: the gateway's main command.
//!
//! ```text
//! crisp-gateway [--port 8484] [--host 127.0.0.1] [--data ./.crisp-gateway/] [--policy FILE]
//!               [--database postgres://...] [--webhook-attempts N] [--webhook-backoff-ms MS]
//!               [--webhook-timeout-ms MS] [--approval-send-stale-ms MS]
//! ```
//!
//! - **Upstream**: with `CRISP_IDENTIFIER` and `CRISP_KEY` (and `CRISP_TIER`) in the
//!   environment, the real Crisp (`CRISP_BASE_URL` changes its base URL), read with
//!   [`crisp_api::env`]; with none of them, an embedded sandbox on loopback (said on stderr):
//!   nothing reaches Crisp.
//! - **Policy**: `--policy FILE`; without it, the demo policy (a read-only `triage` agent and
//!   a `reply` agent that may also send messages, on the sandbox's website, with fresh keys).
//!   Against the real Crisp a policy file is required: demo keys printed to a terminal are no
//!   way to hand out write access to real customers.
//! - **Data**: `--data DIR` holds `gateway.sqlite` (the audit log and the daily counters) and
//!   `gateway.pid` (locked while the gateway runs: one gateway per directory). With
//!   `--database postgres://...` (or `CRISP_GATEWAY_DATABASE`, which keeps its password off the
//!   command line) the store is that PostgreSQL database instead, shared by replicas.
//! - **Webhooks**: Crisp's deliveries at `/webhooks/crisp`, checked with the plugin's signing
//!   secret `CRISP_WEBHOOK_SECRET` (unset: that route answers 503); agents' signing secrets
//!   derived from `CRISP_GATEWAY_WEBHOOK_SECRET` (required when an agent subscribes to events).
//!   See [`webhooks`](mod@crate::webhooks).
//! - **Dashboard**: at `/` (`dashboard_url`): with `CRISP_GATEWAY_ADMIN_TOKEN` set, for
//!   whoever signs in with that token; without it, for loopback peers only.
//! - **Stdout**: one JSON line, `{"base_url", "mcp_url", "crisp_webhook_url", "dashboard_url",
//!   "agents": [{"name", "identifier", "key"}]}` (keys only for the demo policy; `website_id`
//!   too with the embedded sandbox): Crisp's REST API at `base_url` (Basic `identifier:key`),
//!   MCP at `mcp_url` (Bearer `key`), the dashboard at `dashboard_url`.
//!   Then logs, on stderr.
//! - **Approvals**: at start and every minute, proposals past their `approval_ttl` are marked
//!   expired, and sends claimed longer ago than any send takes (their sender stopped mid-way:
//!   a gateway or `approvals approve` that was killed) are marked `unknown_outcome`, never sent
//!   again.
//! - **Signals**: `SIGHUP` (or `crisp-gateway reload`) re-reads the policy file (a file that is
//!   refused leaves the policy in force); on a shared store (PostgreSQL) the reloaded policy is
//!   written to the store and every other replica puts it in force within a moment (see
//!   [`policy_sync`](crate::policy_sync), which also says which wins at start: the file or the
//!   store's revision); Ctrl-C or `SIGTERM` stops accepting, lets the
//!   requests in flight finish, writes every audit row and exits 0.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crisp_api::Client;
use crisp_api::env::{Env, Website};
use crisp_sandbox::Sandbox;
use serde_json::json;
use tokio::net::TcpListener;

use super::pid::PidFile;
use crate::audit::{AuditConfig, AuditLog};
use crate::dashboard::Dashboard;
use crate::gateway::Gateway;
use crate::policy::{DemoAgent, Policy, demo};
use crate::policy_sync::PolicySync;
use crate::rest::BASE_PATH;
use crate::server::{self, MCP_PATH};
use crate::store::{self, Store};
use crate::upstream::Upstream;
use crate::webhooks::{self, DeliveryConfig, WebhookSecrets, Webhooks};

/// The port the gateway listens on by default.
pub const DEFAULT_PORT: u16 = 8484;

/// The `User-Agent` the gateway sends upstream.
pub const USER_AGENT: &str = concat!("crisp-gateway/", env!("CARGO_PKG_VERSION"));

/// The arguments of `crisp-gateway [run]`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Args {
    /// The port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// The address to listen on (loopback by default; every request is authenticated on any
    /// address).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// The data directory: the audit log and the daily counters (gateway.sqlite), and the pid
    /// file.
    #[arg(long, value_name = "DIR", default_value = "./.crisp-gateway")]
    pub data: PathBuf,
    /// The policy file (TOML): the agents, their keys' hashes, grants, websites, inboxes,
    /// operators, budgets and rates. Default: a demo policy with fresh keys (on the embedded
    /// sandbox only).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The store: a PostgreSQL database shared by replicas (postgres://USER:PASSWORD@HOST/DB).
    /// Default: gateway.sqlite in the data directory.
    #[arg(
        long,
        value_name = "URL",
        env = "CRISP_GATEWAY_DATABASE",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// Attempts to deliver an event to an agent, the first included, before it is marked
    /// failed.
    #[arg(long, value_name = "N", default_value_t = DeliveryConfig::default().attempts, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_attempts: u32,
    /// The wait after an agent's first failed delivery, in milliseconds; it doubles after each
    /// further failure, up to an hour.
    #[arg(long, value_name = "MS", default_value_t = millis(DeliveryConfig::default().backoff), value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_backoff_ms: u64,
    /// How long one delivery to an agent may take, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = millis(DeliveryConfig::default().timeout), value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_timeout_ms: u64,
    /// How long an approved call's send may stay claimed before the gateway holds that its
    /// sender stopped (a gateway or `approvals approve` killed mid-send) and marks it
    /// unknown_outcome, never sent again; in milliseconds. It must exceed the longest a send
    /// can take (crisp-api gives up after 3 attempts of 10 s).
    #[arg(long, value_name = "MS", default_value_t = millis(crate::approvals::SEND_STALE), value_parser = clap::value_parser!(u64).range(1..))]
    pub approval_send_stale_ms: u64,
}

impl Args {
    /// How this gateway delivers webhook events to agents.
    pub fn delivery(&self) -> DeliveryConfig {
        let backoff = Duration::from_millis(self.webhook_backoff_ms);
        DeliveryConfig {
            attempts: self.webhook_attempts,
            backoff,
            max_backoff: DeliveryConfig::default().max_backoff.max(backoff),
            timeout: Duration::from_millis(self.webhook_timeout_ms),
            // A retry this replica scheduled wakes it; the poll takes over what others left.
            poll: DeliveryConfig::default().poll.min(backoff),
            ..DeliveryConfig::default()
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Runs the gateway until Ctrl-C or `SIGTERM`; see the [module docs](self).
///
/// # Errors
/// One sentence for the user: the environment, the policy, the data directory, the port, or
/// audit rows that could not be written at shutdown.
pub async fn run(args: Args) -> Result<(), String> {
    // Listen for the signals first: a SIGHUP that arrives before would end the process.
    let signals = Signals::listen()?;
    let env = Env::read(Website::Optional).map_err(|e| e.to_string())?;
    let dashboard = Dashboard::from_env()?;
    let secrets = WebhookSecrets::from_env()?;
    if env.grants.is_some() {
        eprintln!(
            "crisp-gateway: CRISP_GRANTS is ignored: each agent's grants are in the policy file"
        );
    }
    let (builder, sandbox) = match &env.crisp {
        Some(crisp) => (crisp.client_builder(), None),
        None => {
            let sandbox = Sandbox::start()
                .await
                .map_err(|e| format!("the embedded sandbox did not start: {e}"))?;
            let builder = Client::builder(sandbox.credentials()).base_url(sandbox.base_url());
            (builder, Some(sandbox))
        }
    };
    let client = builder
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| format!("the upstream client: {e}"))?;
    let (policy, keys) = match (&args.policy, &sandbox) {
        (Some(path), _) => (Policy::load(path).map_err(|e| e.to_string())?, None),
        (None, Some(sandbox)) => {
            let (policy, keys) = demo(sandbox.website_id())?;
            (policy, Some(keys))
        }
        (None, None) => {
            return Err(
                "against the real Crisp, give the policy: --policy FILE (see \
                        crisp-gateway/gateway.example.toml; `crisp-gateway agents add NAME` makes \
                        an agent's key and table)"
                    .to_owned(),
            );
        }
    };

    std::fs::create_dir_all(&args.data).map_err(|e| {
        format!(
            "cannot create the data directory {}: {e}",
            args.data.display()
        )
    })?;
    let pid = PidFile::claim(&args.data)?;
    let store: Arc<dyn Store> = store::open(&args.data, args.database.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    let audit = AuditLog::start(Arc::clone(&store), AuditConfig::default());
    let send_stale = Duration::from_millis(args.approval_send_stale_ms);
    let gateway = Arc::new(
        Gateway::new(policy, Arc::clone(&store), audit, Upstream::new(client))
            .with_send_stale(send_stale),
    );
    // Replicas on one store share the policy (the newer of the file and the store's revision).
    let sync = match &args.policy {
        Some(file) => match PolicySync::start(Arc::clone(&gateway), file).await {
            Ok(sync) => sync,
            Err(error) => {
                let _ = gateway.close().await;
                store.close().await;
                return Err(error);
            }
        },
        None => None,
    };
    let agents = agents_line(&gateway.policy(), keys.as_deref());
    let hooks = match Webhooks::new(Arc::clone(&gateway), secrets, args.delivery()) {
        Ok(hooks) => Arc::new(hooks),
        Err(error) => {
            let _ = gateway.close().await;
            store.close().await;
            return Err(error);
        }
    };

    let bind = SocketAddr::new(args.host, args.port);
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e} (--port 0 picks a free port)"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let base_url = format!("http://{local}{BASE_PATH}");
    let mcp_url = format!("http://{local}{MCP_PATH}");
    let mut line = json!({
        "base_url": base_url,
        "mcp_url": mcp_url,
        "crisp_webhook_url": format!("http://{local}{}", webhooks::PATH),
        "dashboard_url": format!("http://{local}/"),
        "agents": agents,
    });
    if let Some(sandbox) = &sandbox {
        line["website_id"] = json!(sandbox.website_id());
    }
    print_line(&line.to_string())?;
    say_where(
        &args,
        &gateway,
        sandbox.as_ref(),
        keys.is_some(),
        [&base_url, &mcp_url],
    );
    eprintln!(
        "crisp-gateway: the dashboard at http://{local}/ ({})",
        if dashboard.has_admin_token() {
            "sign in with CRISP_GATEWAY_ADMIN_TOKEN"
        } else {
            "loopback only: set CRISP_GATEWAY_ADMIN_TOKEN to open it from elsewhere"
        }
    );
    if hooks.receives() {
        eprintln!(
            "crisp-gateway: Crisp's webhooks at http://{local}{} (checked with {})",
            webhooks::PATH,
            webhooks::SIGNING_SECRET_VAR
        );
    } else {
        eprintln!(
            "crisp-gateway: Crisp's webhooks are not received: set {} to the plugin's signing \
             secret to receive them at {}",
            webhooks::SIGNING_SECRET_VAR,
            webhooks::PATH
        );
    }
    let deliveries = hooks.start();

    let reloads = tokio::spawn(reload_on_hangup(
        signals.hangup,
        Arc::clone(&gateway),
        args.policy.clone(),
        sync.clone(),
    ));
    let revisions = sync.map(|sync| tokio::spawn(sync.listen()));
    let sweeps = tokio::spawn(sweep_approvals(Arc::clone(&gateway)));
    let router = server::router_with_webhooks(Arc::clone(&gateway), hooks, dashboard, local)?;
    crisp_serve::serve(
        listener,
        router,
        crisp_serve::Limits::default(),
        signals.stop,
    )
    .await;
    reloads.abort();
    sweeps.abort();
    if let Some(revisions) = revisions {
        revisions.abort();
    }
    tracing::info!("stopped accepting; ending the webhook deliveries in flight");
    deliveries.shutdown().await;
    tracing::info!("writing the audit log");
    let flushed = gateway.close().await;
    store.close().await;
    pid.release();
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    flushed.map_err(|e| e.to_string())?;
    eprintln!("crisp-gateway: stopped; every call is in the audit log");
    Ok(())
}

/// The `agents` of the start-up line: names and identifiers, and the keys of the demo policy.
fn agents_line(policy: &Policy, keys: Option<&[DemoAgent]>) -> serde_json::Value {
    let agents: Vec<_> = policy
        .agents()
        .iter()
        .map(|agent| {
            let mut entry = json!({ "name": agent.name, "identifier": agent.name });
            if let Some(key) = keys
                .unwrap_or_default()
                .iter()
                .find(|key| key.name == agent.name)
            {
                entry["key"] = json!(key.key.expose());
            }
            entry
        })
        .collect();
    json!(agents)
}

fn print_line(line: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}

/// What the operator reads on stderr at start.
fn say_where(
    args: &Args,
    gateway: &Gateway,
    sandbox: Option<&Sandbox>,
    demo: bool,
    [base_url, mcp_url]: [&str; 2],
) {
    let policy = gateway.policy();
    match sandbox {
        Some(sandbox) => eprintln!(
            "crisp-gateway: no Crisp token in the environment (CRISP_IDENTIFIER, CRISP_KEY): \
             forwarding to an embedded sandbox at {} (website {}); nothing reaches Crisp",
            sandbox.base_url(),
            sandbox.website_id()
        ),
        None => eprintln!(
            "crisp-gateway: forwarding to Crisp at {} with the token of the environment (its key \
             never leaves the gateway)",
            gateway.upstream().client().base_url()
        ),
    }
    let names: Vec<&str> = policy.agents().iter().map(|a| a.name.as_str()).collect();
    if demo {
        eprintln!(
            "crisp-gateway: demo policy: `triage` reads conversations, `reply` also sends \
             messages; their keys are on stdout, made for this run only"
        );
    } else if let Some(path) = &args.policy {
        eprintln!(
            "crisp-gateway: policy {}: {} agent(s): {}",
            path.display(),
            names.len(),
            names.join(", ")
        );
    }
    eprintln!(
        "crisp-gateway: Crisp's REST API at {base_url} (Basic agent-name:key), MCP at {mcp_url} \
         (Bearer key); data in {}; the calls: crisp-gateway audit --data {}",
        args.data.display(),
        args.data.display()
    );
    if args.database.is_some() {
        eprintln!(
            "crisp-gateway: the store is the PostgreSQL database given with --database, shared \
             by replicas"
        );
    }
}

/// The signals the gateway acts on, listened for from the start.
struct Signals {
    /// Completes on Ctrl-C or SIGTERM.
    stop: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    /// SIGHUP, on Unix.
    hangup: Option<Hangup>,
}

#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = ();

impl Signals {
    fn listen() -> Result<Self, String> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let cannot = |e: std::io::Error| format!("cannot listen for signals: {e}");
            let mut terminate = signal(SignalKind::terminate()).map_err(cannot)?;
            let mut interrupt = signal(SignalKind::interrupt()).map_err(cannot)?;
            let hangup = signal(SignalKind::hangup()).map_err(cannot)?;
            let stop = Box::pin(async move {
                tokio::select! {
                    _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
                    _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
                }
            });
            Ok(Self {
                stop,
                hangup: Some(hangup),
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {
                stop: Box::pin(async {
                    let _ = tokio::signal::ctrl_c().await;
                }),
                hangup: None,
            })
        }
    }
}

/// How often the gateway settles approvals (expired proposals, stale sends).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Settles approvals at start and every [`SWEEP_EVERY`] (or every `--approval-send-stale-ms`,
/// when shorter; see [`Gateway::sweep_approvals`]); a store that fails is logged and tried
/// again next time.
async fn sweep_approvals(gateway: Arc<Gateway>) {
    let mut every = tokio::time::interval(SWEEP_EVERY.min(gateway.send_stale()));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let now = chrono::Utc::now().timestamp_millis();
        if let Err(error) = gateway.sweep_approvals(now, "gateway").await {
            tracing::warn!(%error, "approvals were not settled; trying again in a minute");
        }
    }
}

/// Re-reads the policy file on every SIGHUP: a valid file is put in force at once (an agent it
/// no longer has is refused from the next request), a refused one is logged and the policy in
/// force stays.
#[cfg_attr(not(unix), allow(unused_variables, unused_mut))]
async fn reload_on_hangup(
    mut hangup: Option<Hangup>,
    gateway: Arc<Gateway>,
    file: Option<PathBuf>,
    sync: Option<Arc<PolicySync>>,
) {
    #[cfg(unix)]
    while let Some(signal) = hangup.as_mut() {
        if signal.recv().await.is_none() {
            return;
        }
        match &sync {
            // On a shared store, the reload is written for the other replicas too.
            Some(sync) => sync.reload().await,
            None => reload(&gateway, file.as_deref()),
        }
    }
}

/// Re-reads `file` into `gateway`: a valid policy is put in force, a refused one is logged and
/// the policy in force stays.
pub fn reload(gateway: &Gateway, file: Option<&Path>) {
    let Some(path) = file else {
        tracing::warn!(
            "reload asked, but the gateway runs the demo policy: there is no file to re-read"
        );
        return;
    };
    match Policy::load(path) {
        Ok(policy) => {
            let agents = policy.agents().len();
            gateway.reload(policy);
            tracing::info!(file = %path.display(), agents, "policy reloaded");
        }
        Err(error) => tracing::error!(
            %error,
            "the policy was not reloaded: the file is refused, and the policy in force stays"
        ),
    }
}
