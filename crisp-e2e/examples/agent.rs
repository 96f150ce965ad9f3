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

use std::io::{BufRead, Write};

use crisp_api::types::{
    Content, Conversation, ConversationState, ConversationStateUpdate, Message, MessageFrom,
    NewMessage,
};
use crisp_api::{AuditRecord, Client, Credentials, Grants, Operation};
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
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let ask = args.iter().any(|a| a == "--confirm");

    // The real Crisp when the environment says so; otherwise a sandbox in this process.
    let (credentials, base_url, website, _sandbox) = match real_crisp()? {
        Some((credentials, website)) => {
            if !dry_run && !ask {
                eprintln!(
                    "against the real Crisp, pass --dry-run (read only) or --confirm (ask before \
                     each reply and resolution)"
                );
                std::process::exit(2);
            }
            (
                credentials,
                crisp_api::DEFAULT_BASE_URL.to_owned(),
                website,
                None,
            )
        }
        None => {
            let sandbox = crisp_sandbox::Sandbox::start().await?;
            let credentials = sandbox.credentials();
            let (base, website) = (
                sandbox.base_url().to_owned(),
                sandbox.website_id().to_owned(),
            );
            eprintln!("on a local sandbox at {base}");
            (credentials, base, website, Some(sandbox))
        }
    };

    let grants = Grants::for_operations(&OPERATIONS);
    eprintln!("grants: {grants}");
    let client = Client::builder(credentials)
        .base_url(base_url)
        .grants(if dry_run { grants.read_only() } else { grants })
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

/// The real Crisp's credentials (`CRISP_IDENTIFIER`, `CRISP_KEY`, `CRISP_TIER`) and website
/// (`CRISP_WEBSITE_ID`), when the environment names them.
fn real_crisp() -> Result<Option<(Credentials, String)>, crisp_api::auth::UnknownTier> {
    let website = std::env::var("CRISP_WEBSITE_ID").ok();
    Ok(Credentials::from_env()?.zip(website))
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
