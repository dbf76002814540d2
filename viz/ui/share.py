"""Share links in the page: the scene in the URL's hash, read and written through the
one codec (``viz.scene.link``). Reading a link applies its scene through the same path
as a preset (``callbacks.scene_controls``), so nothing of the page before is kept.
"""

from __future__ import annotations

from dash import Input, Output, Patch, State, no_update
from dash.exceptions import PreventUpdate

from viz.scene import Scene, link, validate
from viz.ui import callbacks, export_panel, ids
from viz.ui.share_box import SHARE_PENDING, SHARE_WRITTEN, components, header_box  # noqa: F401

BAD_LINK = "This link could not be read ({why}); the scene on the page is kept."


def read(hash_) -> tuple[Scene | None, str]:
    """``(scene or None, message)``: never raises, whatever the hash holds."""
    try:
        data = link.decode(hash_)
        return (None, "") if data is None else (link.scene_from_dict(data), "")
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        why = str(exc).strip() or type(exc).__name__
        return None, BAD_LINK.format(why=why[:300])


def _token(hash_: str) -> str:
    """A link's scene part, without the playback step (``&k=``)."""
    return hash_.split("&k=", 1)[0]


def restore(hash_, current_link) -> dict:
    """The controls a link asks for: on the page's first load, and whenever the address
    bar gets a link other than the one the page wrote itself (a link pasted into an open
    tab). Returns a dict of outputs (see ``register``); a bad link: its message only."""
    mine = link.hash_of(current_link) if isinstance(current_link, str) else ""
    if not hash_ or hash_ == "#" or (isinstance(hash_, str) and _token(hash_) == _token(mine)):
        raise PreventUpdate  # no link, or the page's own (at most its step moved)
    scene, msg = read(hash_)
    if scene is None:
        return {"msg": msg}
    out = {**callbacks.scene_controls(scene), "msg": "", "camera": scene.style.camera}
    out["pending"] = {"p": out["store"]["preset"], "s": out["surface"]}
    out["preset"] = out["store"]["preset"]
    return out


def _same_camera(a: dict, b: dict, tol: float = 1e-9) -> bool:
    """Equal cameras, up to the last bits a browser's round trip changes."""
    for part in ("eye", "up", "center"):
        pa, pb = a.get(part) or {}, b.get(part) or {}
        for axis in "xyz":
            if abs(float(pa.get(axis, 0.0)) - float(pb.get(axis, 0.0))) > tol:
                return False
    return True


def write(state, camera, arrows, tolerance, pending, href=None):
    """The full link of the current valid scene, with the page's camera, arrows and
    tolerance (the playback step is added in the browser: assets/optviz-link.js)."""
    if not isinstance(state, dict) or not isinstance(state.get("scene"), dict):
        raise PreventUpdate
    if isinstance(pending, dict) and (pending.get("s"), pending.get("p") or "") != (
        state.get("surface"),
        state.get("preset") or "",
    ):
        raise PreventUpdate  # the link's scene is still being applied
    data = {k: v for k, v in state["scene"].items() if k != "k"}
    try:
        scene = link.scene_from_dict(state["scene"])
        shown = export_panel.page_camera(camera, scene)
        cam = link.camera(shown) if shown else None
    except ValueError:
        cam = None
    if cam and not _same_camera(cam, data.get("c") or scene.style.camera):
        data["c"] = cam  # the user turned the view; a camera equal to the scene's is left out
    data.pop("a", None)
    if "on" in (arrows if isinstance(arrows, list) else []):
        data["a"] = True
    try:
        tol = validate.tolerance(tolerance)
    except ValueError:
        tol = link.DEFAULT_TOLERANCE
    data.pop("t", None)
    if tol != link.DEFAULT_TOLERANCE:
        data["t"] = tol
    base = href.split("#", 1)[0] if isinstance(href, str) else ""
    return base + link.encode(data), None


def register(app) -> None:
    outs = {
        **callbacks.control_outputs(dup=True),
        "msg": Output(ids.SHARE_MSG, "children"),
        "pending": Output(SHARE_PENDING, "data"),
        "camera": Output(ids.SHARE_CAMERA, "data"),
        "preset": Output(ids.PRESET, "value", allow_duplicate=True),
    }

    @app.callback(
        output=outs,
        inputs={"hash_": Input(ids.URL, "hash"), "current": State(ids.SHARE_LINK, "value")},
        prevent_initial_call="initial_duplicate",
    )
    def _restore(hash_, current):
        got = restore(hash_, current)
        return {k: got.get(k, no_update) for k in outs}

    app.callback(
        Output(ids.SHARE_LINK, "value"),
        Output(SHARE_PENDING, "data", allow_duplicate=True),
        Input(ids.SCENE_STATE, "data"),
        Input(ids.EXPORT_CAMERA, "data"),
        Input(ids.ARROWS, "value"),
        Input(ids.TOLERANCE, "value"),
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
