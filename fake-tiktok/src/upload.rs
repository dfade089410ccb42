//! `PUT /upload/?upload_id=…&upload_token=…`: the chunked upload behind an `upload_url`. The URL
//! is the credential (no `Authorization`). Chunks must come in order, each exactly the next
//! range of the plan announced at init. The bytes are counted as they stream in, never kept.
//!
//! Checks, in order: unknown upload, wrong token, or a failed/cancelled publish → 404; URL
//! expired → 403; bad `Content-Type`, missing or malformed `Content-Length`/`Content-Range` →
//! 400; a range that is not the next chunk (or a total that is not `video_size`) → 416;
//! `Content-Length` or body size ≠ the range's size → 400. Success: 206 while chunks remain,
//! 201 after the last, each with `Content-Range: bytes 0-{uploaded-1}/{total}`. A 416 carries
//! the same header (`bytes */{total}` while nothing is uploaded). Error bodies are plain text:
//! TikTok documents only the statuses.

use std::pin::Pin;

use axum::body::{Body, HttpBody};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::publish::{Outcome, Publish, Source};
use crate::state::AppState;

/// The route's body limit: the largest chunk (the last one, 128 MB) plus a margin.
pub(crate) const BODY_LIMIT: usize = 129 * 1024 * 1024;

const VIDEO_TYPES: [&str; 3] = ["video/mp4", "video/quicktime", "video/webm"];

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UploadQuery {
    upload_id: Option<String>,
    upload_token: Option<String>,
}

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

/// `Content-Range: bytes 0-{uploaded-1}/{total}`, or `bytes */{total}` before the first byte.
fn with_progress(mut response: Response, uploaded: u64, total: u64) -> Response {
    let value = if uploaded == 0 {
        format!("bytes */{total}")
    } else {
        format!("bytes 0-{}/{total}", uploaded - 1)
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

/// `bytes {first}-{last}/{total}`.
fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let parse = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (first, last, total) = (parse(first)?, parse(last)?, parse(total)?);
    (first <= last && last < total).then_some((first, last, total))
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Why a chunk is refused: status, plain-text message and, for a 416, the progress
/// `(uploaded, total)` for the `Content-Range` header.
struct Refusal {
    status: StatusCode,
    message: &'static str,
    progress: Option<(u64, u64)>,
}

const NO_TASK: Refusal = Refusal {
    status: StatusCode::NOT_FOUND,
    message: "No upload task for this URL.",
    progress: None,
};

fn bad_request(message: &'static str) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        message,
        progress: None,
    }
}

fn out_of_order(uploaded: u64, total: u64) -> Refusal {
    Refusal {
        status: StatusCode::RANGE_NOT_SATISFIABLE,
        message: "Content-Range does not match the upload progress: send the next chunk of the plan.",
        progress: Some((uploaded, total)),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let response = text(self.status, self.message);
        match self.progress {
            Some((uploaded, total)) => with_progress(response, uploaded, total),
            None => response,
        }
    }
}

/// What a valid chunk request expects, decided before reading the body.
struct Expected {
    publish_id: String,
    first: u64,
    len: u64,
    total: u64,
}

/// The checks that need no body; `Err` is the whole answer.
fn check(
    publish: &Publish,
    token: &str,
    now: i64,
    headers: &HeaderMap,
) -> Result<Expected, Refusal> {
    let Source::File {
        plan,
        upload_token,
        expires_at,
        uploaded,
        ..
    } = &publish.source
    else {
        return Err(NO_TASK);
    };
    if upload_token != token || matches!(publish.outcome, Some(Outcome::Failed(_))) {
        return Err(NO_TASK);
    }
    if now >= *expires_at {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            message: "The upload_url has expired.",
            progress: None,
        });
    }
    let media = header_str(headers, header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !media.is_some_and(|m| VIDEO_TYPES.contains(&m.as_str())) {
        return Err(bad_request(
            "Content-Type must be video/mp4, video/quicktime or video/webm.",
        ));
    }
    let content_length = header_str(headers, header::CONTENT_LENGTH)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| bad_request("Content-Length is required."))?;
    let (first, last, total) = header_str(headers, header::CONTENT_RANGE)
        .and_then(parse_content_range)
        .ok_or_else(|| bad_request("Content-Range must be `bytes {first}-{last}/{total}`."))?;
    let next = uploaded / plan.chunk_size;
    let done = *uploaded >= plan.video_size;
    if done || total != plan.video_size || (first, last) != plan.range(next) {
        return Err(out_of_order(*uploaded, plan.video_size));
    }
    let len = last - first + 1;
    if content_length != len {
        return Err(bad_request("Content-Length does not match Content-Range."));
    }
    Ok(Expected {
        publish_id: publish.id.clone(),
        first,
        len,
        total,
    })
}

/// Counts the body's bytes without keeping them; `None` once more than `max` arrived or the
/// body failed.
async fn count_body(mut body: Body, max: u64) -> Option<u64> {
    let mut count: u64 = 0;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.ok()?;
        if let Some(data) = frame.data_ref() {
            count = count.saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
            if count > max {
                return None;
            }
        }
    }
    Some(count)
}

pub(crate) async fn upload(
    State(app): State<AppState>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (Some(upload_id), Some(token)) = (query.upload_id, query.upload_token) else {
        return NO_TASK.into_response();
    };
    let expected = app.with(|s| {
        let now = s.clock.now();
        match s.publishes.by_upload_mut(&upload_id) {
            Some(publish) => check(publish, &token, now, &headers),
            None => Err(NO_TASK),
        }
    });
    let expected = match expected {
        Ok(expected) => expected,
        Err(refusal) => return refusal.into_response(),
    };
    // Read without the lock. The plan caps a chunk at 128 MB.
    let received = count_body(body, expected.len).await;
    if received != Some(expected.len) {
        return bad_request("The body size does not match Content-Length.").into_response();
    }
    app.with(|s| {
        let now = s.clock.now();
        let Some(publish) = s.publishes.get_mut(&expected.publish_id) else {
            return NO_TASK.into_response();
        };
        let Source::File {
            uploaded,
            completed_at,
            ..
        } = &mut publish.source
        else {
            return NO_TASK.into_response();
        };
        if *uploaded != expected.first {
            // Another request delivered this chunk meanwhile.
            return out_of_order(*uploaded, expected.total).into_response();
        }
        *uploaded += expected.len;
        let uploaded = *uploaded;
        let status = if uploaded >= expected.total {
            *completed_at = Some(now);
            StatusCode::CREATED
        } else {
            StatusCode::PARTIAL_CONTENT
        };
        s.sweep_publishes();
        with_progress(status.into_response(), uploaded, expected.total)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_shape() {
        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9, 10)));
        assert_eq!(parse_content_range("bytes 5-4/10"), None);
        assert_eq!(parse_content_range("bytes 0-10/10"), None);
        assert_eq!(parse_content_range("bytes */10"), None);
        assert_eq!(parse_content_range("0-9/10"), None);
        assert_eq!(parse_content_range("bytes +0-9/10"), None);
    }
}
