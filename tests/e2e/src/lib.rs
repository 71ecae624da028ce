//! Generated code under test.

/// `helloworld.Greeter`.
#[allow(missing_docs)]
pub mod helloworld {
    rust_rpc::include_proto!("helloworld");
}

/// `routeguide.RouteGuide`.
#[allow(missing_docs)]
pub mod routeguide {
    rust_rpc::include_proto!("routeguide");
}
