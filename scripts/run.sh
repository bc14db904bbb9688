#!/usr/bin/env bash
# The main job on the embedded default data: the Bit Budget sweep. Trains (or
# reuses from the cache) a model for every allocation (b_w, b_s, T) with
# T*b_w*b_s = 16 on the vendored mnist-5k digits, converts each to an integer
# SNN, and reports float, quantized-ANN and SNN accuracy, S-ACE and NS-ACE:
# a table on the terminal, and CSV, JSON and a plot in sweep-out/.
# Extra arguments go to `spikeslice sweep` (see `spikeslice sweep --help`).
# Usage: scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p spikeslice
exec target/release/spikeslice sweep "$@"
