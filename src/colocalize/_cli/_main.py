"""The ``colocalize`` command line (also ``python -m colocalize``).

Each sub-command lives in its own module of this package with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (called with the parsed arguments, returning an exit code).
Only the module of the command being run is imported: the others appear in ``--help`` from
:data:`COMMANDS` alone, so ``--version`` and ``--help`` load neither numpy nor scipy.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Callable, Sequence

__all__ = ["COMMANDS", "HIDDEN_COMMANDS", "build_parser", "main"]

# (command, module that registers it, its one-line help as that module gives it), in --help order.
# tests/test_cli_startup.py checks this table against the modules' own parsers.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    (
        "coefficients",
        "colocalize._cli._coefficients",
        "colocalization coefficients of every channel pair of a TIFF image",
    ),
    (
        "demo",
        "colocalize._cli._coefficients",
        "the main job on the neuron-4Ch sample: tables and figures in --out",
    ),
    ("threshold", "colocalize._cli._threshold", "ImageJ's automatic threshold of each channel"),
    (
        "threshold-model",
        "colocalize._cli._threshold_model",
        "learn background thresholds from expert ranges (fit, predict, evaluate)",
    ),
    (
        "ccc",
        "colocalize._cli._ccc",
        "colocalization by cross correlation (distance between two labels)",
    ),
    (
        "objects",
        "colocalize._cli._puncta",
        "object-based colocalization of two channels (puncta)",
    ),
    (
        "ccf",
        "colocalize._cli._diagnostics",
        "Van Steensel's cross-correlation function (Pearson's r against an x shift)",
    ),
    (
        "ica",
        "colocalize._cli._diagnostics",
        "Li's intensity correlation analysis (ICA plots and ICQ)",
    ),
    ("segment-nuclei", "colocalize._cli._segment", "segment nuclei into a label image"),
    (
        "segment-cells",
        "colocalize._cli._segment",
        "segment cells or rod-shaped bacteria into a label image",
    ),
    ("cytoplasm-rings", "colocalize._cli._segment", "cytoplasm rings around labelled nuclei"),
    (
        "translocation",
        "colocalize._cli._segment",
        "nuclear/cytoplasmic reporter ratio per cell over time",
    ),
    (
        "batch",
        "colocalize._cli._batch",
        "measure every image of a folder tree; tables, summary and errors in --out",
    ),
    ("report", "colocalize._cli._batch", "self-contained HTML report of a finished batch"),
    (
        "imagej",
        "colocalize._cli._imagej",
        "start ImageJ/Fiji with colocalize's commands under Analyze > Colocalization",
    ),
    ("doctor", "colocalize._cli._imagej", "report Java, ImageJ/Fiji and PyImageJ status"),
    (
        "install-fiji",
        "colocalize._cli._imagej",
        "install colocalize's commands into a Fiji.app or ImageJ folder",
    ),
)


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``: its first word that is not an option (the top-level
    options, ``--version`` and ``--help``, take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


# Commands left out of --help because programs start them, not users: (command, module).
HIDDEN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("imagej-worker", "colocalize._cli._imagej"),  # the Python worker the ImageJ shim starts
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with the full sub-parser of ``command`` (and of the commands its module
    registers too; every command with ``command="all"``) and a help-only entry for the others."""
    from colocalize._version import __version__

    parser = argparse.ArgumentParser(
        prog="colocalize",
        description="Colocalization analysis for fluorescence microscopy.",
    )
    parser.add_argument("--version", action="version", version=f"colocalize {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = {module for name, module, _ in COMMANDS if command in (name, "all")}
    wanted |= {module for name, module in HIDDEN_COMMANDS if command in (name, "all")}
    for name, module, text in COMMANDS:
        if name in subparsers.choices:  # registered with an earlier command of its module
            continue
        if module in wanted:
            importlib.import_module(module).register(subparsers)
        else:
            subparsers.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input, with a one-line error)."""
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(_chosen_command(argv))
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning(args.command)
        try:
            return int(args.func(args) or 0)
        except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
            print(f"colocalize {args.command}: error: {exc}", file=sys.stderr)
            return 2


def _one_line_warning(command: str) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints ``colocalize COMMAND: warning: MESSAGE``: users see
    what happened, not the Python source line that warned."""

    def show(message: Warning | str, *args: object, **kwargs: object) -> None:
        print(f"colocalize {command}: warning: {message}", file=sys.stderr)

    return show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
