//! One test binary; one module per concern.

mod buf;
mod crate_output;
mod errors;
mod fuzz;
mod hostile;
mod hostile_names;
mod light_build;
mod names;
mod no_panic;
mod plugin;
mod runtime_protos;
mod snapshots;
mod support;
