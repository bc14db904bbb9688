//! Rewrites of rust-hdl's Verilog text for a compiled simulator, applied to the text
//! `spikeslice-sim` builds with Verilator. Neither changes what the circuit
//! computes there; the equivalence suites check the rewritten text bit for bit
//! against the golden model.
//!
//! The generated files (`gen-rtl`, yosys, Vivado, Icarus) stay as rust-hdl writes
//! them: an event-driven simulator runs an `always @(*)` block only after one of
//! the signals it reads changes, so a split-off group of constants, or one whose
//! inputs settle at time 0, would never run and stay X (Verilog-2001 has no
//! `always_comb`; the register file's Icarus test bench shows it). The pass writes
//! its groups as SystemVerilog's `always_comb`, which Verilator reads in every file
//! and which also runs once at time 0. Verilator 5.006 evaluates an `always @(*)`
//! group of constants all the same, but 5.048 refuses one (ALWNEVER: "will never
//! execute"), and the shell has three (`core$spikes_only = 1'b1`, the DMA's burst
//! types).
//!
//! - [`direct_clocks`]: rust-hdl routes every sub-module's clock through the parent's
//!   combinational block (`sub$clock = clock;` inside `always @(*)`), so in
//!   Verilator each clock edge is an input change that re-evaluates the whole block
//!   (its "ico" region). The pass connects
//!   the sub-module's clock port to `clock` itself and drops the copy.
//! - [`split_comb_blocks`]: rust-hdl writes one `always @(*)` block per module, so the
//!   array's wiring is one block of thousands of assignments and a valid/ready pair
//!   crossing two modules looks like a loop at block granularity (Verilator's
//!   UNOPTFLAT: the block is evaluated again until it settles). The pass splits each
//!   block into the smallest groups of its top-level statements that keep its meaning:
//!   statements that assign a common signal stay together in their order, as does a
//!   statement that reads a signal the block assigns only later (it would read the
//!   value before that assignment).

/// Both rewrites, in order.
pub fn for_simulators(text: &str) -> String {
    split_comb_blocks(&direct_clocks(text))
}

/// The identifiers of a line of Verilog (letters, digits, `_` and rust-hdl's `$`;
/// numbers such as `32'h1` are skipped, their digits and base letters with them).
fn identifiers(line: &str) -> impl Iterator<Item = &str> {
    let bytes = line.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let c = bytes[i];
            let starts = c.is_ascii_alphabetic() || c == b'_';
            let number = c.is_ascii_digit() || c == b'\'';
            if starts || number {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'$' | b'\''))
                {
                    i += 1;
                }
                if starts {
                    return Some(&line[start..i]);
                }
            } else {
                i += 1;
            }
        }
        None
    })
}

/// The signal a line assigns with a blocking assignment (`name = ...;`), if any.
fn assigned(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let name = identifiers(t).next()?;
    t.strip_prefix(name)?.strip_prefix(" = ").map(|_| name)
}

/// Connects each sub-module's clock port straight to the module's `clock` where
/// rust-hdl copies it through a combinational block (`sub$clock = clock;`). A copy
/// used in any other way is left as it is.
pub fn direct_clocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut module: Vec<&str> = vec![];
    for line in text.lines() {
        module.push(line);
        if line.starts_with("endmodule") {
            direct_clocks_in(&module, &mut out);
            module.clear();
        }
    }
    direct_clocks_in(&module, &mut out);
    out
}

/// [`direct_clocks`] for the lines of one module.
fn direct_clocks_in(lines: &[&str], out: &mut String) {
    use std::collections::HashSet;
    let copy = |l: &str| -> Option<String> {
        let name = l.trim().strip_suffix(" = clock;")?;
        (name.ends_with("$clock") && assigned(l) == Some(name)).then(|| name.to_string())
    };
    let copies: HashSet<String> = lines.iter().filter_map(|l| copy(l)).collect();
    // Every use of a copy must be its declaration, its assignment or a port
    // connection; the copies used otherwise stay.
    let mut used_otherwise: HashSet<&str> = HashSet::new();
    for l in lines {
        let t = l.trim();
        let known = copy(l).is_some() || t.starts_with("reg ") || t.starts_with(".clock(");
        if !known {
            used_otherwise.extend(identifiers(l).filter(|id| copies.contains(*id)));
        }
    }
    let direct = |name: &str| copies.contains(name) && !used_otherwise.contains(name);
    for l in lines {
        let t = l.trim();
        let declared = t
            .strip_prefix("reg  ")
            .and_then(|d| d.strip_suffix(';'))
            .is_some_and(direct);
        if declared || copy(l).is_some_and(|n| direct(&n)) {
            continue;
        }
        match t
            .strip_prefix(".clock(")
            .and_then(|r| r.split(')').next())
            .filter(|n| direct(n))
        {
            Some(n) => out.push_str(&l.replacen(&format!(".clock({n})"), ".clock(clock)", 1)),
            None => out.push_str(l),
        }
        out.push('\n');
    }
}

/// Indentation of rust-hdl's `always @(*) begin` blocks and of their statements.
const BLOCK: &str = "    always @(*) begin";
const BLOCK_END: &str = "    end";
/// How the pass writes a group of statements: one block, or one statement.
const GROUP: &str = "    always_comb begin";
const GROUP_LINE: &str = "    always_comb ";
const STATEMENT_INDENT: usize = 8;

/// Splits every multi-statement `always @(*) begin ... end` block into independent
/// groups of statements (see the module documentation).
pub fn split_comb_blocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut body: Option<Vec<&str>> = None;
    for line in text.lines() {
        match &mut body {
            None if line == BLOCK => body = Some(vec![]),
            None => push_lines(&mut out, [line]),
            Some(b) if line == BLOCK_END => {
                emit_groups(b, &mut out);
                body = None;
            }
            Some(b) => b.push(line),
        }
    }
    if let Some(b) = body {
        // An unterminated block (not rust-hdl's output): leave it as it was.
        push_lines(&mut out, std::iter::once(BLOCK).chain(b));
    }
    out
}

/// `lines`, each with its newline.
fn push_lines<'a>(out: &mut String, lines: impl IntoIterator<Item = &'a str>) {
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
}

/// An `always_comb begin ... end` block of `lines`.
fn push_block<'a>(out: &mut String, lines: impl IntoIterator<Item = &'a str>) {
    push_lines(out, std::iter::once(GROUP).chain(lines).chain([BLOCK_END]));
}

/// The top-level statements of a block body: a statement starts at a line indented
/// [`STATEMENT_INDENT`] and takes the deeper lines after it, and the `end`,
/// `endcase` and `else` lines that close or continue it. `None` if the body has
/// another shape, which is then left unsplit.
fn statements<'a>(body: &[&'a str]) -> Option<Vec<Vec<&'a str>>> {
    let mut out: Vec<Vec<&str>> = vec![];
    for &l in body {
        let indent = l.len() - l.trim_start().len();
        let t = l.trim();
        let continues = indent > STATEMENT_INDENT
            || t == "end"
            || t == "endcase"
            || t == "else"
            || t.starts_with("else ");
        if indent < STATEMENT_INDENT && !t.is_empty() {
            return None;
        }
        if t.is_empty() {
            continue;
        }
        if continues {
            out.last_mut()?.push(l);
        } else {
            out.push(vec![l]);
        }
    }
    Some(out)
}

fn emit_groups(body: &[&str], out: &mut String) {
    let Some(stmts) = statements(body) else {
        return push_block(out, body.iter().copied());
    };
    for group in groups(&stmts) {
        match group.as_slice() {
            [s] if s.len() == 1 => {
                out.push_str(GROUP_LINE);
                push_lines(out, [s[0].trim()]);
            }
            _ => push_block(out, group.iter().flat_map(|s| s.iter().copied())),
        }
    }
}

/// Partitions statements (in order) into groups that may be separate blocks.
fn groups<'s, 'a>(stmts: &'s [Vec<&'a str>]) -> Vec<Vec<&'s Vec<&'a str>>> {
    use std::collections::HashMap;
    let n = stmts.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let union = |p: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (root(p, a), root(p, b));
        if ra != rb {
            p[ra.max(rb)] = ra.min(rb);
        }
    };
    // Which statement assigns each signal first and last.
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, s) in stmts.iter().enumerate() {
        for name in s.iter().filter_map(|l| assigned(l)) {
            match first.get(name) {
                Some(&f) => union(&mut parent, f, i),
                None => {
                    first.insert(name, i);
                }
            }
            last.insert(name, i);
        }
    }
    // A statement reading a signal assigned after it reads its earlier value.
    for (i, s) in stmts.iter().enumerate() {
        for id in s.iter().flat_map(|l| identifiers(l)) {
            if last.get(id).is_some_and(|&l| l > i) {
                union(&mut parent, i, first[id]);
            }
        }
    }
    let mut index: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Vec<&Vec<&str>>> = vec![];
    for (i, s) in stmts.iter().enumerate() {
        let r = root(&mut parent, i);
        let g = *index.entry(r).or_insert_with(|| {
            out.push(vec![]);
            out.len() - 1
        });
        out[g].push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_bypass_the_combinational_block() {
        let text = "module top(clock);\n    input wire  clock;\n    reg  a$clock;\n    reg  b$clock;\n    \
            sub a(\n        .clock(a$clock),\n        .d(x)\n    );\n    sub b(\n        .clock(b$clock)\n    );\n\
            \x20   always @(*) begin\n        a$clock = clock;\n        b$clock = clock;\n        y = b$clock;\n    end\nendmodule // top\n";
        let got = direct_clocks(text);
        // a's copy goes; b's is also read as data, so it stays.
        assert!(!got.contains("a$clock"), "{got}");
        assert!(
            got.contains("        .clock(clock),\n        .d(x)"),
            "{got}"
        );
        assert!(got.contains("reg  b$clock;") && got.contains(".clock(b$clock)"));
        assert!(got.contains("        b$clock = clock;\n"));
    }

    #[test]
    fn blocks_split_where_meaning_allows() {
        let text = "    always @(*) begin\n        a = x;\n        b = y;\n        if (c) begin\n            b = z;\n        end\n        \
            d = e;\n        e = f;\n    end\n";
        let got = split_comb_blocks(text);
        assert_eq!(
            got,
            "    always_comb a = x;\n    always_comb begin\n        b = y;\n        if (c) begin\n            b = z;\n        end\n    end\n\
             \x20   always_comb begin\n        d = e;\n        e = f;\n    end\n"
        );
        // A group that reads nothing is written so that it runs (at time 0).
        let constant = split_comb_blocks(
            "    always @(*) begin\n        a = 1'b1;\n        b = a;\n    end\n",
        );
        assert_eq!(
            constant,
            "    always_comb a = 1'b1;\n    always_comb b = a;\n"
        );
    }

    #[test]
    fn identifiers_skip_numbers() {
        let ids: Vec<&str> = identifiers("if (pk$q == 32'h1) x$0 = 8'hff;").collect();
        assert_eq!(ids, ["if", "pk$q", "x$0"]);
    }
}
