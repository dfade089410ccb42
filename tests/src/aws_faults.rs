//! A fault-injecting HTTP proxy between the stack's AWS clients and moto: every request is
//! forwarded as is, except those a test armed a rule for. A rule names an operation (from the
//! `X-Amz-Target` header, written as `AwsCallCounter` writes it: `DynamoDB.UpdateItem`,
//! `KMS.Encrypt`), how many matching requests to let through first, and how many to fail. Each
//! SDK try is one request, so a fault armed for 1 request is absorbed by the SDK's retries and one
//! armed for more than the retries is not.
//!
//! Real HTTP faults, not an interceptor: the SDK parses the throttling and 5xx error bodies,
//! times out on a silent connection, and sees a closed connection, exactly as in production.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What a matching request suffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsFault {
    /// HTTP 400 with the service's throttling error (DynamoDB
    /// `ProvisionedThroughputExceededException`, KMS and others `ThrottlingException`).
    Throttle,
    /// HTTP 500 `InternalServerError` (DynamoDB) or 503 `ServiceUnavailable` (KMS, others).
    Unavailable,
    /// The connection is closed without an answer; the request never reaches AWS.
    Drop,
    /// The request reaches AWS and takes effect, but the answer is lost (connection closed).
    LoseAnswer,
    /// No answer at all: the connection stays open until the client gives up.
    Hang,
    /// Forwarded after this delay, then answered normally.
    Delay(Duration),
}

impl AwsFault {
    pub fn name(self) -> &'static str {
        match self {
            AwsFault::Throttle => "throttle",
            AwsFault::Unavailable => "unavailable",
            AwsFault::Drop => "drop",
            AwsFault::LoseAnswer => "lose_answer",
            AwsFault::Hang => "hang",
            AwsFault::Delay(_) => "delay",
        }
    }
}

/// A fault that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub operation: String,
    pub fault: AwsFault,
}

#[derive(Debug)]
struct Rule {
    operation: String,
    pass: u32,
    remaining: u32,
    fault: AwsFault,
}

#[derive(Debug, Default)]
struct Inner {
    rules: Vec<Rule>,
    fired: Vec<Fired>,
    seen: BTreeMap<String, u32>,
}

/// Faults injected by every proxy of this test process.
static TOTAL_FIRED: AtomicU32 = AtomicU32::new(0);

pub fn total_fired() -> u32 {
    TOTAL_FIRED.load(Ordering::SeqCst)
}

/// Handle to a running proxy; clones share it. It serves as long as the tokio runtime lives.
#[derive(Debug, Clone)]
pub struct AwsFaults {
    inner: Arc<Mutex<Inner>>,
    endpoint: String,
}

impl AwsFaults {
    /// Listens on `127.0.0.1:0` and forwards to `upstream` (moto's endpoint URL).
    pub async fn start(upstream: &str) -> AwsFaults {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let inner = Arc::new(Mutex::new(Inner::default()));
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let upstream = upstream.trim_end_matches('/').to_owned();
        let state = Arc::clone(&inner);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, client, upstream) =
                    (Arc::clone(&state), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &state, &client, &upstream).await;
                });
            }
        });
        AwsFaults { inner, endpoint }
    }

    /// The URL to give the SDK as its endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The next `times` requests of `operation` suffer `fault`.
    pub fn fail(&self, operation: &str, fault: AwsFault, times: u32) {
        self.fail_after(operation, 0, fault, times);
    }

    /// After `pass` requests of `operation` went through, the next `times` suffer `fault`.
    pub fn fail_after(&self, operation: &str, pass: u32, fault: AwsFault, times: u32) {
        self.with(|s| {
            s.rules.push(Rule {
                operation: operation.to_owned(),
                pass,
                remaining: times,
                fault,
            })
        });
    }

    /// Removes every armed rule (faults already fired stay recorded).
    pub fn clear(&self) {
        self.with(|s| s.rules.clear());
    }

    /// The faults fired since the last `take_fired`.
    pub fn take_fired(&self) -> Vec<Fired> {
        self.with(|s| std::mem::take(&mut s.fired))
    }

    /// Requests seen for `operation` (faulted ones included).
    pub fn calls(&self, operation: &str) -> u32 {
        self.with(|s| s.seen.get(operation).copied().unwrap_or_default())
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

/// `DynamoDB_20120810.UpdateItem` → `DynamoDB.UpdateItem` (`AWSEvents.PutEvents` →
/// `Events.PutEvents`), as `AwsCallCounter` names them.
fn operation_name(target: &str) -> String {
    target
        .replace("DynamoDB_20120810.", "DynamoDB.")
        .replace("TrentService.", "KMS.")
        .replace("secretsmanager.", "SecretsManager.")
        .replace("AWSEvents.", "Events.")
}

fn decide(state: &Mutex<Inner>, operation: &str) -> Option<AwsFault> {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    *s.seen.entry(operation.to_owned()).or_default() += 1;
    let rule = s.rules.iter_mut().find(|r| r.operation == operation)?;
    if rule.pass > 0 {
        rule.pass -= 1;
        return None;
    }
    rule.remaining = rule.remaining.saturating_sub(1);
    let fault = rule.fault;
    s.rules.retain(|r| r.remaining > 0);
    s.fired.push(Fired {
        operation: operation.to_owned(),
        fault,
    });
    TOTAL_FIRED.fetch_add(1, Ordering::SeqCst);
    Some(fault)
}

/// One client connection: HTTP/1.1 requests with `Content-Length` bodies, kept alive.
async fn serve(
    stream: TcpStream,
    state: &Mutex<Inner>,
    client: &reqwest::Client,
    upstream: &str,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("GET").to_owned(),
            parts.next().unwrap_or("/").to_owned(),
        );
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let target = header("x-amz-target").unwrap_or_default();
        let operation = operation_name(&target);

        match decide(state, &operation) {
            Some(AwsFault::Drop) => return Ok(()),
            Some(AwsFault::Hang) => {
                // Until the client gives up and closes the connection.
                let mut sink = [0u8; 1024];
                while reader.read(&mut sink).await? > 0 {}
                return Ok(());
            }
            Some(fault @ (AwsFault::Throttle | AwsFault::Unavailable)) => {
                let (status, body) = error_answer(&target, fault);
                let content_type = if target.starts_with("DynamoDB") {
                    "application/x-amz-json-1.0"
                } else {
                    "application/x-amz-json-1.1"
                };
                write_answer(
                    reader.get_mut(),
                    status,
                    &[("content-type".into(), content_type.into())],
                    body.as_bytes(),
                )
                .await?;
            }
            other => {
                if let Some(AwsFault::Delay(delay)) = other {
                    tokio::time::sleep(delay).await;
                }
                let (status, answer_headers, answer) =
                    forward(client, upstream, &method, &path, &headers, body).await;
                if other == Some(AwsFault::LoseAnswer) {
                    return Ok(());
                }
                write_answer(reader.get_mut(), status, &answer_headers, &answer).await?;
            }
        }
    }
}

fn error_answer(target: &str, fault: AwsFault) -> (u16, String) {
    let dynamodb = target.starts_with("DynamoDB");
    let (status, kind, message) = match (fault, dynamodb) {
        (AwsFault::Throttle, true) => (
            400,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        (AwsFault::Throttle, false) => (400, "ThrottlingException", "Rate exceeded"),
        (_, true) => (
            500,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "Internal server error",
        ),
        (_, false) => (503, "ServiceUnavailable", "Service unavailable"),
    };
    (
        status,
        serde_json::json!({"__type": kind, "message": message}).to_string(),
    )
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut request = client.request(method, format!("{upstream}{path}"));
    for (name, value) in headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            request = request.header(name, value);
        }
    }
    match request.body(body).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter(|(name, _)| {
                    !matches!(
                        name.as_str(),
                        "content-length" | "connection" | "transfer-encoding"
                    )
                })
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let body = response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            (status, headers, body)
        }
        Err(_) => (502, Vec::new(), Vec::new()),
    }
}

async fn write_answer(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
