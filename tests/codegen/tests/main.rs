//! One test binary; one module per concern.

mod crate_output;
mod errors;
mod fuzz;
mod names;
mod paths;
mod snapshots;
mod support;
