"""Pure: the pod-level parts of the StatefulSet (probes, preStop, securityContext, resources, spreading), each
with why it departs from the seed (docs/seed.md). No Pulumi, no I/O.
"""

from __future__ import annotations

from typing import Any

from components.args import ClusterArgs
from components.startup import STOPPING_MARK


def probe(**timing: int) -> dict[str, Any]:
    """The image's `taos-check`: `taos --check` against the local taosd, failing on `0: unavailable` and
    `4: exiting` (it passes `1: network ok`, `2: service ok`, `3: service degraded`); it has no other mode."""
    return {"exec": {"command": ["taos-check"]}, **timing}


def liveness(args: ClusterArgs) -> dict[str, Any]:
    """Process-level: is taosd listening? A cluster-level check here would restart every pod at once when the
    cluster itself is unwell (quorum lost, a leader election), the worst moment. A taosd that exits ends the
    container (components/startup.py); this probe restarts one that hangs without listening."""
    return {
        "tcpSocket": {"port": args.server_port},
        "initialDelaySeconds": 15,
        "periodSeconds": 20,
        "timeoutSeconds": 5,
    }


LINGER_SECONDS = 20
"""How long a deleted pod stays after its taosd stopped, its DNS name still resolving (the headless Service
publishes terminating pods). A TDengine 3.3.7.5 mnode elected leader resolves every dnode's FQDN (its IP white
list) and, when one fails, stays "Sync leader is restoring" for good: seen on the real node when the deleted
leader's pod was gone and its successor not yet created (docs/e2e.md). Elections take 3-6 s."""
STOP_TAOSD = (
    f"touch {STOPPING_MARK}; pkill -TERM -x taosadapter; pkill -TERM -x taosd; "
    f"while pgrep -x taosd >/dev/null; do sleep 1; done; sleep {LINGER_SECONDS}; exit 0"
)
"""preStop: stops taosd itself and waits until it has flushed and exited, whatever runs as the container's
command (the official entrypoint, whose exit on SIGTERM kills taosd with SIGKILL, or the program's start-up script,
which stops taosd on SIGTERM too); then lingers, so the peers' next election can resolve this pod's name."""

SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"], "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""The strictest the official image allows. It runs as root: its entrypoint writes /etc/hosts and /etc/localtime
before starting taosd, which a non-root user cannot. Kept capabilities: file ownership and permission
overrides, for data volumes a provisioner created with another owner; everything else (NET_RAW, SETUID, ...) is
dropped."""


def resources(args: ClusterArgs) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", args.cpu_request), ("memory", args.memory_request)) if v}
    limits = {k: v for k, v in (("cpu", args.cpu_limit), ("memory", args.memory_limit)) if v}
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}


def spread(args: ClusterArgs) -> list[dict[str, Any]]:
    """One pod per zone first, so the 3 mnodes (pods 0-2) survive the loss of a zone where the cluster has
    zones; hostname too, as a preference next to the anti-affinity."""
    out = []
    if args.zone_spread != "none":
        mode = "DoNotSchedule" if args.zone_spread == "required" else "ScheduleAnyway"
        out.append(_constraint(args, "topology.kubernetes.io/zone", mode))
    if args.anti_affinity != "none":
        out.append(_constraint(args, "kubernetes.io/hostname", "ScheduleAnyway"))
    return out


def _constraint(args: ClusterArgs, key: str, mode: str) -> dict[str, Any]:
    return {
        "maxSkew": 1,
        "topologyKey": key,
        "whenUnsatisfiable": mode,
        "labelSelector": {"matchLabels": args.labels_selector},
    }


def affinity(args: ClusterArgs) -> dict[str, Any] | None:
    term = {"labelSelector": {"matchLabels": args.labels_selector}, "topologyKey": "kubernetes.io/hostname"}
    if args.anti_affinity == "required":
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    if args.anti_affinity == "preferred":
        weighted = {"weight": 100, "podAffinityTerm": term}
        return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [weighted]}}
    return None
