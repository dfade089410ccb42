//! `GET /tiktok/videos`: one page of the user's public videos, TikTok's cursor passed through.

use serde::Serialize;
use tokio::time::Instant;

use crate::accounts;
use connect_domain::app_user::AppUser;
use connect_domain::error::ServiceError;
use connect_domain::ports::Ports;
use connect_domain::query::Query;
use connect_domain::refresh::TokenKeeper;
use connect_domain::scope;
use connect_domain::tiktok::{TikTokApi, Video};

/// TikTok's own default page size.
pub const DEFAULT_MAX_COUNT: u8 = 10;
/// TikTok's maximum page size.
pub const MAX_MAX_COUNT: u8 = 20;

/// The validated query of `GET /tiktok/videos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoRequest<'a> {
    /// The account to read; `None`: the most recently connected one.
    pub open_id: Option<&'a str>,
    /// TikTok's cursor (Unix milliseconds) from the previous page; absent on the first page.
    pub cursor: Option<i64>,
    /// Videos per page, 1 to `MAX_MAX_COUNT`; `DEFAULT_MAX_COUNT` when absent.
    pub max_count: u8,
}

impl<'a> VideoRequest<'a> {
    /// Reads `open_id`, `cursor` and `max_count`; any other parameter, a `max_count` outside 1–20
    /// or a `cursor` that is not a positive integer of at most 18 digits is `400 invalid_request`.
    pub fn parse(query: &'a Query) -> Result<Self, ServiceError> {
        query
            .only(&["open_id", "cursor", "max_count"])
            .map_err(ServiceError::InvalidRequest)?;
        let max_count = match query.get("max_count") {
            None => DEFAULT_MAX_COUNT,
            Some(raw) => digits(raw, 2)
                .and_then(|v| u8::try_from(v).ok())
                .filter(|v| (1..=MAX_MAX_COUNT).contains(v))
                .ok_or_else(|| {
                    ServiceError::InvalidRequest(format!(
                        "max_count must be an integer from 1 to {MAX_MAX_COUNT}"
                    ))
                })?,
        };
        let cursor = match query.get("cursor") {
            None => None,
            Some(raw) => Some(digits(raw, 18).filter(|v| *v > 0).ok_or_else(|| {
                ServiceError::InvalidRequest(
                    "cursor must be the positive integer `cursor` of the previous page; omit it for the first page"
                        .into(),
                )
            })?),
        };
        Ok(Self {
            open_id: query.get("open_id"),
            cursor,
            max_count,
        })
    }
}

/// A plain decimal number of at most `max_len` digits (no sign, no spaces, no exponent).
fn digits(raw: &str, max_len: usize) -> Option<i64> {
    let plain = !raw.is_empty() && raw.len() <= max_len && raw.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| raw.parse().ok()).flatten()
}

/// `200` body of `GET /tiktok/videos`.
#[derive(Debug, Serialize)]
pub struct VideoList {
    /// This page's videos, at most `max_count`, as TikTok sent them.
    pub videos: Vec<Video>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub cursor: Option<i64>,
    /// Whether TikTok has a further page.
    pub has_more: bool,
}

/// `GET /tiktok/videos[?open_id=&cursor=&max_count=]`: one page of the account's public
/// videos; `403 scope_missing` without `video.list`.
pub async fn videos<P: Ports>(
    keeper: &TokenKeeper<P>,
    user: &AppUser,
    query: &Query,
    deadline: Instant,
) -> Result<VideoList, ServiceError> {
    let request = VideoRequest::parse(query)?;
    let account = accounts::find(&keeper.accounts, user, request.open_id).await?;
    if !account.scopes.contains(scope::VIDEO_LIST) {
        return Err(ServiceError::ScopeMissing(scope::VIDEO_LIST));
    }
    let fetched = keeper
        .with_token(account, deadline, "video_list", |token| async move {
            keeper
                .tiktok
                .list_videos(&token, request.cursor, request.max_count)
                .await
        })
        .await;
    let (_, page) = fetched.map_err(|e| ServiceError::from_call(e, scope::VIDEO_LIST))?;
    Ok(VideoList {
        cursor: page.cursor.filter(|_| page.has_more),
        has_more: page.has_more,
        videos: page.videos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<(Option<i64>, u8), ServiceError> {
        let query = Query::parse(Some(raw)).expect("query");
        VideoRequest::parse(&query).map(|r| (r.cursor, r.max_count))
    }

    #[test]
    fn max_count_must_be_1_to_20() {
        assert_eq!(parse(""), Ok((None, DEFAULT_MAX_COUNT)));
        assert_eq!(parse("max_count=1"), Ok((None, 1)));
        assert_eq!(parse("max_count=20"), Ok((None, 20)));
        for bad in ["0", "21", "-1", "abc", "", "1.5", "+3", " 3", "99999999999"] {
            let raw = format!("max_count={}", bad.replace(' ', "%20"));
            assert!(
                matches!(parse(&raw), Err(ServiceError::InvalidRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn cursor_is_a_positive_integer() {
        assert_eq!(
            parse("cursor=1646883959000"),
            Ok((Some(1_646_883_959_000), DEFAULT_MAX_COUNT))
        );
        for bad in ["0", "-5", "x", "", "1e9", "9999999999999999999"] {
            assert!(
                matches!(
                    parse(&format!("cursor={bad}")),
                    Err(ServiceError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_parameters_are_refused() {
        match parse("maxcount=5") {
            Err(ServiceError::InvalidRequest(message)) => assert!(message.contains("maxcount")),
            other => panic!("expected a 400, got {other:?}"),
        }
    }
}
