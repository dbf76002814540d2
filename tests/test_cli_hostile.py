"""The command line fed hostile values for every option (hypothesis, in-process).

Whatever a user types: exit status 0 or 2, never a traceback; on failure exactly one
``optviz: error: ...`` line on stderr, nothing on stdout and no file written; on success
well-formed output (strict JSON: no NaN/Infinity tokens). GIF rendering itself is
replaced by a stub that checks the CLI only ever asks for a bounded export; serving by
one that records the address.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import tempfile

import dash
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import optviz_cli
from optimizers import OPTIMIZERS
from surfaces import SURFACES, from_expression
from viz.scene import PRESETS, Scene
from viz.scene.link import scene_to_link

HYPOTHESIS = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ----------------------------------------------------------------------------- values

NASTY_TEXT = [
    "", " ", "\t", "nan", "NaN", "-nan", "inf", "-inf", "+inf", "Infinity", "1e400", "-1e400",
    "1e-400", "1e308", "-0", "0", "-1", "1.5", "1,5", "0x10", "1_000", "١٢", "½", "1e", "e1",
    "--", "-", "=", "None", "null", "true", "[]", "{}", "'1'", "\x00", "é" * 3, "🙂",
    "9" * 400, "x" * 5000, "$(rm -rf ~)", "__import__('os').system('true')", "%s%n", "\u202e1",
]  # fmt: skip

numbers = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.text(max_size=30),
    # small valid values, so the paths past validation are walked too
    st.integers(1, 60).map(str),
    st.floats(0.0001, 0.9).map(lambda v: f"{v:.4g}"),
)
pairs = st.one_of(
    st.tuples(numbers, numbers).map(",".join),
    st.tuples(st.floats(-3, 3), st.floats(-3, 3)).map(lambda p: f"{p[0]},{p[1]}"),
    st.sampled_from(["1", "1,2,3", ",", "1;2", "(1,2)", "[1, 2]", "1 2", ",,", "-1.5,2"]),
)
sizes = st.one_of(
    st.tuples(st.integers(-10, 10**6), st.integers(-10, 10**6)).map(lambda s: f"{s[0]}x{s[1]}"),
    st.sampled_from(["800x600", "16x16", "15x15", "0x0", "800×600", "800X600", "axb", "800"]),
    numbers,
)
rules = st.one_of(st.sampled_from(sorted(OPTIMIZERS)), st.sampled_from(NASTY_TEXT))
hyper_names = st.sampled_from(
    ["lr", "momentum", "decay", "rho", "beta1", "beta2", "eps", "bias_correction",
     "eps_in_sqrt", "damping", "nope", "", "__class__", "lr.lr"]
)  # fmt: skip
settings_text = st.one_of(
    st.builds(lambda n, v: f"{n}={v}", hyper_names, numbers),
    st.builds(lambda r, n, v: f"{r}.{n}={v}", rules, hyper_names, numbers),
    st.sampled_from(["lr", "=", "lr=", "=1", "adam.=1", ".lr=1", "lr==1", "a.b.c=1"]),
    st.text(max_size=40),
)
expressions = st.one_of(
    st.sampled_from(
        ["x**2 + 3*y**2", "x", "1/0", "x/0", "log(x)", "sqrt(-1)", "x**y**x**y",
         "__import__('os').system('touch pwned')", "().__class__", "lambda: 1", "x" * 3000,
         "exp(exp(exp(x)))", "x ** 10**10", "", "y*", "sin(x)*cos(y)"]
    ),
    st.text(max_size=60),
)  # fmt: skip
texts = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=40))

# Share links: real ones (presets, an ad-hoc scene, one with an expression), and each of them
# cut short, with a character changed, with another version or a step past the end.
APP = "http://127.0.0.1:8050/"
GOOD_LINKS = [scene_to_link(PRESETS[name], APP) for name in sorted(PRESETS)[:3]] + [
    scene_to_link(Scene.from_args("rosenbrock", ["adam", "sgd"], {"lr": 0.002}, steps=30)),
    scene_to_link(
        Scene.from_args(from_expression("x**2 + 3*y**2"), ["momentum"], steps=20),
        APP,
    ),
]


def _spoiled(link: str) -> list[str]:
    i = len(link) - 7
    flipped = link[:i] + ("A" if link[i] != "A" else "B") + link[i + 1 :]
    return [
        link[:-9], flipped, link.replace("#v2=", "#v9="), link.replace("#v2=", "#v1="),
        link + "&k=999999", link + "&k=-1", link.split("#")[0], link.replace("#", "?"),
        link + link, link * 50,
    ]  # fmt: skip


links = st.one_of(
    st.sampled_from(GOOD_LINKS),
    st.sampled_from([bad for link in GOOD_LINKS for bad in _spoiled(link)]),
    st.sampled_from(["#v2=", "#v1=", "#v2=!!!!", "#", "#v2=eJw", "http://x/#v2=AAAA"]),
    texts,
)
# Names planted in the export's folder before every run: none may be written through,
# replaced or removed (tests/test_cli_export_files.py has the one-by-one cases).
PLANTED_OUT = ["fifo.gif", "link.gif", "dir.gif", "out.gif.part"]

SCENE_OPTIONS = {
    "--preset": st.one_of(st.sampled_from(sorted(PRESETS)), texts),
    "--surface": st.one_of(st.sampled_from(sorted(SURFACES)), texts),
    "--expression": expressions,
    "--x-range": pairs,
    "--y-range": pairs,
    "--optimizer": rules,
    "--set": settings_text,
    "--start": pairs,
    "--steps": numbers,
    "--noise": numbers,
    "--seed": numbers,
    "--batch-size": numbers,
    "--link": links,
}
COMMAND_OPTIONS = {
    "trajectory": {**SCENE_OPTIONS, "--format": st.one_of(st.sampled_from(["json", "csv"]), texts)},
    "export": {
        **SCENE_OPTIONS,
        "--out": st.one_of(
            st.sampled_from(["out.gif", "", ".", "/nonexistent/dir/x.gif", "x" * 5000 + ".gif"]),
            st.sampled_from([*PLANTED_OUT, "x.png", "X.GIF", "out", "sub/x.gif", ".gif"]),
            texts,
        ),
        "--view": st.one_of(st.sampled_from(["contour", "3d", "both"]), texts),
        "--frames": numbers,
        "--fps": numbers,
        "--size": sizes,
    },
    "serve": {"--host": texts, "--port": numbers, "--debug": st.none()},
    "presets": {"--verbose": st.none(), "-v": st.none()},
}


@st.composite
def argvs(draw):
    command = draw(
        st.sampled_from(["trajectory"] * 4 + ["export"] * 3 + ["serve", "presets", "", "fly"])
    )
    options = COMMAND_OPTIONS.get(command, SCENE_OPTIONS)
    argv = [command] if command else []
    # Mostly a valid core (so parsing gets past "required") plus a few hostile options.
    if command in ("trajectory", "export") and draw(st.integers(0, 3)):
        source = draw(st.sampled_from(["preset", "link", "surface"]))
        if source == "preset":
            argv += ["--preset", draw(st.sampled_from(sorted(PRESETS)))]
        elif source == "link":
            argv += ["--link", draw(st.sampled_from(GOOD_LINKS))]
        else:
            argv += ["--surface", draw(st.sampled_from(sorted(SURFACES)))]
            argv += ["--optimizer", draw(st.sampled_from(sorted(OPTIMIZERS)))]
        argv += ["--steps", str(draw(st.integers(0, 40)))]
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=3)):
        value = draw(options[name])
        argv += [name] if value is None else [name, value]
    if command == "export" and "--out" not in argv:
        argv += ["--out", "out.gif"]
    if draw(st.integers(0, 4)) == 0 and options:  # a dangling option with no value
        argv.append(draw(st.sampled_from(sorted(options))))
    return argv


# ----------------------------------------------------------------------------- stubs


class Bounds(AssertionError):
    pass


def fake_render(scene, view=None, frames=None, fps=None, size=None, **_):
    """What the CLI hands the renderer: always bounded, never a NaN."""
    if frames is not None and not 1 <= frames <= optviz_cli.MAX_FRAMES:
        raise Bounds(f"frames={frames}")
    if fps is not None and not 1 <= fps <= 1000:
        raise Bounds(f"fps={fps}")
    if size is not None and not (
        optviz_cli.MIN_SIZE[0] <= size[0] <= optviz_cli.MAX_SIZE[0]
        and optviz_cli.MIN_SIZE[1] <= size[1] <= optviz_cli.MAX_SIZE[1]
    ):
        raise Bounds(f"size={size}")
    if view not in (None, "contour", "3d", "both"):
        raise Bounds(f"view={view!r}")
    return b"GIF89a"


@pytest.fixture(scope="module", autouse=True)
def stubs():
    import viz.gif

    served = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(viz.gif, "render_gif_bytes", fake_render)
        mp.setattr(dash.Dash, "run", lambda self, *a, **kw: served.append(kw))
        mp.delenv("HOST", raising=False)
        yield served


def _plant(work: str, outside: str) -> dict:
    """The hostile folder's contents: a FIFO, links to a file outside, a folder."""
    secret = os.path.join(outside, "secret")
    with open(secret, "w") as f:
        f.write("do not touch")
    os.mkfifo(os.path.join(work, "fifo.gif"))
    os.symlink(secret, os.path.join(work, "link.gif"))
    os.symlink(secret, os.path.join(work, "out.gif.part"))
    os.mkdir(os.path.join(work, "dir.gif"))
    return _snapshot(work, outside)


def _snapshot(work: str, outside: str) -> dict:
    seen = {}
    for name in PLANTED_OUT:
        st_ = os.lstat(os.path.join(work, name))
        target = (
            os.readlink(os.path.join(work, name))
            if os.path.islink(os.path.join(work, name))
            else None
        )
        seen[name] = (stat.S_IFMT(st_.st_mode), st_.st_ino, target)
    with open(os.path.join(outside, "secret")) as f:
        seen["secret"] = f.read()
    seen["dir.gif contents"] = os.listdir(os.path.join(work, "dir.gif"))
    return seen


def run_cli(argv: list[str]) -> tuple[int, str, str, list[str]]:
    """(status, stdout, stderr, files written) of ``optviz argv`` in a fresh directory,
    whose planted FIFO, symlinks and folder must come out as they went in."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="optviz-hostile-") as tmp:
        work, outside = os.path.join(tmp, "work"), os.path.join(tmp, "outside")
        os.mkdir(work)
        os.mkdir(outside)
        before = _plant(work, outside)
        os.chdir(work)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = optviz_cli.main(argv)
            written = sorted(set(os.listdir(work)) - set(PLANTED_OUT))
        finally:
            os.chdir(here)
        assert _snapshot(work, outside) == before, argv
    return status, out.getvalue(), err.getvalue(), written


def strict_json(text: str):
    def refuse(token):
        raise AssertionError(f"invalid JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


# ----------------------------------------------------------------------------- property


@HYPOTHESIS
@given(argv=argvs())
def test_hostile_arguments_exit_0_or_2_with_one_error_line(argv):
    status, out, err, written = run_cli(argv)
    event(f"{argv[0] if argv else '(none)'}: exit {status}")
    if "--link" in argv:
        event(f"with --link: exit {status}")
    assert status in (0, 2), (argv, status, err)
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    if status == 2:
        lines = err.splitlines()
        assert len(lines) == 1, (argv, err)
        assert lines[0].startswith("optviz: error: "), (argv, err)
        assert len(lines[0]) > len("optviz: error: "), argv
        assert out == "", (argv, out[:200])
        assert written == [], (argv, written)
        return
    # Success: --help prints usage and exits 0; otherwise well-formed output, no error.
    assert "error" not in err.lower(), (argv, err)
    if "-h" in argv or "--help" in argv:
        return
    if argv[0] == "trajectory" and "csv" not in argv:
        doc = strict_json(out)
        assert {"surface", "steps", "runs"} <= set(doc)
    elif argv[0] == "trajectory":
        assert out.splitlines()[0] == "optimizer,label,step,x,y,loss"


@settings(HYPOTHESIS, max_examples=80)
@given(host=texts, port=numbers, debug=st.booleans())
def test_serve_binds_only_what_was_asked(stubs, host, port, debug):
    stubs.clear()
    argv = ["serve", "--host", host, "--port", port] + (["--debug"] if debug else [])
    status, out, err, _ = run_cli(argv)
    assert status in (0, 2) and "Traceback" not in err
    if status == 0:
        assert len(stubs) == 1
        assert stubs[0]["host"] == host and stubs[0]["debug"] is debug
        assert 1 <= stubs[0]["port"] <= 65535
    else:
        assert stubs == [] and out == "" and len(err.splitlines()) == 1
