//! Interop command-line flags: `--name value`, `--name=value`, and bare booleans.

use std::collections::HashMap;

/// Parsed flags.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Parses `args` (without the program name). Every flag must start with `--`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut values = HashMap::new();
        let mut args = args.into_iter().peekable();
        while let Some(arg) = args.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}: flags look like --name value or --name=value"));
            };
            if let Some((name, value)) = flag.split_once('=') {
                values.insert(name.to_owned(), value.to_owned());
            } else if args.peek().is_some_and(|next| !next.starts_with("--")) {
                let value = args.next().unwrap_or_default();
                values.insert(flag.to_owned(), value);
            } else {
                values.insert(flag.to_owned(), "true".to_owned());
            }
        }
        Ok(Args { values })
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether boolean `--name` is set (`--name`, `--name=true`, `--name true`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1" | "yes"))
    }

    /// The value of `--name`, or an error naming the missing flag.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or_else(|| format!("--{name} is required"))
    }

    /// Reads the file named by `--name`.
    pub fn read_file(&self, name: &str) -> Result<Vec<u8>, String> {
        let path = self.required(name)?;
        std::fs::read(path).map_err(|e| format!("--{name} {path}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::parse(args.iter().map(|s| s.to_string())).expect("valid")
    }

    #[test]
    fn both_spellings_and_bare_booleans() {
        let args = parse(&["--port", "8080", "--use_tls", "--test_case=large_unary", "--use_test_ca=false"]);
        assert_eq!(args.get("port"), Some("8080"));
        assert!(args.flag("use_tls"));
        assert_eq!(args.get("test_case"), Some("large_unary"));
        assert!(!args.flag("use_test_ca"));
        assert!(!args.flag("absent"));
        assert!(Args::parse(["stray".to_string()]).is_err());
    }
}
