//! Lines wrapped to a width with a hanging indent: a long line continues under its own
//! text (past its indent and its ✓ ▲ ✗ mark), not at the border.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

type Cell = (char, Style);

/// `lines`, each longer than `width` broken at spaces into rows that start at its indent.
pub fn hanging(lines: Vec<Line<'static>>, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if width < 8 || line.width() <= width {
            out.push(line);
            continue;
        }
        let style = line.style;
        let cells: Vec<Cell> =
            line.spans.iter().flat_map(|s| s.content.chars().map(move |c| (c, s.style))).collect();
        let indent = hang_of(&cells).min(width / 2);
        for row in rows(&cells, width, indent) {
            out.push(Line::from(spans(row)).style(style));
        }
    }
    out
}

fn cell_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Where continuation rows start: past the leading spaces and a one-character mark
/// followed by a space (" ✓ text", "   ! rule").
fn hang_of(cells: &[Cell]) -> usize {
    let lead = cells.iter().take_while(|(c, _)| *c == ' ').count();
    match (cells.get(lead), cells.get(lead + 1)) {
        (Some((mark, _)), Some((' ', _))) if !mark.is_alphanumeric() => {
            lead + cell_width(*mark) + 1
        }
        _ => lead,
    }
}

/// Greedy word wrap of `cells` into rows of at most `width` columns, continuations padded
/// to `indent`; a word longer than a row is cut.
fn rows(cells: &[Cell], width: usize, indent: usize) -> Vec<Vec<Cell>> {
    let w = |cs: &[Cell]| cs.iter().map(|(c, _)| cell_width(*c)).sum::<usize>();
    let (mut out, mut row): (Vec<Vec<Cell>>, Vec<Cell>) = (Vec::new(), Vec::new());
    let (mut used, mut row_start) = (0, 0);
    let mut i = 0;
    while i < cells.len() {
        let start = i;
        while i < cells.len() && cells[i].0 == ' ' {
            i += 1;
        }
        let word_start = i;
        while i < cells.len() && cells[i].0 != ' ' {
            i += 1;
        }
        let (spaces, word) = (&cells[start..word_start], &cells[word_start..i]);
        if used + w(spaces) + w(word) <= width {
            row.extend_from_slice(spaces);
            row.extend_from_slice(word);
            used += w(spaces) + w(word);
            continue;
        }
        let pad = vec![(' ', word.first().map(|c| c.1).unwrap_or_default()); indent];
        if used > row_start {
            out.push(std::mem::replace(&mut row, pad.clone()));
            (used, row_start) = (indent, indent);
        }
        let mut rest = word.to_vec();
        while used + w(&rest) > width {
            let (head, tail) = cut(&rest, width.saturating_sub(used));
            row.extend(head);
            out.push(std::mem::replace(&mut row, pad.clone()));
            (used, row_start) = (indent, indent);
            rest = tail;
        }
        used += w(&rest);
        row.extend(rest);
    }
    if used > row_start || out.is_empty() {
        out.push(row);
    }
    out
}

/// The first `width` columns of `cells`, and the rest.
fn cut(cells: &[Cell], width: usize) -> (Vec<Cell>, Vec<Cell>) {
    let mut used = 0;
    let mut n = 0;
    for (c, _) in cells {
        let w = cell_width(*c);
        if used + w > width && n > 0 {
            break;
        }
        used += w;
        n += 1;
    }
    (cells[..n].to_vec(), cells[n..].to_vec())
}

/// Cells back into spans, one per run of the same style.
fn spans(row: Vec<Cell>) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style: Option<Style> = None;
    for (c, s) in row {
        if style.is_some_and(|cur| cur != s) {
            out.push(Span::styled(std::mem::take(&mut text), style.unwrap_or_default()));
        }
        style = Some(s);
        text.push(c);
    }
    if let Some(s) = style {
        out.push(Span::styled(text, s));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    #[test]
    fn a_long_line_continues_under_its_text() {
        let line = Line::raw("   ▲ require-lock-timeout  line 3: the statement waits for a lock");
        let out = texts(&hanging(vec![line], 30));
        assert_eq!(
            out,
            ["   ▲ require-lock-timeout", "     line 3: the statement", "     waits for a lock",]
        );
        assert!(out.iter().all(|l| l.chars().count() <= 30), "{out:?}");
    }

    #[test]
    fn styles_and_short_lines_are_kept_and_long_words_are_cut() {
        let line = Line::from(vec![
            Span::styled(" ✓ ", Style::new().bold()),
            Span::raw("backup /var/backups/sluice/prod_shop_20261201T223833Z_pre-0002.dump"),
        ]);
        let out = hanging(vec![Line::raw("short"), line], 24);
        let t = texts(&out);
        assert_eq!(t[0], "short");
        assert_eq!(t[1], " ✓ backup");
        assert!(t[2..].iter().all(|l| l.starts_with("   ") && l.chars().count() <= 24), "{t:?}");
        let joined: String = t[2..].iter().map(|l| l.trim_start()).collect();
        assert_eq!(joined, "/var/backups/sluice/prod_shop_20261201T223833Z_pre-0002.dump");
        assert!(out[1].spans[0].style.add_modifier.contains(ratatui::style::Modifier::BOLD));
    }
}
