//! Trace context in gRPC metadata: `traceparent`/`tracestate` (W3C Trace Context, or whatever
//! the global propagator writes) injected into a call's request metadata and read back out of
//! it, through OpenTelemetry's global text-map propagator.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};

use crate::Metadata;

/// Request metadata, as a propagator writes into it.
struct MetadataInjector<'a>(&'a mut Metadata);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // A propagator writes ASCII header values; one that does not is left out rather than
        // failing the call.
        let _ = self.0.insert(key, &value);
    }
}

/// Request metadata, as a propagator reads it.
struct MetadataExtractor<'a>(&'a Metadata);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(key, _)| key).collect()
    }
}

/// Writes `context` into `metadata` with the global propagator.
pub(super) fn inject(context: &Context, metadata: &mut Metadata) {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(context, &mut MetadataInjector(metadata))
    });
}

/// The context the client sent in `metadata`, read with the global propagator (empty if none).
pub(super) fn extract(metadata: &Metadata) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&MetadataExtractor(metadata)))
}
