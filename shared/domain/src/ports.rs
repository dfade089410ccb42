//! The adapters a service runs on, named once. A service that keeps tokens is generic over one
//! `Ports` rather than four type parameters with a where-clause each time; the production bundle
//! is `connect_runtime::cold_start::Live`, the tests' is `fakes::Fakes`, and any other
//! combination (a counting cipher, a store that fails on cue) is `Adapters<…>` of its parts.
//! The connect leg (authorize and callback), which keeps no account yet, has its own smaller
//! bundle, `ConnectPorts`: production `connect_runtime::cold_start::LiveConnect`, tests
//! `fakes::FakeConnect`.

use std::marker::PhantomData;

use crate::cipher::TokenCipher;
use crate::clock::Clock;
use crate::events::EventSink;
use crate::store::{AccountStore, PendingConnectionStore, StateStore};
use crate::tiktok::TikTokApi;

/// One choice of adapter for each port the token keeper uses.
pub trait Ports: 'static {
    /// Accounts and their ownership (DynamoDB in production).
    type Accounts: AccountStore + 'static;
    /// Encrypts tokens at rest (KMS, with decryptions cached, in production).
    type Cipher: TokenCipher + 'static;
    /// TikTok's API (reqwest in production).
    type TikTok: TikTokApi + 'static;
    /// The time (the system's in production; tests move it).
    type Clock: Clock + 'static;
    /// Where changes are announced to the app (EventBridge and its outbox in production).
    type Events: EventSink + 'static;
}

/// A bundle made of the adapters given: a struct never built, which only names their types for
/// the bundle trait (held by a function pointer, so it is `Send + Sync` whatever they are).
macro_rules! adapters {
    ($(#[$attr:meta])* $name:ident for $bundle:ident {
        $($param:ident: $bound:path => $assoc:ident),+ $(,)?
    }) => {
        $(#[$attr])*
        pub struct $name<$($param),+>(PhantomData<fn() -> ($($param,)+)>);

        impl<$($param),+> $bundle for $name<$($param),+>
        where
            $($param: $bound + 'static),+
        {
            $(type $assoc = $param;)+
        }
    };
}

adapters! {
    /// The `Ports` made of these five adapters.
    Adapters for Ports {
        A: AccountStore => Accounts,
        C: TokenCipher => Cipher,
        T: TikTokApi => TikTok,
        K: Clock => Clock,
        E: EventSink => Events,
    }
}

/// One choice of adapter for each port the connect leg uses: the authorize leg stores a state,
/// the callback consumes it, exchanges the code and keeps the grant as a pending connection.
pub trait ConnectPorts: 'static {
    /// Single-use OAuth states and the per-user start quota (DynamoDB in production).
    type States: StateStore + 'static;
    /// Where the callback keeps a grant until the app user confirms it (DynamoDB in production).
    type Pending: PendingConnectionStore + 'static;
    /// Seals the PKCE verifier and the token pair (KMS in production; nothing to cache: each
    /// secret is opened at most once).
    type Cipher: TokenCipher + 'static;
    /// TikTok's token endpoint and profile (reqwest in production).
    type TikTok: TikTokApi + 'static;
    /// The time (the system's in production; tests move it).
    type Clock: Clock + 'static;
}

adapters! {
    /// The `ConnectPorts` made of these five adapters.
    ConnectAdapters for ConnectPorts {
        S: StateStore => States,
        A: PendingConnectionStore => Pending,
        C: TokenCipher => Cipher,
        T: TikTokApi => TikTok,
        K: Clock => Clock,
    }
}
