"""What the differential test compares, per statement, between the simulator and the real server. Pure.

Only what does not vary from run to run is compared (tdengine-admin.md, transcripts/README.md): the HTTP status,
the REST `code` and `desc`, `column_meta` (names, types, lengths), the row count of a settled read, and for the
columns that carry a state (statuses, roles, notes, `restored`, endpoints, database names) the set of values
seen, with the JSON kind of every column's values (a TIMESTAMP sent as a string, a BOOL as true/false). Ids,
timestamps and `timing` are not compared. A statement polled over a window (a restart, a blocking move) is
compared as the union of what the polls saw.

A difference is accepted only if `known.py` lists it, with why; any other fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STATE_COLUMNS = frozenset(
    {
        "status",
        "role",
        "note",
        "restored",
        "stage",
        "oper",
        "killable",
        "endpoint",
        "db_name",
        "name",
        "db",
        "replica",
        "support_vnodes",
        "affected_rows",
        *(f"v{n}_status" for n in range(1, 5)),
    }
)
SLOTS = {f"v{n}_status": "vN_status" for n in range(1, 5)}
"""A vgroup's members' statuses are compared over all four slots: which slot holds the leader is an election's
outcome (and an unused slot is NULL in any of them)."""


@dataclass
class Observation:
    """What one statement (or one statement polled over a window) answered on one target."""

    label: str
    """The step's statement as written in the sequence (placeholders unresolved), prefixed by its window."""
    fields: dict[str, Any] = field(default_factory=dict)


def _kind(v: Any) -> str:
    return "null" if v is None else type(v).__name__


def observe(
    label: str, answers: Iterable[Mapping[str, Any]], endpoints: Mapping[str, str], window: bool = False
) -> Observation:
    """Fold one or more REST answers (`{"http": status, "body": json}`) into the fields compared. `endpoints`
    maps this target's endpoints to neutral names (`ep0`, `ep1`, ...)."""
    obs = Observation(label)
    http: set[int] = set()
    codes: set[int] = set()
    descs: set[str] = set()
    metas: list[list[Any]] = []
    rows: set[int] = set()
    values: dict[str, set[str]] = {}
    kinds: dict[str, set[str]] = {}
    for a in answers:
        body = a["body"]
        http.add(int(a["http"]))
        codes.add(int(body.get("code", -1)))
        if body.get("code", 0) != 0:
            descs.add(str(body.get("desc")))
            continue
        meta = body.get("column_meta") or []
        if meta not in metas:
            metas.append(meta)
        data = body.get("data") or []
        rows.add(len(data))
        names = [c[0] for c in meta]
        for row in data:
            for name, v in zip(names, row, strict=False):
                kinds.setdefault(name, set()).add(_kind(v))
                if name in STATE_COLUMNS:
                    shown = endpoints.get(v, v) if isinstance(v, str) else v
                    values.setdefault(SLOTS.get(name, name), set()).add(repr(shown))
    obs.fields["http"] = sorted(http)
    obs.fields["code"] = sorted(codes)
    if descs:
        obs.fields["desc"] = sorted(descs)
    if metas:
        obs.fields["columns"] = metas if window else metas[0]
    if rows and not window:
        obs.fields["rows"] = sorted(rows)
    for name in sorted(values):
        obs.fields[f"values:{name}"] = sorted(values[name])
    for name in sorted(kinds):
        obs.fields[f"kinds:{name}"] = sorted(kinds[name])
    return obs


@dataclass(frozen=True)
class Known:
    """A difference accepted, and why: `label` and `field` are regular expressions (`re.search`)."""

    label: str
    field: str
    why: str
    owner: str = "simulator"
    """Who is to close it: "simulator" (fix it there), "restart signals" (the restart work in progress),
    "not modelled" (out of the simulator's scope, on purpose)."""
    real: tuple[Any, ...] = ()
    """When set, only these values of the real server's are accepted: an answer the real server gives only some of
    the time is listed as itself, not as any answer in that field."""

    def matches(self, label: str, name: str, real: Any = None) -> bool:
        if self.real and real not in self.real:
            return False
        return re.search(self.label, label) is not None and re.search(self.field, name) is not None


@dataclass(frozen=True)
class Difference:
    label: str
    field: str
    sim: Any
    real: Any
    known: Known | None

    def line(self) -> str:
        tag = f"known ({self.known.owner})" if self.known else "NEW"
        return f"[{tag}] {self.label} | {self.field}: simulator {self.sim!r}, real {self.real!r}"


def differences(sim: list[Observation], real: list[Observation], known: Iterable[Known]) -> list[Difference]:
    """Field by field, observation by observation (both ran the same sequence, so the lists align)."""
    known = list(known)
    if [o.label for o in sim] != [o.label for o in real]:
        raise AssertionError(
            f"the two runs did not send the same sequence: {[o.label for o in sim]} != {[o.label for o in real]}"
        )
    out = []
    for s, r in zip(sim, real, strict=True):
        for name in sorted(set(s.fields) | set(r.fields)):
            sv, rv = s.fields.get(name), r.fields.get(name)
            if sv != rv:
                hit = next((k for k in known if k.matches(s.label, name, rv)), None)
                out.append(Difference(s.label, name, sv, rv, hit))
    return out


def unknown(diffs: Iterable[Difference]) -> list[Difference]:
    return [d for d in diffs if d.known is None]


def unused(known: Iterable[Known], diffs: Iterable[Difference]) -> list[Known]:
    """Known entries no difference matched this run: fixed meanwhile, or a timing the run did not hit."""
    hit = {id(d.known) for d in diffs if d.known is not None}
    return [k for k in known if id(k) not in hit]
