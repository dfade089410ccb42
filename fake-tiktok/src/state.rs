//! The fake's whole mutable state behind one lock. Critical sections are short and never await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::authorize::KNOWN_SCOPES;
use crate::clock::Clock;
use crate::config::{FakeConfig, FakeUser, RemovalReason};
use crate::faults::Faults;
use crate::grants::{Grants, TokenSet};
use crate::publish::{FakePublish, Outcome, PublishType, Publishes, Status};
use crate::ratelimit::RateLimits;
use crate::seed;
use crate::webhooks::Webhooks;

pub(crate) struct Store {
    pub(crate) config: FakeConfig,
    pub(crate) clock: Clock,
    pub(crate) faults: Faults,
    pub(crate) grants: Grants,
    pub(crate) publishes: Publishes,
    pub(crate) rate_limits: RateLimits,
    pub(crate) webhooks: Webhooks,
    /// `http://127.0.0.1:PORT` once bound: the host of `upload_url`s.
    pub(crate) base_url: String,
    /// Index into `config.users` by `open_id` (the first account wins on duplicates, as a scan
    /// would). `config.users` only grows, through [`Store::mint_grant`].
    user_index: HashMap<String, usize>,
}

/// Why [`Store::mint_grant`] refused: what the consent flow would refuse too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MintError {
    /// An empty `open_id`.
    OpenId,
    /// No scope, or one TikTok does not know.
    Scope,
    /// A sandbox app and an account that is not one of its targets.
    NonSandboxTarget,
}

impl MintError {
    /// The control API's `error` code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            MintError::OpenId => "invalid_open_id",
            MintError::Scope => "invalid_scope",
            MintError::NonSandboxTarget => "non_sandbox_target",
        }
    }
}

impl Store {
    pub(crate) fn user(&self, open_id: &str) -> Option<&FakeUser> {
        self.config.users.get(*self.user_index.get(open_id)?)
    }

    pub(crate) fn user_mut(&mut self, open_id: &str) -> Option<&mut FakeUser> {
        self.config.users.get_mut(*self.user_index.get(open_id)?)
    }

    pub(crate) fn has_user(&self, open_id: &str) -> bool {
        self.user_index.contains_key(open_id)
    }

    /// As if TikTok ended the user's authorization for `reason` (the user removed the app, the
    /// account was deleted or banned, …): every grant dies, and if one was alive an
    /// `authorization.removed` webhook with that reason goes out.
    pub(crate) fn remove_app(&mut self, open_id: &str, reason: RemovalReason) {
        if self.grants.revoke_user(open_id) {
            self.emit_webhook(
                "authorization.removed",
                open_id,
                &serde_json::json!({ "reason": reason.code() }),
            );
        }
    }

    /// Scripts a publish to `FAILED` with `reason`; false for an unknown publish.
    pub(crate) fn fail_publish(&mut self, publish_id: &str, reason: &str) -> bool {
        let Some(publish) = self.publishes.get_mut(publish_id) else {
            return false;
        };
        publish.set_outcome(Outcome::Failed(reason.to_owned()));
        self.sweep_publishes();
        true
    }

    /// As if the user posted an inbox share from TikTok: `PUBLISH_COMPLETE`. False for an
    /// unknown publish, a Direct Post or a failed share.
    pub(crate) fn complete_inbox_share(&mut self, publish_id: &str) -> bool {
        let now = self.clock.now();
        let processing = self.config.processing_secs;
        let Some(publish) = self.publishes.get_mut(publish_id) else {
            return false;
        };
        if publish.kind != PublishType::InboxShare
            || matches!(publish.status(now, processing), Status::Failed(_))
        {
            return false;
        }
        publish.set_outcome(Outcome::Posted);
        self.sweep_publishes();
        true
    }

    /// The user's publishes as tests see them, oldest first (after a sweep, so that a post whose
    /// moderation just ended shows its post id).
    pub(crate) fn publish_views(&mut self, open_id: &str) -> Vec<FakePublish> {
        self.sweep_publishes();
        let now = self.clock.now();
        let processing = self.config.processing_secs;
        self.publishes
            .of_user(open_id)
            .map(|p| p.view(now, processing))
            .collect()
    }

    /// As if `open_id` approved `scopes` on the consent page and the code was exchanged: same
    /// checks (known scopes, at least one, sandbox targets), current lifetimes, nothing counted.
    /// An unknown `open_id` becomes a new account first.
    pub(crate) fn mint_grant(
        &mut self,
        open_id: &str,
        scopes: &[&str],
    ) -> Result<TokenSet, MintError> {
        if open_id.is_empty() {
            return Err(MintError::OpenId);
        }
        // Like the authorize request: known scopes only, duplicates dropped, order kept.
        let mut granted: Vec<String> = Vec::with_capacity(scopes.len());
        for scope in scopes {
            if !KNOWN_SCOPES.contains(scope) {
                return Err(MintError::Scope);
            }
            if !granted.iter().any(|g| g == scope) {
                granted.push((*scope).to_owned());
            }
        }
        if granted.is_empty() {
            return Err(MintError::Scope);
        }
        let outside_sandbox = self
            .config
            .sandbox_targets
            .as_ref()
            .is_some_and(|targets| !targets.iter().any(|t| t == open_id));
        if outside_sandbox {
            return Err(MintError::NonSandboxTarget);
        }
        if !self.has_user(open_id) {
            self.user_index
                .insert(open_id.to_owned(), self.config.users.len());
            self.config.users.push(seed::minted_user(open_id));
        }
        let now = self.clock.now();
        Ok(self.grants.mint(now, &self.config, open_id, granted))
    }
}

/// Shared handle to the [`Store`], used as axum state and by [`crate::FakeTikTok`].
#[derive(Clone)]
pub(crate) struct AppState(Arc<Mutex<Store>>);

/// Opaque on purpose: the store holds every code and token.
impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppState { .. }")
    }
}

impl AppState {
    pub(crate) fn new(config: FakeConfig) -> Self {
        let mut user_index = HashMap::with_capacity(config.users.len());
        for (i, user) in config.users.iter().enumerate() {
            user_index.entry(user.open_id.clone()).or_insert(i);
        }
        Self(Arc::new(Mutex::new(Store {
            config,
            clock: Clock::default(),
            faults: Faults::default(),
            grants: Grants::default(),
            publishes: Publishes::default(),
            rate_limits: RateLimits::default(),
            webhooks: Webhooks::default(),
            base_url: String::new(),
            user_index,
        })))
    }

    /// Runs `f` under the lock. A panic elsewhere cannot leave the store half-updated in a way
    /// that matters for a test fake, so a poisoned lock is simply taken over.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}
