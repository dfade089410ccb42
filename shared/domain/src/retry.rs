//! Bounded retries with capped, fully jittered exponential backoff, for calls that may fail
//! transiently (TikTok 5xx, timeouts, connection errors). Rate limits are not retried here: the
//! caller is told to come back later instead of adding load.

use std::future::Future;
use std::time::Duration;

use rand::Rng as _;
use tokio::time::Instant;

use crate::budget::TIKTOK_REQUEST_TIMEOUT;
use crate::tiktok::TikTokError;

/// How many times to try and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Total tries, the first included.
    pub attempts: u32,
    /// The ceiling of the first retry's wait; it doubles for each further retry.
    pub base: Duration,
    /// The largest ceiling any wait can have.
    pub cap: Duration,
}

impl Backoff {
    /// For TikTok calls made while a person waits: three tries within a couple of seconds.
    pub const TIKTOK: Self = Self {
        attempts: 3,
        base: Duration::from_millis(200),
        cap: Duration::from_secs(2),
    };

    /// "Full jitter": a random wait in `[0, min(cap, base · 2^retry)]`, so callers that failed
    /// together do not retry together.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// Runs `call` until it succeeds, fails permanently, runs out of tries, or another try could
/// not finish before `deadline` (a try may take up to TikTok's request timeout).
pub async fn retry_transient<T, F, Fut>(
    backoff: Backoff,
    deadline: Instant,
    what: &'static str,
    mut call: F,
) -> Result<T, TikTokError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TikTokError>>,
{
    let mut retry = 0;
    loop {
        let error = match call().await {
            Ok(value) => return Ok(value),
            Err(error @ TikTokError::Unavailable { .. }) => error,
            Err(permanent) => return Err(permanent),
        };
        retry += 1;
        let delay = backoff.delay(retry - 1);
        // `>=`: a try that could end only exactly at the deadline is not started either (and a
        // zero jittered delay on a coarse clock cannot slip one in).
        if retry >= backoff.attempts || Instant::now() + delay + TIKTOK_REQUEST_TIMEOUT >= deadline
        {
            return Err(error);
        }
        tracing::warn!(call = what, error = %error, tiktok_log_id = error.log_id().unwrap_or(""), retry, "TikTok call failed; retrying");
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// `Backoff::TIKTOK`'s tries with millisecond waits: the tests run in real time (no paused
    /// clock: tokio's `test-util` would give the tests a tokio of their own to build, and with it
    /// everything above it; docs/development.md#one-debug-build).
    const FAST: Backoff = Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(2),
        ..Backoff::TIKTOK
    };

    fn unavailable() -> TikTokError {
        TikTokError::Unavailable {
            detail: "test",
            status: Some(500),
            log_id: None,
        }
    }

    #[test]
    fn delays_are_capped() {
        let backoff = Backoff::TIKTOK;
        for retry in 0..40 {
            assert!(backoff.delay(retry) <= backoff.cap);
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_up_to_the_limit() {
        let calls = AtomicU32::new(0);
        let far = Instant::now() + Duration::from_secs(3600);
        let result: Result<(), _> = retry_transient(FAST, far, "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(unavailable())
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_failures_and_rate_limits_are_not_retried() {
        for error in [
            TikTokError::RateLimited {
                retry_after_secs: None,
                log_id: None,
            },
            TikTokError::OAuth {
                error: "invalid_grant".into(),
                description: String::new(),
                log_id: None,
            },
        ] {
            let calls = AtomicU32::new(0);
            let far = Instant::now() + Duration::from_secs(3600);
            let result: Result<(), _> = retry_transient(FAST, far, "test", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(error.clone())
            })
            .await;
            assert_eq!(result, Err(error));
            assert_eq!(calls.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test]
    async fn no_retry_starts_that_could_not_finish_before_the_deadline() {
        let calls = AtomicU32::new(0);
        let soon = Instant::now() + TIKTOK_REQUEST_TIMEOUT;
        let result: Result<(), _> = retry_transient(FAST, soon, "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(unavailable())
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_later_success_wins() {
        let calls = AtomicU32::new(0);
        let far = Instant::now() + Duration::from_secs(3600);
        let result = retry_transient(FAST, far, "test", || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(unavailable())
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result, Ok(7));
    }
}
