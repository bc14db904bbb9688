//! Docs generated from the contract's tables: each test fails when its file is
//! stale. Regenerate with
//! `SPIKESLICE_BLESS=1 cargo test -p spikeslice-core --test integration generated_docs::`.

use spikeslice_core::accel::cycles::formula;
use spikeslice_core::accel::{descriptor, preset, regmap};
use std::path::PathBuf;

fn doc(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs")).join(name)
}

fn bless() -> bool {
    std::env::var_os("SPIKESLICE_BLESS").is_some()
}

const HOW: &str =
    "run SPIKESLICE_BLESS=1 cargo test -p spikeslice-core --test integration generated_docs::";

/// The text between `<!-- BEGIN GENERATED: tag -->` and `<!-- END GENERATED:
/// tag -->` in `file` must be `want`.
fn region_is_current(file: &str, tag: &str, want: &str) {
    let path = doc(file);
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    let (begin, end) = (
        format!("<!-- BEGIN GENERATED: {tag} -->\n"),
        format!("<!-- END GENERATED: {tag} -->"),
    );
    let (Some(b), Some(e)) = (have.find(&begin), have.find(&end)) else {
        panic!("docs/{file} has no `{}` ... `{end}` region", begin.trim());
    };
    let b = b + begin.len();
    assert!(b <= e, "docs/{file}: the {tag} markers are out of order");
    let fresh = format!("{}{want}{}", &have[..b], &have[e..]);
    if bless() && fresh != have {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(
        have == fresh,
        "docs/{file}: the {tag} table is stale: {HOW}"
    );
}

#[test]
fn register_map_doc_is_current() {
    let path = doc("register-map.md");
    let want = regmap::markdown();
    if bless() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(have == want, "docs/register-map.md is stale: {HOW}");
}

#[test]
fn descriptor_table_is_current() {
    region_is_current("formats.md", "descriptor-fields", &descriptor::markdown());
}

#[test]
fn preset_table_is_current() {
    region_is_current("shell.md", "presets", &preset::markdown());
}

#[test]
fn cycle_formula_is_current() {
    region_is_current("controller.md", "cycle-formula", &formula::shell_markdown());
}

#[test]
fn core_cycle_formula_is_current() {
    region_is_current("compute-core.md", "core-cycles", &formula::core_markdown());
}
