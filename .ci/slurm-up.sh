#!/usr/bin/env bash
# Start a small, real SLURM cluster on 127.0.0.1 for the `fleet` tests: its own munged, one
# slurmctld and one slurmd per simulated node (Debian builds Slurm with multiple-slurmd), each
# node with its own fake `nvidia-smi` so that the nodes differ:
#   node1, node2  2x A100 (sm_80), driver 550 / CUDA 12.4   partition gpu-a100
#   node3         1x V100 (sm_70), driver 535 / CUDA 12.2   partition gpu-v100
#   node4         1x P100 (sm_60), driver 535 / CUDA 12.2   partition gpu-p100
#   node5         no GPU                                    partition cpu (default)
#   node6         2x A100, drained                          partition gpu-a100
# and partition gpu holding every GPU node, as many sites have.
# Everything (config, keys, spool, logs, pid files) lives in one folder, so the cluster touches
# nothing of a SLURM that may already run here, and .ci/slurm-down.sh stops exactly what this
# script started. Idempotent: a cluster already up in that folder is reused.
#
#   .ci/slurm-up.sh [--no-install]     prints `export SLURM_CONF=...` on success
# Environment: MAMBA_DOCTOR_SLURM_DIR (default /tmp/mamba-doctor-slurm).
# Exit status: 0 up; 3 SLURM cannot be started here (not root, packages missing with
# --no-install, no apt-get); 1 it was started but did not come up (see the logs it names).
set -euo pipefail

DIR=${MAMBA_DOCTOR_SLURM_DIR:-/tmp/mamba-doctor-slurm}
INSTALL=1
[ "${1:-}" = "--no-install" ] && INSTALL=0
CONF=$DIR/etc/slurm.conf
export SLURM_CONF=$CONF
NODES="node1 node2 node3 node4 node5 node6"

cannot() { echo "slurm-up: cannot start SLURM here: $*" >&2; exit 3; }
say() { echo "slurm-up: $*" >&2; }

if [ -f "$CONF" ] && timeout 5 sinfo -h -o %n >/dev/null 2>&1; then
  say "reusing the cluster in $DIR"
  echo "export SLURM_CONF=$CONF"
  exit 0
fi

[ "$(id -u)" = 0 ] || cannot "slurmd must run as root (this is uid $(id -u))"
missing=""
for prog in slurmctld slurmd srun sinfo munged mungekey; do
  command -v "$prog" >/dev/null 2>&1 || missing="$missing $prog"
done
if [ -n "$missing" ]; then
  [ "$INSTALL" = 1 ] || cannot "missing:$missing (run .ci/slurm-up.sh without --no-install)"
  command -v apt-get >/dev/null 2>&1 || cannot "missing:$missing and no apt-get"
  say "installing Debian's SLURM packages (missing:$missing)"
  pkgs="slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends $pkgs >/dev/null 2>&1 || {
    apt-get update -q >/dev/null 2>&1
    apt-get install -y -q --no-install-recommends $pkgs >/dev/null
  } || cannot "apt-get install $pkgs failed"
fi

# A leftover of an earlier run (killed, not stopped): stop it before starting afresh.
[ -d "$DIR/run" ] && bash "$(dirname "$0")/slurm-down.sh" >/dev/null 2>&1 || true
rm -rf "$DIR"
mkdir -p "$DIR"/{etc,run,log,state,spool,dev,munge,nodes}
# From here on, a failure stops whatever this run started (the logs stay for reading).
trap 'KEEP_SLURM_DIR=1 bash "$(dirname "$0")/slurm-down.sh" >/dev/null 2>&1' EXIT

# --- munge: a key and a socket of our own, so a system munged is neither needed nor used
mungekey -c -k "$DIR/munge/munge.key" >/dev/null 2>&1
munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.sock" \
  --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
  --seed-file="$DIR/munge/munged.seed"

# --- per-node GPUs: a data file and a fake nvidia-smi that answers from it
fake_node() {  # name driver cuda "index, name, cc, MiB, uuid" ...
  local node=$1 driver=$2 cuda=$3 d=$DIR/nodes/$1
  shift 3
  mkdir -p "$d/bin"
  echo "$driver" >"$d/driver"
  echo "$cuda" >"$d/cuda"
  echo "index,name,compute_cap,memory.total,uuid,driver_version" >"$d/gpus.csv"
  for row in "$@"; do echo "$row, $driver" >>"$d/gpus.csv"; done
  cp "$(dirname "$0")/fake-nvidia-smi" "$d/bin/nvidia-smi"
  chmod +x "$d/bin/nvidia-smi"
  local i=0
  for _ in "$@"; do  # GRES File= entries must be character devices, or CUDA_VISIBLE_DEVICES
    mknod "$DIR/dev/$node-gpu$i" c 195 $((16 + i))  # stays empty; nothing reads them
    i=$((i + 1))
  done
}
a100="NVIDIA A100-SXM4-80GB, 8.0, 81920"
fake_node node1 550.54.15 12.4 "0, $a100, GPU-a1000001-0000-4000-8000-000000000000" \
  "1, $a100, GPU-a1000001-0000-4000-8000-000000000001"
fake_node node2 550.54.15 12.4 "0, $a100, GPU-a1000002-0000-4000-8000-000000000000" \
  "1, $a100, GPU-a1000002-0000-4000-8000-000000000001"
fake_node node3 535.183.01 12.2 "0, Tesla V100-SXM2-32GB, 7.0, 32768, GPU-b1000003-0000-4000-8000-000000000000"
fake_node node4 535.183.01 12.2 "0, Tesla P100-PCIE-16GB, 6.0, 16384, GPU-c1000004-0000-4000-8000-000000000000"
fake_node node6 550.54.15 12.4 "0, $a100, GPU-a1000006-0000-4000-8000-000000000000" \
  "1, $a100, GPU-a1000006-0000-4000-8000-000000000001"
mkdir -p "$DIR/nodes/node5"  # no GPU, no nvidia-smi

# TaskProlog: every `export K=V` it prints lands in the task's environment; it runs on the
# node, so it puts that node's fake nvidia-smi first on PATH.
cat >"$DIR/etc/taskprolog.sh" <<EOF
#!/bin/sh
d=$DIR/nodes/\$SLURMD_NODENAME/bin
[ -d "\$d" ] && echo "export PATH=\$d:\$PATH"
exit 0
EOF
chmod +x "$DIR/etc/taskprolog.sh"

cat >"$DIR/etc/gres.conf" <<EOF
AutoDetect=off
NodeName=node1 Name=gpu Type=a100 File=$DIR/dev/node1-gpu[0-1]
NodeName=node2 Name=gpu Type=a100 File=$DIR/dev/node2-gpu[0-1]
NodeName=node6 Name=gpu Type=a100 File=$DIR/dev/node6-gpu[0-1]
NodeName=node3 Name=gpu Type=v100 File=$DIR/dev/node3-gpu0
NodeName=node4 Name=gpu Type=p100 File=$DIR/dev/node4-gpu0
EOF

cat >"$CONF" <<EOF
ClusterName=mdci
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.sock
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
StateSaveLocation=$DIR/state
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdSpoolDir=$DIR/spool/%n
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmdLogFile=$DIR/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$DIR/etc/taskprolog.sh
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=2
GresTypes=gpu
NodeName=node[1-2] NodeHostname=localhost NodeAddr=127.0.0.1 Port=[17101-17102] CPUs=2 RealMemory=1000 Gres=gpu:a100:2 Feature=gpu,a100 State=UNKNOWN
NodeName=node3 NodeHostname=localhost NodeAddr=127.0.0.1 Port=17103 CPUs=2 RealMemory=1000 Gres=gpu:v100:1 Feature=gpu,v100 State=UNKNOWN
NodeName=node4 NodeHostname=localhost NodeAddr=127.0.0.1 Port=17104 CPUs=2 RealMemory=1000 Gres=gpu:p100:1 Feature=gpu,p100 State=UNKNOWN
NodeName=node5 NodeHostname=localhost NodeAddr=127.0.0.1 Port=17105 CPUs=2 RealMemory=1000 Feature=cpu State=UNKNOWN
NodeName=node6 NodeHostname=localhost NodeAddr=127.0.0.1 Port=17106 CPUs=2 RealMemory=1000 Gres=gpu:a100:2 Feature=gpu,a100 State=UNKNOWN
PartitionName=gpu-a100 Nodes=node[1-2,6] MaxTime=INFINITE State=UP
PartitionName=gpu-v100 Nodes=node3 MaxTime=INFINITE State=UP
PartitionName=gpu-p100 Nodes=node4 MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=node[1-4,6] MaxTime=INFINITE State=UP
PartitionName=cpu Nodes=node5 Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -c -i
for node in $NODES; do
  mkdir -p "$DIR/spool/$node"
  slurmd -N "$node"
done

# srun before every node is idle says "Required node not available" and retries only ~3 s later.
for _ in $(seq 1 100); do
  states=$(sinfo -h -N -o '%N %T' 2>/dev/null | sort -u || true)
  if [ -n "$states" ] && ! echo "$states" | grep -qv ' idle$'; then
    [ "$(echo "$states" | wc -l)" -ge 6 ] && break
  fi
  sleep 0.1
done
if echo "$states" | grep -qv ' idle$' || [ -z "$states" ]; then
  say "the nodes did not come up (logs in $DIR/log):"
  echo "$states" >&2
  exit 1
fi
scontrol update NodeName=node6 State=DRAIN Reason="ci: maintenance"
trap - EXIT
say "up: $(echo "$NODES" | wc -w) nodes in $DIR"
echo "export SLURM_CONF=$CONF"
