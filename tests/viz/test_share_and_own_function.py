"""Issue 5 callbacks as plain functions: your own f(x, y), schedules and noise, share links."""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plotly.utils import PlotlyJSONEncoder

from optimizers import get_optimizer, run
from optimizers.schedules import make_schedule
from surfaces import from_expression
from viz import figures
from viz.scene import validate
from viz.ui import callbacks, ids, layout, network_box, schedule_controls, share
from viz.ui.callbacks import Settings, compute


def custom(text="x**2 + 3*y**2", **kw):
    base = dict(
        surface=validate.CUSTOM,
        optimizers=["sgd", "adam"],
        steps=40,
        start_x="1",
        start_y="1",
        expression=text,
        x_range="-2, 2",
        y_range="-2, 2",
    )
    return Settings(**{**base, **kw})


# ----------------------------------------------------------------------------- f(x, y)


@pytest.mark.parametrize("text", ["exp(354*x)", "(1e100*x)**3*1e7"])
def test_a_function_reaching_1e308_is_drawn(text):
    """Its 3-D axis' ticks were ints of 10^308 and more, divided: "Something went wrong on
    the server" (OverflowError), and the command line's HTML export printed the error."""
    o = compute(custom(text))
    assert o.ok and not o.messages, o.messages
    ticks = o.surface3d["layout"]["scene"]["zaxis"]["tickvals"]
    assert ticks and all(np.isfinite(ticks))


def test_good_expression_runs_on_that_function():
    o = compute(custom("x**2 + 3*y**2 + sin(3*x)"))
    assert o.ok and not o.messages
    f = from_expression("x**2 + 3*y**2 + sin(3*x)", x_range=(-2, 2), y_range=(-2, 2))
    want = run(get_optimizer("sgd", **o.state["hyper"]["sgd"]), f, (1.0, 1.0), 40)
    assert o.traj["runs"][0]["x"] == figures._round(want.points[:, 0])
    assert o.state["surface"] == validate.CUSTOM
    assert o.state["expression"] == "x**2 + 3*y**2 + sin(3*x)"
    assert o.contour is not None  # a new background for the new function


@pytest.mark.parametrize(
    ("text", "where"),
    [("x + z", "column 5"), ("x**2 + __import__('os')", "column 8"), ("sin(x", "")],
)
def test_bad_expression_message_with_column_and_no_data(text, where):
    o = compute(custom(text))
    assert not o.ok and o.state is None and o.traj is None
    msg = o.messages[ids.EXPRESSION_MSG]
    assert where in msg and msg
    assert set(o.messages) == {ids.EXPRESSION_MSG}


@pytest.mark.parametrize(
    ("xr", "part"), [("2, -2", "low end must be below"), ("a, 1", "number"), ("1", "two numbers")]
)
def test_bad_window_message(xr, part):
    o = compute(custom(x_range=xr))
    assert not o.ok and part in o.messages[ids.EXPRESSION_MSG]


def test_typing_an_expression_selects_your_own_function():
    assert callbacks.expression_typed("x**2", "-2, 2", "-2, 2", "beale") == validate.CUSTOM
    assert callbacks.expression_typed("", "-2, 2", "-2, 2", "beale") is callbacks.no_update
    assert callbacks.surface_changed(validate.CUSTOM, {})[2] == ""


# ----------------------------------------------------------------------------- schedules, noise


def test_schedule_and_noise_reach_run():
    s = custom(
        schedule={"sgd": {"name": "step", "params": {"drop": "0.5", "every": "10"}}},
        noise={"adam": {"sigma": "0.1", "seed": "3"}},
    )
    o = compute(s)
    assert o.ok, o.messages
    f = from_expression("x**2 + 3*y**2", x_range=(-2, 2), y_range=(-2, 2))
    h = dict(o.state["hyper"]["sgd"])
    h["lr"] = make_schedule("step", h["lr"], drop=0.5, every=10)
    want = run(get_optimizer("sgd", **h), f, (1.0, 1.0), 40)
    assert o.traj["runs"][0]["x"] == figures._round(want.points[:, 0])  # the payload's rounding
    noisy = run(get_optimizer("adam", **o.state["hyper"]["adam"]), f, (1, 1), 40, 0.1, 3)
    assert o.traj["runs"][1]["y"] == figures._round(noisy.points[:, 1])
    clean = run(get_optimizer("adam", **o.state["hyper"]["adam"]), f, (1, 1), 40)
    assert o.traj["runs"][1]["y"] != figures._round(clean.points[:, 1])  # the noise is there
    assert o.state["schedule"] == {"sgd": {"name": "step", "params": {"drop": 0.5, "every": 10}}}
    assert o.state["noise"] == {"adam": {"sigma": 0.1, "seed": 3}}


@pytest.mark.parametrize(
    ("sched", "part"),
    [
        ({"name": "step", "params": {"drop": "2"}}, "drop"),
        ({"name": "step", "params": {"every": "2.5"}}, "whole number"),
        ({"name": "exponential", "params": {"k": "nan"}}, "finite"),
        ({"name": "cosine", "params": {"lr_min": "5"}}, "lr_min"),
        ({"name": "bogus"}, "unknown schedule"),
    ],
)
def test_bad_schedule_message_at_its_card(sched, part):
    o = compute(custom(schedule={"sgd": sched}))
    assert not o.ok and o.state is None
    assert part in o.messages[("sched", "sgd")]
    assert o.messages[("sched", "sgd")].startswith("SGD")


@pytest.mark.parametrize(("sigma", "seed"), [("-1", "0"), ("inf", "0"), ("0.1", "1.5")])
def test_bad_noise_message(sigma, seed):
    o = compute(custom(noise={"adam": {"sigma": sigma, "seed": seed}}))
    assert not o.ok and ("noise", "adam") in o.messages


def test_schedule_plot_is_the_schedule():
    fig, style, msg = schedule_controls.schedule_plot(
        "inverse_time", {"k": "0.1"}, "0.5", 50, "sgd"
    )
    assert msg == "" and style["display"] == "block"
    t, y = np.asarray(fig.data[0].x), np.asarray(fig.data[0].y)
    np.testing.assert_allclose(y, 0.5 / (1 + 0.1 * t), rtol=1e-12)
    assert t[0] == 0 and t[-1] == 49
    _, style, msg = schedule_controls.schedule_plot("step", {"drop": "0"}, "0.5", 50, "sgd")
    assert "drop" in msg and style["display"] == "none"


# ----------------------------------------------------------------------------- share links


def full_state():
    o = compute(
        custom(
            "x**2 + 3*y**2 + sin(3*x)",
            schedule={"sgd": {"name": "cosine", "params": {"total": "30", "lr_min": "0.001"}}},
            noise={"adam": {"sigma": "0.05", "seed": "7"}},
        )
    )
    assert o.ok, o.messages
    return json.loads(json.dumps(o.state))  # as the browser store gives it back


def settings_from(out: dict) -> Settings:
    """What the page sends to compute once a scene's controls are on it."""
    runs = out["store"]["runs"]
    return Settings(
        surface=out["surface"],
        optimizers=out["optimizers"],
        steps=out["steps"],
        start_x=out["start_x"],
        start_y=out["start_y"],
        hyper={k: r["hyper"] for k, r in runs.items()},
        preset=out["store"],
        expression=out["expression"],
        x_range=out["x_range"],
        y_range=out["y_range"],
        schedule={k: r["schedule"] for k, r in runs.items()},
        noise={k: r["noise"] for k, r in runs.items()},
        batch_size=out["batch"],
        tolerance=out["tolerance"],
        network={k: out[k] for k in network_box.FIELDS if k in out},  # the network scene's
    )


def test_round_trip_equals_the_state_camera_included():
    state = full_state()
    cam = {"eye": {"x": 1.2, "y": -0.7, "z": 0.9}, "up": {"x": 0, "y": 0, "z": 1}}
    rev = figures.uirevision_3d(share.link.scene_from_dict(state["scene"]).style)
    # a camera recorded for another scene's figure is not the one on screen: left out
    other, _ = share.write(state, {"camera": cam, "rev": "3d:other"}, [], "0.01", None, "")
    assert share.read(other[other.index("#") :])[0].style.camera != {
        k: {a: float(v) for a, v in p.items()} for k, p in cam.items()
    }
    url, _ = share.write(
        state, {"camera": cam, "rev": rev, "user": True}, ["on"], "0.01", None, "http://h:1/?q#old"
    )
    hash_ = url[len("http://h:1/?q") :]
    assert hash_.startswith("#v2=") and len(hash_) < 800
    scene, msg = share.read(hash_)
    assert msg == ""
    assert scene.surface_name == validate.CUSTOM
    assert scene.get_surface().extra["expression"] == state["scene"]["e"]
    assert [list(w) for w in scene.window()] == state["window"]
    assert [r.optimizer for r in scene.runs] == state["optimizers"]
    assert [r.full_hyper() for r in scene.runs] == [state["hyper"][k] for k in state["optimizers"]]
    assert scene.steps == state["steps"] and list(scene.start) == state["start"]
    assert scene.runs[0].schedule == ("cosine", {"total": 30, "lr_min": 0.001})
    assert (scene.runs[1].noise, scene.runs[1].seed) == (0.05, 7)
    assert scene.style.camera == {k: {a: float(v) for a, v in p.items()} for k, p in cam.items()}
    assert scene.arrows is True and scene.tolerance == 0.01
    # ... and restoring it gives the controls that compute the same state again.
    out = share.restore(hash_, "")
    assert out["arrows"] == ["on"] and out["tolerance"] == "0.01"
    again = compute(settings_from(out))
    assert json.loads(json.dumps(again.state))["scene"] == {**state["scene"], "t": 0.01}


def _state_of_controls(out: dict) -> dict:
    o = compute(settings_from(out))
    assert o.ok, o.messages
    return json.loads(json.dumps(o.state))


@pytest.mark.parametrize("name", sorted(callbacks.PRESETS))
def test_every_preset_is_the_same_scene_through_its_link(name):
    """A preset's controls compute the preset; its link reopens exactly that scene, with
    its labels and colours, and ``--link`` and ``--preset`` give the same runs."""
    from viz.scene import link

    preset = callbacks.PRESETS[name]
    state = _state_of_controls(callbacks.apply_preset(name))
    scene = link.scene_from_dict(state["scene"])
    assert [r.resolved() for r in scene.runs] == [
        r.resolved() for r in link.preset_keys(preset).values()
    ] or [(r.optimizer, r.label, r.colour) for r in scene.runs] == [
        (r.optimizer, r.label, r.colour) for r in link.preset_keys(preset).values()
    ]
    for mine, theirs in zip(scene.compute(), preset.compute(), strict=True):
        np.testing.assert_array_equal(mine.points, theirs.points)
    url, _ = share.write(state, None, [], "1e-3", None, "http://h/")
    again = link.scene_from_link(url)
    assert link.scene_to_dict(again) == link.scene_to_dict(scene)


@pytest.mark.parametrize("first", sorted(callbacks.PRESETS))
def test_a_preset_is_the_same_whatever_came_before(first):
    """Loading any preset after another gives what loading it fresh gives (no card value,
    schedule, noise, tolerance or f(x, y) text carried over)."""
    fresh = {n: callbacks.apply_preset(n) for n in callbacks.PRESETS}
    before = callbacks.apply_preset(first)
    before_cards = callbacks.render_panel(before["optimizers"], before["store"], None, True)
    assert before_cards
    old = _state_of_controls(before)
    for name in callbacks.PRESETS:
        out = callbacks.apply_preset(name)
        assert _json(out) == _json(fresh[name])
        cards = callbacks.render_panel(out["optimizers"], out["store"], old, True)
        values = [_card_values(c) for c in cards]
        fresh_cards = callbacks.render_panel(out["optimizers"], out["store"], None, True)
        assert values == [_card_values(c) for c in fresh_cards], (first, name)


def _json(value) -> str:
    return json.dumps(value, cls=PlotlyJSONEncoder, sort_keys=True)


def _card_values(card) -> dict:
    """Every control value inside a rendered optimizer card, by id."""
    found = {}

    def walk(c):
        if isinstance(c, list | tuple):
            for x in c:
                walk(x)
            return
        cid = getattr(c, "id", None)
        if cid is not None and hasattr(c, "value"):
            found[json.dumps(cid, sort_keys=True)] = c.value
        walk(getattr(c, "children", None) or [])

    walk(card)
    return found


def test_a_preset_clears_the_function_boxes():
    out = callbacks.apply_preset("rosenbrock-race")
    assert out["expression"] == "" and out["x_range"] == "-2, 2"


def tok(obj, version=1) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return f"#v{version}=" + base64.urlsafe_b64encode(zlib.compress(raw)).rstrip(b"=").decode()


def good():
    return full_state()["scene"]


def good_v1():
    """A first-format link's data (what links made before the Scene model hold)."""
    return {
        "v": 1,
        "p": "",
        "s": "custom",
        "e": "x**2 + 3*y**2 + sin(3*x)",
        "w": [[-2, 2], [-2, 2]],
        "o": ["sgd", "adam"],
        "h": {"sgd": {"lr": 0.01}, "adam": {"lr": 0.05}},
        "st": 40,
        "x": [1, 1],
        "sc": {"sgd": {"name": "cosine", "params": {"total": 30, "lr_min": 0.001}}},
        "n": {"adam": {"sigma": 0.05, "seed": 7}},
    }


def test_a_first_format_link_still_opens():
    scene, msg = share.read(tok(good_v1()))
    assert msg == "" and [r.optimizer for r in scene.runs] == ["sgd", "adam"]
    assert scene.runs[0].schedule[0] == "cosine" and scene.runs[1].noise == 0.05
    radford, msg = share.read(tok({**good_v1(), "p": "radford-beale", "s": "beale", "w": None}))
    assert msg == "" and radford.runs[0].label == "SGD" and radford.runs[0].colour == "#ff0000"


def _run(**kw):
    return {**good()["r"][0], **kw}


HOSTILE = [
    "#v1=%%%",
    "#v1=",
    "#v3=abc",
    "#garbage",
    "#v2=" + "A" * 9000,
    "#v2=" + base64.urlsafe_b64encode(b"not zlib").decode(),
    "#v2=" + base64.urlsafe_b64encode(zlib.compress(b"\0" * 10_000_000)).decode().rstrip("="),
    tok(b"{not json"),
    tok(b"[1, 2]", 2),
    tok(b'{"v": 2, "st": NaN}', 2),
    tok({**good(), "st": "NaN"}, 2),
    tok({**good(), "st": 1e9}, 2),
    tok({**good(), "st": [1]}, 2),
    tok({**good(), "st": int("9" * 400)}, 2),
    tok({**good(), "x": [float("1e308"), "a"]}, 2),
    tok({**good(), "x": [int("9" * 400), 0]}, 2),
    tok({**good(), "s": "nope"}, 2),
    tok({**good(), "e": "__import__('os').system('true')"}, 2),
    tok({**good(), "e": "9**9**9"}, 2),
    tok({**good(), "r": [_run(o="rm -rf")]}, 2),
    tok({**good(), "r": [_run(h={"lr": -1})]}, 2),
    tok({**good(), "r": [_run(h={"lr": "1e400"})]}, 2),
    tok({**good(), "r": [_run(h={"lr": int("9" * 400)})]}, 2),
    tok({**good(), "r": [_run(h={"zz": 1})]}, 2),
    tok({**good(), "r": [_run(o="adam", h={"bias_correction": "false"})]}, 2),
    tok({**good(), "r": [_run(l="<script>" * 20)]}, 2),
    tok({**good(), "r": [_run(c="red; background:url(x)")]}, 2),
    tok({**good(), "r": [_run(sc=["cosine", {"total": -3}])]}, 2),
    tok({**good(), "r": [_run(n=-1)]}, 2),
    tok({**good(), "r": [_run(n=1, sd=2**40)]}, 2),
    tok({**good(), "r": [_run()] * 13}, 2),
    tok({**good(), "r": []}, 2),
    tok({**good(), "r": {"o": "sgd"}}, 2),
    tok({**good(), "c": {"eye": {"x": "a", "y": 0, "z": 0}}}, 2),
    tok({**good(), "c": {"eye": {"x": 1e9, "y": 0, "z": 0}}}, 2),
    tok({**good(), "c": {"eye": [1]}}, 2),
    tok({**good(), "c": {"zz": {}}}, 2),
    tok({**good(), "a": "yes"}, 2),
    tok({**good(), "t": -1}, 2),
    tok({**good(), "k": -1}, 2),
    tok({**good(), "p": "no-such-scene"}, 2),
    tok({**good(), "zz": 1}, 2),
    tok({**good(), "w": [[2, -2], [0, 1]]}, 2),
    tok({**good(), "v": 1}, 2),
    tok({**good_v1(), "st": "NaN"}),
    tok({**good_v1(), "o": ["rm -rf"]}),
    tok({**good_v1(), "h": {"sgd": {"lr": -1}}}),
    tok({**good_v1(), "h": {"momentum": {"lr": 1}}}),
    tok({**good_v1(), "n": {"adam": {"sigma": 1, "seed": 2**40}}}),
    tok({**good_v1(), "zz": 1}),
    tok(b"[" * 100_000, 2),
    12,
    ["#v2="],
]


@pytest.mark.parametrize("link", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_link_message_and_nothing_else(link):
    got, msg = share.read(link)
    assert got is None
    assert msg.startswith("This link could not be read (") and "scene on the page" in msg
    if isinstance(link, str):
        out = share.restore(link, "")
        assert out == {"msg": msg}  # no control is touched


def test_no_link_or_the_pages_own_link_changes_nothing():
    state = full_state()
    url, _ = share.write(state, None, [], "1e-3", None, "http://h/")
    for hash_, current in (("", ""), (None, url), (url[len("http://h/") :], url)):
        with pytest.raises(callbacks.PreventUpdate):
            share.restore(hash_, current)
    # only the step differs: the page shows that step itself (assets/optviz-link.js)
    with pytest.raises(callbacks.PreventUpdate):
        share.restore(url[len("http://h/") :] + "&k=57", url)


def test_a_pasted_link_is_applied_in_an_open_tab():
    mine, _ = share.write(full_state(), None, [], "1e-3", None, "http://h/")
    theirs = share.write(
        _state_of_controls(callbacks.apply_preset("radford-saddle")), None, [], "1e-3", None, ""
    )[0]
    out = share.restore(theirs + "&k=57", mine)
    assert out["preset"] == "radford-saddle" and out["msg"] == ""
    assert out["store"]["runs"]["sgd"]["label"] == "SGD"
    assert out["store"]["runs"]["sgd"]["colour"] == "#ff0000"
    assert out["store"]["runs"]["rmsprop"]["label"] == "Rmsprop"


def test_the_step_rides_outside_the_token():
    from viz.scene import link

    data = link.decode(link.encode({**good(), "k": 17}))
    assert data["k"] == 17 and link.encode({**good(), "k": 17}).endswith("&k=17")
    assert link.scene_from_dict(data).step == 17
    assert link.scene_from_dict({**good(), "k": 10_000}).step == good()["st"]  # capped


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: "#v2=" + b.hex()))
def test_any_text_never_raises(text):
    got, msg = share.read(text)
    assert (got is None) or msg == ""


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(["v", "p", "s", "e", "w", "r", "st", "x", "b", "n", "c", "a", "t", "k"]),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
            max_leaves=8,
        ),
    )
)
def test_any_json_object_never_raises(obj):
    got, msg = share.read(tok(json.dumps({**obj, "v": 2}, allow_nan=True).encode(), 2))
    assert (got is None) != (msg == "")


def test_write_waits_for_a_links_scene_then_writes_it():
    state = full_state()
    with pytest.raises(callbacks.PreventUpdate):  # a link's scene still being applied
        share.write(state, None, [], "1e-3", {"s": "beale", "p": ""})
    with pytest.raises(callbacks.PreventUpdate):  # no valid scene yet
        share.write({}, None, [], "1e-3", None)
    full, pending = share.write(state, None, ["on"], "1e-3", None, "http://h:1/?q#old")
    assert full.startswith("http://h:1/?q#v2=") and pending is None
    assert share.read(full[len("http://h:1/?q") :])[0].arrows is True


def _network_scene(batch: str, preset: str = "radford-noisy-moons"):
    from viz.scene import get_preset

    sc = get_preset(preset)
    store = {"preset": preset, "runs": layout.preset_runs(sc)}
    keys = list(store["runs"])[:2]
    x, y = map(str, sc.start)
    out = compute(Settings(sc.surface, keys, "40", x, y, preset=store, batch_size=batch))
    assert out.ok, out.messages
    return out


@pytest.mark.parametrize("batch", ["16", ""])  # a size of the user's, and the full batch
def test_the_networks_batch_size_round_trips_through_a_link(batch):
    """The preset trains on 32 samples a step; the link's own size (16, or the full data
    set) is what the reopened scene uses."""
    first = _network_scene(batch)
    state = json.loads(json.dumps(first.state))
    url, _ = share.write(state, None, [], "1e-3", None, "")
    scene, msg = share.read(url)
    assert msg == "" and scene.batch_size == (int(batch) if batch else None)
    out = share.restore(url, "")
    assert out["batch"] == batch
    again = compute(settings_from(out))
    assert json.loads(json.dumps(again.state))["scene"] == state["scene"]
    assert again.traj == first.traj  # the same mini-batches: the same paths


def test_a_link_without_mini_batches_empties_the_batch_box():
    out = compute(Settings("beale", ["sgd"], "20", "1", "1.5"))
    url, _ = share.write(json.loads(json.dumps(out.state)), None, [], "1e-3", None, "")
    assert share.restore(url, "")["batch"] == ""


@pytest.mark.parametrize(
    ("surface", "batch", "words"),
    [
        ("noisy_moons", -4, "batch size"),
        ("noisy_moons", "x", "batch size"),
        ("beale", 8, "no mini"),
    ],
)
def test_a_bad_batch_size_in_a_link_is_refused(surface, batch, words):
    data = {"v": 2, "p": "", "s": surface, "r": [{"o": "sgd"}], "st": 20, "x": [0.5, 0.5]}
    got, msg = share.read(tok({**data, "b": batch}, 2))
    assert got is None and words in msg


def test_your_own_formula_is_shown_as_parsed():
    out = compute(custom("(1-x)^2 + 100*(y-x^2)^2"))
    assert out.ok
    shown = json.dumps(out.formula, cls=PlotlyJSONEncoder)
    assert "f(x, y) =" in shown and "100" in shown  # sympy's LaTeX of the typed formula
    bad = compute(custom("x**2 + z"))  # the views keep the last good function: so does it
    assert not bad.ok and bad.formula is None
    assert compute(Settings("beale", ["sgd"], "20", "1", "1.5")).formula is None
