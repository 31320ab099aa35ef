"""The settings' tables in the docs, generated from their declarations (`args.py`): the README's configuration
table and docs/changes.md's table of what changing each setting does to a live cluster. Pure. The tests keep each
page's copy equal to these (`tests/program/test_args.py`, `tests/rollout/test_effects.py`); regenerate with
`python -m components.setting_docs config|changes`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from components.args import ALL_SETTINGS
from components.settings import Kind, Setting

SHOWN = {
    Kind.NONE: "in place",
    Kind.SCALE: "scale",
    Kind.ROLLING_RESTART: "rolling restart",
    Kind.VOLUME_EXPANSION: "volume expansion",
    Kind.RECREATE: "in place",
    Kind.REFUSED: "refused",
}
"""A change's kind as the table shows it: a recreated StatefulSet object restarts nothing."""


def config_table() -> str:
    lines = ["| key | type | default | what it sets |", "|---|---|---|---|"]
    lines += [f"| `{s.key}` | {_type(s)} | {_default(s.default)} | {s.description} |" for s in ALL_SETTINGS]
    return "\n".join(lines)


def changes_table() -> str:
    lines = ["| setting | kind | what changing it on a live cluster does |", "|---|---|---|"]
    lines += [f"| `{s.key}` | {SHOWN[s.change.kind]} | {s.change.what} |" for s in ALL_SETTINGS]
    return "\n".join(lines)


def _type(setting: Setting) -> str:
    return f"secret {setting.type}" if setting.secret else setting.type


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if value == "":
        return "`''`"
    return f"`{json.dumps(value) if isinstance(value, bool | list) else value}`"


if __name__ == "__main__":
    print({"config": config_table, "changes": changes_table}[sys.argv[1] if len(sys.argv) > 1 else "config"]())
