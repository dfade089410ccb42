#[tokio::main]
async fn main() -> Result<(), connect_runtime::serve::Error> {
    connect_runtime::serve::serve(authorize::wire, authorize::handle).await
}
