//! The small model renderers work from: services and methods with every Rust name, type path,
//! wire path and doc line already decided.

use std::collections::BTreeSet;

use crate::ident::{join_snake, method_names, service_stems, to_shouty_snake, unique};

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
    /// `wire_package` is the package as written in the `.proto` (prost-build may have been
    /// given a renamed one).
    pub(crate) fn from_prost(
        service: &prost_build::Service,
        wire_package: &str,
        taken_types: &mut BTreeSet<String>,
    ) -> Service {
        let full_name = if wire_package.is_empty() {
            service.proto_name.clone()
        } else {
            format!("{wire_package}.{}", service.proto_name)
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

        let names = method_names(service.methods.iter().map(|m| m.proto_name.as_str()));
        let mut taken_consts = BTreeSet::from(["SERVICE_NAME".to_owned()]);
        let methods = service
            .methods
            .iter()
            .zip(names)
            .map(|(m, name)| {
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

    /// A warning for each item that did not get its natural name (`GreeterClient2` because a
    /// message is named `GreeterClient`, `new_2` because `new` is the client's constructor,
    /// `get_foo_2` after `GetFoo`), at the service's or method's location.
    pub(crate) fn renames(&self, service_at: &str, method_at: &[String]) -> Vec<crate::Warning> {
        let (camel, snake) = service_stems(self.full_name.rsplit('.').next().unwrap_or(&self.full_name));
        let mut warnings = Vec::new();
        let natural = [
            (format!("{camel}Client"), &self.client, "client"),
            (format!("{camel}Servicer"), &self.servicer, "servicer trait"),
            (join_snake(&[&snake, "service"]), &self.service_fn, "service function"),
        ];
        for (natural, actual, what) in natural {
            if &natural != actual {
                warnings.push(crate::Warning {
                    location: service_at.to_owned(),
                    message: format!(
                        "the {what} of service {} is generated as `{actual}` (`{natural}` is taken by a type or \
                         another service of the package)",
                        self.full_name
                    ),
                });
            }
        }
        for (method, at) in self.methods.iter().zip(method_at) {
            let natural = crate::ident::to_snake(&method.proto_name);
            if natural != method.name {
                warnings.push(crate::Warning {
                    location: at.clone(),
                    message: format!(
                        "method {} is generated as `{}` (`{natural}` is taken by another method or by the client's \
                         own methods); its wire path {} is unchanged",
                        method.path.trim_start_matches('/').replace('/', "."),
                        method.name,
                        method.path
                    ),
                });
            }
        }
        warnings
    }
}
