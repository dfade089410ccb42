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

/// 19 random digits (no leading zero), like TikTok's numeric ids.
pub(crate) fn digits19() -> String {
    let mut rng = rand::rng();
    format!(
        "{}{:018}",
        rng.random_range(1..10),
        rng.random_range(0..1_000_000_000_000_000_000u64)
    )
}

/// A `publish_id`: the prefix (`v_pub_file~v2-1`, `v_pub_url~v2`, `v_inbox_file~v2`,
/// `v_inbox_url~v2`, `p_pub_url~v2`, `p_inbox_url~v2`), a dot and 19 digits.
pub(crate) fn publish_id(prefix: &str) -> String {
    format!("{prefix}.{}", digits19())
}

/// The secret half of an `upload_url`.
pub(crate) fn upload_token() -> String {
    pick(ALNUM, 40)
}

/// A public post id: the creation time in the upper 32 bits like video ids (19 digits, far
/// above 2^53), random below.
pub(crate) fn post_id(now: i64) -> u64 {
    let time = u64::try_from(now).unwrap_or(0) & 0xFFFF_FFFF;
    (time << 32) | u64::from(rand::rng().random::<u32>())
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
        assert_eq!(digits19().len(), 19);
        let id = publish_id("v_pub_file~v2-1");
        assert!(
            id.starts_with("v_pub_file~v2-1.") && id.len() == 16 + 19,
            "{id}"
        );
        assert!(post_id(1_700_000_000) > 1 << 53);
    }
}
