"""Share links: the whole scene lives in the URL's hash (issue 5, item 4).

Format: ``#v1=<token>``, the token being base64url (no padding) of zlib-compressed compact
JSON. Version 1 holds: preset, surface or expression (+ window), optimizers, their
hyperparameters, schedules and noise, steps, start, the arrows toggle, the tolerance and
the 3-D camera. The hash never reaches the server log and stays short (≈ 300 characters
for a three-optimizer scene).

Reading a link is hostile-input work: bounded length, bounded decompression, strict JSON
(no NaN/Infinity), and every value goes through the app's own validation layer
(``viz.scene.validate``, ``HyperSpec.check``, the schedules, the expression parser). Anything
wrong gives one message and the page keeps the default scene.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

from dash import Input, Output, Patch, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from optimizers import OPTIMIZERS
from viz.scene import validate
from viz.ui import ids

VERSION = 1
PREFIX = f"#v{VERSION}="
MAX_LINK = 8192  # characters of the hash
MAX_JSON = 65536  # bytes after decompression
SHARE_PENDING = "share-pending"  # the link's scene while it is being applied
SHARE_READY = "share-ready"  # the page's link has been read once
SHARE_WRITTEN = "share-written"  # dummy output of the address-bar update
BAD_LINK = "This link could not be read ({why}); the default scene is shown."


# ----------------------------------------------------------------------------- codec


def encode(data: dict) -> str:
    """The hash (``#v1=…``) of a share state."""
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True, allow_nan=False)
    token = base64.urlsafe_b64encode(zlib.compress(raw.encode("utf-8"), 9)).rstrip(b"=")
    return PREFIX + token.decode("ascii")


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


def decode(hash_) -> dict | None:
    """The raw JSON object of a hash; ``None`` for no link; ``ValueError`` if malformed."""
    if hash_ in (None, "", "#"):
        return None
    if not isinstance(hash_, str):
        raise ValueError("the link is not text")
    if len(hash_) > MAX_LINK:
        raise ValueError(f"the link is too long ({len(hash_):,} characters; at most {MAX_LINK:,})")
    if not hash_.startswith("#v"):
        raise ValueError("it does not start with #v1=")
    if not hash_.startswith(PREFIX):
        raise ValueError(f"unknown link version; this app reads version {VERSION}")
    token = hash_[len(PREFIX) :]
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if not token or base64.urlsafe_b64encode(packed).rstrip(b"=").decode() != token:
            raise ValueError
    except (ValueError, binascii.Error):
        raise ValueError("its data is not base64url") from None
    d = zlib.decompressobj()
    try:
        raw = d.decompress(packed, MAX_JSON)
    except zlib.error:
        raise ValueError("its data is damaged") from None
    if d.unconsumed_tail or not d.eof:
        raise ValueError("its data is damaged or too large")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError):
        raise ValueError("its data is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("its data is not an object")
    return data


# ----------------------------------------------------------------------------- state


def _scene_part(state: dict) -> dict:
    """What of the scene-state store a link carries."""
    out = {
        "p": state.get("preset") or "",
        "s": state["surface"],
        "o": list(state["optimizers"]),
        "h": state.get("hyper") or {},
        "st": state["steps"],
        "x": list(state["start"]),
    }
    if state["surface"] == validate.CUSTOM:
        out["e"] = state.get("expression") or ""
        out["w"] = [list(w) for w in state["window"]]
    if state.get("schedule"):
        out["sc"] = state["schedule"]
    if state.get("noise"):
        out["n"] = state["noise"]
    if state.get("batch_size"):
        out["b"] = state["batch_size"]
    return out


def share_state(scene_state, camera=None, arrows=False, tolerance=None) -> dict:
    """The link's content from the validated scene-state store and the view settings."""
    out = {"v": VERSION, **_scene_part(scene_state)}
    if camera:
        out["c"] = camera
    if arrows:
        out["a"] = True
    if tolerance not in (None, "", "1e-3"):
        out["t"] = tolerance
    return out


def _mapping(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object")
    return value


def _camera(value):
    cam = _mapping(value, "camera")
    clean = {}
    for part in ("eye", "up", "center"):
        if part not in cam:
            continue
        p = _mapping(cam[part], f"camera {part}")
        clean[part] = {}
        for axis in "xyz":
            v = validate.number(p.get(axis), f"camera {part}.{axis}")
            if abs(v) > 100:
                raise ValueError(f"camera {part}.{axis} must be within ±100")
            clean[part][axis] = v
    unknown = set(cam) - {"eye", "up", "center", "projection"}
    if unknown:
        raise ValueError(f"unknown camera field {sorted(unknown)[0]!r}")
    return clean or None


def check(data: dict) -> dict:
    """The link's state with every value through the app's validation (``ValueError``)."""
    from viz.ui import layout

    known = {"v", "p", "s", "e", "w", "o", "h", "st", "x", "sc", "n", "c", "a", "t", "b"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    if data.get("v") != VERSION:
        raise ValueError(f"unknown link version; this app reads version {VERSION}")
    preset = data.get("p") or ""
    if not isinstance(preset, str) or (preset and preset not in layout.presets()):
        raise ValueError(f"unknown scene {preset!r}")
    out = {"p": preset, "v": VERSION}
    if data.get("s") == validate.CUSTOM:
        w = data.get("w")
        if not isinstance(w, list) or len(w) != 2:
            raise ValueError("the window must be two pairs lo, hi")
        xr = validate.window_range(w[0], "x range")
        yr = validate.window_range(w[1], "y range")
        surf = surface = validate.expression(data.get("e"), xr, yr)
        out.update(s=validate.CUSTOM, e=surface.extra["expression"], w=[list(xr), list(yr)])
        window = (xr, yr)
    else:
        out["s"] = validate.surface(data.get("s"))
        from surfaces import SURFACES

        sc = layout.presets().get(preset)
        surf = s = SURFACES[out["s"]]
        window = (
            sc.window() if sc is not None and sc.surface == out["s"] else (s.x_range, s.y_range)
        )
    keys = validate.selection(data.get("o"))
    out["o"] = keys
    out["st"] = validate.steps(data.get("st"))
    x = data.get("x")
    if not isinstance(x, list) or len(x) != 2:
        raise ValueError("start must be a pair x, y")
    start, _ = validate.start(x[0], x[1], *window)
    out["x"] = list(start)
    hyper, scheds, noises = (
        _mapping(data.get(k), n)
        for k, n in (("h", "hyperparameters"), ("sc", "schedules"), ("n", "noise"))
    )
    out["h"], out["sc"], out["n"] = {}, {}, {}
    for key in keys:
        info = OPTIMIZERS[validate.rule_of(key)]
        h = _mapping(hyper.get(key), f"hyperparameters of {key}")
        if info.second_order and not surf.has_hessian:  # as compute would refuse it
            raise ValueError(f"{info.label} needs a Hessian; {surf.label} has none")
        specs = {s.name: s for s in info.hyper}
        for name, value in h.items():
            if name not in specs:
                raise ValueError(f"{info.label} has no hyperparameter {name!r}")
            if specs[name].is_bool and not isinstance(value, bool):
                raise ValueError(f"{info.label}: {name} must be true or false")
            out["h"].setdefault(key, {})[name] = validate.hyper(key, name, value)
        lr = {**info.defaults(), **out["h"].get(key, {})}.get("lr", 1.0)
        if key in scheds:
            s = _mapping(scheds[key], f"schedule of {key}")
            name, params = validate.schedule(key, s.get("name"), s.get("params"), lr)
            if name != "constant":
                out["sc"][key] = {"name": name, "params": params}
        if key in noises:
            n = _mapping(noises[key], f"noise of {key}")
            sigma, seed = validate.noise(n.get("sigma")), validate.seed(n.get("seed"))
            if sigma or seed:
                out["n"][key] = {"sigma": sigma, "seed": seed}
    extra = (set(hyper) | set(scheds) | set(noises)) - set(keys)
    if extra:
        raise ValueError(f"settings for an optimizer not chosen: {sorted(extra)[0]!r}")
    out["c"] = _camera(data.get("c"))
    if not isinstance(data.get("a", False), bool):
        raise ValueError("arrows must be true or false")
    out["a"] = bool(data.get("a", False))
    out["t"] = f"{validate.tolerance(data.get('t', '1e-3')):.6g}"
    out["b"] = None  # the full batch
    if data.get("b") is not None:  # the network surface's mini-batch size, as its box checks it
        from viz.ui import panels

        if not hasattr(surf, "with_batch_size"):
            raise ValueError(f"{surf.label} has no mini-batches")
        out["b"] = panels.batch_size(data["b"])
    out["mini"] = hasattr(surf, "with_batch_size")  # the batch box applies to this scene
    return out


def read(hash_) -> tuple[dict | None, str]:
    """``(checked state or None, message)``: never raises, whatever the hash holds."""
    try:
        data = decode(hash_)
        return (None, "") if data is None else (check(data), "")
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        why = str(exc).strip() or type(exc).__name__
        return None, BAD_LINK.format(why=why[:300])


def _same_scene(link: dict, state) -> bool:
    if not isinstance(state, dict) or not state.get("optimizers"):
        return False
    mine = _scene_part(state)
    theirs = {k: link[k] for k in mine if k in link}
    mine = {**mine, "sc": mine.get("sc", {}), "n": mine.get("n", {}), "b": mine.get("b")}
    theirs = {**theirs, "sc": link.get("sc", {}), "n": link.get("n", {}), "b": link.get("b")}
    return json.dumps(mine, sort_keys=True) == json.dumps(theirs, sort_keys=True)


# ----------------------------------------------------------------------------- callbacks


def restore(hash_, ready, state, href="#"):
    """The controls a link asks for (first read of the page's URL only).

    Returns a dict of outputs (see ``register``); a bad link: its message and nothing else.
    """
    from viz.ui import layout

    if ready or href is None:  # read once, after dcc.Location has reported the URL
        raise PreventUpdate
    link, msg = read(hash_)
    skip = {"ready": True, "msg": msg, "pending": None}
    if link is None or _same_scene(link, state):
        if link is not None:
            skip["camera"] = link["c"]
        return skip
    sc = layout.presets().get(link["p"])
    base = layout.preset_runs(sc) if sc is not None else {}
    runs = {}
    for key in link["o"]:
        r = dict(base.get(key, {}))
        r["hyper"] = {**r.get("hyper", {}), **link["h"].get(key, {})}
        r["schedule"] = link["sc"].get(key, {"name": "constant", "params": {}})
        r["noise"] = link["n"].get(key, {"sigma": 0, "seed": 0})
        runs[key] = r
    custom = link["s"] == validate.CUSTOM
    return {
        "ready": True,
        "msg": "",
        "pending": {"p": link["p"], "s": link["s"]},
        "camera": link["c"],
        "preset": link["p"],
        "note": sc.description if sc is not None else "",
        "store": {"preset": link["p"], "runs": runs},
        "options": layout.optimizer_options(base),
        "optimizers": link["o"],
        "surface": link["s"],
        "expression": link["e"] if custom else no_update,
        "x_range": ", ".join(layout.fmt(v) for v in link["w"][0]) if custom else no_update,
        "y_range": ", ".join(layout.fmt(v) for v in link["w"][1]) if custom else no_update,
        "steps": str(link["st"]),
        "start_x": layout.fmt(link["x"][0]),
        "start_y": layout.fmt(link["x"][1]),
        "arrows": ["on"] if link["a"] else [],
        "tolerance": link["t"],
        # Only where it applies: the box's text, "" for the full batch (the preset's own
        # size is not applied while the link is pending: network.preset_batch).
        "batch": ("" if link["b"] is None else str(link["b"])) if link["mini"] else no_update,
    }


def write(state, camera, arrows, tolerance, ready, pending, href=None):
    """The full link for the current valid scene (once the page's own link has been read)."""
    if not ready or not isinstance(state, dict) or not state.get("optimizers"):
        raise PreventUpdate
    if pending and (pending.get("s"), pending.get("p") or "") != (
        state.get("surface"),
        state.get("preset") or "",
    ):
        raise PreventUpdate  # the link's scene is still being applied
    h = encode(share_state(state, camera, "on" in (arrows or []), tolerance))
    base = href.split("#", 1)[0] if isinstance(href, str) else ""
    return base + h, None


def components() -> list:
    return [
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Store(id=ids.SHARE_CAMERA),
        dcc.Store(id=SHARE_PENDING),
        dcc.Store(id=SHARE_READY, data=False),
        dcc.Store(id=SHARE_WRITTEN),
    ]


def header_box() -> html.Div:
    return html.Div(
        [
            dcc.Input(id=ids.SHARE_LINK, type="text", readOnly=True, className="share-link"),
            dcc.Clipboard(
                target_id=ids.SHARE_LINK,
                id=ids.SHARE_COPY,
                title="copy a link to this exact picture",
                className="share-copy",
            ),
            html.Span("Copy link", className="share-copy-label"),
            html.Div(id=ids.SHARE_MSG, className="msg share-msg", role="alert"),
        ],
        className="share-box",
    )


def register(app) -> None:
    outs = {
        "ready": Output(SHARE_READY, "data"),
        "msg": Output(ids.SHARE_MSG, "children"),
        "pending": Output(SHARE_PENDING, "data"),
        "camera": Output(ids.SHARE_CAMERA, "data"),
        "preset": Output(ids.PRESET, "value", allow_duplicate=True),
        "note": Output(ids.PRESET_NOTE, "children", allow_duplicate=True),
        "store": Output(ids.PRESET_HYPER, "data", allow_duplicate=True),
        "options": Output(ids.OPTIMIZERS, "options", allow_duplicate=True),
        "optimizers": Output(ids.OPTIMIZERS, "value", allow_duplicate=True),
        "surface": Output(ids.SURFACE, "value", allow_duplicate=True),
        "expression": Output(ids.EXPRESSION, "value", allow_duplicate=True),
        "x_range": Output(ids.X_RANGE, "value", allow_duplicate=True),
        "y_range": Output(ids.Y_RANGE, "value", allow_duplicate=True),
        "steps": Output(ids.STEPS, "value", allow_duplicate=True),
        "start_x": Output(ids.START_X, "value", allow_duplicate=True),
        "start_y": Output(ids.START_Y, "value", allow_duplicate=True),
        "arrows": Output(ids.ARROWS, "value", allow_duplicate=True),
        "tolerance": Output(ids.TOLERANCE, "value", allow_duplicate=True),
        "batch": Output(ids.NET_BATCH, "value", allow_duplicate=True),
    }

    @app.callback(
        output=outs,
        inputs={
            "hash_": Input(ids.URL, "hash"),
            "href": Input(ids.URL, "href"),
            "ready": State(SHARE_READY, "data"),
            "state": State(ids.SCENE_STATE, "data"),
        },
        prevent_initial_call="initial_duplicate",
    )
    def _restore(hash_, href, ready, state):
        got = restore(hash_, ready, state, href)
        return {k: got.get(k, no_update) for k in outs}

    app.callback(
        Output(ids.SHARE_LINK, "value"),
        Output(SHARE_PENDING, "data", allow_duplicate=True),
        Input(ids.SCENE_STATE, "data"),
        Input(ids.EXPORT_CAMERA, "data"),
        Input(ids.ARROWS, "value"),
        Input(ids.TOLERANCE, "value"),
        State(SHARE_READY, "data"),
        State(SHARE_PENDING, "data"),
        State(ids.URL, "href"),
        prevent_initial_call=True,
    )(write)

    # The address bar follows the scene: replaceState, so no history entry per change and
    # no new trigger of the link reader (dcc.Location does not see it).
    app.clientside_callback(
        """
        function (link) {
          var i = link ? link.indexOf("#v") : -1;
          if (i >= 0 && window.location.hash !== link.slice(i)) {
            window.history.replaceState(window.history.state, "", link.slice(i));
          }
          return window.dash_clientside.no_update;
        }
        """,
        Output(SHARE_WRITTEN, "data"),
        Input(ids.SHARE_LINK, "value"),
        prevent_initial_call=True,
    )

    # The camera a link asks for, on the 3-D background (the overlay mirrors it).
    @app.callback(
        Output(ids.SURFACE3D, "figure", allow_duplicate=True),
        Input(ids.SHARE_CAMERA, "data"),
        prevent_initial_call=True,
    )
    def _camera(cam):
        if not cam:
            raise PreventUpdate
        p = Patch()
        p["layout"]["scene"]["camera"] = cam
        return p
