"""Analysis panels below the main views, each a module with ``layout()`` and ``register(app)``.

They read the page's scene from its store (``ids.SCENE_STATE``, written by
``viz.ui.callbacks.compute``) through ``common.scene_of``; they never re-parse the
sidebar's inputs.
"""

from __future__ import annotations

from viz.ui import ids, progress
from viz.ui.panels import accuracy, convergence, netstrip, network, phase, sweep, tune
from viz.ui.panels.common import register_not_for_network

# What sends each computing panel's request and what its answer writes (its progress bar
# shows in between): (id, prop, the button that must have been pressed first) and (id, prop).
STARTS = {
    "tune": [(tune.TUNE_BTN, "n_clicks", None)],
    "phase": [(phase.PHASE_BTN, "n_clicks", None)],
    "sweep": [(ids.SWEEP_BTN, "n_clicks", None), (ids.SWEEP_METRIC, "value", ids.SWEEP_BTN)],
    "map": [(ids.MAP_BTN, "n_clicks", None), (ids.MAP_COLOUR, "value", ids.MAP_BTN)],
}
ENDS = {
    "tune": [(tune.TUNE_TABLE, "children"), (tune.TUNE_MSG, "children")],
    "phase": [(phase.PHASE_GRAPH, "figure"), (phase.PHASE_MSG, "children")],
    "sweep": [(ids.SWEEP_GRAPH, "figure"), (ids.SWEEP_MSG, "children")],
    "map": [(ids.MAP_SUMMARY, "children"), (ids.MAP_MSG, "children")],
}


def register(app, manager) -> None:
    """Every panel's callbacks; the progress reports go through ``manager``'s store."""
    convergence.register(app)
    sweep.register(app)
    network.register(app)
    accuracy.register(app)
    tune.register(app)
    phase.register(app)
    register_not_for_network(  # the 2-D panels, in the network scene
        app,
        [
            (ids.MAP_MSG, ids.MAP_BTN),
            (ids.SWEEP_MSG, ids.SWEEP_BTN),
            (tune.TUNE_MSG, tune.TUNE_BTN),
            (phase.PHASE_MSG, phase.PHASE_BTN),
        ],
    )
    netstrip.register(app)  # the network scene's strip under the views (Li et al. 2018)
    progress.register(app, manager, STARTS, ENDS)
