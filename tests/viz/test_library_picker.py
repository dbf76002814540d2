"""The picker's library rules: found lazily, never while the app is built."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dash import no_update

from optimizers import OPTIMIZERS, library
from viz.ui import layout, library_picker, rule_editor

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "jax", "optax", "pytorch_optimizer")


def in_fresh_process(script: str, timeout: float) -> dict:
    """What ``script`` prints last, as JSON, run in a new Python (the heavy libraries'
    names as its arguments)."""
    out = subprocess.run(
        [sys.executable, "-c", script, *HEAVY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_building_the_app_imports_no_library_and_the_page_opens_with_the_notes_rules():
    """A fresh process: create_app() and its first page import none of torch, jax,
    optax, pytorch-optimizer; the picker holds the notes' rules and "Write your own…",
    and the line under it says the rules are being looked up (its timer on)."""
    script = (
        "import json, sys; import app; a = app.create_app();"
        "from viz.ui import layout, library_picker;"
        "print(json.dumps({'heavy': [m for m in sys.argv[1:] if m in sys.modules],"
        " 'options': [o['value'] for o in layout.optimizer_options()],"
        " 'note': library_picker.note(), 'found': library_picker.found() is not None,"
        " 'timer_on': not library_picker.line()[1].disabled}))"
    )
    assert in_fresh_process(script, timeout=120) == {
        "heavy": [],
        "options": [*OPTIMIZERS, rule_editor.OWN],
        "note": library_picker.LOOKING,
        "found": False,
        "timer_on": True,
    }


def test_finding_them_leaves_the_web_process_without_torch_and_jax():
    """The rules are found by a child process: the page's process lists them (with the
    colours the registry gives them) and still holds none of the libraries."""
    script = (
        "import json, sys; from viz.ui import library_picker as lp; r = lp.find(180);"
        "print(json.dumps({'heavy': [m for m in sys.argv[1:] if m in sys.modules],"
        " 'rules': [list(x) for x in r or ()]}))"
    )
    got = in_fresh_process(script, timeout=240)
    assert got["heavy"] == []
    assert got["rules"] == [[n, OPTIMIZERS[n].colour, s] for n, s in library.drawable().items()]


def test_found_once_the_line_counts_them_and_a_search_adds_them_after_the_notes_rules():
    rules = library_picker.find(timeout=120)
    assert rules is not None and library_picker.found() is rules
    drawable = library.drawable()
    assert [r[0] for r in rules] == list(drawable) and len(rules) > 100
    assert all(colour == OPTIMIZERS[name].colour for name, colour, _ in rules)
    line = library_picker.note()
    first_source = max(set(drawable.values()), key=list(drawable.values()).count)
    n = list(drawable.values()).count(first_source)
    assert line.startswith(f"{n} more from {first_source}") and line.endswith(
        "type a name to search"
    )

    builtin = [layout.picker_option(n, i.label, i.colour) for n, i in OPTIMIZERS.items()]
    # a page opening (or its timer): the line, the timer stopped, the options left to
    # whoever writes the scene
    assert library_picker.update(None, library_picker.LOOKING, builtin, layout.picker_option) == (
        line,
        no_update,
        True,
    )
    # the first search adds every library rule, after what the picker already holds
    shown, opts, stop = library_picker.update("lamb", line, builtin, layout.picker_option)
    assert shown is no_update and stop is True
    assert [o["value"] for o in opts] == [*OPTIMIZERS, *drawable]
    assert opts[len(builtin)]["search"] == f"{rules[0][0]} {rules[0][2]}"
    # later searches: nothing to add
    again = library_picker.update("lam", line, opts, layout.picker_option)
    assert again == (no_update, no_update, True)
    # a page served from now on carries them from the start, its timer stopped
    values = [o["value"] for o in layout.optimizer_options()]
    assert values == [*OPTIMIZERS, rule_editor.OWN, *drawable]
    text, timer = library_picker.line()
    assert (text.id, text.children, timer.id, timer.disabled) == (
        library_picker.NOTE,
        line,
        library_picker.POLL,
        True,
    )


def test_props_of_another_shape_are_no_search_and_no_options():
    """What a tampered request may send: the line still comes, nothing else changes."""
    line = library_picker.note(library_picker.find(timeout=120))
    make = layout.picker_option
    assert library_picker.update(["lamb"], 5, [], make) == (line, no_update, True)
    assert library_picker.update("lamb", line, {"value": "sgd"}, make) == (
        no_update,
        no_update,
        True,
    )
    odd = [7, None, {"value": ["sgd"]}, {"label": "no value"}]
    _, opts, _ = library_picker.update("lamb", line, odd, make)
    assert opts[:4] == odd and len(opts) == 4 + len(library.drawable())
