//! Tables for a terminal: laid out by comfy-table to the width of [`Term`], free text
//! wrapped, ids kept whole, one word per row coloured.
//!
//! Invariants:
//! - Every cell passes through `terminal::escape` before layout, so no control or bidi
//!   character of a name reaches the terminal; the only escape sequences in the output
//!   are the colour codes [`Term::paint`] puts around a word the renderer chose.
//! - No word is ever cut: a [`Fit::Keep`] column (ids, codes, statuses, dates) is as
//!   wide as its widest cell; a [`Fit::Wrap`] column (names, messages, reasons) wraps at
//!   spaces and is never narrower than its widest word (nor than `MIN_WRAP`).
//! - No line is longer than the width, except a single word longer than the width:
//!   when the columns cannot fit with every word whole, each row is written as a record
//!   instead (its kept cells on one line, then each wrapped cell as `HEADER: text`,
//!   wrapped at spaces).
//! - Without a width (output to a pipe or a file), nothing is wrapped: one line per row.
//! - Colour is laid on after layout, so it changes no width: the toned column and every
//!   column before it are `Keep` columns, whose cells sit whole on a row's first line at
//!   the offset of their header. A cell that is not found where expected stays plain.

use comfy_table::{ColumnConstraint, ContentArrangement, Width};

use super::terminal::{escape, Term, Tone};

/// How a column meets a narrow terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// Ids, codes, statuses, dates: never wrapped or cut.
    Keep,
    /// Free text (names, reasons, messages): wrapped to the width left.
    Wrap,
}

/// The narrowest a wrapped column gets (a column of one letter a line is unreadable).
const MIN_WRAP: u16 = 12;

struct Row {
    cells: Vec<String>,
    tone: Option<Tone>,
}

/// A table of rows under a header; [`Table::render`] lays it out for a [`Term`].
pub struct Table {
    columns: Vec<(&'static str, Fit)>,
    rows: Vec<Row>,
    indent: u16,
    toned: Option<usize>,
}

impl Table {
    /// A table with these columns, indented by two spaces.
    pub fn new(columns: &[(&'static str, Fit)]) -> Self {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
            indent: 2,
            toned: None,
        }
    }

    /// Spaces before the first column.
    pub fn indent(mut self, n: u16) -> Self {
        self.indent = n;
        self
    }

    /// The column whose word [`Table::toned_row`] colours. It and every column before it
    /// must be [`Fit::Keep`]; otherwise no colour is laid on.
    pub fn tone_column(mut self, column: usize) -> Self {
        self.toned = Some(column);
        self
    }

    /// A row without colour.
    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(Row { cells, tone: None });
        self
    }

    /// A row whose toned column is shown in `tone` (when the terminal colours).
    pub fn toned_row(&mut self, cells: Vec<String>, tone: Option<Tone>) -> &mut Self {
        self.rows.push(Row { cells, tone });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The laid-out table, each line trimmed and ending in a newline: columns when they
    /// fit the width with every word whole, else one record per row (see the module doc).
    pub fn render(&self, term: &Term) -> String {
        if self.beyond_layout() {
            return self.stacked(term).into_iter().map(|l| l + "\n").collect();
        }
        let lines = self.layout(term);
        let fits = match term.width {
            None => true,
            Some(w) => lines.iter().all(|l| l.chars().count() <= usize::from(w)),
        };
        let lines = if fits {
            match self.toned.filter(|_| term.color) {
                Some(col) => self.paint(lines, col, term),
                None => lines,
            }
        } else {
            self.stacked(term)
        };
        let mut out = String::new();
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        out
    }

    /// Whether a row is too wide for comfy-table, whose widths are `u16` sums that
    /// overflow (a panic in a debug build) near 65,535 columns: a hostile name of that
    /// length is then shown one record per row. Each char counts as two columns (the
    /// widest a terminal draws one), so the bound holds for any text.
    fn beyond_layout(&self) -> bool {
        const MOST: usize = 16_384;
        self.rows.iter().any(|r| {
            let chars: usize = (0..self.columns.len())
                .map(|i| self.cell(r, i).chars().count() * 2 + 2)
                .sum();
            chars + usize::from(self.indent) > MOST
        })
    }

    fn cell(&self, r: &Row, i: usize) -> String {
        let c = r.cells.get(i).map(String::as_str).unwrap_or("");
        // A toned cell is never blank: its row is found by it.
        if Some(i) == self.toned && c.trim().is_empty() {
            "-".into()
        } else {
            escape(c).into_owned()
        }
    }

    /// The widest word of a column, its header included: a wrapped column is never
    /// narrower, so comfy-table never splits a word (an id) in it.
    fn widest_word(&self, col: usize) -> u16 {
        let header = self.columns[col].0.split(' ').map(|w| w.chars().count());
        let cells = self.rows.iter().flat_map(|r| {
            self.cell(r, col)
                .split(' ')
                .map(|w| w.chars().count())
                .collect::<Vec<_>>()
        });
        let widest = header.chain(cells).max().unwrap_or(0);
        u16::try_from(widest).unwrap_or(u16::MAX)
    }

    fn layout(&self, term: &Term) -> Vec<String> {
        let mut t = comfy_table::Table::new();
        t.load_style(comfy_table::presets::NOTHING);
        match term.width {
            Some(w) => {
                t.set_width(w);
                t.set_content_arrangement(ContentArrangement::Dynamic);
            }
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        t.set_header(self.columns.iter().map(|(h, _)| *h).collect::<Vec<_>>());
        for r in &self.rows {
            t.add_row(
                (0..self.columns.len())
                    .map(|i| self.cell(r, i))
                    .collect::<Vec<_>>(),
            );
        }
        for (i, (_, fit)) in self.columns.iter().enumerate() {
            let least = self.widest_word(i).max(MIN_WRAP);
            if let Some(c) = t.column_mut(i) {
                c.set_padding((if i == 0 { self.indent } else { 0 }, 2));
                c.set_constraint(match fit {
                    Fit::Keep => ColumnConstraint::ContentWidth,
                    Fit::Wrap => ColumnConstraint::LowerBoundary(Width::Fixed(least)),
                });
            }
        }
        t.lines().map(|l| l.trim_end().to_string()).collect()
    }

    /// One record per row, for a width the columns do not fit: the kept cells on one
    /// line (the toned word coloured), then each wrapped cell on its own lines as
    /// `HEADER: text`, wrapped with [`wrap`] (words whole).
    fn stacked(&self, term: &Term) -> Vec<String> {
        let pad = " ".repeat(usize::from(self.indent));
        let mut out = Vec::new();
        for r in &self.rows {
            let mut first = pad.clone();
            let mut toned_at = None;
            for (i, (_, fit)) in self.columns.iter().enumerate() {
                let c = self.cell(r, i);
                if *fit == Fit::Wrap || c.is_empty() {
                    continue;
                }
                if first.len() > pad.len() {
                    first.push_str("  ");
                }
                if Some(i) == self.toned {
                    toned_at = Some((first.chars().count(), c.clone()));
                }
                first.push_str(&c);
            }
            let mut lines: Vec<String> = wrap(&first, pad.len() + 4, term)
                .lines()
                .map(str::to_string)
                .collect();
            if let (Some((at, word)), Some(tone), Some(line)) =
                (toned_at, r.tone.filter(|_| term.color), lines.first_mut())
            {
                if let Some(p) = paint_at(line, at, &word, tone, term) {
                    *line = p;
                }
            }
            out.extend(lines);
            for (i, (header, fit)) in self.columns.iter().enumerate() {
                let c = self.cell(r, i);
                if *fit == Fit::Keep || c.is_empty() {
                    continue;
                }
                let text = format!("{pad}    {header}: {c}");
                out.extend(wrap(&text, pad.len() + 6, term).lines().map(str::to_string));
            }
        }
        out
    }

    /// Colours each row's word in column `col`, found on the row's first line at the
    /// offset of its header (all columns up to `col` are kept whole, so it is there).
    fn paint(&self, mut lines: Vec<String>, col: usize, term: &Term) -> Vec<String> {
        if col >= self.columns.len() || self.columns[..=col].iter().any(|(_, f)| *f == Fit::Wrap) {
            return lines;
        }
        let Some(offset) = header_offset(lines.first().map(String::as_str), &self.columns, col)
        else {
            return lines;
        };
        let mut rows = self.rows.iter();
        for line in lines.iter_mut().skip(1) {
            // A continuation line is blank in every kept column, the toned one included.
            if line.chars().nth(offset).is_none_or(|c| c == ' ') {
                continue;
            }
            let Some(row) = rows.next() else { break };
            let Some(tone) = row.tone else { continue };
            if let Some(p) = paint_at(line, offset, &self.cell(row, col), tone, term) {
                *line = p;
            }
        }
        lines
    }
}

/// `line` with `word` coloured, when `word` stands whole at char `offset`; else `None`.
fn paint_at(line: &str, offset: usize, word: &str, tone: Tone, term: &Term) -> Option<String> {
    let chars: Vec<char> = line.chars().collect();
    let n = word.chars().count();
    let at: String = chars.iter().skip(offset).take(n).collect();
    if at != word || chars.get(offset + n).is_some_and(|c| *c != ' ') {
        return None;
    }
    let before: String = chars[..offset].iter().collect();
    let rest: String = chars[offset + n..].iter().collect();
    Some(format!("{before}{}{rest}", term.paint(word, tone)))
}

/// One line of free text (already built from escaped parts; escaped again here, which
/// changes nothing that was), wrapped at spaces to the width with every line after the
/// first indented by `hang` spaces. A word is never cut (it may be an id): one that does
/// not fit after the indent starts its own line, indented less so that it fits, and only
/// a word longer than the width makes a longer line. Without a width, the line as it
/// is. Ends in a newline.
pub fn wrap(text: &str, hang: usize, term: &Term) -> String {
    let text = escape(text);
    let Some(width) = term.width.map(usize::from) else {
        return format!("{text}\n");
    };
    let lead = text.len() - text.trim_start().len();
    let mut out = String::new();
    let mut line = String::new();
    let mut len = 0;
    let mut indent = lead;
    // Runs of spaces inside a line are kept (columns of a record line); at a break they go.
    let mut gap = 1;
    for word in text[lead..].split(' ') {
        if word.is_empty() {
            gap += 1;
            continue;
        }
        let sep = std::mem::replace(&mut gap, 1);
        let n = word.chars().count();
        if len > 0 && len + sep + n > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
            len = 0;
            indent = hang;
        }
        if len == 0 {
            let at = indent.min(width.saturating_sub(n));
            line.push_str(&" ".repeat(at));
            len = at;
        } else {
            line.push_str(&" ".repeat(sep));
            len += sep;
        }
        line.push_str(word);
        len += n;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// Where column `col` starts on the header line: each header is found after the one before.
fn header_offset(
    header: Option<&str>,
    columns: &[(&'static str, Fit)],
    col: usize,
) -> Option<usize> {
    let header: Vec<char> = header?.chars().collect();
    let mut from = 0;
    let mut start = 0;
    for (name, _) in &columns[..=col] {
        let name: Vec<char> = name.chars().collect();
        start = (from..=header.len().checked_sub(name.len())?)
            .find(|&i| header[i..i + name.len()] == name[..])?;
        from = start + name.len();
    }
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&[
            ("SEVERITY", Fit::Keep),
            ("CODE", Fit::Keep),
            ("WHAT", Fit::Wrap),
        ])
        .tone_column(0);
        t.toned_row(
            vec![
                "HIGH".into(),
                "access-key-unused-long-code".into(),
                "an access key of a user that has not been used for two hundred days and more, still active".into(),
            ],
            Some(Tone::Bad),
        );
        t.toned_row(
            vec!["LOW".into(), "x".into(), "short".into()],
            Some(Tone::Note),
        );
        t
    }

    // The fuzz run found it: a name near 65,535 columns wide overflowed comfy-table's
    // u16 width sums ("attempt to add with overflow", a panic in debug builds).
    #[test]
    fn a_cell_wider_than_comfy_tables_arithmetic_is_shown_as_a_record() {
        let long = "x".repeat(70_000);
        let mut t = Table::new(&[("CODE", Fit::Keep), ("WHAT", Fit::Wrap)]);
        t.row(vec!["C-1".into(), format!("{long} end")]);
        for width in [None, Some(80)] {
            let term = Term {
                width,
                ..Term::PLAIN
            };
            let out = t.render(&term);
            assert!(out.contains(&long) && out.contains("C-1"), "{width:?}");
        }
    }

    #[test]
    fn free_text_wraps_at_spaces_with_a_hanging_indent() {
        let t = Term {
            width: Some(20),
            color: false,
        };
        assert_eq!(
            wrap("  one two three four five six", 4, &t),
            "  one two three four\n    five six\n"
        );
        let id = "arn:aws:iam::123456789012:role/a-very-long-role-name";
        assert_eq!(wrap(&format!("x {id} y"), 2, &t), format!("x\n{id}\n  y\n"));
        assert_eq!(
            wrap("ab 0123456789abcdefgh", 4, &t),
            "ab\n  0123456789abcdefgh\n"
        );
        assert_eq!(
            wrap("abcdef 0123456789abcde", 4, &t),
            "abcdef\n    0123456789abcde\n"
        );
        assert_eq!(wrap("a  b", 2, &Term::PLAIN), "a  b\n");
        assert_eq!(
            wrap("a  b   c", 2, &t),
            "a  b   c\n",
            "spaces inside a line kept"
        );
    }

    #[test]
    fn lines_fit_the_width_and_ids_stay_whole() {
        for w in [60u16, 80, 200] {
            let out = sample().render(&Term {
                width: Some(w),
                color: false,
            });
            for l in out.lines() {
                assert!(l.chars().count() <= w as usize, "{w}: {l:?}\n{out}");
            }
            assert!(out.contains("access-key-unused-long-code"), "{out}");
        }
        let narrow = sample().render(&Term {
            width: Some(30),
            color: false,
        });
        assert!(narrow.contains("access-key-unused-long-code"), "{narrow}");
        for l in narrow.lines() {
            assert!(
                l.chars().count() <= 30 || !l.trim().contains(' '),
                "a longer line is one word: {l:?}\n{narrow}"
            );
        }
        assert!(
            narrow.contains("      WHAT: an access key"),
            "stacked: {narrow}"
        );
        let wide = sample().render(&Term::PLAIN);
        assert_eq!(
            wide.lines().count(),
            3,
            "no width: one line per row\n{wide}"
        );
    }

    #[test]
    fn colour_goes_on_the_toned_word_only_and_the_word_stays() {
        let term = Term {
            width: Some(40),
            color: true,
        };
        let out = sample().render(&term);
        assert!(out.contains("\u{1b}[31mHIGH\u{1b}[0m"), "{out}");
        assert!(out.contains("\u{1b}[36mLOW\u{1b}[0m"), "{out}");
        assert_eq!(out.matches('\u{1b}').count(), 4, "{out}");
        let plain = sample().render(&Term {
            width: Some(40),
            color: false,
        });
        assert!(!plain.contains('\u{1b}'));
        assert_eq!(
            plain,
            out.replace("\u{1b}[31m", "")
                .replace("\u{1b}[36m", "")
                .replace("\u{1b}[0m", "")
        );
    }

    #[test]
    fn a_stacked_row_keeps_its_colour_and_its_word() {
        let out = sample().render(&Term {
            width: Some(36),
            color: true,
        });
        assert!(
            out.contains("  \u{1b}[31mHIGH\u{1b}[0m  access-key"),
            "{out:?}"
        );
    }

    // A cell carrying ESC sequences is escaped, coloured or not.
    #[test]
    fn hostile_cells_are_escaped_with_colour_around_them() {
        let mut t = Table::new(&[("STATUS", Fit::Keep), ("NAME", Fit::Wrap)]).tone_column(0);
        t.toned_row(
            vec!["FAIL\u{1b}[2K".into(), "eve\u{1b}]0;x\u{7}".into()],
            Some(Tone::Bad),
        );
        let out = t.render(&Term {
            width: Some(80),
            color: true,
        });
        assert!(out.contains("\u{1b}[31mFAIL\\x1b[2K\u{1b}[0m"), "{out:?}");
        assert!(out.contains("eve\\x1b]0;x\\x07"), "{out:?}");
        assert_eq!(out.matches('\u{1b}').count(), 2, "{out:?}");
    }
}
