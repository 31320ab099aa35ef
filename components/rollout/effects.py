"""What changing each setting does to a live cluster: the table of docs/changes.md, written once.
Pure. `tests/rollout/test_effects.py` keeps that copy equal to `markdown_table()` and checks each row's kind
against what `classify.classify` decides for a sample change of that setting alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.rollout.classify import Kind


@dataclass(frozen=True)
class Effect:
    key: str
    kind: Kind
    """What a typical change of it does (the sample the test classifies)."""
    what: str


_FQDN = "refused: it is part of every dnode's endpoint, and TDengine keeps its dnodes, mnodes and vgroups by endpoint"
_ROLL = "rolling restart: one pod at a time, behind the health gates"
_PROGRAM = "no change to the cluster: how `pulumi up` works"

EFFECTS: tuple[Effect, ...] = (
    Effect("namespace", Kind.REFUSED, f"{_FQDN} (another namespace is another cluster)"),
    Effect(
        "createNamespace",
        Kind.NONE,
        "in place: `false` releases the Namespace from the stack, kept; refused while `deleteDataOnDestroy` was "
        "true (Pulumi would delete it, and with it every PVC)",
    ),
    Effect("clusterName", Kind.REFUSED, f"{_FQDN} (the StatefulSet, its pods and PVCs are named after it)"),
    Effect("serviceName", Kind.REFUSED, _FQDN),
    Effect("clientService", Kind.NONE, "in place: the ClusterIP Service is created or deleted"),
    Effect(
        "replicas",
        Kind.SCALE,
        "scale-out (pods join, mnodes up to 3) or scale-in (each departing dnode drained first, highest ordinal "
        "first); see Scaling",
    ),
    Effect(
        "image",
        Kind.ROLLING_RESTART,
        f"{_ROLL}, for the same version or another maintenance release (`3.3.6.13` -> `3.3.6.14`, either way); "
        "another feature or major release is refused with TDengine's rule, or restarts every pod at once with "
        "`allowFullRestart`; another Major+ release is refused",
    ),
    Effect("imagePullPolicy", Kind.ROLLING_RESTART, _ROLL),
    Effect(
        "timezone",
        Kind.ROLLING_RESTART,
        f"{_ROLL}, when the UTC offset stays the same all year; another offset is refused (TDengine would refuse "
        "the restarted dnode: 'timezone not match')",
    ),
    Effect("serverPort", Kind.REFUSED, _FQDN),
    Effect(
        "restPort",
        Kind.REFUSED,
        "refused: every step of `pulumi up` reaches taosAdapter there while the pods keep the old port",
    ),
    Effect("storageClass", Kind.REFUSED, "refused: the data would have to move to new volumes of the other class"),
    Effect(
        "storageSize",
        Kind.VOLUME_EXPANSION,
        "volume expansion, no restart: every PVC expanded in place, then the StatefulSet object recreated with "
        "orphan deletion; refused when the StorageClass cannot expand, and a smaller size always",
    ),
    Effect(
        "logStorageSize",
        Kind.VOLUME_EXPANSION,
        "volume expansion, as `storageSize`; adding or removing the log volume (`''` <-> a size) is refused",
    ),
    Effect("cpuRequest", Kind.ROLLING_RESTART, _ROLL),
    Effect("memoryRequest", Kind.ROLLING_RESTART, _ROLL),
    Effect("cpuLimit", Kind.ROLLING_RESTART, _ROLL),
    Effect("memoryLimit", Kind.ROLLING_RESTART, _ROLL),
    Effect(
        "taosSettings",
        Kind.ROLLING_RESTART,
        f"{_ROLL}; a key every dnode must share is refused (`TAOS_TIMEZONE`, `TAOS_LOCALE`, `TAOS_CHARSET`, "
        "`TAOS_TTL_CHANGE_ON_WRITE`, `TAOS_ENABLE_WHITE_LIST`, `TAOS_STATUS_INTERVAL`, `TAOS_MONITOR`, "
        "`TAOS_MONITOR_INTERVAL`, `TAOS_SLOW_LOG_*`)",
    ),
    Effect(
        "podManagementPolicy",
        Kind.RECREATE,
        "in place, no restart: the StatefulSet object recreated with orphan deletion (an immutable field)",
    ),
    Effect(
        "antiAffinity",
        Kind.ROLLING_RESTART,
        f"{_ROLL} (each pod rescheduled under the new rule; one that cannot be scheduled stops the roll)",
    ),
    Effect("zoneSpread", Kind.ROLLING_RESTART, f"{_ROLL} (as antiAffinity)"),
    Effect("podDisruptionBudget", Kind.NONE, "in place: the PodDisruptionBudget is created or deleted"),
    Effect("terminationGracePeriodSeconds", Kind.ROLLING_RESTART, _ROLL),
    Effect("labels", Kind.ROLLING_RESTART, f"{_ROLL} (the pod template carries them)"),
    Effect("annotations", Kind.ROLLING_RESTART, f"{_ROLL} (the pod template carries them)"),
    Effect("clusterDomain", Kind.REFUSED, _FQDN),
    Effect("kubeContext", Kind.NONE, "no change to the cluster: which kubeconfig context `pulumi up` reaches it with"),
    Effect("adminUrl", Kind.NONE, f"{_PROGRAM} (where it sends SQL)"),
    Effect("forceDropOffline", Kind.NONE, f"{_PROGRAM} (the next scale-in)"),
    Effect("allowFewerThanThreeDnodes", Kind.NONE, f"{_PROGRAM} (what it accepts)"),
    Effect("allowFullRestart", Kind.NONE, f"{_PROGRAM} (what an image change may do)"),
    Effect("drainTimeoutSeconds", Kind.NONE, f"{_PROGRAM} (its deadlines)"),
    Effect("stallTimeoutSeconds", Kind.NONE, f"{_PROGRAM} (its deadlines)"),
    Effect("readyTimeoutSeconds", Kind.NONE, f"{_PROGRAM} (its deadlines)"),
    Effect("vnodeCopyMBps", Kind.NONE, f"{_PROGRAM} (the next scale-in's plan)"),
    Effect("deleteDataOnDestroy", Kind.NONE, f"{_PROGRAM} (what a destroy keeps)"),
    Effect("verify", Kind.NONE, "in place: `true` runs the checks (a test database), `false` drops it"),
    Effect("verifyTables", Kind.NONE, "in place: the checks run again"),
    Effect("verifyRows", Kind.NONE, "in place: the checks run again"),
    Effect("verifyReplica", Kind.NONE, "in place: the checks run again"),
    Effect("rootPassword", Kind.NONE, "in place: TDengine's root password is changed, no restart (see Root password)"),
    Effect("kubeconfig", Kind.NONE, "no change to the cluster: the kubeconfig `pulumi up` reaches it with"),
)
"""Every setting, in the order the configuration table lists them."""

SHOWN = {
    Kind.NONE: "in place",
    Kind.SCALE: "scale",
    Kind.ROLLING_RESTART: "rolling restart",
    Kind.VOLUME_EXPANSION: "volume expansion",
    Kind.RECREATE: "in place",
    Kind.REFUSED: "refused",
}


def markdown_table() -> str:
    lines = ["| setting | kind | what changing it on a live cluster does |", "|---|---|---|"]
    lines += [f"| `{e.key}` | {SHOWN[e.kind]} | {e.what} |" for e in EFFECTS]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
