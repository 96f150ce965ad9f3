//! An agent's rate: at most N requests a second, a minute or an hour.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// A rate limit such as `60/minute`: up to `count` requests in any `per` window on average,
/// with bursts of up to `count` (the [limiter](crate::rate) is a GCRA: one request every
/// `per / count`, and up to `count` at once after a quiet spell).
///
/// ```
/// use crisp_gateway::policy::{Per, Rate};
///
/// let rate: Rate = "60/minute".parse()?;
/// assert_eq!((rate.count().get(), rate.per()), (60, Per::Minute));
/// assert_eq!(rate.to_string(), "60/minute");
/// assert!("60 a minute".parse::<Rate>().unwrap_err().contains("N/second"));
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    count: NonZeroU32,
    per: Per,
}

/// The window of a [`Rate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Per {
    /// A second.
    Second,
    /// A minute.
    Minute,
    /// An hour.
    Hour,
}

impl Per {
    /// `second`, `minute` or `hour`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
        }
    }

    /// The window's length.
    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
        })
    }
}

impl Rate {
    /// `count` requests a `per`.
    pub fn new(count: NonZeroU32, per: Per) -> Self {
        Self { count, per }
    }

    /// How many requests a window.
    pub fn count(&self) -> NonZeroU32 {
        self.count
    }

    /// The window.
    pub fn per(&self) -> Per {
        self.per
    }
}

impl fmt::Display for Rate {
    /// `N/second`, `N/minute` or `N/hour`: the form [`FromStr`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.per.as_str())
    }
}

impl FromStr for Rate {
    type Err = String;

    /// Reads `N/second`, `N/minute` or `N/hour` (N from 1 to 4294967295; spaces around the
    /// parts are allowed).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "write it as `N/second`, `N/minute` or `N/hour` with N at least 1, \
                            such as \"60/minute\"";
        let shown = text.escape_debug();
        let Some((count, per)) = text.split_once('/') else {
            return Err(format!("`{shown}` is not a rate: {FORM}"));
        };
        let per = match per.trim() {
            "second" => Per::Second,
            "minute" => Per::Minute,
            "hour" => Per::Hour,
            other => {
                return Err(format!(
                    "`{}` is not a rate window: {FORM}",
                    other.escape_debug()
                ));
            }
        };
        let count = count.trim();
        let count = match count.parse::<u32>() {
            Ok(0) => return Err(format!("a rate of 0 allows nothing: {FORM}")),
            Ok(n) => NonZeroU32::new(n).ok_or_else(|| format!("`{shown}`: {FORM}"))?,
            Err(_) => {
                return Err(format!(
                    "`{}` is not a count of requests: {FORM}",
                    count.escape_debug()
                ));
            }
        };
        Ok(Self { count, per })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_windows_and_writes_them_back() {
        for (text, count, per) in [
            ("60/minute", 60, Per::Minute),
            ("5/second", 5, Per::Second),
            ("1000/hour", 1000, Per::Hour),
            (" 7 / hour ", 7, Per::Hour),
        ] {
            let rate: Rate = text.parse().unwrap();
            assert_eq!((rate.count().get(), rate.per()), (count, per), "{text}");
            assert_eq!(rate.to_string().parse::<Rate>(), Ok(rate));
        }
    }

    #[test]
    fn refusals_say_the_form() {
        for bad in [
            "60",
            "60/day",
            "0/minute",
            "-1/minute",
            "many/minute",
            "",
            "/minute",
            "99999999999/second",
        ] {
            let error = bad.parse::<Rate>().unwrap_err();
            assert!(
                error.contains("`N/second`, `N/minute` or `N/hour`"),
                "{bad}: {error}"
            );
        }
    }
}
