# constraints/build.tcl: Vivado batch build of the spikeslice accelerator for the
# Kria KV260 (K26 SOM, xck26-sfvc784-2LV-c).
#
# *** UNTESTED: this script has never been run in Vivado and its bitstream has never
# *** been loaded on a KV260. Property and pin names are taken from AMD documentation
# *** and public block-design scripts (sources below); expect to fix details on the
# *** first real run. Every name and number it shares with the wrapper, the overlay
# *** and build.sh comes from generated/accel.tcl (written by hdl/src/vivado/kv260.rs);
# *** hdl/tests/integration/constraints_ports.rs checks in CI that this script restates none.
#
# Usage (constraints/build.sh runs it):
#   vivado -mode batch -source constraints/build.tcl \
#          -tclargs <rtl_dir> <out_dir> [axi_data_bits] [clock_mhz] [jobs]
#
#   rtl_dir        holds $shell_file (the generated shell) and $top_file (its
#                  wrapper, hdl/src/vivado.rs)
#   out_dir        receives $app.bit, $app.xsa, reports/
#   axi_data_bits  the DMA master's data width, one of $axi_data_widths (default:
#                  that of AcceleratorConfig::default(), generated/accel.tcl)
#   clock_mhz      pl_clk0 in MHz (default: the wrapper's nominal clock)
#   jobs           parallel synthesis/implementation jobs (default 2)
#
# Block design (names as generated/accel.tcl sets them by default):
#   zynq_ultra_ps_e (KV260 SOM board preset)
#     M_AXI_HPM0_FPD --> SmartConnect --> spikeslice s_axi_control (AXI4-Lite, $reg_range at $reg_base)
#     S_AXI_HP0_FPD  <-- SmartConnect <-- spikeslice m_axi_mem (AXI4, $axi_data_bits bits)
#     pl_ps_irq0[0]  <-- spikeslice interrupt (level, active high; GIC SPI 89)
#     pl_clk0 (clock_mhz) --> everything; proc_sys_reset from pl_resetn0
#
# Sources:
#   UG994 (Designing IP Subsystems Using IP Integrator): module references
#     (create_bd_cell -type module -reference), assign_bd_address, interface inference.
#   UG1085 (Zynq UltraScale+ TRM), "PS-PL Interrupts": PL-to-PS interrupts 0..7 are
#     SPI 89..96 (IRQ 121..128).
#   Board part xilinx.com:kv260_som:part0:<version> (1.3, 1.4 in public KV260
#     projects), installed from Vivado's XHub board store.
#   PS property names (PSU__USE__M_AXI_GP0, PSU__USE__S_AXI_GP2,
#     PSU__SAXIGP2__DATA_WIDTH, PSU__USE__IRQ0, PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ,
#     PSU__FPGA_PL0_ENABLE) as used by public KV260/ZCU block-design scripts;
#     S_AXI_GP2 is S_AXI_HP0_FPD, M_AXI_GP0 is M_AXI_HPM0_FPD.
#   Kria "Bitstream Management" (kria-apps-docs) and UG1283 (Bootgen): the app folder
#     wants <app>.bit.bin, made by `bootgen -arch zynqmp -process_bitstream bin`
#     (constraints/build.sh runs it after this script).

# ---------------------------------------------------------------- parameters
# The names and numbers shared with the generator, the overlay and build.sh
# (the wrapper's module, files, interfaces and pins; the PS ports and pins they
# meet; the register window; the defaults of axi_data_bits and clock_mhz) are
# generated from the Rust tables into generated/accel.tcl.
set script_dir [file dirname [file normalize [info script]]]
source [file join $script_dir generated accel.tcl]
set acc_name        spikeslice_0
set bd_name         spikeslice_bd
set part            xck26-sfvc784-2LV-c
set board_part_glob xilinx.com:kv260_som:part0:*
set jobs            2

if {[llength $argv] < 2} {
  error "usage: vivado -mode batch -source build.tcl -tclargs <rtl_dir> <out_dir> \[axi_data_bits\] \[clock_mhz\] \[jobs\]"
}
set rtl_dir [file normalize [lindex $argv 0]]
set out_dir [file normalize [lindex $argv 1]]
if {[llength $argv] > 2} { set axi_data_bits [lindex $argv 2] }
if {[llength $argv] > 3} { set clock_mhz [lindex $argv 3] }
if {[llength $argv] > 4} { set jobs [lindex $argv 4] }
if {[lsearch -exact $axi_data_widths $axi_data_bits] < 0} {
  error "axi_data_bits must be one of $axi_data_widths, not $axi_data_bits"
}
file mkdir $out_dir
file mkdir [file join $out_dir reports]

# ---------------------------------------------------------------- project
create_project -force spikeslice_kv260 [file join $out_dir vivado] -part $part
# Board files: install the Kria KV260 SOM board files from Vivado's XHub board store
# first (unverified: whether the batch flow needs more than an installed store item);
# the newest installed version is used.
set board_parts [lsort -dictionary [get_board_parts -quiet $board_part_glob]]
if {[llength $board_parts] == 0} {
  error "no board part matches $board_part_glob: install the Kria KV260 SOM board files"
}
set board_part [lindex $board_parts end]
puts "spikeslice: board part $board_part"
set_property board_part $board_part [current_project]
set_property target_language Verilog [current_project]

foreach f [list $shell_file $top_file] {
  if {![file exists [file join $rtl_dir $f]]} {
    error "missing [file join $rtl_dir $f]: run the generator first (constraints/build.sh does)"
  }
}
add_files -norecurse [list [file join $rtl_dir $shell_file] [file join $rtl_dir $top_file]]
add_files -fileset constrs_1 -norecurse [file join $script_dir kv260.xdc]
update_compile_order -fileset sources_1

# ---------------------------------------------------------------- block design
create_bd_design $bd_name

set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e zynq_ultra_ps_e_0]
apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e \
  -config {apply_board_preset "1"} $ps
# HPM0_FPD for the registers (left at the preset's 128 bits, which is what the
# overlay's AFI setting for HPM0/1 assumes; the SmartConnect converts to AXI4-Lite),
# HPM1_FPD and HPM0_LPD off (an enabled port needs a clock), HP0 for the DMA at the
# accelerator's width, pl_ps_irq0, pl_clk0 at clock_mhz.
set_property -dict [list \
  CONFIG.PSU__USE__M_AXI_GP0 {1} \
  CONFIG.PSU__USE__M_AXI_GP1 {0} \
  CONFIG.PSU__USE__M_AXI_GP2 {0} \
  CONFIG.PSU__USE__S_AXI_GP2 {1} \
  CONFIG.PSU__SAXIGP2__DATA_WIDTH $axi_data_bits \
  CONFIG.PSU__USE__IRQ0 {1} \
  CONFIG.PSU__FPGA_PL0_ENABLE {1} \
  CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $clock_mhz \
] $ps
# The PS derives pl_clk0 from a PLL by an integer divider: the frequency it really
# makes may differ from the request (the device tree's assigned-clock-rates and the
# FREQ_HZ below must use it).
set act_mhz [get_property CONFIG.PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ $ps]
puts "spikeslice: pl_clk0 requested $clock_mhz MHz, the PS makes $act_mhz MHz"
if {abs($act_mhz - $clock_mhz) > 0.01 * $clock_mhz} {
  puts "spikeslice: WARNING: pl_clk0 runs at $act_mhz MHz, not $clock_mhz MHz; timing and the device tree use $act_mhz MHz"
}

# The accelerator: the wrapper as a module reference (UG994).
set acc [create_bd_cell -type module -reference $top_module $acc_name]

# The wrapper's m_axi_mem must have the width this script configures HP0 for.
set acc_mem_width [get_property CONFIG.DATA_WIDTH [get_bd_intf_pins $acc/$acc_mem_intf]]
if {$acc_mem_width != $axi_data_bits} {
  error "the wrapper's $acc_mem_intf is $acc_mem_width bits wide but axi_data_bits is $axi_data_bits: regenerate with the same width"
}

set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset rst_pl_clk0]
set sc_ctrl [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect smartconnect_ctrl]
set_property -dict [list CONFIG.NUM_SI {1} CONFIG.NUM_MI {1}] $sc_ctrl
set sc_mem [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect smartconnect_mem]
set_property -dict [list CONFIG.NUM_SI {1} CONFIG.NUM_MI {1}] $sc_mem

# Registers: PS -> SmartConnect -> accelerator.
connect_bd_intf_net [get_bd_intf_pins $ps/$ps_ctrl_port] [get_bd_intf_pins $sc_ctrl/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins $sc_ctrl/M00_AXI] [get_bd_intf_pins $acc/$acc_ctrl_intf]
# Memory: accelerator -> SmartConnect -> HP0 (the SmartConnect also adapts the
# 64-bit address and 1-bit ID to the port's 49 address and 6 ID bits).
connect_bd_intf_net [get_bd_intf_pins $acc/$acc_mem_intf] [get_bd_intf_pins $sc_mem/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins $sc_mem/M00_AXI] [get_bd_intf_pins $ps/$ps_mem_port]

# One clock domain: pl_clk0.
connect_bd_net [get_bd_pins $ps/$ps_clk_pin] \
  [get_bd_pins $ps/maxihpm0_fpd_aclk] \
  [get_bd_pins $ps/saxihp0_fpd_aclk] \
  [get_bd_pins $rst/slowest_sync_clk] \
  [get_bd_pins $sc_ctrl/aclk] \
  [get_bd_pins $sc_mem/aclk] \
  [get_bd_pins $acc/$acc_clk_pin]
connect_bd_net [get_bd_pins $ps/pl_resetn0] [get_bd_pins $rst/ext_reset_in]
connect_bd_net [get_bd_pins $rst/interconnect_aresetn] \
  [get_bd_pins $sc_ctrl/aresetn] \
  [get_bd_pins $sc_mem/aresetn]
connect_bd_net [get_bd_pins $rst/peripheral_aresetn] [get_bd_pins $acc/$acc_rst_pin]

# Interrupt: level, active high, on pl_ps_irq0[0] = GIC SPI 89 (UG1085).
connect_bd_net [get_bd_pins $acc/$acc_irq_pin] [get_bd_pins $ps/$ps_irq_pin]

# The wrapper states a nominal FREQ_HZ on ap_clk; use the frequency the PS really
# makes, or validate_bd_design reports a FREQ_HZ mismatch.
set clk_hz [get_property CONFIG.FREQ_HZ [get_bd_pins $ps/$ps_clk_pin]]
if {[catch {set_property CONFIG.FREQ_HZ $clk_hz [get_bd_pins $acc/$acc_clk_pin]} msg]} {
  puts "spikeslice: WARNING: could not set FREQ_HZ on $acc_name/$acc_clk_pin ($msg)"
}

# ---------------------------------------------------------------- addresses
# The register window first, at a fixed place; then everything else (the DMA
# master's view of DDR through HP0: HP0_DDR_LOW and HP0_DDR_HIGH).
set ctrl_segs [get_bd_addr_segs -of_objects [get_bd_intf_pins $acc/$acc_ctrl_intf]]
if {[llength $ctrl_segs] != 1} {
  error "expected one address segment on $acc_name/$acc_ctrl_intf, found: $ctrl_segs"
}
assign_bd_address -offset $reg_base -range $reg_range \
  -target_address_space [get_bd_addr_spaces $ps/Data] $ctrl_segs
assign_bd_address
# HP0 must see DDR, or every DMA access answers DECERR.
if {[llength [get_bd_addr_segs -quiet -of_objects [get_bd_addr_spaces $acc/$acc_mem_intf]]] == 0} {
  error "$acc_name/$acc_mem_intf has no address segments: HP0 is not mapped"
}

validate_bd_design
save_bd_design
report_bd_diffs -quiet [get_files $bd_name.bd]
write_bd_tcl -force [file join $out_dir reports $bd_name.tcl]

set wrapper [make_wrapper -fileset sources_1 -files [get_files $bd_name.bd] -top]
add_files -norecurse $wrapper
set_property top ${bd_name}_wrapper [current_fileset]
update_compile_order -fileset sources_1

# ---------------------------------------------------------------- build
launch_runs synth_1 -jobs $jobs
wait_on_run synth_1
if {[get_property PROGRESS [get_runs synth_1]] ne "100%"} {
  error "synthesis failed: see [get_property DIRECTORY [get_runs synth_1]]/runme.log"
}
launch_runs impl_1 -to_step write_bitstream -jobs $jobs
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
  error "implementation failed: see [get_property DIRECTORY [get_runs impl_1]]/runme.log"
}

open_run impl_1
report_timing_summary -file [file join $out_dir reports timing_summary.rpt]
report_utilization -file [file join $out_dir reports utilization.rpt]
report_power -file [file join $out_dir reports power.rpt]
set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
set whs [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -hold]]
puts "spikeslice: WNS $wns ns, WHS $whs ns at $act_mhz MHz"
if {$wns < 0 || $whs < 0} {
  error "timing not met (WNS $wns ns, WHS $whs ns): lower clock_mhz"
}

set bit [file join [get_property DIRECTORY [get_runs impl_1]] ${bd_name}_wrapper.bit]
file copy -force $bit [file join $out_dir $app.bit]
write_hw_platform -fixed -include_bit -force [file join $out_dir $app.xsa]
# build.sh reads this to write the same frequency into the device tree.
set fh [open [file join $out_dir pl_clk0_hz] w]
puts $fh $clk_hz
close $fh
puts "spikeslice: wrote [file join $out_dir $app.bit] and $app.xsa"
