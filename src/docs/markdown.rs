//! A Markdown document as the checks see it: its headings and its blocks (paragraphs,
//! list items, table rows), each with its 1-based line, read once by pulldown-cmark
//! (CommonMark with tables).
//!
//! Invariants:
//! - Parsed to data once; the checks never look at the raw text for structure.
//! - Iterative: nesting depth costs memory in proportion to the input, never stack
//!   (pulldown-cmark parses without recursion; this walk keeps an explicit stack).
//! - A block's text is its own: a nested list item is a block of its own, not part of
//!   its parent's text.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// A heading: its level (1-6), its text and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: u8,
    pub text: String,
    pub line: usize,
}

/// What a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Paragraph,
    /// A list item (of an ordered list when `true`).
    Item {
        ordered: bool,
    },
    /// A table's header row.
    HeaderRow,
    /// A table's body row.
    Row,
}

/// A block of text under the heading before it (`heading`: its index, `None` before
/// the first heading).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// The block's text; a row's cells joined with ` | `.
    pub text: String,
    /// A table row's cells (empty for other blocks).
    pub cells: Vec<String>,
    pub line: usize,
    pub heading: Option<usize>,
}

/// The outline of one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline {
    pub headings: Vec<Heading>,
    pub blocks: Vec<Block>,
}

/// 1-based line of a byte offset, from the offsets at which lines start.
pub fn line_of(starts: &[usize], offset: usize) -> usize {
    match starts.binary_search(&offset) {
        Ok(i) => i + 1,
        Err(i) => i,
    }
}

/// The byte offsets at which each line starts.
pub fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// What is being collected while the parser is inside a block.
struct Open {
    kind: Option<BlockKind>,
    text: String,
    cells: Vec<String>,
    line: usize,
}

impl Outline {
    /// Parses `text` (CommonMark with tables).
    pub fn parse(text: &str) -> Outline {
        let starts = line_starts(text);
        let mut out = Outline::default();
        // One entry per open container that collects text; `None` kinds (a list, a
        // table) only mark nesting.
        let mut stack: Vec<Open> = Vec::new();
        let mut heading: Option<(u8, String, usize)> = None;
        let mut ordered: Vec<bool> = Vec::new();
        for (event, range) in Parser::new_ext(text, Options::ENABLE_TABLES).into_offset_iter() {
            let line = line_of(&starts, range.start);
            match event {
                Event::Start(Tag::Heading { level, .. }) => {
                    heading = Some((level as u8, String::new(), line));
                }
                Event::End(TagEnd::Heading(_)) => {
                    if let Some((level, text, line)) = heading.take() {
                        out.headings.push(Heading {
                            level,
                            text: text.trim().to_string(),
                            line,
                        });
                    }
                }
                Event::Start(Tag::List(first)) => ordered.push(first.is_some()),
                Event::End(TagEnd::List(_)) => {
                    ordered.pop();
                }
                Event::Start(tag) => {
                    let kind = match tag {
                        Tag::Item => Some(BlockKind::Item {
                            ordered: ordered.last().copied().unwrap_or(false),
                        }),
                        Tag::TableHead => Some(BlockKind::HeaderRow),
                        Tag::TableRow => Some(BlockKind::Row),
                        // A paragraph inside an item or a row is that block's text.
                        Tag::Paragraph if stack.iter().all(|o| o.kind.is_none()) => {
                            Some(BlockKind::Paragraph)
                        }
                        _ => None,
                    };
                    if kind.is_some() || matches!(tag, Tag::TableCell) {
                        stack.push(Open {
                            kind,
                            text: String::new(),
                            cells: Vec::new(),
                            line,
                        });
                    }
                }
                Event::End(end) => {
                    let closes = matches!(
                        end,
                        TagEnd::Item | TagEnd::TableHead | TagEnd::TableRow | TagEnd::TableCell
                    ) || (end == TagEnd::Paragraph
                        && stack
                            .last()
                            .is_some_and(|o| o.kind == Some(BlockKind::Paragraph)));
                    if closes {
                        out.close(&mut stack);
                    }
                }
                Event::Text(t) | Event::Code(t) => {
                    push_text(&mut heading, &mut stack, &t);
                }
                Event::SoftBreak | Event::HardBreak => push_text(&mut heading, &mut stack, " "),
                _ => {}
            }
        }
        while !stack.is_empty() {
            out.close(&mut stack);
        }
        out
    }

    /// Closes the innermost open block: a cell's text joins its row (with ` | `).
    fn close(&mut self, stack: &mut Vec<Open>) {
        let Some(open) = stack.pop() else { return };
        match open.kind {
            Some(kind) => self.blocks.push(Block {
                kind,
                text: if open.cells.is_empty() {
                    open.text.trim().to_string()
                } else {
                    open.cells.join(" | ")
                },
                cells: open.cells,
                line: open.line,
                heading: self.headings.len().checked_sub(1),
            }),
            None => {
                if let Some(parent) = stack.last_mut() {
                    parent.cells.push(open.text.trim().to_string());
                }
            }
        }
    }

    /// The index of the first heading whose text contains one of `names`
    /// (case-insensitively).
    pub fn find_heading(&self, names: &[String]) -> Option<usize> {
        self.find_heading_except(names, &[])
    }

    /// `find_heading`, skipping headings that contain one of `except` (the error budget
    /// is not its policy).
    pub fn find_heading_except(&self, names: &[String], except: &[String]) -> Option<usize> {
        let has = |t: &str, names: &[String]| names.iter().any(|n| t.contains(&n.to_lowercase()));
        self.headings.iter().position(|h| {
            let t = h.text.to_lowercase();
            has(&t, names) && !has(&t, except)
        })
    }

    /// The index of the first heading after heading `i`'s section (its sub-headings are
    /// in it).
    pub fn section_end(&self, i: usize) -> usize {
        let level = self.headings[i].level;
        self.headings[i + 1..]
            .iter()
            .position(|h| h.level <= level)
            .map_or(self.headings.len(), |p| i + 1 + p)
    }

    /// The blocks of heading `i`'s section: under it or under its sub-headings, up to
    /// the next heading of its level or above.
    pub fn section(&self, i: usize) -> impl Iterator<Item = &Block> {
        let end = self.section_end(i);
        self.blocks
            .iter()
            .filter(move |b| b.heading.is_some_and(|h| h >= i && h < end))
    }
}

fn push_text(heading: &mut Option<(u8, String, usize)>, stack: &mut [Open], t: &str) {
    if let Some((_, text, _)) = heading {
        text.push_str(t);
    } else if let Some(open) = stack.last_mut() {
        open.text.push_str(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_items_and_rows_with_their_lines() {
        let o = Outline::parse(
            "# Title\n\nIntro text.\n\n## Steps\n\n1. first\n   - nested\n2. second\n\n## Table\n\n| a | b |\n|---|---|\n| x | y |\n",
        );
        let h: Vec<(u8, &str, usize)> = o
            .headings
            .iter()
            .map(|h| (h.level, h.text.as_str(), h.line))
            .collect();
        assert_eq!(h, [(1, "Title", 1), (2, "Steps", 5), (2, "Table", 11)]);
        let b: Vec<(&str, usize)> = o.blocks.iter().map(|b| (b.text.as_str(), b.line)).collect();
        assert_eq!(
            b,
            [
                ("Intro text.", 3),
                ("nested", 8),
                ("first", 7),
                ("second", 9),
                ("a | b", 13),
                ("x | y", 15)
            ]
        );
        let steps = o.find_heading(&["steps".into()]).unwrap();
        assert_eq!(o.section(steps).count(), 3);
        assert_eq!(o.section(0).count(), 6, "a level-1 section holds the rest");
    }
}
