//! The output schemas a server lists, checked against what it answers: every spec example as
//! the success step answers it (and with fields Crisp may add), values an enum does not know
//! yet, and the shapes of refusals and previews.

use crisp_api::{Grants, Operation};
use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

use crate::answer::{Refusal, success};
use crate::tools::{Compiled, compile};

fn validator(tool: &Compiled) -> Validator {
    let schema = Value::Object((**tool.tool.output_schema.as_ref().unwrap()).clone());
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| {
            panic!(
                "{}: its output schema does not compile: {e}",
                tool.facts.name()
            )
        })
}

fn check(validator: &Validator, tool: &str, value: &Value, what: &str) {
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{tool}: {what} does not fit its output schema: {problems:?}"
    );
}

/// `value` with a field no schema knows added to every object, at every level.
fn with_unknown_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(with_unknown_fields);
            map.insert("added_by_crisp_tomorrow".into(), json!({"x": [1, "y"]}));
        }
        Value::Array(items) => items.iter_mut().for_each(with_unknown_fields),
        _ => {}
    }
}

#[test]
fn every_spec_example_fits_its_tools_output_schema_as_the_server_answers_it() {
    let tools = compile(&Grants::all(), Some("w"), true, |_| true, |_| false).unwrap();
    let cases = crisp_e2e::cases::cases();
    assert_eq!(cases.len(), tools.len(), "one example per tool");
    for case in cases {
        let tool = tools
            .iter()
            .find(|t| t.facts.operation.id == case.operation.id)
            .expect("a tool per operation");
        let name = tool.facts.name();
        let validator = validator(tool);
        let example: Value = serde_json::from_str(case.response).unwrap();
        let answered = success(case.operation, example.clone())
            .structured_content
            .unwrap();
        assert_eq!(
            answered, example,
            "{name}: the structured content is Crisp's envelope"
        );
        check(&validator, name, &answered, "the spec's example");
        // Crisp adds fields in place: the schema never closes an object.
        let mut grown = example;
        with_unknown_fields(&mut grown);
        let answered = success(case.operation, grown).structured_content.unwrap();
        check(
            &validator,
            name,
            &answered,
            "the example with unknown fields",
        );
    }
}

#[test]
fn values_crisp_adds_to_an_enum_still_fit_and_no_output_schema_checks_a_value() {
    let tools = compile(&Grants::all(), Some("w"), true, |_| true, |_| false).unwrap();
    let get = tools
        .iter()
        .find(|t| t.facts.name() == "get_conversation")
        .unwrap();
    let validator = validator(get);
    let case = crisp_e2e::cases::cases()
        .into_iter()
        .find(|c| c.operation.id == Operation::GET_CONVERSATION.id)
        .unwrap();
    let mut example: Value = serde_json::from_str(case.response).unwrap();
    example["data"]["state"] = json!("snoozed");
    example["data"]["availability"] = json!("busy");
    example["data"]["preview_message"]["type"] = json!("hologram");
    let answered = success(&Operation::GET_CONVERSATION, example)
        .structured_content
        .unwrap();
    check(
        &validator,
        "get_conversation",
        &answered,
        "a conversation with new enum values",
    );
    // The shape is still checked: a state that is not a string does not fit.
    let mut wrong = answered;
    wrong["data"]["state"] = json!(7);
    assert!(!validator.is_valid(&wrong));
    // An output schema holds no check on values anywhere, only shapes.
    for tool in &tools {
        let text = serde_json::to_string(tool.tool.output_schema.as_ref().unwrap()).unwrap();
        for keyword in [
            "\"enum\"",
            "\"const\"",
            "\"pattern\"",
            "\"additionalProperties\":false",
            "\"oneOf\"",
        ] {
            assert!(
                !text.contains(keyword),
                "{}: {keyword} in {text}",
                tool.facts.name()
            );
        }
    }
}

#[test]
fn refusals_and_previews_fit_too_and_previews_only_where_confirmation_waits() {
    let tools = compile(&Grants::all(), Some("w"), true, |_| true, |_| false).unwrap();
    let off = compile(&Grants::all(), Some("w"), false, |_| true, |_| false).unwrap();
    let refusal = Refusal::new("not_granted", "Refused. Nothing was sent to Crisp.").into_result();
    let rate = Refusal::new("rate", "Refused: over the rate. Nothing was sent to Crisp.")
        .with_status(429, "rate_limited")
        .with_hint("Wait.")
        .with_retry_after(3)
        .into_result();
    for (tool, without) in tools.iter().zip(&off) {
        let name = tool.facts.name();
        let validator = validator(tool);
        for result in [&refusal, &rate] {
            check(
                &validator,
                name,
                result.structured_content.as_ref().unwrap(),
                "a refusal",
            );
        }
        let branches = |t: &Compiled| {
            t.tool.output_schema.as_ref().unwrap()["anyOf"]
                .as_array()
                .unwrap()
                .len()
        };
        let waits = tool.facts.operation.effect.is_some();
        assert_eq!(branches(tool), if waits { 3 } else { 2 }, "{name}");
        assert_eq!(
            branches(without),
            2,
            "{name}: no preview without confirmation"
        );
        // A preview does not pass for a success.
        let preview = json!({"confirmation_required": true, "tool": name, "effect": "irreversible",
            "request": {"method": "DELETE", "path": "/x", "query": {}, "body": null},
            "webhook": null, "confirmation_token": "t", "expires_in_seconds": 300});
        assert_eq!(validator.is_valid(&preview), waits, "{name}");
    }
}
