//! Generated code for the examples, and the small helpers they share.

// Proto fields without comments have no docs to give; this crate's `missing_docs` lint is
// meant for hand-written items, so it is allowed on the generated modules only.

/// `helloworld.Greeter`.
#[allow(missing_docs)]
pub mod helloworld {
    rust_rpc::include_proto!("helloworld");

    /// `helloworld.stream.StreamingGreeter`, the gRPC-Web example's server stream.
    pub mod stream {
        rust_rpc::include_proto!("helloworld.stream");
    }
}

/// `routeguide.RouteGuide`.
#[allow(missing_docs)]
pub mod routeguide {
    rust_rpc::include_proto!("routeguide");
}

pub mod welcome;

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

/// Serves until the server stops: SIGTERM (what Kubernetes, systemd and `docker stop` send) or
/// Ctrl-C stops it, giving calls in flight five seconds to finish; then the process can exit 0.
pub async fn serve_until_signal(server: &rust_rpc::Server) -> Result<(), rust_rpc::Error> {
    server.stop_on_signals(Some(std::time::Duration::from_secs(5)))?;
    server.wait_for_termination(None).await;
    Ok(())
}

/// A few named places for the route guide, in E7 coordinates.
pub fn route_guide_features() -> Vec<routeguide::Feature> {
    let places = [
        ("Patriots Path, Mendham, NJ 07945, USA", 407_838_351, -746_143_763),
        ("101 New Jersey 10, Whippany, NJ 07981, USA", 408_122_808, -743_999_179),
        ("U.S. 6, Shohola, PA 18458, USA", 413_628_156, -749_015_468),
        ("5 Conners Road, Kingston, NY 12401, USA", 419_999_544, -740_371_136),
        ("Mid Hudson Bridge, Poughkeepsie, NY 12601, USA", 417_029_080, -739_590_380),
    ];
    places
        .into_iter()
        .map(|(name, latitude, longitude)| routeguide::Feature {
            name: name.to_owned(),
            location: Some(routeguide::Point { latitude, longitude }),
        })
        .collect()
}
