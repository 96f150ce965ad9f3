//! Lint reports each mistake by operation, schema or webhook, before progenitor sees the spec.

use xtask::{generate, load};

/// A small spec that passes lint: one operation, one enum, one webhook.
const BASE: &str = r##"
openapi: 3.0.3
info: {title: Test, version: "1"}
servers: [{url: "https://api.crisp.chat/v1"}]
tags:
  - {name: Conversations, description: Conversations.}
paths:
  /website/{website_id}/conversation/{session_id}/state:
    patch:
      operationId: change_conversation_state
      tags: [Conversations]
      summary: Change a conversation's state.
      x-crisp-scope: website:conversation:states
      x-crisp-access: write
      x-crisp-webhook: session:set_state
      parameters:
        - {name: website_id, in: path, required: true, description: Website., example: w1, schema: {type: string}}
        - {name: session_id, in: path, required: true, description: Session., example: session_1, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/StateUpdate"}
      responses:
        "2XX":
          description: OK
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Ack"}
        "4XX": {$ref: "#/components/responses/Error"}
        "5XX": {$ref: "#/components/responses/Error"}
components:
  responses:
    Error:
      description: An error.
      content:
        application/json:
          schema: {$ref: "#/components/schemas/ErrorEnvelope"}
  schemas:
    State:
      type: string
      description: A state.
      enum: [pending, resolved]
      example: resolved
    StateUpdate:
      type: object
      description: A new state.
      required: [state]
      properties:
        state: {$ref: "#/components/schemas/State"}
      example: {state: resolved}
    Ack:
      type: object
      description: Success.
      required: [error, reason]
      properties:
        error: {type: boolean}
        reason: {type: string}
        data: {description: Anything.}
      example: {error: false, reason: updated}
    ErrorEnvelope:
      type: object
      description: Failure.
      required: [error, reason]
      properties:
        error: {type: boolean}
        reason: {type: string}
      example: {error: true, reason: not_found}
    StateData:
      type: object
      description: Event data.
      properties:
        state: {$ref: "#/components/schemas/State"}
      example: {state: resolved}
x-crisp-webhooks:
  "session:set_state":
    schema: StateData
    summary: The state changed.
    triggered_by: [change_conversation_state]
    example: {website_id: w, event: "session:set_state", data: {state: resolved}, timestamp: 1}
"##;

fn problems(spec: &str) -> Vec<String> {
    match load(spec) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

fn assert_problem(spec: &str, expected: &str) {
    let found = problems(spec);
    assert!(
        found.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, got {found:#?}"
    );
}

#[test]
fn the_base_spec_passes_and_generates() {
    assert_eq!(problems(BASE), Vec::<String>::new());
    let files = generate(BASE).expect("generates");
    for name in ["api.rs", "types.rs"] {
        assert!(files.iter().any(|f| f.path.ends_with(name)), "{name}");
    }
}

#[test]
fn a_default_response_is_reported_by_operation() {
    let spec = BASE.replace("\"5XX\": {$ref", "default: {$ref");
    assert_problem(
        &spec,
        "operation change_conversation_state: has a `default` response",
    );
}

#[test]
fn missing_scope_and_bad_access_are_reported() {
    let spec = BASE
        .replace("      x-crisp-scope: website:conversation:states\n", "")
        .replace("x-crisp-access: write", "x-crisp-access: admin");
    assert_problem(
        &spec,
        "operation change_conversation_state: has no x-crisp-scope",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: x-crisp-access must be `read` or `write`",
    );
}

#[test]
fn a_success_response_other_than_2xx_is_reported_by_operation() {
    // `200` alone: any 2xx status is success, so the key must be the range.
    let spec = BASE.replace(
        "\"2XX\":\n          description: OK",
        "\"200\":\n          description: OK",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: response 200: the success response is `2XX`",
    );
    // YAML reads an unquoted 201 as a number: still reported.
    let spec = BASE.replace(
        "\"2XX\":\n          description: OK",
        "201:\n          description: OK",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: response 201: the success response is `2XX`",
    );
    // `2XX` beside a `200`: two success responses.
    let spec = BASE.replace(
        "        \"4XX\": {$ref",
        "        \"200\":\n          description: OK\n          content:\n            application/json:\n              schema: {$ref: \"#/components/schemas/Ack\"}\n        \"4XX\": {$ref",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: needs exactly one success response, `2XX`, with one JSON body (the Crisp envelope); has 2",
    );
    // No success response at all.
    let spec = BASE.replace(
        "        \"2XX\":\n          description: OK\n          content:\n            application/json:\n              schema: {$ref: \"#/components/schemas/Ack\"}\n",
        "",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: needs exactly one success response, `2XX`, with one JSON body (the Crisp envelope); has 0",
    );
}

#[test]
fn more_than_one_tag_is_reported() {
    let spec = BASE.replace("tags: [Conversations]", "tags: [Conversations, Other]");
    assert_problem(
        &spec,
        "change_conversation_state: needs exactly one tag, has 2",
    );
}

#[test]
fn a_second_error_body_is_reported() {
    let spec = BASE.replace(
        "\"5XX\": {$ref: \"#/components/responses/Error\"}",
        "\"5XX\":\n          description: Other\n          content:\n            application/json:\n              schema: {$ref: \"#/components/schemas/Ack\"}",
    );
    assert_problem(&spec, "needs exactly one error body schema on 4XX/5XX");
}

#[test]
fn a_media_type_without_schema_is_reported() {
    let spec = BASE.replace(
        "            schema: {$ref: \"#/components/schemas/StateUpdate\"}",
        "            example: {}",
    );
    assert_problem(
        &spec,
        "requestBody: media type `application/json` has no schema",
    );
}

#[test]
fn forward_compatibility_rules_are_enforced() {
    let spec = BASE
        .replace(
            "      required: [state]\n",
            "      required: [state]\n      additionalProperties: false\n",
        )
        .replace("        reason: {type: string}\n        data:", "        reason: {type: string, pattern: \"^[a-z]+$\"}\n        data:")
        .replace(
            "        state: {$ref: \"#/components/schemas/State\"}\n      example: {state: resolved}\n    Ack",
            "        state: {type: string, enum: [a, b]}\n      example: {state: a}\n    Ack",
        );
    assert_problem(&spec, "schema StateUpdate: `additionalProperties: false`");
    assert_problem(&spec, "schema Ack.properties.reason: `pattern`");
    assert_problem(&spec, "schema StateUpdate.properties.state: inline `enum`");
}

#[test]
fn a_schema_without_example_is_reported() {
    let spec = BASE.replace("      example: {state: resolved}\n    Ack", "    Ack");
    assert_problem(&spec, "schema StateUpdate: has no `example`");
}

#[test]
fn an_inline_object_named_like_a_component_is_reported() {
    let spec = BASE.replace(
        "        state: {$ref: \"#/components/schemas/State\"}\n      example: {state: resolved}\n    Ack",
        "        data: {type: object, properties: {x: {type: string}}}\n      example: {state: resolved}\n    StateUpdateData:\n      type: object\n      description: D.\n      example: {}\n    Ack",
    );
    assert_problem(
        &spec,
        "inline object `data` would be named `StateUpdateData`, which is also a component",
    );
}

#[test]
fn external_and_dangling_refs_are_reported() {
    let spec = BASE
        .replace(
            "schema: {$ref: \"#/components/schemas/StateUpdate\"}",
            "schema: {$ref: \"other.yaml#/Thing\"}",
        )
        .replace(
            "state: {$ref: \"#/components/schemas/State\"}\n      example: {state: resolved}\n\nx-crisp",
            "state: {$ref: \"#/components/schemas/Missing\"}\n      example: {state: resolved}\n\nx-crisp",
        );
    assert_problem(&spec, "external $ref `other.yaml#/Thing`");
    let spec = BASE.replace(
        "schema: {$ref: \"#/components/schemas/StateUpdate\"}",
        "schema: {$ref: \"#/components/schemas/Missing\"}",
    );
    assert_problem(
        &spec,
        "$ref `#/components/schemas/Missing` points at nothing",
    );
}

#[test]
fn webhooks_must_match_operations_and_carry_an_example() {
    let spec = BASE.replace(
        "x-crisp-webhook: session:set_state",
        "x-crisp-webhook: session:set_nothing",
    );
    assert_problem(
        &spec,
        "x-crisp-webhook `session:set_nothing` is not an event of x-crisp-webhooks",
    );
    assert_problem(
        &spec,
        "webhook session:set_state: triggered_by names `change_conversation_state`, whose x-crisp-webhook is not `session:set_state`",
    );
    let spec = BASE.replace(
        "    example: {website_id: w, event: \"session:set_state\", data: {state: resolved}, timestamp: 1}\n",
        "",
    );
    assert_problem(&spec, "webhook session:set_state: needs an `example`");
}

#[test]
fn problems_are_all_reported_at_once_and_nothing_is_generated() {
    let spec = BASE
        .replace("      x-crisp-scope: website:conversation:states\n", "")
        .replace("      example: {state: resolved}\n    Ack", "    Ack");
    assert!(problems(&spec).len() >= 2);
    let err = generate(&spec).expect_err("lint fails");
    assert!(err.0.contains("nothing was generated"), "{err}");
    assert!(err.0.contains("has no x-crisp-scope"), "{err}");
}

#[test]
fn an_inline_enum_on_a_parameter_is_reported() {
    let spec = BASE.replace(
        "- {name: session_id, in: path, required: true, description: Session., example: session_1, schema: {type: string}}",
        "- {name: session_id, in: path, required: true, description: Session., example: a, schema: {type: string, enum: [a, b]}}",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: parameter `session_id` has an inline `enum`",
    );
}

/// BASE plus a list operation paged by `{page_number}`, with the given `x-crisp-paging` line
/// (empty for none).
fn with_list(paging: &str) -> String {
    with_list_of(paging, "ItemList")
}

/// [`with_list`], answering with the `response` component.
fn with_list_of(paging: &str, response: &str) -> String {
    let list = format!(
        r##"  /website/{{website_id}}/conversations/{{page_number}}:
    get:
      operationId: list_conversations
      tags: [Conversations]
      summary: List conversations.
      x-crisp-scope: website:conversation:sessions
      x-crisp-access: read
      {paging}
      parameters:
        - {{name: website_id, in: path, required: true, description: Website., example: w1, schema: {{type: string}}}}
        - {{name: page_number, in: path, required: true, description: Page., example: 1, schema: {{type: integer, minimum: 1}}}}
        - {{name: per_page, in: query, description: Page size., example: 20, schema: {{type: integer, minimum: 20, maximum: 50}}}}
      responses:
        "2XX":
          description: OK
          content:
            application/json:
              schema: {{$ref: "#/components/schemas/{response}"}}
        "4XX": {{$ref: "#/components/responses/Error"}}
        "5XX": {{$ref: "#/components/responses/Error"}}
components:
"##
    );
    let items = r##"  schemas:
    Item:
      type: object
      description: One listed item.
      properties:
        id: {type: string}
      example: {id: i1}
    ItemList:
      type: object
      description: A page of items.
      required: [error, reason, data]
      properties:
        error: {type: boolean}
        reason: {type: string}
        data: {type: array, items: {$ref: "#/components/schemas/Item"}}
      example: {error: false, reason: resolved, data: [{id: i1}]}
"##;
    replaced(
        &replaced(BASE, "components:\n", &list),
        "  schemas:\n",
        items,
    )
}

/// `text` with the first `from` replaced by `to`; a `from` that is not there fails the test,
/// so a drifted anchor cannot leave the spec unchanged and a test passing on `BASE`.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the anchor {from:?} is not in the spec"
    );
    text.replacen(from, to, 1)
}

#[test]
fn paging_is_read_into_the_operations_table() {
    let spec = with_list("x-crisp-paging: {style: page_number, page_size: 25, per_page: per_page}");
    assert_eq!(problems(&spec), Vec::<String>::new());
    let loaded = load(&spec).unwrap();
    assert_eq!(
        loaded.operation("list_conversations").unwrap().paging,
        Some(xtask::spec::Paging::PageNumber {
            page_size: 25,
            per_page: Some("per_page".into())
        })
    );
    assert_eq!(
        loaded
            .operation("change_conversation_state")
            .unwrap()
            .paging,
        None
    );
    let files = generate(&spec).expect("generates");
    let table = files
        .iter()
        .find(|f| f.path.ends_with("operations.rs"))
        .unwrap();
    assert!(
        table.contents.contains(
            "paging: Some(Paging::PageNumber {\n            page_size: 25,\n            per_page: Some(\"per_page\"),\n        }),"
        ),
        "{}",
        table.contents
    );
}

#[test]
fn a_page_number_path_needs_page_number_paging_and_the_reverse() {
    assert_problem(
        &with_list(""),
        "operation list_conversations: has a `{page_number}` path parameter but no x-crisp-paging",
    );
    assert_problem(
        &with_list("x-crisp-paging: {style: timestamp_before}"),
        "operation list_conversations: has a `{page_number}` path parameter, so its x-crisp-paging style must be `page_number`",
    );
    let spec = BASE.replace(
        "      x-crisp-access: write\n",
        "      x-crisp-access: write\n      x-crisp-paging: {style: page_number, page_size: 20}\n",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: x-crisp-paging style `page_number` needs a `{page_number}` path parameter",
    );
    let spec = BASE.replace(
        "      x-crisp-access: write\n",
        "      x-crisp-access: write\n      x-crisp-paging: {style: timestamp_before}\n",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: x-crisp-paging style `timestamp_before` needs a `timestamp_before` query parameter",
    );
}

#[test]
fn an_unknown_paging_style_or_a_bad_page_size_is_reported() {
    assert_problem(
        &with_list("x-crisp-paging: {style: cursor, page_size: 20}"),
        "operation list_conversations: x-crisp-paging: unknown style `cursor`",
    );
    assert_problem(
        &with_list("x-crisp-paging: {page_size: 20}"),
        "operation list_conversations: x-crisp-paging: unknown style (none)",
    );
    for page_size in ["0", "-5", "twenty", "4294967296"] {
        assert_problem(
            &with_list(&format!(
                "x-crisp-paging: {{style: page_number, page_size: {page_size}}}"
            )),
            "operation list_conversations: x-crisp-paging: `page_size` (the route's default page size) must be a whole number above 0",
        );
    }
    assert_problem(
        &with_list("x-crisp-paging: {style: page_number}"),
        "`page_size` (the route's default page size) must be a whole number above 0",
    );
    assert_problem(
        &with_list("x-crisp-paging: {style: page_number, page_size: 20, per_page: limit}"),
        "operation list_conversations: x-crisp-paging: `per_page` must name a query parameter of the operation, not limit",
    );
    assert_problem(
        &with_list("x-crisp-paging: {style: page_number, page_size: 20, size: 20}"),
        "operation list_conversations: x-crisp-paging: unknown key `size`",
    );
}

#[test]
fn every_path_and_query_parameter_needs_an_example_that_fits() {
    let spec = BASE.replace(
        "description: Session., example: session_1, ",
        "description: Session., ",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: path parameter `session_id` has no `example`",
    );
    let spec = with_list("x-crisp-paging: {style: page_number, page_size: 20, per_page: per_page}")
        .replace(
            "description: Page size., example: 20, ",
            "description: Page size., ",
        );
    assert_problem(
        &spec,
        "operation list_conversations: query parameter `per_page` has no `example`",
    );
    let list = |from: &str, to: &str| {
        with_list("x-crisp-paging: {style: page_number, page_size: 20, per_page: per_page}")
            .replace(from, to)
    };
    assert_problem(
        &list(
            "description: Page., example: 1,",
            "description: Page., example: first,",
        ),
        "operation list_conversations: path parameter `page_number`: its example is not of type `integer`",
    );
    assert_problem(
        &list(
            "description: Page size., example: 20,",
            "description: Page size., example: 10,",
        ),
        "operation list_conversations: query parameter `per_page`: its example is below the minimum 20",
    );
    assert_problem(
        &list(
            "description: Page size., example: 20,",
            "description: Page size., example: 100,",
        ),
        "operation list_conversations: query parameter `per_page`: its example is above the maximum 50",
    );
    assert_problem(
        &BASE.replace(
            "description: Website., example: w1,",
            "description: Website., example: 7,",
        ),
        "operation change_conversation_state: path parameter `website_id`: its example is not of type `string`",
    );
    // An enum component's values bound the example.
    let spec = list(
        "        - {name: per_page, in: query, description: Page size., example: 20, schema: {type: integer, minimum: 20, maximum: 50}}",
        "        - {name: per_page, in: query, description: Page size., example: 20, schema: {type: integer, minimum: 20, maximum: 50}}\n        - {name: state, in: query, description: State., example: closed, schema: {$ref: \"#/components/schemas/State\"}}",
    );
    assert_problem(
        &spec,
        "operation list_conversations: query parameter `state`: its example closed is not one of the enum's values",
    );
}

#[test]
fn a_path_parameter_has_one_example_across_the_spec() {
    let spec = replaced(
        &with_list("x-crisp-paging: {style: page_number, page_size: 20, per_page: per_page}"),
        "description: Website., example: w1,",
        "description: Website., example: w2,",
    );
    assert_problem(
        &spec,
        "path parameter `website_id`: its example differs from the one in",
    );
}

#[test]
fn the_path_template_and_the_path_parameters_must_agree() {
    // `{session_id}` renamed in the path only: one name is undeclared, the other is missing.
    let path = "/website/{website_id}/conversation/{session_id}/state:";
    let spec = replaced(
        BASE,
        path,
        "/website/{website_id}/conversation/{session}/state:",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: the path has `{session}`, which is not a declared \
         path parameter",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: path parameter `session_id` is not in the path \
         `/website/{website_id}/conversation/{session}/state`",
    );
    let spec = replaced(
        BASE,
        path,
        "/website/{website_id}/conversation/{session_id}/state/{session_id}:",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: path parameter `session_id` is in the path more \
         than once",
    );
}

#[test]
fn a_request_body_needs_an_example_with_its_required_fields() {
    // An inline body schema with no example anywhere.
    let inline = "            schema: {type: object, required: [state], properties: {state: {$ref: \"#/components/schemas/State\"}}}";
    let spec = BASE.replace(
        "            schema: {$ref: \"#/components/schemas/StateUpdate\"}",
        inline,
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: requestBody `application/json` has no example",
    );
    // An example under the media type is enough.
    let spec = BASE.replace(
        "            schema: {$ref: \"#/components/schemas/StateUpdate\"}",
        &format!("{inline}\n            example: {{state: pending}}"),
    );
    assert_eq!(problems(&spec), Vec::<String>::new());
    // An example that lacks a required field is not usable.
    let spec = BASE.replace(
        "            schema: {$ref: \"#/components/schemas/StateUpdate\"}",
        &format!("{inline}\n            example: {{}}"),
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: requestBody `application/json`: the example lacks the required `state`",
    );
    let spec = BASE.replace(
        "      example: {state: resolved}\n    Ack",
        "      example: [resolved]\n    Ack",
    );
    assert_problem(
        &spec,
        "operation change_conversation_state: requestBody `application/json`: the example is not an object",
    );
}

/// BASE with these `links` on its success response.
fn with_links(links: &str) -> String {
    replaced(
        BASE,
        "              schema: {$ref: \"#/components/schemas/Ack\"}\n        \"4XX\"",
        &format!(
            "              schema: {{$ref: \"#/components/schemas/Ack\"}}\n          links:\n{links}        \"4XX\""
        ),
    )
}

#[test]
fn links_are_allowed_and_ignored_by_the_client_generator() {
    let spec = with_links(
        "            again:\n              operationId: change_conversation_state\n              parameters:\n                website_id: '$request.path.website_id'\n                session_id: '$request.path.session_id'\n            constant:\n              operationId: change_conversation_state\n              parameters: {website_id: w1, session_id: '$response.body#/reason'}\n",
    );
    assert_eq!(problems(&spec), Vec::<String>::new());
    let with = generate(&spec).expect("generates");
    let without = generate(BASE).expect("generates");
    let client = |files: &[xtask::GeneratedFile]| {
        let file = files.iter().find(|f| f.path.ends_with("api.rs")).unwrap();
        // Drop the header line, which holds the spec's hash.
        file.contents.split_once('\n').unwrap().1.to_owned()
    };
    assert_eq!(
        client(&with),
        client(&without),
        "links change no generated code"
    );
}

#[test]
fn a_link_to_an_unknown_operation_or_parameter_is_reported() {
    let link = |body: &str| with_links(&format!("            next:\n{body}"));
    assert_problem(
        &link(
            "              operationId: get_nothing\n              parameters: {website_id: '$request.path.website_id'}\n",
        ),
        "operation change_conversation_state: link `next`: operationId `get_nothing` is not an operation of the spec",
    );
    assert_problem(
        &link("              operationRef: '#/paths/~1x/get'\n"),
        "operation change_conversation_state: response 2XX: link `next` needs an `operationId`",
    );
    assert_problem(
        &link(
            "              operationId: change_conversation_state\n              parameters: {people_id: '$request.path.website_id'}\n",
        ),
        "operation change_conversation_state: link `next`: `change_conversation_state` has no parameter `people_id`",
    );
    assert_problem(
        &link(
            "              operationId: change_conversation_state\n              parameters: {session_id: '$request.path.people_id'}\n",
        ),
        "link `next`: parameter `session_id`: `$request.path.people_id`: the operation has no path parameter `people_id`",
    );
    assert_problem(
        &link(
            "              operationId: change_conversation_state\n              parameters: {session_id: '$response.body#/data/session_id'}\n",
        ),
        "link `next`: parameter `session_id`: `$response.body#/data/session_id`: the response body's schema has no `session_id` there",
    );
}

#[test]
fn a_paged_route_must_list_components() {
    let spec = with_list_of("x-crisp-paging: {style: page_number, page_size: 20}", "Ack");
    assert_problem(
        &spec,
        "operation list_conversations: x-crisp-paging: a paged route's success envelope needs \
         `data: {type: array, items: {$ref: ...}}`",
    );
}

#[test]
fn a_tool_text_that_speaks_of_the_generator_is_refused() {
    for (said, word) in [
        (
            "The generator replaces this schema with a hand-written type.",
            "generator",
        ),
        ("Decoded into a Rust enum.", "rust"),
    ] {
        let spec = BASE.replace(
            "description: A new state.",
            &format!("description: A new state. {said}"),
        );
        assert_eq!(problems(&spec), Vec::<String>::new(), "lint passes: {said}");
        let Err(error) = generate(&spec) else {
            panic!("generation is refused: {said}");
        };
        let error = error.to_string();
        assert!(
            error.contains(&format!(
                "operation change_conversation_state: its input schema speaks of `{word}`"
            )),
            "{error}"
        );
    }
    // A word that merely contains one is fine.
    let spec = BASE.replace(
        "description: A new state.",
        "description: A new state, trusted.",
    );
    assert!(generate(&spec).is_ok());
}
