"""Keeping secrets out of what is shown: the one redaction marker, `pass '...'` literals and known secrets.

Pure. Used for statements in messages (`redact`), for TDengine's answers, which may quote a statement back
(`scrub`), for taosBenchmark's output and verify's report, and by the offline render as the Secret's value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "<redacted>"
PASSWORD_LITERAL = re.compile(r"(\bpass\s+)('[^']*'|\"[^\"]*\")", re.IGNORECASE)


def redact(sql: str) -> str:
    """The statement with any `pass '<password>'` literal replaced, for messages and logs."""
    return PASSWORD_LITERAL.sub(rf"\1'{REDACTED}'", sql)


def password_literals(sql: str) -> list[str]:
    """The passwords that `pass '...'` literals of a statement hold."""
    return [m.group(2)[1:-1] for m in PASSWORD_LITERAL.finditer(sql)]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret replaced (longest first, so no part of one survives)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
