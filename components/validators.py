"""The value rules the settings are checked against: Kubernetes names, quantities, images, time zones, TDengine's
password rule. Pure predicates and constants, no messages: `settings.py` says what each setting allows.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

DEFAULT_IMAGE = "tdengine/tdengine:3.3.7.5"
"""3.3.6.6 and newer images apply TAOS_ROOT_PASSWORD on first start; older ones ignore it."""
SUPPORTED_MAJOR = 3
PASSWORD_SPECIALS = "!@#$%^&*()-_+=[]{}:;><?|~,."
"""The special characters TDengine's strong-password check accepts (tdengine-admin.md §7)."""

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
QUANTITY = re.compile(r"(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
CPU = re.compile(r"(\d+(\.\d+)?)m?")
URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?/?")
TAOS_KEY = re.compile(r"TAOS_[A-Z0-9]+(_[A-Z0-9]+)*")
LABEL_NAME = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_IMAGE = re.compile(
    r"(?P<repo>[a-z0-9]+([._/-][a-z0-9]+)*(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)(:(?P<tag>[\w][\w.-]{0,127}))?(@(?P<digest>sha256:[a-f0-9]{64}))?"
)
_VERSION_TAG = re.compile(r"v?(\d+)\.(\d+)")
_MULTIPLIERS = {
    "": 1.0,
    "m": 1e-3,
    **{s: 1024.0**i for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"), 1)},
    **{s: 1000.0**i for i, s in enumerate(("k", "M", "G", "T", "P", "E"), 1)},
}


def is_dns_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(DNS_LABEL.fullmatch(value))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_quantity(value: Any, pattern: re.Pattern[str] = QUANTITY) -> bool:
    m = pattern.fullmatch(value) if isinstance(value, str) else None
    return m is not None and float(m.group(1)) > 0


def quantity_value(text: str) -> float:
    """A Kubernetes quantity as a number (bytes or cores), for comparisons only."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", text)
    if not m or m.group(2) not in _MULTIPLIERS:
        raise ValueError(f"not a quantity: {text!r}")
    return float(m.group(1)) * _MULTIPLIERS[m.group(2)]


def is_timezone(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_strong_password(password: str) -> bool:
    """TDengine's strong-password rule: 8+ chars, only letters, digits and its specials, 3+ classes."""
    if len(password) < 8 or len(password) > 255:
        return False
    if any(not (c.isascii() and (c.isalnum() or c in PASSWORD_SPECIALS)) for c in password):
        return False
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password)]
    classes += [any(c.isdigit() for c in password), any(c in PASSWORD_SPECIALS for c in password)]
    return sum(classes) >= 3


def image_problem(image: Any) -> str | None:
    """Why `image` is not a pinned reference (a tag that is not `latest`, a digest, or both) of a TDengine 3.x
    image, or None."""
    m = _IMAGE.fullmatch(image) if isinstance(image, str) else None
    tag, digest = (m.group("tag"), m.group("digest")) if m else (None, None)
    if not m or not (digest or (tag and tag != "latest")):
        return (
            f"image: {image!r} is invalid; must be <repository>:<tag> with a pinned tag, not 'latest', or "
            f"<repository>[:<tag>]@sha256:<digest> (e.g. {DEFAULT_IMAGE})"
        )
    version = _VERSION_TAG.match(tag or "")
    if version and int(version.group(1)) != SUPPORTED_MAJOR:
        return (
            f"image: {image!r} is invalid; its tag names TDengine {version.group(1)}.x, and this program manages "
            f"TDengine {SUPPORTED_MAJOR}.x clusters only (2.x is a different system with other SQL and cluster "
            f"rules). Fix: use a 3.x image such as {DEFAULT_IMAGE}"
        )
    return None
