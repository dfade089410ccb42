//! The router: TikTok's endpoints (each wrapped in the fault/counting layer), the control API,
//! and TikTok's gateway 404 for everything else.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};

use crate::faults::{Endpoint, endpoint_layer};
use crate::state::AppState;
use crate::wire::{janus, log_id_layer};
use crate::{authorize, control, display, oauth, photo, posting, upload};

pub(crate) fn router(app: AppState) -> Router {
    let layer = |endpoint: Endpoint| from_fn_with_state((app.clone(), endpoint), endpoint_layer);
    let tiktok = Router::new()
        .route(
            "/v2/auth/authorize/",
            get(authorize::authorize).route_layer(layer(Endpoint::Authorize)),
        )
        .route(
            "/v2/auth/authorize/consent/",
            post(authorize::consent).route_layer(layer(Endpoint::Authorize)),
        )
        .route(
            "/v2/oauth/token/",
            post(oauth::token).route_layer(layer(Endpoint::Token)),
        )
        .route(
            "/v2/oauth/revoke/",
            post(oauth::revoke).route_layer(layer(Endpoint::Revoke)),
        )
        .route(
            "/v2/user/info/",
            get(display::user_info).route_layer(layer(Endpoint::UserInfo)),
        )
        .route(
            "/v2/video/list/",
            post(display::video_list).route_layer(layer(Endpoint::VideoList)),
        )
        .route(
            "/v2/video/query/",
            post(display::video_query).route_layer(layer(Endpoint::VideoQuery)),
        )
        .route(
            "/v2/post/publish/creator_info/query/",
            post(posting::creator_info).route_layer(layer(Endpoint::CreatorInfo)),
        )
        .route(
            "/v2/post/publish/video/init/",
            post(posting::video_init).route_layer(layer(Endpoint::VideoInit)),
        )
        .route(
            "/v2/post/publish/inbox/video/init/",
            post(posting::inbox_init).route_layer(layer(Endpoint::VideoInit)),
        )
        .route(
            "/v2/post/publish/content/init/",
            post(photo::content_init).route_layer(layer(Endpoint::VideoInit)),
        )
        .route(
            "/v2/post/publish/status/fetch/",
            post(posting::status_fetch).route_layer(layer(Endpoint::StatusFetch)),
        )
        .route(
            "/v2/post/publish/cancel/",
            post(posting::cancel).route_layer(layer(Endpoint::PublishCancel)),
        )
        .route(
            "/upload/",
            put(upload::upload)
                .route_layer(layer(Endpoint::Upload))
                .layer(DefaultBodyLimit::max(upload::BODY_LIMIT)),
        )
        .with_state(app.clone());
    tiktok
        .merge(control::router(app.clone()))
        // A wrong method, a missing trailing slash or an unknown path: TikTok's gateway 404.
        .method_not_allowed_fallback(janus)
        .fallback(janus)
        .layer(from_fn_with_state(app, log_id_layer))
}
