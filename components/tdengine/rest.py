"""AdminClient: SQL over taosAdapter REST with taospy's pure-Python `taosrest`; the only database I/O.

One statement per request (the server ignores everything after the first `;`), `code` checked on every
response (errors come with HTTP 200), and every failure raised as one of the types in `errors.py`, with the
library's own exception as its cause. The password is sent only in the Authorization header and is never part
of a message: statements are shown redacted, answers scrubbed, and a taosrest error is kept as the cause only
as a scrubbed copy (`errors.RedactedCause`).
"""

from __future__ import annotations

import re
from typing import Any

import requests
import taosrest

from components.tdengine.errors import AdminTimeout, AdminUnreachable, RedactedCause, TDengineError
from components.tdengine.redact import password_literals, redact, scrub
from components.tdengine.sql import AUTH_FAILURE

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")


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
        secrets = [*password_literals(sql), self._password]
        try:
            result: dict[str, Any] = client.sql(sql)
            return result
        except taosrest.ConnectError as err:
            code = int(err.errno or 0) & 0xFFFF
            if code == AUTH_FAILURE:
                raise TDengineError(
                    code,
                    "Authentication failure: the rootPassword in stack config is not the cluster's root password",
                    shown,
                ) from _cause(err, secrets)
            raise TDengineError(code, scrub(str(err.msg), secrets), shown) from _cause(err, secrets)
        except taosrest.HTTPError as err:
            if err.status_code == 401:  # a wrong password with httpCodeServerError (reference §8): not transient
                raise TDengineError(
                    AUTH_FAILURE,
                    f"Authentication failure: taosAdapter at {self.url} answered HTTP 401 ({err.msg}); the "
                    "rootPassword in stack config is not the cluster's root password",
                    shown,
                ) from _cause(err, secrets)
            raise AdminUnreachable(
                f"taosAdapter at {self.url} answered HTTP {err.status_code} ({err.msg}) to: {shown}"
            ) from _cause(err, secrets)
        except requests.exceptions.ReadTimeout as err:
            raise AdminTimeout(
                f"no answer from taosAdapter at {self.url} within {timeout or self.timeout:g}s to: {shown} "
                "(the statement may still be running)"
            ) from err
        except (requests.exceptions.RequestException, ValueError) as err:
            raise AdminUnreachable(
                f"cannot reach taosAdapter at {self.url} ({type(err).__name__}) for: {shown}"
            ) from err


def _cause(err: BaseException, secrets: list[str]) -> RedactedCause:
    """A taosrest error as the cause, scrubbed: TDengine's answers can quote the statement back, and so a
    password literal. (The `requests` errors are chained as they are: they name the URL, never the headers.)"""
    return RedactedCause(err, scrub(str(err), secrets))
