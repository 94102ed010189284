//! Embeds the example project in `migrations/` so `sluice demo` works from any folder.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    files.sort();
    let mut out = String::from("pub const EXAMPLE_MIGRATIONS: &[(&str, &str)] = &[\n");
    for p in files {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        writeln!(out, "    ({name:?}, include_str!({:?})),", p.display().to_string()).unwrap();
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("examples.rs");
    std::fs::write(dest, out).unwrap();
}
