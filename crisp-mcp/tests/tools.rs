//! The generated tool table agrees with crisp-api's operations table, tool by tool, with every
//! expectation derived from `Operation::ALL` (no hand list): one tool per operation in the same
//! order, its annotations from access, effect and method, its description naming the scope,
//! access, webhook and effect, its arguments the operation's path parameters (and its input
//! schema a valid JSON Schema 2020-12 that requires them), and a confirmation token exactly
//! where the operation reaches a customer or cannot be undone.

use crisp_api::{Operation, Paging};
use crisp_mcp::{BODY, CONFIRMATION_TOKEN, Location, TOOLS, ToolFacts, WEBSITE_ID};
use serde_json::Value;

/// The `{name}`s of a path template, in order.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .collect()
}

#[test]
fn the_tool_table_agrees_with_the_operations_table() {
    let names: Vec<&str> = TOOLS.iter().map(ToolFacts::name).collect();
    let ids: Vec<&str> = Operation::ALL.iter().map(|op| op.id).collect();
    assert_eq!(names, ids, "one tool per operation, in the spec's order");

    for (tool, op) in TOOLS.iter().zip(Operation::ALL) {
        let name = tool.name();
        assert_eq!(tool.operation, op);
        assert_eq!(crisp_mcp::tool(name).map(ToolFacts::name), Some(name));
        assert!(
            name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}: MCP tool names are snake_case, at most 64 characters"
        );

        // The description says what it does and what it needs.
        assert!(tool.description.starts_with(op.summary), "{name}");
        assert!(
            tool.description
                .contains(&format!("Scope: `{}` ({} access)", op.scope, op.access)),
            "{name}"
        );
        match op.webhook {
            Some(event) => assert!(
                tool.description
                    .contains(&format!("Webhook: fires `{event}`")),
                "{name}"
            ),
            None => assert!(tool.description.contains("Webhook: none"), "{name}"),
        }
        if let Some(effect) = op.effect {
            assert!(
                tool.description
                    .contains(&format!("Effect: {}", effect.as_str())),
                "{name}"
            );
        }

        // The path parameters, in order, then the query parameters.
        let path: Vec<&str> = tool
            .params
            .iter()
            .filter(|p| p.location == Location::Path)
            .map(|p| p.name)
            .collect();
        assert_eq!(path, path_parameters(op.path), "{name}");

        // The input schema: valid JSON Schema 2020-12, an object of exactly the arguments.
        let schema: Value = serde_json::from_str(tool.input_schema).unwrap();
        assert!(
            jsonschema::draft202012::meta::is_valid(&schema),
            "{name}: not a valid JSON Schema 2020-12"
        );
        jsonschema::draft202012::new(&schema).expect("the schema compiles");
        assert_eq!(schema["type"], "object", "{name}");
        assert_eq!(schema["additionalProperties"], false, "{name}");
        let properties = schema["properties"].as_object().unwrap();
        let mut expected: Vec<&str> = tool.params.iter().map(|p| p.name).collect();
        if tool.body {
            expected.push(BODY);
        }
        if op.effect.is_some() {
            expected.push(CONFIRMATION_TOKEN);
        }
        let mut have: Vec<&str> = properties.keys().map(String::as_str).collect();
        expected.sort_unstable();
        have.sort_unstable();
        assert_eq!(have, expected, "{name}: the arguments");
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for param in path_parameters(op.path) {
            let defaulted = param == WEBSITE_ID
                || (param == "page_number" && matches!(op.paging, Some(Paging::PageNumber { .. })));
            assert_eq!(
                required.contains(&param),
                !defaulted,
                "{name}: path parameter {param}"
            );
            assert!(
                properties[param]["description"].is_string(),
                "{name}: {param} is described"
            );
        }
        assert!(!required.contains(&CONFIRMATION_TOKEN));
    }
}

/// The annotations follow the operation's access, effect and method: one tool of each kind.
#[test]
fn annotations_follow_access_effect_and_method() {
    let hints = |name| crisp_mcp::tool(name).unwrap().hints();
    let list = hints("list_conversations");
    assert!(list.read_only && list.idempotent && !list.destructive && !list.open_world);
    let send = hints("send_message");
    assert!(send.open_world && !send.read_only && !send.idempotent && !send.destructive);
    let remove = hints("remove_conversation");
    assert!(remove.destructive && remove.idempotent && !remove.read_only && !remove.open_world);
    let patch = hints("update_people_profile");
    assert!(!patch.read_only && !patch.idempotent && !patch.destructive && !patch.open_world);
    assert_eq!(
        crisp_mcp::tool("list_conversations").unwrap().title(),
        "List conversations"
    );
}
