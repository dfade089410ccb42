//! `devstack bootstrap` creates the local table, key and the two secrets from the environment (the
//! same variables the functions read, plus TIKTOK_CLIENT_SECRET and APP_JWT_SECRET);
//! `devstack jwt <app-user-id> [ttl-seconds]` prints an app JWT signed with APP_JWT_SECRET.

use std::process::ExitCode;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

async fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("bootstrap") => {
            let table = env("TABLE_NAME")?;
            let key_alias = env("KMS_KEY_ID")?;
            let tiktok_secret_id = env("TIKTOK_SECRET_ID")?;
            let jwt_secret_id = env("APP_JWT_SECRET_ID")?;
            let aws = connect_runtime::cold_start::AwsClients::from_env().await;
            devstack::ensure_table(&aws.dynamodb, &table)
                .await
                .map_err(|e| e.to_string())?;
            let key_id = devstack::ensure_key(&aws.kms, &key_alias)
                .await
                .map_err(|e| e.to_string())?;
            devstack::ensure_tiktok_secret(
                &aws.secrets,
                &tiktok_secret_id,
                &env("TIKTOK_CLIENT_SECRET")?,
            )
            .await
            .map_err(|e| e.to_string())?;
            devstack::ensure_app_jwt_secret(&aws.secrets, &jwt_secret_id, &env("APP_JWT_SECRET")?)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "bootstrapped: table {table}, key {key_alias} ({key_id}), secrets {tiktok_secret_id} and {jwt_secret_id}"
            );
            Ok(())
        }
        Some("jwt") => {
            let sub = args
                .get(1)
                .ok_or("usage: devstack jwt <app-user-id> [ttl-seconds]")?;
            let ttl = args
                .get(2)
                .map_or(Ok(86_400), |t| t.parse().map_err(|_| "ttl must be seconds"))?;
            let token = devstack::mint_jwt(
                &env("APP_JWT_SECRET")?,
                sub,
                ttl,
                std::env::var("APP_JWT_ISSUER").ok().as_deref(),
                std::env::var("APP_JWT_AUDIENCE").ok().as_deref(),
            )
            .map_err(|e| e.to_string())?;
            // The one place a JWT is printed: on purpose, for the developer's terminal.
            #[allow(clippy::print_stdout)]
            {
                println!("{token}");
            }
            Ok(())
        }
        _ => Err("usage: devstack bootstrap | devstack jwt <app-user-id> [ttl-seconds]".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devstack: {e}");
            ExitCode::FAILURE
        }
    }
}
