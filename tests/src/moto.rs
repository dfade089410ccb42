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

/// Where moto on `port` writes its output (its request log and any traceback), so a test that
/// meets a dead or refusing server can say what happened to it ([`describe`]).
fn log_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("moto-{}-{port}.log", std::process::id()))
}

/// Starts moto on `port`; `None` when it exits before answering.
fn start_on(bin: &std::path::Path, port: u16) -> Option<String> {
    // A watchdog shell owns moto and kills it once this test process is gone, so no server outlives
    // `cargo test` even when a test panics; the log goes with it. It exits as soon as moto does,
    // and then keeps the log, with moto's exit status last, for the tests still running.
    let script = r#"
        "$1" -H 127.0.0.1 -p "$2" >"$4" 2>&1 &
        moto=$!
        while kill -0 "$3" 2>/dev/null && kill -0 "$moto" 2>/dev/null; do sleep 0.5; done
        if kill -0 "$3" 2>/dev/null; then
            wait "$moto"
            echo "moto-watchdog: moto exited with status $? while the tests ran" >>"$4"
        else
            kill "$moto" 2>/dev/null
            rm -f "$4"
        fi
    "#;
    let mut watchdog = Command::new("sh")
        .args(["-c", script, "moto-watchdog"])
        .arg(bin)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .arg(log_path(port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    // Ready means moto itself answers an HTTP request, not only that something accepts on the
    // port: a server that lost the port to another bind exits, and must not pass for moto.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !answers_as_moto(port) {
        if matches!(watchdog.try_wait(), Ok(Some(_))) {
            return None;
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not answer on port {port} within 30 s: {}",
            describe(&format!("http://127.0.0.1:{port}"))
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Reap the watchdog when it exits, so it never lingers as a zombie.
    std::thread::spawn(move || watchdog.wait());
    Some(format!("http://127.0.0.1:{port}"))
}

/// Whether moto's own API answers on `port` (`GET /moto-api/data.json`, its state as JSON).
fn answers_as_moto(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    let mut head = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
        && head.ends_with(b"200")
}

/// What became of the moto server behind `endpoint`: whether it answers now, and the end of its
/// log. For the message of a test that could not reach it.
pub fn describe(endpoint: &str) -> String {
    let Some(port) = port_of(endpoint) else {
        return format!("{endpoint} is not a moto endpoint of this process");
    };
    let path = log_path(port);
    let log = std::fs::read_to_string(&path).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(20).collect();
    format!(
        "moto on port {port} answers now: {}; the end of its log ({}):\n{}",
        answers_as_moto(port),
        path.display(),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )
}

/// The port of an endpoint this module made (`http://127.0.0.1:<port>`).
fn port_of(endpoint: &str) -> Option<u16> {
    endpoint.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Something else accepting on the port (here a server answering 404 to everything) is not
    /// moto, and a port nobody listens on is not either.
    #[test]
    fn only_moto_passes_for_moto() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = [0u8; 256];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        });
        assert!(!answers_as_moto(port));
        server.join().expect("server");
        assert!(!answers_as_moto(port), "nothing listens any more");
    }

    #[test]
    fn a_running_moto_passes() {
        let endpoint = endpoint();
        assert!(answers_as_moto(port_of(endpoint).expect("port")));
        assert!(describe(endpoint).contains("answers now: true"));
    }
}
