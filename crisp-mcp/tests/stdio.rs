//! The `crisp-mcp` binary over stdio, as a desktop agent launches it: out of the box on the
//! embedded sandbox, its flags, and input that is not what MCP expects (the server answers
//! or skips it, and carries on).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_crisp-mcp");

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    for var in [
        "CRISP_IDENTIFIER",
        "CRISP_KEY",
        "CRISP_TIER",
        "CRISP_WEBSITE_ID",
        "CRISP_BASE_URL",
        "CRISP_GRANTS",
        "CRISP_HUGO_SECRET",
        "CRISP_MCP_TOKEN",
    ] {
        command.env_remove(var);
    }
    command.env("RUST_LOG", "off");
    command
}

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Receiver<String>,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = command(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (tx, stderr) = channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    fn send_raw(&mut self, text: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn send(&mut self, message: Value) {
        self.send_raw(message.to_string().as_bytes());
    }

    /// The next answer with this id (notifications and other answers are skipped).
    fn answer(&mut self, id: &Value) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no answer to request {id}"));
            if let Ok(message) = serde_json::from_str::<Value>(&line)
                && &message["id"] == id
            {
                return message;
            }
        }
    }

    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.answer(&json!(id))
    }

    fn initialize(&mut self) -> Value {
        let answer = self.request(
            0,
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "stdio-test", "version": "0"}
            }),
        );
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        answer
    }

    fn tool_names(&mut self, id: u64) -> Vec<String> {
        let listed = self.request(id, "tools/list", json!({}));
        listed["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Closes stdin and waits for a clean exit.
    fn finish(mut self) -> String {
        drop(self.stdin.take());
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                // The process is gone: read its stderr to the end.
                return self.stderr.iter().collect::<Vec<_>>().join("\n");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("the server did not exit when stdin closed");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn out_of_the_box_it_serves_the_embedded_sandbox() {
    let mut server = Server::start(&[]);
    let init = server.initialize();
    assert_eq!(init["result"]["serverInfo"]["name"], "crisp-mcp");
    assert!(init["result"]["capabilities"]["tools"].is_object());
    let names = server.tool_names(1);
    assert_eq!(names.len(), crisp_api::Operation::ALL.len());
    let listed = server.request(
        2,
        "tools/call",
        json!({"name": "list_conversations", "arguments": {}}),
    );
    assert_eq!(listed["result"]["isError"], false, "{listed}");
    assert!(
        !listed["result"]["structuredContent"]["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let stderr = server.finish();
    assert!(
        stderr.contains("using the embedded sandbox at http://127.0.0.1:"),
        "{stderr}"
    );
    // The default audit goes to stderr, one JSON line per call.
    let audit: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(audit.len(), 1, "{stderr}");
    assert_eq!(audit[0]["tool"], "list_conversations");
    assert_eq!(audit[0]["client"], "stdio-test");
}

#[test]
fn input_that_is_not_mcp_does_not_stop_the_server() {
    let mut server = Server::start(&["--read-only"]);
    server.initialize();
    server.send_raw(b"this is not json");
    server.send_raw(b"[1, 2, 3]");
    server.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":{\"odd\":true},\"method\":\"tools/list\"}");
    let mut huge = b"{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"tools/call\",\"params\":{\"name\":\"get_conversation\",\"arguments\":{\"session_id\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    huge.extend_from_slice(b"\"}}}");
    server.send_raw(&huge);
    let huge_answer = server.answer(&json!(77));
    assert_eq!(
        huge_answer["result"]["isError"], true,
        "a 2 MiB id is refused"
    );
    let unknown = server.request(3, "no/such/method", json!({}));
    assert!(unknown["error"].is_object(), "{unknown}");
    let bad_params = server.request(4, "tools/call", json!({"name": 7}));
    assert!(bad_params["error"].is_object(), "{bad_params}");
    let long_name = server.request(5, "tools/call", json!({"name": "x".repeat(10_000)}));
    assert_eq!(long_name["result"]["isError"], true);
    let not_object = server.request(
        6,
        "tools/call",
        json!({"name": "get_conversation", "arguments": [1, 2]}),
    );
    assert!(not_object.get("error").is_some() || not_object["result"]["isError"] == true);
    // --read-only: no tool that writes is listed, and one is refused if called.
    let names = server.tool_names(8);
    for op in crisp_api::Operation::ALL {
        assert_eq!(
            names.contains(&op.id.to_owned()),
            !op.is_write(),
            "{}",
            op.id
        );
    }
    let refused = server.request(
        9,
        "tools/call",
        json!({"name": "send_message", "arguments": {}}),
    );
    assert_eq!(refused["result"]["isError"], true);
    server.finish();
}

#[test]
fn flags_and_the_environment_are_checked_before_serving() {
    let fails = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = command(args);
        command.envs(env.iter().copied()).stdin(Stdio::null());
        let output = command.output().unwrap();
        assert!(!output.status.success(), "{args:?} {env:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let half = fails(
        &[],
        &[("CRISP_KEY", "very-secret-key"), ("CRISP_TIER", "plugin")],
    );
    assert!(
        half.contains(
            "CRISP_IDENTIFIER and CRISP_WEBSITE_ID are not set; give them a value to call the \
             real Crisp, or unset CRISP_KEY and CRISP_TIER to use the local sandbox"
        ),
        "{half}"
    );
    assert!(!half.contains("very-secret-key"));
    let empty = fails(&[], &[("CRISP_IDENTIFIER", "")]);
    assert!(empty.contains("CRISP_IDENTIFIER is empty"), "{empty}");
    let tier = fails(
        &[],
        &[
            ("CRISP_IDENTIFIER", "i"),
            ("CRISP_KEY", "very-secret-key"),
            ("CRISP_TIER", "admin"),
            ("CRISP_WEBSITE_ID", "w"),
        ],
    );
    assert!(
        tier.contains("CRISP_TIER is `admin`, which is not a tier: use plugin"),
        "{tier}"
    );
    assert!(!tier.contains("very-secret-key"));
    assert!(fails(&["--grants", "website:settings=admin"], &[]).contains("--grants"));
    let misspelt = fails(&["--grants", "website:conversation:session=read"], &[]);
    assert!(
        misspelt.starts_with(
            "crisp-mcp: --grants: unknown scope `website:conversation:session` in the grant \
             `website:conversation:session=read`"
        ) && misspelt.contains("did you mean `website:conversation:sessions`?"),
        "{misspelt}"
    );
    for (text, said) in [
        ("", "CRISP_GRANTS: no grants given"),
        (" ", "CRISP_GRANTS: no grants given"),
        ("website:visitor=read", "did you mean `website:visitors`?"),
    ] {
        let refused = fails(&[], &[("CRISP_GRANTS", text)]);
        assert!(refused.contains(said), "{text:?}: {refused}");
    }
    assert!(fails(&["--hugo-secret", "s"], &[]).contains("--http"));
    // Today 0 made tokens that could never be redeemed, and u64::MAX panicked every preview.
    for ttl in ["0", "86401", "18446744073709551615"] {
        let refused = fails(&["--confirm-ttl", ttl], &[]);
        assert!(
            refused.contains("--confirm-ttl") && refused.contains("1..=86400"),
            "{refused}"
        );
    }
    for cap in ["--max-sessions", "--max-sessions-per-client"] {
        let refused = fails(&["--http", "127.0.0.1:0", cap, "0"], &[]);
        assert!(refused.contains("give 1 or more"), "{refused}");
    }
    let hugo_blank = fails(&["--http", "127.0.0.1:0"], &[("CRISP_HUGO_SECRET", "  ")]);
    assert!(hugo_blank.contains("blank"), "{hugo_blank}");
    let open = fails(&["--http", "0.0.0.0:0"], &[]);
    assert!(open.contains("CRISP_MCP_TOKEN"), "{open}");
    let help = command(&["--help"])
        .env("CRISP_HUGO_SECRET", "never-shown")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("--grants") && help.contains("--confirm"));
    assert!(
        help.contains(crisp_api::env::HELP.trim_end()),
        "--help shows the environment table as crisp_api::env has it:\n{help}"
    );
    assert!(
        !help.contains("never-shown"),
        "secrets from the environment stay out of --help"
    );
}

#[test]
fn the_audit_file_gets_one_line_per_call_and_confirmation_can_be_off() {
    let dir = std::env::temp_dir().join(format!("crisp-mcp-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&path);
    let mut server = Server::start(&[
        "--audit",
        path.to_str().unwrap(),
        "--confirm",
        "never",
        "--grants",
        "website:conversation:messages=write",
    ]);
    server.initialize();
    let grants: crisp_api::Grants = "website:conversation:messages=write".parse().unwrap();
    let expected: Vec<&str> = grants.allowed_operations().map(|op| op.id).collect();
    assert_eq!(server.tool_names(1), expected);
    let sent = server.request(
        2,
        "tools/call",
        json!({"name": "send_message", "arguments": {
            "session_id": crisp_sandbox::demo::SESSION_ID,
            "body": {"type": "note", "from": "operator", "origin": "chat", "content": "internal note"}
        }}),
    );
    assert_eq!(sent["result"]["isError"], false, "{sent}");
    server.finish();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["decision"], "allowed");
    assert_eq!(lines[0]["outcome"], "succeeded");
    assert!(!text.contains("internal note"), "no body in the audit");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh directory for one test's audit file.
fn temp_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crisp-mcp-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn audit_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each audit line is JSON"))
        .collect()
}

/// Today a `tools/call` whose arguments were not an object (or whose name was not a string)
/// was answered "method not found" and left no audit line.
#[test]
fn a_malformed_tool_call_is_refused_and_recorded() {
    let dir = temp_dir("malformed");
    let path = dir.join("audit.jsonl");
    let mut server = Server::start(&["--audit", path.to_str().unwrap()]);
    server.initialize();
    for (id, arguments) in [(1, json!([1, 2])), (2, json!("session_x")), (3, json!(7))] {
        let answer = server.request(
            id,
            "tools/call",
            json!({"name": "get_conversation", "arguments": arguments}),
        );
        assert_eq!(answer["result"]["isError"], true, "{answer}");
        let text = answer["result"]["content"][0]["text"].as_str().unwrap();
        assert!(
            text.starts_with(
                "Invalid arguments for `get_conversation`: `arguments` must be an object"
            ),
            "{text}"
        );
    }
    let unnamed = server.request(4, "tools/call", json!({"name": 7}));
    assert_eq!(unnamed["error"]["code"], -32602, "{unnamed}");
    server.finish();
    let lines = audit_lines(&path);
    assert_eq!(lines.len(), 4, "one line per call: {lines:?}");
    for line in &lines[..3] {
        assert_eq!(line["tool"], "get_conversation");
        assert_eq!(line["decision"], "refused");
        assert_eq!(line["refusal"], "invalid_arguments");
        assert_eq!(line["client"], "stdio-test");
    }
    assert_eq!(lines[3]["tool"], "7");
    assert_eq!(lines[3]["refusal"], "invalid_request");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Today rmcp logged each request's arguments and each result at debug level, live
/// confirmation tokens included, to stderr (the default audit destination).
#[test]
fn confirmation_tokens_stay_out_of_the_logs_at_every_level() {
    let mut server = Server::start_with_env(
        &[],
        &[(
            "RUST_LOG",
            "trace,rmcp=trace,rmcp::service=trace,crisp_mcp=trace",
        )],
    );
    server.initialize();
    let arguments = json!({
        "session_id": crisp_sandbox::demo::SESSION_ID,
        "body": {"type": "text", "from": "operator", "origin": "chat", "content": "logged?"}
    });
    let preview = server.request(
        1,
        "tools/call",
        json!({"name": "send_message", "arguments": arguments}),
    );
    let token = preview["result"]["structuredContent"]["confirmation_token"]
        .as_str()
        .expect("a preview with a token")
        .to_owned();
    let mut confirmed = arguments.clone();
    confirmed["confirmation_token"] = json!(token);
    let sent = server.request(
        2,
        "tools/call",
        json!({"name": "send_message", "arguments": confirmed}),
    );
    assert_eq!(sent["result"]["isError"], false, "{sent}");
    let stderr = server.finish();
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "the test runs at trace level: {stderr}"
    );
    assert!(!stderr.contains(&token), "a live token reached stderr");
    let audit: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(audit.len(), 2, "the audit lines are still there");
}

/// The environment of the real Crisp, pointed at a sandbox by `CRISP_BASE_URL`.
fn real_crisp(sandbox: &crisp_sandbox::Sandbox) -> Vec<(&'static str, String)> {
    vec![
        ("CRISP_IDENTIFIER", sandbox.identifier().to_owned()),
        ("CRISP_KEY", sandbox.key().to_owned()),
        ("CRISP_TIER", sandbox.tier().to_string()),
        ("CRISP_WEBSITE_ID", sandbox.website_id().to_owned()),
        ("CRISP_BASE_URL", sandbox.base_url().to_owned()),
    ]
}

/// Today, against the real Crisp, no grants meant every tool at read-write, and the start-up
/// line did not say where the calls go.
#[test]
fn against_the_real_crisp_grants_are_required_and_the_start_up_line_names_the_upstream() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(crisp_sandbox::Sandbox::start())
        .expect("a sandbox to stand for the real Crisp");
    let env = real_crisp(&sandbox);
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();

    let output = command(&[])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let refused = String::from_utf8(output.stderr).unwrap();
    assert_eq!(refused.lines().count(), 1, "{refused}");
    for said in [
        "crisp-mcp: against the real Crisp",
        "--grants 'scope=level, ...'",
        "CRISP_GRANTS",
        "--read-only",
        "--grants all",
    ] {
        assert!(refused.contains(said), "{said}: {refused}");
    }
    assert!(!refused.contains(sandbox.key()));

    let read_only: Vec<&str> = crisp_api::Operation::ALL
        .iter()
        .filter(|op| !op.is_write())
        .map(|op| op.id)
        .collect();
    let sessions: crisp_api::Grants = "website:conversation:sessions=read".parse().unwrap();
    let cases: [(&[&str], Option<&str>, usize); 3] = [
        (&["--read-only"], None, read_only.len()),
        (
            &[],
            Some("website:conversation:sessions=read"),
            sessions.allowed_operations().count(),
        ),
        (&["--grants", "all"], None, crisp_api::Operation::ALL.len()),
    ];
    for (args, grants, tools) in cases {
        let mut env = env.clone();
        env.extend(grants.map(|g| ("CRISP_GRANTS", g)));
        let mut server = Server::start_with_env(args, &env);
        server.initialize();
        assert_eq!(server.tool_names(1).len(), tools, "{args:?} {grants:?}");
        let listed = server.request(
            2,
            "tools/call",
            json!({"name": "list_conversations", "arguments": {}}),
        );
        assert_eq!(listed["result"]["isError"], false, "{listed}");
        let stderr = server.finish();
        let expected = format!(
            "crisp-mcp: upstream {} (tier {}, website {}); {tools} tool(s) within the grants ",
            sandbox.base_url(),
            sandbox.tier(),
            sandbox.website_id()
        );
        assert!(stderr.contains(&expected), "{expected}\n{stderr}");
        assert!(!stderr.contains("embedded sandbox"), "{stderr}");
        assert!(!stderr.contains(sandbox.key()));
    }
    // Each call went to CRISP_BASE_URL.
    assert_eq!(sandbox.api_requests(), 3);
}
