"""Running the ``optviz`` command in the test process, shared by the CLI test files."""

from __future__ import annotations

import optviz_cli


def cli(capsys, *argv):
    """(exit status, stdout, stderr) of ``optviz argv...`` run in this process."""
    status = optviz_cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err
