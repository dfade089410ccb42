//! Persistence for publishing and webhooks (`PublishStore`), in the same table:
//! - post:         `pk = PUBLISH#<publish_id>`, `sk = PUBLISH` (app user, open_id, last status)
//! - idempotency:  `pk = IDEMPOTENCY#<sha256(app user, key)>`, `sk = IDEMPOTENCY` (24 h TTL)
//! - rate window:  `pk = RATE#<sha256(open_id)>#<call>#<minute>`, `sk = RATE` (TTL)
//! - webhook seen: `pk = WEBHOOK#<sha256(body)>`, `sk = WEBHOOK` (TTL past TikTok's 72 h retries)
//! - posting:      `pk = POSTING#<sha256(open_id)>`, `sk = POSTING` (last refusal, inbox uploads
//!   of the last 24 h; TTL a day after the last write)

use crate::ids::{OpenId, PublishId};
use std::future::Future;

use sha2::{Digest as _, Sha256};

use super::StoreError;
use crate::tiktok::{MediaType, PostMode, PublishState};

/// One post started through this service and its last known status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRecord {
    /// TikTok's id of the post (at most 64 characters); the record's key.
    pub publish_id: PublishId,
    /// The app user who started the post; only they can read its status.
    pub app_user: String,
    /// The TikTok account it was posted to; a status update must name the same one.
    pub open_id: OpenId,
    /// Direct Post or upload to the creator's inbox.
    pub mode: PostMode,
    /// A video or a photo post (records written before photo posts are videos).
    pub media_type: MediaType,
    /// A Direct Post to `PUBLIC_TO_EVERYONE`: it gets a public post id once TikTok's moderation
    /// passed it, so its status is worth fetching after `PUBLISH_COMPLETE`.
    pub public: bool,
    /// `url` or `upload`.
    pub source: String,
    /// The last known status; it never moves back (`PublishState::rank`).
    pub state: PublishState,
    /// TikTok's `fail_reason`, kept once a status fetch or a webhook gave one.
    pub fail_reason: Option<String>,
    /// Public post ids (decimal strings; they exceed 2^53) still publicly available.
    pub post_ids: Vec<String>,
    /// Post ids TikTok later said are no longer publicly available (taken down, made private or
    /// deleted); such an id never returns to `post_ids` (webhooks arrive in any order).
    pub withdrawn_post_ids: Vec<String>,
    /// Bytes of a file upload TikTok had received, from the last status that said.
    pub uploaded_bytes: Option<i64>,
    /// Bytes of a URL source TikTok had pulled, from the last status that said.
    pub downloaded_bytes: Option<i64>,
    /// The scheduled post that started it (`sched_…`), when a schedule did.
    pub scheduled_id: Option<String>,
    /// When the init succeeded, Unix seconds.
    pub created_at: i64,
    /// When the last status update was applied, Unix seconds.
    pub updated_at: i64,
}

/// How long after its start a public post's id is still looked for at TikTok (moderation
/// "usually within one minute, in some cases a few hours"); the webhook may still bring it later.
pub const PUBLIC_ID_WAIT_SECS: i64 = 24 * 3600;

impl PublishRecord {
    /// Nothing more is expected from a status fetch: a final status, and for a completed public
    /// post its public id too (or the wait for it given up).
    pub fn settled(&self, now: i64) -> bool {
        let awaits_public_id = self.public
            && self.state == PublishState::PublishComplete
            && self.post_ids.is_empty()
            && self.withdrawn_post_ids.is_empty()
            && now - self.created_at < PUBLIC_ID_WAIT_SECS;
        self.state.is_final() && !awaits_public_id
    }

    /// The record after `update` was written (what `advance_publish` stores).
    pub fn advanced(mut self, update: StatusUpdate) -> Self {
        self.state = update.state;
        if update.fail_reason.is_some() {
            self.fail_reason = update.fail_reason;
        }
        for id in update.withdrawn_post_ids {
            if !self.withdrawn_post_ids.contains(&id) {
                self.withdrawn_post_ids.push(id);
            }
        }
        for id in update.post_ids {
            if !self.post_ids.contains(&id) {
                self.post_ids.push(id);
            }
        }
        let withdrawn = &self.withdrawn_post_ids;
        self.post_ids.retain(|id| !withdrawn.contains(id));
        self.post_ids.sort();
        self.withdrawn_post_ids.sort();
        self.uploaded_bytes = update.uploaded_bytes.or(self.uploaded_bytes);
        self.downloaded_bytes = update.downloaded_bytes.or(self.downloaded_bytes);
        self.updated_at = update.at;
        self
    }
}

/// A newer status from TikTok (a status fetch or a webhook).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The status TikTok reported.
    pub state: PublishState,
    /// TikTok's `fail_reason`; `None` keeps the stored one.
    pub fail_reason: Option<String>,
    /// Added to the stored ids (a webhook names one at a time).
    pub post_ids: Vec<String>,
    /// Ids no longer publicly available (`post.publish.no_longer_publicaly_available`).
    pub withdrawn_post_ids: Vec<String>,
    /// Bytes uploaded so far; `None` keeps the stored figure.
    pub uploaded_bytes: Option<i64>,
    /// Bytes pulled so far; `None` keeps the stored figure.
    pub downloaded_bytes: Option<i64>,
    /// When the update was received, Unix seconds; stored as `updated_at`.
    pub at: i64,
}

/// What `advance_publish` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advanced {
    /// Written; the record as it was just before.
    Applied(Box<PublishRecord>),
    /// Not written: unknown post, another account's, or a status that would move it back.
    Stale,
}

/// What this service saw of an account's posting lately, for "can this account post now?".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostingHistory {
    /// TikTok's last posting refusal of this account (`spam_risk_*`, `reached_active_user_cap`,
    /// `unaudited_client_can_only_post_to_private_accounts`) and when it came, Unix seconds.
    pub last_refusal: Option<(String, i64)>,
    /// When each upload to the inbox started, Unix seconds (the last 24 hours' at least).
    pub inbox_uploads: Vec<i64>,
    /// Inits counted in the current minute's window.
    pub inits_this_minute: u32,
}

/// The answer stored for an `Idempotency-Key`, sealed (it may hold an `upload_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The HTTP status of the first answer, replayed as it was.
    pub status: u16,
    /// The JSON body, encrypted under `EncryptionContext::publish_answer(key_hash)`.
    pub sealed_body: Vec<u8>,
}

/// What claiming an `Idempotency-Key` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use: go ahead, then `finish_idempotent` or `release_idempotent`.
    Claimed,
    /// Used before with the same request: answer this again.
    Replay(StoredAnswer),
    /// Used before with the same request, which has not finished (or ended without an answer),
    /// claimed at this Unix time.
    InProgress {
        /// When the first request claimed the key, Unix seconds. A claim older than the caller's
        /// stale limit ended without an answer.
        claimed_at: i64,
    },
    /// Used before with a different request.
    Mismatch,
}

/// The stored form of an idempotency key: bound to the app user, never the raw key.
pub fn idempotency_hash(app_user: &str, key: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(app_user.as_bytes());
    hash.update([0]);
    hash.update(key.as_bytes());
    hex::encode(hash.finalize())
}

/// Posts started through this service, `Idempotency-Key` claims, per-account call windows and the
/// webhook deliveries already seen (layout above). Adapter: `connect_adapters::DynamoPublishStore`.
pub trait PublishStore: Send + Sync {
    /// Claims `key_hash` for a request with `fingerprint`, kept until `expires_at` (a claim
    /// that expired before `now` counts as free).
    fn claim_idempotent(
        &self,
        key_hash: &str,
        fingerprint: &str,
        now: i64,
        expires_at: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Stores the answer of a claimed request for replays.
    fn finish_idempotent(
        &self,
        key_hash: &str,
        answer: &StoredAnswer,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives a claim back (nothing reached TikTok, or TikTok certainly did not post): the same
    /// key may be used again.
    fn release_idempotent(
        &self,
        key_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a post TikTok just accepted (a plain put: a publish id is TikTok's and unique).
    fn save_publish(
        &self,
        record: &PublishRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The post's record (a strongly consistent read); `None` when this service never stored it.
    fn get_publish(
        &self,
        publish_id: &PublishId,
    ) -> impl Future<Output = Result<Option<PublishRecord>, StoreError>> + Send;

    /// Applies `update` if the post exists, belongs to `open_id`, and the update does not move
    /// it back (a status of a lower rank than the stored one is ignored: `Stale`). `Applied`
    /// carries the record as it was just before this write (not as the caller last read it), so
    /// of two racing writers of the same status only one sees it change.
    fn advance_publish(
        &self,
        publish_id: &PublishId,
        open_id: &OpenId,
        update: &StatusUpdate,
    ) -> impl Future<Output = Result<Advanced, StoreError>> + Send;

    /// Counts one call in the window `window` (e.g. `init#29000000` for a minute) for `open_id`;
    /// `false` when `limit` calls were already counted there.
    fn take_rate(
        &self,
        open_id: &OpenId,
        window: &str,
        limit: u32,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The account's posting history and the inits counted in `init_window` (the window
    /// `take_rate` counts inits in), in one read.
    fn posting_history(
        &self,
        open_id: &OpenId,
        init_window: &str,
    ) -> impl Future<Output = Result<PostingHistory, StoreError>> + Send;

    /// Remembers TikTok's posting refusal `code` of the account at `at` (replacing the last one).
    fn note_refusal(
        &self,
        open_id: &OpenId,
        code: &str,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the account's remembered refusal if it is `code` (a later success showed it no
    /// longer holds); any other refusal is kept.
    fn forget_refusal(
        &self,
        open_id: &OpenId,
        code: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Remembers the upload to the inbox `publish_id` started at `at`; those older than `since`
    /// are dropped.
    fn note_inbox_upload(
        &self,
        open_id: &OpenId,
        publish_id: &PublishId,
        at: i64,
        since: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Claims a webhook body (by its hash) for processing at `now`; `false` when it was processed
    /// already or is being processed. A claim still "processing" before `stale_before` (its
    /// handler died between the claim and the end) is taken over, so TikTok's retry is processed.
    fn claim_event(
        &self,
        body_hash: &str,
        now: i64,
        stale_before: i64,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks a claimed webhook processed: its copies are duplicates from now on.
    fn finish_event(&self, body_hash: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets a recorded webhook (its processing failed; TikTok's retry must be processed).
    fn forget_event(&self, body_hash: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}
