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

/// Length of the fragments made only of hex digits. Eight of them are 32 bits: the table holds
/// thousands of random hex ids that are not secrets (grant ids, profile digests), and a run of
/// 250 accounts has a thousand tokens with 32 hex digits each, so an 8-digit match by chance
/// came up in about one run in twenty. Sixteen (64 bits) never does; a window that reaches into
/// a token's prefix or its letters is still searched at `FRAGMENT`.
pub const HEX_FRAGMENT: usize = 16;

fn all_hex(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_hexdigit)
}

/// Every `FRAGMENT`-byte window of `secret` that is not all hex digits, and every
/// `HEX_FRAGMENT`-byte window that is: finding any of them in a log means part of it leaked.
pub fn fragments(secret: &str) -> Vec<&[u8]> {
    let bytes = secret.as_bytes();
    if bytes.len() <= FRAGMENT {
        return vec![bytes];
    }
    let mixed = bytes.windows(FRAGMENT).filter(|w| !all_hex(w));
    let hex = bytes.windows(HEX_FRAGMENT).filter(|w| all_hex(w));
    mixed.chain(hex).collect()
}

/// Panics naming the first secret found in `haystack` (the secret itself is not printed). Every
/// window of every secret is searched for in one pass (Aho-Corasick): each test scans the whole
/// process's log, which by the end of `tests/it` is long, and a window-by-window lookup in a
/// hash map took half of that binary's time.
pub fn assert_absent(haystack: &str, secrets: &[String], place: &str) {
    let mut windows = Vec::new();
    let mut owners = Vec::new();
    for (i, secret) in secrets.iter().enumerate() {
        // Too short for a window of its kind: searched whole.
        if secret.len() < FRAGMENT || (secret.len() < HEX_FRAGMENT && all_hex(secret.as_bytes())) {
            assert!(
                !haystack.contains(secret.as_str()),
                "{place} contains secret #{i} ({} chars)",
                secret.len()
            );
            continue;
        }
        for window in fragments(secret) {
            windows.push(window);
            owners.push(i);
        }
    }
    let searcher = aho_corasick::AhoCorasick::new(&windows).expect("secret windows");
    if let Some(found) = searcher.find(haystack) {
        let i = owners[found.pattern().as_usize()];
        panic!(
            "{place} contains part of secret #{i} ({} chars)",
            secrets[i].len()
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
        assert_absent("log line ... t.012345 ... end", &secrets, "the log");
    }

    #[test]
    #[should_panic(expected = "contains part of secret #0")]
    fn sixteen_hex_digits_of_a_secret_are_found() {
        let secrets = ["act.0123456789abcdef0123XYZ".to_owned()];
        assert_absent("id=3456789abcdef012 ...", &secrets, "the log");
    }

    #[test]
    #[should_panic(expected = "contains secret #0")]
    fn a_short_hex_secret_is_searched_whole() {
        let secrets = ["0123456789ab".to_owned()];
        assert_absent("key=0123456789ab", &secrets, "the log");
    }

    #[test]
    fn eight_hex_digits_alone_are_chance_not_a_leak() {
        let secrets = ["act.0123456789abcdef0123XYZ".to_owned()];
        assert_absent("grant 456789ab and digest 89abcdef01", &secrets, "the log");
    }

    #[test]
    #[should_panic(expected = "contains part of secret #0")]
    fn eight_characters_reaching_past_the_hex_are_found() {
        let secrets = ["act.0123456789abcdef0123XYZ".to_owned()];
        assert_absent("... ef0123XY ...", &secrets, "the log");
    }

    #[test]
    fn text_without_secrets_passes() {
        let secrets = ["act.0123456789abcdefXYZ".to_owned()];
        assert_absent("act.012 is only 7 characters of it", &secrets, "the log");
    }
}
