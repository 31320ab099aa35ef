"""Takes one `plan.Step`: the statement its kind stands for, tolerating the answers a re-run may get (the
change already made), with its progress line. The only place the membership runbook writes to TDengine.
"""

from __future__ import annotations

from components.membership.plan import Step, StepKind
from components.tdengine import sql
from components.tdengine.errors import AdminTimeout, AdminUnreachable, ClusterError, TDengineError
from components.tdengine.session import Session, execute_tolerating
from components.tdengine.wait import Deadline, Progress

GO_BACK = "to keep the dnodes instead: `pulumi refresh`, set replicas back to its old value, `pulumi up`"
"""How to undo a scale-in that stopped half-way (docs/operations.md, "Scaling")."""
MIN_STATEMENT_SECONDS = 0.1
"""The shortest wait for a blocking statement's answer, even at the deadline: it must reach TDengine."""


def take(s: Session, step: Step, progress: Progress, pod: str = "", within: Deadline | None = None) -> None:
    """Run `step` (not `done` or `wait`, which send nothing); `pod` names the departing pod it is for. `within`:
    the drain's deadline, which a statement that blocks while vnodes move must not outlast."""
    if step.kind is StepKind.CREATE_DNODE:
        progress(f"create dnode '{step.endpoint}' ({step.reason})")
        _creating(s, sql.create_dnode(step.endpoint), {sql.DNODE_ALREADY_EXISTS}, progress)
    elif step.kind is StepKind.CREATE_MNODE:  # 'already exists' and 'cannot exceed 3': a re-run may find it done
        progress(f"create mnode on dnode {step.dnode_id} ({step.endpoint})")
        _creating(s, sql.create_mnode(step.dnode_id), {sql.MNODE_ALREADY_EXISTS, sql.TOO_MANY_MNODES}, progress)
    elif step.kind is StepKind.DROP_MNODE:
        progress(f"{pod}: drop mnode on dnode {step.dnode_id} (moving it before the drain)")
        execute_tolerating(s.admin, sql.drop_mnode(step.dnode_id), {sql.MNODE_NOT_THERE})
    elif step.kind is StepKind.DROP_DNODE:
        progress(f"{pod}: {sql.drop_dnode(step.dnode_id, step.force)}" + (f" ({step.reason})" if step.reason else ""))
        done = {sql.DNODE_NOT_EXIST, sql.DNODE_IN_DROPPING}
        _blocking(s, pod, sql.drop_dnode(step.dnode_id, step.force), progress, done, within)
    elif step.kind is StepKind.REDISTRIBUTE:
        statement = sql.redistribute_vgroup(step.vgroup, step.members)
        progress(f"{pod}: {statement} ({step.reason})")
        _blocking(s, pod, statement, progress, set(), within)
    else:
        raise ValueError(f"step {step.kind} sends no statement")


def _creating(s: Session, statement: str, done: set[int], progress: Progress) -> None:
    """A transaction that started after the plan read none (979) only delays the create: the next read waits for
    it (`plan._after_transactions`)."""
    try:
        execute_tolerating(s.admin, statement, done)
    except TDengineError as err:
        if err.code != sql.TRANS_CONFLICT:
            raise
        progress(f"{statement}: {err.message}; waiting for the transaction, then again")


def _blocking(
    s: Session, pod: str, statement: str, progress: Progress, done: set[int], within: Deadline | None
) -> None:
    """`drop dnode` and `redistribute vgroup` block while the vnodes move (about 20 s on a real cluster): a timeout
    or a "continues in the background" answer is not a failure, the drain's wait decides (the vnode or the dnode's
    row must go), and the wait is cut at the drain's deadline. `done`: answers that mean it happened already."""
    timeout = s.conn.statement_timeout
    if within is not None:
        timeout = max(MIN_STATEMENT_SECONDS, min(timeout, within.remaining()))
    try:
        s.admin.execute(statement, timeout=timeout)
    except AdminTimeout:
        progress(f"{pod}: {statement} still running after {timeout:g}s; polling")
    except TDengineError as err:
        if err.code in sql.CONTINUES_IN_BACKGROUND:
            progress(f"{pod}: {err.message}; polling")
        elif err.code not in done:
            raise ClusterError(
                f"{statement} for {pod} failed: {err}; nothing else was changed for it. Fix: resolve what TDengine "
                "names (a conflicting transaction: wait until 'show transactions' lists none), then re-run "
                f"`pulumi up`; it resumes from the cluster's state (or, {GO_BACK})"
            ) from err
    except AdminUnreachable as err:
        progress(f"{pod}: {statement}: {err}; polling")
