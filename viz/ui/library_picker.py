"""The optimizer picker's share of other libraries' rules (``optimizers.library``).

Every rule of the installed libraries that can draw a path (refused ones left out)
joins the picker after the notes' rules, each with its own colour, searchable by name,
and a line under the picker counts them by library ("113 more from pytorch-optimizer
4.1.0, …"). Nothing here when none of torch, pytorch-optimizer, optax is installed.
"""

from __future__ import annotations

import functools

from optimizers import OPTIMIZERS, library


@functools.cache
def entries() -> tuple[tuple[str, str, str], ...]:
    """``(name, colour, source)`` of each drawable library rule, grouped by library."""
    return tuple((n, OPTIMIZERS[n].colour, src) for n, src in library.drawable().items())


def options(make_option) -> list[dict]:
    """The picker's options for the library rules; ``make_option(value, label, colour)``."""
    out = []
    for name, colour, source in entries():
        opt = make_option(name, name, colour)
        opt["search"] = f"{name} {source}"
        out.append(opt)
    return out


def note() -> str:
    """``"113 more from pytorch-optimizer 4.1.0, 13 from torch.optim 2.13.0: type to search"``."""
    counts: dict[str, int] = {}
    for _, _, source in entries():
        counts[source] = counts.get(source, 0) + 1
    if not counts:
        return ""
    parts = [
        f"{n} {'more ' if i == 0 else ''}from {src}"
        for i, (src, n) in enumerate(sorted(counts.items(), key=lambda kv: -kv[1]))
    ]
    return ", ".join(parts) + ": type a name to search"
