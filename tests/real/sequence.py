"""The statement sequences the differential test sends, and the runner that sends them to one target.

The same sequence runs against the simulator and against the real cluster: the membership runbook (dnodes joined
with `create dnode`, mnodes, replica-3 and replica-1 databases, a vnode moved by `redistribute vgroup`, a
non-empty and an empty dnode dropped), the reads of the scale-in plan and of a restart's health gates (a taosd
stopped gracefully and started again), and the error cases. Placeholders are resolved per target: `{epN}` the
endpoint of ordinal N, `{idN}` its dnode id, `{vg:DB:K}` the K-th vgroup of DB, `{m:DB:K}` that vgroup's first
member. Resolving them costs reads that are not compared.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tests.real.compare import Observation, observe

Body = dict[str, Any]
Reply = dict[str, Any]  # {"http": int, "body": Body}


class Target(Protocol):
    """One cluster the sequence runs on: the simulator or the real server."""

    name: str
    poll: float
    """Seconds between two polls of a window."""
    timeout: float
    """How long a window may take before the run fails."""

    def endpoint(self, ordinal: int) -> str: ...

    def start_dnode(self, ordinal: int) -> None: ...

    def stop_dnode(self, ordinal: int) -> None: ...

    def submit(self, sql: str, password: str | None) -> Callable[[], Reply]: ...


@dataclass(frozen=True)
class Q:
    """One statement, compared."""

    sql: str
    password: str | None = "taosdata"
    why: str = ""

    @property
    def label(self) -> str:
        who = "" if self.password == "taosdata" else f" [as {self.password or 'no credentials'}]"
        return self.sql + who + (f"  # {self.why}" if self.why else "")


@dataclass(frozen=True)
class Start:
    ordinal: int


@dataclass(frozen=True)
class Stop:
    ordinal: int


Cond = Callable[[Mapping[str, Body], "Run"], bool]


@dataclass(frozen=True)
class Until:
    """Poll `reads` until `cond` holds on the latest answers; each read is compared over the whole window."""

    name: str
    reads: tuple[str, ...]
    cond: Cond


@dataclass(frozen=True)
class During:
    """A statement that blocks (a vnode move): `reads` are polled until it answers, and `once` are sent one time
    while it runs (after a poll has seen its transaction)."""

    sql: str
    reads: tuple[str, ...]
    once: tuple[str, ...] = ()


Step = Q | Start | Stop | Until | During


# -- conditions ------------------------------------------------------------------------------------------------
def _rows(body: Body) -> list[dict[str, Any]]:
    names = [c[0] for c in body.get("column_meta") or []]
    return [dict(zip(names, r, strict=False)) for r in body.get("data") or []] if body.get("code") == 0 else []


def dnodes_ready(n: int) -> Cond:
    def cond(a: Mapping[str, Body], run: Run) -> bool:
        rows = _rows(a["show dnodes"])
        return len(rows) == n and all(r["status"] == "ready" for r in rows)

    return cond


def dnode_status(ordinal: int, status: str) -> Cond:
    def cond(a: Mapping[str, Body], run: Run) -> bool:
        ep = run.target.endpoint(ordinal)
        return any(r["endpoint"] == ep and r["status"] == status for r in _rows(a["show dnodes"]))

    return cond


def mnodes_settled(a: Mapping[str, Body], run: Run) -> bool:
    roles = [r["role"] for r in _rows(a["show mnodes"])]
    return len(roles) == 3 and sorted(roles) == ["follower", "follower", "leader"]


def healthy(a: Mapping[str, Body], run: Run) -> bool:
    """What the restart gates call healthy: dnodes ready, mnodes settled, no transaction, every vgroup led with
    every member leader or follower, every vnode restored."""
    if not (dnodes_ready(3)(a, run) and mnodes_settled(a, run)) or _rows(a["show transactions"]):
        return False
    for vg in _rows(a[VGROUPS]):
        roles = [vg[f"v{n}_status"] for n in range(1, 5) if vg[f"v{n}_dnode"] is not None]
        if roles.count("leader") != 1 or any(r not in ("leader", "follower") for r in roles):
            return False
    vnodes = _rows(a[VNODES])
    return bool(vnodes) and all(v["restored"] is True for v in vnodes)


# -- the sequence ----------------------------------------------------------------------------------------------
VGROUPS = "select * from information_schema.ins_vgroups"
VNODES = "select * from information_schema.ins_vnodes"
STATE = (
    "show dnodes",
    "show mnodes",
    "select name, `replica` from information_schema.ins_databases",
    "show transactions",
)
"""`session.read_state`: what every provider reads first (the scale-in plan, the runbook, the restart gates)."""
HEALTH = (*STATE, VGROUPS, VNODES)
"""`rollout.roll`'s reading of the health gates."""
NEW_PASSWORD = "Tdengine-2025!"

SEQUENCE: tuple[Step, ...] = (
    # one dnode (firstEp), the other taosd running but not created yet
    Q("show dnodes"),
    Q("show mnodes"),
    Q("drop mnode on dnode {id0}", why="the only mnode, the leader's"),
    Q("drop dnode {id0}", why="the only dnode, the only mnode"),
    Q("drop mnode on dnode 99"),
    Q("create dnode '{ep1}'"),
    Q("create dnode '{ep2}'"),
    Q("create dnode '{ep1}'", why="twice"),
    Q("create dnode 'nohost'", why="no port: the default one"),
    Q("create dnode 'nohost:99999'"),
    Q("drop dnode 4", why="'nohost', offline and empty"),
    Until("joined", ("show dnodes",), dnodes_ready(3)),
    Q("show dnodes"),
    Q("select * from information_schema.ins_dnodes"),
    Q("drop mnode on dnode {id1}", why="no mnode there"),
    Q("create mnode on dnode {id1}"),
    Q("create mnode on dnode {id2}"),
    Until("mnodes", ("show mnodes",), mnodes_settled),
    Q("show mnodes"),
    Q("select * from information_schema.ins_mnodes"),
    Q("create mnode on dnode {id1}", why="twice"),
    Q("create mnode on dnode 99"),
    Q("drop dnode 99"),
    Q("create database r3 replica 3 vgroups 2"),
    Q("create database r1 replica 1 vgroups 3"),
    Q("create database r3 replica 3 vgroups 2", why="twice"),
    Q("create database r2 replica 2"),
    Until("databases", HEALTH, healthy),
    # the reads of the scale-in plan (`read_state`, `read_layout`) and of `verify`
    *(Q(s) for s in STATE),
    Q(VGROUPS),
    Q("show r3.vgroups"),
    Q("show r1.vgroups"),
    Q(VNODES),
    Q("select * from information_schema.ins_disk_usage where db_name = 'r3'"),
    Q("select * from information_schema.ins_disk_usage where db_name = 'r1'"),
    Q("show databases"),
    # refusals
    Q("drop dnode {id1}", why="3 dnodes, replica 3: no room"),
    Q("drop dnode {id0}", why="the mnode leader's dnode"),
    Q("drop dnode {id2} force", why="online"),
    Q("drop dnode '{ep2}'", why="by endpoint"),
    Q("drop mnode on dnode {id0}", why="the leader"),
    Q("redistribute vgroup 999 dnode {id0}"),
    Q("redistribute vgroup {vg:r3:0} dnode {id0} dnode {id1}"),
    Q("redistribute vgroup {vg:r1:0} dnode 99"),
    Q("redistribute vgroup {vg:r1:0} dnode {id0} dnode {id1} dnode {id2} dnode 99"),
    Q("redistribute vgroups {vg:r1:0} dnode {id0}"),
    Q("redistribute vgroup {vg:r1:2} dnode {m:r1:2}", why="the members it has"),
    Q("show r9.vgroups"),
    Q("select * from information_schema.ins_transactions"),
    Q("select * from"),
    Q("show dnodes; show mnodes"),
    Q("alter dnode {id1} 'supportVnodes' '0'"),
    # authentication and the root password
    Q("show mnodes", password="wrong-password"),
    Q("show mnodes", password=None),
    Q("alter user root pass 'abc'"),
    Q("alter user root pass 'abcdefgh1'"),
    Q(f"alter user root pass '{NEW_PASSWORD}'"),
    Q("show mnodes", why="the old password, at once after the change"),
    Q("alter user root pass 'taosdata'", password=NEW_PASSWORD),
    # scale out to 4, a vnode moved onto the new dnode, that dnode dropped (not empty), a 5th dropped (empty)
    Start(3),
    Q("create dnode '{ep3}'"),
    Until("fourth", ("show dnodes",), dnodes_ready(4)),
    During(
        "redistribute vgroup {vg:r1:0} dnode {id3}",
        ("show transactions", "show dnodes"),
        once=("redistribute vgroup {vg:r1:1} dnode {id3}", "drop dnode {id3}"),
    ),
    Q("show r1.vgroups"),
    During("drop dnode {id3}", ("show dnodes", "show transactions", VGROUPS)),
    Q("show dnodes"),
    Start(4),
    Q("create dnode '{ep4}'"),
    Until("fifth", ("show dnodes",), dnodes_ready(4)),
    Q("drop dnode {id4}", why="empty"),
    Q("show dnodes"),
    # a restart: a follower's taosd stopped gracefully, the health reads until it is offline, then back
    Until("before the restart", HEALTH, healthy),
    Stop(1),
    Until("stopped", HEALTH, dnode_status(1, "offline")),
    Q("drop dnode {id1}", why="offline, holds vnodes"),
    Q("create mnode on dnode {id1}", why="offline, has one"),
    Q("show dnodes"),
    Start(1),
    Until("restarted", HEALTH, healthy),
    *(Q(s) for s in HEALTH),
    Q("drop database if exists r9"),
)


# -- the runner ------------------------------------------------------------------------------------------------
_PLACEHOLDER = re.compile(r"\{(ep|id)(\d+)\}|\{(vg|m):(\w+):(\d+)\}")


class Run:
    """One target through the sequence; `observations` in step order."""

    def __init__(self, target: Target, log: Callable[[str], None] = lambda _: None) -> None:
        self.target = target
        self.log = log
        self.observations: list[Observation] = []
        self.seconds: dict[str, float] = {}

    def go(self, steps: tuple[Step, ...] = SEQUENCE) -> list[Observation]:
        t0 = time.monotonic()
        for step in steps:
            try:
                self._step(step)
            except Exception as e:
                raise RuntimeError(f"{self.target.name}: step {step} failed after {len(self.observations)} "
                                   f"observations: {e}") from e  # fmt: skip
        self.seconds["total"] = time.monotonic() - t0
        return self.observations

    def endpoints(self) -> dict[str, str]:
        return {self.target.endpoint(o): f"ep{o}" for o in range(5)}

    def send(self, sql: str, password: str | None = "taosdata") -> Reply:
        return self.target.submit(self.resolve(sql), password)()

    def resolve(self, sql: str) -> str:
        def sub(m: re.Match[str]) -> str:
            if m.group(1) == "ep":
                return self.target.endpoint(int(m.group(2)))
            if m.group(1) == "id":
                ep = self.target.endpoint(int(m.group(2)))
                rows = _rows(self.target.submit("show dnodes", "taosdata")()["body"])
                return str(next(r["id"] for r in rows if r["endpoint"] == ep))
            rows = sorted(_rows(self.target.submit(f"show {m.group(4)}.vgroups", "taosdata")()["body"]),
                          key=lambda r: r["vgroup_id"])  # fmt: skip
            vg = rows[int(m.group(5))]
            return str(vg["vgroup_id"] if m.group(3) == "vg" else vg["v1_dnode"])

        return _PLACEHOLDER.sub(sub, sql)

    def _record(self, label: str, replies: list[Reply], window: bool = False) -> None:
        self.observations.append(observe(label, replies, self.endpoints(), window))

    def _step(self, step: Step) -> None:
        t0 = time.monotonic()
        if isinstance(step, Q):
            self._record(step.label, [self.send(step.sql, step.password)])
        elif isinstance(step, Start):
            self.target.start_dnode(step.ordinal)
        elif isinstance(step, Stop):
            self.target.stop_dnode(step.ordinal)
        elif isinstance(step, Until):
            self._until(step)
        else:
            self._during(step)
        self.log(f"{self.target.name}: {step} {time.monotonic() - t0:.2f}s")

    def _until(self, step: Until) -> None:
        seen: dict[str, list[Reply]] = {r: [] for r in step.reads}
        deadline = time.monotonic() + self.target.timeout
        while True:
            latest = {r: self.send(r) for r in step.reads}
            for r, reply in latest.items():
                seen[r].append(reply)
            if step.cond({r: reply["body"] for r, reply in latest.items()}, self):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.target.name}: {step.name} not reached; last answers {latest}")
            time.sleep(self.target.poll)
        self.seconds[step.name] = time.monotonic() - deadline + self.target.timeout
        for r in step.reads:
            self._record(f"{step.name}: {r}", seen[r], window=True)

    def _during(self, step: During) -> None:
        t0 = time.monotonic()
        done = self.target.submit(self.resolve(step.sql), "taosdata")
        seen: dict[str, list[Reply]] = {r: [] for r in step.reads}
        once: list[tuple[str, Reply]] = []
        result: list[Reply] = []
        waiter = _Background(done, result)
        deadline = time.monotonic() + self.target.timeout
        while waiter.running():
            for r in step.reads:
                seen[r].append(self.send(r))
            running = seen.get("show transactions", [{}])[-1].get("body", {}).get("rows", 0)
            if running and not once and step.once:
                once = [(s, self.send(s)) for s in step.once]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.target.name}: {step.sql} still running")
            time.sleep(self.target.poll)
        waiter.join()
        self.seconds[step.sql] = time.monotonic() - t0
        self._record(step.sql, result)
        for r in step.reads:
            self._record(f"during {step.sql}: {r}", seen[r], window=True)
        for s in step.once:
            self._record(f"during {step.sql}: {s}", [dict(once).get(s, {"http": 0, "body": {"code": -2}})])


class _Background:
    """Waits for a submitted statement on a thread, so the caller can poll meanwhile."""

    def __init__(self, done: Callable[[], Reply], into: list[Reply]) -> None:
        import threading

        self._thread = threading.Thread(target=lambda: into.append(done()), daemon=True)
        self._thread.start()

    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self) -> None:
        self._thread.join()
