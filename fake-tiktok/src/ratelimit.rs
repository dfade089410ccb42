//! Per-access-token rate limits of the Content Posting endpoints: a 60-second sliding window
//! on the fake clock, so moving the clock a minute forward empties it.

use std::collections::{HashMap, VecDeque};

/// A rate-limited family of endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    /// `creator_info/query/`: 20 per minute.
    CreatorInfo,
    /// `video/init/`, `inbox/video/init/` and `content/init/` (photos), shared: 6 per minute.
    Init,
    /// `status/fetch/`: 30 per minute.
    Status,
}

impl Bucket {
    fn limit(self) -> usize {
        match self {
            Bucket::CreatorInfo => 20,
            Bucket::Init => 6,
            Bucket::Status => 30,
        }
    }
}

const WINDOW_SECS: i64 = 60;

#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    /// Fake-clock seconds of the admitted requests, per bucket and access token.
    hits: HashMap<(Bucket, String), VecDeque<i64>>,
}

impl RateLimits {
    /// Whether one more request fits the window; an admitted request is counted.
    pub(crate) fn admit(&mut self, bucket: Bucket, access_token: &str, now: i64) -> bool {
        let hits = self
            .hits
            .entry((bucket, access_token.to_owned()))
            .or_default();
        while hits
            .front()
            .is_some_and(|&t| t <= now.saturating_sub(WINDOW_SECS))
        {
            hits.pop_front();
        }
        if hits.len() >= bucket.limit() {
            return false;
        }
        hits.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_per_token() {
        let mut limits = RateLimits::default();
        for _ in 0..6 {
            assert!(limits.admit(Bucket::Init, "a", 100));
        }
        assert!(!limits.admit(Bucket::Init, "a", 159));
        assert!(limits.admit(Bucket::Init, "b", 159), "per token");
        assert!(limits.admit(Bucket::Status, "a", 159), "per bucket");
        assert!(limits.admit(Bucket::Init, "a", 160), "window moved");
    }
}
