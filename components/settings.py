"""A stack setting, and everything the program knows of it, declared once: where `ClusterArgs` declares its field
(`args.py`, with `declare`). Its key, schema type, default, description, the check of its value and what
changing it does to a live cluster; `Pulumi.yaml`'s schema, the README's configuration table, docs/changes.md,
the providers' inputs contract and the parser are generated from those declarations or checked against them.
Pure.

A check (`setting_rules.py`) gets the key, the value and the other settings (for the rules that involve another
setting, such as `replicas` below 3 needing `allowFewerThanThreeDnodes`) and returns one message per problem,
naming the key, the bad value and what is allowed. Secret values are never echoed.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from components.setting_rules import Check, Values, no_check

QUANTITY_KEYS = frozenset({"storageSize", "logStorageSize", "cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit"})
"""Settings that are Kubernetes quantities: a YAML number in a stack file (`cpuRequest: 4`) means its string."""
_METADATA = "setting"


class Kind(StrEnum):
    """What a change does to the running cluster: a setting's live-change class, and a plan's steps."""

    NONE = "no change"
    IN_PLACE = "in place"
    SCALE = "scale"
    ROLLING_RESTART = "rolling restart"
    FULL_RESTART = "full restart"
    VOLUME_EXPANSION = "volume expansion"
    RECREATE = "StatefulSet recreated"
    REFUSED = "refused"


@dataclass(frozen=True)
class Change:
    """What changing a setting alone does to a live cluster: its kind (the test classifies a sample change of it
    and compares) and the sentence docs/changes.md shows."""

    kind: Kind
    what: str


@dataclass(frozen=True)
class Setting:
    """One stack config key."""

    key: str
    type: str
    """string | integer | boolean | array (Pulumi.yaml's schema types)."""
    default: Any
    description: str
    change: Change
    check: Check = no_check
    secret: bool = False
    """An optional secret: not in Pulumi.yaml's schema (a schema key without a default is mandatory)."""
    field: str = ""
    """The `ClusterArgs` field that declares it."""

    def problems(self, values: Values) -> list[str]:
        return self.check(self.key, getattr(values, self.field), values)

    def parse(self, raw: Any) -> Any:
        """A value from stack config (a string) or a mapping (YAML types), as the field's type."""
        return _PARSERS[self.type](raw, self)


def declare(
    key: str, default: Any, description: str, change: Change, check: Check = no_check, *, secret: bool = False
) -> Any:
    """The `ClusterArgs` field of the setting `key`: the dataclass field with its default (an array's is an empty
    mapping), the setting in its metadata (`settings_of` reads it back)."""
    setting = Setting(key, _schema_type(default), default, description, change, check, secret)
    metadata = {_METADATA: setting}
    if isinstance(default, list):
        return dataclasses.field(default_factory=dict, metadata=metadata)
    return dataclasses.field(default=default, repr=not secret, metadata=metadata)


def settings_of(cls: type) -> tuple[Setting, ...]:
    """The settings a dataclass declares with `declare`, in declaration order, each with its field name."""
    return tuple(
        dataclasses.replace(f.metadata[_METADATA], field=f.name)
        for f in dataclasses.fields(cls)
        if _METADATA in f.metadata
    )


def _schema_type(default: Any) -> str:
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, list):
        return "array"
    return "string"  # a string, or None: an optional secret string


def unknown_key_problem(key: str, known: Iterable[str]) -> str:
    """The problem with a config key this program does not read (most often a typo, which would otherwise be
    ignored and leave its setting at the default): the closest known key, and the fix."""
    known = list(known)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or difflib.get_close_matches(
        key.lower(), [k.lower() for k in known], n=1, cutoff=0.6
    )
    if close:
        closest = next(k for k in known if k.lower() == close[0].lower())
        return f"{key}: unknown setting; did you mean {closest}? Fix: `pulumi config rm {key}`, then set {closest}"
    return (
        f"{key}: unknown setting (the settings are Pulumi.yaml's config, plus the secrets rootPassword and "
        f"kubeconfig). Fix: `pulumi config rm {key}`"
    )


# -- parsing: stack config strings, or YAML values -----------------------------------------------------------------
def _shown(setting: Setting, raw: Any) -> str:
    return "<secret>" if setting.secret else repr(raw)


def _parse_int(raw: Any, setting: Setting) -> int:
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not an integer")
    try:
        return int(raw) if not isinstance(raw, str) else int(raw.strip())
    except (TypeError, ValueError) as err:
        raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not an integer") from err


def _parse_bool(raw: Any, setting: Setting) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not a boolean (true or false)")


def _parse_str(raw: Any, setting: Setting) -> str:
    if setting.key in QUANTITY_KEYS and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return str(int(raw)) if float(raw).is_integer() else str(raw)
    if not isinstance(raw, str):
        raise ValueError(f"{setting.key}: {_shown(setting, raw)} is not a string")
    return raw


def _parse_pairs(raw: Any, setting: Setting) -> dict[str, str]:
    """`["K=v", ...]` (schema form), a JSON string of it, or a mapping."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError as err:
            raise ValueError(f"{setting.key}: {raw!r} is not a list of key=value strings") from err
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    if not isinstance(raw, list):
        raise ValueError(f"{setting.key}: {raw!r} is not a list of key=value strings")
    out: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"{setting.key}: entry {item!r} is not of the form key=value")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


_PARSERS: dict[str, Callable[[Any, Setting], Any]] = {
    "integer": _parse_int,
    "boolean": _parse_bool,
    "string": _parse_str,
    "array": _parse_pairs,
}
