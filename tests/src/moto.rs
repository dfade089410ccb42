//! One moto server per test binary, started on a free port and stopped when the test process ends.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The moto launcher: `MOTO_SERVER_BIN` (set by `make test`) or `scripts/moto-server`, which
/// runs the venv's moto one request at a time so conditional writes are atomic, as in DynamoDB.
fn moto_bin() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER_BIN") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/moto-server")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// The endpoint URL of this process's moto server, starting it on first use.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(start)
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
    let port = free_port();
    // A watchdog shell owns moto and kills it once this test process is gone, so no server outlives
    // `cargo test` even when a test panics.
    let script = r#"
        "$1" -H 127.0.0.1 -p "$2" >/dev/null 2>&1 &
        moto=$!
        while kill -0 "$3" 2>/dev/null && kill -0 "$moto" 2>/dev/null; do sleep 0.5; done
        kill "$moto" 2>/dev/null
    "#;
    let mut watchdog = Command::new("sh")
        .args(["-c", script, "moto-watchdog"])
        .arg(&bin)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    // Reap the watchdog when it exits, so it never lingers as a zombie.
    std::thread::spawn(move || watchdog.wait());
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}
