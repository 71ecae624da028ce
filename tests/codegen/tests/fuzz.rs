//! A bounded, deterministic fuzz of the plugin entry point: mutated CodeGeneratorRequests never
//! make it panic.

use prost::Message;
use prost_types::compiler::CodeGeneratorRequest;

use crate::support::repo;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seed_request() -> CodeGeneratorRequest {
    let protos = repo().join("protos");
    let set = protox::compile(["helloworld.proto", "route_guide.proto"], [&protos]).expect("fixtures compile");
    CodeGeneratorRequest {
        file_to_generate: set.file.iter().map(|f| f.name().to_owned()).collect(),
        parameter: Some("module_tree=mod.rs".into()),
        proto_file: set.file,
        ..Default::default()
    }
}

#[test]
fn mutated_requests_never_panic() {
    let seed = seed_request();
    let bytes = seed.encode_to_vec();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut decoded = 0;
    for round in 0..300 {
        let mut input = bytes.clone();
        match round % 4 {
            0 => {
                for _ in 0..=rng.below(8) {
                    let at = rng.below(input.len());
                    input[at] ^= 1 << rng.below(8);
                }
            }
            1 => input.truncate(rng.below(input.len())),
            2 => {
                let at = rng.below(input.len());
                let chunk: Vec<u8> = input[at..(at + rng.below(64)).min(input.len())].to_vec();
                let to = rng.below(input.len());
                input.splice(to..to, chunk);
            }
            _ => {
                // Structural: drop or rename pieces of a valid request.
                let mut request = seed.clone();
                if !request.proto_file.is_empty() {
                    let i = rng.below(request.proto_file.len());
                    match rng.below(3) {
                        0 => drop(request.proto_file.remove(i)),
                        1 => request.proto_file[i].package = Some(String::new()),
                        _ => request.proto_file[i].message_type.clear(),
                    }
                }
                input = request.encode_to_vec();
            }
        }
        let result = std::panic::catch_unwind(|| rust_rpc_codegen::execute(&input));
        match result {
            Ok(Ok(_)) => decoded += 1,
            Ok(Err(_)) => {}
            Err(_) => panic!("round {round}: the plugin panicked on input of {} bytes", input.len()),
        }
    }
    assert!(decoded > 50, "too few mutated inputs decoded ({decoded}) for the fuzz to mean much");
}
