//! The adapters a service runs on, named once. A service that keeps tokens is generic over one
//! `Ports` rather than four type parameters with a where-clause each time; the production bundle
//! is `connect_runtime::cold_start::Live`, the tests' is `fakes::Fakes`, and any other
//! combination (a counting cipher, a store that fails on cue) is `Adapters<…>` of its parts.

use std::marker::PhantomData;

use crate::cipher::TokenCipher;
use crate::clock::Clock;
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
}

/// The `Ports` made of these four adapters. Never built: it only names the types.
pub struct Adapters<A, C, T, K>(PhantomData<fn(A, C, T, K)>);

impl<A, C, T, K> Ports for Adapters<A, C, T, K>
where
    A: AccountStore + 'static,
    C: TokenCipher + 'static,
    T: TikTokApi + 'static,
    K: Clock + 'static,
{
    type Accounts = A;
    type Cipher = C;
    type TikTok = T;
    type Clock = K;
}
