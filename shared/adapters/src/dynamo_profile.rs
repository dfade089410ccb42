//! The profile shown for an account (name, avatar, handle, `union_id`) in an item of its own,
//! `sk = PROFILE#<open_id>` beside the account item under the app user's partition. Every refresh
//! rewrites the account item; without the profile's signed avatar URL it stays under 1 KB, one
//! write unit a write instead of two (docs/operations.md#write-units-per-refresh). A connect
//! writes both; `GET /tiktok/me` writes the profile when its fingerprint changed; a single read
//! (`get`, the lease) returns the account alone, a listing both.
//!
//! Records written before the move carry the profile in the account item. They still read (the
//! account item's attributes are the fallback), and the next write of their profile or of their
//! tokens moves it out.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, Update};

use crate::dynamo::{Item, get_opt_s, key, s};
use crate::keys::{self, PROFILE_ATTRS, PROFILE_SK_PREFIX};
use connect_domain::store::{Account, StoreError};

pub(crate) fn profile_key(app_user: &str, open_id: &str) -> Item {
    key(keys::user_pk(app_user), &keys::profile_sk(open_id))
}

/// The account's profile fields that are known, by attribute name.
fn known_fields(account: &Account) -> impl Iterator<Item = (&'static str, &String)> {
    PROFILE_ATTRS
        .into_iter()
        .zip([
            &account.union_id,
            &account.display_name,
            &account.avatar_url,
            &account.username,
        ])
        .filter_map(|(name, value)| value.as_ref().map(|v| (name, v)))
}

/// The profile item as a connect writes it, replacing any earlier one (a new grant, maybe
/// another person's: nothing of the old profile may stay).
pub(crate) fn profile_put(table: &str, account: &Account) -> Result<Put, StoreError> {
    let mut item = profile_key(&account.app_user, &account.open_id);
    item.extend(known_fields(account).map(|(name, value)| (name.to_owned(), s(value))));
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .map_err(|_| StoreError::Corrupt("profile put"))
}

/// How a write sets the profile item's fields from `account`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fields {
    /// Every known field replaces the stored one (TikTok's answer, merged with what was stored).
    Replace,
    /// Only fields the item lacks: a profile moved out of an old account item must not
    /// overwrite one written since.
    FillMissing,
}

/// `SET` clauses and values writing `account`'s known fields into the profile item; `None` when
/// no field is known.
fn set_fields(account: &Account, fields: Fields) -> Option<(String, Item)> {
    let (clauses, values): (Vec<String>, Item) = known_fields(account)
        .map(|(name, value)| {
            let clause = match fields {
                Fields::Replace => format!("{name} = :{name}"),
                Fields::FillMissing => format!("{name} = if_not_exists({name}, :{name})"),
            };
            (clause, (format!(":{name}"), s(value)))
        })
        .unzip();
    (!clauses.is_empty()).then(|| (format!("SET {}", clauses.join(", ")), values))
}

/// An update of the profile item with `account`'s known fields; `None` when none is known.
pub(crate) fn profile_update(
    table: &str,
    account: &Account,
    fields: Fields,
) -> Result<Option<Update>, StoreError> {
    let Some((expression, values)) = set_fields(account, fields) else {
        return Ok(None);
    };
    Update::builder()
        .table_name(table)
        .set_key(Some(profile_key(&account.app_user, &account.open_id)))
        .update_expression(expression)
        .set_expression_attribute_values(Some(values))
        .build()
        .map(Some)
        .map_err(|_| StoreError::Corrupt("profile update"))
}

pub(crate) fn profile_delete(
    table: &str,
    app_user: &str,
    open_id: &str,
) -> Result<Delete, StoreError> {
    Delete::builder()
        .table_name(table)
        .set_key(Some(profile_key(app_user, open_id)))
        .build()
        .map_err(|_| StoreError::Corrupt("profile delete"))
}

/// Whether `account` was read from an account item that still carries its profile (written
/// before the move): the fields are known but no fingerprint was ever stored with them.
pub(crate) fn carries_old_profile(account: &Account) -> bool {
    account.profile_digest.is_none() && known_fields(account).next().is_some()
}

/// `REMOVE` operands that take an old record's profile out of its account item.
pub(crate) fn old_profile_attrs() -> String {
    PROFILE_ATTRS.join(", ")
}

/// The `open_id` a listed item is the profile of, if it is a profile item.
pub(crate) fn profile_of(item: &Item) -> Option<&str> {
    item.get(keys::TABLE_RANGE_KEY)
        .and_then(|sk| sk.as_s().ok())
        .and_then(|sk| sk.strip_prefix(PROFILE_SK_PREFIX))
}

/// `account` shown with its profile item's fields; a field the item lacks keeps what the account
/// item carried (a record from before the move).
pub(crate) fn with_profile(account: Account, profile: &Item) -> Account {
    let field = |name: &str, old: Option<String>| get_opt_s(profile, name).or(old);
    Account {
        union_id: field("union_id", account.union_id.clone()),
        display_name: field("display_name", account.display_name.clone()),
        avatar_url: field("avatar_url", account.avatar_url.clone()),
        username: field("username", account.username.clone()),
        ..account
    }
}

/// The value stored as the account item's `profile_digest`.
pub(crate) fn digest_value(account: &Account) -> Option<AttributeValue> {
    account.profile_digest.as_ref().map(s)
}
