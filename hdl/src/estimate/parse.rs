//! Reader of the cell counts the estimate's yosys script writes (`stat -json`).

use std::collections::BTreeMap;

/// Output of a yosys command that does not have the expected form.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unexpected yosys output ({what}): {detail}")]
pub struct ParseError {
    pub what: &'static str,
    pub detail: String,
}

fn err(what: &'static str, detail: impl Into<String>) -> ParseError {
    ParseError {
        what,
        detail: detail.into(),
    }
}

/// Cell counts by type from `stat -json` (yosys 0.23): the `design` totals, or
/// the single module's when there is no `design` entry.
pub fn stat_cells(json: &str) -> Result<BTreeMap<String, u64>, ParseError> {
    const WHAT: &str = "stat -json";
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| err(WHAT, e.to_string()))?;
    let totals = match v.get("design") {
        Some(d) => d,
        None => {
            let modules = v
                .get("modules")
                .and_then(|m| m.as_object())
                .ok_or_else(|| err(WHAT, "neither `design` nor `modules`"))?;
            if modules.len() != 1 {
                return Err(err(
                    WHAT,
                    format!("{} modules and no `design` totals", modules.len()),
                ));
            }
            modules.values().next().expect("one module")
        }
    };
    let by_type = totals
        .get("num_cells_by_type")
        .and_then(|c| c.as_object())
        .ok_or_else(|| err(WHAT, "no `num_cells_by_type`"))?;
    by_type
        .iter()
        .map(|(k, n)| {
            n.as_u64()
                .map(|n| (k.clone(), n))
                .ok_or_else(|| err(WHAT, format!("count of {k} is not a number: {n}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from yosys 0.23 (synth_xilinx -family xcup -flatten -noiopad) on
    // fixtures/design.v (fixtures/README.md).
    const STAT: &str = include_str!("fixtures/stat.json");

    #[test]
    fn stat_json_gives_the_design_totals() {
        let c = stat_cells(STAT).unwrap();
        assert_eq!(c["FDRE"], 48);
        assert_eq!(c["CARRY4"], 8);
        assert_eq!(c["LUT2"], 18);
        assert_eq!(c["LUT3"], 16);
        assert_eq!(c.values().sum::<u64>(), 48 + 8 + 18 + 16 + 1);
    }

    #[test]
    fn stat_json_without_design_totals_uses_the_one_module() {
        let v: serde_json::Value = serde_json::from_str(STAT).unwrap();
        let only_module = serde_json::json!({ "modules": v["modules"] });
        assert_eq!(
            stat_cells(&only_module.to_string()).unwrap(),
            stat_cells(STAT).unwrap()
        );
        let two = serde_json::json!({ "modules": { "a": {}, "b": {} } });
        assert!(stat_cells(&two.to_string()).is_err());
        assert!(stat_cells("not json").is_err());
    }
}
