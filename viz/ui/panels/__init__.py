"""Analysis panels below the main views, each a module with ``layout()`` and ``register(app)``.

They read the page's scene from its store (``ids.SCENE_STATE``, written by
``viz.ui.callbacks.compute``) through ``common.scene_of``; they never re-parse the
sidebar's inputs.
"""

from __future__ import annotations

from viz.ui.panels import accuracy, convergence, netstrip, network, phase, sweep, tune


def register(app) -> None:
    convergence.register(app)
    sweep.register(app)
    network.register(app)
    accuracy.register(app)
    tune.register(app)
    phase.register(app)
    netstrip.register(app)  # the network scene's strip under the views (Li et al. 2018)
