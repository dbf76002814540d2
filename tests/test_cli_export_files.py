"""``optviz export``: how the file is written (issue 15 item 7), which formats, what size.

The writer makes a fresh temporary file in the target's folder (random name, O_EXCL),
fsyncs it and renames it onto the target; it never follows a planted ``F.part`` and never
replaces something that is not a regular file (device, FIFO, directory, symlink).
These tests render real GIFs (a few frames, small) and touch only their tmp folders.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

import optviz_cli
from surfaces import get_surface
from tests.cli_helpers import cli
from viz import gif
from viz.scene import camera_angles, default_style, get_preset, radford_style
from viz.ui.callbacks import Settings

SMALL = ["--steps", "4", "--frames", "2", "--size", "96x72"]
BEALE = ["export", "--surface", "beale", "--optimizer", "sgd"]
ROOT = Path(__file__).resolve().parent.parent


def one_error_line(err: str, *words: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("optviz: error: ") and "Traceback" not in err
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines[0])
    return lines[0]


def is_gif(path) -> bool:
    with open(path, "rb") as f:
        return f.read(6) in (b"GIF87a", b"GIF89a")


# ----------------------------------------------------------------------------- safe writing


def test_a_planted_part_symlink_is_not_followed(capsys, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwd"
    secret.write_text("root:x:0:0\n")
    work = tmp_path / "work"
    work.mkdir()
    target = work / "x.gif"
    planted = work / "x.gif.part"
    planted.symlink_to(secret)

    status, _, err = cli(capsys, *BEALE, "--out", str(target), *SMALL)

    assert status == 0, err
    assert secret.read_text() == "root:x:0:0\n"  # the symlink's target is unchanged
    assert planted.is_symlink() and os.readlink(planted) == str(secret)  # left alone
    st = os.lstat(target)
    assert stat.S_ISREG(st.st_mode) and is_gif(target)
    assert sorted(p.name for p in work.iterdir()) == ["x.gif", "x.gif.part"]  # no leftovers


def test_a_fifo_is_refused_and_left_in_place(capsys, tmp_path):
    fifo = tmp_path / "pipe.gif"
    os.mkfifo(fifo)
    status, out, err = cli(capsys, *BEALE, "--out", str(fifo), *SMALL)
    assert status == 2 and out == ""
    one_error_line(err, str(fifo), "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe.gif"]


def test_a_device_node_is_refused_and_left_in_place(capsys, tmp_path):
    """A character device like /dev/null (same numbers), made in tmp: root only."""
    node = tmp_path / "null.gif"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root (CAP_MKNOD)")
    status, out, err = cli(capsys, *BEALE, "--out", str(node), *SMALL)
    assert status == 2 and out == ""
    one_error_line(err, "not a regular file")
    st = os.lstat(node)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["null.gif"]


def test_dev_null_itself_is_refused_before_writing(capsys):
    before = os.lstat("/dev/null")
    status, out, err = cli(capsys, *BEALE, "--out", "/dev/null", *SMALL)
    assert status == 2 and out == ""
    one_error_line(err, "--out")
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert not os.path.lexists("/dev/null.part")


def test_a_directory_is_refused(capsys, tmp_path):
    folder = tmp_path / "shots.gif"
    folder.mkdir()
    status, out, err = cli(capsys, *BEALE, "--out", str(folder), *SMALL)
    assert status == 2 and out == ""
    one_error_line(err, "not a regular file")
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_a_symlink_target_is_refused_and_its_target_untouched(capsys, tmp_path):
    real = tmp_path / "real.gif"
    real.write_bytes(b"keep me")
    link = tmp_path / "link.gif"
    link.symlink_to(real)
    status, out, err = cli(capsys, *BEALE, "--out", str(link), *SMALL)
    assert status == 2 and out == ""
    one_error_line(err, "symbolic link")
    assert link.is_symlink() and real.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.gif", "real.gif"]


def test_an_existing_regular_file_is_replaced(capsys, tmp_path):
    target = tmp_path / "x.gif"
    target.write_bytes(b"old")
    status, _, err = cli(capsys, *BEALE, "--out", str(target), *SMALL)
    assert status == 0, err
    assert is_gif(target) and [p.name for p in tmp_path.iterdir()] == ["x.gif"]


def test_the_file_gets_the_users_umask_permissions(capsys, tmp_path):
    target = tmp_path / "x.gif"
    old = os.umask(0o027)
    try:
        status, _, err = cli(capsys, *BEALE, "--out", str(target), *SMALL)
    finally:
        os.umask(old)
    assert status == 0, err
    st = os.lstat(target)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o640  # 0o666 & ~0o027, not mkstemp's 0o600


def test_a_failed_render_leaves_no_temporary_file(capsys, tmp_path, monkeypatch):
    def broken(*_a, **_kw):
        raise ValueError("the renderer gave up")

    monkeypatch.setattr(gif, "render_gif_bytes", broken)
    target = tmp_path / "x.gif"
    status, out, err = cli(capsys, *BEALE, "--out", str(target), *SMALL)
    assert status == 2 and out == ""
    one_error_line(err, "the renderer gave up")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_one_line(capsys, tmp_path):
    status, out, err = cli(capsys, *BEALE, "--out", str(tmp_path / "no" / "x.gif"), *SMALL)
    assert status == 2 and out == ""
    one_error_line(err, "cannot write")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize("name", ["x.png", "x.jpg", "x", "x.gif.txt", ".png"])
def test_an_unsupported_extension_is_refused_with_the_list(capsys, tmp_path, name):
    status, out, err = cli(capsys, *BEALE, "--out", str(tmp_path / name), *SMALL)
    assert status == 2 and out == ""
    line = one_error_line(err, "--out")
    for ext in optviz_cli.EXPORT_FORMATS:
        assert ext in line
    assert list(tmp_path.iterdir()) == []


def test_the_extension_is_case_insensitive(capsys, tmp_path):
    status, _, err = cli(capsys, *BEALE, "--out", str(tmp_path / "X.GIF"), *SMALL)
    assert status == 0, err
    assert is_gif(tmp_path / "X.GIF")


def test_help_lists_the_formats_and_the_rules(capsys):
    assert optviz_cli.main(["export", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for ext in optviz_cli.EXPORT_FORMATS:
        assert ext in text
    assert "symbolic link" in text and "regular file" in text
    # The sizes the help names are the styles' own.
    radford, ours = radford_style().size, default_style(get_surface("beale")).size
    assert (
        "{}x{}".format(*radford),
        "{}x{}".format(*ours),
    ) == (optviz_cli.RADFORD_SIZE, optviz_cli.DEFAULT_SIZE)
    assert f"{optviz_cli.RADFORD_SIZE} for Radford's presets" in text
    assert f"{optviz_cli.DEFAULT_SIZE} for every other scene" in text


# ----------------------------------------------------------------------------- default size
# One rule for every scene, the app's: a GIF is the scene's own style size (a preset's
# style; for any other scene ``default_style``), as the app's Export panel renders it.


def gif_size(capsys, tmp_path, *argv) -> tuple[int, int]:
    target = tmp_path / "size.gif"
    status, _, err = cli(capsys, "export", *argv, "--out", str(target), "--steps", "2")
    assert status == 0, err
    with Image.open(target) as im:
        return im.size


def app_export_size(settings) -> tuple[int, int]:
    """What the app's Export panel renders for the page's scene with size left blank."""
    from viz.ui import callbacks, export_panel

    out = callbacks.compute(settings)
    assert out.ok, out.messages
    scene = export_panel.scene_from_state(json.loads(json.dumps(out.state)))
    return gif.check_options(scene, "contour").size


def test_default_size_of_a_surface_is_the_apps(capsys, tmp_path):
    got = gif_size(capsys, tmp_path, "--surface", "beale", "--optimizer", "sgd")
    state = Settings("beale", ["sgd"], "2", "1", "1")
    assert got == app_export_size(state) == default_style(get_surface("beale")).size


def test_default_size_of_an_expression_is_the_surfaces_default(capsys, tmp_path):
    got = gif_size(capsys, tmp_path, "--expression", "x**2 + y**2", "--optimizer", "sgd")
    assert got == default_style(get_surface("quadratic")).size


@pytest.mark.parametrize("name", ["radford-beale", "rosenbrock-race"])
def test_default_size_of_a_preset_is_its_own_as_in_the_app(capsys, tmp_path, name):
    from viz.ui import callbacks

    scene = get_preset(name)
    got = callbacks.apply_preset(name)
    state = Settings(
        got["surface"],
        got["optimizers"],
        "2",
        got["start_x"],
        got["start_y"],
        preset=got["store"],
    )
    want = gif.check_options(scene, "contour").size
    assert want == scene.style.size
    assert gif_size(capsys, tmp_path, "--preset", name, "--view", "contour") == want
    assert app_export_size(state) == want


def test_ctrl_c_is_one_line_and_leaves_nothing(capsys, tmp_path, monkeypatch):
    def interrupted(*_a, **_kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(gif, "render_gif_bytes", interrupted)
    status, out, err = cli(capsys, *BEALE, "--out", str(tmp_path / "x.gif"), *SMALL)
    assert (status, out, err) == (130, "", "optviz: interrupted\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_mid_export_removes_the_half_written_file(tmp_path, stop):
    """A teacher's script stops a long export, or the terminal closes: the file being
    written goes, the encoder with it, and the command says so in one line (exit 128 +
    the signal, as a shell reports it)."""
    target = tmp_path / "long.mp4"
    args = [*BEALE, "--out", str(target), "--steps", "400", "--frames", "400"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "optviz_cli", *args, "--size", "1920x1080"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".optviz-*.tmp")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the export never started writing"
            time.sleep(0.05)
        time.sleep(0.5)  # into the render
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert (proc.returncode, out) == (128 + stop, "")
    assert err == f"optviz: stopped ({stop.name})\n"
    assert list(tmp_path.iterdir()) == []
    children = psutil.Process().children(recursive=True)
    assert not [c for c in children if "ffmpeg" in c.name()]


def test_camera_sets_the_3d_view_and_a_bad_one_is_one_line(capsys, tmp_path):
    """--camera ELEV,AZIM turns the 3-D view (the default hid Radford's Beale paths behind
    a hump); an elevation past 90 is refused before any work."""
    args = [*BEALE, "--view", "3d", *SMALL]
    frames = {}
    for name, extra in (("default", []), ("above", ["--camera", "80,-60"])):
        target = tmp_path / f"{name}.gif"
        status, _, err = cli(capsys, *args, "--out", str(target), *extra)
        assert status == 0, err
        with Image.open(target) as im:
            frames[name] = np.asarray(im.convert("RGB"))
    assert not np.array_equal(frames["default"], frames["above"])
    same = tmp_path / "same.gif"  # the default's own angles give the default's picture
    elev, azim = camera_angles(default_style(get_surface("beale")).camera)
    status, _, _ = cli(capsys, *args, "--out", str(same), "--camera", f"{elev!r},{azim!r}")
    assert status == 0
    with Image.open(same) as im:
        frames["same"] = np.asarray(im.convert("RGB"))

    def apart(a: str, b: str) -> float:
        return float(np.abs(frames[a].astype(int) - frames[b]).mean())

    assert apart("same", "default") < 0.1 * apart("above", "default")
    status, out, err = cli(capsys, *args, "--out", str(tmp_path / "x.gif"), "--camera", "95,0")
    assert status == 2 and out == "" and not (tmp_path / "x.gif").exists()
    assert "elevation must be from -90 to 90" in err and len(err.splitlines()) == 1
