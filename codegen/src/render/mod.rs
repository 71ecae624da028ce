//! Model -> tokens. Each renderer is a small function of the model and the runtime path; what
//! they share is in `common.rs`, so neither renderer depends on this module.

mod blocking;
mod client;
mod common;
mod server;

use proc_macro2::TokenStream;

use crate::Options;
use crate::model::Service;

pub(crate) use self::common::Ctx;

/// Everything generated for one service.
pub(crate) fn service(service: &Service, options: &Options, ctx: &Ctx) -> Result<TokenStream, crate::Error> {
    let mut tokens = TokenStream::new();
    if options.client {
        tokens.extend(client::client(service, ctx)?);
        if options.blocking_client {
            tokens.extend(blocking::blocking_client(service, ctx)?);
        }
    }
    if options.server {
        tokens.extend(server::server(service, ctx)?);
    }
    Ok(tokens)
}
