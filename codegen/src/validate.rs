//! Checks descriptors before anything is generated from them.
//!
//! protoc and protox only hand over descriptors they have checked, but a plugin reads whatever
//! arrives on stdin. Names that are not proto identifiers, or type references that name no
//! message, would otherwise reach prost-build (which panics on them) or our renderers, so they
//! are refused here, all at once, each error naming the file and the element.

use std::collections::BTreeSet;

use prost_types::field_descriptor_proto::Type;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto, SourceCodeInfo};

use crate::Error;

/// Checks every file of a request: names are identifiers and type references resolve.
pub(crate) fn check(all: &[FileDescriptorProto]) -> Result<(), Error> {
    let mut types = Types::default();
    for file in all {
        types.collect(file);
    }
    let mut errors = Vec::new();
    for file in all {
        check_file(file, &types, &mut errors);
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Many(errors)),
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, the proto language's identifiers.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Fully qualified names (`.pkg.Msg`) of every message and enum described.
#[derive(Default)]
struct Types {
    messages: BTreeSet<String>,
    enums: BTreeSet<String>,
}

impl Types {
    fn collect(&mut self, file: &FileDescriptorProto) {
        let scope = if file.package().is_empty() { String::new() } else { format!(".{}", file.package()) };
        for message in &file.message_type {
            self.message(&scope, message);
        }
        for enumeration in &file.enum_type {
            self.enums.insert(format!("{scope}.{}", enumeration.name()));
        }
    }

    fn message(&mut self, scope: &str, message: &DescriptorProto) {
        let name = format!("{scope}.{}", message.name());
        for nested in &message.nested_type {
            self.message(&name, nested);
        }
        for enumeration in &message.enum_type {
            self.enums.insert(format!("{name}.{}", enumeration.name()));
        }
        self.messages.insert(name);
    }
}

/// Collects the problems of one file.
struct FileCheck<'a> {
    file: &'a str,
    types: &'a Types,
    errors: &'a mut Vec<Error>,
}

impl FileCheck<'_> {
    fn error(&mut self, element: String, reason: String) {
        self.errors.push(Error::Descriptor { file: self.file.to_owned(), element, reason });
    }

    fn name(&mut self, what: &str, scope: &str, name: &str) {
        if !is_identifier(name) {
            let element = if scope.is_empty() { what.to_owned() } else { format!("{what} in {}", shown(scope)) };
            self.error(element, format!("name {name:?} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)"));
        }
    }

    fn message(&mut self, scope: &str, message: &DescriptorProto) {
        self.name("message", scope, message.name());
        let full = format!("{scope}.{}", message.name());
        for field in message.field.iter().chain(&message.extension) {
            self.name("field", &full, field.name());
            let refers = matches!(field.r#type(), Type::Message | Type::Group | Type::Enum)
                || (field.r#type.is_none() && field.type_name.is_some());
            if refers {
                let known =
                    self.types.messages.contains(field.type_name()) || self.types.enums.contains(field.type_name());
                if !known {
                    self.error(
                        format!("field {}.{}", shown(&full), field.name()),
                        format!("type {:?} is not described in the request", field.type_name()),
                    );
                }
            }
        }
        for oneof in &message.oneof_decl {
            self.name("oneof", &full, oneof.name());
        }
        for enumeration in &message.enum_type {
            self.enumeration(&full, enumeration);
        }
        for nested in &message.nested_type {
            self.message(&full, nested);
        }
    }

    fn enumeration(&mut self, scope: &str, enumeration: &EnumDescriptorProto) {
        self.name("enum", scope, enumeration.name());
        let full = format!("{scope}.{}", enumeration.name());
        for value in &enumeration.value {
            self.name("enum value", &full, value.name());
        }
    }
}

/// A scope as users write it: `pkg.Msg`, without the leading dot.
fn shown(scope: &str) -> &str {
    scope.strip_prefix('.').unwrap_or(scope)
}

fn check_file(file: &FileDescriptorProto, types: &Types, errors: &mut Vec<Error>) {
    let mut check = FileCheck { file: file.name(), types, errors };
    if !file.package().is_empty() && !file.package().split('.').all(is_identifier) {
        check.error(
            "package".to_owned(),
            format!("{:?} is not a dotted list of identifiers such as google.api", file.package()),
        );
    }
    // prost-build panics on any other value (found by `fuzz_plugin_mutated_bytes`: one flipped
    // bit in "proto3"). protoc leaves the field unset for proto2.
    if let Some(syntax) = file.syntax.as_deref()
        && !matches!(syntax, "proto2" | "proto3")
    {
        check.error("syntax".to_owned(), format!("{syntax:?} is not proto2 or proto3, the syntaxes prost-build reads"));
    }
    let scope = if file.package().is_empty() { String::new() } else { format!(".{}", file.package()) };
    for message in &file.message_type {
        check.message(&scope, message);
    }
    for enumeration in &file.enum_type {
        check.enumeration(&scope, enumeration);
    }
    if let Some(info) = &file.source_code_info {
        check_locations(file, info, &mut check);
    }
    for service in &file.service {
        check.name("service", &scope, service.name());
        let full = format!("{scope}.{}", service.name());
        for method in &service.method {
            check.name("method", &full, method.name());
            for (role, type_name) in [("input", method.input_type()), ("output", method.output_type())] {
                if !types.messages.contains(type_name) {
                    check.error(
                        format!("method {}.{}", shown(&full), method.name()),
                        format!("{role} type {type_name:?} is not a message described in the request"),
                    );
                }
            }
        }
    }
}

/// prost-build looks up the source location of every element it documents and panics when one
/// is missing: protoc always sends them all, so a missing one means a damaged request.
fn check_locations(file: &FileDescriptorProto, info: &SourceCodeInfo, check: &mut FileCheck<'_>) {
    let paths: BTreeSet<&[i32]> = info.location.iter().map(|l| l.path.as_slice()).collect();
    let mut wanted: Vec<(Vec<i32>, String)> = Vec::new();
    fn message(path: Vec<i32>, m: &DescriptorProto, wanted: &mut Vec<(Vec<i32>, String)>) {
        let at = |tag: i32, i: usize| [path.as_slice(), &[tag, i as i32]].concat();
        for (i, field) in m.field.iter().enumerate() {
            wanted.push((at(2, i), format!("field {}.{}", m.name(), field.name())));
        }
        for (i, oneof) in m.oneof_decl.iter().enumerate() {
            let synthetic = m.field.iter().any(|f| f.oneof_index == Some(i as i32) && f.proto3_optional());
            if !synthetic {
                wanted.push((at(8, i), format!("oneof {}.{}", m.name(), oneof.name())));
            }
        }
        for (i, nested) in m.nested_type.iter().enumerate() {
            if !nested.options.as_ref().is_some_and(|o| o.map_entry()) {
                message(at(3, i), nested, wanted);
            }
        }
        for (i, e) in m.enum_type.iter().enumerate() {
            enumeration(at(4, i), e, wanted);
        }
        wanted.push((path, format!("message {}", m.name())));
    }
    fn enumeration(path: Vec<i32>, e: &EnumDescriptorProto, wanted: &mut Vec<(Vec<i32>, String)>) {
        for (i, value) in e.value.iter().enumerate() {
            wanted.push((
                [path.as_slice(), &[2, i as i32]].concat(),
                format!("enum value {}.{}", e.name(), value.name()),
            ));
        }
        wanted.push((path, format!("enum {}", e.name())));
    }
    for (i, m) in file.message_type.iter().enumerate() {
        message(vec![4, i as i32], m, &mut wanted);
    }
    for (i, e) in file.enum_type.iter().enumerate() {
        enumeration(vec![5, i as i32], e, &mut wanted);
    }
    for (i, service) in file.service.iter().enumerate() {
        for (j, method) in service.method.iter().enumerate() {
            wanted.push((vec![6, i as i32, 2, j as i32], format!("method {}.{}", service.name(), method.name())));
        }
        wanted.push((vec![6, i as i32], format!("service {}", service.name())));
    }
    if let Some((path, element)) = wanted.into_iter().find(|(path, _)| !paths.contains(path.as_slice())) {
        check.error(element, format!("source_code_info has no location for path {path:?}; protoc always sends one"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for good in ["a", "_", "__", "A_1", "type", "Self"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in ["", "1a", "a-b", "a.b", "🦀", "a b", "é"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
