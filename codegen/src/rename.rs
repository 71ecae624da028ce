//! The renaming pass: a private copy of the descriptors in which every name prost-build or the
//! module tree would turn into colliding or invalid Rust is changed, before prost-build sees it.
//!
//! Only the copy handed to prost-build changes. Field numbers, wire names, JSON names, method
//! paths and the embedded `FILE_DESCRIPTOR_SET` come from the originals, so nothing a peer sees
//! differs. Each rename is reported as a [`Warning`] naming the `.proto` line.
//!
//! What is renamed, first come first served (declaration order; for packages, the one already
//! in snake case first):
//! - package parts whose Rust modules would be the same (`foo.Bar` and `foo.bar`: `foo.bar_2`),
//!   and user packages under `google.protobuf` that are not the well-known types (prost-build
//!   maps all of `google.protobuf` to prost-types): `google.protobuf_user`;
//! - messages and enums whose Rust names collide in one Rust module (`HTTPRequest` and
//!   `HttpRequest`, a nested message and enum, nested types and the types of a sub-package
//!   that share the module, a struct `_2fa` and its module `_2fa`, names of underscores only);
//! - fields and oneofs whose Rust field names or accessor methods collide (`fooBar` and
//!   `foo_bar`, `self` and `self_`, field `kindName` and oneof `kind_name`, `mode` and
//!   `set_mode` for enum fields), oneof enums whose names are taken, oneof variants and enum
//!   variants that collide after case conversion and prefix stripping.
//!
//! Types prost-build does not generate (the well-known types, `extern_path`s) keep their names:
//! when two of them would be the same Rust type, that is an [`Error::Inexpressible`].

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

use crate::ident::prost;
use crate::{Error, Warning};

/// The package user types under `google.protobuf` move to.
const USER_PROTOBUF: &str = "google.protobuf_user";

/// The well-known types' files, which map to prost-types.
const WELL_KNOWN: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",
    "google/protobuf/compiler/plugin.proto",
];

/// A file of the well-known types: not generated, its types are prost-types'.
pub(crate) fn is_well_known(file: &FileDescriptorProto) -> bool {
    let package = file.package();
    (package == "google.protobuf" || package.starts_with("google.protobuf.")) && WELL_KNOWN.contains(&file.name())
}

/// The copy prost-build gets, and what was changed in it.
pub(crate) struct Renamed {
    pub(crate) files: Vec<FileDescriptorProto>,
    pub(crate) warnings: Vec<Warning>,
    /// Renamed package -> the original, for wire names.
    pub(crate) packages: HashMap<String, String>,
    /// Enum values renamed: (Rust variant, name prost-build sees, original name), in declaration
    /// order, so `as_str_name` / `from_str_name` can be given the original names back.
    pub(crate) enum_values: Vec<(String, String, String)>,
    /// Where every element is, for warnings about it.
    pub(crate) locations: Locations,
}

/// Every element's `file:line:column`, by file name and source path, indexed once.
pub(crate) struct Locations {
    by_file: HashMap<String, HashMap<Vec<i32>, (i32, i32)>>,
}

impl Locations {
    pub(crate) fn new(all: &[FileDescriptorProto]) -> Locations {
        let by_file = all
            .iter()
            .map(|file| {
                let spans = file.source_code_info.iter().flat_map(|info| &info.location).filter_map(|l| {
                    let (line, column) = (*l.span.first()?, *l.span.get(1)?);
                    Some((l.path.clone(), (line, column)))
                });
                (file.name().to_owned(), spans.collect())
            })
            .collect();
        Locations { by_file }
    }

    /// `file:line:column` of the element at `path` of `file`, else the file name.
    pub(crate) fn at(&self, file: &str, path: &[i32]) -> String {
        match self.by_file.get(file).and_then(|spans| spans.get(path)) {
            Some((line, column)) => format!("{file}:{}:{}", line + 1, column + 1),
            None => file.to_owned(),
        }
    }
}

/// One Rust module's type namespace: types (structs, enums, oneof enums) and modules, each
/// with what took it.
#[derive(Default)]
struct Namespace {
    types: HashMap<String, String>,
    modules: HashSet<String>,
}

impl Namespace {
    fn free(&self, rust: &str, module: Option<&str>) -> bool {
        !self.types.contains_key(rust)
            && !self.modules.contains(rust)
            && module.is_none_or(|m| !self.types.contains_key(m) && m != rust)
    }

    fn holder(&self, rust: &str, module: Option<&str>) -> String {
        self.types
            .get(rust)
            .or_else(|| module.and_then(|m| self.types.get(m)))
            .cloned()
            .unwrap_or_else(|| format!("a module named `{}`", module.unwrap_or(rust)))
    }
}

/// The message at `indexes` (top-level index, then nested indexes) of `file`.
fn message_at<'a>(file: &'a mut FileDescriptorProto, indexes: &[usize]) -> &'a mut DescriptorProto {
    let mut message = &mut file.message_type[indexes[0]];
    for &i in &indexes[1..] {
        message = &mut message.nested_type[i];
    }
    message
}

fn source_path(indexes: &[usize]) -> Vec<i32> {
    let mut path = vec![4, indexes[0] as i32];
    for &i in &indexes[1..] {
        path.extend([3, i as i32]);
    }
    path
}

fn is_map_entry(message: &DescriptorProto) -> bool {
    message.options.as_ref().is_some_and(|o| o.map_entry())
}

/// prost-build writes `mod snake(message)` for these.
fn has_module(message: &DescriptorProto) -> bool {
    !message.enum_type.is_empty()
        || message.nested_type.iter().any(|n| !is_map_entry(n))
        || message.oneof_decl.iter().enumerate().any(|(i, _)| real_oneof(message, i))
}

/// A oneof prost-build generates (not the synthetic one of a proto3 `optional`).
fn real_oneof(message: &DescriptorProto, index: usize) -> bool {
    message.field.iter().any(|f| f.oneof_index == Some(index as i32) && !f.proto3_optional())
}

/// Candidate names after `base`: `base`, then `base{sep}2`, `base{sep}3`, ...
fn candidates(base: String, sep: &'static str) -> impl Iterator<Item = String> {
    std::iter::once(base.clone()).chain((2..).map(move |n| format!("{base}{sep}{n}")))
}

/// A base for renaming a type whose Rust name is `rust`: empty names (`_`) become
/// `Underscore`, names starting with a digit get the kind in front (`Message2fa`).
fn type_base(rust: &str, kind: &str) -> String {
    let trimmed = rust.trim_start_matches('_').trim_end_matches('_');
    if trimmed.is_empty() {
        "Underscore".to_owned()
    } else if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{}{trimmed}", prost::camel(kind))
    } else {
        trimmed.to_owned()
    }
}

/// The same for field-like names, in snake case.
fn field_base(rust: &str) -> String {
    let bare = rust.strip_prefix("r#").unwrap_or(rust).trim_end_matches('_');
    if bare.trim_start_matches('_').is_empty() { "underscore".to_owned() } else { bare.to_owned() }
}

struct Pass {
    locations: Locations,
    namespaces: HashMap<Vec<String>, Namespace>,
    /// Original fully qualified type name -> the one prost-build sees.
    types: HashMap<String, String>,
    /// (new enum fq name, original value name) -> new value name.
    values: HashMap<(String, String), String>,
    warnings: Vec<Warning>,
    enum_values: Vec<(String, String, String)>,
}

/// A type to name: where it is and what it is called before and after.
struct TypeSlot<'a> {
    module: &'a [String],
    kind: &'static str,
    old_fq: &'a str,
    location: String,
}

impl Pass {
    fn warn(&mut self, location: String, message: String) {
        self.warnings.push(Warning { location, message });
    }

    /// Decides the name of a message or enum (`has_module`: prost-build also writes its nested
    /// module), marks it taken and returns the proto name prost-build will see.
    fn name_type(&mut self, slot: TypeSlot<'_>, name: &str, has_module: bool) -> String {
        let ns = self.namespaces.entry(slot.module.to_vec()).or_default();
        let fits = |ns: &Namespace, candidate: &str| {
            let rust = prost::camel(candidate);
            let module = has_module.then(|| prost::snake(candidate));
            !rust.is_empty() && module.as_deref() != Some("") && ns.free(&rust, module.as_deref())
        };
        let chosen = if fits(ns, name) {
            name.to_owned()
        } else {
            let base = type_base(&prost::camel(name), slot.kind);
            candidates(base, "").find(|c| fits(ns, c)).unwrap_or_else(|| name.to_owned())
        };
        let rust = prost::camel(&chosen);
        let module = has_module.then(|| prost::snake(&chosen));
        if chosen != name {
            let old_rust = prost::camel(name);
            let reason = if old_rust.is_empty() {
                "a name of underscores only is no Rust identifier".to_owned()
            } else if has_module && prost::snake(name) == old_rust {
                format!("the module of its nested types would be named `{old_rust}` too")
            } else {
                format!(
                    "`{old_rust}` is taken by {}",
                    ns.holder(&old_rust, has_module.then(|| prost::snake(name)).as_deref())
                )
            };
            let what = format!("{} {}", slot.kind, slot.old_fq.trim_start_matches('.'));
            self.warnings.push(Warning {
                location: slot.location.clone(),
                message: format!("{what} is generated as `{rust}` ({reason}); its wire name is unchanged"),
            });
        }
        let ns = self.namespaces.entry(slot.module.to_vec()).or_default();
        ns.types.insert(rust, format!("{} {} ({})", slot.kind, slot.old_fq.trim_start_matches('.'), slot.location));
        if let Some(module) = module {
            ns.modules.insert(module);
        }
        chosen
    }

    /// Fields, oneofs, oneof variants and nested enums' values of one message, whose nested
    /// module is `module`.
    /// module is `module`. `old_fq` names the message in warnings, `new_fq` is its name in the
    /// copy.
    fn members(&mut self, file: &mut FileDescriptorProto, indexes: &[usize], fq: (&str, &str), module: &[String]) {
        let proto3 = file.syntax() == "proto3";
        let (old_fq, new_fq) = fq;
        let shown = old_fq.trim_start_matches('.');
        let path = source_path(indexes);
        let file_name = file.name().to_owned();
        let message = message_at(file, indexes);
        let mut struct_fields: HashMap<String, String> = HashMap::new();
        let mut methods: HashMap<String, String> = HashMap::new();
        // Plain fields (and proto3 `optional` ones), in order.
        for i in 0..message.field.len() {
            let field = &message.field[i];
            if field.oneof_index.is_some() && !field.proto3_optional() {
                continue;
            }
            let enumeration = field.r#type() == Type::Enum;
            let repeated = field.label() == Label::Repeated;
            let scalar = !matches!(field.r#type(), Type::Message | Type::Group);
            let optional = scalar && !repeated && (field.proto3_optional() || !proto3);
            let fits = |name: &str| {
                let rust = prost::snake(name);
                let bare = rust.strip_prefix("r#").unwrap_or(&rust).to_owned();
                !rust.is_empty()
                    && !struct_fields.contains_key(&bare)
                    && prost::accessors(name, optional, enumeration, repeated)
                        .iter()
                        .all(|m| !methods.contains_key(m.strip_prefix("r#").unwrap_or(m)))
            };
            let name = field.name().to_owned();
            let chosen = if fits(&name) {
                name.clone()
            } else {
                candidates(field_base(&prost::snake(&name)), "_")
                    .find(|c| c != &name && fits(c))
                    .unwrap_or_else(|| name.clone())
            };
            let at = self.locations.at(&file_name, &[path.as_slice(), &[2, i as i32]].concat());
            let rust = prost::snake(&chosen);
            if chosen != name {
                let old = prost::snake(&name);
                let old_bare = old.strip_prefix("r#").unwrap_or(&old).to_owned();
                let holder = struct_fields
                    .get(&old_bare)
                    .or_else(|| {
                        prost::accessors(&name, optional, enumeration, repeated)
                            .iter()
                            .find_map(|m| methods.get(m.strip_prefix("r#").unwrap_or(m)))
                    })
                    .cloned();
                let reason = match holder {
                    Some(holder) => format!("`{old}` or its accessors are taken by {holder}"),
                    None => "a name of underscores only is no Rust identifier".to_owned(),
                };
                self.warnings.push(Warning {
                    location: at.clone(),
                    message: format!(
                        "field {shown}.{name} is generated as `{rust}` ({reason}); its number, name and JSON name on \
                         the wire are unchanged"
                    ),
                });
                message.field[i].name = Some(chosen.clone());
            }
            let who = format!("field {name} ({at})");
            struct_fields.insert(rust.strip_prefix("r#").unwrap_or(&rust).to_owned(), who.clone());
            for m in prost::accessors(&chosen, optional, enumeration, repeated) {
                methods.insert(m.strip_prefix("r#").unwrap_or(&m).to_owned(), format!("the accessor `{m}` of {who}"));
            }
        }
        // Oneofs: a struct field and an enum in the message's module.
        let nested: Vec<String> = message
            .nested_type
            .iter()
            .map(|n| n.name().to_owned())
            .chain(message.enum_type.iter().map(|e| e.name().to_owned()))
            .collect();
        for i in 0..message.oneof_decl.len() {
            if !real_oneof(message, i) {
                continue;
            }
            let name = message.oneof_decl[i].name().to_owned();
            let nested_refs: Vec<&str> = nested.iter().map(String::as_str).collect();
            let ns = self.namespaces.entry(module.to_vec()).or_default();
            let fits = |candidate: &str| {
                let rust = prost::snake(candidate);
                let ty = prost::oneof_type(candidate, &nested_refs);
                !rust.is_empty()
                    && !struct_fields.contains_key(rust.strip_prefix("r#").unwrap_or(&rust))
                    && ns.free(&ty, None)
            };
            let chosen = if fits(&name) {
                name.clone()
            } else {
                candidates(field_base(&prost::snake(&name)), "_")
                    .find(|c| c != &name && fits(c))
                    .unwrap_or_else(|| name.clone())
            };
            let at = self.locations.at(&file_name, &[path.as_slice(), &[8, i as i32]].concat());
            let rust = prost::snake(&chosen);
            let ty = prost::oneof_type(&chosen, &nested_refs);
            if chosen != name {
                let old = prost::snake(&name);
                let old_ty = prost::oneof_type(&name, &nested_refs);
                let reason = match struct_fields.get(old.strip_prefix("r#").unwrap_or(&old)) {
                    Some(holder) => format!("`{old}` is taken by {holder}"),
                    None if !old.is_empty() => format!("its enum `{old_ty}` is taken by {}", ns.holder(&old_ty, None)),
                    None => "a name of underscores only is no Rust identifier".to_owned(),
                };
                self.warnings.push(Warning {
                    location: at.clone(),
                    message: format!("oneof {shown}.{name} is generated as field `{rust}` and enum `{ty}` ({reason})"),
                });
                message.oneof_decl[i].name = Some(chosen.clone());
            }
            ns.types.insert(ty, format!("oneof {shown}.{name} ({at})"));
            struct_fields.insert(rust.strip_prefix("r#").unwrap_or(&rust).to_owned(), format!("oneof {name} ({at})"));
            // Its variants.
            let mut variants: HashMap<String, String> = HashMap::new();
            for (j, field) in message.field.iter_mut().enumerate() {
                if field.oneof_index != Some(i as i32) || field.proto3_optional() {
                    continue;
                }
                let name = field.name().to_owned();
                let fits = |c: &str| {
                    let v = prost::camel(c);
                    !v.is_empty() && !variants.contains_key(&v)
                };
                let at = self.locations.at(&file_name, &[path.as_slice(), &[2, j as i32]].concat());
                let chosen = if fits(&name) {
                    name.clone()
                } else {
                    candidates(field_base(&prost::snake(&name)), "_")
                        .find(|c| c != &name && fits(c))
                        .unwrap_or_else(|| name.clone())
                };
                let variant = prost::camel(&chosen);
                if chosen != name {
                    let old = prost::camel(&name);
                    let reason = match variants.get(&old) {
                        Some(holder) => format!("`{old}` is taken by {holder}"),
                        None => "a name of underscores only is no Rust identifier".to_owned(),
                    };
                    self.warnings.push(Warning {
                        location: at.clone(),
                        message: format!(
                            "field {shown}.{name} is generated as variant `{variant}` of its oneof's enum ({reason}); \
                             its number, name and JSON name on the wire are unchanged"
                        ),
                    });
                    field.name = Some(chosen);
                }
                variants.insert(variant, format!("field {name} ({at})"));
            }
        }
        for (j, enumeration) in message.enum_type.iter_mut().enumerate() {
            let enum_path = [path.as_slice(), &[4, j as i32]].concat();
            let fq = format!("{new_fq}.{}", enumeration.name());
            self.values(&file_name, enumeration, &enum_path, &fq);
        }
    }

    /// Enum variants: prost-build's names must be unique (it panics otherwise).
    fn values(&mut self, file: &str, enumeration: &mut EnumDescriptorProto, path: &[i32], fq: &str) {
        let rust_enum = prost::camel(enumeration.name());
        let mut numbers = HashSet::new();
        let mut variants: HashMap<String, String> = HashMap::new();
        for (i, value) in enumeration.value.iter_mut().enumerate() {
            if !numbers.insert(value.number()) {
                continue; // an alias: prost-build generates no variant for it
            }
            let name = value.name().to_owned();
            let fits = |c: &str| {
                let v = prost::variant(&rust_enum, c);
                !v.is_empty() && !variants.contains_key(&v)
            };
            let at = self.locations.at(file, &[path, &[2, i as i32]].concat());
            let chosen = if fits(&name) {
                name.clone()
            } else {
                let base = type_base(&prost::variant(&rust_enum, &name), "value");
                candidates(base, "_").find(|c| fits(c)).unwrap_or_else(|| name.clone())
            };
            let variant = prost::variant(&rust_enum, &chosen);
            if chosen != name {
                let old = prost::variant(&rust_enum, &name);
                let reason = match variants.get(&old) {
                    Some(holder) => format!("`{old}` is taken by {holder}"),
                    None => "a name of underscores only is no Rust identifier".to_owned(),
                };
                self.warnings.push(Warning {
                    location: at.clone(),
                    message: format!(
                        "enum value {}.{name} is generated as variant `{variant}` ({reason}); its number and \
                         `as_str_name` are unchanged",
                        fq.trim_start_matches('.')
                    ),
                });
                self.values.insert((fq.to_owned(), name.clone()), chosen.clone());
                self.enum_values.push((variant.clone(), chosen.clone(), name.clone()));
                value.name = Some(chosen);
            }
            variants.insert(variant, format!("value {name} ({at})"));
        }
    }
}

/// A message whose nested types and members are still to be named: (file index, message
/// indexes, original fully qualified name, new one, Rust module of its parent).
type Pending = (usize, Vec<usize>, String, String, Vec<String>);

/// Module path of a package as prost-build and the module tree write it.
fn module_of(package: &str) -> Vec<String> {
    if package.is_empty() { Vec::new() } else { package.split('.').map(prost::snake).collect() }
}

/// Is `fq` (`.pkg.Type`) mapped to existing Rust types by an `extern_path`?
fn is_extern(fq: &str, extern_paths: &[(String, String)]) -> bool {
    extern_paths.iter().any(|(proto, _)| {
        let proto = proto.trim_end_matches('.');
        fq == proto || fq.starts_with(&format!("{proto}."))
    })
}

/// Package renames: case-only differences and user packages under `google.protobuf`.
fn rename_packages(files: &mut [FileDescriptorProto], fixed: &[bool], pass: &mut Pass) -> HashMap<String, String> {
    let mut moved: HashMap<String, String> = HashMap::new(); // original -> after google.protobuf move
    let mut wanted: BTreeSet<(bool, String)> = BTreeSet::new();
    for (file, fixed) in files.iter().zip(fixed) {
        if *fixed {
            continue;
        }
        let package = file.package().to_owned();
        let first = if package == "google.protobuf" || package.starts_with("google.protobuf.") {
            format!("{USER_PROTOBUF}{}", &package["google.protobuf".len()..])
        } else {
            package.clone()
        };
        let conventional = first.split('.').all(|p| prost::snake(p) == p);
        wanted.insert((!conventional, first.clone()));
        moved.insert(package, first);
    }
    // Parent module path -> (snake part -> original part), and (parent, part) -> new part.
    let mut children: HashMap<Vec<String>, HashMap<String, String>> = HashMap::new();
    let mut parts: HashMap<(Vec<String>, String), String> = HashMap::new();
    let mut final_name: HashMap<String, String> = HashMap::new();
    for (_, package) in &wanted {
        let mut parent: Vec<String> = Vec::new();
        let mut new_parts = Vec::new();
        if !package.is_empty() {
            for part in package.split('.') {
                let key = (parent.clone(), part.to_owned());
                let new = match parts.get(&key) {
                    Some(new) => new.clone(),
                    None => {
                        let siblings = children.entry(parent.clone()).or_default();
                        let snake = prost::snake(part);
                        let new = if !snake.is_empty() && !siblings.contains_key(&snake) {
                            part.to_owned()
                        } else {
                            candidates(field_base(&snake), "_")
                                .find(|c| !siblings.contains_key(&prost::snake(c)))
                                .unwrap_or_else(|| part.to_owned())
                        };
                        siblings.insert(prost::snake(&new), part.to_owned());
                        parts.insert(key, new.clone());
                        new
                    }
                };
                parent.push(prost::snake(&new));
                new_parts.push(new);
            }
        }
        final_name.insert(package.clone(), new_parts.join("."));
    }
    let mut originals = HashMap::new();
    for (i, file) in files.iter_mut().enumerate() {
        if fixed[i] {
            continue;
        }
        let original = file.package().to_owned();
        let new = final_name[&moved[&original]].clone();
        if new != original {
            let why = if moved[&original] != original {
                "types declared in google.protobuf outside the well-known types' files would be taken for prost-types'"
                    .to_owned()
            } else if original.split('.').any(|part| prost::snake(part).is_empty()) {
                "a part of underscores only has no Rust module name".to_owned()
            } else {
                "its Rust module would be that of another package differing only in case or underscores".to_owned()
            };
            let module = module_of(&new).join("::");
            pass.warn(
                pass.locations.at(file.name(), &[2]),
                format!(
                    "package {original} is generated as package {new} (module `{module}`, file `{new}.rs`): {why}; \
                     wire names are unchanged"
                ),
            );
            file.package = Some(new.clone());
        }
        originals.insert(new, original);
    }
    originals
}

/// Makes the private copy.
pub(crate) fn rename(all: &[FileDescriptorProto], extern_paths: &[(String, String)]) -> Result<Renamed, Error> {
    let mut files = all.to_vec();
    let fixed: Vec<bool> =
        files.iter().map(|f| is_well_known(f) || is_extern(&format!(".{}", f.package()), extern_paths)).collect();
    let mut pass = Pass {
        locations: Locations::new(&[]),
        namespaces: HashMap::new(),
        types: HashMap::new(),
        values: HashMap::new(),
        warnings: Vec::new(),
        enum_values: Vec::new(),
    };
    let locations = Locations::new(all);
    check_fixed(all, &fixed, extern_paths, &locations)?;
    pass.locations = locations;
    let packages = rename_packages(&mut files, &fixed, &mut pass);
    // Sub-package modules.
    for package in packages.keys() {
        let module = module_of(package);
        for depth in 1..module.len() {
            pass.namespaces.entry(module[..depth].to_vec()).or_default().modules.insert(module[depth].clone());
        }
    }
    // Top-level types of every package first, so they keep their names in a module shared with
    // a message's nested types.
    let mut queue: VecDeque<Pending> = VecDeque::new();
    for (f, file) in files.iter_mut().enumerate() {
        if fixed[f] {
            continue;
        }
        let old_scope = if all[f].package().is_empty() { String::new() } else { format!(".{}", all[f].package()) };
        let new_scope = if file.package().is_empty() { String::new() } else { format!(".{}", file.package()) };
        let module = module_of(file.package());
        let snapshot = file.name().to_owned();
        for i in 0..file.message_type.len() {
            let message = &file.message_type[i];
            let old_fq = format!("{old_scope}.{}", message.name());
            let slot = TypeSlot {
                module: &module,
                kind: "message",
                old_fq: &old_fq,
                location: pass.locations.at(&snapshot, &[4, i as i32]),
            };
            let name = message.name().to_owned();
            let chosen = pass.name_type(slot, &name, has_module(message));
            file.message_type[i].name = Some(chosen.clone());
            let new_fq = format!("{new_scope}.{chosen}");
            pass.types.insert(old_fq.clone(), new_fq.clone());
            queue.push_back((f, vec![i], old_fq, new_fq, module.clone()));
        }
        for i in 0..file.enum_type.len() {
            let old_fq = format!("{old_scope}.{}", file.enum_type[i].name());
            let slot = TypeSlot {
                module: &module,
                kind: "enum",
                old_fq: &old_fq,
                location: pass.locations.at(&snapshot, &[5, i as i32]),
            };
            let name = file.enum_type[i].name().to_owned();
            let chosen = pass.name_type(slot, &name, false);
            file.enum_type[i].name = Some(chosen.clone());
            let new_fq = format!("{new_scope}.{chosen}");
            pass.types.insert(old_fq, new_fq.clone());
            pass.values(&snapshot, &mut file.enum_type[i], &[5, i as i32], &new_fq);
        }
    }
    // Then nested types, level by level.
    while let Some((f, indexes, old_fq, new_fq, parent_module)) = queue.pop_front() {
        let file = &mut files[f];
        let snapshot = file.name().to_owned();
        let path = source_path(&indexes);
        let message = message_at(file, &indexes);
        let mut module = parent_module.clone();
        module.push(prost::snake(message.name()));
        for i in 0..message.nested_type.len() {
            let nested = &message.nested_type[i];
            let nested_old = format!("{old_fq}.{}", nested.name());
            if is_map_entry(nested) {
                pass.types.insert(nested_old, format!("{new_fq}.{}", nested.name()));
                continue;
            }
            let at = pass.locations.at(&snapshot, &[path.as_slice(), &[3, i as i32]].concat());
            let slot = TypeSlot { module: &module, kind: "message", old_fq: &nested_old, location: at };
            let name = nested.name().to_owned();
            let chosen = pass.name_type(slot, &name, has_module(nested));
            message.nested_type[i].name = Some(chosen.clone());
            let nested_new = format!("{new_fq}.{chosen}");
            pass.types.insert(nested_old.clone(), nested_new.clone());
            let mut child = indexes.clone();
            child.push(i);
            queue.push_back((f, child, nested_old, nested_new, module.clone()));
        }
        for i in 0..message.enum_type.len() {
            let nested_old = format!("{old_fq}.{}", message.enum_type[i].name());
            let at = pass.locations.at(&snapshot, &[path.as_slice(), &[4, i as i32]].concat());
            let slot = TypeSlot { module: &module, kind: "enum", old_fq: &nested_old, location: at };
            let name = message.enum_type[i].name().to_owned();
            let chosen = pass.name_type(slot, &name, false);
            message.enum_type[i].name = Some(chosen.clone());
            pass.types.insert(nested_old, format!("{new_fq}.{chosen}"));
        }
        pass.members(file, &indexes, (&old_fq, &new_fq), &module);
    }
    // References: field types, enum defaults, method types, extendees.
    for file in &mut files {
        for message in &mut file.message_type {
            rewrite_message(message, &pass);
        }
        for field in &mut file.extension {
            rewrite_field(field, &pass);
        }
        for service in &mut file.service {
            for method in &mut service.method {
                for name in [&mut method.input_type, &mut method.output_type] {
                    if let Some(new) = name.as_ref().and_then(|n| pass.types.get(n)) {
                        *name = Some(new.clone());
                    }
                }
            }
        }
    }
    Ok(Renamed { files, warnings: pass.warnings, packages, enum_values: pass.enum_values, locations: pass.locations })
}

fn rewrite_message(message: &mut DescriptorProto, pass: &Pass) {
    for field in message.field.iter_mut().chain(message.extension.iter_mut()) {
        rewrite_field(field, pass);
    }
    for nested in &mut message.nested_type {
        rewrite_message(nested, pass);
    }
}

fn rewrite_field(field: &mut prost_types::FieldDescriptorProto, pass: &Pass) {
    for name in [&mut field.type_name, &mut field.extendee] {
        if let Some(new) = name.as_ref().and_then(|n| pass.types.get(n)) {
            *name = Some(new.clone());
        }
    }
    if field.r#type() == Type::Enum
        && let (Some(enum_fq), Some(default)) = (&field.type_name, &field.default_value)
        && let Some(new) = pass.values.get(&(enum_fq.clone(), default.clone()))
    {
        field.default_value = Some(new.clone());
    }
}

/// Types that keep their names because they are not generated (`extern_path`s) must not be two
/// names for one Rust type.
fn check_fixed(
    all: &[FileDescriptorProto],
    fixed: &[bool],
    extern_paths: &[(String, String)],
    locations: &Locations,
) -> Result<(), Error> {
    let mut seen: HashMap<String, (String, String)> = HashMap::new();
    for (file, fixed) in all.iter().zip(fixed) {
        if !*fixed || is_well_known(file) {
            continue;
        }
        let scope = format!(".{}", file.package());
        for (i, message) in file.message_type.iter().enumerate() {
            let fq = format!("{scope}.{}", message.name());
            if !is_extern(&fq, extern_paths) {
                continue;
            }
            let key = format!("{scope}::{}", prost::camel(message.name()));
            let here = locations.at(file.name(), &[4, i as i32]);
            if let Some((other, at)) = seen.insert(key, (fq.clone(), here.clone())) {
                return Err(Error::Inexpressible {
                    location: here,
                    reason: format!(
                        "message {} and {} ({at}) are both mapped by extern_path to the Rust type `{}`; \
                         types of an extern_path keep their names, so one of them cannot be used",
                        fq.trim_start_matches('.'),
                        other.trim_start_matches('.'),
                        prost::camel(message.name())
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use prost_types::{DescriptorProto, FieldDescriptorProto, SourceCodeInfo, source_code_info::Location};

    use super::*;

    fn field(name: &str, number: i32, type_name: Option<&str>) -> FieldDescriptorProto {
        FieldDescriptorProto {
            name: Some(name.into()),
            number: Some(number),
            r#type: Some(if type_name.is_some() { Type::Message } else { Type::String } as i32),
            type_name: type_name.map(Into::into),
            ..Default::default()
        }
    }

    fn message(name: &str, fields: Vec<FieldDescriptorProto>) -> DescriptorProto {
        DescriptorProto { name: Some(name.into()), field: fields, ..Default::default() }
    }

    fn file(name: &str, package: &str, messages: Vec<DescriptorProto>) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.into()),
            package: Some(package.into()),
            syntax: Some("proto3".into()),
            message_type: messages,
            ..Default::default()
        }
    }

    #[test]
    fn colliding_names_are_renamed_and_references_follow() {
        let mut a = file(
            "a.proto",
            "p",
            vec![
                message("HTTPRequest", vec![]),
                message("HttpRequest", vec![field("fooBar", 1, None), field("foo_bar", 2, None)]),
                message("User", vec![field("r", 1, Some(".p.HttpRequest"))]),
            ],
        );
        a.source_code_info = Some(SourceCodeInfo {
            location: vec![Location { path: vec![4, 1], span: vec![9, 0, 12], ..Default::default() }],
        });
        let renamed = rename(&[a], &[]).expect("renames");
        let file = &renamed.files[0];
        assert_eq!(file.message_type[1].name(), "HttpRequest2");
        assert_eq!(file.message_type[1].field[1].name(), "foo_bar_2");
        assert_eq!(file.message_type[1].field[1].number(), 2);
        assert_eq!(file.message_type[2].field[0].type_name(), ".p.HttpRequest2");
        let warnings: Vec<String> = renamed.warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings[0].starts_with("a.proto:10:1: message p.HttpRequest is generated as `HttpRequest2`"),
            "{warnings:?}"
        );
        assert!(warnings[1].starts_with("a.proto: field p.HttpRequest.foo_bar "), "no location known: {warnings:?}");
    }

    #[test]
    fn packages_differing_in_case_get_distinct_modules() {
        let files = [
            file("upper.proto", "foo.Bar", vec![message("A", vec![])]),
            file("lower.proto", "foo.bar", vec![message("B", vec![field("a", 1, Some(".foo.Bar.A"))])]),
        ];
        let renamed = rename(&files, &[]).expect("renames");
        assert_eq!(renamed.files[0].package(), "foo.bar_2", "the snake-case one keeps its name");
        assert_eq!(renamed.files[1].package(), "foo.bar");
        assert_eq!(renamed.files[1].message_type[0].field[0].type_name(), ".foo.bar_2.A");
        assert_eq!(renamed.packages["foo.bar_2"], "foo.Bar");
    }

    #[test]
    fn well_known_types_and_extern_paths_are_never_renamed() {
        let wkt = file("google/protobuf/timestamp.proto", "google.protobuf", vec![message("Timestamp", vec![])]);
        let mine = file(
            "mine.proto",
            "google.protobuf",
            vec![message("Mine", vec![field("t", 1, Some(".google.protobuf.Timestamp"))])],
        );
        let renamed = rename(&[wkt, mine], &[]).expect("renames");
        assert_eq!(renamed.files[0].package(), "google.protobuf");
        assert_eq!(renamed.files[1].package(), "google.protobuf_user");
        assert_eq!(renamed.files[1].message_type[0].field[0].type_name(), ".google.protobuf.Timestamp");

        let ext = file("ext.proto", "ext", vec![message("HTTPRequest", vec![]), message("HttpRequest", vec![])]);
        let err = rename(&[ext], &[(".ext".into(), "::ext".into())]).err().expect("inexpressible");
        assert!(matches!(err, Error::Inexpressible { .. }), "{err:?}");
    }
}
