//! A support agent's loop, with exactly the grants it needs: for each unresolved conversation
//! whose customer wrote last, read the latest messages, reply, and resolve it.
//!
//! ```sh
//! cargo run --example agent                 # on a local sandbox, with no account
//! CRISP_IDENTIFIER=... CRISP_KEY=... CRISP_WEBSITE_ID=... cargo run --example agent -- --dry-run
//! ```
//!
//! Against the real Crisp it needs `--dry-run` (read only: it prints what it would send) or
//! `--confirm` (asks on the terminal before each reply and each resolution). On the sandbox it
//! acts, and approves its own confirmations. Every call leaves an audit line on stderr.
//!
//! It reads the environment as every crisp-api tool does ([`crisp_api::env`]): `CRISP_BASE_URL`
//! is honoured, and a wrong setting ends it with one sentence saying what to do.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use crisp_api::env::{Env, WEBSITE_ID, Website};
use crisp_api::types::{
    Content, Conversation, ConversationState, ConversationStateUpdate, Message, MessageFrom,
    NewMessage,
};
use crisp_api::{AuditRecord, Client, Operation};
use futures::{StreamExt, TryStreamExt};

/// What the agent does: the client refuses anything else before it reaches Crisp.
const OPERATIONS: [&Operation; 4] = [
    &Operation::LIST_CONVERSATIONS,
    &Operation::LIST_MESSAGES,
    &Operation::SEND_MESSAGE,
    &Operation::CHANGE_CONVERSATION_STATE,
];

/// How many conversations one run handles at most.
const MAX_CONVERSATIONS: usize = 5;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // A sentence, not `Debug`: what went wrong and what to do.
            eprintln!("agent: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let ask = args.iter().any(|a| a == "--confirm");

    // The calls this run makes; with `CRISP_GRANTS` set, it must allow them all.
    let calls: Vec<&Operation> = OPERATIONS
        .iter()
        .copied()
        .filter(|op| !dry_run || !op.is_write())
        .collect();
    let env = Env::read(Website::Required)?;
    let grants = env.grants_for(&calls)?;

    // The real Crisp when the environment says so; otherwise a sandbox in this process.
    let (builder, website, _sandbox) = match env.crisp {
        Some(crisp) => {
            if !dry_run && !ask {
                return Err(
                    "against the real Crisp, pass --dry-run (read only) or --confirm \
                            (ask before each reply and resolution)"
                        .into(),
                );
            }
            let website = crisp.website_id.clone().ok_or(format!(
                "{WEBSITE_ID} is not set: give it the website to work on"
            ))?;
            eprintln!("on {} (website {website})", crisp.base_url);
            (crisp.client_builder(), website, None)
        }
        None => {
            let sandbox = crisp_sandbox::Sandbox::start().await?;
            let builder = Client::builder(sandbox.credentials()).base_url(sandbox.base_url());
            let website = sandbox.website_id().to_owned();
            eprintln!("on a local sandbox at {}", sandbox.base_url());
            (builder, website, Some(sandbox))
        }
    };

    eprintln!("grants: {grants}");
    let client = builder
        .grants(grants)
        .confirm(move |request| !ask || ask_on_terminal(&request.to_string()))
        .daily_budget(200)
        .on_audit(|record: &AuditRecord| eprintln!("audit: {record}"))
        .build()?;

    let mut handled = 0;
    let mut unresolved = client
        .list_conversations()
        .website_id(website.as_str())
        .filter_not_resolved(1)
        .stream();
    while let Some(conversation) = unresolved.try_next().await? {
        if handled == MAX_CONVERSATIONS {
            break;
        }
        let latest: Vec<Message> = client
            .list_messages()
            .website_id(website.as_str())
            .session_id(conversation.session_id.as_str())
            .stream()
            .take(5)
            .try_collect()
            .await?;
        // Answer only where the customer spoke last.
        let Some(last) = latest.first() else { continue };
        if last.from != Some(MessageFrom::User) {
            continue;
        }
        handled += 1;
        let reply = compose_reply(&conversation, last);
        if dry_run {
            println!("would reply to {}: {reply}", conversation.session_id);
            continue;
        }
        let sent = client
            .send_message()
            .website_id(website.as_str())
            .session_id(conversation.session_id.as_str())
            .body(NewMessage::text(reply.as_str()))
            .send()
            .await;
        match sent {
            Ok(_) => println!("replied to {}: {reply}", conversation.session_id),
            Err(error) if error.is_refused() => {
                println!("skipped {}: {error}", conversation.session_id);
                continue;
            }
            Err(error) => return Err(error.into()),
        }
        // Resolving is neither customer-visible nor irreversible in the spec, so the client's
        // confirmation callback is not asked for it: with --confirm the agent asks itself.
        if ask && !ask_on_terminal(&format!("resolve {}", conversation.session_id)) {
            println!("left {} open", conversation.session_id);
            continue;
        }
        client
            .change_conversation_state()
            .website_id(website.as_str())
            .session_id(conversation.session_id.as_str())
            .body(ConversationStateUpdate::builder().state(ConversationState::Resolved))
            .send()
            .await?;
        println!("resolved {}", conversation.session_id);
    }
    let budget = client.budget().expect("a budget is set");
    println!(
        "handled {handled} conversation(s) with {} request(s); {} left today",
        budget.used, budget.remaining
    );
    Ok(())
}

/// What the agent says: a stand-in for the language model an agent would ask.
fn compose_reply(conversation: &Conversation, last: &Message) -> String {
    let name = conversation
        .meta
        .as_ref()
        .and_then(|meta| meta.nickname.as_deref())
        .unwrap_or("there");
    let asked_about = match (&last.type_, &last.content) {
        (Some(type_), Some(content)) => match Content::decode(type_, content) {
            Ok(Content::Text(text)) => {
                format!(" about \"{}\"", text.chars().take(40).collect::<String>())
            }
            _ => String::new(),
        },
        _ => String::new(),
    };
    format!("Hi {name}, thanks for your message{asked_about}: we have it in hand.")
}

/// Asks on the terminal; anything but `y` is no.
fn ask_on_terminal(question: &str) -> bool {
    print!("allow {question}? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim().eq_ignore_ascii_case("y")
}
