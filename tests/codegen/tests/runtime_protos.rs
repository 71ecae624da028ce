//! The runtime serves gRPC's standard services (health, reflection) with code this generator
//! made from `protos/grpc/{health,reflection}`, committed under `runtime/src/generated/` (the
//! runtime cannot run the generator at build time without making every user compile it). This
//! test fails when that code is stale; `UPDATE_GENERATED=1 cargo test -p codegen-tests
//! runtime_protos` rewrites it.

use crate::support::{diff, repo};

/// The standard protos the runtime carries, and the file each package's code goes to.
const PROTOS: [(&str, &str); 3] = [
    ("grpc/health/v1/health.proto", "grpc.health.v1.rs"),
    ("grpc/reflection/v1/reflection.proto", "grpc.reflection.v1.rs"),
    ("grpc/reflection/v1alpha/reflection.proto", "grpc.reflection.v1alpha.rs"),
];

#[test]
fn the_runtimes_generated_code_is_up_to_date() {
    let protos = repo().join("protos");
    let out = repo().join("runtime/src/generated");
    for (proto, file) in PROTOS {
        let files = rust_rpc_codegen::Builder::new()
            .runtime_crate("crate")
            .generate(&[protos.join(proto)], std::slice::from_ref(&protos))
            .unwrap_or_else(|e| panic!("{proto}: {e}"));
        let code = files.get(file).unwrap_or_else(|| panic!("{proto} made no {file}: {:?}", files.keys()));
        let path = out.join(file);
        if std::env::var_os("UPDATE_GENERATED").is_some() {
            std::fs::write(&path, code).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == *code,
            "{} is stale (- committed, + generated):\n{}\nRegenerate it: UPDATE_GENERATED=1 cargo test -p \
             codegen-tests runtime_protos",
            path.display(),
            diff(&committed, code, 3, 80)
        );
    }
}
