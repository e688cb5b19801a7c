//! Dotenv files as a read-only secret source, parsed strictly: a value is read exactly
//! as written or the file is refused; nothing is guessed. The grammar (docs/migrate.md):
//!
//! ```text
//! file       = { line }
//! line       = ws* [ comment | assignment ] ws* EOL
//! comment    = "#" { any but EOL }
//! assignment = [ "export" ws+ ] name ws* "=" ws* [ value ] ws* [ comment ]
//! name       = ( letter | "_" ) { letter | digit | "_" | "." | "-" }
//! value      = single | double | bare
//! single     = "'" { any but "'" } "'"                 literal, may span lines
//! double     = '"' { any but '"' or "\" | escape } '"' may span lines
//! escape     = "\n" | "\r" | "\t" | '\"' | "\\" | "\$"
//! bare       = { any but EOL or quote }              up to a "#" that starts it or
//!                                                    follows ws; trailing ws trimmed
//! ```
//!
//! Invariants:
//! - A quoted value ends at its closing quote, followed only by whitespace and an
//!   optional comment (`A="x"garbage` is refused, never read as `x`).
//! - Refused, with the file and line: an unterminated quote, an unknown escape, a
//!   quote inside a bare value, a `$NAME`/`${NAME}` reference outside single quotes
//!   (other dotenv readers expand it; this one never does), an invalid or repeated
//!   name, a NUL byte, text that is not UTF-8, a file over 8 MiB.
//! - An error names the file and the line, never the line's content: not the value,
//!   not the name (a name-looking fragment may be a piece of a key).
//! - Values are wrapped as `SecretValue` as they are read; the file's bytes and the
//!   value being built are zeroized.
//! - One pass over the input: linear in its size.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::Error;
use crate::model::Provider;
use crate::secret::store::{Listing, SecretStore, StoreKind, StoreRef, Values};
use crate::secret::{SecretValue, Stored, ValueKind};

/// The largest dotenv file read (a secret is at most 64 KiB on AWS and GCP).
pub const MAX_BYTES: u64 = 8 * 1024 * 1024;

const HINT: &str = "write NAME=VALUE lines; quote values with spaces, quotes or `#` (single quotes keep everything as written); see docs/migrate.md";

// Each refusal's own hint: the generic one above was given for a quote never closed too,
// telling someone who had quoted a PEM key to quote it.
const UNCLOSED: &str = "close the quote where the value ends: a quoted value may span lines (a PEM key goes whole inside one pair of quotes); see docs/migrate.md";
const ESCAPE: &str = "inside double quotes a backslash starts \\n, \\r, \\t, \\\", \\\\ or \\$; single-quote the value to keep every backslash as written";
const AFTER_QUOTE: &str = "end the line after the closing quote (only whitespace and a `#` comment may follow); put a quote inside a value with \\\" in double quotes, or wrap it in the other kind";
const QUOTE_IN_BARE: &str = "quote the whole value: double quotes (\\\" for a quote inside) or single quotes (kept as written)";
const REFERENCE: &str =
    "single-quote the value to keep `$` as written, or write \\$ in double quotes";

/// Reads every variable of a dotenv file, in file order.
pub fn read(path: &Path) -> Result<Vec<(String, SecretValue)>, Error> {
    let bytes = crate::input::read_at_most(path, MAX_BYTES)
        .map_err(|e| {
            Error::input(
                path,
                format!("cannot read: {e}"),
                "pass a dotenv file (NAME=VALUE lines)",
            )
        })?
        .ok_or_else(|| {
            Error::input(
                path,
                format!("larger than {} MiB", MAX_BYTES / 1024 / 1024),
                "a dotenv file of secrets is small; split it or pass the right file",
            )
        })?;
    parse(&bytes)
        .map_err(|(line, what, hint)| Error::input(path, format!("line {line}: {what}"), hint))
}

/// A dotenv file as a secret store: read once, a source only (writes are refused).
pub struct DotenvStore {
    path: PathBuf,
    vars: Vec<(String, SecretValue)>,
}

impl DotenvStore {
    pub fn open(path: &Path) -> Result<Self, Error> {
        Ok(DotenvStore {
            path: path.to_path_buf(),
            vars: read(path)?,
        })
    }

    /// A fresh copy of a variable's value (a `SecretValue` is never cloned implicitly).
    fn value_of(&self, name: &str) -> Option<SecretValue> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| match v.kind() {
                ValueKind::Text => {
                    SecretValue::text(String::from_utf8_lossy(v.expose()).into_owned())
                }
                ValueKind::Binary => SecretValue::binary(v.expose().to_vec()),
            })
    }

    fn source_only(&self) -> Error {
        Error::usage(
            format!("{} is a source only", self.path.display()),
            "migrate to aws:... or gcp:...",
        )
    }
}

#[async_trait::async_trait]
impl SecretStore for DotenvStore {
    fn store_ref(&self) -> StoreRef {
        StoreRef {
            kind: StoreKind::Dotenv,
            scope: self.path.display().to_string(),
            region: None,
        }
    }

    fn provider(&self) -> Option<Provider> {
        None
    }

    async fn list(&self) -> Result<Listing, Error> {
        Ok(self
            .vars
            .iter()
            .map(|(k, _)| (k.clone(), BTreeMap::new()))
            .collect())
    }

    /// A dotenv file has no versions: every value is read with an empty one.
    async fn read_current(&self, names: &[String]) -> Result<Values, Error> {
        Ok(names
            .iter()
            .map(|n| {
                let stored = self.value_of(n).map(|value| Stored::Value {
                    value,
                    version: String::new(),
                });
                (n.clone(), stored)
            })
            .collect())
    }

    async fn read_versions(&self, name: &str) -> Result<Option<Vec<SecretValue>>, Error> {
        Ok(self.value_of(name).map(|v| vec![v]))
    }

    async fn create(
        &self,
        _name: &str,
        _value: &SecretValue,
        _tags: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        Err(self.source_only())
    }

    async fn add_version(&self, _name: &str, _value: &SecretValue) -> Result<String, Error> {
        Err(self.source_only())
    }
}

/// A problem: the line it is on, what it is (never the content), and what to try.
type Problem = (usize, String, &'static str);

fn line_of(bytes: &[u8], at: usize) -> usize {
    bytes[..at].iter().filter(|b| **b == b'\n').count() + 1
}

/// Parses a dotenv file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Vec<(String, SecretValue)>, Problem> {
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        return Err((line_of(bytes, at), "a NUL byte".into(), HINT));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        (
            line_of(bytes, e.valid_up_to()),
            "not UTF-8 text".to_string(),
            HINT,
        )
    })?;
    let mut c = Cursor {
        chars: text.chars().collect::<Vec<_>>().into(),
        i: 0,
        line: 1,
    };
    let mut out: Vec<(String, SecretValue)> = Vec::new();
    let mut lines_of: Vec<usize> = Vec::new();
    loop {
        c.skip_ws();
        match c.peek() {
            None => break,
            Some('\n') | Some('\r') => {
                c.end_of_line("a carriage return that does not end a line")?;
                continue;
            }
            Some('#') => {
                c.skip_comment();
                continue;
            }
            _ => {}
        }
        let start = c.line;
        let mut name = c.word();
        if name == "export" && matches!(c.peek(), Some(' ' | '\t')) {
            c.skip_ws();
            name = c.word();
        }
        if !valid_name(&name) {
            return Err((start, "the name is not a variable name (letters, digits, `_`, `.`, `-`, starting with a letter or `_`)".into(), HINT));
        }
        c.skip_ws();
        if c.peek() != Some('=') {
            return Err((start, "no `=` after the name".into(), HINT));
        }
        c.bump();
        c.skip_ws();
        let value = match c.peek() {
            Some('"') => c.double()?,
            Some('\'') => c.single()?,
            _ => c.bare()?,
        };
        c.skip_ws();
        match c.peek() {
            None | Some('\n') | Some('\r') => {
                c.end_of_line("a carriage return that does not end a line")?
            }
            Some('#') => c.skip_comment(),
            Some(_) => return Err((
                c.line,
                "text after the closing quote (only whitespace and a `#` comment may follow it)"
                    .into(),
                AFTER_QUOTE,
            )),
        }
        if let Some(first) = out.iter().position(|(k, _)| *k == name) {
            return Err((
                start,
                format!("the name set on line {} is set again", lines_of[first]),
                HINT,
            ));
        }
        lines_of.push(start);
        let mut value = value;
        out.push((name, SecretValue::text(std::mem::take(&mut *value))));
    }
    Ok(out)
}

fn valid_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

struct Cursor {
    chars: Zeroizing<Vec<char>>,
    i: usize,
    line: usize,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek2(&self) -> Option<char> {
        self.chars.get(self.i + 1).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    fn skip_comment(&mut self) {
        while !matches!(self.peek(), None | Some('\n')) {
            self.bump();
        }
    }

    /// Consumes an end of line (`\n` or `\r\n`) or the end of the file.
    fn end_of_line(&mut self, stray_cr: &str) -> Result<(), Problem> {
        match (self.peek(), self.peek2()) {
            (None, _) => Ok(()),
            (Some('\n'), _) => {
                self.bump();
                Ok(())
            }
            (Some('\r'), Some('\n')) => {
                self.bump();
                self.bump();
                Ok(())
            }
            _ => Err((self.line, stray_cr.into(), HINT)),
        }
    }

    /// A name: up to whitespace, `=`, a comment or the end of the line.
    fn word(&mut self) -> String {
        let mut w = String::new();
        while let Some(c) = self.peek() {
            if matches!(c, ' ' | '\t' | '=' | '\n' | '\r' | '#') {
                break;
            }
            w.push(c);
            self.bump();
        }
        w
    }

    /// A `$` that starts a reference other readers would expand.
    fn is_reference(&self) -> bool {
        self.peek() == Some('$')
            && self
                .peek2()
                .is_some_and(|n| n == '{' || n == '_' || n.is_ascii_alphabetic())
    }

    fn reference_error(&self) -> Problem {
        (self.line, "a `$NAME` or `${NAME}` reference, which other dotenv readers expand and this one does not: single-quote the value to keep it as written, or write `\\$` in double quotes".into(), REFERENCE)
    }

    /// A line break inside quotes: `\r\n` is kept as `\n`.
    fn quoted_newline(&mut self, v: &mut String) {
        if self.peek() == Some('\r') && self.peek2() == Some('\n') {
            self.bump();
        }
        self.bump();
        v.push('\n');
    }

    fn single(&mut self) -> Result<Zeroizing<String>, Problem> {
        let opened = self.line;
        self.bump();
        let mut v = Zeroizing::new(String::new());
        loop {
            match self.peek() {
                None => {
                    return Err((
                        opened,
                        "a single quote opened here is never closed".into(),
                        UNCLOSED,
                    ))
                }
                Some('\'') => {
                    self.bump();
                    return Ok(v);
                }
                Some('\r') if self.peek2() == Some('\n') => self.quoted_newline(&mut v),
                Some('\n') => self.quoted_newline(&mut v),
                Some(c) => {
                    v.push(c);
                    self.bump();
                }
            }
        }
    }

    fn double(&mut self) -> Result<Zeroizing<String>, Problem> {
        let opened = self.line;
        self.bump();
        let mut v = Zeroizing::new(String::new());
        loop {
            if self.is_reference() {
                return Err(self.reference_error());
            }
            match self.peek() {
                None => {
                    return Err((
                        opened,
                        "a double quote opened here is never closed".into(),
                        UNCLOSED,
                    ))
                }
                Some('"') => {
                    self.bump();
                    return Ok(v);
                }
                Some('\\') => {
                    self.bump();
                    let e = match self.peek() {
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('$') => '$',
                        None => return Err((opened, "a double quote opened here is never closed".into(), UNCLOSED)),
                        Some(_) => return Err((self.line, "an unknown escape in double quotes (a backslash is followed by n, r, t, \", \\ or $)".into(), ESCAPE)),
                    };
                    self.bump();
                    v.push(e);
                }
                Some('\r') if self.peek2() == Some('\n') => self.quoted_newline(&mut v),
                Some('\n') => self.quoted_newline(&mut v),
                Some(c) => {
                    v.push(c);
                    self.bump();
                }
            }
        }
    }

    /// An unquoted value: to the end of the line or a comment (`#` after whitespace).
    fn bare(&mut self) -> Result<Zeroizing<String>, Problem> {
        let mut v = Zeroizing::new(String::new());
        loop {
            if self.is_reference() {
                return Err(self.reference_error());
            }
            match self.peek() {
                None | Some('\n' | '\r') => break,
                Some('#') if v.is_empty() || v.ends_with([' ', '\t']) => break,
                Some('"' | '\'') => {
                    return Err((
                        self.line,
                        "a quote inside an unquoted value: quote the whole value".into(),
                        QUOTE_IN_BARE,
                    ))
                }
                Some(c) => {
                    v.push(c);
                    self.bump();
                }
            }
        }
        let trimmed = v.trim_end_matches([' ', '\t']).len();
        v.truncate(trimmed);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The dotenv file behind the `SecretStore` trait: read as a source, every write
    // refused with a hint, and no value in what it names or refuses.
    #[test]
    fn a_dotenv_store_reads_through_the_trait_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.env");
        std::fs::write(&p, "A=CANARY-store-a\nB=CANARY-store-b\n").unwrap();
        let store: Box<dyn SecretStore> = Box::new(DotenvStore::open(&p).unwrap());
        assert_eq!(store.provider(), None);
        assert_eq!(store.store_ref().kind, StoreKind::Dotenv);
        assert_eq!(store.describe(), format!("dotenv {}", p.display()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let names: Vec<String> = store
                .list()
                .await
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            assert_eq!(names, ["A", "B"]);
            let read = store
                .read_current(&["A".into(), "NONE".into()])
                .await
                .unwrap();
            assert_eq!(
                read["A"].as_ref().unwrap().value().unwrap().expose(),
                b"CANARY-store-a"
            );
            assert_eq!(read["A"].as_ref().unwrap().version(), Some(""));
            assert!(read["NONE"].is_none());
            assert_eq!(store.read_versions("B").await.unwrap().unwrap().len(), 1);
            let v = SecretValue::text("CANARY-store-new".into());
            for err in [
                store.create("A", &v, &BTreeMap::new()).await.unwrap_err(),
                store.add_version("A", &v).await.unwrap_err(),
            ] {
                let shown = format!("{err}\n{err:?}");
                assert!(
                    shown.contains("source only") && shown.contains("hint"),
                    "{shown}"
                );
                assert!(!shown.contains("CANARY"), "{shown}");
            }
        });
    }

    fn vars(text: &str) -> Vec<(String, String)> {
        parse(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v.expose().to_vec()).unwrap()))
            .collect()
    }

    fn refused(text: &str) -> (usize, String) {
        match parse(text.as_bytes()) {
            Ok(_) => panic!("accepted"),
            Err((line, what, _)) => (line, what),
        }
    }

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

    #[test]
    fn the_accepted_grammar() {
        assert_eq!(
            vars("A=1\n  B = two words  \nexport\tC='it'\nD=\"tab\\there \\\"q\\\" \\\\ \\$HOME\"   # c\nE=a#b\nF=x #y\n_G.h-i=''\r\nH=\"\"\n# end"),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "it".into()),
                ("D".into(), "tab\there \"q\" \\ $HOME".into()),
                ("E".into(), "a#b".into()),
                ("F".into(), "x".into()),
                ("_G.h-i".into(), "".into()),
                ("H".into(), "".into()),
            ]
        );
        assert_eq!(
            vars("export=1\n"),
            vec![("export".into(), "1".into())],
            "a variable may be named export"
        );
        assert_eq!(
            vars("A='$HOME ${X}'\nB=cost$5\n"),
            vec![
                ("A".into(), "$HOME ${X}".into()),
                ("B".into(), "cost$5".into())
            ]
        );
    }

    // Multi-line values (a PEM key) fall out of quotes that end only at their closing quote.
    #[test]
    fn quoted_values_may_span_lines() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----";
        let v = vars(&format!("KEY=\"{pem}\"\nNEXT=1\r\nSQ='a\r\nb'\n"));
        assert_eq!(v[0], ("KEY".into(), pem.into()));
        assert_eq!(v[1], ("NEXT".into(), "1".into()));
        assert_eq!(v[2], ("SQ".into(), "a\nb".into()));
        // An error after a multi-line value names the right line.
        assert_eq!(refused(&format!("KEY=\"{pem}\"\nBAD\n")).0, 5);
    }

    // Regression: `A="x"garbage` was silently read as `x`.
    #[test]
    fn text_after_a_closing_quote_is_refused() {
        for text in [
            "A=\"x\"garbage\n",
            "A='x'garbage\n",
            "A=\"x\" y\n",
            "A='x''y'\n",
        ] {
            let (line, what) = refused(text);
            assert!(
                line == 1 && what.contains("after the closing quote"),
                "{text:?}: {what}"
            );
        }
        assert!(parse(b"A=\"x\"  # ok\nB='y'\t\n").is_ok());
    }

    #[test]
    fn every_malformed_line_is_refused_with_its_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("A=1\nB=\"open\n", 2, "never closed"),
            ("A='open\nB=2\n", 1, "never closed"),
            ("A=\"x\\\"\n", 1, "never closed"),
            ("1A=x\n", 1, "not a variable name"),
            ("A B=x\n", 1, "no `=`"),
            ("=x\n", 1, "not a variable name"),
            ("A\n", 1, "no `=`"),
            ("export A\n", 1, "no `=`"),
            ("A=1\nB=2\nA=3\n", 3, "set on line 1 is set again"),
            ("A=x\0y\n", 1, "NUL"),
            ("A=1\nB=\"\\q\"\n", 2, "unknown escape"),
            ("A=it's\n", 1, "quote inside an unquoted value"),
            ("A=x\"y\"\n", 1, "quote inside an unquoted value"),
            ("A=${HOME}/x\n", 1, "reference"),
            ("A=\"$HOME\"\n", 1, "reference"),
            ("A=1\rB=2\n", 1, "carriage return"),
        ];
        for (text, line, what) in cases {
            let (l, w) = refused(text);
            assert!(l == *line && w.contains(what), "{text:?}: line {l}: {w}");
        }
        let (l, w, _) = parse(b"A=1\nB=\xff\n").unwrap_err();
        assert!(l == 2 && w.contains("UTF-8"), "{w}");
    }

    // An error names the file and line, never the value (nor any fragment of the line).
    #[test]
    fn errors_never_echo_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        for text in [
            "K=\"CANARY-v1\"CANARY-v2\n",
            "K='CANARY-v1\n",
            "K=\"CANARY-v1\\q\"\n",
            "CANARY-v1 CANARY-v2\n",
            "K=CANARY-v1\nK=CANARY-v2\n",
            "CANARYv1=1\nCANARYv1=2\n",
            "K=CANARY-v1'\n",
            "K=\"CANARY-v1${X}\"\n",
        ] {
            std::fs::write(&p, text).unwrap();
            let err = read(&p).unwrap_err();
            let shown = format!("{err} {} {err:?}", err.hint());
            assert!(
                !shown.contains("CANARY") && shown.contains(".env") && shown.contains("line "),
                "{text:?}: {shown}"
            );
        }
    }

    #[test]
    fn an_oversized_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        std::fs::write(&p, vec![b'#'; MAX_BYTES as usize + 1]).unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("larger than"));
    }
}
