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
//!
//! It also decides how text meets the terminal it goes to ([`Term`]): the width tables
//! wrap to and whether to colour. Colour is only ever added around a word the tool chose
//! (a severity, a status), by [`Term::paint`], which escapes what it wraps: no colour code
//! ever comes from input, and a colour is never the only sign (the word is always there).
//!
//! - Width: `COLUMNS` when it is a positive number (a test or a user can fix it, as clap
//!   does for `--help`); else the terminal's width when stdout is a terminal; else none:
//!   output to a pipe or a file is not wrapped (one line per row, for grep and awk).
//! - Colour: `--color always|never|auto`; `auto` (the default) colours only when the
//!   stream is a terminal and `NO_COLOR` is unset or empty. Per <https://no-color.org>,
//!   a `NO_COLOR` that is present and not empty, whatever its value, turns colour off,
//!   and a command-line flag overrides it (so `--color always` still colours).

use std::borrow::Cow;
use std::fmt::Write;
use std::io::IsTerminal;
use std::sync::OnceLock;

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

/// `--color`: when to colour what a person reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colour (overrides `NO_COLOR`, as no-color.org asks of a flag).
    Always,
    /// Never colour.
    Never,
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Records the process's `--color` once, before anything is printed (the CLI's `main`).
pub fn set_color_choice(c: ColorChoice) {
    let _ = CHOICE.set(c);
}

/// The process's `--color` (`auto` until set).
pub fn color_choice() -> ColorChoice {
    CHOICE.get().copied().unwrap_or_default()
}

/// `NO_COLOR` is present and not empty (no-color.org: "regardless of its value").
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether a stream gets colour, from the choice, whether it is a terminal and `NO_COLOR`.
pub fn wants_color(choice: ColorChoice, is_terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && !no_color,
    }
}

/// The colour a word the tool chose is shown in. Each is used beside the word itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Bold red: critical severity.
    Critical,
    /// Red: high severity, a failure, a revocation.
    Bad,
    /// Yellow: medium severity, pending, drift, a rotation.
    Warn,
    /// Green: a pass, done, a transfer.
    Good,
    /// Cyan: low severity, a time-bound grant, notes.
    Note,
}

impl Tone {
    fn sgr(self) -> &'static str {
        match self {
            Tone::Critical => "\x1b[1;31m",
            Tone::Bad => "\x1b[31m",
            Tone::Warn => "\x1b[33m",
            Tone::Good => "\x1b[32m",
            Tone::Note => "\x1b[36m",
        }
    }
}

/// The colour of a finding's severity (the word is always written too).
pub fn severity_tone(s: crate::model::Severity) -> Option<Tone> {
    use crate::model::Severity;
    match s {
        Severity::Critical => Some(Tone::Critical),
        Severity::High => Some(Tone::Bad),
        Severity::Medium => Some(Tone::Warn),
        Severity::Low => Some(Tone::Note),
        Severity::Info => None,
    }
}

const RESET: &str = "\x1b[0m";

/// Where human output goes: the width to wrap tables to (`None`: no wrapping) and
/// whether to colour. Renderers take one; the CLI builds it with [`Term::stdout`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Term {
    pub width: Option<u16>,
    pub color: bool,
}

impl Term {
    /// No wrapping, no colour: what a library caller or a test gets by default.
    pub const PLAIN: Term = Term {
        width: None,
        color: false,
    };

    /// Stdout as this process has it: `COLUMNS`, the terminal's width, `--color`, `NO_COLOR`.
    pub fn stdout() -> Term {
        let tty = std::io::stdout().is_terminal();
        let terminal = if tty {
            terminal_size::terminal_size().map(|(w, _)| w.0)
        } else {
            None
        };
        Term {
            width: width_from(std::env::var("COLUMNS").ok().as_deref(), terminal),
            color: wants_color(color_choice(), tty, no_color_env()),
        }
    }

    /// `text`, escaped, in `tone` when colouring (else only escaped).
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        let text = escape(text);
        if self.color {
            format!("{}{text}{RESET}", tone.sgr())
        } else {
            text.into_owned()
        }
    }
}

/// The colour codes [`Term::paint`] writes, and nothing else.
const PAINT_CODES: [&str; 6] = [
    "\x1b[1;31m",
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[32m",
    "\x1b[36m",
    RESET,
];

/// [`escape_block`] for a finished text that may hold [`Term::paint`]'s colour codes:
/// those exact codes are kept, every other control is escaped as by `escape_block` (a
/// renderer's last pass, for whatever one of its lines forgot to escape).
pub fn escape_block_keeping_paint(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&escape_block(&rest[..i]));
        let tail = &rest[i..];
        match PAINT_CODES.iter().find(|c| tail.starts_with(**c)) {
            Some(code) => {
                out.push_str(code);
                rest = &tail[code.len()..];
            }
            None => {
                out.push_str("\\x1b");
                rest = &tail[1..];
            }
        }
    }
    out.push_str(&escape_block(rest));
    out
}

/// `COLUMNS` when it is a positive number, else the terminal's width, else none.
fn width_from(columns: Option<&str>, terminal: Option<u16>) -> Option<u16> {
    columns
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w > 0)
        .or(terminal)
        .filter(|w| *w > 0)
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
    #[test]
    fn width_comes_from_columns_then_the_terminal_else_none() {
        assert_eq!(width_from(Some("80"), Some(120)), Some(80));
        assert_eq!(width_from(Some("0"), Some(120)), Some(120));
        assert_eq!(width_from(Some("wide"), None), None);
        assert_eq!(width_from(None, None), None);
    }

    /// no-color.org: NO_COLOR turns colour off in auto; a flag overrides it.
    #[test]
    fn colour_follows_the_flag_then_no_color_and_the_terminal() {
        use ColorChoice::*;
        assert!(wants_color(Auto, true, false));
        assert!(!wants_color(Auto, true, true));
        assert!(!wants_color(Auto, false, false));
        assert!(wants_color(Always, false, true));
        assert!(!wants_color(Never, true, false));
    }

    // A name carrying ESC sequences stays escaped inside the colour codes.
    #[test]
    fn paint_escapes_what_it_wraps() {
        let t = Term {
            width: None,
            color: true,
        };
        let p = t.paint("HIGH\u{1b}[2K", Tone::Bad);
        assert_eq!(p, "\u{1b}[31mHIGH\\x1b[2K\u{1b}[0m");
        assert_eq!(Term::PLAIN.paint("x\u{1b}", Tone::Good), "x\\x1b");
        assert_eq!(
            escape_block_keeping_paint(&format!("{p}\u{1b}[2J\u{7}\n")),
            format!("{p}\\x1b[2J\\x07\n")
        );
    }
}
