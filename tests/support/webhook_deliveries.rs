//! The `example` delivery of every event under `x-crisp-webhooks` in `spec/crisp.yaml`, as
//! compact JSON, shared by the webhook receiver and parsing tests.
//!
//! Copied by hand from the spec (there is no YAML parser among the dev-dependencies):
//! `examples_cover_every_event` in `tests/webhook_parse.rs` fails when an event is added to the
//! spec and not here. `tests/spec_examples.rs` checks the spec's own copies.

#![allow(dead_code)]

use crisp_api::webhook::Event;

/// `(event name, delivery body)` for every event the crate knows, in the spec's order.
pub const DELIVERIES: &[(&str, &str)] = &[
    (
        "message:send",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"message:send","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null,"type":"text","from":"user","origin":"chat","content":"Hi, my order has not arrived yet.","fingerprint":170000000012345,"timestamp":1700000300000,"user":{"user_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","nickname":"Jane Doe"},"stamped":true},"timestamp":1700000300000}"#,
    ),
    (
        "message:received",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"message:received","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null,"type":"file","from":"operator","origin":"urn:acme.example.com:agent:0","content":{"name":"invoice.pdf","url":"https://storage.crisp.chat/users/upload/invoice.pdf","type":"application/pdf"},"fingerprint":170000000012399,"timestamp":1700000400000,"user":{"type":"website","user_id":"3d8e5a5c-6b2f-4c1e-9a1f-2f9bb3b5c4d1","nickname":"Alex Martin","avatar":"https://example.com/avatars/alex.png"},"automated":true},"timestamp":1700000400000}"#,
    ),
    (
        "message:updated",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"message:updated","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null,"fingerprint":170000000012399,"content":"Your parcel left our warehouse this morning (tracking: 123)."},"timestamp":1700000450000}"#,
    ),
    (
        "session:request:initiated",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"session:request:initiated","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null},"timestamp":1700000000000}"#,
    ),
    (
        "session:set_state",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"session:set_state","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null,"state":"resolved"},"timestamp":1700000900000}"#,
    ),
    (
        "session:set_email",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"session:set_email","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null,"email":"jane.doe@example.com"},"timestamp":1700000100000}"#,
    ),
    (
        "session:set_routing",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"session:set_routing","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null,"routing_id":"3d8e5a5c-6b2f-4c1e-9a1f-2f9bb3b5c4d1","previous_routing_id":null},"timestamp":1700000200000}"#,
    ),
    (
        "session:set_block",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"session:set_block","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null,"is_blocked":true},"timestamp":1700000950000}"#,
    ),
    (
        "session:removed",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"session:removed","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","session_id":"session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881","inbox_id":null},"timestamp":1700001000000}"#,
    ),
    (
        "people:profile:created",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"people:profile:created","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","people_id":"c5a0ff1a-7b46-4f1c-a7c0-3f2c4ec15ff1","email":"jane.doe@example.com"},"timestamp":1690000000000}"#,
    ),
    (
        "people:profile:updated",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"people:profile:updated","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","people_id":"c5a0ff1a-7b46-4f1c-a7c0-3f2c4ec15ff1","email":"jane.doe@example.com","update":{"updated_at":1700000900000,"person":{"nickname":"Jane Doe","phone":"+33 6 12 34 56 78"}}},"timestamp":1700000900000}"#,
    ),
    (
        "people:profile:removed",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"people:profile:removed","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","people_id":"c5a0ff1a-7b46-4f1c-a7c0-3f2c4ec15ff1"},"timestamp":1700002000000}"#,
    ),
    (
        "campaign:dispatched",
        r#"{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","event":"campaign:dispatched","data":{"website_id":"8c842203-7ed8-4e29-a608-7cf78a7d2fcc","campaign_id":"5bd2b3ba-6c5b-47cb-9d3f-0e2a8b1f7c44"},"timestamp":1700000000000}"#,
    ),
];

/// Whether `event` is the typed variant for `name` (spelled out per variant, rather than
/// trusting [`Event::name`]).
pub fn is_variant_for(event: &Event, name: &str) -> bool {
    matches!(
        (event, name),
        (Event::MessageSend(_), "message:send")
            | (Event::MessageReceived(_), "message:received")
            | (Event::MessageUpdated(_), "message:updated")
            | (
                Event::SessionRequestInitiated(_),
                "session:request:initiated"
            )
            | (Event::SessionSetState(_), "session:set_state")
            | (Event::SessionSetEmail(_), "session:set_email")
            | (Event::SessionSetRouting(_), "session:set_routing")
            | (Event::SessionSetBlock(_), "session:set_block")
            | (Event::SessionRemoved(_), "session:removed")
            | (Event::PeopleProfileCreated(_), "people:profile:created")
            | (Event::PeopleProfileUpdated(_), "people:profile:updated")
            | (Event::PeopleProfileRemoved(_), "people:profile:removed")
            | (Event::CampaignDispatched(_), "campaign:dispatched")
    )
}
