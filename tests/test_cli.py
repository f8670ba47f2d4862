"""The command line's common behaviour: one-line errors and warnings for every sub-command."""

from __future__ import annotations

import numpy as np

from _faults import run_cli
from colocalize import write_image


def test_warnings_are_one_plain_line_naming_the_command(tmp_path):
    image = np.zeros((2, 16, 16), np.uint16)  # channel 0 is constant: a warning, not an error
    image[1] = np.arange(256, dtype=np.uint16).reshape(16, 16)
    path = tmp_path / "const.tif"
    write_image(path, image, axes="CYX")
    proc = run_cli("threshold", path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines, "expected a warning about the constant channel"
    assert all(line.startswith("colocalize threshold: warning: ") for line in lines), lines
    assert "constant" in proc.stderr
    assert ".py:" not in proc.stderr  # no Python file:line dump
