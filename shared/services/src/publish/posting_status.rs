//! "Can this account post now?": the `posting` part of `GET /tiktok/publish/creator-info`, from
//! what this service knows beyond TikTok's creator info. TikTok's creator info itself refuses
//! (with its own code, answered as `403`) when the creator hit the daily post cap, is banned from
//! posting, or the app hit its active-user cap; what it cannot tell is counted here: the per-minute
//! inits, the inbox's pending uploads and an unaudited app (docs/publishing.md#can-this-account-post-now).

use serde::Serialize;

use super::INIT_PER_MINUTE;
use connect_domain::store::PostingHistory;
use connect_domain::tiktok::CreatorInfo;

/// TikTok keeps at most 5 uploads waiting in a creator's inbox over 24 hours.
pub const MAX_PENDING_INBOX_UPLOADS: usize = 5;
const DAY_SECS: i64 = 24 * 3600;
/// TikTok's refusal of a post to a public account by an app that has not passed its audit.
pub(crate) const UNAUDITED: &str = "unaudited_client_can_only_post_to_private_accounts";
const PENDING_SHARE: &str = "spam_risk_too_many_pending_share";

/// Whose limit stops a post: the TikTok account's or the app's (users blame the wrong party).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitOf {
    /// The creator's own limit at TikTok.
    Account,
    /// The app's limit at TikTok (its audit, its quotas).
    App,
}

/// `posting` in `GET /tiktok/publish/creator-info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostingStatus {
    /// A Direct Post can start now. May be `true` while `reason` names a restriction (an
    /// unaudited app: `SELF_ONLY` only; the inbox full: Direct Post still works).
    pub can_post: bool,
    /// TikTok's code for what stops or restricts posting, or `rate_limited` (this minute's inits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Seconds until it is worth trying again, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<i64>,
    /// Whose limit it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_of: Option<LimitOf>,
    /// What to tell the person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
}

impl PostingStatus {
    fn free() -> Self {
        Self {
            can_post: true,
            reason: None,
            retry_after: None,
            limit_of: None,
            message: None,
        }
    }
}

/// Decides `posting` from the account's history and its creator info at `now`.
pub fn posting_status(history: &PostingHistory, creator: &CreatorInfo, now: i64) -> PostingStatus {
    if history.inits_this_minute >= INIT_PER_MINUTE {
        return PostingStatus {
            can_post: false,
            reason: Some("rate_limited"),
            retry_after: Some(60 - now.rem_euclid(60)),
            limit_of: Some(LimitOf::Account),
            message: Some("TikTok allows 6 posts a minute per account: wait for the next minute"),
        };
    }
    let recent = |code: &str| {
        history
            .last_refusal
            .as_ref()
            .filter(|(c, at)| c == code && now - at < DAY_SECS)
            .map(|(_, at)| *at)
    };
    if recent(UNAUDITED).is_some() {
        let public = creator
            .privacy_level_options
            .iter()
            .any(|p| p == "PUBLIC_TO_EVERYONE");
        return PostingStatus {
            can_post: !public,
            reason: Some(UNAUDITED),
            retry_after: None,
            limit_of: Some(LimitOf::App),
            message: Some(if public {
                "this app has not passed TikTok's audit: it can post only to private accounts; the creator can make the account private, or the app must pass the audit"
            } else {
                "this app has not passed TikTok's audit: posts must be SELF_ONLY"
            }),
        };
    }
    let window: Vec<i64> = history
        .inbox_uploads
        .iter()
        .copied()
        .filter(|at| now - at < DAY_SECS)
        .collect();
    let inbox_full = window.len() >= MAX_PENDING_INBOX_UPLOADS;
    if let Some(since) = recent(PENDING_SHARE).or_else(|| inbox_full.then(|| window[0])) {
        return PostingStatus {
            can_post: true,
            reason: Some(PENDING_SHARE),
            retry_after: Some((since + DAY_SECS - now).max(1)),
            limit_of: Some(LimitOf::Account),
            message: Some(
                "5 uploads already wait in the creator's TikTok inbox (a 24-hour limit): Direct Post works, uploads to the inbox must wait",
            ),
        };
    }
    PostingStatus::free()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_030;

    fn creator(public: bool) -> CreatorInfo {
        let mut options = vec!["FOLLOWER_OF_CREATOR".to_owned(), "SELF_ONLY".to_owned()];
        if public {
            options.push("PUBLIC_TO_EVERYONE".into());
        }
        CreatorInfo {
            privacy_level_options: options,
            ..CreatorInfo::default()
        }
    }

    fn refused(code: &str, ago: i64) -> PostingHistory {
        PostingHistory {
            last_refusal: Some((code.into(), NOW - ago)),
            ..PostingHistory::default()
        }
    }

    #[test]
    fn nothing_known_means_free() {
        assert_eq!(
            posting_status(&PostingHistory::default(), &creator(true), NOW),
            PostingStatus::free()
        );
    }

    #[test]
    fn a_used_up_minute_stops_posting_until_the_next() {
        let history = PostingHistory {
            inits_this_minute: 6,
            ..PostingHistory::default()
        };
        let status = posting_status(&history, &creator(true), NOW);
        assert!(!status.can_post);
        assert_eq!(status.reason, Some("rate_limited"));
        assert_eq!(status.retry_after, Some(30));
        assert_eq!(status.limit_of, Some(LimitOf::Account));
        let five = PostingHistory {
            inits_this_minute: 5,
            ..PostingHistory::default()
        };
        assert!(posting_status(&five, &creator(true), NOW).can_post);
    }

    #[test]
    fn an_unaudited_app_is_the_apps_limit() {
        let history = refused(UNAUDITED, 60);
        let public = posting_status(&history, &creator(true), NOW);
        assert!(!public.can_post);
        assert_eq!(public.limit_of, Some(LimitOf::App));
        let private = posting_status(&history, &creator(false), NOW);
        assert!(private.can_post, "private accounts may post SELF_ONLY");
        assert_eq!(private.reason, Some(UNAUDITED));
        assert!(posting_status(&refused(UNAUDITED, DAY_SECS), &creator(true), NOW).can_post);
    }

    #[test]
    fn a_full_inbox_waits_for_the_oldest_upload_to_age_out() {
        let history = PostingHistory {
            inbox_uploads: vec![
                NOW - DAY_SECS - 5,
                NOW - 3600,
                NOW - 600,
                NOW - 60,
                NOW - 50,
                NOW - 40,
            ],
            ..PostingHistory::default()
        };
        let status = posting_status(&history, &creator(true), NOW);
        assert_eq!(status.reason, Some(PENDING_SHARE));
        assert!(status.can_post, "Direct Post still works");
        assert_eq!(status.retry_after, Some(DAY_SECS - 3600));
        let later = posting_status(&history, &creator(true), NOW + DAY_SECS - 3600);
        assert_eq!(later.reason, None, "free again after retry_after");
        let refusal = posting_status(&refused(PENDING_SHARE, 100), &creator(true), NOW);
        assert_eq!(refusal.retry_after, Some(DAY_SECS - 100));
    }
}
