"""A budget for one request that runs optimizers: a cap on work and a deadline.

Work is counted in point-steps, one gradient step of one point: a run of B starts for
S steps is B × S, a learning-rate sweep R rules × L rates × S steps, a convergence map
n² starts × S steps, a scene of K runs K × S.

>>> b = Budget(max_work=1_000, seconds=5.0)
>>> b.check(10 * 50, "the sweep", "use fewer rates")   # fits: nothing happens
>>> b.check(10 * 500, "the sweep", "use fewer rates")
Traceback (most recent call last):
...
optimizers.budget.BudgetError: the sweep asks for 5,000 steps; the limit is 1,000: use fewer rates

- ``check(work, what, how)`` refuses BEFORE anything runs: the caller computes the work
  from the request alone and the message says how to ask for less.
- ``tick()`` enforces the deadline INSIDE the loops: :func:`optimizers.run.run` calls it
  every step for batches of ``TICK_BATCH`` starts or more and every ``TICK_EVERY``
  steps otherwise, so it costs one ``time.monotonic()`` per ~0.1 ms of work or more; the
  maps and the sweep pass their budget on to run(). Past the deadline, or once
  ``cancelled()`` returns True (the client has gone), it raises ``BudgetError``. Work
  may overrun the deadline by one step of the whole batch (~0.25 s of CPU for a Newton
  step of a 200×200 map on the costliest user function measured, ~0.3 s past a 2 s
  deadline on the loaded VM).
- ``report(fraction, seconds)``, if given, hears how far the request has got: every
  ``tick(work)`` adds the point-steps done since the last one, and at most every
  ``REPORT_EVERY`` seconds the share of the work last checked is passed on (a page's
  progress bar, ``viz.ui.progress``). A reporter must not raise: progress is a courtesy
  that never stops the computation.
- The clock starts when the budget is made: one budget per request, shared by every run
  of that request (a sweep's rules, a scene's runs).
- ``BudgetError`` is a ``ValueError``, so every place that shows a bad input's message
  shows it; its ``reason`` is ``"work"``, ``"deadline"`` or ``"cancelled"``.
- A budget never changes a result: a run that finishes within it returns exactly what
  it returns without one.

The limits per kind of request are decided once, in :data:`LIMITS` (``Budget.of(kind)``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


class BudgetError(ValueError):
    """A request asked for more work or time than its budget; the text says what to change."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason  # "work", "deadline" or "cancelled"


@dataclass(frozen=True)
class Limit:
    """The budget of one kind of request: point-steps and seconds of wall clock."""

    max_work: int
    seconds: float


# Chosen from measurements on the 2-core VM, CPU time (wall time under a load of ~11):
# the honest maxima of the brief fit with room, i.e. a 200×200 map of 500 steps 0.55 s
# (2.2 s), a sweep of 8 rules × 50 rates × 500 steps 0.1 s (0.3 s), of 12 × 200 × 2,000
# 0.7-1.6 s (2.3-5.8 s), a scene of 12 runs × 5,000 steps 0.4 s (1.4 s), 6.6 s (25 s) on
# the network surface. The audit's requests do not: a 480-rule sweep is over the cap, a
# Newton map on a nested user function (minutes) stops at the deadline. Every deadline
# stays under the server's 60 s worker timeout.
def work(runs: int, rows: int, steps: int, step_cost: int = 0, row_cost: int = 0) -> int:
    """Point-steps of ``runs`` sets of hyperparameters × ``rows`` starts × ``steps``, a
    step of each set's batch costing ``step_cost`` more and each row's ``row_cost`` more
    (``RuleInfo.step_work``: both 0 for a built-in rule, whose sets share one batch)."""
    return runs * (rows * (1 + row_cost) + step_cost) * steps


def one_at_a_time(infos, each: str | None = "set of values") -> str:
    """For a request's message: which of its rules (``RuleInfo``) run each set of values
    (or ``each`` other part) on its own (library rules, ``step_cost``), so that a size
    fine for the others is not; ``each=None``: rules whose one batch costs more a step.
    Rules that step each start on its own (``row_cost``) are named as such."""
    said = []
    slow = [i for i in infos if i.step_cost]
    if slow:
        names = ", ".join(dict.fromkeys(i.name for i in slow))
        cost = slow[0].step_cost
        if each is None:
            said.append(f"; a step of {names} counts {cost:,} more than its rows")
        else:
            said.append(
                f"; {names} runs each {each} on its own: each of its steps counts {cost:,} more"
            )
    alone = [i for i in infos if i.row_cost]
    if alone:
        names = ", ".join(dict.fromkeys(i.name for i in alone))
        cost = alone[0].row_cost
        said.append(f"; {names} steps each start on its own: a start's step counts {cost:,} more")
    return "".join(said)


def runs_work(infos, steps: int) -> int:
    """Point-steps of one run from one start per rule (``RuleInfo``) over ``steps``: a
    scene's runs, each step costing its rule's ``step_work(1)``."""
    return sum(i.step_work(1) for i in infos) * steps


def charged(budget: Budget | None, step_work: int, rows: int):
    """What a run of ``rows`` rows ticks: ``budget``, or a view of it whose ticks count
    ``step_work`` (``RuleInfo.step_work(rows)``) a step of the batch instead of ``rows``,
    so the deadline and the progress see a library rule's cost as the check did."""
    if budget is None or step_work == rows:
        return budget
    return _Charged(budget, step_work / rows)


class _Charged:
    """A budget's ticks, each point-step counting ``factor`` of them (see :func:`charged`)."""

    def __init__(self, budget: Budget, factor: float):
        self.budget, self.factor = budget, factor

    def tick(self, work: int = 0) -> None:
        self.budget.tick(round(work * self.factor))


SCENE_WORK = 12 * 5_000 * 2_001
LIMITS: dict[str, Limit] = {
    # the scene's runs: 12 runs × 5,000 steps (viz.scene.validate's maxima), each step of
    # a library rule 2,001 (RuleInfo.step_work): 120 M, ~16 s of torch steps
    "recompute": Limit(max_work=SCENE_WORK, seconds=30.0),
    # a map: 200 × 200 starts × 2,000 steps (optimizers.maps' maxima)
    "map": Limit(max_work=80_000_000, seconds=15.0),
    # a sweep: 12 rules × 200 rates × 2,000 steps (the sweep panel's maxima)
    "sweep": Limit(max_work=5_000_000, seconds=15.0),
    # an export's runs (a background job at low priority: its wall clock runs slower)
    "export": Limit(max_work=SCENE_WORK, seconds=45.0),
    # a share link opened: the scene it holds, run once
    "link": Limit(max_work=SCENE_WORK, seconds=30.0),
    # tuning a race: 6 rules × 65 trials × 9 starts × 500 steps is 1.8 M (0.3 s); a
    # torch rule's 65 trials × 200 steps count 26 M (~3 s)
    "tune": Limit(max_work=40_000_000, seconds=30.0),
    # a phase diagram: 200 × 200 cells × 500 steps is 20 M (~1 s), 2,000 steps 80 M
    "phase": Limit(max_work=80_000_000, seconds=30.0),
}

TICK_EVERY = 32  # steps between two looks at the clock for small batches (µs per step)
TICK_BATCH = 256  # starts from which a step is long enough to look at the clock every step
REPORT_EVERY = 0.2  # seconds between two progress reports


class Budget:
    """``max_work`` point-steps and ``seconds`` of wall clock from now; ``cancelled()``,
    if given, is asked at every tick whether the client is still there; ``report(fraction,
    seconds)``, if given, hears how far the work has got (at most every REPORT_EVERY s)."""

    def __init__(
        self,
        max_work: int,
        seconds: float,
        cancelled: Callable[[], bool] | None = None,
        report: Callable[[float, float], None] | None = None,
    ):
        if isinstance(max_work, bool) or not isinstance(max_work, int) or max_work < 0:
            raise ValueError(f"max_work must be a whole number ≥ 0, got {max_work!r}")
        if not (isinstance(seconds, int | float) and seconds > 0):
            raise ValueError(f"seconds must be a number > 0, got {seconds!r}")
        if cancelled is not None and not callable(cancelled):
            raise ValueError(f"cancelled must be callable, got {cancelled!r}")
        if report is not None and not callable(report):
            raise ValueError(f"report must be callable, got {report!r}")
        self.max_work, self.seconds, self.cancelled = max_work, float(seconds), cancelled
        self.report = report
        self.started = time.monotonic()
        self.deadline = self.started + self.seconds
        self.planned = 0  # point-steps of the last check()
        self.done = 0  # point-steps ticked since
        self._reported = self.started
        self._what, self._how = "the computation", "ask for less work"

    @classmethod
    def of(
        cls,
        kind: str,
        cancelled: Callable[[], bool] | None = None,
        report: Callable[[float, float], None] | None = None,
    ) -> Budget:
        """The budget of one request of ``kind`` (a key of :data:`LIMITS`), starting now."""
        if kind not in LIMITS:
            raise ValueError(f"unknown kind of request {kind!r}; one of: {', '.join(LIMITS)}")
        limit = LIMITS[kind]
        return cls(limit.max_work, limit.seconds, cancelled, report)

    def check(self, work: int, what: str, how: str) -> None:
        """``BudgetError`` if ``work`` point-steps exceed the cap; remembers ``what`` and
        ``how`` for the deadline's message. Call it before anything runs.

        ``what`` names the request and its sizes ("the sweep (480 rules × 200 rates ×
        2,000 steps)"); ``how`` says what to reduce ("use fewer rates, steps or optimizers").
        """
        self._what, self._how = what, how
        self.planned, self.done = work, 0
        if work > self.max_work:
            raise BudgetError(
                f"{what} asks for {work:,} steps; the limit is {self.max_work:,}: {how}",
                "work",
            )

    def tick(self, work: int = 0) -> None:
        """``BudgetError`` once the deadline has passed or the client has gone; ``work``
        point-steps were done since the last tick (for the progress report)."""
        now = time.monotonic()
        self.done += work
        if self.report is not None and now - self._reported >= REPORT_EVERY:
            self._reported = now
            self.report(self.progress, now - self.started)
        if now > self.deadline:
            raise BudgetError(
                f"stopped after {now - self.started:.1f} s: {self._what} takes longer than "
                f"the limit of {self.seconds:g} s: {self._how}",
                "deadline",
            )
        if self.cancelled is not None and self.cancelled():
            raise BudgetError(
                f"stopped after {now - self.started:.1f} s: the request was cancelled",
                "cancelled",
            )

    def unplan(self, work: int) -> None:
        """``work`` point-steps of the checked work will not be done after all (a search
        that ended early): the progress is the share of what is left to do."""
        self.planned = max(self.planned - work, self.done)

    def finish(self) -> None:
        """The checked work is done (what is left is drawing the answer): say so now."""
        self.done = max(self.done, self.planned)
        if self.report is not None:
            self._reported = time.monotonic()
            self.report(self.progress, self._reported - self.started)

    @property
    def progress(self) -> float:
        """The share of the checked work ticked so far, in [0, 1] (0 before a check)."""
        return min(self.done / self.planned, 1.0) if self.planned else 0.0

    @property
    def elapsed(self) -> float:
        """Seconds since the budget was made."""
        return time.monotonic() - self.started
