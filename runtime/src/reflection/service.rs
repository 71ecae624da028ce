//! The reflection servicer: answers each request of a stream from the server's [`Index`],
//! built once, on the first call. Implemented on the v1 messages; v1alpha's are the same on the
//! wire and are transcoded.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use futures_core::Stream;
use prost::Message;
use tokio_stream::StreamExt;

use crate::generated::{reflection_v1 as v1, reflection_v1alpha as v1alpha};
use crate::reflection::index::Index;
use crate::server::WeakServer;
use crate::{Code, RequestStream, ResponseStream, Result, RpcError, ServicerContext};

use v1::server_reflection_request::MessageRequest;
use v1::server_reflection_response::MessageResponse;

/// What both reflection services share: the server, held weakly (it holds the services), and
/// its index once built.
pub(crate) struct Reflection {
    server: WeakServer,
    index: OnceLock<Arc<Index>>,
}

impl Reflection {
    pub(crate) fn new(server: WeakServer) -> Reflection {
        Reflection { server, index: OnceLock::new() }
    }

    /// The index, built on first use: calls are served only after `start`, which fixes the
    /// services.
    fn index(&self) -> Result<Arc<Index>> {
        if let Some(index) = self.index.get() {
            return Ok(index.clone());
        }
        let server = self.server.upgrade().ok_or_else(|| RpcError::unavailable("the server is gone"))?;
        let index = Arc::new(Index::build(&server.service_descriptors()));
        Ok(self.index.get_or_init(|| index).clone())
    }

    /// One response per request, in order, until the client ends its side. A request that
    /// could not be read (one that does not decode) ends the call with the error it carries.
    fn responses(
        &self,
        requests: impl Stream<Item = Result<v1::ServerReflectionRequest>> + Send + 'static,
    ) -> Result<impl Stream<Item = Result<v1::ServerReflectionResponse>> + Send + 'static> {
        let index = self.index()?;
        let mut sent = HashSet::new();
        Ok(requests.map(move |request| request.map(|request| answer(&index, &mut sent, request))))
    }
}

/// The answer to `request`; `sent` holds the files this stream was already sent.
fn answer(
    index: &Index,
    sent: &mut HashSet<String>,
    request: v1::ServerReflectionRequest,
) -> v1::ServerReflectionResponse {
    let response = match &request.message_request {
        Some(MessageRequest::ListServices(_)) => MessageResponse::ListServicesResponse(v1::ListServiceResponse {
            service: index.services().iter().map(|name| v1::ServiceResponse { name: name.clone() }).collect(),
        }),
        Some(MessageRequest::FileByFilename(name)) => {
            files(index, sent, Some(name), || format!("no file named {name:?} is known to this server"))
        }
        Some(MessageRequest::FileContainingSymbol(symbol)) => files(index, sent, index.file_of_symbol(symbol), || {
            format!("no symbol named {symbol:?} is known to this server")
        }),
        Some(MessageRequest::FileContainingExtension(v1::ExtensionRequest { containing_type, extension_number })) => {
            files(index, sent, index.file_of_extension(containing_type, *extension_number), || {
                format!("no extension {extension_number} of {containing_type:?} is known to this server")
            })
        }
        Some(MessageRequest::AllExtensionNumbersOfType(name)) => match index.extension_numbers(name) {
            Some(numbers) => MessageResponse::AllExtensionNumbersResponse(v1::ExtensionNumberResponse {
                base_type_name: name.strip_prefix('.').unwrap_or(name).to_owned(),
                extension_number: numbers,
            }),
            None => error(Code::NotFound, format!("no message named {name:?} is known to this server")),
        },
        None => error(
            Code::InvalidArgument,
            "the request asks nothing: set one of file_by_filename, file_containing_symbol, \
             file_containing_extension, all_extension_numbers_of_type or list_services"
                .to_owned(),
        ),
    };
    v1::ServerReflectionResponse {
        valid_host: request.host.clone(),
        original_request: Some(request),
        message_response: Some(response),
    }
}

/// The file named `name` and its imports, or NOT_FOUND with `missing()` as the message.
fn files(
    index: &Index,
    sent: &mut HashSet<String>,
    name: Option<&str>,
    missing: impl FnOnce() -> String,
) -> MessageResponse {
    match name.and_then(|name| index.file_with_dependencies(name, sent)) {
        Some(files) => MessageResponse::FileDescriptorResponse(v1::FileDescriptorResponse {
            file_descriptor_proto: files.into_iter().map(Vec::from).collect(),
        }),
        None => error(Code::NotFound, missing()),
    }
}

fn error(code: Code, message: String) -> MessageResponse {
    MessageResponse::ErrorResponse(v1::ErrorResponse { error_code: code as i32, error_message: message })
}

/// `grpc.reflection.v1.ServerReflection`.
pub(crate) struct V1(pub(crate) Arc<Reflection>);

impl v1::ServerReflectionServicer for V1 {
    async fn server_reflection_info(
        &self,
        requests: RequestStream<v1::ServerReflectionRequest>,
        _context: ServicerContext,
    ) -> Result<ResponseStream<v1::ServerReflectionResponse>> {
        Ok(ResponseStream::new(self.0.responses(requests)?))
    }
}

/// `grpc.reflection.v1alpha.ServerReflection`: the v1 answers, transcoded.
pub(crate) struct V1Alpha(pub(crate) Arc<Reflection>);

impl v1alpha::ServerReflectionServicer for V1Alpha {
    async fn server_reflection_info(
        &self,
        requests: RequestStream<v1alpha::ServerReflectionRequest>,
        _context: ServicerContext,
    ) -> Result<ResponseStream<v1alpha::ServerReflectionResponse>> {
        let requests = requests.map(|request| transcode::<_, v1::ServerReflectionRequest>(&request?));
        let responses = self.0.responses(requests)?;
        Ok(ResponseStream::new(responses.map(|response| transcode(&response?))))
    }
}

/// `message` as the same message of the other package (the two are identical on the wire).
fn transcode<From: Message, To: Message + Default>(message: &From) -> Result<To> {
    To::decode(message.encode_to_vec().as_slice())
        .map_err(|e| RpcError::internal(format!("reflection v1 and v1alpha messages differ: {e}")))
}
