"""What a change of settings does to a running cluster, decided from the old and new `ClusterShape` alone. Pure.

`classify(old, new)` is what `pulumi preview` shows (the `plan` input of ClusterChange, set by its `check`) and
what `check` refuses (a `CheckFailure` per refused setting, with why and the way to do it). No network I/O: it
sees only the two shapes, so what it cannot know offline (whether a StorageClass can expand) is judged from what
the last `up` recorded, and again live before anything changes.

    change                                   | kind
    -----------------------------------------|-----------------------------------------------------------------
    namespace, clusterName, serviceName,     | refused: every dnode's endpoint (FQDN:port) would change, and
      clusterDomain, serverPort              |   TDengine keeps dnodes by endpoint (a different cluster)
    restPort                                 | refused: every step reaches taosAdapter there while old pods still
                                             |   listen on the old port
    storageClass, a volume added or removed  | refused: the data would have to move to new volumes
    storageSize/logStorageSize smaller       | refused: Kubernetes cannot shrink a volume
    storageSize/logStorageSize larger        | volume expansion: each PVC in place, the StatefulSet object
                                             |   recreated with orphan deletion (no restart)
    podManagementPolicy                      | the StatefulSet object recreated with orphan deletion (no restart)
    createNamespace true -> false            | refused while deleteDataOnDestroy was true (the namespace, and
                                             |   every PVC in it, would be deleted); else in place (kept)
    taosSettings key every dnode must share  | refused: the first restarted dnode would be refused ('... not match')
    timezone to another UTC offset           | refused (same reason: 'timezone not match'); same offset all year: a
                                             |   rolling restart
    image                                    | TDengine's version rules (versions.py): a rolling restart, or refused
                                             |   (a full restart with allowFullRestart)
    anything else in the pod template        | a rolling restart of every pod, one at a time
    replicas                                 | scale-out / scale-in (the membership resources)
    any other setting                        | in place: no pod restarts
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from components.args import SETTINGS
from components.rollout import versions
from components.rollout.shape import CLUSTER_WIDE, ClusterShape, quantity_bytes
from components.settings import Kind


@dataclass(frozen=True)
class Refusal:
    key: str
    """The stack setting to change back."""
    reason: str
    fix: str

    def text(self) -> str:
        return f"{self.reason}. Fix: {self.fix}"


@dataclass(frozen=True)
class Plan:
    """What one `up` will do to the cluster's pods and volumes."""

    kinds: tuple[Kind, ...] = ()
    parts: tuple[str, ...] = ()
    """One sentence per kind, in the order they happen."""
    refusals: tuple[Refusal, ...] = ()
    expand: tuple[tuple[str, str, str], ...] = ()
    """(volume, old size, new size) of each volume to expand."""

    @property
    def recreates(self) -> bool:
        """The StatefulSet object is recreated (orphan deletion) before the StatefulSet step."""
        return Kind.VOLUME_EXPANSION in self.kinds or Kind.RECREATE in self.kinds

    def summary(self) -> str:
        if self.refusals:
            return "refused: " + "; ".join(f"{r.key}: {r.text()}" for r in self.refusals)
        return "; then ".join(self.parts) if self.parts else Kind.NONE.value


@dataclass
class _Builder:
    kinds: list[Kind] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    expand: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, kind: Kind, text: str) -> None:
        self.kinds.append(kind)
        self.parts.append(text)

    def refuse(self, key: str, reason: str, fix: str) -> None:
        self.refusals.append(Refusal(key, reason, fix))

    def recreates_with_scale(self, old: ClusterShape, new: ClusterShape) -> bool:
        return old.replicas != new.replicas and any(k in (Kind.VOLUME_EXPANSION, Kind.RECREATE) for k in self.kinds)

    def plan(self) -> Plan:
        kinds = [Kind.REFUSED] if self.refusals else self.kinds
        return Plan(tuple(kinds), tuple(self.parts), tuple(self.refusals), tuple(self.expand))


_IDENTITY = (
    ("namespace", "namespace", "namespace"),
    ("statefulset", "clusterName", "clusterName"),
    ("service", "serviceName", "serviceName"),
    ("cluster_domain", "clusterDomain", "clusterDomain"),
    ("server_port", "serverPort", "serverPort"),
)


def classify(old: ClusterShape, new: ClusterShape) -> Plan:
    """The plan for changing a running cluster from `old` to `new` (the previous `up`'s shape)."""
    b = _Builder()
    for attr, key, shown in _IDENTITY:
        before, after = getattr(old, attr), getattr(new, attr)
        if before != after:
            b.refuse(
                key,
                f"{shown} {before!r} -> {after!r} changes every dnode's endpoint (<pod>.<serviceName>.<namespace>.svc."
                "<clusterDomain>:<serverPort>), and TDengine keeps its dnodes, mnodes and vgroups by endpoint: the "
                "new pods would be a different, empty cluster and the old one would be deleted with its pods",
                f"set {shown} back to {before!r}; to move the data, deploy a second stack with the new {shown} and "
                "copy the databases to it (taosdump or taosX)",
            )
    if old.rest_port != new.rest_port:
        b.refuse(
            "restPort",
            f"restPort {old.rest_port} -> {new.rest_port}: every step of `pulumi up` reaches taosAdapter on restPort, "
            "while the pods keep the old port until each restarts",
            f"set restPort back to {old.rest_port}; clients reach another port through a Service of their own",
        )
    if old.create_namespace and not new.create_namespace and old.delete_data_on_destroy:
        b.refuse(
            "createNamespace",
            "createNamespace true -> false removes the Namespace from the stack, and with deleteDataOnDestroy true "
            "Pulumi deletes it, and the namespace controller every pod and PVC in it",
            "set deleteDataOnDestroy false and run `pulumi up` first (the namespace is then kept when released), "
            "then set createNamespace false",
        )
    _volumes(old, new, b)
    if old.pod_management_policy != new.pod_management_policy:
        b.add(
            Kind.RECREATE,
            f"StatefulSet object recreated, no restart (podManagementPolicy {old.pod_management_policy} -> "
            f"{new.pod_management_policy} is immutable): deleted with orphan deletion, which keeps its pods and PVCs "
            "for the new one to adopt",
        )
    _cluster_settings(old, new, b)
    restart = _restart(old, new, b)
    if b.recreates_with_scale(old, new):
        b.refuse(
            "replicas",
            f"replicas {old.replicas} -> {new.replicas} in the same `up` as a recreation of the StatefulSet object",
            "change replicas in an `up` of its own, before or after",
        )
    if old.replicas != new.replicas:
        _scale(old, new, b)
    if restart:
        b.kinds.append(restart[0])
        b.parts.append(restart[1])
    return b.plan()


def _volumes(old: ClusterShape, new: ClusterShape, b: _Builder) -> None:
    before = {v.name: v for v in old.volumes}
    after = {v.name: v for v in new.volumes}
    if set(before) != set(after):
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        what = ", ".join([f"{n} added" for n in added] + [f"{n} removed" for n in removed])
        b.refuse(
            "logStorageSize",
            f"the pods' volumes change ({what}): every pod would need a new volume, or lose one, which a "
            "StatefulSet cannot give its existing pods",
            "keep logStorageSize as it was ('' keeps the logs in the pod); choose it when the cluster is created",
        )
        return
    grown = []
    for name, v in sorted(before.items()):
        w = after[name]
        key = "storageSize" if name == "taosdata" else "logStorageSize"
        if v.storage_class != w.storage_class:
            b.refuse(
                "storageClass",
                f"storageClass {v.storage_class or '(default)'!r} -> {w.storage_class or '(default)'!r}: the data is "
                "on volumes of the old class; another class means new volumes, and moving every dnode's data",
                f"set storageClass back to {v.storage_class!r}; to move to another class, deploy a second stack on it "
                "and copy the databases (taosdump or taosX): one StatefulSet has one class",
            )
            continue
        old_bytes, new_bytes = quantity_bytes(v.size), quantity_bytes(w.size)
        if new_bytes < old_bytes:
            b.refuse(
                key, f"{key} {v.size} -> {w.size}: Kubernetes cannot shrink a volume", f"set {key} back to {v.size}"
            )
        elif new_bytes > old_bytes:
            grown.append((name, v.size, w.size))
    if grown:
        b.expand.extend(grown)
        sizes = ", ".join(f"{n} {a} -> {z}" for n, a, z in grown)
        b.add(
            Kind.VOLUME_EXPANSION,
            f"volume expansion, no restart ({sizes}): each PVC expanded in place (its StorageClass must allow it), "
            "then the StatefulSet object recreated with orphan deletion, which keeps and adopts its pods and PVCs",
        )


def _cluster_settings(old: ClusterShape, new: ClusterShape, b: _Builder) -> None:
    for key in sorted(set(old.cluster_settings) | set(new.cluster_settings)):
        before, after = old.cluster_settings.get(key), new.cluster_settings.get(key)
        if before == after:
            continue
        b.refuse(
            "taosSettings",
            f"{key} {before or '(unset)'} -> {after or '(unset)'}: every dnode must have the same {CLUSTER_WIDE[key]}; "
            f"TDengine's mnode refuses a dnode whose value differs from its own ('{CLUSTER_WIDE[key]} not match', "
            "mndCheckClusterCfgPara in mndDnode.c), so the first restarted dnode would stay offline",
            f"keep {key}={before or '(unset)'}; a change of it needs every dnode restarted together, which this "
            "program does not do",
        )


def _restart(old: ClusterShape, new: ClusterShape, b: _Builder) -> tuple[Kind, str] | None:
    reasons = []
    full = False
    if old.image != new.image:
        verdict = versions.judge(old.image, new.image)
        if not verdict.rolls and not (new.allow_full_restart and verdict.full_restart):
            b.refuse("image", f"image {old.image} -> {new.image}: {verdict.rule}", verdict.fix)
            return None
        full = not verdict.rolls
        reasons.append(f"image {image_change(old.image, new.image)}, {verdict.jump}")
    if old.timezone != new.timezone:
        if not same_offset(old.timezone, new.timezone):
            b.refuse(
                "timezone",
                f"timezone {old.timezone} -> {new.timezone} changes the UTC offset: TDengine's mnode refuses a dnode "
                "whose time zone differs from its own ('timezone not match', mndCheckClusterCfgPara), so the first "
                "restarted dnode would stay offline",
                f"keep timezone {old.timezone}; clients choose their own with the REST `tz` parameter or their "
                "connector's time zone option",
            )
            return None
        reasons.append(f"timezone {old.timezone} -> {new.timezone}, the same UTC offset all year")
    if old.template_hash == new.template_hash and not reasons:
        return None
    if not reasons:
        reasons.append(why_the_template_changed(old.template_settings, new.template_settings))
    n = new.replicas
    why = "; ".join(reasons)
    if full:
        return Kind.FULL_RESTART, (
            f"full restart of {n} pods at once ({why}; allowFullRestart): TDengine cannot roll this version change, "
            "so the cluster is unavailable until every dnode is back"
        )
    return Kind.ROLLING_RESTART, (
        f"rolling restart of {n} pods, one at a time ({why}): highest ordinal first, the mnode leader's pod last, "
        "each only while the cluster is healthy and waited for until it has caught up"
    )


def template_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The settings whose change rolls the pods, from `shape.template_settings` before and after:
    `cpuRequest 500m -> 600m`, a map's entry by name only (`taosSettings TAOS_NUM_OF_RPC_THREADS`)."""
    names = []
    for key in sorted(set(old) | set(new), key=_setting_order):
        if old.get(key) == new.get(key):
            continue
        if " " in key:  # a map's entry: its value may be anything, never shown
            names.append(key)
        else:
            names.append(f"{key} {_shown(old.get(key))} -> {_shown(new.get(key))}")
    return names


def why_the_template_changed(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """What made the pod template change, for the plan and the roll's progress lines."""
    if not old:
        return "the pod template changed; which setting, the last `up` did not record"
    return ", ".join(template_changes(old, new)) or "the pod template changed, no setting: this program's template"


def _setting_order(key: str) -> tuple[int, str]:
    name = key.split(" ", 1)[0]
    keys = [s.key for s in SETTINGS]
    return (keys.index(name) if name in keys else len(keys), key)


def _shown(value: str | None) -> str:
    return "(unset)" if value is None else (value or "''")


def image_change(old: str, new: str) -> str:
    """`3.3.6.13 -> 3.3.6.14` when only the tag changes, else both images in full."""
    old_repo, new_repo = old.split("@", 1)[0].rsplit(":", 1)[0], new.split("@", 1)[0].rsplit(":", 1)[0]
    if old_repo == new_repo and "@" not in old + new:
        return f"{versions.tag_of(old)} -> {versions.tag_of(new)}"
    return f"{old} -> {new}"


def _scale(old: ClusterShape, new: ClusterShape, b: _Builder) -> None:
    if new.replicas > old.replicas:
        b.add(Kind.SCALE, f"scale-out {old.replicas} -> {new.replicas} dnodes")
    else:
        b.add(
            Kind.SCALE,
            f"scale-in {old.replicas} -> {new.replicas} dnodes (each departing dnode drained first, highest ordinal "
            "first)",
        )


def same_offset(a: str, b: str) -> bool:
    """Whether two IANA zones have the same UTC offset on the 1st of every month of this year and the next."""
    try:
        za, zb = ZoneInfo(a), ZoneInfo(b)
    except (KeyError, ValueError):
        return False
    year = datetime.now(UTC).year
    for y in (year, year + 1):
        for month in range(1, 13):
            t = datetime(y, month, 1, 12, tzinfo=UTC)
            if t.astimezone(za).utcoffset() != t.astimezone(zb).utcoffset():
                return False
    return True
