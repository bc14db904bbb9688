//! The walk over a layer's work: column tiles of C outputs; in a gather layer,
//! per tile, the positions and per position the groups that meet the tile (each
//! group's gather row is one run). The FSM tells the block its state and asks it
//! where to go next (`group_ahead`, `more_groups`, `last_position`,
//! `last_tile`); the block keeps the counters and the window offsets the loads
//! and the feeder need, and the bank halves of double buffering.
//!
//! ```text
//! Clr (cleared)        tile 0; double buffered if K fits half the weight banks
//! TileStart (free)     valid columns nv = min(C, O - o0)
//! GAdv                 the tile's first group: advance while it ends at or before o0
//! PosStart, GrpStart   position 0; the group's row at position p
//! CoreGo (started)     double buffered gather: the next row loads into the other half,
//!                      and RunEnd's step (with the next position's GrpStart) is taken
//! RunEnd               next group meeting the tile, else the next position
//! TileEnd              next tile (double buffered: its weights into the other half)
//! ```
//!
//! For an im2col layer it also keeps the run's window on the input map
//! (`spikeslice_core::accel::im2col`): its corner `(ys, xs) = (oy SH, ox SW)`
//! in the padded map, moved a window right per position and to the next window
//! row when the next window would pass the padded row's end (`xs + SW + KW >
//! W + 2 PW`), and the row's origin, the input index of kernel tap (0, 0, 0)
//! had it been inside: `g Cg H W + ys W + xs - (PH W + PW)` (mod 2^32).

use super::descriptor::Layer;
use super::sizes::SizesIn;
use super::CtlState;
use crate::param::Param;
use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct TileWalk {
    pub clock: Signal<In, Clock>,
    /// The descriptor's fields and the layer's sizes.
    pub layer: Layer,
    pub sizes: SizesIn,
    pub state: Signal<In, CtlState>,
    /// Clr has cleared the last word; TileStart may load parameters; CoreGo
    /// started a run.
    pub cleared: Signal<In, Bit>,
    pub params_free: Signal<In, Bit>,
    pub run_started: Signal<In, Bit>,
    /// The tile: first output column, valid columns, first output neuron, the
    /// window offsets of its parameters and weights.
    pub first_column: Signal<Out, Bits<32>>,
    pub columns: Signal<Out, Bits<32>>,
    pub first_neuron: Signal<Out, Bits<32>>,
    pub params_at: Signal<Out, Bits<32>>,
    pub weights_at: Signal<Out, Bits<32>>,
    /// The run: its group's first output, position, gather row's window offset.
    pub group_start: Signal<Out, Bits<32>>,
    pub position: Signal<Out, Bits<32>>,
    pub row_at: Signal<Out, Bits<32>>,
    /// Double buffering, and the halves being loaded.
    pub double_buffer: Signal<Out, Bit>,
    pub weight_half: Signal<Out, Bit>,
    pub gather_half: Signal<Out, Bit>,
    /// GAdv: the tile's first group is found. RunEnd: another group meets the
    /// tile at this position; else this was the last position. TileEnd: this
    /// was the last tile.
    pub group_ahead: Signal<Out, Bit>,
    pub more_groups: Signal<Out, Bit>,
    pub last_position: Signal<Out, Bit>,
    pub last_tile: Signal<Out, Bit>,
    /// Im2col: the run's window corner in the padded map and its row's origin.
    pub map_ys: Signal<Out, Bits<32>>,
    pub map_xs: Signal<Out, Bits<32>>,
    pub map_origin: Signal<Out, Bits<32>>,
    tile_column: DFF<Bits<32>>,
    tile_columns: DFF<Bits<32>>,
    tile_neuron: DFF<Bits<32>>,
    tile_params: DFF<Bits<32>>,
    tile_weights: DFF<Bits<32>>,
    /// The tile's first group: its first output and its table's window offset.
    first_group: DFF<Bits<32>>,
    first_group_table: DFF<Bits<32>>,
    group: DFF<Bits<32>>,
    row: DFF<Bits<32>>,
    pos: DFF<Bits<32>>,
    /// The position's row offset within a group's table.
    position_row: DFF<Bits<32>>,
    double: DFF<Bit>,
    weight_load_half: DFF<Bit>,
    gather_load_half: DFF<Bit>,
    /// Im2col: the tile's first group's and the run's group's first map
    /// value, the window's corner, `ys W + xs`, and `ys W` (the window row's).
    first_group_base: DFF<Bits<32>>,
    group_base: DFF<Bits<32>>,
    ys: DFF<Bits<32>>,
    xs: DFF<Bits<32>>,
    corner: DFF<Bits<32>>,
    window_row: DFF<Bits<32>>,
    /// The next window along the row passes the padded row's end.
    row_ends: Signal<Local, Bit>,
    /// RunEnd's step is taken in this cycle.
    run_end: Signal<Local, Bit>,
    left: Signal<Local, Bits<32>>,
    k_columns: Param<Bits<64>>,
    k_tile_param_bytes: Param<Bits<32>>,
    k_half: Param<Bits<32>>,
}

impl TileWalk {
    /// For a core of `cols` columns, with bank halves of `half_depth` entries.
    pub fn new(cols: usize, half_depth: usize) -> Self {
        Self {
            k_columns: Param::new((cols as u64).into()),
            k_tile_param_bytes: Param::new((cols as u64 * 12).into()),
            k_half: Param::new((half_depth as u64).into()),
            ..Default::default()
        }
    }
}

// The arms that only act under a condition stay plain `if`s: hdl_gen does not
// translate match guards.
#[allow(clippy::collapsible_match)]
impl Logic for TileWalk {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            tile_column,
            tile_columns,
            tile_neuron,
            tile_params
        );
        dff_setup!(
            self,
            clock,
            tile_weights,
            first_group,
            first_group_table,
            group
        );
        dff_setup!(
            self,
            clock,
            row,
            pos,
            position_row,
            double,
            weight_load_half
        );
        dff_setup!(self, clock, gather_load_half, first_group_base, group_base);
        dff_setup!(self, clock, ys, xs, corner, window_row);
        self.map_ys.next = self.ys.q.val();
        self.map_xs.next = self.xs.q.val();
        self.map_origin.next = self.group_base.q.val() + self.corner.q.val()
            - bit_cast::<32, 64>(self.sizes.pad_rows.val())
            - bit_cast::<32, 4>(self.layer.pad_w.val());
        self.row_ends.next = bit_cast::<33, 32>(self.xs.q.val())
            + bit_cast::<33, 4>(self.layer.stride_w.val())
            + bit_cast::<33, 4>(self.layer.kernel_w.val())
            > bit_cast::<33, 12>(self.layer.in_w.val())
                + (bit_cast::<33, 4>(self.layer.pad_w.val()) << 1);
        self.first_column.next = self.tile_column.q.val();
        self.columns.next = self.tile_columns.q.val();
        self.first_neuron.next = self.tile_neuron.q.val();
        self.params_at.next = self.tile_params.q.val();
        self.weights_at.next = self.tile_weights.q.val();
        self.group_start.next = self.group.q.val();
        self.position.next = self.pos.q.val();
        self.row_at.next = self.row.q.val();
        self.double_buffer.next = self.double.q.val();
        self.weight_half.next = self.weight_load_half.q.val();
        self.gather_half.next = self.gather_load_half.q.val();
        self.group_ahead.next = bit_cast::<64, 32>(self.first_group.q.val())
            + self.sizes.group_outputs.val()
            > bit_cast::<64, 32>(self.tile_column.q.val());
        self.more_groups.next = bit_cast::<64, 32>(self.group.q.val())
            + self.sizes.group_outputs.val()
            < bit_cast::<64, 32>(self.tile_column.q.val() + self.tile_columns.q.val());
        self.last_position.next = self.pos.q.val() + 1 == self.layer.positions.val();
        self.last_tile.next = bit_cast::<64, 32>(self.tile_column.q.val()) + self.k_columns.val()
            >= bit_cast::<64, 32>(self.layer.outputs.val());
        self.left.next = self.layer.outputs.val() - self.tile_column.q.val();
        match self.state.val() {
            CtlState::Clr => {
                if self.cleared.val() {
                    self.tile_column.d.next = 0.into();
                    self.first_group.d.next = 0.into();
                    self.first_group_table.d.next = self.layer.gather_offset.val();
                    self.first_group_base.d.next = 0.into();
                    self.tile_neuron.d.next = 0.into();
                    self.pos.d.next = 0.into();
                    self.group.d.next = 0.into();
                    self.tile_params.d.next = self.layer.params_offset.val();
                    self.tile_weights.d.next = self.layer.weights_offset.val();
                    // Double buffer layers whose tile (and gather row) fits half the
                    // weight banks (and the row buffer).
                    self.weight_load_half.d.next = false;
                    self.gather_load_half.d.next = false;
                    self.double.d.next = self.layer.fan_in.val() <= self.k_half.val();
                }
            }
            CtlState::TileStart => {
                if self.params_free.val() {
                    self.tile_columns.d.next = self.left.val();
                    if self.left.val() > bit_cast::<32, 64>(self.k_columns.val()) {
                        self.tile_columns.d.next = bit_cast::<32, 64>(self.k_columns.val());
                    }
                }
            }
            CtlState::GAdv => {
                if !self.group_ahead.val() {
                    self.first_group.d.next = self.first_group.q.val()
                        + bit_cast::<32, 64>(self.sizes.group_outputs.val());
                    self.first_group_table.d.next = self.first_group_table.q.val()
                        + bit_cast::<32, 64>(self.sizes.group_entries.val() << 2);
                    self.first_group_base.d.next = self.first_group_base.q.val()
                        + bit_cast::<32, 64>(self.sizes.group_stride.val());
                }
            }
            CtlState::PosStart => {
                self.pos.d.next = 0.into();
                self.position_row.d.next = 0.into();
                self.ys.d.next = 0.into();
                self.xs.d.next = 0.into();
                self.corner.d.next = 0.into();
                self.window_row.d.next = 0.into();
            }
            CtlState::GrpStart => {
                self.group.d.next = self.first_group.q.val();
                self.group_base.d.next = self.first_group_base.q.val();
                self.row.d.next = self.first_group_table.q.val() + self.position_row.q.val();
            }
            CtlState::CoreGo => {
                if self.run_started.val() & self.double.q.val() & self.layer.gather_layer.val() {
                    self.gather_load_half.d.next = !self.gather_load_half.q.val();
                }
            }
            CtlState::TileEnd => {
                if self.double.q.val() {
                    self.weight_load_half.d.next = !self.weight_load_half.q.val();
                }
                self.pos.d.next = 0.into();
                self.tile_neuron.d.next =
                    self.tile_neuron.q.val() + bit_cast::<32, 64>(self.sizes.tile_neurons.val());
                self.tile_column.d.next =
                    self.tile_column.q.val() + bit_cast::<32, 64>(self.k_columns.val());
                self.tile_params.d.next = self.tile_params.q.val() + self.k_tile_param_bytes.val();
                self.tile_weights.d.next = self.tile_weights.q.val()
                    + bit_cast::<32, 64>(self.sizes.tile_words.val() << 3);
            }
            _ => {}
        }
        // RunEnd: the next group meeting the tile, else the next position. A
        // double-buffered gather layer takes the step in the cycle CoreGo
        // starts the run, with the next position's GrpStart: its next row is
        // made from the next cycle.
        self.run_end.next = (self.state.val() == CtlState::RunEnd)
            | ((self.state.val() == CtlState::CoreGo)
                & self.run_started.val()
                & self.double.q.val()
                & self.layer.gather_layer.val());
        if self.run_end.val() {
            self.group.d.next =
                self.group.q.val() + bit_cast::<32, 64>(self.sizes.group_outputs.val());
            self.row.d.next =
                self.row.q.val() + bit_cast::<32, 64>(self.sizes.group_entries.val() << 2);
            self.group_base.d.next =
                self.group_base.q.val() + bit_cast::<32, 64>(self.sizes.group_stride.val());
            if !self.more_groups.val() {
                self.pos.d.next = self.pos.q.val() + 1;
                self.position_row.d.next =
                    self.position_row.q.val() + (self.layer.fan_in.val() << 2);
                // The next window: along the row, or the next window row's first.
                if self.row_ends.val() {
                    self.xs.d.next = 0.into();
                    self.ys.d.next = self.ys.q.val() + bit_cast::<32, 4>(self.layer.stride_h.val());
                    self.window_row.d.next =
                        self.window_row.q.val() + bit_cast::<32, 64>(self.sizes.row_step.val());
                    self.corner.d.next =
                        self.window_row.q.val() + bit_cast::<32, 64>(self.sizes.row_step.val());
                } else {
                    self.xs.d.next = self.xs.q.val() + bit_cast::<32, 4>(self.layer.stride_w.val());
                    self.corner.d.next =
                        self.corner.q.val() + bit_cast::<32, 4>(self.layer.stride_w.val());
                }
                if self.state.val() == CtlState::CoreGo {
                    // The next position's GrpStart.
                    self.group.d.next = self.first_group.q.val();
                    self.group_base.d.next = self.first_group_base.q.val();
                    self.row.d.next = self.first_group_table.q.val()
                        + self.position_row.q.val()
                        + (self.layer.fan_in.val() << 2);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeslice_core::accel::descriptor::{LayerDescriptor, LayerKind};
    use spikeslice_core::accel::im2col::{window_columns, MapSizes};

    const COLS: u64 = 3;
    const HALF: u64 = 16;

    /// What a run sees: (first column, valid columns, first neuron, params at,
    /// weights at, group start, position, row at, weight half, gather half).
    type Run = (u64, u64, u64, u64, u64, u64, u64, u64, bool, bool);

    /// The runs of a gather layer (O outputs in groups of `opg`, P positions,
    /// fan-in K), double buffered where K fits half the banks, as the
    /// functional model orders them.
    fn model(o: u64, opg: u64, p: u64, k: u64) -> Vec<Run> {
        let (params, weights, gather, tile_words) = (0x100, 0x400, 0x2000, 5);
        let mut runs = vec![];
        for (tile, o0) in (0..o).step_by(COLS as usize).enumerate() {
            let tile = tile as u64;
            let nv = COLS.min(o - o0);
            for pos in 0..p {
                let mut g = o0 / opg;
                while g * opg < o0 + nv {
                    let row = gather + g * (k * p * 4) + pos * k * 4;
                    let double = k <= HALF;
                    let half = double && runs.len() % 2 == 1;
                    runs.push((
                        o0,
                        nv,
                        tile * COLS * p,
                        params + tile * 12 * COLS,
                        weights + tile * tile_words * 8,
                        g * opg,
                        pos,
                        row,
                        double && tile % 2 == 1,
                        half,
                    ));
                    g += 1;
                }
            }
        }
        runs
    }

    /// The walk of gather layers, stepped as the FSM steps it (with its
    /// answers choosing the next state), against the model's runs: double
    /// buffered, RunEnd's step taken with each start, and serially (K past
    /// half the banks), in RunEnd after the run.
    #[test]
    fn walk_visits_every_tile_position_and_group() {
        let (mut sim, uut) =
            clocked_simulation!(TileWalk::new(COLS as usize, HALF as usize), TileWalk);
        sim.add_testbench(move |mut sim: Sim<TileWalk>| {
            let mut x = sim.init()?;
            // (O, O/G, P, K) and an im2col geometry (H, W, KH, KW, SH, SW, PH,
            // PW): windows that wrap to the next row, and a kernel wider than
            // the padded map (every window on a row of its own, whatever the
            // stride, 0 included).
            let layers = [
                (
                    (8u64, 2u64, 3u64, 4u64),
                    (3u32, 2u32, 2u8, 2u8, 1u8, 2u8, 1u8, 1u8),
                ),
                ((7, 7, 2, 16), (2, 1, 1, 3, 2, 1, 0, 0)),
                ((3, 3, 3, 3), (1, 1, 1, 3, 1, 0, 0, 0)),
                ((6, 3, 4, 20), (2, 1, 1, 3, 2, 1, 0, 0)),
            ];
            for ((o, opg, p, k), (h, w, kh, kw, sh, sw, ph, pw)) in layers {
                let d = LayerDescriptor {
                    kind: LayerKind::Im2col,
                    outputs: o as u32,
                    groups: (o / opg) as u32,
                    positions: p as u32,
                    fan_in: k as u32,
                    in_h: h,
                    in_w: w,
                    kernel_h: kh,
                    kernel_w: kw,
                    stride_h: sh,
                    stride_w: sw,
                    pad_h: ph,
                    pad_w: pw,
                    ..LayerDescriptor::dense(1, 1)
                };
                let m = MapSizes::of(&d);
                x.layer.in_w.next = u64::from(w).into();
                x.layer.kernel_w.next = u64::from(kw).into();
                x.layer.stride_h.next = u64::from(sh).into();
                x.layer.stride_w.next = u64::from(sw).into();
                x.layer.pad_w.next = u64::from(pw).into();
                x.sizes.group_stride.next = m.group_stride.into();
                x.sizes.row_step.next = m.row_step.into();
                x.sizes.pad_rows.next = m.pad_rows.into();
                let mut corners = vec![];
                x.layer.outputs.next = o.into();
                x.layer.positions.next = p.into();
                x.layer.fan_in.next = k.into();
                x.layer.gather_layer.next = true;
                x.layer.params_offset.next = 0x100.into();
                x.layer.weights_offset.next = 0x400.into();
                x.layer.gather_offset.next = 0x2000.into();
                x.sizes.group_outputs.next = opg.into();
                x.sizes.group_entries.next = (k * p).into();
                x.sizes.tile_neurons.next = (COLS * p).into();
                x.sizes.tile_words.next = 5.into();
                x.params_free.next = true;
                x.cleared.next = true;
                let mut state = CtlState::Clr;
                let mut runs = vec![];
                for _ in 0..10_000 {
                    x.state.next = state;
                    x.run_started.next = state == CtlState::CoreGo;
                    x = sim.wait(1, x)?;
                    let next = match state {
                        CtlState::Clr => CtlState::TileStart,
                        CtlState::TileStart => CtlState::GAdv,
                        CtlState::GAdv if x.group_ahead.val() => CtlState::PosStart,
                        CtlState::GAdv => CtlState::GAdv,
                        CtlState::PosStart => CtlState::GrpStart,
                        CtlState::GrpStart => CtlState::CoreGo,
                        CtlState::CoreGo => {
                            sim_assert_eq!(sim, x.double_buffer.val(), k <= HALF, x);
                            runs.push((
                                x.first_column.val().to_u64(),
                                x.columns.val().to_u64(),
                                x.first_neuron.val().to_u64(),
                                x.params_at.val().to_u64(),
                                x.weights_at.val().to_u64(),
                                x.group_start.val().to_u64(),
                                x.position.val().to_u64(),
                                x.row_at.val().to_u64(),
                                x.weight_half.val(),
                                x.gather_half.val(),
                            ));
                            corners.push((
                                x.map_origin.val().to_u64(),
                                x.map_ys.val().to_u64(),
                                x.map_xs.val().to_u64(),
                            ));
                            // RunEnd's step (and GrpStart's) is taken with the start.
                            if !x.double_buffer.val() {
                                CtlState::RunEnd
                            } else if !x.more_groups.val() && x.last_position.val() {
                                CtlState::TileEnd
                            } else {
                                CtlState::CoreGo
                            }
                        }
                        CtlState::RunEnd if x.more_groups.val() => CtlState::CoreGo,
                        CtlState::RunEnd if x.last_position.val() => CtlState::TileEnd,
                        CtlState::RunEnd => CtlState::GrpStart,
                        CtlState::TileEnd if x.last_tile.val() => CtlState::OutCmd,
                        CtlState::TileEnd => CtlState::TileStart,
                        _ => break,
                    };
                    wait_clock_cycle!(sim, clock, x);
                    state = next;
                }
                sim_assert_eq!(sim, state, CtlState::OutCmd, x);
                let want = model(o, opg, p, k);
                // Each run's window, as core's im2col places it.
                let ow = window_columns(&d).unwrap_or(u64::MAX);
                let want_corners: Vec<(u64, u64, u64)> = want
                    .iter()
                    .map(|r| {
                        let (g, pos) = (r.5 / opg, r.6);
                        let (ys, xs) = (pos / ow * u64::from(sh), pos % ow * u64::from(sw));
                        let origin = (g * m.group_stride + ys * u64::from(w) + xs)
                            .wrapping_sub(m.pad_rows + u64::from(pw))
                            & 0xFFFF_FFFF;
                        (origin, ys, xs)
                    })
                    .collect();
                sim_assert_eq!(sim, runs, want, x);
                sim_assert_eq!(sim, corners, want_corners, x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 10_000_000).unwrap();
    }
}
