//! How one attempt failed, and the [`Error`] it becomes once the retry policy stops.

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::StatusCode;

use super::retry::Class;
use crate::error::Error;
use crate::operation::Operation;
use crate::types::ErrorReason;

/// How one attempt ended, before the retry decision.
pub(crate) enum Failure {
    /// Crisp's error envelope (or `error: true` on a 2xx).
    Api {
        status: StatusCode,
        reason: ErrorReason,
        message: Option<String>,
        retry_after: Option<Duration>,
    },
    /// A body that is not the expected JSON.
    Body {
        status: StatusCode,
        content_type: Option<String>,
        detail: String,
        excerpt: String,
        length: usize,
        retry_after: Option<Duration>,
    },
    TooLarge {
        status: StatusCode,
        limit: usize,
        length: Option<u64>,
    },
    Transport {
        sent: bool,
        timeout: bool,
        message: String,
    },
    Redirect {
        location: String,
    },
    Invalid {
        problem: String,
    },
}

fn is_rate_limited(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 420)
}

impl Failure {
    pub(crate) fn class(&self) -> Class {
        match self {
            Self::Api {
                status,
                retry_after,
                ..
            }
            | Self::Body {
                status,
                retry_after,
                ..
            } => {
                if is_rate_limited(*status) {
                    Class::RateLimited {
                        retry_after: *retry_after,
                    }
                } else if crate::error::is_transient_status(*status) {
                    Class::Transient {
                        retry_after: *retry_after,
                    }
                } else {
                    Class::Final
                }
            }
            Self::Transport { sent: false, .. } => Class::NotSent,
            Self::Transport { .. } => Class::MaybeSent,
            Self::TooLarge { .. } | Self::Redirect { .. } | Self::Invalid { .. } => Class::Final,
        }
    }

    /// The same failure of a request that followed one already answered (a redirect's): the
    /// connection failing does not prove that nothing reached Crisp.
    pub(crate) fn once_sent(self) -> Self {
        match self {
            Self::Transport {
                timeout, message, ..
            } => Self::Transport {
                sent: true,
                timeout,
                message,
            },
            other => other,
        }
    }

    pub(crate) fn reason(&self) -> Option<String> {
        match self {
            Self::Api { reason, .. } => Some(reason.to_string()),
            _ => None,
        }
    }

    pub(crate) fn into_error(
        self,
        operation: &'static Operation,
        attempts: u32,
        timeout: Duration,
    ) -> Error {
        match self {
            Self::Api {
                status,
                retry_after,
                ..
            }
            | Self::Body {
                status,
                retry_after,
                ..
            } if is_rate_limited(status) => Error::RateLimited {
                operation,
                status,
                retry_after,
                attempts,
            },
            Self::Api {
                status,
                reason,
                message,
                ..
            } => Error::Api {
                operation,
                status,
                reason,
                message,
            },
            Self::Body {
                status,
                content_type,
                detail,
                excerpt,
                length,
                ..
            } => Error::UnexpectedBody {
                operation,
                status,
                content_type,
                detail,
                excerpt,
                length,
            },
            Self::TooLarge {
                status,
                limit,
                length,
            } => Error::TooLarge {
                operation,
                status,
                limit,
                length,
            },
            Self::Transport { timeout: true, .. } => Error::Timeout {
                operation,
                after: timeout,
                attempts,
            },
            Self::Transport { sent, message, .. } => Error::Transport {
                operation,
                sent,
                attempts,
                message,
            },
            Self::Redirect { location } => Error::Redirect {
                operation,
                location,
            },
            Self::Invalid { problem } => Error::InvalidRequest {
                operation,
                parameter: None,
                problem,
            },
        }
    }
}

impl From<reqwest::Error> for Failure {
    /// A request that could not be built, or a connection that failed (`sent: false`: the
    /// request provably never left), timed out or broke.
    fn from(error: reqwest::Error) -> Self {
        if error.is_builder() {
            return Self::Invalid {
                problem: sources(&error.without_url()),
            };
        }
        Self::Transport {
            sent: !error.is_connect(),
            timeout: error.is_timeout(),
            message: sources(&error.without_url()),
        }
    }
}

/// The error and its sources, `: `-joined, without any URL.
fn sources(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}
