"""Shared test set-up: headless Debian Chromium for dash.testing's browser fixtures."""

from __future__ import annotations

import shutil
import tempfile

from selenium.webdriver.chrome.options import Options

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--window-size=1280,800",
)


def pytest_setup_options():
    """dash.testing hook: the Chrome options for every browser fixture (dash_duo, dash_br)."""
    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='optviz-chromium-')}")
    return options
