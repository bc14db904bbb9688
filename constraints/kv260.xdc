# constraints/kv260.xdc: constraints of the spikeslice accelerator on the Kria KV260.
#
# *** UNTESTED: never read by Vivado in a real build (constraints/build.tcl adds it to
# *** constrs_1). Each item below names its source; item 4 is an inference.
#
# What a PL-only accelerator needs, and why this file is short:
#
# 1. Pins. None: the design uses no PL package pin. Its only interfaces are the
#    PS-PL AXI ports (M_AXI_HPM0_FPD, S_AXI_HP0_FPD), pl_ps_irq0 and pl_clk0, all
#    inside the device. So there are no PACKAGE_PIN / IOSTANDARD constraints, and the
#    KV260 carrier-card connections (som240_*) are not needed in the project.
#
# 2. Clocks. None here on purpose. The only clock is pl_clk0 of the
#    zynq_ultra_ps_e IP, and the IP's own generated XDC (psu_constraints.xdc, written
#    with the block design) already has
#        create_clock -name clk_pl_0 -period <1000 / actual MHz> [get_pins PS8_i/PLCLK[0]]
#    (seen in the generated XDC of public ZynqMP projects). Vivado propagates it
#    through the SmartConnects and the accelerator. A create_clock here would
#    redefine that clock. There is one clock domain, so there are no clock-domain
#    crossings to constrain.
#    The timing target is therefore chosen with build.tcl's clock_mhz argument
#    (default 200 MHz); build.tcl fails when setup or hold slack is negative.
#
# 3. Reset. ap_rst_n comes from proc_sys_reset's peripheral_aresetn, a register in
#    the pl_clk0 domain, and is synchronous to it: nothing to constrain.
#
# 4. Configuration bank voltage. CFGBVS and CONFIG_VOLTAGE describe the voltage of
#    the configuration bank (bank 0, and bank 65 in the UltraScale architecture) of
#    devices configured through their own configuration pins (UG912 "CFGBVS",
#    "CONFIG_VOLTAGE"; UG570). The K26's PL is configured by the PS (PCAP, from Linux
#    through the FPGA manager; UG1085), so they are not set here. If Vivado reports a
#    CFGBVS DRC for this part anyway, it is a warning about an unused property, not
#    a hardware setting. (Unverified: to confirm on the first Vivado run.)

# 5. Bitstream. Compression shortens the .bit.bin the host uploads over the serial
#    link and the time the FPGA manager needs to load it; the PL design is small, so
#    most frames are empty and compress well (UG908 "Bitstream Settings",
#    BITSTREAM.GENERAL.COMPRESS; UG903 "Configuration Constraints": bitstream
#    properties are set on current_design in an XDC).
set_property BITSTREAM.GENERAL.COMPRESS TRUE [current_design]

# 6. Fan-out. None here on purpose. Each row of the PE array takes its slice bit from
#    one net that drives all C PEs of the row (docs/compute-core.md, "Dataflow"),
#    the design's widest data fan-out besides the descriptor fields'. AMD advises
#    leaving such nets to the placer: place_design replicates registers that drive
#    high-fanout nets or loads placed far apart, which "is more effective than logical
#    replication in synthesis" (UG912, MAX_FANOUT). If the first timing report shows
#    these nets (`xskew$<row>$d_out` in the core's `array` instance; row 0's is
#    driven by a LUT, the others by their skew line's last register) on failing paths,
#    FORCE_MAX_FANOUT on them makes physical synthesis replicate the driver whatever
#    its slack (UG912, FORCE_MAX_FANOUT: nets driven directly by a register or LUT;
#    `set_property FORCE_MAX_FANOUT 16 [get_nets ...]`). (Unverified: no Vivado run.)
