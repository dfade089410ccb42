//! Captures every log line of the test process at TRACE (through the functions' own filter) so
//! tests can prove that no secret is ever logged.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn captured() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        // The most verbose level a user could ask for, through the same filter the functions use.
        shared::telemetry::init_with_writer(logs.clone(), true, "trace");
        logs
    })
}

/// Starts capturing (idempotent).
pub fn install() {
    captured();
}

/// Everything logged so far by this test process.
pub fn text() -> String {
    captured()
        .0
        .lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Every 12-character window of `secret`: finding any of them in a log means part of it leaked.
pub fn fragments(secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 12 {
        return vec![secret.to_owned()];
    }
    chars.windows(12).map(|w| w.iter().collect()).collect()
}

/// Panics naming the first secret found in `haystack` (the secret itself is not printed).
pub fn assert_absent(haystack: &str, secrets: &[String], place: &str) {
    for (i, secret) in secrets.iter().enumerate() {
        for fragment in fragments(secret) {
            assert!(
                !haystack.contains(&fragment),
                "{place} contains part of secret #{i} ({} chars)",
                secret.len()
            );
        }
    }
}
