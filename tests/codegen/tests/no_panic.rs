//! A bounded, deterministic fuzz of the plugin entry point: mutated CodeGeneratorRequests (and
//! hand-made nonsense descriptors) never make `execute` panic.
//!
//! `generate` wraps prost-build in `catch_unwind`, so a panic inside it would become an error,
//! but the panic hook would still print "thread panicked at ..." to the plugin's stderr. A
//! thread-local panic counter, fed by a chained panic hook, tells those apart from clean
//! refusals: descriptors are checked first (`validate.rs`), so there should be none.

use std::cell::Cell;
use std::sync::Once;

use prost::Message;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, MethodDescriptorProto, ServiceDescriptorProto,
};

use crate::support::repo;

thread_local! {
    static PANICS: Cell<usize> = const { Cell::new(0) };
    static LOCATIONS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Counts panics per thread and records where they happened, then does what the previous
/// hook did.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            LOCATIONS.with(|l| l.borrow_mut().push(at));
            previous(info);
        }));
    });
}

/// Where the panics caught so far on this thread happened; clears the record.
pub(crate) fn take_locations() -> Vec<String> {
    LOCATIONS.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// What `execute` did with one input.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    /// Undecodable: `Err`.
    Refused,
    /// A response with `error` set.
    Error(String),
    /// Files generated.
    Generated(usize),
}

/// Runs `execute`, failing the test if a panic escapes; also returns how many panics happened
/// inside (caught by the generator itself).
pub(crate) fn run(input: &[u8]) -> (Outcome, usize) {
    count_panics();
    let before = PANICS.with(Cell::get);
    let result = std::panic::catch_unwind(|| rust_rpc_codegen::execute(input));
    let inner = PANICS.with(Cell::get) - before;
    let outcome = match result {
        Ok(Err(_)) => Outcome::Refused,
        Ok(Ok(bytes)) => {
            let response = CodeGeneratorResponse::decode(bytes.as_slice()).expect("the response decodes");
            match response.error {
                Some(error) => Outcome::Error(error),
                None => Outcome::Generated(response.file.len()),
            }
        }
        Err(_) => panic!("execute panicked on {} bytes: {:02x?}", input.len(), &input[..input.len().min(64)]),
    };
    (outcome, inner)
}

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

/// A valid request for the examples and every edge fixture, as protoc would send it.
fn seed_request() -> CodeGeneratorRequest {
    let mut files = Vec::new();
    let examples = protox::compile(["helloworld.proto", "route_guide.proto"], [repo().join("protos")]).expect("ok");
    let fixtures = repo().join("tests/codegen/protos");
    let mut edge: Vec<String> = std::fs::read_dir(fixtures.join("edge"))
        .expect("fixtures")
        .map(|e| format!("edge/{}", e.expect("entry").file_name().to_string_lossy()))
        .collect();
    edge.sort();
    let edge = protox::compile(&edge, [&fixtures]).expect("fixtures compile");
    for file in examples.file.into_iter().chain(edge.file) {
        if !files.iter().any(|f: &FileDescriptorProto| f.name() == file.name()) {
            files.push(file);
        }
    }
    CodeGeneratorRequest {
        file_to_generate: files.iter().map(|f| f.name().to_owned()).filter(|n| !n.starts_with("google/")).collect(),
        parameter: Some("module_tree=mod.rs".into()),
        proto_file: files,
        ..Default::default()
    }
}

#[test]
fn the_seed_request_generates() {
    let (outcome, panics) = run(&seed_request().encode_to_vec());
    assert!(matches!(outcome, Outcome::Generated(n) if n > 10), "{outcome:?}");
    assert_eq!(panics, 0);
}

#[test]
fn mutated_requests_never_panic() {
    take_locations();
    let seed = seed_request();
    let bytes = seed.encode_to_vec();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let (mut generated, mut errors, mut refused, mut inner) = (0, 0, 0, Vec::new());
    for round in 0..300 {
        let mut input = bytes.clone();
        match round % 5 {
            // Flip a few bits.
            0 => {
                for _ in 0..=rng.below(8) {
                    let at = rng.below(input.len());
                    input[at] ^= 1 << rng.below(8);
                }
            }
            // Truncate.
            1 => input.truncate(rng.below(input.len())),
            // Duplicate a run of bytes elsewhere (often a whole repeated field).
            2 => {
                let at = rng.below(input.len());
                let chunk: Vec<u8> = input[at..(at + rng.below(64)).min(input.len())].to_vec();
                let to = rng.below(input.len());
                input.splice(to..to, chunk);
            }
            // Duplicate whole files (protobuf merges repeated fields by appending).
            3 => {
                let mut request = seed.clone();
                let i = rng.below(request.proto_file.len());
                let copy = request.proto_file[i].clone();
                request.proto_file.push(copy);
                input = request.encode_to_vec();
            }
            // Structural: drop or blank pieces of a valid request.
            _ => {
                let mut request = seed.clone();
                let i = rng.below(request.proto_file.len());
                match rng.below(6) {
                    0 => drop(request.proto_file.remove(i)),
                    1 => request.proto_file[i].package = Some(String::new()),
                    2 => request.proto_file[i].message_type.clear(),
                    3 => request.proto_file[i].dependency.clear(),
                    4 => {
                        for service in &mut request.proto_file[i].service {
                            for method in &mut service.method {
                                method.input_type = Some(".nowhere.Nothing".into());
                            }
                        }
                    }
                    _ => request.parameter = Some(["", "crate=x", "client=false", "bytes=."][rng.below(4)].into()),
                }
                input = request.encode_to_vec();
            }
        }
        let (outcome, panics) = run(&input);
        if panics > 0 {
            inner.push((round, outcome));
            continue;
        }
        match outcome {
            Outcome::Generated(_) => generated += 1,
            Outcome::Error(_) => errors += 1,
            Outcome::Refused => refused += 1,
        }
    }
    eprintln!(
        "fuzz: {generated} generated, {errors} error responses, {refused} undecodable, {} with caught panics",
        inner.len()
    );
    assert!(generated > 50, "too few mutated inputs generated ({generated}) for the fuzz to mean much");
    // Descriptors that do not resolve (dropped files or types, damaged source info) are refused
    // before prost-build sees them, so nothing panics at all, even where it would be caught.
    assert!(inner.is_empty(), "panics caught inside the generator at {:?} (rounds {inner:?})", take_locations());
}

fn method(name: &str, input: &str, output: &str) -> MethodDescriptorProto {
    MethodDescriptorProto {
        name: Some(name.into()),
        input_type: Some(input.into()),
        output_type: Some(output.into()),
        ..Default::default()
    }
}

fn file(name: &str, package: &str, messages: &[&str], services: Vec<ServiceDescriptorProto>) -> FileDescriptorProto {
    FileDescriptorProto {
        name: Some(name.into()),
        package: Some(package.into()),
        message_type: messages
            .iter()
            .map(|m| DescriptorProto { name: Some((*m).into()), ..Default::default() })
            .collect(),
        service: services,
        syntax: Some("proto3".into()),
        ..Default::default()
    }
}

fn service(name: &str, methods: Vec<MethodDescriptorProto>) -> ServiceDescriptorProto {
    ServiceDescriptorProto { name: Some(name.into()), method: methods, ..Default::default() }
}

fn request(files: Vec<FileDescriptorProto>, to_generate: &[&str]) -> Vec<u8> {
    CodeGeneratorRequest {
        file_to_generate: to_generate.iter().map(|s| s.to_string()).collect(),
        proto_file: files,
        ..Default::default()
    }
    .encode_to_vec()
}

/// Descriptors protoc would never send (and a few it would: see `hostile_names`).
fn nonsense_cases() -> Vec<(&'static str, Vec<u8>)> {
    let ok = || vec![method("Call", ".p.M", ".p.M")];
    let field = |name: &str, type_name: &str| FieldDescriptorProto {
        name: Some(name.into()),
        number: Some(1),
        r#type: Some(prost_types::field_descriptor_proto::Type::Message as i32),
        type_name: Some(type_name.into()),
        json_name: Some(name.into()),
        ..Default::default()
    };
    let mut with_field = file("f.proto", "p", &["M"], vec![]);
    with_field.message_type[0].field.push(field("other", ".p.Missing"));
    vec![
        (
            "method input names a missing message",
            request(
                vec![file("a.proto", "p", &["M"], vec![service("S", vec![method("Call", ".p.Missing", ".p.M")])])],
                &["a.proto"],
            ),
        ),
        (
            "method types without a leading dot",
            request(
                vec![file("a.proto", "p", &["M"], vec![service("S", vec![method("Call", "M", "p.M")])])],
                &["a.proto"],
            ),
        ),
        (
            "empty method types",
            request(
                vec![file("a.proto", "p", &["M"], vec![service("S", vec![method("Call", "", ".")])])],
                &["a.proto"],
            ),
        ),
        ("a field of a missing message type", request(vec![with_field], &["f.proto"])),
        ("empty file name", request(vec![file("", "p", &["M"], vec![service("S", ok())])], &[""])),
        ("empty package parts", request(vec![file("a.proto", "p..q.", &["M"], vec![])], &["a.proto"])),
        ("empty message name", request(vec![file("a.proto", "p", &[""], vec![])], &["a.proto"])),
        ("empty service name", request(vec![file("a.proto", "p", &["M"], vec![service("", ok())])], &["a.proto"])),
        (
            "empty method name",
            request(
                vec![file("a.proto", "p", &["M"], vec![service("S", vec![method("", ".p.M", ".p.M")])])],
                &["a.proto"],
            ),
        ),
        (
            "method name of punctuation",
            request(
                vec![file("a.proto", "p", &["M"], vec![service("S", vec![method("-+-", ".p.M", ".p.M")])])],
                &["a.proto"],
            ),
        ),
        (
            "service name of punctuation",
            request(vec![file("a.proto", "p", &["M"], vec![service("???", ok())])], &["a.proto"]),
        ),
        (
            "emoji names",
            request(
                vec![file("a.proto", "p", &["M"], vec![service("🦀", vec![method("🦀", ".p.M", ".p.M")])])],
                &["a.proto"],
            ),
        ),
        ("file_to_generate not described", request(vec![file("a.proto", "p", &["M"], vec![])], &["b.proto"])),
        (
            "the same file twice",
            request(
                vec![
                    file("a.proto", "p", &["M"], vec![service("S", ok())]),
                    file("a.proto", "p", &["M"], vec![service("S", ok())]),
                ],
                &["a.proto"],
            ),
        ),
        ("no files at all", request(vec![], &[])),
        (
            "an unknown syntax",
            request(
                vec![FileDescriptorProto { syntax: Some("proto4".into()), ..file("a.proto", "p", &["M"], vec![]) }],
                &["a.proto"],
            ),
        ),
        (
            "a dependency that is not described",
            request(
                vec![FileDescriptorProto {
                    dependency: vec!["gone.proto".into()],
                    ..file("a.proto", "p", &["M"], vec![service("S", ok())])
                }],
                &["a.proto"],
            ),
        ),
    ]
}

/// What each nonsense request must be answered with: an error naming the element, or files.
fn expected(case: &str) -> Option<&'static str> {
    Some(match case {
        "method input names a missing message" => "a.proto: method p.S.Call: input type \".p.Missing\"",
        "method types without a leading dot" => "a.proto: method p.S.Call: input type \"M\"",
        "empty method types" => "a.proto: method p.S.Call: input type \"\"",
        "a field of a missing message type" => "f.proto: field p.M.other: type \".p.Missing\"",
        "empty package parts" => "a.proto: package: \"p..q.\"",
        "empty message name" => "a.proto: message in p: name \"\" is not an identifier",
        "empty service name" => "a.proto: service in p: name \"\" is not an identifier",
        "empty method name" => "a.proto: method in p.S: name \"\" is not an identifier",
        "method name of punctuation" => "a.proto: method in p.S: name \"-+-\"",
        "service name of punctuation" => "a.proto: service in p: name \"???\"",
        "emoji names" => "name \"🦀\" is not an identifier",
        "file_to_generate not described" => "b.proto",
        "an unknown syntax" => "a.proto: syntax: \"proto4\" is not proto2 or proto3",
        _ => return None,
    })
}

/// Each nonsense request is answered with files or a precise error, without any panic (not
/// even one the generator would catch).
#[test]
fn nonsense_descriptors_get_an_answer_without_a_panic() {
    take_locations();
    for (case, bytes) in &nonsense_cases() {
        let (outcome, panics) = run(bytes);
        assert_eq!(panics, 0, "{case}: panicked at {:?}, answered {outcome:?}", take_locations());
        match expected(case) {
            Some(text) => assert!(matches!(&outcome, Outcome::Error(e) if e.contains(text)), "{case}: {outcome:?}"),
            None => assert!(matches!(outcome, Outcome::Generated(_)), "{case}: {outcome:?}"),
        }
    }
}
