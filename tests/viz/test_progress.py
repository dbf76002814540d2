"""viz.ui.progress: an analysis's budget reports reach the page that asked, through the
app's private cache, and nothing a page sends can make them fail or cross pages."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from optimizers.budget import Budget
from surfaces import SURFACES
from viz.ui import jobs, progress
from viz.ui.callbacks import Settings, compute
from viz.ui.panels import tune

PAGE, OTHER = "0f" * 16, "a1" * 16  # two pages' ids (uuid4().hex in the app)


@pytest.fixture
def board(tmp_path, monkeypatch):
    """The board of a fresh private cache, as the app's manager holds it."""
    manager = jobs.make_manager(str(tmp_path / "cache"))
    monkeypatch.setattr(progress, "_BOARD", progress.board_of(manager.handle))
    yield manager.handle
    manager.handle.close()


def test_a_report_reaches_its_page_and_panel_only(board):
    report = progress.reporter(PAGE, "phase")
    assert progress.read(PAGE, ["phase"]) == {"phase": {"f": 0.0, "s": 0.0, "done": False}}
    report(0.4237, 1.234)
    assert progress.read(PAGE, ["phase", "tune"]) == {
        "phase": {"f": 0.4237, "s": 1.23, "done": False}
    }
    assert progress.read(OTHER, ["phase"]) == {}
    report.finish(2.5)
    assert progress.read(PAGE, ["phase"]) == {"phase": {"f": 1.0, "s": 2.5, "done": True}}
    # the next request of the panel starts a fresh record: the last "done" is gone
    progress.reporter(PAGE, "phase")
    assert progress.read(PAGE, ["phase"])["phase"]["done"] is False


def test_the_reports_are_as_private_as_the_cache(board):
    progress.reporter(PAGE, "tune")(0.5, 1.0)
    folder = Path(board.directory)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for f in folder.glob("cache.db*"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


@pytest.mark.parametrize(
    "page", [None, 5, "", "../../etc", PAGE.upper(), PAGE + "0", PAGE[:-1], {"a": 1}, [PAGE]]
)
def test_a_page_id_that_is_not_one_reads_and_writes_nothing(board, page):
    assert progress.reporter(page, "tune") is None
    assert progress.read(page, ["tune"]) == {}
    assert progress.ask({"panels": ["tune"], "t": 5}, page) == {"t": 5, "panels": {}}


@pytest.mark.parametrize(
    "request_",
    [None, 5, "x", [], {}, {"panels": "tune"}, {"panels": [None, 5, "nope"]}, {"t": "x"}],
)
def test_any_ask_gets_an_answer_and_nothing_else(board, request_):
    progress.reporter(PAGE, "tune")(0.5, 1.0)
    answer = progress.ask(request_, PAGE)
    assert set(answer) == {"t", "panels"} and answer["panels"] == {}
    assert progress.reporter(PAGE, "no such panel") is None


def test_a_board_that_fails_never_stops_the_analysis(monkeypatch, caplog):
    class Broken:
        def put(self, key, text):
            raise OSError("disk full")

        def get(self, key):
            raise OSError("disk gone")

    monkeypatch.setattr(progress, "_BOARD", Broken())
    report = progress.reporter(PAGE, "tune")
    report(0.5, 1.0)
    report.finish(1.0)
    assert progress.read(PAGE, ["tune"]) == {}
    assert "progress not written (OSError: disk full)" in caplog.text


def test_the_tune_panel_reports_while_it_runs_and_says_done_at_the_end(board, monkeypatch):
    monkeypatch.setattr("optimizers.budget.REPORT_EVERY", 0.0)
    seen = []
    real = progress.Reporter.__call__
    monkeypatch.setattr(
        progress.Reporter, "__call__", lambda self, f, s: (seen.append(f), real(self, f, s))
    )
    state = tune_state()
    with progress.request_budget("tune", PAGE) as budget:
        assert isinstance(budget, Budget) and budget.report is not None
        body, msg, *_ = tune.compute_tune(state, "final", "8", "1", "", budget=budget)
    assert msg == "" and body
    assert len(seen) > 3 and seen == sorted(seen) and 0 < seen[-1] <= 1
    assert progress.read(PAGE, ["tune"])["tune"]["done"] is True
    # a request that fails says "done" all the same
    with pytest.raises(RuntimeError), progress.request_budget("tune", PAGE):
        progress.reporter(PAGE, "tune")  # the record starts afresh …
        raise RuntimeError("a bug")
    assert progress.read(PAGE, ["tune"])["tune"]["done"] is True  # … and ends


def tune_state() -> dict:
    """The page's scene store for Beale with SGD and Adam, as the sidebar computes it."""
    s = SURFACES["beale"]
    out = compute(Settings("beale", ["sgd", "adam"], "150", str(s.start[0]), str(s.start[1])))
    assert out.ok, out.messages
    return out.state
