//! The quickstart: an AI support agent's first run, on a local Crisp, with no account.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! It starts the sandbox (a local, stateful Crisp) in this process, and a webhook receiver
//! beside it; then, as an agent would: lists unresolved conversations, reads the latest
//! messages of one, replies, resolves it and updates the contact's profile; shows a call outside
//! the agent's grants refused before any request; and verifies the webhook deliveries that
//! followed. It prints a short story of what happened.
//!
//! With `CRISP_IDENTIFIER`, `CRISP_KEY` and `CRISP_WEBSITE_ID` set (and `CRISP_TIER`, `plugin`
//! by default; `CRISP_BASE_URL`, Crisp's by default), it makes read-only calls against the real
//! Crisp instead: nothing is written. The environment is read as every crisp-api tool reads it
//! ([`crisp_api::env`]): part of the token set, an empty value, an unknown tier, a bad base URL
//! or grants (`CRISP_GRANTS`) that do not allow its calls end it with one sentence saying what
//! to do, and a non-zero exit.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use crisp_api::env::{Env, RealCrisp, WEBSITE_ID, Website};
use crisp_api::types::{
    Content, ConversationState, ConversationStateUpdate, NewMessage, PeopleProfileWrite,
};
use crisp_api::webhook::{Event, Verifier};
use crisp_api::{AuditRecord, Client, Error, Grants, Operation, Outcome};
use futures::{StreamExt, TryStreamExt};

/// What this agent does, and so the least grants it asks for.
const AGENT: [&Operation; 6] = [
    &Operation::LIST_CONVERSATIONS,
    &Operation::LIST_MESSAGES,
    &Operation::SEND_MESSAGE,
    &Operation::CHANGE_CONVERSATION_STATE,
    &Operation::GET_CONVERSATION,
    &Operation::UPDATE_PEOPLE_PROFILE,
];

/// Read-only: what the quickstart does against the real Crisp.
const READ_ONLY: [&Operation; 2] = [&Operation::LIST_CONVERSATIONS, &Operation::LIST_MESSAGES];

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // A sentence, not `Debug`: what went wrong and what to do.
            eprintln!("quickstart: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The real Crisp (read only) when the environment names it, else the sandbox story; either
/// way, `CRISP_GRANTS`, when set, must allow the calls it makes.
async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let env = Env::read(Website::Required)?;
    match &env.crisp {
        Some(crisp) => read_only(crisp, env.grants_for(&READ_ONLY)?).await,
        None => {
            env.grants_for(&AGENT)?;
            sandbox().await
        }
    }
}

/// Prints each call's audit record as one short line.
fn audit_line(record: &AuditRecord) {
    let mark = match record.outcome {
        Outcome::Succeeded => "ok",
        Outcome::Failed => "FAILED",
        _ => "REFUSED",
    };
    println!("    audit: {mark:<7} {record}");
}

/// The whole story on a sandbox in this process (`tests/quickstart.rs` runs it too).
pub(crate) async fn sandbox() -> Result<(), Box<dyn std::error::Error>> {
    println!("1. Starting a local Crisp (the sandbox) and a webhook receiver on loopback");
    let sandbox = crisp_sandbox::Sandbox::start().await?;
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let verifier = Verifier::new(sandbox.signing_secret())?;
    let receiver = start_receiver(verifier, Arc::clone(&received)).await?;
    sandbox.set_webhook_url(Some(&receiver));
    println!(
        "   Crisp:    {} (website {})",
        sandbox.base_url(),
        sandbox.website_id()
    );
    println!("   webhooks: {receiver}");

    let grants = Grants::for_operations(&AGENT);
    println!("\n2. The agent asks for exactly the scopes it uses:\n   {grants}");
    let client = Client::builder(sandbox.credentials())
        .base_url(sandbox.base_url())
        .grants(grants)
        .confirm(|request| {
            // A real agent would ask a person here; the quickstart approves and says so.
            println!("    confirm: {request}? yes");
            true
        })
        .daily_budget(100)
        .on_audit(audit_line)
        .build()?;
    let website = sandbox.website_id().to_owned();

    println!("\n3. Unresolved conversations (a stream that pages as it goes):");
    let unresolved: Vec<_> = client
        .list_conversations()
        .website_id(website.as_str())
        .filter_not_resolved(1)
        .stream()
        .take(30)
        .try_collect()
        .await?;
    println!(
        "   {} of them (the stream fetched the pages it needed); the first three:",
        unresolved.len()
    );
    for conversation in unresolved.iter().take(3) {
        println!(
            "   - {} {}: {}",
            conversation.session_id,
            conversation
                .meta
                .as_ref()
                .and_then(|m| m.nickname.clone())
                .unwrap_or_default(),
            conversation.last_message.clone().unwrap_or_default()
        );
    }
    // The first one whose customer has a contact profile (to update it in step 7).
    let Some(conversation) = unresolved
        .iter()
        .find(|c| c.people_id.is_some())
        .or(unresolved.first())
    else {
        println!("   (none: nothing to do)");
        return Ok(());
    };
    let session = conversation.session_id.clone();
    if conversation.people_id.is_some() {
        println!("   The agent takes {session}: its customer has a contact profile.");
    } else {
        println!("   The agent takes {session} (no customer here has a contact profile).");
    }

    println!("\n4. The latest messages of {session}, newest first:");
    let latest: Vec<_> = client
        .list_messages()
        .website_id(website.as_str())
        .session_id(session.as_str())
        .stream()
        .take(3)
        .try_collect()
        .await?;
    for message in &latest {
        let from = message
            .from
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let text = match (&message.type_, &message.content) {
            (Some(type_), Some(content)) => match Content::decode(type_, content) {
                Ok(Content::Text(text)) => text,
                Ok(other) => format!("({})", other.message_type()),
                Err(_) => "(unreadable)".to_owned(),
            },
            _ => String::new(),
        };
        println!("   - {from}: {text}");
    }

    println!("\n5. Reply (customer-visible: the confirmation callback is asked first):");
    let sent = client
        .send_message()
        .website_id(website.as_str())
        .session_id(session.as_str())
        .body(NewMessage::text(
            "Thanks for waiting: your refund is on its way.",
        ))
        .send()
        .await?;
    println!(
        "   sent, fingerprint {}",
        sent.data.fingerprint.unwrap_or_default()
    );

    println!("\n6. Resolve the conversation:");
    client
        .change_conversation_state()
        .website_id(website.as_str())
        .session_id(session.as_str())
        .body(ConversationStateUpdate::builder().state(ConversationState::Resolved))
        .send()
        .await?;
    let after = client
        .get_conversation()
        .website_id(website.as_str())
        .session_id(session.as_str())
        .send()
        .await?;
    println!(
        "   now {}",
        after.data.state.map(|s| s.to_string()).unwrap_or_default()
    );

    println!("\n7. Update the contact's profile:");
    match &conversation.people_id {
        Some(people) => {
            client
                .update_people_profile()
                .website_id(website.as_str())
                .people_id(people.as_str())
                .body(PeopleProfileWrite::builder().notepad(Some(
                    "Asked about a refund; answered by the support agent.".to_owned(),
                )))
                .send()
                .await?;
            println!("   noted on profile {people}");
        }
        None => println!("   (this conversation has no contact profile)"),
    }

    println!("\n8. A call outside the agent's grants is refused before any request:");
    match client
        .remove_conversation()
        .website_id(website.as_str())
        .session_id(session.as_str())
        .send()
        .await
    {
        Err(error @ Error::NotGranted { .. }) => println!("   refused: {error}"),
        other => return Err(format!("expected a refusal (not granted), got {other:?}").into()),
    }

    println!("\n9. Webhook deliveries that followed, verified with the signing secret:");
    // The reply, the resolution and the profile update each fire one.
    let expected = 2 + usize::from(conversation.people_id.is_some());
    for _ in 0..50 {
        if received.lock().unwrap().len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lines = received.lock().unwrap().clone();
    for line in &lines {
        println!("   - {line}");
    }
    if lines.len() < expected {
        return Err(format!(
            "expected {expected} verified webhook deliveries within 5 s, got {}",
            lines.len()
        )
        .into());
    }

    let budget = client.budget().expect("a budget is set");
    println!(
        "\nDone: {} requests made of today's budget of {} ({} left).",
        budget.used, budget.limit, budget.remaining
    );
    sandbox.shutdown().await;
    Ok(())
}

/// Starts a webhook receiver on loopback that verifies each delivery and keeps a line about it.
async fn start_receiver(
    verifier: Verifier,
    received: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/crisp/webhooks", listener.local_addr()?);
    let verifier = Arc::new(verifier);
    let app = axum::Router::new().route(
        "/crisp/webhooks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let verifier = Arc::clone(&verifier);
            let received = Arc::clone(&received);
            async move {
                match verifier.verify_and_parse(&headers, &body) {
                    Ok(delivery) => {
                        let what = match &delivery.event {
                            Event::MessageReceived(m) => {
                                format!("message from the operator in {}", m.session_id)
                            }
                            Event::SessionSetState(s) => {
                                format!("{} is now {}", s.session_id, s.state)
                            }
                            Event::PeopleProfileUpdated(p) => {
                                format!("profile {} updated", p.people_id)
                            }
                            other => other.name().to_owned(),
                        };
                        received
                            .lock()
                            .unwrap()
                            .push(format!("{}: {what} (signature ok)", delivery.event.name()));
                        StatusCode::OK
                    }
                    Err(error) => {
                        received.lock().unwrap().push(format!("refused: {error}"));
                        StatusCode::UNAUTHORIZED
                    }
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// Read-only calls against the real Crisp: `CRISP_BASE_URL` (Crisp's by default), the token
/// and the website of the environment.
async fn read_only(crisp: &RealCrisp, grants: Grants) -> Result<(), Box<dyn std::error::Error>> {
    let website = crisp.website_id.as_deref().ok_or(format!(
        "{WEBSITE_ID} is not set: give it the website to read"
    ))?;
    println!(
        "Read-only calls to {} (website {website}); nothing is written.",
        crisp.base_url
    );
    let client = crisp
        .client_builder()
        .grants(grants)
        .daily_budget(20)
        .on_audit(audit_line)
        .build()?;
    let unresolved: Vec<_> = client
        .list_conversations()
        .website_id(website)
        .filter_not_resolved(1)
        .stream()
        .take(5)
        .try_collect()
        .await?;
    println!(
        "{} unresolved conversation(s) on the first page(s):",
        unresolved.len()
    );
    for conversation in &unresolved {
        println!("  - {}", conversation.session_id);
    }
    if let Some(conversation) = unresolved.first() {
        let latest: Vec<_> = client
            .list_messages()
            .website_id(website)
            .session_id(conversation.session_id.as_str())
            .stream()
            .take(3)
            .try_collect()
            .await?;
        println!(
            "{} latest message(s) in {}",
            latest.len(),
            conversation.session_id
        );
    }
    Ok(())
}
