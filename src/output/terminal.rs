//! Escaping untrusted text before it reaches a terminal.
//!
//! Names, labels, messages and errors come from snapshots, cloud APIs, manifests and
//! command lines that an attacker may have written. Printed raw, an ESC sequence can
//! erase or rewrite lines ("Signature: NOT VERIFIED" becomes "Signature: good"), and a
//! bidi override can reorder what a reader sees. Every human-format renderer passes each
//! untrusted string through [`escape`] (or [`escape_block`] for multi-line content shown
//! on purpose).
//!
//! Invariants: the output holds no C0 control (U+0000-U+001F), DEL, C1 control
//! (U+0080-U+009F), bidi embedding, override or isolate (U+202A-U+202E,
//! U+2066-U+2069), bidi mark (U+200E, U+200F, U+061C) or line/paragraph separator
//! (U+2028, U+2029); each is shown visibly as `\n`, `\t`, `\r`, `\xNN` or `\u{NNNN}`.
//! [`escape_block`] keeps `\n` and `\t` only. Every other character, multi-byte text
//! included, is kept as it is. Backslashes are not doubled: the aim is a safe terminal,
//! not a reversible encoding (JSON output is the exact form; serde_json escapes it).

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}' | '\u{80}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}'
        | '\u{2028}' | '\u{2029}')
}

fn escape_with(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if !is_unsafe(c) || keep(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// One line of untrusted text, safe for a terminal: every control (newlines too) and
/// bidi control escaped visibly.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_with(s, |_| false)
}

/// Multi-line untrusted text shown on purpose (a revealed credential): as [`escape`],
/// but newlines and tabs are kept.
pub fn escape_block(s: &str) -> Cow<'_, str> {
    escape_with(s, |c| c == '\n' || c == '\t')
}

/// Escapes, in place, every string in a JSON value (keys included) with [`escape`]:
/// for rendering a whole document that came from an untrusted file.
pub fn escape_json_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let Cow::Owned(e) = escape(s) {
                *s = e;
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(escape_json_strings),
        serde_json::Value::Object(o) => {
            let map = std::mem::take(o);
            for (k, mut val) in map {
                escape_json_strings(&mut val);
                o.insert(escape(&k).into_owned(), val);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_c0_c1_del_and_bidi_controls_visibly() {
        assert_eq!(escape("a\u{1b}[2Kb"), "a\\x1b[2Kb");
        assert_eq!(escape("\u{7}\u{0}\u{7f}"), "\\x07\\x00\\x7f");
        assert_eq!(escape("x\u{9b}31m"), "x\\x9b31m", "C1 CSI");
        assert_eq!(escape("line\nnext\r\t"), "line\\nnext\\r\\t");
        assert_eq!(
            escape("abc\u{202e}fed"),
            "abc\\u{202e}fed",
            "right-to-left override"
        );
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}', '\u{2028}', '\u{2029}',
        ] {
            let e = escape(&c.to_string()).into_owned();
            assert!(e.starts_with("\\u{") && !e.contains(c), "{c:?} -> {e}");
        }
    }

    #[test]
    fn keeps_ordinary_and_multi_byte_text_as_it_is() {
        for s in [
            "alice@northwind.example",
            "Zoë Müller",
            "東京-prod",
            "🔑 key",
            "C:\\path",
            "arn:aws:iam::123456789012:user/x",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(_)), "{s}");
            assert_eq!(escape(s), s);
        }
        assert_eq!(escape("Zoë\u{1b}]0;t\u{7}東京"), "Zoë\\x1b]0;t\\x07東京");
    }

    #[test]
    fn a_block_keeps_newlines_and_tabs_only() {
        assert_eq!(
            escape_block("-----BEGIN-----\n\tAAAA\u{1b}[2J\n"),
            "-----BEGIN-----\n\tAAAA\\x1b[2J\n"
        );
        assert_eq!(escape_block("a\rb"), "a\\rb");
    }

    #[test]
    fn json_strings_and_keys_are_escaped_and_the_rest_kept() {
        let mut v = serde_json::json!({"n\u{1b}": ["\u{202e}x", 1, true, null, {"k": "ok"}]});
        escape_json_strings(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"n\\x1b": ["\\u{202e}x", 1, true, null, {"k": "ok"}]})
        );
    }

    /// JSON output needs no escaping of its own: serde_json writes C0 controls as
    /// `\u001b` (DEL, C1 and bidi controls stay as UTF-8: JSON is for programs).
    #[test]
    fn serde_json_output_holds_no_raw_control() {
        let s =
            serde_json::to_string(&serde_json::json!({"name": "x\u{1b}[2K\u{9b}\u{7f}"})).unwrap();
        assert!(!s.contains('\u{1b}'), "{s}");
        assert!(s.contains("\\u001b"), "{s}");
    }
}
