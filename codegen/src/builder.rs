//! The build.rs front end: parse (with protox, or protoc), generate, write into `OUT_DIR`.

use std::path::{Path, PathBuf};

use crate::generate::Generated;
use crate::parse::Parsed;
use crate::{Error, Files, Options, generate};

/// Generates code for `protos` (found through `includes`) into `$OUT_DIR`, with default options.
/// Include it with `rust_rpc::include_proto!("package")`.
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     rust_rpc_codegen::compile_protos(&["protos/helloworld.proto"], &["protos"])?;
///     Ok(())
/// }
/// ```
pub fn compile_protos(protos: &[impl AsRef<Path>], includes: &[impl AsRef<Path>]) -> Result<(), Error> {
    Builder::new().compile(protos, includes)
}

/// Generator settings for `build.rs`: the same [`Options`] as the plugin's parameters.
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     rust_rpc_codegen::Builder::new()
///         .build_server(false)
///         .type_attribute(".helloworld.HelloRequest", "#[derive(Eq, Hash)]")
///         .compile(&["protos/helloworld.proto"], &["protos"])?;
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    options: Options,
    out_dir: Option<PathBuf>,
    protoc: Option<PathBuf>,
}

impl Builder {
    /// Default settings: client and server, runtime at `::rust_rpc`, output in `$OUT_DIR`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Settings from a plugin parameter string, such as `"client=false,btree_map=."`.
    pub fn from_parameter(parameter: &str) -> Result<Self, Error> {
        Ok(Builder { options: parameter.parse()?, ..Builder::default() })
    }

    /// Settings from an [`Options`] value (made with `Options::default()` and its fields),
    /// output in `$OUT_DIR`.
    pub fn from_options(options: Options) -> Self {
        Builder { options, ..Builder::default() }
    }

    /// The settings.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Generates client stubs (`client=`).
    pub fn build_client(mut self, yes: bool) -> Self {
        self.options.client = yes;
        self
    }

    /// With client stubs, also generates a blocking client per service (`blocking_client=`,
    /// default true): `GreeterBlockingClient`, for code without async.
    pub fn build_blocking_client(mut self, yes: bool) -> Self {
        self.options.blocking_client = yes;
        self
    }

    /// Generates servicer traits and registration functions (`server=`).
    pub fn build_server(mut self, yes: bool) -> Self {
        self.options.server = yes;
        self
    }

    /// The path generated code uses for the runtime crate (`runtime_crate=`).
    pub fn runtime_crate(mut self, path: impl Into<String>) -> Self {
        self.options.runtime_crate = path.into();
        self
    }

    /// Uses existing Rust types for a proto package or type (`extern_path=`).
    pub fn extern_path(mut self, proto_path: impl Into<String>, rust_path: impl Into<String>) -> Self {
        self.options.extern_paths.push((proto_path.into(), rust_path.into()));
        self
    }

    /// Adds an attribute to matching messages and enums (`type_attribute=`).
    pub fn type_attribute(mut self, proto_path: impl Into<String>, attribute: impl Into<String>) -> Self {
        self.options.type_attributes.push((proto_path.into(), attribute.into()));
        self
    }

    /// Adds an attribute to matching fields (`field_attribute=`).
    pub fn field_attribute(mut self, proto_path: impl Into<String>, attribute: impl Into<String>) -> Self {
        self.options.field_attributes.push((proto_path.into(), attribute.into()));
        self
    }

    /// Uses `BTreeMap` for matching map fields (`btree_map=`).
    pub fn btree_map(mut self, proto_path: impl Into<String>) -> Self {
        self.options.btree_maps.push(proto_path.into());
        self
    }

    /// Uses `bytes::Bytes` for matching bytes fields (`bytes=`).
    pub fn bytes(mut self, proto_path: impl Into<String>) -> Self {
        self.options.bytes.push(proto_path.into());
        self
    }

    /// Also writes `mod.rs` or `lib.rs` nesting every package as modules (`module_tree=`).
    pub fn module_tree(mut self, file_name: impl Into<String>) -> Self {
        self.options.module_tree = Some(file_name.into());
        self
    }

    /// Writes a whole crate named `name` into the output directory (`crate=`).
    pub fn generate_crate(mut self, name: impl Into<String>) -> Self {
        self.options.crate_name = Some(name.into());
        self
    }

    /// The `rust-rpc` dependency of a generated crate (`runtime_dependency=`).
    pub fn runtime_dependency(mut self, spec: impl Into<String>) -> Self {
        self.options.runtime_dependency = Some(spec.into());
        self
    }

    /// Embeds each package's `FileDescriptorSet` (`file_descriptor_set=`).
    pub fn file_descriptor_set(mut self, yes: bool) -> Self {
        self.options.file_descriptor_set = yes;
        self
    }

    /// Writes into `dir` instead of `$OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Parses the `.proto` files with the protoc at `path` instead of protox: for syntax protox
    /// does not read yet, or for builds without this crate's `protox` feature, where protoc is
    /// the only front end (`$PROTOC`, else `protoc` from `PATH`, when this is not called).
    ///
    /// ```no_run
    /// // build.rs, with rust-rpc-codegen = { version = "...", default-features = false }
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     rust_rpc_codegen::Builder::new()
    ///         .protoc("/usr/bin/protoc")
    ///         .compile(&["protos/helloworld.proto"], &["protos"])?;
    ///     Ok(())
    /// }
    /// ```
    pub fn protoc(mut self, path: impl Into<PathBuf>) -> Self {
        self.protoc = Some(path.into());
        self
    }

    /// Generates code for `protos`, returning the files (path -> contents) without writing them.
    pub fn generate(&self, protos: &[impl AsRef<Path>], includes: &[impl AsRef<Path>]) -> Result<Files, Error> {
        self.generate_with_warnings(protos, includes).map(|generated| generated.files)
    }

    /// [`Builder::generate`], also returning a [`Warning`](crate::Warning) for every name changed so that the
    /// code compiles (`file.proto:line:column: field pkg.Msg.foo_bar is generated as ...`).
    pub fn generate_with_warnings(
        &self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> Result<Generated, Error> {
        self.generate_parsed(&self.parse(protos, includes)?)
    }

    /// Parses `protos` with this builder's front end (protox, or protoc).
    fn parse(&self, protos: &[impl AsRef<Path>], includes: &[impl AsRef<Path>]) -> Result<Parsed, Error> {
        let protos: Vec<PathBuf> = protos.iter().map(|p| p.as_ref().to_path_buf()).collect();
        let includes: Vec<PathBuf> = includes.iter().map(|p| p.as_ref().to_path_buf()).collect();
        crate::parse::parse(self.protoc.as_deref(), &protos, &includes)
    }

    /// Generates code for what was parsed, with this builder's options.
    fn generate_parsed(&self, parsed: &Parsed) -> Result<Generated, Error> {
        generate::generate_with_warnings(&parsed.files, &self.to_generate(&parsed.files), &self.options)
    }

    /// The files to generate: the ones asked for and everything they import, as prost-build
    /// does, except files that map to existing Rust types (the well-known types' files and
    /// every `extern_path` package). User files declaring package `google.protobuf` are
    /// generated (as `google.protobuf_user`, see the warnings).
    fn to_generate(&self, files: &[prost_types::FileDescriptorProto]) -> Vec<String> {
        let external = |package: &str| {
            let dotted = format!(".{package}");
            self.options
                .extern_paths
                .iter()
                .any(|(proto, _)| dotted == *proto || dotted.starts_with(&format!("{}.", proto.trim_end_matches('.'))))
        };
        files
            .iter()
            .filter(|f| !crate::rename::is_well_known(f) && !external(f.package()))
            .map(|f| f.name().to_owned())
            .collect()
    }

    /// Generates code for `protos` and writes it (only files whose contents changed), printing
    /// `cargo:rerun-if-changed` for every input and `cargo:warning=` for every rename.
    ///
    /// Writes into [`Builder::out_dir`] if set, else into `$OUT_DIR`, which cargo sets for
    /// build scripts; with neither, fails with [`Error::OutDirNotSet`].
    pub fn compile(&self, protos: &[impl AsRef<Path>], includes: &[impl AsRef<Path>]) -> Result<(), Error> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or(Error::OutDirNotSet)?,
        };
        let parsed = self.parse(protos, includes)?;
        for path in &parsed.paths {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        let generated = self.generate_parsed(&parsed)?;
        for warning in &generated.warnings {
            println!("cargo:warning={warning}");
        }
        write_files(&out_dir, &generated.files)
    }
}

/// Writes generated files under `dir`, leaving unchanged files untouched (so cargo does not
/// rebuild needlessly).
pub fn write_files(dir: &Path, files: &Files) -> Result<(), Error> {
    for (name, content) in files {
        let path = dir.join(name);
        if std::fs::read(&path).is_ok_and(|old| old == content.as_bytes()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                action: "creating",
                path: parent.into(),
                source,
            })?;
        }
        std::fs::write(&path, content).map_err(|source| Error::Io { action: "writing", path: path.clone(), source })?;
    }
    Ok(())
}
