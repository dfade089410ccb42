//! The adapters a service runs on, named once. A service that keeps tokens is generic over one
//! `Ports` rather than four type parameters with a where-clause each time; the production bundle
//! is `connect_runtime::cold_start::Live`, the tests' is `fakes::Fakes`, and any other
//! combination (a counting cipher, a store that fails on cue) is `Adapters<…>` of its parts.

use std::marker::PhantomData;

use crate::cipher::TokenCipher;
use crate::clock::Clock;
use crate::events::EventSink;
use crate::store::AccountStore;
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

/// The `Ports` made of these five adapters. Never built: it only names the types.
pub struct Adapters<A, C, T, K, E>(PhantomData<Parts<A, C, T, K, E>>);

/// The adapters' types, held by a function pointer so `Adapters` is `Send + Sync` whatever they are.
type Parts<A, C, T, K, E> = fn() -> (A, C, T, K, E);

impl<A, C, T, K, E> Ports for Adapters<A, C, T, K, E>
where
    A: AccountStore + 'static,
    C: TokenCipher + 'static,
    T: TikTokApi + 'static,
    K: Clock + 'static,
    E: EventSink + 'static,
{
    type Accounts = A;
    type Cipher = C;
    type TikTok = T;
    type Clock = K;
    type Events = E;
}
