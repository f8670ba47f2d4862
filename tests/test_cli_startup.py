"""Start-up cost of the command line (issue 14, item 3): ``colocalize --version`` and ``--help``
import neither numpy, scipy, pandas nor tifffile; the lazy command table and the lazy package
namespace stay in step with what they stand for.

The checks look at ``sys.modules`` in a fresh interpreter, not at wall time, so they cannot fail
because the machine is busy (``scripts/bench_cli.py`` measures the time).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
from pathlib import Path

import pytest

import colocalize
from _faults import run_cli, run_python
from colocalize import _cli

HEAVY = ("numpy", "scipy", "pandas", "tifffile", "matplotlib", "skimage")


def _modules_loaded_by(argv: list[str]) -> dict:
    """Run the CLI's ``main(argv)`` in a fresh interpreter; its output, exit status and which of
    the heavy modules it imported."""
    code = (
        "import json, sys, contextlib, io\n"
        "from colocalize._cli import main\n"
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
