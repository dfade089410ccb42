//! `GET /tiktok/videos`: one page of the user's public videos, TikTok's cursor passed through, or
//! with `ids=` the videos of those ids (TikTok's video query).

use connect_domain::ids::OpenId;
use serde::Serialize;
use tokio::time::Instant;

use crate::accounts::{self, parse_open_id};
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
/// Most ids one video query takes (TikTok's limit).
pub const MAX_IDS: usize = 20;
/// TikTok's video ids are 19 digits; a little room for longer ones.
const MAX_ID_DIGITS: usize = 20;

/// The validated query of `GET /tiktok/videos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoRequest {
    /// The account to read; `None`: the most recently connected one.
    pub open_id: Option<OpenId>,
    /// `ids=`: these videos (1 to `MAX_IDS`, no duplicates, in the order asked) instead of a page.
    pub ids: Option<Vec<String>>,
    /// TikTok's cursor (Unix milliseconds) from the previous page; absent on the first page.
    pub cursor: Option<i64>,
    /// Videos per page, 1 to `MAX_MAX_COUNT`; `DEFAULT_MAX_COUNT` when absent.
    pub max_count: u8,
}

impl VideoRequest {
    /// Reads `open_id`, `cursor` and `max_count`; any other parameter, a `max_count` outside 1–20
    /// or a `cursor` that is not a positive integer of at most 18 digits is `400 invalid_request`.
    pub fn parse(query: &Query) -> Result<Self, ServiceError> {
        query
            .only(&["open_id", "cursor", "max_count", "ids"])
            .map_err(ServiceError::InvalidRequest)?;
        let ids = query.get("ids").map(parse_ids).transpose()?;
        if ids.is_some() && (query.get("cursor").is_some() || query.get("max_count").is_some()) {
            return Err(ServiceError::InvalidRequest(
                "ids cannot be combined with cursor or max_count: ask for ids, or for a page"
                    .into(),
            ));
        }
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
            open_id: query.get("open_id").map(parse_open_id).transpose()?,
            ids,
            cursor,
            max_count,
        })
    }
}

/// `ids=<id>,<id>…`: 1 to `MAX_IDS` decimal ids (TikTok's, kept as strings), duplicates dropped.
fn parse_ids(raw: &str) -> Result<Vec<String>, ServiceError> {
    let mut ids: Vec<String> = Vec::new();
    for id in raw.split(',') {
        let plain =
            !id.is_empty() && id.len() <= MAX_ID_DIGITS && id.bytes().all(|b| b.is_ascii_digit());
        if !plain {
            return Err(ServiceError::InvalidRequest(format!(
                "ids must be 1 to {MAX_IDS} comma-separated TikTok video ids (decimal digits, as strings in the video list)"
            )));
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    if ids.len() > MAX_IDS {
        return Err(ServiceError::InvalidRequest(format!(
            "ids takes at most {MAX_IDS} video ids (TikTok's limit); split the list"
        )));
    }
    Ok(ids)
}

/// TikTok's answer in the order the ids were asked (TikTok's own order is unspecified); ids it
/// did not return (unknown, deleted, another user's) are simply absent.
pub fn in_order(videos: Vec<Video>, ids: &[String]) -> Vec<Video> {
    let mut videos = videos;
    videos.retain(|v| ids.contains(&v.id));
    videos.sort_by_key(|v| ids.iter().position(|id| *id == v.id));
    videos.dedup_by(|a, b| a.id == b.id);
    videos
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
/// videos, or with `ids=` those videos; `403 scope_missing` without `video.list`.
pub async fn videos<P: Ports>(
    keeper: &TokenKeeper<P>,
    user: &AppUser,
    query: &Query,
    deadline: Instant,
) -> Result<VideoList, ServiceError> {
    let request = VideoRequest::parse(query)?;
    let account = accounts::find(&keeper.accounts, user, request.open_id.as_ref()).await?;
    if !account.scopes.contains(scope::VIDEO_LIST) {
        return Err(ServiceError::ScopeMissing(scope::VIDEO_LIST));
    }
    if let Some(ids) = &request.ids {
        let queried = keeper
            .with_token(account, deadline, "video_query", |token| async move {
                keeper.tiktok.query_videos(&token, ids).await
            })
            .await;
        let (_, videos) = queried.map_err(|e| ServiceError::from_call(e, scope::VIDEO_LIST))?;
        return Ok(VideoList {
            videos: in_order(videos, ids),
            cursor: None,
            has_more: false,
        });
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
    fn ids_are_1_to_20_decimal_ids_without_a_page() {
        let ids = |raw: &str| {
            let query = Query::parse(Some(raw)).expect("query");
            VideoRequest::parse(&query).map(|r| r.ids)
        };
        assert_eq!(
            ids("ids=7312345678901234567"),
            Ok(Some(vec!["7312345678901234567".into()]))
        );
        assert_eq!(
            ids("ids=1,2,1"),
            Ok(Some(vec!["1".into(), "2".into()])),
            "duplicates dropped"
        );
        let twenty: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
        assert_eq!(
            ids(&format!("ids={}", twenty.join(","))),
            Ok(Some(twenty.clone()))
        );
        let twenty_one = format!("ids={},21", twenty.join(","));
        for bad in [
            "ids=",
            "ids=1,,2",
            "ids=abc",
            "ids=-1",
            "ids=123456789012345678901",
            twenty_one.as_str(),
            "ids=1&cursor=5",
            "ids=1&max_count=5",
        ] {
            assert!(
                matches!(ids(bad), Err(ServiceError::InvalidRequest(_))),
                "{bad}"
            );
        }
        assert_eq!(ids("max_count=5"), Ok(None));
    }

    #[test]
    fn query_answers_follow_the_order_asked() {
        let video = |id: &str| Video {
            id: id.into(),
            ..Video::default()
        };
        let asked = vec!["3".to_owned(), "1".to_owned(), "9".to_owned()];
        let got = in_order(vec![video("1"), video("7"), video("3"), video("1")], &asked);
        let order: Vec<&str> = got.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(order, ["3", "1"], "foreign and unknown ids absent");
    }

    #[test]
    fn unknown_parameters_are_refused() {
        match parse("maxcount=5") {
            Err(ServiceError::InvalidRequest(message)) => assert!(message.contains("maxcount")),
            other => panic!("expected a 400, got {other:?}"),
        }
    }
}
