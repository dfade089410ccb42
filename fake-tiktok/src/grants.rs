//! Authorization codes, grants and tokens: the OAuth rules, independent of HTTP.
//!
//! A *grant* is one successful code exchange: a user, a client, the granted scopes and the
//! refresh window (fixed at the first issuance, never extended by refreshing). Access and refresh
//! tokens point at their grant; revoking the grant kills all of them at once.
//!
//! Everything a request or a per-user control touches is indexed (grants by user, each grant's
//! access tokens and live refresh-token count, approvals by user), so no call scans all users,
//! grants or tokens: benchmarks hold thousands of accounts and refresh each of them.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::config::{FakeConfig, Rotation};
use crate::{ids, pkce};

/// An OAuth error: `error` code and `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) error: &'static str,
    pub(crate) description: &'static str,
}

pub(crate) const MALFORMED: OAuthError = OAuthError {
    error: "invalid_request",
    description: "The request parameters are malformed.",
};
const CODE_EXPIRED: OAuthError = OAuthError {
    error: "invalid_grant",
    description: "Authorization code is expired.",
};
const CODE_INVALID: OAuthError = OAuthError {
    error: "invalid_grant",
    description: "Authorization code is invalid.",
};
const REDIRECT_MISMATCH: OAuthError = OAuthError {
    error: "invalid_request",
    description: "Redirect_uri is not matched with the uri when requesting code.",
};
const PKCE_INVALID: OAuthError = OAuthError {
    error: "invalid_request",
    description: "Code verifier or code challenge is invalid.",
};
const REFRESH_INVALID: OAuthError = OAuthError {
    error: "invalid_grant",
    description: "Refresh token is invalid or expired.",
};

/// What a code is bound to.
#[derive(Clone)]
pub(crate) struct CodeRequest {
    pub(crate) client_key: String,
    pub(crate) redirect_uri: String,
    pub(crate) open_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) challenge: Option<String>,
}

struct Code {
    request: CodeRequest,
    expires_at: i64,
    used: bool,
}

struct Grant {
    open_id: String,
    client_key: String,
    scopes: Vec<String>,
    refresh_expires_at: i64,
    revoked: bool,
    /// Every access token issued for this grant (keys of [`Grants::access`]).
    access_tokens: Vec<String>,
    /// How many of this grant's refresh tokens are still `live`.
    live_refresh: usize,
}

struct AccessToken {
    grant: usize,
    expires_at: i64,
}

struct RefreshToken {
    grant: usize,
    /// False once rotated away under [`Rotation::Strict`].
    live: bool,
}

/// A successful user-token response, before serialisation.
#[derive(Clone)]
pub(crate) struct TokenSet {
    pub(crate) access_token: String,
    pub(crate) expires_in: i64,
    pub(crate) open_id: String,
    pub(crate) refresh_token: String,
    pub(crate) refresh_expires_in: i64,
    pub(crate) scope: String,
}

/// The user behind a valid access token.
#[derive(Debug, Clone)]
pub(crate) struct Bearer {
    pub(crate) open_id: String,
    pub(crate) scopes: Vec<String>,
}

/// A browser's earlier consent, per user: `(client_key, granted scopes)`; enables silent re-auth.
type Approval = (String, BTreeSet<String>);

#[derive(Default)]
pub(crate) struct Grants {
    codes: HashMap<String, Code>,
    grants: Vec<Grant>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    client_tokens: HashMap<String, i64>,
    /// Indexes into `grants`, by `open_id`.
    by_user: HashMap<String, Vec<usize>>,
    /// By `open_id`.
    approvals: HashMap<String, HashSet<Approval>>,
    /// Every code and token ever issued, in order.
    issued: Vec<String>,
    /// Every upload URL token handed out.
    upload_tokens: Vec<String>,
}

impl Grants {
    pub(crate) fn issue_code(&mut self, now: i64, ttl_secs: i64, request: CodeRequest) -> String {
        let code = ids::authorization_code();
        self.issued.push(code.clone());
        self.codes.insert(
            code.clone(),
            Code {
                request,
                expires_at: now.saturating_add(ttl_secs),
                used: false,
            },
        );
        code
    }

    /// `grant_type=authorization_code`. The code is burnt only by a successful exchange.
    pub(crate) fn exchange_code(
        &mut self,
        now: i64,
        config: &FakeConfig,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenSet, OAuthError> {
        let record = self.codes.get(code).ok_or(CODE_INVALID)?;
        if record.used || now >= record.expires_at {
            return Err(CODE_EXPIRED);
        }
        let request = &record.request;
        if request.client_key != config.client_key {
            return Err(CODE_INVALID);
        }
        if redirect_uri != Some(request.redirect_uri.as_str()) {
            return Err(REDIRECT_MISMATCH);
        }
        if let Some(challenge) = &request.challenge {
            let ok = verifier.is_some_and(|v| pkce::verify(config.pkce, challenge, v));
            if !ok {
                return Err(PKCE_INVALID);
            }
        }
        let request = request.clone();
        if let Some(record) = self.codes.get_mut(code) {
            record.used = true;
        }
        let grant = self.new_grant(now, config, request.open_id, request.scopes);
        Ok(self.issue_tokens(now, config, grant))
    }

    /// What a consent plus a successful code exchange leave behind, without the code: the
    /// approval (for silent re-auth), a grant and its first tokens.
    pub(crate) fn mint(
        &mut self,
        now: i64,
        config: &FakeConfig,
        open_id: &str,
        scopes: Vec<String>,
    ) -> TokenSet {
        self.record_approval(open_id, &config.client_key, &scopes);
        let grant = self.new_grant(now, config, open_id.to_owned(), scopes);
        self.issue_tokens(now, config, grant)
    }

    /// A grant for this app; its refresh window starts now and is never extended.
    fn new_grant(
        &mut self,
        now: i64,
        config: &FakeConfig,
        open_id: String,
        scopes: Vec<String>,
    ) -> usize {
        let idx = self.grants.len();
        self.by_user.entry(open_id.clone()).or_default().push(idx);
        self.grants.push(Grant {
            open_id,
            client_key: config.client_key.clone(),
            scopes,
            refresh_expires_at: now.saturating_add(config.lifetimes.refresh_secs),
            revoked: false,
            access_tokens: Vec::new(),
            live_refresh: 0,
        });
        idx
    }

    /// `grant_type=refresh_token`, with the configured rotation.
    pub(crate) fn refresh(
        &mut self,
        now: i64,
        config: &FakeConfig,
        refresh_token: &str,
    ) -> Result<TokenSet, OAuthError> {
        let record = self.refresh.get(refresh_token).ok_or(REFRESH_INVALID)?;
        let grant_idx = record.grant;
        let grant = self.grants.get(grant_idx).ok_or(REFRESH_INVALID)?;
        if !record.live
            || grant.revoked
            || now >= grant.refresh_expires_at
            || grant.client_key != config.client_key
        {
            return Err(REFRESH_INVALID);
        }
        if config.rotation == Rotation::Strict
            && let Some(old) = self.refresh.get_mut(refresh_token)
        {
            old.live = false;
            if let Some(grant) = self.grants.get_mut(grant_idx) {
                grant.live_refresh = grant.live_refresh.saturating_sub(1);
            }
        }
        Ok(self.issue_tokens(now, config, grant_idx))
    }

    fn issue_tokens(&mut self, now: i64, config: &FakeConfig, grant_idx: usize) -> TokenSet {
        let access_token = ids::token("act");
        let refresh_token = ids::token("rft");
        self.issued.push(access_token.clone());
        self.issued.push(refresh_token.clone());
        self.access.insert(
            access_token.clone(),
            AccessToken {
                grant: grant_idx,
                expires_at: now.saturating_add(config.lifetimes.access_secs),
            },
        );
        self.refresh.insert(
            refresh_token.clone(),
            RefreshToken {
                grant: grant_idx,
                live: true,
            },
        );
        let (open_id, scope, refresh_expires_at) = match self.grants.get_mut(grant_idx) {
            Some(g) => {
                g.access_tokens.push(access_token.clone());
                g.live_refresh += 1;
                (g.open_id.clone(), g.scopes.join(","), g.refresh_expires_at)
            }
            None => Default::default(),
        };
        TokenSet {
            access_token,
            expires_in: config.lifetimes.access_secs,
            open_id,
            refresh_token,
            refresh_expires_in: refresh_expires_at.saturating_sub(now).max(0),
            scope,
        }
    }

    /// `grant_type=client_credentials`: an app token, 2 h, no refresh token.
    pub(crate) fn client_token(&mut self, now: i64) -> (String, i64) {
        let token = ids::token("clt");
        self.issued.push(token.clone());
        self.client_tokens
            .insert(token.clone(), now.saturating_add(7_200));
        (token, 7_200)
    }

    /// The grant behind a usable access token.
    fn live_grant(&self, now: i64, access_token: &str) -> Option<usize> {
        let token = self.access.get(access_token)?;
        let grant = self.grants.get(token.grant)?;
        (now < token.expires_at && !grant.revoked).then_some(token.grant)
    }

    /// `POST /v2/oauth/revoke/`: only a live access token of this client revokes, and it
    /// "disconnects your app from the user's TikTok account" (TikTok's revoke page, November 2026):
    /// every grant this client holds for the user dies, not only the token's own. Returns the
    /// grant's `open_id`.
    pub(crate) fn revoke(
        &mut self,
        now: i64,
        client_key: &str,
        access_token: &str,
    ) -> Result<String, OAuthError> {
        let idx = self.live_grant(now, access_token).ok_or(MALFORMED)?;
        let grant = self.grants.get_mut(idx).ok_or(MALFORMED)?;
        if grant.client_key != client_key {
            return Err(MALFORMED);
        }
        let client = grant.client_key.clone();
        let open_id = grant.open_id.clone();
        for &i in self.by_user.get(&open_id).into_iter().flatten() {
            if let Some(other) = self.grants.get_mut(i).filter(|g| g.client_key == client) {
                other.revoked = true;
            }
        }
        if let Some(approvals) = self.approvals.get_mut(&open_id) {
            approvals.retain(|(c, _)| c != &client);
        }
        Ok(open_id)
    }

    pub(crate) fn authenticate(&self, now: i64, access_token: &str) -> Option<Bearer> {
        let grant = self.grants.get(self.live_grant(now, access_token)?)?;
        Some(Bearer {
            open_id: grant.open_id.clone(),
            scopes: grant.scopes.clone(),
        })
    }

    pub(crate) fn record_approval(&mut self, open_id: &str, client_key: &str, scopes: &[String]) {
        self.approvals
            .entry(open_id.to_owned())
            .or_default()
            .insert((client_key.to_owned(), scopes.iter().cloned().collect()));
    }

    pub(crate) fn has_approval(&self, open_id: &str, client_key: &str, scopes: &[String]) -> bool {
        self.approvals.get(open_id).is_some_and(|approvals| {
            approvals.contains(&(client_key.to_owned(), scopes.iter().cloned().collect()))
        })
    }

    /// The user's grants (indexes into `grants`), oldest first.
    fn user_grants(&self, open_id: &str) -> &[usize] {
        self.by_user.get(open_id).map_or(&[], Vec::as_slice)
    }

    /// Makes every access token of the user's grants expired as of `now`.
    pub(crate) fn expire_access(&mut self, now: i64, open_id: &str) {
        let Some(indexes) = self.by_user.get(open_id) else {
            return;
        };
        for grant in indexes.iter().filter_map(|&i| self.grants.get(i)) {
            for token in &grant.access_tokens {
                if let Some(token) = self.access.get_mut(token) {
                    token.expires_at = token.expires_at.min(now);
                }
            }
        }
    }

    /// As if the user removed the app in TikTok: all their grants die. Whether one was alive.
    pub(crate) fn revoke_user(&mut self, open_id: &str) -> bool {
        let mut any_alive = false;
        if let Some(indexes) = self.by_user.get(open_id) {
            for &i in indexes {
                if let Some(grant) = self.grants.get_mut(i) {
                    any_alive |= !grant.revoked;
                    grant.revoked = true;
                }
            }
        }
        self.approvals.remove(open_id);
        any_alive
    }

    pub(crate) fn live_refresh_tokens(&self, now: i64, open_id: &str) -> usize {
        self.user_grants(open_id)
            .iter()
            .filter_map(|&i| self.grants.get(i))
            .filter(|g| !g.revoked && now < g.refresh_expires_at)
            .map(|g| g.live_refresh)
            .sum()
    }

    pub(crate) fn issued(&self) -> &[String] {
        &self.issued
    }

    /// Remembers an upload URL's token: a credential the app must be given (so not in
    /// `issued`, which no answer may contain) but must never log or store in clear.
    pub(crate) fn record_upload_token(&mut self, token: String) {
        self.upload_tokens.push(token);
    }

    pub(crate) fn upload_tokens(&self) -> &[String] {
        &self.upload_tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Grants, FakeConfig, String) {
        let config = FakeConfig::default();
        let mut grants = Grants::default();
        let code = grants.issue_code(
            1_000,
            300,
            CodeRequest {
                client_key: config.client_key.clone(),
                redirect_uri: "http://cb/".into(),
                open_id: "u1".into(),
                scopes: vec!["user.info.basic".into()],
                challenge: None,
            },
        );
        (grants, config, code)
    }

    #[test]
    fn code_is_single_use_and_expires() {
        let (mut g, config, code) = setup();
        assert_eq!(
            g.exchange_code(1_300, &config, &code, Some("http://cb/"), None)
                .err(),
            Some(CODE_EXPIRED)
        );
        let tokens = g.exchange_code(1_001, &config, &code, Some("http://cb/"), None);
        assert!(tokens.is_ok());
        assert_eq!(
            g.exchange_code(1_002, &config, &code, Some("http://cb/"), None)
                .err(),
            Some(CODE_EXPIRED)
        );
    }

    #[test]
    fn refresh_window_counts_down() {
        let (mut g, config, code) = setup();
        let first = g.exchange_code(1_000, &config, &code, Some("http://cb/"), None);
        let first = first.ok().map(|t| t.refresh_token).unwrap_or_default();
        let second = g.refresh(1_100, &config, &first);
        assert_eq!(
            second.map(|t| t.refresh_expires_in).ok(),
            Some(config.lifetimes.refresh_secs - 100)
        );
        assert_eq!(
            g.refresh(1_200, &config, &first).err(),
            Some(REFRESH_INVALID)
        );
    }

    #[test]
    fn per_user_indexes_follow_rotation_expiry_and_revocation() {
        let mut config = FakeConfig::default();
        let mut g = Grants::default();
        let scopes = || vec!["user.info.basic".to_owned()];
        let a = g.mint(1_000, &config, "a", scopes());
        let b = g.mint(1_000, &config, "b", scopes());
        assert!(g.has_approval("a", &config.client_key, &scopes()));
        let a2 = g
            .refresh(1_001, &config, &a.refresh_token)
            .expect("refresh");
        assert_eq!(g.live_refresh_tokens(1_001, "a"), 1, "strict rotation");
        config.rotation = Rotation::Classic;
        g.refresh(1_002, &config, &a2.refresh_token)
            .expect("refresh");
        assert_eq!(
            g.live_refresh_tokens(1_002, "a"),
            2,
            "classic keeps the old one"
        );
        assert_eq!(g.live_refresh_tokens(1_002, "nobody"), 0);

        g.expire_access(1_003, "a");
        assert!(g.authenticate(1_003, &a.access_token).is_none());
        assert!(g.authenticate(1_003, &a2.access_token).is_none());
        assert!(
            g.authenticate(1_003, &b.access_token).is_some(),
            "b untouched"
        );

        g.revoke_user("a");
        assert_eq!(g.live_refresh_tokens(1_004, "a"), 0);
        assert!(!g.has_approval("a", &config.client_key, &scopes()));
        assert_eq!(g.live_refresh_tokens(1_004, "b"), 1);
        assert!(g.has_approval("b", &config.client_key, &scopes()));
        assert_eq!(
            g.live_refresh_tokens(1_000 + config.lifetimes.refresh_secs, "b"),
            0,
            "refresh window over"
        );
    }
}
