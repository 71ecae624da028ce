//! The small model renderers work from: services and methods with every Rust name, type path,
//! wire path and doc line already decided.

use std::collections::BTreeSet;

use crate::ident::{join_snake, service_stems, to_shouty_snake, to_snake, unique};

/// The four kinds of RPC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Unary,
    ServerStreaming,
    ClientStreaming,
    BidiStreaming,
}

/// One service, ready to render.
#[derive(Debug)]
pub(crate) struct Service {
    /// `package.Service`, as on the wire.
    pub(crate) full_name: String,
    /// `GreeterClient`.
    pub(crate) client: String,
    /// `GreeterServicer`.
    pub(crate) servicer: String,
    /// `GreeterBlockingClient`.
    pub(crate) blocking_client: String,
    /// `greeter_service`.
    pub(crate) service_fn: String,
    /// `add_greeter_servicer_to_server`.
    pub(crate) add_fn: String,
    /// The generic parameter of generated fns (`S`, or `S2`, ... when the package has a type
    /// named `S`).
    pub(crate) generic: String,
    pub(crate) docs: Vec<String>,
    pub(crate) deprecated: bool,
    pub(crate) methods: Vec<Method>,
}

/// One method, ready to render.
#[derive(Debug)]
pub(crate) struct Method {
    /// `SayHello`, as on the wire.
    pub(crate) proto_name: String,
    /// `say_hello` (escaped: `r#type`).
    pub(crate) name: String,
    /// `SAY_HELLO_PATH`.
    pub(crate) path_const: String,
    /// `/package.Service/SayHello`.
    pub(crate) path: String,
    /// Rust paths of the request and response types, relative to the generated module.
    pub(crate) input: String,
    pub(crate) output: String,
    pub(crate) kind: Kind,
    pub(crate) docs: Vec<String>,
    pub(crate) deprecated: bool,
}

/// Methods of the generated clients (async and blocking) that RPC names must not take.
const CLIENT_INHERENT: [&str; 3] = ["new", "channel", "with_options"];

/// Doc lines from prost's comments, sanitized the way prost sanitizes message docs.
pub(crate) fn doc_lines(comments: &prost_build::Comments) -> Vec<String> {
    let mut text = String::new();
    let comments = prost_build::Comments {
        leading_detached: Vec::new(),
        leading: comments.leading.clone(),
        trailing: comments.trailing.clone(),
    };
    comments.append_with_indent(0, &mut text);
    text.lines().filter_map(|line| line.strip_prefix("///")).map(str::to_owned).collect()
}

impl Service {
    /// Builds the model. `taken_types` holds the package's type names (messages, enums, earlier
    /// services' items) and receives this service's.
    pub(crate) fn from_prost(service: &prost_build::Service, taken_types: &mut BTreeSet<String>) -> Service {
        let full_name = if service.package.is_empty() {
            service.proto_name.clone()
        } else {
            format!("{}.{}", service.package, service.proto_name)
        };
        let (camel, snake) = service_stems(&service.proto_name);
        let client = unique(format!("{camel}Client"), "", taken_types);
        let servicer = unique(format!("{camel}Servicer"), "", taken_types);
        let service_fn = unique(join_snake(&[&snake, "service"]), "_", taken_types);
        let add_fn = unique(join_snake(&["add", &snake, "servicer_to_server"]), "_", taken_types);
        // Last, so it never moves the names above.
        let blocking_client = unique(format!("{camel}BlockingClient"), "", taken_types);
        // Not a type of the package (so not marked taken), but it must not hide one: the
        // request type of a method may be a message named `S`.
        let generic = std::iter::once("S".to_owned())
            .chain((2..).map(|n| format!("S{n}")))
            .find(|name| !taken_types.contains(name))
            .unwrap_or_else(|| "S".to_owned());

        let mut taken_methods: BTreeSet<String> = CLIENT_INHERENT.iter().map(|s| s.to_string()).collect();
        let mut taken_consts = BTreeSet::from(["SERVICE_NAME".to_owned()]);
        let methods = service
            .methods
            .iter()
            .map(|m| {
                let name = unique(to_snake(&m.proto_name), "_", &mut taken_methods);
                let const_base = to_shouty_snake(name.strip_prefix("r#").unwrap_or(&name));
                let path_const = unique(format!("{}_PATH", const_base.trim_end_matches('_')), "_", &mut taken_consts);
                Method {
                    proto_name: m.proto_name.clone(),
                    name,
                    path_const,
                    path: format!("/{full_name}/{}", m.proto_name),
                    input: m.input_type.clone(),
                    output: m.output_type.clone(),
                    kind: match (m.client_streaming, m.server_streaming) {
                        (false, false) => Kind::Unary,
                        (false, true) => Kind::ServerStreaming,
                        (true, false) => Kind::ClientStreaming,
                        (true, true) => Kind::BidiStreaming,
                    },
                    docs: doc_lines(&m.comments),
                    deprecated: m.options.deprecated.unwrap_or(false),
                }
            })
            .collect();
        Service {
            full_name,
            client,
            servicer,
            blocking_client,
            service_fn,
            add_fn,
            generic,
            docs: doc_lines(&service.comments),
            deprecated: service.options.deprecated.unwrap_or(false),
            methods,
        }
    }
}
