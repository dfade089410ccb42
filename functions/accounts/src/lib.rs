//! The app user's TikTok accounts and the connections waiting for them:
//! - `GET /tiktok/accounts` lists the accounts; `DELETE /tiktok/accounts/{open_id}` revokes one at
//!   TikTok and forgets it;
//! - `POST /tiktok/connections/{connection_id}/confirm` commits the grant the callback received,
//!   `DELETE /tiktok/connections/{connection_id}` cancels it (and revokes it at TikTok).
//!
//! A disconnect also cancels the account's scheduled posts (`account_disconnected`).

use connect_adapters::DynamoPublishStore;
use connect_domain::clock::Clock as _;
use connect_domain::ports::Ports;
use connect_domain::store::{PendingConnectionStore, ScheduleStore};
use connect_http::api_error::ApiError;
use connect_http::handler::{self, UserApi};
use connect_runtime::cold_start::{ColdStart, Live, StartError};
use connect_services::publish::scheduled;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt as _, Response};

/// What the `accounts` function builds once per cold start.
pub struct AccountsApi<P: Ports, S> {
    /// The token keeper and the app JWT verifier.
    pub user: UserApi<P>,
    /// The scheduled posts a disconnect cancels.
    pub posts: S,
}

/// The function over the real adapters.
pub type LiveAccountsApi<K> = AccountsApi<Live<K>, DynamoPublishStore>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: connect_domain::clock::Clock>(
    cold: &ColdStart,
    clock: K,
) -> Result<LiveAccountsApi<K>, StartError> {
    Ok(AccountsApi {
        user: cold.user_api(clock)?,
        posts: cold.publishes(),
    })
}

/// Answers one request (errors as their JSON response).
pub async fn handle<P: Ports, S: ScheduleStore>(
    api: &AccountsApi<P, S>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    P::Accounts: PendingConnectionStore,
{
    Ok(handler::respond(respond(api, &request).await))
}

/// What a request to this function is about.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `/tiktok/accounts`
    Accounts,
    /// `/tiktok/accounts/{open_id}`
    Account(String),
    /// `/tiktok/connections/{connection_id}`
    Connection(String),
    /// `/tiktok/connections/{connection_id}/confirm`
    Confirm(String),
}

async fn respond<P: Ports, S: ScheduleStore>(
    accounts_api: &AccountsApi<P, S>,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    P::Accounts: PendingConnectionStore,
{
    let api = &accounts_api.user;
    let route = route(request)?;
    // Each route answers one method (RFC 9110 §15.5.6).
    let allowed = match route {
        Route::Accounts => Method::GET,
        Route::Account(_) | Route::Connection(_) => Method::DELETE,
        Route::Confirm(_) => Method::POST,
    };
    if request.method() != allowed {
        return Err(ApiError::MethodNotAllowed(match allowed {
            Method::GET => "GET",
            Method::POST => "POST",
            _ => "DELETE",
        }));
    }
    let user = handler::app_user(&api.jwt, request)?;
    handler::query(request)?
        .only(&[])
        .map_err(ApiError::invalid_request)?;
    let keeper = &api.keeper;
    match route {
        Route::Accounts => {
            let list = connect_services::accounts::list(&keeper.accounts, &user).await?;
            Ok(connect_http::response::json(StatusCode::OK, &list))
        }
        Route::Account(open_id) => {
            let open_id = connect_services::accounts::parse_open_id(&open_id)?;
            connect_services::accounts::disconnect(keeper, &user, &open_id, handler::deadline())
                .await?;
            // Its waiting posts would fail at their time anyway; cancelled now, the listing and
            // the app's events say so at once. A failure here leaves that to the firing.
            if let Err(e) = scheduled::cancel_for_account(
                &accounts_api.posts,
                &keeper.events,
                user.as_str(),
                &open_id,
                "account_disconnected",
                keeper.clock.now(),
            )
            .await
            {
                tracing::warn!(error = ?e, "could not cancel the disconnected account's scheduled posts");
            }
            Ok(connect_http::response::no_content())
        }
        Route::Confirm(id) => {
            let key = connect_services::pending::parse_connection_id(&id)?;
            let confirmed =
                connect_services::pending::confirm(keeper, &user, &key, handler::deadline())
                    .await?;
            Ok(connect_http::response::json(StatusCode::OK, &confirmed))
        }
        Route::Connection(id) => {
            let key = connect_services::pending::parse_connection_id(&id)?;
            connect_services::pending::cancel(keeper, &user, &key, handler::deadline()).await?;
            Ok(connect_http::response::no_content())
        }
    }
}

/// The route from API Gateway's path parameters, or else from the path: `cargo lambda watch` has
/// no routes and passes what follows the function's name (`/`, `/{open_id}`,
/// `/connections/{connection_id}[/confirm]`, as `scripts/gateway.py` forwards them).
fn route(request: &Request) -> Result<Route, ApiError> {
    let parameters = request.path_parameters();
    let confirm = request.raw_http_path().ends_with("/confirm");
    if let Some(id) = parameters.first("connection_id") {
        let id = id.to_owned();
        return Ok(if confirm {
            Route::Confirm(id)
        } else {
            Route::Connection(id)
        });
    }
    if let Some(open_id) = parameters.first("open_id") {
        return Ok(Route::Account(open_id.to_owned()));
    }
    let path = request.raw_http_path();
    let segments = handler::path_segments(path);
    let rest = match segments.as_slice() {
        ["tiktok", rest @ ..] => rest,
        rest => rest,
    };
    let decode = |raw: &str| handler::decode_segment(raw, "the path");
    match rest {
        [] | ["accounts"] => Ok(Route::Accounts),
        ["connections", id] => Ok(Route::Connection(decode(id)?)),
        ["connections", id, "confirm"] => Ok(Route::Confirm(decode(id)?)),
        ["accounts", open_id] | [open_id] => Ok(Route::Account(decode(open_id)?)),
        _ => Err(ApiError::invalid_request(
            "the path must be /tiktok/accounts[/{open_id}] or /tiktok/connections/{connection_id}[/confirm]"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request for `path` as `cargo lambda watch` delivers it (no route, no path parameters).
    fn at(path: &str) -> Request {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"host": "localhost"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "localhost",
                "domainPrefix": "localhost", "requestId": "r", "routeKey": "$default",
                "stage": "$default", "time": "02/Dec/2026:00:00:00 +0000", "timeEpoch": 0,
                "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "t"}
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("event")
    }

    #[test]
    fn routes_come_from_the_path_when_there_are_no_parameters() {
        let cases = [
            ("/", Route::Accounts),
            ("/tiktok/accounts", Route::Accounts),
            ("/open-1", Route::Account("open-1".into())),
            ("/tiktok/accounts/open%201", Route::Account("open 1".into())),
            ("/connections", Route::Account("connections".into())),
            ("/connections/c1", Route::Connection("c1".into())),
            (
                "/tiktok/connections/c1/confirm",
                Route::Confirm("c1".into()),
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(route(&at(path)).expect(path), expected, "{path}");
        }
        for bad in [
            "/a/b",
            "/connections/c1/other",
            "/tiktok/connections/c1/confirm/x",
        ] {
            assert!(route(&at(bad)).is_err(), "{bad}");
        }
    }
}
