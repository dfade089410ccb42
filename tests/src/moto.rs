//! A few moto servers per test process, each started on a free port on first use and stopped when
//! the test process ends.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The moto launcher: `MOTO_SERVER_BIN` (set by `make test`) or `scripts/moto-server`, which
/// runs the venv's moto one request at a time so conditional writes are atomic, as in DynamoDB.
fn moto_bin() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER_BIN") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/moto-server")
}

/// How many moto servers a test process spreads its stacks over (`MOTO_SERVERS`, default 3).
/// Each answers one request at a time, so with every integration test in one binary a single
/// server is the queue every test waits in, and timing-sensitive tests (budgets, leases, injected
/// slowness) see its delays as theirs.
fn pool_size() -> usize {
    std::env::var("MOTO_SERVERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=MAX_SERVERS).contains(n))
        .unwrap_or(3)
}

const MAX_SERVERS: usize = 8;

/// The endpoint URL of this process's first moto server, starting it on first use: for a caller
/// that needs every call on one server (the benches).
pub fn endpoint() -> &'static str {
    server(0)
}

/// The endpoint URL of one of this process's moto servers, taken in turn and each started on
/// first use: for a stack whose table, key and secrets live on one server and nowhere else.
pub fn any_endpoint() -> &'static str {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    server(NEXT.fetch_add(1, Ordering::Relaxed) % pool_size())
}

fn server(slot: usize) -> &'static str {
    static SERVERS: [OnceLock<String>; MAX_SERVERS] = [const { OnceLock::new() }; MAX_SERVERS];
    SERVERS[slot].get_or_init(start)
}

fn start() -> String {
    let bin = moto_bin();
    let venv_python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        bin.exists() && venv_python.exists(),
        "moto not installed ({} or {} missing): run the tests with `make test`, which installs it into .venv",
        bin.display(),
        venv_python.display()
    );
    // A port outside the ephemeral range (devstack::ports), and another one should moto still
    // lose it to a process that bound it explicitly in the meantime.
    for _ in 0..3 {
        let port = devstack::ports::free_port();
        if let Some(endpoint) = start_on(&bin, port) {
            return endpoint;
        }
    }
    panic!("moto_server exited at start three times (ports taken?)");
}

/// Starts moto on `port`; `None` when it exits before listening.
fn start_on(bin: &std::path::Path, port: u16) -> Option<String> {
    // A watchdog shell owns moto and kills it once this test process is gone, so no server outlives
    // `cargo test` even when a test panics. It exits as soon as moto does.
    let script = r#"
        "$1" -H 127.0.0.1 -p "$2" >/dev/null 2>&1 &
        moto=$!
        while kill -0 "$3" 2>/dev/null && kill -0 "$moto" 2>/dev/null; do sleep 0.5; done
        kill "$moto" 2>/dev/null
    "#;
    let mut watchdog = Command::new("sh")
        .args(["-c", script, "moto-watchdog"])
        .arg(bin)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if matches!(watchdog.try_wait(), Ok(Some(_))) {
            return None;
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Reap the watchdog when it exits, so it never lingers as a zombie.
    std::thread::spawn(move || watchdog.wait());
    Some(format!("http://127.0.0.1:{port}"))
}
