//! Processing elements whose accumulators are DSP48E2 slices (the generator's
//! `dsp_pes` option, docs/compute-core.md, "PEs in DSP48E2 slices"): a
//! [`DspPes`] block is one DSP48E2 and the PEs of one row it holds, side by
//! side (two neighbouring columns). Each behaves exactly as a
//! [`crate::pe::Pe`]: the slice bit selects whether the weight is added, the
//! weight moves on down its column one register a step, a chunk's first beat
//! (`fst`) starts the sum afresh, and each lane's accumulator is an output of
//! its own, which its column's row multiplexer reads where it stands.
//!
//! The DSP adds in SIMD mode (AMD UG579, "SIMD Mode"): with accumulators of at
//! most 24 bits two PEs share a DSP (`USE_SIMD = "TWO24"`, the lanes `P[23:0]`
//! and `P[47:24]`, no carry between them), wider ones take a DSP each
//! (`"ONE48"`). The mux stays in the fabric: the X multiplexer takes `A:B`,
//! whose lanes are each PE's weight, sign-extended, or 0. The PEs of a row
//! share its slice bit and its first-beat flag, so one Z multiplexer serves
//! both lanes: `OPMODE` Z = P, X = A:B (`P <= P + A:B`), and at a first beat
//! Z = 0 (`P <= A:B`), a dynamic `OPMODE` bit. (Two PEs of a column would need
//! a lane's clear each, through the C port: 48 fabric gates a slice.) A stall
//! (`en` low) holds P (`CEP` low). Only the P register is used (`PREG = 1`,
//! every input register 0), so a PE's timing is the fabric PE's.
//!
//! rust-hdl simulates the block by its `update` (the PEs' behaviour); the
//! Verilog instantiates the DSP48E2 primitive, which yosys and Vivado map to
//! a DSP slice. Verilator and Icarus have no vendor library here: the generated
//! file carries [`DSP48E2_MODEL`], a model of the subset of the primitive used
//! (written to UG579, not AMD's simulation model), inside `ifndef SYNTHESIS`.

use crate::param::Param;
use crate::pe::W_BITS;
use rust_hdl::core::ast::{Verilog, Wrapper};
use rust_hdl::prelude::*;

/// PEs per DSP48E2 for an accumulator width: two 24-bit SIMD lanes up to 24
/// bits, one 48-bit lane above.
pub fn pes_per_dsp(acc_bits: usize) -> usize {
    if acc_bits <= 24 {
        2
    } else {
        1
    }
}

/// Up to two PEs of one row in one DSP48E2: lane 0 in the left column (its
/// weight from `w_in0`), lane 1 in the right one (`w_in1`). A block of one
/// lane (`lanes = 1`: the last column of an odd array, or wide accumulators)
/// leaves `w_in1` unused and `acc_out1` 0.
#[derive(LogicBlock, Default)]
pub struct DspPes<const ACC: usize> {
    pub clock: Signal<In, Clock>,
    pub en: Signal<In, Bit>,
    /// This step's beat is its chunk's first: the sums start from 0.
    pub fst: Signal<In, Bit>,
    /// The row's slice bit.
    pub x_in: Signal<In, Bit>,
    pub w_in0: Signal<In, Bits<W_BITS>>,
    pub w_in1: Signal<In, Bits<W_BITS>>,
    /// Each lane's weight, on to the row below.
    pub w_out0: Signal<Out, Bits<W_BITS>>,
    pub w_out1: Signal<Out, Bits<W_BITS>>,
    /// Each lane's accumulator.
    pub acc_out0: Signal<Out, Bits<ACC>>,
    pub acc_out1: Signal<Out, Bits<ACC>>,
    w0: DFF<Bits<W_BITS>>,
    w1: DFF<Bits<W_BITS>>,
    /// The DSP's P lanes.
    p0: DFF<Bits<ACC>>,
    p1: DFF<Bits<ACC>>,
    sext: Param<Bits<ACC>>,
    _lanes: usize,
}

impl<const ACC: usize> DspPes<ACC> {
    pub fn new(lanes: usize) -> Self {
        assert!(
            (1..=pes_per_dsp(ACC)).contains(&lanes),
            "{lanes} PEs in one DSP at {ACC}-bit accumulators"
        );
        let ones: Bits<ACC> = !Bits::<ACC>::default();
        Self {
            sext: Param::new(ones << W_BITS as u64),
            _lanes: lanes,
            ..Default::default()
        }
    }

    /// A lane's operand: the weight, sign-extended, when the slice bit is 1.
    fn operand(&self, x: bool, w: Bits<W_BITS>) -> Bits<ACC> {
        match (x, w.get_bit(W_BITS - 1)) {
            (false, _) => Bits::default(),
            (true, false) => bit_cast::<ACC, W_BITS>(w),
            (true, true) => bit_cast::<ACC, W_BITS>(w) | self.sext.val(),
        }
    }

    /// The Verilog: the fabric registers, the lanes' operands, and the DSP.
    fn verilog(&self) -> String {
        let two = pes_per_dsp(ACC) == 2;
        let (simd, lane) = if two { ("TWO24", 24) } else { ("ONE48", 48) };
        let operand = |w: &str| {
            format!(
                "(x_in ? {{{{{}{{{w}[{}]}}}}, {w}}} : {lane}'d0)",
                lane - W_BITS,
                W_BITS - 1
            )
        };
        let ab = if two {
            format!("{{{}, {}}}", operand("w_in1"), operand("w_in0"))
        } else {
            operand("w_in0")
        };
        let acc_out0 = format!("p[{}:0]", ACC - 1);
        let acc_out1 = if two {
            format!("p[{}:{lane}]", lane + ACC - 1)
        } else {
            format!("{ACC}'d0")
        };
        format!(
            r#"
// PEs of one row in a DSP48E2 (hdl/src/pe_dsp.rs): P <= P + A:B (OPMODE Z = P,
// X = A:B) per SIMD lane; at a chunk's first beat P <= A:B (Z = 0).
reg [{wm}:0] w_r0;
reg [{wm}:0] w_r1;
wire [47:0] ab;
wire [47:0] p;
always @(posedge clock) begin
    if (en) begin
        w_r0 <= w_in0;
        w_r1 <= w_in1;
    end
end
assign ab = {ab};
assign w_out0 = w_r0;
assign w_out1 = w_r1;
assign acc_out0 = {acc_out0};
assign acc_out1 = {acc_out1};
DSP48E2 #(
    .USE_SIMD("{simd}"), .USE_MULT("NONE"), .A_INPUT("DIRECT"), .B_INPUT("DIRECT"),
    .AMULTSEL("A"), .BMULTSEL("B"), .PREADDINSEL("A"), .USE_PATTERN_DETECT("NO_PATDET"),
    .AREG(0), .ACASCREG(0), .BREG(0), .BCASCREG(0), .CREG(0), .DREG(0), .ADREG(0),
    .MREG(0), .PREG(1), .OPMODEREG(0), .ALUMODEREG(0), .INMODEREG(0), .CARRYINREG(0),
    .CARRYINSELREG(0)
) dsp (
    .CLK(clock), .A(ab[47:18]), .B(ab[17:0]), .C(48'd0), .D(27'd0),
    .OPMODE({{3'b000, ~fst, 3'b000, 2'b11}}), .ALUMODE(4'b0000), .INMODE(5'b00000),
    .CARRYIN(1'b0), .CARRYINSEL(3'b000), .ACIN(30'd0), .BCIN(18'd0), .PCIN(48'd0),
    .CARRYCASCIN(1'b0), .MULTSIGNIN(1'b0),
    .CEP(en), .RSTP(1'b0),
    .CEA1(1'b0), .CEA2(1'b0), .CEAD(1'b0), .CEALUMODE(1'b0), .CEB1(1'b0), .CEB2(1'b0),
    .CEC(1'b0), .CECARRYIN(1'b0), .CECTRL(1'b0), .CED(1'b0), .CEINMODE(1'b0), .CEM(1'b0),
    .RSTA(1'b0), .RSTALLCARRYIN(1'b0), .RSTALUMODE(1'b0), .RSTB(1'b0), .RSTC(1'b0),
    .RSTCTRL(1'b0), .RSTD(1'b0), .RSTINMODE(1'b0), .RSTM(1'b0),
    .P(p)
);
"#,
            wm = W_BITS - 1,
        )
    }
}

impl<const ACC: usize> Logic for DspPes<ACC> {
    fn update(&mut self) {
        for r in [&mut self.w0, &mut self.w1] {
            r.clock.next = self.clock.val();
            r.d.next = r.q.val();
        }
        for r in [&mut self.p0, &mut self.p1] {
            r.clock.next = self.clock.val();
            r.d.next = r.q.val();
        }
        self.w_out0.next = self.w0.q.val();
        self.w_out1.next = self.w1.q.val();
        self.acc_out0.next = self.p0.q.val();
        self.acc_out1.next = if pes_per_dsp(ACC) == 2 {
            self.p1.q.val()
        } else {
            Bits::default()
        };
        if self.en.val() {
            self.w0.d.next = self.w_in0.val();
            self.w1.d.next = self.w_in1.val();
            // Z = 0 at a first beat, else P.
            let (z0, z1) = if self.fst.val() {
                (Bits::default(), Bits::default())
            } else {
                (self.p0.q.val(), self.p1.q.val())
            };
            let x = self.x_in.val();
            self.p0.d.next = z0 + self.operand(x, self.w_in0.val());
            self.p1.d.next = z1 + self.operand(x, self.w_in1.val());
        }
    }

    fn connect(&mut self) {
        self.w_out0.connect();
        self.w_out1.connect();
        self.acc_out0.connect();
        self.acc_out1.connect();
        for r in [&mut self.w0, &mut self.w1] {
            r.clock.connect();
            r.d.connect();
        }
        for r in [&mut self.p0, &mut self.p1] {
            r.clock.connect();
            r.d.connect();
        }
    }

    fn hdl(&self) -> Verilog {
        Verilog::Wrapper(Wrapper {
            code: self.verilog(),
            cores: String::new(),
        })
    }
}

/// A model of the DSP48E2 features [`DspPes`] uses, for simulators without
/// AMD's library (Verilator, Icarus): the X multiplexer (0, P, A:B), the Z
/// multiplexer (0, P), ALUMODE 0000 (`Z + X`), SIMD lanes of 48, 24 or 12
/// bits without carries between them, the P register with `CEP` and `RSTP`
/// (reset first). Every input register is bypassed, as `DspPes` sets them.
/// Synthesis (`SYNTHESIS`, which yosys and Vivado define) skips it and maps
/// the primitive.
pub const DSP48E2_MODEL: &str = r#"
`ifndef SYNTHESIS
// Simulation model of the DSP48E2 subset used by the DSP PEs (hdl/src/pe_dsp.rs),
// written to AMD UG579 for simulators without the vendor library; synthesis maps
// the primitive instead.
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
module DSP48E2 #(
    parameter USE_SIMD = "ONE48", parameter USE_MULT = "MULTIPLY",
    parameter A_INPUT = "DIRECT", parameter B_INPUT = "DIRECT",
    parameter AMULTSEL = "A", parameter BMULTSEL = "B", parameter PREADDINSEL = "A",
    parameter USE_PATTERN_DETECT = "NO_PATDET",
    parameter integer AREG = 1, parameter integer ACASCREG = 1, parameter integer BREG = 1,
    parameter integer BCASCREG = 1, parameter integer CREG = 1, parameter integer DREG = 1,
    parameter integer ADREG = 1, parameter integer MREG = 1, parameter integer PREG = 1,
    parameter integer OPMODEREG = 1, parameter integer ALUMODEREG = 1,
    parameter integer INMODEREG = 1, parameter integer CARRYINREG = 1,
    parameter integer CARRYINSELREG = 1
) (
    input CLK, input [29:0] A, input [17:0] B, input [47:0] C, input [26:0] D,
    input [8:0] OPMODE, input [3:0] ALUMODE, input [4:0] INMODE, input CARRYIN,
    input [2:0] CARRYINSEL, input [29:0] ACIN, input [17:0] BCIN, input [47:0] PCIN,
    input CARRYCASCIN, input MULTSIGNIN,
    input CEP, input RSTP,
    input CEA1, input CEA2, input CEAD, input CEALUMODE, input CEB1, input CEB2,
    input CEC, input CECARRYIN, input CECTRL, input CED, input CEINMODE, input CEM,
    input RSTA, input RSTALLCARRYIN, input RSTALUMODE, input RSTB, input RSTC,
    input RSTCTRL, input RSTD, input RSTINMODE, input RSTM,
    output reg [47:0] P
);
    wire [47:0] x = OPMODE[1:0] == 2'b11 ? {A, B} : OPMODE[1:0] == 2'b10 ? P : 48'd0;
    wire [47:0] z = OPMODE[6:4] == 3'b010 ? P : 48'd0;
    wire [47:0] sum;
    generate
        if (USE_SIMD == "TWO24") begin : two24
            assign sum = {z[47:24] + x[47:24], z[23:0] + x[23:0]};
        end else if (USE_SIMD == "FOUR12") begin : four12
            assign sum = {z[47:36] + x[47:36], z[35:24] + x[35:24],
                          z[23:12] + x[23:12], z[11:0] + x[11:0]};
        end else begin : one48
            assign sum = z + x;
        end
    endgenerate
    initial P = 48'd0;
    always @(posedge CLK) begin
        if (RSTP) P <= 48'd0;
        else if (CEP) P <= sum;
    end
endmodule
/* verilator lint_on UNUSEDPARAM */
/* verilator lint_on UNUSEDSIGNAL */
`endif
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pe::Pe;
    use spikeslice_core::random::{rng as seeded, Draw};

    /// A row of two [`Pe`]s and a two-lane [`DspPes`] fed the same random
    /// steps (adds, stalls, first beats): the same weights and accumulators
    /// out, cycle by cycle.
    #[derive(LogicBlock, Default)]
    struct Pair {
        clock: Signal<In, Clock>,
        en: Signal<In, Bit>,
        fst: Signal<In, Bit>,
        x_in: Signal<In, Bit>,
        w_in0: Signal<In, Bits<W_BITS>>,
        w_in1: Signal<In, Bits<W_BITS>>,
        left: Pe<24>,
        right: Pe<24>,
        dsp: DspPes<24>,
    }

    impl Logic for Pair {
        #[hdl_gen]
        fn update(&mut self) {
            self.left.clock.next = self.clock.val();
            self.right.clock.next = self.clock.val();
            self.dsp.clock.next = self.clock.val();
            self.left.en.next = self.en.val();
            self.right.en.next = self.en.val();
            self.dsp.en.next = self.en.val();
            self.left.fst.next = self.fst.val();
            self.right.fst.next = self.fst.val();
            self.dsp.fst.next = self.fst.val();
            self.left.w_in.next = self.w_in0.val();
            self.right.w_in.next = self.w_in1.val();
            self.dsp.w_in0.next = self.w_in0.val();
            self.dsp.w_in1.next = self.w_in1.val();
            self.left.x_in.next = self.x_in.val();
            self.right.x_in.next = self.x_in.val();
            self.dsp.x_in.next = self.x_in.val();
        }
    }

    #[test]
    fn dsp_pes_match_a_row_of_pes() {
        let uut = Pair {
            dsp: DspPes::new(2),
            ..Default::default()
        };
        let (mut sim, uut) = clocked_simulation!(uut, Pair);
        sim.add_testbench(move |mut sim: Sim<Pair>| {
            let mut x = sim.init()?;
            let mut rng = seeded(0xD5B);
            for step in 0..4000 {
                // First beats and adds at random, and stalls (with the flag up).
                let r = rng.below(100);
                x.fst.next = !(5..90).contains(&r) || step == 0;
                x.en.next = r < 85 || step == 0;
                x.w_in0.next = rng.below(256).into();
                x.w_in1.next = rng.below(256).into();
                x.x_in.next = rng.chance(60);
                wait_clock_cycle!(sim, clock, x);
                sim_assert_eq!(sim, x.dsp.w_out0.val(), x.left.w_out.val(), x);
                sim_assert_eq!(sim, x.dsp.w_out1.val(), x.right.w_out.val(), x);
                sim_assert_eq!(sim, x.dsp.acc_out0.val(), x.left.acc_out.val(), x);
                sim_assert_eq!(sim, x.dsp.acc_out1.val(), x.right.acc_out.val(), x);
            }
            sim.done(x)
        });
        sim.run(Box::new(uut), 100_000).unwrap();
    }

    #[test]
    fn wide_accumulators_take_a_slice_each() {
        let two = DspPes::<24>::new(1).verilog();
        assert!(two.contains("USE_SIMD(\"TWO24\")") && two.contains("acc_out1 = p[47:24]"));
        let one = DspPes::<32>::new(1).verilog();
        assert!(one.contains("USE_SIMD(\"ONE48\")") && one.contains("acc_out0 = p[31:0]"));
        assert!(one.contains("assign acc_out1 = 32'd0;"));
    }
}
