//! Scheduled posts: `POST /tiktok/publish` with `publish_at`, firing them when their schedule
//! delivers (the `scheduled-post` function), cancelling (`DELETE /tiktok/publish/{id}`, or the
//! account going away), and the app user's listing (`GET /tiktok/publish`). The contract:
//! docs/publishing.md#scheduled-posts.
//!
//! Never posted twice: every step is a conditional write of the stored post
//! (`SCHEDULED → FIRING → FIRED | FAILED`, `SCHEDULED → CANCELED`), so a second delivery of the
//! schedule, a delivery racing a cancel, or a retry after a timeout finds the step taken.

use connect_domain::ids::{OpenId, PublishId};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::{
    Attempt, PublishRequest, PublishStarted, PublishView, Render, fetch_creator, init,
    parse_publish_id,
};
use connect_domain::app_user::AppUser;
use connect_domain::clock::Clock;
use connect_domain::error::ServiceError;
use connect_domain::events::{AppEvent, EventSink, POST_SCHEDULE_FAILED, announce};
use connect_domain::ports::Ports;
use connect_domain::query::Query;
use connect_domain::refresh::TokenKeeper;
use connect_domain::scheduler::PostScheduler;
use connect_domain::store::{
    Account, AccountReader, AccountStatus, FireClaim, FireOutcome, ListFilter, ListPosition,
    ListedPost, MAX_FIRE_ATTEMPTS, MAX_FIRE_DELAY_SECS, PublishStore, ScheduleState, ScheduleStore,
    ScheduledPost, Written,
};
use connect_domain::tiktok::{PostMode, PublishState};

/// The earliest `publish_at`: two minutes ahead, so the schedule exists well before it fires.
pub const MIN_LEAD_SECS: i64 = 120;
/// The latest `publish_at`: 30 days ahead.
pub const MAX_LEAD_SECS: i64 = 30 * 24 * 3600;
/// A claim older than this without an outcome belongs to a delivery that died (Lambda ends the
/// function at its 28 s timeout), perhaps after TikTok posted: the post is failed as
/// `publish_outcome_unknown`, never fired again. Shorter than Lambda's minute before it retries a
/// failed invocation, so that retry finds the claim stale and ends the post, rather than taking it
/// for a live delivery and leaving it `FIRING` for good (the devstack template test holds both).
pub const STALE_FIRING_SECS: i64 = 45;
/// Posts per page of `GET /tiktok/publish`.
pub const PAGE_SIZE: u32 = 25;
/// Why a post the app cancelled was cancelled.
pub const CANCELED_BY_APP: &str = "canceled_by_app";

/// Checks `publish_at` against the clock: 2 minutes to 30 days ahead.
pub fn check_publish_at(publish_at: i64, now: i64) -> Result<(), ServiceError> {
    let lead = publish_at.saturating_sub(now);
    if lead < MIN_LEAD_SECS {
        return Err(ServiceError::InvalidRequest(format!(
            "publish_at must be at least {MIN_LEAD_SECS} seconds ahead (it is {lead} seconds from now); omit it to post now"
        )));
    }
    if lead > MAX_LEAD_SECS {
        return Err(ServiceError::InvalidRequest(format!(
            "publish_at must be at most {} days ahead",
            MAX_LEAD_SECS / 86_400
        )));
    }
    Ok(())
}

/// The scheduler to schedule at `publish_at` with, if the stack has one and the time is within
/// the window: checked before anything else (creator info included) is asked.
pub(super) fn scheduler_for<Q: PostScheduler>(
    scheduler: Option<&Q>,
    publish_at: i64,
    now: i64,
) -> Result<&Q, ServiceError> {
    let scheduler = scheduler.ok_or_else(|| {
        ServiceError::InvalidRequest(
            "scheduled posts are not set up on this stack (SCHEDULE_GROUP and its companions, docs/deploy.md#configuration); omit publish_at to post now".into(),
        )
    })?;
    check_publish_at(publish_at, now)?;
    Ok(scheduler)
}

/// Stores the checked post as `SCHEDULED` and creates its one-time schedule. The request was
/// checked as a post would be (creator info included) before this is called.
pub(super) async fn schedule<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    scheduler: &impl PostScheduler,
    user: &AppUser,
    account: Account,
    request: &PublishRequest,
    publish_at: i64,
) -> Attempt
where
    S: ScheduleStore,
{
    let now = keeper.clock.now();
    // What fires later: the same body, for the account it resolved to now.
    let mut body = request.body.clone();
    if let Value::Object(fields) = &mut body {
        fields.remove("publish_at");
        fields.insert("open_id".into(), Value::String(account.open_id.to_string()));
    }
    let post = ScheduledPost {
        id: ScheduledPost::new_id(),
        app_user: user.as_str().to_owned(),
        open_id: account.open_id.clone(),
        publish_at,
        mode: request.mode,
        media_type: request.media_type,
        request: body.to_string(),
        state: ScheduleState::Scheduled,
        reason: None,
        tiktok_publish_id: None,
        claimed_at: None,
        attempts: 0,
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = store.save_scheduled(&post).await {
        return Attempt::NotPosted(e.into());
    }
    if let Err(e) = scheduler.schedule(&post.id, publish_at).await {
        tracing::error!(error = %e, scheduled_id = %post.id, "could not create the schedule");
        // Without its schedule the post would never fire: it is not kept.
        if let Err(e) = store.delete_scheduled(&post.id).await {
            tracing::error!(error = %e, scheduled_id = %post.id, "could not remove a scheduled post without a schedule");
        }
        return Attempt::NotPosted(ServiceError::ServiceUnavailable);
    }
    tracing::info!(open_id = %post.open_id, scheduled_id = %post.id, publish_at, mode = post.mode.as_str(), media_type = post.media_type.as_str(), "post scheduled");
    Attempt::Started(PublishStarted {
        publish_id: post.id.into(),
        open_id: post.open_id,
        mode: post.mode,
        media_type: post.media_type,
        status: ScheduleState::Scheduled.as_str(),
        publish_at: Some(publish_at),
        upload: None,
    })
}

/// What a delivery of a schedule did (the `scheduled-post` function's answer and log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FireReport {
    /// The scheduled post's id.
    pub scheduled_id: String,
    /// `fired`, `failed`, or `ignored` (not `SCHEDULED` any more: a repeated or late delivery,
    /// a cancelled post, or none by that id).
    pub outcome: &'static str,
    /// The stored state after this delivery (`missing` when there is no such post).
    pub status: &'static str,
    /// TikTok's publish id, when this delivery started the post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiktok_publish_id: Option<PublishId>,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl FireReport {
    /// The report of a delivery that ended the post with `outcome`.
    fn ended(id: &str, outcome: FireOutcome) -> Self {
        let (outcome, status, tiktok_publish_id, reason) = match outcome {
            FireOutcome::Fired { tiktok_publish_id } => {
                ("fired", ScheduleState::Fired, Some(tiktok_publish_id), None)
            }
            FireOutcome::Failed { reason } => ("failed", ScheduleState::Failed, None, Some(reason)),
        };
        Self {
            scheduled_id: id.to_owned(),
            outcome,
            status: status.as_str(),
            tiktok_publish_id,
            reason,
        }
    }

    fn ignored(id: &str, status: &'static str) -> Self {
        Self {
            scheduled_id: id.to_owned(),
            outcome: "ignored",
            status,
            tiktok_publish_id: None,
            reason: None,
        }
    }
}

/// Why a claimed post cannot be made, as the code the app sees (`reason`).
fn failure_reason(error: &ServiceError, render: Render) -> String {
    let (_, body) = render(error);
    body.get("error")
        .and_then(Value::as_str)
        .unwrap_or("internal_error")
        .to_owned()
}

/// One delivery of the schedule of `id`: claims the post, re-reads the account and the
/// creator's options, and asks TikTok once. Store failures before the claim are errors (the
/// delivery is retried). After the claim, a failure that may pass (DynamoDB or KMS failing,
/// TikTok failing or limiting) and came before TikTok was asked to post gives the claim back and
/// is an error too, so Lambda retries the delivery (a minute, then two, later), up to
/// `MAX_FIRE_ATTEMPTS` claims; everything else ends the post as `FIRED` or `FAILED`.
pub async fn fire<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    id: &str,
    deadline: Instant,
    render: Render,
) -> Result<FireReport, ServiceError>
where
    S: PublishStore + ScheduleStore,
{
    if !ScheduledPost::is_scheduled_id(id) || parse_publish_id(id).is_err() {
        return Err(ServiceError::InvalidRequest(
            "publish_id must be a scheduled post's id (sched_…)".into(),
        ));
    }
    let now = keeper.clock.now();
    let post = match store.claim_scheduled(id, now).await? {
        FireClaim::Claimed(post) => post,
        FireClaim::Missing => {
            tracing::warn!(scheduled_id = %id, "a schedule fired for a post that does not exist");
            return Ok(FireReport::ignored(id, "missing"));
        }
        FireClaim::Taken(post) => return taken(store, &keeper.events, post, now).await,
    };
    let outcome = match post_now(keeper, store, &post, now, deadline).await {
        Ok(tiktok_publish_id) => FireOutcome::Fired { tiktok_publish_id },
        Err(NotMade::Passing(error)) if retry_left(&post, now) => {
            return give_back(store, &post, error, render, keeper.clock.now()).await;
        }
        Err(NotMade::Passing(error) | NotMade::Failed(error)) => FireOutcome::Failed {
            reason: failure_reason(&error, render),
        },
        Err(NotMade::Because(reason)) => FireOutcome::Failed {
            reason: reason.to_owned(),
        },
    };
    let at = keeper.clock.now();
    if store.finish_scheduled(id, &outcome, at).await? == Written::Stale {
        tracing::error!(scheduled_id = %id, "a claimed scheduled post changed under its claim");
    } else {
        announce(&keeper.events, vec![fired_event(&post, &outcome, at)]).await;
    }
    match &outcome {
        FireOutcome::Fired { tiktok_publish_id } => {
            tracing::info!(scheduled_id = %id, publish_id = %tiktok_publish_id, delay_secs = now - post.publish_at, attempt = post.attempts, "scheduled post fired");
        }
        FireOutcome::Failed { reason } => {
            tracing::warn!(scheduled_id = %id, reason = %reason, attempt = post.attempts, "scheduled post failed");
        }
    }
    Ok(FireReport::ended(id, outcome))
}

/// How long Lambda waits before running a failed asynchronous invocation again, at most (a
/// minute before the second try, two before the third).
const RETRY_WAIT_SECS: i64 = 120;

/// Whether a claim that failed for a passing reason may wait for the delivery's retry: fewer
/// than `MAX_FIRE_ATTEMPTS` claims so far, and the retry still comes within `MAX_FIRE_DELAY_SECS`
/// of `publish_at` (a later one would fail as `schedule_missed` anyway).
fn retry_left(post: &ScheduledPost, now: i64) -> bool {
    post.attempts < MAX_FIRE_ATTEMPTS
        && now + RETRY_WAIT_SECS - post.publish_at <= MAX_FIRE_DELAY_SECS
}

/// Gives the claim back for the delivery's retry and answers the error that makes Lambda retry
/// it. When the claim cannot be given back, it stays `FIRING` and a later delivery fails it as
/// `publish_outcome_unknown` (`taken`): not posted, but never posted twice either.
async fn give_back<S: ScheduleStore>(
    store: &S,
    post: &ScheduledPost,
    error: ServiceError,
    render: Render,
    at: i64,
) -> Result<FireReport, ServiceError> {
    match store.release_scheduled(&post.id, at).await? {
        Written::Yes => {
            tracing::warn!(scheduled_id = %post.id, reason = %failure_reason(&error, render), attempt = post.attempts, max_attempts = MAX_FIRE_ATTEMPTS, "scheduled post not made yet; given back for the delivery's retry");
        }
        Written::Stale => {
            tracing::error!(scheduled_id = %post.id, "a claimed scheduled post changed under its claim");
        }
    }
    Err(error)
}

/// A delivery for a post another delivery claimed (or that was cancelled or failed). A claim
/// left `FIRING` past `STALE_FIRING_SECS` ended without an outcome, perhaps after TikTok posted:
/// it fails as `publish_outcome_unknown` and is never fired again.
async fn taken<S: ScheduleStore>(
    store: &S,
    events: &impl EventSink,
    post: ScheduledPost,
    now: i64,
) -> Result<FireReport, ServiceError> {
    let stale = post.state == ScheduleState::Firing
        && post
            .claimed_at
            .is_some_and(|at| now - at > STALE_FIRING_SECS);
    if !stale {
        tracing::info!(scheduled_id = %post.id, status = post.state.as_str(), "schedule delivered again; nothing to do");
        return Ok(FireReport::ignored(&post.id, post.state.as_str()));
    }
    let outcome = FireOutcome::Failed {
        reason: "publish_outcome_unknown".to_owned(),
    };
    if store.finish_scheduled(&post.id, &outcome, now).await? == Written::Yes {
        announce(events, vec![fired_event(&post, &outcome, now)]).await;
    }
    tracing::warn!(scheduled_id = %post.id, "a delivery died while firing; the post may exist and is not fired again");
    Ok(FireReport::ended(&post.id, outcome))
}

/// What the app learns of a firing: the post's first status, or why it failed.
fn fired_event(post: &ScheduledPost, outcome: &FireOutcome, at: i64) -> AppEvent {
    match outcome {
        FireOutcome::Fired { tiktok_publish_id } => AppEvent::post_status(
            &post.app_user,
            &post.open_id,
            tiktok_publish_id,
            Some(&post.id),
            ScheduleState::Scheduled.as_str(),
            PublishState::ProcessingDownload.as_str(),
            &[],
            at,
        ),
        FireOutcome::Failed { reason } => {
            let mut event =
                AppEvent::account(POST_SCHEDULE_FAILED, &post.app_user, &post.open_id, at)
                    .because(reason.clone());
            event.detail.publish_id = Some(post.id.clone());
            event.detail.scheduled_id = Some(post.id.clone());
            event
        }
    }
}

/// `post.status_changed` of the scheduled post `id` (the app user's, for the account `open_id`)
/// cancelled for `reason`.
fn canceled_event(app_user: &str, open_id: &str, id: &str, reason: &str, at: i64) -> AppEvent {
    let mut event = AppEvent::post_status(
        app_user,
        open_id,
        id,
        Some(id),
        ScheduleState::Scheduled.as_str(),
        ScheduleState::Canceled.as_str(),
        &[],
        at,
    );
    event.detail.reason = Some(reason.to_owned());
    event
}

/// The account's reason to cancel its scheduled posts, when it has one.
fn account_gone(status: AccountStatus) -> Option<&'static str> {
    match status {
        AccountStatus::Active => None,
        AccountStatus::ReauthRequired => Some("reauth_required"),
        AccountStatus::Revoked => Some("account_revoked"),
    }
}

/// Why a claimed post was not made.
enum NotMade {
    /// A failure that may pass (a dependency or TikTok failing, a rate limit), before TikTok was
    /// asked to post: worth the delivery's retry.
    Passing(ServiceError),
    /// An error that another try would meet again (the app sees it as the reason).
    Failed(ServiceError),
    /// A reason of the schedule's own (`schedule_missed`, `account_disconnected`, …).
    Because(&'static str),
}

impl From<ServiceError> for NotMade {
    /// Sorts an error met before TikTok was asked to post.
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::ServiceUnavailable
            | ServiceError::TikTok { .. }
            | ServiceError::RateLimited { .. } => Self::Passing(error),
            other => Self::Failed(other),
        }
    }
}

/// Makes the claimed post: TikTok's publish id, or why not.
async fn post_now<P: Ports, S>(
    keeper: &TokenKeeper<P>,
    store: &S,
    post: &ScheduledPost,
    now: i64,
    deadline: Instant,
) -> Result<PublishId, NotMade>
where
    S: PublishStore,
{
    if now - post.publish_at > MAX_FIRE_DELAY_SECS {
        return Err(NotMade::Because("schedule_missed"));
    }
    let account = keeper
        .accounts
        .get(&post.app_user, &post.open_id)
        .await
        .map_err(ServiceError::from)?
        .ok_or(NotMade::Because("account_disconnected"))?;
    if let Some(gone) = account_gone(account.status) {
        return Err(NotMade::Because(gone));
    }
    let request = PublishRequest::parse(post.request.as_bytes()).map_err(NotMade::Failed)?;
    if !account.scopes.contains(request.scope()) {
        return Err(NotMade::Failed(ServiceError::ScopeMissing(request.scope())));
    }
    // The creator's options may have changed since it was scheduled: a privacy level no longer
    // offered fails the post with that reason; nothing is silently changed.
    if let (PostMode::Direct, Some(post_info)) = (request.mode, &request.post_info) {
        let creator = fetch_creator(keeper, store, account.clone(), deadline).await?;
        if !creator
            .privacy_level_options
            .contains(&post_info.privacy_level)
        {
            return Err(NotMade::Because("privacy_level_option_mismatch"));
        }
        if super::check_against_creator(post_info, &creator).is_err() {
            return Err(NotMade::Because("creator_options_changed"));
        }
    }
    let user = AppUser::parse(&post.app_user).ok_or(NotMade::Failed(ServiceError::Internal))?;
    match init(
        keeper,
        store,
        &user,
        account,
        &request,
        Some(&post.id),
        deadline,
    )
    .await
    {
        Attempt::Started(started) => Ok(started.publish_id),
        // TikTok certainly did not post: a passing failure may be tried again.
        Attempt::NotPosted(error) => Err(error.into()),
        // TikTok may have posted: never tried again.
        Attempt::Unknown(error) => Err(NotMade::Failed(error)),
    }
}

/// What a publish id in the path is, for the status route.
pub(super) enum Started {
    /// Not a scheduled post's id: TikTok's own.
    NotScheduled,
    /// A scheduled post that started this TikTok post.
    As(PublishId),
    /// A scheduled post that has not started one: its view.
    No(Box<PublishView>),
}

/// Resolves a scheduled post's id for the status route.
pub(super) async fn started_by<S: ScheduleStore>(
    store: &S,
    user: &AppUser,
    id: &str,
) -> Result<Started, ServiceError> {
    if !ScheduledPost::is_scheduled_id(id) {
        return Ok(Started::NotScheduled);
    }
    let post = mine(store, user, id).await?;
    Ok(match (post.state, post.tiktok_publish_id.clone()) {
        (ScheduleState::Fired, Some(tiktok_publish_id)) => Started::As(tiktok_publish_id),
        _ => Started::No(Box::new(view_of(post))),
    })
}

async fn mine<S: ScheduleStore>(
    store: &S,
    user: &AppUser,
    id: &str,
) -> Result<ScheduledPost, ServiceError> {
    store
        .get_scheduled(id)
        .await?
        .filter(|p| p.app_user == user.as_str())
        .ok_or(ServiceError::PublishNotFound)
}

/// A scheduled post that has not started a post, as the status route and the listing show it.
pub fn view_of(post: ScheduledPost) -> PublishView {
    PublishView {
        publish_id: post.id.as_str().into(),
        scheduled_id: Some(post.id),
        publish_at: Some(post.publish_at),
        open_id: post.open_id,
        mode: post.mode,
        media_type: post.media_type,
        source: "url".into(),
        status: post.state.as_str(),
        fail_reason: post.reason,
        post_ids: Vec::new(),
        withdrawn_post_ids: Vec::new(),
        videos: None,
        uploaded_bytes: None,
        downloaded_bytes: None,
        created_at: post.created_at,
        updated_at: post.updated_at,
        checked: "stored",
    }
}

/// `DELETE /tiktok/publish/{publish_id}`: cancels a scheduled post before it fires. Cancelling a
/// cancelled post again is fine; one that fired, is firing or failed is `409 not_cancelable`.
pub async fn cancel<S: PublishStore + ScheduleStore>(
    store: &S,
    scheduler: Option<&impl PostScheduler>,
    events: &impl EventSink,
    user: &AppUser,
    id: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let id = &parse_publish_id(id)?;
    if !ScheduledPost::is_scheduled_id(id) {
        return match store.get_publish(id).await? {
            Some(record) if record.app_user == user.as_str() => Err(ServiceError::NotCancelable),
            _ => Err(ServiceError::PublishNotFound),
        };
    }
    let post = mine(store, user, id).await?;
    match store.cancel_scheduled(id, CANCELED_BY_APP, now).await? {
        Written::Yes => {
            tracing::info!(scheduled_id = %id, "scheduled post cancelled");
            announce(
                events,
                vec![canceled_event(
                    &post.app_user,
                    &post.open_id,
                    &post.id,
                    CANCELED_BY_APP,
                    now,
                )],
            )
            .await;
            // A schedule left behind fires into a cancelled post and does nothing.
            if let Some(scheduler) = scheduler
                && let Err(e) = scheduler.unschedule(id).await
            {
                tracing::warn!(error = %e, scheduled_id = %id, "could not delete a cancelled post's schedule");
            }
            Ok(())
        }
        Written::Stale => match mine(store, user, id).await?.state {
            ScheduleState::Canceled => Ok(()),
            _ => Err(ServiceError::NotCancelable),
        },
    }
}

/// Cancels every waiting scheduled post of the account, for `reason` (`account_disconnected`,
/// `account_revoked`); returns how many. The posts are found by the account in a keys-only index
/// (one small query, not the app user's whole listing). Their schedules fire later into
/// cancelled posts and do nothing, so no scheduler permission is needed here.
pub async fn cancel_for_account<S: ScheduleStore>(
    store: &S,
    events: &impl EventSink,
    app_user: &str,
    open_id: &OpenId,
    reason: &str,
    now: i64,
) -> Result<usize, ServiceError> {
    let mut canceled = Vec::new();
    for id in store.waiting_posts(app_user, open_id).await? {
        // Refused when it is firing right now: that delivery finds the account gone.
        if store.cancel_scheduled(&id, reason, now).await? == Written::Yes {
            canceled.push(canceled_event(app_user, open_id, &id, reason, now));
        }
    }
    let count = canceled.len();
    if count > 0 {
        tracing::info!(open_id = %open_id, canceled = count, reason, "scheduled posts cancelled with their account");
    }
    announce(events, canceled).await;
    Ok(count)
}

/// `200` body of `GET /tiktok/publish`.
#[derive(Debug, Serialize)]
pub struct PostList {
    /// Newest first (by when each was started or scheduled).
    pub posts: Vec<PublishView>,
    /// Pass as `cursor` for the next page; absent on the last page. A page may hold fewer than
    /// `PAGE_SIZE` posts (even none) and still have a next one when a filter is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `<listed_at>.<id>`: where the next page starts. Readable rather than encoded: base64 of a
/// Unix time can share 8 characters with an app JWT's base64 claims, and the leak scans would
/// rightly not tell them apart.
fn encode_cursor(position: &ListPosition) -> String {
    format!("{}.{}", position.listed_at, position.id)
}

fn decode_cursor(cursor: &str) -> Result<ListPosition, ServiceError> {
    let bad =
        || ServiceError::InvalidRequest("cursor must be a next_cursor from this route".into());
    let (at, id) = cursor.split_once('.').ok_or_else(bad)?;
    let listed_at = at.parse().map_err(|_| bad())?;
    let id = parse_publish_id(id).map_err(|_| bad())?;
    Ok(ListPosition {
        listed_at,
        id: id.into(),
    })
}

/// `GET /tiktok/publish?status=scheduled|all[&open_id=][&cursor=]`: the app user's posts, newest
/// first, from what is stored (no TikTok call; `GET /tiktok/publish/{publish_id}` fetches one).
pub async fn list<S: ScheduleStore>(
    store: &S,
    user: &AppUser,
    query: &Query,
) -> Result<PostList, ServiceError> {
    query
        .only(&["status", "open_id", "cursor"])
        .map_err(ServiceError::InvalidRequest)?;
    let scheduled_only = match query.get("status") {
        None | Some("all") => false,
        Some("scheduled") => true,
        Some(_) => {
            return Err(ServiceError::InvalidRequest(
                "status must be scheduled or all".into(),
            ));
        }
    };
    let open_id = query
        .get("open_id")
        .map(crate::accounts::parse_open_id)
        .transpose()?;
    let after = query.get("cursor").map(decode_cursor).transpose()?;
    let filter = ListFilter {
        scheduled_only,
        open_id,
    };
    let page = store
        .list_posts(user.as_str(), &filter, after.as_ref(), PAGE_SIZE)
        .await?;
    Ok(PostList {
        posts: page
            .posts
            .into_iter()
            .map(|entry| match entry {
                ListedPost::Started(record) => PublishView::of(record, "stored"),
                ListedPost::Scheduled(post) => view_of(post),
            })
            .collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000;

    #[test]
    fn publish_at_must_be_two_minutes_to_thirty_days_ahead() {
        assert!(check_publish_at(NOW + 120, NOW).is_ok());
        assert!(check_publish_at(NOW + 30 * 86_400, NOW).is_ok());
        for bad in [
            NOW - 1,
            NOW,
            NOW + 119,
            NOW + 30 * 86_400 + 1,
            i64::MIN,
            i64::MAX,
        ] {
            assert!(
                matches!(
                    check_publish_at(bad, NOW),
                    Err(ServiceError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let position = ListPosition {
            listed_at: NOW,
            id: "v_pub_url~v2.123".into(),
        };
        assert_eq!(
            decode_cursor(&encode_cursor(&position)).expect("own"),
            position
        );
        for bad in ["", "!!", "x.y", "1796000000", "1796000000.", "1.a b"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
