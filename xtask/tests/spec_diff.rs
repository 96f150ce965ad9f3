//! `cargo xtask spec-diff`: a corpus of edits, each applied to the real `spec/crisp.yaml` and
//! classified, at least one per rule of the table (a test checks that none is left out), and
//! the Rust types the rules quote, checked against the generated `types.rs`.

#[path = "support/spec_edit.rs"]
mod spec_edit;

use serde_json::{Value, json};
use spec_edit::*;
use xtask::diff::{self, Class, Doc, RULES};

/// Declares the corpus: one `#[test]` per case, and the list of the rules they cover.
macro_rules! corpus {
    ($($name:ident: $rule:literal $([$($also:literal),*])? => $case:expr;)*) => {
        $(
            #[test]
            fn $name() {
                run($rule, &[$($($also),*)?], $case);
            }
        )*
        const CORPUS: &[&str] = &[$($rule),*];
    };
}

corpus! {
    // ---- operations (the list: removing an operation, renaming an operationId,
    // adding a required query parameter, adding an optional one) ----
    removing_an_operation: "operation-removed" => edit(|s| {
        remove(&mut s["paths"]["/website/{website_id}/conversation/{session_id}"], "get");
    });
    renaming_an_operation_id: "operation-renamed" => edit(|s| {
        op(s, "get_conversation")["operationId"] = json!("fetch_conversation");
    });
    adding_an_operation: "operation-added" => edit(|s| {
        let mut copy = op(s, "count_visitors").clone();
        copy["operationId"] = json!("count_operators");
        s["paths"]["/website/{website_id}/operators/count"] = json!({ "get": copy });
    });
    moving_an_operation: "operation-moved" => edit(|s| {
        move_path(s, "/website/{website_id}/visitors/count", "/website/{website_id}/visitors/total");
    });
    removing_a_parameter: "parameter-removed" => edit(|s| {
        op(s, "list_conversations")["parameters"]
            .as_array_mut().unwrap()
            .retain(|p| p["name"] != "search_query");
    });
    adding_a_required_query_parameter: "parameter-added-required" => edit(|s| {
        op(s, "list_conversations")["parameters"].as_array_mut().unwrap().push(json!({
            "name": "inbox", "in": "query", "required": true, "example": "x",
            "schema": { "type": "string" }
        }));
    });
    adding_an_optional_query_parameter: "parameter-added-optional" => edit(|s| {
        op(s, "list_conversations")["parameters"].as_array_mut().unwrap().push(json!({
            "name": "filter_priority", "in": "query", "example": "high",
            "schema": { "type": "string" }
        }));
    });
    making_a_parameter_required: "parameter-made-required" => edit(|s| {
        param(s, "list_conversations", "per_page")["required"] = json!(true);
    });
    making_a_parameter_optional: "parameter-made-optional" => between(
        |s| { param(s, "list_conversations", "per_page")["required"] = json!(true); },
        |s| { param(s, "list_conversations", "per_page")["required"] = json!(false); },
    );
    changing_a_parameter_type: "parameter-type-changed" => edit(|s| {
        param(s, "list_conversations", "per_page")["schema"] = json!({ "type": "string" });
    });
    adding_a_required_body: "body-added-required" => edit(|s| {
        op(s, "remove_conversation")["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/BlockUpdate" } } }
        });
    });
    adding_an_optional_body: "body-added-optional" => edit(|s| {
        op(s, "remove_conversation")["requestBody"] = json!({
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/BlockUpdate" } } }
        });
    });
    removing_a_body: "body-removed" => edit(|s| {
        remove(op(s, "update_message"), "requestBody");
    });
    making_a_body_required: "body-made-required" => between(
        |s| { op(s, "send_message")["requestBody"]["required"] = json!(false); },
        |s| { op(s, "send_message")["requestBody"]["required"] = json!(true); },
    );
    making_a_body_optional: "body-made-optional" => edit(|s| {
        op(s, "send_message")["requestBody"]["required"] = json!(false);
    });
    changing_a_body_type: "body-type-changed" => edit(|s| {
        op(s, "update_message")["requestBody"]["content"]["application/json"]["schema"] =
            json!({ "$ref": "#/components/schemas/NewMessage" });
    });
    changing_a_response_type: "response-type-changed" => edit(|s| {
        op(s, "get_message")["responses"]["2XX"]["content"]["application/json"]["schema"] =
            json!({ "$ref": "#/components/schemas/GetConversationResponse" });
    });
    // ---- permissions (changing a scope, an access level or an effect) ----
    changing_a_scope: "scope-changed" => edit(|s| {
        op(s, "list_messages")["x-crisp-scope"] = json!("website:conversation:sessions");
    });
    raising_an_access_level: "access-raised" => edit(|s| {
        op(s, "list_conversations")["x-crisp-access"] = json!("write");
    });
    lowering_an_access_level: "access-lowered" => edit(|s| {
        op(s, "block_conversation")["x-crisp-access"] = json!("read");
    });
    making_an_operation_customer_visible: "customer-visible-added" => edit(|s| {
        op(s, "update_message")["x-crisp-effect"] = json!("customer-visible");
    });
    no_longer_customer_visible: "customer-visible-removed" => edit(|s| {
        remove(op(s, "send_message"), "x-crisp-effect");
    });
    adding_an_effect: "effect-added" => edit(|s| {
        op(s, "update_people_profile")["x-crisp-effect"] = json!("irreversible");
    });
    removing_an_effect: "effect-removed" => edit(|s| {
        remove(op(s, "remove_conversation"), "x-crisp-effect");
    });
    adding_a_webhook: "webhook-added" => edit(|s| {
        op(s, "mark_messages_read")["x-crisp-webhook"] = json!("message:updated");
    });
    removing_a_webhook: "webhook-removed" => edit(|s| {
        remove(op(s, "block_conversation"), "x-crisp-webhook");
    });
    changing_a_webhook: "webhook-changed" => edit(|s| {
        op(s, "update_conversation_meta")["x-crisp-webhook"] = json!("session:set_state");
    });
    // ---- paging ----
    adding_paging: "paging-added" => edit(|s| {
        op(s, "list_operators")["x-crisp-paging"] = json!({ "style": "page_number", "page_size": 20 });
    });
    removing_paging: "paging-removed" => edit(|s| {
        remove(op(s, "list_campaigns"), "x-crisp-paging");
    });
    changing_a_paging_style: "paging-style-changed" => edit(|s| {
        op(s, "list_campaigns")["x-crisp-paging"] = json!({ "style": "timestamp_before" });
    });
    changing_a_page_size: "paging-changed" => edit(|s| {
        op(s, "list_campaigns")["x-crisp-paging"]["page_size"] = json!(50);
    });
    // ---- schemas (making a response field optional, making a request field required,
    // changing a field's type, removing and adding an enum value) ----
    removing_a_schema: "schema-removed" => edit(|s| {
        remove(&mut s["components"]["schemas"], "SortOrder");
    });
    renaming_a_schema: "schema-renamed" => edit(|s| {
        let coordinates = s["components"]["schemas"]["Coordinates"].take();
        remove(&mut s["components"]["schemas"], "Coordinates");
        s["components"]["schemas"]["GeoCoordinates"] = coordinates;
        prop(s, "Geolocation", "coordinates")["$ref"] = json!("#/components/schemas/GeoCoordinates");
    });
    adding_a_schema: "schema-added" => edit(|s| {
        s["components"]["schemas"]["Priority"] = json!({
            "type": "string", "enum": ["low", "high"], "example": "low"
        });
    });
    replacing_a_hand_written_type: "schema-type-changed" => edit(|s| {
        remove(schema(s, "SecretString"), "x-crisp-rust-type");
    });
    removing_a_field: "field-removed" => edit(|s| {
        remove(&mut schema(s, "Conversation")["properties"], "topic");
    });
    adding_a_response_field: "field-added" => edit(|s| {
        prop(s, "Conversation", "priority").clone_from(&json!({ "type": "string" }));
    });
    adding_an_event_field: "field-added" => edit(|s| {
        prop(s, "SessionRemovedData", "removed_by").clone_from(&json!({ "type": "string" }));
    });
    adding_a_required_request_field: "request-field-added-required" => edit(|s| {
        prop(s, "BlockUpdate", "reason").clone_from(&json!({ "type": "string" }));
        required(s, "BlockUpdate").push(json!("reason"));
    });
    making_a_response_field_optional: "field-made-optional" => edit(|s| {
        required(s, "Conversation").retain(|f| f != "session_id");
    });
    making_a_request_field_required: "field-made-required" => edit(|s| {
        required(s, "NewMessage").push(json!("fingerprint"));
    });
    making_a_field_nullable: "field-made-nullable" => edit(|s| {
        prop(s, "Conversation", "session_id")["nullable"] = json!(true);
    });
    making_a_field_non_nullable: "field-made-non-nullable" => between(
        |s| { prop(s, "Conversation", "session_id")["nullable"] = json!(true); },
        |s| { remove(prop(s, "Conversation", "session_id"), "nullable"); },
    );
    making_a_request_array_required: "request-field-made-required-same-type" => edit(|s| {
        required(s, "NewMessage").push(json!("mentions"));
    });
    making_a_response_array_required: "field-optionality-changed-same-type" => edit(|s| {
        required(s, "Conversation").push(json!("mentions"));
    });
    changing_a_field_type: "field-type-changed" => edit(|s| {
        prop(s, "Conversation", "status").clone_from(&json!({ "type": "string" }));
    });
    renaming_an_inline_type: "inline-type-renamed" => between(
        |s| {
            prop(s, "Conversation", "sla").clone_from(&json!({
                "type": "object", "title": "ConversationSla",
                "properties": { "due_at": { "type": "integer", "format": "int64" } }
            }));
        },
        |s| { prop(s, "Conversation", "sla")["title"] = json!("ServiceLevel"); },
    );
    removing_an_enum_value: "enum-value-removed" => edit(|s| {
        schema(s, "ConversationState")["enum"].as_array_mut().unwrap().retain(|v| v != "pending");
    });
    adding_an_enum_value: "enum-value-added" => edit(|s| {
        schema(s, "ConversationState")["enum"].as_array_mut().unwrap().push(json!("snoozed"));
    });
    tightening_a_request_bound: "request-constraint-tightened" => edit(|s| {
        param(s, "list_conversations", "per_page")["schema"]["maximum"] = json!(40);
    });
    loosening_a_request_bound: "constraint-changed" => edit(|s| {
        param(s, "list_conversations", "per_page")["schema"]["maximum"] = json!(100);
    });
    adding_a_content_shape: "content-type-added" => edit(|s| {
        schema(s, "MessageContent")["x-crisp-content-by-type"]["sticker"] = json!("AnimationContent");
    });
    removing_a_content_shape: "content-type-removed" => edit(|s| {
        remove(&mut schema(s, "MessageContent")["x-crisp-content-by-type"], "audio");
    });
    changing_a_content_shape: "content-type-changed" => edit(|s| {
        schema(s, "MessageContent")["x-crisp-content-by-type"]["animation"] = json!("FileContent");
    });
    // ---- webhook events (adding an event field is above; removing an event) ----
    removing_an_event: "event-removed" => edit(|s| {
        remove(&mut s["x-crisp-webhooks"], "message:updated");
    });
    adding_an_event: "event-added" => edit(|s| {
        let mut copy = s["x-crisp-webhooks"]["session:removed"].clone();
        copy["triggered_by"] = json!([]);
        s["x-crisp-webhooks"]["session:restored"] = copy;
    });
    changing_an_event_schema: "event-schema-changed" => edit(|s| {
        s["x-crisp-webhooks"]["message:updated"]["schema"] = json!("MessageEventData");
    });
    // ---- the document ----
    changing_the_base_url: "base-url-changed" => edit(|s| {
        s["servers"][0]["url"] = json!("https://api.crisp.chat/v2");
    });
    changing_only_a_description: "docs-changed" => edit(|s| {
        prop(s, "Conversation", "topic")["description"] = json!("What the conversation is about.");
    });
    changing_an_example: "example-changed" => edit(|s| {
        schema(s, "Conversation")["example"]["topic"] = json!("Refund");
    });
    a_keyword_no_rule_reads: "unmodelled-change" => edit(|s| {
        op(s, "get_operator")["deprecated"] = json!(true);
    });
}

#[test]
fn every_rule_has_a_corpus_case() {
    let missing: Vec<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !CORPUS.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a corpus case: {missing:?}"
    );
}

#[test]
fn the_same_spec_has_no_changes() {
    let text = spec_text();
    assert!(compare(&text, &text).changes.is_empty());
    // Formatting is not a change: the same spec as JSON compares equal.
    let report = compare(&text, &pretty(&spec()));
    assert!(report.changes.is_empty(), "{}", report.render_text("x"));
    assert_eq!(
        report.summary(),
        "no changes: both specs describe the same API"
    );
}

fn pretty(spec: &Value) -> String {
    serde_json::to_string_pretty(spec).expect("JSON")
}

#[test]
fn a_description_edit_in_the_yaml_text_is_documentation_only() {
    let text = spec_text();
    let anchor = "summary: \"Get a single conversation by its session id.\"";
    assert_eq!(
        text.matches(anchor).count(),
        1,
        "the anchor is in the spec once"
    );
    let edited = text.replace(
        anchor,
        "summary: \"Get one conversation by its session id.\"",
    );
    let report = compare(&text, &edited);
    assert_eq!(report.changes.len(), 1, "{}", report.render_text("x"));
    let change = &report.changes[0];
    assert_eq!(change.class(), Class::Compatible);
    assert_eq!(change.rule.id, "docs-changed");
    assert_eq!(
        change.location,
        "/paths/~1website~1{website_id}~1conversation~1{session_id}/get/summary"
    );
}

// ---- what the sentences say about the generated Rust --------------------------------------

#[test]
fn a_response_field_made_optional_says_how_its_rust_type_changes() {
    let report = run(
        "field-made-optional",
        &[],
        edit(|s| required(s, "Conversation").retain(|f| f != "session_id")),
    );
    let text = message(&report, "field-made-optional");
    assert!(
        text.contains("`Conversation::session_id`")
            && text.contains("from `String` into `Option<String>`"),
        "{text}"
    );
    let change = &report.changes[0];
    assert_eq!(
        change.location,
        "/components/schemas/Conversation/properties/session_id"
    );
    // The schema's group names the operations and events that reach it.
    let heading = change.subject.heading();
    assert!(
        heading.starts_with("schema Conversation  (used by ")
            && heading.contains("get_conversation")
            && heading.contains("list_conversations"),
        "{heading}"
    );
}

#[test]
fn a_request_field_made_required_says_crisp_refuses_requests_without_it() {
    let report = run(
        "field-made-required",
        &[],
        edit(|s| required(s, "NewMessage").push(json!("fingerprint"))),
    );
    let text = message(&report, "field-made-required");
    assert!(
        text.contains("from `Option<i64>` into `i64`")
            && text.ends_with("and Crisp refuses requests without it."),
        "{text}"
    );
}

#[test]
fn a_field_type_change_names_both_rust_types() {
    let report = run(
        "field-type-changed",
        &[],
        edit(|s| {
            prop(s, "Conversation", "status").clone_from(&json!({ "type": "integer" }));
        }),
    );
    let text = message(&report, "field-type-changed");
    assert!(
        text.contains("`Option<i32>` becomes `Option<i64>`"),
        "{text}"
    );
}

#[test]
fn enum_changes_name_the_variant_and_the_open_enum() {
    let report = run(
        "enum-value-added",
        &[],
        edit(|s| {
            schema(s, "CampaignType")["enum"]
                .as_array_mut()
                .unwrap()
                .push(json!("event-based"));
        }),
    );
    let text = message(&report, "enum-value-added");
    assert!(
        text.contains("`CampaignType::EventBased`") && text.contains("`#[non_exhaustive]`"),
        "{text}"
    );
}

#[test]
fn removing_an_event_names_its_variant() {
    let report = run(
        "event-removed",
        &[],
        edit(|s| remove(&mut s["x-crisp-webhooks"], "session:set_state")),
    );
    let text = message(&report, "event-removed");
    assert!(text.contains("`Event::SessionSetState`"), "{text}");
}

#[test]
fn a_default_that_turns_option_t_into_t_is_a_type_change() {
    let report = run(
        "field-type-changed",
        &["docs-changed"],
        edit(|s| prop(s, "NewMessage", "stealth")["default"] = json!(false)),
    );
    let text = message(&report, "field-type-changed");
    assert!(
        text.starts_with("`NewMessage::stealth` changes type: `Option<bool>` becomes `bool`"),
        "{text}"
    );
}

#[test]
fn a_title_given_to_an_inline_struct_renames_its_type() {
    let report = run(
        "inline-type-renamed",
        &[],
        between(
            |s| {
                prop(s, "Conversation", "sla").clone_from(&json!({
                    "type": "object",
                    "properties": { "due_at": { "type": "integer", "format": "int64" } }
                }));
            },
            |s| prop(s, "Conversation", "sla")["title"] = json!("ServiceLevel"),
        ),
    );
    let text = message(&report, "inline-type-renamed");
    assert!(
        text.contains("from `types::ConversationSla` to `types::ServiceLevel`"),
        "{text}"
    );
}

#[test]
fn a_renamed_operation_keeps_its_other_changes() {
    // Renamed and given a new scope in one edit: both are reported, under the new name.
    let report = run(
        "operation-renamed",
        &["scope-changed"],
        edit(|s| {
            let o = op(s, "get_operator");
            o["operationId"] = json!("read_operator");
            o["x-crisp-scope"] = json!("website:operators:all");
        }),
    );
    assert!(report.changes.iter().all(|c| matches!(
        &c.subject,
        diff::Subject::Operation { id, .. } if id == "read_operator"
    )));
}

#[test]
fn a_renamed_schema_does_not_also_change_the_fields_that_refer_to_it() {
    let report = run(
        "schema-renamed",
        &[],
        edit(|s| {
            let value = s["components"]["schemas"]["Assignee"].take();
            remove(&mut s["components"]["schemas"], "Assignee");
            s["components"]["schemas"]["Assignment"] = value;
            prop(s, "Conversation", "assigned")["$ref"] = json!("#/components/schemas/Assignment");
        }),
    );
    assert_eq!(report.changes.len(), 1, "{}", report.render_text("x"));
}

#[test]
fn a_customer_visible_operation_is_flagged_loudly() {
    let report = run(
        "customer-visible-added",
        &[],
        edit(|s| op(s, "update_message")["x-crisp-effect"] = json!("customer-visible")),
    );
    assert!(report.changes[0].rule.loud);
    assert!(
        report.summary().contains("1 permissions (1 flagged !!)"),
        "{}",
        report.summary()
    );
    let text = report.render_text("x");
    assert!(text.contains("!! NOW CUSTOMER-VISIBLE"), "{text}");
}

// ---- the Rust types quoted are the generated ones -----------------------------------------

/// Every field of every struct in the generated `types.rs` has the Rust type that
/// `diff::rust::field_type` predicts from the spec: the sentences quote real types.
#[test]
fn predicted_field_types_match_the_generated_code() {
    let doc = Doc::load(&spec_text(), "spec").expect("the spec loads");
    let path = root().join("crisp-api/src/generated/types.rs");
    let source = std::fs::read_to_string(&path).expect("types.rs is readable");
    let file = syn::parse_file(&source).expect("types.rs parses");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for item in &file.items {
        let syn::Item::Struct(item) = item else {
            continue;
        };
        let name = item.ident.to_string();
        let Some(component) = doc.schema(&name) else {
            continue;
        };
        let required: Vec<&str> = component["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for field in &item.fields {
            let Some(ident) = &field.ident else { continue };
            let json_name = serde_rename(field).unwrap_or_else(|| ident.to_string());
            let Some(schema) = component["properties"].get(&json_name) else {
                wrong.push(format!("{name}.{json_name}: not in the spec"));
                continue;
            };
            let predicted =
                diff::rust::field_type(&doc, schema, required.contains(&json_name.as_str()));
            let generated = normalized(&field.ty);
            checked += 1;
            if predicted != generated {
                wrong.push(format!(
                    "{name}.{json_name}: predicted {predicted}, generated {generated}"
                ));
            }
        }
    }
    assert!(checked > 300, "only {checked} fields checked");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

fn serde_rename(field: &syn::Field) -> Option<String> {
    field.attrs.iter().find_map(|attr| {
        if !attr.path().is_ident("serde") {
            return None;
        }
        let mut rename = None;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                rename = Some(value.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
        rename
    })
}

/// A type as the predictions spell it: no paths, no spaces.
fn normalized(ty: &syn::Type) -> String {
    let text = quote::ToTokens::to_token_stream(ty)
        .to_string()
        .replace(' ', "");
    let mut text = text;
    for prefix in [
        "::std::option::",
        "::std::vec::",
        "::std::string::",
        "::std::collections::",
        "::std::num::",
        "::serde_json::",
        "crate::generated::enums::",
        "crate::generated::message_content::",
        "super::",
    ] {
        text = text.replace(prefix, "");
    }
    // A type split over lines by prettyplease keeps a trailing comma: `Option<T,>`.
    text.replace(",>", ">").replace(",", ", ")
}
