//! The server side: a servicer trait with one async method per RPC (UNIMPLEMENTED by
//! default), and the functions that register an implementation with a `Server`.

use proc_macro2::TokenStream;
use quote::quote;

use super::common::{Ctx, deprecated, docs, type_path};
use crate::ident::ident;
use crate::model::{Kind, Service};

pub(crate) fn server(service: &Service, ctx: &Ctx) -> Result<TokenStream, crate::Error> {
    let rt = &ctx.rt;
    let servicer = ident(&service.servicer);
    let service_fn = ident(&service.service_fn);
    let add_fn = ident(&service.add_fn);
    let full_name = &service.full_name;
    let generic = ident(&service.generic);
    let mut trait_methods = Vec::new();
    let mut registrations = Vec::new();
    for m in &service.methods {
        let name = ident(&m.name);
        let proto_name = &m.proto_name;
        let path = &m.path;
        let input = type_path(&m.input)?;
        let output = type_path(&m.output)?;
        let method_docs = docs(&m.docs);
        let method_deprecated = deprecated(m.deprecated);
        let (argument, argument_type, returns, register) = match m.kind {
            Kind::Unary => (quote!(request), quote!(#input), quote!(#output), quote!(unary)),
            Kind::ServerStreaming => {
                (quote!(request), quote!(#input), quote!(#rt::ResponseStream<#output>), quote!(server_streaming))
            }
            Kind::ClientStreaming => {
                (quote!(requests), quote!(#rt::RequestStream<#input>), quote!(#output), quote!(client_streaming))
            }
            Kind::BidiStreaming => (
                quote!(requests),
                quote!(#rt::RequestStream<#input>),
                quote!(#rt::ResponseStream<#output>),
                quote!(bidi_streaming),
            ),
        };
        trait_methods.push(quote! {
            #method_docs
            #method_deprecated
            fn #name(
                &self,
                #argument: #argument_type,
                context: #rt::ServicerContext,
            ) -> impl #rt::Future<Output = #rt::Result<#returns>> + ::core::marker::Send {
                let _ = (#argument, context);
                #rt::unimplemented(#path)
            }
        });
        registrations.push(quote! {
            .#register(#proto_name, |servicer: #rt::Arc<#generic>, #argument: #argument_type, context: #rt::ServicerContext| async move {
                <#generic as #servicer>::#name(&servicer, #argument, context).await
            })
        });
    }
    let service_docs = docs(&service.docs);
    let service_deprecated = deprecated(service.deprecated);
    let trait_doc =
        format!(" The server side of `{full_name}`: implement the methods you serve; the others answer UNIMPLEMENTED.");
    let fn_doc = format!(" The `{full_name}` service served by `servicer`, for `Server::add_service`.");
    let add_doc = format!(" Serves `{full_name}` with `servicer` on `server` (Python's `{}`).", service.add_fn);
    // The package's descriptors travel with the service, so server reflection describes it with
    // no line of user code.
    let descriptors = ctx.descriptors.then(|| quote!(.file_descriptor_set(FILE_DESCRIPTOR_SET)));
    Ok(quote! {
        #service_docs
        #[doc = ""]
        #[doc = #trait_doc]
        #service_deprecated
        #[allow(clippy::wrong_self_convention, clippy::should_implement_trait)]
        pub trait #servicer: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#trait_methods)*
        }

        #[doc = #fn_doc]
        #[allow(deprecated)]
        pub fn #service_fn<#generic: #servicer>(servicer: #generic) -> #rt::ServiceDefinition {
            #rt::ServiceDefinition::builder(#full_name, servicer)
                #(#registrations)*
                #descriptors
                .build()
        }

        #[doc = #add_doc]
        #[allow(deprecated)]
        pub fn #add_fn<#generic: #servicer>(servicer: #generic, server: &#rt::Server) -> ::core::result::Result<(), #rt::Error> {
            server.add_service(#service_fn(servicer))
        }
    })
}
