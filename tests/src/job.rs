//! Driving the `token-refresh` job: bulk accounts seeded straight into the table (with grants
//! minted by the fake TikTok), and runs with a chosen time budget and settings.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use connect_domain::cipher::{EncryptionContext, TokenPair, seal_tokens};
use connect_domain::clock::Clock as _;
use connect_domain::refresh::TokenKeeper;
use connect_domain::schedule::RefreshSchedule;
use connect_domain::scope::ScopeSet;
use connect_domain::secret::{AccessToken, RefreshToken};
use connect_domain::store::{Account, AccountStatus, Connections as _};
use connect_services::refresh_job::{JobSettings, RefreshJob, Summary};
use lambda_runtime::{Context, LambdaEvent};

use crate::stack::Stack;

impl Stack {
    /// Connects `count` distinct TikTok users (`open-seed-<n>`) for `app_user`, as the callback
    /// would store them, without the browser flow. Returns their open_ids.
    pub async fn seed_accounts(&self, app_user: &str, count: usize) -> Vec<String> {
        let mut open_ids = Vec::with_capacity(count);
        let schedule: RefreshSchedule = self.config.refresh_schedule;
        for n in 0..count {
            let open_id = format!("open-seed-{app_user}-{n:05}");
            let grant = self.fake.mint_grant(&open_id, &["user.info.basic"]);
            let tokens = TokenPair {
                access_token: AccessToken::new(grant.access_token),
                refresh_token: RefreshToken::new(grant.refresh_token),
            };
            let sealed_tokens = seal_tokens(
                &self.cipher,
                &EncryptionContext::tokens(app_user, &open_id),
                &tokens,
            )
            .await
            .expect("seal");
            let now = self.clock.now();
            let (access, refresh) = (now + grant.expires_in, now + grant.refresh_expires_in);
            let account = Account {
                app_user: app_user.to_owned(),
                open_id: open_id.as_str().into(),
                union_id: None,
                display_name: Some(format!("Seed {n}")),
                avatar_url: None,
                username: None,
                profile_digest: None,
                scopes: ScopeSet::parse_comma_list(&grant.scope).expect("scopes"),
                status: AccountStatus::Active,
                sealed_tokens,
                access_token_expires_at: access,
                refresh_token_expires_at: refresh,
                connected_at: now,
                token_version: 0,
                grant_id: connect_domain::store::new_grant_id(),
                refresh_lease_until_ms: None,
                refresh_due_at: Some(schedule.next_due(now, access, refresh)),
                refresh_failures: 0,
                revoked_reason: None,
            };
            self.accounts
                .save_connection(&account)
                .await
                .expect("seeded account");
            open_ids.push(open_id);
        }
        open_ids
    }

    /// One scheduled invocation with `budget` left before Lambda's deadline, through the
    /// function's handler, with the job's settings replaced by `settings`.
    pub async fn run_job(&self, settings: JobSettings, budget: Duration) -> Summary {
        let job = RefreshJob {
            keeper: Arc::clone(&self.job.keeper),
            settings,
        };
        Self::invoke(&job, budget).await
    }

    /// The same invocation of a job reading `due_index` (`DUE_INDEX`), as deployed while a
    /// stack upgrades.
    pub async fn run_job_reading(
        &self,
        due_index: &'static str,
        settings: JobSettings,
        budget: Duration,
    ) -> Summary {
        let keeper = &self.job.keeper;
        let job = RefreshJob {
            keeper: Arc::new(TokenKeeper {
                accounts: self.accounts.clone().reading_due_index(due_index),
                cipher: keeper.cipher.clone(),
                tiktok: keeper.tiktok.clone(),
                clock: keeper.clock.clone(),
                events: keeper.events.clone(),
                policy: keeper.policy,
            }),
            settings,
        };
        Self::invoke(&job, budget).await
    }

    async fn invoke(job: &crate::stack::TestJob, budget: Duration) -> Summary {
        let mut context = Context::default();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        context.deadline = now_ms + budget.as_millis() as u64;
        let event = LambdaEvent::new(serde_json::json!({"source": "tests"}), context);
        token_refresh::handle(job, event)
            .await
            .expect("the job always answers")
    }
}
