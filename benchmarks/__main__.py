"""`make bench`: run every benchmarks/bench_*.py, print one table, keep the results.

    python -m benchmarks                    # every module
    python -m benchmarks --only maps        # a subset (repeat --only, or maps,gif)
    python -m benchmarks --readme-only      # rewrite the README section from results.json
    python -m benchmarks --repeats 5        # passed to each main() that takes `repeats`

Each module's ``main()`` returns a list of ``benchmarks.common.Row`` (a dict with Row's
fields, or a list of them, is accepted too). Results go to ``benchmarks/results.json``
per module, so ``--only`` refreshes those modules and keeps the others' last figures;
the README's performance section (between ``<!-- bench:start -->`` and
``<!-- bench:end -->``) is generated from that file. A module that fails is reported
(and the exit status is 1) without stopping the others.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import importlib.metadata
import inspect
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from benchmarks.common import Row, table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
PACKAGES = (
    "numpy",
    "torch",
    "numba",
    "matplotlib",
    "plotly",
    "dash",
    "pillow",
    "selenium",
    "sympy",
)
ROW_FIELDS = {f.name for f in dataclasses.fields(Row)}
# `make bench` must finish within 10 minutes on 2 shared cores. torch.optim on 10,000 starts
# takes 10-50 s per run and loses by 2-70×, so one timed run (after a warm-up where the
# module does one) is enough for the verdict; every other module keeps its own default
# (bench_gif times its slow peer once itself and keeps a median of its own runs).
# --repeats overrides all.
DEFAULT_REPEATS = {"optimizers": 1}


def discover() -> list[str]:
    """Short names of the benchmark modules (``bench_maps.py`` -> ``maps``), sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def as_rows(result) -> list[Row]:
    """A module's result as Rows: Rows, dicts with Row's fields, or a list of either."""
    items = result if isinstance(result, list | tuple) else [result]
    rows = []
    for item in items:
        if isinstance(item, Row):
            rows.append(item)
        elif isinstance(item, dict) and {"benchmark", "ours", "unit"} <= item.keys():
            rows.append(Row(**{k: v for k, v in item.items() if k in ROW_FIELDS}))
        else:
            raise TypeError(f"main() must return Row objects, got {type(item).__name__}")
    return rows


def _torch_threads():
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def run_module(name: str, repeats: int | None) -> dict:
    """Import ``benchmarks.bench_<name>``, call its main(), time it; never raises."""
    entry: dict = {"date": _now()}
    threads = _torch_threads()
    argv = sys.argv
    t0 = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        kwargs = {}
        if repeats is not None and "repeats" in inspect.signature(module.main).parameters:
            kwargs["repeats"] = repeats
        sys.argv = [f"benchmarks.bench_{name}"]  # a main() that parses argv sees none
        try:
            result = module.main(**kwargs)
            entry["rows"] = [r.as_dict() for r in as_rows(result)]
        finally:
            sys.argv = argv
    except (Exception, SystemExit) as exc:  # one broken benchmark must not hide the rest
        traceback.print_exc()
        entry["error"] = f"{type(exc).__name__}: {exc}"
        entry["rows"] = []
    entry["seconds"] = round(time.perf_counter() - t0, 1)
    torch = sys.modules.get("torch")
    if torch is not None and threads is not None:
        torch.set_num_threads(threads)  # no module's setting leaks into the next
    return entry


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["processor"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    return info


def versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def load_results() -> dict:
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return {"modules": {}}


def all_rows(results: dict) -> list[Row]:
    rows = []
    for entry in results.get("modules", {}).values():
        rows += as_rows(entry.get("rows", []))
    return rows


def readme_section(results: dict) -> str:
    """The README's performance section, from results.json."""
    rows = all_rows(results)
    m = results.get("machine", {})
    load = m.get("load_average")
    lines = [
        START,
        "",
        "### Performance",
        "",
        "Generated by `make bench` (`python -m benchmarks`; `--only NAME` for one module,",
        "`--readme-only` to rewrite this section from `benchmarks/results.json`). Times are",
        "medians of repeated runs, the peer measured in the same run on the same work;",
        "the machine is shared, so read the ratios rather than the absolute times.",
        "",
        f"Last run {results.get('date', '?')} on {m.get('cpus', '?')} × "
        f"{m.get('processor', '?')}, Python {m.get('python', '?')}"
        + (f", load average {load[0]:g} at the start" if load else "")
        + ".",
        "",
        table(rows) if rows else "_No results yet: run `make bench`._",
        "",
    ]
    notes, previous = [], None
    for r in rows:
        if r.note and r.note != previous:  # a module's rows often share one note
            notes.append(f"- {r.benchmark}: {r.note}")
        previous = r.note
    if notes:
        lines += ["Notes:", "", *notes, ""]
    short = [r.benchmark for r in rows if not r.met]
    if short:
        lines += [
            "Short of the goal in this run: " + "; ".join(short) + ". Where a module knows",
            "why, its note says so; wall times of CPU-bound rows also stretch with the load",
            "average (2 cores shared with other work), which the CPU times in the notes do not.",
            "",
        ]
    runs = [
        f"`bench_{k}` {v.get('date', '?')} ({v.get('seconds', 0):.0f} s)"
        for k, v in results.get("modules", {}).items()
    ]
    if runs:
        lines += ["Each module's last run: " + ", ".join(runs) + ".", ""]
    errors = {k: v["error"] for k, v in results.get("modules", {}).items() if v.get("error")}
    if errors:
        lines += ["Failed in the last run:", ""]
        lines += [f"- `bench_{k}`: {v}" for k, v in errors.items()] + [""]
    vs = ", ".join(f"{k} {v}" for k, v in results.get("versions", {}).items() if v)
    if vs:
        lines += [f"Versions: {vs}.", ""]
    lines.append(END)
    return "\n".join(lines)


def update_readme(results: dict) -> None:
    """Replace the text between the markers (placed after "## Development" if missing)."""
    text = README.read_text()
    section = readme_section(results)
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text)


def main(argv: list[str] | None = None) -> int:
    names = discover()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--only", action="append", default=[], help=f"module(s) to run: {', '.join(names)}"
    )
    parser.add_argument("--readme-only", action="store_true", help="rewrite the README only")
    parser.add_argument("--repeats", type=int, default=None, help="repeats for each main()")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    args = parser.parse_args(argv)
    results = load_results()
    if args.readme_only:
        update_readme(results)
        print(f"README section rewritten from {RESULTS.relative_to(ROOT)}")
        return 0
    chosen = [n.removeprefix("bench_") for arg in args.only for n in arg.split(",") if n]
    unknown = [n for n in chosen if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    chosen = chosen or names
    results.update(date=_now(), machine=machine(), versions=versions())
    modules = results.setdefault("modules", {})
    total = time.perf_counter()
    for name in chosen:
        print(f"== bench_{name} ...", flush=True)
        modules[name] = run_module(name, args.repeats or DEFAULT_REPEATS.get(name))
        status = modules[name].get("error", "ok")
        print(f"== bench_{name}: {modules[name]['seconds']:.0f} s, {status}", flush=True)
    # Keep the table in module order whatever order they ran in.
    results["modules"] = {k: modules[k] for k in sorted(modules) if k in names}
    results["seconds"] = round(time.perf_counter() - total, 1)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print()
    print(table(all_rows(results)))
    for r in all_rows(results):
        if r.note:
            print(f"- {r.benchmark}: {r.note}")
    print(f"\n{len(chosen)} module(s) in {results['seconds']:.0f} s; results in {RESULTS}")
    if not args.no_readme:
        update_readme(results)
    return 1 if any(modules[n].get("error") for n in chosen) else 0


if __name__ == "__main__":
    sys.exit(main())
