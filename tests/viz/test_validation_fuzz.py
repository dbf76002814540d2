"""Issue 6, one validation layer: hypothesis sends hostile JSON values to every server
callback of the app and checks that no exception escapes (the app's generic on_error
message never appears), that a bad value gives a message, and that the outputs holding
state are left as they are.

The callbacks are driven through Flask's test client, so each one runs exactly as the
browser would run it (``ctx``, pattern-matching inputs, the on_error handler); the
plain-function tests below pin the bugs the load test found (a store sent as text, a
dropdown value as a list, a tick box as a number).
"""

from __future__ import annotations

import json
import math

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app as optviz_app
from benchmarks.bench_load import DISPATCH, App, Client, _key, layout_props, output_specs
from viz.scene import validate
from viz.ui import callbacks, ids, share

FUZZ = settings(
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every JSON type, and the odd numbers and texts a student can type.
WRONG_TYPE = st.one_of(
    st.none(),
    st.booleans(),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
BAD_NUMBER = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "", "  ", "x" * 10_000, "1,5"]),
    st.sampled_from([-1, 0, -1e308, 1e308, 10**30]),
    st.text(alphabet="abcxyz!@#", min_size=1, max_size=30),
)
HOSTILE = st.one_of(WRONG_TYPE, BAD_NUMBER, st.floats(allow_nan=False), st.integers())


@pytest.fixture(scope="module")
def client():
    return optviz_app.create_app().server.test_client()


@pytest.fixture(scope="module")
def page(client):
    deps = client.get("/_dash-dependencies").get_json()
    props = layout_props(client.get("/_dash-layout").get_json())
    app = App(deps, props, {k: p["id"] for k, p in props.items()})
    values = app.initial_values()
    # The state the page holds after its first compute, as a browser would.
    first = Client(app, port=0, seed=3)
    r = client.post(DISPATCH, json=app.body(first.recompute, values, []))
    values["scene-state.data"] = r.get_json()["response"]["scene-state"]["data"]
    return app, values, first.recompute


def _props(app: App, dep: dict) -> list[str]:
    """Every input/state prop of a callback ("id.prop"; each concrete id of a pattern)."""
    keys = []
    for spec in dep["inputs"] + dep["state"]:
        if spec["id"].startswith("{"):
            kind = json.loads(spec["id"])["type"]
            keys += [
                f"{k}.{spec['property']}"
                for k, cid in app.ids.items()
                if isinstance(cid, dict) and cid.get("type") == kind
            ]
        else:
            keys.append(f"{spec['id']}.{spec['property']}")
    return keys


def _server_side(app: App) -> list[dict]:
    # Background callbacks (the GIF export) only hand out a job handle per request; their
    # inputs are checked by tests/viz/test_export_panel.py as plain functions.
    return [
        d
        for d in app.dependencies
        if d.get("clientside_function") is None and not d.get("background")
    ]


def _body(app: App, dep: dict, values: dict, prop: str) -> dict:
    """The request the renderer sends. ``MATCH`` wildcards take the changed control's value
    (or the first card's), so a MATCH callback gets one card's ids, as in the browser."""
    specs = dep["inputs"] + dep["state"] + output_specs(dep["output"])
    patterns = [json.loads(s["id"]) for s in specs if s["id"].startswith("{")]
    match_keys = {k for pat in patterns for k, v in pat.items() if v == ["MATCH"]}
    changed = prop.rsplit(".", 1)[0]
    changed_id = json.loads(changed) if changed.startswith("{") else None
    match = {}
    if match_keys:
        if isinstance(changed_id, dict) and match_keys <= set(changed_id):
            match = {k: changed_id[k] for k in match_keys}
        else:
            first = next(
                p for p in patterns if match_keys <= {k for k, v in p.items() if v == ["MATCH"]}
            )
            cid = next(c for c in app.ids.values() if _fits(first, c, {}))
            match = {k: cid[k] for k in match_keys}

    def expand(spec, with_value=True):
        prop_ = spec["property"].split("@")[0]
        item = lambda cid: {  # noqa: E731
            "id": cid,
            "property": prop_,
            **({"value": values.get(f"{_key(cid)}.{prop_}")} if with_value else {}),
        }
        if not spec["id"].startswith("{"):
            return item(spec["id"])
        pat = json.loads(spec["id"])
        found = [item(c) for c in app.ids.values() if _fits(pat, c, match)]
        return found if ["ALL"] in pat.values() else found[0]

    outs = [expand(o, with_value=False) for o in output_specs(dep["output"])]
    return {
        "output": dep["output"],
        "outputs": outs if dep["output"].startswith("..") else outs[0],
        "inputs": [expand(i) for i in dep["inputs"]],
        "state": [expand(i) for i in dep["state"]],
        "changedPropIds": [prop],
    }


def _fits(pattern: dict, cid, match: dict) -> bool:
    if not isinstance(cid, dict) or set(cid) != set(pattern):
        return False
    for k, v in pattern.items():
        if v == ["ALL"] or (v == ["MATCH"] and k not in match):
            continue
        if cid[k] != (match[k] if v == ["MATCH"] else v):
            return False
    return True


def _post(client, app, dep, values, prop):
    r = client.post(DISPATCH, json=_body(app, dep, values, prop))
    where = (dep["output"][:70], prop)
    assert r.status_code in (200, 204) or 400 <= r.status_code < 500, where
    text = r.data.decode(errors="replace")
    assert "Traceback" not in text, where
    # on_error's generic message means an exception escaped the callback.
    assert optviz_app.CALLBACK_ERROR not in text, (where, text[:400])
    return r.get_json() if r.status_code == 200 else {}


def _strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def test_every_server_callback_is_enumerated(page):
    app, _, _ = page
    outputs = " ".join(d["output"] for d in _server_side(app))
    for must in (ids.TRAJ, ids.HYPER_PANEL, ids.SURFACE_FORMULA, ids.SHARE_MSG, ids.RESULTS):
        assert must in outputs


@settings(FUZZ, max_examples=800)
@given(data=st.data())
def test_no_exception_escapes_any_server_callback(client, page, data):
    app, values, _ = page
    deps = _server_side(app)
    dep = data.draw(st.sampled_from(deps), label="callback")
    props = _props(app, dep)
    prop = data.draw(st.sampled_from(props), label="prop")
    value = data.draw(HOSTILE, label="value")
    _post(client, app, dep, {**values, prop: value}, prop)


# ------------------------------------------------------------- the recompute: message + state

STATE_OUTPUTS = (ids.TRAJ, ids.SCENE_STATE, ids.CONTOUR, ids.SURFACE3D, ids.LOSS, ids.RESULTS)


def _bad_for(prop: str):
    """Values that are certainly invalid for this control."""
    if prop.startswith(("surface.", "optimizers.")):
        return st.one_of(WRONG_TYPE.filter(lambda v: v not in (None, [])), st.text(max_size=40))
    if '"hyper-bool"' in prop or "hyper_bool" in prop:
        return st.one_of(
            st.integers(),
            st.floats(),
            st.text(max_size=5),
            st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2),
        )
    # Numbers: steps, start, learning rates — non-numbers and non-finite ones.
    return st.one_of(
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.sampled_from(["nan", "inf", "-inf", "1e999", "", "x" * 5000, "abc"]),
    )


@FUZZ
@given(data=st.data())
def test_a_bad_control_value_gives_a_message_and_keeps_the_state(client, page, data):
    app, values, dep = page
    props = [
        p
        for p in _props(app, dep)
        if p.split(".")[0] in (ids.SURFACE, ids.OPTIMIZERS, ids.STEPS, ids.START_X, ids.START_Y)
        or '"type":"hyper"' in p.replace(" ", "")
        or '"type":"hyper-bool"' in p.replace(" ", "")
    ]
    assert any("hyper" in p for p in props)  # the default page shows its optimizer cards
    prop = data.draw(st.sampled_from(props), label="prop")
    value = data.draw(_bad_for(prop), label="value")
    if prop.startswith("surface.") and value in (validate.CUSTOM, *validate.SURFACES):
        return
    if prop.startswith("optimizers.") and isinstance(value, str) and value in validate.OPTIMIZERS:
        return
    doc = _post(client, app, dep, {**values, prop: value}, prop)
    response = doc.get("response", {})
    for out in STATE_OUTPUTS:
        assert out not in response, (prop, value, out)  # the previous valid state stays
    messages = [s for s in _strings(response) if s.strip()]
    assert messages, (prop, value, response)


# ------------------------------------------------------------- share link: malformed URLs

URL_JUNK = st.one_of(
    st.text(max_size=60).map(lambda t: "#" + t),
    st.text(max_size=60).map(lambda t: "#v1=" + t),
    st.binary(max_size=40).map(lambda b: "#v1=" + b.hex()),
    st.sampled_from(["#v2=abc", "#v1=" + "A" * 20_000, "#v1===", "#v1=%00", "#v"]),
    WRONG_TYPE.filter(lambda v: v not in (None, "", "#")),
)


@FUZZ
@given(hash_=URL_JUNK)
def test_a_malformed_share_link_gives_its_message_and_sets_no_control(hash_):
    if not hash_ or hash_ == "#":
        with pytest.raises(PreventUpdate):  # no link: nothing to do
            share.restore(hash_, "http://localhost/")
        return
    got = share.restore(hash_, "http://localhost/")
    assert set(got) == {"msg"}, got  # no control is touched
    assert isinstance(got["msg"], str) and got["msg"].strip(), hash_


# ------------------------------------------------------------- the bugs, as plain functions

STORE_JUNK = st.one_of(
    st.text(max_size=10),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
    st.fixed_dictionaries({"runs": st.one_of(st.text(max_size=3), st.lists(st.integers()))}),
    st.fixed_dictionaries({"hyper": st.one_of(st.text(max_size=3), st.integers())}),
    st.fixed_dictionaries({"runs": st.fixed_dictionaries({"sgd": st.text(max_size=3)})}),
    st.fixed_dictionaries(
        {
            "runs": st.fixed_dictionaries(
                {
                    "sgd": st.fixed_dictionaries(
                        {"hyper": st.text(max_size=3), "label": st.integers()}
                    )
                }
            )
        }
    ),
)


@FUZZ
@given(store=STORE_JUNK, state=STORE_JUNK, from_preset=st.booleans())
def test_render_panel_with_a_tampered_store_draws_the_cards(store, state, from_preset):
    cards = callbacks.render_panel(["sgd", "adam"], store, state, from_preset)
    assert len(cards) == 2  # the stores are ignored; the cards use the defaults


@FUZZ
@given(value=WRONG_TYPE.filter(bool))  # none chosen ([], None, {}): no cards, by design
def test_a_wrong_typed_optimizer_selection_keeps_the_cards(value):
    assert callbacks.render_panel(value, {}, {}, False) is no_update


@FUZZ
@given(
    value=st.one_of(
        st.lists(st.text(max_size=5), min_size=1),
        st.integers(),
        st.dictionaries(st.text(max_size=3), st.integers(), min_size=1),
    )
)
def test_a_dropdown_value_of_the_wrong_type(value):
    got = callbacks.apply_preset(value)
    assert set(got) == {"note", "note_title"} and "choose one" in got["note"]
    assert callbacks.show_formula(value) is no_update
    assert callbacks.surface_changed(value, value) == (no_update,) * 3
    o = callbacks.compute(callbacks.Settings(value, ["sgd"], "10", "0", "0"))
    assert not o.ok and o.state is None and "surface" in o.messages[ids.RUN_MSG]


@FUZZ
@given(
    value=st.one_of(
        st.integers(),
        st.floats(),
        st.dictionaries(st.text(max_size=3), st.integers(), min_size=1),
        st.lists(st.lists(st.text(max_size=2)), min_size=1, max_size=2),
    )
)
def test_optimizers_of_the_wrong_type_are_a_message(value):
    o = callbacks.compute(callbacks.Settings("beale", value, "10", "1", "1"))
    assert not o.ok and o.state is None
    assert o.messages[ids.OPTIMIZERS_MSG]


@FUZZ
@given(value=st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.none()))
def test_a_bool_hyperparameter_must_be_a_bool(value):
    rule = next(
        k for k, o in validate.OPTIMIZERS.items() if any(o.spec(n).is_bool for n in o.defaults())
    )
    name = next(
        n for n in validate.OPTIMIZERS[rule].defaults() if validate.OPTIMIZERS[rule].spec(n).is_bool
    )
    s = callbacks.Settings("beale", [rule], "10", "1", "1", hyper={rule: {name: value}})
    o = callbacks.compute(s)
    assert not o.ok and o.state is None and "on or off" in o.messages[(rule, name)]
    with pytest.raises(ValueError):
        validate.checklist(value if value is not None else 3, name)


RUNS_JUNK = st.fixed_dictionaries(
    {
        "runs": st.lists(
            st.one_of(
                st.integers(),
                st.fixed_dictionaries(
                    {
                        "x": st.one_of(st.text(max_size=3), st.lists(st.none(), max_size=2)),
                        "y": st.lists(st.booleans(), max_size=2),
                        "loss": st.lists(st.floats(), max_size=2),
                    }
                ),
            ),
            min_size=1,
            max_size=2,
        )
    }
)


@FUZZ
@given(traj=st.one_of(STORE_JUNK, RUNS_JUNK), state=STORE_JUNK)
def test_results_for_tolerance_with_tampered_stores(traj, state):
    assert callbacks.results_for_tolerance("1e-3", traj, state)[0] is no_update


@FUZZ
@given(traj=RUNS_JUNK)
def test_results_for_tolerance_with_tampered_runs_and_a_valid_scene(traj):
    o = callbacks.compute(callbacks.Settings("beale", ["sgd"], "5", "1", "1"))
    assert o.ok
    assert callbacks.results_for_tolerance("1e-3", traj, o.state)[0] is no_update
    assert callbacks.results_for_tolerance("1e-3", o.traj, o.state)[0] is not no_update


def test_the_checks_accept_what_the_controls_send():
    assert validate.checklist(["on"], "amsgrad") is True
    assert validate.checklist([], "amsgrad") is False and validate.checklist(None, "x") is False
    assert validate.store({"a": 1}) == {"a": 1} and validate.store("x") == {}
    assert validate.choice("beale", "surface") == "beale"
    assert math.isclose(validate.number("1e-3", "lr"), 1e-3, rel_tol=1e-12)


@FUZZ
@given(store=STORE_JUNK)
def test_compute_with_a_tampered_preset_store_runs_with_the_defaults(store):
    o = callbacks.compute(callbacks.Settings("beale", ["sgd"], "5", "1", "1", preset=store))
    assert o.ok and o.state["optimizers"] == ["sgd"]
    assert o.state["hyper"]["sgd"] == validate.OPTIMIZERS["sgd"].defaults()
