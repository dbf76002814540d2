"""The OPTIMIZERS registry: what the UI builds its controls from, and get_optimizer's checks."""

from __future__ import annotations

import inspect
import itertools
import math
import re

import pytest

import optimizers
from optimizers import OPTIMIZERS, get_optimizer
from optimizers.colours import DISTINCT, clear_of, delta_e
from optimizers.typed import COLOURS, pick_colour

CONTRACT_NAMES = {
    "lr", "momentum", "decay", "rho", "beta1", "beta2", "eps", "bias_correction",
    "eps_in_sqrt", "damping",
}  # fmt: skip
ADAPTIVE = {"adagrad", "rmsprop", "adadelta", "adam", "nadam", "amsgrad"}


def test_every_listed_rule_is_registered_in_order():
    assert tuple(OPTIMIZERS) == optimizers.RULES


@pytest.mark.parametrize("name", optimizers.RULES)
def test_rule_info_is_complete(name):
    info = OPTIMIZERS[name]
    assert info.name == name and info.label and info.description
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", info.colour)
    assert r"\leftarrow" in info.latex
    assert {h.name for h in info.hyper} <= CONTRACT_NAMES
    assert info.hyper[0].name == "lr"
    # The factory takes exactly the hyperparameters the registry lists, with the same defaults.
    params = inspect.signature(info.factory).parameters
    assert list(params) == [h.name for h in info.hyper]
    for h in info.hyper:
        assert params[h.name].default == h.default, (name, h.name)
    # The docstring carries the formula.
    assert r"\leftarrow" in (info.factory.__doc__ or "")
    assert ("eps_in_sqrt" in params) == (name in ADAPTIVE)
    assert info.second_order == (name == "newton")


@pytest.mark.parametrize("name", optimizers.RULES)
def test_hyper_specs_are_usable_sliders(name):
    for h in OPTIMIZERS[name].hyper:
        if h.is_bool:
            continue
        assert h.low < h.high and h.low <= h.default <= h.high, h
        assert not h.log or h.low > 0, h
        for value in (h.low, h.default, h.high):
            assert h.check(value, name) == value  # every slider position is accepted
        get_optimizer(name, **{h.name: h.low})
        get_optimizer(name, **{h.name: h.high})


def test_default_colours_are_distinct():
    colours = {name: info.colour for name, info in OPTIMIZERS.items()}
    close = [
        (a, b, round(delta_e(colours[a], colours[b]), 1))
        for a, b in itertools.combinations(colours, 2)
        if delta_e(colours[a], colours[b]) < DISTINCT
    ]
    assert close == []


def test_colour_difference_is_cie76():
    assert delta_e("#ffffff", "#000000") == pytest.approx(100, abs=1e-3)  # L* of white
    assert delta_e("#D55E00", "#d55e00") == 0
    # sRGB red is L* 53.24, a* 80.09, b* 67.20 (CIE 15, D65): ΔE to black is its length
    red = (53.24**2 + 80.09**2 + 67.20**2) ** 0.5
    assert delta_e("#ff0000", "#000000") == pytest.approx(red, abs=0.05)
    assert delta_e("#009E73", "#44AA99") < DISTINCT  # the teal Lion once had


def test_a_typed_rule_takes_a_colour_clear_of_the_notes_rules_and_the_scene():
    builtins = [info.colour for info in OPTIMIZERS.values()]
    names = [f"r{i}" for i in range(60)] + ["rule", "signum", "mine", "heavy_ball"]
    assert {pick_colour(n) for n in names} <= {c for c in COLOURS if clear_of(c, builtins)}
    assert not clear_of("#FF7F00", [OPTIMIZERS["sgd"].colour])  # a typed colour never used
    first = pick_colour("mine")
    assert clear_of(pick_colour("mine", [first]), [first, *builtins])
    # none clear (a grey next to the last one): the one no run has
    every = [*builtins, *COLOURS[:-1], "#808080"]
    assert not any(clear_of(c, every) for c in COLOURS)
    assert pick_colour("rule", every) == COLOURS[-1]


def test_defaults_of_the_notes_table():
    d = {name: info.defaults() for name, info in OPTIMIZERS.items()}
    assert d["sgd"]["lr"] == 0.01
    assert d["momentum"]["momentum"] == d["nesterov"]["momentum"] == 0.9
    assert d["adagrad"]["eps"] == 1e-8
    assert d["rmsprop"]["decay"] == 0.9
    assert (d["adam"]["beta1"], d["adam"]["beta2"], d["adam"]["bias_correction"]) == (
        0.9, 0.999, True,
    )  # fmt: skip
    assert (d["adadelta"]["rho"], d["adadelta"]["eps"], d["adadelta"]["lr"]) == (0.95, 1e-6, 1.0)
    assert all(d[n]["eps_in_sqrt"] is False for n in ADAPTIVE - {"adadelta"})
    assert d["adadelta"]["eps_in_sqrt"] is True  # Zeiler's ε sits inside the roots


def test_get_optimizer_returns_named_rule_with_its_values():
    opt = get_optimizer("adam", lr=0.02, beta1=0.8)
    assert opt.name == "adam"
    assert opt.hyper == {**OPTIMIZERS["adam"].defaults(), "lr": 0.02, "beta1": 0.8}
    assert get_optimizer("adam", bias_correction="false").hyper["bias_correction"] is False


@pytest.mark.parametrize(
    ("name", "hyper", "message"),
    [
        ("adamw", {}, "unknown optimizer 'adamw'"),
        (None, {}, "unknown optimizer"),
        ("adam", {"gamma": 0.9}, "adam has no hyperparameter 'gamma'"),
        ("sgd", {"momentum": 0.9}, "no hyperparameter 'momentum'"),
        ("sgd", {"lr": math.nan}, "sgd.lr must be a finite number"),
        ("sgd", {"lr": math.inf}, "finite"),
        ("sgd", {"lr": 0}, "sgd.lr must be > 0"),
        ("adam", {"lr": -1}, "adam.lr must be > 0"),
        ("adam", {"lr": "fast"}, "must be a number"),
        ("momentum", {"momentum": 1.0}, "momentum must be < 1"),
        ("rmsprop", {"decay": -0.1}, "decay must be ≥ 0"),
        ("adam", {"eps": 0.0}, "eps must be > 0"),
        ("adam", {"bias_correction": "maybe"}, "true or false"),
        ("newton", {"damping": -1.0}, "damping must be ≥ 0"),
    ],
)
def test_get_optimizer_rejects(name, hyper, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        get_optimizer(name, **hyper)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_hatted_symbol_of_a_card_is_defined_on_it(name):
    """The card's LaTeX says what m̂ and v̂ are wherever it uses them."""
    import re

    latex = OPTIMIZERS[name].latex
    for sym in set(re.findall(r"\\hat (\w)", latex)):
        assert re.search(rf"\\hat {sym}\s*&?\s*(=|\\leftarrow)", latex), (name, sym)
