"""The real tier's figures, on demand (never in a test): the real Pulumi CLI, the real control plane and real
TDengine 3.3.7.5 pods on the real node (`tests/e2e/real.py`; build first: scripts/e2e-tools; as root).

    venv/bin/python benchmarks/real.py [--only up,scale-in,roll]

- up: `pulumi up` of a new 3-dnode stack against the time its pods took to become Ready (from the StatefulSet's
  creation to the last pod's Ready condition): what the program adds on top of Kubernetes and TDengine.
- scale-in: 5 -> 3 by `pulumi up` against the same by hand on the same pods, as the seed's runbook does it
  (`drop dnode` highest first, each waited for, then the StatefulSet shrunk and the PVCs deleted): wall time and
  the vnodes that had to leave the departing dnodes (each moved once either way).
- roll: a taosSettings change rolled by `pulumi up` against deleting each pod by hand and waiting until its
  successor is Ready, its dnode ready and every vgroup settled again, pod after pod; a client inserting every
  0.2 s meanwhile, and the longest pause between two acknowledged writes.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.controlplane import is_ready  # noqa: E402
from tests.e2e.harness import NAMESPACE, STATEFULSET  # noqa: E402
from tests.e2e.real import STACK_RESOURCES, RealCluster, SqlError  # noqa: E402

STACK = {"namespace": NAMESPACE, "storageClass": "standard", "replicas": "3", **STACK_RESOURCES}


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def pods_ready_span(c: RealCluster) -> float:
    """From the StatefulSet's creation to the last pod's Ready condition, as the API server recorded them."""
    sts = c.plane.get("statefulset", STATEFULSET, "-n", NAMESPACE)
    created = _ts(sts["metadata"]["creationTimestamp"])
    ready = []
    for pod in c.plane.get("pods", "-n", NAMESPACE)["items"]:
        cond = next(x for x in pod["status"]["conditions"] if x["type"] == "Ready")
        ready.append(_ts(cond["lastTransitionTime"]))
    return max(ready) - created


def settled(c: RealCluster) -> bool:
    for v in c.tdengine.vgroups():
        statuses = [v.get(f"v{i}_status") for i in range(1, 5) if v.get(f"v{i}_dnode")]
        if statuses.count("leader") != 1 or any(s not in ("leader", "follower") for s in statuses):
            return False
    return all(d["status"] == "ready" for d in c.tdengine.dnodes())


def wait(what: str, ok: Any, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ok():
                return
        except (AssertionError, SqlError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.5)


def bench_up(c: RealCluster) -> dict[str, float]:
    c.project.init(STACK)
    t0 = time.monotonic()
    c.project.up().check()
    up = time.monotonic() - t0
    return {"up_s": round(up, 1), "pods_ready_s": round(pods_ready_span(c), 1)}


def leaving_vnodes(c: RealCluster, pods: tuple[str, ...]) -> int:
    return sum(int(d["vnodes"]) for d in c.tdengine.dnodes() if d["endpoint"].split(".", 1)[0] in pods)


def grow_to_five(c: RealCluster) -> None:
    c.project.set("replicas", "5")
    c.project.up().check()
    wait("5 ready dnodes", lambda: len(c.dnode_ids()) == 5 and settled(c))


def bench_scale_in(c: RealCluster) -> dict[str, float]:
    grow_to_five(c)
    c.tdengine.create_database("bench", replica=3, vgroups=6, rows=200)  # created on five: some on the leaving two
    moved_program = leaving_vnodes(c, ("tdengine-3", "tdengine-4"))
    c.project.set("replicas", "3")
    t0 = time.monotonic()
    run = c.project.up().check()
    program = time.monotonic() - t0
    planned = re.search(r"scale-in plan: \d+ vnodes leave [^;]*; (\d+) vnode moves", run.output)

    # The same data again, and nothing else: two such databases (36 vnodes) do not fit 3 dnodes of 2 cores, and TDengine
    # refuses the by-hand drop with 0x03BA "Vnodes exhausted".
    c.tdengine.sql("drop database bench", timeout=120)
    grow_to_five(c)
    c.tdengine.create_database("bench", replica=3, vgroups=6, rows=200)
    moved_hand = leaving_vnodes(c, ("tdengine-3", "tdengine-4"))
    ids = c.dnode_ids()
    t0 = time.monotonic()
    moves_by_hand = 0
    for pod in ("tdengine-4", "tdengine-3"):  # the seed's runbook: reverse pod order, each drop waited for
        moves_by_hand += leaving_vnodes(c, (pod,))  # what this drop moves (tdengine-3's after it received some)
        c.tdengine.sql(f"drop dnode {ids[pod]}", timeout=600)
        wait(f"{pod} dropped", lambda p=pod: p not in c.dnode_ids())
    c.plane.kubectl("scale", "statefulset", STATEFULSET, "-n", NAMESPACE, "--replicas", "3")
    c.plane.kubectl("delete", "pvc", "-n", NAMESPACE, "taosdata-tdengine-3", "taosdata-tdengine-4", timeout=300)
    by_hand = time.monotonic() - t0
    c.project.pulumi("refresh", "--yes", "--skip-preview").check()
    return {
        "program_s": round(program, 1),
        "by_hand_s": round(by_hand, 1),
        "ratio": round(program / by_hand, 2),
        "vnodes_leaving_program": moved_program,
        "vnodes_leaving_by_hand": moved_hand,
        "moves_program_planned": int(planned.group(1)) if planned else -1,
        "moves_by_hand": moves_by_hand,
    }


class Writer:
    """Inserts a row every 0.2 s; the longest gap between two acknowledged inserts is the write pause."""

    def __init__(self, c: RealCluster) -> None:
        self.c, self.stop, self.acks = c, threading.Event(), [time.monotonic()]
        self.c.tdengine.sql("create table if not exists bench.pauses (ts timestamp, v int)")
        self.password = c.tdengine.password

    def __enter__(self) -> Writer:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        n = 0
        while not self.stop.wait(0.2):
            try:
                self.c.tdengine.sql(f"insert into bench.pauses values (now, {n})", timeout=60, password=self.password)
                self.acks.append(time.monotonic())
                n += 1
            except Exception:  # a pod going away: the next try
                continue

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=70)

    @property
    def longest(self) -> float:
        return max((b - a for a, b in zip(self.acks, self.acks[1:], strict=False)), default=0.0)


def ready_again(c: RealCluster, pod: str, uid: str) -> bool:
    """The pod's successor is Ready: what `kubectl wait --for=condition=Ready` shows an operator restarting by hand,
    and what the program waits for too (the Service sends clients only to Ready pods)."""
    p = c.plane.get("pod", pod, "-n", NAMESPACE)
    return p["metadata"]["uid"] != uid and is_ready(p) and "deletionTimestamp" not in p["metadata"]


def bench_roll(c: RealCluster) -> dict[str, float]:
    with Writer(c) as w:
        c.project.pulumi("config", "set", "--path", "taosSettings[0]", "TAOS_NUM_OF_RPC_SESSIONS=30001").check()
        t0 = time.monotonic()
        c.project.up().check()
        program = time.monotonic() - t0
    program_pause = w.longest
    with Writer(c) as w:
        t0 = time.monotonic()
        for pod in ("tdengine-2", "tdengine-1", "tdengine-0"):
            uid = c.plane.get("pod", pod, "-n", NAMESPACE)["metadata"]["uid"]
            c.plane.kubectl("delete", "pod", pod, "-n", NAMESPACE, timeout=400)
            wait(f"{pod} back and Ready", lambda p=pod, u=uid: ready_again(c, p, u))
            wait(f"{pod} settled", lambda: settled(c) and len(c.tdengine.pod_ips()) == 3)
        by_hand = time.monotonic() - t0
    return {
        "program_s": round(program, 1),
        "sum_of_restarts_s": round(by_hand, 1),
        "ratio": round(program / by_hand, 2),
        "longest_write_pause_program_s": round(program_pause, 1),
        "longest_write_pause_by_hand_s": round(w.longest, 1),
    }


def show(name: str, figures: dict[str, float]) -> None:
    print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="up,scale-in,roll")
    ns = parser.parse_args(argv)
    wanted = ns.only.split(",")
    with RealCluster(Path(tempfile.mkdtemp(prefix="bench-real-"))) as c:
        show("up", bench_up(c))
        if "scale-in" in wanted:
            show("scale-in", bench_scale_in(c))
        if "roll" in wanted:
            c.tdengine.create_database("bench", replica=3, vgroups=6, rows=200)
            show("roll", bench_roll(c))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
