//! The upstream: the one Crisp token, behind one [`crisp_api::Client`].
//!
//! The client has the upstream's credentials and nothing else of crisp-api's policies: no
//! grants, no confirmation, no budget (the gateway decides those per agent, before anything is
//! sent). Its retry policy is crisp-api's (a rate-limited or failed read is retried, a write
//! that may have reached Crisp never is), as are its id checks and its cap on answers.
//!
//! It also reads the facts the resource rules need about one conversation (its `inbox_id` and
//! `assigned.user_id`, from `get_conversation`) and keeps them a few seconds, in a bounded
//! cache keyed by website and session: an agent that reads a conversation, then its messages,
//! then replies costs one read, not three. A write through the gateway to a conversation
//! forgets its facts, so a reassignment made through the gateway is seen at once; one made
//! elsewhere (in Crisp's app) is seen within the cache's time to live.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use crisp_api::{AuditRecord, Client, Error, Operation};
use lru::LruCache;
use parking_lot::Mutex;
use serde_json::Value;

use crate::decide::ConversationFacts;

/// How long a conversation's facts are kept: 5 s.
pub const FACTS_TTL: Duration = Duration::from_secs(5);

/// How many conversations' facts are kept at most (the least recently used go first): 10,000,
/// about a megabyte.
pub const FACTS_CAPACITY: usize = 10_000;

/// The upstream Crisp (or a sandbox), and the cache of conversations' facts.
#[derive(Debug)]
pub struct Upstream {
    client: Client,
    ttl: Duration,
    facts: Mutex<LruCache<String, (Instant, ConversationFacts)>>,
}

/// A call to send upstream: the operation, its checked path ids, its query and its body.
#[derive(Debug, Clone)]
pub struct Send<'a> {
    /// The operation.
    pub operation: &'static Operation,
    /// The path ids, `(name, value)`.
    pub ids: &'a [(&'static str, String)],
    /// The query parameters, in order.
    pub query: &'a [(String, String)],
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl Upstream {
    /// The upstream `client` (built with the upstream credentials and base URL only), with a
    /// cache of [`FACTS_CAPACITY`] conversations kept [`FACTS_TTL`].
    pub fn new(client: Client) -> Self {
        Self::with_cache(client, FACTS_TTL, FACTS_CAPACITY)
    }

    /// The same, with another cache: facts kept `ttl` (zero: never kept), `capacity`
    /// conversations at most (at least 1).
    pub fn with_cache(client: Client, ttl: Duration, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            client,
            ttl,
            facts: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The client calls go through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `call` through the client; the result is Crisp's envelope, and the record says
    /// how many requests it took and the answer's status. A write to a conversation (its
    /// `website_id` and `session_id`) then [forgets](Self::forget) the facts kept of it,
    /// whatever the answer (a write that failed may still have reached Crisp).
    pub async fn send(&self, call: Send<'_>) -> (Result<Value, Error>, AuditRecord) {
        let (operation, ids) = (call.operation, call.ids);
        let mut request = self.client.call(call.operation);
        for (name, value) in call.ids {
            request = request.path(*name, value.as_str());
        }
        for (name, value) in call.query {
            request = request.query(name.as_str(), value.as_str());
        }
        if let Some(body) = call.body {
            request = request.body(body);
        }
        let answer = request.send_audited().await;
        if operation.is_write() {
            let id = |name: &str| {
                ids.iter()
                    .find(|(id, _)| *id == name)
                    .map(|(_, value)| value.as_str())
            };
            if let (Some(website), Some(session)) = (id("website_id"), id("session_id")) {
                self.forget(website, session);
            }
        }
        answer
    }

    /// The facts of a conversation read less than the time to live ago, if any.
    pub fn cached_facts(&self, website_id: &str, session_id: &str) -> Option<ConversationFacts> {
        let key = key(website_id, session_id);
        let mut cache = self.facts.lock();
        match cache.get(&key) {
            Some((at, facts)) if at.elapsed() < self.ttl => Some(facts.clone()),
            Some(_) => {
                cache.pop(&key);
                None
            }
            None => None,
        }
    }

    /// Reads a conversation's facts from Crisp (`get_conversation`) and keeps them; the number
    /// of requests it took (crisp-api's retries included) comes with the result.
    pub async fn fetch_facts(
        &self,
        website_id: &str,
        session_id: &str,
    ) -> (Result<ConversationFacts, Error>, u32) {
        let ids = [
            ("website_id", website_id.to_owned()),
            ("session_id", session_id.to_owned()),
        ];
        let (result, record) = self
            .send(Send {
                operation: &Operation::GET_CONVERSATION,
                ids: &ids,
                query: &[],
                body: None,
            })
            .await;
        let facts = result.map(|envelope| facts_of(&envelope["data"]));
        if let Ok(facts) = &facts
            && !self.ttl.is_zero()
        {
            self.facts
                .lock()
                .put(key(website_id, session_id), (Instant::now(), facts.clone()));
        }
        (facts, record.attempts)
    }

    /// Forgets what is kept of a conversation (after a write to it).
    pub fn forget(&self, website_id: &str, session_id: &str) {
        self.facts.lock().pop(&key(website_id, session_id));
    }
}

/// The facts the resource rules read in a conversation's JSON (`get_conversation`'s `data`, or
/// an item of `list_conversations`): `inbox_id` and `assigned.user_id`, when they are strings.
///
/// ```
/// use crisp_gateway::upstream::facts_of;
///
/// let facts = facts_of(&serde_json::json!({"inbox_id": "i1", "assigned": {"user_id": "u1"}}));
/// assert_eq!((facts.inbox_id.as_deref(), facts.assigned.as_deref()), (Some("i1"), Some("u1")));
/// assert_eq!(facts_of(&serde_json::json!({"assigned": null})).assigned, None);
/// ```
pub fn facts_of(conversation: &Value) -> ConversationFacts {
    let text = |value: &Value| value.as_str().map(str::to_owned);
    ConversationFacts {
        inbox_id: text(&conversation["inbox_id"]),
        assigned: text(&conversation["assigned"]["user_id"]),
    }
}

/// The cache's key: ids hold no `\n` (crisp-api refuses control characters in ids).
fn key(website_id: &str, session_id: &str) -> String {
    let mut key = String::with_capacity(website_id.len() + session_id.len() + 1);
    key.push_str(website_id);
    key.push('\n');
    key.push_str(session_id);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crisp_api::{Credentials, RetryPolicy};

    fn upstream(ttl: Duration, capacity: usize) -> Upstream {
        let client = Client::builder(Credentials::plugin("i", "k"))
            .base_url("http://127.0.0.1:9/v1")
            .retry(RetryPolicy::never())
            .build()
            .unwrap();
        Upstream::with_cache(client, ttl, capacity)
    }

    fn put(upstream: &Upstream, session: &str, inbox: &str) {
        let facts = ConversationFacts {
            inbox_id: Some(inbox.to_owned()),
            assigned: None,
        };
        upstream
            .facts
            .lock()
            .put(key("w", session), (Instant::now(), facts));
    }

    #[test]
    fn facts_are_kept_bounded_and_forgotten() {
        let kept = upstream(Duration::from_secs(3600), 2);
        put(&kept, "s1", "i1");
        put(&kept, "s2", "i2");
        assert_eq!(
            kept.cached_facts("w", "s1").unwrap().inbox_id.as_deref(),
            Some("i1")
        );
        // s1 was used last: a third conversation pushes s2 out.
        put(&kept, "s3", "i3");
        assert!(kept.cached_facts("w", "s2").is_none());
        assert!(kept.cached_facts("w", "s1").is_some());
        assert!(kept.cached_facts("other", "s1").is_none());
        kept.forget("w", "s1");
        assert!(kept.cached_facts("w", "s1").is_none());
    }

    #[tokio::test]
    async fn a_write_to_a_conversation_forgets_its_facts_a_read_does_not() {
        // Nothing listens on port 9: the sends fail, and a write forgets all the same (it may
        // have reached Crisp).
        let kept = upstream(Duration::from_secs(3600), 10);
        put(&kept, "s1", "i1");
        let ids = [
            ("website_id", "w".to_owned()),
            ("session_id", "s1".to_owned()),
        ];
        let send = |operation| Send {
            operation,
            ids: &ids,
            query: &[],
            body: None,
        };
        let _ = kept.send(send(&Operation::LIST_MESSAGES)).await;
        assert!(kept.cached_facts("w", "s1").is_some(), "a read keeps them");
        let _ = kept.send(send(&Operation::SEND_MESSAGE)).await;
        assert!(
            kept.cached_facts("w", "s1").is_none(),
            "a write forgets them"
        );
    }

    #[test]
    fn expired_facts_are_not_used() {
        let expired = upstream(Duration::ZERO, 10);
        put(&expired, "s1", "i1");
        assert!(expired.cached_facts("w", "s1").is_none());
        assert!(
            expired.facts.lock().is_empty(),
            "an expired entry is dropped"
        );
    }
}
