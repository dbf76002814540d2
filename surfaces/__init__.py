"""Loss landscapes: analytic surfaces, user expressions, a small network's and a logistic
regression's loss.

>>> from surfaces import SURFACES, get_surface
>>> s = get_surface("rosenbrock")
>>> s.value([1.0, 1.0])
array(0.)
"""

from __future__ import annotations

from surfaces import analytic, logistic, network
from surfaces.base import Surface

SURFACES: dict[str, Surface] = {s.name: s for s in (make() for make in analytic.ALL)}
SURFACES["noisy_moons"] = network.noisy_moons()  # a real network's loss (surfaces.network)
SURFACES["logistic_moons"] = logistic.logistic_moons()  # Radford's (surfaces.logistic)


def get_surface(name: str) -> Surface:
    """The registered surface called ``name``; ``KeyError`` naming the choices otherwise."""
    try:
        return SURFACES[name]
    except (KeyError, TypeError):
        choices = ", ".join(sorted(SURFACES))
        raise KeyError(f"unknown surface {name!r}; choose one of: {choices}") from None


def from_expression(text: str, x_range=(-2.0, 2.0), y_range=(-2.0, 2.0), **kwargs) -> Surface:
    """A surface from user text such as ``"x**2 + 3*y**2"`` (see ``surfaces.expression``)."""
    from surfaces.expression import from_expression as build

    return build(text, x_range=x_range, y_range=y_range, **kwargs)


__all__ = ["SURFACES", "Surface", "from_expression", "get_surface"]
