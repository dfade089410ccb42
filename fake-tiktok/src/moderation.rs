//! TikTok's moderation of public posts, and what a public post is afterwards: one of its user's
//! videos.
//!
//! A Direct Post that will be public (`PUBLIC_TO_EVERYONE` from an audited client) has its
//! `post_id` reserved at init, but "developers are not provided with the post_id until [the
//! moderation] process is complete" (TikTok, "Get Post Status"). So the post is
//! [`Visibility::InModeration`] from init until [`crate::FakeConfig::moderation_secs`] of
//! fake-clock time after it completed; then, at the next sweep (the ticker, a clock move or a
//! request), it becomes [`Visibility::Public`]: status fetch lists its id,
//! `post.publish.publicly_available` goes out and a [`FakeVideo`] joins the user's videos (video
//! list and query). A take-down ([`Store::take_down`]) makes it [`Visibility::TakenDown`]: the
//! id leaves status fetch, the video leaves the user's list and
//! `post.publish.no_longer_publicaly_available` (TikTok's spelling) goes out. A scripted failure
//! of a public post withdraws the video as well, without that event.

use serde_json::json;

use crate::config::FakeVideo;
use crate::publish::{Publish, Source};
use crate::state::Store;

/// Seconds of made-up duration of a published video: the fake never sees the file.
const PUBLISHED_VIDEO_DURATION: i32 = 15;
/// The video object's `title` and `video_description` hold at most 150 characters (TikTok's
/// video object reference); a longer post title is cut there.
const VIDEO_TEXT_MAX: usize = 150;

/// Whether a publish is, was or will be publicly available, with its post id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// Never public: inbox shares, private privacy levels, unaudited clients.
    NotPublic,
    /// Will be public once processed and moderated.
    InModeration(u64),
    /// Publicly available: the id is given out and the post is one of the user's videos.
    Public(u64),
    /// Was public, then taken down (or failed by a script).
    TakenDown(u64),
}

impl Visibility {
    /// The id `publicaly_available_post_id` lists (once the post is also `PUBLISH_COMPLETE`).
    pub(crate) fn public_post_id(self) -> Option<u64> {
        match self {
            Visibility::Public(id) => Some(id),
            _ => None,
        }
    }
}

/// A change to a user's public videos, applied by the store after a sweep.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VideoChange {
    Add { open_id: String, video: FakeVideo },
    Remove { open_id: String, video_id: String },
}

impl Publish {
    /// Ends moderation if it is over at `now` (the post completed `moderation_secs` ago or
    /// more): the post becomes public; returns its post id and video. `None` otherwise.
    pub(crate) fn finish_moderation(
        &mut self,
        now: i64,
        processing_secs: i64,
        moderation_secs: i64,
    ) -> Option<(u64, FakeVideo)> {
        let Visibility::InModeration(post_id) = self.visibility else {
            return None;
        };
        let completed = self.completed_at(processing_secs)?;
        if now < completed.saturating_add(moderation_secs.max(0)) {
            return None;
        }
        self.visibility = Visibility::Public(post_id);
        Some((post_id, self.as_video(post_id, completed)))
    }

    /// Still waiting for moderation to end.
    pub(crate) fn in_moderation(&self) -> bool {
        matches!(self.visibility, Visibility::InModeration(_))
    }

    /// No longer public; the post id if it was.
    pub(crate) fn withdraw(&mut self) -> Option<u64> {
        let Visibility::Public(post_id) = self.visibility else {
            return None;
        };
        self.visibility = Visibility::TakenDown(post_id);
        Some(post_id)
    }

    /// The post as the Display API shows it: title and description from `post_info` (a video
    /// post's title is its caption, so it is both), `is_aigc` from `post_info` (videos only),
    /// no views or likes yet.
    fn as_video(&self, post_id: u64, create_time: i64) -> FakeVideo {
        let text = |name: &str| -> String {
            self.post_info[name]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(VIDEO_TEXT_MAX)
                .collect()
        };
        let title = text("title");
        let (video_description, duration, is_aigc) = match self.source {
            Source::Photos { .. } => (text("description"), 0, false),
            Source::File { .. } | Source::Url { .. } => (
                title.clone(),
                PUBLISHED_VIDEO_DURATION,
                self.post_info["is_aigc"].as_bool().unwrap_or(false),
            ),
        };
        FakeVideo {
            id: post_id.to_string(),
            title,
            video_description,
            create_time,
            duration,
            width: 1080,
            height: 1920,
            like_count: 0,
            comment_count: 0,
            share_count: 0,
            view_count: 0,
            is_aigc,
        }
    }
}

/// Why [`Store::take_down`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakeDownError {
    /// No such publish.
    Unknown,
    /// Not publicly available (never public, still in moderation, or already taken down).
    NotPublic,
}

impl Store {
    /// Moves every publish along the fake clock: applies moderation's changes to the users'
    /// videos and sends the new webhook events.
    pub(crate) fn sweep_publishes(&mut self) {
        let now = self.clock.now();
        let swept = self.publishes.sweep(
            now,
            self.config.processing_secs,
            self.config.moderation_secs,
        );
        for change in swept.videos {
            self.apply_video_change(change);
        }
        for e in swept.events {
            self.emit_webhook(e.event, &e.open_id, &e.content);
        }
    }

    /// As if TikTok took a public post down: it leaves the user's videos and status fetch, and
    /// `post.publish.no_longer_publicaly_available` goes out.
    pub(crate) fn take_down(&mut self, publish_id: &str) -> Result<(), TakeDownError> {
        // A post whose moderation just ended becomes public first.
        self.sweep_publishes();
        let publish = self
            .publishes
            .get_mut(publish_id)
            .ok_or(TakeDownError::Unknown)?;
        let post_id = publish.withdraw().ok_or(TakeDownError::NotPublic)?;
        let open_id = publish.open_id.clone();
        let content = json!({
            "publish_id": publish.id,
            "post_id": post_id,
            "publish_type": publish.kind.as_str(),
        });
        self.apply_video_change(VideoChange::Remove {
            open_id: open_id.clone(),
            video_id: post_id.to_string(),
        });
        self.emit_webhook(
            "post.publish.no_longer_publicaly_available",
            &open_id,
            &content,
        );
        Ok(())
    }

    /// Adds or removes a public video, keeping the list newest first and `video_count` in step.
    fn apply_video_change(&mut self, change: VideoChange) {
        match change {
            VideoChange::Add { open_id, video } => {
                if let Some(user) = self.user_mut(&open_id) {
                    let at = user
                        .videos
                        .iter()
                        .position(|v| v.create_time <= video.create_time)
                        .unwrap_or(user.videos.len());
                    user.videos.insert(at, video);
                    user.video_count = user.video_count.saturating_add(1);
                }
            }
            VideoChange::Remove { open_id, video_id } => {
                if let Some(user) = self.user_mut(&open_id) {
                    let before = user.videos.len();
                    user.videos.retain(|v| v.id != video_id);
                    if user.videos.len() < before {
                        user.video_count = user.video_count.saturating_sub(1);
                    }
                }
            }
        }
    }
}
