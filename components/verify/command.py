"""`verify`: the seed's cluster tests on demand, and the body of the `pulumi up` step (`step.py`).

    run(args, password, failover=False, out=sys.stdout) -> exit code

reaches taosAdapter the way the providers do (`adminUrl`, else a port-forward to the lowest ready pod),
reads dnodes and mnodes, writes a small dataset with taosBenchmark inside a pod, checks the row count and
the vgroups, optionally runs the failover test, and prints the report. Exit codes:

    0  every check passed
    1  a check failed (the report says which, and what was seen)
    2  refused or bad input: nothing was written (e.g. --failover on a cluster that is not highly
       available, a replica the cluster cannot hold, a wrong root password)
    3  unreachable: no Kubernetes access, no ready pod, no answer from taosAdapter
    5  failover not proven: every check passed, but the deleted pod was back before another mnode took over

The root password and kubeconfig are scrubbed from everything printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from components import live
from components.args import ClusterArgs
from components.tdengine import sql, wait
from components.tdengine.errors import AdminUnreachable, ClusterError, ExecFailed, TDengineError
from components.tdengine.kube_types import PodOps
from components.tdengine.redact import scrub
from components.tdengine.rows import Vgroup, parse_vgroups
from components.tdengine.session import Session, read_state, session
from components.tdengine.wait import Deadline, Pending
from components.verify import bench, checks
from components.verify.failover import FailoverOptions, run_failover
from components.verify.reads import read_again
from components.verify.report import BACK_FIRST, Dataset, Report, RestCheck, format_report

OK, FAILED, REFUSED, UNREACHABLE, NOT_PROVEN = 0, 1, 2, 3, 5
KubeFactory = Callable[[ClusterArgs, "str | None"], PodOps]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class VerifyOptions:
    tables: int = 10
    rows: int = 100
    replica: int = 3
    keep: bool = False
    """Keep the test database afterwards (the `pulumi up` step keeps it; its delete drops it)."""
    benchmark_timeout: float = 600.0
    settle_timeout: float = 60.0
    """How long the new database's vgroups may take to show their leaders."""
    statement_timeout: float = 60.0
    failover: FailoverOptions = field(default_factory=FailoverOptions)

    @classmethod
    def from_args(cls, args: ClusterArgs, **overrides: Any) -> VerifyOptions:
        """The stack's verify settings, with the overrides that are not None."""
        base = cls(tables=args.verify_tables, rows=args.verify_rows, replica=args.verify_replica)
        return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `verify` subcommand's own options (the caller adds --stack)."""
    parser.add_argument("--failover", action="store_true", help="also delete the mnode leader's pod and measure")
    parser.add_argument("--tables", type=int, help="child tables to write (default: the stack's verifyTables)")
    parser.add_argument("--rows", type=int, help="rows per table (default: the stack's verifyRows)")
    parser.add_argument("--replica", type=int, choices=(1, 3), help="test database replica (default: verifyReplica)")
    parser.add_argument("--keep", action="store_true", help=f"keep the {checks.VERIFY_DB} database afterwards")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for taosBenchmark (default 600)")
    parser.add_argument(
        "--failover-timeout", type=float, default=300.0, help="seconds for the failover test (default 300)"
    )


def options_from(ns: argparse.Namespace, args: ClusterArgs) -> VerifyOptions:
    failover = FailoverOptions(timeout=ns.failover_timeout)
    return VerifyOptions.from_args(
        args,
        tables=ns.tables,
        rows=ns.rows,
        replica=ns.replica,
        keep=ns.keep or None,
        benchmark_timeout=ns.timeout,
        failover=failover,
    )


def stderr_progress(line: str) -> None:
    wait.stderr_progress(f"verify: {line}")


class _Stop(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def run(
    args: ClusterArgs,
    password: str,
    *,
    failover: bool = False,
    out: TextIO = sys.stdout,
    kubeconfig: str | None = None,
    options: VerifyOptions | None = None,
    kube_factory: KubeFactory = live.kube_for,
    progress: Progress = stderr_progress,
) -> int:
    """Run the checks and print the report to `out`; returns the exit code (see the module docstring)."""
    code, report = verify(
        args,
        password,
        failover=failover,
        kubeconfig=kubeconfig,
        options=options,
        kube_factory=kube_factory,
        progress=progress,
    )
    out.write(scrub(format_report(report), [password, kubeconfig or "", args.kubeconfig or ""]))
    return code


def verify(
    args: ClusterArgs,
    password: str,
    *,
    failover: bool = False,
    kubeconfig: str | None = None,
    options: VerifyOptions | None = None,
    kube_factory: KubeFactory = live.kube_for,
    progress: Progress = stderr_progress,
) -> tuple[int, Report]:
    """The checks; returns (exit code, report) without printing the report."""
    opts = options or VerifyOptions.from_args(args)
    secrets = [password, kubeconfig or "", args.kubeconfig or ""]
    naming = args.naming
    report = Report(f"{args.namespace}/{args.cluster_name}", naming)

    def say(line: str) -> None:
        progress(scrub(line, secrets))

    try:
        kube = kube_factory(args, kubeconfig)
        _checks(args, password, failover, opts, kube, report, say)
    except _Stop as stop:
        return stop.code, _scrubbed(report, secrets)
    except TDengineError as e:
        report.error = str(e)
        return FAILED, _scrubbed(report, secrets)
    except (ClusterError, OSError) as e:  # AdminUnreachable, KubeError, a port-forward that failed
        report.error = f"cannot reach the cluster: {e}"
        return UNREACHABLE, _scrubbed(report, secrets)
    if report.problems:
        return FAILED, _scrubbed(report, secrets)
    not_proven = report.failover is not None and report.failover.outcome == BACK_FIRST
    return (NOT_PROVEN if not_proven else OK), _scrubbed(report, secrets)


def _scrubbed(report: Report, secrets: list[str]) -> Report:
    report.error = scrub(report.error, secrets)
    report.dataset_problem = scrub(report.dataset_problem, secrets)
    return report


def _checks(
    args: ClusterArgs, password: str, failover: bool, opts: VerifyOptions, kube: PodOps, report: Report, say: Progress
) -> None:
    naming, members = args.naming, args.members
    conn = live.connection(args, password, statement_timeout=opts.statement_timeout)
    ready = [p.name for p in kube.list_pods(naming.namespace, naming.statefulset) if p.ready and not p.deleting]
    in_order = [m for m in members if m in ready]
    with session(conn, kube, members) as s:
        report.rest = _rest(s, args, in_order, report)
        state = read_again(s, "reading the cluster's state", read_state, say)
        report.state = state
        report.cluster_problems = checks.cluster_problems(state, naming)
        all_vgroups = read_again(s, "reading the vgroups", lambda a: parse_vgroups(a.query(sql.VGROUPS)), say)
        target: checks.FailoverTarget | None = None
        if failover:
            planned = checks.plan_failover(state, naming, all_vgroups, opts.replica)
            if isinstance(planned, checks.Refusal):
                report.refusal = str(planned)
                raise _Stop(REFUSED)
            target = planned
        usable = sum(d.is_ready for d in state.dnodes)
        if opts.replica > usable:
            report.refusal = (
                f"refused: a replica-{opts.replica} test database needs {opts.replica} ready dnodes, the cluster has "
                f"{usable}. Nothing was written. Fix: --replica 1, or wait until the dnodes are ready"
            )
            raise _Stop(REFUSED)
        if not in_order:
            raise AdminUnreachable(f"no ready pod among {', '.join(members)} to run taosBenchmark in")
        report.dataset = _write_dataset(kube, naming.namespace, in_order[0], password, opts, report, say)
        if report.dataset_problem:
            raise _Stop(FAILED)
        report.counted = _count(s, say)
        report.count_problem = (
            checks.row_count_problem(report.counted, report.dataset.expected, bench.super_table(checks.VERIFY_DB)) or ""
        )
        report.vgroups, report.spread_problems = _spread(s, opts)
        report.state = read_again(s, "reading the cluster's state", read_state, say)  # counts the test database
        report.cluster_problems = checks.cluster_problems(report.state, naming)
        if target is not None and report.problems:
            say("failover not run: the checks above failed")
        elif target is not None:
            report.failover = run_failover(
                conn, kube, members, target, report.vgroups, report.counted, opts.failover, say
            )
        if not opts.keep:
            _drop(s, say)


def _rest(s: Session, args: ClusterArgs, ready: list[str], report: Report) -> RestCheck:
    """The seed's `curl -d "show databases" .../rest/sql` through the same connection."""
    via = f"adminUrl {args.admin_url}" if args.admin_url else f"port-forward to {ready[0]}:{args.rest_port}"
    start = time.monotonic()
    try:
        databases = s.admin.query(sql.SHOW_DATABASES)
    except TDengineError as e:
        if e.code != sql.AUTH_FAILURE:
            raise
        report.refusal = f"refused: {e.message}. Nothing was written. Fix: use the stack's current root password"
        raise _Stop(REFUSED) from e
    return RestCheck(via, len(databases), time.monotonic() - start)


def _write_dataset(
    kube: PodOps, namespace: str, pod: str, password: str, opts: VerifyOptions, report: Report, say: Progress
) -> Dataset:
    db = checks.VERIFY_DB
    say(f"taosBenchmark in {pod}: {db}, replica {opts.replica}, {opts.tables} tables x {opts.rows} rows")
    start = time.monotonic()
    command = bench.benchmark_command(db, opts.tables, opts.rows, opts.replica)
    try:
        result = kube.exec_in_pod(namespace, pod, command, bench.benchmark_stdin(password), opts.benchmark_timeout)
    except ExecFailed as e:  # it ran: a check that failed, with what it printed, not an unreachable cluster
        shown = bench.tail(scrub(e.stdout + e.stderr, [password]))
        report.dataset_problem = f"taosBenchmark in {pod} gave no exit code ({e.reason}):\n{shown}"
        return Dataset(db, opts.replica, opts.tables, opts.rows, pod, time.monotonic() - start)
    dataset = Dataset(db, opts.replica, opts.tables, opts.rows, pod, time.monotonic() - start)
    if result.exit_code != 0:
        shown = bench.tail(scrub(result.stdout + result.stderr, [password]))
        report.dataset_problem = f"taosBenchmark in {pod} exited with {result.exit_code}:\n{shown}"
    return dataset


def _count(s: Session, say: Progress) -> int:
    rows = read_again(
        s, "counting the rows", lambda a: a.query(sql.count_rows(bench.super_table(checks.VERIFY_DB))), say
    )
    return int(rows[0]["count(*)"]) if rows else 0


def _spread(s: Session, opts: VerifyOptions) -> tuple[tuple[Vgroup, ...], list[str]]:
    """The test database's vgroups, given `settle_timeout` to show a leader each."""
    Spread = tuple[tuple[Vgroup, ...], list[str]]

    def probe(_elapsed: float) -> Spread | Pending:
        vgroups = parse_vgroups(s.admin.query(sql.show_vgroups(checks.VERIFY_DB)))
        problems = checks.spread_problems(vgroups, opts.replica)
        return Pending("; ".join(problems), value=(vgroups, problems)) if problems else (vgroups, problems)

    deadline = Deadline.after(opts.settle_timeout)
    return wait.settle("vgroups settling", probe, deadline=deadline, poll=min(1.0, opts.failover.poll))


DROP_RETRY_SECONDS = 90.0
"""Right after a failover a real cluster refused the drop for a few seconds (0x03AE "VGroup is offline")."""


def _drop(s: Session, say: Progress) -> None:
    deadline = time.monotonic() + DROP_RETRY_SECONDS
    while True:
        try:
            s.admin.execute(sql.drop_database(checks.VERIFY_DB), timeout=60.0)
            return
        except ClusterError as e:
            if isinstance(e, TDengineError) and time.monotonic() < deadline:  # the server answered: it may settle
                time.sleep(2.0)
                continue
            say(f"could not drop {checks.VERIFY_DB} ({e}); drop it by hand: drop database {checks.VERIFY_DB}")
            return


def drop(
    args: ClusterArgs,
    password: str,
    *,
    kubeconfig: str | None = None,
    kube_factory: KubeFactory = live.kube_for,
    progress: Progress = stderr_progress,
) -> int:
    """Drop the test database (the `pulumi destroy` side of the step). Best effort: a cluster that cannot be
    reached only gets a warning, so a destroy is never blocked by a disposable database."""
    secrets = [password, kubeconfig or "", args.kubeconfig or ""]
    try:
        kube = None if args.admin_url else kube_factory(args, kubeconfig)
        conn = live.connection(args, password)
        with session(conn, kube, args.members) as s:
            s.admin.execute(sql.drop_database(checks.VERIFY_DB))
    except (ClusterError, OSError) as e:
        progress(scrub(f"warning: {checks.VERIFY_DB} was not dropped ({e}); drop it by hand if it remains", secrets))
        return OK
    progress(f"dropped database {checks.VERIFY_DB}")
    return OK
