"""The share link: a whole ``Scene`` in the URL's hash, and back (the one codec).

``scene_to_dict``/``scene_from_dict`` turn a scene into plain JSON data and back; the
browser's scene store, the share link and the command line (``--link``) all hold this
form. ``scene_to_link``/``scene_from_link`` add the hash:
``#v2=<token>&k=<step>``, the token being base64url (no padding) of zlib-compressed compact
JSON. The playback step rides outside the token as ``&k=`` so that the page can move it
without re-encoding. The hash never reaches a server log.

Reading is hostile-input work: bounded length, bounded decompression, strict JSON (no
NaN/Infinity), and every value goes through the scene layer's validation
(``viz.scene.validate``, ``HyperSpec.check``, the schedules, the expression parser),
then ``Scene.validate``. Links of the first format (``#v1=``) still open, and so do the
network scene's first links (``#net1=<token>``, its spec alone).

The network scene (``Scene.network``) is held as ``{"s": "network", "nw": {...}}``: its
spec (``landscape.spec_to_dict``: data, widths, activation, rules with their
hyperparameters, steps, plane, grid, seed, batch) from which its runs and steps follow.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib

from optimizers import OPTIMIZERS
from surfaces import SURFACES, Surface
from viz.scene import landscape, validate
from viz.scene.model import RunSpec, Scene, Style, default_style
from viz.scene.presets import PRESETS

VERSION = 2
PREFIX = f"#v{VERSION}="
MAX_LINK = 8192  # characters of the hash
MAX_JSON = 65536  # bytes after decompression
MAX_LABEL = 60
_HEX = re.compile(r"#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}")
_STEP = re.compile(r"&k=(\d{1,6})$")
DEFAULT_TOLERANCE = 1e-3
NETWORK = "network"  # the surface key of the network scene
MAX_NET_JSON = 16384  # bytes of a #net1= token after decompression


# ----------------------------------------------------------------------------- scene ↔ dict


def scene_to_dict(scene: Scene) -> dict:
    """The scene as compact JSON data (what the link, the store and ``--link`` carry)."""
    if scene.network is not None:
        return _network_to_dict(scene)
    s = scene.get_surface()
    custom = isinstance(scene.surface, Surface) and "expression" in s.extra
    out: dict = {
        "v": VERSION,
        "p": scene.name if scene.name in PRESETS else "",
        "s": validate.CUSTOM if custom else scene.surface_name,
        "x": list(scene.start),
        "st": scene.steps,
        "r": [_run_to_dict(r) for r in scene.runs],
    }
    if custom:
        out["e"] = s.extra["expression"]
    if custom or scene.x_range is not None or scene.y_range is not None:
        out["w"] = [list(w) for w in scene.window()]
    if scene.batch_size is not None:
        out["b"] = scene.batch_size
    if scene.noise:
        out["n"], out["sd"] = scene.noise, scene.seed
    _view_fields(scene, out)
    preset = PRESETS.get(out["p"])
    if scene.style.camera != (preset.style if preset is not None else default_style(s)).camera:
        out["c"] = scene.style.camera  # the reader starts from the same style
    return out


def _view_fields(scene: Scene, out: dict) -> None:
    """What every scene's link carries where it differs from the default: tolerance,
    arrows, the step shown."""
    if scene.tolerance != DEFAULT_TOLERANCE:
        out["t"] = scene.tolerance
    if scene.arrows:
        out["a"] = True
    if scene.step:
        out["k"] = scene.step


def _network_to_dict(scene: Scene) -> dict:
    out: dict = {
        "v": VERSION,
        "p": scene.name if scene.name in PRESETS else "",
        "s": NETWORK,
        "nw": landscape.spec_to_dict(scene.network),
    }
    _view_fields(scene, out)
    if scene.style.camera != network_scene(landscape.LandscapeSpec()).style.camera:
        out["c"] = scene.style.camera
    return out


def network_scene(spec, name: str = "") -> Scene:
    """The network scene of ``spec``: the preset's look and words when ``name`` is one."""
    preset = PRESETS.get(name)
    if preset is not None and preset.network is not None:
        words = {"title": preset.title, "description": preset.description}
        return Scene.of_network(spec, name=name, view=preset.view, style=preset.style, **words)
    return Scene.of_network(spec)


def _network_from_dict(d: dict) -> Scene:
    _known(d, {"v", "p", "s", "nw", "t", "a", "k", "c"}, "")
    name = d.get("p") or ""
    if not isinstance(name, str) or (name and name not in PRESETS):
        raise ValueError(f"unknown scene {str(name)[:40]!r}")
    scene = network_scene(landscape.spec_from_dict(d.get("nw")), name)
    cam = camera(d.get("c"))
    if not isinstance(d.get("a", False), bool):
        raise ValueError("arrows must be true or false")
    return Scene(
        **{
            **scene.__dict__,
            "style": Style(**{**scene.style.__dict__, "camera": cam}) if cam else scene.style,
            "step": min(validate.whole(d.get("k", 0), "step", 0, 10**6), scene.steps),
            "tolerance": validate.tolerance(d.get("t", DEFAULT_TOLERANCE)),
            "arrows": bool(d.get("a", False)),
        }
    ).validate()


def _run_to_dict(r: RunSpec) -> dict:
    out: dict = {"o": r.optimizer, "h": dict(r.hyper)}
    if r.code:
        out["u"] = r.code  # a rule typed by the user: its text, read back through from_rule
    if r.label:
        out["l"] = r.label
    if r.colour:
        out["c"] = r.colour
    if r.schedule is not None and r.schedule[0] != "constant":
        out["sc"] = [r.schedule[0], dict(r.schedule[1])]
    if r.noise or r.seed:
        out["n"], out["sd"] = r.noise, r.seed
    return out


def _mapping(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object")
    return value


def _known(data: dict, fields: set, what: str) -> None:
    unknown = set(data) - fields
    if unknown:
        raise ValueError(f"unknown {what} field {sorted(unknown)[0]!r}")


def camera(value) -> dict | None:
    """A Plotly scene camera from untrusted data: eye/up/center, each x, y, z within ±100."""
    cam = _mapping(value, "camera")
    _known(cam, {"eye", "up", "center", "projection"}, "camera")
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
    return clean or None


def _text(value, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_LABEL or not value.isprintable():
        raise ValueError(f"{what} must be printable text of at most {MAX_LABEL} characters")
    return value


def _run_from_dict(data, surface) -> RunSpec:
    d = _mapping(data, "a run")
    _known(d, {"o", "h", "l", "c", "sc", "n", "sd", "u"}, "run")
    rule = d.get("o")
    code = d.get("u") or ""
    if code:
        info = validate.typed_rule(rule, code)  # the same bounds as typing it
    elif not isinstance(rule, str) or rule not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {str(rule)[:40]!r}")
    else:
        info = OPTIMIZERS[rule]
    if info.second_order and not surface.has_hessian:
        raise ValueError(f"{info.label} needs a Hessian; {surface.label} has none")
    specs = {h.name: h for h in info.hyper}
    hyper = {}
    for name, value in _mapping(d.get("h"), f"hyperparameters of {rule}").items():
        if name not in specs:
            raise ValueError(f"{info.label} has no hyperparameter {str(name)[:40]!r}")
        hyper[name] = (
            validate.typed_hyper(info, name, value) if code else validate.hyper(rule, name, value)
        )
    colour = _text(d.get("c"), f"colour of {rule}")
    if colour and not _HEX.fullmatch(colour):
        raise ValueError(f"colour of {rule} must be #rrggbb, got {colour!r}")
    schedule = None
    if d.get("sc") is not None:
        sc = d["sc"]
        if not isinstance(sc, list) or len(sc) != 2:
            raise ValueError(f"schedule of {rule} must be [name, parameters]")
        lr = {**info.defaults(), **hyper}.get("lr", 1.0)
        base = "sgd" if code else rule  # a typed rule's schedule is checked as any rule's
        name, params = validate.schedule(base, sc[0], _mapping(sc[1], "schedule"), lr)
        schedule = None if name == "constant" else (name, params)
    return RunSpec(
        rule,
        hyper,
        _text(d.get("l"), f"label of {rule}"),
        colour,
        schedule,
        validate.noise(d.get("n")),
        validate.seed(d.get("sd")),
        code,
    )


def scene_from_dict(data) -> Scene:
    """A validated ``Scene`` from untrusted JSON data; ``ValueError`` names the first problem."""
    d = _mapping(data, "the scene")
    if d.get("v") == 1:
        d = _from_v1(d)
    if d.get("v") == VERSION and d.get("s") == NETWORK:
        return _network_from_dict(d)
    _known(d, {"v", "p", "s", "e", "w", "x", "st", "r", "b", "n", "sd", "t", "a", "k", "c"}, "")
    if d.get("v") != VERSION:
        raise ValueError(f"unknown link version; this app reads versions 1 and {VERSION}")
    name = d.get("p") or ""
    if not isinstance(name, str) or (name and name not in PRESETS):
        raise ValueError(f"unknown scene {str(name)[:40]!r}")
    preset = PRESETS.get(name)
    if d.get("s") == validate.CUSTOM:
        w = d.get("w")
        if not isinstance(w, list) or len(w) != 2:
            raise ValueError("the window must be two pairs lo, hi")
        xr, yr = validate.window_range(w[0], "x range"), validate.window_range(w[1], "y range")
        surface = validate.expression(d.get("e"), xr, yr)
        window = (xr, yr)
    else:
        surface = SURFACES[validate.surface(d.get("s"))]
        window = None
        if d.get("w") is not None:
            w = d["w"]
            if not isinstance(w, list) or len(w) != 2:
                raise ValueError("the window must be two pairs lo, hi")
            xr, yr = validate.window_range(w[0], "x range"), validate.window_range(w[1], "y range")
            window = (xr, yr)
    runs = d.get("r")
    if not isinstance(runs, list) or not runs:
        raise ValueError("choose at least one optimizer")
    if len(runs) > validate.MAX_RUNS:
        raise ValueError(f"choose at most {validate.MAX_RUNS} optimizers")
    specs = tuple(_run_from_dict(r, surface) for r in runs)
    x = d.get("x")
    if not isinstance(x, list) or len(x) != 2:
        raise ValueError("start must be a pair x, y")
    shown = window or (surface.x_range, surface.y_range)
    start, _ = validate.start(x[0], x[1], *shown)
    same = preset is not None and preset.surface_name == surface.name
    style = preset.style if same else default_style(surface)
    cam = camera(d.get("c"))
    if cam:
        style = Style(**{**style.__dict__, "camera": cam})
    batch = None
    if d.get("b") is not None:
        if not hasattr(surface, "with_batch_size"):
            raise ValueError(f"{surface.label} has no mini-batches")
        batch = validate.batch_size(d["b"])
    if not isinstance(d.get("a", False), bool):
        raise ValueError("arrows must be true or false")
    steps = validate.steps(d.get("st"))
    scene = Scene(
        name=name if same else "custom",
        title=preset.title if same else f"{surface.label or surface.name}",
        description=preset.description if same else "",
        surface=surface if d.get("s") == validate.CUSTOM else surface.name,
        start=start,
        steps=steps,
        runs=specs,
        view=preset.view if same else "contour",
        style=style,
        x_range=window[0] if window else None,
        y_range=window[1] if window else None,
        noise=validate.noise(d.get("n")),
        seed=validate.seed(d.get("sd")),
        batch_size=batch,
        step=min(validate.whole(d.get("k", 0), "step", 0, 10**6), steps),
        tolerance=validate.tolerance(d.get("t", DEFAULT_TOLERANCE)),
        arrows=bool(d.get("a", False)),
    )
    return scene.validate()


def _from_v1(d: dict) -> dict:
    """A first-format link's data in the current form (runs keyed by rule, labels from
    the preset it names)."""
    _known(d, {"v", "p", "s", "e", "w", "o", "h", "st", "x", "sc", "n", "c", "a", "t", "b"}, "")
    keys = validate.selection(d.get("o"))
    preset = PRESETS.get(d.get("p") or "") if isinstance(d.get("p"), str) else None
    base = preset_keys(preset) if preset is not None else {}
    hyper, scheds, noises = (_mapping(d.get(k), k) for k in ("h", "sc", "n"))
    extra = (set(hyper) | set(scheds) | set(noises)) - set(keys)
    if extra:
        raise ValueError(f"settings for an optimizer not chosen: {sorted(extra)[0]!r}")
    runs = []
    for key in keys:
        rule = validate.rule_of(key)
        was = base.get(key)
        r = {"o": rule, "h": {**(was.hyper if was else {}), **_mapping(hyper.get(key), key)}}
        if was is not None:
            r["l"], r["c"] = was.label, was.colour
        sc = _mapping(scheds.get(key), key)
        if sc.get("name") not in (None, "", "constant"):
            r["sc"] = [sc.get("name"), sc.get("params") or {}]
        nz = _mapping(noises.get(key), key)
        if nz:
            r["n"], r["sd"] = nz.get("sigma", 0), nz.get("seed", 0)
        runs.append(r)
    out = {k: d[k] for k in ("p", "s", "e", "w", "st", "x", "c", "a", "t", "b") if k in d}
    out.pop("w", None) if d.get("s") != validate.CUSTOM else None
    if "t" in out:
        out["t"] = validate.tolerance(out["t"])
    return {**out, "v": VERSION, "r": runs}


def preset_keys(scene: Scene) -> dict[str, RunSpec]:
    """A scene's runs keyed as the app's controls key them: the rule's name, or ``rule@i``
    for the i-th run of a rule that appears more than once (labels and colours filled)."""
    counts: dict = {}
    for r in scene.runs:
        counts[r.optimizer] = counts.get(r.optimizer, 0) + 1
    out, seen = {}, {}
    for r in scene.runs:
        seen[r.optimizer] = seen.get(r.optimizer, 0) + 1
        key = r.optimizer if counts[r.optimizer] == 1 else f"{r.optimizer}@{seen[r.optimizer]}"
        out[key] = r.resolved()
    return out


# ----------------------------------------------------------------------------- dict ↔ hash


def pack_token(body) -> str:
    """A link's token: ``body`` as compact sorted JSON, zlib-compressed, base64url unpadded
    (this module's hash and ``viz.scene.landscape``'s ``#net1=`` link)."""
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True, allow_nan=False)
    return base64.urlsafe_b64encode(zlib.compress(raw.encode("utf-8"), 9)).rstrip(b"=").decode()


def unpack_token(token: str, max_json: int = MAX_JSON):
    """The JSON value of a ``pack_token`` token, at most ``max_json`` bytes unpacked;
    ``ValueError`` with a short reason when it is not one (NaN and Infinity refused)."""
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if not token or base64.urlsafe_b64encode(packed).rstrip(b"=").decode() != token:
            raise ValueError
    except (ValueError, binascii.Error):
        raise ValueError("its data is not base64url") from None
    z = zlib.decompressobj()
    try:
        raw = z.decompress(packed, max_json)
    except zlib.error:
        raise ValueError("its data is damaged") from None
    if z.unconsumed_tail or not z.eof:
        raise ValueError("its data is damaged or too large")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("its data is not valid JSON") from None


def encode(data: dict) -> str:
    """The hash (``#v2=…``) of a scene's data; its step rides outside as ``&k=``."""
    token = pack_token({k: v for k, v in data.items() if k != "k"})
    step = f"&k={data['k']}" if data.get("k") else ""
    return f"#v{data.get('v', VERSION)}={token}{step}"


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


def decode(hash_) -> dict | None:
    """The raw JSON object of a hash (``&k=`` folded in); ``None`` for no link;
    ``ValueError`` if malformed."""
    if hash_ in (None, "", "#"):
        return None
    if not isinstance(hash_, str):
        raise ValueError("the link is not text")
    if len(hash_) > MAX_LINK:
        raise ValueError(f"the link is too long ({len(hash_):,} characters; at most {MAX_LINK:,})")
    step = _STEP.search(hash_)
    if step:
        hash_ = hash_[: step.start()]
    version = re.match(r"#v(\d+)=", hash_)
    if hash_.startswith(landscape.LINK_PREFIX):  # the network scene's first links: its spec
        nw = unpack_token(hash_[len(landscape.LINK_PREFIX) :], MAX_NET_JSON)
        return {"v": VERSION, "s": NETWORK, "nw": nw, **({"k": int(step.group(1))} if step else {})}
    if not hash_.startswith("#v"):
        raise ValueError("it does not start with #v2=")
    if version is None or version.group(1) not in ("1", str(VERSION)):
        raise ValueError(f"unknown link version; this app reads versions 1 and {VERSION}")
    data = unpack_token(hash_[version.end() :])
    if not isinstance(data, dict):
        raise ValueError("its data is not an object")
    if data.get("v") != int(version.group(1)):
        raise ValueError("its data does not match its version")
    if step:
        data["k"] = int(step.group(1))
    return data


def hash_of(text: str) -> str:
    """The ``#…`` part of a URL (or the text itself when it is already a hash)."""
    if not isinstance(text, str):
        raise ValueError("the link is not text")
    i = text.find("#")
    return text[i:] if i >= 0 else ""


def scene_to_link(scene: Scene, base: str = "") -> str:
    """The share link of ``scene``: ``base`` (the page's address) plus its hash."""
    return base.split("#", 1)[0] + encode(scene_to_dict(scene))


def scene_from_link(text: str) -> Scene:
    """The scene a share link (a whole URL, or its ``#v…`` hash) shows; ``ValueError``."""
    data = decode(hash_of(text))
    if data is None:
        raise ValueError("the link holds no scene (no #v2=… part)")
    return scene_from_dict(data)
