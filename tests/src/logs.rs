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
        connect_runtime::telemetry::init_with_writer(logs.clone(), true, "trace");
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

/// Length of the fragments searched for: any run this long of a secret counts as a leak. Eight
/// characters of a token is already more than any log should ever hold of it.
pub const FRAGMENT: usize = 8;

/// Every `FRAGMENT`-byte window of `secret`: finding any of them in a log means part of it leaked.
pub fn fragments(secret: &str) -> Vec<&[u8]> {
    let bytes = secret.as_bytes();
    if bytes.len() <= FRAGMENT {
        return vec![bytes];
    }
    bytes.windows(FRAGMENT).collect()
}

/// Panics naming the first secret found in `haystack` (the secret itself is not printed). One pass
/// over the haystack against a set of every secret's windows, so long logs stay cheap to scan.
pub fn assert_absent(haystack: &str, secrets: &[String], place: &str) {
    let mut windows: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
    for (i, secret) in secrets.iter().enumerate() {
        if secret.len() < FRAGMENT {
            assert!(
                !haystack.contains(secret.as_str()),
                "{place} contains secret #{i} ({} chars)",
                secret.len()
            );
            continue;
        }
        for window in fragments(secret) {
            windows.entry(window).or_insert(i);
        }
    }
    if let Some(i) = haystack
        .as_bytes()
        .windows(FRAGMENT)
        .find_map(|w| windows.get(w))
    {
        panic!(
            "{place} contains part of secret #{i} ({} chars)",
            secrets[*i].len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "contains part of secret #1")]
    fn a_fragment_of_a_secret_is_found() {
        let secrets = ["short".to_owned(), "act.0123456789abcdefXYZ".to_owned()];
        assert_absent("log line ... 456789ab ... end", &secrets, "the log");
    }

    #[test]
    fn text_without_secrets_passes() {
        let secrets = ["act.0123456789abcdefXYZ".to_owned()];
        assert_absent("act.012 is only 7 characters of it", &secrets, "the log");
    }
}
