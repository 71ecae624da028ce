//! `ServiceDefinition`: a service's name and its table of typed method handlers.
//!
//! Generated code builds one per servicer; the server routes `/package.Service/Method` to it.
//! This is the contract between generated servers and the runtime: generated code supplies
//! typed closures, the runtime owns everything on the wire (framing, compression, deadlines,
//! metadata, status).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hyper::body::Incoming;

use crate::server::dispatch;
use crate::server::env::CallEnv;
use crate::server::interceptor::{Interceptors, ServerInterceptor};
use crate::server::response::Body;
use crate::server::single_request::single_request;
use crate::{RequestStream, ResponseStream, Result, ServicerContext};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// One method's handler, with request and response types erased.
pub(crate) type Handler =
    Arc<dyn Fn(Incoming, ServicerContext, CallEnv) -> BoxFuture<http::Response<Body>> + Send + Sync>;

/// A service ready to be added to a [`Server`](crate::Server): its full name and a handler per
/// method. Generated code makes these (`greeter_service(servicer)`); write one by hand only for
/// services without generated code.
#[derive(Clone)]
pub struct ServiceDefinition {
    name: String,
    pub(crate) methods: HashMap<String, Handler>,
    /// The encoded `FileDescriptorSet` that describes the service, for server reflection.
    descriptors: Option<&'static [u8]>,
    /// The service's own interceptors, run after the server's.
    pub(crate) interceptors: Interceptors,
}

impl ServiceDefinition {
    /// Starts a definition for the service `name` (`package.Service`) served by `servicer`.
    pub fn builder<S: Send + Sync + 'static>(name: impl Into<String>, servicer: S) -> ServiceBuilder<S> {
        ServiceBuilder {
            definition: ServiceDefinition {
                name: name.into(),
                methods: HashMap::new(),
                descriptors: None,
                interceptors: Interceptors::default(),
            },
            servicer: Arc::new(servicer),
        }
    }

    /// The full service name, `package.Service`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The encoded `google.protobuf.FileDescriptorSet` describing the service (its file and
    /// every file that one imports), if it was given one.
    pub fn file_descriptor_set(&self) -> Option<&'static [u8]> {
        self.descriptors
    }

    /// Runs `interceptor` around every call of this service, after the server's interceptors
    /// and the service's earlier ones (see [`ServerInterceptor`](crate::ServerInterceptor)).
    pub fn with_interceptor(mut self, interceptor: impl ServerInterceptor) -> Self {
        self.interceptors.push(interceptor);
        self
    }

    /// The method names, sorted.
    pub fn method_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.methods.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

impl std::fmt::Debug for ServiceDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceDefinition").field("name", &self.name).field("methods", &self.method_names()).finish()
    }
}

/// Adds method handlers to a [`ServiceDefinition`]; see [`ServiceDefinition::builder`].
///
/// Each method takes the method's proto name and a closure receiving the shared servicer, the
/// request (a message, or a [`RequestStream`]) and the [`ServicerContext`].
pub struct ServiceBuilder<S> {
    definition: ServiceDefinition,
    servicer: Arc<S>,
}

impl<S: Send + Sync + 'static> ServiceBuilder<S> {
    /// Registers `method` with a handler from the request stream to the response stream; every
    /// kind below is this with its own adaptation of the two ends.
    fn add<Req, Resp, H, Fut>(mut self, method: &str, handler: H) -> Self
    where
        Req: prost::Message + Default + Send + Sync + 'static,
        Resp: prost::Message + Send + Sync + 'static,
        H: Fn(Arc<S>, RequestStream<Req>, ServicerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ResponseStream<Resp>>> + Send + 'static,
    {
        let servicer = self.servicer.clone();
        let handler = Arc::new(handler);
        let erased: Handler = Arc::new(move |body, context, env: CallEnv| {
            let (servicer, handler) = (servicer.clone(), handler.clone());
            let handler = move |requests, context| handler(servicer, requests, context);
            match env.interceptors.clone() {
                None => Box::pin(dispatch::serve(body, context, env, handler)),
                // A future of its own, so calls without interceptors keep the smaller one.
                Some(chain) => Box::pin(dispatch::serve_intercepted(body, context, env, chain, handler)),
            }
        });
        self.definition.methods.insert(method.to_owned(), erased);
        self
    }

    /// Adds a unary method: one request, one response.
    pub fn unary<Req, Resp, F, Fut>(self, method: &str, f: F) -> Self
    where
        Req: prost::Message + Default + Send + Sync + 'static,
        Resp: prost::Message + Send + Sync + 'static,
        F: Fn(Arc<S>, Req, ServicerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp>> + Send + 'static,
    {
        let f = Arc::new(f);
        self.add(method, move |servicer, mut requests, context| {
            let f = f.clone();
            async move {
                let request = single_request(&mut requests).await?;
                Ok(ResponseStream::once(f(servicer, request, context).await?))
            }
        })
    }

    /// Adds a server-streaming method: one request, a stream of responses.
    pub fn server_streaming<Req, Resp, F, Fut>(self, method: &str, f: F) -> Self
    where
        Req: prost::Message + Default + Send + Sync + 'static,
        Resp: prost::Message + Send + Sync + 'static,
        F: Fn(Arc<S>, Req, ServicerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ResponseStream<Resp>>> + Send + 'static,
    {
        let f = Arc::new(f);
        self.add(method, move |servicer, mut requests, context| {
            let f = f.clone();
            async move {
                let request = single_request(&mut requests).await?;
                f(servicer, request, context).await
            }
        })
    }

    /// Adds a client-streaming method: a stream of requests, one response.
    pub fn client_streaming<Req, Resp, F, Fut>(self, method: &str, f: F) -> Self
    where
        Req: prost::Message + Default + Send + Sync + 'static,
        Resp: prost::Message + Send + Sync + 'static,
        F: Fn(Arc<S>, RequestStream<Req>, ServicerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp>> + Send + 'static,
    {
        let f = Arc::new(f);
        self.add(method, move |servicer, requests, context| {
            let f = f.clone();
            async move { Ok(ResponseStream::once(f(servicer, requests, context).await?)) }
        })
    }

    /// Adds a bidirectional-streaming method: a stream of requests, a stream of responses.
    pub fn bidi_streaming<Req, Resp, F, Fut>(self, method: &str, f: F) -> Self
    where
        Req: prost::Message + Default + Send + Sync + 'static,
        Resp: prost::Message + Send + Sync + 'static,
        F: Fn(Arc<S>, RequestStream<Req>, ServicerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ResponseStream<Resp>>> + Send + 'static,
    {
        self.add(method, f)
    }

    /// Describes the service with `descriptors`, an encoded `google.protobuf.FileDescriptorSet`
    /// holding the service's `.proto` file and every file it imports. Server reflection serves
    /// these, so tools such as grpcurl and `buf curl` can call the service without the `.proto`
    /// files. Generated code passes its package's `FILE_DESCRIPTOR_SET`.
    pub fn file_descriptor_set(mut self, descriptors: &'static [u8]) -> Self {
        self.definition.descriptors = Some(descriptors);
        self
    }

    /// The finished definition.
    pub fn build(self) -> ServiceDefinition {
        self.definition
    }
}
