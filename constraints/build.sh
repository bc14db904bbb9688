#!/usr/bin/env bash
# constraints/build.sh: from the Rust generator to a Kria app folder
# (spikeslice.bit.bin + spikeslice.dtbo + shell.json) for the KV260.
#
# *** UNTESTED: never run end to end. Only `--dtbo-only` and the generator step
# *** (`spikeslice gen-rtl --shell`) have been run; Vivado and bootgen have never
# *** been run on this design.
#
# Usage:
#   constraints/build.sh              # generate, Vivado, bootgen, dtc, app folder
#   constraints/build.sh --dtbo-only  # only the overlay (dtc), for checking it
#
# Settings (environment variables):
#   OUT            output directory              (default: build/kv260)
#   PRESET         accelerator configuration     (default: the board preset, kv260)
#   ROWS, COLS     PE array shape                (default: the preset's)
#   AXI_DATA_BITS  DMA master width, 64 or 128   (default: AcceleratorConfig::default())
#   CLOCK_MHZ      pl_clk0 request in MHz        (default: the wrapper's nominal clock)
#   JOBS           Vivado parallel jobs          (default: 2)
#   PL_CLK0_HZ     --dtbo-only: rate for the overlay (default: CLOCK_MHZ * 1e6)
# The defaults are in constraints/generated/accel.sh.
#
# Needs: cargo; Vivado (2022.1 or later, with the KV260 SOM board files) and bootgen
# on PATH (source <Vivado>/settings64.sh; bootgen ships with Vivado/Vitis); dtc
# (Debian/Ubuntu: device-tree-compiler).
#
# The result, build/kv260/app/spikeslice/, is what goes to
# /lib/firmware/xilinx/spikeslice/ on the board (spikeslice-fw writes it there itself
# when the host runs `spikeslice flash`); docs/board.md has the bring-up.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# APP, SHELL_FILE, TOP_FILE, the DEFAULT_* settings and the HP0 width codes
# AFI_WIDTH_<bits>, generated from the Rust tables (hdl/src/vivado/kv260.rs).
. "$ROOT/constraints/generated/accel.sh"
OUT=${OUT:-$ROOT/build/kv260}
PRESET=${PRESET:-$DEFAULT_PRESET}
ROWS=${ROWS:-}
COLS=${COLS:-}
AXI_DATA_BITS=${AXI_DATA_BITS:-$DEFAULT_AXI_DATA_BITS}
CLOCK_MHZ=${CLOCK_MHZ:-$DEFAULT_CLOCK_MHZ}
JOBS=${JOBS:-2}
RTL=$OUT/rtl
APPDIR=$OUT/app/$APP

DTBO_ONLY=0
case "${1:-}" in
  --dtbo-only) DTBO_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--dtbo-only]" >&2; exit 2 ;;
esac

die() { echo "build.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

case "$AXI_DATA_BITS" in
  128) AFI_WIDTH=$AFI_WIDTH_128 ;;   # config-afi value for a 128-bit HP port
  64)  AFI_WIDTH=$AFI_WIDTH_64 ;;
  *) die "AXI_DATA_BITS must be 64 or 128, not $AXI_DATA_BITS" ;;
esac
need dtc "install device-tree-compiler"
mkdir -p "$OUT" "$APPDIR"

if [ "$DTBO_ONLY" -eq 0 ]; then
  # 1. RTL: the shell (hdl/src/shell.rs) and its Vivado wrapper (hdl/src/vivado.rs):
  # $SHELL_FILE, $TOP_FILE and manifest.json.
  cargo run --release -p spikeslice -- gen-rtl --shell --preset "$PRESET" \
    ${ROWS:+--rows "$ROWS"} ${COLS:+--cols "$COLS"} \
    --axi-data-bits "$AXI_DATA_BITS" --clock-mhz "$CLOCK_MHZ" \
    --out "$RTL"
  for f in "$SHELL_FILE" "$TOP_FILE"; do
    [ -f "$RTL/$f" ] || die "the generator did not write $RTL/$f"
  done

  # 2. Vivado: block design, synthesis, implementation, bitstream, .xsa.
  need vivado "source <Vivado install>/settings64.sh"
  vivado -mode batch -nojournal -log "$OUT/vivado.log" \
    -source "$ROOT/constraints/build.tcl" \
    -tclargs "$RTL" "$OUT" "$AXI_DATA_BITS" "$CLOCK_MHZ" "$JOBS"
  [ -f "$OUT/$APP.bit" ] || die "Vivado did not write $OUT/$APP.bit (see $OUT/vivado.log)"

  # 3. .bit.bin for the FPGA manager (UG1283 Bootgen; Kria "Bitstream Management"):
  #    the configuration data without the .bit header, 32-bit words byte-swapped.
  need bootgen "bootgen ships with Vivado and Vitis"
  ( cd "$OUT" && echo "all:{ $APP.bit }" > "$APP.bif" \
      && bootgen -w -arch zynqmp -process_bitstream bin -image "$APP.bif" )
  [ -f "$OUT/$APP.bit.bin" ] || die "bootgen did not write $OUT/$APP.bit.bin"
  # The loader (firmware/src/loader.rs) checks for the byte-swapped sync word.
  od -An -tx1 -v "$OUT/$APP.bit.bin" | tr -d ' \n' | grep -q 665599aa \
    || die "$APP.bit.bin has no byte-swapped sync word (66 55 99 aa)"
  PL_CLK0_HZ=$(tr -d ' \r\n' < "$OUT/pl_clk0_hz")
else
  PL_CLK0_HZ=${PL_CLK0_HZ:-$((CLOCK_MHZ * 1000000))}
fi

# 4. The overlay, with the real pl_clk0 rate and the HP0 width written in.
PL_CLK0_HZ=${PL_CLK0_HZ%%.*}
case "$PL_CLK0_HZ" in
  ''|*[!0-9]*) die "pl_clk0 rate '$PL_CLK0_HZ' is not an integer number of Hz" ;;
esac
# The overlay includes generated/accel.dtsi; the copy of it next to the copy of the
# overlay gets the build's rate and width.
DTS=$OUT/$APP.dtsi
mkdir -p "$OUT/generated"
cp "$ROOT/constraints/spikeslice.dtsi" "$DTS"
sed -e "s|assigned-clock-rates = <[0-9]*>; /\* PL_CLK0_HZ \*/|assigned-clock-rates = <$PL_CLK0_HZ>; /* PL_CLK0_HZ */|" \
    -e "/AFI_HP0/s|<4 [0-9]>, <5 [0-9]>|<4 $AFI_WIDTH>, <5 $AFI_WIDTH>|" \
    "$ROOT/constraints/generated/accel.dtsi" > "$OUT/generated/accel.dtsi"
grep -q "assigned-clock-rates = <$PL_CLK0_HZ>;" "$OUT/generated/accel.dtsi" || die "could not set the clock rate"
grep -q "<4 $AFI_WIDTH>, <5 $AFI_WIDTH>" "$OUT/generated/accel.dtsi" || die "could not set the HP0 width"
# Warnings about unresolved phandles (zynqmp_clk, gic, ...) are expected: they are
# resolved against the running kernel's tree when the overlay is applied.
dtc -@ -I dts -O dtb -o "$OUT/$APP.dtbo" "$DTS"

# 5. The app folder for dfx-mgr: <app>.bit.bin, <app>.dtbo, shell.json (UG1630).
cp "$OUT/$APP.dtbo" "$APPDIR/"
cp "$ROOT/constraints/shell.json" "$APPDIR/"
if [ "$DTBO_ONLY" -eq 0 ]; then
  cp "$OUT/$APP.bit.bin" "$APPDIR/"
  cp "$OUT/$APP.bit" "$OUT/app/"   # for `spikeslice flash` (it converts .bit itself)
fi
echo "build.sh: pl_clk0 $PL_CLK0_HZ Hz, AXI $AXI_DATA_BITS bits; app folder: $APPDIR"
ls -l "$APPDIR"
