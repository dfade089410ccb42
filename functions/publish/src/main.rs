#[tokio::main]
async fn main() -> Result<(), connect_runtime::serve::Error> {
    connect_runtime::serve::serve(publish::wire, publish::handle).await
}
