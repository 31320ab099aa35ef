"""A project stack file (`Pulumi.<stack>.yaml`) as its user wrote it: comments, order and YAML types kept.

The Pulumi CLI rewrites the whole file whenever it saves it (a stack's creation adds `encryptionsalt`, a
`config set` one key), and its writer (3.274) turns every number and boolean into a string (`replicas: 3`
becomes `"3"`) and drops the comments. So the command line sets `replicas` here itself, puts the file back
after the CLI added only its own top-level keys, and starts a new stack from another's settings without the
other's encryption salt, which its passphrase could not open. Pure text and YAML; no Pulumi.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

PULUMI_KEYS = ("encryptionsalt", "secretsprovider", "encryptedkey")
"""Top-level keys the CLI keeps for one stack's secrets: never copied to another stack."""


def _load(text: str) -> dict[str, Any]:
    doc = yaml.safe_load(text) or {}
    return doc if isinstance(doc, dict) else {}


def _as_cli_writes(value: Any) -> Any:
    """A plain value the way the CLI writes it back (numbers and booleans as strings), to compare by."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_as_cli_writes(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_cli_writes(v) for k, v in value.items()}
    return value


def restore(before: str, after: str) -> str | None:
    """`before` with the top-level keys the CLI added, when its rewrite `after` changed no setting (only their
    types and layout); None when it did change one (keep the CLI's file then)."""
    old, new = _load(before), _load(after)
    if _as_cli_writes(old.get("config") or {}) != _as_cli_writes(new.get("config") or {}):
        return None
    if any(new.get(k) != v for k, v in old.items() if k != "config"):
        return None
    added = {k: v for k, v in new.items() if k not in old}
    if not added:
        return before
    return before.rstrip("\n") + "\n" + yaml.safe_dump(added, default_flow_style=False, sort_keys=False)


def set_value(text: str, project: str, key: str, value: int | str | bool) -> str:
    """The file with `<project>:<key>` set to `value`, as YAML of its own type; every other line unchanged."""
    rendered = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    full = f"{project}:{key}"
    line = re.compile(rf"^(?P<indent>[ \t]+){re.escape(full)}:[^\n]*$", re.MULTILINE)
    if line.search(text):
        return line.sub(lambda m: f"{m['indent']}{full}: {rendered}", text, count=1)
    if re.search(r"^config:[ \t]*$", text, re.MULTILINE):
        return re.sub(r"^config:[ \t]*$", f"config:\n  {full}: {rendered}", text, count=1, flags=re.MULTILINE)
    return text.rstrip("\n") + ("\n" if text.strip() else "") + f"config:\n  {full}: {rendered}\n"


def new_stack(source: str, source_name: str, stack: str) -> tuple[str, list[str]]:
    """A new stack's file from another's: its settings, without the other stack's encryption keys (the new
    stack's passphrase could not open them) and without its encrypted values; returns the text and the keys
    of the encrypted values left out, to set again."""
    doc = _load(source)
    config = doc.get("config") or {}
    secure = sorted(k for k, v in config.items() if isinstance(v, dict) and "secure" in v)
    kept = {k: v for k, v in config.items() if k not in secure}
    header = f"# Stack {stack}: the settings of {source_name}, without its encryption salt and secrets.\n"
    return header + yaml.safe_dump({"config": kept}, default_flow_style=False, sort_keys=False), secure
