//! Events out to the app: every change an app cares about (an account connected, revoked or in
//! need of reconnecting, a post's status moving) is put on the stack's EventBridge bus (source
//! `tiktok-connect`), so an app learns it without polling (docs/events.md). The detail names the
//! app user, the `open_id`, the post and times: never a token, code, URL or secret.
//!
//! A failed put never fails the request that made the change, and never loses the event: it is
//! kept in an outbox (`EventSink::keep`) that the token-refresh job drains on its next run.

use std::future::Future;

use serde::{Deserialize, Serialize};

/// The events' `source` on the bus.
pub const SOURCE: &str = "tiktok-connect";
/// An account was connected (confirmed) by its app user.
pub const ACCOUNT_CONNECTED: &str = "account.connected";
/// The app user disconnected the account.
pub const ACCOUNT_DISCONNECTED: &str = "account.disconnected";
/// TikTok no longer refreshes the grant: the app user must connect again.
pub const ACCOUNT_REAUTH_REQUIRED: &str = "account.reauth_required";
/// The refresh token ends within 7 days: ask the person to connect again before it does
/// (`refresh_token_expires_at`); sent once per refresh token.
pub const ACCOUNT_RECONNECT_SOON: &str = "account.reconnect_soon";
/// TikTok removed the grant (`reason`: TikTok's removal reason).
pub const ACCOUNT_REVOKED: &str = "account.revoked";
/// A post's status moved (`old_status`, `new_status`, `post_ids`).
pub const POST_STATUS_CHANGED: &str = "post.status_changed";
/// A scheduled post could not be made at its time (`reason`).
pub const POST_SCHEDULE_FAILED: &str = "post.schedule_failed";

/// What happened, for whom. Fields that do not apply to an event are absent from its detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetail {
    /// The app user the account or post belongs to.
    pub app_user: String,
    /// The TikTok account.
    pub open_id: String,
    /// The post: TikTok's publish id, or a scheduled post's own id until it fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_id: Option<String>,
    /// The scheduled post behind the post, when a schedule made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_id: Option<String>,
    /// The post's status before the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_status: Option<String>,
    /// The post's status after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_status: Option<String>,
    /// The post's public ids (strings), once TikTok gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_ids: Option<Vec<String>>,
    /// Why: TikTok's removal reason, a post's `fail_reason`, a cancellation's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the account's refresh token ends, Unix seconds (`account.reconnect_soon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<i64>,
    /// When the change happened, Unix seconds.
    pub at: i64,
}

/// One event: its `detail-type` (the constants above) and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEvent {
    /// `account.connected`, `post.status_changed`, …
    pub detail_type: String,
    /// The detail, as JSON on the bus.
    pub detail: EventDetail,
}

impl AppEvent {
    /// An event about an account.
    pub fn account(detail_type: &str, app_user: &str, open_id: &str, at: i64) -> Self {
        Self {
            detail_type: detail_type.to_owned(),
            detail: EventDetail {
                app_user: app_user.to_owned(),
                open_id: open_id.to_owned(),
                at,
                ..EventDetail::default()
            },
        }
    }

    /// `post.status_changed` of a post from `old_status` to `new_status`.
    #[allow(clippy::too_many_arguments)]
    pub fn post_status(
        app_user: &str,
        open_id: &str,
        publish_id: &str,
        scheduled_id: Option<&str>,
        old_status: &str,
        new_status: &str,
        post_ids: &[String],
        at: i64,
    ) -> Self {
        Self {
            detail_type: POST_STATUS_CHANGED.to_owned(),
            detail: EventDetail {
                app_user: app_user.to_owned(),
                open_id: open_id.to_owned(),
                publish_id: Some(publish_id.to_owned()),
                scheduled_id: scheduled_id.map(str::to_owned),
                old_status: Some(old_status.to_owned()),
                new_status: Some(new_status.to_owned()),
                post_ids: Some(post_ids.to_vec()),
                reason: None,
                refresh_token_expires_at: None,
                at,
            },
        }
    }

    /// The same event with a reason.
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.detail.reason = Some(reason.into());
        self
    }
}

/// The sink could not take the events.
#[derive(Debug, thiserror::Error)]
#[error("events not delivered: {0}")]
pub struct EventError(pub String);

/// An event kept in the outbox, with the key that removes it once delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptEvent {
    /// The outbox entry's key.
    pub key: String,
    /// The event.
    pub event: AppEvent,
}

/// The event bus (EventBridge in production) and its outbox (the table).
pub trait EventSink: Send + Sync {
    /// Puts the events on the bus; `Err` when any of them was not taken.
    fn put(&self, events: &[AppEvent]) -> impl Future<Output = Result<(), EventError>> + Send;

    /// Keeps events the bus did not take, for a later `drain`.
    fn keep(&self, events: &[AppEvent]) -> impl Future<Output = Result<(), EventError>> + Send;

    /// Up to `limit` kept events, oldest first.
    fn kept(&self, limit: u32) -> impl Future<Output = Result<Vec<KeptEvent>, EventError>> + Send;

    /// Removes a kept event that was delivered.
    fn forget(&self, key: &str) -> impl Future<Output = Result<(), EventError>> + Send;
}

/// Puts the events on the bus; those it does not take go to the outbox. Never fails the caller:
/// if the outbox cannot be written either, the loss is logged as the error `events lost`, with the
/// count and types (docs/events.md#delivery).
pub async fn announce(sink: &impl EventSink, events: Vec<AppEvent>) {
    if events.is_empty() {
        return;
    }
    let Err(error) = sink.put(&events).await else {
        return;
    };
    tracing::warn!(error = %error, count = events.len(), "events not put on the bus; keeping them in the outbox");
    if let Err(error) = sink.keep(&events).await {
        let types: Vec<&str> = events.iter().map(|e| e.detail_type.as_str()).collect();
        tracing::error!(error = %error, count = events.len(), types = ?types, "events lost");
    }
}

/// Puts up to `limit` kept events on the bus, removing each delivered one; how many were
/// delivered. Run by the token-refresh job.
pub async fn drain(sink: &impl EventSink, limit: u32) -> usize {
    let kept = match sink.kept(limit).await {
        Ok(kept) => kept,
        Err(error) => {
            tracing::warn!(error = %error, "could not read the event outbox");
            return 0;
        }
    };
    let mut delivered = 0;
    for entry in kept {
        if sink.put(std::slice::from_ref(&entry.event)).await.is_err() {
            // The bus is still refusing: the rest waits for the next run.
            break;
        }
        match sink.forget(&entry.key).await {
            Ok(()) => delivered += 1,
            // Delivered again next run: consumers get at least once, as from EventBridge itself.
            Err(error) => tracing::warn!(error = %error, "could not remove a delivered event"),
        }
    }
    if delivered > 0 {
        tracing::info!(delivered, "kept events delivered");
    }
    delivered
}
