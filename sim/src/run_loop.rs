//! The shell's cycle loop on the C++ side: while the register bus is idle (a run
//! between its start and its interrupt, nearly all of its cycles), the shim clocks
//! the model itself and moves the AXI4 master's ports to and from the DDR model,
//! one call from Rust per run instead of some forty calls per cycle.
//!
//! The DDR model stays the one in `spikeslice_core::accel::ddr` (the rust-hdl
//! benches use it too): the loop calls it back through two C function pointers per
//! cycle, with plain structs for its outputs ([`SlaveC`]) and the master's
//! ([`MasterC`]). The loop does per cycle exactly what [`crate::ShellSim`]'s Rust step
//! does: the DDR drives, the design settles (the falling edge of the last tick
//! too), the DDR observes the master, `irq` is sampled, the clock rises.
//!
//! The shim function is generated only for designs with the shell's AXI4 master
//! and interrupt ports. A panic in the DDR model inside the loop aborts the process
//! (it cannot unwind through C++); the model panics only where its own invariants
//! break, and reports the master's protocol violations as data.

use spikeslice_core::accel::ddr::{Ddr, MasterOut};
use spikeslice_hdl::manifest::Manifest;
use std::ffi::c_void;

/// The widest AXI data bus the structs carry (128 bits, in 32-bit words).
pub const MAX_DATA_WORDS: usize = 4;

/// The DDR model's outputs in one cycle, as the shim reads them.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct SlaveC {
    pub arready: u8,
    pub awready: u8,
    pub wready: u8,
    pub rvalid: u8,
    pub rresp: u8,
    pub rlast: u8,
    pub bvalid: u8,
    pub bresp: u8,
    /// RDATA, 32-bit words, word 0 = bits 31:0.
    pub rdata: [u32; MAX_DATA_WORDS],
}

/// The master's outputs in one cycle, as the shim writes them.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct MasterC {
    pub arvalid: u8,
    pub awvalid: u8,
    pub wvalid: u8,
    pub wlast: u8,
    pub rready: u8,
    pub bready: u8,
    pub pad: [u8; 2],
    pub araddr: u64,
    pub arlen: u64,
    pub arsize: u64,
    pub arburst: u64,
    pub awaddr: u64,
    pub awlen: u64,
    pub awsize: u64,
    pub awburst: u64,
    pub wstrb: u64,
    /// WDATA, 32-bit words, word 0 = bits 31:0.
    pub wdata: [u32; MAX_DATA_WORDS],
}

/// The C declarations matching [`SlaveC`] and [`MasterC`].
const C_STRUCTS: &str = "struct SsSlave { uint8_t arready, awready, wready, rvalid, rresp, rlast, bvalid, bresp; uint32_t rdata[4]; };\n\
struct SsMaster { uint8_t arvalid, awvalid, wvalid, wlast, rready, bready, pad[2];\n \
uint64_t araddr, arlen, arsize, arburst, awaddr, awlen, awsize, awburst, wstrb; uint32_t wdata[4]; };\n\
typedef void (*ss_drive_fn)(void*, SsSlave*);\ntypedef void (*ss_observe_fn)(void*, const SsMaster*);\n";

/// The AXI data width in bits of a design that has the shell's AXI4 master and
/// interrupt ports, within what [`SlaveC`] and [`MasterC`] carry: the designs the
/// loop is generated for. `None` for any other design.
pub(crate) fn data_bits(m: &Manifest) -> Option<u32> {
    let port = |n: &str| m.ports.iter().find(|p| p.name == n);
    let data = port("m_axi$rdata")?;
    port("m_axi$wdata")?;
    port("irq")?;
    (data.width as usize <= 32 * MAX_DATA_WORDS).then_some(data.width)
}

/// `ss_run_until_irq(handle, max_cycles, ctx, drive, observe)`: at most `max_cycles`
/// cycles; returns the cycles run, with bit 63 set if `irq` was high in the last
/// one. Like `ss_tick`, it leaves the last falling edge to the next evaluation.
/// `None` for a design without the shell's ports ([`data_bits`]).
pub(crate) fn shim_source(m: &Manifest, trace: bool) -> Option<String> {
    let bits = data_bits(m)?;
    let t = |name: &str| format!("h->top->{}", crate::build::cpp_name(name));
    let mut s = String::from(C_STRUCTS);
    s.push_str(
        "uint64_t ss_run_until_irq(void* p, uint64_t max_cycles, void* ctx, ss_drive_fn drive, ss_observe_fn observe) {\n \
         H* h = (H*)p; SsSlave s; SsMaster m;\n for (uint64_t c = 0; c < max_cycles; c++) {\n  drive(ctx, &s);\n",
    );
    for n in ["arready", "awready", "wready", "rvalid", "bvalid", "bresp"] {
        s.push_str(&format!("  {} = s.{n};\n", t(&format!("m_axi${n}"))));
    }
    s.push_str(&format!(
        "  if (s.rvalid) {{ {} = s.rresp; {} = s.rlast;\n",
        t("m_axi$rresp"),
        t("m_axi$rlast")
    ));
    // Data ports up to 64 bits are one integer, wider ones Verilator `VlWide`
    // words (as for `ss_set`/`ss_set_word` in `build::shim_source_for`).
    let (rdata, wdata) = (t("m_axi$rdata"), t("m_axi$wdata"));
    let words = bits.div_ceil(32);
    if bits > 64 {
        s.push_str(&format!(
            "   for (int i = 0; i < {words}; i++) {rdata}[i] = s.rdata[i];\n  }}\n"
        ));
    } else {
        s.push_str(&format!(
            "   {rdata} = (uint64_t)s.rdata[0] | ((uint64_t)s.rdata[1] << 32);\n  }}\n"
        ));
    }
    // The falling edge of the last cycle and this cycle's inputs, in one pass.
    s.push_str("  h->top->clock = 0; h->top->eval();\n");
    for n in [
        "arvalid", "awvalid", "wvalid", "wlast", "rready", "bready", "araddr", "arlen", "arsize",
        "arburst", "awaddr", "awlen", "awsize", "awburst", "wstrb",
    ] {
        s.push_str(&format!("  m.{n} = {};\n", t(&format!("m_axi${n}"))));
    }
    if bits > 64 {
        s.push_str(&format!(
            "  for (int i = 0; i < {words}; i++) m.wdata[i] = {wdata}[i];\n"
        ));
    } else {
        s.push_str(&format!(
            "  m.wdata[0] = (uint32_t){wdata}; m.wdata[1] = (uint32_t)((uint64_t){wdata} >> 32);\n"
        ));
    }
    s.push_str(&format!(
        "  observe(ctx, &m);\n  const bool irq = {} & 1;\n",
        t("irq")
    ));
    if trace {
        s.push_str("  h->t++; if (h->fst) h->fst->dump(h->t);\n");
    }
    s.push_str("  h->top->clock = 1; h->top->eval(); h->t++;\n");
    if trace {
        s.push_str("  if (h->fst) h->fst->dump(h->t);\n");
    }
    s.push_str("  h->top->clock = 0;\n  if (irq) return (c + 1) | (1ull << 63);\n }\n return max_cycles;\n}\n");
    Some(s)
}

/// What the callbacks work on: the DDR model and a reusable master struct.
pub(crate) struct Context<'a> {
    pub ddr: &'a mut Ddr,
    pub master: MasterOut,
}

/// `ss_drive_fn`: the DDR model's outputs of this cycle.
///
/// # Safety
/// `ctx` is a live `Context` and `out` a valid `SlaveC`, both only for this call.
pub(crate) unsafe extern "C" fn drive(ctx: *mut c_void, out: *mut SlaveC) {
    // SAFETY: upheld by the caller, `run_until_irq` in `verilated.rs`.
    let (c, out) = unsafe { (&mut *(ctx as *mut Context), &mut *out) };
    let o = c.ddr.drive();
    out.arready = o.arready.into();
    out.awready = o.awready.into();
    out.wready = o.wready.into();
    out.rvalid = o.rvalid.into();
    out.bvalid = o.bvalid.into();
    out.bresp = o.bresp;
    out.rresp = o.rresp;
    out.rlast = o.rlast.into();
    if o.rvalid {
        for (w, bytes) in out.rdata.iter_mut().zip(o.rdata.chunks(4)) {
            let mut b = [0u8; 4];
            b[..bytes.len()].copy_from_slice(bytes);
            *w = u32::from_le_bytes(b);
        }
    }
}

/// `ss_observe_fn`: the master's outputs of this cycle, to the DDR model.
///
/// # Safety
/// As [`drive`], with `m` a valid `MasterC`.
pub(crate) unsafe extern "C" fn observe(ctx: *mut c_void, m: *const MasterC) {
    // SAFETY: upheld by the caller, `run_until_irq` in `verilated.rs`.
    let (c, m) = unsafe { (&mut *(ctx as *mut Context), &*m) };
    let o = &mut c.master;
    // The same fields, under the same conditions, as `ShellSim::step` reads.
    o.arvalid = m.arvalid != 0;
    o.awvalid = m.awvalid != 0;
    o.wvalid = m.wvalid != 0;
    o.rready = m.rready != 0;
    o.bready = m.bready != 0;
    (o.araddr, o.arlen, o.arsize, o.arburst) = if o.arvalid {
        (m.araddr, m.arlen, m.arsize, m.arburst)
    } else {
        (0, 0, 0, 0)
    };
    (o.awaddr, o.awlen, o.awsize, o.awburst) = if o.awvalid {
        (m.awaddr, m.awlen, m.awsize, m.awburst)
    } else {
        (0, 0, 0, 0)
    };
    o.wdata.clear();
    if o.wvalid {
        o.wdata.extend(
            m.wdata
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .take(c.ddr.beat_bytes),
        );
        o.wstrb = m.wstrb;
        o.wlast = m.wlast != 0;
    } else {
        o.wstrb = 0;
        o.wlast = false;
    }
    c.ddr.observe(o);
}
