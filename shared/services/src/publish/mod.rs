//! Posting videos (`/tiktok/publish…`): creator info, starting a post without ever posting
//! twice, and following its status. TikTok's side: docs/tiktok.md#content-posting; the contract:
//! docs/publishing.md.

mod chunks;
mod posting_status;
mod request;
pub mod scheduled;

use connect_domain::ids::{MAX_PUBLISH_ID_LEN, OpenId, PublishId};
use http::StatusCode;
use serde::Serialize;
use tokio::time::Instant;

pub use chunks::{CONTENT_TYPES, Chunk, ChunkPlan, MAX_VIDEO_SIZE};
pub use posting_status::{LimitOf, MAX_PENDING_INBOX_UPLOADS, PostingStatus, posting_status};
pub use request::{MAX_BODY_BYTES, PublishRequest, SourceRequest, check_against_creator};

use crate::accounts;
use connect_domain::app_user::AppUser;
use connect_domain::cipher::{EncryptionContext, TokenCipher};
use connect_domain::clock::Clock;
use connect_domain::error::ServiceError;
use connect_domain::events::{AppEvent, announce};
use connect_domain::ports::Ports;
use connect_domain::query::Query;
use connect_domain::refresh::{RefreshError, TokenKeeper};
use connect_domain::scheduler::PostScheduler;
use connect_domain::scope;
use connect_domain::store::{
    Account, AccountReader, Advanced, Claim, PublishRecord, PublishStore, ScheduleStore,
    StatusUpdate, StoredAnswer, idempotency_hash,
};
use connect_domain::tiktok::{
    CreatorInfo, MediaSource, MediaType, PostMode, PublishInit, PublishState, TikTokApi,
    TikTokError, Video,
};

/// TikTok's per-token limits (docs/tiktok.md#posting-endpoints-and-per-token-limits), counted per
/// account and minute here so a busy app is told to wait instead of being throttled by TikTok.
pub const INIT_PER_MINUTE: u32 = 6;
/// Status fetches at TikTok per account and minute; beyond it `GET /tiktok/publish/{publish_id}`
/// answers the stored status (`checked: stored`).
pub const STATUS_PER_MINUTE: u32 = 30;
/// Creator-info reads per account and minute, the one before each Direct Post included;
/// beyond it `429 rate_limited`.
pub const CREATOR_INFO_PER_MINUTE: u32 = 20;
/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;
/// A claim older than this without an answer belongs to a request that ended abnormally (the
/// function's timeout is 28 s).
pub const STALE_CLAIM_SECS: i64 = 60;
/// TikTok's `upload_url` works for an hour after the init.
pub const UPLOAD_URL_TTL_SECS: i64 = 3600;
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Validates an `Idempotency-Key` header: 1–255 visible ASCII characters.
pub fn parse_idempotency_key(value: Option<&[u8]>) -> Result<Option<&str>, ServiceError> {
    let Some(raw) = value else { return Ok(None) };
    let valid = !raw.is_empty()
        && raw.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && raw.iter().all(u8::is_ascii_graphic);
    if !valid {
        return Err(ServiceError::InvalidRequest(format!(
            "Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters (a UUID is a good choice)"
        )));
    }
    Ok(std::str::from_utf8(raw).ok())
}

/// The per-minute window `call` is counted in at `now`.
fn minute_window(call: &str, now: i64) -> String {
    format!("{call}#{}", now.div_euclid(60))
}

/// Counts one call against a per-account, per-minute limit; `rate_limited` when it is used up.
async fn within_limit(
    store: &impl PublishStore,
    open_id: &OpenId,
    call: &str,
    limit: u32,
    now: i64,
) -> Result<(), ServiceError> {
    let minute = now.div_euclid(60);
    let window = minute_window(call, now);
    if store
        .take_rate(open_id, &window, limit, (minute + 2) * 60)
        .await?
    {
        Ok(())
    } else {
        Err(ServiceError::RateLimited {
            retry_after_secs: u64::try_from(60 - now.rem_euclid(60)).unwrap_or(60),
            tiktok_log_id: None,
        })
    }
}

/// A TikTok failure of a posting call: refusals a person can act on keep TikTok's code.
fn posting_error(error: RefreshError, scope: &'static str) -> ServiceError {
    if let RefreshError::TikTok(TikTokError::Api { code, log_id, .. }) = &error
        && let Some(refusal) = ServiceError::posting_refusal(code, log_id.clone())
    {
        return refusal;
    }
    ServiceError::from_call(error, scope)
}

/// The account to post for, with the scope the mode needs.
async fn posting_account(
    accounts: &impl AccountReader,
    user: &AppUser,
    open_id: Option<&OpenId>,
    scope: &'static str,
) -> Result<Account, ServiceError> {
    let account = accounts::find(accounts, user, open_id).await?;
    if !account.scopes.contains(scope) {
        return Err(ServiceError::ScopeMissing(scope));
    }
    Ok(account)
}

/// `200` body of `GET /tiktok/publish/creator-info`.
#[derive(Debug, Serialize)]
pub struct CreatorInfoView {
    /// The account the creator info is for (the most recently connected one when the request
    /// named none).
    pub open_id: OpenId,
    /// TikTok's creator info, flattened: what the app must show before every Direct Post
    /// (docs/tiktok.md#creator-info).
    #[serde(flatten)]
    pub creator: CreatorInfo,
    /// Whether a post can start now, and if not why, whose limit it is and when to try again.
    pub posting: PostingStatus,
}

async fn fetch_creator<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    account: Account,
    deadline: Instant,
) -> Result<CreatorInfo, ServiceError>
where
    S: PublishStore,
{
    let now = keeper.clock.now();
    within_limit(
        store,
        &account.open_id,
        "creator",
        CREATOR_INFO_PER_MINUTE,
        now,
    )
    .await?;
    keeper
        .with_token(account, deadline, "creator_info", |token| async move {
            keeper.tiktok.creator_info(&token).await
        })
        .await
        .map(|(_, info)| info)
        .map_err(|e| posting_error(e, scope::VIDEO_PUBLISH))
}

/// `GET /tiktok/publish/creator-info[?open_id=]`.
pub async fn creator_info<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    user: &AppUser,
    query: &Query,
    deadline: Instant,
) -> Result<CreatorInfoView, ServiceError>
where
    S: PublishStore,
{
    query
        .only(&["open_id"])
        .map_err(ServiceError::InvalidRequest)?;
    let open_id = query
        .get("open_id")
        .map(accounts::parse_open_id)
        .transpose()?;
    let account = posting_account(
        &keeper.accounts,
        user,
        open_id.as_ref(),
        scope::VIDEO_PUBLISH,
    )
    .await?;
    let open_id = account.open_id.clone();
    let now = keeper.clock.now();
    let init_window = minute_window("init", now);
    // The history is read while TikTok answers.
    let (creator, history) = tokio::join!(
        fetch_creator(keeper, store, account, deadline),
        store.posting_history(&open_id, &init_window)
    );
    let creator = creator?;
    let posting = posting_status(&history?, &creator, now);
    Ok(CreatorInfoView {
        open_id,
        creator,
        posting,
    })
}

/// The upload half of a `202` answer: TikTok's `upload_url` and the chunks to PUT to it.
#[derive(Debug, Clone, Serialize)]
pub struct UploadInstructions {
    /// TikTok's upload URL for this post: a credential for this one upload; keep it out of logs.
    pub upload_url: String,
    /// When `upload_url` stops working, Unix seconds (`UPLOAD_URL_TTL_SECS` after the init).
    pub upload_url_expires_at: i64,
    /// One of these as each PUT's `Content-Type`.
    pub content_types: [&'static str; 3],
    /// The chunks to PUT, in order; flattened (`video_size`, `chunk_size`, `total_chunk_count`,
    /// `chunks`).
    #[serde(flatten)]
    pub plan: ChunkPlan,
}

/// `202` body of `POST /tiktok/publish`.
#[derive(Debug, Clone, Serialize)]
pub struct PublishStarted {
    /// TikTok's id of the post; follow it with `GET /tiktok/publish/{publish_id}`.
    pub publish_id: PublishId,
    /// The account posted to.
    pub open_id: OpenId,
    /// `direct` or `inbox`, as asked.
    pub mode: PostMode,
    /// `video` or `photo`, as asked.
    pub media_type: MediaType,
    /// `PROCESSING_UPLOAD` for an upload, `PROCESSING_DOWNLOAD` for a URL (photos included),
    /// `SCHEDULED` for a post with `publish_at`.
    pub status: &'static str,
    /// When a scheduled post will be made, Unix seconds, as asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<i64>,
    /// Where and how to PUT the file, for an upload source; absent for a URL (and should TikTok
    /// send no `upload_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadInstructions>,
}

/// A `202` answer, or the answer of an earlier request with the same `Idempotency-Key` (which
/// may be an error: a replay repeats whatever the first request answered).
#[derive(Debug, Clone)]
pub struct Answer {
    /// `202` for a new post; a replay repeats the first answer's status, an error's included.
    pub status: StatusCode,
    /// The JSON body: a `PublishStarted`, or for a replayed error its `{"error", "message", …}`.
    pub body: serde_json::Value,
    /// Answered from an earlier request with the same key: the route adds
    /// `Idempotent-Replayed: true`.
    pub replayed: bool,
}

/// How a post attempt ended, for the idempotency record.
enum Attempt {
    Started(PublishStarted),
    /// TikTok certainly did not post: the key may be used again.
    NotPosted(ServiceError),
    /// TikTok may have posted: the key keeps this answer.
    Unknown(ServiceError),
}

/// How an error is answered (status and JSON body). The HTTP layer owns that mapping
/// (`connect_http::api_error::rendered`); a post whose outcome is unknown keeps its answer for a
/// repeated `Idempotency-Key`, so the function passes the mapping in.
pub type Render = fn(&ServiceError) -> (StatusCode, serde_json::Value);

/// `POST /tiktok/publish`. Never posts twice for one `Idempotency-Key`, and never retries the
/// init by itself (its answer may be lost after TikTok acted).
#[allow(clippy::too_many_arguments)]
pub async fn start<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    scheduler: Option<&impl PostScheduler>,
    user: &AppUser,
    idempotency_key: Option<&str>,
    request: &PublishRequest,
    deadline: Instant,
    render: Render,
) -> Result<Answer, ServiceError>
where
    S: PublishStore + ScheduleStore,
{
    let account = posting_account(
        &keeper.accounts,
        user,
        request.open_id.as_ref(),
        request.scope(),
    )
    .await?;
    let Some(key) = idempotency_key else {
        return match attempt(keeper, store, scheduler, user, account, request, deadline).await {
            Attempt::Started(started) => Ok(accepted(&started)),
            Attempt::NotPosted(error) | Attempt::Unknown(error) => Err(error),
        };
    };
    let key_hash = idempotency_hash(user.as_str(), key);
    // The key is bound to the request and to the account it resolved to.
    let fingerprint = format!("{}:{}", request.fingerprint, account.open_id);
    let now = keeper.clock.now();
    let claim = store
        .claim_idempotent(&key_hash, &fingerprint, now, now + IDEMPOTENCY_TTL_SECS)
        .await?;
    match claim {
        Claim::Claimed => {}
        Claim::Replay(stored) => return replay(&keeper.cipher, &key_hash, &stored).await,
        Claim::InProgress { claimed_at } if now - claimed_at > STALE_CLAIM_SECS => {
            // The first request ended without storing its answer (it crashed or timed out),
            // maybe after TikTok posted: its outcome is unknown, and it is never repeated.
            return Err(ServiceError::PublishOutcomeUnknown {
                tiktok_log_id: None,
            });
        }
        Claim::InProgress { .. } => return Err(ServiceError::IdempotencyInProgress),
        Claim::Mismatch => return Err(ServiceError::IdempotencyKeyReused),
    }
    match attempt(keeper, store, scheduler, user, account, request, deadline).await {
        Attempt::Started(started) => {
            let answer = accepted(&started);
            remember(&keeper.cipher, store, &key_hash, &answer).await;
            Ok(answer)
        }
        Attempt::Unknown(error) => {
            remember(
                &keeper.cipher,
                store,
                &key_hash,
                &error_answer(&error, render),
            )
            .await;
            Err(error)
        }
        Attempt::NotPosted(error) => {
            if let Err(e) = store.release_idempotent(&key_hash).await {
                // The claim stays until it is stale (see `STALE_CLAIM_SECS`).
                tracing::error!(error = %e, "could not release an idempotency claim");
            }
            Err(error)
        }
    }
}

fn accepted(started: &PublishStarted) -> Answer {
    Answer {
        status: StatusCode::ACCEPTED,
        body: serde_json::to_value(started).unwrap_or_default(),
        replayed: false,
    }
}

fn error_answer(error: &ServiceError, render: Render) -> Answer {
    let (status, body) = render(error);
    Answer {
        status,
        body,
        replayed: false,
    }
}

/// Seals and stores the answer for replays. A failure is logged, not returned: the post was
/// made, and the claim (still pending) keeps a retry from posting again.
async fn remember(
    cipher: &impl TokenCipher,
    store: &impl PublishStore,
    key_hash: &str,
    answer: &Answer,
) {
    let plain = serde_json::to_vec(&answer.body).unwrap_or_default();
    let sealed = match cipher
        .encrypt(&EncryptionContext::publish_answer(key_hash), &plain)
        .await
    {
        Ok(sealed) => sealed,
        Err(e) => {
            tracing::error!(error = %e, "could not seal the idempotent answer");
            return;
        }
    };
    let stored = StoredAnswer {
        status: answer.status.as_u16(),
        sealed_body: sealed,
    };
    if let Err(e) = store.finish_idempotent(key_hash, &stored).await {
        tracing::error!(error = %e, "could not store the idempotent answer");
    }
}

async fn replay(
    cipher: &impl TokenCipher,
    key_hash: &str,
    stored: &StoredAnswer,
) -> Result<Answer, ServiceError> {
    let plain = cipher
        .decrypt(
            &EncryptionContext::publish_answer(key_hash),
            &stored.sealed_body,
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not open a stored idempotent answer");
            ServiceError::ServiceUnavailable
        })?;
    let body: serde_json::Value =
        serde_json::from_slice(&plain).map_err(|_| ServiceError::Internal)?;
    let status = StatusCode::from_u16(stored.status).map_err(|_| ServiceError::Internal)?;
    tracing::info!(
        status = stored.status,
        "answered a repeated Idempotency-Key with the first answer"
    );
    Ok(Answer {
        status,
        body,
        replayed: true,
    })
}

/// Checks against the creator's options, counts the init, asks TikTok once, remembers the post;
/// or, with `publish_at`, schedules it.
async fn attempt<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    scheduler: Option<&impl PostScheduler>,
    user: &AppUser,
    account: Account,
    request: &PublishRequest,
    deadline: Instant,
) -> Attempt
where
    S: PublishStore + ScheduleStore,
{
    // The time and the stack's scheduler first: they cost no TikTok call.
    let scheduling = match request.publish_at {
        None => None,
        Some(publish_at) => {
            match scheduled::scheduler_for(scheduler, publish_at, keeper.clock.now()) {
                Ok(scheduler) => Some((scheduler, publish_at)),
                Err(error) => return Attempt::NotPosted(error),
            }
        }
    };
    if let Err(error) = check_creator(keeper, store, &account, request, deadline).await {
        return Attempt::NotPosted(error);
    }
    match scheduling {
        Some((scheduler, publish_at)) => {
            scheduled::schedule(keeper, store, scheduler, user, account, request, publish_at).await
        }
        None => init(keeper, store, user, account, request, None, deadline).await,
    }
}

/// Creator info decides a Direct Post's settings; an inbox upload's are the creator's own.
async fn check_creator<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    account: &Account,
    request: &PublishRequest,
    deadline: Instant,
) -> Result<(), ServiceError>
where
    S: PublishStore,
{
    if let (PostMode::Direct, Some(post_info)) = (request.mode, &request.post_info) {
        let creator = fetch_creator(keeper, store, account.clone(), deadline).await?;
        check_against_creator(post_info, &creator)?;
    }
    Ok(())
}

/// Counts the init, asks TikTok once, remembers the post (started by `scheduled_id`, when a
/// schedule fired it).
async fn init<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    user: &AppUser,
    account: Account,
    request: &PublishRequest,
    scheduled_id: Option<&str>,
    deadline: Instant,
) -> Attempt
where
    S: PublishStore,
{
    let now = keeper.clock.now();
    if let Err(error) = within_limit(store, &account.open_id, "init", INIT_PER_MINUTE, now).await {
        return Attempt::NotPosted(error);
    }
    let init = PublishInit {
        mode: request.mode,
        source: match &request.source {
            SourceRequest::Url(video_url) => MediaSource::Url {
                video_url: video_url.clone(),
            },
            SourceRequest::Upload(plan) => MediaSource::Upload {
                video_size: plan.video_size,
                chunk_size: plan.chunk_size,
                total_chunk_count: u32::try_from(plan.total_chunk_count).unwrap_or(u32::MAX),
            },
            SourceRequest::Photos {
                photo_urls,
                cover_index,
            } => MediaSource::Photos {
                photo_urls: photo_urls.clone(),
                cover_index: *cover_index,
            },
        },
        post_info: request.post_info.clone(),
    };
    let open_id = account.open_id.clone();
    let sent = keeper
        .with_token_once(account, deadline, "publish_init", |token| {
            let init = &init;
            async move { keeper.tiktok.init_publish(&token, init).await }
        })
        .await;
    let answer = match sent {
        Ok((_, answer)) => answer,
        Err(RefreshError::TikTok(
            error @ TikTokError::Unavailable {
                detail: "connection failed",
                ..
            },
        )) => {
            // Not even connected: nothing reached TikTok.
            return Attempt::NotPosted(ServiceError::from_tiktok(&error));
        }
        // Lost, or not understood (a 2xx without a usable publish_id, a body that is not JSON or
        // is too large): TikTok may have posted. Only its explicit refusals free the key.
        Err(RefreshError::TikTok(
            error @ (TikTokError::Unavailable { .. } | TikTokError::Unexpected { .. }),
        )) => {
            tracing::warn!(open_id = %open_id, error = %error, tiktok_log_id = error.log_id().unwrap_or(""), "publish init answer lost or not understood; the post may exist");
            return Attempt::Unknown(ServiceError::PublishOutcomeUnknown {
                tiktok_log_id: error.log_id().map(str::to_owned),
            });
        }
        Err(error) => {
            let error = posting_error(error, request.scope());
            if let ServiceError::PostingRefused { code, .. } = &error
                && let Err(e) = store.note_refusal(&open_id, code, keeper.clock.now()).await
            {
                tracing::warn!(error = %e, "could not remember a posting refusal");
            }
            return Attempt::NotPosted(error);
        }
    };
    let now = keeper.clock.now();
    let state = match request.source {
        SourceRequest::Url(_) | SourceRequest::Photos { .. } => PublishState::ProcessingDownload,
        SourceRequest::Upload(_) => PublishState::ProcessingUpload,
    };
    let record = PublishRecord {
        publish_id: answer.publish_id.clone(),
        app_user: user.as_str().to_owned(),
        open_id: open_id.clone(),
        mode: request.mode,
        media_type: request.media_type,
        public: request.mode == PostMode::Direct
            && request
                .post_info
                .as_ref()
                .is_some_and(|p| p.privacy_level == "PUBLIC_TO_EVERYONE"),
        source: request.source.kind().to_owned(),
        state,
        fail_reason: None,
        post_ids: Vec::new(),
        withdrawn_post_ids: Vec::new(),
        uploaded_bytes: None,
        downloaded_bytes: None,
        scheduled_id: scheduled_id.map(str::to_owned),
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = store.save_publish(&record).await {
        // The post exists at TikTok whatever happens here; its id is in the answer.
        tracing::error!(error = %e, publish_id = %record.publish_id, "could not store the started post");
    }
    if request.mode == PostMode::Inbox
        && let Err(e) = store
            .note_inbox_upload(&open_id, &record.publish_id, now, now - 24 * 3600)
            .await
    {
        tracing::warn!(error = %e, "could not count an upload to the inbox");
    }
    // TikTok took a public post (only a public account offers PUBLIC_TO_EVERYONE): the app has
    // passed its audit, so an earlier "unaudited" refusal no longer holds for `posting`.
    if record.public
        && let Err(e) = store
            .forget_refusal(&open_id, posting_status::UNAUDITED)
            .await
    {
        tracing::warn!(error = %e, "could not forget an unaudited refusal");
    }
    tracing::info!(open_id = %open_id, publish_id = %record.publish_id, mode = request.mode.as_str(), media_type = request.media_type.as_str(), source = request.source.kind(), "post started");
    let upload = match (&request.source, answer.upload_url) {
        (SourceRequest::Upload(plan), Some(upload_url)) => Some(UploadInstructions {
            upload_url,
            upload_url_expires_at: now + UPLOAD_URL_TTL_SECS,
            content_types: CONTENT_TYPES,
            plan: plan.clone(),
        }),
        _ => None,
    };
    Attempt::Started(PublishStarted {
        publish_id: record.publish_id,
        open_id,
        mode: request.mode,
        media_type: request.media_type,
        status: state.as_str(),
        publish_at: None,
        upload,
    })
}

/// `200` body of `GET /tiktok/publish/{publish_id}`, and each post of the listing.
#[derive(Debug, Serialize)]
pub struct PublishView {
    /// TikTok's id of the post; a scheduled post's own id (`sched_…`) until it fires.
    pub publish_id: PublishId,
    /// The scheduled post's id, for a post made by a schedule (before and after it fired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_id: Option<String>,
    /// When a scheduled post is (or was) to be made, Unix seconds; shown until it fires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<i64>,
    /// The account it was posted to.
    pub open_id: OpenId,
    /// `direct` or `inbox`.
    pub mode: PostMode,
    /// `video` or `photo`.
    pub media_type: MediaType,
    /// `url` or `upload`.
    pub source: String,
    /// TikTok's status name (`PublishState::as_str`); `PUBLISH_COMPLETE` and `FAILED` are final.
    /// A scheduled post not yet started: `SCHEDULED`, `FIRING`, `CANCELED` or `FAILED`.
    pub status: &'static str,
    /// TikTok's reason for a `FAILED` post, at most 64 characters; for a cancelled or failed
    /// scheduled post, why (`canceled_by_app`, `account_disconnected`, an error code); omitted
    /// when none was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    /// The public post ids still publicly available; decimal strings (TikTok's ids exceed
    /// 2^53). A public Direct Post gets its id after TikTok's moderation, minutes or hours after
    /// `PUBLISH_COMPLETE`.
    pub post_ids: Vec<String>,
    /// Ids TikTok later said are no longer publicly available (taken down, made private or
    /// deleted).
    pub withdrawn_post_ids: Vec<String>,
    /// The public posts themselves (share URL, counts), when the account granted `video.list`;
    /// omitted otherwise, with `cached=true`, or when TikTok could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub videos: Option<Vec<Video>>,
    /// Uploads: bytes TikTok had received, from the last status that said; omitted until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded_bytes: Option<i64>,
    /// URL sources: bytes TikTok had pulled, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloaded_bytes: Option<i64>,
    /// When the post was started (TikTok accepted the init), Unix seconds.
    pub created_at: i64,
    /// When the last status update (a fetch or a webhook) was stored, Unix seconds.
    pub updated_at: i64,
    /// `tiktok` when just fetched, `stored` when answered from the last known status.
    pub checked: &'static str,
}

impl PublishView {
    fn of(record: PublishRecord, checked: &'static str) -> Self {
        Self {
            publish_id: record.publish_id,
            scheduled_id: record.scheduled_id,
            publish_at: None,
            open_id: record.open_id,
            mode: record.mode,
            media_type: record.media_type,
            source: record.source,
            status: record.state.as_str(),
            fail_reason: record.fail_reason,
            post_ids: record.post_ids,
            withdrawn_post_ids: record.withdrawn_post_ids,
            videos: None,
            uploaded_bytes: record.uploaded_bytes,
            downloaded_bytes: record.downloaded_bytes,
            created_at: record.created_at,
            updated_at: record.updated_at,
            checked,
        }
    }
}

/// Validates a publish id from the path or a cursor: TikTok's and scheduled posts' are at most
/// 64 visible ASCII characters.
pub fn parse_publish_id(value: &str) -> Result<PublishId, ServiceError> {
    PublishId::parse(value).ok_or_else(|| {
        ServiceError::InvalidRequest(format!(
            "publish_id must be 1-{MAX_PUBLISH_ID_LEN} visible ASCII characters, as returned by POST /tiktok/publish"
        ))
    })
}

/// `GET /tiktok/publish/{publish_id}[?cached=true]`: TikTok's current status (stored as the
/// last known one), or the stored one for a finished post, with `cached=true`, or when the
/// per-minute status limit is used up.
pub async fn status<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    user: &AppUser,
    publish_id: &str,
    query: &Query,
    deadline: Instant,
) -> Result<PublishView, ServiceError>
where
    S: PublishStore + ScheduleStore,
{
    query
        .only(&["cached"])
        .map_err(ServiceError::InvalidRequest)?;
    let cached = match query.get("cached") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ServiceError::InvalidRequest(
                "cached must be true or false".into(),
            ));
        }
    };
    let publish_id = parse_publish_id(publish_id)?;
    let publish_id = match scheduled::started_by(store, user, &publish_id).await? {
        scheduled::Started::No(view) => return Ok(*view),
        scheduled::Started::As(tiktok_publish_id) => tiktok_publish_id,
        scheduled::Started::NotScheduled => publish_id,
    };
    let publish_id = &publish_id;
    let record = store
        .get_publish(publish_id)
        .await?
        .filter(|r| r.app_user == user.as_str())
        .ok_or(ServiceError::PublishNotFound)?;
    let now = keeper.clock.now();
    // A settled post without public ids needs nothing from TikTok (nor the account read).
    if cached || (record.settled(now) && record.post_ids.is_empty()) {
        return Ok(PublishView::of(record, "stored"));
    }
    let Some(account) = keeper.accounts.get(user.as_str(), &record.open_id).await? else {
        // Disconnected since: the last known status is all there is.
        return Ok(PublishView::of(record, "stored"));
    };
    let fetch = !record.settled(now)
        && within_limit(store, &record.open_id, "status", STATUS_PER_MINUTE, now)
            .await
            .is_ok();
    if !fetch {
        let view = PublishView::of(record, "stored");
        return Ok(with_videos(keeper, account, view, deadline).await);
    }
    let scope = match record.mode {
        PostMode::Direct => scope::VIDEO_PUBLISH,
        PostMode::Inbox => scope::VIDEO_UPLOAD,
    };
    let fetched = keeper
        .with_token(account, deadline, "publish_status", |token| async move {
            keeper.tiktok.publish_status(&token, publish_id).await
        })
        .await;
    let (session, fresh) = match fetched {
        Ok(answer) => answer,
        Err(RefreshError::TikTok(TikTokError::Api { code, .. }))
            if code == "invalid_publish_id"
                || code == "token_not_authorized_for_specified_publish_id" =>
        {
            return Err(ServiceError::PublishNotFound);
        }
        Err(error) => return Err(ServiceError::from_call(error, scope)),
    };
    let update = StatusUpdate {
        state: fresh.state,
        fail_reason: fresh.fail_reason,
        post_ids: fresh.post_ids,
        withdrawn_post_ids: Vec::new(),
        uploaded_bytes: fresh.uploaded_bytes,
        downloaded_bytes: fresh.downloaded_bytes,
        at: now,
    };
    let written = store
        .advance_publish(publish_id, &record.open_id, &update)
        .await?;
    let latest = match written {
        Advanced::Applied(before) => {
            // Announced from the record as it was just before this write: a webhook that
            // stored the same status first has announced it already.
            let changed = status_changed(&before, &update);
            announce(&keeper.events, changed.into_iter().collect()).await;
            record.advanced(update)
        }
        // A webhook moved it further meanwhile: answer what is stored now.
        Advanced::Stale => store.get_publish(publish_id).await?.unwrap_or(record),
    };
    let view = PublishView::of(latest, "tiktok");
    Ok(with_videos(keeper, session.account, view, deadline).await)
}

/// `post.status_changed` when `update`, written over `before` (the record as it was just before
/// the write), moved the post's status or brought public ids; `None` when it changed nothing the
/// app sees (a repeated status, bytes moved).
pub fn status_changed(before: &PublishRecord, update: &StatusUpdate) -> Option<AppEvent> {
    let after = before.clone().advanced(update.clone());
    let moved = before.state != after.state
        || before.post_ids != after.post_ids
        || before.withdrawn_post_ids != after.withdrawn_post_ids;
    moved.then(|| {
        let mut event = AppEvent::post_status(
            &after.app_user,
            &after.open_id,
            &after.publish_id,
            after.scheduled_id.as_deref(),
            before.state.as_str(),
            after.state.as_str(),
            &after.post_ids,
            after.updated_at,
        );
        event.detail.reason = after.fail_reason.clone();
        event
    })
}

/// Attaches the public posts (share URL, counts) when there are ids and the account granted
/// `video.list`. The status is the answer: a failed query only leaves `videos` out.
async fn with_videos<P: Ports>(
    keeper: &TokenKeeper<P>,
    account: Account,
    mut view: PublishView,
    deadline: Instant,
) -> PublishView {
    if view.post_ids.is_empty() || !account.scopes.contains(scope::VIDEO_LIST) {
        return view;
    }
    let ids = view.post_ids.clone();
    let queried = keeper
        .with_token(account, deadline, "video_query", |token| {
            let ids = &ids;
            async move { keeper.tiktok.query_videos(&token, ids).await }
        })
        .await;
    match queried {
        Ok((_, videos)) => view.videos = Some(crate::videos::in_order(videos, &ids)),
        Err(error) => {
            tracing::warn!(publish_id = %view.publish_id, error = %error, "could not attach the public posts");
        }
    }
    view
}
