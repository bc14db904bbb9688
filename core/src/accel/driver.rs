//! The driver: the one register sequence that runs a descriptor chain, over
//! a seam ([`RegisterBus`]) that the Verilated shell (`spikeslice-sim`), the
//! register model ([`super::register_model`]) and the board's `/dev/uioN`
//! (`spikeslice-fw`) implement. Programming the window and the chain,
//! starting, waiting for the interrupt, reading status, error and counters,
//! soft-resetting a hung accelerator and explaining error codes happen here
//! only (docs/register-map.md).

use super::counters::Counters;
use super::regmap::{self, ctrl, status, ErrorCode};
use super::{AcceleratorConfig, ConfigError};
use std::time::Duration;
use thiserror::Error;

/// A register access that failed: the bus did not answer, or answered with
/// an error (a simulator's AXI4-Lite SLVERR or a hang).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct BusError(pub String);

/// How long to wait for the interrupt. A board counts wall time; a simulator
/// counts clock cycles. Each bus obeys the limit it can measure (a bus with
/// no limit of its kind waits for the other one, or for ever).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadline {
    pub time: Option<Duration>,
    pub cycles: Option<u64>,
}

impl Deadline {
    /// Wait at most `time` of wall time.
    pub fn time(time: Duration) -> Self {
        Self {
            time: Some(time),
            cycles: None,
        }
    }
    /// Wait at most `cycles` clock cycles.
    pub fn cycles(cycles: u64) -> Self {
        Self {
            time: None,
            cycles: Some(cycles),
        }
    }
}

impl std::fmt::Display for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.time, self.cycles) {
            (Some(t), Some(c)) => write!(f, "{} ms or {c} cycles", t.as_millis()),
            (Some(t), None) => write!(f, "{} ms", t.as_millis()),
            (None, Some(c)) => write!(f, "{c} cycles"),
            (None, None) => write!(f, "the end of time"),
        }
    }
}

/// The accelerator's registers and interrupt: what differs between the
/// Verilated shell, the register model and a board.
pub trait RegisterBus {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError>;
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError>;
    /// Wait for the interrupt until `deadline`; whether it fired.
    fn wait_irq(&mut self, deadline: Deadline) -> Result<bool, BusError>;
    /// After a soft reset: let the DMA finish what it has in flight (it
    /// drains, docs/shell.md), so the next run starts clean. Nothing to do
    /// where the memory system is not modelled.
    fn settle(&mut self) -> Result<(), BusError> {
        Ok(())
    }
}

impl<T: RegisterBus + ?Sized> RegisterBus for &mut T {
    fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
        (**self).read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
        (**self).write32(offset, value)
    }
    fn wait_irq(&mut self, deadline: Deadline) -> Result<bool, BusError> {
        (**self).wait_irq(deadline)
    }
    fn settle(&mut self) -> Result<(), BusError> {
        (**self).settle()
    }
}

/// The DMA window the accelerator may address: `BUF_BASE` and `BUF_SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Physical address of the window's first byte.
    pub base: u64,
    /// Bytes in the window.
    pub size: u32,
}

impl Window {
    /// A window of `len` bytes at `base`, or an error when `BUF_SIZE` (32
    /// bits) cannot hold `len`.
    pub fn new(base: u64, len: usize) -> Result<Self, DriverError> {
        let size = u32::try_from(len).map_err(|_| DriverError::WindowTooLarge(len))?;
        Ok(Self { base, size })
    }
}

/// What a run left in the registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    pub status: u32,
    /// `DESC_INDEX`: the chain's length after a run that finished, else the
    /// descriptor that failed.
    pub desc_index: u32,
    /// `ERR_OFFSET`: the window offset of what failed.
    pub err_offset: u32,
    pub counters: Counters,
}

impl RunOutcome {
    /// STATUS bits 15:8 (0 = no error).
    pub fn error_code(&self) -> u32 {
        status::error_code(self.status)
    }

    /// The error the accelerator reported, if the run ended with one.
    pub fn error(&self) -> Option<AcceleratorError> {
        (self.status & status::ERROR != 0).then(|| AcceleratorError {
            code: self.error_code(),
            desc_index: self.desc_index,
            offset: self.err_offset,
        })
    }
}

/// An error the accelerator reported in `STATUS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the accelerator stopped at descriptor {desc_index}: {} (code {code}, offset 0x{offset:X})", self.describe())]
pub struct AcceleratorError {
    /// The raw code of `STATUS` bits 15:8.
    pub code: u32,
    pub desc_index: u32,
    pub offset: u32,
}

impl AcceleratorError {
    /// The code, when it is one the register map defines.
    pub fn kind(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }
    fn describe(&self) -> &'static str {
        self.kind().map_or("an unknown error", |c| c.describe())
    }
}

/// Why a run did not complete.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DriverError {
    #[error("register access failed: {0}")]
    Bus(#[from] BusError),
    #[error("no interrupt within {deadline}: STATUS {status:#010x}, DESC_INDEX {desc_index}, CNT_CYCLES {cycles}; the accelerator was soft-reset")]
    Hang {
        deadline: Deadline,
        status: u32,
        desc_index: u32,
        cycles: u64,
    },
    #[error("the interrupt fired without STATUS.done: STATUS {0:#010x}")]
    NotDone(u32),
    #[error("no spikeslice accelerator here: ID reads {0:#010x}, expected {magic:#010x}", magic = regmap::MAGIC)]
    NotAnAccelerator(u32),
    #[error("the accelerator's register map is version {found:#010x}; this driver speaks major version {major}", major = regmap::REGMAP_VERSION >> 16)]
    Version { found: u32 },
    #[error("the accelerator's configuration registers: {0}")]
    Config(#[from] ConfigError),
    #[error("a {0}-byte window does not fit the 32-bit BUF_SIZE")]
    WindowTooLarge(usize),
}

/// The driver over one bus.
pub struct Driver<B> {
    pub bus: B,
}

impl<B: RegisterBus> Driver<B> {
    pub fn new(bus: B) -> Self {
        Self { bus }
    }

    /// Check `ID` and `VERSION` and read the generated configuration.
    pub fn identify(&mut self) -> Result<AcceleratorConfig, DriverError> {
        let id = self.bus.read32(regmap::ID)?;
        if id != regmap::MAGIC {
            return Err(DriverError::NotAnAccelerator(id));
        }
        let version = self.bus.read32(regmap::VERSION)?;
        if version >> 16 != regmap::REGMAP_VERSION >> 16 {
            return Err(DriverError::Version { found: version });
        }
        Ok(AcceleratorConfig::from_register_values(
            &self.config_registers()?,
        )?)
    }

    /// `(offset, value)` of every configuration register, as the protocol's
    /// handshake carries them.
    pub fn config_registers(&mut self) -> Result<Vec<(u32, u32)>, BusError> {
        AcceleratorConfig::default()
            .config_registers()
            .into_iter()
            .map(|(o, _)| Ok((o, self.bus.read32(o)?)))
            .collect()
    }

    /// A 64-bit counter: `_LO` (which latches `_HI`), then `_HI`.
    pub fn read64(&mut self, lo: u32) -> Result<u64, BusError> {
        let l = self.bus.read32(lo)?;
        let h = self.bus.read32(lo + 4)?;
        Ok(u64::from(l) | (u64::from(h) << 32))
    }

    /// Every counter.
    pub fn counters(&mut self) -> Result<Counters, BusError> {
        Counters::read(|lo| self.read64(lo))
    }

    /// Soft reset (CTRL bit 1): the controller and the core return to idle,
    /// STATUS and the pending interrupt clear, the DMA drains.
    pub fn soft_reset(&mut self) -> Result<(), BusError> {
        self.bus.write32(regmap::CTRL, ctrl::SOFT_RESET)?;
        self.bus.settle()
    }

    /// Program the window and the chain, acknowledge any old interrupt, and
    /// start with the interrupt enabled.
    pub fn start(
        &mut self,
        window: Window,
        desc_offset: u32,
        desc_count: u32,
    ) -> Result<(), BusError> {
        let b = &mut self.bus;
        b.write32(regmap::BUF_BASE_LO, window.base as u32)?;
        b.write32(regmap::BUF_BASE_HI, (window.base >> 32) as u32)?;
        b.write32(regmap::BUF_SIZE, window.size)?;
        b.write32(regmap::DESC_OFFSET, desc_offset)?;
        b.write32(regmap::DESC_COUNT, desc_count)?;
        b.write32(regmap::IRQ_STATUS, 1)?;
        b.write32(regmap::CTRL, ctrl::START | ctrl::IRQ_ENABLE)
    }

    /// Run the chain of `desc_count` descriptors at `desc_offset` and wait
    /// for the interrupt. A run that ends with an error code is an `Ok`
    /// outcome ([`RunOutcome::error`]); no done by `deadline` is
    /// [`DriverError::Hang`], after a soft reset so the next run starts clean.
    pub fn run(
        &mut self,
        window: Window,
        desc_offset: u32,
        desc_count: u32,
        deadline: Deadline,
    ) -> Result<RunOutcome, DriverError> {
        self.start(window, desc_offset, desc_count)?;
        let fired = self.bus.wait_irq(deadline)?;
        let st = self.bus.read32(regmap::STATUS)?;
        if !fired && st & status::DONE == 0 {
            let desc_index = self.bus.read32(regmap::DESC_INDEX)?;
            let cycles = self.read64(regmap::CNT_CYCLES_LO)?;
            self.soft_reset()?;
            return Err(DriverError::Hang {
                deadline,
                status: st,
                desc_index,
                cycles,
            });
        }
        let desc_index = self.bus.read32(regmap::DESC_INDEX)?;
        let err_offset = self.bus.read32(regmap::ERR_OFFSET)?;
        let counters = self.counters()?;
        self.bus.write32(regmap::IRQ_STATUS, 1)?;
        if st & status::DONE == 0 {
            return Err(DriverError::NotDone(st));
        }
        Ok(RunOutcome {
            status: st,
            desc_index,
            err_offset,
            counters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accel::register_model::RegisterModel;

    #[test]
    fn identify_reads_the_generated_configuration() {
        let config = AcceleratorConfig {
            rows: 4,
            cols: 16,
            ..Default::default()
        };
        let mut model = RegisterModel::new(config);
        let mut window = vec![0u8; 256];
        let mut d = Driver::new(model.bus(&mut window));
        assert_eq!(d.identify().unwrap(), config);
    }

    #[test]
    fn a_bad_chain_is_an_outcome_with_the_error_explained() {
        let mut model = RegisterModel::new(AcceleratorConfig::default());
        let mut window = vec![0u8; 4096];
        let mut d = Driver::new(model.bus(&mut window));
        let deadline = Deadline::cycles(1000);
        let out = d
            .run(Window::new(0, 4096).unwrap(), 0, 1, deadline)
            .unwrap();
        let e = out.error().expect("garbage is no descriptor");
        assert_eq!(e.kind(), Some(ErrorCode::BadDescriptor));
        assert!(
            e.to_string()
                .starts_with("the accelerator stopped at descriptor 0: a descriptor has no magic"),
            "{e}"
        );
    }

    /// A bus whose interrupt never fires and whose STATUS stays busy.
    struct Stuck {
        writes: Vec<(u32, u32)>,
        settled: bool,
    }

    impl RegisterBus for Stuck {
        fn read32(&mut self, offset: u32) -> Result<u32, BusError> {
            Ok(if offset == regmap::STATUS {
                status::BUSY
            } else {
                0
            })
        }
        fn write32(&mut self, offset: u32, value: u32) -> Result<(), BusError> {
            self.writes.push((offset, value));
            Ok(())
        }
        fn wait_irq(&mut self, _: Deadline) -> Result<bool, BusError> {
            Ok(false)
        }
        fn settle(&mut self) -> Result<(), BusError> {
            self.settled = true;
            Ok(())
        }
    }

    #[test]
    fn a_hang_soft_resets_and_settles() {
        let mut d = Driver::new(Stuck {
            writes: vec![],
            settled: false,
        });
        let deadline = Deadline::time(Duration::from_millis(5));
        let e = d
            .run(Window::new(0x1000, 64).unwrap(), 0, 1, deadline)
            .unwrap_err();
        assert!(matches!(e, DriverError::Hang { .. }), "{e}");
        assert_eq!(d.bus.writes.last(), Some(&(regmap::CTRL, ctrl::SOFT_RESET)));
        assert!(d.bus.settled);
        assert!(Window::new(0, 1 << 33).is_err());
    }
}
