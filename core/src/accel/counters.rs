//! The hardware counters, defined once: which `CNT_*` register pair holds
//! which count. The Verilated shell, the register model, the wire protocol,
//! the board daemon and the driver all read and carry [`Counters`]; the
//! register file's RTL gets the same order from [`COUNTERS`].

use super::regmap;
use serde::{Deserialize, Serialize};

/// One 64-bit counter: its field in [`Counters`] and its `_LO` register
/// (`_HI` follows at `lo + 4`; reading `_LO` latches `_HI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub name: &'static str,
    pub lo: u32,
}

macro_rules! counters {
    ($( $(#[doc = $doc:literal])+ $field:ident = $lo:ident; )+) => {
        /// The hardware counters of one run (they clear on start).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Counters {
            $( $(#[doc = $doc])+ pub $field: u64, )+
        }

        /// Every counter, in register order.
        pub const COUNTERS: &[Counter] = &[
            $( Counter { name: stringify!($field), lo: regmap::$lo }, )+
        ];

        impl Counters {
            /// The values in [`COUNTERS`] order.
            pub fn values(&self) -> Vec<u64> {
                vec![$( self.$field, )+]
            }

            /// Counters from values in [`COUNTERS`] order (missing ones are 0).
            pub fn from_values(values: &[u64]) -> Self {
                let mut it = values.iter().copied();
                Self { $( $field: it.next().unwrap_or(0), )+ }
            }
        }
    };
}

counters! {
    /// Clock cycles from start to done (`CNT_CYCLES`).
    cycles = CNT_CYCLES_LO;
    /// Cycles the compute array was busy (`CNT_BUSY`).
    busy = CNT_BUSY_LO;
    /// PE additions performed: set slice bits times the columns they feed (`CNT_PE_ADDS`).
    pe_adds = CNT_PE_ADDS_LO;
    /// Binary slice vectors processed (`CNT_SLICES`).
    slices = CNT_SLICES_LO;
    /// Bytes the DMA read, whole beats (`CNT_DMA_RD`).
    dma_read_bytes = CNT_DMA_RD_LO;
    /// Bytes the DMA wrote (`CNT_DMA_WR`).
    dma_write_bytes = CNT_DMA_WR_LO;
    /// Cycles the DMA waited on the interconnect (`CNT_DMA_STALL`).
    dma_stall_cycles = CNT_DMA_STALL_LO;
    /// Sum of emitted spike values (`CNT_SPIKES`).
    spikes = CNT_SPIKES_LO;
}

impl Counters {
    /// Read every counter through a 64-bit read of its `_LO` offset.
    pub fn read<E>(mut read64: impl FnMut(u32) -> Result<u64, E>) -> Result<Self, E> {
        let values = COUNTERS
            .iter()
            .map(|c| read64(c.lo))
            .collect::<Result<Vec<_>, E>>()?;
        Ok(Self::from_values(&values))
    }

    /// The counter whose `_LO` (`Ok(i)`) or `_HI` (`Err(i)`) register is at
    /// `offset`, by index into [`COUNTERS`].
    pub fn register_index(offset: u32) -> Option<Result<usize, usize>> {
        COUNTERS.iter().enumerate().find_map(|(i, c)| {
            if c.lo == offset {
                Some(Ok(i))
            } else if c.lo + 4 == offset {
                Some(Err(i))
            } else {
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_register_pair_is_in_the_table_once() {
        let pairs: Vec<_> = regmap::REGISTERS
            .iter()
            .filter(|r| r.name.starts_with("CNT_") && r.name.ends_with("_LO"))
            .map(|r| r.offset)
            .collect();
        let table: Vec<_> = COUNTERS.iter().map(|c| c.lo).collect();
        assert_eq!(table, pairs);
    }

    #[test]
    fn values_round_trip_in_register_order() {
        let v: Vec<u64> = (1..=COUNTERS.len() as u64).collect();
        let c = Counters::from_values(&v);
        assert_eq!(c.values(), v);
        assert_eq!(c.cycles, 1);
        assert_eq!(c.spikes, COUNTERS.len() as u64);
        assert_eq!(
            Counters::register_index(regmap::CNT_PE_ADDS_LO + 4),
            Some(Err(2))
        );
    }
}
