#!/usr/bin/env bash
# Stop the cluster .ci/slurm-up.sh started: only the daemons whose pid files are in its folder,
# each checked by name first (a pid may have been reused), then remove the folder.
#   MAMBA_DOCTOR_SLURM_DIR (default /tmp/mamba-doctor-slurm); KEEP_SLURM_DIR=1 keeps the logs.
set -uo pipefail

DIR=${MAMBA_DOCTOR_SLURM_DIR:-/tmp/mamba-doctor-slurm}
[ -d "$DIR/run" ] || exit 0

alive() {  # a zombie still answers kill -0; PID 1 here reaps them late
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  case "$stat" in Z*) return 1 ;; esac
  return 0
}

stop() {  # pidfile expected-process-name
  local pidfile=$1 name=$2 pid comm
  [ -f "$pidfile" ] || return 0
  pid=$(tr -dc 0-9 <"$pidfile")
  [ -n "$pid" ] || return 0
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  if [ "$comm" != "$name" ]; then
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  rm -f "$pidfile"
}

# Jobs still running on the simulated nodes are this cluster's own: end them with it.
if [ -f "$DIR/etc/slurm.conf" ]; then
  ids=$(SLURM_CONF=$DIR/etc/slurm.conf timeout 5 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  [ -n "${ids// /}" ] && SLURM_CONF=$DIR/etc/slurm.conf timeout 5 scancel $ids 2>/dev/null
fi
for pidfile in "$DIR"/run/slurmd-*.pid; do stop "$pidfile" slurmd; done
stop "$DIR/run/slurmctld.pid" slurmctld
stop "$DIR/run/munged.pid" munged
[ "${KEEP_SLURM_DIR:-0}" = 1 ] || rm -rf "$DIR"
echo "slurm-down: stopped the cluster in $DIR" >&2
