#[tokio::main]
async fn main() -> Result<(), connect_runtime::serve::Error> {
    connect_runtime::serve::serve_job(scheduled_post::wire, scheduled_post::handle).await
}
