//! The client stub: a struct holding a channel, one method per RPC returning a call builder.

use proc_macro2::TokenStream;
use quote::quote;

use super::common::{Ctx, deprecated, docs, type_path};
use crate::ident::ident;
use crate::model::{Kind, Service};

pub(crate) fn client(service: &Service, ctx: &Ctx) -> Result<TokenStream, crate::Error> {
    let rt = &ctx.rt;
    let client = ident(&service.client);
    let full_name = &service.full_name;
    let generic = ident(&service.generic);
    let service_docs = docs(&service.docs);
    let service_deprecated = deprecated(service.deprecated);
    let doc_full_name = format!(" The full name of the service: `{full_name}`.");
    let mut consts = Vec::new();
    let mut methods = Vec::new();
    for m in &service.methods {
        let name = ident(&m.name);
        let path_const = ident(&m.path_const);
        let path = &m.path;
        let path_doc = format!(" The wire path of `{}`: `{path}`.", m.proto_name);
        consts.push(quote! {
            #[doc = #path_doc]
            pub const #path_const: &'static str = #path;
        });
        let input = type_path(&m.input)?;
        let output = type_path(&m.output)?;
        let method_docs = docs(&m.docs);
        let method_deprecated = deprecated(m.deprecated);
        methods.push(match m.kind {
            Kind::Unary => quote! {
                #method_docs
                #method_deprecated
                pub fn #name(&self, request: #input) -> #rt::UnaryCall<#input, #output> {
                    self.channel.unary(Self::#path_const, request)
                }
            },
            Kind::ServerStreaming => quote! {
                #method_docs
                #method_deprecated
                pub fn #name(&self, request: #input) -> #rt::ServerStreamingCall<#input, #output> {
                    self.channel.server_streaming(Self::#path_const, request)
                }
            },
            Kind::ClientStreaming => quote! {
                #method_docs
                #method_deprecated
                pub fn #name<#generic>(&self, requests: #generic) -> #rt::ClientStreamingCall<#generic, #output>
                where
                    #generic: #rt::Stream<Item = #input> + ::core::marker::Send + 'static,
                {
                    self.channel.client_streaming(Self::#path_const, requests)
                }
            },
            Kind::BidiStreaming => quote! {
                #method_docs
                #method_deprecated
                pub fn #name<#generic>(&self, requests: #generic) -> #rt::BidiStreamingCall<#generic, #output>
                where
                    #generic: #rt::Stream<Item = #input> + ::core::marker::Send + 'static,
                {
                    self.channel.bidi_streaming(Self::#path_const, requests)
                }
            },
        });
    }
    let client_doc =
        format!(" A client for `{full_name}`: each method starts a call; set options on it, then `.await` it.");
    Ok(quote! {
        #service_docs
        #[doc = ""]
        #[doc = #client_doc]
        #service_deprecated
        #[derive(Clone, Debug)]
        pub struct #client {
            channel: #rt::Channel,
        }

        // RPC names are the API's, not Rust conventions (`rpc IntoFoo`, `rpc Next`).
        #[allow(deprecated, clippy::wrong_self_convention, clippy::should_implement_trait)]
        impl #client {
            #[doc = #doc_full_name]
            pub const SERVICE_NAME: &'static str = #full_name;
            #(#consts)*

            /// A client whose calls go over `channel`.
            pub fn new(channel: #rt::Channel) -> Self {
                Self { channel }
            }

            /// The channel the calls go over.
            pub fn channel(&self) -> &#rt::Channel {
                &self.channel
            }

            #(#methods)*
        }
    })
}
