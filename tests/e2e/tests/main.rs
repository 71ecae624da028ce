//! One test binary; one module per concern.

mod bad_input;
mod bad_server;
mod blocking;
mod calls;
mod client_keepalive;
mod generic;
mod graceful_stop;
mod handler_panics;
mod health;
mod in_process;
mod interceptors;
mod keepalive_policy;
mod lifecycle;
mod limits;
mod peer_identity;
mod python_lifecycle;
mod raw_h2;
mod reflection;
mod settings;
mod support;
mod telemetry;
mod tonic_status;
mod tower_layers;
mod transport;
