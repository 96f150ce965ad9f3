//! What each operation does to the workspace: one file per tag of the spec, and this dispatch.
//! An operation of the spec that has no behaviour here answers the spec's example.

use crisp_api::Operation;

use crate::envelope::ApiError;
use crate::route::Route;
use crate::state::Workspace;
use crate::validate::{Input, Validators};

mod call;
mod campaigns;
mod conversation_state;
mod conversations;
mod filters;
mod messages;
mod operators;
mod people;
mod settings;
mod visitors;

pub(crate) use call::Success;
pub use messages::MESSAGE_BATCH;

/// Runs operation `route` on the workspace. `now` is Unix milliseconds.
pub(crate) fn run(
    ws: &mut Workspace,
    route: &Route,
    input: &Input,
    validators: &Validators,
    now: i64,
) -> Result<Success, ApiError> {
    let call = call::Call::new(ws, route, input, validators, now)?;
    // Keyed by crisp-api's operations table: a misspelt operation does not compile.
    match *route.op {
        Operation::LIST_CONVERSATIONS => conversations::list(&call, ws),
        Operation::CREATE_CONVERSATION => conversations::create(&call, ws),
        Operation::GET_CONVERSATION => conversations::get(&call, ws),
        Operation::REMOVE_CONVERSATION => conversations::remove(&call, ws),

        Operation::LIST_MESSAGES => messages::list(&call, ws),
        Operation::SEND_MESSAGE => messages::send(&call, ws),
        Operation::GET_MESSAGE => messages::get(&call, ws),
        Operation::UPDATE_MESSAGE => messages::update(&call, ws),
        Operation::MARK_MESSAGES_READ => messages::mark_read(&call, ws),

        Operation::GET_CONVERSATION_STATE => conversation_state::get_state(&call, ws),
        Operation::CHANGE_CONVERSATION_STATE => conversation_state::change_state(&call, ws),
        Operation::GET_CONVERSATION_META => conversation_state::get_meta(&call, ws),
        Operation::UPDATE_CONVERSATION_META => conversation_state::update_meta(&call, ws),
        Operation::ASSIGN_CONVERSATION_ROUTING => conversation_state::assign_routing(&call, ws),
        Operation::BLOCK_CONVERSATION => conversation_state::block(&call, ws),

        Operation::LIST_PEOPLE_PROFILES => people::list(&call, ws),
        Operation::ADD_PEOPLE_PROFILE => people::add(&call, ws),
        Operation::GET_PEOPLE_PROFILE => people::get(&call, ws),
        Operation::UPDATE_PEOPLE_PROFILE => people::write(&call, ws, false),
        Operation::SAVE_PEOPLE_PROFILE => people::write(&call, ws, true),
        Operation::REMOVE_PEOPLE_PROFILE => people::remove(&call, ws),
        Operation::GET_PEOPLE_DATA => people::get_data(&call, ws),

        Operation::GET_WEBSITE_SETTINGS => settings::get(ws),
        Operation::UPDATE_WEBSITE_SETTINGS => settings::update(&call, ws),

        Operation::LIST_OPERATORS => operators::list(ws),
        Operation::GET_OPERATOR => operators::get(&call, ws),

        Operation::LIST_VISITORS => visitors::list(&call, ws),
        Operation::COUNT_VISITORS => visitors::count(ws),

        Operation::LIST_CAMPAIGNS => campaigns::list(&call, ws),
        Operation::DISPATCH_CAMPAIGN => campaigns::dispatch(&call, ws),

        _ => call::example(route),
    }
}
