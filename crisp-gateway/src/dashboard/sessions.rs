//! The dashboard's sessions, kept server-side: a bounded map from the SHA-256 of a session's
//! cookie to what the session holds (its CSRF token, who signed in, one message to show).
//!
//! The cookie is 32 random bytes in hex (256 bits); the map is keyed by its hash, so the ids
//! themselves are kept nowhere and a lookup compares hashes, not secrets. At most
//! [`MAX_SESSIONS`] are kept: a new one past that pushes out the one used least recently.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use lru::LruCache;
use parking_lot::Mutex;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// A session's lifetime from sign-in, in hours (then the cookie and the session both end).
pub const SESSION_HOURS: u64 = 12;

/// The most sessions kept at once.
pub const MAX_SESSIONS: usize = 1_024;

/// The session cookie's name.
pub(super) const COOKIE: &str = "crisp_gateway_session";

/// What one session holds.
#[derive(Clone)]
pub(super) struct Session {
    /// Its CSRF token: 32 random bytes in hex, put in every form and checked on every POST.
    pub csrf: String,
    /// Who is reviewing: the name given at sign-in, for approvals and the audit log.
    pub reviewer: String,
    /// A message for the next page (after a form's redirect), shown once.
    pub flash: Option<String>,
    expires: Instant,
}

impl Session {
    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

/// The sessions. See the [module docs](self).
pub(super) struct Sessions {
    map: Mutex<LruCache<[u8; 32], Session>>,
    lifetime: Duration,
}

impl Sessions {
    pub fn new() -> Self {
        let cap = NonZeroUsize::new(MAX_SESSIONS).unwrap_or(NonZeroUsize::MIN);
        Self {
            map: Mutex::new(LruCache::new(cap)),
            lifetime: Duration::from_secs(SESSION_HOURS * 3_600),
        }
    }

    /// A new session for `reviewer`: its cookie value and the session.
    ///
    /// # Errors
    /// The system's random source failed (then no session is made).
    pub fn create(&self, reviewer: String) -> Result<(String, Session), getrandom::Error> {
        let cookie = random_hex()?;
        let session = Session {
            csrf: random_hex()?,
            reviewer,
            flash: None,
            expires: Instant::now() + self.lifetime,
        };
        self.map.lock().put(key(&cookie), session.clone());
        Ok((cookie, session))
    }

    /// The session of this cookie value, unless it is unknown or past its lifetime (then it
    /// is forgotten). Its message, if any, is handed over once.
    pub fn take(&self, cookie: &str) -> Option<Session> {
        let key = key(cookie);
        let mut map = self.map.lock();
        let session = map.get_mut(&key)?;
        if session.expires <= Instant::now() {
            map.pop(&key);
            return None;
        }
        let found = session.clone();
        session.flash = None;
        Some(found)
    }

    /// Leaves `message` for the session's next page.
    pub fn flash(&self, cookie: &str, message: String) {
        if let Some(session) = self.map.lock().get_mut(&key(cookie)) {
            session.flash = Some(message);
        }
    }

    /// Ends the session of this cookie value.
    pub fn remove(&self, cookie: &str) {
        self.map.lock().pop(&key(cookie));
    }

    /// The cookie's lifetime, in seconds (`Max-Age`).
    pub fn max_age(&self) -> u64 {
        self.lifetime.as_secs()
    }
}

fn key(cookie: &str) -> [u8; 32] {
    Sha256::digest(cookie.as_bytes()).into()
}

fn random_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_cookie_only_and_ends() {
        let sessions = Sessions::new();
        let (cookie, session) = sessions.create("ana".into()).unwrap();
        assert_eq!(cookie.len(), 64);
        assert_ne!(cookie, session.csrf);
        assert_eq!(sessions.take(&cookie).unwrap().reviewer, "ana");
        assert!(sessions.take(&session.csrf).is_none());
        sessions.remove(&cookie);
        assert!(sessions.take(&cookie).is_none());
    }

    #[test]
    fn a_message_is_shown_once() {
        let sessions = Sessions::new();
        let (cookie, _) = sessions.create("ana".into()).unwrap();
        sessions.flash(&cookie, "approved".into());
        assert_eq!(
            sessions.take(&cookie).unwrap().flash.as_deref(),
            Some("approved")
        );
        assert_eq!(sessions.take(&cookie).unwrap().flash, None);
    }

    #[test]
    fn the_csrf_token_is_compared_whole() {
        let sessions = Sessions::new();
        let (_, session) = sessions.create("ana".into()).unwrap();
        assert!(session.csrf_matches(&session.csrf.clone()));
        assert!(!session.csrf_matches(&session.csrf[..63]));
        assert!(!session.csrf_matches(""));
    }

    #[test]
    fn past_the_bound_the_least_recently_used_session_goes() {
        let sessions = Sessions::new();
        let (first, _) = sessions.create("first".into()).unwrap();
        for _ in 0..MAX_SESSIONS {
            sessions.create("other".into()).unwrap();
        }
        assert!(sessions.take(&first).is_none());
    }

    #[test]
    fn a_session_past_its_lifetime_is_gone() {
        let sessions = Sessions {
            map: Mutex::new(LruCache::new(NonZeroUsize::MIN)),
            lifetime: Duration::ZERO,
        };
        let (cookie, _) = sessions.create("ana".into()).unwrap();
        assert!(sessions.take(&cookie).is_none());
    }
}
