//! The standard health checking service (`grpc.health.v1.Health`).

pub use crate::generated::health_v1::health_check_response::ServingStatus;
pub use crate::generated::health_v1::{
    HealthCheckRequest, HealthCheckResponse, HealthClient, HealthListRequest, HealthListResponse,
};
