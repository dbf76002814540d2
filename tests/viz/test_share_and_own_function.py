"""Issue 5 callbacks as plain functions: your own f(x, y), schedules and noise, share links."""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np
import pytest
from dash import no_update
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizers import get_optimizer, run
from optimizers.schedules import make_schedule
from surfaces import from_expression
from viz import figures
from viz.scene import validate
from viz.ui import callbacks, ids, layout, schedule_controls, share
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
    return o.state


def test_round_trip_equals_the_state_camera_included():
    state = json.loads(json.dumps(full_state()))  # as the browser store gives it back
    cam = {"eye": {"x": 1.2, "y": -0.7, "z": 0.9}, "up": {"x": 0, "y": 0, "z": 1}}
    link = share.encode(share.share_state(state, cam, arrows=True, tolerance="0.01"))
    assert link.startswith("#v1=") and len(link) < 600
    got, msg = share.read(link)
    assert msg == ""
    assert got["s"] == validate.CUSTOM and got["e"] == state["expression"]
    assert got["w"] == state["window"] and got["o"] == state["optimizers"]
    assert got["h"] == state["hyper"] and got["st"] == state["steps"]
    assert got["x"] == state["start"]
    assert got["sc"] == state["schedule"] and got["n"] == state["noise"]
    assert got["c"] == {k: {a: float(v) for a, v in p.items()} for k, p in cam.items()}
    assert got["a"] is True and got["t"] == "0.01"
    # ... and restoring it gives the controls that compute the same state again.
    out = share.restore(link, False, None)
    run_ = out["store"]["runs"]
    again = compute(
        Settings(
            surface=out["surface"],
            optimizers=out["optimizers"],
            steps=out["steps"],
            start_x=out["start_x"],
            start_y=out["start_y"],
            hyper={k: r["hyper"] for k, r in run_.items()},
            preset=out["store"],
            expression=out["expression"],
            x_range=out["x_range"],
            y_range=out["y_range"],
            schedule={k: r["schedule"] for k, r in run_.items()},
            noise={k: r["noise"] for k, r in run_.items()},
        )
    )
    assert json.loads(json.dumps(again.state)) == state


def test_preset_round_trip():
    init = layout.initial()
    o = compute(
        Settings(
            surface=init["surface"],
            optimizers=init["selected"],
            steps=init["steps"],
            start_x=init["start"][0],
            start_y=init["start"][1],
            preset={"preset": init["preset"], "runs": init["runs"]},
        )
    )
    state = json.loads(json.dumps(o.state))
    got, msg = share.read(share.encode(share.share_state(state)))
    assert msg == "" and got["p"] == init["preset"] and got["o"] == init["selected"]
    assert got["h"] == state["hyper"]


def tok(obj) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return "#v1=" + base64.urlsafe_b64encode(zlib.compress(raw)).rstrip(b"=").decode()


def good():
    return share.share_state(json.loads(json.dumps(full_state())))


HOSTILE = [
    "#v1=%%%",
    "#v1=",
    "#v2=abc",
    "#garbage",
    "#v1=" + "A" * 9000,
    "#v1=" + base64.urlsafe_b64encode(b"not zlib").decode(),
    "#v1=" + base64.urlsafe_b64encode(zlib.compress(b"\0" * 10_000_000)).decode().rstrip("="),
    tok(b"{not json"),
    tok(b"[1, 2]"),
    tok(b'{"v": 1, "st": NaN}'),
    tok({**good(), "st": "NaN"}),
    tok({**good(), "st": 1e9}),
    tok({**good(), "st": [1]}),
    tok({**good(), "x": [float("1e308"), "a"]}),
    tok({**good(), "s": "nope"}),
    tok({**good(), "e": "__import__('os').system('true')"}),
    tok({**good(), "e": "9**9**9"}),
    tok({**good(), "o": ["rm -rf"]}),
    tok({**good(), "h": {"sgd": {"lr": -1}}}),
    tok({**good(), "h": {"sgd": {"lr": "1e400"}}}),
    tok({**good(), "h": {"sgd": {"zz": 1}}}),
    tok({**good(), "h": {"adam": {"bias_correction": "false"}}}),
    tok({**good(), "h": {"momentum": {"lr": 1}}}),
    tok({**good(), "sc": {"sgd": {"name": "cosine", "params": {"total": -3}}}}),
    tok({**good(), "n": {"adam": {"sigma": -1, "seed": 0}}}),
    tok({**good(), "n": {"adam": {"sigma": 1, "seed": 2**40}}}),
    tok({**good(), "c": {"eye": {"x": "a", "y": 0, "z": 0}}}),
    tok({**good(), "c": {"eye": {"x": 1e9, "y": 0, "z": 0}}}),
    tok({**good(), "a": "yes"}),
    tok({**good(), "t": -1}),
    tok({**good(), "p": "no-such-scene"}),
    tok({**good(), "zz": 1}),
    tok({**good(), "w": [[2, -2], [0, 1]]}),
    tok({**good(), "v": 2}),
    tok(b"[" * 100_000),
    None,
    12,
    ["#v1="],
]


@pytest.mark.parametrize("link", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_link_message_and_default_scene(link):
    got, msg = share.read(link)
    if link in (None,):
        assert got is None and msg == ""
        return
    assert got is None
    assert msg.startswith("This link could not be read (") and "default scene" in msg
    out = share.restore(link, False, None)
    assert out["msg"] == msg and out["ready"] is True
    assert set(out) <= {"ready", "msg", "pending", "camera"}  # no control is touched


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: "#v1=" + b.hex()))
def test_any_text_never_raises(text):
    got, msg = share.read(text)
    assert (got is None) or msg == ""


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.dictionaries(
        st.sampled_from(["v", "p", "s", "e", "w", "o", "h", "st", "x", "sc", "n", "c", "a", "t"]),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
            max_leaves=8,
        ),
    )
)
def test_any_json_object_never_raises(obj):
    got, msg = share.read(tok(json.dumps(obj, allow_nan=True).encode()))
    assert (got is None) != (msg == "")


def test_write_waits_for_the_link_then_writes_it():
    state = json.loads(json.dumps(full_state()))
    with pytest.raises(callbacks.PreventUpdate):
        share.write(state, None, [], "1e-3", False, None)  # the page's link not read yet
    with pytest.raises(callbacks.PreventUpdate):  # a link's scene still being applied
        share.write(state, None, [], "1e-3", True, {"s": "beale", "p": ""})
    full, pending = share.write(state, None, ["on"], "1e-3", True, None, "http://h:1/?q#old")
    assert full.startswith("http://h:1/?q#v1=") and pending is None
    assert share.read(full[len("http://h:1/?q") :])[0]["a"] is True


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
    set) is what the reopened scene uses, and the preset's size is not applied over it."""
    from viz.ui.panels import network

    first = _network_scene(batch)
    state = json.loads(json.dumps(first.state))
    link = share.encode(share.share_state(state))
    got, msg = share.read(link)
    assert msg == "" and got["b"] == (int(batch) if batch else None)
    out = share.restore(link, False, None)
    assert out["batch"] == batch
    assert network.preset_batch(out["preset"], out["pending"]) is no_update  # link's size stays
    assert network.preset_batch(out["preset"], None) == "32"  # a user's choice of the scene
    runs = out["store"]["runs"]
    again = compute(
        Settings(
            out["surface"],
            out["optimizers"],
            out["steps"],
            out["start_x"],
            out["start_y"],
            hyper={k: r["hyper"] for k, r in runs.items()},
            preset=out["store"],
            batch_size=out["batch"],
        )
    )
    assert json.loads(json.dumps(again.state)) == state
    assert again.traj == first.traj  # the same mini-batches: the same paths
    assert share._same_scene(got, state)
    other = json.loads(json.dumps(_network_scene("8").state))
    assert not share._same_scene(got, other)  # another size is another scene


def test_a_link_without_mini_batches_leaves_the_batch_box_alone():
    out = compute(Settings("beale", ["sgd"], "20", "1", "1.5"))
    link = share.encode(share.share_state(out.state))
    assert share.restore(link, False, None)["batch"] is no_update


@pytest.mark.parametrize(
    ("surface", "batch", "words"),
    [
        ("noisy_moons", -4, "batch size"),
        ("noisy_moons", "x", "batch size"),
        ("beale", 8, "no mini"),
    ],
)
def test_a_bad_batch_size_in_a_link_is_refused(surface, batch, words):
    data = {"v": share.VERSION, "p": "", "s": surface, "o": ["sgd"], "st": 20, "x": [0.5, 0.5]}
    got, msg = share.read(share.encode({**data, "b": batch}))
    assert got is None and words in msg
