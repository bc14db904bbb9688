//! The im2col row generator: an im2col layer's gather row, `K` entries, one a
//! cycle, from the run's window on the input map, where a table layer's row
//! comes from the DMA (`spikeslice_core::accel::im2col`, docs/formats.md
//! "Im2col layers"). It offers the row as a read phase offers its fields, so
//! the row buffer and the FSM take it the same way (the entry checks do not:
//! the layer's checks refused a geometry whose entries could leave the input):
//!
//! ```text
//! Start  `in_cmd`: the taps' counters from the window (origin, corner)
//! Gen    one entry a cycle (`take`), tap k = (c KH + ky) KW + kx; after the K-th
//! Done   `done`, back to Start
//! ```
//!
//! so a row costs `K + 2` cycles (`spikeslice_core::accel::cycles::
//! generate_phase_cycles`) and no DMA traffic. The taps are counted, not
//! computed: kx, ky wrap at KW, KH; the input index steps by 1 along a kernel
//! row, to the next kernel row's start (W on), to the next channel's window
//! (H W on). A tap at `(ys + ky, xs + kx)` in the padded map is inside when
//! `PH <= ys + ky < H + PH` and `PW <= xs + kx < W + PW`; outside, the entry
//! is padding (0xFFFFFFFF).

use super::descriptor::Layer;
use super::sizes::SizesIn;
use crate::param::Param;
use rust_hdl::prelude::*;

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum GenStep {
    Start,
    Gen,
    Done,
}

#[derive(LogicBlock, Default)]
pub struct Im2colRow {
    pub clock: Signal<In, Clock>,
    /// The descriptor's fields and the layer's sizes.
    pub layer: Layer,
    pub sizes: SizesIn,
    /// The FSM is loading an im2col layer's row (Grow); leaving, back to Start.
    pub active: Signal<In, Bit>,
    /// The run's row origin and window corner (the walk's).
    pub origin: Signal<In, Bits<32>>,
    pub ys: Signal<In, Bits<32>>,
    pub xs: Signal<In, Bits<32>>,
    /// As a read phase: the set-up cycle, an entry taken (in the low 32 bits
    /// of `data`), the row's end.
    pub in_cmd: Signal<Out, Bit>,
    pub take: Signal<Out, Bit>,
    pub data: Signal<Out, Bits<64>>,
    pub done: Signal<Out, Bit>,
    /// The entry taken: its index in the row.
    pub entry_index: Signal<Out, Bits<32>>,
    step: DFF<GenStep>,
    /// Entries taken, the tap in the kernel, its place in the padded map.
    k: DFF<Bits<32>>,
    kx: DFF<Bits<4>>,
    ky: DFF<Bits<4>>,
    yk: DFF<Bits<32>>,
    xk: DFF<Bits<32>>,
    /// The input index of the tap, of its kernel row's first tap, of its
    /// channel's first tap.
    index: DFF<Bits<32>>,
    line: DFF<Bits<32>>,
    channel: DFF<Bits<32>>,
    in_map: Signal<Local, Bit>,
    next_channel: Signal<Local, Bits<32>>,
    next_line: Signal<Local, Bits<32>>,
    k_padding: Param<Bits<64>>,
}

impl Im2colRow {
    pub fn new() -> Self {
        Self {
            k_padding: Param::new(0xFFFF_FFFFu64.into()),
            ..Default::default()
        }
    }
}

impl Logic for Im2colRow {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, step, k, kx, ky, yk, xk);
        dff_setup!(self, clock, index, line, channel);
        self.in_map.next = (self.yk.q.val() >= bit_cast::<32, 4>(self.layer.pad_h.val()))
            & (self.yk.q.val()
                < bit_cast::<32, 12>(self.layer.in_h.val())
                    + bit_cast::<32, 4>(self.layer.pad_h.val()))
            & (self.xk.q.val() >= bit_cast::<32, 4>(self.layer.pad_w.val()))
            & (self.xk.q.val()
                < bit_cast::<32, 12>(self.layer.in_w.val())
                    + bit_cast::<32, 4>(self.layer.pad_w.val()));
        self.data.next = self.k_padding.val();
        if self.in_map.val() {
            self.data.next = bit_cast::<64, 32>(self.index.q.val());
        }
        self.next_channel.next =
            self.channel.q.val() + bit_cast::<32, 64>(self.sizes.map_plane.val());
        self.next_line.next = self.line.q.val() + bit_cast::<32, 12>(self.layer.in_w.val());
        self.in_cmd.next = false;
        self.take.next = false;
        self.done.next = false;
        self.entry_index.next = self.k.q.val();
        match self.step.q.val() {
            GenStep::Start => {
                self.in_cmd.next = self.active.val();
                self.k.d.next = 0.into();
                self.kx.d.next = 0.into();
                self.ky.d.next = 0.into();
                self.yk.d.next = self.ys.val();
                self.xk.d.next = self.xs.val();
                self.index.d.next = self.origin.val();
                self.line.d.next = self.origin.val();
                self.channel.d.next = self.origin.val();
                if self.active.val() {
                    self.step.d.next = GenStep::Gen;
                }
            }
            GenStep::Gen => {
                self.take.next = true;
                self.k.d.next = self.k.q.val() + 1;
                if self.k.q.val() + 1 == self.layer.fan_in.val() {
                    self.step.d.next = GenStep::Done;
                }
                if self.kx.q.val() + 1 == self.layer.kernel_w.val() {
                    // The kernel row's last tap: the next row's first, or the
                    // next channel's.
                    self.kx.d.next = 0.into();
                    self.xk.d.next = self.xs.val();
                    if self.ky.q.val() + 1 == self.layer.kernel_h.val() {
                        self.ky.d.next = 0.into();
                        self.yk.d.next = self.ys.val();
                        self.channel.d.next = self.next_channel.val();
                        self.line.d.next = self.next_channel.val();
                        self.index.d.next = self.next_channel.val();
                    } else {
                        self.ky.d.next = self.ky.q.val() + 1;
                        self.yk.d.next = self.yk.q.val() + 1;
                        self.line.d.next = self.next_line.val();
                        self.index.d.next = self.next_line.val();
                    }
                } else {
                    self.kx.d.next = self.kx.q.val() + 1;
                    self.xk.d.next = self.xk.q.val() + 1;
                    self.index.d.next = self.index.q.val() + 1;
                }
            }
            GenStep::Done => {
                self.done.next = true;
                self.step.d.next = GenStep::Start;
            }
            _ => {
                self.step.d.next = GenStep::Start;
            }
        }
        if !self.active.val() {
            self.step.d.next = GenStep::Start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::accel::descriptor::{LayerDescriptor, LayerKind};
    use spikeslice_core::accel::im2col::{fault, row, window_columns, MapSizes};
    use spikeslice_core::random::{rng, Draw};

    /// Random geometries the controller accepts, random rows of each: the
    /// block's entries are core's `im2col::row`, one a cycle after the set-up
    /// cycle, `done` in the cycle after the last, `K + 2` cycles in all.
    #[test]
    fn rows_are_core_rows() {
        let (mut sim, uut) = clocked_simulation!(Im2colRow::new(), Im2colRow);
        sim.add_testbench(move |mut sim: Sim<Im2colRow>| {
            let mut x = sim.init()?;
            let mut r = rng(0x12C0);
            let mut rows = 0;
            while rows < 60 {
                let groups = 1 + r.below(3) as u32;
                let channels = 1 + r.below(3) as u32;
                let d = LayerDescriptor {
                    kind: LayerKind::Im2col,
                    groups,
                    outputs: groups,
                    positions: 1 + r.below(30) as u32,
                    in_h: 1 + r.below(7) as u32,
                    in_w: 1 + r.below(7) as u32,
                    kernel_h: 1 + r.below(4) as u8,
                    kernel_w: 1 + r.below(4) as u8,
                    stride_h: r.below(3) as u8,
                    stride_w: r.below(3) as u8,
                    pad_h: r.below(4) as u8,
                    pad_w: r.below(4) as u8,
                    input_len: 4096,
                    ..LayerDescriptor::dense(1, 1)
                };
                let d = LayerDescriptor {
                    fan_in: channels * u32::from(d.kernel_h) * u32::from(d.kernel_w),
                    ..d
                };
                assert_eq!(fault(&d), None);
                let m = MapSizes::of(&d);
                x.layer.fan_in.next = u64::from(d.fan_in).into();
                x.layer.in_h.next = u64::from(d.in_h).into();
                x.layer.in_w.next = u64::from(d.in_w).into();
                x.layer.kernel_h.next = u64::from(d.kernel_h).into();
                x.layer.kernel_w.next = u64::from(d.kernel_w).into();
                x.layer.pad_h.next = u64::from(d.pad_h).into();
                x.layer.pad_w.next = u64::from(d.pad_w).into();
                x.sizes.map_plane.next = m.plane.into();
                for _ in 0..4 {
                    let g = r.below(u64::from(groups));
                    let p = r.below(u64::from(d.positions));
                    // The walk's window (walk.rs): corner and origin.
                    let ow = window_columns(&d).unwrap_or(u64::MAX);
                    let (ys, xs) = (
                        p / ow * u64::from(d.stride_h),
                        p % ow * u64::from(d.stride_w),
                    );
                    let origin = (g * m.group_stride + ys * u64::from(d.in_w) + xs)
                        .wrapping_sub(m.pad_rows + u64::from(d.pad_w));
                    x.origin.next = (origin & 0xFFFF_FFFF).into();
                    x.ys.next = ys.into();
                    x.xs.next = xs.into();
                    x.active.next = true;
                    // The set-up cycle.
                    wait_clock_cycle!(sim, clock, x);
                    let mut got = vec![];
                    let mut cycles = 1;
                    while !x.done.val() {
                        sim_assert!(sim, cycles <= d.fan_in + 1, x);
                        sim_assert!(sim, x.take.val() & !x.in_cmd.val(), x);
                        sim_assert_eq!(sim, x.entry_index.val().to_u64(), got.len() as u64, x);
                        got.push(x.data.val().to_u64() as u32);
                        wait_clock_cycle!(sim, clock, x);
                        cycles += 1;
                    }
                    // `done` in the cycle after the K-th entry's: K + 2 in all.
                    sim_assert_eq!(sim, cycles + 1, d.fan_in + 2, x);
                    sim_assert!(sim, !x.take.val(), x);
                    sim_assert_eq!(sim, got, row(&d, g, p), x);
                    // The FSM leaves Grow in the cycle of `done`.
                    x.active.next = false;
                    wait_clock_cycle!(sim, clock, x);
                    rows += 1;
                }
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 10_000_000).unwrap();
    }
}
