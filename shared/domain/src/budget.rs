//! Time budgets: how long each AWS and TikTok call may take, and how they add up inside each
//! function's timeout. The runtime crate configures the SDK clients from these numbers; the
//! domain plans its calls (leases, refreshes, the callback) with them.

use std::time::Duration;

/// Time to open a connection to TikTok.
pub const TIKTOK_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One TikTok call, connect included. With the connect timeout it must fit the function's timeout.
pub const TIKTOK_REQUEST_TIMEOUT: Duration = Duration::from_secs(6);

// Time limits of every AWS call (DynamoDB, KMS, Secrets Manager), so that a slow or unreachable AWS
// answers with an error the caller can report, well inside the function's timeout, instead of the
// function being killed mid-request. DynamoDB and KMS answer in milliseconds when healthy.
//
// One AWS call (an "operation") is at most AWS_OPERATION_TIMEOUT = 2 s, retries included:
//   attempt 1 (≤ 1 s: connect ≤ 1 s is part of it) + backoff (≤ 0.5 s) + attempt 2, cut at 2 s;
//   a fast failure (throttling, 5xx, reset connection) is tried AWS_MAX_ATTEMPTS = 3 times:
//   3 × tens of ms + 2 backoffs ≤ 2 × 0.5 s, well under 2 s.
// With TikTok's 6 s per call (2 s connect inside it, `TIKTOK_REQUEST_TIMEOUT`):
//
// callback (Timeout 20 s): DeleteItem state + Decrypt PKCE verifier + TikTok code exchange +
//   Encrypt tokens + PutItem pending connection = 4 × 2 s + 6 s = 14 s (the ownership write
//   moved to the confirm; the checks still allow a fifth AWS call: 16 s)
//   ≤ CALLBACK_BUDGET (18 s; the profile read gets only what is left of it: it is optional)
//   ≤ 20 s. (`connect_services::connect::CallbackService::complete`.)
// user-info / video-list / accounts (Timeout 28 s): TikTok calls and waits stop at the request
//   deadline (`connect_http::handler::REQUEST_BUDGET` = 24 s; a refresh starts only if its TikTok call and the
//   write of the rotated pair (`refresh::PERSIST_WINDOW`) fit before it); what may still run after
//   it is at most AWS_TAIL_CALLS = 2 AWS calls (e.g. a profile update, or a lease release after
//   an error): 24 s + 2 × 2 s = 28 s ≤ 28 s.
// token-refresh (Timeout 840 s): no refresh starts in the last `JobSettings::stop_margin` (30 s);
//   one refresh is bounded by `per_refresh` (20 s, the rotated pair's write included) plus the
//   same tail and the backoff write (`postpone`): 20 s + 3 × 2 s = 26 s ≤ 30 s.
//   After stopping early, the job first waits for its refreshes, then counts what is left (one
//   Query per remaining shard) only until `JobSettings::count_margin` (1 s) before the deadline.

// The standard retry mode also keeps a retry quota per service and environment (500 tokens, 5 per
// retry, 10 per timeout, refilled by successes): during a long outage the SDK stops retrying and
// fails fast, which only shortens the worst cases above. The write of a rotated token pair does
// not depend on it: `refresh` retries that write itself.

/// Time to open a connection to an AWS endpoint.
pub const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One try of one AWS call, connect included.
pub const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// One AWS call, every try and backoff included.
pub const AWS_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
/// Tries of one AWS call (standard retry mode: throttling, 5xx, timeouts, connection errors).
pub const AWS_MAX_ATTEMPTS: u32 = 3;
/// Backoff between tries (fully jittered, doubling, capped).
pub const AWS_INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// The cap of that backoff: `AWS_MAX_ATTEMPTS - 1` backoffs stay under `AWS_OPERATION_TIMEOUT`
/// (checked in `connect-runtime`'s tests).
pub const AWS_MAX_BACKOFF: Duration = Duration::from_millis(500);
/// AWS calls that may still start after a user request's deadline (see above).
pub const AWS_TAIL_CALLS: u32 = 2;
/// The callback's own budget (its function timeout is 20 s).
pub const CALLBACK_BUDGET: Duration = Duration::from_secs(18);
