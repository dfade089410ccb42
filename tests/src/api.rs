//! Calling `user-info`, `video-list` and `accounts` the way an app's back end does: API Gateway
//! events with the app JWT, through each function's own handler.

use lambda_http::{Body, Response};

use crate::flow::{ConsentChoice, api_event_with_body, body_json, param};
use crate::logs;
use crate::stack::Stack;

impl Stack {
    fn bearer(&self, app_user: &str) -> String {
        format!("Bearer {}", self.jwt(app_user))
    }

    /// `GET /tiktok/me?<raw_query>` as `app_user`.
    pub async fn get_me(&self, app_user: &str, raw_query: &str) -> Response<Body> {
        let bearer = self.bearer(app_user);
        self.send(
            "GET",
            "/tiktok/me",
            raw_query,
            &[("authorization", &bearer)],
        )
        .await
    }

    /// `GET /tiktok/videos?<raw_query>` as `app_user`.
    pub async fn get_videos(&self, app_user: &str, raw_query: &str) -> Response<Body> {
        let bearer = self.bearer(app_user);
        self.send(
            "GET",
            "/tiktok/videos",
            raw_query,
            &[("authorization", &bearer)],
        )
        .await
    }

    /// `GET /tiktok/accounts` as `app_user`.
    pub async fn get_accounts(&self, app_user: &str) -> Response<Body> {
        let bearer = self.bearer(app_user);
        self.send("GET", "/tiktok/accounts", "", &[("authorization", &bearer)])
            .await
    }

    /// `DELETE /tiktok/accounts/{open_id}` as `app_user`, the way `cargo lambda watch` delivers
    /// it (no route, so the id comes from the path).
    pub async fn delete_account(&self, app_user: &str, open_id: &str) -> Response<Body> {
        let bearer = self.bearer(app_user);
        self.send(
            "DELETE",
            &format!("/tiktok/accounts/{open_id}"),
            "",
            &[("authorization", &bearer)],
        )
        .await
    }

    /// Any request to any route, as API Gateway would route it, with the caller's own headers;
    /// checked like the others (JSON or empty, no secret, the handler never fails).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        raw_query: &str,
        headers: &[(&str, &str)],
    ) -> Response<Body> {
        self.send_body(method, path, raw_query, headers, None).await
    }

    /// [`Stack::send`] with a request body.
    pub async fn send_body(
        &self,
        method: &str,
        path: &str,
        raw_query: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response<Body> {
        let event = api_event_with_body(method, path, raw_query, headers, body);
        let result = match path {
            "/tiktok/authorize" => authorize::handle(&self.authorize, event).await,
            "/tiktok/callback" => callback::handle(&self.callback, event).await,
            "/tiktok/me" => user_info::handle(&self.api, event).await,
            "/tiktok/videos" => video_list::handle(&self.api, event).await,
            _ if path.starts_with("/tiktok/accounts")
                || path.starts_with("/tiktok/connections") =>
            {
                accounts::handle(&self.accounts_api, event).await
            }
            _ if path.starts_with("/tiktok/publish") => publish::handle(&self.publish, event).await,
            "/tiktok/webhook" => webhook::handle(self.webhook.as_ref(), event).await,
            other => panic!("no function serves {other}"),
        };
        self.checked(result)
    }

    /// Every answer is JSON (or empty) and carries no secret; the handler never fails.
    fn checked(&self, result: Result<Response<Body>, lambda_http::Error>) -> Response<Body> {
        let response = result.expect("handlers answer every request");
        let text = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Empty => String::new(),
            other => panic!("unexpected body {other:?}"),
        };
        if !text.is_empty() {
            assert_eq!(
                response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/json")
            );
        }
        logs::assert_absent(&text, &self.secrets(), "a response body");
        response
    }

    /// Connects `account` for `app_user`, granting `granted` (every requested scope if `None`).
    pub async fn connect_account(
        &self,
        app_user: &str,
        account: &'static str,
        granted: Option<Vec<&'static str>>,
    ) {
        let choice = ConsentChoice {
            account,
            granted,
            approve: true,
        };
        let location = self.connect(app_user, "", &choice).await;
        let confirmed = self.confirm_connection(app_user, &location).await;
        assert_eq!(confirmed.status(), 200, "{:?}", body_json(&confirmed));
    }

    /// The whole connect for `app_user`, confirmed by the same user; the confirm's answer.
    pub async fn connect_confirmed(
        &self,
        app_user: &str,
        authorize_query: &str,
        choice: &ConsentChoice,
    ) -> serde_json::Value {
        let location = self.connect(app_user, authorize_query, choice).await;
        self.confirmed(app_user, &location).await
    }

    /// Confirms as `app_user` the connection the callback sent the app to `location` with,
    /// asserting a `200`; the confirmed account as the answer shows it.
    pub async fn confirmed(&self, app_user: &str, location: &url::Url) -> serde_json::Value {
        let response = self.confirm_connection(app_user, location).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{body}");
        body
    }

    /// `POST /tiktok/connections/{connection_id}/confirm` as `app_user`, for the connection the
    /// callback sent the app to `location` with (asserting it did: `tiktok=pending`).
    pub async fn confirm_connection(&self, app_user: &str, location: &url::Url) -> Response<Body> {
        assert_eq!(
            param(location, "tiktok").as_deref(),
            Some("pending"),
            "{location}"
        );
        let id = param(location, "connection_id").expect("connection_id");
        let bearer = self.bearer(app_user);
        self.send(
            "POST",
            &format!("/tiktok/connections/{id}/confirm"),
            "",
            &[("authorization", &bearer)],
        )
        .await
    }
}

/// The status and JSON body of a response (`Null` for an empty one).
pub fn answer(response: &Response<Body>) -> (u16, serde_json::Value) {
    (response.status().as_u16(), body_json(response))
}
