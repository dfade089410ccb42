//! Content Posting state, independent of HTTP: chunk plans, publishes (videos and photos), their
//! uploads, the status each one has at a given fake-clock time, and the webhook events status
//! changes produce.
//!
//! Statuses are computed lazily from the fake clock (`created_at`, `completed_at`,
//! `processing_secs`), so moving the clock moves publishes along. [`Publishes::sweep`] turns new
//! final states into webhook events exactly once per state (and, through
//! [`crate::moderation`], public posts into videos of their user); the store calls it on a short
//! timer, after clock moves and after every request that changes a publish.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::moderation::{VideoChange, Visibility};

/// One MB as TikTok's chunk rules use it: 1024 × 1024 bytes.
pub(crate) const MB: u64 = 1024 * 1024;
/// Smallest chunk (and the size under which a video is sent whole).
pub(crate) const MIN_CHUNK: u64 = 5 * MB;
/// Largest chunk but the last.
pub(crate) const MAX_CHUNK: u64 = 64 * MB;
/// Largest last chunk (it absorbs the trailing bytes).
pub(crate) const MAX_LAST_CHUNK: u64 = 128 * MB;
/// Largest video: 4 GB.
pub(crate) const MAX_VIDEO: u64 = 4 * 1024 * MB;
/// Most chunks per upload.
pub(crate) const MAX_CHUNKS: u64 = 1000;
/// How long an `upload_url` works, in fake-clock seconds.
pub(crate) const UPLOAD_URL_TTL: i64 = 3_600;
/// What `downloaded_bytes` reports once a `PULL_FROM_URL` download is over (the fake never
/// fetches the URL, so the size is made up).
pub(crate) const PULLED_VIDEO_BYTES: u64 = 12 * MB;
/// Pending inbox shares a user may have within 24 h.
pub(crate) const MAX_PENDING_SHARES: usize = 5;
/// `fail_reason` of a file upload not completed while its `upload_url` worked.
pub(crate) const UPLOAD_EXPIRED_REASON: &str = "internal";
/// `fail_reason` of a photo post with an image TikTok does not take (only JPEG and WebP).
pub(crate) const PHOTO_FORMAT_REASON: &str = "file_format_check_failed";
/// Path endings (compared case-insensitively) of the photo formats TikTok accepts.
const PHOTO_EXTENSIONS: [&str; 3] = [".jpg", ".jpeg", ".webp"];

const DAY: i64 = 86_400;

/// A valid `FILE_UPLOAD` plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkPlan {
    pub(crate) video_size: u64,
    pub(crate) chunk_size: u64,
    pub(crate) total_chunk_count: u64,
}

impl ChunkPlan {
    /// Applies TikTok's chunk rules; the error is the `invalid_param` message.
    pub(crate) fn new(
        video_size: i64,
        chunk_size: i64,
        total_chunk_count: i64,
    ) -> Result<Self, String> {
        let video_size = u64::try_from(video_size)
            .ok()
            .filter(|&v| v > 0)
            .ok_or("source_info.video_size must be a positive number of bytes")?;
        if video_size > MAX_VIDEO {
            return Err(format!(
                "source_info.video_size must be at most {MAX_VIDEO} bytes (4 GB), got {video_size}"
            ));
        }
        let chunk_size = u64::try_from(chunk_size)
            .ok()
            .filter(|&c| c > 0)
            .ok_or("source_info.chunk_size must be a positive number of bytes")?;
        let total = u64::try_from(total_chunk_count)
            .ok()
            .filter(|n| (1..=MAX_CHUNKS).contains(n))
            .ok_or("source_info.total_chunk_count must be between 1 and 1000")?;
        if video_size < MIN_CHUNK {
            if chunk_size != video_size {
                return Err(format!(
                    "a video under {MIN_CHUNK} bytes (5 MB) is uploaded in one chunk: \
                     source_info.chunk_size must equal video_size ({video_size}), got {chunk_size}"
                ));
            }
            if total != 1 {
                return Err(format!(
                    "a video under {MIN_CHUNK} bytes (5 MB) is uploaded in one chunk: \
                     source_info.total_chunk_count must be 1, got {total}"
                ));
            }
        } else {
            if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk_size) {
                return Err(format!(
                    "source_info.chunk_size must be between {MIN_CHUNK} (5 MB) and {MAX_CHUNK} \
                     (64 MB) bytes, got {chunk_size}"
                ));
            }
            if chunk_size > video_size {
                return Err(format!(
                    "source_info.chunk_size ({chunk_size}) must not exceed video_size ({video_size})"
                ));
            }
            let expected = video_size / chunk_size;
            if total != expected {
                return Err(format!(
                    "source_info.total_chunk_count must be floor(video_size / chunk_size) = \
                     {expected}, got {total}"
                ));
            }
            if video_size > MAX_CHUNK && total < 2 {
                return Err(format!(
                    "a video over {MAX_CHUNK} bytes (64 MB) must be uploaded in at least 2 chunks: \
                     use a smaller source_info.chunk_size"
                ));
            }
        }
        let plan = ChunkPlan {
            video_size,
            chunk_size,
            total_chunk_count: total,
        };
        let last = plan.range(total - 1).1 - plan.range(total - 1).0 + 1;
        if last > MAX_LAST_CHUNK {
            return Err(format!(
                "the last chunk would be {last} bytes, more than {MAX_LAST_CHUNK} (128 MB)"
            ));
        }
        Ok(plan)
    }

    /// Byte range `(first, last)` (inclusive) of chunk `index`; the last chunk runs to the end.
    pub(crate) fn range(&self, index: u64) -> (u64, u64) {
        let first = index * self.chunk_size;
        let last = if index + 1 >= self.total_chunk_count {
            self.video_size - 1
        } else {
            first + self.chunk_size - 1
        };
        (first, last)
    }
}

/// Direct Post or Upload to inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublishType {
    /// `POST /v2/post/publish/video/init/`, or `POST /v2/post/publish/content/init/` with
    /// `post_mode` `DIRECT_POST`.
    DirectPublish,
    /// `POST /v2/post/publish/inbox/video/init/`, or `POST /v2/post/publish/content/init/` with
    /// `post_mode` `MEDIA_UPLOAD`.
    InboxShare,
}

impl PublishType {
    /// The wire name used in webhooks: `DIRECT_PUBLISH` or `INBOX_SHARE`.
    pub fn as_str(self) -> &'static str {
        match self {
            PublishType::DirectPublish => "DIRECT_PUBLISH",
            PublishType::InboxShare => "INBOX_SHARE",
        }
    }
}

/// A publish as tests see it ([`crate::FakeTikTok::publishes`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FakePublish {
    pub publish_id: String,
    pub open_id: String,
    pub publish_type: PublishType,
    /// `VIDEO` (the video inits) or `PHOTO` (the content init).
    pub media_type: String,
    /// `FILE_UPLOAD` or `PULL_FROM_URL` (always, for photos).
    pub source: String,
    /// The `post_info` object as the client sent it (`Null` for video inbox shares).
    pub post_info: Value,
    /// The privacy the post got: the requested one, `SELF_ONLY` for an unaudited client, `None`
    /// for inbox shares.
    pub privacy_level: Option<String>,
    /// The status `status/fetch` would answer now, e.g. `PROCESSING_UPLOAD`.
    pub status: String,
    pub fail_reason: Option<String>,
    /// `FILE_UPLOAD`: the announced size and the bytes received so far.
    pub video_size: Option<u64>,
    pub uploaded_bytes: u64,
    /// `PULL_FROM_URL` videos: the URL.
    pub video_url: Option<String>,
    /// Photos: the image URLs, in order (empty for videos).
    pub photo_images: Vec<String>,
    /// Photos: the 0-based index of the cover image.
    pub photo_cover_index: Option<usize>,
    /// The public post id while the post is publicly available (after moderation, before a
    /// take-down), as `publicaly_available_post_id` would list it.
    pub post_id: Option<u64>,
    /// Fake-clock Unix seconds of the init.
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) enum Source {
    File {
        plan: ChunkPlan,
        upload_id: String,
        upload_token: String,
        expires_at: i64,
        uploaded: u64,
        completed_at: Option<i64>,
    },
    Url {
        video_url: String,
    },
    /// A photo post (`PULL_FROM_URL`, the only source for photos).
    Photos {
        images: Vec<String>,
        cover_index: usize,
    },
}

impl Source {
    /// `source_info.source`.
    fn name(&self) -> &'static str {
        match self {
            Source::File { .. } => "FILE_UPLOAD",
            Source::Url { .. } | Source::Photos { .. } => "PULL_FROM_URL",
        }
    }
}

/// Whether TikTok takes this image: its path ends in `.jpg`, `.jpeg` or `.webp`, any case (PNG
/// and the rest are refused when processed, not at init).
pub(crate) fn photo_format_ok(image_url: &str) -> bool {
    url::Url::parse(image_url).is_ok_and(|u| {
        let path = u.path().to_ascii_lowercase();
        PHOTO_EXTENSIONS.iter().any(|ext| path.ends_with(ext))
    })
}

/// What a test scripted (or a cancel did) to a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Failed(String),
    /// The user posted the inbox share from TikTok.
    Posted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    ProcessingUpload,
    ProcessingDownload,
    SendToUserInbox,
    PublishComplete,
    Failed(String),
}

impl Status {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Status::ProcessingUpload => "PROCESSING_UPLOAD",
            Status::ProcessingDownload => "PROCESSING_DOWNLOAD",
            Status::SendToUserInbox => "SEND_TO_USER_INBOX",
            Status::PublishComplete => "PUBLISH_COMPLETE",
            Status::Failed(_) => "FAILED",
        }
    }

    /// Nothing more will happen on TikTok's side (cancel refused).
    pub(crate) fn is_final(&self) -> bool {
        matches!(
            self,
            Status::SendToUserInbox | Status::PublishComplete | Status::Failed(_)
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Publish {
    pub(crate) id: String,
    pub(crate) open_id: String,
    pub(crate) kind: PublishType,
    pub(crate) source: Source,
    pub(crate) post_info: Value,
    pub(crate) privacy_level: Option<String>,
    pub(crate) created_at: i64,
    /// Whether the post is (or will be, after moderation) publicly available, with its post id.
    pub(crate) visibility: Visibility,
    pub(crate) outcome: Option<Outcome>,
    /// Webhook events already emitted for this publish.
    emitted: Vec<&'static str>,
    /// No event can follow any more (until a script changes the outcome).
    settled: bool,
}

impl Publish {
    pub(crate) fn status(&self, now: i64, processing_secs: i64) -> Status {
        match &self.outcome {
            Some(Outcome::Failed(reason)) => return Status::Failed(reason.clone()),
            Some(Outcome::Posted) => return Status::PublishComplete,
            None => {}
        }
        let processed = match &self.source {
            Source::File {
                completed_at: None,
                expires_at,
                ..
            } => {
                if now >= *expires_at {
                    return Status::Failed(UPLOAD_EXPIRED_REASON.to_owned());
                }
                return Status::ProcessingUpload;
            }
            Source::File {
                completed_at: Some(done),
                ..
            } => {
                if now < done.saturating_add(processing_secs) {
                    return Status::ProcessingUpload;
                }
                true
            }
            Source::Url { .. } => now >= self.created_at.saturating_add(processing_secs),
            Source::Photos { images, .. } => {
                let processed = now >= self.created_at.saturating_add(processing_secs);
                if processed && !images.iter().all(|i| photo_format_ok(i)) {
                    return Status::Failed(PHOTO_FORMAT_REASON.to_owned());
                }
                processed
            }
        };
        match (processed, self.kind) {
            (false, _) => Status::ProcessingDownload,
            (true, PublishType::DirectPublish) => Status::PublishComplete,
            (true, PublishType::InboxShare) => Status::SendToUserInbox,
        }
    }

    /// The `data` of `status/fetch`.
    pub(crate) fn status_json(&self, now: i64, processing_secs: i64) -> Value {
        let status = self.status(now, processing_secs);
        let mut data = json!({ "status": status.as_str() });
        if let Status::Failed(reason) = &status {
            data["fail_reason"] = json!(reason);
        }
        let public: Vec<u64> = match &status {
            Status::PublishComplete => self.visibility.public_post_id().into_iter().collect(),
            _ => Vec::new(),
        };
        data["publicaly_available_post_id"] = json!(public);
        match &self.source {
            Source::File { uploaded, .. } => data["uploaded_bytes"] = json!(uploaded),
            Source::Url { .. } | Source::Photos { .. } => {
                let downloaded = match status {
                    Status::ProcessingDownload => 0,
                    Status::Failed(_) if self.outcome.is_some() => 0,
                    _ => PULLED_VIDEO_BYTES,
                };
                data["downloaded_bytes"] = json!(downloaded);
            }
        }
        data
    }

    /// When the post reached `PUBLISH_COMPLETE` through processing; `None` before, for inbox
    /// shares the user posted (their time is not kept) and while an upload is missing.
    pub(crate) fn completed_at(&self, processing_secs: i64) -> Option<i64> {
        let processed_from = match &self.source {
            Source::File { completed_at, .. } => (*completed_at)?,
            Source::Url { .. } | Source::Photos { .. } => self.created_at,
        };
        (self.outcome.is_none() && self.kind == PublishType::DirectPublish)
            .then(|| processed_from.saturating_add(processing_secs))
    }

    pub(crate) fn view(&self, now: i64, processing_secs: i64) -> FakePublish {
        let status = self.status(now, processing_secs);
        let (video_size, uploaded_bytes, video_url) = match &self.source {
            Source::File { plan, uploaded, .. } => (Some(plan.video_size), *uploaded, None),
            Source::Url { video_url } => (None, 0, Some(video_url.clone())),
            Source::Photos { .. } => (None, 0, None),
        };
        let (media_type, photo_images, photo_cover_index) = match &self.source {
            Source::Photos {
                images,
                cover_index,
            } => ("PHOTO", images.clone(), Some(*cover_index)),
            _ => ("VIDEO", Vec::new(), None),
        };
        FakePublish {
            publish_id: self.id.clone(),
            open_id: self.open_id.clone(),
            publish_type: self.kind,
            media_type: media_type.to_owned(),
            source: self.source.name().to_owned(),
            post_info: self.post_info.clone(),
            privacy_level: self.privacy_level.clone(),
            status: status.as_str().to_owned(),
            fail_reason: match status {
                Status::Failed(reason) => Some(reason),
                _ => None,
            },
            video_size,
            uploaded_bytes,
            video_url,
            photo_images,
            photo_cover_index,
            post_id: self.visibility.public_post_id(),
            created_at: self.created_at,
        }
    }

    /// Changes the scripted outcome; events for the new state follow at the next sweep.
    pub(crate) fn set_outcome(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
        self.settled = false;
    }
}

/// How the media of a new publish reaches TikTok.
pub(crate) enum NewSource {
    /// `FILE_UPLOAD` of a video with this plan.
    File(ChunkPlan),
    /// `PULL_FROM_URL` of a video.
    Url(String),
    /// `PULL_FROM_URL` of photos, with the cover's index.
    Photos {
        images: Vec<String>,
        cover_index: usize,
    },
}

/// What a new publish is made of (everything but the ids).
pub(crate) struct NewPublish {
    pub(crate) open_id: String,
    pub(crate) kind: PublishType,
    pub(crate) source: NewSource,
    pub(crate) post_info: Value,
    pub(crate) privacy_level: Option<String>,
    /// Reserved at init for a Direct Post that will be public; given out after moderation.
    pub(crate) public_post_id: Option<u64>,
}

/// TikTok's `publish_id` prefix: media, destination and transfer.
fn id_prefix(kind: PublishType, source: &NewSource) -> &'static str {
    let inbox = kind == PublishType::InboxShare;
    match (source, inbox) {
        (NewSource::File(_), false) => "v_pub_file~v2-1",
        (NewSource::Url(_), false) => "v_pub_url~v2",
        (NewSource::Photos { .. }, false) => "p_pub_url~v2",
        (NewSource::File(_), true) => "v_inbox_file~v2",
        (NewSource::Url(_), true) => "v_inbox_url~v2",
        (NewSource::Photos { .. }, true) => "p_inbox_url~v2",
    }
}

/// What a [`Publishes::sweep`] found: webhook events to send and video lists to change.
#[derive(Debug, Default)]
pub(crate) struct Swept {
    pub(crate) events: Vec<PublishEvent>,
    pub(crate) videos: Vec<VideoChange>,
}

/// A webhook event a publish produced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PublishEvent {
    pub(crate) event: &'static str,
    pub(crate) open_id: String,
    pub(crate) content: Value,
}

#[derive(Debug, Default)]
pub(crate) struct Publishes {
    by_id: HashMap<String, Publish>,
    /// Publish ids in creation order.
    order: Vec<String>,
    /// `upload_id` → `publish_id`.
    by_upload: HashMap<String, String>,
    /// Publishes created per user, ever.
    created: HashMap<String, usize>,
}

impl Publishes {
    /// Records a publish; returns it (with its ids and, for files, the upload id and token).
    pub(crate) fn create(&mut self, now: i64, new: NewPublish) -> &Publish {
        let prefix = id_prefix(new.kind, &new.source);
        let mut id = crate::ids::publish_id(prefix);
        while self.by_id.contains_key(&id) {
            id = crate::ids::publish_id(prefix);
        }
        let source = match new.source {
            NewSource::File(plan) => {
                let upload_id = crate::ids::digits19();
                self.by_upload.insert(upload_id.clone(), id.clone());
                Source::File {
                    plan,
                    upload_id,
                    upload_token: crate::ids::upload_token(),
                    expires_at: now.saturating_add(UPLOAD_URL_TTL),
                    uploaded: 0,
                    completed_at: None,
                }
            }
            NewSource::Url(video_url) => Source::Url { video_url },
            NewSource::Photos {
                images,
                cover_index,
            } => Source::Photos {
                images,
                cover_index,
            },
        };
        *self.created.entry(new.open_id.clone()).or_insert(0) += 1;
        self.order.push(id.clone());
        self.by_id.entry(id.clone()).or_insert(Publish {
            id,
            open_id: new.open_id,
            kind: new.kind,
            source,
            post_info: new.post_info,
            privacy_level: new.privacy_level,
            created_at: now,
            visibility: new
                .public_post_id
                .map_or(Visibility::NotPublic, Visibility::InModeration),
            outcome: None,
            emitted: Vec::new(),
            settled: false,
        })
    }

    pub(crate) fn get(&self, publish_id: &str) -> Option<&Publish> {
        self.by_id.get(publish_id)
    }

    pub(crate) fn get_mut(&mut self, publish_id: &str) -> Option<&mut Publish> {
        self.by_id.get_mut(publish_id)
    }

    pub(crate) fn by_upload_mut(&mut self, upload_id: &str) -> Option<&mut Publish> {
        let id = self.by_upload.get(upload_id)?;
        self.by_id.get_mut(id)
    }

    pub(crate) fn created_by(&self, open_id: &str) -> usize {
        self.created.get(open_id).copied().unwrap_or(0)
    }

    /// The user's publishes, oldest first.
    pub(crate) fn of_user<'a>(&'a self, open_id: &'a str) -> impl Iterator<Item = &'a Publish> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .filter(move |p| p.open_id == open_id)
    }

    fn recent(&self, now: i64) -> impl Iterator<Item = &Publish> {
        self.by_id
            .values()
            .filter(move |p| p.created_at > now.saturating_sub(DAY))
    }

    /// Direct Posts the user created in the last 24 h.
    pub(crate) fn direct_posts_today(&self, now: i64, open_id: &str) -> usize {
        self.recent(now)
            .filter(|p| p.open_id == open_id && p.kind == PublishType::DirectPublish)
            .count()
    }

    /// Users with a Direct Post in the last 24 h.
    pub(crate) fn active_posters(&self, now: i64) -> HashSet<&str> {
        self.recent(now)
            .filter(|p| p.kind == PublishType::DirectPublish)
            .map(|p| p.open_id.as_str())
            .collect()
    }

    /// The user's inbox shares of the last 24 h not yet posted by the user (failed or
    /// cancelled ones are not pending).
    pub(crate) fn pending_shares(&self, now: i64, processing_secs: i64, open_id: &str) -> usize {
        self.recent(now)
            .filter(|p| p.open_id == open_id && p.kind == PublishType::InboxShare)
            .filter(|p| {
                !matches!(
                    p.status(now, processing_secs),
                    Status::PublishComplete | Status::Failed(_)
                )
            })
            .count()
    }

    /// New webhook events of every publish whose status moved since the last sweep.
    /// New webhook events of every publish whose status moved since the last sweep, and the
    /// changes to users' public videos that moderation and failures made.
    pub(crate) fn sweep(&mut self, now: i64, processing_secs: i64, moderation_secs: i64) -> Swept {
        let mut events = Vec::new();
        let mut videos = Vec::new();
        for id in &self.order {
            let Some(p) = self.by_id.get_mut(id) else {
                continue;
            };
            if p.settled {
                continue;
            }
            let status = p.status(now, processing_secs);
            let publish_type = p.kind.as_str();
            let mut wanted: Vec<(&'static str, Value)> = Vec::new();
            match &status {
                Status::ProcessingUpload | Status::ProcessingDownload => {}
                Status::SendToUserInbox => wanted.push((
                    "post.publish.inbox_delivered",
                    json!({ "publish_id": p.id, "publish_type": publish_type }),
                )),
                Status::PublishComplete => {
                    if p.kind == PublishType::InboxShare {
                        wanted.push((
                            "post.publish.inbox_delivered",
                            json!({ "publish_id": p.id, "publish_type": publish_type }),
                        ));
                    }
                    wanted.push((
                        "post.publish.complete",
                        json!({ "publish_id": p.id, "publish_type": publish_type }),
                    ));
                    if let Some((post_id, video)) =
                        p.finish_moderation(now, processing_secs, moderation_secs)
                    {
                        wanted.push((
                            "post.publish.publicly_available",
                            json!({
                                "publish_id": p.id,
                                "post_id": post_id,
                                "publish_type": publish_type,
                            }),
                        ));
                        videos.push(VideoChange::Add {
                            open_id: p.open_id.clone(),
                            video,
                        });
                    }
                    // A post in moderation has an event to come.
                    p.settled = !p.in_moderation();
                }
                Status::Failed(reason) => {
                    wanted.push((
                        "post.publish.failed",
                        json!({
                            "publish_id": p.id,
                            "reason": reason,
                            "publish_type": publish_type,
                        }),
                    ));
                    if let Some(post_id) = p.withdraw() {
                        videos.push(VideoChange::Remove {
                            open_id: p.open_id.clone(),
                            video_id: post_id.to_string(),
                        });
                    }
                    p.settled = true;
                }
            }
            for (event, content) in wanted {
                if !p.emitted.contains(&event) {
                    p.emitted.push(event);
                    events.push(PublishEvent {
                        event,
                        open_id: p.open_id.clone(),
                        content,
                    });
                }
            }
        }
        Swept { events, videos }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(v: u64, c: u64, n: u64) -> Result<ChunkPlan, String> {
        let i = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        ChunkPlan::new(i(v), i(c), i(n))
    }

    #[test]
    fn chunk_rules() {
        // TikTok's example: 50,000,123 bytes in 10,000,000-byte chunks → 5, the last 10,000,123.
        let p = plan(50_000_123, 10_000_000, 5).expect("docs example");
        assert_eq!(p.range(4), (40_000_000, 50_000_122));
        assert_eq!(p.range(0), (0, 9_999_999));
        assert!(plan(12 * MB, 5 * MB, 2).is_ok());
        assert!(plan(1_000, 1_000, 1).is_ok(), "small file in one chunk");
        assert!(plan(5 * MB, 5 * MB, 1).is_ok());
        assert!(plan(64 * MB, 64 * MB, 1).is_ok());
        assert!(plan(MAX_VIDEO, 64 * MB, 64).is_ok());

        assert!(plan(0, 1, 1).is_err());
        assert!(plan(MAX_VIDEO + 1, 64 * MB, 64).is_err());
        assert!(plan(1_000, 500, 2).is_err(), "small file split");
        assert!(plan(1_000, 1_000, 2).is_err());
        assert!(plan(20 * MB, 4 * MB, 5).is_err(), "chunk under 5 MB");
        assert!(plan(200 * MB, 65 * MB, 3).is_err(), "chunk over 64 MB");
        assert!(plan(12 * MB, 5 * MB, 3).is_err(), "ceil instead of floor");
        assert!(plan(12 * MB, 13 * MB, 0).is_err());
        assert!(
            plan(100 * MB, 64 * MB, 1).is_err(),
            "over 64 MB in one chunk"
        );
        assert!(plan(12 * MB, 5 * MB, 1001).is_err());
    }

    #[test]
    fn statuses_follow_the_clock() {
        let mut all = Publishes::default();
        let direct = all
            .create(
                1_000,
                NewPublish {
                    open_id: "u".into(),
                    kind: PublishType::DirectPublish,
                    source: NewSource::Url("https://media.example.com/a.mp4".into()),
                    post_info: json!({ "title": "a #cat", "is_aigc": true }),
                    privacy_level: Some("PUBLIC_TO_EVERYONE".into()),
                    public_post_id: Some(7_312_345_678_901_234_567),
                },
            )
            .id
            .clone();
        let events = |swept: Swept| -> Vec<&str> { swept.events.iter().map(|e| e.event).collect() };
        assert!(events(all.sweep(1_004, 5, 20)).is_empty());
        let p = all.get(&direct).expect("publish");
        assert_eq!(p.status(1_004, 5), Status::ProcessingDownload);
        assert_eq!(p.status(1_005, 5), Status::PublishComplete);
        let swept = all.sweep(1_005, 5, 20);
        assert!(swept.videos.is_empty(), "in moderation");
        assert_eq!(events(swept), ["post.publish.complete"]);
        assert!(events(all.sweep(1_024, 5, 20)).is_empty());
        let swept = all.sweep(1_025, 5, 20);
        assert_eq!(
            swept
                .videos
                .iter()
                .map(|c| match c {
                    VideoChange::Add { video, .. } =>
                        (video.id.as_str(), video.create_time, video.is_aigc),
                    VideoChange::Remove { video_id, .. } => (video_id.as_str(), 0, false),
                })
                .collect::<Vec<_>>(),
            [("7312345678901234567", 1_005, true)]
        );
        assert_eq!(events(swept), ["post.publish.publicly_available"]);
        assert!(
            events(all.sweep(1_100, 5, 20)).is_empty(),
            "each event once"
        );
        assert_eq!(all.created_by("u"), 1);
        assert_eq!(all.direct_posts_today(1_100, "u"), 1);
        assert_eq!(all.direct_posts_today(1_000 + DAY, "u"), 0);
    }

    #[test]
    fn photo_formats() {
        for ok in [
            "https://m.example.com/a.jpg",
            "https://m.example.com/a.JPEG?x=1.png",
            "https://m.example.com/dir.png/a.webp",
        ] {
            assert!(photo_format_ok(ok), "{ok}");
        }
        for bad in [
            "https://m.example.com/a.png",
            "https://m.example.com/a.jpg/",
            "https://m.example.com/a.gif#.jpg",
            "https://m.example.com/jpg",
            "not a url",
        ] {
            assert!(!photo_format_ok(bad), "{bad}");
        }
    }
}
