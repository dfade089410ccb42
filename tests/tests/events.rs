//! The sample events in `events/` (used with `cargo lambda invoke --data-file` and in the README)
//! parse as real API Gateway events and produce the documented answers.

use integration_tests::flow::{body_json, header, param};
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
