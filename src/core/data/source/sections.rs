//! Files that hold their up and down SQL in sections (goose, sql-migrate): what those tools
//! share, and other tools' section markers in a file read as plain SQL. A file that carries its down
//! SQL below a marker (goose's `-- +goose Down`, sql-migrate's `-- +migrate Down`, tern's
//! `---- create above / drop below ----`, MyBatis's `-- //@UNDO`) runs whole when read as
//! plain SQL: the down right after the up. Such a file is refused, naming the marker.

/// The first line (1-based) that is another tool's section marker, with the tool's name.
pub fn foreign_marker(text: &str) -> Option<(usize, &'static str, String)> {
    // Cheap first: most files name none of the markers.
    if !["+goose", "+migrate", "migrate:", "drop below", "@UNDO"].iter().any(|m| text.contains(m)) {
        return None;
    }
    text.lines().enumerate().find_map(|(i, line)| {
        let t = line.trim();
        let tool = if super::goose::is_annotation(line) {
            "goose"
        } else if t.starts_with("-- +migrate ") {
            "sql-migrate"
        } else if super::dbmate::is_marker(t) {
            "dbmate"
        } else if t == "---- create above / drop below ----" {
            "tern"
        } else if t == "-- //@UNDO" {
            "MyBatis Migrations"
        } else {
            return None;
        };
        Some((i + 1, tool, t.to_string()))
    })
}

/// goose and sql-migrate end a statement on a line whose last word before a `--` word ends
/// with `;`.
pub fn ends_with_semicolon(line: &str) -> bool {
    let words = line.split_whitespace().take_while(|w| !w.starts_with("--"));
    words.last().is_some_and(|w| w.ends_with(';'))
}

/// The lines of one section (`section[i]`: Some(true) up, Some(false) down), the others
/// left empty so line numbers stay the file's.
pub fn section_text(lines: &[&str], section: &[Option<bool>], up: bool) -> String {
    let mut out = String::new();
    for (l, s) in lines.iter().zip(section) {
        if *s == Some(up) {
            out.push_str(l);
        }
        out.push('\n');
    }
    out
}

/// These tools cut a statement at every line that ends in `;` outside a block: one that
/// ends inside a quoted or dollar-quoted body is sent in pieces and fails. Such a file is
/// refused here too, naming the line and the block markers (`wrap`) that keep it whole.
/// `chunks`: the statements the tool would send, as lines (0-based, inclusive).
pub fn check_cuts(
    lines: &[&str],
    chunks: &[(usize, usize)],
    tool: &str,
    wrap: &str,
) -> Result<(), (usize, String)> {
    for &(from, to) in chunks {
        let text = lines[from..=to].join("\n");
        if let Some((line, why)) = crate::core::data::sql::lexical_problem(&text) {
            return Err((
                to + 1,
                format!(
                    "{tool} ends a statement here (the line ends in `;`), but line {} is inside it: {why}; wrap the statement in {wrap}",
                    from + line
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tools_marker_is_named() {
        let cases = [
            ("CREATE TABLE t (a int);\n-- +goose Down\nDROP TABLE t;\n", 2, "goose"),
            ("-- +migrate Up\nCREATE TABLE t (a int);\n", 1, "sql-migrate"),
            ("SELECT 1;\n--migrate:down\n", 2, "dbmate"),
            ("SELECT 1;\n\n---- create above / drop below ----\nDROP TABLE t;\n", 3, "tern"),
            ("SELECT 1;\n-- //@UNDO\nDROP TABLE t;\n", 2, "MyBatis Migrations"),
        ];
        for (text, line, tool) in cases {
            let (l, t, _) = foreign_marker(text).unwrap_or_else(|| panic!("{text:?}"));
            assert_eq!((l, t), (line, tool), "{text:?}");
        }
        for plain in [
            "-- migrate the users to the new table\nSELECT 1;\n",
            "SELECT '-- +migrate Down';\n",
            "-- drop below the fold\n",
        ] {
            assert_eq!(foreign_marker(plain), None, "{plain:?}");
        }
    }
}
