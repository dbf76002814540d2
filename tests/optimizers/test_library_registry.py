"""Every rule of pytorch-optimizer's registry (and torch.optim's, optax's) on every built-in
surface: finite or flagged ``diverged_at``, no exception, no warning; refused ones have
a reason. 20 steps from each surface's start keep it to well under a minute."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from optimizers import OPTIMIZERS, get_optimizer, library, run
from optimizers.colours import clear_of
from surfaces import SURFACES

pytest.importorskip("torch")
pytest.importorskip("pytorch_optimizer")
pytest.importorskip("optax")

STEPS = 20


def _names():
    return sorted(library.available())


@pytest.mark.parametrize("name", _names())
def test_every_library_rule_draws_or_is_refused_with_a_reason(name):
    reason = library.refused().get(name)
    if reason is not None:
        assert len(reason) > 10 and "\n" not in reason
        s = SURFACES["quadratic"]
        with pytest.raises(ValueError, match=f"^{name} (is refused|cannot be built|failed at)"):
            run(get_optimizer(name), s, s.start, STEPS)
        return
    opt = get_optimizer(name)
    for s in SURFACES.values():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing printed, whatever the category
            tr = run(opt, s, s.start, STEPS)
        if tr.diverged_at is None:
            assert np.isfinite(tr.points).all() and np.isfinite(tr.losses).all(), s.name
        else:
            assert 0 <= tr.diverged_at <= STEPS
            assert np.isfinite(tr.points[: tr.diverged_at]).all()


def test_most_of_pytorch_optimizer_draws():
    po = [n for n in library.available() if n.startswith("pytorch_optimizer:")]
    refused = [n for n in po if n in library.refused()]
    assert len(po) >= 100 and len(refused) < len(po) // 5


def test_every_library_colour_is_clear_of_the_notes_rules():
    """A library rule next to a built-in one is told apart: torch:AdamW's hashed hue was
    9 ΔE from Adagrad's blue."""
    builtins = [OPTIMIZERS[n].colour for n in OPTIMIZERS]
    names = _names()
    assert len(names) > 100
    close = [n for n in names if not clear_of(library.colour_for(n), builtins)]
    assert close == []
    assert library.colour_for("torch:AdamW") == library.colour_for("torch:AdamW")  # stable


def test_library_rules_in_one_scene_get_colours_told_apart():
    """Hashed hues met in a scene: torch:RMSprop and optax:adamw were one red (#b62620),
    torch:SGD, torch:Adam, optax:sgd and pytorch_optimizer:Lamb four greens."""
    from viz.scene import Scene
    from viz.ui import callbacks

    names = ["torch:SGD", "torch:Adam", "optax:sgd", "pytorch_optimizer:Lamb"]
    names += ["torch:RMSprop", "optax:adamw", "sgd", "adam"]
    assert library.colour_for("torch:RMSprop") == library.colour_for("optax:adamw")
    sc = Scene.from_args("beale", names, [], steps=10)
    colours = [r.colour for r in sc.resolved_runs()]
    for i, c in enumerate(colours):
        assert clear_of(c, colours[:i] + colours[i + 1 :]), (names[i], c)
    assert colours[0] == library.colour_for("torch:SGD")  # the first keeps its own
    assert colours[-2:] == [OPTIMIZERS["sgd"].colour, OPTIMIZERS["adam"].colour]
    # the page draws the same colours as the scene (the export, the link, the CLI)
    s = callbacks.Settings(
        surface="beale", optimizers=names, steps="10", start_x="1", start_y="1.5"
    )
    out = callbacks.compute(s)
    assert out.ok, out.messages
    assert [r["colour"] for r in out.traj["runs"]] == colours
