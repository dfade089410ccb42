//! `GET /tiktok/publish/creator-info[?open_id=]`, `POST /tiktok/publish` (with an optional
//! `Idempotency-Key`; `publish_at` schedules it), `GET /tiktok/publish` (the app user's posts),
//! `GET /tiktok/publish/{publish_id}[?cached=true]` and `DELETE /tiktok/publish/{publish_id}` (a
//! scheduled post): post a video or photos to TikTok, now or later, and follow it. This crate routes and wires; the rules are `connect_services::publish`.

use connect_adapters::{DynamoPublishStore, EventBridgeScheduler};
use connect_domain::clock::Clock;
use connect_domain::ports::Ports;
use connect_domain::scheduler::PostScheduler;
use connect_domain::store::{PublishStore, ScheduleStore};
use connect_http::api_error::{self, ApiError};
use connect_http::handler::{self, UserApi};
use connect_http::response;
use connect_runtime::cold_start::{ColdStart, Live, StartError};
use connect_services::publish::{
    PublishRequest, creator_info, parse_idempotency_key, scheduled, start, status,
};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt as _, Response};

/// The function over the real adapters.
pub type LivePublishApi<K> = PublishApi<Live<K>, DynamoPublishStore, EventBridgeScheduler>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(cold: &ColdStart, clock: K) -> Result<LivePublishApi<K>, StartError> {
    Ok(PublishApi {
        user: cold.user_api(clock)?,
        store: cold.publishes(),
        scheduler: cold.scheduler(),
        media_url_prefixes: cold.config.media_url_prefixes.clone(),
    })
}

/// Routes, checks method and JWT, and answers (errors as their JSON response).
pub async fn handle<P: Ports, S, Q>(
    api: &PublishApi<P, S, Q>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    S: PublishStore + ScheduleStore,
    Q: PostScheduler,
{
    Ok(api.respond(&request).await)
}

/// What the `publish` function builds once per cold start.
pub struct PublishApi<P: Ports, S, Q> {
    pub user: UserApi<P>,
    pub store: S,
    /// Scheduled posts' schedules; `None` when the stack has none (`publish_at` refused).
    pub scheduler: Option<Q>,
    /// `MEDIA_URL_PREFIXES`: the verified prefixes media URLs are checked against here.
    pub media_url_prefixes: Vec<String>,
}

/// The route of a request to the `publish` function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /tiktok/publish` (start or schedule a post), `GET /tiktok/publish` (list posts)
    Posts,
    /// `GET /tiktok/publish/creator-info`
    CreatorInfo,
    /// `GET /tiktok/publish/{publish_id}` (status), `DELETE` (cancel a scheduled post)
    Post(String),
}

impl Route {
    /// From API Gateway's `publish_id` path parameter, or else the path after the first
    /// `publish` segment (`cargo lambda watch` has no routes).
    pub fn of(path_parameter: Option<&str>, raw_path: &str) -> Result<Self, ApiError> {
        if let Some(id) = path_parameter {
            return Ok(Self::Post(id.to_owned()));
        }
        let segments = handler::path_segments(raw_path);
        let rest = match segments.iter().position(|s| *s == "publish") {
            Some(at) => &segments[at + 1..],
            None => &segments[..],
        };
        match rest {
            [] => Ok(Self::Posts),
            ["creator-info"] => Ok(Self::CreatorInfo),
            [raw] => handler::decode_segment(raw, "publish_id").map(Self::Post),
            _ => Err(ApiError::invalid_request(
                "the path must be /tiktok/publish, /tiktok/publish/creator-info or /tiktok/publish/{publish_id}".into(),
            )),
        }
    }

    /// The methods each route answers, as the `Allow` header lists them.
    pub fn allow(&self) -> &'static str {
        match self {
            Self::Posts => "GET, POST",
            Self::CreatorInfo => "GET",
            Self::Post(_) => "DELETE, GET",
        }
    }
}

impl<P: Ports, S, Q> PublishApi<P, S, Q>
where
    S: PublishStore + ScheduleStore,
    Q: PostScheduler,
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
        let method = request.method();
        let allowed = match &route {
            Route::Posts => method == Method::GET || method == Method::POST,
            Route::CreatorInfo => method == Method::GET,
            Route::Post(_) => method == Method::GET || method == Method::DELETE,
        };
        if !allowed {
            return Err(ApiError::MethodNotAllowed(route.allow()));
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
            Route::Post(publish_id) if method == Method::DELETE => {
                query.only(&[]).map_err(ApiError::invalid_request)?;
                scheduled::cancel(
                    &self.store,
                    self.scheduler.as_ref(),
                    &keeper.events,
                    &user,
                    &publish_id,
                    keeper.clock.now(),
                )
                .await?;
                Ok(response::no_content())
            }
            Route::Post(publish_id) => {
                let view =
                    status(keeper, &self.store, &user, &publish_id, &query, deadline).await?;
                Ok(response::json(StatusCode::OK, &view))
            }
            Route::Posts if method == Method::GET => {
                let list = scheduled::list(&self.store, &user, &query).await?;
                Ok(response::json(StatusCode::OK, &list))
            }
            Route::Posts => {
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
                    self.scheduler.as_ref(),
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
