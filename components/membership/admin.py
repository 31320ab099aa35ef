"""AdminClient: SQL over taosAdapter REST with taospy's pure-Python `taosrest`; the only database I/O.

One statement per request (the server ignores everything after the first `;`), `code` checked on every
response (errors come with HTTP 200), and every failure raised as one of the types in `errors.py`.
The password is sent only in the Authorization header and is never part of a message.
"""

from __future__ import annotations

import re
from typing import Any

import requests
import taosrest

from components.membership.errors import AdminTimeout, AdminUnreachable, TDengineError

AUTH_FAILURE = 855
_PASSWORD_LITERAL = re.compile(r"(\bpass\s+)('[^']*'|\"[^\"]*\")", re.IGNORECASE)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
REDACTED = "<redacted>"


def redact(sql: str) -> str:
    """The statement with any `pass '<password>'` literal replaced, for messages and logs."""
    return _PASSWORD_LITERAL.sub(rf"\1'{REDACTED}'", sql)


def _scrub(text: str, secrets: list[str]) -> str:
    """`text` (an answer from the server) without any of `secrets`: TDengine's parser errors quote the
    statement back (`syntax error near "..."`), which may hold a password literal."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class AdminClient:
    """A root session with one cluster's taosAdapter. Stateless between calls; cheap to create."""

    def __init__(self, url: str, password: str, user: str = "root", timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._user = user
        self._password = password
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"AdminClient(url={self.url!r}, user={self._user!r})"

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        resp = self._send(sql, timeout)
        names = [c[0] for c in resp.get("column_meta") or []]
        return [dict(zip(names, row, strict=False)) for row in resp.get("data") or []]

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self._send(sql, timeout)

    def _send(self, sql: str, timeout: float | None) -> dict[str, Any]:
        if ";" in _QUOTED.sub("''", sql).strip().rstrip(";"):  # a password literal may hold a ';'
            raise ValueError(f"one statement per request: {redact(sql)!r}")
        client = taosrest.RestClient(
            self.url,
            user=self._user,
            password=self._password,
            timeout=timeout or self.timeout,
            convert_timestamp=False,
        )
        shown = redact(sql)
        try:
            return client.sql(sql)
        except taosrest.ConnectError as err:
            code = int(err.errno or 0) & 0xFFFF
            if code == AUTH_FAILURE:
                raise TDengineError(
                    code,
                    "Authentication failure: the rootPassword in stack config is not the cluster's root password",
                    shown,
                ) from None
            secrets = [m.group(2)[1:-1] for m in _PASSWORD_LITERAL.finditer(sql)] + [self._password]
            raise TDengineError(code, _scrub(str(err.msg), secrets), shown) from None
        except taosrest.HTTPError as err:
            if err.status_code == 401:  # a wrong password with httpCodeServerError (reference §8): not transient
                raise TDengineError(
                    AUTH_FAILURE,
                    f"Authentication failure: taosAdapter at {self.url} answered HTTP 401 ({err.msg}); the "
                    "rootPassword in stack config is not the cluster's root password",
                    shown,
                ) from None
            raise AdminUnreachable(
                f"taosAdapter at {self.url} answered HTTP {err.status_code} ({err.msg}) to: {shown}"
            ) from None
        except requests.exceptions.ReadTimeout:
            raise AdminTimeout(
                f"no answer from taosAdapter at {self.url} within {timeout or self.timeout:g}s to: {shown} "
                "(the statement may still be running)"
            ) from None
        except (requests.exceptions.RequestException, ValueError) as err:
            raise AdminUnreachable(
                f"cannot reach taosAdapter at {self.url} ({type(err).__name__}) for: {shown}"
            ) from None
