//! The blocking client: the async client's calls made blocking with the runtime's `blocking`
//! module, one method per RPC returning the answer (or an iterator of answers) itself.

use proc_macro2::TokenStream;
use quote::quote;

use super::common::{Ctx, deprecated, docs, type_path};
use crate::ident::ident;
use crate::model::{Kind, Service};

pub(crate) fn blocking_client(service: &Service, ctx: &Ctx) -> Result<TokenStream, crate::Error> {
    let rt = &ctx.rt;
    let blocking = ident(&service.blocking_client);
    let client = ident(&service.client);
    let full_name = &service.full_name;
    let generic = ident(&service.generic);
    let service_deprecated = deprecated(service.deprecated);
    let mut methods = Vec::new();
    for m in &service.methods {
        let name = ident(&m.name);
        let path_const = ident(&m.path_const);
        let input = type_path(&m.input)?;
        let output = type_path(&m.output)?;
        let method_docs = docs(&m.docs);
        let method_deprecated = deprecated(m.deprecated);
        let requests_bound = quote! {
            #generic: ::core::iter::IntoIterator<Item = #input>,
            #generic::IntoIter: ::core::marker::Send + 'static,
        };
        methods.push(match m.kind {
            Kind::Unary => quote! {
                #method_docs
                #method_deprecated
                pub fn #name(&self, request: #input) -> #rt::Result<#output> {
                    #rt::blocking::call(self.channel.unary(#client::#path_const, request).options(self.options.clone()))
                }
            },
            Kind::ServerStreaming => quote! {
                #method_docs
                #method_deprecated
                pub fn #name(&self, request: #input) -> #rt::Result<#rt::blocking::Responses<#output>> {
                    #rt::blocking::stream(
                        self.channel.server_streaming(#client::#path_const, request).options(self.options.clone()),
                    )
                }
            },
            Kind::ClientStreaming => quote! {
                #method_docs
                #method_deprecated
                pub fn #name<#generic>(&self, requests: #generic) -> #rt::Result<#output>
                where
                    #requests_bound
                {
                    let requests = #rt::blocking::requests(requests);
                    #rt::blocking::call(
                        self.channel.client_streaming(#client::#path_const, requests).options(self.options.clone()),
                    )
                }
            },
            Kind::BidiStreaming => quote! {
                #method_docs
                #method_deprecated
                pub fn #name<#generic>(&self, requests: #generic) -> #rt::Result<#rt::blocking::Responses<#output>>
                where
                    #requests_bound
                {
                    let requests = #rt::blocking::requests(requests);
                    #rt::blocking::stream(
                        self.channel.bidi_streaming(#client::#path_const, requests).options(self.options.clone()),
                    )
                }
            },
        });
    }
    let blocking_doc = format!(
        " A blocking client for `{full_name}`, for code without async: each method makes its call and \
         waits for the answer; streamed answers are iterators, streamed requests any `IntoIterator`."
    );
    let see_async = format!(
        " Calls run on the runtime's shared background runtime (see `rust_rpc::blocking`); inside an \
         async runtime they fail with FAILED_PRECONDITION: use [`{}`] there.",
        service.client
    );
    // A service without methods never reads its options.
    let unread = if service.methods.is_empty() { quote!(#[allow(dead_code)]) } else { TokenStream::new() };
    Ok(quote! {
        #[doc = #blocking_doc]
        #[doc = ""]
        #[doc = #see_async]
        #service_deprecated
        #[derive(Clone, Debug)]
        pub struct #blocking {
            channel: #rt::Channel,
            #unread
            options: #rt::CallOptions,
        }

        #[allow(deprecated)]
        impl #blocking {
            /// A blocking client whose calls go over `channel`.
            pub fn new(channel: #rt::Channel) -> Self {
                Self { channel, options: #rt::CallOptions::default() }
            }

            /// The channel the calls go over.
            pub fn channel(&self) -> &#rt::Channel {
                &self.channel
            }

            /// A client on the same channel whose calls apply `options` (timeout, metadata,
            /// ...), instead of any set before: each call's timeout starts when that call does.
            pub fn with_options(&self, options: #rt::CallOptions) -> Self {
                Self { channel: self.channel.clone(), options }
            }

            #(#methods)*
        }
    })
}
