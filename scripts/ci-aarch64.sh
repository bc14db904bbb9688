#!/usr/bin/env bash
# The board daemon as the KV260 runs it: cross-builds `spikeslice-fw` for
# aarch64 (the KV260's Cortex-A53 runs aarch64 Linux), without the `rtl-sim`
# feature as for the board, and runs that binary under qemu-user with a
# simulated board (functional model behind its registers) on 127.0.0.1. The host
# CLI (x86_64, same tree) runs the example MLP on the embedded mnist-5k digits
# through it (`--backend board`) and through the golden model, and every
# per-sample output (readout membranes, class, per-layer spike counts), the
# accuracy and the data-dependent hardware counts must be identical; timings
# are not compared. Installs the cross linker, qemu-user and the Rust target
# when missing. Called by .ci/run after scripts/test.sh.
# Usage: scripts/ci-aarch64.sh   (AARCH64_SAMPLES=50: how many test digits)
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
samples=${AARCH64_SAMPLES:-50}
model=models/mnist-mlp.json
target_dir=${CARGO_TARGET_DIR:-target}

# Debian 12's cross gcc (the linker; it pulls the arm64 glibc into
# /usr/aarch64-linux-gnu, which qemu uses as the guest's root with -L) and
# qemu-user (/usr/bin/qemu-aarch64; qemu-user-static only has
# qemu-aarch64-static). No recommends: qemu-user-binfmt would register qemu with
# the kernel, which this script does not need.
need=()
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || need+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi

# The cross-build. The linker comes from the environment, not a committed
# .cargo/config.toml, so that native builds on the board and other cross
# toolchains are left alone. Release as the board runs it, without debug info.
t0=$SECONDS
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:-aarch64-linux-gnu-gcc}
export CC_aarch64_unknown_linux_gnu=${CC_aarch64_unknown_linux_gnu:-aarch64-linux-gnu-gcc}
CARGO_PROFILE_RELEASE_DEBUG=false \
  cargo build --locked --release -p spikeslice-fw --no-default-features --target "$target"
fw="$target_dir/$target/release/spikeslice-fw"
cross_secs=$((SECONDS - t0))

# An aarch64 ELF: magic, 64-bit, little-endian, e_machine 183 (EM_AARCH64).
# (od is coreutils; `file` and readelf may be missing.)
ident=$(od -An -tx1 -N6 "$fw" | tr -d ' \n')
machine=$(od -An -tu2 -j18 -N2 --endian=little "$fw" | tr -d ' ')
if [ "$ident" != "7f454c460201" ] || [ "$machine" != 183 ]; then
  echo "error: $fw is not a little-endian 64-bit aarch64 ELF (ident $ident, e_machine $machine)" >&2
  exit 1
fi
echo "aarch64: $fw is an aarch64 ELF ($(stat -c %s "$fw") bytes), built in ${cross_secs}s"

# The host CLI exactly as `cargo test --workspace` builds it for its integration
# tests (target/debug/spikeslice): in CI, after scripts/test.sh, nothing is
# rebuilt. (`cargo build -p spikeslice` would rebuild most of the tree: cargo
# test uses the test profile, opt-level 1, for every unit, and unifies the
# features of the whole workspace and its dev-dependencies, e.g. `either`'s
# `use_std` through criterion, which changes rayon, candle and the crates
# above them.) Standalone, this builds the test suite once, as
# scripts/test.sh would.
cargo test --workspace --locked --no-run
host="$target_dir/debug/spikeslice"

tmp=$(mktemp -d)
daemon=""
cleanup() {
  if [ -n "$daemon" ]; then
    kill "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Start the daemon on a free port (asked of the kernel, then released: another
# process may take it before the daemon binds, hence the retries). It prints
# "listening on ADDR" once bound.
t0=$SECONDS
addr=""
for attempt in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -rf "$tmp/board"
  mkdir "$tmp/board"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$fw" --simulate "$tmp/board" \
    --sim-accel functional --listen "127.0.0.1:$port" >"$tmp/daemon.log" 2>&1 &
  daemon=$!
  for _ in $(seq 300); do # 30 s
    if grep -q "listening on" "$tmp/daemon.log"; then
      addr="127.0.0.1:$port"
      break
    fi
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$addr" ] && break
  if kill -0 "$daemon" 2>/dev/null; then
    echo "error: spikeslice-fw under qemu-aarch64 did not listen within 30 s; its log:" >&2
    sed 's/^/  /' "$tmp/daemon.log" >&2
    exit 1
  fi
  wait "$daemon" || true
  daemon=""
  if ! grep -q "cannot listen" "$tmp/daemon.log"; then
    echo "error: spikeslice-fw under qemu-aarch64 exited before listening; its log:" >&2
    sed 's/^/  /' "$tmp/daemon.log" >&2
    exit 1
  fi
  echo "port $port was taken (attempt $attempt), trying another"
done
if [ -z "$addr" ]; then
  echo "error: spikeslice-fw found no free port in 5 attempts; its last log:" >&2
  sed 's/^/  /' "$tmp/daemon.log" >&2
  exit 1
fi
echo "aarch64: spikeslice-fw under qemu-aarch64 listens on $addr"

# The same digits through the board and through the golden model: `infer`
# writes every sample's outputs, `run` the accuracy and the performance report.
# (At about 3 samples/s over the simulated board's TCP link, 50 take ~20 s per
# command; the timeout only bounds a hung link.)
common=(--model "$model" --data mnist-5k --split test --limit "$samples")
board=(--backend board --tcp "$addr")
timeout 600 "$host" infer "${common[@]}" "${board[@]}" --output "$tmp/infer-board.json" >"$tmp/host.log" 2>&1 ||
  { cat "$tmp/host.log" >&2; echo "daemon log:" >&2; cat "$tmp/daemon.log" >&2; exit 1; }
"$host" infer "${common[@]}" --backend golden --output "$tmp/infer-golden.json" >>"$tmp/host.log" 2>&1 ||
  { cat "$tmp/host.log" >&2; exit 1; }
timeout 600 "$host" run "${common[@]}" "${board[@]}" --idle-seconds 0 --json "$tmp/run-board.json" >>"$tmp/host.log" 2>&1 ||
  { cat "$tmp/host.log" >&2; echo "daemon log:" >&2; cat "$tmp/daemon.log" >&2; exit 1; }
"$host" run "${common[@]}" --backend golden --json "$tmp/run-golden.json" >>"$tmp/host.log" 2>&1 ||
  { cat "$tmp/host.log" >&2; exit 1; }
grep -E "^(model|accuracy)" "$tmp/host.log" | sed 's/^/  /'

run_secs=$((SECONDS - t0))
python3 - "$tmp" "$samples" <<'EOF'
import json, sys

tmp, samples = sys.argv[1], int(sys.argv[2])
load = lambda name: json.load(open(f"{tmp}/{name}.json"))
passed, failed, notes = 0, 0, []

# Per sample: readout membranes, class, label, per-layer spike counts.
board, golden = load("infer-board"), load("infer-golden")
if board["backend"] != "board" or golden["backend"] != "golden":
    sys.exit(f"error: backends are {board['backend']} and {golden['backend']}")
for name, rep in (("board", board), ("golden", golden)):
    if rep["samples"] != samples or len(rep["results"]) != samples:
        notes.append(f"{name} infer report has {rep['samples']} samples "
                     f"({len(rep['results'])} results), not {samples}")
        failed += 1
for b, g in zip(board["results"], golden["results"]):
    if b == g:
        passed += 1
        continue
    failed += 1
    fields = sorted(k for k in set(b) | set(g) if b.get(k) != g.get(k))
    notes.append(f"sample {g.get('index')}: " + "; ".join(
        f"{k}: board {b.get(k)} golden {g.get(k)}" for k in fields))

# The run report: everything but the backend's name and what is timed or
# measured (cycles and what follows from them: latency, fps, static energy;
# board power). What remains comes from the outputs and the program. A board
# counts the whole chain, not layer by layer: its per-layer PE adds are null
# (and compared only where both backends give them).
TIMED = {"backend", "measured_cycles", "cycles", "cycle_source", "latency_s",
         "fps", "energy", "energy_per_sop_j", "energy_per_bit_budget_j",
         "measured_power"}
def untimed(perf):
    return {k: v for k, v in perf.items() if k not in TIMED and k != "layers"}
rb, rg = load("run-board"), load("run-golden")
diffs = [f"{k}: board {rb.get(k)} golden {rg.get(k)}"
         for k in ("model", "data", "accuracy") if rb.get(k) != rg.get(k)]
pb, pg = untimed(rb["performance"]), untimed(rg["performance"])
diffs += [f"performance.{k}: board {pb.get(k)} golden {pg.get(k)}"
          for k in sorted(set(pb) | set(pg)) if pb.get(k) != pg.get(k)]
lb, lg = rb["performance"]["layers"], rg["performance"]["layers"]
if len(lb) != len(lg):
    diffs.append(f"performance.layers: board has {len(lb)}, golden {len(lg)}")
for i, (b, g) in enumerate(zip(lb, lg)):
    b, g = untimed(b), untimed(g)
    if b.get("pe_adds") is None or g.get("pe_adds") is None:
        b.pop("pe_adds", None), g.pop("pe_adds", None)
    diffs += [f"performance.layers[{i}].{k}: board {b.get(k)} golden {g.get(k)}"
              for k in sorted(set(b) | set(g)) if b.get(k) != g.get(k)]
if rb["performance"].get("samples") != samples:
    diffs.append(f"run report has {rb['performance'].get('samples')} samples, not {samples}")
if diffs:
    failed += 1
    notes.append("run report: " + "; ".join(diffs))
else:
    passed += 1

if failed:
    print(f"error: the aarch64 daemon's results differ from golden ({failed} checks):",
          file=sys.stderr)
    for n in notes[:10]:
        print("  " + n[:400], file=sys.stderr)
    if len(notes) > 10:
        print(f"  ... and {len(notes) - 10} more", file=sys.stderr)
    print(f"aarch64: {passed} passed, {failed} failed")
    sys.exit(1)
print(f"aarch64: {samples} samples and the run report identical to golden "
      f"(accuracy {rg['accuracy']})")
open(f"{tmp}/passed", "w").write(f"{passed}\n")
EOF
echo "aarch64: the daemon's log:"
sed 's/^/  /' "$tmp/daemon.log"
echo "aarch64: cross-build ${cross_secs}s, daemon and host ${run_secs}s"
echo "aarch64: $(cat "$tmp/passed") passed, 0 failed"
