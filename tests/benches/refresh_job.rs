#![allow(clippy::print_stdout)]
//! Throughput and memory of the scheduled `token-refresh` job, and what they mean for a million
//! accounts.
//!
//! The job (`connect_services::refresh_job::RefreshJob`) refreshes N due accounts against the fake TikTok,
//! which answers every API call after 100 ms. The fake runs as a **separate process**
//! (`target/release/fake-tiktok`, `FAKE_TIKTOK_LATENCY_MS=100`), reached over loopback HTTP by the
//! real `TikTokHttp` client, so this process's memory is the job's. DynamoDB and KMS are the
//! in-memory fakes (`InMemoryAccounts`; envelopes over `FakeMasterKey`, a KMS in memory), so the numbers are the job's and not an AWS
//! emulator's; one reference line runs against moto (serial, through the test harness's `Stack`)
//! to show the emulator's own ceiling. Peak heap comes from a counting global allocator (peak live
//! bytes during `run` minus the live bytes just before it); VmHWM (peak resident set, reset
//! before each run through `/proc/self/clear_refs`) is printed for reference.
//!
//! Prints markdown tables to stdout (progress goes to stderr). Takes about 25 minutes, most of it
//! the concurrency-1 run over 10,000 accounts (10,000 × 100 ms).
//!
//! ```sh
//! make bench-refresh    # builds target/release/fake-tiktok first, installs moto into .venv
//! # or: cargo build --release -p fake-tiktok && \
//! #     MOTO_SERVER_BIN=$PWD/scripts/moto-server cargo bench -p integration-tests --bench refresh_job
//! BENCH_REFRESH_SIZES=200 BENCH_REFRESH_CONCURRENCY=8,64 BENCH_REFRESH_MOTO=0 make bench-refresh  # quick look
//! ```
//!
//! `FAKE_TIKTOK_BIN` overrides where the fake's binary is looked for (default: next to this
//! bench's own target directory, e.g. `target/release/fake-tiktok`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use connect_adapters::{TikTokHttp, TikTokHttpConfig};
use connect_domain::cipher::{EncryptionContext, TokenPair, seal_tokens};
use connect_domain::clock::{Clock, OffsetClock};
use connect_domain::envelope::EnvelopeCipher;
use connect_domain::fakes::{FakeMasterKey, InMemoryAccounts};
use connect_domain::ports::Adapters;
use connect_domain::ports::Ports;
use connect_domain::refresh::{RefreshPolicy, TokenKeeper};
use connect_domain::schedule::{DEFAULT_KEEPALIVE_SECS, DUE_SHARDS, RefreshSchedule};
use connect_domain::scope::ScopeSet;
use connect_domain::secret::{AccessToken, ClientSecret, RefreshToken};
use connect_domain::store::{
    Account, AccountStatus, Connections, NoticeStore, PendingConnectionStore, RefreshQueue,
};
use connect_services::refresh_job::{JobSettings, RefreshJob, Summary};
use fake_tiktok::Endpoint;
use integration_tests::{Stack, StackOptions};
use peak_alloc::PeakAlloc;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

/// Counts live and peak heap bytes of this process.
#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const DEFAULT_SIZES: [usize; 2] = [1_000, 10_000];
const DEFAULT_CONCURRENCY: [usize; 4] = [1, 8, 32, 64];
/// The fake TikTok's latency on every API call.
const LATENCY_MS: u64 = 100;
/// "Lifted" start-rate cap: far above anything the job reaches here.
const UNCAPPED_PER_MINUTE: u32 = 1_000_000;
/// Time each run is given (it stops starting refreshes `stop_margin` before this).
const RUN_BUDGET: Duration = Duration::from_secs(45 * 60);
const DAY: i64 = 86_400;
const APP_USER: &str = "bench-user";
const CLIENT_KEY: &str = "bench_client_key";
const CLIENT_SECRET: &str = "bench-refresh-client-secret-7f3a";
/// Grants minted in parallel through the fake's control API while seeding.
const MINT_WORKERS: usize = 16;

// ---------------------------------------------------------------------------------------------
// The fake TikTok as a process

/// A `fake-tiktok` process on a free loopback port; killed on drop (and by a watchdog shell should
/// this process die first).
struct FakeProcess {
    child: Child,
    base_url: String,
}

fn fake_bin() -> PathBuf {
    if let Ok(path) = std::env::var("FAKE_TIKTOK_BIN") {
        return PathBuf::from(path);
    }
    // This bench runs as <target>/<profile>/deps/refresh_job-<hash>; the fake is <target>/<profile>/fake-tiktok.
    let exe = std::env::current_exe().expect("the bench's own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the bench runs from <target>/<profile>/deps");
    profile_dir.join(format!("fake-tiktok{}", std::env::consts::EXE_SUFFIX))
}

impl FakeProcess {
    async fn start(http: &reqwest::Client) -> FakeProcess {
        let bin = fake_bin();
        assert!(
            bin.exists(),
            "{} is missing: build it first with `cargo build --release -p fake-tiktok` (`make bench-refresh` does), or set FAKE_TIKTOK_BIN",
            bin.display()
        );
        let addr = format!("127.0.0.1:{}", devstack::ports::free_port());
        let child = Command::new(&bin)
            .args(["--addr", &addr])
            .env("FAKE_TIKTOK_LATENCY_MS", LATENCY_MS.to_string())
            .env("FAKE_TIKTOK_CLIENT_KEY", CLIENT_KEY)
            .env("FAKE_TIKTOK_CLIENT_SECRET", CLIENT_SECRET)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        // Kills the fake once this process is gone, even if it never reaches `Drop`.
        let watchdog = Command::new("sh")
            .args([
                "-c",
                r#"while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 0.5; done; kill "$2" 2>/dev/null"#,
                "fake-tiktok-watchdog",
            ])
            .arg(std::process::id().to_string())
            .arg(child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut watchdog) = watchdog {
            std::thread::spawn(move || watchdog.wait());
        }
        let mut fake = FakeProcess {
            child,
            base_url: format!("http://{addr}"),
        };
        fake.wait_ready(http).await;
        fake
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) {
        let health = format!("{}/_fake/health", self.base_url);
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("fake-tiktok exited at start ({status}); is the port taken?");
            }
            if let Ok(response) = http.get(&health).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "fake-tiktok did not answer {health} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `POST /_fake/grants` for `open_id`: the grant's token response.
    async fn mint_grant(http: &reqwest::Client, base_url: &str, open_id: &str) -> Value {
        let response = http
            .post(format!("{base_url}/_fake/grants"))
            .json(&json!({ "open_id": open_id, "scopes": ["user.info.basic"] }))
            .send()
            .await
            .expect("POST /_fake/grants");
        assert!(
            response.status().is_success(),
            "POST /_fake/grants for {open_id}: {}",
            response.status()
        );
        response.json().await.expect("grant JSON")
    }

    /// Token endpoint requests the fake received (`GET /_fake/calls`).
    async fn token_calls(&self, http: &reqwest::Client) -> u64 {
        let calls: Value = http
            .get(format!("{}/_fake/calls", self.base_url))
            .send()
            .await
            .expect("GET /_fake/calls")
            .json()
            .await
            .expect("calls JSON");
        calls["token"].as_u64().expect("token count")
    }
}

impl Drop for FakeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding

fn open_id(n: usize) -> String {
    format!("open-bench-{n:06}")
}

/// One grant per account from the fake's control API, in account order.
async fn mint_grants(http: &reqwest::Client, base_url: &str, count: usize) -> Vec<Value> {
    let mut workers = JoinSet::new();
    for worker in 0..MINT_WORKERS {
        let (http, base_url) = (http.clone(), base_url.to_owned());
        workers.spawn(async move {
            let mut minted = Vec::new();
            for n in (worker..count).step_by(MINT_WORKERS) {
                minted.push((
                    n,
                    FakeProcess::mint_grant(&http, &base_url, &open_id(n)).await,
                ));
            }
            minted
        });
    }
    let mut all: Vec<(usize, Value)> = workers.join_all().await.into_iter().flatten().collect();
    all.sort_by_key(|(n, _)| *n);
    all.into_iter().map(|(_, grant)| grant).collect()
}

/// Stores one account per grant as the callback would (tokens sealed under the account's
/// context), due for the job's refresh one keep-alive period (a week) after `clock`'s now.
async fn seed(
    accounts: &InMemoryAccounts,
    cipher: &EnvelopeCipher<FakeMasterKey>,
    clock: &OffsetClock,
    grants: Vec<Value>,
) {
    let schedule = RefreshSchedule::default();
    for (n, grant) in grants.into_iter().enumerate() {
        let open_id = open_id(n);
        let field = |name: &str| grant[name].as_str().expect("grant field").to_owned();
        let number = |name: &str| grant[name].as_i64().expect("grant lifetime");
        let tokens = TokenPair {
            access_token: AccessToken::new(field("access_token")),
            refresh_token: RefreshToken::new(field("refresh_token")),
        };
        let sealed_tokens = seal_tokens(
            cipher,
            &EncryptionContext::tokens(APP_USER, &open_id),
            &tokens,
        )
        .await
        .expect("seal");
        let now = clock.now();
        let (access, refresh) = (
            now + number("expires_in"),
            now + number("refresh_expires_in"),
        );
        let account = Account {
            app_user: APP_USER.to_owned(),
            open_id: open_id.into(),
            union_id: None,
            display_name: Some(format!("Bench {n}")),
            avatar_url: None,
            username: None,
            profile_digest: None,
            scopes: ScopeSet::parse_comma_list(&field("scope")).expect("scopes"),
            status: AccountStatus::Active,
            sealed_tokens,
            access_token_expires_at: access,
            refresh_token_expires_at: refresh,
            connected_at: now,
            token_version: 0,
            grant_id: connect_domain::store::new_grant_id(),
            refresh_lease_until_ms: None,
            refresh_due_at: Some(schedule.next_due(now, access, refresh)),
            refresh_failures: 0,
            revoked_reason: None,
        };
        accounts
            .save_connection(&account)
            .await
            .expect("seeded account");
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring one run

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// In-memory DynamoDB/KMS, start-rate cap lifted.
    Uncapped,
    /// In-memory DynamoDB/KMS, `JobSettings::default()` (600 starts/min).
    DefaultCap,
    /// moto through the harness's `Stack`.
    Moto,
}

impl Setup {
    fn describe(self) -> &'static str {
        match self {
            Setup::Uncapped => "in-memory DynamoDB/KMS, start-rate cap lifted",
            Setup::DefaultCap => {
                "in-memory DynamoDB/KMS, **default settings** (600 starts/min cap)"
            }
            Setup::Moto => {
                "**moto** (serial emulator, one request at a time: the emulator's ceiling, not the job's); fake TikTok in-process, so the heap includes it"
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Row {
    n: usize,
    concurrency: usize,
    setup: Setup,
    seconds: f64,
    per_sec: f64,
    /// Peak live heap during `run` above the live heap just before it.
    heap_bytes: usize,
    /// Peak live heap of one `due_page` call of the in-memory store (in-memory runs only): part of
    /// `heap_bytes` that DynamoDB would not cost the job.
    store_page_bytes: Option<usize>,
    hwm_kib: Option<u64>,
    /// KMS calls the run made (in-memory runs: envelopes over `FakeMasterKey`).
    kms_calls: Option<u64>,
}

impl Row {
    /// The job's own peak heap: without the in-memory store's page copy.
    fn job_heap_bytes(&self) -> f64 {
        self.heap_bytes as f64 - self.store_page_bytes.unwrap_or(0) as f64
    }
}

/// What one timed run gave.
struct Measured {
    summary: Summary,
    elapsed: Duration,
    heap_bytes: usize,
    hwm_kib: Option<u64>,
}

/// Peak resident set size of this process in KiB (`VmHWM`).
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets `VmHWM` to the current resident set (Linux: `echo 5 > /proc/self/clear_refs`).
fn reset_vm_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Runs the job once over accounts already due: the summary, the wall time, the peak heap above
/// the live heap at the start, and the process's peak resident set.
async fn timed_run<P: Ports>(job: &RefreshJob<P>) -> Measured
where
    P::Accounts: PendingConnectionStore + NoticeStore,
{
    let hwm_reset = reset_vm_hwm();
    HEAP.reset_peak_usage();
    let live_before = HEAP.current_usage();
    let started = Instant::now();
    let summary = job.run(started + RUN_BUDGET).await;
    let elapsed = started.elapsed();
    let heap_bytes = HEAP.peak_usage().saturating_sub(live_before);
    Measured {
        summary,
        elapsed,
        heap_bytes,
        hwm_kib: vm_hwm_kib().filter(|_| hwm_reset),
    }
}

/// Peak heap of one call to the in-memory store's `due_page` (the first page of shard 0, the
/// largest it builds): it copies every due account of the shard before keeping 100.
async fn store_page_peak(accounts: &InMemoryAccounts, clock: &OffsetClock) -> usize {
    let horizon = RefreshSchedule::default().horizon(clock.now());
    HEAP.reset_peak_usage();
    let live_before = HEAP.current_usage();
    let page = accounts
        .due_page(0, horizon, None, JobSettings::default().page_size)
        .await
        .expect("due page");
    let peak = HEAP.peak_usage().saturating_sub(live_before);
    drop(page);
    peak
}

fn check(summary: &Summary, n: usize, what: &str) {
    let n = n as u64;
    assert!(
        summary.due == n
            && summary.refreshed == n
            && summary.transient_failures == 0
            && summary.complete,
        "{what}: expected all {n} accounts refreshed without failures: {summary:?}"
    );
}

fn settings(concurrency: usize, setup: Setup) -> JobSettings {
    match setup {
        Setup::DefaultCap => JobSettings {
            concurrency,
            ..JobSettings::default()
        },
        Setup::Uncapped | Setup::Moto => JobSettings {
            concurrency,
            rate_per_minute: UNCAPPED_PER_MINUTE,
            ..JobSettings::default()
        },
    }
}

/// N accounts in `InMemoryAccounts`, sealed as envelopes by another environment (the job's last
/// run, or the callback), refreshed through `TikTokHttp` against a
/// fresh `fake-tiktok` process.
async fn in_memory_run(http: &reqwest::Client, n: usize, concurrency: usize, setup: Setup) -> Row {
    let what = format!("N={n}, concurrency {concurrency}, {setup:?}");
    eprintln!("[refresh bench] {what}: seeding…");
    let fake = FakeProcess::start(http).await;
    let grants = mint_grants(http, &fake.base_url, n).await;
    let kms = FakeMasterKey::default();
    let (accounts, cipher, clock) = (
        InMemoryAccounts::default(),
        EnvelopeCipher::new(kms.clone()),
        OffsetClock::default(),
    );
    seed(&accounts, &EnvelopeCipher::new(kms.clone()), &clock, grants).await;
    let kms_before = kms.calls();
    // A keep-alive period later every account is due (the fake's refresh tokens live 180 days).
    clock.advance(DEFAULT_KEEPALIVE_SECS);
    let store_page_bytes = store_page_peak(&accounts, &clock).await;
    let tiktok = TikTokHttp::new(TikTokHttpConfig {
        api_url: Url::parse(&fake.base_url).expect("fake URL"),
        client_key: CLIENT_KEY.to_owned(),
        client_secret: ClientSecret::new(CLIENT_SECRET),
    })
    .expect("TikTok client");
    let job = RefreshJob {
        keeper: Arc::new(TokenKeeper::<Adapters<_, _, _, _, _>> {
            accounts,
            cipher,
            tiktok,
            clock,
            // No bus: the bench measures refreshes, not events.
            events: connect_domain::fakes::RecordingEvents::default(),
            policy: RefreshPolicy::default(),
        }),
        settings: settings(concurrency, setup),
    };
    eprintln!("[refresh bench] {what}: running…");
    let measured = timed_run(&job).await;
    check(&measured.summary, n, &what);
    assert_eq!(
        fake.token_calls(http).await,
        n as u64,
        "{what}: one TikTok token call per account"
    );
    let mut row = row(n, concurrency, setup, &measured, Some(store_page_bytes));
    row.kms_calls = Some(kms.calls() - kms_before);
    row
}

/// The reference line: the harness's `Stack` (moto, serial) with its in-process fake TikTok.
async fn moto_run(n: usize, concurrency: usize) -> Row {
    let what = format!("N={n}, concurrency {concurrency}, moto");
    eprintln!("[refresh bench] {what}: seeding through moto…");
    let stack = Stack::start(StackOptions::default()).await;
    stack.fake.set_latency(Duration::from_millis(LATENCY_MS));
    stack.seed_accounts(APP_USER, n).await;
    // The harness keeps accounts alive daily (`StackOptions::keepalive_hours`).
    stack.clock.advance(DAY);
    stack.fake.advance_clock(DAY);
    let job = RefreshJob {
        keeper: Arc::clone(&stack.job.keeper),
        settings: settings(concurrency, Setup::Moto),
    };
    let calls_before = stack.fake.calls(Endpoint::Token);
    eprintln!("[refresh bench] {what}: running…");
    let measured = timed_run(&job).await;
    check(&measured.summary, n, &what);
    assert_eq!(
        stack.fake.calls(Endpoint::Token) - calls_before,
        n as u32,
        "{what}: one TikTok token call per account"
    );
    row(n, concurrency, Setup::Moto, &measured, None)
}

fn row(
    n: usize,
    concurrency: usize,
    setup: Setup,
    measured: &Measured,
    store_page_bytes: Option<usize>,
) -> Row {
    let seconds = measured.elapsed.as_secs_f64();
    let row = Row {
        n,
        concurrency,
        setup,
        seconds,
        per_sec: n as f64 / seconds,
        heap_bytes: measured.heap_bytes,
        store_page_bytes,
        hwm_kib: measured.hwm_kib,
        kms_calls: None,
    };
    eprintln!(
        "[refresh bench]   {:.1} s, {:.1} accounts/s, peak heap {:.2} MiB",
        row.seconds,
        row.per_sec,
        mib(row.heap_bytes as f64)
    );
    row
}

// ---------------------------------------------------------------------------------------------
// Output

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

/// `1234567.8` → `1,234,568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// Large counts as `60.6 M` / `1.23 B`.
fn count(value: f64) -> String {
    if value >= 1e9 {
        format!("{:.2} B", value / 1e9)
    } else if value >= 1e6 {
        format!("{:.1} M", value / 1e6)
    } else {
        thousands(value)
    }
}

fn dollars(value: f64) -> String {
    let cents = (value * 100.0).round();
    format!(
        "${}.{:02.0}",
        thousands((cents / 100.0).trunc()),
        cents % 100.0
    )
}

fn print_results(rows: &[Row], hwm_resets: bool) {
    println!("## token-refresh job: throughput and memory\n");
    println!(
        "Fake TikTok: a separate `fake-tiktok` process, {LATENCY_MS} ms per API call, reached over loopback HTTP by `TikTokHttp`. Deadline {} min per run; every run checked: all N refreshed, no transient failure, one TikTok token call per account. Logs at production's level (info, JSON) into a sink. {} cores.\n",
        RUN_BUDGET.as_secs() / 60,
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    println!(
        "| N | concurrency | seconds | accounts/s | peak job heap MiB | VmHWM MiB | KMS calls | setup |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let hwm = r
            .hwm_kib
            .map_or_else(|| "n/a".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
        let kms = r
            .kms_calls
            .map_or_else(|| "n/a".to_owned(), |calls| calls.to_string());
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.2} | {} | {} | {} |",
            thousands(r.n as f64),
            r.concurrency,
            r.seconds,
            r.per_sec,
            mib(r.heap_bytes as f64),
            hwm,
            kms,
            r.setup.describe()
        );
    }
    println!();
    println!(
        "Peak job heap: peak live heap bytes during `run` minus the live bytes just before it (counting global allocator; its realloc always moves, so a growing buffer briefly counts twice). It includes the in-memory store's transient copy in `due_page` (every due account of a shard is cloned and sorted before the page is cut to 100), which DynamoDB would not cost the job; the growth table below measures it. VmHWM: peak resident set of the whole bench process{}, so it includes the N accounts held by the in-memory store.\n",
        if hwm_resets {
            ", reset before each run"
        } else {
            " since it started (could not be reset here)"
        }
    );
    print_growth(rows);
}

/// How throughput and heap change from the smallest to the largest N, per concurrency.
fn print_growth(rows: &[Row]) {
    let uncapped: Vec<&Row> = rows.iter().filter(|r| r.setup == Setup::Uncapped).collect();
    let (Some(small), Some(large)) = (
        uncapped.iter().map(|r| r.n).min(),
        uncapped.iter().map(|r| r.n).max(),
    ) else {
        return;
    };
    if small == large {
        return;
    }
    let (s, l) = (thousands(small as f64), thousands(large as f64));
    println!("### Growth with N (start-rate cap lifted; ideal = concurrency ÷ {LATENCY_MS} ms)\n");
    println!(
        "| concurrency | ideal accounts/s | accounts/s N={s} | accounts/s N={l} | % of ideal at N={l} | heap MiB N={s} | heap MiB N={l} | of which the in-memory store's due_page, MiB N={s} / N={l} | heap growth per extra account | same, due_page copy excluded |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut concurrencies: Vec<usize> = uncapped.iter().map(|r| r.concurrency).collect();
    concurrencies.sort_unstable();
    concurrencies.dedup();
    let find = |n, c| {
        uncapped
            .iter()
            .find(|r| r.n == n && r.concurrency == c)
            .copied()
    };
    for &c in &concurrencies {
        let (Some(a), Some(b)) = (find(small, c), find(large, c)) else {
            continue;
        };
        let ideal = c as f64 * 1000.0 / LATENCY_MS as f64;
        let extra = (large - small) as f64;
        let per_account = (b.heap_bytes as f64 - a.heap_bytes as f64) / extra;
        let per_account_job = (b.job_heap_bytes() - a.job_heap_bytes()) / extra;
        let page = |r: &Row| mib(r.store_page_bytes.unwrap_or(0) as f64);
        println!(
            "| {c} | {ideal:.0} | {:.1} | {:.1} | {:.0}% | {:.2} | {:.2} | {:.2} / {:.2} | {per_account:.0} B | {per_account_job:.0} B |",
            a.per_sec,
            b.per_sec,
            100.0 * b.per_sec / ideal,
            mib(a.heap_bytes as f64),
            mib(b.heap_bytes as f64),
            page(a),
            page(b),
        );
    }
    println!();
    // Heap per refresh in flight: slope over concurrency at the largest N.
    let at_large: Vec<&Row> = concurrencies
        .iter()
        .filter_map(|&c| find(large, c))
        .collect();
    if let (Some(lo), Some(hi)) = (at_large.first(), at_large.last())
        && hi.concurrency > lo.concurrency
    {
        let per_flight =
            (hi.job_heap_bytes() - lo.job_heap_bytes()) / (hi.concurrency - lo.concurrency) as f64;
        println!(
            "Heap per refresh in flight (N={l}, concurrency {} → {}, due_page copy excluded): about {:.0} KiB: the job's memory follows its concurrency, not N.\n",
            lo.concurrency,
            hi.concurrency,
            per_flight / 1024.0
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Scale model: one million accounts

const MODEL_ACCOUNTS: f64 = 1_000_000.0;
/// The job runs every 15 minutes.
const RUNS_PER_DAY: f64 = 96.0;
const DAYS_PER_MONTH: f64 = 30.0;
/// TikTok's documented API limit per endpoint (the token endpoint's own limit is unconfirmed).
const TIKTOK_PER_MINUTE: f64 = 600.0;
/// The function's timeout (infra/template.yaml) minus the job's stop margin: time to start refreshes.
const RUN_WINDOW_SECS: f64 = 840.0 - 30.0;
/// Due accounts per due-index query page, and the size of an entry of `due-by-shard` (about 460
/// bytes deployed: keys and what the job chooses by, no ciphertext).
const PAGE_ITEMS: f64 = 100.0;
const ITEM_KB: f64 = 0.45;
/// us-east-1 on-demand prices.
const USD_PER_WRU: f64 = 1.25 / 1e6;
const USD_PER_RRU: f64 = 0.25 / 1e6;
const USD_PER_KMS_REQUEST: f64 = 0.03 / 10_000.0;

struct Policy {
    name: &'static str,
    /// Refreshes per account per day (shared/domain/src/schedule.rs).
    per_day: f64,
}

const POLICIES: [Policy; 3] = [
    // 25 refreshes in a 180-day refresh token's life: weekly, plus its last week's.
    Policy {
        name: "keepalive, weekly (default)",
        per_day: 0.14,
    },
    Policy {
        name: "keepalive, daily",
        per_day: 1.01,
    },
    Policy {
        name: "eager, 2 h tokens",
        per_day: 13.7,
    },
];

/// Read units of one query page of `items` (eventually consistent: 0.5 RRU per 4 KB, rounded up).
fn page_rru(items: f64) -> f64 {
    (items * ITEM_KB / 4.0).ceil().max(1.0) * 0.5
}

/// Query pages and read units for one run's walk of the due index: 16 shards, 100 entries (0.45 KB
/// each, 0.5 RRU per 4 KB) a page, and each shard's walk ends on a short (possibly empty) page.
fn index_reads(refreshes_per_run: f64) -> (f64, f64) {
    let shards = f64::from(DUE_SHARDS);
    let per_shard = (refreshes_per_run / shards).ceil();
    let full_pages = (per_shard / PAGE_ITEMS).floor();
    let rest = per_shard - full_pages * PAGE_ITEMS;
    let full_page_rru = page_rru(PAGE_ITEMS);
    let last_page_rru = page_rru(rest);
    let pages = shards * (full_pages + 1.0);
    let rru = shards * (full_pages * full_page_rru + last_page_rru);
    (pages, rru)
}

/// Linear fit of the job's peak heap (the in-memory store's page copy excluded) at `concurrency`
/// over the measured N, evaluated at `n`.
fn heap_at(rows: &[Row], concurrency: usize, n: f64) -> Option<f64> {
    let mut points: Vec<&Row> = rows
        .iter()
        .filter(|r| r.setup == Setup::Uncapped && r.concurrency == concurrency)
        .collect();
    points.sort_by_key(|r| r.n);
    let (first, last) = (points.first()?, points.last()?);
    if first.n == last.n {
        return None;
    }
    let slope = (last.job_heap_bytes() - first.job_heap_bytes()) / (last.n - first.n) as f64;
    Some((first.job_heap_bytes() + slope * (n - first.n as f64)).max(0.0))
}

fn print_scale_model(rows: &[Row]) {
    // The fastest uncapped run at the largest N stands for the job's rate.
    let largest = rows
        .iter()
        .filter(|r| r.setup == Setup::Uncapped)
        .map(|r| r.n)
        .max();
    let best = rows
        .iter()
        .filter(|r| r.setup == Setup::Uncapped && Some(r.n) == largest)
        .max_by(|a, b| a.per_sec.total_cmp(&b.per_sec));
    let capped = rows.iter().find(|r| r.setup == Setup::DefaultCap);

    println!("## Scale model: {} accounts\n", thousands(MODEL_ACCOUNTS));
    let cap_per_sec = TIKTOK_PER_MINUTE / 60.0;
    match best {
        Some(b) => println!(
            "Measured job rate: **{:.0} accounts/s** (concurrency {}, N={}, cap lifted, {LATENCY_MS} ms TikTok; in-memory DynamoDB/KMS add no latency: real ones add ~4 round trips per refresh, so expect fewer per unit of concurrency). With the default 600 starts/min cap: {}. A run may start refreshes for {RUN_WINDOW_SECS:.0} s (Lambda timeout 840 s − 30 s stop margin); the job runs {RUNS_PER_DAY:.0} times a day; a month is {DAYS_PER_MONTH:.0} days; prices us-east-1 on-demand, free tiers ignored.\n",
            b.per_sec,
            b.concurrency,
            thousands(b.n as f64),
            capped.map_or_else(
                || "not measured".to_owned(),
                |c| format!("{:.1} accounts/s measured", c.per_sec)
            ),
        ),
        None => println!("(no uncapped run measured: run-time lines left out)\n"),
    }

    let header: Vec<&str> = POLICIES.iter().map(|p| p.name).collect();
    println!("| | {} |", header.join(" | "));
    println!("|---|{}|", vec!["---:"; POLICIES.len()].join("|"));
    let line = |label: &str, cell: &dyn Fn(&Policy) -> String| {
        let cells: Vec<String> = POLICIES.iter().map(cell).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    let per_day = |p: &Policy| MODEL_ACCOUNTS * p.per_day;
    let per_run = |p: &Policy| per_day(p) / RUNS_PER_DAY;
    let per_month = |p: &Policy| per_day(p) * DAYS_PER_MONTH;

    line("refreshes per account per day", &|p| {
        format!("{}", p.per_day)
    });
    line("job runs per day", &|_| format!("{RUNS_PER_DAY:.0}"));
    line("refreshes per day", &|p| thousands(per_day(p)));
    line("refreshes per run", &|p| thousands(per_run(p)));
    line(
        "TikTok token calls per minute, averaged over the day (limit 600/min)",
        &|p| {
            let rate = per_day(p) / 1440.0;
            format!(
                "{} ({:.0}% of 600)",
                thousands(rate),
                100.0 * rate / TIKTOK_PER_MINUTE
            )
        },
    );
    if let Some(b) = best {
        line(
            &format!(
                "run time at the measured {:.0}/s, cap lifted (TikTok then sees {}/min during the run)",
                b.per_sec,
                thousands(b.per_sec * 60.0)
            ),
            &|p| {
                let secs = per_run(p) / b.per_sec;
                let verdict = if secs <= RUN_WINDOW_SECS {
                    "fits"
                } else {
                    "does not fit"
                };
                format!(
                    "{} s ({verdict} in {RUN_WINDOW_SECS:.0} s)",
                    thousands(secs)
                )
            },
        );
    }
    line(
        &format!("TikTok calls per minute needed to finish each run within {RUN_WINDOW_SECS:.0} s"),
        &|p| {
            let rate = per_run(p) / RUN_WINDOW_SECS * 60.0;
            format!(
                "{} ({:.0}% of 600)",
                thousands(rate),
                100.0 * rate / TIKTOK_PER_MINUTE
            )
        },
    );
    line(
        &format!("concurrency that rate needs at {LATENCY_MS} ms per call (rate × latency)"),
        &|p| {
            let needed = per_run(p) / RUN_WINDOW_SECS * LATENCY_MS as f64 / 1000.0;
            format!("{:.0}", needed.ceil().max(1.0))
        },
    );
    line("run time at the 600/min cap (default)", &|p| {
        let secs = per_run(p) / cap_per_sec;
        if secs <= RUN_WINDOW_SECS {
            format!("{} s (fits)", thousands(secs))
        } else {
            format!(
                "{} s: **does not fit**; {} left over every run, the backlog grows",
                thousands(secs),
                thousands(per_run(p) - RUN_WINDOW_SECS * cap_per_sec)
            )
        }
    });
    line(
        &format!(
            "accounts the 600/min cap can keep up with ({} refreshes per run)",
            thousands(RUN_WINDOW_SECS * cap_per_sec)
        ),
        &|p| thousands(RUN_WINDOW_SECS * cap_per_sec * RUNS_PER_DAY / p.per_day),
    );
    if let Some(b) = best {
        line(
            &format!(
                "peak job heap per run at concurrency {} (measured {:.1} MiB at N={} without the store's page copy; straight line through the measured N, an upper bound since the growth flattens)",
                b.concurrency,
                mib(b.job_heap_bytes()),
                thousands(b.n as f64)
            ),
            &|p| {
                heap_at(rows, b.concurrency, per_run(p))
                    .map_or_else(|| "n/a".to_owned(), |h| format!("{:.1} MiB", mib(h)))
            },
        );
    }
    // KMS calls per refresh, measured at the largest N: envelopes make a run's calls about one
    // unwrap per data key that sealed its accounts and one data key per 10,000 seals; 2 per
    // refresh before envelopes (Decrypt + Encrypt).
    let kms_per_refresh = rows
        .iter()
        .filter_map(|r| r.kms_calls.map(|calls| (r.n, calls as f64 / r.n as f64)))
        .max_by_key(|(n, _)| *n)
        .map_or(2.0, |(_, per)| per);
    let kms_requests = |p: &Policy| per_month(p) * kms_per_refresh;
    line(
        &format!(
            "KMS requests per month ({kms_per_refresh:.4} per refresh, measured: envelopes, a data key per 10,000 seals)"
        ),
        &|p| count(kms_requests(p)),
    );
    line("KMS cost per month ($0.03 per 10,000)", &|p| {
        dollars(kms_requests(p) * USD_PER_KMS_REQUEST)
    });
    let runs_per_month = RUNS_PER_DAY * DAYS_PER_MONTH;
    let reads = |p: &Policy| {
        let (pages, rru) = index_reads(per_run(p));
        (pages * runs_per_month, rru * runs_per_month)
    };
    line(
        "DynamoDB Query requests per month (due index, 100 a page)",
        &|p| count(reads(p).0),
    );
    line(
        "DynamoDB read units per month (0.5 RRU per 4 KB, ~0.45 KB entries)",
        &|p| count(reads(p).1),
    );
    line(
        "DynamoDB UpdateItem requests per month (lease + token write)",
        &|p| count(per_month(p) * 2.0),
    );
    // AWS's rules: each UpdateItem costs its larger image; the lease's attributes are not in
    // `due-by-shard` (no index write), and the token write changes its key `due_at` (a delete and
    // a put of a small entry, 1 WRU each). So 2 writes of the item and 2 of the entry a refresh:
    // 4 WRU while the leased item is at most 1 KB: as stored, the profile in an item of its own
    // (0.75 KB in the tests, 0.87 KB deployed with TikTok-length ids and real KMS's wrapped key).
    // 6 for old records that still carry the profile (1.1–1.2 KB deployed) until their next
    // refresh moves it; with the index that projected the whole item (refresh-due), 10. Measured
    // by tests/tests/it/envelope.rs::the_account_item_is_as_large_as_the_cost_model_says.
    for (label, wru) in [
        ("4 WRU each: items under 1 KB, as stored", 4.0),
        (
            "6 WRU each: old records with the profile inside, 1.1-1.2 KB",
            6.0,
        ),
    ] {
        line(&format!("DynamoDB write units per month ({label})"), &|p| {
            count(per_month(p) * wru)
        });
        line(&format!("DynamoDB cost per month ({wru:.0} WRU)"), &|p| {
            dollars(per_month(p) * wru * USD_PER_WRU + reads(p).1 * USD_PER_RRU)
        });
        line(&format!("KMS + DynamoDB per month ({wru:.0} WRU)"), &|p| {
            dollars(
                kms_requests(p) * USD_PER_KMS_REQUEST
                    + per_month(p) * wru * USD_PER_WRU
                    + reads(p).1 * USD_PER_RRU,
            )
        });
    }
    println!();
    println!(
        "TikTok: 1 token call per refresh. Reads: each run walks {DUE_SHARDS} shards; a page is {PAGE_ITEMS:.0} items × {ITEM_KB:.0} KB = {:.1} RRU, plus one short page per shard. An item just over 1 KB costs 2 WRU per write; an index entry under 1 KB, 1. Lambda time and CloudWatch Logs are not counted.",
        page_rru(PAGE_ITEMS),
    );
}

// ---------------------------------------------------------------------------------------------

fn list_from_env<const N: usize>(name: &str, default: [usize; N]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .split(',')
            .map(|v| {
                v.trim()
                    .replace('_', "")
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| panic!("{name}: `{v}` is not a positive whole number"))
            })
            .collect(),
        _ => default.to_vec(),
    }
}

#[tokio::main]
async fn main() {
    // Production's log level (info, JSON), written nowhere; installed first, so the harness's
    // TRACE capture (Stack::start) keeps this one instead of buffering every line in memory.
    connect_runtime::telemetry::init_with_writer(std::io::sink, true, "info");
    let sizes = list_from_env("BENCH_REFRESH_SIZES", DEFAULT_SIZES);
    let concurrencies = list_from_env("BENCH_REFRESH_CONCURRENCY", DEFAULT_CONCURRENCY);
    let with_moto = std::env::var("BENCH_REFRESH_MOTO").map_or(true, |v| v.trim() != "0");
    let reference_n = sizes.iter().copied().min().unwrap_or(1_000);
    let hwm_resets = reset_vm_hwm();
    let http = reqwest::Client::new();
    let started = Instant::now();

    let mut rows = Vec::new();
    for &n in &sizes {
        for &c in &concurrencies {
            rows.push(in_memory_run(&http, n, c, Setup::Uncapped).await);
        }
    }
    let defaults = JobSettings::default();
    rows.push(in_memory_run(&http, reference_n, defaults.concurrency, Setup::DefaultCap).await);
    if with_moto {
        rows.push(moto_run(reference_n, defaults.concurrency).await);
    }

    print_results(&rows, hwm_resets);
    print_scale_model(&rows);
    eprintln!(
        "[refresh bench] done in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
}
