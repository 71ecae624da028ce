//! The entry points generated stubs call: one per kind of method, each giving a `Call`.

use crate::client::call::{
    BidiStreamingCall, Call, ClientStreamingCall, ServerStreamingCall, SingleRequest, UnaryCall,
};
use crate::{CallOptions, Channel};

impl Channel {
    /// Starts a unary call to `path` (`/package.Service/Method`). Generated stubs call this;
    /// use it directly only for calls without generated code.
    pub fn unary<Req, Resp>(&self, path: &'static str, request: Req) -> UnaryCall<Req, Resp> {
        Call::new(self.clone(), path.into(), SingleRequest::new(request), CallOptions::default())
    }

    /// Starts a server-streaming call to `path`.
    pub fn server_streaming<Req, Resp>(&self, path: &'static str, request: Req) -> ServerStreamingCall<Req, Resp> {
        Call::new(self.clone(), path.into(), tokio_stream::once(request), CallOptions::default())
    }

    /// Starts a client-streaming call to `path`, sending every message of `requests`.
    pub fn client_streaming<S, Resp>(&self, path: &'static str, requests: S) -> ClientStreamingCall<S, Resp> {
        Call::new(self.clone(), path.into(), requests, CallOptions::default())
    }

    /// Starts a bidirectional-streaming call to `path`, sending every message of `requests`.
    pub fn bidi_streaming<S, Resp>(&self, path: &'static str, requests: S) -> BidiStreamingCall<S, Resp> {
        Call::new(self.clone(), path.into(), requests, CallOptions::default())
    }
}
