//! The sample events in `events/` (used with `cargo lambda invoke --data-file` and in
//! docs/development.md#invoking-a-function-with-a-sample-event) parse as real API Gateway events
//! and produce the documented answers.

use fake_tiktok::Endpoint;
use integration_tests::api::answer;
use integration_tests::flow::{ALICE, body_json, header, param};
use integration_tests::{Stack, StackOptions};

fn event(name: &str, replace: &[(&str, &str)]) -> lambda_http::Request {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{name} is not an API Gateway v2 event: {e}"))
}

#[tokio::test]
async fn authorize_events() {
    let stack = Stack::start(StackOptions::default()).await;
    let missing = authorize::handle(&stack.authorize, event("authorize/missing-jwt.json", &[]))
        .await
        .expect("ok");
    assert_eq!(missing.status(), 401);
    let placeholder = authorize::handle(&stack.authorize, event("authorize/basic.json", &[]))
        .await
        .expect("ok");
    assert_eq!(placeholder.status(), 401, "the placeholder is not a JWT");

    let jwt = stack.jwt("user-1");
    for name in [
        "authorize/basic.json",
        "authorize/scopes-and-return-to.json",
    ] {
        let response = authorize::handle(
            &stack.authorize,
            event(name, &[("REPLACE_WITH_APP_JWT", &jwt)]),
        )
        .await
        .expect("ok");
        assert_eq!(response.status(), 200, "{name}: {:?}", body_json(&response));
        assert_eq!(header(&response, "content-type"), Some("application/json"));
    }
    stack.assert_nothing_leaked().await;
}

/// As deployed: no TIKTOK_REDIRECT_URI (naming the API in the functions' environment is a
/// dependency cycle), so the callback URL comes from the event's `requestContext.domainName`.
#[tokio::test]
async fn the_deployed_callback_url_comes_from_the_events_api_domain() {
    let mut stack = Stack::start(StackOptions::default()).await;
    stack.authorize.service.settings.redirect_uri = None;
    let jwt = stack.jwt("user-1");
    let response = authorize::handle(
        &stack.authorize,
        event("authorize/basic.json", &[("REPLACE_WITH_APP_JWT", &jwt)]),
    )
    .await
    .expect("ok");
    assert_eq!(response.status(), 200, "{:?}", body_json(&response));
    let url = url::Url::parse(
        body_json(&response)["authorize_url"]
            .as_str()
            .expect("authorize_url"),
    )
    .expect("url");
    assert_eq!(
        param(&url, "redirect_uri").as_deref(),
        Some("https://abc123.execute-api.us-east-1.amazonaws.com/tiktok/callback")
    );
    let hostile = authorize::handle(
        &stack.authorize,
        event(
            "authorize/basic.json",
            &[
                ("REPLACE_WITH_APP_JWT", &jwt),
                (
                    "abc123.execute-api.us-east-1.amazonaws.com",
                    "evil.example/x?",
                ),
            ],
        ),
    )
    .await
    .expect("ok");
    assert_eq!(
        hostile.status(),
        503,
        "a domain that is not a host name gives no callback URL"
    );
}

#[tokio::test]
async fn callback_events() {
    let stack = Stack::start(StackOptions::default()).await;
    for name in [
        "callback/success.json",
        "callback/denied.json",
        "callback/forged-state.json",
    ] {
        let response = callback::handle(&stack.callback, event(name, &[]))
            .await
            .expect("ok");
        let location = Stack::app_location(&response);
        assert_eq!(
            param(&location, "reason").as_deref(),
            Some("invalid_state"),
            "{name}"
        );
    }
    // With a live state, the denied event reports the user's refusal.
    let url = stack.start_connect("user-1", "").await;
    let state = param(&url, "state").expect("state");
    let response = callback::handle(
        &stack.callback,
        event(
            "callback/denied.json",
            &[("REPLACE_WITH_STATE_FROM_AUTHORIZE_URL", &state)],
        ),
    )
    .await
    .expect("ok");
    assert_eq!(
        param(&Stack::app_location(&response), "reason").as_deref(),
        Some("access_denied")
    );
    stack.assert_nothing_leaked().await;
}

/// Runs `handle` on a sample event and checks what every answer of the app-user functions shares:
/// JSON (or empty) bodies with no secret in them.
async fn run<F, Fut>(
    stack: &Stack,
    name: &str,
    handle: F,
    request: lambda_http::Request,
) -> (u16, serde_json::Value)
where
    F: FnOnce(lambda_http::Request) -> Fut,
    Fut: std::future::Future<
            Output = Result<lambda_http::Response<lambda_http::Body>, lambda_http::Error>,
        >,
{
    let response = handle(request)
        .await
        .expect("handlers answer every request");
    if !matches!(response.body(), lambda_http::Body::Empty) {
        assert_eq!(
            header(&response, "content-type"),
            Some("application/json"),
            "{name}"
        );
        let text = body_json(&response).to_string();
        integration_tests::logs::assert_absent(&text, &stack.secrets(), name);
    }
    answer(&response)
}

#[tokio::test]
async fn user_info_events() {
    let stack = Stack::start(StackOptions::default()).await;
    let me = |request| user_info::handle(&stack.api, request);

    let (status, body) = run(
        &stack,
        "missing-jwt",
        me,
        event("user-info/missing-jwt.json", &[]),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (status, _) = run(&stack, "placeholder", me, event("user-info/me.json", &[])).await;
    assert_eq!(status, 401, "the placeholder is not a JWT");

    let jwt = stack.jwt("user-1");
    let with_jwt = [("REPLACE_WITH_APP_JWT", jwt.as_str())];
    let (status, body) = run(
        &stack,
        "me, not connected",
        me,
        event("user-info/me.json", &with_jwt),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_connected")),
        "{body}"
    );

    stack.connect_account("user-1", ALICE, None).await;
    for name in ["user-info/me.json", "user-info/me-by-open-id.json"] {
        let (status, body) = run(&stack, name, me, event(name, &with_jwt)).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["open_id"], ALICE, "{name}: {body}");
        assert_eq!(body["status"], "active", "{name}: {body}");
        assert!(body["display_name"].is_string(), "{name}: {body}");
    }
    // Another app user does not see alice.
    let other = stack.jwt("user-2");
    let (status, _) = run(
        &stack,
        "me-by-open-id as another user",
        me,
        event(
            "user-info/me-by-open-id.json",
            &[("REPLACE_WITH_APP_JWT", &other)],
        ),
    )
    .await;
    assert_eq!(status, 404);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn video_list_events() {
    let stack = Stack::start(StackOptions::default()).await;
    let videos = |request| video_list::handle(&stack.api, request);
    let jwt = stack.jwt("user-1");
    let with_jwt = [("REPLACE_WITH_APP_JWT", jwt.as_str())];
    stack.connect_account("user-1", ALICE, None).await;

    let (status, first) = run(
        &stack,
        "first-page",
        videos,
        event("video-list/first-page.json", &with_jwt),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["videos"].as_array().map(Vec::len),
        Some(10),
        "{first}"
    );
    assert_eq!(first["has_more"], true, "{first}");
    let cursor = first["cursor"]
        .as_i64()
        .expect("a cursor while has_more")
        .to_string();

    let (status, next) = run(
        &stack,
        "next-page",
        videos,
        event(
            "video-list/next-page.json",
            &[
                ("REPLACE_WITH_APP_JWT", &jwt),
                ("REPLACE_WITH_CURSOR", &cursor),
            ],
        ),
    )
    .await;
    assert_eq!(status, 200, "{next}");
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["videos"]
            .as_array()
            .expect("videos")
            .iter()
            .map(|v| v["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let (first_ids, next_ids) = (ids(&first), ids(&next));
    assert_eq!(next_ids.len(), 10, "{next}");
    assert!(
        next_ids.iter().all(|id| !first_ids.contains(id)),
        "the next page repeats videos: {first_ids:?} / {next_ids:?}"
    );

    let (status, body) = run(
        &stack,
        "bad-max-count",
        videos,
        event("video-list/bad-max-count.json", &with_jwt),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // Two videos of the first page by id, in the order asked.
    let asked = format!("{},{}", first_ids[1], first_ids[0]);
    let (status, by_ids) = run(
        &stack,
        "by-ids",
        videos,
        event(
            "video-list/by-ids.json",
            &[
                ("REPLACE_WITH_APP_JWT", &jwt),
                ("REPLACE_WITH_VIDEO_IDS", &asked),
            ],
        ),
    )
    .await;
    assert_eq!(status, 200, "{by_ids}");
    assert_eq!(ids(&by_ids), [first_ids[1].clone(), first_ids[0].clone()]);
    // The unreplaced placeholder cursor is refused too (once the JWT is real).
    let (status, _) = run(
        &stack,
        "placeholder cursor",
        videos,
        event("video-list/next-page.json", &with_jwt),
    )
    .await;
    assert_eq!(status, 400);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn accounts_events() {
    let stack = Stack::start(StackOptions::default()).await;
    let accounts = |request| accounts::handle(&stack.accounts_api, request);
    let jwt = stack.jwt("user-1");
    let with_jwt = [("REPLACE_WITH_APP_JWT", jwt.as_str())];
    stack.connect_account("user-1", ALICE, None).await;

    let (status, body) = run(
        &stack,
        "list",
        accounts,
        event("accounts/list.json", &with_jwt),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let list = body["accounts"].as_array().expect("accounts");
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["open_id"], ALICE, "{body}");

    let (status, body) = run(
        &stack,
        "wrong-method",
        accounts,
        event("accounts/wrong-method.json", &with_jwt),
    )
    .await;
    assert_eq!(status, 405, "{body}");

    let (status, body) = run(
        &stack,
        "disconnect",
        accounts,
        event("accounts/disconnect.json", &with_jwt),
    )
    .await;
    assert_eq!((status, body), (204, serde_json::Value::Null));
    assert_eq!(stack.fake.calls(Endpoint::Revoke), 1, "revoked at TikTok");
    assert_eq!(
        stack.fake.live_refresh_tokens(ALICE),
        0,
        "nothing left alive at TikTok"
    );

    let (status, body) = run(
        &stack,
        "list again",
        accounts,
        event("accounts/list.json", &with_jwt),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accounts"], serde_json::json!([]), "{body}");
    let (status, body) = run(
        &stack,
        "disconnect again",
        accounts,
        event("accounts/disconnect.json", &with_jwt),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_connected")),
        "{body}"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn connection_events() {
    let stack = Stack::start(StackOptions::default()).await;
    let accounts = |request| accounts::handle(&stack.accounts_api, request);
    let jwt = stack.jwt("user-1");
    let choice = integration_tests::ConsentChoice::approve(ALICE);
    for (name, expected) in [("confirm", 200), ("cancel", 204)] {
        let location = stack.connect("user-1", "", &choice).await;
        let id = param(&location, "connection_id").expect("connection_id");
        let replace = [
            ("REPLACE_WITH_APP_JWT", jwt.as_str()),
            ("REPLACE_WITH_CONNECTION_ID", id.as_str()),
        ];
        let file = format!("accounts/{name}.json");
        let (status, body) = run(&stack, name, accounts, event(&file, &replace)).await;
        assert_eq!(status, expected, "{name}: {body}");
        let (status, body) = run(&stack, name, accounts, event(&file, &replace)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("connection_not_found")),
            "{name} again: {body}"
        );
    }
    assert_eq!(
        stack.accounts_of("user-1").await.len(),
        1,
        "the confirmed one"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn token_refresh_scheduled_event() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.seed_accounts("user-1", 3).await;
    stack.clock.advance(86_400);
    stack.fake.advance_clock(86_400);
    let path = format!(
        "{}/../events/token-refresh/scheduled.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let payload: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("event")).expect("JSON");
    let mut context = lambda_runtime::Context::default();
    context.deadline = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms")
        + 120_000;
    let summary = token_refresh::handle(
        &stack.job,
        lambda_runtime::LambdaEvent::new(payload, context),
    )
    .await
    .expect("summary");
    assert_eq!((summary.due, summary.refreshed), (3, 3), "{summary:?}");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn publish_events() {
    let stack = Stack::start(StackOptions {
        scopes: integration_tests::stack::POSTING_SCOPES,
        ..StackOptions::default()
    })
    .await;
    let publish = |request| publish::handle(&stack.publish, request);
    let (status, _) = run(
        &stack,
        "placeholder",
        publish,
        event("publish/creator-info.json", &[]),
    )
    .await;
    assert_eq!(status, 401, "the placeholder is not a JWT");

    stack.connect_account("user-1", ALICE, None).await;
    let jwt = stack.jwt("user-1");
    let with_jwt = [("REPLACE_WITH_APP_JWT", jwt.as_str())];
    let (status, body) = run(
        &stack,
        "creator-info",
        publish,
        event("publish/creator-info.json", &with_jwt),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = run(
        &stack,
        "too long",
        publish,
        event("publish/title-too-long.json", &with_jwt),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let (status, body) = run(
        &stack,
        "inbox upload",
        publish,
        event("publish/inbox-upload.json", &with_jwt),
    )
    .await;
    assert_eq!(
        (status, body["upload"]["total_chunk_count"].as_u64()),
        (202, Some(2)),
        "{body}"
    );
    let (status, started) = run(
        &stack,
        "direct",
        publish,
        event("publish/direct-from-url.json", &with_jwt),
    )
    .await;
    assert_eq!(status, 202, "{started}");
    let publish_id = started["publish_id"].as_str().expect("id");
    let (status, body) = run(
        &stack,
        "status",
        publish,
        event(
            "publish/status.json",
            &[
                ("REPLACE_WITH_APP_JWT", &jwt),
                ("REPLACE_WITH_PUBLISH_ID", publish_id),
            ],
        ),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("PROCESSING_DOWNLOAD")),
        "{body}"
    );
    let (status, photos) = run(
        &stack,
        "photo direct",
        publish,
        event("publish/photo-direct.json", &with_jwt),
    )
    .await;
    assert_eq!(
        (status, photos["media_type"].as_str()),
        (202, Some("photo")),
        "{photos}"
    );
    assert_eq!(stack.fake.posts_created(ALICE), 3);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn webhook_events() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account("user-1", ALICE, None).await;
    let webhook = |request| webhook::handle(stack.webhook.as_ref(), request);
    for name in ["webhook/unsigned.json", "webhook/bad-signature.json"] {
        let (status, body) = run(&stack, name, webhook, event(name, &[])).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_signature")),
            "{name}: {body}"
        );
    }
    let account = stack.account("user-1", ALICE).await.expect("account");
    assert_eq!(account.status, connect_domain::store::AccountStatus::Active);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn scheduled_post_events() {
    use connect_domain::clock::Clock as _;
    let stack = Stack::start(StackOptions {
        scopes: integration_tests::stack::POSTING_SCOPES,
        ..StackOptions::default()
    })
    .await;
    stack.connect_account("user-1", ALICE, None).await;
    let later = |lead: i64| {
        serde_json::json!({
            "mode": "inbox",
            "source": {"type": "url", "video_url": "https://media.example.com/v.mp4"},
            "publish_at": stack.clock.now() + lead,
        })
    };
    let (_, kept) = answer(&stack.post_publish("user-1", &later(130), None).await);
    let (_, dropped) = answer(&stack.post_publish("user-1", &later(600), None).await);
    let jwt = stack.jwt("user-1");
    let publish = |request| publish::handle(&stack.publish, request);
    let with_jwt = [("REPLACE_WITH_APP_JWT", jwt.as_str())];
    let (status, list) = run(
        &stack,
        "list-scheduled",
        publish,
        event("publish/list-scheduled.json", &with_jwt),
    )
    .await;
    assert_eq!(
        (status, list["posts"].as_array().map(Vec::len)),
        (200, Some(2))
    );
    let dropped_id = dropped["publish_id"].as_str().expect("id");
    let (status, _) = run(
        &stack,
        "cancel",
        publish,
        event(
            "publish/cancel.json",
            &[with_jwt[0], ("REPLACE_WITH_PUBLISH_ID", dropped_id)],
        ),
    )
    .await;
    assert_eq!(status, 204);

    stack.clock.advance(130);
    let path = format!(
        "{}/../events/scheduled-post/fire.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("event").replace(
        "REPLACE_WITH_SCHEDULED_ID",
        kept["publish_id"].as_str().expect("id"),
    );
    let report = stack
        .deliver_schedule(serde_json::from_str(&text).expect("JSON"))
        .await
        .expect("fired");
    assert_eq!(report["outcome"], "fired", "{report}");
    stack.assert_nothing_leaked().await;
}
