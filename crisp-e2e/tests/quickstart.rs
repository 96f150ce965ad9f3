//! The README's main command, `cargo run --example quickstart`, run as a test: the whole agent
//! story on the sandbox (list, read, reply, resolve, update the profile, a refusal outside the
//! grants, and the verified webhook deliveries that followed) must end without an error.

#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;

#[tokio::test]
async fn the_quickstart_runs_the_whole_agent_story_on_the_sandbox() {
    quickstart::sandbox()
        .await
        .unwrap_or_else(|e| panic!("the quickstart failed: {e}"));
}
