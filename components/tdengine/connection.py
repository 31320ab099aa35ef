"""`Connection`: how to reach one cluster's taosAdapter. Pure data (the session in `session.py` opens it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from components.tdengine.naming import Naming


@dataclass(frozen=True)
class Connection:
    """How to reach one cluster: taosAdapter directly (admin_url) or through a port-forward."""

    naming: Naming
    rest_port: int
    password: str = field(repr=False)
    admin_url: str = ""
    statement_timeout: float = 30.0
