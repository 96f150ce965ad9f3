//! The generated files are fresh, generation is deterministic, `--check` reports a spec change
//! as a readable diff, and the operations table agrees with the spec and with the guide.

use std::path::{Path, PathBuf};

use xtask::spec::Paging;
use xtask::{Freshness, Mode, Spec, codegen, compare, generate, load};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn spec_text() -> String {
    std::fs::read_to_string(root().join(xtask::SPEC_PATH)).expect("spec/crisp.yaml is readable")
}

#[test]
fn generated_files_are_fresh() {
    let files = generate(&spec_text()).expect("the spec generates");
    let stale = compare(&root(), &files).expect("the tree is readable");
    assert!(
        stale.is_empty(),
        "generated files are stale; run `cargo xtask codegen` and commit the result:\n{}",
        stale.render()
    );
}

#[test]
fn generation_is_deterministic() {
    let text = spec_text();
    let first = generate(&text).expect("the spec generates");
    let second = generate(&text).expect("the spec generates");
    assert_eq!(first, second);
}

#[test]
fn a_one_line_spec_change_is_reported_as_a_readable_diff() {
    let text = spec_text();
    let old = "List conversations for a website, one page at a time.";
    assert!(text.contains(old), "the test's anchor line is in the spec");
    let changed = text.replacen(old, "List the conversations of a website.", 1);
    let files = generate(&changed).expect("the changed spec generates");
    let stale = compare(&root(), &files).expect("the tree is readable");
    assert!(!stale.is_empty(), "a spec change must make --check fail");
    let diff = stale.render();
    // The docs and the operations table both show the change, as removed and added lines.
    assert!(
        diff.contains("--- a/docs/api.md\n+++ b/docs/api.md"),
        "{diff}"
    );
    assert!(
        diff.contains(
            "-| GET | `/website/{website_id}/conversations/{page_number}` | List conversations for a website, one page at a time."
        ),
        "{diff}"
    );
    assert!(
        diff.contains(
            "+| GET | `/website/{website_id}/conversations/{page_number}` | List the conversations of a website."
        ),
        "{diff}"
    );
    assert!(
        diff.contains("+        summary: \"List the conversations of a website.\","),
        "{diff}"
    );
    // Every generated file carries the spec's hash, so all of them are stale.
    // The MCP tool's description is the same summary.
    assert!(
        diff.contains("+        description: \"List the conversations of a website.\\n\\n"),
        "{diff}"
    );
    for path in [
        "crisp-api/src/generated/types.rs",
        "crisp-api/src/generated/events.rs",
        "crisp-mcp/src/generated/tools.rs",
        "crisp-api/tests/generated/spec_examples.rs",
    ] {
        assert!(
            diff.contains(&format!("+++ b/{path}")),
            "{path} not in the diff"
        );
    }
}

#[test]
fn write_then_check_in_a_fresh_tree_deletes_what_is_no_longer_generated() {
    let dir = std::env::temp_dir().join(format!("crisp-xtask-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("spec")).unwrap();
    std::fs::create_dir_all(dir.join(xtask::GENERATED_DIR)).unwrap();
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(dir.join(xtask::SPEC_PATH), spec_text()).unwrap();
    let leftover = dir.join(xtask::GENERATED_DIR).join("old_module.rs");
    std::fs::write(&leftover, "// from an older generator\n").unwrap();
    std::fs::create_dir_all(dir.join(xtask::MCP_GENERATED_DIR)).unwrap();
    let old_tools = dir.join(xtask::MCP_GENERATED_DIR).join("old_tools.rs");
    std::fs::write(&old_tools, "// from an older generator\n").unwrap();
    let hand_written = dir.join("docs").join("guide.md");
    std::fs::write(&hand_written, "# written by a person\n").unwrap();

    assert!(matches!(
        codegen(&dir, Mode::Check),
        Ok(Freshness::Stale(_))
    ));
    assert!(leftover.exists(), "--check changes nothing");
    match codegen(&dir, Mode::Write) {
        Ok(Freshness::Written(report)) => {
            assert!(report.contains("deleted crisp-api/src/generated/old_module.rs"));
            assert!(report.contains("deleted crisp-mcp/src/generated/old_tools.rs"));
        }
        other => panic!("expected files to be written, got {other:?}"),
    }
    assert!(!leftover.exists(), "a file no longer generated is deleted");
    assert!(!old_tools.exists(), "in the MCP server's folder too");
    assert!(
        hand_written.exists(),
        "files without the @generated marker are kept"
    );
    assert!(matches!(
        codegen(&dir, Mode::Check),
        Ok(Freshness::UpToDate)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_new_operation_becomes_an_mcp_tool_with_no_hand_edit() {
    let text = spec_text();
    let anchor = "  /website/{website_id}/conversation/{session_id}/state:\n    get:\n      operationId: get_conversation_state\n";
    assert!(text.contains(anchor), "the test's anchor is in the spec");
    let start = text.find(anchor).unwrap();
    let end = start + text[start..].find("    patch:\n").unwrap();
    let copy = text[start..end]
        .replace("/state:", "/state_copy:")
        .replace("get_conversation_state", "get_conversation_state_copy");
    let changed = format!("{}{copy}{}", &text[..start], &text[start..]);
    let files = generate(&changed).expect("the spec with one more operation generates");
    let tools = files
        .iter()
        .find(|f| f.path.ends_with("crisp-mcp/src/generated/tools.rs"))
        .expect("the tool table is generated");
    let entry = tools
        .contents
        .split("ToolFacts {")
        .find(|t| t.contains("operation: &Operation::GET_CONVERSATION_STATE_COPY,"))
        .expect("the new operation is a tool");
    // Its name, title and annotations come from its entry in the operations table.
    let operations = files
        .iter()
        .find(|f| f.path.ends_with("operations.rs") && f.path.starts_with("crisp-api"))
        .expect("the operations table is generated");
    let op = operations
        .contents
        .split("pub const ")
        .find(|t| t.starts_with("GET_CONVERSATION_STATE_COPY: Operation"))
        .expect("the new operation is in the operations table");
    assert!(op.contains("id: \"get_conversation_state_copy\""), "{op}");
    assert!(op.contains("access: Access::Read"), "{op}");
    assert!(
        entry.contains("Scope: `website:conversation:states` (read access)"),
        "{entry}"
    );
    assert!(entry.contains(r#""required":["session_id"]"#), "{entry}");
}

#[test]
fn operations_table_agrees_with_the_spec() {
    let spec = load(&spec_text()).expect("the spec loads");
    assert_eq!(crisp_api::Operation::ALL.len(), spec.operations.len());
    for (table, op) in crisp_api::Operation::ALL.iter().zip(&spec.operations) {
        assert_eq!(table.id, op.id);
        assert_eq!(table.method.as_str(), op.method, "{}", op.id);
        assert_eq!(table.path, op.path, "{}", op.id);
        assert_eq!(table.tag, op.tag, "{}", op.id);
        assert_eq!(table.summary, op.summary, "{}", op.id);
        assert_eq!(table.scope, op.scope, "{}", op.id);
        assert_eq!(table.access.as_str(), op.access, "{}", op.id);
        assert_eq!(table.webhook, op.webhook.as_deref(), "{}", op.id);
        assert_eq!(
            table.effect.map(|e| e.as_str()),
            op.effect.as_deref(),
            "{}",
            op.id
        );
        assert_eq!(
            table.paging.map(paging_fields),
            op.paging.as_ref().map(|p| match p {
                Paging::PageNumber {
                    page_size,
                    per_page,
                } => (p.style(), Some(*page_size), per_page.clone()),
                Paging::TimestampBefore => (p.style(), None, None),
            }),
            "{}",
            op.id
        );
    }
    let names: Vec<&str> = spec.webhooks.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(crisp_api::webhook::Event::NAMES, names.as_slice());
}

/// The ids the spec's parameter examples share, as its header lists them.
const EXAMPLE_IDS: [(&str, &str); 7] = [
    ("website_id", "8c842203-7ed8-4e29-a608-7cf78a7d2fcc"),
    ("session_id", "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881"),
    ("people_id", "c5d2a9f1-3b7e-4f0a-8d61-2e9b4c7a1f05"),
    ("user_id", "aa0b0c3b-1b11-4c9f-b6e5-0e1b5d6a7c42"),
    ("campaign_id", "4f1e2d3c-5b6a-4978-8e1f-0a9b8c7d6e5f"),
    ("fingerprint", "163408221955193"),
    ("page_number", "1"),
];

#[test]
fn every_path_parameter_example_is_one_of_the_shared_ids() {
    let spec = load(&spec_text()).expect("the spec loads");
    let text = spec_text();
    let mut seen = std::collections::BTreeSet::new();
    for (_, _, op) in spec.openapi.operations() {
        let id = op.operation_id.as_deref().unwrap_or_default();
        for param in op.parameters.iter().filter_map(|p| p.as_item()) {
            let data = param.parameter_data_ref();
            let example = data
                .example
                .as_ref()
                .unwrap_or_else(|| panic!("{id}: `{}` has no example", data.name));
            if let openapiv3::Parameter::Path { .. } = param {
                let (_, expected) = EXAMPLE_IDS
                    .iter()
                    .find(|(name, _)| *name == data.name)
                    .unwrap_or_else(|| {
                        panic!("{id}: path parameter `{}` is not in EXAMPLE_IDS", data.name)
                    });
                let example = match example {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(example, *expected, "{id}: `{}`", data.name);
                seen.insert(data.name.clone());
            }
        }
    }
    assert_eq!(
        seen.len(),
        EXAMPLE_IDS.len(),
        "every shared id is used: {seen:?}"
    );
    // The header lists the same set for people who read the spec.
    for (name, value) in EXAMPLE_IDS {
        assert!(
            text.contains(&format!("{name} {value}"))
                || text.contains(&format!("{name} (an operator) {value}")),
            "{name}"
        );
    }
}

/// The runtime's paging of an operation as (style, page size, per_page parameter).
fn paging_fields(paging: crisp_api::Paging) -> (&'static str, Option<u32>, Option<String>) {
    let per_page = match paging {
        crisp_api::Paging::PageNumber { per_page, .. } => per_page.map(str::to_owned),
        _ => None,
    };
    (paging.style(), paging.page_size(), per_page)
}

#[test]
fn list_routes_page_as_the_guide_says() {
    // The guide: list routes page by a page number in the path; messages by timestamp_before.
    let spec = load(&spec_text()).expect("the spec loads");
    for op in crisp_api::Operation::ALL {
        let by_page_number = op.path.ends_with("/{page_number}");
        match op.paging {
            Some(crisp_api::Paging::PageNumber {
                page_size,
                per_page,
            }) => {
                assert!(by_page_number, "{op}");
                assert!(page_size > 0, "{op}");
                if let Some(per_page) = per_page {
                    assert!(
                        query_parameters(&spec, op.id).contains(&per_page.to_owned()),
                        "{op}: per_page names `{per_page}`, which is not a query parameter"
                    );
                }
            }
            Some(crisp_api::Paging::TimestampBefore) => assert_eq!(op.id, "list_messages"),
            Some(other) => panic!("{op}: unexpected paging {other}"),
            None => assert!(!by_page_number, "{op} has a page number but no paging"),
        }
    }
    let conversations = crisp_api::Operation::find("list_conversations").unwrap();
    assert_eq!(
        conversations.paging,
        Some(crisp_api::Paging::PageNumber {
            page_size: 20,
            per_page: Some("per_page")
        }),
        "Crisp's docs: 20 a page by default, per_page from 20 to 50"
    );
    // docs/api.md shows the same in its Paging column.
    let docs = std::fs::read_to_string(root().join("docs/api.md")).expect("docs/api.md");
    for (id, cell) in [
        ("list_conversations", "| pages of 20 (`per_page`) |"),
        ("list_messages", "| `timestamp_before` |"),
        ("list_campaigns", "| pages of 20 |"),
        ("get_conversation", "| none | none |"),
    ] {
        let row = docs
            .lines()
            .find(|line| line.ends_with(&format!("| `{id}` |")))
            .unwrap_or_else(|| panic!("docs/api.md has no row for {id}"));
        assert!(row.contains(cell), "{id}: {row}");
    }
}

/// The names of the query parameters of an operation, from the OpenAPI model.
fn query_parameters(spec: &Spec, id: &str) -> Vec<String> {
    let (_, _, op) = spec
        .openapi
        .operations()
        .find(|(_, _, op)| op.operation_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("{id} is in the spec"));
    op.parameters
        .iter()
        .filter_map(|p| p.as_item())
        .filter_map(|p| match p {
            openapiv3::Parameter::Query { parameter_data, .. } => Some(parameter_data.name.clone()),
            _ => None,
        })
        .collect()
}

/// The guide's table, written out independently of the spec: method, path, access, scope and
/// webhook event of each method the guide lists. The check is one way: every row must be in
/// the spec, and the spec may have more, so adding an endpoint to the spec needs no edit here.
const GUIDE: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "GET",
        "/website/{website_id}/conversations/{page_number}",
        "read",
        "website:conversation:sessions",
        None,
    ),
    (
        "POST",
        "/website/{website_id}/conversation",
        "write",
        "website:conversation:sessions",
        Some("session:request:initiated"),
    ),
    (
        "GET",
        "/website/{website_id}/conversation/{session_id}",
        "read",
        "website:conversation:sessions",
        None,
    ),
    (
        "DELETE",
        "/website/{website_id}/conversation/{session_id}",
        "write",
        "website:conversation:sessions",
        Some("session:removed"),
    ),
    (
        "GET",
        "/website/{website_id}/conversation/{session_id}/messages",
        "read",
        "website:conversation:messages",
        None,
    ),
    (
        "POST",
        "/website/{website_id}/conversation/{session_id}/message",
        "write",
        "website:conversation:messages",
        Some("message:received"),
    ),
    (
        "GET",
        "/website/{website_id}/conversation/{session_id}/message/{fingerprint}",
        "read",
        "website:conversation:messages",
        None,
    ),
    (
        "PATCH",
        "/website/{website_id}/conversation/{session_id}/message/{fingerprint}",
        "write",
        "website:conversation:messages",
        Some("message:updated"),
    ),
    (
        "PATCH",
        "/website/{website_id}/conversation/{session_id}/read",
        "write",
        "website:conversation:messages",
        None,
    ),
    (
        "GET",
        "/website/{website_id}/conversation/{session_id}/state",
        "read",
        "website:conversation:states",
        None,
    ),
    (
        "PATCH",
        "/website/{website_id}/conversation/{session_id}/state",
        "write",
        "website:conversation:states",
        Some("session:set_state"),
    ),
    (
        "GET",
        "/website/{website_id}/conversation/{session_id}/meta",
        "read",
        "website:conversation:sessions",
        None,
    ),
    (
        "PATCH",
        "/website/{website_id}/conversation/{session_id}/meta",
        "write",
        "website:conversation:sessions",
        Some("session:set_email"),
    ),
    (
        "PATCH",
        "/website/{website_id}/conversation/{session_id}/routing",
        "write",
        "website:conversation:sessions",
        Some("session:set_routing"),
    ),
    (
        "PATCH",
        "/website/{website_id}/conversation/{session_id}/block",
        "write",
        "website:conversation:sessions",
        Some("session:set_block"),
    ),
    (
        "GET",
        "/website/{website_id}/people/profiles/{page_number}",
        "read",
        "website:people:profiles",
        None,
    ),
    (
        "POST",
        "/website/{website_id}/people/profile",
        "write",
        "website:people:profiles",
        Some("people:profile:created"),
    ),
    (
        "GET",
        "/website/{website_id}/people/profile/{people_id}",
        "read",
        "website:people:profiles",
        None,
    ),
    (
        "PATCH",
        "/website/{website_id}/people/profile/{people_id}",
        "write",
        "website:people:profiles",
        Some("people:profile:updated"),
    ),
    (
        "PUT",
        "/website/{website_id}/people/profile/{people_id}",
        "write",
        "website:people:profiles",
        Some("people:profile:updated"),
    ),
    (
        "DELETE",
        "/website/{website_id}/people/profile/{people_id}",
        "write",
        "website:people:profiles",
        Some("people:profile:removed"),
    ),
    (
        "GET",
        "/website/{website_id}/people/data/{people_id}",
        "read",
        "website:people:profiles",
        None,
    ),
    (
        "GET",
        "/website/{website_id}/settings",
        "read",
        "website:settings",
        None,
    ),
    (
        "PATCH",
        "/website/{website_id}/settings",
        "write",
        "website:settings",
        None,
    ),
    (
        "GET",
        "/website/{website_id}/operators/list",
        "read",
        "website:operators",
        None,
    ),
    (
        "GET",
        "/website/{website_id}/operator/{user_id}",
        "read",
        "website:operators",
        None,
    ),
    (
        "GET",
        "/website/{website_id}/visitors/list/{page_number}",
        "read",
        "website:visitors",
        None,
    ),
    (
        "GET",
        "/website/{website_id}/visitors/count",
        "read",
        "website:visitors",
        None,
    ),
    (
        "GET",
        "/website/{website_id}/campaigns/list/{page_number}",
        "read",
        "website:campaign:templates",
        None,
    ),
    (
        "POST",
        "/website/{website_id}/campaign/{campaign_id}/dispatch",
        "write",
        "website:campaign:templates",
        Some("campaign:dispatched"),
    ),
];

#[test]
fn every_method_of_the_guide_has_its_scope_access_and_webhook() {
    let spec = load(&spec_text()).expect("the spec loads");
    for &(method, path, access, scope, webhook) in GUIDE {
        let op = spec
            .operations
            .iter()
            .find(|op| op.method == method && op.path == path)
            .unwrap_or_else(|| panic!("{method} {path} is not in the spec"));
        assert_eq!(op.access, access, "{method} {path}");
        assert_eq!(op.scope, scope, "{method} {path}");
        assert_eq!(op.webhook.as_deref(), webhook, "{method} {path}");
    }
    // What the guide says an operation does to data or people.
    for (id, effect) in [
        ("remove_conversation", "irreversible"),
        ("send_message", "customer-visible"),
        ("remove_people_profile", "irreversible"),
        ("dispatch_campaign", "customer-visible"),
    ] {
        let op = spec
            .operation(id)
            .unwrap_or_else(|| panic!("{id} is in the spec"));
        assert_eq!(op.effect.as_deref(), Some(effect), "{id}");
    }
    // And the rule behind it, for operations the guide does not list yet.
    for op in &spec.operations {
        if op.method == "DELETE" {
            assert_eq!(op.effect.as_deref(), Some("irreversible"), "{}", op.id);
        }
        if op.access == "read" {
            assert_eq!(op.effect, None, "{}: a read changes nothing", op.id);
            assert_eq!(op.webhook, None, "{}: a read fires no event", op.id);
        }
    }
}

/// Every webhook event of the guide is declared, fired by at least the operations the guide
/// names (one way: the spec may declare more events, and more operations may fire them).
#[test]
fn every_webhook_event_of_the_guide_is_declared() {
    let spec = load(&spec_text()).expect("the spec loads");
    let guide = [
        ("message:send", vec![]),
        ("message:received", vec!["send_message"]),
        ("message:updated", vec!["update_message"]),
        ("session:request:initiated", vec!["create_conversation"]),
        ("session:set_state", vec!["change_conversation_state"]),
        ("session:set_email", vec!["update_conversation_meta"]),
        ("session:set_routing", vec!["assign_conversation_routing"]),
        ("session:set_block", vec!["block_conversation"]),
        ("session:removed", vec!["remove_conversation"]),
        ("people:profile:created", vec!["add_people_profile"]),
        (
            "people:profile:updated",
            vec!["update_people_profile", "save_people_profile"],
        ),
        ("people:profile:removed", vec!["remove_people_profile"]),
        ("campaign:dispatched", vec!["dispatch_campaign"]),
    ];
    for (name, triggered_by) in guide {
        let hook = spec
            .webhooks
            .iter()
            .find(|hook| hook.name == name)
            .unwrap_or_else(|| panic!("{name} is not declared in the spec"));
        for id in triggered_by {
            assert!(
                hook.triggered_by.iter().any(|t| t == id),
                "{name}: the guide says {id} fires it"
            );
        }
        assert!(!hook.summary.is_empty(), "{name}");
    }
}

/// The links of the success response of an operation: link name -> (operationId, parameters).
fn links(
    spec: &Spec,
    id: &str,
) -> Vec<(String, String, serde_json::Map<String, serde_json::Value>)> {
    let (_, _, op) = spec
        .openapi
        .operations()
        .find(|(_, _, op)| op.operation_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("{id} is in the spec"));
    let success = op
        .responses
        .responses
        .get(&openapiv3::StatusCode::Range(2))
        .and_then(|r| r.as_item())
        .unwrap_or_else(|| panic!("{id} has a 2XX response"));
    success
        .links
        .iter()
        .map(|(name, link)| {
            let link = link.as_item().expect("links are inline");
            let target = match &link.operation {
                openapiv3::LinkOperation::OperationId(target) => target.clone(),
                other => panic!("{id}: link {name} is {other:?}"),
            };
            let params = link.parameters.clone().into_iter().collect();
            (name.clone(), target, params)
        })
        .collect()
}

#[test]
fn create_and_send_operations_link_to_the_operations_that_use_their_ids() {
    let spec = load(&spec_text()).expect("the spec loads");
    let cases = [
        (
            "create_conversation",
            "session_id",
            "$response.body#/data/session_id",
            &[
                "get_conversation",
                "send_message",
                "list_messages",
                "change_conversation_state",
                "remove_conversation",
            ][..],
        ),
        (
            "add_people_profile",
            "people_id",
            "$response.body#/data/people_id",
            &[
                "get_people_profile",
                "update_people_profile",
                "save_people_profile",
                "remove_people_profile",
                "get_people_data",
            ][..],
        ),
        (
            "send_message",
            "fingerprint",
            "$response.body#/data/fingerprint",
            &["get_message", "update_message"][..],
        ),
    ];
    for (source, param, expression, targets) in cases {
        let links = links(&spec, source);
        for target in targets {
            let (_, _, params) = links
                .iter()
                .find(|(_, t, _)| t == target)
                .unwrap_or_else(|| panic!("{source} has no link to {target}"));
            assert_eq!(params[param], *expression, "{source} -> {target}");
            assert_eq!(
                params["website_id"], "$request.path.website_id",
                "{source} -> {target}"
            );
        }
        for (name, target, _) in &links {
            assert!(spec.operation(target).is_some(), "{source}: link {name}");
        }
    }
}

#[test]
fn following_a_link_with_the_example_response_gives_the_target_s_example_id() {
    // The success example of the source, read through the link's JSON pointer, is the example
    // of the target's parameter: the spec's ids chain from one call to the next.
    let spec = load(&spec_text()).expect("the spec loads");
    let mut followed = 0;
    for (_, _, op) in spec.openapi.operations() {
        let id = op.operation_id.clone().unwrap_or_default();
        let response = op
            .responses
            .responses
            .get(&openapiv3::StatusCode::Range(2))
            .and_then(|r| r.as_item())
            .unwrap();
        let Some(schema) = response
            .content
            .get("application/json")
            .and_then(|m| m.schema.as_ref())
            .and_then(|s| match s {
                openapiv3::ReferenceOr::Reference { reference } => {
                    reference.strip_prefix("#/components/schemas/")
                }
                _ => None,
            })
        else {
            continue;
        };
        let example = xtask::yaml::to_json(
            spec.schema(schema)
                .and_then(|s| s.get("example"))
                .unwrap_or_else(|| panic!("{schema} has an example")),
        );
        for (name, target, params) in links(&spec, &id) {
            let (_, _, target_op) = spec
                .openapi
                .operations()
                .find(|(_, _, op)| op.operation_id.as_deref() == Some(target.as_str()))
                .unwrap();
            for (param, expression) in params {
                let Some(pointer) = expression
                    .as_str()
                    .and_then(|e| e.strip_prefix("$response.body#"))
                else {
                    continue;
                };
                let value = example
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("{id} link {name}: {pointer} not in the example"));
                let expected = target_op
                    .parameters
                    .iter()
                    .filter_map(|p| p.as_item())
                    .map(|p| p.parameter_data_ref())
                    .find(|p| p.name == param)
                    .and_then(|p| p.example.clone())
                    .unwrap_or_else(|| panic!("{target} has an example for {param}"));
                assert_eq!(*value, expected, "{id} -> {target}: {param}");
                followed += 1;
            }
        }
    }
    assert!(followed >= 18, "only {followed} links followed");
}
