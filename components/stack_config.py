"""Settings as a stack's config: what `ClusterStack.set_config` writes (path syntax, secrets marked secret)."""

from __future__ import annotations

from pulumi import automation as auto

from components.args import ClusterArgs
from components.settings import SECRET_SETTINGS, SETTINGS


def config_values(args: ClusterArgs) -> dict[str, auto.ConfigValue]:
    """Stack config (path syntax) for every setting that differs from its default; secrets marked secret."""
    values: dict[str, auto.ConfigValue] = {}
    for setting in SETTINGS:
        value = getattr(args, setting.field)
        if setting.type == "array":
            for i, (k, v) in enumerate(dict(value).items()):
                values[f"{setting.key}[{i}]"] = auto.ConfigValue(f"{k}={v}")
        elif value != setting.default:
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            values[setting.key] = auto.ConfigValue(text)
    for setting in SECRET_SETTINGS:
        value = getattr(args, setting.field)
        if value:
            values[setting.key] = auto.ConfigValue(value, secret=True)
    return values
