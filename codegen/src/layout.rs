//! Where generated files go: one file per package, plus an optional module tree (`mod.rs` or
//! `lib.rs`) and an optional whole crate around them.

use std::collections::{BTreeMap, BTreeSet};

use crate::files::{Files, VERSION, file_name, header};
use crate::ident::to_snake;
use crate::{Error, Options};

/// The package files, the module tree and the crate files, as the options ask.
pub(crate) fn arrange(mut files: Files, packages: &BTreeSet<String>, options: &Options) -> Result<Files, Error> {
    let tree_file = match (&options.crate_name, &options.module_tree) {
        (Some(_), _) => Some("lib.rs"),
        (None, Some(name)) => Some(name.as_str()),
        (None, None) => None,
    };
    if let Some(tree_file) = tree_file {
        let tree = module_tree(packages, &mut files);
        files.insert(tree_file.to_owned(), tree);
    }
    let Some(crate_name) = &options.crate_name else {
        return Ok(files);
    };
    let mut with_crate: Files = files.into_iter().map(|(path, code)| (format!("src/{path}"), code)).collect();
    with_crate.insert("Cargo.toml".to_owned(), cargo_toml(crate_name, options));
    Ok(with_crate)
}

#[derive(Default)]
struct Node {
    file: Option<String>,
    children: BTreeMap<String, Node>,
}

/// `pub mod google { pub mod api { include!("google.api.rs"); } }` for every package. A file
/// without a package is included at the top.
///
/// prost-build puts the nested types of message `nest.Bar` in `pub mod bar` of `nest.rs`, the
/// module a package `nest.bar` needs too. Two `mod bar` would not compile, so the package's
/// subtree goes inside prost's module instead (written into `nest.rs`, which is why `files`
/// is mutable): one Rust module `nest::bar` for both, which is also where prost-build's
/// relative paths (`super::bar::Other`) expect each to be. The same holds at any depth: package
/// `nest.bar.baz` goes inside prost's `pub mod baz` within `nest.rs`'s `pub mod bar`, when
/// message `nest.Bar.Baz` has nested types.
fn module_tree(packages: &BTreeSet<String>, files: &mut Files) -> String {
    let mut root = Node::default();
    for package in packages {
        let mut node = &mut root;
        if !package.is_empty() {
            for part in package.split('.') {
                node = node.children.entry(part.to_owned()).or_default();
            }
        }
        node.file = Some(file_name(package));
    }
    let mut out = format!("{}// One module per proto package.\n", header());
    write_node(&root, 0, &[], &mut out, files);
    out
}

/// Where a module's items already are: prost-build's module at `path` inside `file` (the empty
/// path: the file's top level).
#[derive(Clone)]
struct Host {
    file: String,
    path: Vec<String>,
}

/// Writes `node` (its file's `include!` and its children's modules) into `out`, indented for
/// `depth`; `hosts` are the prost-build modules that are this same module.
fn write_node(node: &Node, depth: usize, hosts: &[Host], out: &mut String, files: &mut Files) {
    let indent = "    ".repeat(depth);
    let mut hosts = hosts.to_vec();
    if let Some(file) = &node.file {
        out.push_str(&format!("{indent}include!(\"{file}\");\n"));
        hosts.push(Host { file: file.clone(), path: Vec::new() });
    }
    for (name, child) in &node.children {
        let module = to_snake(name);
        let child_hosts: Vec<Host> = hosts
            .iter()
            .map(|host| Host {
                file: host.file.clone(),
                path: [host.path.as_slice(), std::slice::from_ref(&module)].concat(),
            })
            .filter(|host| files.get(&host.file).is_some_and(|code| find_module(code, &host.path).is_some()))
            .collect();
        match child_hosts.first().cloned() {
            Some(host) => {
                let mut body = String::new();
                write_node(child, host.path.len(), &child_hosts, &mut body, files);
                if let Some(code) = files.get_mut(&host.file)
                    && let Some(at) = find_module(code, &host.path)
                {
                    code.insert_str(at, &body);
                }
            }
            None => {
                let mut body = String::new();
                write_node(child, depth + 1, &[], &mut body, files);
                out.push_str(&format!("{indent}pub mod {module} {{\n{body}{indent}}}\n"));
            }
        }
    }
}

/// The position just after the line opening module `path` (nested modules, as prettyplease
/// writes them: four spaces per level) in `code`.
fn find_module(code: &str, path: &[String]) -> Option<usize> {
    let (mut start, mut end) = (0, code.len());
    for (level, name) in path.iter().enumerate() {
        let indent = "    ".repeat(level);
        let opening = format!("\n{indent}pub mod {name} {{\n");
        let open_end = start + code[start..end].find(&opening)? + opening.len();
        let closing = format!("\n{indent}}}\n");
        end = open_end + code[open_end..end].find(&closing).map_or(end - open_end, |at| at + 1);
        start = open_end;
    }
    Some(start)
}

fn cargo_toml(name: &str, options: &Options) -> String {
    let dependency = match options.runtime_dependency.as_deref() {
        Some(spec) if spec.starts_with("path:") => {
            format!("{{ path = {:?} }}", spec.trim_start_matches("path:"))
        }
        Some(spec) => format!("{spec:?}"),
        None => format!("\"{VERSION}\""),
    };
    format!(
        "# @generated by protoc-gen-rust-rpc {VERSION}. Do not edit.\n\
         [package]\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         \n\
         [dependencies]\n\
         rust-rpc = {dependency}\n\
         \n\
         [lib]\n\
         doctest = false\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_tree_nests_packages() {
        let packages: BTreeSet<String> =
            ["", "google.api", "google.rpc", "helloworld"].iter().map(|s| s.to_string()).collect();
        let mut files: Files = packages.iter().map(|p| (file_name(p), String::new())).collect();
        let tree = module_tree(&packages, &mut files);
        let body: Vec<&str> = tree.lines().skip(2).collect();
        assert_eq!(
            body,
            [
                "include!(\"_.rs\");",
                "pub mod google {",
                "    pub mod api {",
                "        include!(\"google.api.rs\");",
                "    }",
                "    pub mod rpc {",
                "        include!(\"google.rpc.rs\");",
                "    }",
                "}",
                "pub mod helloworld {",
                "    include!(\"helloworld.rs\");",
                "}",
            ]
        );
    }

    #[test]
    fn a_package_named_like_a_nested_types_module_goes_inside_it() {
        let packages: BTreeSet<String> = ["nest", "nest.bar", "nest.bar.baz"].iter().map(|s| s.to_string()).collect();
        let mut files = Files::new();
        files.insert(
            "nest.rs".into(),
            "pub struct Bar {}\n/// Nested types.\npub mod bar {\n    pub struct Inner {}\n}\n".into(),
        );
        files.insert("nest.bar.rs".into(), "pub struct Other {}\n".into());
        files.insert("nest.bar.baz.rs".into(), String::new());
        let tree = module_tree(&packages, &mut files);
        let body: Vec<&str> = tree.lines().skip(2).collect();
        assert_eq!(body, ["pub mod nest {", "    include!(\"nest.rs\");", "}"]);
        assert_eq!(
            files["nest.rs"],
            "pub struct Bar {}\n/// Nested types.\npub mod bar {\n    include!(\"nest.bar.rs\");\n    pub mod baz {\n        \
             include!(\"nest.bar.baz.rs\");\n    }\n    pub struct Inner {}\n}\n"
        );
    }
}
