"""The differential test's own checks, in the fast tier (the test itself needs the real build: tests/real/,
`--real`): its comparison fails on a difference that `known.py` does not list, and its statement sequence still
runs from start to end on the simulator, so a change to the simulator cannot leave it broken until the next
`--real` run."""

from __future__ import annotations

from pathlib import Path

from tests.real.compare import Known, differences, observe, unknown, unused
from tests.real.known import KNOWN
from tests.real.sequence import SEQUENCE, Q, Run
from tests.real.targets import SimTarget

DNODES = [["id", "INT", 4], ["endpoint", "VARCHAR", 134], ["status", "VARCHAR", 10]]


def _answer(code: int = 0, rows: list[list[object]] | None = None, desc: str = "") -> dict[str, object]:
    body: dict[str, object] = {"code": code, "desc": desc} if code else {"code": 0, "column_meta": DNODES}
    if not code:
        body["data"] = rows or []
    return {"http": 200, "body": body}


def test_a_difference_not_listed_fails_and_a_listed_one_passes() -> None:
    sim = [observe("show dnodes", [_answer(rows=[[1, "tdengine-0:6030", "ready"]])], {"tdengine-0:6030": "ep0"})]
    real = [observe("show dnodes", [_answer(rows=[[1, "localhost:6030", "offline"]])], {"localhost:6030": "ep0"})]
    diffs = differences(sim, real, [])
    assert [(d.field, d.sim, d.real) for d in diffs] == [("values:status", ["'ready'"], ["'offline'"])]
    assert unknown(diffs) == diffs  # ids and endpoints mapped, only the status differs
    listed = Known(r"^show dnodes$", r"^values:status$", "why")
    assert unknown(differences(sim, real, [listed])) == []
    other = Known(r"^show mnodes$", r".", "why")
    assert len(unknown(differences(sim, real, [other]))) == 1
    assert unused([listed, other], differences(sim, real, [listed, other])) == [other]


def test_codes_descs_and_columns_are_compared() -> None:
    sim = [observe("drop dnode 2", [_answer(979, desc="Conflict transaction not completed")], {})]
    real = [observe("drop dnode 2", [_answer(1345, desc="Vnode is offline")], {})]
    assert {d.field for d in differences(sim, real, [])} == {"code", "desc"}
    narrow = [observe("show dnodes", [{"http": 200, "body": {"code": 0, "column_meta": DNODES[:2], "data": []}}], {})]
    wide = [observe("show dnodes", [_answer()], {})]
    assert {d.field for d in differences(narrow, wide, [])} == {"columns"}


def test_a_difference_listed_with_its_real_values_accepts_only_those() -> None:
    sim = [observe("drop dnode 2", [_answer(820, desc="Out of dnodes")], {})]
    seen = [observe("drop dnode 2", [_answer(1345, desc="Vnode is offline")], {})]
    other = [observe("drop dnode 2", [_answer(979, desc="Conflict transaction not completed")], {})]
    listed = Known(r"^drop dnode 2$", r"^(code|desc)$", "why", "timing", real=([1345], ["Vnode is offline"]))
    assert unknown(differences(sim, seen, [listed])) == []
    assert {d.field for d in unknown(differences(sim, other, [listed]))} == {"code", "desc"}


def test_the_known_list_says_why_here_and_in_the_docs() -> None:
    assert all(k.why and k.owner in ("simulator", "restart signals", "not modelled", "timing") for k in KNOWN)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text()
    section = docs.split("## The simulator against the real server", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) == len(KNOWN), "docs/testing.md's table of known differences is tests/real/known.py's list"


def test_the_sequence_runs_on_the_simulator() -> None:
    target = SimTarget().start()
    try:
        observations = Run(target).go()
    finally:
        target.close()
    labels = [o.label for o in observations]
    assert len(labels) >= sum(isinstance(s, Q) for s in SEQUENCE)
    by_label = {o.label: o.fields for o in observations}
    assert by_label["create mnode on dnode {id1}  # twice"]["code"] == [928]
    assert by_label["drop dnode {id1}  # offline, holds vnodes"]["code"] == [820]  # 3 dnodes, replica 3
    assert by_label["during redistribute vgroup {vg:r1:0} dnode {id3}: drop dnode {id3}"]["code"] == [1345]
