#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing, then runs
# format, lint and the whole test suite. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Verilator (RTL simulation and lint), iverilog (the baseline's self-check),
# yosys (the resource estimate, hdl/tests/integration/estimate.rs) and dtc (the board's
# overlay): Debian packages, installed when absent.
need=()
command -v verilator >/dev/null 2>&1 || need+=(verilator)
command -v iverilog >/dev/null 2>&1 || need+=(iverilog)
command -v yosys >/dev/null 2>&1 || need+=(yosys)
# Verilator builds its models with make and the system C++ compiler, and links
# zlib for FST waveforms.
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
# ccache: Verilator's makefile compiles its runtime into every design's library;
# through ccache (sim/src/build.rs sets OBJCACHE when it is on PATH) that
# happens once.
command -v ccache >/dev/null 2>&1 || need+=(ccache)
# dtc compiles the KV260 device-tree overlay (hdl/tests/integration/constraints_ports.rs).
command -v dtc >/dev/null 2>&1 || need+=(device-tree-compiler)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Slurm and munge: host/tests/integration/jobs.rs submits a sweep as a job array to a
# one-node cluster it starts on localhost (scripts/slurm-cluster.sh).
scripts/slurm-cluster.sh install

for tool in rustfmt clippy-driver; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing: install the rustfmt and clippy components" >&2; exit 1; }
done
# Each step says how long it took, so a slow step shows in the logs.
step() {
  local t0=$SECONDS
  "$@"
  echo "test.sh: '$*' took $((SECONDS - t0)) s" >&2
}
step cargo fmt --all -- --check
step cargo clippy --workspace --all-targets --locked -- -D warnings
step cargo test --workspace --locked
