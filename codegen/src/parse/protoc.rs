//! The protoc front end: protoc parses and checks the files and writes their descriptors
//! (`--descriptor_set_out`), which the generator reads as the plugin reads protoc's request.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use prost::Message;
use prost_types::FileDescriptorSet;

use super::parsed::Parsed;
use crate::Error;

/// The protoc to run when none is given: `$PROTOC` if set (as prost-build reads it), else
/// `protoc` from `PATH`.
#[cfg_attr(feature = "protox", allow(dead_code))]
pub(crate) fn from_environment(protoc_variable: Option<OsString>) -> PathBuf {
    protoc_variable.filter(|value| !value.is_empty()).map_or_else(|| PathBuf::from("protoc"), PathBuf::from)
}

/// Runs `protoc` on `protos` against `includes` and reads the descriptors it wrote.
pub(crate) fn parse(protoc: &Path, protos: &[PathBuf], includes: &[PathBuf]) -> Result<Parsed, Error> {
    let failed = |reason: String| Error::Protoc { program: protoc.to_path_buf(), reason };
    let scratch = tempfile::Builder::new()
        .prefix("rust-rpc-codegen-")
        .tempdir()
        .map_err(|err| failed(format!("no temporary directory for its output: {err}")))?;
    let out = scratch.path().join("descriptors.binpb");
    let mut command = Command::new(protoc);
    command.arg("--include_imports").arg("--include_source_info").arg("-o").arg(&out);
    for include in includes {
        command.arg("-I").arg(include);
    }
    command.args(protos);
    let output = command.output().map_err(|err| failed(format!("could not start it: {err}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(proto_errors(&stderr).unwrap_or_else(|| failed(format!("{}: {}", output.status, stderr.trim()))));
    }
    let bytes = std::fs::read(&out).map_err(|source| Error::Io { action: "reading", path: out.clone(), source })?;
    let files = FileDescriptorSet::decode(bytes.as_slice())
        .map_err(|source| Error::Decode { what: "protoc's FileDescriptorSet", source })?
        .file;
    // The files protoc read from the include directories (the well-known types it may have
    // taken from its own, which are not there, are left out).
    let paths = files
        .iter()
        .filter_map(|file| includes.iter().map(|include| include.join(file.name())).find(|path| path.is_file()))
        .collect();
    Ok(Parsed { files, paths })
}

/// protoc's complaints (`file:line:column: message`, one per line) as [`Error::Proto`]s; `None`
/// when it printed none of that form.
fn proto_errors(stderr: &str) -> Option<Error> {
    let mut errors: Vec<Error> = stderr.lines().filter_map(proto_error).collect();
    match errors.len() {
        0 => None,
        1 => errors.pop(),
        _ => Some(Error::Many(errors)),
    }
}

/// One `file:line:column: message` line. The file is what protoc was given (so it may hold
/// colons itself: a Windows drive); the first `:line:column:` ends it.
fn proto_error(line: &str) -> Option<Error> {
    line.match_indices(':').find_map(|(at, _)| {
        let mut parts = line[at + 1..].splitn(3, ':');
        let (line_number, column, message) = (parts.next()?, parts.next()?, parts.next()?);
        let number = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        (at > 0 && number(line_number) && number(column)).then(|| Error::Proto {
            location: format!("{}:{line_number}:{column}", &line[..at]),
            message: message.trim().to_owned(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protoc_comes_from_the_variable_else_from_path() {
        assert_eq!(from_environment(Some("/opt/protoc/bin/protoc".into())), Path::new("/opt/protoc/bin/protoc"));
        assert_eq!(from_environment(Some(OsString::new())), Path::new("protoc"));
        assert_eq!(from_environment(None), Path::new("protoc"));
    }

    #[test]
    fn protocs_complaints_become_located_errors() {
        let stderr = "edge/bad.proto:3:5: Expected \";\".\nedge/bad.proto:7:1: \"Foo\" is not defined.\n";
        let Some(Error::Many(errors)) = proto_errors(stderr) else { panic!("two errors") };
        assert_eq!(errors[0].to_string(), "edge/bad.proto:3:5: Expected \";\".");
        assert_eq!(errors[1].to_string(), "edge/bad.proto:7:1: \"Foo\" is not defined.");
        assert!(proto_errors("x.proto: File not found.\n").is_none());
        let Some(Error::Proto { location, .. }) = proto_errors("C:\\protos\\a.proto:2:9: Expected type name.") else {
            panic!("a located error")
        };
        assert_eq!(location, "C:\\protos\\a.proto:2:9");
        assert!(proto_errors("a:b:c: not a position\n").is_none());
    }
}
