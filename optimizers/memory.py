"""glibc's allocator, set for batches of numpy temporaries: ``tune()``, called at start-up.

Importing ``optimizers`` leaves the allocator alone (a library must not retune its host
process): the app and the command line call ``tune()`` when they start, and a program
that embeds the library may do the same.

A batched run makes a dozen fresh arrays a step, each the batch's size: 160 KB for
10,000 starts. glibc serves anything from 128 KiB up with a fresh ``mmap`` and hands
it back with ``munmap`` on free (its "dynamic" threshold rises after the first such
free, but the heap top is then trimmed back at twice that size, so the next step
faults its pages in again). Every temporary then costs its pages' faults: ~60,000 for
10,000 Adam starts × 500 steps, half the run's time. Serving arrays up to
``MMAP_THRESHOLD`` from the heap and keeping up to ``TRIM_THRESHOLD`` of freed heap
lets each step reuse the memory the last step freed (0 faults after the first step).

The cost is memory held rather than returned: a process keeps up to ``TRIM_THRESHOLD``
of freed heap. Nothing changes where glibc is not the C library, or where the user set
glibc's own malloc settings (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``GLIBC_TUNABLES``): those win. ``OPTVIZ_MALLOC=0`` leaves the allocator alone.
"""

from __future__ import annotations

import ctypes
import os
import platform

MMAP_THRESHOLD = 16 << 20  # 16 MiB: a 1,000,000-start batch's (B, 2) arrays still fit
TRIM_THRESHOLD = 64 << 20

# mallopt's parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")

applied = False  # whether tune() changed the allocator in this process


def tune(environ=os.environ) -> bool:
    """Raise glibc's mmap and trim thresholds; True if they were set (now or before)."""
    global applied
    if applied:
        return True
    if environ.get("OPTVIZ_MALLOC", "1") == "0" or any(k in environ for k in _USER_SETTINGS):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; the trim threshold only matters once the other is set.
    applied = bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return applied
