//! Every cross-reference in the repository's prose leads somewhere: a Markdown
//! link or a path (`hdl/src/ndu.rs`) names a file that exists, and a reference
//! to a section (`[shell.md](shell.md), "Limits"` in the docs, `docs/shell.md,
//! "Limits"` in a code comment) names a heading or a bold label (`**Limits**`
//! opening a paragraph, a list item or a table cell) of that document. A renamed
//! section or a moved file then fails here, naming the place that points at it.

use regex::Regex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The repository's root: this crate's parent.
fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Kinds of file whose text may point at a document.
const TEXT: &[&str] = &["md", "rs", "sh", "py", "toml", "xdc", "tcl"];

/// The files below `dir` with an extension of [`TEXT`], build output and
/// version control left out.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            if !matches!(name.to_str(), Some("target" | ".git")) {
                files(&p, out);
            }
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| TEXT.contains(&x))
        {
            out.push(p);
        }
    }
}

/// What a reference may name in a Markdown document: its headings and its
/// bold labels, without backticks, a leading section number (`4. Fuzzing`) or
/// a closing `.` or `:`. Fenced code is skipped.
fn anchors(text: &str) -> Vec<String> {
    let heading = Regex::new(r"^#+\s+(.*)$").unwrap();
    let bold = Regex::new(r"(?:^|^[-*]\s+|\|\s*)\*\*([^*]+)\*\*").unwrap();
    let number = Regex::new(r"^\d+\.\s+").unwrap();
    let mut out = vec![];
    let mut fenced = false;
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let line = line.trim();
        let found = heading
            .captures(line)
            .into_iter()
            .chain(bold.captures_iter(line));
        for c in found {
            let a = c[1].replace('`', "");
            let a = number.replace(a.trim(), "");
            out.push(a.trim_end_matches(['.', ':']).to_string());
        }
    }
    out
}

/// A file's text with its comments' continuation markers turned to spaces, so
/// that a reference broken over two comment lines reads as one (`//`, `///`
/// and `//!` in Rust, `#` elsewhere).
fn joined(path: &Path, text: &str) -> String {
    let marker = match path.extension().and_then(|x| x.to_str()) {
        Some("md") => return text.to_string(),
        Some("rs") => r"\n[ \t]*//[/!]?[ \t]?",
        _ => r"\n[ \t]*#[ \t]?",
    };
    Regex::new(marker)
        .unwrap()
        .replace_all(text, " \n")
        .into_owned()
}

fn relative(p: &Path) -> String {
    let root = root().canonicalize().unwrap();
    let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    p.strip_prefix(&root).unwrap_or(&p).display().to_string()
}

#[test]
fn every_section_reference_and_link_resolves() {
    let mut all = vec![];
    files(&root(), &mut all);
    // Each Markdown document's anchors, by file name (several READMEs share one).
    let mut docs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in all
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
    {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(p).unwrap();
        docs.entry(name).or_default().extend(anchors(&text));
    }
    assert!(
        docs.get("shell.md")
            .is_some_and(|a| a.iter().any(|s| s == "Limits")),
        "the walk found no docs/shell.md with its Limits section"
    );
    // `NAME.md` (maybe as a link, maybe closing a parenthesis), a comma or a
    // space, then the quoted section.
    let reference =
        Regex::new(r#"([\w./-]*?[\w-]+\.md)(?:\]\([^)\s]*\))?\)?(?:,\s*|\s+)"([^"]+)""#).unwrap();
    let link = Regex::new(r"\[[^\]]*\]\(([^)\s]+)\)").unwrap();
    let fence = Regex::new(r"(?s)```.*?```").unwrap();
    let space = Regex::new(r"\s+").unwrap();
    // Paths into the repository (`hdl/src/ndu.rs`, `docs/shell.md`), in prose and
    // comments: each names a file, from the root, from the crate of the file that
    // names it, or as the tail of a file's path (`tests/integration/main.rs`).
    let path = Regex::new(
        r"\b((?:core|hdl|sim|host|train|firmware|tests|scripts|constraints|fuzz|models|data|docs)/[\w./-]+\.(?:rs|sh|py|md|json|toml|xdc|tcl))\b",
    )
    .unwrap();
    let tails: Vec<String> = all
        .iter()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    let (mut checked, mut broken) = (0, vec![]);
    for p in &all {
        let Ok(text) = std::fs::read_to_string(p) else {
            continue;
        };
        let krate = p
            .ancestors()
            .skip(1)
            .find(|d| d.join("Cargo.toml").exists())
            .unwrap_or(p);
        for c in path.captures_iter(&text) {
            let named = &c[1];
            checked += 1;
            let found = root().join(named).exists()
                || krate.join(named).exists()
                || tails.iter().any(|t| t.ends_with(&format!("/{named}")));
            if !found {
                broken.push(format!("{}: {named}: no such file", relative(p)));
            }
        }
        let text = joined(p, &text);
        for c in reference.captures_iter(&text) {
            let doc = Path::new(&c[1]).file_name().unwrap().to_string_lossy();
            let section = space.replace_all(c[2].trim(), " ");
            checked += 1;
            match docs.get(doc.as_ref()) {
                None => broken.push(format!(
                    "{}: {doc} \"{section}\": no such document",
                    relative(p)
                )),
                Some(a) if a.iter().any(|s| s.starts_with(section.as_ref())) => {}
                Some(_) => broken.push(format!(
                    "{}: {doc} \"{section}\": no heading or bold label of {doc} begins so",
                    relative(p)
                )),
            }
        }
        if p.extension().is_some_and(|x| x == "md") {
            for c in link.captures_iter(&fence.replace_all(&text, "")) {
                let target = &c[1];
                let external = target.starts_with('#')
                    || target
                        .split_once(':')
                        .is_some_and(|(s, _)| s.chars().all(char::is_alphabetic));
                if external {
                    continue;
                }
                checked += 1;
                let file = target.split('#').next().unwrap();
                if !p.parent().unwrap().join(file).exists() {
                    broken.push(format!("{}: link to {target}: no such file", relative(p)));
                }
            }
        }
    }
    assert!(
        checked > 600,
        "only {checked} references found: is the pattern still right?"
    );
    assert!(
        broken.is_empty(),
        "{} of {checked} references lead nowhere:\n{}",
        broken.len(),
        broken.join("\n")
    );
}
