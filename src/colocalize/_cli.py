"""The ``colocalize`` command line (also ``python -m colocalize``).

Each sub-command lives in its own ``_cli_*.py`` module with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (called with the parsed arguments, returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

COMMAND_MODULES: tuple[str, ...] = (
    "colocalize._cli_coefficients",
    "colocalize._cli_threshold",
    "colocalize._cli_threshold_model",
    "colocalize._cli_ccc",
    "colocalize._cli_segment",
    "colocalize._cli_batch",
    "colocalize._cli_imagej",
    "colocalize._cli_puncta",
)


def build_parser() -> argparse.ArgumentParser:
    from colocalize import __version__

    parser = argparse.ArgumentParser(
        prog="colocalize",
        description="Colocalization analysis for fluorescence microscopy.",
    )
    parser.add_argument("--version", action="version", version=f"colocalize {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input, with a one-line error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
        print(f"colocalize {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
