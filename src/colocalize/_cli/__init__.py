"""The ``colocalize`` command line: :func:`main` (the ``colocalize`` entry point) and its tables."""

from colocalize._cli._main import COMMANDS, HIDDEN_COMMANDS, build_parser, main

__all__ = ["COMMANDS", "HIDDEN_COMMANDS", "build_parser", "main"]
