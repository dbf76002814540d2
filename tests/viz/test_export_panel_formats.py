"""The export panel's format menu (issue 19 item 4) as a plain function: each format's
download is named and typed for it, and reads back as that format."""

from __future__ import annotations

import base64

import diskcache
import pytest

from tests.viz.media import mad, read
from tests.viz.test_export_panel import page_state
from viz.ui import export_panel
from viz.ui.export_panel import FORMATS, export
from viz.ui.jobs import ExportSlots

ARGS = (None, 1, "both", "8", "10", "400", "200", None)  # progress, click, choices
KIND = {"gif": "GIF", "apng": "PNG", "webp": "WEBP", "mp4": "h264", "webm": "vp9"}


@pytest.fixture
def slots(tmp_path):
    with diskcache.Cache(str(tmp_path / "cache")) as cache:
        yield ExportSlots(cache, limit=2)


@pytest.fixture(scope="module")
def saddle():
    return page_state("radford-saddle")


def saved(out, tmp_path):
    download = out[0]
    path = tmp_path / download["filename"]
    path.write_bytes(base64.b64decode(download["content"]))
    return path, download


@pytest.mark.parametrize("fmt", list(KIND))
def test_each_format_downloads_with_its_extension_and_type(slots, tmp_path, saddle, fmt):
    out = export(*ARGS, saddle.state, slots, fmt, ["on"], "T")
    assert out[1] == "", out
    path, download = saved(out, tmp_path)
    assert download["filename"] == f"optviz-saddle-both{FORMATS[fmt][1]}"
    assert download["type"] == FORMATS[fmt][2]
    m = read(path)
    assert (m.kind, m.frames, m.size) == (KIND[fmt], 8, (400, 200))
    assert m.durations_ms == pytest.approx([100.0] * 8)
    assert out[2].startswith(f"✓ {download['filename']}: 8 frames, 400×200, 10 fps")
    if fmt != "gif":  # the same frames as the GIF of the same choices
        ref = export(*ARGS, saddle.state, slots, "gif", ["on"], "T")
        folder = tmp_path / "ref"
        folder.mkdir()
        limit = 8 if fmt in ("mp4", "webm") else 3
        assert (mad(m.last, read(saved(ref, folder)[0]).last) < limit).all()


def test_html_is_the_standalone_page(slots, tmp_path, saddle):
    out = export(None, 1, "both", "", "", "", "", None, saddle.state, slots, "html", [], "")
    path, download = saved(out, tmp_path)
    assert download["filename"] == "optviz-saddle-both.html"
    assert download["type"] == "text/html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and 'id="optviz-data"' in text
    assert '"names":["SGD","Momentum","NAG","Adagrad","Adadelta","Rmsprop"]' in text
    assert out[2].startswith("✓ optviz-saddle-both.html: every step, 1240×480")


@pytest.mark.parametrize(
    ("fmt", "title", "words"),
    [("avi", "", "format must be one of GIF, MP4"), ("mp4", "x" * 130, "title")],
)
def test_a_bad_format_or_title_is_a_message(slots, saddle, fmt, title, words):
    out = export(None, 1, "contour", "", "", "", "", None, saddle.state, slots, fmt, [], title)
    assert out[0] is export_panel.no_update
    assert words in out[1]
    assert slots.busy() == 0
