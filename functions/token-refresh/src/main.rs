#[tokio::main]
async fn main() -> Result<(), connect_runtime::serve::Error> {
    connect_runtime::serve::serve_job(token_refresh::wire, token_refresh::handle).await
}
