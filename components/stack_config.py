"""Settings as a stack's config: what `ClusterStack.set_config` writes (path syntax, secrets marked secret) and
removes. Pure but for the Automation API's value type."""

from __future__ import annotations

from pulumi import automation as auto

from components.args import ALL_SETTINGS, SECRET_SETTINGS, SETTINGS, ClusterArgs


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


def stale_keys(current: list[str], desired: dict[str, auto.ConfigValue]) -> list[str]:
    """The project keys to remove before writing `desired`: settings no longer set, and every array (rewritten
    whole, so no old element survives); keys this program does not know are left alone."""
    managed = {s.key for s in ALL_SETTINGS}
    array_keys = {s.key for s in SETTINGS if s.type == "array"}
    wanted = {k.split("[", 1)[0] for k in desired}
    return sorted(k for k in current if k in managed and (k not in wanted or k in array_keys))
