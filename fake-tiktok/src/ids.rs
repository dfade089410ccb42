//! Random identifiers shaped like TikTok's: codes with `*` and `!`, `act.`/`rft.`/`clt.` tokens
//! with a `!NNNN` suffix, and 34-character log ids.

use rand::Rng;

use crate::clock::compact_utc;

const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX_LOWER: &[u8] = b"0123456789abcdef";
const HEX_UPPER: &[u8] = b"0123456789ABCDEF";

fn pick(charset: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(charset[rng.random_range(0..charset.len())]))
        .collect()
}

fn four_digits() -> String {
    format!("{:04}", rand::rng().random_range(0..10_000))
}

/// An authorization code, e.g. `bR9C…Vg*0!6376.u1`: it needs percent-encoding in a URL.
pub(crate) fn authorization_code() -> String {
    format!("{}*0!{}.u1", pick(URL_SAFE, 40), four_digits())
}

/// A token with TikTok's shape: prefix, 32 hex, 28 alphanumerics, `!`, 4 digits.
pub(crate) fn token(prefix: &str) -> String {
    format!(
        "{prefix}.{}{}!{}",
        pick(HEX_LOWER, 32),
        pick(ALNUM, 28),
        four_digits()
    )
}

/// A log id: UTC timestamp plus 20 upper-case hex digits, 34 characters in all.
pub(crate) fn log_id(now: i64) -> String {
    format!("{}{}", compact_utc(now), pick(HEX_UPPER, 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let code = authorization_code();
        assert!(code.contains("*0!") && code.ends_with(".u1"), "{code}");
        assert_eq!(code.len(), 40 + 3 + 4 + 3);
        let act = token("act");
        assert!(act.starts_with("act.") && act.as_bytes()[act.len() - 5] == b'!');
        assert_eq!(log_id(1_655_924_077).len(), 34);
    }
}
