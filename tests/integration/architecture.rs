//! The layout ARCHITECTURE.md draws, checked on the sources: core's floors only look down,
//! core has no UI and prints nothing, and the two faces never import each other.

use std::path::{Path, PathBuf};

/// core's floors, lowest first: a file may name its own floor and the ones before it.
const FLOORS: [&str; 7] = ["host", "data", "db", "guard", "record", "query", "exec"];

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The code of a file without its `#[cfg(test)]` tail and without comment lines.
fn code(p: &Path) -> String {
    let text = std::fs::read_to_string(p).expect("read source");
    let body = text.split("#[cfg(test)]").next().unwrap_or("");
    body.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Every `crate::core::<floor>` a piece of code names.
fn floors_named(code: &str) -> Vec<&'static str> {
    FLOORS.iter().copied().filter(|f| code.contains(&format!("crate::core::{f}::"))).collect()
}

#[test]
fn core_floors_only_look_down() {
    let core = src().join("core");
    let mut upward = Vec::new();
    for p in sources(&core) {
        let rel = p.strip_prefix(&core).expect("under core");
        let Some(floor) = rel.iter().next().and_then(|f| f.to_str()) else { continue };
        let Some(me) = FLOORS.iter().position(|f| *f == floor) else { continue };
        for named in floors_named(&code(&p)) {
            let them = FLOORS.iter().position(|f| *f == named).expect("a floor");
            if them > me {
                upward.push(format!("{} (floor {floor}) names {named}", rel.display()));
            }
        }
    }
    assert!(upward.is_empty(), "core reads top-down; these look up:\n{}", upward.join("\n"));
    assert!(!floors_named("use crate::core::exec::Sign;").is_empty(), "the scan sees a use");
}

#[test]
fn core_has_no_ui_and_prints_nothing() {
    let mut found = Vec::new();
    for p in sources(&src().join("core")) {
        let code = code(&p);
        for bad in
            ["ratatui", "crossterm", "println!", "eprintln!", "print!(", "crate::ui", "crate::cli"]
        {
            if code.contains(bad) {
                found.push(format!("{} uses {bad}", p.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_faces_never_import_each_other() {
    let mut found = Vec::new();
    for (face, other) in [("cli", "crate::ui"), ("ui", "crate::cli")] {
        for p in sources(&src().join(face)) {
            if code(&p).contains(other) {
                found.push(format!("{} uses {other}", p.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
