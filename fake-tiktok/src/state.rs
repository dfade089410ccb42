//! The fake's whole mutable state behind one lock. Critical sections are short and never await.

use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::config::FakeConfig;
use crate::faults::Faults;
use crate::grants::Grants;

pub(crate) struct Store {
    pub(crate) config: FakeConfig,
    pub(crate) clock: Clock,
    pub(crate) faults: Faults,
    pub(crate) grants: Grants,
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
        Self(Arc::new(Mutex::new(Store {
            config,
            clock: Clock::default(),
            faults: Faults::default(),
            grants: Grants::default(),
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
