//! AXI faults through the Verilator backend (`SimDevice` on the generated shell): the
//! simulated DDR answers SLVERR or DECERR for a burst touching a chosen address of the
//! program's image; the run must end with a clear error naming the descriptor, the
//! layer, the error and the offset (not hang), and the next run on the same device,
//! with the fault removed, must match the golden backend bit for bit.

use spikeslice::compiler::{compile, Program};
use spikeslice::device::{Device, GoldenDevice, Inference, SimDevice};
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_sim::ddr::{Fault, RESP_DECERR, RESP_SLVERR};
use spikeslice_tests::{digits, repository_model};

/// The default accelerator in Verilator, the example MLP compiled for it, and
/// the golden backend's results on its first `n` test digits.
fn mlp_on_the_default_shell(n: usize) -> (SimDevice, Program, Vec<Vec<u8>>, Vec<Inference>) {
    let config = AcceleratorConfig::default();
    let dev = SimDevice::open(&config).unwrap();
    let model = repository_model("mnist-mlp.json");
    let program = compile(&model, &config).unwrap();
    let xs = digits(&model, n);
    let want = GoldenDevice.run(&program, &xs).unwrap();
    (dev, program, xs, want)
}

#[test]
fn an_axi_error_ends_the_run_and_the_next_run_is_exact() {
    let (mut dev, program, xs, want) = mlp_on_the_default_shell(2);
    let last = program.descriptors.len() - 1;
    // (descriptor, window offset, response, what the message must say)
    let cases = [
        (
            1,
            program.descriptors[1].weights,
            RESP_SLVERR,
            "SLVERR (code 4",
        ),
        (
            last,
            program.descriptors[last].output,
            RESP_DECERR,
            "DECERR (no slave at that address) (code 5",
        ),
        (
            0,
            program.descriptors[0].input,
            RESP_SLVERR,
            "SLVERR (code 4",
        ),
    ];
    for (index, at, resp, says) in cases {
        dev.shell().ddr.faults = vec![Fault {
            lo: u64::from(at),
            hi: u64::from(at) + 1,
            resp,
        }];
        let e = dev
            .run(&program, &xs[..1])
            .expect_err("an injected AXI error must fail the run");
        let msg = format!("{e:#}");
        eprintln!("fault at 0x{at:X}: {msg}");
        let layer = &program.model.layers[index].name;
        assert!(
            msg.contains(&format!("stopped at descriptor {index}:"))
                && msg.ends_with(&format!("(layer {layer})"))
                && msg.contains(says)
                && msg.contains(&format!("offset 0x{at:X}")),
            "unclear error for a fault at 0x{at:X}: {msg}"
        );
        assert!(
            !dev.shell().ddr.fault_hits.is_empty(),
            "the fault was never hit"
        );
        dev.shell().ddr.faults.clear();
        dev.shell().ddr.fault_hits.clear();
        let got = dev
            .run(&program, &xs)
            .unwrap_or_else(|e| panic!("the run after the fault at 0x{at:X}: {e:#}"));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g.output, w.output,
                "after the fault at 0x{at:X}: sample {i}"
            );
            assert_eq!(g.activity.pe_adds, w.activity.pe_adds);
            assert_eq!(g.activity.spikes, w.activity.spikes);
        }
    }
}

#[test]
fn a_run_over_its_cycle_limit_is_an_error_and_the_next_run_is_exact() {
    let (mut dev, program, xs, want) = mlp_on_the_default_shell(1);
    // Far fewer cycles than the chain needs (~70 000): the driver must give up,
    // not wait forever, and say so.
    dev.timeout_cycles = Some(5_000);
    let e = format!("{:#}", dev.run(&program, &xs).unwrap_err());
    eprintln!("{e}");
    assert!(
        e.contains("did not finish within 5000 cycles") && e.contains("STATUS"),
        "{e}"
    );
    dev.timeout_cycles = None;
    let got = dev.run(&program, &xs).unwrap();
    assert_eq!(got[0].output, want[0].output, "after the timeout");
}
