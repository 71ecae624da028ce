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
use crate::{Error, Options};

/// Generates code for `to_generate` (file names), given every file they import in `all`.
pub fn generate(all: &[FileDescriptorProto], to_generate: &[String], options: &Options) -> Result<Files, Error> {
    let by_name: HashMap<&str, &FileDescriptorProto> = all.iter().map(|f| (f.name(), f)).collect();
    let mut selected = Vec::new();
    for name in to_generate {
        let file = by_name.get(name.as_str()).ok_or_else(|| Error::MissingFile(name.clone()))?;
        selected.push((*file).clone());
    }
    check_options(options)?;
    crate::validate::check(all)?;
    let ctx = Ctx::new(options)?;

    // Type names per package, so generated service items can steer clear of them.
    let mut taken: HashMap<String, BTreeSet<String>> = HashMap::new();
    for file in all {
        let names = taken.entry(file.package().to_owned()).or_default();
        names.extend(file.message_type.iter().map(|m| to_upper_camel(m.name())));
        names.extend(file.enum_type.iter().map(|e| to_upper_camel(e.name())));
    }
    let state = Rc::new(RefCell::new(ServiceState { taken, errors: Vec::new() }));
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
    let errors = std::mem::take(&mut state.borrow_mut().errors);
    if !errors.is_empty() {
        return Err(if errors.len() == 1 {
            errors.into_iter().next().expect("one error")
        } else {
            Error::Many(errors)
        });
    }

    let sources: Vec<(String, String)> =
        generated.into_iter().filter_map(|(module, code)| Some((wanted.get(&module)?.to_string(), code))).collect();
    let formatted = crate::format::format_all(&sources)?;
    let mut descriptors = Descriptors::new(all);
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
    crate::layout::arrange(files, &packages, options)
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
        let model = Service::from_prost(&service, state.taken.entry(service.package.clone()).or_default());
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
