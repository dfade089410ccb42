#[tokio::main]
async fn main() -> Result<(), connect_runtime::serve::Error> {
    connect_runtime::serve::serve(user_info::wire, user_info::handle).await
}
