//! `crisp-gateway`: see the library's documentation and the README.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    crisp_serve::tracing_to_stderr("crisp_gateway=info");
    crisp_serve::exit(
        "crisp-gateway",
        Err("not built yet: the gateway is being written (issue 14)".to_owned()),
    )
}
