#!/usr/bin/env bash
# A single-node Slurm cluster on 127.0.0.1, for tests: munged (with a private
# key), slurmctld and slurmd, all configured, logging and keeping state inside
# one directory, so nothing outside it is touched and it goes away with it.
#
# Usage:
#   scripts/slurm-cluster.sh install     apt-get the Debian packages if missing
#   scripts/slurm-cluster.sh start DIR   start the cluster in DIR (new or empty);
#                                        prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/slurm-cluster.sh stop DIR    cancel jobs, stop the daemons, remove DIR
#
# Ports: SlurmctldPort=$SLURM_FIXTURE_PORT_BASE and SlurmdPort=that+1 (default
# 16817/16818); ports are fixed per configuration, so two clusters at once need
# different bases. Status goes to stderr; stdout carries only the export line.
# start and stop run as root (the configuration was verified with
# SlurmUser=root and munged running as root, Slurm 22.05 on Debian 12).
set -euo pipefail

# The daemons and mungekey live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

port_base="${SLURM_FIXTURE_PORT_BASE:-16817}"
start_timeout=30 # seconds for munged's socket and for the node to become idle
drain_timeout=30 # seconds for cancelled jobs to leave squeue
kill_timeout=10  # seconds between SIGTERM and SIGKILL for each daemon
marker=.slurm-fixture # stop only removes a directory that start created

log() { echo "slurm-cluster: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  echo "usage: $0 install | start DIR | stop DIR" >&2
  exit 2
}

# Absolute form of DIR: it ends up in slurm.conf, which daemons and clients
# read from other working directories.
abspath() {
  case "$1" in
  /*) printf '%s\n' "$1" ;;
  *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

cmd_install() {
  local need=0 tool
  # sbatch alone could be present without the daemons (slurm-client only).
  for tool in sbatch slurmctld slurmd munged mungekey; do
    command -v "$tool" >/dev/null 2>&1 || need=1
  done
  if [ "$need" -eq 0 ]; then
    log "Slurm and munge are already installed"
    return
  fi
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing slurmctld slurmd slurm-client munge"
  "${sudo[@]}" apt-get update -qq >&2
  # Recommends (PMIx, mail, ...) are not needed here: 8 packages instead of 42.
  # Should the packages start system-wide daemons (a container's policy-rc.d
  # usually denies it), those use the default ports 6817/6818 and munge
  # socket, not the fixture's.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >&2
}

# Print the last log lines of each daemon, for a failure message. munged -F
# logs to stderr only (log/munged.out; it writes neither its --log-file nor
# its --pid-file then); slurmctld/slurmd -D log to both their log file and
# stderr (log/NAME.out), so the latter is only read when the former is empty.
tail_logs() {
  local dir=$1 name f
  for name in munged slurmctld slurmd; do
    f="$dir/log/$name.log"
    [ -s "$f" ] || f="$dir/log/$name.out"
    [ -s "$f" ] || continue
    echo "----- ${f#"$dir"/} (last 15 lines)" >&2
    tail -n 15 "$f" >&2
  done
}

# True when PID is alive and is NAME, or is still the subshell that `NAME &`
# forked and that has not exec'd NAME yet (a startup loop's first look, on a
# loaded machine, can come before the exec).
is_starting() {
  local pid=$1 name=$2 comm
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$comm" = "$name" ] || [ "$comm" = bash ]
}

# True when PID is alive and is the program NAME (guards against PID reuse
# after the daemon died on its own).
is_running() {
  local pid=$1 name=$2 comm
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$comm" = "$name" ]
}

# SIGTERM the daemons recorded in DIR/pid/NAME..., together (each takes 1-2 s
# to shut down), wait for them, then SIGKILL those still there.
stop_daemons() {
  local dir=$1 name pid i left
  shift
  local -A pids=()
  for name in "$@"; do
    [ -f "$dir/pid/$name" ] || continue
    pid=$(cat "$dir/pid/$name")
    if is_running "$pid" "$name"; then
      pids[$name]=$pid
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for ((i = 0; i <= kill_timeout * 10; i++)); do
    left=0
    for name in "${!pids[@]}"; do
      if is_running "${pids[$name]}" "$name"; then
        left=1
        if [ "$i" -eq $((kill_timeout * 10)) ]; then
          log "$name (${pids[$name]}) ignored SIGTERM for ${kill_timeout}s: SIGKILL"
          kill -KILL "${pids[$name]}" 2>/dev/null || true
        fi
      fi
    done
    [ "$left" -eq 1 ] || break
    sleep 0.1
  done
  for name in "$@"; do rm -f "$dir/pid/$name"; done
}

# PIDs of the slurmstepd processes of this cluster: they inherit slurmd's
# environment, which carries SLURM_CONF=DIR/slurm.conf.
cluster_stepds() {
  local dir=$1 p
  for p in $(pgrep -x slurmstepd || true); do
    if tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qxF "SLURM_CONF=$dir/slurm.conf"; then
      echo "$p"
    fi
  done
}

# All descendants of the given PIDs (the job processes under a slurmstepd).
descendants() {
  local -a todo=("$@")
  local pid child
  while [ ${#todo[@]} -gt 0 ]; do
    pid=${todo[0]}
    todo=("${todo[@]:1}")
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
      echo "$child"
      todo+=("$child")
    done
  done
}

# Stop everything the cluster in DIR runs; DIR itself is kept.
stop_cluster() {
  local dir=$1 i jobs
  export SLURM_CONF="$dir/slurm.conf"
  if [ -f "$dir/pid/slurmctld" ] && is_running "$(cat "$dir/pid/slurmctld")" slurmctld; then
    # Jobs still running when slurmd dies survive it: their slurmstepd is
    # reparented to PID 1 and ignores SIGTERM. So cancel and wait first.
    jobs=$(timeout 10 squeue -h -o %A 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      log "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
      # shellcheck disable=SC2086 # one argument per job id
      timeout 10 scancel $jobs 2>/dev/null || true
      for ((i = 0; i < drain_timeout * 4; i++)); do
        [ -n "$(timeout 10 squeue -h -o %A 2>/dev/null || true)" ] || break
        sleep 0.25
      done
      [ -z "$(timeout 10 squeue -h -o %A 2>/dev/null || true)" ] ||
        log "jobs still queued after ${drain_timeout}s; stopping anyway"
    fi
  fi
  # All three at once: each takes ~2 s to exit on SIGTERM (in turn: ~6 s),
  # and with no job left none of them needs another during shutdown (their
  # logs stay free of errors).
  stop_daemons "$dir" slurmd slurmctld munged
  # Left-over job steps (cancellation timed out, or slurmd died): SIGKILL,
  # since a reparented slurmstepd ignores SIGTERM.
  local -a stepds
  mapfile -t stepds < <(cluster_stepds "$dir")
  if [ ${#stepds[@]} -gt 0 ]; then
    local -a victims
    mapfile -t victims < <(descendants "${stepds[@]}")
    log "killing left-over slurmstepd ${stepds[*]} ${victims[*]}"
    kill -KILL "${stepds[@]}" "${victims[@]}" 2>/dev/null || true
  fi
}

# On a failed start: show the logs, stop what was started, keep DIR.
start_dir=
fail() {
  log "error: $*"
  tail_logs "$start_dir"
  exit 1
}
on_start_exit() {
  log "start failed; logs kept in $start_dir ('$0 stop $start_dir' removes it)"
  stop_cluster "$start_dir"
}

cmd_start() {
  local dir i state tool
  dir=$(abspath "$1")
  [ "$(id -u)" -eq 0 ] || die "start needs root (SlurmUser=root, munged as root)"
  for tool in sbatch slurmctld slurmd munged mungekey sinfo; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "$tool not found: run '$0 install' first"
  done
  case "$port_base" in
  '' | *[!0-9]*) die "SLURM_FIXTURE_PORT_BASE must be a port number, not '$port_base'" ;;
  esac
  if [ "$port_base" -lt 1 ] || [ "$port_base" -gt 65534 ]; then
    die "SLURM_FIXTURE_PORT_BASE must be in 1..65534 (it and the next port are used)"
  fi
  if [ -e "$dir" ]; then
    [ -d "$dir" ] || die "$dir exists and is not a directory"
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  fi
  # munged refuses a socket unless every directory above it is o+x
  # ("Socket is inaccessible: execute permissions for all required"); a
  # mktemp -d directory is 0700, hence the chmod of DIR. Its parents are
  # checked (those that exist), not changed.
  local up
  up=$(dirname "$dir")
  while :; do
    if [ -d "$up" ] && [ "$(($(stat -c %#a "$up") & 1))" -ne 1 ]; then
      die "$up lacks o+x, which munged needs on every directory above its socket"
    fi
    [ "$up" != / ] || break
    up=$(dirname "$up")
  done
  mkdir -p "$dir"
  chmod 755 "$dir"
  touch "$dir/$marker"
  mkdir -p "$dir"/{state,spool,log,munge,pid}
  chmod 755 "$dir/munge"

  # From here on, a failure stops whatever was started and keeps DIR (with
  # its logs) for inspection.
  start_dir=$dir
  trap on_start_exit EXIT

  # Option B of the notes: a private munged with its own key (0600, owned
  # by the user running munged), so the host's munge setup does not matter.
  mungekey -c -k "$dir/munge/munge.key"
  # Daemons get no terminal or caller pipes: a caller capturing stdout
  # (e.g. "$(... start DIR)") would otherwise wait for them to exit.
  munged -F --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/munged.seed" </dev/null >"$dir/log/munged.out" 2>&1 &
  echo $! >"$dir/pid/munged"
  for ((i = 0; i < start_timeout * 10; i++)); do
    [ -S "$dir/munge/munge.sock" ] && break
    is_starting "$(cat "$dir/pid/munged")" munged || fail "munged exited"
    sleep 0.1
  done
  [ -S "$dir/munge/munge.sock" ] || fail "munged made no socket in ${start_timeout}s"

  cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm-cluster.sh: a one-node test cluster on 127.0.0.1.
ClusterName=fixture
SlurmctldHost=localhost
SlurmctldPort=$port_base
SlurmdPort=$((port_base + 1))
SlurmUser=root
# The private munged above; clients find it through SLURM_CONF too.
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# No cgroups (none in a container): track processes through /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Schedule at once on submission (a 4-task array: ~3 s instead of ~5 s).
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# The declared node need not match the hardware: do not drain it.
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"

  # -D keeps them in the foreground so that $! is the daemon itself.
  slurmctld -D </dev/null >"$dir/log/slurmctld.out" 2>&1 &
  echo $! >"$dir/pid/slurmctld"
  # The host name is not "localhost", the node's name: -N says which it is.
  slurmd -D -N localhost </dev/null >"$dir/log/slurmd.out" 2>&1 &
  echo $! >"$dir/pid/slurmd"

  log "waiting for the node to become idle"
  state=
  for ((i = 0; i < start_timeout * 4; i++)); do
    state=$(timeout 5 sinfo -h -N -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    is_starting "$(cat "$dir/pid/slurmctld")" slurmctld || fail "slurmctld exited"
    is_starting "$(cat "$dir/pid/slurmd")" slurmd || fail "slurmd exited"
    sleep 0.25
  done
  [ "$state" = idle ] || fail "node not idle after ${start_timeout}s (state: '${state:-none}')"
  trap - EXIT
  log "cluster up in $dir (ports $port_base/$((port_base + 1)))"
  echo "export SLURM_CONF=$dir/slurm.conf"
}

cmd_stop() {
  local dir
  dir=$(abspath "$1")
  [ -d "$dir" ] || die "$dir does not exist"
  # Refuse to remove a directory this script did not set up.
  [ -f "$dir/$marker" ] || die "$dir was not made by '$0 start'; not touching it"
  stop_cluster "$dir"
  rm -rf "$dir"
  log "stopped; removed $dir"
}

case "${1:-}" in
install)
  [ $# -eq 1 ] || usage
  cmd_install
  ;;
start)
  [ $# -eq 2 ] || usage
  cmd_start "$2"
  ;;
stop)
  [ $# -eq 2 ] || usage
  cmd_stop "$2"
  ;;
*) usage ;;
esac
