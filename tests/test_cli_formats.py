"""``optviz export --out x.mp4 | .webm | .webp | .apng | .gif`` (issue 19 item 1).

Each file the command line writes is read back (tests/viz/media.py): frame count, size,
duration per frame, codec, and its last frame against the GIF's of the same options; for
the videos on every Radford scene at its own size too (``test_videos_match_the_gif``).
"""

from __future__ import annotations

import pytest

import optviz_cli
from tests.cli_helpers import cli
from tests.viz.media import mad, read

SCENE = ["export", "--preset", "radford-saddle", "--steps", "24"]
OPTS = ["--frames", "9", "--fps", "10", "--size", "240x180", "--counter", "--title", "Saddle"]
TOLERANCE = {"apng": 3, "webp": 3, "mp4": 8, "webm": 8}
KIND = {"gif": "GIF", "apng": "PNG", "webp": "WEBP", "mp4": "h264", "webm": "vp9"}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    out = {}
    for fmt in KIND:
        path = folder / f"saddle.{fmt}"
        status = optviz_cli.main([*SCENE, *OPTS, "--out", str(path)])
        assert status == 0
        out[fmt] = path
    return out


@pytest.mark.parametrize("fmt", list(KIND))
def test_each_extension_writes_its_format(written, fmt):
    m = read(written[fmt])
    assert m.kind == KIND[fmt]
    assert (m.frames, m.size) == (9, (240, 180))
    assert m.durations_ms == pytest.approx([100.0] * 9)
    if fmt in TOLERANCE:
        diff = mad(m.last, read(written["gif"]).last)
        assert (diff < TOLERANCE[fmt]).all(), diff


# Radford's scenes at their own size and view, and the views a talk would pick besides.
# Mean absolute difference per channel of the last frame, in 1/255, from the GIF's.
SCENES = [
    ("radford-long-valley", None),  # contour
    ("radford-beale", None),  # contour
    ("radford-beale", "3d"),
    ("radford-saddle", None),  # 3-D
    ("radford-saddle", "both"),
    ("radford-noisy-moons", None),  # contour and the accuracy strip
]


@pytest.mark.parametrize(("preset", "view"), SCENES)
def test_videos_match_the_gif(tmp_path, preset, view):
    args = ["export", "--preset", preset, "--frames", "6"] + (["--view", view] if view else [])
    for fmt in ("gif", "mp4", "webm"):
        assert optviz_cli.main([*args, "--out", str(tmp_path / f"x.{fmt}")]) == 0
    ref = read(tmp_path / "x.gif")
    for fmt in ("mp4", "webm"):
        m = read(tmp_path / f"x.{fmt}")
        assert (m.kind, m.frames) == (KIND[fmt], 6)
        diff = mad(m.last, ref.last)
        assert (diff < 8).all(), (fmt, diff)


def test_the_summary_line_names_the_file(capsys, tmp_path):
    target = tmp_path / "b.webm"
    status, out, err = cli(capsys, *SCENE, *OPTS, "--out", str(target))
    assert status == 0, err
    assert out.startswith(f"wrote {target}: 9 frames, 240×180, 10 fps")


@pytest.mark.parametrize("name", ["x.avi", "x.MOV", "x"])
def test_an_unknown_extension_is_refused_with_the_list(capsys, tmp_path, name):
    status, out, err = cli(capsys, *SCENE, "--out", str(tmp_path / name))
    assert status == 2 and out == ""
    line = err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for ext in (".gif", ".mp4", ".webm", ".webp", ".apng"):
        assert ext in line, line
    assert list(tmp_path.iterdir()) == []


def test_dpi_scales_the_scenes_size(capsys, tmp_path):
    target = tmp_path / "big.mp4"
    status, _, err = cli(capsys, *SCENE, "--frames", "2", "--dpi", "150", "--out", str(target))
    assert status == 0, err
    assert read(target).size == (930, 720)  # Radford's 620×480 at 150 dpi


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--dpi", "400"], ["--dpi 400", "2480x1920", "1920x1080", "--dpi 225"]),
        (["--dpi", "150", "--size", "200x100"], ["--dpi", "--size"]),
        (["--title", "x" * 200], ["title", "120"]),
    ],
)
def test_bad_size_options_are_one_line(capsys, tmp_path, extra, words):
    status, out, err = cli(capsys, *SCENE, *extra, "--out", str(tmp_path / "x.mp4"))
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    assert list(tmp_path.iterdir()) == []
