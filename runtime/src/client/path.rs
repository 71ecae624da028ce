//! `MethodPath`: the path a call is made to, static for generated stubs and owned for generic
//! calls whose method is known only at run time.

use std::sync::Arc;

/// A method's path, `/package.Service/Method`.
///
/// Generated stubs name their methods with `&'static str`, which costs nothing to carry; a
/// generic call's path is shared, so the call's interceptors and its request head take it with
/// one count increment. `Arc<String>` rather than `Arc<str>`: a thin pointer, so the enum is
/// the size of a `&str` (16 bytes, not 24) and every call's future stays as small as it was
/// (BENCHMARKS.md, issue 17).
#[derive(Clone, Debug)]
pub(crate) enum MethodPath {
    Static(&'static str),
    Shared(Arc<String>),
}

impl MethodPath {
    /// The path.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            MethodPath::Static(path) => path,
            MethodPath::Shared(path) => path,
        }
    }

    /// The path as the bytes of a request URI: without a copy when static.
    pub(crate) fn to_bytes(&self) -> bytes::Bytes {
        match self {
            MethodPath::Static(path) => bytes::Bytes::from_static(path.as_bytes()),
            MethodPath::Shared(path) => bytes::Bytes::copy_from_slice(path.as_bytes()),
        }
    }
}

impl From<&'static str> for MethodPath {
    fn from(path: &'static str) -> Self {
        MethodPath::Static(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_as_small_as_a_str() {
        // Calls carry one by value in every future: see the type's docs.
        assert_eq!(std::mem::size_of::<MethodPath>(), std::mem::size_of::<&str>());
    }
}
