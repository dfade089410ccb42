//! TikTok's ids as types, so an `open_id` cannot be passed where an app user id or a
//! `publish_id` is expected (`AppUser` is the app's own, in `app_user.rs`). Each derefs to `str`
//! for keys, logs and events, as `oauth2`'s typed ids deref to their string.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// The longest `open_id` the API accepts from the app (TikTok's are about 40 characters).
pub const MAX_OPEN_ID_LEN: usize = 128;
/// The longest `publish_id` the API accepts from the app (TikTok's and ours are shorter).
pub const MAX_PUBLISH_ID_LEN: usize = 64;

/// TikTok's id of a person for this client key (`open_id`): what keys an account beside its app
/// user. Not a secret, but logs show it shortened.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpenId(String);

/// A post's id as the API names it (`publish_id`): TikTok's (`v_pub_…`, `v_inbox_…`), which keys
/// a post's record and its status calls, or a scheduled post's own (`sched_…`) until it fires and
/// TikTok gives it one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PublishId(String);

/// Whether `value` is an id the app may send: 1 to `max` visible ASCII characters.
fn visible_ascii(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && value.bytes().all(|b| b.is_ascii_graphic())
}

impl OpenId {
    /// An id from the app (a path or query parameter, a request body): 1–128 visible ASCII
    /// characters, or `None`.
    pub fn parse(value: &str) -> Option<Self> {
        visible_ascii(value, MAX_OPEN_ID_LEN).then(|| Self(value.to_owned()))
    }
}

impl PublishId {
    /// An id from the app (a path): 1–64 visible ASCII characters, or `None`.
    pub fn parse(value: &str) -> Option<Self> {
        visible_ascii(value, MAX_PUBLISH_ID_LEN).then(|| Self(value.to_owned()))
    }
}

/// What both ids share: read as `str`, built unchecked from what TikTok answered or our own
/// store gave back (ids from the app go through `parse`), compared with strings.
macro_rules! string_id {
    ($id:ident) => {
        impl $id {
            /// The id as TikTok spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $id {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $id {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $id {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<$id> for String {
            fn from(id: $id) -> Self {
                id.0
            }
        }

        impl From<&$id> for String {
            fn from(id: &$id) -> Self {
                id.0.clone()
            }
        }

        /// Maps keyed by the id can be read with a `&str`.
        impl Borrow<str> for $id {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $id {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $id {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

string_id!(OpenId);
string_id!(PublishId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_id_from_the_app_is_visible_ascii_of_bounded_length() {
        assert_eq!(
            OpenId::parse("-000abc_DEF.1").expect("valid"),
            "-000abc_DEF.1"
        );
        assert!(OpenId::parse("").is_none());
        assert!(OpenId::parse("has space").is_none());
        assert!(OpenId::parse("é").is_none());
        assert!(OpenId::parse(&"a".repeat(MAX_OPEN_ID_LEN)).is_some());
        assert!(OpenId::parse(&"a".repeat(MAX_OPEN_ID_LEN + 1)).is_none());
    }

    #[test]
    fn a_publish_id_from_the_app_is_visible_ascii_of_at_most_64_characters() {
        assert_eq!(
            PublishId::parse("v_pub_url~v2.123").expect("valid"),
            "v_pub_url~v2.123"
        );
        assert!(PublishId::parse("").is_none());
        assert!(PublishId::parse("a\tb").is_none());
        assert!(PublishId::parse(&"a".repeat(MAX_PUBLISH_ID_LEN)).is_some());
        assert!(PublishId::parse(&"a".repeat(MAX_PUBLISH_ID_LEN + 1)).is_none());
    }

    #[test]
    fn an_id_serializes_as_its_string() {
        let id = OpenId::from("-000abc");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"-000abc\"");
        let id: PublishId = serde_json::from_str("\"v_pub_1\"").expect("json");
        assert_eq!(id, "v_pub_1");
    }
}
