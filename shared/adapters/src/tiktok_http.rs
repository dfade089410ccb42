//! The reqwest adapter of `TikTokApi`: form-encoded OAuth calls, the v2 JSON API with its
//! mandatory trailing slashes, answers read up to a cap. What an answer means is decided by the
//! domain's pure parsers (`connect_domain::tiktok::wire`); docs/tiktok.md#quirks.

use connect_domain::ids::PublishId;
use url::Url;

use connect_domain::budget::{TIKTOK_CONNECT_TIMEOUT, TIKTOK_REQUEST_TIMEOUT};
use connect_domain::scope::ScopeSet;
use connect_domain::secret::{
    AccessToken, AuthorizationCode, ClientSecret, CodeVerifier, RefreshToken,
};
use connect_domain::tiktok::posting::{self, CreatorInfo, InitAnswer, PublishInit, PublishStatus};
use connect_domain::tiktok::wire::{self, RawAnswer};
use connect_domain::tiktok::{Profile, TikTokApi, TikTokError, TokenGrant, Video, VideoPage};

const TOKEN_PATH: &str = "/v2/oauth/token/";
const REVOKE_PATH: &str = "/v2/oauth/revoke/";
const USER_INFO_PATH: &str = "/v2/user/info/";
const VIDEO_LIST_PATH: &str = "/v2/video/list/";
const VIDEO_QUERY_PATH: &str = "/v2/video/query/";
/// Every video field our `Video` carries; `/v2/video/list/` needs `video.list` only.
const VIDEO_FIELDS: &str = "id,title,video_description,create_time,cover_image_url,share_url,embed_link,duration,width,height,like_count,comment_count,share_count,view_count,is_aigc";
/// TikTok's answers are small; anything larger is not TikTok.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// Where TikTok's API is, and the app's credentials for its OAuth calls.
#[derive(Debug, Clone)]
pub struct TikTokHttpConfig {
    /// API base such as `https://open.tiktokapis.com` (no trailing slash).
    pub api_url: Url,
    /// The app's client key (`TIKTOK_CLIENT_KEY`), sent as `client_key` (not `client_id`).
    pub client_key: String,
    /// The app's client secret (from Secrets Manager); sent only in the form bodies of the token
    /// and revoke calls.
    pub client_secret: ClientSecret,
}

/// TLS for TikTok's API: rustls over aws-lc-rs (the provider the AWS SDK uses too), TLS 1.2 and
/// 1.3, trusting Mozilla's root certificates compiled into the binary. reqwest's default would
/// load and parse the system's certificate store at every cold start, a second time after the
/// AWS SDK's client: about 7 ms of init (`make bench-cold`, docs/operations.md#cold-start).
/// TikTok's certificates chain to a public root, which is all this client ever connects to.
fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc-rs supports TLS 1.2 and 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth()
}

/// Talks to TikTok over HTTPS. Cheap to clone; build one per cold start.
#[derive(Debug, Clone)]
pub struct TikTokHttp {
    http: reqwest::Client,
    config: TikTokHttpConfig,
}

/// Sends a v2 API request with the user's token and a JSON body, and reads the answer.
async fn send_json(
    request: reqwest::RequestBuilder,
    token: &AccessToken,
    body: &serde_json::Value,
) -> Result<RawAnswer, TikTokError> {
    let response = request.bearer_auth(token.secret()).json(body).send().await;
    read_answer(response).await
}

impl TikTokHttp {
    /// POSTs a video list or query with the video fields this service shows.
    async fn video_call(
        &self,
        path: &str,
        token: &AccessToken,
        body: &serde_json::Value,
    ) -> Result<RawAnswer, TikTokError> {
        let request = self
            .http
            .post(self.endpoint(path))
            .query(&[("fields", VIDEO_FIELDS)]);
        send_json(request, token, body).await
    }

    /// Builds the HTTP client: rustls, no redirects followed (TikTok never redirects its API, and a
    /// redirect would carry our form body elsewhere), bounded timeouts.
    pub fn new(config: TikTokHttpConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(TIKTOK_CONNECT_TIMEOUT)
            .timeout(TIKTOK_REQUEST_TIMEOUT)
            .user_agent(concat!("tiktok-connect/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, config })
    }

    fn endpoint(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.config.api_url.as_str().trim_end_matches('/')
        )
    }

    /// A v2 API call with a JSON body and the user's token.
    async fn post_json(
        &self,
        path: &str,
        token: &AccessToken,
        body: &serde_json::Value,
    ) -> Result<RawAnswer, TikTokError> {
        send_json(self.http.post(self.endpoint(path)), token, body).await
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<RawAnswer, TikTokError> {
        let response = self
            .http
            .post(self.endpoint(path))
            .header(reqwest::header::CACHE_CONTROL, "no-cache")
            .form(form)
            .send()
            .await;
        read_answer(response).await
    }
}

/// Reads an answer piece by piece and stops at the cap: a huge or endless answer costs at most
/// MAX_BODY_BYTES of memory and no more time than it took to send them.
async fn read_answer(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<RawAnswer, TikTokError> {
    let mut response = response.map_err(transport_error)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let too_large = || TikTokError::Unexpected {
        detail: "answer too large",
        status,
        log_id: wire::header_log_id(&headers),
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawAnswer {
        status,
        headers,
        body,
    })
}

fn transport_error(err: reqwest::Error) -> TikTokError {
    // reqwest's message names the URL; ours never carry secrets, but the detail is fixed text anyway.
    let detail = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "connection broken"
    };
    TikTokError::Unavailable {
        detail,
        status: None,
        log_id: None,
    }
}

impl TikTokApi for TikTokHttp {
    async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        verifier: Option<&CodeVerifier>,
        redirect_uri: &str,
    ) -> Result<TokenGrant, TikTokError> {
        let mut form = vec![
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", self.config.client_secret.secret()),
            ("code", code.secret()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier.secret()));
        }
        let answer = self.post_form(TOKEN_PATH, &form).await?;
        wire::parse_token_answer(&answer)
    }

    async fn refresh(&self, refresh_token: &RefreshToken) -> Result<TokenGrant, TikTokError> {
        let form = [
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", self.config.client_secret.secret()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.secret()),
        ];
        let answer = self.post_form(TOKEN_PATH, &form).await?;
        wire::parse_token_answer(&answer)
    }

    async fn revoke(&self, token: &AccessToken) -> Result<(), TikTokError> {
        let form = [
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", self.config.client_secret.secret()),
            ("token", token.secret()),
        ];
        let answer = self.post_form(REVOKE_PATH, &form).await?;
        wire::parse_revoke_answer(&answer)
    }

    async fn fetch_profile(
        &self,
        token: &AccessToken,
        scopes: &ScopeSet,
    ) -> Result<Profile, TikTokError> {
        let response = self
            .http
            .get(self.endpoint(USER_INFO_PATH))
            .query(&[("fields", wire::profile_fields(scopes).join(","))])
            .bearer_auth(token.secret())
            .send()
            .await;
        let answer = read_answer(response).await?;
        wire::parse_user_info_answer(&answer)
    }

    async fn list_videos(
        &self,
        token: &AccessToken,
        cursor: Option<i64>,
        max_count: u8,
    ) -> Result<VideoPage, TikTokError> {
        // No cursor on the first page: TikTok reads `0` as the epoch and returns nothing.
        let mut body = serde_json::json!({ "max_count": max_count });
        if let Some(cursor) = cursor {
            body["cursor"] = cursor.into();
        }
        let answer = self.video_call(VIDEO_LIST_PATH, token, &body).await?;
        wire::parse_video_list_answer(&answer)
    }

    async fn query_videos(
        &self,
        token: &AccessToken,
        ids: &[String],
    ) -> Result<Vec<Video>, TikTokError> {
        let body = serde_json::json!({ "filters": { "video_ids": ids } });
        let answer = self.video_call(VIDEO_QUERY_PATH, token, &body).await?;
        wire::parse_video_query_answer(&answer)
    }

    async fn creator_info(&self, token: &AccessToken) -> Result<CreatorInfo, TikTokError> {
        let answer = self
            .post_json(posting::CREATOR_INFO_PATH, token, &serde_json::json!({}))
            .await?;
        posting::parse_creator_info_answer(&answer)
    }

    async fn init_publish(
        &self,
        token: &AccessToken,
        init: &PublishInit,
    ) -> Result<InitAnswer, TikTokError> {
        let answer = self.post_json(init.path(), token, &init.body()).await?;
        posting::parse_init_answer(&answer)
    }

    async fn publish_status(
        &self,
        token: &AccessToken,
        publish_id: &PublishId,
    ) -> Result<PublishStatus, TikTokError> {
        let body = serde_json::json!({ "publish_id": publish_id });
        let answer = self.post_json(posting::STATUS_PATH, token, &body).await?;
        posting::parse_status_answer(&answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers every connection with a chunked 200 that never ends; returns its
    /// address and a counter of the bytes it managed to send.
    async fn endless_server() -> (
        std::net::SocketAddr,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = sent.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut head = [0u8; 4096];
                    let _ = socket.read(&mut head).await;
                    let start = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                    if socket.write_all(start.as_bytes()).await.is_err() {
                        return;
                    }
                    let piece = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
                    while socket.write_all(piece.as_bytes()).await.is_ok() {
                        counter.fetch_add(16 * 1024, Ordering::SeqCst);
                    }
                });
            }
        });
        (addr, sent)
    }

    #[tokio::test]
    async fn an_endless_answer_is_cut_at_the_cap_not_read_to_the_timeout() {
        let (addr, sent) = endless_server().await;
        let http = TikTokHttp::new(TikTokHttpConfig {
            api_url: Url::parse(&format!("http://{addr}")).expect("url"),
            client_key: "ck".into(),
            client_secret: ClientSecret::new("cs"),
        })
        .expect("client");
        let started = std::time::Instant::now();
        let result = http
            .post_form("/v2/oauth/token/", &[("grant_type", "refresh_token")])
            .await;
        assert!(
            matches!(
                result,
                Err(TikTokError::Unexpected {
                    detail: "answer too large",
                    ..
                })
            ),
            "refused as too large, not after the 6 s timeout"
        );
        assert!(
            started.elapsed() < TIKTOK_REQUEST_TIMEOUT / 2,
            "stopped at the cap: {:?}",
            started.elapsed()
        );
        let sent = sent.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            sent < 64 * MAX_BODY_BYTES,
            "read stopped early ({sent} bytes sent)"
        );
    }
}
