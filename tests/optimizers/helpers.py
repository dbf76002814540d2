"""Small surfaces the optimizer tests share."""

from __future__ import annotations

from surfaces.base import Surface


def no_hessian_surface(name: str = "flat_no_hessian") -> Surface:
    """The bowl x² + y² with its gradient but no Hessian (``d2f=None``)."""
    return Surface(
        name=name,
        label="No Hessian",
        description="",
        latex="",
        f=lambda x, y: x * x + y * y,
        df=lambda x, y: (2 * x, 2 * y),
        d2f=None,
        x_range=(-1.0, 1.0),
        y_range=(-1.0, 1.0),
    )
