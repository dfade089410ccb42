#[tokio::main]
async fn main() -> Result<(), connect_runtime::serve::Error> {
    connect_runtime::serve::serve(callback::wire, callback::handle).await
}
