//! Every naming and escaping rule of the generator, in one place.
//!
//! Proto names are converted with `heck` (as prost-build does for messages), then made into
//! valid Rust identifiers: keywords become raw identifiers (`r#type`), and the few words that
//! cannot be raw (`self`, `super`, `Self`, `crate`, `extern`, `_`) get a trailing underscore.
//! Names that collide after conversion are resolved in declaration order: the first keeps the
//! name, later ones get `_2`, `_3`, ... (or `2`, `3`, ... for type names).

use std::collections::BTreeSet;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

/// Words that are keywords in any Rust edition up to 2024.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn", "else", "enum",
    "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut",
    "override", "priv", "pub", "ref", "return", "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe",
    "unsized", "use", "virtual", "where", "while", "yield",
];

/// Words that cannot even be raw identifiers.
const NOT_RAW: &[&str] = &["self", "super", "Self", "crate", "extern", "_"];

/// Makes `name` a valid Rust identifier, as text (`r#type`, `self_`, `_1abc`).
pub(crate) fn sanitize(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        return format!("{name}_");
    }
    if KEYWORDS.contains(&name) {
        return format!("r#{name}");
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("_{name}");
    }
    name.to_owned()
}

/// `GetFoo` -> `get_foo`, escaped. heck drops underscores, so a name made only of them (`_`,
/// valid in proto) would convert to nothing; such a name is kept as it is, then escaped
/// (`_` -> `__`).
pub(crate) fn to_snake(name: &str) -> String {
    let snake = name.to_snake_case();
    sanitize(if snake.is_empty() { name } else { &snake })
}

/// The stems a service's items are named from: `route_guide` -> (`RouteGuide`, `route_guide`).
/// They are never used alone, only with a prefix or suffix (`RouteGuideClient`,
/// `route_guide_service`), so keywords need no escaping; they are empty for `service _`, and
/// a stem that would start with a digit gets a leading `_`.
pub(crate) fn service_stems(name: &str) -> (String, String) {
    let digit = |s: String| if s.starts_with(|c: char| c.is_ascii_digit()) { format!("_{s}") } else { s };
    (digit(name.to_upper_camel_case()), digit(name.to_snake_case()))
}

/// Joins non-empty name parts with `_`: (`add`, ``, `servicer_to_server`) ->
/// `add_servicer_to_server`.
pub(crate) fn join_snake(parts: &[&str]) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join("_")
}

/// `get_foo` -> `GetFoo`, escaped.
pub(crate) fn to_upper_camel(name: &str) -> String {
    sanitize(&name.to_upper_camel_case())
}

/// `GetFoo` -> `GET_FOO` (constants never need escaping: no keyword is upper-case).
pub(crate) fn to_shouty_snake(name: &str) -> String {
    let shouty = name.to_shouty_snake_case();
    if shouty.starts_with(|c: char| c.is_ascii_digit()) { format!("_{shouty}") } else { shouty }
}

/// An identifier token for text made by the functions above.
pub(crate) fn ident(text: &str) -> Ident {
    match text.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(text, Span::call_site()),
    }
}

/// Takes `candidate` if free, else the first free of `candidate{sep}2`, `candidate{sep}3`, ...
/// and marks it taken.
pub(crate) fn unique(candidate: String, sep: &str, taken: &mut BTreeSet<String>) -> String {
    let bare = candidate.strip_prefix("r#").unwrap_or(&candidate).to_owned();
    if taken.insert(bare.clone()) {
        return candidate;
    }
    let base = bare.trim_end_matches('_');
    (2..).map(|n| format!("{base}{sep}{n}")).find(|name| taken.insert(name.clone())).unwrap_or(candidate)
}

/// How prost-build (0.14) names things, which the renaming pass (`rename.rs`) predicts so
/// that it can steer clear of collisions. Unlike [`to_snake`], a name of underscores only
/// becomes empty here, as it does in prost-build.
pub(crate) mod prost {
    use heck::{ToSnakeCase, ToUpperCamelCase};

    use super::{KEYWORDS, NOT_RAW};

    fn sanitize(name: String) -> String {
        if NOT_RAW.contains(&name.as_str()) {
            format!("{name}_")
        } else if KEYWORDS.contains(&name.as_str()) {
            format!("r#{name}")
        } else if name.starts_with(|c: char| c.is_numeric()) {
            format!("_{name}")
        } else {
            name
        }
    }

    /// Field, oneof and module names: `fooBar` -> `foo_bar`, `type` -> `r#type`, `_` -> ``.
    pub(crate) fn snake(name: &str) -> String {
        sanitize(name.to_snake_case())
    }

    /// Type and variant names: `HTTPRequest` -> `HttpRequest`, `self` -> `Self_`.
    pub(crate) fn camel(name: &str) -> String {
        sanitize(name.to_upper_camel_case())
    }

    /// An enum variant: `COLOR_RED` in `enum Color` -> `Red` (the enum's name stripped when
    /// what follows starts a new word).
    pub(crate) fn variant(enum_rust_name: &str, value: &str) -> String {
        let camel = value.to_upper_camel_case();
        let stripped = camel.strip_prefix(enum_rust_name).unwrap_or(&camel);
        let stripped = if stripped.starts_with(char::is_uppercase) { stripped } else { &camel };
        sanitize(stripped.to_owned())
    }

    /// The type name of a oneof's enum, `OneOf` appended when a nested type has its name.
    pub(crate) fn oneof_type(oneof: &str, nested_type_names: &[&str]) -> String {
        let name = camel(oneof);
        if nested_type_names.iter().any(|nested| camel(nested) == name) { format!("{name}OneOf") } else { name }
    }

    /// The methods prost's derive adds for a field: a getter for optional scalars and enums,
    /// `set_` / `push_` for enums.
    pub(crate) fn accessors(field: &str, optional: bool, enumeration: bool, repeated: bool) -> Vec<String> {
        let name = snake(field);
        let bare = name.strip_prefix("r#").unwrap_or(&name).to_owned();
        let mut methods = Vec::new();
        if enumeration || optional {
            methods.push(name.clone());
        }
        if enumeration {
            methods.push(if repeated { format!("push_{bare}") } else { format!("set_{bare}") });
        }
        methods
    }
}

/// Methods of the generated clients (async and blocking) that RPC names must not take: their
/// own (`new`, `channel`, `with_options`), those of the traits they derive (`clone`), and the
/// prelude's by-value trait methods (`into`, `try_into`), which method calls find before any
/// `&self` method.
pub(crate) const CLIENT_INHERENT: [&str; 7] =
    ["new", "channel", "with_options", "clone", "clone_from", "into", "try_into"];

/// The Rust names of a service's methods, in declaration order: snake case, escaped, and unique
/// among themselves and the client's own methods.
pub(crate) fn method_names<'a>(protos: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken: BTreeSet<String> = CLIENT_INHERENT.iter().map(|s| s.to_string()).collect();
    protos.into_iter().map(|proto| unique(to_snake(proto), "_", &mut taken)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_escapes_keywords() {
        let cases = [
            ("GetFoo", "get_foo"),
            ("get_foo", "get_foo"),
            ("type", "r#type"),
            ("Type", "r#type"),
            ("async", "r#async"),
            ("Match", "r#match"),
            ("self", "self_"),
            ("Self", "self_"),
            ("crate", "crate_"),
            ("super", "super_"),
            ("gen", "r#gen"),
            ("ABCServiceX", "abc_service_x"),
            ("HTTPRequest", "http_request"),
            ("v2", "v2"),
            ("2fa", "_2fa"),
            ("_", "__"),
            ("__", "__"),
        ];
        for (proto, rust) in cases {
            assert_eq!(to_snake(proto), rust, "{proto}");
        }
    }

    #[test]
    fn camel_case_escapes_keywords() {
        assert_eq!(to_upper_camel("greeter"), "Greeter");
        assert_eq!(to_upper_camel("self"), "Self_", "camel case turns `self` into `Self`, which cannot be raw");
        assert_eq!(to_upper_camel("Self"), "Self_");
        assert_eq!(to_upper_camel("route_guide"), "RouteGuide");
    }

    #[test]
    fn service_stems_and_joins() {
        assert_eq!(service_stems("route_guide"), ("RouteGuide".to_owned(), "route_guide".to_owned()));
        assert_eq!(service_stems("type"), ("Type".to_owned(), "type".to_owned()));
        assert_eq!(service_stems("_"), (String::new(), String::new()));
        assert_eq!(service_stems("_2fa").1, "_2fa");
        assert_eq!(join_snake(&["add", "", "servicer_to_server"]), "add_servicer_to_server");
        assert_eq!(join_snake(&["", "service"]), "service");
    }

    #[test]
    fn shouty_constants() {
        assert_eq!(to_shouty_snake("SayHello"), "SAY_HELLO");
        assert_eq!(to_shouty_snake("type"), "TYPE");
        assert_eq!(to_shouty_snake("2fa"), "_2FA");
    }

    #[test]
    fn every_escaped_name_is_a_valid_ident() {
        for word in KEYWORDS.iter().chain(NOT_RAW) {
            let text = sanitize(word);
            let _ = ident(&text); // panics if invalid
            syn::parse_str::<syn::Ident>(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    #[test]
    fn collisions_resolve_in_order() {
        let mut taken = BTreeSet::new();
        assert_eq!(unique("get_foo".into(), "_", &mut taken), "get_foo");
        assert_eq!(unique("get_foo".into(), "_", &mut taken), "get_foo_2");
        assert_eq!(unique("get_foo".into(), "_", &mut taken), "get_foo_3");
        assert_eq!(unique("r#type".into(), "_", &mut taken), "r#type");
        assert_eq!(unique("r#type".into(), "_", &mut taken), "type_2");
        assert_eq!(unique("self_".into(), "_", &mut taken), "self_");
        assert_eq!(unique("self_".into(), "_", &mut taken), "self_2");
    }

    #[test]
    fn prost_names() {
        assert_eq!(prost::snake("fooBar"), "foo_bar");
        assert_eq!(prost::snake("_"), "");
        assert_eq!(prost::camel("HTTPRequest"), "HttpRequest");
        assert_eq!(prost::camel("self"), "Self_");
        assert_eq!(prost::variant("Color", "COLOR_RED"), "Red");
        assert_eq!(prost::variant("Color", "COLORFUL"), "Colorful");
        assert_eq!(prost::variant("Color", "COLOR_SELF"), "Self_");
        assert_eq!(prost::oneof_type("kind", &["Kind"]), "KindOneOf");
        assert_eq!(prost::accessors("type", false, true, false), ["r#type", "set_type"]);
    }

    #[test]
    fn method_names_avoid_the_clients_own() {
        let names = method_names(["New", "Clone", "GetFoo", "get_foo", "_", "self"]);
        assert_eq!(names, ["new_2", "clone_2", "get_foo", "get_foo_2", "__", "self_"]);
    }
}
