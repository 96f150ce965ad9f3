//! The `example` delivery of every event under `x-crisp-webhooks` in `spec/crisp.yaml`, shared
//! by the webhook receiver and parsing tests. The list itself is generated from the spec by
//! `cargo xtask codegen` into `tests/generated/webhook_deliveries.rs`, so it cannot drift.

#![allow(dead_code)]

use crisp_api::webhook::Event;

#[rustfmt::skip]
#[path = "../generated/webhook_deliveries.rs"]
mod generated;

pub use generated::DELIVERIES;

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
