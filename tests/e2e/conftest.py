"""What the browser tests share, so that each does not pay for a Chromium and a server.

Starting headless Chromium and an app server took ~7-9 s of every browser test. Here
one Chromium serves the whole session and one app server every test that needs only the
default app; each test still gets a page of its own:

``chromium`` (session)
    One headless Chromium (dash.testing's ``DashComposite``, with tests/conftest.py's
    flags), restarted only if it stops answering. Tests take it through the fixtures below.
``app_server`` (session)
    ``create_app()`` served from a thread of this process (dash.testing's
    ``ThreadedRunner``, a free port, the default environment: its own private export
    cache). Its WSGI app counts the requests in flight, so that a test starts only once
    the requests of the test before have been answered.
``app_page`` (function)
    ``chromium`` on a new tab showing ``app_server``'s page, loaded fresh (Dash's entry
    point rendered): use it like dash.testing's ``dash_duo`` after ``start_server``
    (``.driver``, ``.server_url``, ``.get_logs()``, ``wait_for_*``). The window is
    ``window_size`` (override that fixture in a module for another size).
``app_tab`` (function)
    ``app_page`` before it is opened: a blank tab, the shared app's address in
    ``.app_url``, for a test that sets the tab up first (a viewport: tests/e2e/test_layout.py).
``own_server_page`` (function)
    ``chromium`` on a new tab and a ``ThreadedRunner`` of its own, not started: for a
    test that needs its own app (other environment variables, a server it stops), it
    calls ``own_server_page.start_server(create_app())`` as it would on ``dash_duo``;
    the server stops when the test ends.
``browser_tab`` (function)
    ``chromium`` on a new blank tab, no server: for a test that serves the app itself
    (gunicorn, an installed wheel) and navigates there.

``library_rules``, ``compiled_loops`` (session, automatic)
    Finds the picker's library rules (``viz.ui.library_picker``) once, and starts the
    compiled loops' builder thread, before any test server of this process runs: every
    page these servers serve lists the rules from the start (its timer stopped), and no
    dash.testing server, which kills the threads started while it ran when it stops, can
    end that search half-way or the builder. The page of a server still looking the rules
    up is tests/e2e/test_library_picker.py's (its own process).

What a test leaves behind does not reach the next one: each gets a new tab (the old ones
are closed, and with them any DevTools overrides such as a viewport or a script run on
every page), cookies and site storage cleared, the window back at ``window_size``, the
browser log drained, the downloads folder back to the session's. The HTTP cache is kept
(static scripts only: the page and its callbacks are not cached).
"""

from __future__ import annotations

import threading
import time

import pytest
from dash.testing.application_runners import ThreadedRunner
from dash.testing.composite import DashComposite
from selenium.common.exceptions import WebDriverException

from app import create_app
from optimizers import compiled
from tests.e2e.browser import free_port
from viz.ui import library_picker

QUIET_S = 60.0  # at most this long for the previous test's requests to be answered
LIBRARY_S = 300.0  # at most this long to find the library rules (seconds of CPU)


class _Counting:
    """A WSGI app that counts the requests it is answering (``busy``)."""

    def __init__(self, wsgi):
        self.wsgi, self.busy, self._lock = wsgi, 0, threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            self.busy += 1
        try:
            return self.wsgi(environ, start_response)
        finally:
            with self._lock:
                self.busy -= 1

    def wait_quiet(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while self.busy and time.monotonic() < end:
            time.sleep(0.05)


class _Runner(ThreadedRunner):
    """dash.testing's ``ThreadedRunner`` on a free port (other test runs share the
    machine) with time to start on a busy one."""

    def start(self, app, start_timeout=30, **kwargs):
        kwargs.setdefault("port", free_port())
        super().start(app, start_timeout=start_timeout, **kwargs)


class _Chromium:
    """The session's Chromium, started on first use and again if it stops answering."""

    def __init__(self, request, downloads: str):
        self._request, self.downloads, self.duo = request, downloads, None

    def _start(self) -> DashComposite:
        opt = self._request.config.getoption
        return DashComposite(
            server=None,
            browser=opt("webdriver"),
            remote=opt("remote"),
            remote_url=opt("remote_url"),
            headless=opt("headless"),
            options=self._request.config.hook.pytest_setup_options(),
            download_path=self.downloads,
            percy_assets_root=opt("percy_assets"),
            percy_finalize=opt("nopercyfinalize"),
            pause=opt("pause"),
        )

    def fresh(self, size: tuple[int, int], origin: str = "") -> DashComposite:
        """A new tab (every other one closed) on about:blank, with nothing kept (the
        site data of ``origin`` cleared too)."""
        if self.duo is not None:
            try:
                self._new_tab()
            except WebDriverException:  # crashed or hung: start another
                self.quit()
        if self.duo is None:
            self.duo = self._start()
        d = self.duo.driver
        d.execute_cdp_cmd("Network.clearBrowserCookies", {})
        if origin:
            d.execute_cdp_cmd(
                "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
            )
        d.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": self.downloads}
        )
        d.set_window_size(*size)
        d.get("about:blank")  # (a new tab opens on Chromium's own new-tab page)
        d.get_log("browser")  # drained: get_logs() answers this test's entries only
        self.duo.server = None
        return self.duo

    def _new_tab(self) -> None:
        d = self.duo.driver
        old = d.window_handles
        d.switch_to.new_window("tab")
        new = d.current_window_handle
        for handle in old:
            d.switch_to.window(handle)
            d.close()
        d.switch_to.window(new)
        d.execute_cdp_cmd("Page.bringToFront", {})  # shown: its animation frames run

    def quit(self) -> None:
        if self.duo is not None:
            self.duo.__exit__(None, None, None)
            self.duo = None


@pytest.fixture(scope="session")
def chromium(request, tmp_path_factory):
    """The session's one headless Chromium (see the module's docstring)."""
    browser = _Chromium(request, str(tmp_path_factory.mktemp("downloads")))
    yield browser
    browser.quit()


@pytest.fixture(scope="session", autouse=True)
def library_rules():
    """The picker's library rules, found before any test server of this process runs."""
    assert library_picker.find(timeout=LIBRARY_S) is not None, "library rules not found"


@pytest.fixture(scope="session", autouse=True)
def compiled_loops():
    """The compiled loops' builder thread, started (as ``optviz serve`` starts it) before
    any test server of this process runs: started by a request instead, it would be
    killed with the server that served it, and the loops asked after that never built."""
    compiled.warm()


@pytest.fixture(scope="session")
def app_server():
    """``create_app()`` served for the whole session from a thread of this process."""
    app = create_app()
    app.server.wsgi_app = _Counting(app.server.wsgi_app)
    with _Runner() as runner:
        runner.start(app)
        runner.requests = app.server.wsgi_app
        yield runner


@pytest.fixture
def window_size() -> tuple[int, int]:
    """The browser window of a test (tests/conftest.py's ``--window-size``)."""
    return (1280, 800)


@pytest.fixture
def app_tab(chromium, app_server, window_size):
    """A new tab of the session's Chromium, still blank, for the shared app: its address
    is ``.app_url``; the test sets the tab up (a viewport) and then opens it."""
    duo = chromium.fresh(window_size, origin=app_server.url)
    app_server.requests.wait_quiet(QUIET_S)
    duo.server, duo.app_url = app_server, app_server.url
    return duo


@pytest.fixture
def app_page(app_tab):
    """A new tab of the session's Chromium on the shared app's page, loaded fresh."""
    app_tab.server_url = app_tab.app_url  # navigates and waits for Dash's entry point
    return app_tab


@pytest.fixture
def own_server_page(chromium, window_size):
    """A new tab of the session's Chromium and a server of the test's own, not started."""
    duo = chromium.fresh(window_size)
    with _Runner() as runner:
        duo.server = runner
        yield duo


@pytest.fixture
def browser_tab(chromium, window_size):
    """A new blank tab of the session's Chromium, no server."""
    return chromium.fresh(window_size)
