"""taosBenchmark and the pod's shell, as far as `FakeKube.exec_in_pod` runs them.

`taosBenchmark -d DB -t T -n N -a R [-v V] [-I iface] [-y] [-u USER] [-pPASS]` does what the real tool does
in command-line mode: connect as the user (a wrong password fails like taosc: "Authentication failure"),
`drop database if exists`, `create database DB replica R [vgroups V]`, super table `meters`, child tables
d0..d{T-1}, N rows each — every write through the vgroup leader, so a write without one fails the run.
Like the real tool it prints its settings, the password included, so callers must not echo its output.

The shell understands exactly one form besides a bare argv: `sh -c 'read -r VAR && exec <argv with "$VAR">'`
(the password arrives on stdin, never on a command line). Anything else exits 127, as an unknown
command does.
"""

from __future__ import annotations

import getopt
import shlex
import time

from tests.sim import data, ops
from tests.sim.codes import SqlError
from tests.sim.model import Cluster

STABLE = "meters"
Outcome = tuple[int, str, str]  # exit code, stdout, stderr


def run_in_pod(c: Cluster, command: list[str], stdin: str) -> Outcome:
    argv = command
    if command[:2] == ["sh", "-c"] and len(command) == 3:
        words = shlex.split(command[2])
        if len(words) < 6 or words[:2] != ["read", "-r"] or words[3] != "&&" or words[4] != "exec":
            return 127, "", f"sh: 1: unsupported script: {command[2]!r}\n"
        value = stdin.split("\n", 1)[0]
        argv = [w.replace(f"${words[2]}", value) for w in words[5:]]
    if not argv or argv[0] != "taosBenchmark":
        return 127, "", f"sh: 1: {argv[0] if argv else ''}: not found\n"
    return taos_benchmark(c, argv[1:])


def taos_benchmark(c: Cluster, args: list[str]) -> Outcome:
    try:
        opts, rest = getopt.getopt(args, "yI:d:t:n:a:v:u:p:")
    except getopt.GetoptError as e:
        return 255, "", f"taosBenchmark: {e}\n"
    if rest:
        return 255, "", f"taosBenchmark: unexpected argument {rest[0]!r}\n"
    o = dict(opts)
    db, user, password = o.get("-d", "test"), o.get("-u", "root"), o.get("-p", "taosdata")
    tables, rows, replica = int(o.get("-t", 10000)), int(o.get("-n", 10000)), int(o.get("-a", 1))
    out = [
        f"host:                       localhost:6030\nuser:                       {user}\n",
        f"password:                   {password}\n",
        f"database[0]:\n  database[0] name:         {db}\n  replica:                  {replica}\n",
        f"  super table[0] name:      {STABLE}\n  childTblCount:            {tables}\n",
        f"  insertRows:               {rows}\n  interface:                {o.get('-I', 'taosc')}\n",
    ]
    start = time.monotonic()
    try:
        ops.check_auth(c, user, password)
    except SqlError as e:
        return 255, "".join(out), f"ERROR: failed to connect native localhost:6030, reason: {e.desc}\n"
    step = f"create database {db}"
    try:
        ops.drop_database(c, db, if_exists=True)
        ops.create_database(c, db, replica, int(o.get("-v", 2)))
        data.create_stable(c, db, STABLE)
        step = "create child tables"
        for i in range(tables):
            data.create_table(c, db, f"d{i}", STABLE)
        out.append(f"SUCC: Spent {time.monotonic() - start:.4f} seconds to create {tables} table(s)\n")
        step = "insert rows"
        for i in range(tables):
            data.insert(c, db, f"d{i}", rows)
    except SqlError as e:
        return 255, "".join(out), f"ERROR: failed to {step}, reason: {e.desc}\n"
    spent = max(time.monotonic() - start, 1e-6)
    out.append(
        f"SUCC: Spent {spent:.6f} seconds to insert rows: {tables * rows} with 1 thread(s) into {db} "
        f"{tables * rows / spent:.2f} records/second\n"
    )
    return 0, "".join(out), ""
