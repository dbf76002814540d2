"""Update rules as pure (init, step) pairs, their registry, schedules and run().

>>> from optimizers import get_optimizer, run
>>> from surfaces import get_surface
>>> traj = run(get_optimizer("sgd", lr=0.1), get_surface("quadratic"), (1.0, 1.0), 10)
>>> traj.points.shape
(11, 2)
"""

from __future__ import annotations

import importlib

from optimizers import memory, schedules  # noqa: F401 - memory.tune() is the apps' to call
from optimizers.base import OPTIMIZERS, HyperSpec, Optimizer, RuleInfo
from optimizers.library import available, from_optax, from_torch
from optimizers.run import Trajectory, run
from optimizers.typed import RuleError, from_rule

# One module per rule; importing it registers it. The order is the UI's order.
RULES = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "nadam",
    "amsgrad",
    "lion",
    "newton",
)
for _name in RULES:
    try:
        importlib.import_module(f"optimizers.{_name}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a rule is being written
        if exc.name != f"optimizers.{_name}":
            raise


def get_optimizer(name: str, **hyper) -> Optimizer:
    """The rule ``name`` with ``hyper`` over its defaults; ``ValueError`` on a bad name or value."""
    if not isinstance(name, str):
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    # Prefixed names (torch:Adam, pytorch_optimizer:Lamb, optax:adamw) come from
    # optimizers.library, whose message says why one is missing (e.g. how to install it).
    return OPTIMIZERS.find(name).build(**hyper)


__all__ = [
    "OPTIMIZERS",
    "HyperSpec",
    "Optimizer",
    "RuleError",
    "RuleInfo",
    "Trajectory",
    "available",
    "from_optax",
    "from_rule",
    "from_torch",
    "get_optimizer",
    "run",
    "schedules",
]
