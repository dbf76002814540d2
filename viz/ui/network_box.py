"""The network scene's controls in the Surface section: data set, widths, activation,
plane, points, batch and seed (``viz.scene.landscape.LandscapeSpec``), shown only while
the surface list says "Network". The optimizers, their cards and the steps are the
page's own; ``spec_of`` joins the two into the spec the scene is built from.
"""

from __future__ import annotations

from dash import dcc, html

from optimizers import OPTIMIZERS
from viz.scene import landscape as L
from viz.ui import ids
from viz.ui.panels.common import text_box

NETWORK = "network"  # the surface list's value for the network scene
LABEL = "Network (MLP, trained in full dimension)"
HIDDEN = {"display": "none"}
# The boxes, by the name of the Settings field (and of ``scene_controls``) each fills.
FIELDS = {
    "net_data": ids.NETWORK_DATA,
    "net_widths": ids.NETWORK_WIDTHS,
    "net_act": ids.NETWORK_ACT,
    "net_plane": ids.NETWORK_PLANE,
    "net_samples": ids.NETWORK_SAMPLES,
    "net_batch": ids.NETWORK_BATCH,
    "net_seed": ids.NETWORK_SEED,
    "net_noise": ids.NETWORK_NOISE,
    "net_grid": ids.NETWORK_GRID,
    "net_ref": ids.NETWORK_REF,
}
FORMULA = (
    "The mean cross-entropy of your network, C(θ_ref + a·d₁ + b·d₂), over the plane of its "
    "runs; each rule trains every weight, and its path is drawn projected on the plane."
)
PLANE_LABELS = {"pca": "PCA", "random": "random"}  # of the paths; filter-normalised


REF_OPTIONS = [{"label": "first rule's end", "value": ""}] + [
    {"label": f"{info.label}'s end", "value": name}
    for name, info in OPTIMIZERS.items()
    if not info.second_order
]


def values_of(spec: L.LandscapeSpec) -> dict:
    """What each box shows for ``spec`` (keys of ``FIELDS``)."""
    return {
        "net_data": spec.data,
        "net_widths": ",".join(map(str, spec.widths)),
        "net_act": spec.activation,
        "net_plane": spec.plane,
        "net_samples": str(spec.samples),
        "net_batch": "" if spec.batch_size is None else str(spec.batch_size),
        "net_seed": str(spec.seed),
        "net_noise": f"{spec.noise:g}",
        "net_grid": str(spec.grid),
        "net_ref": spec.ref,
    }


def spec_of(values: dict, rules, steps) -> L.LandscapeSpec:
    """The spec the boxes, the chosen rules and the steps ask for; ``ValueError`` naming the
    first bad box (never evaluated: numbers and lists are parsed by ``landscape.check``)."""
    v = values if isinstance(values, dict) else {}
    defaults = L.LandscapeSpec()

    def text(key, what, default):
        value = v.get(key, default)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValueError(f"{what}: got {str(value)[:40]!r}")
        return value

    batch = v.get("net_batch")
    batch = None if batch is None or (isinstance(batch, str) and not batch.strip()) else batch
    widths = v.get("net_widths")
    if not isinstance(widths, str) or not widths.strip():
        raise ValueError("widths: write the layer widths, e.g. 2,16,16,1")
    spec = L.LandscapeSpec(
        data=text("net_data", "data set", defaults.data),
        samples=text("net_samples", "points", defaults.samples),
        widths=L.parse_widths(widths.replace(" ", "")),
        activation=text("net_act", "activation", defaults.activation),
        rules=tuple(rules),
        steps=steps,
        batch_size=batch,
        seed=text("net_seed", "seed", defaults.seed),
        plane=text("net_plane", "plane", defaults.plane),
        noise=text("net_noise", "noise", defaults.noise),
        grid=text("net_grid", "grid", defaults.grid),
        ref=text("net_ref", "through", ""),
    )
    return L.check(spec)


def _dropdown(id_, options, value) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=id_, options=options, value=value, clearable=False, searchable=False, className="net-dd"
    )


def _text(id_, value, placeholder="", mode="numeric") -> dcc.Input:
    return text_box(id_, value, placeholder, mode=mode)


def _field(label, control, hint="") -> html.Div:
    return html.Div(
        [html.Label(label, htmlFor=control.id), control], className="field net-field", title=hint
    )


def box() -> html.Div:
    """The controls, hidden until the network scene is chosen."""
    d = values_of(L.LandscapeSpec())
    return html.Div(
        [
            _field(
                "widths",
                _text(ids.NETWORK_WIDTHS, d["net_widths"], "2,16,16,1", "text"),
                f"2 inputs, up to {L.MAX_HIDDEN_LAYERS} hidden layers of at most "
                f"{L.MAX_WIDTH} units, 1 output",
            ),
            _field(
                "data",
                _dropdown(
                    ids.NETWORK_DATA, [{"label": n, "value": n} for n in L.DATASETS], "moons"
                ),
            ),
            _field(
                "activation",
                _dropdown(
                    ids.NETWORK_ACT,
                    [{"label": a, "value": a} for a in L.ACTIVATION_CHOICES],
                    "tanh",
                ),
            ),
            _field(
                "plane",
                _dropdown(
                    ids.NETWORK_PLANE,
                    [{"label": t, "value": k} for k, t in PLANE_LABELS.items()],
                    d["net_plane"],
                ),
                "the plane every path is drawn in, through the first rule's final network: "
                "the paths' two principal directions, or two random filter-normalised ones",
            ),
            _field(
                "points",
                _text(ids.NETWORK_SAMPLES, d["net_samples"]),
                f"points in the data set, 10 to {L.MAX_SAMPLES:,}",
            ),
            _field(
                "batch",
                _text(ids.NETWORK_BATCH, "", "full"),
                "mini-batch size (each rule sees the same draws); empty: the full data set",
            ),
            _field("seed", _text(ids.NETWORK_SEED, d["net_seed"]), "data, initialisation, batches"),
            _field(
                "noise",
                _text(ids.NETWORK_NOISE, d["net_noise"], "0.2", "decimal"),
                "the data's noise: each point moves by this times a normal draw (0 to 2)",
            ),
            _field(
                "grid",
                _text(ids.NETWORK_GRID, d["net_grid"]),
                f"landscape points per side, {L.MIN_GRID} to {L.MAX_GRID}",
            ),
            _field(
                "through",  # the last box: a row of its own (the CSS's first and last)
                _dropdown(ids.NETWORK_REF, REF_OPTIONS, ""),
                "θ_ref, the plane's centre: the final network of this rule (one of those chosen)",
            ),
            html.Div(id=ids.NETWORK_MSG, className="msg", role="status"),
            html.Div(id=ids.NETWORK_NOTE, className="hint net-note"),
        ],
        id=ids.NETWORK_BOX,
        className="network-box",
        style=HIDDEN,
    )


def note(res: L.Result) -> str:
    """The plane in words: what it goes through and how much of the paths it holds."""
    w, ref = res.model.size, OPTIMIZERS[res.ref_rule].label
    if res.plane.explained is None:
        return (
            f"{w:,} weights; random filter-normalised directions a, b through "
            f"{ref}'s final network; computed in {res.seconds:.2f} s"
        )
    e1, e2 = res.plane.explained
    return (
        f"{w:,} weights; the PCA plane of the paths through {ref}'s final network "
        f"holds {e1:.1%} + {e2:.1%} of their variance; computed in {res.seconds:.2f} s"
    )
