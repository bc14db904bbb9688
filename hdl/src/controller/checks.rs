//! The layer's checks after the size arithmetic, as the functional model makes
//! them (`spikeslice_core::accel::functional`):
//!
//! - **regions** (the FSM's Regions state): O must divide into G groups and
//!   an im2col layer's geometry fit its fan-in and input (code 2 at the
//!   descriptor), then every region in the order of
//!   `LayerDescriptor::regions` (weights, params, input, output, and the gather
//!   table of a table-gather layer) must end inside the window (code 3 at the region's
//!   offset). The region ends are 64-bit sums; a size of 2^32 words or more
//!   (the saturated arithmetic's) counts as far outside every window;
//! - **fit** (Fit): the fan-in, the activation words and the output words
//!   within the on-chip buffers (`BufferPlan`; code 6, BufferOverflow);
//! - **gather entries** (Grow): every entry of a gather row offered
//!   (`entry_take`) must be padding (0xFFFFFFFF) or an input index; the first
//!   that is neither is kept with its offset in the window (code 2), and the
//!   row is never run. Each row is checked as a run reads it, so the check
//!   costs no cycles and the table is read once per run, not once more.
//!
//! The block only compares; the FSM reports what it says. The region and fit
//! results are registered: they hold the compares of the cycle before, and the
//! FSM reads them in Fit, a cycle after Regions, when the sizes have been
//! stable for a cycle (unregistered, the region ends' sums and compares and
//! the choice of the failing region's offset run on into the error registers
//! as one of the shell's deepest paths, docs/resources.md "Whole shell"; a
//! failing descriptor reports a cycle later, a passing one takes the same
//! cycles).

use super::descriptor::Layer;
use super::sizes::SizesIn;
use crate::param::Param;
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct LayerChecks {
    pub clock: Signal<In, Clock>,
    /// The descriptor's fields and the layer's sizes.
    pub layer: Layer,
    pub sizes: SizesIn,
    /// BUF_SIZE, the descriptor's offset and its regions' offsets.
    pub window_size: Signal<In, Bits<32>>,
    pub descriptor_offset: Signal<In, Bits<32>>,
    /// Regions: a check fails, with its code and offset (of the inputs a
    /// cycle before).
    pub region_fail: Signal<Out, Bit>,
    pub region_code: Signal<Out, Bits<8>>,
    pub region_offset: Signal<Out, Bits<32>>,
    /// Fit: the layer does not fit the buffers (of the inputs a cycle before).
    pub overflow: Signal<Out, Bit>,
    /// Gather entries: a row's read starts (forget the last row's entry);
    /// entry `entry_index` of the row at window offset `row_offset` is offered.
    pub entry_restart: Signal<In, Bit>,
    pub entry_take: Signal<In, Bit>,
    pub entry: Signal<In, Bits<32>>,
    pub entry_index: Signal<In, Bits<32>>,
    pub row_offset: Signal<In, Bits<32>>,
    /// An entry offered since the restart is bad; the offset of the first.
    pub entry_bad: Signal<Out, Bit>,
    pub entry_bad_offset: Signal<Out, Bits<32>>,
    bad: DFF<Bit>,
    bad_index: DFF<Bits<32>>,
    fail: DFF<Bit>,
    code: DFF<Bits<8>>,
    offset: DFF<Bits<32>>,
    over: DFF<Bit>,
    /// Region ends in bytes.
    weights_end: Signal<Local, Bits<64>>,
    params_end: Signal<Local, Bits<64>>,
    input_end: Signal<Local, Bits<64>>,
    output_end: Signal<Local, Bits<64>>,
    gather_end: Signal<Local, Bits<64>>,
    window: Signal<Local, Bits<64>>,
    k_far: Param<Bits<64>>,
    k_padding: Param<Bits<32>>,
    k_max_fan_in: Param<Bits<32>>,
    k_act_depth: Param<Bits<64>>,
    k_out_depth: Param<Bits<64>>,
}

impl LayerChecks {
    /// For buffers of `max_fan_in` weight-bank entries, `act_depth`
    /// activation-bank words and `out_depth` output-buffer words.
    pub fn new(max_fan_in: usize, act_depth: usize, out_depth: usize) -> Self {
        Self {
            k_far: Param::new((1u64 << 40).into()),
            k_padding: Param::new(0xFFFF_FFFFu64.into()),
            k_max_fan_in: Param::new((max_fan_in as u64).into()),
            k_act_depth: Param::new((act_depth as u64).into()),
            k_out_depth: Param::new((out_depth as u64).into()),
            ..Default::default()
        }
    }
}

impl Logic for LayerChecks {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, bad, bad_index, fail, code, offset, over);
        // Region ends (64 bits: sizes are below 2^35 words after the saturating math).
        self.weights_end.next = bit_cast::<64, 32>(self.layer.weights_offset.val())
            + (self.sizes.weight_words.val() << 3);
        self.params_end.next =
            bit_cast::<64, 32>(self.layer.params_offset.val()) + self.sizes.param_bytes.val();
        self.input_end.next =
            bit_cast::<64, 32>(self.layer.input_offset.val()) + (self.sizes.input_words.val() << 3);
        self.output_end.next = bit_cast::<64, 32>(self.layer.output_offset.val())
            + (self.sizes.output_words.val() << 3);
        self.gather_end.next = bit_cast::<64, 32>(self.layer.gather_offset.val())
            + (self.sizes.gather_entries.val() << 2);
        // A size of 2^32 words or more is outside every window (and would wrap below).
        if self.sizes.gather_entries.val().get_bits::<32>(32).any() {
            self.gather_end.next = self.k_far.val();
        }
        if self.sizes.weight_words.val().get_bits::<32>(32).any() {
            self.weights_end.next = self.k_far.val();
        }
        if self.sizes.input_words.val().get_bits::<32>(32).any() {
            self.input_end.next = self.k_far.val();
        }
        if self.sizes.output_words.val().get_bits::<32>(32).any() {
            self.output_end.next = self.k_far.val();
        }
        self.window.next = bit_cast::<64, 32>(self.window_size.val());
        // The first failing region in the order weights, params, input, output,
        // gather is reported (the last assignment below wins), O mod G before all.
        self.fail.d.next = false;
        self.code.d.next = 3.into();
        self.offset.d.next = 0.into();
        if self.layer.gather_layer.val()
            & !self.layer.im2col_layer.val()
            & (self.gather_end.val() > self.window.val())
        {
            self.fail.d.next = true;
            self.offset.d.next = self.layer.gather_offset.val();
        }
        if self.output_end.val() > self.window.val() {
            self.fail.d.next = true;
            self.offset.d.next = self.layer.output_offset.val();
        }
        if self.input_end.val() > self.window.val() {
            self.fail.d.next = true;
            self.offset.d.next = self.layer.input_offset.val();
        }
        if self.params_end.val() > self.window.val() {
            self.fail.d.next = true;
            self.offset.d.next = self.layer.params_offset.val();
        }
        if self.weights_end.val() > self.window.val() {
            self.fail.d.next = true;
            self.offset.d.next = self.layer.weights_offset.val();
        }
        // An im2col layer's kernel must tile its fan-in, and its groups' maps
        // fit its input (`spikeslice_core::accel::im2col::fault`).
        if self.layer.im2col_layer.val()
            & ((self.sizes.kernel_fan_in.val() != bit_cast::<64, 32>(self.layer.fan_in.val()))
                | (self.sizes.map_values.val() > bit_cast::<64, 32>(self.layer.input_len.val())))
        {
            self.fail.d.next = true;
            self.code.d.next = 2.into();
            self.offset.d.next = self.descriptor_offset.val();
        }
        if self.sizes.group_remainder.val() != 0 {
            self.fail.d.next = true;
            self.code.d.next = 2.into();
            self.offset.d.next = self.descriptor_offset.val();
        }
        self.over.d.next = (self.layer.fan_in.val() > self.k_max_fan_in.val())
            | (self.sizes.act_words.val() > self.k_act_depth.val())
            | (self.sizes.output_words.val() > self.k_out_depth.val());
        self.region_fail.next = self.fail.q.val();
        self.region_code.next = self.code.q.val();
        self.region_offset.next = self.offset.q.val();
        self.overflow.next = self.over.q.val();
        // Gather entries.
        if self.entry_restart.val() {
            self.bad.d.next = false;
        }
        if self.entry_take.val()
            & !self.bad.q.val()
            & (self.entry.val() != self.k_padding.val())
            & (self.entry.val() >= self.layer.input_len.val())
        {
            self.bad.d.next = true;
            self.bad_index.d.next = self.entry_index.val();
        }
        self.entry_bad.next = self.bad.q.val();
        self.entry_bad_offset.next = self.row_offset.val() + (self.bad_index.q.val() << 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (weights, params, input, output, gather) offsets and sizes (words,
    /// bytes, words, words, entries), whether it is a gather layer, O mod G.
    type Layer = ([u32; 5], [u64; 5], bool, u64);

    /// The rules as the functional model states them: (code, offset) of the
    /// first failing check, if any.
    fn regions_model(
        window: u32,
        at: u32,
        (offsets, sizes, gather, rem): Layer,
    ) -> Option<(u64, u64)> {
        if rem != 0 {
            return Some((2, u64::from(at)));
        }
        let unit = [8u64, 1, 8, 8, 4];
        (0..5).find_map(|i| {
            let end = u64::from(offsets[i]) + sizes[i] * unit[i];
            let far = i != 1 && sizes[i] >> 32 != 0;
            let checked = i != 4 || gather;
            (checked && (far || end > u64::from(window))).then_some((3, u64::from(offsets[i])))
        })
    }

    /// Regions: inside, at the window's end, a byte over, saturated sizes,
    /// several failing regions (the first in order is reported), the gather
    /// table only for gather layers, O mod G first. Fit: each limit at and past
    /// the buffer. Gather entries: padding and inputs pass, the first bad entry
    /// is kept until the next restart.
    #[test]
    fn layer_checks_report_the_first_failure() {
        let (mut sim, uut) = clocked_simulation!(LayerChecks::new(256, 128, 64), LayerChecks);
        sim.add_testbench(move |mut sim: Sim<LayerChecks>| {
            let mut x = sim.init()?;
            let window = 0x1000u32;
            let base: Layer = (
                [0x100, 0x200, 0x300, 0x400, 0x500],
                [8, 48, 16, 16, 32],
                true,
                0,
            );
            let mut cases = vec![base];
            for i in 0..5 {
                let unit = [8u64, 1, 8, 8, 4][i];
                let room = (u64::from(window) - u64::from(base.0[i])) / unit;
                for size in [room, room + 1, 1 << 32, (1 << 32) - 1] {
                    let mut l = base;
                    l.1[i] = size;
                    cases.push(l);
                    l.2 = false;
                    cases.push(l);
                }
            }
            let mut two = base;
            (two.1[2], two.1[3]) = (1 << 33, 1 << 33);
            cases.push(two);
            two.3 = 1;
            cases.push(two);
            let mut rem = base;
            rem.3 = 5;
            cases.push(rem);
            x.window_size.next = u64::from(window).into();
            x.descriptor_offset.next = 0x40.into();
            for l in cases {
                let (offsets, sizes, gather, rem) = l;
                x.layer.weights_offset.next = u64::from(offsets[0]).into();
                x.layer.params_offset.next = u64::from(offsets[1]).into();
                x.layer.input_offset.next = u64::from(offsets[2]).into();
                x.layer.output_offset.next = u64::from(offsets[3]).into();
                x.layer.gather_offset.next = u64::from(offsets[4]).into();
                x.sizes.weight_words.next = sizes[0].into();
                x.sizes.param_bytes.next = sizes[1].into();
                x.sizes.input_words.next = sizes[2].into();
                x.sizes.output_words.next = sizes[3].into();
                x.sizes.gather_entries.next = sizes[4].into();
                x.layer.gather_layer.next = gather;
                x.sizes.group_remainder.next = rem.into();
                wait_clock_cycle!(sim, clock, x);
                let got = x
                    .region_fail
                    .val()
                    .then(|| (x.region_code.val().to_u64(), x.region_offset.val().to_u64()));
                sim_assert_eq!(sim, got, regions_model(window, 0x40, l), x);
            }
            // Fit: fan-in 256, activation words 128, output words 64.
            x.sizes.group_remainder.next = 0.into();
            for (fan_in, act, out, over) in [
                (256u64, 128u64, 64u64, false),
                (257, 128, 64, true),
                (256, 129, 64, true),
                (256, 128, 65, true),
            ] {
                x.layer.fan_in.next = fan_in.into();
                x.sizes.act_words.next = act.into();
                x.sizes.output_words.next = out.into();
                wait_clock_cycle!(sim, clock, x);
                sim_assert_eq!(sim, x.overflow.val(), over, x);
            }
            // Gather entries of an input of 10: entries 3 and 5 are bad.
            x.layer.input_len.next = 10.into();
            x.row_offset.next = 0x800.into();
            for table in [
                [0u32, 9, 0xFFFF_FFFF, 10, 2, 0xFFFF_FFFE],
                [1, 2, 3, 4, 5, 6],
            ] {
                x.entry_restart.next = true;
                wait_clock_cycle!(sim, clock, x);
                x.entry_restart.next = false;
                sim_assert!(sim, !x.entry_bad.val(), x);
                x.entry_take.next = true;
                for (i, &e) in table.iter().enumerate() {
                    x.entry.next = u64::from(e).into();
                    x.entry_index.next = (i as u64).into();
                    wait_clock_cycle!(sim, clock, x);
                }
                x.entry_take.next = false;
                wait_clock_cycle!(sim, clock, x);
                let bad = table.iter().position(|&e| e != 0xFFFF_FFFF && e >= 10);
                sim_assert_eq!(sim, x.entry_bad.val(), bad.is_some(), x);
                if let Some(i) = bad {
                    sim_assert_eq!(
                        sim,
                        x.entry_bad_offset.val().to_u64(),
                        0x800 + 4 * i as u64,
                        x
                    );
                }
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 1_000_000).unwrap();
    }
}
