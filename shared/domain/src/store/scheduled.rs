//! Scheduled posts (`ScheduleStore`) and the app user's post listing, in the same table:
//! - scheduled post: `pk = SCHEDULED#<id>`, `sk = SCHEDULED` (the checked request, kept until it
//!   fires, is cancelled or fails)
//! - the listing index `posts-by-user`: `posts_of = <app user>`, `listed_at` (Unix seconds), on
//!   every started post and every scheduled post not yet fired (a fired one is listed as the post
//!   it started, which names it in `scheduled_id`).
//! - the index of waiting posts `waiting-by-account` (keys only): `waiting_for = <open_id>` and
//!   `app_user`, on a scheduled post until it fires, fails or is cancelled.
//!
//! A scheduled post moves `SCHEDULED → FIRING → FIRED | FAILED`, or `SCHEDULED → CANCELED`, each
//! step a conditional write: a second delivery of its schedule, a retry, or a delivery racing a
//! cancel finds the step taken and does nothing, so it is never posted twice. A claim that failed
//! for a passing reason before TikTok was asked to post goes back (`FIRING → SCHEDULED`) for the
//! delivery's retry, at most `MAX_FIRE_ATTEMPTS` claims in all.

use crate::ids::{OpenId, PublishId};
use std::future::Future;

use rand::RngCore as _;

use super::{PublishRecord, StoreError, Written};
use crate::tiktok::{MediaType, PostMode};

/// The prefix of a scheduled post's id; TikTok's own publish ids never start with it.
pub const SCHEDULED_ID_PREFIX: &str = "sched_";
/// How late a schedule's delivery may come and still post: EventBridge Scheduler retries a
/// delivery for this long (the schedule's `MaximumEventAgeInSeconds`); a later one fails the post
/// as `schedule_missed` rather than posting at a time nobody chose.
pub const MAX_FIRE_DELAY_SECS: i64 = 3600;
/// How many deliveries may claim one scheduled post: Lambda runs an asynchronous invocation at
/// most three times (`EventInvokeConfig.MaximumRetryAttempts: 2`), so the third claim that fails
/// for a passing reason fails the post instead of waiting for a retry that will not come.
pub const MAX_FIRE_ATTEMPTS: u32 = 3;

/// Where a scheduled post is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleState {
    /// Waiting for its time.
    Scheduled,
    /// Its schedule fired and one delivery claimed it; TikTok is being asked (or was, and the
    /// delivery ended before it could say).
    Firing,
    /// TikTok accepted the init: the post is `tiktok_publish_id` from now on.
    Fired,
    /// Cancelled before it fired (by the app, or because the account was disconnected, revoked
    /// or needs to be connected again): `reason` says which.
    Canceled,
    /// It fired but was not posted: `reason` says why (e.g. `privacy_level_option_mismatch`).
    Failed,
}

impl ScheduleState {
    /// The stored name, also the `status` the API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Firing => "FIRING",
            Self::Fired => "FIRED",
            Self::Canceled => "CANCELED",
            Self::Failed => "FAILED",
        }
    }

    /// The state named by `as_str`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Scheduled,
            Self::Firing,
            Self::Fired,
            Self::Canceled,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// A post to be made at `publish_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledPost {
    /// `sched_` and 26 lowercase base32 characters: the `publish_id` the app was given.
    pub id: String,
    /// The app user who scheduled it; only they can read, list or cancel it.
    pub app_user: String,
    /// The TikTok account it will be posted to.
    pub open_id: OpenId,
    /// When to post, Unix seconds.
    pub publish_at: i64,
    /// Direct Post or upload to the inbox.
    pub mode: PostMode,
    /// A video or a photo post.
    pub media_type: MediaType,
    /// The checked `POST /tiktok/publish` body as it will be sent when it fires: `open_id` set to
    /// the account, `publish_at` removed. Media URLs and texts only (a URL with credentials is
    /// refused before it is stored).
    pub request: String,
    /// Where it is in its life.
    pub state: ScheduleState,
    /// Why it was cancelled or failed (an API error code), once it was.
    pub reason: Option<String>,
    /// TikTok's id of the post it started, once fired.
    pub tiktok_publish_id: Option<PublishId>,
    /// When a delivery claimed it (state `FIRING` and later), Unix seconds.
    pub claimed_at: Option<i64>,
    /// How many deliveries claimed it (0 until the first; more than 1 only after claims given
    /// back for a retry).
    pub attempts: u32,
    /// When it was scheduled, Unix seconds.
    pub created_at: i64,
    /// When it last changed, Unix seconds.
    pub updated_at: i64,
}

impl ScheduledPost {
    /// A new id: 130 random bits, in the characters EventBridge Scheduler allows in a name.
    pub fn new_id() -> String {
        const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
        let mut bytes = [0u8; 26];
        rand::rng().fill_bytes(&mut bytes);
        let tail: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
            .collect();
        format!("{SCHEDULED_ID_PREFIX}{tail}")
    }

    /// Whether `id` names a scheduled post (rather than a post TikTok started).
    pub fn is_scheduled_id(id: &str) -> bool {
        id.starts_with(SCHEDULED_ID_PREFIX)
    }
}

/// How a claimed scheduled post ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FireOutcome {
    /// TikTok accepted the init; the post is this publish id now.
    Fired {
        /// TikTok's publish id.
        tiktok_publish_id: PublishId,
    },
    /// Not posted (or the outcome is unknown: never retried), for this reason.
    Failed {
        /// An API error code such as `privacy_level_option_mismatch` or `publish_outcome_unknown`.
        reason: String,
    },
}

/// What claiming a scheduled post for firing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FireClaim {
    /// This delivery fires it: the post as stored, now `FIRING`.
    Claimed(ScheduledPost),
    /// Not `SCHEDULED` (fired, firing, cancelled or failed already): the post as stored.
    Taken(ScheduledPost),
    /// No such scheduled post.
    Missing,
}

/// One entry of an app user's post listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedPost {
    /// A post TikTok started (possibly by a schedule: `scheduled_id`).
    Started(PublishRecord),
    /// A scheduled post that has not started a post (waiting, cancelled or failed).
    Scheduled(ScheduledPost),
}

impl ListedPost {
    /// The listing's sort key and the entry's id: where a next page starts.
    pub fn position(&self) -> ListPosition {
        match self {
            Self::Started(record) => ListPosition {
                listed_at: record.created_at,
                id: record.publish_id.to_string(),
            },
            Self::Scheduled(post) => ListPosition {
                listed_at: post.created_at,
                id: post.id.clone(),
            },
        }
    }
}

/// A place in an app user's listing (newest first): the last entry of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPosition {
    /// The entry's `listed_at`, Unix seconds.
    pub listed_at: i64,
    /// The entry's id: a scheduled post's or TikTok's publish id.
    pub id: String,
}

/// Which posts a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only scheduled posts still waiting (`status=scheduled`).
    pub scheduled_only: bool,
    /// Only this account's posts.
    pub open_id: Option<OpenId>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Newest first.
    pub posts: Vec<ListedPost>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<ListPosition>,
}

/// Scheduled posts and the listing of an app user's posts (layout above). Adapter:
/// `connect_adapters::DynamoPublishStore`.
pub trait ScheduleStore: Send + Sync {
    /// Stores a new scheduled post (`SCHEDULED`).
    fn save_scheduled(
        &self,
        post: &ScheduledPost,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The scheduled post (a strongly consistent read); `None` when there is none.
    fn get_scheduled(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ScheduledPost>, StoreError>> + Send;

    /// Removes a scheduled post whose schedule could not be created (it never existed for the
    /// app).
    fn delete_scheduled(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Moves the post from `SCHEDULED` to `FIRING` at `now`, if it still is `SCHEDULED`, and
    /// counts the claim in `attempts`.
    fn claim_scheduled(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Result<FireClaim, StoreError>> + Send;

    /// Ends a claim: `FIRING` to `FIRED` (out of the listing: the started post is listed) or
    /// `FAILED`. `Stale` when the post is not `FIRING`.
    fn finish_scheduled(
        &self,
        id: &str,
        outcome: &FireOutcome,
        at: i64,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// Gives a claim back (`FIRING` to `SCHEDULED`) after a failure that came before TikTok was
    /// asked to post, so the delivery's retry can claim it again. `Stale` when the post is not
    /// `FIRING`.
    fn release_scheduled(
        &self,
        id: &str,
        at: i64,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// Cancels the post for `reason` if it is still `SCHEDULED`; `Stale` otherwise (it fired, is
    /// firing, or was cancelled or failed already).
    fn cancel_scheduled(
        &self,
        id: &str,
        reason: &str,
        at: i64,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// The ids of the app user's scheduled posts for the account `open_id` that have not fired,
    /// failed or been cancelled (`SCHEDULED`, or `FIRING` right now), every page read. Posts
    /// scheduled before this index existed are not among them; they fail at their time instead.
    fn waiting_posts(
        &self,
        app_user: &str,
        open_id: &OpenId,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// A page of the app user's posts, newest first, after `after` (the previous page's `next`).
    /// Up to `limit` entries are read; the filter may leave fewer on a page that still has a
    /// `next`.
    fn list_posts(
        &self,
        app_user: &str,
        filter: &ListFilter,
        after: Option<&ListPosition>,
        limit: u32,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + Send;
}
