//! TikTok's Content Posting API (docs/tiktok.md#content-posting): creator info, video init
//! (Direct Post and upload to inbox, from a URL or by chunked upload) and status fetch. Types and
//! pure parsers; the HTTP calls live with the other calls in `http.rs`.

use serde::{Deserialize, Serialize};

use super::TikTokError;
use super::wire::{RawAnswer, parse_envelope};

pub const CREATOR_INFO_PATH: &str = "/v2/post/publish/creator_info/query/";
pub const DIRECT_INIT_PATH: &str = "/v2/post/publish/video/init/";
pub const INBOX_INIT_PATH: &str = "/v2/post/publish/inbox/video/init/";
pub const STATUS_PATH: &str = "/v2/post/publish/status/fetch/";

/// What a creator may do, which an app must show before every post
/// (docs/tiktok.md#creator-info).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatorInfo {
    pub creator_avatar_url: Option<String>,
    pub creator_username: Option<String>,
    pub creator_nickname: Option<String>,
    #[serde(default)]
    pub privacy_level_options: Vec<String>,
    #[serde(default)]
    pub comment_disabled: bool,
    #[serde(default)]
    pub duet_disabled: bool,
    #[serde(default)]
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: Option<i64>,
}

/// Direct Post (published by the API) or upload to the creator's inbox (finished in the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostMode {
    Direct,
    Inbox,
}

impl PostMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Inbox => "inbox",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "direct" => Some(Self::Direct),
            "inbox" => Some(Self::Inbox),
            _ => None,
        }
    }
}

/// The post's settings, sent as TikTok's `post_info` (Direct Post only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub privacy_level: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_duet: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_comment: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_stitch: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_content_toggle: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_organic_toggle: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_aigc: Option<bool>,
}

/// Where TikTok gets the video: it pulls a URL, or the client PUTs the chunks of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoSource {
    Url {
        video_url: String,
    },
    Upload {
        video_size: u64,
        chunk_size: u64,
        total_chunk_count: u32,
    },
}

/// One video init call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishInit {
    pub mode: PostMode,
    pub source: VideoSource,
    /// Required for Direct Post; TikTok's inbox init takes none.
    pub post_info: Option<PostInfo>,
}

impl PublishInit {
    pub fn path(&self) -> &'static str {
        match self.mode {
            PostMode::Direct => DIRECT_INIT_PATH,
            PostMode::Inbox => INBOX_INIT_PATH,
        }
    }

    /// TikTok's JSON body.
    pub fn body(&self) -> serde_json::Value {
        let source_info = match &self.source {
            VideoSource::Url { video_url } => {
                serde_json::json!({ "source": "PULL_FROM_URL", "video_url": video_url })
            }
            VideoSource::Upload {
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
    pub publish_id: String,
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
    ProcessingUpload,
    ProcessingDownload,
    SendToUserInbox,
    PublishComplete,
    Failed,
}

impl PublishState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProcessingUpload => "PROCESSING_UPLOAD",
            Self::ProcessingDownload => "PROCESSING_DOWNLOAD",
            Self::SendToUserInbox => "SEND_TO_USER_INBOX",
            Self::PublishComplete => "PUBLISH_COMPLETE",
            Self::Failed => "FAILED",
        }
    }

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
    pub state: PublishState,
    pub fail_reason: Option<String>,
    pub post_ids: Vec<String>,
    pub uploaded_bytes: Option<i64>,
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

pub fn parse_creator_info_answer(answer: &RawAnswer) -> Result<CreatorInfo, TikTokError> {
    parse_envelope::<CreatorInfo>(answer)
}

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
            source: VideoSource::Upload {
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
}
