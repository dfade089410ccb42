//! `POST /tiktok/webhook`: TikTok's events (docs/tiktok.md#webhooks). The `TikTok-Signature` is
//! checked over the raw body before anything is read; each body is processed once (TikTok
//! delivers at least once, for up to 72 hours, with no event id, so the body's hash is the id).

use connect_domain::ids::{OpenId, PublishId};
use hmac::{Hmac, Mac as _};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use connect_domain::error::ServiceError;
use connect_domain::events::{ACCOUNT_REVOKED, AppEvent, EventSink, announce};
use connect_domain::secret::ClientSecret;
use connect_domain::store::{
    Advanced, PublishStore, Revocations, RevokeReason, ScheduleStore, StatusUpdate,
};
use connect_domain::tiktok::{PublishState, post_id_string};

/// How far a signature's timestamp may be from our clock, either way (TikTok publishes none;
/// five minutes is common practice and covers its retries' re-signing).
pub const TOLERANCE_SECS: i64 = 300;
/// TikTok's events are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long a body's hash is kept: past TikTok's 72 hours of retries.
pub const SEEN_TTL_SECS: i64 = 4 * 24 * 3600;
/// A delivery still "processing" after this long died mid-way (the webhook function's timeout is
/// 10 s): a retry of it takes the claim over and is processed.
pub const STALE_PROCESSING_SECS: i64 = 60;

/// Checks `TikTok-Signature: t=<unix s>,s=<hex HMAC-SHA256(client secret, "<t>.<body>")>` in
/// constant time, then the timestamp's age.
pub fn verify_signature(
    header: Option<&[u8]>,
    body: &[u8],
    secret: &ClientSecret,
    now: i64,
) -> Result<(), ServiceError> {
    let header = header.ok_or(ServiceError::InvalidSignature(
        "the TikTok-Signature header is missing",
    ))?;
    let malformed = || {
        ServiceError::InvalidSignature(
            "the TikTok-Signature header is not `t=<unix seconds>,s=<hex>`",
        )
    };
    let header = std::str::from_utf8(header).map_err(|_| malformed())?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t))
                if !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) =>
            {
                timestamp = Some(t);
            }
            Some(("s", s)) => signatures.push(hex::decode(s).map_err(|_| malformed())?),
            // Unknown elements (a future `v1=`…) are ignored, as Stripe-style schemes expect.
            Some(_) => {}
            None => return Err(malformed()),
        }
    }
    let (Some(t), false) = (timestamp, signatures.is_empty()) else {
        return Err(malformed());
    };
    let mut expected = Hmac::<Sha256>::new_from_slice(secret.secret().as_bytes())
        .map_err(|_| ServiceError::Internal)?;
    expected.update(t.as_bytes());
    expected.update(b".");
    expected.update(body);
    let matches = signatures
        .iter()
        .any(|s| expected.clone().verify_slice(s).is_ok());
    if !matches {
        return Err(ServiceError::InvalidSignature(
            "the TikTok-Signature does not match this body and the app's client secret",
        ));
    }
    let t: i64 = t.parse().map_err(|_| malformed())?;
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(ServiceError::InvalidSignature(
            "the TikTok-Signature timestamp is more than 5 minutes away from now (replayed or a wrong clock)",
        ));
    }
    Ok(())
}

/// TikTok's webhook body; `content` is a JSON *string* holding the event's details.
#[derive(Debug, Deserialize)]
struct Envelope {
    client_key: String,
    event: String,
    /// When TikTok created the event (Unix seconds).
    create_time: i64,
    #[serde(default)]
    user_openid: Option<String>,
    #[serde(default)]
    content: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Content {
    #[serde(default)]
    reason: Option<serde_json::Value>,
    #[serde(default)]
    publish_id: Option<PublishId>,
    #[serde(default)]
    post_id: Option<serde_json::Value>,
}

/// What a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An event this service acts on (`authorization.removed`, `post.publish.…`), handled;
    /// carries its name, cut to 64 characters.
    Processed(String),
    /// Seen before (TikTok's at-least-once delivery): nothing done.
    Duplicate,
    /// An event this service does not act on (acknowledged so TikTok stops retrying).
    Ignored(String),
}

/// Handles one verified delivery: parse, de-duplicate, act. A failure to act forgets the body
/// again, so TikTok's retry is processed.
pub async fn receive(
    accounts: &impl Revocations,
    publishes: &(impl PublishStore + ScheduleStore),
    events: &impl EventSink,
    client_key: &str,
    body: &[u8],
    now: i64,
) -> Result<Outcome, ServiceError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|_| {
        ServiceError::InvalidRequest(
            "the body must be TikTok's event JSON: client_key, event, create_time, user_openid, content".into(),
        )
    })?;
    if envelope.client_key != client_key {
        return Err(ServiceError::InvalidRequest(
            "client_key is not this app's client key".into(),
        ));
    }
    let content = parse_content(envelope.content.as_ref())?;
    let hash = hex::encode(Sha256::digest(body));
    let first = publishes
        .claim_event(&hash, now, now - STALE_PROCESSING_SECS, now + SEEN_TTL_SECS)
        .await?;
    if !first {
        tracing::info!(event = %short(&envelope.event), "duplicate webhook ignored");
        return Ok(Outcome::Duplicate);
    }
    let acted = act(accounts, publishes, events, &envelope, &content, now).await;
    match &acted {
        Ok(_) => {
            if let Err(e) = publishes.finish_event(&hash).await {
                // Still "processing": a retry after STALE_PROCESSING_SECS acts again, which the
                // acts allow (revocation and status moves are conditional and forward-only).
                tracing::warn!(error = %e, "could not mark a webhook processed");
            }
        }
        Err(_) => {
            if let Err(e) = publishes.forget_event(&hash).await {
                tracing::error!(error = %e, "could not forget a failed webhook; TikTok's retry is processed once the claim is stale");
            }
        }
    }
    acted
}

fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

fn parse_content(content: Option<&serde_json::Value>) -> Result<Content, ServiceError> {
    let bad =
        || ServiceError::InvalidRequest("content must be a JSON object encoded as a string".into());
    match content {
        None | Some(serde_json::Value::Null) => Ok(Content::default()),
        Some(serde_json::Value::String(text)) if text.is_empty() => Ok(Content::default()),
        Some(serde_json::Value::String(text)) => serde_json::from_str(text).map_err(|_| bad()),
        // Documented as a string; an object is read the same way rather than lost.
        Some(object @ serde_json::Value::Object(_)) => {
            serde_json::from_value(object.clone()).map_err(|_| bad())
        }
        Some(_) => Err(bad()),
    }
}

async fn act(
    accounts: &impl Revocations,
    publishes: &(impl PublishStore + ScheduleStore),
    events: &impl EventSink,
    envelope: &Envelope,
    content: &Content,
    now: i64,
) -> Result<Outcome, ServiceError> {
    let event = short(&envelope.event);
    let open_id = OpenId::from(envelope.user_openid.as_deref().unwrap_or_default());
    let state = match envelope.event.as_str() {
        "authorization.removed" => {
            let reason = RevokeReason::from_code(
                content
                    .reason
                    .as_ref()
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(0),
            );
            // A connection made after the removal is a new grant: a late delivery (TikTok
            // retries for 72 hours) must not revoke it.
            let owner = accounts
                .mark_revoked(&open_id, envelope.create_time, reason)
                .await?;
            tracing::info!(event = %event, open_id = %short(&open_id), reason = reason.as_str(), known = owner.is_some(), "TikTok grant removed");
            if let Some(app_user) = owner {
                let revoked = AppEvent::account(ACCOUNT_REVOKED, &app_user, &open_id, now)
                    .because(reason.as_str());
                announce(events, vec![revoked]).await;
                // A failure leaves them to fail at their time (`account_revoked` too).
                if let Err(e) = crate::publish::scheduled::cancel_for_account(
                    publishes,
                    events,
                    &app_user,
                    &open_id,
                    "account_revoked",
                    now,
                )
                .await
                {
                    tracing::warn!(error = ?e, "could not cancel a revoked account's scheduled posts");
                }
            }
            return Ok(Outcome::Processed(event));
        }
        // Only a completed post becomes public, and stops being public.
        "post.publish.complete"
        | "post.publish.publicly_available"
        | "post.publish.no_longer_publicaly_available" => PublishState::PublishComplete,
        "post.publish.failed" => PublishState::Failed,
        "post.publish.inbox_delivered" => PublishState::SendToUserInbox,
        _ => {
            tracing::info!(event = %event, "webhook event not acted on");
            return Ok(Outcome::Ignored(event));
        }
    };
    let Some(publish_id) = content.publish_id.as_ref().filter(|id| !id.is_empty()) else {
        return Err(ServiceError::InvalidRequest(
            "post.publish events need content.publish_id".into(),
        ));
    };
    let fail_reason = match (state, &content.reason) {
        (PublishState::Failed, Some(serde_json::Value::String(r))) => Some(short(r)),
        _ => None,
    };
    let post_id: Vec<String> = content
        .post_id
        .as_ref()
        .and_then(post_id_string)
        .into_iter()
        .collect();
    // TikTok's spelling (sic): taken down, made private or deleted after it was public.
    let withdrawn = envelope.event == "post.publish.no_longer_publicaly_available";
    if withdrawn && post_id.is_empty() {
        return Err(ServiceError::InvalidRequest(
            "post.publish.no_longer_publicaly_available needs content.post_id".into(),
        ));
    }
    let (post_ids, withdrawn_post_ids) = if withdrawn {
        (Vec::new(), post_id)
    } else {
        (post_id, Vec::new())
    };
    let update = StatusUpdate {
        state,
        fail_reason,
        post_ids,
        withdrawn_post_ids,
        uploaded_bytes: None,
        downloaded_bytes: None,
        at: now,
    };
    let written = publishes
        .advance_publish(publish_id, &open_id, &update)
        .await?;
    // The record as it was just before this write names the app user and the old status.
    if let Advanced::Applied(before) = &written {
        let changed = crate::publish::status_changed(before, &update);
        announce(events, changed.into_iter().collect()).await;
    }
    tracing::info!(event = %event, publish_id = %short(publish_id), status = state.as_str(), applied = matches!(written, Advanced::Applied(_)), "publish status from webhook");
    Ok(Outcome::Processed(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        format!("t={t},s={}", hex::encode(mac.finalize().into_bytes()))
    }

    const BODY: &[u8] = br#"{"client_key":"ck","event":"authorization.removed","create_time":1,"user_openid":"o","content":"{\"reason\": 1 }"}"#;

    fn check(header: Option<&str>, body: &[u8], now: i64) -> Result<(), ServiceError> {
        verify_signature(
            header.map(str::as_bytes),
            body,
            &ClientSecret::new("secret"),
            now,
        )
    }

    #[test]
    fn a_good_signature_within_five_minutes_passes() {
        let now = 1_700_000_000;
        assert_eq!(check(Some(&sign("secret", now, BODY)), BODY, now), Ok(()));
        assert_eq!(
            check(Some(&sign("secret", now - 300, BODY)), BODY, now),
            Ok(())
        );
        assert_eq!(
            check(Some(&sign("secret", now + 300, BODY)), BODY, now),
            Ok(())
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let now = 1_700_000_000;
        let good = sign("secret", now, BODY);
        let cases: Vec<(Option<String>, &[u8])> = vec![
            (None, BODY),
            (Some(String::new()), BODY),
            (Some("garbage".into()), BODY),
            (Some(format!("t={now}")), BODY),
            (Some(format!("t={now},s=zz")), BODY),
            (Some(sign("other", now, BODY)), BODY),
            (Some(good.clone()), b"{}"),
            (Some(sign("secret", now - 301, BODY)), BODY),
            (Some(sign("secret", now + 301, BODY)), BODY),
            (Some(good.replace("t=", "t=1")), BODY),
        ];
        for (header, body) in cases {
            assert!(
                matches!(
                    check(header.as_deref(), body, now),
                    Err(ServiceError::InvalidSignature(_))
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn re_serialised_json_does_not_verify() {
        let now = 1_700_000_000;
        let header = sign("secret", now, BODY);
        let value: serde_json::Value = serde_json::from_slice(BODY).expect("json");
        let reserialised = serde_json::to_vec(&value).expect("json");
        assert_ne!(reserialised, BODY);
        assert!(check(Some(&header), &reserialised, now).is_err());
    }

    #[test]
    fn content_is_a_json_string() {
        let parsed = parse_content(Some(&serde_json::json!(
            "{\"publish_id\":\"p\",\"post_id\":7312345678901234567}"
        )))
        .expect("content");
        assert_eq!(parsed.publish_id.as_deref(), Some("p"));
        assert_eq!(
            parsed.post_id.as_ref().and_then(post_id_string).as_deref(),
            Some("7312345678901234567")
        );
        assert!(parse_content(Some(&serde_json::json!("not json"))).is_err());
        assert!(parse_content(Some(&serde_json::json!(5))).is_err());
    }
}
