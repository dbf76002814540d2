"""The test run's warnings: the browser-test stack's known ones are filtered by their exact
text (pyproject's filterwarnings), so that any other warning stands out in the summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KNOWN = [
    (
        "HTTPResponse.getheader() is deprecated and will be removed in urllib3 v2.1.0. "
        "Instead use HTTPResponse.headers.get(name, default).",
        "DeprecationWarning",
    ),
    (
        "'urllib3[secure]' extra is deprecated and will be removed in a future release of "
        "urllib3 2.x. Read more in this issue: https://github.com/urllib3/urllib3/issues/2680",
        "DeprecationWarning",
    ),
]


def run_pytest(tmp_path, body: str) -> str:
    test = tmp_path / "test_emits.py"
    test.write_text("import warnings\n\n\ndef test_emits():\n" + body)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "-q", str(test)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_the_known_warnings_are_filtered_by_their_text(tmp_path):
    body = "".join(f"    warnings.warn({text!r}, {cat})\n" for text, cat in KNOWN)
    out = run_pytest(tmp_path, body)
    assert "warnings summary" not in out and "1 passed" in out, out


def test_a_new_warning_still_stands_out(tmp_path):
    body = "    warnings.warn('something new is deprecated', DeprecationWarning)\n"
    out = run_pytest(tmp_path, body)
    assert "warnings summary" in out and "something new is deprecated" in out, out
