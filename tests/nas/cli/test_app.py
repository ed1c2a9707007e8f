"""The command skeleton's console: progress lines outlive a reader that went away."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow  # a fresh interpreter imports hydra and optuna
def test_progress_lines_to_a_closed_pipe_end_quietly():
    # The reader (here `head -c 1`; on a GPU lease, a benchmark parent killed by its time limit)
    # closes the pipe: the run finishes with status 0 and no traceback.
    script = "from nas.cli.app import console\np = console('x')\nfor _ in range(2000):\n    p.line('y' * 100)\n"
    writer = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert writer.stdout.read(1) == "y"
    writer.stdout.close()
    assert writer.wait(timeout=60) == 0
    assert writer.stderr.read() == ""
