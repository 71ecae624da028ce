//! Generator options: one struct, spelled as plugin parameters (`--rust-rpc_opt=k=v,...`) and as
//! [`Builder`](crate::Builder) methods.

use std::str::FromStr;

use crate::Error;

/// What to generate and how. Each field is one plugin parameter (`name=value`) and one
/// [`Builder`](crate::Builder) method; the README lists them side by side.
///
/// New options may be added in any release, so the struct is `#[non_exhaustive]`: outside this
/// crate, make one with [`Options::default`] and set fields, or parse a plugin parameter
/// string, or use the [`Builder`](crate::Builder) methods.
///
/// ```
/// use rust_rpc_codegen::Options;
///
/// let mut options = Options::default();
/// options.server = false;
/// options.btree_maps.push(".".to_owned());
/// assert_eq!(options, "server=false,btree_map=.".parse::<Options>()?);
/// # Ok::<(), rust_rpc_codegen::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// `client=BOOL`: generate client stubs (default true).
    pub client: bool,
    /// `blocking_client=BOOL`: with `client`, also generate a blocking client per service
    /// (`GreeterBlockingClient`, for code without async; default true).
    pub blocking_client: bool,
    /// `server=BOOL`: generate servicer traits and registration functions (default true).
    pub server: bool,
    /// `runtime_crate=PATH`: the path generated code uses for the runtime (default `::rust_rpc`).
    pub runtime_crate: String,
    /// `extern_path=.proto.path=::rust::path`: use existing Rust types for a proto package or type.
    pub extern_paths: Vec<(String, String)>,
    /// `type_attribute=.proto.path=#[attr]`: add an attribute to matching messages and enums.
    pub type_attributes: Vec<(String, String)>,
    /// `field_attribute=.proto.path.field=#[attr]`: add an attribute to matching fields.
    pub field_attributes: Vec<(String, String)>,
    /// `btree_map=.proto.path`: use `BTreeMap` for matching map fields (`.` for all).
    pub btree_maps: Vec<String>,
    /// `bytes=.proto.path`: use `bytes::Bytes` for matching bytes fields (`.` for all).
    pub bytes: Vec<String>,
    /// `module_tree=mod.rs|lib.rs`: also write a file that nests every package as modules.
    pub module_tree: Option<String>,
    /// `crate=NAME`: write a whole crate (`Cargo.toml`, `src/lib.rs`, `src/*.rs`).
    pub crate_name: Option<String>,
    /// `runtime_dependency=SPEC`: the `rust-rpc` dependency written into a generated crate's
    /// `Cargo.toml`: a version (`"0.1"`) or `path:/abs/path/to/runtime`.
    pub runtime_dependency: Option<String>,
    /// `file_descriptor_set=BOOL`: embed each package's encoded `FileDescriptorSet` as
    /// `FILE_DESCRIPTOR_SET`, for reflection (default true).
    pub file_descriptor_set: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client: true,
            blocking_client: true,
            server: true,
            runtime_crate: "::rust_rpc".to_owned(),
            extern_paths: Vec::new(),
            type_attributes: Vec::new(),
            field_attributes: Vec::new(),
            btree_maps: Vec::new(),
            bytes: Vec::new(),
            module_tree: None,
            crate_name: None,
            runtime_dependency: None,
            file_descriptor_set: true,
        }
    }
}

/// Splits on commas that are not inside brackets or parentheses, so attribute values such as
/// `#[derive(Hash, Eq)]` stay whole.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

fn parse_bool(key: &str, value: &str) -> Result<bool, Error> {
    match value {
        "" | "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(Error::InvalidOption { option: key.to_owned(), reason: format!("want true or false, got {value:?}") }),
    }
}

fn parse_pair(key: &str, value: &str) -> Result<(String, String), Error> {
    match value.split_once('=') {
        Some((path, rest)) if !path.is_empty() && !rest.is_empty() => Ok((path.to_owned(), rest.to_owned())),
        _ => Err(Error::InvalidOption {
            option: key.to_owned(),
            reason: format!("want {key}=PROTO_PATH=VALUE, got {key}={value}"),
        }),
    }
}

impl FromStr for Options {
    type Err = Error;

    /// Parses the plugin parameter string: `key=value` pairs separated by commas. Unknown keys
    /// are an error, never ignored.
    fn from_str(parameter: &str) -> Result<Options, Error> {
        let mut options = Options::default();
        for item in split_top_level(parameter) {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            match key {
                "client" => options.client = parse_bool(key, value)?,
                "blocking_client" => options.blocking_client = parse_bool(key, value)?,
                "server" => options.server = parse_bool(key, value)?,
                "file_descriptor_set" => options.file_descriptor_set = parse_bool(key, value)?,
                "runtime_crate" if !value.is_empty() => options.runtime_crate = value.to_owned(),
                "extern_path" => options.extern_paths.push(parse_pair(key, value)?),
                "type_attribute" => options.type_attributes.push(parse_pair(key, value)?),
                "field_attribute" => options.field_attributes.push(parse_pair(key, value)?),
                "btree_map" if !value.is_empty() => options.btree_maps.push(value.to_owned()),
                "bytes" if !value.is_empty() => options.bytes.push(value.to_owned()),
                "module_tree" if value == "mod.rs" || value == "lib.rs" => options.module_tree = Some(value.to_owned()),
                "module_tree" => {
                    return Err(Error::InvalidOption {
                        option: key.to_owned(),
                        reason: format!("want module_tree=mod.rs or module_tree=lib.rs, got {value:?}"),
                    });
                }
                "crate" if !value.is_empty() => options.crate_name = Some(value.to_owned()),
                "runtime_dependency" if !value.is_empty() => options.runtime_dependency = Some(value.to_owned()),
                _ if value.is_empty() => {
                    return Err(Error::InvalidOption { option: key.to_owned(), reason: "needs a value".to_owned() });
                }
                _ => {
                    return Err(Error::InvalidOption {
                        option: key.to_owned(),
                        reason: "unknown option; known: client, server, runtime_crate, extern_path, type_attribute, \
                                 field_attribute, btree_map, bytes, module_tree, crate, runtime_dependency, \
                                 file_descriptor_set"
                            .to_owned(),
                    });
                }
            }
        }
        if let Some(name) = &options.crate_name
            && !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::InvalidOption {
                option: "crate".to_owned(),
                reason: format!("{name:?} is not a valid crate name"),
            });
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_parameter_gives_defaults() {
        assert_eq!("".parse::<Options>().expect("valid"), Options::default());
    }

    #[test]
    fn parses_every_option() {
        let options: Options = "client=false,server,runtime_crate=::my_rt,extern_path=.a.b=::ab,\
            type_attribute=.pkg.Msg=#[derive(Hash, Eq)],field_attribute=.pkg.Msg.f=#[serde(skip)],\
            btree_map=.,bytes=.pkg,module_tree=mod.rs,crate=my-api,runtime_dependency=0.1,file_descriptor_set=false,\
            blocking_client=false"
            .parse()
            .expect("valid");
        assert!(!options.client);
        assert!(!options.blocking_client);
        assert!(options.server);
        assert_eq!(options.runtime_crate, "::my_rt");
        assert_eq!(options.extern_paths, vec![(".a.b".into(), "::ab".into())]);
        assert_eq!(options.type_attributes, vec![(".pkg.Msg".into(), "#[derive(Hash, Eq)]".into())]);
        assert_eq!(options.field_attributes, vec![(".pkg.Msg.f".into(), "#[serde(skip)]".into())]);
        assert_eq!(options.btree_maps, vec![".".to_owned()]);
        assert_eq!(options.bytes, vec![".pkg".to_owned()]);
        assert_eq!(options.module_tree.as_deref(), Some("mod.rs"));
        assert_eq!(options.crate_name.as_deref(), Some("my-api"));
        assert_eq!(options.runtime_dependency.as_deref(), Some("0.1"));
        assert!(!options.file_descriptor_set);
    }

    #[test]
    fn refuses_unknown_and_malformed_options() {
        for bad in
            ["colour=blue", "client=maybe", "extern_path=.a", "module_tree=main.rs", "crate=a b", "runtime_crate"]
        {
            let err = bad.parse::<Options>().expect_err(bad);
            assert!(matches!(err, Error::InvalidOption { .. }), "{bad}: {err}");
        }
    }
}
