//! Runs the resource estimate (yosys `synth_xilinx -family xcup`) on the
//! smallest shell: a 1x1 array with the narrow AXI and buffers just large
//! enough to be block and Ultra RAM (the output buffer stays small: LUT RAM).
//! Fails, not skips, without yosys: scripts/test.sh installs it. Takes about
//! 3 minutes of CPU (yosys is single-threaded).

use spikeslice_core::accel::kv260::XCK26;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_hdl::{estimate, shell};

#[test]
fn estimate_of_the_smallest_shell_is_plausible() {
    let cfg = AcceleratorConfig {
        rows: 1,
        cols: 1,
        acc_bits: 16,
        membrane_bits: 24,
        axi_data_bytes: 8,
        max_burst_beats: 16,
        // 4096 x 8-bit weights and 512 x 64-bit activations: block RAM; the
        // 4096 x 32-bit gather row buffer: Ultra RAM; 64 x 256 x 1-bit outputs.
        wbuf_bytes: 4096,
        abuf_bytes: 4096,
        obuf_bytes: 2048,
        ..Default::default()
    };
    let dir = std::env::temp_dir().join(format!("spikeslice-estimate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    shell::generate(&cfg, &dir).unwrap();
    let e = match estimate::estimate_dir(&dir) {
        Ok(e) => e,
        Err(err) => panic!("{err}"),
    };
    assert!(dir.join(estimate::LOG_FILE).exists());
    let r = &e.resources;
    eprintln!("{r:?}\n{:?}\nyosys {:.0} s", e.paths, e.seconds);
    // The shell's DMA, controller and register file alone are thousands of
    // LUTs and flip-flops; a 1x1 shell is far below the device.
    assert!((1_000..40_000).contains(&r.lut), "LUT {}", r.lut);
    assert!((1_000..40_000).contains(&r.ff), "FF {}", r.ff);
    assert!(r.carry4 + r.carry8 > 0);
    assert!(r.bram36 + r.bram18 > 0, "no block RAM");
    assert!(r.uram > 0, "no Ultra RAM");
    assert!(r.lutram > 0, "the small output buffer is LUT RAM");
    assert!(r.usage(&XCK26).iter().all(|u| u.fits()));
    let p = &e.paths;
    for path in [&p.deepest, &p.longest] {
        assert!(path.cells > 0 && path.lut_levels > 0, "{p:?}");
        assert_eq!(
            path.cells,
            path.lut_levels + path.carry_cells + path.muxf,
            "{p:?}"
        );
        assert!(!path.from.is_empty() && !path.to.is_empty(), "{p:?}");
    }
    // Each is the greatest by its own count.
    assert!(p.deepest.lut_levels >= p.longest.lut_levels, "{p:?}");
    assert!(p.longest.cells >= p.deepest.cells, "{p:?}");
    assert!(p.longest_carry_chain > 0);
    assert_eq!(p.loop_cells, 0);
    // yosys names cells after the file it read: the design's own files are
    // read by their path from the estimate's work directory, so no name
    // depends on where the design was generated.
    let names = format!("{p:?}");
    assert!(!names.contains("spikeslice-estimate-"), "{names}");
    let _ = std::fs::remove_dir_all(&dir);
}
