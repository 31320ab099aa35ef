"""Pure: the TDengine container's start-up, owned by the program (issue: a pod must never take itself down
because the cluster is briefly unavailable).

The official image's `entrypoint.sh` runs under `set -ex` and ends with cluster-level statements (`create dnode`
for a new pod, `ALTER USER root` on pod 0's first start, `create snode on dnode 1` on every start): when one
fails, for example while the mnodes elect a leader (`Sync leader is restoring [0x80000914]`), the script exits,
the container exits, and kubelet kills the taosd the mnode quorum needed; with two pods in that loop the election
never completes. It also prints the root password into the container's log (`set -x` over
`TAOS_ROOT_PASSWORD=...`), even when given a command to run. So the container's command is the image's init
(`/tini`) with `START_SCRIPT`, which does the entrypoint's local steps (TZ, this pod's FQDN resolved to
127.0.0.1 in /etc/hosts, core dumps) and starts taosd and taosAdapter at once, and does the cluster-level steps
in the background, retrying until each succeeds. Differences from the official start-up (docs/seed.md):
- taosd and taosAdapter start first, whatever the cluster is doing; `create dnode` (a new pod) and the one-time
  root password change (pod 0) retry in the background, never exiting the container;
- `create dnode` is tried with the configured root password, and with TDengine's default while pod 0 has not
  changed it yet (with `podManagementPolicy: Parallel` a new pod's first try came before that change, and
  the official script exited on `Authentication failure`);
- `create snode on dnode 1` is tried from pod 0 only, in the background, a bounded number of times;
- SIGTERM stops taosAdapter, then taosd, and waits for taosd to flush and exit; a taosd that exits by itself
  ends the container with its exit code, so kubelet restarts it at once instead of after the liveness probe;
- taosKeeper and taosExplorer are not started (the program's image has neither);
- nothing it prints holds the root password; the host-wide `kernel.core_pattern` sysctl is not written.
"""

from __future__ import annotations

STOPPING_MARK = "/tmp/tdengine-stopping"
"""Written by the preStop hook (pod_spec.STOP_TAOSD): the script keeps the container after taosd exits."""
START_SCRIPT_KEY = "start.sh"
START_SCRIPT_DIR = "/usr/local/lib/tdengine-pulumi"
"""Where the ConfigMap holding the script is mounted in the container."""

START_SCRIPT = r"""#!/bin/bash
# tdengine-pulumi: the start-up of a TDengine pod, in place of the official image's entrypoint.sh (under the
# image's init, /tini). No cluster-level statement can end this container: taosd and taosAdapter start first,
# the cluster-level steps retry in the background. Nothing printed here holds the root password.
set -u

log() { echo "tdengine-start: $(date -u +%H:%M:%S) $*"; }
cfg() { taosd -C | grep -E "$1\s+(\S+)" -o | head -n1 | sed "s/$1 *//"; }

# The entrypoint's local steps: the time zone, this pod's FQDN resolved locally, core dumps allowed.
if [ -n "${TZ:-}" ] && [ -e "/usr/share/zoneinfo/$TZ" ]; then
  ln -sf "/usr/share/zoneinfo/$TZ" /etc/localtime
  echo "$TZ" >/etc/timezone
fi

PASSWORD=${TAOS_ROOT_PASSWORD:-taosdata}
DATA_DIR=$(cfg dataDir); DATA_DIR=${DATA_DIR:-/var/lib/taos}
FQDN=$(cfg fqdn)
FIRST_EP=$(cfg firstEp)
FIRST_HOST=${FIRST_EP%:*}
FIRST_PORT=${FIRST_EP#*:}
SERVER_PORT=$(cfg serverPort); SERVER_PORT=${SERVER_PORT:-6030}
ENDPOINT="$FQDN:$SERVER_PORT"
grep -q "$FQDN" /etc/hosts || echo "127.0.0.1 $FQDN" >>/etc/hosts
ulimit -c unlimited 2>/dev/null
PASSWORD_MARK="$DATA_DIR/.docker-entrypoint-root-password-changed"
INIT_MARK="$DATA_DIR/.docker-entrypoint-inited"

# taos against the first endpoint with one password; its output on stdout. The CLI's exit code is not
# reliable for SQL errors, so the callers read the output too.
sql() { timeout 30 taos -h "$FIRST_HOST" -P "$FIRST_PORT" -u root -p"$1" -s "$2" 2>&1; }
first_ep_serving() {
  [ "$(timeout 15 taos -h "$FIRST_HOST" -P "$FIRST_PORT" --check 2>/dev/null | grep -o '^[0-9]*')" = 2 ]
}
failed() { grep -qE 'DB error|failed|error:|ERROR' <<<"$1"; }
last() { grep -v '^[[:space:]]*$' <<<"$1" | tail -n1; }

# Retry a step until it succeeds: every 2 s for a minute, then every 10 s; a failure is logged, never fatal.
retry() {
  local what=$1 tries=0; shift
  until "$@"; do
    tries=$((tries + 1))
    [ $((tries % 10)) -eq 1 ] && log "$what: not yet (try $tries); retrying"
    sleep $([ $tries -lt 30 ] && echo 2 || echo 10)
  done
  log "$what: done"
}

listed() { sql "$PASSWORD" "show dnodes" | grep -qF "$ENDPOINT"; }

join_cluster() {
  first_ep_serving || return 1
  listed && return 0
  local pass out
  for pass in "$PASSWORD" taosdata; do
    out=$(sql "$pass" "create dnode \"$ENDPOINT\";")
    if ! failed "$out" || grep -q 'already exist' <<<"$out"; then
      log "create dnode $ENDPOINT: $(last "$out")"
      return 0
    fi
    [ "$pass" = "$PASSWORD" ] && [ "$PASSWORD" != taosdata ] || break
  done
  log "create dnode $ENDPOINT: $(last "$out")"
  return 1
}

set_root_password() {
  [ -f "$PASSWORD_MARK" ] && return 0
  first_ep_serving || return 1
  [ "$PASSWORD" = taosdata ] && return 0
  if ! failed "$(sql "$PASSWORD" "select server_version()")"; then
    touch "$PASSWORD_MARK"  # already the configured one (changed by an earlier start, or by the program)
    return 0
  fi
  local out; out=$(sql taosdata "ALTER USER root PASS '$PASSWORD'")
  failed "$out" && { log "ALTER USER root: $(last "$out")"; return 1; }
  touch "$PASSWORD_MARK"
}

run_initdb() {
  local f
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -f "$f" ] || continue
    failed "$(timeout 300 taos -u root -p"$PASSWORD" -f "$f" 2>&1)" && { log "initdb $f failed"; return 1; }
    log "initdb $f: done"
  done
  touch "$INIT_MARK"
}

create_snode() {
  local tries out
  for tries in $(seq 1 30); do
    out=$(sql "$PASSWORD" "create snode on dnode 1;")
    if ! failed "$out" || grep -qiE 'already exist|not exist' <<<"$out"; then return 0; fi
    sleep 10
  done
  log "create snode on dnode 1: gave up: $(last "$out")"
}

cluster_steps() {
  if [ "$FQDN" = "$FIRST_HOST" ]; then
    retry "root password" set_root_password
    [ -f "$INIT_MARK" ] || retry "initdb" run_initdb
    create_snode
  elif [ ! -f "$DATA_DIR/dnode/dnode.json" ] && [ ! -f "$DATA_DIR/dnode/mnodeEpSet.json" ]; then
    retry "join the cluster at $FIRST_EP" join_cluster
  fi
}

stop() {
  log "stopping taosAdapter, then taosd"
  kill -TERM "$ADAPTER" 2>/dev/null
  kill -TERM "$TAOSD" 2>/dev/null
  wait "$TAOSD"
  exit 0
}
trap stop TERM INT

log "starting taosd ($ENDPOINT, first endpoint $FIRST_EP)"
taosd &
TAOSD=$!
taosadapter &
ADAPTER=$!
cluster_steps &

wait "$TAOSD"
code=$?
log "taosd exited with code $code"
kill -TERM "$ADAPTER" 2>/dev/null
if [ -e __STOPPING_MARK__ ]; then
  # stopped by the preStop hook: the container stays until the pod's SIGTERM, so its name still resolves
  log "stopped for the pod's deletion; staying until it ends"
  while :; do sleep 1; done
fi
exit "$code"
""".replace("__STOPPING_MARK__", STOPPING_MARK)


def container_command() -> list[str]:
    """The image's init (tini reaps the children and forwards signals), running the start-up script."""
    return ["/tini", "--", "/bin/bash", f"{START_SCRIPT_DIR}/{START_SCRIPT_KEY}"]
