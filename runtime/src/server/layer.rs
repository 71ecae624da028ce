//! Tower layers around the server's HTTP service (cargo feature `tower`): what
//! [`ServerBuilder::layer`](crate::ServerBuilder::layer) keeps, the service and body types the
//! layers see, and how what they answer (a response of any body type, or an error) becomes the
//! connection's response.
//!
//! A server without layers never comes here: `Router::route` serves its requests directly. With
//! layers, the stack is built once when the server starts; each request runs on a clone of it
//! (tower's `poll_ready`, then `call`), whose innermost service routes the request as a server
//! without layers would.

use std::any::Any;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tower::{BoxError, Layer, Service};

use crate::server::response::{Body, error_response};
use crate::server::router::{Front, Origin};
use crate::wire::status;
use crate::{Code, Metadata, RpcError};

/// The HTTP service that [`ServerBuilder::layer`](crate::ServerBuilder::layer)'s layers wrap:
/// gRPC requests in, responses with an [`HttpBody`] out.
///
/// The innermost one is the server's own routing; each layer's service is wrapped in one again
/// for the next layer, so every layer is a `Layer<HttpService>`. The routing is always ready;
/// a wrapped layer is ready when it says so. The error is tower's `BoxError`: a layer's error
/// passes up through the layers outside it, and what leaves the outermost one becomes the
/// call's status (see [`ServerBuilder::layer`](crate::ServerBuilder::layer)).
pub struct HttpService(Inner);

enum Inner {
    /// The server's routing.
    Grpc,
    /// A layer's service, with its types erased.
    Layered(Box<dyn ErasedService>),
}

impl Clone for HttpService {
    fn clone(&self) -> Self {
        match &self.0 {
            Inner::Grpc => HttpService(Inner::Grpc),
            Inner::Layered(service) => HttpService(Inner::Layered(service.clone_box())),
        }
    }
}

impl fmt::Debug for HttpService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Inner::Grpc => "HttpService(grpc)",
            Inner::Layered(_) => "HttpService(layered)",
        })
    }
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<http::Response<HttpBody>, BoxError>> + Send>>;

impl Service<http::Request<Incoming>> for HttpService {
    type Response = http::Response<HttpBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match &mut self.0 {
            Inner::Grpc => Poll::Ready(Ok(())),
            Inner::Layered(service) => service.poll_ready(cx),
        }
    }

    fn call(&mut self, mut request: http::Request<Incoming>) -> ResponseFuture {
        match &mut self.0 {
            Inner::Grpc => match request.extensions_mut().remove::<Origin>() {
                Some(Origin { router, peer }) => {
                    let response = router.route_grpc(request, &peer);
                    Box::pin(async move { Ok(response.await.map(|body| HttpBody(Content::Grpc(body)))) })
                }
                None => {
                    let err = RpcError::internal("a tower layer replaced the request's extensions");
                    Box::pin(std::future::ready(Ok(error_response(err, Metadata::new()).map(HttpBody::grpc))))
                }
            },
            Inner::Layered(service) => service.call(request),
        }
    }
}

/// A layer's service as an [`HttpService`] sees it: responses of its body type `B`, errors of
/// its own type.
trait ErasedService: Send + Sync {
    fn clone_box(&self) -> Box<dyn ErasedService>;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>>;
    fn call(&mut self, request: http::Request<Incoming>) -> ResponseFuture;
}

struct Erased<S, B> {
    service: S,
    body: PhantomData<fn() -> B>,
}

impl<S, B> ErasedService for Erased<S, B>
where
    S: Service<http::Request<Incoming>, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn clone_box(&self) -> Box<dyn ErasedService> {
        Box::new(Erased { service: self.service.clone(), body: PhantomData })
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.service.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Incoming>) -> ResponseFuture {
        let response = self.service.call(request);
        Box::pin(async move {
            match response.await {
                Ok(response) => Ok(response.map(HttpBody::from_body)),
                Err(err) => Err(err.into()),
            }
        })
    }
}

/// The response body the layers see, and may answer with themselves: the server's own bodies
/// as they are, any other body boxed. `Default` is an empty body (tower-http's
/// `ValidateRequestHeaderLayer` answers with one).
pub struct HttpBody(Content);

enum Content {
    Grpc(Body),
    Boxed(Pin<Box<dyn http_body::Body<Data = Bytes, Error = BoxError> + Send>>),
}

impl HttpBody {
    /// Boxes `body` (any body whose chunks are `Buf`s, such as a layer's), unless it is an
    /// `HttpBody` already.
    pub fn new<B>(body: B) -> HttpBody
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        HttpBody::from_body(body)
    }

    fn grpc(body: Body) -> HttpBody {
        HttpBody(Content::Grpc(body))
    }

    fn from_body<B>(body: B) -> HttpBody
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        // A layer that keeps the body type (most do) hands back the `HttpBody` it got: no box.
        let mut body = Some(body);
        if let Some(same) = (&mut body as &mut dyn Any).downcast_mut::<Option<HttpBody>>() {
            return same.take().unwrap_or_default();
        }
        match body {
            Some(body) => HttpBody(Content::Boxed(Box::pin(IntoBytes { body }))),
            None => HttpBody::default(),
        }
    }
}

impl Default for HttpBody {
    fn default() -> Self {
        HttpBody(Content::Grpc(Body::Empty))
    }
}

impl fmt::Debug for HttpBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Content::Grpc(_) => "HttpBody(grpc)",
            Content::Boxed(_) => "HttpBody(boxed)",
        })
    }
}

impl http_body::Body for HttpBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().0 {
            Content::Grpc(body) => match Pin::new(body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            Content::Boxed(body) => body.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Content::Grpc(body) => body.is_end_stream(),
            Content::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Content::Grpc(body) => body.size_hint(),
            Content::Boxed(body) => body.size_hint(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A layer's body with `Bytes` chunks and boxed errors.
    struct IntoBytes<B> {
        #[pin]
        body: B,
    }
}

impl<B> http_body::Body for IntoBytes<B>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().body.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                Poll::Ready(Some(Ok(frame.map_data(|mut data| data.copy_to_bytes(data.remaining())))))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The layers a [`ServerBuilder`](crate::ServerBuilder) has, in the order they were added:
/// the first is the outermost (tower's `ServiceBuilder` order).
#[derive(Clone, Default)]
pub(crate) struct Layers(Vec<Arc<dyn Fn(HttpService) -> HttpService + Send + Sync>>);

impl fmt::Debug for Layers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} tower layer(s)", self.0.len())
    }
}

impl Layers {
    /// Adds `layer` inside the ones added before it.
    pub(crate) fn push<L, B>(&mut self, layer: L)
    where
        L: Layer<HttpService> + Send + Sync + 'static,
        L::Service: Service<http::Request<Incoming>, Response = http::Response<B>> + Clone + Send + Sync + 'static,
        <L::Service as Service<http::Request<Incoming>>>::Future: Send + 'static,
        <L::Service as Service<http::Request<Incoming>>>::Error: Into<BoxError>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        self.0.push(Arc::new(move |inner| {
            let service = layer.layer(inner);
            HttpService(Inner::Layered(Box::new(Erased { service, body: PhantomData })))
        }));
    }

    /// The stack, innermost first, ready for the router; `None` without layers.
    pub(crate) fn build(&self) -> Option<Front> {
        if self.0.is_empty() {
            return None;
        }
        let stack = self.0.iter().rev().fold(HttpService(Inner::Grpc), |inner, layer| layer(inner));
        Some(Box::new(move |request| {
            let mut service = stack.clone();
            Box::pin(async move {
                let answer = match poll_fn(|cx| service.poll_ready(cx)).await {
                    Ok(()) => service.call(request).await,
                    Err(err) => Err(err),
                };
                match answer {
                    Ok(response) => response.map(into_body),
                    Err(err) => error_response(status_of(&*err), Metadata::new()),
                }
            })
        }))
    }
}

/// What the outermost layer answered, as the body the connection sends.
fn into_body(body: HttpBody) -> Body {
    match body.0 {
        Content::Grpc(body) => body,
        Content::Boxed(body) => Body::Stream(Box::pin(Recover { body: Some(body) })),
    }
}

/// A layer's body whose error ends the call: the error becomes trailers with INTERNAL, as a
/// failed response stream does.
struct Recover {
    body: Option<Pin<Box<dyn http_body::Body<Data = Bytes, Error = BoxError> + Send>>>,
}

impl http_body::Body for Recover {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let Some(body) = &mut this.body else { return Poll::Ready(None) };
        match body.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(err))) => {
                this.body = None;
                let err = RpcError::internal(format!("the response body of a tower layer failed: {err}"));
                Poll::Ready(Some(Ok(Frame::trailers(status::error_trailers(err)))))
            }
            Poll::Ready(None) => {
                this.body = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(|body| body.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map_or_else(|| SizeHint::with_exact(0), |body| body.size_hint())
    }
}

/// The status for an error that left the outermost layer: an `RpcError` (or, with the `tonic`
/// feature, a `tonic::Status`) anywhere in its chain as it is; tower's timeout DEADLINE_EXCEEDED
/// and load shedding UNAVAILABLE; anything else UNKNOWN with the error's message.
fn status_of(err: &(dyn StdError + Send + Sync + 'static)) -> RpcError {
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(cause) = next {
        if let Some(status) = cause.downcast_ref::<RpcError>() {
            return status.clone();
        }
        #[cfg(feature = "tonic")]
        if let Some(status) = cause.downcast_ref::<::tonic::Status>() {
            return RpcError::from(status.clone());
        }
        if cause.is::<tower::timeout::error::Elapsed>() {
            return RpcError::new(Code::DeadlineExceeded, format!("a tower layer timed the call out: {err}"));
        }
        if cause.is::<tower::load_shed::error::Overloaded>() {
            return RpcError::new(Code::Unavailable, format!("a tower layer shed the call: {err}"));
        }
        next = cause.source();
    }
    RpcError::unknown(format!("a tower layer failed the call: {err}"))
}
