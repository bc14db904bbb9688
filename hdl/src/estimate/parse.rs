//! Readers of what the estimate's yosys script writes: `stat -json` (cell counts),
//! `ltp` (a longest topological path) and `select -list` (cell names).

use std::collections::{BTreeMap, HashSet};

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

/// One `ltp` report: the path's length in cells and its steps (the wire reached,
/// and the cell that drives it; the first step has no cell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ltp {
    pub length: u64,
    pub steps: Vec<LtpStep>,
    /// `ltp`'s "Detected loop" lines (a combinational loop in the selection).
    pub loops: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LtpStep {
    pub wire: String,
    pub via: Option<String>,
}

/// Reads `ltp`'s report (yosys 0.23):
///
/// ```text
/// Longest topological path in top (length=2):
///     0: \a [3]
///     1: $x [3] (via $abc$12$lut)
///     2: \q [3] (via $carry4)
/// ```
///
/// A selection with no path reports `length=-1`: an error here (the estimate's
/// selection always has one).
pub fn ltp(text: &str) -> Result<Ltp, ParseError> {
    const WHAT: &str = "ltp";
    let mut length = None;
    let mut steps = Vec::new();
    let mut loops = 0;
    for line in text.lines() {
        if line.contains("Detected loop") {
            loops += 1;
        }
        if let Some(rest) = line
            .trim_start()
            .strip_prefix("Longest topological path in ")
        {
            if length.is_some() {
                return Err(err(WHAT, "more than one module's path (not flattened?)"));
            }
            let n = rest
                .split("(length=")
                .nth(1)
                .and_then(|s| s.split(')').next())
                .ok_or_else(|| err(WHAT, format!("no length in {line:?}")))?;
            let n: i64 = n
                .parse()
                .map_err(|_| err(WHAT, format!("length {n:?} is not a number")))?;
            if n < 0 {
                return Err(err(WHAT, "no path in the selection (length=-1)"));
            }
            length = Some(n as u64);
            continue;
        }
        if length.is_none() {
            continue;
        }
        let t = line.trim_start();
        let Some((idx, rest)) = t.split_once(": ") else {
            continue;
        };
        if idx.parse::<u64>().is_err() {
            continue;
        }
        let (wire, via) = match rest.strip_suffix(')').and_then(|r| r.rsplit_once(" (via ")) {
            Some((w, c)) => (w.to_string(), Some(c.to_string())),
            None => (rest.to_string(), None),
        };
        steps.push(LtpStep { wire, via });
    }
    let length = length.ok_or_else(|| err(WHAT, "no \"Longest topological path\" line"))?;
    if steps.len() as u64 != length + 1 {
        return Err(err(
            WHAT,
            format!("length={length} but {} steps listed", steps.len()),
        ));
    }
    Ok(Ltp {
        length,
        steps,
        loops,
    })
}

/// Cell names from `select -list` (one `module/cell` a line), without the
/// `module/` prefix, as `ltp` prints them.
pub fn select_list(text: &str, module: &str) -> HashSet<String> {
    let prefix = format!("{module}/");
    text.lines()
        .filter_map(|l| l.trim_end().strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from yosys 0.23 (synth_xilinx -family xcup -flatten -noiopad) on
    // fixtures/design.v (fixtures/README.md).
    const STAT: &str = include_str!("fixtures/stat.json");
    const LTP: &str = include_str!("fixtures/ltp.txt");
    const LTP_CARRY: &str = include_str!("fixtures/ltp_carry.txt");
    const CARRY_LIST: &str = include_str!("fixtures/carry_list.txt");

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

    #[test]
    fn ltp_report_gives_length_and_driving_cells() {
        let p = ltp(LTP).unwrap();
        assert_eq!(p.length, 6);
        assert_eq!(p.steps.len(), 7);
        assert_eq!(p.steps[0].wire, "\\rb [3]");
        assert_eq!(p.steps[0].via, None);
        assert_eq!(
            p.steps[2].via.as_deref(),
            Some("$auto$alumacc.cc:485:replace_alu$1624.genblk1.slice[0].genblk1.carry4")
        );
        assert_eq!(p.loops, 0);
        assert_eq!(ltp(LTP_CARRY).unwrap().length, 4);
    }

    #[test]
    fn ltp_without_a_path_or_with_missing_steps_is_an_error() {
        assert!(ltp("Longest topological path in t (length=-1):\n").is_err());
        assert!(ltp("nothing here").is_err());
        let cut: String = LTP.lines().take(5).map(|l| format!("{l}\n")).collect();
        assert!(ltp(&cut).is_err());
    }

    #[test]
    fn select_list_strips_the_module() {
        let s = select_list(CARRY_LIST, "t");
        assert_eq!(s.len(), 8);
        assert!(s.contains("$auto$alumacc.cc:485:replace_alu$1624.genblk1.slice[0].genblk1.carry4"));
        assert!(select_list(CARRY_LIST, "other").is_empty());
    }
}
