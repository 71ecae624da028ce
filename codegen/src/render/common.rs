//! What both renderers build with: the runtime path and small token helpers.

use proc_macro2::TokenStream;
use quote::quote;

use crate::Options;

/// What every renderer needs besides the model.
pub(crate) struct Ctx {
    /// `::rust_rpc::__codegen`
    pub(crate) rt: TokenStream,
}

impl Ctx {
    pub(crate) fn new(options: &Options) -> Result<Ctx, crate::Error> {
        let runtime: syn::Path = syn::parse_str(&options.runtime_crate).map_err(|e| crate::Error::InvalidOption {
            option: "runtime_crate".into(),
            reason: format!("{:?} is not a Rust path: {e}", options.runtime_crate),
        })?;
        Ok(Ctx { rt: quote!(#runtime::__codegen) })
    }
}

/// `#[doc = "..."]` attributes for doc lines.
pub(crate) fn docs(lines: &[String]) -> TokenStream {
    quote!(#(#[doc = #lines])*)
}

/// `#[deprecated]` when the proto says so.
pub(crate) fn deprecated(yes: bool) -> TokenStream {
    if yes { quote!(#[deprecated]) } else { TokenStream::new() }
}

/// A Rust type path from the model, as tokens.
pub(crate) fn type_path(path: &str) -> Result<syn::Type, crate::Error> {
    syn::parse_str(path).map_err(|e| crate::Error::Messages(format!("type path {path:?} does not parse: {e}")))
}
