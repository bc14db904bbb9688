//! The controller's own test benches (its blocks have theirs).

use super::*;
use spikeslice_core::accel::descriptor::{LayerDescriptor, LayerKind};
use spikeslice_core::accel::AcceleratorConfig;

fn cfg() -> AcceleratorConfig {
    spikeslice_core::random::chain::config_2x3_64()
}

#[test]
fn buffer_plan_from_config() {
    let p = BufferPlan::new(&cfg());
    assert_eq!(p.wbank_depth, 256); // pow2(1024 / 3)
    assert_eq!(p.abank_depth, 128); // 2048 / 8 / 2
    assert_eq!(p.obuf_words, 128);
    let d = BufferPlan::new(&AcceleratorConfig::default());
    assert_eq!(
        (d.wbank_depth, d.abank_depth, d.obuf_words),
        (32768, 2048, 8192)
    );
}

/// The controller alone, with a behavioural read engine serving one descriptor:
/// an empty chain finishes at once; a bad magic, a refused descriptor read, a
/// region past the window and im2col geometries that do not fit end with the
/// right code, index and offset; the next start runs again.
#[test]
fn controller_fetch_and_refusals() {
    let c = cfg();
    let mut uut = Controller::<64, 8, 128, 24>::new(&c);
    uut.connect_all();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<Controller<64, 8, 128, 24>>| {
        x.clock.next = !x.clock.val()
    });
    sim.add_testbench(move |mut sim: Sim<Controller<64, 8, 128, 24>>| {
        let mut x = sim.init()?;
        let good = LayerDescriptor {
            weights: 0x100,
            params: 0x140,
            input: 0x180,
            output: 0x1C0,
            ..LayerDescriptor::dense(4, 2)
        };
        let mut bad_magic = good.encode();
        bad_magic[0] ^= 1;
        // A fan-in of 2^32 - 16: the weight region saturates the size arithmetic and
        // must be refused as outside the window (code 3 at the weights offset).
        let huge = LayerDescriptor {
            fan_in: 0xFFFF_FFF0,
            input_len: 0xFFFF_FFF0,
            ..good
        }
        .encode();
        // Im2col geometries the math phase refuses (code 2 at the descriptor,
        // as core's check does): a 2x3 kernel does not tile K = 4; 2x3 maps of
        // one channel do not fit 4 inputs.
        let map = LayerDescriptor {
            kind: LayerKind::Im2col,
            in_h: 2,
            in_w: 2,
            kernel_h: 2,
            kernel_w: 2,
            stride_h: 1,
            stride_w: 1,
            ..good
        };
        let wide_kernel = LayerDescriptor { kernel_w: 3, ..map };
        let wide_map = LayerDescriptor { in_w: 3, ..map };
        for d in [wide_kernel, wide_map] {
            let e = LayerDescriptor::decode(&d.encode(), 0, 0x40, &c, 0x1000).unwrap_err();
            assert_eq!((e.code as u64, e.offset), (2, 0x40), "{e}");
        }
        assert!(LayerDescriptor::decode(&map.encode(), 0, 0x40, &c, 0x1000).is_ok());
        let (wide_kernel, wide_map) = (wide_kernel.encode(), wide_map.encode());
        x.rst.next = true;
        wait_clock_cycles!(sim, clock, x, 2);
        x.rst.next = false;
        x.buf_size.next = 0x1000.into();
        x.dma_rd.cmd_ready.next = true;
        // (desc_count, refuse the read?, expected code, expected offset)
        for (count, refuse, code, off, d) in [
            (0u64, false, 0u64, 0u64, bad_magic),
            (1, false, 1, 0x40, bad_magic),
            (1, true, 3, 0x40, bad_magic),
            (1, false, 3, 0x100, huge),
            (1, false, 2, 0x40, wide_kernel),
            (1, false, 2, 0x40, wide_map),
            (0, false, 0, 0, huge),
        ] {
            x.desc_offset.next = 0x40.into();
            x.desc_count.next = count.into();
            x.start.next = true;
            wait_clock_cycle!(sim, clock, x);
            x.start.next = false;
            let mut beats: Vec<u64> = vec![];
            let mut guard = 0;
            while !x.done.val() {
                guard += 1;
                sim_assert!(sim, guard < 5000, x);
                x.dma_rd.done.next = false;
                x.dma_rd.valid.next = false;
                if x.dma_rd.cmd_valid.val() {
                    sim_assert_eq!(sim, x.dma_rd.cmd_offset.val().to_u64(), 0x40, x);
                    sim_assert_eq!(sim, x.dma_rd.cmd_len.val().to_u64(), 64, x);
                    if refuse {
                        // The engine refuses the command two cycles later.
                        x.dma_rd.err.next = 3.into();
                        x.dma_rd.err_offset.next = 0x40.into();
                        wait_clock_cycle!(sim, clock, x);
                        x.dma_rd.done.next = true;
                    } else {
                        x.dma_rd.err.next = 0.into();
                        beats = d
                            .chunks(8)
                            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
                            .collect();
                    }
                } else if let Some(&b) = beats.first() {
                    x.dma_rd.valid.next = true;
                    x.dma_rd.data.next = b.into();
                    if x.dma_rd.ready.val() {
                        beats.remove(0);
                        if beats.is_empty() {
                            wait_clock_cycle!(sim, clock, x);
                            x.dma_rd.valid.next = false;
                            x.dma_rd.done.next = true;
                        }
                    }
                }
                wait_clock_cycle!(sim, clock, x);
            }
            x.dma_rd.done.next = false;
            sim_assert_eq!(sim, x.error_code.val().to_u64(), code, x);
            sim_assert_eq!(sim, x.error.val(), code != 0, x);
            sim_assert_eq!(sim, x.err_offset.val().to_u64(), off, x);
            sim_assert_eq!(
                sim,
                x.desc_index.val().to_u64(),
                if code == 0 { count } else { 0 },
                x
            );
            wait_clock_cycles!(sim, clock, x, 3);
        }
        sim.done(x)
    });
    sim.run(Box::new(uut), 10_000_000).unwrap();
}
