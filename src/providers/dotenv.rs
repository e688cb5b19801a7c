//! Dotenv files as a read-only secret source: `KEY=VALUE` lines, `#` comments,
//! optional `export `, single or double quotes (double quotes understand `\n`, `\"`,
//! `\\`). Values are wrapped as `SecretValue` as they are read; parse errors name the
//! line, never its content.

use std::path::Path;

use crate::error::Error;
use crate::secret::SecretValue;

/// Reads every variable of a dotenv file, in file order.
pub fn read(path: &Path) -> Result<Vec<(String, SecretValue)>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot read: {e}"),
            "pass a dotenv file (KEY=VALUE lines)",
        )
    })?;
    let mut out: Vec<(String, SecretValue)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let bad = |what: &str| {
            Error::input(
                path,
                format!("line {}: {what}", i + 1),
                "write KEY=VALUE, with quotes around values that need them",
            )
        };
        let (key, rest) = line.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            return Err(bad("the name is not a variable name"));
        }
        let rest = rest.trim_start();
        let value = if let Some(body) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = body.chars();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some('n') => v.push('\n'),
                        Some('t') => v.push('\t'),
                        Some(o) => v.push(o),
                        None => return Err(bad("a backslash ends the line")),
                    },
                    c => v.push(c),
                }
            }
            if !closed {
                return Err(bad("an unclosed double quote"));
            }
            v
        } else if let Some(body) = rest.strip_prefix('\'') {
            match body.find('\'') {
                Some(end) => body[..end].to_string(),
                None => return Err(bad("an unclosed single quote")),
            }
        } else {
            // Unquoted: up to an inline comment.
            rest.split(" #").next().unwrap_or("").trim_end().to_string()
        };
        if out.iter().any(|(k, _)| k == key) {
            return Err(bad(&format!("{key} is set twice")));
        }
        out.push((key.to_string(), SecretValue::text(value)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes_exports_and_comments_without_echoing_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        std::fs::write(&p, "# app\nexport DB_URL=\"postgres://u:p@h/db\\nx\"\nAPI_KEY='CANARY-abc # not a comment'\nPLAIN=v1 # comment\nEMPTY=\n").unwrap();
        let vars = read(&p).unwrap();
        let get = |k: &str| {
            String::from_utf8(
                vars.iter()
                    .find(|(n, _)| n == k)
                    .unwrap()
                    .1
                    .expose()
                    .to_vec(),
            )
            .unwrap()
        };
        assert_eq!(get("DB_URL"), "postgres://u:p@h/db\nx");
        assert_eq!(get("API_KEY"), "CANARY-abc # not a comment");
        assert_eq!(get("PLAIN"), "v1");
        assert_eq!(get("EMPTY"), "");
        std::fs::write(&p, "GOOD=1\nBAD LINE CANARY-zz\n").unwrap();
        let err = read(&p).unwrap_err().to_string();
        assert!(err.contains("line 2") && !err.contains("CANARY"), "{err}");
    }
}
