//! Makes proto comments safe as rustdoc, on the formatted file (so prost's message docs and
//! our service docs get the same treatment).
//!
//! Proto comments are prose written for protoc's other languages: `<package>.<type>` is not
//! an HTML tag, and a bare ```` ``` ```` fence is not Rust. Left alone, rustdoc warns (invalid
//! HTML tags) or compiles the block as a doctest. So, in `///` lines only:
//! - an opening fence without a language, or with one rustdoc would run as Rust (`rust`,
//!   `compile_fail`, `no_run`, ...), becomes ```` ```text ````;
//! - outside code, `<` followed by a letter or `/` becomes `&lt;`, except `<http...>` links
//!   (which prost writes for bare URLs);
//! - bidirectional-control characters (U+202A..U+202E, U+2066..U+2069), which rustc refuses in
//!   comments and string literals, become visible `U+202E` text, and a stray carriage return
//!   (refused in doc comments) a space.
//!
//! Outside doc lines, those characters can only be in string literals (proto2 defaults): they
//! become `\u{202e}` escapes there, the same string.

/// The characters rustc's `text_direction_codepoint_in_*` lints refuse.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Doc text with the characters rustc refuses made visible.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            if is_bidi(c) {
                format!("U+{:04X}", c as u32)
            } else if c == '\r' {
                " ".to_owned()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Code with bidirectional controls (only ever in string literals) escaped.
fn escaped(code: &str) -> String {
    code.chars().map(|c| if is_bidi(c) { format!("\\u{{{:x}}}", c as u32) } else { c.to_string() }).collect()
}

/// Applies the rules above to every `///` line of `source`.
pub(crate) fn clean(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + source.len() / 64);
    let mut in_fence = false;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let Some(text) = trimmed.strip_prefix("///") else {
            in_fence = false; // a doc block ends at the first non-doc line
            out.push_str(&escaped(line));
            continue;
        };
        let text = visible(text);
        let text = text.as_str();
        let indent = &line[..line.len() - trimmed.len()];
        let (body, newline) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (text, ""),
        };
        let fence = body.trim_start();
        out.push_str(indent);
        out.push_str("///");
        if fence.starts_with("```") || fence.starts_with("~~~") {
            let marker = &fence[..3];
            let info = fence[3..].trim();
            if in_fence {
                in_fence = false;
                out.push_str(body);
            } else {
                in_fence = true;
                let lead = &body[..body.len() - fence.len()];
                // rustdoc runs these as Rust doctests (prost-build rewrites `rust` to `compile_fail`).
                let word = info.split(|c: char| c == ',' || c.is_whitespace()).next().unwrap_or("");
                let rust_like = [
                    "",
                    "rust",
                    "compile_fail",
                    "should_panic",
                    "no_run",
                    "ignore",
                    "edition2015",
                    "edition2018",
                    "edition2021",
                    "edition2024",
                ];
                if rust_like.contains(&word) {
                    out.push_str(&format!("{lead}{marker}text"));
                } else {
                    out.push_str(body);
                }
            }
        } else if in_fence {
            out.push_str(body);
        } else {
            out.push_str(&escape_tags(body));
        }
        out.push_str(newline);
    }
    out
}

/// Escapes `<` that would open an HTML tag, outside inline code spans.
fn escape_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '<' if !in_code => {
                let rest = &text[i + 1..];
                let opens_tag = rest.starts_with(|n: char| n.is_ascii_alphabetic() || n == '/');
                let is_link = rest.starts_with("http://") || rest.starts_with("https://");
                if opens_tag && !is_link {
                    out.push_str("&lt;");
                } else {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
        let _ = chars.peek();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_tag_like_text_but_not_links_or_code() {
        let input = "/// is <package>.<service> see <https://x.io> and `Vec<u8>`\nfn f() {} // <b>\n";
        let want = "/// is &lt;package>.&lt;service> see <https://x.io> and `Vec<u8>`\nfn f() {} // <b>\n";
        assert_eq!(clean(input), want);
    }

    #[test]
    fn bare_fences_become_text_and_their_content_is_untouched() {
        let input = "    /// ```\n    /// a <b>\n    /// ```\n    /// ```json\n    /// {}\n    /// ```\n";
        let want = "    /// ```text\n    /// a <b>\n    /// ```\n    /// ```json\n    /// {}\n    /// ```\n";
        assert_eq!(clean(input), want);
    }

    #[test]
    fn bidi_controls_become_visible_in_docs_and_escapes_in_literals() {
        let input = "/// a \u{202e}b\u{2066}\r\nconst S: &str = \"x\u{202e}\";\n";
        assert_eq!(
            clean(input),
            "/// a U+202Eb U+2066 \nconst S: &str = \"x\\u{202e}\";\n".replace(" U+2066 ", "U+2066 ")
        );
    }

    #[test]
    fn a_non_doc_line_closes_an_unterminated_fence() {
        let input = "/// ```\n/// x\nstruct A;\n/// <b>\n";
        assert_eq!(clean(input), "/// ```text\n/// x\nstruct A;\n/// &lt;b>\n");
    }
}
