//! A generated design built by Verilator and loaded: the handle of one model
//! instance and the C ABI of its shim ([`crate::build`]), with what both
//! harnesses ([`crate::CoreSim`], [`crate::ShellSim`]) do to it: set and read
//! ports by manifest index (wide ports 32 bits at a time), settle, clock, trace.

use crate::build::{self, Design};
use crate::run_loop::{self, Context, MasterC, SlaveC};
use crate::{SimError, SimOptions};
use libloading::{Library, Symbol};
use spikeslice_core::accel::ddr::{Ddr, MasterOut};
use spikeslice_hdl::manifest::Manifest;
use std::ffi::{c_void, CString};
use std::path::{Path, PathBuf};

/// A running instance of a Verilated design.
pub struct Verilated {
    manifest: Manifest,
    lib_path: PathBuf,
    /// Whether loading it ran Verilator (false = cache hit).
    pub built: bool,
    handle: *mut c_void,
    set: SetFn,
    get: GetFn,
    /// `ss_set_word` / `ss_get_word`, for designs with ports over 64 bits.
    words: Option<(SetWordFn, GetWordFn)>,
    eval: TickFn,
    tick: TickFn,
    /// `ss_run_until_irq`, exported by designs with the shell's AXI4 master
    /// ([`crate::run_loop`]).
    run: Option<RunFn>,
    free: FreeFn,
    trace_open: TraceFn,
    cycle: u64,
    /// Whether the clock fell in the last tick and the model has not evaluated it
    /// yet (the shim's `ss_tick` leaves the falling edge to the next evaluation).
    fall_pending: bool,
    // Keep the library loaded as long as the function pointers live.
    _lib: Library,
}

// SAFETY: the model instance behind `handle` is owned by this value alone and is
// only touched through `&mut self` (or `&self` for reads that do not change it);
// it is built single-threaded (no `--threads`), so it has no thread affinity and
// may move to another thread (the board daemon serves from one) as long as it is
// not shared, which `!Sync` still forbids.
unsafe impl Send for Verilated {}

impl Drop for Verilated {
    fn drop(&mut self) {
        // SAFETY: handle came from ss_new of this library and is freed once.
        unsafe { (self.free)(self.handle) }
    }
}

impl Verilated {
    /// Build `design` (unless cached) and load a fresh instance of it.
    pub(crate) fn load(design: &Design, opts: &SimOptions) -> Result<Self, SimError> {
        let cache = opts
            .cache_dir
            .clone()
            .unwrap_or_else(build::default_cache_dir);
        let (lib_path, manifest, built) = build::build_design(design, opts.trace, &cache)?;
        let wide = manifest.ports.iter().any(|p| p.width > 64);
        let run_loop = run_loop::data_bits(&manifest).is_some();
        // SAFETY: the library is one `build_design` just built from our own
        // generated shim; `new` comes from it and the handle is freed once, in Drop.
        unsafe {
            let shim = Shim::load(&lib_path, wide, run_loop)?;
            let handle = (shim.new)();
            Ok(Verilated {
                manifest,
                lib_path,
                built,
                handle,
                set: shim.set,
                get: shim.get,
                words: shim.words,
                eval: shim.eval,
                tick: shim.tick,
                run: shim.run,
                free: shim.free,
                trace_open: shim.trace_open,
                cycle: 0,
                fall_pending: false,
                _lib: shim.lib,
            })
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    pub fn library_path(&self) -> &Path {
        &self.lib_path
    }
    /// Total clock cycles simulated by this instance.
    pub fn cycles(&self) -> u64 {
        self.cycle
    }

    /// Start writing an FST waveform to `path` (needs `SimOptions::trace`).
    pub fn trace_to(&mut self, path: &Path) -> Result<(), SimError> {
        let c = CString::new(path.to_string_lossy().as_bytes())
            .map_err(|e| SimError::Config(e.to_string()))?;
        // SAFETY: valid handle, NUL-terminated path.
        let ok = unsafe { (self.trace_open)(self.handle, c.as_ptr()) };
        if ok == 0 {
            return Err(SimError::Config(
                "this simulator was built without tracing; set SimOptions::trace".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn set(&mut self, port: u32, v: u64) {
        // SAFETY: valid handle; unknown ports are ignored by the shim.
        unsafe { (self.set)(self.handle, port, v) }
    }
    pub(crate) fn get(&self, port: u32) -> u64 {
        // SAFETY: as above.
        unsafe { (self.get)(self.handle, port) }
    }
    /// Set a data port of `bytes.len()` bytes, little-endian (up to 64 bits, or
    /// any width when the design has wide ports).
    pub(crate) fn set_bytes(&mut self, port: u32, bytes: &[u8]) {
        match self.words {
            Some((set_word, _)) => {
                for (i, w) in bytes.chunks(4).enumerate() {
                    let mut b = [0u8; 4];
                    b[..w.len()].copy_from_slice(w);
                    // SAFETY: valid handle; the shim bounds-checks the word index.
                    unsafe { set_word(self.handle, port, i as u32, u32::from_le_bytes(b)) }
                }
            }
            None => {
                let mut b = [0u8; 8];
                let n = bytes.len().min(8);
                b[..n].copy_from_slice(&bytes[..n]);
                self.set(port, u64::from_le_bytes(b));
            }
        }
    }
    /// The first `n` bytes of a data port, little-endian.
    pub(crate) fn get_bytes(&self, port: u32, n: usize) -> Vec<u8> {
        match self.words {
            Some((_, get_word)) => (0..n.div_ceil(4))
                // SAFETY: as above.
                .flat_map(|i| unsafe { get_word(self.handle, port, i as u32) }.to_le_bytes())
                .take(n)
                .collect(),
            None => self.get(port).to_le_bytes()[..n.min(8)].to_vec(),
        }
    }
    /// Let the combinational logic settle on the inputs set since (and on the
    /// falling edge of the last tick).
    pub(crate) fn eval(&mut self) {
        // SAFETY: as above.
        unsafe { (self.eval)(self.handle) }
        self.fall_pending = false;
    }
    /// Clock at most `max_cycles` cycles in the shim's loop with `ddr` behind the
    /// AXI4 master ([`crate::run_loop`]), the other inputs held, until a cycle in
    /// which `irq` is high (counted). Returns the cycles clocked and whether `irq`
    /// ended the loop; `None` if this design has no such loop.
    pub(crate) fn run_until_irq(&mut self, ddr: &mut Ddr, max_cycles: u64) -> Option<(u64, bool)> {
        let run = self.run?;
        // Bit 63 of the result is the interrupt flag (no deadline: 2^63 - 1 cycles).
        let max_cycles = max_cycles.min((1 << 63) - 1);
        let mut ctx = Context {
            ddr,
            master: MasterOut::default(),
        };
        // SAFETY: valid handle; `ctx` outlives the call and the callbacks only
        // touch it and the structs the shim passes for the duration of each call.
        let r = unsafe {
            run(
                self.handle,
                max_cycles,
                (&mut ctx as *mut Context).cast(),
                run_loop::drive,
                run_loop::observe,
            )
        };
        let (n, irq) = (r & !(1 << 63), r >> 63 == 1);
        self.cycle += n;
        if n > 0 {
            self.fall_pending = true;
        }
        Some((n, irq))
    }

    /// One clock cycle: the rising edge, then the falling edge. The model is not
    /// settled afterwards: [`Verilated::eval`] before reading an output. Two ticks
    /// without an evaluation between them evaluate the falling edge first, or the
    /// model would not see the second rising edge.
    pub(crate) fn tick(&mut self) {
        if self.fall_pending {
            self.eval();
        }
        // SAFETY: as above.
        unsafe { (self.tick)(self.handle) }
        self.cycle += 1;
        self.fall_pending = true;
    }
}

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type SetFn = unsafe extern "C" fn(*mut c_void, u32, u64);
type GetFn = unsafe extern "C" fn(*mut c_void, u32) -> u64;
type SetWordFn = unsafe extern "C" fn(*mut c_void, u32, u32, u32);
type GetWordFn = unsafe extern "C" fn(*mut c_void, u32, u32) -> u32;
type TickFn = unsafe extern "C" fn(*mut c_void);
type RunFn = unsafe extern "C" fn(
    *mut c_void,
    u64,
    *mut c_void,
    unsafe extern "C" fn(*mut c_void, *mut SlaveC),
    unsafe extern "C" fn(*mut c_void, *const MasterC),
) -> u64;
type TraceFn = unsafe extern "C" fn(*mut c_void, *const std::os::raw::c_char) -> i32;

/// The C ABI every generated shim exports, loaded from a built library. The
/// library stays loaded as long as this value (or the `lib` moved out of it)
/// lives, which is what keeps the function pointers valid.
struct Shim {
    lib: Library,
    new: NewFn,
    free: FreeFn,
    set: SetFn,
    get: GetFn,
    eval: TickFn,
    tick: TickFn,
    run: Option<RunFn>,
    trace_open: TraceFn,
    /// `ss_set_word` / `ss_get_word`, exported only by designs with ports wider
    /// than 64 bits.
    words: Option<(SetWordFn, GetWordFn)>,
}

impl Shim {
    /// Load the library at `path`; `wide`: the design has ports over 64 bits;
    /// `run_loop`: it has the shell's ports, and so `ss_run_until_irq`.
    ///
    /// # Safety
    /// `path` must be a library built by [`build::build_design`] from this crate's own
    /// generated shim, whose symbols have exactly the declared signatures.
    unsafe fn load(path: &Path, wide: bool, run_loop: bool) -> Result<Self, SimError> {
        // SAFETY: upheld by the caller, see above.
        unsafe {
            let lib = Library::new(path)
                .map_err(|e| SimError::Load(path.to_path_buf(), e.to_string()))?;
            let sym = |name: &[u8]| -> Result<*const (), SimError> {
                let s: Symbol<*const ()> = lib
                    .get(name)
                    .map_err(|e| SimError::Load(path.to_path_buf(), e.to_string()))?;
                Ok(*s)
            };
            let words = if wide {
                Some((
                    std::mem::transmute::<*const (), SetWordFn>(sym(b"ss_set_word")?),
                    std::mem::transmute::<*const (), GetWordFn>(sym(b"ss_get_word")?),
                ))
            } else {
                None
            };
            let run = if run_loop {
                Some(std::mem::transmute::<*const (), RunFn>(sym(
                    b"ss_run_until_irq",
                )?))
            } else {
                None
            };
            Ok(Shim {
                run,
                new: std::mem::transmute::<*const (), NewFn>(sym(b"ss_new")?),
                free: std::mem::transmute::<*const (), FreeFn>(sym(b"ss_free")?),
                set: std::mem::transmute::<*const (), SetFn>(sym(b"ss_set")?),
                get: std::mem::transmute::<*const (), GetFn>(sym(b"ss_get")?),
                eval: std::mem::transmute::<*const (), TickFn>(sym(b"ss_eval")?),
                tick: std::mem::transmute::<*const (), TickFn>(sym(b"ss_tick")?),
                trace_open: std::mem::transmute::<*const (), TraceFn>(sym(b"ss_trace_open")?),
                words,
                lib,
            })
        }
    }
}
