//! docs/register-map.md is generated from the register table; this test fails
//! when it is stale. Regenerate with:
//! `SPIKESLICE_BLESS=1 cargo test -p spikeslice-core --test regmap`.

use spikeslice_core::accel::regmap;

#[test]
fn register_map_doc_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/register-map.md");
    let want = regmap::markdown();
    if std::env::var_os("SPIKESLICE_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/register-map.md is stale: run SPIKESLICE_BLESS=1 cargo test -p spikeslice-core --test regmap"
    );
}
