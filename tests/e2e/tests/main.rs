//! One test binary; one module per concern.

mod bad_input;
mod bad_server;
mod blocking;
mod calls;
mod cert_rotation;
mod channel_close;
mod client_keepalive;
mod fuzz_server;
mod generic;
mod handler_panics;
mod health;
mod in_process;
mod interceptors;
mod lifecycle;
mod peer_identity;
mod python_lifecycle;
mod reflection;
mod settings;
mod support;
mod telemetry;
mod tonic_status;
mod tower_layers;
mod transport;
