"""TDengine's rules for changing the version of a running 3.x cluster, and the verdict for one image change. Pure.

The rules, from TDengine's own "TDengine Versioning Rules" (docs/en/28-releases/01-tdengine.md in
taosdata/TDengine, the same text in docs/zh/28-releases/01-tdengine.md), for a version `A.B.C.D`
(`[Major+].[Major].[Feature].[Maintenance]`):

- `A` (Major+) differs: "cannot be upgraded directly"; contact TDengine support.
- `B` (Major) differs: "does not support rolling upgrades, and rolling back is not possible after the upgrade".
- `C` (Feature) differs: "does not support rolling upgrades, but it is possible to roll back" within the same
  Major release; "the client driver (libtaos.so) must be upgraded in sync with the server".
- only `D` (Maintenance) differs: "supports rolling upgrades. It can be rolled back after the upgrade".
- A rolling upgrade is defined there for "a cluster composed of three or more nodes using triple replication":
  one node stopped, upgraded, restarted, repeated; "for version changes that do not support rolling upgrades,
  the entire cluster must be stopped, all nodes in the cluster must be upgraded, and then the entire cluster
  must be started. During the upgrade, the cluster cannot provide external services."

Not documented, so decided here: a maintenance *downgrade* rolls like the upgrade it undoes (the rule says a
maintenance upgrade "can be rolled back", not how); an image whose tag carries no 4-part version is judged only
when its tag equals the old one (a new digest of the same tag, or another repository: a restart, same version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

RULES_SOURCE = "TDengine Versioning Rules, docs/en/28-releases/01-tdengine.md in taosdata/TDengine"
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:$|[-_.+])")


class Jump(StrEnum):
    SAME = "same version"
    MAINTENANCE = "maintenance release"
    FEATURE = "feature release"
    MAJOR = "major release"
    MAJOR_PLUS = "major+ release"
    UNKNOWN = "unknown version"


@dataclass(frozen=True)
class Verdict:
    """What an image change is, and whether it may roll one dnode at a time."""

    jump: Jump
    rolls: bool
    """True: a rolling restart may carry it out."""
    rule: str
    """The rule that decides it, quoted from TDengine's documentation (or why none applies)."""
    fix: str = ""
    """For a change that may not roll: what to do instead."""
    full_restart: bool = False
    """TDengine's procedure for it is the whole cluster stopped and started on the new version (allowFullRestart)."""


def tag_of(image: str) -> str:
    """The tag of `repo[:tag][@sha256:...]` ('' without one)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""


def version_of(image: str) -> tuple[int, int, int, int] | None:
    """The TDengine version a tag names (`3.3.6.13`, `3.3.6.13-arm64`), or None."""
    m = _VERSION.match(tag_of(image))
    return (int(m[1]), int(m[2]), int(m[3]), int(m[4])) if m else None


def judge(old_image: str, new_image: str) -> Verdict:
    """The verdict on changing a running cluster's image from `old_image` to `new_image`."""
    old, new = version_of(old_image), version_of(new_image)
    if old is None or new is None:
        if tag_of(old_image) == tag_of(new_image) and tag_of(new_image):
            return Verdict(Jump.SAME, True, "the same tag: the same TDengine version, restarted")
        unreadable = old_image if old is None else new_image
        return Verdict(
            Jump.UNKNOWN,
            False,
            f"the TDengine version of {unreadable!r} cannot be read from its tag, so TDengine's upgrade rules "
            f"({RULES_SOURCE}) cannot be applied",
            "use an image whose tag carries the 4-part version (e.g. tdengine/tdengine:3.3.6.14, optionally "
            "with @sha256:<digest>)",
        )
    shown = f"{_dotted(old)} -> {_dotted(new)}"
    if old == new:
        return Verdict(Jump.SAME, True, f"{shown}: the same TDengine version, restarted")
    down = new < old
    if old[0] != new[0]:
        return Verdict(
            Jump.MAJOR_PLUS,
            False,
            f"{shown} changes the Major+ version, which TDengine says 'cannot be upgraded directly' ({RULES_SOURCE})",
            "keep the image; such a move is a migration TDengine's support team plans with you",
        )
    if old[1] != new[1]:
        rule = (
            f"{shown} changes the Major version: TDengine does not support rolling upgrades across it, and an "
            f"upgrade cannot be rolled back ({RULES_SOURCE})"
        )
        if down:
            return Verdict(Jump.MAJOR, False, rule, "keep the image: data upgraded to a Major release cannot go back")
        return Verdict(Jump.MAJOR, False, rule, _FULL_STOP, full_restart=True)
    if old[2] != new[2]:
        rule = (
            f"{shown} changes the Feature version: TDengine does not support rolling "
            f"{'downgrades' if down else 'upgrades'} across it ({RULES_SOURCE}); clients' libtaos must change "
            "with the server"
        )
        return Verdict(Jump.FEATURE, False, rule, _FULL_STOP, full_restart=True)
    verb = "downgrade" if down else "upgrade"
    return Verdict(
        Jump.MAINTENANCE,
        True,
        f"{shown} is a maintenance {verb}: TDengine 'supports rolling upgrades' between maintenance releases "
        f"and they 'can be rolled back' ({RULES_SOURCE})",
    )


_FULL_STOP = (
    "TDengine's procedure is to stop the whole cluster, change every dnode's version, then start it, with the "
    "cluster unavailable meanwhile; to have `pulumi up` do that, set allowFullRestart: true for that `up` (the "
    "health gates still run before and after), then set it back to false"
)


def _dotted(version: tuple[int, int, int, int]) -> str:
    return ".".join(str(n) for n in version)
