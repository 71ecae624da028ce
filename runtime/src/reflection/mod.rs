//! Server reflection (`grpc.reflection.v1.ServerReflection` and `v1alpha`): lets tools such as
//! grpcurl, `buf curl`, Evans and Postman discover a server's services and call them without
//! the `.proto` files.

/// The `grpc.reflection.v1` messages, client and servicer trait.
pub mod v1 {
    pub use crate::generated::reflection_v1::*;
}

/// The `grpc.reflection.v1alpha` messages, client and servicer trait (the same protocol under
/// the older package name).
pub mod v1alpha {
    pub use crate::generated::reflection_v1alpha::*;
}
