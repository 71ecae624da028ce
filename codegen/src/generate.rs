//! The pipeline both front ends share: descriptors -> prost-build (messages) with our service
//! generator (model -> tokens) -> one formatted file per package, plus the optional module tree
//! and crate files.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use prost_build::Module;
use prost_types::FileDescriptorProto;
use quote::quote;

use crate::descriptors::Descriptors;
use crate::files::{Files, file_name, header};
use crate::ident::to_upper_camel;
use crate::model::Service;
use crate::render::{self, Ctx};
use crate::{Error, Options, Warning};

/// Generates code for `to_generate` (file names), given every file they import in `all`.
///
/// Names that would not compile are renamed on a private copy of the descriptors; see
/// [`generate_with_warnings`] for the warnings that say so.
pub fn generate(all: &[FileDescriptorProto], to_generate: &[String], options: &Options) -> Result<Files, Error> {
    generate_with_warnings(all, to_generate, options).map(|generated| generated.files)
}

/// What a run made: the files, and a warning for every name changed so that they compile.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Generated {
    /// Path -> contents.
    pub files: Files,
    /// Every rename, with the `.proto` line that caused it.
    pub warnings: Vec<Warning>,
}

/// [`generate`], also returning the warnings: one per name the generator changed (a field
/// `foo_bar` beside `fooBar`, messages `HTTPRequest` and `HttpRequest`, an RPC `New`, ...), each
/// naming its `.proto` line. The wire format and the embedded descriptors are unchanged.
pub fn generate_with_warnings(
    all: &[FileDescriptorProto],
    to_generate: &[String],
    options: &Options,
) -> Result<Generated, Error> {
    let by_name: HashMap<&str, &FileDescriptorProto> = all.iter().map(|f| (f.name(), f)).collect();
    for name in to_generate {
        by_name.get(name.as_str()).ok_or_else(|| Error::MissingFile(name.clone()))?;
    }
    check_options(options)?;
    crate::validate::check(all)?;
    let ctx = Ctx::new(options)?;
    // prost-build sees a renamed copy; the originals are what gets embedded.
    let originals = all;
    let renamed = crate::rename::rename(all, &options.extern_paths)?;
    let all = renamed.files.as_slice();
    let by_name: HashMap<&str, &FileDescriptorProto> = all.iter().map(|f| (f.name(), f)).collect();
    let selected: Vec<FileDescriptorProto> =
        to_generate.iter().filter_map(|name| by_name.get(name.as_str()).map(|f| (*f).clone())).collect();

    // Type names per package, so generated service items can steer clear of them.
    let mut taken: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut locations: HashMap<(String, String), (String, Vec<String>)> = HashMap::new();
    for file in all {
        let names = taken.entry(file.package().to_owned()).or_default();
        names.extend(file.message_type.iter().map(|m| to_upper_camel(m.name())));
        names.extend(file.enum_type.iter().map(|e| to_upper_camel(e.name())));
        for (i, service) in file.service.iter().enumerate() {
            let methods = (0..service.method.len())
                .map(|j| renamed.locations.at(file.name(), &[6, i as i32, 2, j as i32]))
                .collect();
            let at = renamed.locations.at(file.name(), &[6, i as i32]);
            locations.insert((file.package().to_owned(), service.name().to_owned()), (at, methods));
        }
    }
    let state = Rc::new(RefCell::new(ServiceState {
        taken,
        errors: Vec::new(),
        warnings: Vec::new(),
        packages: renamed.packages.clone(),
        locations,
    }));
    let mut config = prost_config(options, &ctx, state.clone());

    // prost-build looks up the type of every message field among the files it is given, so it
    // gets all of them; only the packages asked for are kept. A package's other files come
    // along, which the types asked for need anyway (one file per package).
    let wanted: HashMap<Module, &str> =
        selected.iter().map(|f| (Module::from_protobuf_package_name(f.package()), f.package())).collect();
    let requests: Vec<(Module, FileDescriptorProto)> =
        all.iter().map(|f| (Module::from_protobuf_package_name(f.package()), f.clone())).collect();
    // prost-build panics on some inputs it cannot handle; turn that into an error.
    let generated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.generate(requests)))
        .map_err(|panic| {
            Error::Messages(format!("prost-build failed: {}", crate::error::panic_message(panic.as_ref())))
        })?
        .map_err(|e| Error::Messages(e.to_string()))?;
    let (errors, service_warnings) = {
        let mut state = state.borrow_mut();
        (std::mem::take(&mut state.errors), std::mem::take(&mut state.warnings))
    };
    if !errors.is_empty() {
        return Err(if errors.len() == 1 {
            errors.into_iter().next().expect("one error")
        } else {
            Error::Many(errors)
        });
    }

    let sources: Vec<(String, String)> = generated
        .into_iter()
        .filter_map(|(module, code)| {
            Some((wanted.get(&module)?.to_string(), original_value_names(code, &renamed.enum_values)))
        })
        .collect();
    let formatted = crate::format::format_all(&sources)?;
    let mut descriptors = Descriptors::new(originals);
    let mut files = Files::new();
    let mut packages = BTreeSet::new();
    for ((package, _), code) in sources.iter().zip(formatted) {
        let extras = package_extras(package, &selected, &mut descriptors, options, &ctx)?;
        files.insert(file_name(package), format!("{}{}{extras}", header(), crate::docs::clean(&code)));
        packages.insert(package.clone());
    }
    // Packages with nothing but imports still get a file, so module trees stay whole.
    for file in &selected {
        if let std::collections::btree_map::Entry::Vacant(entry) = files.entry(file_name(file.package())) {
            let extras = package_extras(file.package(), &selected, &mut descriptors, options, &ctx)?;
            entry.insert(format!("{}{extras}", header()));
            packages.insert(file.package().to_owned());
        }
    }
    let files = crate::layout::arrange(files, &packages, options)?;
    let mut warnings = renamed.warnings;
    warnings.extend(service_warnings);
    Ok(Generated { files, warnings })
}

/// prost-build writes an enum's proto value names into `as_str_name` and `from_str_name`; for
/// renamed values those are the names it saw, so the originals are put back.
fn original_value_names(mut code: String, renamed: &[(String, String, String)]) -> String {
    for (variant, seen, original) in renamed {
        code = code
            .replace(&format!("Self::{variant} => \"{seen}\","), &format!("Self::{variant} => \"{original}\","))
            .replace(
                &format!("\"{seen}\" => Some(Self::{variant})"),
                &format!("\"{original}\" => Some(Self::{variant})"),
            );
    }
    code
}

/// Refuses option values that are Rust code and do not parse, before prost-build would panic on
/// them (attributes) or write them into code that does not compile (extern paths).
fn check_options(options: &Options) -> Result<(), Error> {
    for (proto, rust) in &options.extern_paths {
        if syn::parse_str::<syn::Path>(rust).is_err() {
            return Err(Error::InvalidOption {
                option: "extern_path".to_owned(),
                reason: format!("{rust:?} (for {proto}) is not a Rust path such as ::my_crate::types"),
            });
        }
    }
    let kinds = [("type_attribute", &options.type_attributes), ("field_attribute", &options.field_attributes)];
    for (option, attributes) in kinds {
        for (path, attribute) in attributes {
            let parsed = syn::parse::Parser::parse_str(syn::Attribute::parse_outer, attribute);
            if parsed.is_err() {
                return Err(Error::InvalidOption {
                    option: option.to_owned(),
                    reason: format!("{attribute:?} (for {path}) is not a Rust attribute such as #[derive(Hash)]"),
                });
            }
        }
    }
    Ok(())
}

fn prost_config(options: &Options, ctx: &Ctx, state: Rc<RefCell<ServiceState>>) -> prost_build::Config {
    let mut config = prost_build::Config::new();
    let runtime = options.runtime_crate.trim_end_matches("::");
    // prost-build snake-cases every segment of these paths, so they must not go through
    // `__codegen` (it would become `codegen`): the runtime re-exports both at its root.
    config.prost_path(format!("{runtime}::prost"));
    config.prost_types_path(format!("{runtime}::prost_types"));
    // Generated code must pass `clippy -D warnings` in the user's crate. Two lints fire on
    // prost's output for real APIs (googleapis): proto comments are prose, not rustdoc-shaped
    // markdown, and oneofs hold messages inline by design. Allowed on generated types only.
    config.type_attribute(".", "#[allow(clippy::doc_lazy_continuation)]");
    config.enum_attribute(".", "#[allow(clippy::large_enum_variant)]");
    for (proto, rust) in &options.extern_paths {
        config.extern_path(proto, rust);
    }
    for (path, attribute) in &options.type_attributes {
        config.type_attribute(path, attribute);
    }
    for (path, attribute) in &options.field_attributes {
        config.field_attribute(path, attribute);
    }
    config.btree_map(&options.btree_maps);
    config.bytes(&options.bytes);
    config.service_generator(Box::new(ServiceGenerator { options: options.clone(), rt: ctx.rt.clone(), state }));
    config
}

struct ServiceState {
    taken: HashMap<String, BTreeSet<String>>,
    errors: Vec<Error>,
    warnings: Vec<Warning>,
    /// Renamed package -> original (wire names use the original).
    packages: HashMap<String, String>,
    /// (package, service) -> locations of the service and of its methods.
    locations: HashMap<(String, String), (String, Vec<String>)>,
}

/// prost-build's hook: called once per service, appending our code to the package's file.
struct ServiceGenerator {
    options: Options,
    rt: proc_macro2::TokenStream,
    state: Rc<RefCell<ServiceState>>,
}

impl prost_build::ServiceGenerator for ServiceGenerator {
    fn generate(&mut self, service: prost_build::Service, buf: &mut String) {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        let wire_package = state.packages.get(&service.package).cloned().unwrap_or_else(|| service.package.clone());
        let model =
            Service::from_prost(&service, &wire_package, state.taken.entry(service.package.clone()).or_default());
        if let Some((at, methods)) = state.locations.get(&(service.package.clone(), service.proto_name.clone())) {
            state.warnings.extend(model.renames(at, methods));
        }
        let ctx = Ctx { rt: self.rt.clone(), descriptors: self.options.file_descriptor_set };
        // As text: format.rs parses the whole file once, and reports code that does not parse.
        match render::service(&model, &self.options, &ctx) {
            Ok(tokens) => buf.push_str(&tokens.to_string()),
            Err(e) => state.errors.push(e),
        }
    }
}

/// What every package file ends with: the runtime version check and the descriptors.
fn package_extras(
    package: &str,
    selected: &[FileDescriptorProto],
    descriptors: &mut Descriptors<'_>,
    options: &Options,
    ctx: &Ctx,
) -> Result<String, Error> {
    let rt = &ctx.rt;
    // A compile error here means the runtime does not support this generator's output: use the
    // same release of `rust-rpc` and `rust-rpc-codegen`.
    let mut tokens = quote! {
        const _: () = #rt::RUNTIME_SUPPORTS_CODEGEN_V1;
    };
    if options.file_descriptor_set {
        let bytes = descriptors.set_for(package, selected);
        let literal = proc_macro2::Literal::byte_string(&bytes);
        let doc = format!(" The encoded `FileDescriptorSet` of package `{package}` and its imports, for reflection.");
        tokens.extend(quote! {
            #[doc = #doc]
            pub const FILE_DESCRIPTOR_SET: &[u8] = #literal;
        });
    }
    let file = syn::parse2::<syn::File>(tokens).map_err(|e| Error::InvalidOutput {
        item: format!("package {package}"),
        error: e.to_string(),
        code: String::new(),
    })?;
    Ok(format!("\n{}", prettyplease::unparse(&file)))
}
