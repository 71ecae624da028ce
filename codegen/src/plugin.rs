//! The protoc plugin front end: `CodeGeneratorRequest` bytes in, `CodeGeneratorResponse` bytes
//! out. Generation errors go into the response's `error` field, never a panic.

use prost::Message;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse, code_generator_response};

use crate::{Error, Options, Warning, generate};

/// Proto3 `optional` is supported (`FEATURE_PROTO3_OPTIONAL`).
const SUPPORTED_FEATURES: u64 = code_generator_response::Feature::Proto3Optional as u64;

/// Runs the plugin on an encoded `CodeGeneratorRequest`, returning the encoded response.
/// Warnings (renames, see [`respond_with_warnings`]) go to stderr, one per line, which protoc
/// and buf show to the user.
///
/// Undecodable input is the only `Err`: the plugin binary reports it on stderr and exits 1, as
/// protoc expects for protocol errors. Everything else, bad options and bad protos included,
/// becomes `CodeGeneratorResponse.error`.
pub fn execute(request: &[u8]) -> Result<Vec<u8>, Error> {
    let request = CodeGeneratorRequest::decode(request)
        .map_err(|source| Error::Decode { what: "CodeGeneratorRequest", source })?;
    let (response, warnings) = respond_with_warnings(&request);
    for warning in warnings {
        eprintln!("protoc-gen-rust-rpc: warning: {warning}");
    }
    Ok(response.encode_to_vec())
}

/// The response to a decoded request.
pub fn respond(request: &CodeGeneratorRequest) -> CodeGeneratorResponse {
    respond_with_warnings(request).0
}

/// The response to a decoded request, and a warning for every name the generator changed so
/// that the code compiles (none when generation failed).
pub fn respond_with_warnings(request: &CodeGeneratorRequest) -> (CodeGeneratorResponse, Vec<Warning>) {
    let result = request
        .parameter()
        .parse::<Options>()
        .and_then(|options| generate::generate_with_warnings(&request.proto_file, &request.file_to_generate, &options));
    match result {
        Ok(generate::Generated { files, warnings }) => (
            CodeGeneratorResponse {
                supported_features: Some(SUPPORTED_FEATURES),
                file: files
                    .into_iter()
                    .map(|(name, content)| code_generator_response::File {
                        name: Some(name),
                        content: Some(content),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            },
            warnings,
        ),
        Err(err) => (
            CodeGeneratorResponse {
                supported_features: Some(SUPPORTED_FEATURES),
                error: Some(err.to_string()),
                ..Default::default()
            },
            Vec::new(),
        ),
    }
}
