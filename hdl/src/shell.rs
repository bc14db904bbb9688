//! The accelerator shell top (`spikeslice_shell`): the AXI4-Lite register file
//! ([`crate::csr::Csr`]), the AXI4 DMA ([`crate::dma::Dma`]), the descriptor controller
//! with its buffers ([`crate::controller::Controller`]) and the compute core
//! ([`crate::sequencer::Core`]). See docs/shell.md.
//!
//! Top ports (the contract of the Verilator harness and the Vivado wrapper):
//! `clock`, `rst` (synchronous, active high), `s_axi$*` (AXI4-Lite slave, 12 address
//! bits, 32 data bits), `m_axi$*` (AXI4 master, 64 address bits, 64 or 128 data bits)
//! and `irq` (level). [`ports`] lists them with directions and widths.

use crate::axi::{Axi4Master, AxiLiteSlave, MASTER_ADDR_BITS};
use crate::config::ConfigError;
use crate::controller::Controller;
use crate::csr::{Csr, CsrError, CsrLayout, ADDR_BITS};
use crate::dma::{Dma, DmaError, DmaParams, ReadServer, WriteServer};
use crate::manifest::{Manifest, Port};
use crate::sequencer::Core;
use crate::GenError;
use rust_hdl::prelude::*;
use spikeslice_core::accel::AcceleratorConfig;
use std::path::Path;

/// Name of the generated top module (and of the Verilog file, plus `.v`).
pub const TOP_NAME: &str = "spikeslice_shell";
/// File name of the generated Verilog inside the output directory.
pub const VERILOG_FILE: &str = "spikeslice_shell.v";
/// Read bursts the DMA keeps in flight.
pub const MAX_OUTSTANDING: usize = 4;

/// Why a shell cannot be generated.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Csr(#[from] CsrError),
    #[error(transparent)]
    Dma(#[from] DmaError),
    #[error(transparent)]
    Check(#[from] crate::DesignCheck),
}

/// The DMA parameters of an accelerator configuration.
pub fn dma_params(cfg: &AcceleratorConfig) -> DmaParams {
    DmaParams {
        data_bits: cfg.axi_data_bytes * 8,
        max_burst: cfg.max_burst_beats,
        max_outstanding: MAX_OUTSTANDING,
    }
}

/// Checks everything the generator needs: the configuration's limits (core)
/// and the DMA's.
pub fn validate(cfg: &AcceleratorConfig) -> Result<(), ShellError> {
    cfg.validate()?;
    dma_params(cfg).validate()?;
    Ok(())
}

/// The shell top. `ACC`/`MEM`: core widths; `D`/`S`: AXI master data bits/strobes;
/// `W2` = 2 * `D` (the controller's gearbox window).
#[derive(LogicBlock)]
pub struct Shell<
    const ACC: usize,
    const MEM: usize,
    const D: usize,
    const S: usize,
    const W2: usize,
> {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high (the Vivado wrapper inverts ARESETN).
    pub rst: Signal<In, Bit>,
    pub s_axi: AxiLiteSlave<ADDR_BITS, 32, 4>,
    pub m_axi: Axi4Master<MASTER_ADDR_BITS, D, S>,
    /// Interrupt (level): CSR IRQ_STATUS.pending & CTRL.irq_enable.
    pub irq: Signal<Out, Bit>,
    csr: Csr,
    dma: Dma<D, S>,
    ctl: Controller<D, S, W2, MEM>,
    core: Core<ACC, MEM>,
    srst: Signal<Local, Bit>,
    _rows: usize,
    _cols: usize,
}

type LiteBus = AxiLiteSlave<ADDR_BITS, 32, 4>;
type MasterBus<const D: usize, const S: usize> = Axi4Master<MASTER_ADDR_BITS, D, S>;

/// Indices of the register file's port vectors, in table order; checked against the
/// layout by [`Shell::new`].
const RW_ORDER: [&str; 5] = [
    "BUF_BASE_LO",
    "BUF_BASE_HI",
    "BUF_SIZE",
    "DESC_OFFSET",
    "DESC_COUNT",
];
const RO_ORDER: [&str; 2] = ["DESC_INDEX", "ERR_OFFSET"];
const CNT_ORDER: [&str; 8] = [
    "CNT_CYCLES",
    "CNT_BUSY",
    "CNT_PE_ADDS",
    "CNT_SLICES",
    "CNT_DMA_RD",
    "CNT_DMA_WR",
    "CNT_DMA_STALL",
    "CNT_SPIKES",
];

fn check_layout(l: &CsrLayout) {
    for (i, n) in RW_ORDER.iter().enumerate() {
        assert_eq!(l.rw_index(n), Some(i), "CSR rw port of {n}");
    }
    for (i, n) in RO_ORDER.iter().enumerate() {
        assert_eq!(l.ro_index(n), Some(i), "CSR ro port of {n}");
    }
    for (i, n) in CNT_ORDER.iter().enumerate() {
        assert_eq!(l.counter_index(n), Some(i), "CSR counter port of {n}");
    }
}

impl<const ACC: usize, const MEM: usize, const D: usize, const S: usize, const W2: usize>
    Shell<ACC, MEM, D, S, W2>
{
    pub fn new(cfg: &AcceleratorConfig) -> Result<Self, ShellError> {
        validate(cfg)?;
        let (csr, layout) = Csr::new(&cfg.config_registers())?;
        check_layout(&layout);
        Ok(Shell {
            clock: Default::default(),
            rst: Default::default(),
            s_axi: Default::default(),
            m_axi: Default::default(),
            irq: Default::default(),
            csr,
            dma: Dma::new(&dma_params(cfg))?,
            ctl: Controller::new(cfg),
            core: Core::new(&cfg.array()),
            srst: Default::default(),
            _rows: cfg.rows,
            _cols: cfg.cols,
        })
    }
}

impl<const ACC: usize, const MEM: usize, const D: usize, const S: usize, const W2: usize>
    Shell<ACC, MEM, D, S, W2>
{
    /// The controller's FSM state (for test benches and cycle accounting).
    pub fn controller_state(&self) -> crate::controller::CtlState {
        self.ctl.fsm_state()
    }
}

impl<const ACC: usize, const MEM: usize, const D: usize, const S: usize, const W2: usize> Logic
    for Shell<ACC, MEM, D, S, W2>
{
    #[hdl_gen]
    fn update(&mut self) {
        self.csr.clock.next = self.clock.val();
        self.dma.clock.next = self.clock.val();
        self.ctl.clock.next = self.clock.val();
        self.core.clock.next = self.clock.val();
        LiteBus::link(&mut self.s_axi, &mut self.csr.s_axi);
        MasterBus::<D, S>::link(&mut self.m_axi, &mut self.dma.m_axi);
        self.irq.next = self.csr.irq.val();
        // Soft reset (CTRL bit 1) resets the controller and the core; the DMA keeps
        // running and the idle controller drains it (docs/shell.md).
        self.srst.next = self.csr.soft_reset.val();
        self.csr.rst.next = self.rst.val();
        self.dma.rst.next = self.rst.val();
        self.ctl.rst.next = self.rst.val() | self.srst.val();
        self.core.rst.next = self.rst.val() | self.srst.val();
        // Register file.
        self.csr.busy.next = self.ctl.busy.val();
        self.csr.done.next = self.ctl.done.val();
        self.csr.error.next = self.ctl.error.val();
        self.csr.error_code.next = self.ctl.error_code.val();
        self.csr.ro[0].next = self.ctl.desc_index.val();
        self.csr.ro[1].next = self.ctl.err_offset.val();
        self.csr.cnt[0].next = self.ctl.cnt_cycles.val();
        self.csr.cnt[1].next = self.ctl.cnt_busy.val();
        self.csr.cnt[2].next = self.ctl.cnt_pe_adds.val();
        self.csr.cnt[3].next = self.ctl.cnt_slices.val();
        self.csr.cnt[4].next = self.dma.bytes_rd.val();
        self.csr.cnt[5].next = self.dma.bytes_wr.val();
        self.csr.cnt[6].next = self.dma.stall_cycles.val();
        self.csr.cnt[7].next = self.ctl.cnt_spikes.val();
        self.ctl.start.next = self.csr.start.val();
        self.ctl.buf_size.next = self.csr.rw[2].val();
        self.ctl.desc_offset.next = self.csr.rw[3].val();
        self.ctl.desc_count.next = self.csr.rw[4].val();
        // DMA.
        self.dma.buf_base.next = bit_cast::<64, 32>(self.csr.rw[0].val())
            | (bit_cast::<64, 32>(self.csr.rw[1].val()) << 32);
        self.dma.buf_size.next = self.csr.rw[2].val();
        self.dma.cnt_clear.next = self.ctl.cnt_clear.val() | self.srst.val();
        ReadServer::<D>::join(&mut self.dma.rd, &mut self.ctl.dma_rd);
        WriteServer::<D>::join(&mut self.dma.wr, &mut self.ctl.dma_wr);
        // Core.
        self.core.cfg_k.next = self.ctl.c_cfg_k.val();
        self.core.cfg_slices.next = self.ctl.c_cfg_slices.val();
        self.core.cfg_b_in.next = self.ctl.c_cfg_b_in.val();
        self.core.cfg_b_w.next = self.ctl.c_cfg_b_w.val();
        self.core.cfg_b_s.next = self.ctl.c_cfg_b_s.val();
        self.core.cfg_lif.next = self.ctl.c_cfg_lif.val();
        self.core.cfg_leak.next = self.ctl.c_cfg_leak.val();
        self.core.cfg_hard.next = self.ctl.c_cfg_hard.val();
        self.core.cfg_readout.next = self.ctl.c_cfg_readout.val();
        self.core.cfg_repeats.next = self.ctl.c_cfg_repeats.val();
        self.core.start.next = self.ctl.c_start.val();
        self.core.keep_params.next = self.ctl.c_keep_params.val();
        // The controller keeps spikes; a spiking run's final membranes would be dropped.
        self.core.spikes_only.next = true;
        self.ctl.c_busy.next = self.core.busy.val();
        self.ctl.c_ready.next = self.core.ready.val();
        self.ctl.c_done.next = self.core.done.val();
        self.ctl.c_error.next = self.core.error.val();
        self.core.par_valid.next = self.ctl.c_par_valid.val();
        self.ctl.c_par_ready.next = self.core.par_ready.val();
        self.core.par_data.next = self.ctl.c_par_data.val();
        self.core.wgt_valid.next = self.ctl.c_wgt_valid.val();
        self.ctl.c_wgt_ready.next = self.core.wgt_ready.val();
        self.core.act_valid.next = self.ctl.c_act_valid.val();
        self.ctl.c_act_ready.next = self.core.act_ready.val();
        self.ctl.c_spk_valid.next = self.core.spk_valid.val();
        self.core.spk_ready.next = self.ctl.c_spk_ready.val();
        self.ctl.c_mem_valid.next = self.core.mem_valid.val();
        self.core.mem_ready.next = self.ctl.c_mem_ready.val();
        self.ctl.c_mem_data.next = self.core.mem_data.val();
        for c in 0..self._cols {
            self.core.wgt_data[c].next = self.ctl.c_wgt_data[c].val();
            self.ctl.c_spk_data[c].next = self.core.spk_data[c].val();
        }
        for r in 0..self._rows {
            self.core.act_data[r].next = self.ctl.c_act_data[r].val();
        }
    }
}

/// The shell built for `cfg` (the width menu picks the instance), handed to `f`.
fn with_shell<R>(
    cfg: &AcceleratorConfig,
    f: impl FnOnce(&mut dyn Block) -> R,
) -> Result<R, ShellError> {
    validate(cfg)?;
    // One function per instance: each shell lives in a stack frame of its own
    // (in one frame, the menu's thirty-six shells would overflow the stack).
    fn on<
        const ACC: usize,
        const MEM: usize,
        const D: usize,
        const S: usize,
        const W2: usize,
        R,
    >(
        cfg: &AcceleratorConfig,
        f: impl FnOnce(&mut dyn Block) -> R,
    ) -> Result<R, ShellError> {
        Ok(f(&mut Shell::<ACC, MEM, D, S, W2>::new(cfg)?))
    }
    macro_rules! build {
        ($acc:literal, $mem:literal) => {
            if cfg.axi_data_bytes == 8 {
                on::<$acc, $mem, 64, 8, 128, R>(cfg, f)
            } else {
                on::<$acc, $mem, 128, 16, 256, R>(cfg, f)
            }
        };
    }
    crate::width_menu!(cfg.acc_bits, cfg.membrane_bits, build)
}

/// Waivers the shell needs beyond [`crate::lint::WAIVERS`], with their reasons.
pub const SHELL_EXTRA_WAIVERS: &[(&str, &str)] = &[(
    "UNOPTFLAT",
    "rust-hdl emits one always @(*) block per module, so a valid/ready pair crossing \
     two modules (the DMA's read stream and the controller's gearbox: rd_valid in, \
     rd_ready out) looks like a combinational loop at block granularity although no \
     signal depends on itself; UNOPTFLAT is a Verilator performance note, and the \
     rust-hdl simulation (which iterates to a fixed point) checks the settling",
)];

/// Header, every lint waiver of [`crate::lint::WAIVERS`] (the shell contains the core,
/// so the core's `UNUSEDSIGNAL` reason applies too, as do the unused high address bits
/// of the buffers), and the top renamed from rust-hdl's `top`.
fn finish(raw: &str, cfg: &AcceleratorConfig) -> String {
    let header = format!(
        "// Generated by spikeslice-hdl with rust-hdl 0.46.0: accelerator shell, {}x{} array, \
         acc {} / membrane {} bits, {}-bit AXI master.\n\
         // Do not edit: regenerate with spikeslice_hdl::shell::generate.\n",
        cfg.rows,
        cfg.cols,
        cfg.acc_bits,
        cfg.membrane_bits,
        cfg.axi_data_bytes * 8
    );
    let waivers = [crate::lint::WAIVERS, SHELL_EXTRA_WAIVERS].concat();
    crate::lint::finish(&header, &waivers, raw, TOP_NAME)
}

/// The Verilog text of the shell for `cfg` (top module `spikeslice_shell`, lint
/// waivers applied).
pub fn verilog(cfg: &AcceleratorConfig) -> Result<String, ShellError> {
    let raw = with_shell(cfg, crate::verilog_of)??;
    Ok(finish(&raw, cfg))
}

/// Every port of `spikeslice_shell` for `cfg`, in declaration order.
pub fn ports(cfg: &AcceleratorConfig) -> Result<Vec<Port>, ShellError> {
    with_shell(cfg, |shell| crate::manifest::ports_of(shell))
}

/// The manifest of a generated shell (`config` = the core's [`crate::ArrayConfig`]; the hash
/// also covers the whole accelerator configuration).
pub fn manifest_for(cfg: &AcceleratorConfig, verilog_text: &str) -> Result<Manifest, ShellError> {
    Ok(Manifest::of_design(
        " shell",
        cfg.array(),
        Some(*cfg),
        TOP_NAME,
        ports(cfg)?,
        VERILOG_FILE,
        verilog_text,
    ))
}

/// Writes `spikeslice_shell.v` and `manifest.json` into `out_dir` (created if needed).
pub fn generate(cfg: &AcceleratorConfig, out_dir: &Path) -> Result<Manifest, GenError> {
    let text = verilog(cfg).map_err(|e| GenError::Shell(Box::new(e)))?;
    let manifest = manifest_for(cfg, &text).map_err(|e| GenError::Shell(Box::new(e)))?;
    crate::write_design(out_dir, VERILOG_FILE, &text, manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_records_the_whole_accelerator() {
        let small = AcceleratorConfig {
            wbuf_bytes: 4096,
            ..AcceleratorConfig::default()
        };
        let text = "module spikeslice_shell; endmodule";
        let m = manifest_for(&small, text).unwrap();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["accelerator"]["wbuf_bytes"], 4096);
        assert_eq!(json["config"]["rows"], small.rows);
        let back: Manifest = serde_json::from_value(json).unwrap();
        assert_eq!(back.accelerator, Some(small));
        // The buffer sizes are part of the design's identity.
        assert_ne!(
            m.hash,
            manifest_for(&AcceleratorConfig::default(), text)
                .unwrap()
                .hash
        );
    }

    #[test]
    fn ports_follow_the_contract() {
        for bytes in [8usize, 16] {
            let cfg = AcceleratorConfig {
                axi_data_bytes: bytes,
                ..Default::default()
            };
            let p = ports(&cfg).unwrap();
            assert_eq!(p.len(), 2 + 17 + 25 + 1);
            assert_eq!(p[0].name, "clock");
            assert_eq!(p.last().unwrap().name, "irq");
            let w = |n: &str| p.iter().find(|x| x.name == n).unwrap().width;
            assert_eq!(w("m_axi$rdata"), 8 * bytes as u32);
            assert_eq!(w("m_axi$wstrb"), bytes as u32);
            assert_eq!(w("m_axi$araddr"), 64);
            assert_eq!(w("s_axi$awaddr"), 12);
            // ... and the Vivado wrapper can connect every one of them.
            let wrapper = crate::vivado::WrapperParams {
                axi_data_bits: 8 * bytes as u32,
                ..Default::default()
            };
            crate::vivado::check_shell_ports(&p, &wrapper).unwrap();
        }
    }

    #[test]
    fn refuses_configurations_it_cannot_build() {
        let bad = |c: AcceleratorConfig| verilog(&c).is_err();
        assert!(bad(AcceleratorConfig {
            acc_bits: 18,
            ..Default::default()
        }));
        assert!(bad(AcceleratorConfig {
            axi_data_bytes: 4,
            ..Default::default()
        }));
        assert!(bad(AcceleratorConfig {
            wbuf_bytes: 4,
            ..Default::default()
        }));
        assert_eq!(AcceleratorConfig::default().array().rows, 8);
    }
}
