"""A scene an analysis panel asks the page to show (the tuned race, a phase-diagram
cell): the panels write its link-codec data into the ``APPLY_SCENE`` store (defined in
``viz.ui.panels.tune``), and this callback sets every control from it through the path
of a preset or a share link (``callbacks.scene_controls``), so the race runs again with
it. A module of its own: panels cannot import ``callbacks`` (it imports the layout,
which imports the panels).
"""

from __future__ import annotations

from dash import Input, no_update

from viz.scene import link
from viz.ui import callbacks
from viz.ui.panels.tune import APPLY_SCENE


def controls_of(data) -> dict:
    """The controls for the scene ``data`` (link-codec dict); nothing for anything else."""
    if not isinstance(data, dict):
        return {}
    try:
        scene = link.scene_from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return {}  # not a scene the page can show (share.read's reading of a bad link)
    return callbacks.scene_controls(scene)


def register(app) -> None:
    outs = callbacks.control_outputs(dup=True)

    @app.callback(
        output=outs, inputs={"data": Input(APPLY_SCENE, "data")}, prevent_initial_call=True
    )
    def _apply(data):
        got = controls_of(data)
        return {k: got.get(k, no_update) for k in outs}
