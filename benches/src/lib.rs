//! Benchmark tools: the binaries are in `src/bin`, the drivers in `scripts/bench-*.py`, the
//! figures in BENCHMARKS.md.

/// helloworld generated for rust-rpc.
#[allow(missing_docs)]
pub mod ours {
    include!(concat!(env!("OUT_DIR"), "/rust-rpc/helloworld.rs"));
}

/// helloworld generated for tonic by tonic-prost-build.
#[allow(missing_docs, clippy::all)]
pub mod tonic_hello {
    include!(concat!(env!("OUT_DIR"), "/tonic/helloworld.rs"));
}

/// `protos/bench.proto` (streaming and large messages) generated for rust-rpc.
#[allow(missing_docs)]
pub mod ours_bench {
    include!(concat!(env!("OUT_DIR"), "/rust-rpc/bench.rs"));
}

/// `protos/bench.proto` generated for tonic by tonic-prost-build.
#[allow(missing_docs, clippy::all)]
pub mod tonic_bench {
    include!(concat!(env!("OUT_DIR"), "/tonic/bench.rs"));
}
