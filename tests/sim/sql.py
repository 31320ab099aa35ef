"""One SQL statement: tokenize up to the first `;`, parse the supported grammar, run it on the model.

Running out of tokens where the grammar needs more is 9729 "Incomplete SQL statement"; any other
mismatch is 9728 `syntax error near "<rest>"`, as TDengine's parser reports them. Keywords are
case-insensitive. Anything outside the grammar below is a syntax error, never a silent success.

Over 300 lines: the whole supported grammar, one parser, so a statement form cannot be half-supported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.sim import codes, data, ops, redistribute, tables, trans
from tests.sim.codes import SqlError
from tests.sim.model import Cluster

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<bq>`[^`]*`)
    |(?P<num>\d+(?:\.\d+)?)
    |(?P<id>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op><>|!=|<=|>=|[.,()*=;+\-<>/:?])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # str | bq | num | id | op
    text: str
    pos: int


@dataclass(frozen=True)
class Result:
    """Either a result set (`columns`/`rows`) or an affected-rows count."""

    columns: list[list[Any]] | None = None
    rows: list[list[Any]] | None = None
    affected: int = 0


def tokenize(sql: str) -> list[Token]:
    """Tokens of the first statement only: TDengine's parser stops at the first `;`."""
    out: list[Token] = []
    pos = 0
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None:
            raise SqlError(codes.SYNTAX_ERROR, f'syntax error near "{sql[pos:]}"')
        kind = m.lastgroup or "ws"
        if kind == "op" and m.group() == ";":
            break
        if kind != "ws":
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    return out


class Parser:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.toks = tokenize(sql)
        self.i = 0

    def error(self) -> SqlError:
        if self.i >= len(self.toks):
            return SqlError(codes.INCOMPLETE_SQL)
        return SqlError(codes.SYNTAX_ERROR, f'syntax error near "{self.sql[self.toks[self.i].pos :].strip()}"')

    def peek(self, *words: str) -> bool:
        if self.i >= len(self.toks):
            return False
        t = self.toks[self.i]
        return t.kind in ("id", "op") and t.text.lower() in words

    def accept(self, *words: str) -> str | None:
        if self.peek(*words):
            self.i += 1
            return self.toks[self.i - 1].text.lower()
        return None

    def kw(self, *words: str) -> str:
        got = self.accept(*words)
        if got is None:
            raise self.error()
        return got

    def take(self, *kinds: str) -> Token:
        if self.i >= len(self.toks) or self.toks[self.i].kind not in kinds:
            raise self.error()
        self.i += 1
        return self.toks[self.i - 1]

    def name(self) -> str:
        t = self.take("id", "bq")
        return t.text[1:-1] if t.kind == "bq" else t.text

    def integer(self) -> int:
        t = self.take("num")
        if not t.text.isdigit():
            self.i -= 1
            raise self.error()
        return int(t.text)

    def string(self) -> str:
        return self.take("str").text[1:-1]

    def end(self) -> None:
        if self.i < len(self.toks):
            raise self.error()

    def qualified(self) -> tuple[str | None, str]:
        first = self.name()
        if self.accept("."):
            return first, self.name()
        return None, first


def execute(
    c: Cluster, sql: str, db: str | None = None, on_drop: Callable[[trans.Trans], None] | None = None
) -> Result:
    """Parse and run one statement. `on_drop` waits for a started drop-dnode or red-vgroup transaction."""
    p = Parser(sql)
    head = p.kw("show", "select", "create", "drop", "alter", "insert", "use", "redistribute")
    if head == "show":
        return _show(c, p, db)
    if head == "select":
        if p.peek("count"):
            return _count(c, p, db)
        return _select(c, p)
    if head == "use":
        p.name()
        p.end()
        return Result()
    if head == "create":
        return _create(c, p, db)
    if head == "drop":
        return _drop(c, p, on_drop)
    if head == "redistribute":
        return _redistribute(c, p, on_drop)
    if head == "alter" and p.accept("dnode"):
        return _alter_dnode(c, p)
    if head == "alter":
        p.kw("user")
        user = p.name()
        p.kw("pass")
        pw = p.string()
        p.end()
        ops.alter_password(c, user, pw)
        return Result()
    p.kw("into")
    tdb, table = p.qualified()
    if p.accept("("):  # a column list: its names are not modelled
        while not p.accept(")"):
            p.take("id", "bq", "op")
    p.kw("values")
    groups = 0
    while p.accept("("):
        depth = 1
        while depth:
            tok = p.take("str", "num", "id", "op", "bq")
            depth += {"(": 1, ")": -1}.get(tok.text, 0)
        groups += 1
    if groups == 0:
        raise p.error()
    p.end()
    return Result(affected=data.insert(c, _db(tdb or db), table, groups))


def _redistribute(c: Cluster, p: Parser, on_wait: Callable[[trans.Trans], None] | None) -> Result:
    """REDISTRIBUTE VGROUP <id> DNODE <a> [DNODE <b> ...]: 9814 from the parser for more than 3 dnodes."""
    p.kw("vgroup")
    vgroup = p.integer()
    dnodes = []
    while p.accept("dnode"):
        dnodes.append(p.integer())
    if not dnodes:
        raise p.error()
    p.end()
    if len(dnodes) > 3:
        raise SqlError(codes.REDISTRIBUTE_DNODES)
    t = redistribute.redistribute(c, vgroup, dnodes)
    if t is not None:
        if on_wait is not None:
            on_wait(t)
        else:
            t.done.wait()
    return Result()


def _alter_dnode(c: Cluster, p: Parser) -> Result:
    """ALTER DNODE <id> '<option>' '<value>': only `supportVnodes` is modelled, and only in the enterprise build
    (community: 281 "Invalid config option", as the scale-in transcript shows)."""
    dnode_id = p.integer()
    option = p.string()
    value = p.string()
    p.end()
    with c.lock:
        d = c.dnodes.get(dnode_id)
        if d is None:
            raise SqlError(codes.DNODE_NOT_EXIST)
        if option.lower() != "supportvnodes" or not c.cfg.enterprise or not value.isdigit():
            raise SqlError(codes.INVALID_CFG)
        d.support_vnodes = int(value)
        c.changed.notify_all()
    return Result()


def _db(db: str | None) -> str:
    if db is None:
        raise SqlError(codes.DB_NOT_SPECIFIED)
    return db


def _show(c: Cluster, p: Parser, db: str | None) -> Result:
    what = p.name()
    low = what.lower()
    if low == "cluster" and p.accept("alive"):
        p.end()
        return Result(tables.ALIVE_COLS, tables.alive_rows(c))
    if not p.peek(".") and low not in ("dnodes", "mnodes", "databases", "transactions", "vgroups"):
        p.i -= 1
        raise p.error()
    if not p.peek("."):
        p.end()
        if low == "dnodes":
            return Result(tables.DNODE_COLS, tables.dnode_rows(c))
        if low == "mnodes":
            return Result(tables.MNODE_COLS, tables.mnode_rows(c))
        if low == "databases":
            return Result(tables.SHOW_DB_COLS, [[r[0]] for r in tables.db_rows(c)])
        if low == "transactions":
            return Result(tables.TRANS_COLS, tables.trans_rows(c))
        return Result(tables.VGROUP_COLS, tables.vgroup_rows(c, _db(db)))
    p.kw(".")
    p.kw("vgroups")
    p.end()
    return Result(tables.VGROUP_COLS, tables.vgroup_rows(c, what))


def _count(c: Cluster, p: Parser, db: str | None) -> Result:
    """SELECT COUNT(*) FROM [db.]<table or super table>."""
    p.kw("count")
    p.kw("(")
    p.kw("*")
    p.kw(")")
    p.kw("from")
    tdb, table = p.qualified()
    p.end()
    return Result(data.COUNT_COLS, [[data.count(c, _db(tdb or db), table)]])


def _select(c: Cluster, p: Parser) -> Result:
    columns: list[str] | None = None
    if not p.accept("*"):
        columns = [p.name()]
        while p.accept(","):
            columns.append(p.name())
    p.kw("from")
    schema, table = p.qualified()
    where: list[tuple[str, Any]] = []
    if p.accept("where"):
        while True:
            col = p.name()
            p.kw("=")
            tok = p.take("str", "num")
            where.append((col, tok.text[1:-1] if tok.kind == "str" else int(tok.text)))
            if not p.accept("and"):
                break
    p.end()
    full = f"{schema}.{table}" if schema else table
    cols, rows = tables.select(c, full, columns, where)
    return Result(cols, rows)


def _create(c: Cluster, p: Parser, db: str | None) -> Result:
    what = p.kw("dnode", "mnode", "database", "table")
    if what == "dnode":
        if p.i < len(p.toks) and p.toks[p.i].kind == "str":
            ep = p.string()
        else:
            fqdn = p.name()
            p.kw("port")
            ep = f"{fqdn}:{p.integer()}"
        p.end()
        ops.create_dnode(c, ep)
        return Result()
    if what == "mnode":
        ops.create_mnode(c, _on_dnode(p))
        return Result()
    if_not_exists = bool(p.accept("if"))
    if if_not_exists:
        p.kw("not")
        p.kw("exists")
    if what == "table":
        tdb, table = p.qualified()
        p.kw("(")
        while p.i < len(p.toks):
            p.i += 1  # column definitions and options are accepted, not modelled
        data.create_table(c, _db(tdb or db), table)
        return Result()
    name = p.name()
    opts = {"replica": 1, "vgroups": 2}
    while p.i < len(p.toks):
        key = p.name().lower()
        value = p.take("num", "str", "id").text
        if key in opts:
            if not value.isdigit():
                p.i -= 1
                raise p.error()
            opts[key] = int(value)
    ops.create_database(c, name, opts["replica"], opts["vgroups"], if_not_exists)
    return Result()


def _on_dnode(p: Parser) -> int:
    """The end of `create|drop mnode on dnode <id>`."""
    p.kw("on")
    p.kw("dnode")
    n = p.integer()
    p.end()
    return n


def _drop(c: Cluster, p: Parser, on_drop: Callable[[trans.Trans], None] | None) -> Result:
    what = p.kw("dnode", "mnode", "database")
    if what == "mnode":
        ops.drop_mnode(c, _on_dnode(p))
        return Result()
    if what == "database":
        if_exists = bool(p.accept("if"))
        if if_exists:
            p.kw("exists")
        name = p.name()
        p.end()
        ops.drop_database(c, name, if_exists)
        return Result()
    tok = p.take("num", "str", "id")
    dnode_id = int(tok.text) if tok.kind == "num" and tok.text.isdigit() else None
    mode = p.accept("force", "unsafe")
    p.end()
    t = trans.drop_dnode(c, dnode_id, force=mode == "force", unsafe=mode == "unsafe")
    if t is not None:
        if on_drop is not None:
            on_drop(t)
        else:
            t.done.wait()
    return Result()
