"""Start-up cost of the command line (issue 14, item 3): ``colocalize --version`` and ``--help``
import neither numpy, scipy, pandas nor tifffile; a one-shot ``colocalize coefficients`` imports
only numpy and tifffile (its text and CSV equal pandas' to_string and to_csv); the lazy command
table and the lazy package namespace stay in step with what they stand for.

The checks look at ``sys.modules`` in a fresh interpreter, not at wall time, so they cannot fail
because the machine is busy (``scripts/bench_cli.py`` measures the time).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import colocalize
from _faults import run_cli, run_python
from colocalize._cli import _main as _cli
from colocalize._cli._coefficients import format_table, write_csv
from colocalize._table import table_rows

HEAVY = ("numpy", "scipy", "pandas", "tifffile", "matplotlib", "skimage", "numba", "dask")


def _modules_loaded_by(argv: list[str]) -> dict:
    """Run the CLI's ``main(argv)`` in a fresh interpreter; its output, exit status and which of
    the heavy modules it imported."""
    code = (
        "import json, sys, contextlib, io\n"
        "from colocalize._cli._main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        f"        status = main({argv!r})\n"
        "    except SystemExit as exc:\n"
        "        status = exc.code\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'status': status, 'out': out.getvalue(), 'heavy': heavy}))\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["coefficients", "--help"], ["ccc", "--help"]],
    ids=" ".join,
)
def test_version_and_help_import_no_heavy_module(argv):
    run = _modules_loaded_by(argv)
    assert run["status"] == 0
    assert run["heavy"] == []
    if argv == ["--version"]:
        assert run["out"].strip() == f"colocalize {colocalize.__version__}"
    else:
        assert run["out"].startswith("usage: colocalize")


def test_import_colocalize_imports_no_heavy_module():
    proc = run_python(f"import sys, colocalize; print([m for m in {HEAVY!r} if m in sys.modules])")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_command_table_matches_what_the_modules_register():
    # names, order and one-line help of the lazy table equal the modules' own parsers
    registered = []
    for module in dict.fromkeys(module for _, module, _ in _cli.COMMANDS):
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).register(sub)
        registered += [(a.dest, module, a.help) for a in sub._choices_actions]
    assert list(_cli.COMMANDS) == registered


@pytest.mark.parametrize("command", [name for name, _, _ in _cli.COMMANDS])
def test_each_command_gets_its_full_parser(command):
    choices = _subparsers(_cli.build_parser(command)).choices
    hidden = {name for name, _ in _cli.HIDDEN_COMMANDS}
    listed = [name for name in choices if name not in hidden]
    assert listed == [name for name, _, _ in _cli.COMMANDS]  # --help order kept
    assert choices[command]._actions  # options, at least --help
    others = [name for name, module, _ in _cli.COMMANDS if module != _module_of(command)]
    assert not any(choices[name]._actions for name in others)  # help-only entries


def _module_of(command: str) -> str:
    return next(module for name, module, _ in _cli.COMMANDS if name == command)


def test_chosen_command_skips_top_level_options():
    assert _cli._chosen_command(["--version"]) is None
    assert _cli._chosen_command(["-h", "ccc", "a.tif"]) == "ccc"
    assert _cli._chosen_command(["ccc", "--max-distance", "3"]) == "ccc"


def test_lazy_names_are_the_public_api_and_resolve():
    names = set(colocalize.__all__) - {"__version__"} | {"data"}  # data: a public submodule
    assert set(colocalize._LAZY) == names
    for name in sorted(names):
        value = getattr(colocalize, name)
        if name == "data":
            assert value is importlib.import_module("colocalize.data")
        else:
            assert value is getattr(importlib.import_module(colocalize._LAZY[name]), name)
    assert names <= set(dir(colocalize))
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        colocalize.no_such_name  # noqa: B018


def test_package_docstring_lists_every_public_name_once_in_a_section():
    # as scipy.ndimage: the package docstring groups the public API in sections
    listed: list[str] = []
    for line in (colocalize.__doc__ or "").splitlines():
        if line.startswith("- "):
            listed += re.findall(r"[A-Za-z_]\w*", line[2:].split(" -- ")[0])
        elif line.startswith("  ") and listed and " -- " in line:
            listed += re.findall(r"[A-Za-z_]\w*", line.split(" -- ")[0])
    public = set(colocalize.__all__) - {"__version__"}
    assert sorted(listed) == sorted(public)


def test_type_checking_imports_match_the_lazy_table():
    # the `if TYPE_CHECKING:` imports (what mypy sees) name the same modules as _LAZY
    tree = ast.parse(Path(colocalize.__file__).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If))
    seen = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            seen[alias.asname or alias.name] = (
                f"{node.module}.{alias.name}" if node.module == "colocalize" else node.module
            )
    assert seen == colocalize._LAZY


@pytest.mark.parametrize(("command", "module"), _cli.HIDDEN_COMMANDS)
def test_hidden_commands_run_but_stay_out_of_help(command, module):
    choices = _subparsers(_cli.build_parser(command)).choices
    assert choices[command]._actions  # its full parser: programs can start it
    proc = run_cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert command not in run_cli("--help").stdout


# ---------------------------------------------------------------- one-shot coefficients


@pytest.fixture(scope="module")
def two_channel_tiff(tmp_path_factory) -> Path:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4000, (64, 64), dtype=np.uint16)
    b = (a // 2 + rng.integers(0, 2000, (64, 64))).astype(np.uint16)
    path = tmp_path_factory.mktemp("oneshot") / "two.tif"
    colocalize.write_image(path, np.stack([a, b]), axes="CYX", channel_names=["a", "b"])
    return path


@pytest.mark.parametrize("output", [[], ["--csv"], ["--triples"], ["--measures", "pearson"]])
def test_one_shot_coefficients_imports_only_numpy_and_tifffile(two_channel_tiff, output):
    # pandas (an optional extra) was imported to print the table: 0.13-0.2 s and 40 MB of a
    # one-shot run; scipy, numba, matplotlib are not needed for this image either
    run = _modules_loaded_by(["coefficients", str(two_channel_tiff), *output])
    assert run["status"] == 0
    assert run["heavy"] == ["numpy", "tifffile"]
    assert "pearson" in run["out"]


@pytest.mark.parametrize("size", [128, 1024])
def test_one_shot_ranks_of_many_levels_import_only_numpy_and_tifffile(tmp_path, size):
    # 16-bit channels with more value pairs than the dense table holds: Kendall's tau-b loaded
    # SciPy (small images) or numba (1024x1024: 0.5 s and 65 MB of a one-shot run, the issue's
    # file); now numpy's packed keys
    rng = np.random.default_rng(5)
    a = rng.integers(0, 65536, (size, size), dtype=np.uint16)
    b = (a // 2 + rng.integers(0, 30000, a.shape)).astype(np.uint16)
    path = tmp_path / "two.tif"
    colocalize.write_image(path, np.stack([a, b]), axes="CYX", channel_names=["a", "b"])
    run = _modules_loaded_by(["coefficients", str(path), "--measures", "spearman", "kendall"])
    assert run["status"] == 0
    assert run["heavy"] == ["numpy", "tifffile"]
    assert "kendall_tau" in run["out"]


def _pandas_text(table) -> str:
    """The terminal table as pandas renders it (what ``colocalize coefficients`` printed before
    it stopped importing pandas)."""
    pairs = table[table["channel2"] == ""]
    lead = ["label"] if "label" in table.columns else []
    columns = [
        "channel0",
        "channel1",
        "pearson",
        "spearman",
        "kendall_tau",
        "icq",
        "overlap",
        "m1",
        "m2",
        "tm1",
        "tm2",
        "n_pixels",
    ]
    text = pairs[lead + columns].to_string(index=False, float_format="{:.3f}".format)
    triples = table[table["channel2"] != ""]
    if len(triples):
        columns = [
            "channel0",
            "channel1",
            "channel2",
            "triple_m0",
            "triple_m1",
            "triple_m2",
            "triple_fraction_colocalized",
            "triple_overlap",
        ]
        text += "\n\nTriples\n" + triples[lead + columns].rename(
            columns=lambda c: c.replace("triple_", "")
        ).to_string(index=False, float_format="{:.3f}".format)
    return text


def _image(seed: int, n_channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 200, (24, 24))
    signs = [1, -1, 1][:n_channels]
    return np.stack(
        [np.clip(s * base + rng.integers(0, 300, (24, 24)), 0, None) for s in signs]
    ).astype(np.uint16)


TABLE_CASES = {
    "pairs": {},
    "triples, thresholds": {"triples": True, "thresholds": [40.0, 50.0, 60.0]},
    "labels": {"labels": np.repeat(np.arange(4), 144).reshape(24, 24)},
    "labels and triples": {"labels": np.repeat(np.arange(3), 192).reshape(24, 24), "triples": True},
    "subset of measures": {"measures": ("pearson", "manders")},
    "odd names": {"channel_names": ["tab\there", 'comma, "quote"', "x" * 60]},
    "empty mask": {"mask": np.zeros((24, 24), bool)},
}


@pytest.mark.filterwarnings("ignore::colocalize.ColocalizeWarning")
@pytest.mark.parametrize("case", TABLE_CASES)
def test_text_and_csv_equal_pandas(case):
    found = table_rows(_image(len(case)), channel_axis=0, **TABLE_CASES[case])
    table = found.frame()
    assert format_table(found.rows, found.columns) == _pandas_text(table)
    # the demo formats its DataFrame's records
    assert format_table(table.to_dict(orient="records"), list(table.columns)) == _pandas_text(table)
    stream = io.StringIO()
    write_csv(stream, found.columns, found.rows)
    assert stream.getvalue() == table.to_csv(index=False)


@pytest.mark.filterwarnings("ignore::colocalize.ColocalizeWarning")
def test_text_of_a_label_image_without_objects_equals_pandas():
    found = table_rows(_image(1), channel_axis=0, labels=np.zeros((24, 24), int))
    assert found.rows == []
    assert format_table(found.rows, found.columns) == _pandas_text(found.frame())


def test_csv_floats_equal_pandas():
    # every magnitude, sign, NaN, and integers with missing values (Int64)
    rng = np.random.default_rng(0)
    values = rng.standard_normal(400) * 10.0 ** rng.integers(-320, 300, 400)
    values[::7] = math.nan
    values[1] = -0.0
    rows = [
        {"name": f"r{i}", "x": float(v), "n": None if i % 5 == 0 else i}
        for i, v in enumerate(values)
    ]
    stream = io.StringIO()
    write_csv(stream, ["name", "x", "n"], rows)
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(rows, columns=["name", "x", "n"]).astype({"n": "Int64"})
    assert stream.getvalue() == frame.to_csv(index=False)
