//! The two default TikTok accounts. Deterministic apart from being anchored to "now", so that
//! video timestamps always fall within the last 90 days.
//!
//! `open-alice-0001` is a public account; `open-bob-0002` is the one **private** account (creator
//! info offers `FOLLOWER_OF_CREATOR`, `MUTUAL_FOLLOW_FRIENDS`, `SELF_ONLY`). Accounts made up by
//! `FakeTikTok::mint_grant` are public. Everyone may post 600 s videos and has no posting block.
//! Exactly one seeded video is AI-generated content (`is_aigc`): Alice's second newest, so a
//! first page of her videos shows both values.

use sha2::{Digest, Sha256};

use crate::clock::real_now;
use crate::config::{FakeUser, FakeVideo};

const DAY: i64 = 86_400;

/// Titles cycle through these; some carry emoji and non-Latin text on purpose.
const TITLES: [&str; 8] = [
    "Morning routine 💃",
    "Salsa basics, part 1",
    "Ünïcödé dance challenge ✨🔥",
    "踊ってみた — first try",
    "Behind the scenes",
    "Rainy day freestyle 🌧️",
    "Duet with my cat 🐈",
    "Choreo: \"quotes\" & <angle brackets>",
];

/// The one private seeded account.
pub(crate) const PRIVATE_USER: &str = "open-bob-0002";

pub(crate) fn default_users() -> Vec<FakeUser> {
    let now = real_now();
    let mut users = vec![
        user(
            "open-alice-0001",
            "union-alice-7f3a9c",
            "Alice Dancer",
            "alice.dances",
            "Dancing since 2015 💃 | choreo every Friday",
            true,
            videos(now, 25, 3),
        ),
        user(
            "open-bob-0002",
            "union-bob-41d0e2",
            "Bob Builder",
            "bob.builds",
            "Can we fix it?",
            false,
            videos(now, 3, 29),
        ),
    ];
    for user in &mut users {
        user.private_account = user.open_id == PRIVATE_USER;
    }
    if let Some(video) = users.first_mut().and_then(|alice| alice.videos.get_mut(1)) {
        video.is_aigc = true;
    }
    users
}

fn user(
    open_id: &str,
    union_id: &str,
    display_name: &str,
    username: &str,
    bio: &str,
    is_verified: bool,
    videos: Vec<FakeVideo>,
) -> FakeUser {
    let likes: i64 = videos.iter().map(|v| i64::from(v.like_count)).sum();
    FakeUser {
        open_id: open_id.to_owned(),
        union_id: union_id.to_owned(),
        display_name: display_name.to_owned(),
        avatar_url: format!(
            "https://p16-sign.tiktokcdn.com/avatar/{open_id}.jpeg?x-expires={}&x-signature=fake",
            real_now() + 3 * DAY
        ),
        username: username.to_owned(),
        bio_description: bio.to_owned(),
        is_verified,
        follower_count: 1_200 + likes / 3,
        following_count: 180,
        likes_count: likes,
        video_count: i64::try_from(videos.len()).unwrap_or(i64::MAX),
        videos,
        private_account: false,
        max_video_post_duration_sec: 600,
        posting_block: None,
    }
}

/// First and last names for accounts made up on the fly by `FakeTikTok::mint_grant`.
const FIRST_NAMES: [&str; 16] = [
    "Maya", "Leo", "Sofia", "Kai", "Amara", "Noah", "Yuki", "Mateo", "Zoe", "Omar", "Lena", "Ravi",
    "Chloé", "Jonas", "Aiko", "Diego",
];
const LAST_NAMES: [&str; 16] = [
    "Kowalski", "Okafor", "Silva", "Tanaka", "Müller", "Haddad", "Nguyen", "Rossi", "Dubois",
    "Kim", "Andersen", "Patel", "García", "Novak", "Ito", "Byrne",
];

/// A fresh account for an unknown `open_id`: stable for that id, no videos. The username looks
/// like the `user` + 13 digits TikTok gives new accounts.
pub(crate) fn minted_user(open_id: &str) -> FakeUser {
    let digest = Sha256::digest(open_id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    let h = u64::from_le_bytes(bytes);
    let pick = |shift: u32| usize::try_from((h >> shift) & 0xF).unwrap_or(0);
    let display_name = format!("{} {}", FIRST_NAMES[pick(0)], LAST_NAMES[pick(4)]);
    let username = format!("user{:013}", h % 10_000_000_000_000);
    let union_id = format!("union-{}", hex::encode(&digest[8..14]));
    let mut user = user(
        open_id,
        &union_id,
        &display_name,
        &username,
        "",
        false,
        Vec::new(),
    );
    user.follower_count = i64::try_from((h >> 8) % 5_000).unwrap_or(0);
    user.following_count = i64::try_from((h >> 24) % 500).unwrap_or(0);
    user
}

/// `count` videos, newest about an hour ago, spread evenly over the last 89 days, distinct seconds.
fn videos(now: i64, count: i64, salt: i64) -> Vec<FakeVideo> {
    let step = 89 * DAY / count.max(1);
    (0..count)
        .map(|i| {
            let create_time = now - 3_600 - i * step - (i * 37 + salt) % 600;
            let idx = usize::try_from((i + salt) % 8).unwrap_or(0);
            let n = i32::try_from(i).unwrap_or(0);
            FakeVideo {
                id: video_id(create_time, i + salt),
                title: format!("{} #{}", TITLES[idx], i + 1),
                video_description: format!("Video {} of {count}. #fyp #dance", i + 1),
                create_time,
                duration: 7 + (n * 13) % 170,
                width: 1080,
                height: 1920,
                like_count: 100 + n * 41,
                comment_count: 3 + n * 2,
                share_count: n,
                view_count: 1_000 + i64::from(n) * 977,
                is_aigc: false,
            }
        })
        .collect()
}

/// TikTok video ids carry the creation time in their upper 32 bits, which gives 19 digits.
fn video_id(create_time: i64, n: i64) -> String {
    let time = u64::try_from(create_time).unwrap_or(0);
    let low = u64::try_from(n.wrapping_mul(2_654_435_761) & 0xFFFF_FFFF).unwrap_or(0);
    format!("{:019}", (time << 32) | low)
}
