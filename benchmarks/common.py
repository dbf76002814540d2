"""What every benchmark shares: timing by median, one result row format, the table."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from optimizers import memory

# The benchmarks are programs, like the app and the CLI: they run under the allocator
# settings the app and the CLI start with (importing optimizers no longer sets them).
memory.tune()


@dataclass
class Row:
    """One line of the results table.

    ``ours`` and ``peer`` are in ``unit``; ``ratio`` is always ours / peer, so for
    times smaller is better and for rates (fps) larger — ``higher_is_better`` says which.
    """

    benchmark: str
    ours: float
    unit: str
    goal: str
    met: bool
    peer: float | None = None
    peer_name: str = ""
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.peer is None or self.peer == 0:
            return None
        return self.ours / self.peer

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d


@contextlib.contextmanager
def torch_one_thread():
    """torch on one thread inside the block (numpy runs on one core: compare like with like);
    its own setting back afterwards, so that no module's choice leaks into the next."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def median_seconds(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:.1f} {unit}"


def table(rows: list[Row]) -> str:
    """A Markdown table of the rows (printed by `make bench`, pasted into the README)."""
    lines = [
        "| benchmark | optviz | peer (same run) | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        peer = f"{fmt(r.peer, r.unit)} ({r.peer_name})" if r.peer is not None else "—"
        ratio = f"{r.ratio:.3g}×" if r.ratio is not None else "—"
        lines.append(
            f"| {r.benchmark} | {fmt(r.ours, r.unit)} | {peer} | {ratio} | {r.goal} | "
            f"{'yes' if r.met else '**no**'} |"
        )
    return "\n".join(lines)


def report(rows: list[Row]) -> None:
    """A module run on its own (``python -m benchmarks.bench_x``): its table, then each
    note once."""
    print(table(rows))
    shown = set()
    for r in rows:
        if r.note and r.note not in shown:
            print(f"- {r.benchmark}: {r.note}")
            shown.add(r.note)
