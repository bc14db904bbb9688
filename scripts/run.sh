#!/usr/bin/env bash
# The main job on the embedded default data: the example model on the mnist-5k
# test split through the golden model, then its bit-budget table with firing
# rates measured on the same split. Extra arguments go to `spikeslice infer`.
# Usage: scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p spikeslice
bin=target/release/spikeslice
"$bin" infer --model models/mnist-mlp.json --data mnist-5k --split test --backend golden "$@"
"$bin" budget --model models/mnist-mlp.json --data mnist-5k --split test
