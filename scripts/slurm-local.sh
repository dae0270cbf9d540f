#!/usr/bin/env bash
# A real single-node Slurm on this machine, for tests/slurm.rs (CI runs it; see ../README.md, "Running on a
# Slurm cluster"). Debian/Ubuntu, root, no systemd needed.
#
#   scripts/slurm-local.sh start   install (apt) what is missing, configure under $SLURM_LOCAL_DIR
#                                   (default /tmp/ddlab-slurm), start munged, slurmctld and slurmd, wait
#                                   until the node is idle
#   scripts/slurm-local.sh stop    stop exactly the daemons `start` started (by their PID files) and
#                                   restore any slurm.conf it replaced
#
# Facts it relies on (measured with slurm 22.05 and munge 0.5.15 on Debian 12, 2 cores, in a container):
# cgroup plugins break in containers, so proctrack/linuxproc and task/none; the node's RealMemory must
# not exceed what slurmd detects; `sacct` needs slurmdbd, so jobs are followed with squeue instead.
set -euo pipefail
dir=${SLURM_LOCAL_DIR:-/tmp/ddlab-slurm}
conf=/etc/slurm/slurm.conf

start() {
  if [ "$(id -u)" != 0 ]; then
    echo "slurm-local: needs root (it installs packages and starts daemons)" >&2
    exit 1
  fi
  if command -v sinfo >/dev/null && [ "$(sinfo -h -N -o %T 2>/dev/null | head -1)" = idle ]; then
    echo "slurm-local: a Slurm is already up here; using it"
    return 0
  fi
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null ||
    ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
  fi
  mkdir -p "$dir"/{state,spool,log}
  install -d -o munge -g munge /run/munge /var/lib/munge /var/log/munge
  [ -f /etc/munge/munge.key ] || mungekey --create
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    install -d -o munge -g munge "$dir/munge"
    runuser -u munge -- /usr/sbin/munged --pid-file="$dir/munge/munged.pid"
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  local cpus mem
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  mkdir -p /etc/slurm
  if [ -f "$conf" ] && [ ! -f "$dir/slurm.conf.before" ]; then cp "$conf" "$dir/slurm.conf.before"; fi
  cat >"$conf" <<EOF
# Written by ddlab's scripts/slurm-local.sh: a single-node Slurm for tests.
ClusterName=ddlab-test
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
MailProg=/bin/true
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
ReturnToService=2
MinJobAge=600
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  slurmctld
  for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
  slurmd
  for _ in $(seq 150); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -1)
    [ "$state" = idle ] && break
    sleep 0.2
  done
  if [ "${state:-}" != idle ]; then
    echo "slurm-local: the node did not come up (state '${state:-none}'); logs in $dir/log" >&2
    exit 1
  fi
  echo "slurm-local: up ($cpus CPUs, $mem MB; state and logs in $dir)"
}

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$pidfile"
    fi
  done
  if [ -f "$dir/slurm.conf.before" ]; then mv "$dir/slurm.conf.before" "$conf"; fi
  echo "slurm-local: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
