"""What the browser tests share: running JavaScript, polling it, typing, a free port."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys


def js(duo, script, *args):
    return duo.driver.execute_script(script, *args)


def wait(duo, script, timeout=60.0, *args, poll=0.1):
    """Poll a JS expression until it is truthy; return its value."""
    end = time.monotonic() + timeout
    value = None
    while time.monotonic() < end:
        value = js(duo, f"return ({script});", *args)
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for: {script} (last value {value!r})")


def until(check, timeout=120.0):
    """Call ``check()`` until it returns something truthy; return that. An element that
    React replaced between the check's find and read (stale) counts as not yet."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = check()
        except StaleElementReferenceException as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"condition not met (last {last!r})")


def set_props(duo, id_, props):
    """Set a component's props as Dash would (fires the callbacks that listen to them)."""
    js(duo, "window.dash_clientside.set_props(arguments[0], arguments[1]);", id_, props)


def element(duo, id_):
    """The element of a Dash id, a plain string or a pattern-matching dict."""
    sel = id_ if isinstance(id_, str) else json.dumps(id_, sort_keys=True, separators=(",", ":"))
    return duo.driver.find_element(By.CSS_SELECTOR, f"[id='{sel}']")


def type_into(duo, id_, text, enter=False):
    """Replace an input's text with ``text`` (and press Enter when asked)."""
    box = element(duo, id_)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    if text:
        box.send_keys(text)
    if enter:
        box.send_keys(Keys.ENTER)


def wait_file(folder: Path, timeout=60.0) -> Path:
    """The first file the browser finished downloading into ``folder`` (no ``.crdownload``
    left); ``AssertionError`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done = [p for p in folder.iterdir() if not p.name.endswith(".crdownload")]
        if done:
            time.sleep(0.2)  # let the rename settle
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no file downloaded into {folder}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settle(duo, quiet=1.0, timeout=30.0):
    """Wait until no Dash callback request has finished for ``quiet`` seconds (the page's
    follow-up callbacks are done), by the browser's resource timing entries."""
    count = (
        "return performance.getEntriesByType('resource')"
        ".filter((e) => e.name.indexOf('_dash-update-component') >= 0).length;"
    )
    end = time.monotonic() + timeout
    last, since = js(duo, count), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.1)
        now = js(duo, count)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise AssertionError(f"callback requests still finishing after {timeout} s")
