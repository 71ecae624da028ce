//! Generated code for the examples, and the small helpers they share.

// Proto fields without comments have no docs to give; this crate's `missing_docs` lint is
// meant for hand-written items, so it is allowed on the generated modules only.

/// `helloworld.Greeter`.
#[allow(missing_docs)]
pub mod helloworld {
    rust_rpc::include_proto!("helloworld");
}

/// `routeguide.RouteGuide`.
#[allow(missing_docs)]
pub mod routeguide {
    rust_rpc::include_proto!("routeguide");
}

/// The value of `--name VALUE` (or `--name=VALUE`) in the process arguments.
pub fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let long = format!("--{name}");
    let with_eq = format!("--{name}=");
    args.iter().enumerate().find_map(|(i, arg)| {
        if let Some(value) = arg.strip_prefix(&with_eq) {
            Some(value.to_owned())
        } else if *arg == long {
            args.get(i + 1).cloned()
        } else {
            None
        }
    })
}
