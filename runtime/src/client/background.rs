//! The shared runtime: a current-thread Tokio runtime that a background thread named
//! `rust-rpc-blocking` drives for the life of the process, made on first use. Blocking calls
//! (`blocking.rs`) run on it, and so do the tasks of a channel asked to connect from outside
//! any runtime (`lb/mod.rs`).

use std::sync::OnceLock;

use tokio::runtime::Handle;

use crate::{Result, RpcError};

/// The shared runtime's handle, made on first use.
pub(crate) fn runtime() -> Result<&'static Handle> {
    static RUNTIME: OnceLock<std::result::Result<Handle, String>> = OnceLock::new();
    let made = RUNTIME.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("rust-rpc-blocking".to_owned())
            // Drives I/O, timers and spawned tasks (connections) for every blocking call.
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .map_err(|e| e.to_string())?;
        Ok(handle)
    });
    made.as_ref().map_err(|e| RpcError::internal(format!("cannot start the runtime for blocking calls: {e}")))
}
