//! Runs the generated register-file Verilog (not the rust-hdl model) in Icarus Verilog
//! with a test bench generated here from the register table: every register's reset
//! value and access type, byte strobes, SLVERR on unmapped addresses, the start pulse,
//! done -> STATUS/IRQ_STATUS/irq, W1C, and the counter LO/HI latch. The exhaustive
//! bench (random back-to-back traffic) runs on the rust-hdl model (src/csr/).
//!
//! Skips without `iverilog` on PATH, except when `CI` is set (then it fails).

use crate::common;

use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_hdl::csr::{self, regmap::*, CsrLayout};
use std::fmt::Write;

/// The configuration registers of the default accelerator.
fn cfg() -> Vec<(u32, u32)> {
    AcceleratorConfig::default().config_registers()
}

const HEAD: &str = r##"`timescale 1ns/1ps
module tb;
  reg clock = 0; always #5 clock = ~clock;
  reg rst = 1;
  reg [11:0] awaddr = 0, araddr = 0; reg awvalid = 0, wvalid = 0, bready = 0, arvalid = 0, rready = 0;
  reg [31:0] wdata = 0; reg [3:0] wstrb = 0;
  wire awready, wready, bvalid, arready, rvalid; wire [1:0] bresp, rresp; wire [31:0] rdata;
  reg busy = 0, done = 0, error = 0; reg [7:0] error_code = 0;
  reg [63:0] cnt0 = 0;
  wire start, soft_reset, irq;
  integer fails = 0, starts = 0;
  always @(posedge clock) if (start) starts = starts + 1;
  spikeslice_csr dut(.clock(clock), .rst(rst),
    .\s_axi$awaddr (awaddr), .\s_axi$awvalid (awvalid), .\s_axi$awready (awready),
    .\s_axi$wdata (wdata), .\s_axi$wstrb (wstrb), .\s_axi$wvalid (wvalid), .\s_axi$wready (wready),
    .\s_axi$bresp (bresp), .\s_axi$bvalid (bvalid), .\s_axi$bready (bready),
    .\s_axi$araddr (araddr), .\s_axi$arvalid (arvalid), .\s_axi$arready (arready),
    .\s_axi$rdata (rdata), .\s_axi$rresp (rresp), .\s_axi$rvalid (rvalid), .\s_axi$rready (rready),
    .start(start), .soft_reset(soft_reset), .irq(irq), .busy(busy), .done(done), .error(error),
    .error_code(error_code), .\cnt$0 (cnt0)
    /*PORTS*/);
  task wr(input [11:0] a, input [31:0] d, input [3:0] s, input [1:0] want);
    begin
      @(negedge clock); awaddr = a; wdata = d; wstrb = s; awvalid = 1; wvalid = 1;
      while (awvalid || wvalid) begin
        @(posedge clock); #1;
        if (awready_q) awvalid = 0;
        if (wready_q) wvalid = 0;
      end
      bready = 1; @(posedge clock); while (!bvalid_q) @(posedge clock); #1 bready = 0;
      if (bresp_q != want) begin $display("FAIL write %h: bresp %0d want %0d", a, bresp_q, want); fails = fails + 1; end
    end
  endtask
  task rd(input [11:0] a, input [31:0] want, input [1:0] wresp);
    begin
      @(negedge clock); araddr = a; arvalid = 1;
      @(posedge clock); while (!arready_q) @(posedge clock); #1 arvalid = 0;
      rready = 1; while (!rvalid_q) begin @(posedge clock); #1; end
      @(posedge clock); #1 rready = 0;
      if (rdata_q != want || rresp_q != wresp) begin
        $display("FAIL read %h: %h resp %0d, want %h resp %0d", a, rdata_q, rresp_q, want, wresp); fails = fails + 1;
      end
    end
  endtask
  // Values as sampled at the last rising edge (the handshake edge).
  reg awready_q, wready_q, bvalid_q, arready_q, rvalid_q; reg [1:0] bresp_q, rresp_q; reg [31:0] rdata_q;
  always @(posedge clock) begin
    awready_q <= awready & awvalid; wready_q <= wready & wvalid; bvalid_q <= bvalid & bready; bresp_q <= bresp;
    arready_q <= arready & arvalid; rvalid_q <= rvalid & rready; rresp_q <= rresp; rdata_q <= rdata;
  end
  initial begin
    repeat (3) @(posedge clock); #1 rst = 0;
"##;

const TAIL: &str = r##"    if (fails == 0) $display("PASS"); else $display("FAILURES %0d", fails);
    $finish;
  end
  initial begin #1000000 $display("FAIL timeout"); $finish; end
endmodule
"##;

/// The test bench: a fixed harness plus checks generated from [`REGISTERS`].
fn testbench() -> String {
    let l = CsrLayout::from_table(&cfg()).unwrap();
    let mut tb = HEAD.to_string();
    // Tie the other vector ports (rw outputs are left open; ro inputs = 0x1000 + i).
    let mut ports = String::new();
    for i in 0..l.ro.len() {
        write!(ports, ", .\\ro${i} (32'h{:x})", 0x1000 + i).unwrap();
    }
    for i in 1..l.counters.len() {
        write!(ports, ", .\\cnt${i} (64'h0)").unwrap();
    }
    tb = tb.replace("/*PORTS*/", &ports);
    let reset = |r: &Register| {
        let ro = l.ro.iter().position(|x| x.1 == r.offset);
        ro.map_or(l.reset_value(r), |i| 0x1000 + i as u32)
    };
    for r in REGISTERS {
        writeln!(
            tb,
            "    rd(12'h{:x}, 32'h{:x}, 0); // {} reset",
            r.offset,
            reset(r),
            r.name
        )
        .unwrap();
    }
    for r in REGISTERS.iter().filter(|r| r.name != "CTRL") {
        let after = match r.access {
            Access::Rw => 0xFFFF_FFFF,
            Access::Ro => reset(r),
            Access::W1s | Access::W1c => 0,
        };
        writeln!(
            tb,
            "    wr(12'h{:x}, 32'hffffffff, 4'hf, 0); rd(12'h{:x}, 32'h{after:x}, 0); // {}",
            r.offset, r.offset, r.name
        )
        .unwrap();
    }
    let s = BUF_SIZE;
    writeln!(tb, "    wr(12'h{s:x}, 0, 4'hf, 0); wr(12'h{s:x}, 32'h11223344, 4'b0101, 0); rd(12'h{s:x}, 32'h00220044, 0);").unwrap();
    writeln!(tb, "    rd(12'h0f0, 0, 2); rd(12'h{:x}, 0, 2); wr(12'h0f0, 32'hffffffff, 4'hf, 2); rd(12'h{s:x}, 32'h00220044, 0);", s + 2).unwrap();
    // Start pulse, done -> status and interrupt, W1C.
    writeln!(
        tb,
        "    wr(12'h{CTRL:x}, 32'h{:x}, 4'hf, 0); repeat (3) @(posedge clock);",
        ctrl::START | ctrl::IRQ_ENABLE
    )
    .unwrap();
    tb.push_str("    if (starts != 1) begin $display(\"FAIL start pulses %0d\", starts); fails = fails + 1; end\n");
    tb.push_str("    @(negedge clock) done = 1; error = 1; error_code = 8'd5; @(negedge clock) done = 0; repeat (2) @(posedge clock); #1;\n");
    tb.push_str("    if (!irq) begin $display(\"FAIL irq after done\"); fails = fails + 1; end\n");
    writeln!(
        tb,
        "    rd(12'h{STATUS:x}, 32'h{:x}, 0); rd(12'h{IRQ_STATUS:x}, 1, 0);",
        status::ERROR_CODE.set(status::DONE | status::ERROR, 5)
    )
    .unwrap();
    writeln!(
        tb,
        "    wr(12'h{IRQ_STATUS:x}, 1, 4'hf, 0); repeat (2) @(posedge clock); #1;"
    )
    .unwrap();
    tb.push_str("    if (irq) begin $display(\"FAIL irq after W1C\"); fails = fails + 1; end\n");
    // Counter 0: LO latches HI.
    let c = &l.counters[0];
    tb.push_str("    cnt0 = 64'h00000001_00000005;\n");
    writeln!(tb, "    rd(12'h{:x}, 5, 0); cnt0 = 64'h00000002_00000007; rd(12'h{:x}, 1, 0); rd(12'h{:x}, 7, 0); rd(12'h{:x}, 2, 0);", c.lo, c.hi, c.lo, c.hi).unwrap();
    tb.push_str(TAIL);
    tb
}

#[test]
fn csr_generated_verilog_simulation() {
    let log = common::run_icarus(
        "csr-iverilog",
        "spikeslice_csr.v",
        &csr::verilog(&cfg()).unwrap(),
        &testbench(),
    );
    assert!(
        log.lines().any(|l| l == "PASS") && !log.contains("FAIL"),
        "generated register-file Verilog failed its test bench:\n{log}"
    );
}
