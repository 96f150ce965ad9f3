//! `crisp-sandbox`: a local Crisp REST API v1.
//!
//! On start it prints one JSON line to stdout with `base_url`, `website_id`, `identifier`,
//! `key`, `tier` and `signing_secret`, then logs to stderr until Ctrl-C.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use crisp_api::Tier;
use crisp_sandbox::{Faults, Fixtures, Sandbox, Token};

/// A local Crisp REST API v1 for developing and testing clients and agents offline.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The address to listen on. One other than loopback opens the admin routes to the network:
    /// it needs --admin-token (or --insecure-admin).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The admin routes (/_sandbox/*) need `Authorization: Bearer <this token>`.
    #[arg(long, env = "CRISP_SANDBOX_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Serve the admin routes to the network without a token (with a non-loopback --host).
    #[arg(long)]
    insecure_admin: bool,
    /// Load the workspace from this JSON file instead of the built-in demo.
    #[arg(long, value_name = "FILE")]
    fixtures: Option<PathBuf>,
    /// The token identifier (default: a fixed demo identifier).
    #[arg(long)]
    identifier: Option<String>,
    /// The token key (default: a fresh random key).
    #[arg(long)]
    key: Option<String>,
    /// The token's tier: plugin, website or user.
    #[arg(long, default_value = "plugin")]
    tier: String,
    /// Limit the token to these grants, in the text form `scope=level, ...`
    /// (e.g. `website:conversation:sessions=read`); default: every scope.
    #[arg(long)]
    grants: Option<String>,
    /// Requests the token may make per day; 0 for no limit. Default: Crisp's for the tier
    /// (5000 for a plugin token, 10000 for a website or user token).
    #[arg(long)]
    daily_quota: Option<u64>,
    /// The webhook signing secret (default: a fresh random secret).
    #[arg(long)]
    signing_secret: Option<String>,
    /// Post webhook deliveries to this URL.
    #[arg(long, value_name = "URL")]
    webhook_url: Option<String>,
    /// Inject faults, as JSON: `{"rate_limited":0.1,"bad_gateway":0.05,"drop":0.02,
    /// "delay":0.2,"delay_ms":300,"retry_after_secs":1,"seed":7}`.
    #[arg(long, value_name = "JSON")]
    faults: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    crisp_serve::tracing_to_stderr("crisp_sandbox=info");
    let args = Args::parse();
    crisp_serve::exit("crisp-sandbox", run(args).await)
}

async fn run(args: Args) -> Result<(), String> {
    let tier: Tier = args.tier.parse().map_err(|e| format!("--tier: {e}"))?;
    let mut token = Token::new(
        tier,
        args.identifier
            .unwrap_or_else(|| crisp_sandbox::DEMO_IDENTIFIER.to_owned()),
        match args.key {
            Some(key) => key,
            None => crisp_sandbox::random_key().map_err(|e| format!("cannot make a key: {e}"))?,
        },
    );
    if let Some(quota) = args.daily_quota {
        token = token.with_daily_quota((quota > 0).then_some(quota));
    }
    if let Some(grants) = &args.grants {
        token = token.with_grants(grants.parse().map_err(|e| format!("--grants: {e}"))?);
    }
    let mut builder = Sandbox::builder()
        .host(args.host)
        .port(args.port)
        .token(token)
        .insecure_admin(args.insecure_admin);
    if let Some(admin_token) = args.admin_token {
        builder = builder.admin_token(admin_token);
    }
    if let Some(path) = &args.fixtures {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let fixtures = Fixtures::from_json(&text)
            .map_err(|e| format!("{} is not a fixtures file: {e}", path.display()))?;
        builder = builder.fixtures(fixtures);
    }
    if let Some(secret) = args.signing_secret {
        builder = builder.signing_secret(secret);
    }
    if let Some(url) = args.webhook_url {
        builder = builder.webhook_url(url);
    }
    if let Some(faults) = &args.faults {
        let faults: Faults = faults.parse().map_err(|e| format!("--faults: {e}"))?;
        builder = builder.faults(faults);
    }
    let sandbox = builder.start().await.map_err(|e| e.to_string())?;
    let line = serde_json::to_string(sandbox.info()).map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").map_err(|e| e.to_string())?;
    stdout.flush().map_err(|e| e.to_string())?;
    drop(stdout);
    sandbox
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}
