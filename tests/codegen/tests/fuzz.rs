//! Fuzz targets for the plugin's entry point, `execute`, under proptest: any bytes, and valid
//! CodeGeneratorRequests mutated byte by byte and field by field (names, type references,
//! field types and labels, the parameter string). No input panics, not even inside the
//! generator where `generate` would catch it (the panic hook of `no_panic.rs` counts those);
//! undecodable input is the only `Err`, everything else a response.
//!
//! `cargo test -p codegen-tests fuzz` runs each for proptest's default 256 cases;
//! `scripts/fuzz.sh` runs them longer (`PROPTEST_CASES`).

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use prost::Message;
use prost_types::compiler::CodeGeneratorRequest;

use crate::no_panic::{Outcome, run, take_locations};
use crate::support::repo;

fn config() -> Config {
    Config { failure_persistence: None, ..Config::default() }
}

/// helloworld and route_guide as protoc would send them: small enough for hundreds of runs.
fn seed() -> &'static CodeGeneratorRequest {
    static SEED: OnceLock<CodeGeneratorRequest> = OnceLock::new();
    SEED.get_or_init(|| {
        let files = protox::compile(["helloworld.proto", "route_guide.proto"], [repo().join("protos")]).expect("ok");
        CodeGeneratorRequest {
            file_to_generate: vec!["helloworld.proto".into(), "route_guide.proto".into()],
            proto_file: files.file,
            ..Default::default()
        }
    })
}

/// Names as a hostile or broken producer might write them.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
        Just(String::new()),
        Just("self".to_owned()),
        Just("r#type".to_owned()),
        Just("Self".to_owned()),
        Just("super".to_owned()),
        "[a-z.]{0,10}",
        any::<String>(),
    ]
}

/// Type references: real ones, missing ones, malformed ones.
fn type_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(".helloworld.HelloRequest".to_owned()),
        Just(".routeguide.Point".to_owned()),
        Just(".routeguide.Feature".to_owned()),
        Just(".nowhere.Nothing".to_owned()),
        Just("HelloRequest".to_owned()),
        Just(".".to_owned()),
        name().prop_map(|n| format!(".{n}")),
    ]
}

/// One change to a decoded request.
#[derive(Clone, Debug)]
enum Mutation {
    MessageName(usize, String),
    FieldName(usize, usize, String),
    FieldType(usize, usize, i32, Option<String>),
    FieldLabel(usize, usize, i32),
    FieldNumber(usize, usize, i32),
    ServiceName(usize, String),
    MethodName(usize, usize, String),
    MethodTypes(usize, usize, String, String),
    Streaming(usize, usize, bool, bool),
    Package(usize, String),
    Syntax(usize, Option<String>),
    FileName(usize, String),
    Parameter(String),
    DropFile(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = || any::<usize>();
    prop_oneof![
        (i(), name()).prop_map(|(a, n)| Mutation::MessageName(a, n)),
        (i(), i(), name()).prop_map(|(a, b, n)| Mutation::FieldName(a, b, n)),
        (i(), i(), -1i32..20, proptest::option::of(type_name())).prop_map(|(a, b, t, n)| Mutation::FieldType(a, b, t, n)),
        (i(), i(), -1i32..5).prop_map(|(a, b, l)| Mutation::FieldLabel(a, b, l)),
        (i(), i(), prop_oneof![Just(0), Just(-1), Just(19_000), Just(536_870_912), any::<i32>()])
            .prop_map(|(a, b, n)| Mutation::FieldNumber(a, b, n)),
        (i(), name()).prop_map(|(a, n)| Mutation::ServiceName(a, n)),
        (i(), i(), name()).prop_map(|(a, b, n)| Mutation::MethodName(a, b, n)),
        (i(), i(), type_name(), type_name()).prop_map(|(a, b, x, y)| Mutation::MethodTypes(a, b, x, y)),
        (i(), i(), any::<bool>(), any::<bool>()).prop_map(|(a, b, x, y)| Mutation::Streaming(a, b, x, y)),
        (i(), prop_oneof!["[a-z]{1,5}(\\.[a-z]{1,5}){0,2}", "[a-z.]{0,6}", any::<String>()])
            .prop_map(|(a, p)| Mutation::Package(a, p)),
        (i(), proptest::option::of(prop_oneof![Just("proto2"), Just("proto3"), Just("editions"), Just(""), Just("proto4")]))
            .prop_map(|(a, s)| Mutation::Syntax(a, s.map(str::to_owned))),
        (i(), prop_oneof![Just(String::new()), "[a-z/]{1,8}\\.proto", any::<String>()])
            .prop_map(|(a, n)| Mutation::FileName(a, n)),
        prop_oneof![
            "(client|server|bytes|btree_map|crate|module_tree|extern_path|type_attribute|field_attribute|runtime_crate)=[a-z.:=#\\[\\]()_ ]{0,16}",
            Just("type_attribute=.=#[derive(".to_owned()),
            Just("field_attribute=.helloworld=#[serde(rename = \"x\")]".to_owned()),
            Just("extern_path=.routeguide=::other".to_owned()),
            any::<String>(),
        ]
        .prop_map(Mutation::Parameter),
        i().prop_map(Mutation::DropFile),
    ]
}

/// Applies `mutation` to `request`, picking elements by index modulo their count.
fn apply(request: &mut CodeGeneratorRequest, mutation: &Mutation) {
    let files = request.proto_file.len();
    let file = |i: usize| i % files.max(1);
    match mutation.clone() {
        Mutation::MessageName(a, n) => {
            let Some(target) = request.proto_file.get_mut(file(a)) else { return };
            let messages = &mut target.message_type;
            if !messages.is_empty() {
                let k = a / files.max(1) % messages.len();
                messages[k].name = Some(n);
            }
        }
        Mutation::FieldName(a, b, n) => {
            if let Some(field) = field(request, a, b) {
                field.name = Some(n);
            }
        }
        Mutation::FieldType(a, b, t, n) => {
            if let Some(field) = field(request, a, b) {
                field.r#type = Some(t);
                field.type_name = n;
            }
        }
        Mutation::FieldLabel(a, b, l) => {
            if let Some(field) = field(request, a, b) {
                field.label = Some(l);
            }
        }
        Mutation::FieldNumber(a, b, n) => {
            if let Some(field) = field(request, a, b) {
                field.number = Some(n);
            }
        }
        Mutation::ServiceName(a, n) => {
            let Some(target) = request.proto_file.get_mut(file(a)) else { return };
            for service in target.service.iter_mut().take(1) {
                service.name = Some(n.clone());
            }
        }
        Mutation::MethodName(a, b, n) => {
            if let Some(method) = method(request, a, b) {
                method.name = Some(n);
            }
        }
        Mutation::MethodTypes(a, b, x, y) => {
            if let Some(method) = method(request, a, b) {
                method.input_type = Some(x);
                method.output_type = Some(y);
            }
        }
        Mutation::Streaming(a, b, x, y) => {
            if let Some(method) = method(request, a, b) {
                method.client_streaming = Some(x);
                method.server_streaming = Some(y);
            }
        }
        Mutation::Package(a, p) => {
            if let Some(target) = request.proto_file.get_mut(file(a)) {
                target.package = Some(p);
            }
        }
        Mutation::Syntax(a, s) => {
            if let Some(target) = request.proto_file.get_mut(file(a)) {
                target.syntax = s;
            }
        }
        Mutation::FileName(a, n) => {
            if let Some(target) = request.proto_file.get_mut(file(a)) {
                target.name = Some(n);
            }
        }
        Mutation::Parameter(p) => request.parameter = Some(p),
        Mutation::DropFile(a) => {
            if files > 0 {
                request.proto_file.remove(file(a));
            }
        }
    }
}

fn field(request: &mut CodeGeneratorRequest, a: usize, b: usize) -> Option<&mut prost_types::FieldDescriptorProto> {
    let files = request.proto_file.len().max(1);
    let messages = &mut request.proto_file.get_mut(a % files)?.message_type;
    let count = messages.len().max(1);
    let fields = &mut messages.get_mut(b % count)?.field;
    let count = fields.len().max(1);
    fields.get_mut(b / 7 % count)
}

fn method(request: &mut CodeGeneratorRequest, a: usize, b: usize) -> Option<&mut prost_types::MethodDescriptorProto> {
    let files = request.proto_file.len().max(1);
    let services = &mut request.proto_file.get_mut(a % files)?.service;
    let methods = &mut services.first_mut()?.method;
    let count = methods.len().max(1);
    methods.get_mut(b % count)
}

/// Runs `execute` on `input`: a panic escaping fails the case, and so does one caught inside.
fn answered(input: &[u8]) -> Result<Outcome, TestCaseError> {
    take_locations();
    let (outcome, panics) = run(input);
    prop_assert_eq!(panics, 0, "panicked inside the generator at {:?}", take_locations());
    Ok(outcome)
}

proptest! {
    #![proptest_config(config())]

    /// Any bytes: undecodable ones are refused (the only `Err`), the rest answered.
    #[test]
    fn fuzz_plugin_any_bytes(input in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        // Field 15 (proto_file) and 1 (file_to_generate) tags with short lengths: gets past the
        // first byte more often.
        proptest::collection::vec(prop_oneof![Just(0x7au8), Just(0x0a), Just(0x12), 0u8..8, any::<u8>()], 0..128),
    ]) {
        let decodes = CodeGeneratorRequest::decode(&input[..]).is_ok();
        let outcome = answered(&input)?;
        prop_assert_eq!(outcome == Outcome::Refused, !decodes, "{:?}", outcome);
    }

    /// The seed request, its encoding damaged: flipped bits, cut short, a run of bytes copied
    /// elsewhere.
    #[test]
    fn fuzz_plugin_mutated_bytes(
        flips in proptest::collection::vec((any::<usize>(), 0u8..8), 0..6),
        cut in proptest::option::of(any::<usize>()),
        copy in proptest::option::of((any::<usize>(), 0usize..64, any::<usize>())),
    ) {
        let mut input = seed().encode_to_vec();
        for (at, bit) in flips {
            let at = at % input.len();
            input[at] ^= 1 << bit;
        }
        if let Some((from, len, to)) = copy {
            let from = from % input.len();
            let run = input[from..(from + len).min(input.len())].to_vec();
            let to = to % input.len();
            input.splice(to..to, run);
        }
        if let Some(cut) = cut {
            input.truncate(cut % (input.len() + 1));
        }
        answered(&input)?;
    }

    /// The seed request with a few of its descriptors changed: answered with files or an error
    /// naming what is wrong, never a panic.
    #[test]
    fn fuzz_plugin_mutated_requests(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let mut request = seed().clone();
        for mutation in &mutations {
            apply(&mut request, mutation);
        }
        match answered(&request.encode_to_vec())? {
            Outcome::Refused => prop_assert!(false, "a valid encoding was refused"),
            Outcome::Error(error) => prop_assert!(!error.is_empty()),
            Outcome::Generated(_) => {}
        }
    }
}

#[test]
fn the_seed_generates() {
    let outcome = answered(&seed().encode_to_vec()).expect("no panic");
    assert_eq!(outcome, Outcome::Generated(2));
}
