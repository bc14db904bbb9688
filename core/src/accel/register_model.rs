//! The accelerator as software sees it: the register file of
//! docs/register-map.md over a DMA window, with the functional model doing
//! the work when `CTRL.start` is written. The firmware's simulated board and
//! the driver's tests program it exactly as they program the RTL.
//!
//! Timing is not modelled: a start completes the chain at once (status done,
//! or error with its code), and `CNT_CYCLES` counts what the attached cycle
//! estimate says (zero when none is attached).

use super::counters::Counters;
use super::descriptor::DescriptorError;
use super::driver::{BusError, Deadline, RegisterBus};
use super::functional::{self, Activity};
use super::regmap::{self, ctrl, status, ErrorCode};
use super::AcceleratorConfig;

/// Registers plus the window they point into.
#[derive(Debug, Clone)]
pub struct RegisterModel {
    pub config: AcceleratorConfig,
    ctrl: u32,
    status: u32,
    irq_pending: bool,
    buf_base: u64,
    buf_size: u32,
    desc_offset: u32,
    desc_count: u32,
    desc_index: u32,
    err_offset: u32,
    counters: Counters,
    latched_hi: u32,
    /// Runs completed since reset, for tests.
    pub runs: u64,
}

impl RegisterModel {
    pub fn new(config: AcceleratorConfig) -> Self {
        Self {
            config,
            ctrl: 0,
            status: 0,
            irq_pending: false,
            buf_base: 0,
            buf_size: 0,
            desc_offset: 0,
            desc_count: 0,
            desc_index: 0,
            err_offset: 0,
            counters: Counters::default(),
            latched_hi: 0,
            runs: 0,
        }
    }

    /// Whether the interrupt line is high.
    pub fn irq(&self) -> bool {
        self.irq_pending && self.ctrl & ctrl::IRQ_ENABLE != 0
    }

    /// A 32-bit register read.
    pub fn read(&mut self, offset: u32) -> u32 {
        use regmap::*;
        match Counters::register_index(offset) {
            Some(Ok(i)) => {
                let v = self.counters.values()[i];
                self.latched_hi = (v >> 32) as u32;
                return v as u32;
            }
            Some(Err(_)) => return self.latched_hi,
            None => {}
        }
        if let Some((_, v)) = self
            .config
            .config_registers()
            .into_iter()
            .find(|(o, _)| *o == offset)
        {
            return v;
        }
        match offset {
            ID => MAGIC,
            VERSION => REGMAP_VERSION,
            CTRL => self.ctrl & ctrl::IRQ_ENABLE,
            STATUS => self.status,
            IRQ_STATUS => u32::from(self.irq_pending),
            BUF_BASE_LO => self.buf_base as u32,
            BUF_BASE_HI => (self.buf_base >> 32) as u32,
            BUF_SIZE => self.buf_size,
            DESC_OFFSET => self.desc_offset,
            DESC_COUNT => self.desc_count,
            DESC_INDEX => self.desc_index,
            ERR_OFFSET => self.err_offset,
            _ => 0,
        }
    }

    /// A 32-bit register write. `window` is the DMA window's memory (what the
    /// accelerator reaches through `BUF_BASE`); a start runs the chain on it.
    pub fn write(&mut self, offset: u32, value: u32, window: &mut [u8]) {
        use regmap::*;
        match offset {
            CTRL => {
                self.ctrl = value & ctrl::IRQ_ENABLE;
                if value & ctrl::SOFT_RESET != 0 {
                    self.status = 0;
                    self.irq_pending = false;
                    self.counters = Counters::default();
                }
                if value & ctrl::START != 0 {
                    self.start(window);
                }
            }
            IRQ_STATUS if value & 1 != 0 => self.irq_pending = false,
            BUF_BASE_LO => self.buf_base = (self.buf_base & !0xFFFF_FFFF) | u64::from(value),
            BUF_BASE_HI => self.buf_base = (self.buf_base & 0xFFFF_FFFF) | (u64::from(value) << 32),
            BUF_SIZE => self.buf_size = value,
            DESC_OFFSET => self.desc_offset = value,
            DESC_COUNT => self.desc_count = value,
            _ => {}
        }
    }

    fn start(&mut self, window: &mut [u8]) {
        self.counters = Counters::default();
        // The accelerator sees only BUF_SIZE bytes, however large the memory.
        let size = (self.buf_size as usize).min(window.len());
        let result: Result<Activity, DescriptorError> = functional::execute(
            &mut window[..size],
            self.desc_offset,
            self.desc_count,
            &self.config,
        );
        match result {
            Ok(a) => {
                self.status = status::DONE;
                self.desc_index = self.desc_count;
                self.err_offset = 0;
                self.counters = Counters {
                    pe_adds: a.pe_adds,
                    slices: a.slices,
                    dma_read_bytes: a.bytes_read,
                    dma_write_bytes: a.bytes_written,
                    spikes: a.spikes,
                    ..Counters::default()
                };
            }
            Err(e) => {
                self.status = status::DONE | status::ERROR | ((e.code as u32) << 8);
                self.desc_index = e.index as u32;
                self.err_offset = e.offset;
            }
        }
        self.runs += 1;
        self.irq_pending = true;
    }

    /// The error of the last run, if any.
    pub fn error(&self) -> Option<ErrorCode> {
        if self.status & status::ERROR != 0 {
            ErrorCode::from_code(status::error_code(self.status))
        } else {
            None
        }
    }
}

/// The register model with the memory it reaches through `BUF_BASE`, as a
/// [`RegisterBus`] for the driver.
pub struct ModelBus<'a> {
    pub model: &'a mut RegisterModel,
    pub window: &'a mut [u8],
}

impl RegisterModel {
    /// This model over `window`, for [`super::driver::Driver`].
    pub fn bus<'a>(&'a mut self, window: &'a mut [u8]) -> ModelBus<'a> {
        ModelBus {
            model: self,
            window,
        }
    }
}

impl RegisterBus for ModelBus<'_> {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        Ok(self.model.read(offset))
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        self.model.write(offset, value, self.window);
        Ok(())
    }
    fn wait_irq(&mut self, _deadline: Deadline) -> Result<bool, BusError> {
        // A run completes within the start write.
        Ok(self.model.irq())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_config_and_counters_latch() {
        let c = AcceleratorConfig::default();
        let mut m = RegisterModel::new(c);
        assert_eq!(m.read(regmap::ID), regmap::MAGIC);
        let back = AcceleratorConfig::from_registers(|o| m.read(o)).unwrap();
        assert_eq!(back, c);
        m.counters.cycles = 0x1_2345_6789;
        assert_eq!(m.read(regmap::CNT_CYCLES_LO), 0x2345_6789);
        m.counters.cycles = 0xFFFF_FFFF_FFFF_FFFF; // a change between LO and HI
        assert_eq!(
            m.read(regmap::CNT_CYCLES_HI),
            1,
            "HI comes from the LO read's latch"
        );
    }

    #[test]
    fn a_start_on_garbage_reports_a_bad_descriptor_and_raises_irq() {
        let mut m = RegisterModel::new(AcceleratorConfig::default());
        let mut window = vec![0u8; 4096];
        m.write(regmap::BUF_SIZE, 4096, &mut window);
        m.write(regmap::DESC_COUNT, 1, &mut window);
        m.write(regmap::CTRL, ctrl::IRQ_ENABLE | ctrl::START, &mut window);
        assert_eq!(m.error(), Some(ErrorCode::BadDescriptor));
        assert!(m.irq());
        m.write(regmap::IRQ_STATUS, 1, &mut window);
        assert!(!m.irq());
    }
}
