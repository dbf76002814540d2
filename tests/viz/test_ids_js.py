"""The browser's id table (assets/optviz-00-ids.js) is generated from viz/ui/ids.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from viz.ui import ids

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def test_generated_id_table_is_up_to_date():
    on_disk = (ASSETS / ids.JS_FILE).read_text(encoding="utf-8")
    assert on_disk == ids.js_source(), (
        f"assets/{ids.JS_FILE} is out of date with viz/ui/ids.py: run `python -m viz.ui.ids`"
    )


def test_table_holds_every_string_id_by_its_python_name():
    table = ids.js_ids()
    assert table["CONTOUR_TOP"] == "contour-top" and table["SCRUB"] == "scrub"
    assert table["HYPER_SLIDER"] == ids.hyper_slider("a", "b")["type"]
    assert "JS_FILE" not in table
    assert all(isinstance(v, str) for v in table.values())


def test_no_other_asset_spells_an_id_out_of_the_table():
    """Quoted ids in the namespace's hand-written scripts (optviz-NN-*.js) would drift from
    ids.py again."""
    values = set(ids.js_ids().values())
    scripts = sorted(ASSETS.glob("optviz-[0-9][0-9]-*.js"))
    assert len(scripts) > 2
    for path in scripts:
        if path.name == ids.JS_FILE:
            continue
        text = path.read_text(encoding="utf-8")
        quoted = {v for v in values if f'"{v}"' in text or f"'{v}'" in text}
        assert not quoted, f"{path.name} spells ids {sorted(quoted)}: read them from optviz.ids"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_generated_file_runs_and_defines_the_table(tmp_path):
    """Run the generated script in node with a bare ``window``: the table it defines."""
    driver = tmp_path / "run.js"
    driver.write_text(
        "global.window = {};\n"
        f"require({json.dumps(str(ASSETS / ids.JS_FILE))});\n"
        "process.stdout.write(JSON.stringify(window.dash_clientside.optviz.ids));\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        ["node", str(driver)], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout) == ids.js_ids()
