//! The feeder's bench (hdl/src/controller/feeder/mod.rs).

use super::*;

type Uut = Feeder<40>;
const ROWS: usize = 2;
const COLS: usize = 3;
const FAN_IN: usize = 3;
const SLICES: usize = 3;

/// Bias, threshold and v_init (`field` 0, 1, 2) of column `c`: thresholds
/// negative, to see the sign extension.
fn param(c: usize, field: usize) -> i32 {
    [10 + c as i32, -(c as i32) - 1, 100 + c as i32][field]
}

/// One dense run on a 2x3 core with 40-bit membranes of a layer with K =
/// 3, S = 3 (two slice groups, the second one lane wide), O = 2 (column 2
/// is no output), b_s = 2, from the upper weight half: the 3C parameter
/// beats (sign-extended to 40 bits), the (wgt, act)
/// beats with their bank addresses and lanes under backpressure, the PE
/// additions, one Emit beat as single-bit writes, two columns a cycle
/// through both ports, the spike count. Then a
/// run of the same tile, which keeps its parameters in the core; one after
/// a parameter write, which does not; and a run that ends with the core's
/// error: no run starts until `clear`, which also makes the next run take
/// its parameters.
#[test]
fn feeder_runs_a_tile() {
    let (mut sim, uut) = clocked_simulation!(Uut::new(ROWS, COLS, 128, true), Uut);
    sim.add_testbench(move |mut sim: Sim<Uut>| {
        let mut x = sim.init()?;
        let banks: Vec<Vec<u64>> = (0..ROWS)
            .map(|r| {
                (0..4)
                    .map(|w| 0x9E37_79B9_7F4A_7C15u64.rotate_left((r * 7 + w * 13) as u32))
                    .collect()
            })
            .collect();
        x.rst.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.rst.next = false;
        x.core_ready.next = true;
        x.layer.fan_in.next = (FAN_IN as u64).into();
        x.layer.outputs.next = 2.into();
        x.layer.positions.next = 1.into();
        x.layer.spike_bits.next = 3.into();
        x.sizes.slices.next = (SLICES as u64).into();
        x.sizes.plane_words.next = 1.into();
        x.sizes.out_plane_words.next = 5.into();
        x.sizes.timestep_words.next = 15.into();
        x.sizes.group_outputs.next = 2.into();
        x.params.clear.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.params.clear.next = false;
        x.params.write.next = true;
        for c in 0..COLS {
            for f in 0..3 {
                x.params.column.next = (c as u64).into();
                x.params.field.next = (f as u64).into();
                x.params.word.next = (param(c, f) as u32 as u64).into();
                wait_clock_cycle!(sim, clock, x);
            }
        }
        x.params.write.next = false;
        x.run.columns.next = 2.into();
        x.run.weight_half.next = true;
        x.run.go.next = true;
        x.par_ready.next = true;
        x = sim.wait(1, x)?;
        sim_assert!(
            sim,
            x.core_start.val() && !x.core_keep_params.val() && x.run.params_free.val(),
            x
        );
        wait_clock_cycle!(sim, clock, x);
        x.run.go.next = false;
        sim_assert!(sim, x.run.running.val() && !x.run.params_free.val(), x);
        // The core: parameters always ready, weights and slices two cycles in three.
        let (mut pars, mut beats) = (vec![], vec![]);
        let (mut act_addr, mut weight_addr, mut want_adds) = (0usize, 0usize, 0u64);
        for cycle in 0..40 {
            for (word, bank) in x.act_words.iter_mut().zip(&banks) {
                word.next = bank.get(act_addr).copied().unwrap_or(0).into();
            }
            // Like the sequencer, the core takes slices once it has its parameters.
            let ready = pars.len() == 3 * COLS && cycle % 3 != 2;
            x.wgt_ready.next = ready;
            x.act_ready.next = ready;
            x = sim.wait(1, x)?;
            if x.par_valid.val() {
                pars.push(x.par_data.val().to_u64());
            }
            if x.wgt_valid.val() && ready {
                let lanes: Vec<bool> = x.act_data.iter().map(|l| l.val()).collect();
                want_adds += 2 * lanes.iter().filter(|&&l| l).count() as u64;
                beats.push((weight_addr, lanes));
            }
            act_addr = x.act_addr.val().index();
            weight_addr = x.weight_addr.val().index();
            wait_clock_cycle!(sim, clock, x);
        }
        let want_pars: Vec<u64> = [2, 0, 1]
            .iter()
            .flat_map(|&f| (0..COLS).map(move |c| param(c, f) as u64 & 0xFF_FFFF_FFFF))
            .collect();
        sim_assert_eq!(sim, pars, want_pars, x);
        let want_beats: Vec<(usize, Vec<bool>)> = (0..SLICES.div_ceil(ROWS))
            .flat_map(|g| (0..FAN_IN).map(move |k| (g, k)))
            .map(|(g, k)| {
                let lanes = (0..ROWS)
                    .map(|r| (banks[r][g] >> k) & 1 == 1 && g * ROWS + r < SLICES)
                    .collect();
                (128 + k, lanes)
            })
            .collect();
        sim_assert_eq!(sim, beats, want_beats, x);
        sim_assert_eq!(sim, x.pe_adds.val().to_u64(), want_adds, x);
        // One Emit beat: taken into the queue at once, then written bit by
        // bit (column c's 3-bit spike value), bit j of columns c and c + 1 in
        // one cycle through the two ports: ceil(C / 2) b_s cycles while
        // draining (the third column is not an output).
        let spikes = [5u64, 2, 7];
        x.spk_valid.next = true;
        for (data, &s) in x.spk_data.iter_mut().zip(&spikes) {
            data.next = s.into();
        }
        x = sim.wait(1, x)?;
        sim_assert!(sim, x.spk_ready.val() && !x.run.draining.val(), x);
        wait_clock_cycle!(sim, clock, x);
        x.spk_valid.next = false;
        let mut writes = vec![];
        for _ in 0..COLS * 2 {
            x = sim.wait(1, x)?;
            sim_assert!(
                sim,
                x.run.draining.val() && x.out_claim.val() && !x.out_write_word.val(),
                x
            );
            // One bit a port (no pair of positions: P = 1), the word its
            // value everywhere.
            let ports = [
                (x.out_addr.val(), x.out_mask.val(), x.out_word.val()),
                (x.out_addr_b.val(), x.out_mask_b.val(), x.out_word_b.val()),
            ];
            for (addr, mask, word) in ports {
                let (mask, word) = (mask.to_u64(), word.to_u64());
                if mask != 0 {
                    sim_assert!(sim, mask.is_power_of_two(), x);
                    sim_assert!(sim, word == 0 || word == u64::MAX, x);
                    writes.push((addr.to_u64(), u64::from(mask.trailing_zeros()), word != 0));
                }
            }
            wait_clock_cycle!(sim, clock, x);
        }
        x = sim.wait(1, x)?;
        sim_assert!(sim, !x.run.draining.val() && !x.out_claim.val(), x);
        // (plane j's word, bit c) of output neuron c, for the output columns.
        let want_writes: Vec<(u64, u64, bool)> = (0..3u64)
            .flat_map(|j| (0..2u64).map(move |c| (5 * j, c, (spikes[c as usize] >> j) & 1 == 1)))
            .collect();
        sim_assert_eq!(sim, writes, want_writes, x);
        sim_assert_eq!(sim, x.spikes.val().to_u64(), 5 + 2, x);
        x.core_done.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.core_done.next = false;
        sim_assert!(sim, !x.run.running.val() && !x.run.failed.val(), x);
        // Another run of the tile, the registers unwritten since the last
        // started: the core keeps its parameters, and none are offered.
        x.run.go.next = true;
        x = sim.wait(1, x)?;
        sim_assert!(sim, x.core_start.val() && x.core_keep_params.val(), x);
        wait_clock_cycle!(sim, clock, x);
        x.run.go.next = false;
        for _ in 0..4 {
            sim_assert!(
                sim,
                x.run.running.val() && x.run.params_free.val() && !x.par_valid.val(),
                x
            );
            wait_clock_cycle!(sim, clock, x);
        }
        x.core_done.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.core_done.next = false;
        // One register written: the next run streams the parameters again.
        x.params.write.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.params.write.next = false;
        x.run.go.next = true;
        x = sim.wait(1, x)?;
        sim_assert!(sim, x.core_start.val() && !x.core_keep_params.val(), x);
        wait_clock_cycle!(sim, clock, x);
        x.run.go.next = false;
        sim_assert!(sim, x.par_valid.val() && !x.run.params_free.val(), x);
        x.core_done.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.core_done.next = false;
        // A run that fails: the next does not start until cleared.
        x.run.go.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.run.go.next = false;
        x.core_done.next = true;
        x.core_error.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.core_done.next = false;
        x.core_error.next = false;
        x.run.go.next = true;
        x = sim.wait(1, x)?;
        sim_assert!(sim, x.run.failed.val() && !x.core_start.val(), x);
        x.run.clear.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.run.clear.next = false;
        x = sim.wait(1, x)?;
        sim_assert!(
            sim,
            !x.run.failed.val() && x.core_start.val() && !x.core_keep_params.val(),
            x
        );
        sim_assert_eq!(sim, x.pe_adds.val().to_u64(), 0, x);
        sim.done(x)
    });
    sim.run(Box::new(uut), 1_000_000).unwrap();
}
