//! Builds a generated design with Verilator into a shared library, cached by the
//! manifest hash: `<cache>/<hash>[-trace]/lib<top>.so` (`libspikeslice_core.so` for
//! the compute core, `libspikeslice_shell.so` for the accelerator shell).
//!
//! Why a hand-written C ABI and `libloading` rather than a crate such as `marlin`: the
//! shim is ~60 generated lines, needs only `verilator` and `g++` (Debian packages), is
//! loaded at run time so the array shape is chosen on the command line, and keeps the
//! cache under our control (the key is the manifest hash of the generated sources).
//!
//! Ports of up to 64 bits are read and written through `ss_get`/`ss_set` (u64). Wider
//! ports (the 128-bit AXI data of the shell) are Verilator `VlWide` arrays of 32-bit
//! words: the shim then also exports `ss_get_word`/`ss_set_word(port, word)`. Those two
//! are emitted only when the design has a wide port, so the core's shim (and with it
//! every library already in the cache) stays exactly what it was.

use crate::SimError;
use spikeslice_hdl::manifest::{Dir, Manifest, Port};
use spikeslice_hdl::postpass;
use spikeslice_hdl::{ArrayConfig, MANIFEST_FILE, VERILOG_FILE};
use std::path::{Path, PathBuf};
use std::process::Command;

/// File name of the shim inside a cache entry; a cached library whose stored shim
/// differs from the one this code generates is rebuilt (the manifest hash covers the
/// Verilog, not the shim).
pub const SHIM_FILE: &str = "shim.cpp";

/// The directory of the cache holding one lock file per design (and trace
/// option): the build of a design holds its lock.
pub const LOCK_DIR: &str = "locks";

/// The lock file of `design` (with or without tracing) in `cache`.
fn lock_path(cache: &Path, design: &Design, trace: bool) -> PathBuf {
    let trace = if trace { "-trace" } else { "" };
    cache
        .join(LOCK_DIR)
        .join(format!("{}{trace}.lock", design.index_key()))
}

/// Verilator's options for every build: its own optimizations, X values resolved
/// the fast way (the designs reset what they read; the equivalence suites check
/// every output bit), and the model's evaluation cut into functions of at most
/// 2,000 statements, which `g++` compiles into faster code than the few functions
/// of thousands of lines Verilator writes otherwise. The size matters, not
/// smoothly, and the best size moves with the design: on the default shell 2,000
/// takes 0.90x (MLP) and 1.06x (conv net) of the unsplit model's CPU time a
/// digit, on shells one change away from 0.64x to 1.09x (docs/simulation-speed.md,
/// "Simulated images per second").
pub const VERILATOR_FLAGS: &[&str] = &[
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--output-split-cfuncs",
    "2000",
];

/// The C++ compiler's flags beyond Verilator's own: position-independent code for
/// the shared library. The optimization levels are Verilator's (`verilated.mk`):
/// `-Os` for the model's evaluation code and the shim (`OPT_FAST`) and for its
/// runtime (`OPT_GLOBAL`), none for the code that runs once, at construction and
/// reset (`OPT_SLOW`). An `-O` flag here reaches only that once-run code (the
/// makefile puts `OPT_FAST` after these flags): `-O3` here cost a quarter of a
/// shell's build CPU for no speed, and `OPT_FAST=-O3` ran the shell no faster
/// than `-Os` (interleaved runs of 150 MLP digits, docs/simulation-speed.md,
/// "Simulated images per second"); `-march=native` gained nothing and would tie
/// a cache to one CPU.
pub const CXX_FLAGS: &str = "-fPIC";

/// The library file name of a top module.
pub fn lib_name(top: &str) -> String {
    format!("lib{top}.so")
}

/// A design to build: the compute core of an array configuration or the whole
/// accelerator shell. Naming one generates nothing; [`build_design`] generates its
/// Verilog only when the cache cannot answer without it.
#[derive(Debug, Clone)]
pub enum Design {
    /// The compute core of an array configuration.
    Core(ArrayConfig),
    /// The compute core without the generator's post-pass
    /// (`spikeslice_hdl::postpass`): the baseline of the simulation-speed benchmark.
    CoreWithoutPostpass(ArrayConfig),
    /// The whole accelerator shell (register file, DMA, controller, core).
    Shell(spikeslice_core::accel::AcceleratorConfig),
}

/// A generated design: its Verilog text (one file) and its manifest (ports in
/// declaration order, hash).
#[derive(Debug, Clone)]
pub struct Generated {
    pub top: String,
    pub verilog_file: String,
    pub text: String,
    pub manifest: Manifest,
}

impl Design {
    /// Generate the design's Verilog with rust-hdl (seconds for a shell), rewritten
    /// for Verilator by the generator's post-pass (`spikeslice_hdl::postpass`)
    /// except for [`Design::CoreWithoutPostpass`].
    pub fn generate(&self) -> Result<Generated, SimError> {
        let config = |e: &dyn std::fmt::Display| SimError::Config(e.to_string());
        match self {
            Design::Core(cfg) | Design::CoreWithoutPostpass(cfg) => {
                let text = spikeslice_hdl::verilog(cfg).map_err(|e| config(&e))?;
                let text = match self {
                    Design::Core(_) => postpass::for_simulators(&text),
                    _ => text,
                };
                let manifest = spikeslice_hdl::manifest_for(cfg, &text).map_err(|e| config(&e))?;
                Ok(Generated {
                    top: manifest.top_module.clone(),
                    verilog_file: VERILOG_FILE.into(),
                    text,
                    manifest,
                })
            }
            Design::Shell(cfg) => {
                use spikeslice_hdl::shell;
                let text = shell::verilog(cfg).map_err(|e| config(&e))?;
                let text = postpass::for_simulators(&text);
                let manifest = shell::manifest_for(cfg, &text).map_err(|e| config(&e))?;
                Ok(Generated {
                    top: shell::TOP_NAME.into(),
                    verilog_file: shell::VERILOG_FILE.into(),
                    text,
                    manifest,
                })
            }
        }
    }

    /// The design's key in the cache's index ([`INDEX_DIR`]): the generator's
    /// fingerprint (`spikeslice_hdl::GENERATOR_FINGERPRINT`, a hash of every source
    /// the text depends on) and the configuration. Equal keys give equal text.
    pub fn index_key(&self) -> String {
        let (kind, cfg) = match self {
            Design::Core(c) => ("core", serde_json::to_string(c)),
            Design::CoreWithoutPostpass(c) => ("core without post-pass", serde_json::to_string(c)),
            Design::Shell(c) => ("shell", serde_json::to_string(c)),
        };
        let cfg = cfg.expect("configurations serialize");
        let key = format!("{}\n{kind}\n{cfg}", spikeslice_hdl::GENERATOR_FINGERPRINT);
        spikeslice_hdl::manifest::sha256_hex(key.as_bytes())
    }

    /// The manifest the index holds for this design, if any (a damaged entry is
    /// a miss: the design is generated again and the entry rewritten).
    fn indexed(&self, cache: &Path) -> Option<Manifest> {
        let text = std::fs::read_to_string(index_path(cache, &self.index_key())).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// The directory of the cache that maps a design (generator fingerprint and
/// configuration) to its manifest, so that a cached library is found without
/// generating the Verilog again (seconds per shell, most of a short simulation).
pub const INDEX_DIR: &str = "designs";

fn index_path(cache: &Path, key: &str) -> PathBuf {
    cache.join(INDEX_DIR).join(format!("{key}.json"))
}

/// Record a design's manifest in the index, atomically (a reader never sees half).
fn index(path: &Path, manifest_json: &str) -> Result<(), SimError> {
    spikeslice_core::atomic::write(path, manifest_json.as_bytes())
        .map_err(|e| SimError::Io(e.path, e.error))
}

/// The cache directory: `$SPIKESLICE_CACHE`, else `target/spikeslice-sim-cache` under
/// the workspace (found from this crate's manifest dir at compile time).
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SPIKESLICE_CACHE") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("spikeslice-sim-cache")
}

/// Verilator's C++ member name for a Verilog port (`$` is escaped as `__024`).
pub fn cpp_name(port: &str) -> String {
    port.replace('$', "__024")
}

/// The C ABI shim of top module `top`: ports are addressed by their index in the
/// manifest.
pub fn shim_source_for(top: &str, m: &Manifest, trace: bool) -> String {
    let v = format!("V{top}");
    // Lines only a traced build has.
    let traced = |line: &'static str| if trace { line } else { "" };
    let mut s = String::new();
    s.push_str("// Generated by spikeslice-sim: C ABI over the Verilated model.\n");
    // The build's flags, so that a library built with other flags is stale.
    s.push_str(&format!(
        "// verilator {} -CFLAGS \"{CXX_FLAGS}\"\n",
        VERILATOR_FLAGS.join(" ")
    ));
    s.push_str(&format!(
        "#include <cstdint>\n#include \"{v}.h\"\n#include \"verilated.h\"\n"
    ));
    s.push_str(traced("#include \"verilated_fst_c.h\"\n"));
    s.push_str(&format!(
        "struct H {{ VerilatedContext* ctx; {v}* top; uint64_t t;\n"
    ));
    s.push_str(traced(" VerilatedFstC* fst;\n"));
    s.push_str("};\nextern \"C\" {\n");
    s.push_str("void* ss_new() { H* h = new H(); h->ctx = new VerilatedContext(); h->t = 0;\n");
    s.push_str(traced(" h->ctx->traceEverOn(true); h->fst = nullptr;\n"));
    s.push_str(&format!(
        " h->top = new {v}(h->ctx); h->top->clock = 0; h->top->eval(); return h; }}\n"
    ));
    s.push_str("void ss_free(void* p) { H* h = (H*)p; h->top->final();\n");
    s.push_str(traced(" if (h->fst) { h->fst->close(); delete h->fst; }\n"));
    s.push_str(" delete h->top; delete h->ctx; delete h; }\n");
    let wide = |port: &Port| port.width > 64;
    let input = |port: &Port| port.dir == Dir::In && port.name != "clock";
    s.push_str(&port_switch(
        m,
        "void ss_set(void* p, uint32_t port, uint64_t v)",
        |port| input(port) && !wide(port),
        |port| format!("h->top->{} = v; break;", cpp_name(&port.name)),
        "break;",
    ));
    s.push_str(&port_switch(
        m,
        "uint64_t ss_get(void* p, uint32_t port)",
        |port| !wide(port),
        |port| format!("return (uint64_t)h->top->{};", cpp_name(&port.name)),
        "return 0;",
    ));
    if m.ports.iter().any(wide) {
        // VlWide<N>: N 32-bit words, word 0 = bits 31:0. Out-of-range words are
        // ignored (set) or read as 0 (get), like unknown ports.
        let words = |port: &Port| port.width.div_ceil(32);
        s.push_str(&port_switch(
            m,
            "void ss_set_word(void* p, uint32_t port, uint32_t w, uint32_t v)",
            |port| port.dir == Dir::In && wide(port),
            |port| {
                let (n, name) = (words(port), cpp_name(&port.name));
                format!("if (w < {n}) h->top->{name}[w] = v; break;")
            },
            "break;",
        ));
        s.push_str(&port_switch(
            m,
            "uint32_t ss_get_word(void* p, uint32_t port, uint32_t w)",
            wide,
            |port| {
                let (n, name) = (words(port), cpp_name(&port.name));
                format!("return w < {n} ? (uint32_t)h->top->{name}[w] : 0;")
            },
            "return 0;",
        ));
    }
    s.push_str("void ss_eval(void* p) { ((H*)p)->top->eval(); }\n");
    // One full clock cycle: the rising edge, then the falling edge. Nothing in
    // the design acts on the falling edge, so an untraced build leaves its
    // evaluation to the harness's next `ss_eval`, which settles the new inputs in
    // the same pass (one evaluation per cycle fewer); a traced build evaluates it
    // to dump the waveform there.
    s.push_str(
        "void ss_tick(void* p) { H* h = (H*)p;\n h->top->clock = 1; h->top->eval(); h->t++;\n",
    );
    s.push_str(traced(" if (h->fst) h->fst->dump(h->t);\n"));
    s.push_str(" h->top->clock = 0; h->t++;\n");
    s.push_str(traced(" h->top->eval(); if (h->fst) h->fst->dump(h->t);\n"));
    s.push_str("}\n");
    if let Some(run) = crate::run_loop::shim_source(m, trace) {
        s.push_str(&run);
    }
    s.push_str("int ss_trace_open(void* p, const char* path) { H* h = (H*)p;\n");
    if trace {
        s.push_str(" h->fst = new VerilatedFstC(); h->top->trace(h->fst, 99); h->fst->open(path); return 1; }\n");
    } else {
        s.push_str(" (void)h; (void)path; return 0; }\n");
    }
    s.push_str("}\n");
    s
}

/// A shim function `signature` that switches over the port number: one `case`
/// (the statement `case` writes) per port of the manifest that `keep` selects, in
/// manifest order, then `default`.
fn port_switch(
    m: &Manifest,
    signature: &str,
    keep: impl Fn(&Port) -> bool,
    case: impl Fn(&Port) -> String,
    default: &str,
) -> String {
    let mut s = format!("{signature} {{ H* h = (H*)p; switch (port) {{\n");
    for (i, port) in m.ports.iter().enumerate() {
        if keep(port) {
            s.push_str(&format!(" case {i}: {}\n", case(port)));
        }
    }
    s.push_str(&format!(" default: {default} }} }}\n"));
    s
}

fn run(cmd: &mut Command, what: &str) -> Result<(), SimError> {
    let out = cmd.output().map_err(|e| SimError::Tool {
        tool: what.into(),
        message: format!("cannot run ({e}); install Debian's `verilator` and `g++`"),
    })?;
    if !out.status.success() {
        return Err(SimError::Tool {
            tool: what.into(),
            message: format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(())
}

/// Returns the path of `design`'s library, building it unless cached (same hash and
/// same shim). The bool says whether a build happened. The Verilog is generated
/// only when the index ([`INDEX_DIR`]) does not know the design or its library
/// must be built.
pub fn build_design(
    design: &Design,
    trace: bool,
    cache: &Path,
) -> Result<(PathBuf, Manifest, bool), SimError> {
    // One build at a time per design, across threads and processes (a test runner
    // that runs each test in a process of its own): a caller asking for a design
    // being built waits for that build and then finds it in the cache, instead of
    // building it again beside it. Different designs build at once: a build keeps
    // about one and a half cores busy (`make -j 2`, one large file compiling
    // last) and generating a shell's Verilog one. The private directory and
    // rename below keep a reader from ever seeing half a library.
    let lock_path = lock_path(cache, design, trace);
    if let Some(dir) = lock_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| SimError::Io(dir.to_path_buf(), e))?;
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| SimError::Io(lock_path.clone(), e))?;
    // Every caller opens the file anew, so threads of one process exclude each
    // other as processes do. Released when `lock` is dropped (or the process ends).
    lock.lock().map_err(|e| SimError::Io(lock_path, e))?;
    let entry = |m: &Manifest| {
        let top = &m.top_module;
        let dir = cache.join(format!("{}{}", m.hash, if trace { "-trace" } else { "" }));
        (dir.join(lib_name(top)), shim_source_for(top, m, trace), dir)
    };
    let stale = |d: &Path, shim: &str| {
        std::fs::read_to_string(d.join(SHIM_FILE)).map_or(true, |old| old != shim)
    };
    if let Some(manifest) = design.indexed(cache) {
        let (lib, shim, dir) = entry(&manifest);
        if lib.exists() && !stale(&dir, &shim) {
            return Ok((lib, manifest, false));
        }
    }
    let key = index_path(cache, &design.index_key());
    let design = design.generate()?;
    let manifest = &design.manifest;
    let json = serde_json::to_string_pretty(manifest).expect("manifest serializes") + "\n";
    let (lib, shim, dir) = entry(manifest);
    let lib_file = lib_name(&design.top);
    if lib.exists() && !stale(&dir, &shim) {
        index(&key, &json)?;
        return Ok((lib, manifest.clone(), false));
    }
    // Build in a private directory, then rename: concurrent test processes never see a
    // half-written library.
    static BUILDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = cache.join(format!(
        "tmp-{}-{}-{}{}",
        std::process::id(),
        BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        manifest.hash,
        if trace { "-trace" } else { "" }
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| SimError::Io(tmp.clone(), e))?;
    let vpath = tmp.join(&design.verilog_file);
    std::fs::write(&vpath, &design.text).map_err(|e| SimError::Io(vpath.clone(), e))?;
    std::fs::write(tmp.join(MANIFEST_FILE), &json)
        .map_err(|e| SimError::Io(tmp.join(MANIFEST_FILE), e))?;
    std::fs::write(tmp.join(SHIM_FILE), &shim).map_err(|e| SimError::Io(tmp.clone(), e))?;
    // `--exe` with `-LDFLAGS -shared`: Verilator's own makefile compiles the shim and
    // its runtime and links everything into one shared object.
    let mut v = Command::new("verilator");
    v.current_dir(&tmp)
        .args(["--cc", "--exe", "--build", "-j", "2"])
        .args(VERILATOR_FLAGS)
        .args(["--Mdir", "obj"])
        .args([
            "-CFLAGS",
            CXX_FLAGS,
            "-LDFLAGS",
            "-shared",
            "-o",
            lib_file.as_str(),
        ])
        .args(["--top-module", design.top.as_str()])
        .args([design.verilog_file.as_str(), SHIM_FILE]);
    if trace {
        v.arg("--trace-fst");
    }
    // The makefile puts `$OBJCACHE` in front of every compile. With ccache there,
    // the runtime compiled into every library (`verilated.cpp` and its companions:
    // a 2x2 shell built after another design took 7.9 s of CPU instead of 11.7 s)
    // is compiled once per machine, not once per design. A caller's own `OBJCACHE` (even empty) is left as it is.
    if std::env::var_os("OBJCACHE").is_none() && on_path("ccache") {
        v.env("OBJCACHE", "ccache");
    }
    run(&mut v, "verilator")?;
    std::fs::rename(tmp.join("obj").join(&lib_file), tmp.join(&lib_file))
        .map_err(|e| SimError::Io(tmp.join(&lib_file), e))?;
    // Keep the cache small: the object directory is not needed after linking.
    let _ = std::fs::remove_dir_all(tmp.join("obj"));
    if dir.exists() && stale(&dir, &shim) {
        // A library built from an older shim: replace it (a process that has it
        // loaded keeps its mapping).
        let _ = std::fs::remove_dir_all(&dir);
    }
    match std::fs::rename(&tmp, &dir) {
        Ok(()) => {}
        Err(_) if lib.exists() => {
            // Another process won the race; use its build.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(e) => return Err(SimError::Io(dir.clone(), e)),
    }
    index(&key, &json)?;
    Ok((lib, manifest.clone(), true))
}

/// Whether an executable file `tool` is in one of `$PATH`'s directories.
fn on_path(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: PathBuf| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(dir.join(tool))))
}

/// The index of port `name` in a design's manifest (the shim's port number).
pub(crate) fn port_index(m: &Manifest, name: &str) -> Result<u32, SimError> {
    m.ports
        .iter()
        .position(|p| p.name == name)
        .map(|i| i as u32)
        .ok_or_else(|| SimError::Config(format!("the {} manifest lacks port {name}", m.top_module)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::accel::AcceleratorConfig;

    /// Callers asking at once for a design that is not cached yet (threads
    /// here; processes alike): one builds it, the others wait for that build
    /// and find it in the cache.
    #[test]
    fn concurrent_requests_build_a_design_once() {
        let cache = tempfile::tempdir().unwrap();
        let cfg = AcceleratorConfig {
            rows: 1,
            cols: 1,
            ..AcceleratorConfig::default()
        };
        let design = Design::Core(cfg.array());
        let built: Vec<bool> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..3)
                .map(|_| s.spawn(|| build_design(&design, false, cache.path()).unwrap()))
                .collect();
            workers.into_iter().map(|w| w.join().unwrap().2).collect()
        });
        assert_eq!(built.iter().filter(|&&b| b).count(), 1, "{built:?}");
        // Only the library's entry, the index and the lock are left: no private
        // build directory of a losing builder.
        let mut names: Vec<String> = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let manifest = design.generate().unwrap().manifest;
        let mut want = vec![
            manifest.hash.clone(),
            INDEX_DIR.to_string(),
            LOCK_DIR.to_string(),
        ];
        // Sorted as `names` is: the hash may sort before or after the others.
        want.sort();
        assert_eq!(names, want);

        // The index maps the design to its manifest, so the next request finds
        // the library without generating anything.
        let entry = index_path(cache.path(), &design.index_key());
        let stored = |p: &Path| -> Manifest {
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
        };
        assert_eq!(stored(&entry).hash, manifest.hash);
        let (_, m, built) = build_design(&design, false, cache.path()).unwrap();
        assert_eq!((m.hash.as_str(), built), (manifest.hash.as_str(), false));
        // A damaged entry is a miss: the design is generated again, found built,
        // and the entry rewritten.
        std::fs::write(&entry, "{").unwrap();
        let (_, m, built) = build_design(&design, false, cache.path()).unwrap();
        assert_eq!((m.hash.as_str(), built), (manifest.hash.as_str(), false));
        assert_eq!(stored(&entry).hash, manifest.hash);
        // Another configuration has another key.
        let wider = Design::Core(AcceleratorConfig { cols: 2, ..cfg }.array());
        assert_ne!(wider.index_key(), design.index_key());
    }

    #[test]
    fn on_path_finds_executables_only() {
        assert!(on_path("sh"));
        assert!(!on_path("spikeslice-no-such-tool"));
        // A directory named like a tool is not one.
        assert!(!on_path("."));
    }

    /// A design's build does not wait for another design's: with one design's
    /// lock held, another design builds.
    #[test]
    fn a_design_builds_while_another_is_locked() {
        let cache = tempfile::tempdir().unwrap();
        let cfg = AcceleratorConfig {
            rows: 1,
            cols: 1,
            ..AcceleratorConfig::default()
        };
        let held = Design::Core(cfg.array());
        let other = Design::Core(AcceleratorConfig { cols: 2, ..cfg }.array());
        let path = lock_path(cache.path(), &held, false);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let lock = std::fs::File::create(&path).unwrap();
        lock.lock().unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| done.send(build_design(&other, false, cache.path()).map(|b| b.2)));
            // Minutes: a 1x2 core builds in seconds even on a loaded machine.
            let built = finished.recv_timeout(std::time::Duration::from_secs(300));
            // The held design's lock is released here, so the builder can end
            // (and the scope join) whatever happened.
            drop(lock);
            assert!(matches!(built, Ok(Ok(true))), "{built:?}");
        });
    }
}
