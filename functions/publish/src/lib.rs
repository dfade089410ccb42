//! `GET /tiktok/publish/creator-info[?open_id=]`, `POST /tiktok/publish` (with an optional
//! `Idempotency-Key`) and `GET /tiktok/publish/{publish_id}[?cached=true]`: post a video to
//! TikTok and follow it. This crate routes and wires; the rules are `connect_services::publish`.

use connect_adapters::DynamoPublishStore;
use connect_domain::clock::Clock;
use connect_domain::ports::Ports;
use connect_domain::store::PublishStore;
use connect_http::api_error::{self, ApiError};
use connect_http::handler::{self, UserApi};
use connect_http::response;
use connect_runtime::cold_start::{ColdStart, Live, StartError};
use connect_services::publish::{
    PublishRequest, creator_info, parse_idempotency_key, start, status,
};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt as _, Response};

/// The function over the real adapters.
pub type LivePublishApi<K> = PublishApi<Live<K>, DynamoPublishStore>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(cold: &ColdStart, clock: K) -> Result<LivePublishApi<K>, StartError> {
    Ok(PublishApi {
        user: cold.user_api(clock)?,
        store: cold.publishes(),
        media_url_prefixes: cold.config.media_url_prefixes.clone(),
    })
}

/// Routes, checks method and JWT, and answers (errors as their JSON response).
pub async fn handle<P: Ports, S>(
    api: &PublishApi<P, S>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    S: PublishStore,
{
    Ok(api.respond(&request).await)
}

/// What the `publish` function builds once per cold start.
pub struct PublishApi<P: Ports, S> {
    pub user: UserApi<P>,
    pub store: S,
    /// `MEDIA_URL_PREFIXES`: the verified prefixes media URLs are checked against here.
    pub media_url_prefixes: Vec<String>,
}

/// The route of a request to the `publish` function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /tiktok/publish`
    Start,
    /// `GET /tiktok/publish/creator-info`
    CreatorInfo,
    /// `GET /tiktok/publish/{publish_id}`
    Status(String),
}

impl Route {
    /// From API Gateway's `publish_id` path parameter, or else the path after the first
    /// `publish` segment (`cargo lambda watch` has no routes).
    pub fn of(path_parameter: Option<&str>, raw_path: &str) -> Result<Self, ApiError> {
        if let Some(id) = path_parameter {
            return Ok(Self::Status(id.to_owned()));
        }
        let segments = handler::path_segments(raw_path);
        let rest = match segments.iter().position(|s| *s == "publish") {
            Some(at) => &segments[at + 1..],
            None => &segments[..],
        };
        match rest {
            [] => Ok(Self::Start),
            ["creator-info"] => Ok(Self::CreatorInfo),
            [raw] => handler::decode_segment(raw, "publish_id").map(Self::Status),
            _ => Err(ApiError::invalid_request(
                "the path must be /tiktok/publish, /tiktok/publish/creator-info or /tiktok/publish/{publish_id}".into(),
            )),
        }
    }

    /// The one method each route answers.
    pub fn method(&self) -> (&'static Method, &'static str) {
        match self {
            Self::Start => (&Method::POST, "POST"),
            Self::CreatorInfo | Self::Status(_) => (&Method::GET, "GET"),
        }
    }
}

impl<P: Ports, S> PublishApi<P, S>
where
    S: PublishStore,
{
    /// Routes, checks method and JWT, and answers (errors as their JSON response).
    pub async fn respond(&self, request: &Request) -> Response<Body> {
        handler::respond(self.route(request).await)
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let route = Route::of(
            request.path_parameters().first("publish_id"),
            request.raw_http_path(),
        )?;
        let (method, allow) = route.method();
        if request.method() != method {
            return Err(ApiError::MethodNotAllowed(allow));
        }
        let user = handler::app_user(&self.user.jwt, request)?;
        let query = handler::query(request)?;
        let keeper = &self.user.keeper;
        let deadline = handler::deadline();
        match route {
            Route::CreatorInfo => {
                let info = creator_info(keeper, &self.store, &user, &query, deadline).await?;
                Ok(response::json(StatusCode::OK, &info))
            }
            Route::Status(publish_id) => {
                let view =
                    status(keeper, &self.store, &user, &publish_id, &query, deadline).await?;
                Ok(response::json(StatusCode::OK, &view))
            }
            Route::Start => {
                query.only(&[]).map_err(ApiError::invalid_request)?;
                let key = parse_idempotency_key(
                    request
                        .headers()
                        .get("idempotency-key")
                        .map(|v| v.as_bytes()),
                )?;
                let post = PublishRequest::parse(request.body())?;
                post.check_url_prefixes(&self.media_url_prefixes)?;
                let answer = start(
                    keeper,
                    &self.store,
                    &user,
                    key,
                    &post,
                    deadline,
                    api_error::rendered,
                )
                .await?;
                let mut response = response::json(answer.status, &answer.body);
                if answer.replayed {
                    response
                        .headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                }
                Ok(response)
            }
        }
    }
}
