//! What both renderers build with: the runtime path and small token helpers.

use proc_macro2::TokenStream;
use quote::quote;

use crate::Options;

/// What every renderer needs besides the model.
pub(crate) struct Ctx {
    /// `::rust_rpc::__codegen`
    pub(crate) rt: TokenStream,
    /// The package file has a `FILE_DESCRIPTOR_SET` for registrations to hand to the server
    /// (for reflection).
    pub(crate) descriptors: bool,
}

impl Ctx {
    pub(crate) fn new(options: &Options) -> Result<Ctx, crate::Error> {
        let runtime: syn::Path = syn::parse_str(&options.runtime_crate).map_err(|e| crate::Error::InvalidOption {
            option: "runtime_crate".into(),
            reason: format!("{:?} is not a Rust path: {e}", options.runtime_crate),
        })?;
        Ok(Ctx { rt: quote!(#runtime::__codegen), descriptors: options.file_descriptor_set })
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

/// A request or response type from the model, as tokens.
///
/// prost-build makes these paths from proto names, which are checked identifiers
/// (validate.rs), from `runtime_crate` (checked by [`Ctx::new`]) and from the Rust side of
/// `extern_path` options. So a path that does not parse came from an `extern_path`; generate.rs
/// checks those first, and this is the error if one slips through.
pub(crate) fn type_path(path: &str) -> Result<syn::Type, crate::Error> {
    syn::parse_str(path).map_err(|e| crate::Error::InvalidOption {
        option: "extern_path".into(),
        reason: format!("a method's request or response type became {path:?}, which is not a Rust type: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_path_that_does_not_parse_blames_extern_path() {
        assert!(type_path("super::super::helloworld::HelloRequest").is_ok());
        let err = type_path("::not a::Type").err();
        assert!(matches!(&err, Some(crate::Error::InvalidOption { option, .. }) if option == "extern_path"), "{err:?}");
    }
}
