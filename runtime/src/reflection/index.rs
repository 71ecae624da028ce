//! What reflection answers from: every file of every service's descriptor set, by name, and
//! every symbol and extension those files define.
//!
//! A file is kept as the bytes its set carried (a slice of the generated `&'static` set, never
//! re-encoded, so options prost-types does not model survive), next to its decoded
//! `FileDescriptorProto`, which is read only for names.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use bytes::Bytes;
use prost::Message;
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto};

/// A `FileDescriptorSet` with each file left encoded (`repeated FileDescriptorProto file = 1`,
/// read as bytes: decoding from a `Bytes` makes each one a slice of the set, not a copy).
#[derive(Clone, PartialEq, Message)]
struct EncodedFileSet {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    file: Vec<Bytes>,
}

/// One file of the index.
#[derive(Debug)]
struct File {
    /// The file as its descriptor set encoded it.
    encoded: Bytes,
    /// The names of the files it imports.
    dependencies: Vec<String>,
}

/// The files, symbols and extensions of a server's services, and the services' names.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Every service of the server, sorted, with or without descriptors.
    services: Vec<String>,
    /// File name -> file.
    files: HashMap<String, File>,
    /// Fully qualified symbol (no leading dot) -> the name of the file that defines it.
    symbols: HashMap<String, String>,
    /// Fully qualified message names.
    messages: HashSet<String>,
    /// (extended message, field number) -> the name of the file that defines the extension.
    extensions: HashMap<(String, i32), String>,
    /// Extended message -> its extension numbers.
    extension_numbers: HashMap<String, BTreeSet<i32>>,
}

impl Index {
    /// The index of `services`: each one's name and encoded `FileDescriptorSet`, if it has one.
    /// A file in several sets is indexed once; a set that does not decode adds no files (its
    /// service is still listed).
    pub(crate) fn build(services: &[(String, Option<&'static [u8]>)]) -> Index {
        let mut index = Index::default();
        let mut names: Vec<String> = services.iter().map(|(name, _)| name.clone()).collect();
        names.sort();
        names.dedup();
        index.services = names;
        for set in services.iter().filter_map(|(_, set)| *set) {
            let Ok(set) = EncodedFileSet::decode(Bytes::from_static(set)) else { continue };
            for encoded in set.file {
                let Ok(file) = FileDescriptorProto::decode(encoded.clone()) else { continue };
                index.add_file(encoded, file);
            }
        }
        index
    }

    fn add_file(&mut self, encoded: Bytes, file: FileDescriptorProto) {
        let name = file.name().to_owned();
        if self.files.contains_key(&name) {
            return;
        }
        let package = file.package();
        for service in &file.service {
            let service_name = qualify(package, service.name());
            for method in &service.method {
                self.symbol(qualify(&service_name, method.name()), &name);
            }
            self.symbol(service_name, &name);
        }
        for message in &file.message_type {
            self.message(package, message, &name);
        }
        for enumeration in &file.enum_type {
            self.enumeration(package, enumeration, &name);
        }
        for extension in &file.extension {
            self.extension(package, extension, &name);
        }
        self.files.insert(name, File { encoded, dependencies: file.dependency });
    }

    fn symbol(&mut self, symbol: String, file: &str) {
        self.symbols.entry(symbol).or_insert_with(|| file.to_owned());
    }

    fn message(&mut self, scope: &str, message: &DescriptorProto, file: &str) {
        let name = qualify(scope, message.name());
        for field in &message.field {
            self.symbol(qualify(&name, field.name()), file);
        }
        for nested in &message.nested_type {
            self.message(&name, nested, file);
        }
        for enumeration in &message.enum_type {
            self.enumeration(&name, enumeration, file);
        }
        for extension in &message.extension {
            self.extension(&name, extension, file);
        }
        self.messages.insert(name.clone());
        self.symbol(name, file);
    }

    fn enumeration(&mut self, scope: &str, enumeration: &EnumDescriptorProto, file: &str) {
        // Enum values are scoped as siblings of their enum, as in C++.
        for value in &enumeration.value {
            self.symbol(qualify(scope, value.name()), file);
        }
        self.symbol(qualify(scope, enumeration.name()), file);
    }

    fn extension(&mut self, scope: &str, extension: &FieldDescriptorProto, file: &str) {
        self.symbol(qualify(scope, extension.name()), file);
        let extended = extension.extendee().trim_start_matches('.').to_owned();
        self.extension_numbers.entry(extended.clone()).or_default().insert(extension.number());
        self.extensions.entry((extended, extension.number())).or_insert_with(|| file.to_owned());
    }

    /// Every service of the server, sorted.
    pub(crate) fn services(&self) -> &[String] {
        &self.services
    }

    /// The name of the file that defines `symbol` (fully qualified, an optional leading dot).
    pub(crate) fn file_of_symbol(&self, symbol: &str) -> Option<&str> {
        self.symbols.get(symbol.strip_prefix('.').unwrap_or(symbol)).map(String::as_str)
    }

    /// The name of the file that defines extension `number` of message `extended`.
    pub(crate) fn file_of_extension(&self, extended: &str, number: i32) -> Option<&str> {
        let extended = extended.strip_prefix('.').unwrap_or(extended);
        self.extensions.get(&(extended.to_owned(), number)).map(String::as_str)
    }

    /// The extension numbers of message `name`, sorted; `None` if no such message is known.
    pub(crate) fn extension_numbers(&self, name: &str) -> Option<Vec<i32>> {
        let name = name.strip_prefix('.').unwrap_or(name);
        if !self.messages.contains(name) {
            return None;
        }
        Some(self.extension_numbers.get(name).map(|n| n.iter().copied().collect()).unwrap_or_default())
    }

    /// The encoded file `name` and the files it imports, directly or not, leaving out those in
    /// `sent` (but never `name` itself), and adding every file returned to `sent`. `None` if no
    /// file `name` is known. Imports the index does not hold are skipped.
    pub(crate) fn file_with_dependencies(&self, name: &str, sent: &mut HashSet<String>) -> Option<Vec<Bytes>> {
        let file = self.files.get(name)?;
        let mut out = vec![file.encoded.clone()];
        sent.insert(name.to_owned());
        let mut seen: HashSet<&str> = HashSet::from([name]);
        let mut queue: VecDeque<&str> = file.dependencies.iter().map(String::as_str).collect();
        while let Some(next) = queue.pop_front() {
            if !seen.insert(next) {
                continue;
            }
            let Some(file) = self.files.get(next) else { continue };
            if sent.insert(next.to_owned()) {
                out.push(file.encoded.clone());
            }
            queue.extend(file.dependencies.iter().map(String::as_str));
        }
        Some(out)
    }
}

/// `name` in `scope` (a package or an enclosing message), with no leading dot.
fn qualify(scope: &str, name: &str) -> String {
    if scope.is_empty() { name.to_owned() } else { format!("{scope}.{name}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::{EnumValueDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto};

    fn leak(set: &FileDescriptorSet) -> &'static [u8] {
        Box::leak(set.encode_to_vec().into_boxed_slice())
    }

    fn message(name: &str) -> DescriptorProto {
        DescriptorProto { name: Some(name.into()), ..Default::default() }
    }

    fn extension(name: &str, extendee: &str, number: i32) -> FieldDescriptorProto {
        FieldDescriptorProto {
            name: Some(name.into()),
            extendee: Some(extendee.into()),
            number: Some(number),
            ..Default::default()
        }
    }

    /// `base.proto` (package `base`: message `Base` with a nested message and enum, a top-level
    /// enum); `svc.proto` (package `svc`, imports `base.proto`: a service, an extension of
    /// `base.Base` at 100 and one nested in `svc.Holder` at 101).
    fn sets() -> (&'static [u8], &'static [u8]) {
        let mut base_message = message("Base");
        base_message.nested_type.push(message("Inner"));
        base_message.enum_type.push(EnumDescriptorProto { name: Some("Kind".into()), ..Default::default() });
        base_message.extension_range.push(prost_types::descriptor_proto::ExtensionRange {
            start: Some(100),
            end: Some(200),
            ..Default::default()
        });
        let base = FileDescriptorProto {
            name: Some("base.proto".into()),
            package: Some("base".into()),
            message_type: vec![base_message],
            enum_type: vec![EnumDescriptorProto {
                name: Some("Color".into()),
                value: vec![EnumValueDescriptorProto {
                    name: Some("RED".into()),
                    number: Some(0),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut holder = message("Holder");
        holder.extension.push(extension("nested_ext", ".base.Base", 101));
        let svc = FileDescriptorProto {
            name: Some("svc.proto".into()),
            package: Some("svc".into()),
            dependency: vec!["base.proto".into(), "missing.proto".into()],
            message_type: vec![holder],
            extension: vec![extension("top_ext", ".base.Base", 100)],
            service: vec![ServiceDescriptorProto {
                name: Some("Svc".into()),
                method: vec![MethodDescriptorProto { name: Some("Call".into()), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        (leak(&FileDescriptorSet { file: vec![base.clone(), svc] }), leak(&FileDescriptorSet { file: vec![base] }))
    }

    fn index() -> Index {
        let (svc, base) = sets();
        Index::build(&[
            ("svc.Svc".into(), Some(svc)),
            ("other.Other".into(), Some(base)),
            ("hand.Made".into(), None),
            ("bad.Set".into(), Some(b"\xff\xff")),
        ])
    }

    #[test]
    fn every_service_is_listed_sorted_with_or_without_descriptors() {
        assert_eq!(index().services(), ["bad.Set", "hand.Made", "other.Other", "svc.Svc"]);
    }

    #[test]
    fn symbols_of_every_kind_find_their_file() {
        let index = index();
        for (symbol, file) in [
            ("svc.Svc", "svc.proto"),
            ("svc.Svc.Call", "svc.proto"),
            (".svc.Svc", "svc.proto"),
            ("base.Base", "base.proto"),
            ("base.Base.Inner", "base.proto"),
            ("base.Base.Kind", "base.proto"),
            ("base.Color", "base.proto"),
            ("base.RED", "base.proto"),
            ("svc.top_ext", "svc.proto"),
            ("svc.Holder.nested_ext", "svc.proto"),
        ] {
            assert_eq!(index.file_of_symbol(symbol), Some(file), "{symbol}");
        }
        assert_eq!(index.file_of_symbol("hand.Made"), None);
        assert_eq!(index.file_of_symbol("base"), None);
    }

    #[test]
    fn extensions_are_found_by_type_and_number() {
        let index = index();
        assert_eq!(index.file_of_extension("base.Base", 100), Some("svc.proto"));
        assert_eq!(index.file_of_extension(".base.Base", 101), Some("svc.proto"));
        assert_eq!(index.file_of_extension("base.Base", 102), None);
        assert_eq!(index.extension_numbers("base.Base"), Some(vec![100, 101]));
        assert_eq!(index.extension_numbers("svc.Holder"), Some(vec![]));
        assert_eq!(index.extension_numbers("svc.Nope"), None);
    }

    #[test]
    fn a_file_comes_with_its_imports_and_nothing_twice_per_stream() {
        let index = index();
        let (set, _) = sets();
        let originals = EncodedFileSet::decode(set).expect("the test set decodes").file;
        let mut sent = HashSet::new();
        let first = index.file_with_dependencies("svc.proto", &mut sent).expect("svc.proto is known");
        assert_eq!(first, [originals[1].clone(), originals[0].clone()]);
        // base.proto was sent with svc.proto: asked for itself, it still comes.
        let again = index.file_with_dependencies("base.proto", &mut sent).expect("base.proto is known");
        assert_eq!(again, [originals[0].clone()]);
        let again = index.file_with_dependencies("svc.proto", &mut sent).expect("svc.proto is known");
        assert_eq!(again, [originals[1].clone()]);
        assert!(index.file_with_dependencies("missing.proto", &mut sent).is_none());
    }

    #[test]
    fn files_keep_bytes_prost_types_would_drop() {
        // A file with an unknown field (number 999, a custom-option-like payload).
        let mut encoded = FileDescriptorProto { name: Some("odd.proto".into()), ..Default::default() }.encode_to_vec();
        encoded.extend_from_slice(b"\xba\x3e\x03abc");
        let mut set = Vec::new();
        set.push(0x0a);
        set.push(u8::try_from(encoded.len()).expect("a short file"));
        set.extend_from_slice(&encoded);
        let set: &'static [u8] = Box::leak(set.into_boxed_slice());
        let index = Index::build(&[("odd.Svc".into(), Some(set))]);
        let files = index.file_with_dependencies("odd.proto", &mut HashSet::new()).expect("odd.proto is known");
        assert_eq!(files, [Bytes::from(encoded)]);
    }
}
