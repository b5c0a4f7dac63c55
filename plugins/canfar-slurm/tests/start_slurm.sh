#!/usr/bin/env bash
# Configure and start a single-node Slurm cluster on this machine, for the integration tests.
#
# Runs as root on a Debian (12 or newer) machine with no systemd: it installs slurmctld, slurmd,
# the client commands and munge with apt-get when they are missing, writes a one-node
# configuration (no cgroups, no accounting database), starts munged, slurmctld and slurmd in the
# background and waits until the node accepts jobs. Running it again when the cluster is up
# changes nothing. Exit status 0 means the cluster is up; anything else is printed on stderr.
#
# SLURM_TEST_NO_INSTALL=1 skips apt-get (fail instead when something is missing).
set -euo pipefail

log() { printf 'start_slurm: %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    log "must run as root (it installs packages and starts daemons)"
    exit 1
fi

node=$(hostname -s)
conf_dir=/etc/slurm
state=/var/spool/slurmctld
spool=/var/spool/slurmd
logs=/var/log/slurm

# One run at a time: two test runs starting the cluster together would race.
exec 9>/run/canfar-start-slurm.lock
flock 9

# Slurm's client commands retry for a long time when the controller is down: bound each call.
quick() { timeout 5 "$@"; }

# The node accepts jobs: the controller answers and the node is idle, or busy with jobs.
ready() {
    quick scontrol ping >/dev/null 2>&1 || return 1
    case "$(quick sinfo --noheader --nodes="$node" --format=%t 2>/dev/null)" in
        idle | mix | alloc) return 0 ;;
        *) return 1 ;;
    esac
}

missing=()
for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
    if [ "${SLURM_TEST_NO_INSTALL:-}" = 1 ]; then
        log "missing ${missing[*]} and SLURM_TEST_NO_INSTALL=1"
        exit 1
    fi
    log "installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

# munge: one key, owned by its user, and the daemon running as that user.
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --force >/dev/null 2>&1 \
        || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    runuser -u munge -- munged 9>&-   # no daemon keeps the lock: a second run would wait forever
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
fi

# One node, one default partition. The node offers at least 8 CPUs whatever the machine has
# (config_overrides lets slurmd accept that), so that an array of a few tasks runs at once.
cpus=$(nproc)
((cpus >= 8)) || cpus=8
memory_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p "$conf_dir" "$state" "$spool" "$logs"
cat >"$conf_dir/slurm.conf.new" <<CONF
# Written by start_slurm.sh for canfar-slurm's tests: one node, no cgroups, no accounting.
ClusterName=canfartest
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
ReturnToService=2
StateSaveLocation=$state
SlurmdSpoolDir=$spool
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
MinJobAge=600
DefMemPerCPU=256
MaxArraySize=10001
KillWait=2
InactiveLimit=0
SlurmdParameters=config_overrides
MessageTimeout=10
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
changed=no
if ! cmp -s "$conf_dir/slurm.conf.new" "$conf_dir/slurm.conf"; then
    mv "$conf_dir/slurm.conf.new" "$conf_dir/slurm.conf"
    changed=yes
else
    rm -f "$conf_dir/slurm.conf.new"
fi

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [ "$changed" = no ] && ready; then
    log "already up"
    exit 0
fi
stop() {
    if running "$1"; then
        kill "$(cat "$1")"
        for _ in $(seq 50); do running "$1" || break; sleep 0.1; done
    fi
}
if [ "$changed" = yes ] && running /run/slurmctld.pid; then
    # Node changes need the daemons restarted; reconfigure is enough for the rest.
    if ! quick scontrol reconfigure >/dev/null 2>&1; then
        log "configuration changed: restarting slurmctld and slurmd"
        stop /run/slurmd.pid
        stop /run/slurmctld.pid
    else
        log "configuration changed: reconfigured"
    fi
fi

# Start whichever daemon is not running (one stopping as this runs is started again), until
# the node takes jobs or a minute has passed.
started=$SECONDS
while ((SECONDS - started < 60)); do
    if ! running /run/slurmctld.pid; then
        log "starting slurmctld"
        slurmctld -i 9>&-   # -i: ignore state left by an earlier run that no longer matches
        for _ in $(seq 50); do quick scontrol ping >/dev/null 2>&1 && break; sleep 0.1; done
    fi
    if ! running /run/slurmd.pid; then
        log "starting slurmd"
        slurmd 9>&-
    fi
    if ready; then
        log "up: node $node, $cpus CPUs, ${memory_mb} MB"
        exit 0
    fi
    case "$(quick sinfo --noheader --nodes="$node" --format=%t 2>/dev/null || true)" in
        down* | drain* | fail*) quick scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.3
done
log "the node did not take jobs within 60 s; see $logs/slurmctld.log and $logs/slurmd.log"
quick sinfo >&2 || true
exit 1
