"""The one wait primitive, on a fake clock: deadline, stall detector, progress lines, acting before re-reading,
riding out an unreachable adapter with reconnects and TDengine's transient answers, `settle`, and what a timed-out
wait carries."""

from __future__ import annotations

import pytest

from components.tdengine import wait
from components.tdengine.errors import AdminUnreachable, ClusterError, TDengineError, WaitTimedOut
from components.tdengine.wait import Deadline, Pending, Stall


class Clock:
    """Time moves only when the wait sleeps (or a probe says so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def run(probe, clock: Clock, *, seconds: float = 10.0, **kwargs):
    lines: list[str] = []
    deadline = Deadline.after(seconds, "readyTimeoutSeconds", clock=clock)
    kwargs.setdefault("poll", 1.0)
    result = wait.until(
        "the wait", probe, deadline=deadline, progress=lines.append, clock=clock, sleep=clock.sleep, **kwargs
    )
    return result, lines


def test_returns_the_probes_result_once_it_is_not_pending():
    clock = Clock()
    answers = iter([Pending("1 left"), Pending("1 left"), "done"])
    result, lines = run(lambda _t: next(answers), clock)
    assert result == "done" and clock.slept == [1.0, 1.0] and lines == []


def test_the_deadline_raises_with_the_last_observation_and_the_hint():
    clock = Clock()
    rounds = iter(range(100))

    def probe(_t: float) -> Pending:
        return Pending(f"round {next(rounds)}", hint="Re-run to keep waiting.")

    with pytest.raises(WaitTimedOut) as err:
        run(probe, clock, seconds=3.0)
    assert str(err.value) == (
        "the wait did not finish within 3s (readyTimeoutSeconds). Observed: round 3. Re-run to keep waiting."
    )
    assert (err.value.what, err.value.observed, err.value.waited) == ("the wait", "round 3", 3.0)


def test_a_stall_raises_when_the_mark_has_not_moved_for_its_seconds():
    clock = Clock()
    marks = iter([6, 5, 5, 5, 5, 5])

    def probe(_t: float) -> Pending:
        left = next(marks)
        return Pending(f"{left} vnodes", mark=left)

    with pytest.raises(WaitTimedOut) as err:
        run(probe, clock, stall=Stall(3.0, "stallTimeoutSeconds", "no vnode moved"))
    assert str(err.value) == "the wait stalled: no vnode moved for 3s (stallTimeoutSeconds). Observed: 5 vnodes."
    assert clock.now == 104.0  # the mark last moved at 101


def test_notes_are_printed_when_the_mark_changes_only():
    clock = Clock()
    marks = iter([6, 6, 5, None, None])

    def probe(_t: float) -> Pending | str:
        left = next(marks, "end")
        if left == "end":
            return "drained"
        return Pending("x", mark=left, note=f"{left} left" if left is not None else "")

    _result, lines = run(probe, clock)
    assert lines == ["6 left", "5 left"]


def test_a_none_mark_restarts_the_stall_clock():
    clock = Clock()
    marks = iter([None] * 8 + ["done"])

    def probe(_t: float) -> Pending | str:
        mark = next(marks)
        return "done" if mark == "done" else Pending("creating", mark=mark)

    assert run(probe, clock, stall=Stall(2.0, "stallTimeoutSeconds", "nothing"))[0] == "done"


def test_an_action_is_taken_after_the_checks_and_read_again_at_once():
    clock = Clock()
    taken: list[float] = []
    answers = iter(["act", "act", "wait", "done"])

    def probe(_t: float) -> Pending | str:
        answer = next(answers)
        if answer == "act":
            return Pending("dnode online", act=lambda: taken.append(clock.now))
        return "done" if answer == "done" else Pending("dropping")

    assert run(probe, clock)[0] == "done"
    assert taken == [100.0, 100.0] and clock.slept == [1.0]  # no sleep after an action


def test_nothing_is_sent_once_the_deadline_has_passed():
    clock = Clock()
    taken: list[str] = []

    def probe(_t: float) -> Pending:
        clock.now += 5.0  # a slow read
        return Pending("online", act=lambda: taken.append("drop dnode 4"))

    with pytest.raises(WaitTimedOut):
        run(probe, clock, seconds=8.0)
    assert taken == ["drop dnode 4"]  # the first round was in time, the second was not


def test_an_unreachable_adapter_is_ridden_out_with_reconnects_until_it_answers():
    clock = Clock()
    reconnects: list[float] = []
    outage = iter([True, True, False])

    def probe(_t: float) -> str:
        if next(outage):
            raise AdminUnreachable("cannot reach taosAdapter at http://127.0.0.1:1")
        return "state"

    result, _ = run(probe, clock, reconnect=lambda: reconnects.append(clock.now))
    assert result == "state" and clock.slept == [wait.RECONNECT_DELAY] * 2 and len(reconnects) == 2


def test_an_unreachable_adapter_until_the_deadline_raises_with_the_cause_kept():
    clock = Clock()

    def probe(_t: float) -> str:
        raise AdminUnreachable("cannot reach taosAdapter at http://127.0.0.1:1")

    def reconnect() -> None:
        raise ClusterError("no ready pod to port-forward to")  # not yet: the next round tries again

    with pytest.raises(WaitTimedOut) as err:
        run(probe, clock, seconds=1.0, reconnect=reconnect)
    assert str(err.value) == (
        "the wait: taosAdapter unreachable until the deadline: cannot reach taosAdapter at http://127.0.0.1:1"
    )
    assert isinstance(err.value.__cause__, AdminUnreachable) and err.value.observed.startswith("cannot reach")


def test_without_reconnect_an_unreachable_adapter_is_not_a_wait():
    with pytest.raises(AdminUnreachable):
        run(lambda _t: (_ for _ in ()).throw(AdminUnreachable("down")), Clock())


def test_running_out_names_the_wait():
    """Every wait ends in the one `WaitTimedOut`; which wait ran out is its `what` (the tests' `run` calls it
    "the wait"; a drain's is `drain of <pod>`)."""
    with pytest.raises(WaitTimedOut, match=r"^the wait") as err:
        run(lambda _t: Pending("dropping"), Clock(), seconds=1.0)
    assert err.value.what == "the wait" and err.value.observed == "dropping"


def test_settle_returns_the_last_value_at_the_deadline_and_beats_the_heartbeat():
    clock = Clock()
    lines: list[str] = []
    seen = iter(range(100))

    def probe(_t: float) -> Pending:
        n = next(seen)
        return Pending(f"waiting for round {n}", value=n)

    deadline = Deadline.after(5.0, start=clock.now - 1.0, clock=clock)  # one second already gone
    last = wait.settle(
        "failover", probe, deadline=deadline, poll=1.0, progress=lines.append, heartbeat=2.0, start=clock.now - 1.0,
        clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    assert last == 4 and lines == ["failover: 2s, waiting for round 1", "failover: 4s, waiting for round 3"]


def test_a_deadline_sooner_than_another():
    clock = Clock()
    a, b = Deadline.after(5, clock=clock), Deadline.after(30, "drainTimeoutSeconds", clock=clock)
    assert a.sooner(b) is a and b.sooner(a) is a and b.describe() == "30s (drainTimeoutSeconds)"


VNODE_CLOSED = TDengineError(1283, "Vnode is closed or removed", "select * from information_schema.ins_disk_usage")


def test_a_transient_answer_is_read_again_a_poll_later_and_said_once():
    """0x0503 while vnodes move (the scale-in preflight of issue 18): read again, not a failure."""
    clock = Clock()
    answers = iter([VNODE_CLOSED, VNODE_CLOSED, VNODE_CLOSED, "layout"])

    def probe(_t: float) -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    result, lines = run(probe, clock, poll=2.0)
    assert result == "layout" and clock.slept == [2.0, 2.0, 2.0]
    assert lines == [
        "the wait: TDengine answered 0x0503 (Vnode is closed or removed), which passes by itself: reading again"
    ]


def test_a_permanent_answer_ends_the_wait_at_once():
    clock = Clock()

    def probe(_t: float) -> str:
        raise TDengineError(1345, "Vnode is offline")

    with pytest.raises(TDengineError, match="Vnode is offline"):
        run(probe, clock)
    assert clock.slept == []


def test_a_transient_answer_until_the_deadline_or_the_stall_raises_with_it():
    def probe(_t: float) -> str:
        raise VNODE_CLOSED

    with pytest.raises(WaitTimedOut) as err:
        run(probe, Clock(), seconds=3.0)
    assert str(err.value) == (
        "the wait: TDengine kept answering 0x0503 (Vnode is closed or removed) until the deadline, "
        "3s (readyTimeoutSeconds)"
    )
    assert err.value.__cause__ is VNODE_CLOSED and "0x0503" in err.value.observed
    with pytest.raises(WaitTimedOut, match="stalled: TDengine kept answering 0x0503"):
        run(probe, Clock(), stall=Stall(2.0, "stallTimeoutSeconds", "no vnode moved"))
