//! The `FILE_DESCRIPTOR_SET` each package file embeds: the package's files and everything
//! they import, without source info, in dependency order, encoded.
//!
//! Imports are shared (every googleapis package imports `google/api/annotations.proto` and
//! what it imports), so each file is stripped and encoded once, and a package's set is the
//! concatenation of its files' encodings, which is exactly how a `FileDescriptorSet`
//! (`repeated FileDescriptorProto file = 1`) is encoded.

use std::collections::{BTreeSet, HashMap};

use prost::Message as _;
use prost_types::FileDescriptorProto;

/// Every file of a request, and the encodings made so far.
pub(crate) struct Descriptors<'a> {
    by_name: HashMap<&'a str, &'a FileDescriptorProto>,
    encoded: HashMap<&'a str, Vec<u8>>,
}

impl<'a> Descriptors<'a> {
    pub(crate) fn new(all: &'a [FileDescriptorProto]) -> Descriptors<'a> {
        Descriptors { by_name: all.iter().map(|f| (f.name(), f)).collect(), encoded: HashMap::new() }
    }

    /// The encoded `FileDescriptorSet` of `package`'s files among `selected` and their imports.
    pub(crate) fn set_for(&mut self, package: &str, selected: &[FileDescriptorProto]) -> Vec<u8> {
        let mut seen = BTreeSet::new();
        let mut ordered = Vec::new();
        for file in selected.iter().filter(|f| f.package() == package) {
            if let Some(file) = self.by_name.get(file.name()) {
                self.visit(file, &mut seen, &mut ordered);
            }
        }
        let mut set = Vec::new();
        for name in ordered {
            let bytes = self.encoded.entry(name).or_insert_with(|| {
                let mut file = self.by_name[name].clone();
                file.source_code_info = None;
                drop_empty_options(&mut file);
                file.encode_to_vec()
            });
            // Field 1, length-delimited: one `file` entry of the set.
            prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut set);
            prost::encoding::encode_varint(bytes.len() as u64, &mut set);
            set.extend_from_slice(bytes);
        }
        set
    }

    /// Imports first, each file once.
    fn visit(&self, file: &'a FileDescriptorProto, seen: &mut BTreeSet<&'a str>, ordered: &mut Vec<&'a str>) {
        if !seen.insert(file.name()) {
            return;
        }
        for dep in &file.dependency {
            if let Some(dep) = self.by_name.get(dep.as_str()) {
                self.visit(dep, seen, ordered);
            }
        }
        ordered.push(file.name());
    }
}

/// Removes options messages that hold nothing. protoc records an empty `options` for an
/// `rpc M(A) returns (B) {}` body and protox does not; without this the two front ends would
/// embed different descriptor bytes for the same file.
fn drop_empty_options(file: &mut FileDescriptorProto) {
    fn clear<T: Default + PartialEq>(options: &mut Option<T>) {
        if options.as_ref().is_some_and(|o| *o == T::default()) {
            *options = None;
        }
    }
    fn message(m: &mut prost_types::DescriptorProto) {
        clear(&mut m.options);
        m.field.iter_mut().chain(m.extension.iter_mut()).for_each(|f| clear(&mut f.options));
        m.oneof_decl.iter_mut().for_each(|o| clear(&mut o.options));
        m.enum_type.iter_mut().for_each(enumeration);
        m.nested_type.iter_mut().for_each(message);
    }
    fn enumeration(e: &mut prost_types::EnumDescriptorProto) {
        clear(&mut e.options);
        e.value.iter_mut().for_each(|v| clear(&mut v.options));
    }
    clear(&mut file.options);
    file.message_type.iter_mut().for_each(message);
    file.enum_type.iter_mut().for_each(enumeration);
    file.extension.iter_mut().for_each(|f| clear(&mut f.options));
    for service in &mut file.service {
        clear(&mut service.options);
        service.method.iter_mut().for_each(|m| clear(&mut m.options));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::FileDescriptorSet;

    fn file(name: &str, package: &str, deps: &[&str]) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.into()),
            package: Some(package.into()),
            dependency: deps.iter().map(|d| d.to_string()).collect(),
            source_code_info: Some(Default::default()),
            ..Default::default()
        }
    }

    #[test]
    fn a_set_is_the_packages_files_after_their_imports_without_source_info() {
        let all = vec![
            file("base.proto", "base", &[]),
            file("a.proto", "a", &["base.proto"]),
            file("b.proto", "b", &["a.proto", "base.proto"]),
        ];
        let mut descriptors = Descriptors::new(&all);
        for (package, names) in [("b", vec!["base.proto", "a.proto", "b.proto"]), ("a", vec!["base.proto", "a.proto"])]
        {
            let set = FileDescriptorSet::decode(descriptors.set_for(package, &all).as_slice()).expect("decodes");
            assert_eq!(set.file.iter().map(|f| f.name()).collect::<Vec<_>>(), names);
            assert!(set.file.iter().all(|f| f.source_code_info.is_none()));
            let whole = FileDescriptorSet { file: set.file.clone() }.encode_to_vec();
            assert_eq!(whole, descriptors.set_for(package, &all), "the same bytes as encoding the set at once");
        }
    }
}
