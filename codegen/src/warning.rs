//! `Warning`: something the generator changed so that the code compiles, with the `.proto`
//! line that caused it.

/// A name the generator changed (a rename) so that the generated Rust compiles. Nothing on the
/// wire changes: field numbers, proto names, JSON names, method paths and the embedded
/// descriptors stay as written in the `.proto`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Where: `file.proto:line:column`, or the file name when the request carries no source
    /// locations.
    pub location: String,
    /// What was changed and why.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}
