//! TikTok's Content Posting API (docs/tiktok.md#content-posting): creator info, video init
//! (Direct Post and upload to inbox, from a URL or by chunked upload) and status fetch. Types and
//! pure parsers; the HTTP calls live with the other calls in the adapter
//! (`connect_adapters::tiktok_http`).

use crate::ids::PublishId;
use serde::{Deserialize, Serialize};

use super::TikTokError;
use super::wire::{RawAnswer, parse_envelope};

/// Creator info: `POST` with an empty JSON body, 20 a minute per user token.
pub const CREATOR_INFO_PATH: &str = "/v2/post/publish/creator_info/query/";
/// Video init for Direct Post (`video.publish`), 6 a minute per user token.
pub const DIRECT_INIT_PATH: &str = "/v2/post/publish/video/init/";
/// Video init for an upload to the creator's inbox (`video.upload`), 6 a minute per user token.
pub const INBOX_INIT_PATH: &str = "/v2/post/publish/inbox/video/init/";
/// Photo init, Direct Post (`video.publish`) or to the inbox (`video.upload`), 6 a minute per
/// user token.
pub const PHOTO_INIT_PATH: &str = "/v2/post/publish/content/init/";
/// Publish status fetch, 30 a minute per user token.
pub const STATUS_PATH: &str = "/v2/post/publish/status/fetch/";

/// What a creator may do, which an app must show before every post
/// (docs/tiktok.md#creator-info).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatorInfo {
    /// The creator's avatar; TikTok's link lives about 2 hours.
    pub creator_avatar_url: Option<String>,
    /// The creator's `@` handle.
    pub creator_username: Option<String>,
    /// The creator's display name.
    pub creator_nickname: Option<String>,
    /// The `privacy_level` values this creator may post with; `PostInfo::privacy_level` must be one
    /// of them.
    #[serde(default)]
    pub privacy_level_options: Vec<String>,
    /// The creator turned comments off: a post must not turn them on.
    #[serde(default)]
    pub comment_disabled: bool,
    /// The creator turned duets off: a post must not turn them on.
    #[serde(default)]
    pub duet_disabled: bool,
    /// The creator turned stitches off: a post must not turn them on.
    #[serde(default)]
    pub stitch_disabled: bool,
    /// The longest video this creator may post, in seconds.
    pub max_video_post_duration_sec: Option<i64>,
}

/// Direct Post (published by the API) or upload to the creator's inbox (finished in the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostMode {
    /// TikTok publishes the post itself (`video.publish`).
    Direct,
    /// The video lands in the creator's TikTok inbox, to be finished and posted there
    /// (`video.upload`).
    Inbox,
}

impl PostMode {
    /// The name in requests and records: `direct` or `inbox`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Inbox => "inbox",
        }
    }

    /// The mode named by `as_str`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "direct" => Some(Self::Direct),
            "inbox" => Some(Self::Inbox),
            _ => None,
        }
    }
}

/// The post's settings, sent as TikTok's `post_info`: a video's for Direct Post only, a photo
/// post's always (its inbox form carries only `title` and `description`). Which fields a media
/// type takes is checked where the request is parsed; absent fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostInfo {
    /// The caption: at most 2,200 UTF-16 code units for a video, 90 for a photo post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A photo post's longer text, at most 4,000 UTF-16 code units (photos only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// One of the creator's `privacy_level_options`; TikTok refuses any other. Empty for an
    /// inbox photo post (the creator chooses in TikTok), and then not sent.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub privacy_level: String,
    /// Turns duets off for this post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_duet: Option<bool>,
    /// Turns comments off for this post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_comment: Option<bool>,
    /// Turns stitches off for this post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_stitch: Option<bool>,
    /// The frame used as the cover, in milliseconds from the video's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<i32>,
    /// Marks a paid partnership with a third party (branded content cannot be private).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_content_toggle: Option<bool>,
    /// Marks a promotion of the creator's own business.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_organic_toggle: Option<bool>,
    /// Labels the video as AI-generated content (videos only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_aigc: Option<bool>,
    /// Lets TikTok add recommended music to a photo post (photos only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_add_music: Option<bool>,
}

/// Where TikTok gets the media: it pulls a video's URL, the client PUTs a video's chunks, or
/// TikTok pulls a photo post's images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    /// TikTok pulls the video from a URL (`PULL_FROM_URL`).
    Url {
        /// An https URL under a domain or prefix verified in TikTok's portal.
        video_url: String,
    },
    /// The client PUTs the file in chunks to the init's `upload_url` (`FILE_UPLOAD`).
    Upload {
        /// The whole file, in bytes.
        video_size: u64,
        /// Bytes per chunk; the last chunk also takes the remainder.
        chunk_size: u64,
        /// Chunks to upload: `floor(video_size / chunk_size)`.
        total_chunk_count: u32,
    },
    /// A photo post: TikTok pulls 1 to 35 JPEG or WebP images (`PULL_FROM_URL`, the only photo
    /// source).
    Photos {
        /// https URLs under a domain or prefix verified in TikTok's portal, in post order.
        photo_urls: Vec<String>,
        /// Which image is the cover, 0-based.
        cover_index: u32,
    },
}

impl MediaSource {
    /// `video` or `photo`: the post's media type as this service names it.
    pub fn media_type(&self) -> MediaType {
        match self {
            Self::Photos { .. } => MediaType::Photo,
            Self::Url { .. } | Self::Upload { .. } => MediaType::Video,
        }
    }
}

/// A post of one video or of photos (a carousel of 1 to 35 images).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    /// One video, by URL or upload.
    #[default]
    Video,
    /// 1 to 35 images, pulled by TikTok from URLs.
    Photo,
}

impl MediaType {
    /// The name in requests and records: `video` or `photo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Photo => "photo",
        }
    }

    /// The type named by `as_str`; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "video" => Some(Self::Video),
            "photo" => Some(Self::Photo),
            _ => None,
        }
    }
}

/// One init call: a video's or a photo post's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishInit {
    /// Direct Post or inbox upload; with the media type, picks the endpoint (`path`).
    pub mode: PostMode,
    /// Where TikTok gets the media.
    pub source: MediaSource,
    /// Required for Direct Post; TikTok's video inbox init takes none, its photo init always
    /// one (`{}` when the app sent nothing).
    pub post_info: Option<PostInfo>,
}

impl PublishInit {
    /// The init endpoint: videos have one per mode, photos one for both.
    pub fn path(&self) -> &'static str {
        match (&self.source, self.mode) {
            (MediaSource::Photos { .. }, _) => PHOTO_INIT_PATH,
            (_, PostMode::Direct) => DIRECT_INIT_PATH,
            (_, PostMode::Inbox) => INBOX_INIT_PATH,
        }
    }

    /// TikTok's JSON body.
    pub fn body(&self) -> serde_json::Value {
        let source_info = match &self.source {
            MediaSource::Url { video_url } => {
                serde_json::json!({ "source": "PULL_FROM_URL", "video_url": video_url })
            }
            MediaSource::Photos {
                photo_urls,
                cover_index,
            } => {
                return serde_json::json!({
                    "media_type": "PHOTO",
                    "post_mode": match self.mode {
                        PostMode::Direct => "DIRECT_POST",
                        PostMode::Inbox => "MEDIA_UPLOAD",
                    },
                    "post_info": serde_json::to_value(self.post_info.clone().unwrap_or_default())
                        .unwrap_or_default(),
                    "source_info": {
                        "source": "PULL_FROM_URL",
                        "photo_images": photo_urls,
                        "photo_cover_index": cover_index,
                    },
                });
            }
            MediaSource::Upload {
                video_size,
                chunk_size,
                total_chunk_count,
            } => serde_json::json!({
                "source": "FILE_UPLOAD",
                "video_size": video_size,
                "chunk_size": chunk_size,
                "total_chunk_count": total_chunk_count,
            }),
        };
        let mut body = serde_json::json!({ "source_info": source_info });
        if let (PostMode::Direct, Some(post_info)) = (self.mode, &self.post_info) {
            body["post_info"] = serde_json::to_value(post_info).unwrap_or_default();
        }
        body
    }
}

/// What a successful init returns. `upload_url` (file uploads only) is a credential for one
/// hour: whoever has it can upload this post's video. No `Debug` for that reason.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct InitAnswer {
    /// TikTok's id of the post (at most 64 characters), for status fetches and webhooks.
    pub publish_id: PublishId,
    /// Where the chunks go (file uploads only; `None` for a URL source). A credential for one hour:
    /// never log it.
    pub upload_url: Option<String>,
}

impl std::fmt::Debug for InitAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitAnswer")
            .field("publish_id", &self.publish_id)
            .field(
                "upload_url",
                &self.upload_url.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// TikTok's publish statuses (docs/tiktok.md#publish-status), ranked so a late or repeated answer
/// never moves a post back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PublishState {
    /// A file upload is in progress (`PROCESSING_UPLOAD`).
    ProcessingUpload,
    /// TikTok is pulling the URL (`PROCESSING_DOWNLOAD`).
    ProcessingDownload,
    /// Inbox upload: the creator was notified (`SEND_TO_USER_INBOX`).
    SendToUserInbox,
    /// Posted by Direct Post, or the creator posted the inbox draft (`PUBLISH_COMPLETE`).
    PublishComplete,
    /// TikTok gave up; see the `fail_reason` (`FAILED`).
    Failed,
}

impl PublishState {
    /// TikTok's name of the status, also the stored one.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProcessingUpload => "PROCESSING_UPLOAD",
            Self::ProcessingDownload => "PROCESSING_DOWNLOAD",
            Self::SendToUserInbox => "SEND_TO_USER_INBOX",
            Self::PublishComplete => "PUBLISH_COMPLETE",
            Self::Failed => "FAILED",
        }
    }

    /// The status named by TikTok's string; `None` for one this code does not know.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "PROCESSING_UPLOAD" => Self::ProcessingUpload,
            "PROCESSING_DOWNLOAD" => Self::ProcessingDownload,
            "SEND_TO_USER_INBOX" => Self::SendToUserInbox,
            "PUBLISH_COMPLETE" => Self::PublishComplete,
            "FAILED" => Self::Failed,
            _ => return None,
        })
    }

    /// Progress order: processing, then in the inbox, then done (complete or failed).
    pub fn rank(self) -> i64 {
        match self {
            Self::ProcessingUpload | Self::ProcessingDownload => 0,
            Self::SendToUserInbox => 1,
            Self::PublishComplete | Self::Failed => 2,
        }
    }

    /// No later status can follow.
    pub fn is_final(self) -> bool {
        self.rank() == 2
    }
}

/// One status fetch. Post ids are kept as decimal strings: they exceed 2^53, which JavaScript
/// numbers cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishStatus {
    /// Where the post is.
    pub state: PublishState,
    /// TikTok's `fail_reason` (with `FAILED`), at most 64 characters.
    pub fail_reason: Option<String>,
    /// Public post ids; filled only once a public post passed moderation.
    pub post_ids: Vec<String>,
    /// Bytes TikTok has received (file uploads).
    pub uploaded_bytes: Option<i64>,
    /// Bytes TikTok has pulled (URL sources).
    pub downloaded_bytes: Option<i64>,
}

#[derive(Deserialize)]
struct StatusData {
    status: String,
    #[serde(default)]
    fail_reason: Option<String>,
    /// TikTok's spelling. Numbers (u64, beyond 2^53) or strings.
    #[serde(default)]
    publicaly_available_post_id: Vec<serde_json::Value>,
    #[serde(default)]
    uploaded_bytes: Option<i64>,
    #[serde(default)]
    downloaded_bytes: Option<i64>,
}

/// A post id as TikTok sends it (a u64 number, or a string of digits), as a decimal string.
pub fn post_id_string(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Number(n) => n.as_u64().map(|v| v.to_string()),
        serde_json::Value::String(s)
            if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(s.clone())
        }
        _ => None,
    }
}

/// Classifies a creator-info answer: the creator's options only when `error.code == "ok"` (the
/// posting caps arrive as errors with HTTP 200).
pub fn parse_creator_info_answer(answer: &RawAnswer) -> Result<CreatorInfo, TikTokError> {
    parse_envelope::<CreatorInfo>(answer)
}

/// Classifies a video-init answer; a `publish_id` that is empty or longer than 64 characters is
/// `TikTokError::Unexpected`.
pub fn parse_init_answer(answer: &RawAnswer) -> Result<InitAnswer, TikTokError> {
    let init = parse_envelope::<InitAnswer>(answer)?;
    if init.publish_id.is_empty() || init.publish_id.len() > 64 {
        return Err(TikTokError::Unexpected {
            detail: "init answer has no usable publish_id",
            status: answer.status,
            log_id: None,
        });
    }
    Ok(init)
}

/// Classifies a status-fetch answer; an unknown `status` is `TikTokError::Unexpected`, and post
/// ids that are not decimal are dropped.
pub fn parse_status_answer(answer: &RawAnswer) -> Result<PublishStatus, TikTokError> {
    let data = parse_envelope::<StatusData>(answer)?;
    let state = PublishState::parse(&data.status).ok_or(TikTokError::Unexpected {
        detail: "unknown publish status",
        status: answer.status,
        log_id: None,
    })?;
    Ok(PublishStatus {
        state,
        fail_reason: data
            .fail_reason
            .filter(|r| !r.is_empty())
            .map(|r| r.chars().take(64).collect()),
        post_ids: data
            .publicaly_available_post_id
            .iter()
            .filter_map(post_id_string)
            .collect(),
        uploaded_bytes: data.uploaded_bytes,
        downloaded_bytes: data.downloaded_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> RawAnswer {
        RawAnswer::with_body(status, body)
    }

    #[test]
    fn post_ids_beyond_2_pow_53_survive_exactly() {
        let body = r#"{"data":{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7312345678901234567,"7312345678901234568",1.5,-3]},
                       "error":{"code":"ok","message":"","log_id":"L"}}"#;
        let status = parse_status_answer(&answer(200, body)).expect("status");
        assert_eq!(status.state, PublishState::PublishComplete);
        assert_eq!(
            status.post_ids,
            ["7312345678901234567", "7312345678901234568"]
        );
    }

    #[test]
    fn creator_info_caps_come_with_http_200_and_are_errors() {
        let body = r#"{"data":{},"error":{"code":"spam_risk_too_many_posts","message":"too many","log_id":"L"}}"#;
        assert!(matches!(
            parse_creator_info_answer(&answer(200, body)),
            Err(TikTokError::Api { code, .. }) if code == "spam_risk_too_many_posts"
        ));
    }

    #[test]
    fn statuses_are_ranked() {
        assert!(PublishState::ProcessingUpload.rank() < PublishState::SendToUserInbox.rank());
        assert!(PublishState::Failed.is_final() && PublishState::PublishComplete.is_final());
        assert!(!PublishState::SendToUserInbox.is_final());
        for s in [
            PublishState::ProcessingUpload,
            PublishState::ProcessingDownload,
            PublishState::SendToUserInbox,
            PublishState::PublishComplete,
            PublishState::Failed,
        ] {
            assert_eq!(PublishState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn init_bodies_follow_the_mode() {
        let inbox = PublishInit {
            mode: PostMode::Inbox,
            source: MediaSource::Upload {
                video_size: 3,
                chunk_size: 3,
                total_chunk_count: 1,
            },
            post_info: Some(PostInfo::default()),
        };
        let body = inbox.body();
        assert!(
            body.get("post_info").is_none(),
            "inbox init takes no post_info"
        );
        assert_eq!(body["source_info"]["source"], "FILE_UPLOAD");
        assert_eq!(inbox.path(), INBOX_INIT_PATH);
    }

    #[test]
    fn photo_inits_go_to_the_content_endpoint_with_tiktoks_names() {
        let photos = MediaSource::Photos {
            photo_urls: vec![
                "https://m.example/a.jpg".into(),
                "https://m.example/b.webp".into(),
            ],
            cover_index: 1,
        };
        let inbox = PublishInit {
            mode: PostMode::Inbox,
            source: photos.clone(),
            post_info: None,
        };
        assert_eq!(inbox.path(), PHOTO_INIT_PATH);
        let body = inbox.body();
        assert_eq!(body["media_type"], "PHOTO");
        assert_eq!(body["post_mode"], "MEDIA_UPLOAD");
        assert_eq!(
            body["post_info"],
            serde_json::json!({}),
            "required, even empty"
        );
        assert_eq!(body["source_info"]["photo_cover_index"], 1);
        assert_eq!(
            body["source_info"]["photo_images"][1],
            "https://m.example/b.webp"
        );
        let direct = PublishInit {
            mode: PostMode::Direct,
            source: photos,
            post_info: Some(PostInfo {
                title: Some("t".into()),
                privacy_level: "SELF_ONLY".into(),
                auto_add_music: Some(true),
                ..PostInfo::default()
            }),
        };
        let body = direct.body();
        assert_eq!(body["post_mode"], "DIRECT_POST");
        assert_eq!(
            body["post_info"],
            serde_json::json!({"title": "t", "privacy_level": "SELF_ONLY", "auto_add_music": true})
        );
        assert_eq!(direct.source.media_type(), MediaType::Photo);
    }
}
