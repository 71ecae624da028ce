//! Server reflection (`grpc.reflection.v1.ServerReflection` and `v1alpha`): lets tools such as
//! grpcurl, `buf curl`, Evans and Postman discover a server's services and call them without
//! the `.proto` files.
//!
//! [`enable_server_reflection`] serves both versions. What they describe comes from the
//! services themselves: each generated `ServiceDefinition` carries the encoded descriptors of
//! its package's `.proto` files and of everything they import (`index.rs` indexes them);
//! `service.rs` answers the requests.

mod index;
mod service;

use std::sync::Arc;

use crate::{Error, Server};

/// The `grpc.reflection.v1` messages, client and servicer trait.
pub mod v1 {
    pub use crate::generated::reflection_v1::*;
}

/// The `grpc.reflection.v1alpha` messages, client and servicer trait (the same protocol under
/// the older package name).
pub mod v1alpha {
    pub use crate::generated::reflection_v1alpha::*;
}

/// Serves server reflection on `server`: adds `grpc.reflection.v1.ServerReflection` and
/// `grpc.reflection.v1alpha.ServerReflection` (Python's `reflection.enable_server_reflection`).
///
/// Every service of the server is described, whether it was added before or after this call
/// (until [`start`](Server::start)), the reflection services included: generated services
/// carry their descriptors. A service built by hand without
/// [`file_descriptor_set`](crate::ServiceBuilder::file_descriptor_set) is listed, but its
/// symbols are not found. The descriptors are indexed once, on the first reflection call.
///
/// Fails as [`Server::add_service`] does: when the server has already started.
///
/// ```
/// use rust_rpc::reflection::v1::server_reflection_request::MessageRequest;
/// use rust_rpc::reflection::v1::server_reflection_response::MessageResponse;
/// use rust_rpc::reflection::v1::{ServerReflectionClient, ServerReflectionRequest};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rust_rpc::Server::new();
/// // add_greeter_servicer_to_server(MyGreeter, &server)?;  (generated)
/// rust_rpc::reflection::enable_server_reflection(&server)?;
/// let port = server.add_insecure_port("127.0.0.1:0")?;
/// server.start()?;
///
/// let client = ServerReflectionClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}"))?);
/// let list = ServerReflectionRequest {
///     host: String::new(),
///     message_request: Some(MessageRequest::ListServices(String::new())),
/// };
/// let mut answers = client.server_reflection_info(rust_rpc::stream::iter([list])).await?;
/// let Some(MessageResponse::ListServicesResponse(list)) =
///     answers.message().await?.and_then(|answer| answer.message_response)
/// else {
///     panic!("no list of services")
/// };
/// let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
/// assert_eq!(names, ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);
/// server.stop(None).await;
/// # Ok(()) }
/// ```
pub fn enable_server_reflection(server: &Server) -> Result<(), Error> {
    let shared = Arc::new(service::Reflection::new(server.downgrade()));
    server.add_service(v1::server_reflection_service(service::V1(shared.clone())))?;
    server.add_service(v1alpha::server_reflection_service(service::V1Alpha(shared)))
}
