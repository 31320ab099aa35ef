"""The root password: make the cluster's root password the configured one before any other statement.

Why: images before 3.3.6.6 ignore TAOS_ROOT_PASSWORD, so a new cluster may still have TDengine's public
default `taosdata`, and a changed `rootPassword` in stack config must change the cluster's password too.
On every connection the provider first tries the configured password. Only when TDengine refuses it
(855) does it try, in order, the password recorded in the state by this resource's last successful run
(its secret `rootPassword` output, which the engine passes back as `olds`) and the default; the one that
works runs `alter user root pass`, and the configured password is then verified.

Passwords are never shown: progress lines name only which password was in use, and statements appear in
messages redacted (`tdengine.redact`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components.tdengine import sql, wait
from components.tdengine.errors import AdminUnreachable, ClusterError, TDengineError
from components.tdengine.session import Session
from components.tdengine.wait import Deadline, Pending, Progress, stderr_progress

DEFAULT_PASSWORD = "taosdata"
"""TDengine's well-known default root password (what images before 3.3.6.6 leave in place)."""
PROBE_SQL = sql.MNODES
"""A cheap read that needs a valid login; its answer is ignored."""
_RETRY_SECONDS = 0.2


@dataclass(frozen=True)
class Candidate:
    """A password to try when the configured one is refused, with how messages name it."""

    label: str
    password: str


def fallbacks(configured: str, previous: str | None, kept: Candidate | None = None) -> list[Candidate]:
    """Pure: what to try, in order, after TDengine refused the configured password: the state's previous
    password, the one a kept-data destroy left (a new stack on old data), then TDengine's default."""
    out: list[Candidate] = []
    for candidate in (
        Candidate("the previous rootPassword recorded in the state", previous) if previous else None,
        kept,
        Candidate(f"TDengine's default password ({DEFAULT_PASSWORD})", DEFAULT_PASSWORD),
    ):
        if candidate is not None and candidate.password not in {configured, *(c.password for c in out)}:
            out.append(candidate)
    return out


def ensure_root_password(
    s: Session,
    previous: str | None,
    deadline: Deadline,
    progress: Progress = stderr_progress,
    kept: Callable[[], Candidate | None] | None = None,
) -> str:
    """Leave the session's cluster accepting the configured password; returns what was done:
    'current' (it already worked: also the resume of an interrupted change), 'changed-default' or
    'rotated'. `kept` looks up the password a kept-data destroy left, only once the configured one is
    refused. Raises TDengineError 855 naming the fix when no known password works."""
    configured = s.conn.password
    if _accepts(s, configured, deadline):
        return "current"
    tried = fallbacks(configured, previous, kept() if kept is not None else None)
    for candidate in tried:
        if not _accepts(s, candidate.password, deadline):
            continue
        _change(s, candidate, configured, deadline, progress)
        return "changed-default" if candidate.password == DEFAULT_PASSWORD else "rotated"
    names = ", nor ".join(["the rootPassword in stack config", *(c.label for c in tried)])
    raise TDengineError(
        sql.AUTH_FAILURE,
        f"Authentication failure: the cluster accepts neither {names}, so nothing was changed. Fix: set "
        "rootPassword to the cluster's current root password (pulumi config set --secret rootPassword ...) "
        "and re-run `pulumi up`; change it afterwards in a separate `pulumi up`, which rotates it",
        PROBE_SQL,
    )


def _change(s: Session, old: Candidate, configured: str, deadline: Deadline, progress: Progress) -> None:
    """`alter user` through a login with the old password, then wait until the configured one works."""
    statement = sql.alter_root_password(configured)
    progress(f"root password: the cluster still uses {old.label}; changing it to the configured rootPassword")
    try:
        s.client(old.password).execute(statement)
    except AdminUnreachable as err:  # a timeout included: the statement may have run; the check below decides
        progress(f"root password: {err}; checking whether the change took effect")
    except TDengineError as err:
        raise ClusterError(
            f"root password: changing it from {old.label} failed: {err}. Nothing else was changed. Fix: set "
            "rootPassword to one TDengine accepts (8-255 characters, at least three of lower case, upper case, "
            "digits and specials) and re-run"
        ) from err

    def probe(_elapsed: float) -> bool | Pending:
        if _accepts(s, configured, deadline):
            progress("root password: changed; the cluster accepts the configured rootPassword")
            return True
        return Pending(
            "the cluster still refuses the configured rootPassword",
            hint="Nothing else was changed. Fix: re-run `pulumi up` (it tries the same passwords again); if that "
            "fails too, set rootPassword to the password the cluster accepts",
        )

    window = Deadline.after(max(s.conn.statement_timeout, 1.0)).sooner(deadline)
    wait.until(
        f"root password: after `alter user` through {old.label}, the switch to the configured rootPassword",
        probe,
        deadline=window,
        poll=_RETRY_SECONDS,
        progress=progress,
    )


def _accepts(s: Session, password: str, deadline: Deadline) -> bool:
    """Whether TDengine takes this password (855 means no); rides out an unreachable adapter until the
    deadline, reopening the port-forward, like every other read."""

    def probe(_elapsed: float) -> bool:
        try:
            s.client(password).query(PROBE_SQL)
        except TDengineError as err:
            if err.code == sql.AUTH_FAILURE:
                return False
            raise
        return True

    return wait.until("connecting", probe, deadline=deadline, poll=_RETRY_SECONDS, reconnect=s.reconnect)
