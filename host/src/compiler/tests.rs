//! The compiler's choices against the programs it compiles.

use super::*;
use spikeslice_core::accel::preset;

/// A grouped layer's merge is priced as it runs ([`merge_prices`]): for every
/// grouped layer the compiler compiles into one descriptor, the price of the
/// merge it chose is the cycle model's count of that descriptor, within 1%
/// (the program's addresses move its DMA bursts' 4 KiB splits). A residual block's add reads a concatenation and runs
/// rewired onto it, a table gather; priced as the im2col layer it would be on
/// a plain input, the price and the program disagreed, and on the board preset
/// with spike pairs the ResNet's adds merged into one group ran slower.
#[test]
fn a_merge_is_priced_as_the_layer_it_compiles_to() {
    let alloc = spikeslice_train::alloc::Allocation::new(8, 1, 4).expect("an allocation");
    let board = preset::preset(preset::BOARD_PRESET)
        .expect("the board preset")
        .config;
    let configs = [
        AcceleratorConfig::default(),
        board,
        AcceleratorConfig {
            spike_pairs: true,
            ..board
        },
    ];
    let (mut checked, mut adds) = (0, 0);
    for (arch, side) in [("c8-r8-fc16", 16), ("c32-pool-r32-r32-pool-pool-fc16", 32)] {
        let arch = arch.parse().expect("an architecture");
        let model = spikeslice_train::untrained_model(&arch, [3, side, side], 10, alloc, 1)
            .expect("a model");
        let placement = concat::place(&model).expect("a placement");
        for cfg in &configs {
            let program = compile(&model, cfg).expect("the model compiles");
            let cycle_model = CycleModel::new(*cfg);
            for (i, &m) in program.merged_groups.iter().enumerate() {
                let (l, span) = (&model.layers[i], &program.spans[i]);
                if l.synapses.groups == 1 || span.len() != 1 {
                    continue;
                }
                let static_input =
                    placement.reads[i].is_none() && model.wiring[i].input == Source::Input;
                let prices = merge_prices(
                    &model,
                    i,
                    &placement,
                    cfg,
                    model.timesteps(),
                    static_input,
                    Mapping::default(),
                );
                let price = prices.iter().find(|&&(p, _)| p == m).map(|&(_, c)| c);
                let compiled = cycle_model.layer(&program.descriptors[span.start], 0).total;
                assert!(
                    price.is_some_and(|p| p.abs_diff(compiled) * 100 <= compiled),
                    "{}x{} {}: merged {m} of {} groups, compiled {compiled} cycles, prices {prices:?}",
                    cfg.rows,
                    cfg.cols,
                    l.name,
                    l.synapses.groups
                );
                checked += 1;
                adds += usize::from(placement.reads[i].is_some());
            }
        }
    }
    assert!(
        adds > 0 && checked > adds,
        "{checked} layers checked, {adds} adds"
    );
}
