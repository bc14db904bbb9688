//! A plain read-write register: 32 bits, reset to the table's value, written
//! byte by byte under the write strobes; its value drives an output of the
//! register file.

use crate::param::Param;
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct RwRegister {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high: back to the reset value.
    pub rst: Signal<In, Bit>,
    /// A write to this register is performed in this cycle.
    pub write: Signal<In, Bit>,
    /// The write's byte-strobe mask and the data under it.
    pub wmask: Signal<In, Bits<32>>,
    pub wbits: Signal<In, Bits<32>>,
    pub value: Signal<Out, Bits<32>>,
    word: DFF<Bits<32>>,
    reset: Param<Bits<32>>,
}

impl RwRegister {
    /// A register that resets to `reset`.
    pub fn new(reset: u32) -> Self {
        Self {
            reset: Param::new(u64::from(reset).into()),
            ..Default::default()
        }
    }
}

impl Logic for RwRegister {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, word);
        self.value.next = self.word.q.val();
        if self.write.val() {
            self.word.d.next = (self.word.q.val() & !self.wmask.val()) | self.wbits.val();
        }
        if self.rst.val() {
            self.word.d.next = self.reset.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::bench::{bench, check, cyc};

    #[test]
    fn resets_to_its_value_and_writes_only_strobed_bytes() {
        bench(RwRegister::new(0xA5A5_0001), 10_000, |sim, mut x| {
            check!(sim, x, x.value.val() == 0xA5A5_0001, "reset value");
            x.write.next = true;
            x.wmask.next = 0x00FF_00FF.into();
            x.wbits.next = 0x0022_0044.into();
            x = cyc(sim, x)?;
            x.write.next = false;
            check!(sim, x, x.value.val() == 0xA522_0044, "{:x}", x.value.val());
            // Without `write`, the bus's data does not reach the register.
            x.wmask.next = 0xFFFF_FFFF.into();
            x = cyc(sim, x)?;
            check!(sim, x, x.value.val() == 0xA522_0044, "no write");
            Ok(x)
        });
    }
}
