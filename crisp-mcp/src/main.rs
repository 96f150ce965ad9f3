//! `crisp-mcp`: the Crisp REST API as MCP tools for AI agents.
//!
//! Over stdio by default (what desktop agents launch), or streamable HTTP with `--http`. It
//! reads the environment as every crisp-api tool does ([`crisp_api::env`], whose table its
//! `--help` shows): with `CRISP_IDENTIFIER`, `CRISP_KEY` and `CRISP_WEBSITE_ID` set it calls the
//! real Crisp, and then needs grants (`--grants`, `CRISP_GRANTS` or `--read-only`); with none
//! of them it starts an embedded sandbox and says so on stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use crisp_api::Grants;
use crisp_api::env::{Env, Website};
use crisp_api::types::SecretString;
use crisp_mcp::backend::{Backend, ClientOptions};
use crisp_mcp::http::{
    DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_CLIENT, HttpSettings, MCP_PATH, TOKEN_VAR,
};
use crisp_mcp::hugo::HugoSecret;
use crisp_mcp::{Audit, CrispMcp, Settings};

/// The Crisp REST API as MCP tools, within the agent's grants, with confirmation for what
/// reaches a customer or cannot be undone, and an audit line per call.
///
/// Backend: the real Crisp when CRISP_IDENTIFIER, CRISP_KEY and CRISP_WEBSITE_ID are set (then
/// grants are required); an embedded sandbox when none of the token's variables is set.
// No `Debug`: the Hugo secret may be among the arguments.
#[derive(Parser)]
#[command(version, about, after_help = crisp_api::env::HELP)]
struct Args {
    /// Serve streamable HTTP at /mcp instead of stdio: on 127.0.0.1:8808, on 127.0.0.1 and the
    /// port given, or on the address given. Off loopback, CRISP_MCP_TOKEN must be set and every
    /// request must carry it as a bearer token.
    #[arg(
        long,
        value_name = "ADDR|PORT",
        num_args = 0..=1,
        default_missing_value = DEFAULT_HTTP,
        value_parser = http_address
    )]
    http: Option<SocketAddr>,
    /// Only the tools these grants allow, in the text form `scope=level, ...`
    /// (e.g. `website:conversation:sessions=read, website:conversation:messages=read-write`),
    /// or `all` for every tool. Default: CRISP_GRANTS; with neither, every tool on the
    /// embedded sandbox, and a refusal to start against the real Crisp (least privilege).
    #[arg(long, value_name = "GRANTS")]
    grants: Option<String>,
    /// Only the read part of the grants: no tool that changes anything.
    #[arg(long)]
    read_only: bool,
    /// Whether customer-visible and irreversible tools wait for a confirmation token.
    #[arg(long, value_enum, default_value_t = Confirm::Always)]
    confirm: Confirm,
    /// How long a confirmation token lives, in seconds: 1 to 86400 (a day).
    #[arg(
        long,
        default_value_t = 300,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    confirm_ttl: u64,
    /// Append the audit lines (one JSON object per tool call) to this file instead of stderr.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Verify Crisp Hugo's request signature on every HTTP request with this secret (prefer the
    /// environment variable: a flag shows in the process list).
    #[arg(
        long,
        env = "CRISP_HUGO_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    hugo_secret: Option<String>,
    /// Also accept this Host header on HTTP (behind a reverse proxy); may be repeated.
    #[arg(long, value_name = "HOST")]
    allowed_host: Vec<String>,
    /// HTTP: the URL clients reach the server at, a scheme and a host only (such as
    /// https://mcp.example.com behind a TLS proxy), for the OAuth protected-resource metadata
    /// that a 401 points to. Default: http:// and the request's Host.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// At most this many requests to Crisp a day, retries included.
    #[arg(long, value_name = "N")]
    daily_budget: Option<u32>,
    /// HTTP: at most this many MCP sessions open at once, all clients together.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS, value_parser = at_least_one)]
    max_sessions: usize,
    /// HTTP: at most this many MCP sessions for one client (the website Hugo signed for, else
    /// the peer's IP address; behind a reverse proxy, every client is the proxy).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS_PER_CLIENT, value_parser = at_least_one)]
    max_sessions_per_client: usize,
    /// HTTP: serve without sessions: every request stands alone, so replicas behind a load
    /// balancer that does not pin clients answer any request (no session caps; the client's
    /// name is its User-Agent; confirmation tokens count per process).
    #[arg(long)]
    stateless: bool,
}

/// A count of 1 or more.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("0 would refuse every client: give 1 or more".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}: give a whole number, 1 or more")),
    }
}

/// Where `--http` alone listens.
const DEFAULT_HTTP: &str = "127.0.0.1:8808";

/// `8808` (on 127.0.0.1) or a whole address such as `0.0.0.0:8808`.
fn http_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse::<SocketAddr>()
        .map_err(|e| format!("{e}: give a port (8808) or an address (127.0.0.1:8808)"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Confirm {
    /// Preview first, act with the one-time token.
    Always,
    /// Act at once (for trusted pipelines).
    Never,
}

/// The log levels when `RUST_LOG` is not set.
const DEFAULT_LOG: &str = "crisp_mcp=info,rmcp=warn";

/// Logs to stderr at the levels `RUST_LOG` asks for, except that rmcp never logs below `warn`,
/// whatever `RUST_LOG` says: at `info` and below it logs each request's parameters and each
/// result, which carry live confirmation tokens (and stderr is the default audit).
fn install_logging() {
    crisp_serve::tracing_to_stderr_capped(DEFAULT_LOG, &[("rmcp", tracing::Level::WARN)]);
}

#[tokio::main]
async fn main() -> ExitCode {
    install_logging();
    crisp_serve::exit("crisp-mcp", run(Args::parse()).await)
}

async fn run(args: Args) -> Result<(), String> {
    let env = Env::read(Website::Required).map_err(|e| e.to_string())?;
    let real_crisp = env.crisp.is_some();
    let grants = grants(
        args.grants.as_deref(),
        env.grants,
        args.read_only,
        real_crisp,
    )?;
    let audit = match &args.audit {
        Some(path) => Audit::file(path).map_err(|e| format!("--audit {}: {e}", path.display()))?,
        None => Audit::stderr(),
    };
    let hugo = match args.hugo_secret {
        Some(secret) => Some(
            HugoSecret::new(secret).ok_or("the Hugo secret is blank: anyone could sign with it")?,
        ),
        None => None,
    };
    if hugo.is_some() && args.http.is_none() {
        return Err("a Hugo secret is for the HTTP transport: add --http ADDR".to_owned());
    }
    if args.public_url.is_some() && args.http.is_none() {
        return Err("--public-url is for the HTTP transport: add --http ADDR".to_owned());
    }
    if args.stateless && args.http.is_none() {
        return Err("--stateless is for the HTTP transport: add --http ADDR".to_owned());
    }
    let backend = Backend::connect(
        env.crisp,
        &ClientOptions::new(Some(grants.clone()), args.daily_budget),
    )
    .await?;
    if let Some(sandbox) = &backend.sandbox {
        eprintln!(
            "crisp-mcp: no Crisp token in the environment (CRISP_IDENTIFIER, CRISP_KEY, \
             CRISP_WEBSITE_ID): using the embedded sandbox at {} (website {}); nothing reaches \
             Crisp",
            sandbox.base_url(),
            sandbox.website_id()
        );
    }
    eprintln!(
        "crisp-mcp: upstream {} (tier {}, website {}); {} tool(s) within the grants {grants}; \
         confirmation {}",
        backend.client.base_url(),
        backend.tier,
        backend.website_id,
        grants.allowed_operations().count(),
        match args.confirm {
            Confirm::Always => "on",
            Confirm::Never => "off",
        }
    );
    let settings = Settings::new(backend.website_id.clone())
        .confirm(args.confirm == Confirm::Always)
        .confirm_ttl(Duration::from_secs(args.confirm_ttl))
        .audit(audit);
    let server = CrispMcp::new(backend.client.clone(), settings)?;
    match args.http {
        None => crisp_mcp::serve_stdio(server).await,
        Some(bind) => {
            let bearer = std::env::var(TOKEN_VAR)
                .ok()
                .filter(|t| !t.is_empty())
                .map(SecretString::from);
            let settings = HttpSettings::new(bind)
                .bearer(bearer)
                .hugo(hugo)
                .allowed_hosts(args.allowed_host)
                .public_url(args.public_url)
                .max_sessions(args.max_sessions, args.max_sessions_per_client)
                .stateless(args.stateless);
            let router = crisp_mcp::http::router(server, &settings)?;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            eprintln!("crisp-mcp: MCP over streamable HTTP at http://{local}{MCP_PATH}");
            crisp_mcp::http::serve(listener, router, crisp_serve::Limits::default(), async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
            Ok(())
        }
    }
}

/// What to pass to start against the real Crisp without grants.
const GRANTS_REQUIRED: &str = "against the real Crisp, say what the agent may do (no grants \
    were given): pass --grants 'scope=level, ...' (such as \
    --grants 'website:conversation:sessions=read') or set CRISP_GRANTS, pass --read-only for \
    every read and nothing else, or pass --grants all to allow every tool";

/// The grants the server offers tools for: `--grants`, else `CRISP_GRANTS` (read by
/// [`Env`]), their read part with `--read-only`. With neither: every read with `--read-only`,
/// every tool on the embedded sandbox, and an error against the real Crisp.
fn grants(
    flag: Option<&str>,
    from_env: Option<Grants>,
    read_only: bool,
    real_crisp: bool,
) -> Result<Grants, String> {
    let given = match flag {
        Some(text) => Some(
            text.parse::<Grants>()
                .map_err(|e| format!("--grants: {e}"))?,
        ),
        None => from_env,
    };
    let grants = match given {
        Some(grants) => grants,
        None if read_only || !real_crisp => Grants::all(),
        None => return Err(GRANTS_REQUIRED.to_owned()),
    };
    Ok(if read_only {
        grants.read_only()
    } else {
        grants
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crisp_api::env::GRANTS;

    #[test]
    fn http_takes_a_port_or_an_address() {
        assert_eq!(http_address("8808").unwrap().to_string(), "127.0.0.1:8808");
        assert_eq!(
            http_address("0.0.0.0:9000").unwrap().to_string(),
            "0.0.0.0:9000"
        );
        assert_eq!(http_address("[::1]:1").unwrap().to_string(), "[::1]:1");
        assert!(http_address("localhost:80").is_err());
        assert!(http_address("").is_err());
        let args = Args::try_parse_from(["crisp-mcp", "--http"]).unwrap();
        assert_eq!(args.http.unwrap().to_string(), DEFAULT_HTTP);
        let args = Args::try_parse_from(["crisp-mcp"]).unwrap();
        assert!(args.http.is_none());
    }

    #[test]
    fn least_privilege_against_the_real_crisp() {
        let sessions: Grants = "website:conversation:sessions=read-write".parse().unwrap();
        // The sandbox: every tool by default.
        assert_eq!(grants(None, None, false, false).unwrap(), Grants::all());
        // The real Crisp: grants, or --read-only, or an error saying how to pass them.
        let refused = grants(None, None, false, true).unwrap_err();
        for said in [
            "--grants 'scope=level, ...'",
            GRANTS,
            "--read-only",
            "--grants all",
        ] {
            assert!(refused.contains(said), "{said}: {refused}");
        }
        assert_eq!(
            grants(None, None, true, true).unwrap(),
            Grants::all().read_only()
        );
        assert_eq!(
            grants(None, Some(sessions.clone()), false, true).unwrap(),
            sessions
        );
        assert_eq!(
            grants(None, Some(sessions.clone()), true, true).unwrap(),
            sessions.read_only()
        );
        // The flag wins over the environment; `all` is every tool.
        assert_eq!(
            grants(Some("all"), Some(sessions), false, true).unwrap(),
            Grants::all()
        );
        let misspelt = grants(Some("website:visitor=read"), None, false, true).unwrap_err();
        assert!(
            misspelt.starts_with("--grants: unknown scope"),
            "{misspelt}"
        );
    }
}
