"""What several sub-commands share: the two-channel ``--channels`` option, the printing of a
summary value, and the writing of a figure. Imports nothing heavy at import (``--help``)."""

from __future__ import annotations

import argparse
import functools
import math
from pathlib import Path
from typing import Any

__all__ = ["add_channel_pair", "channel_pair", "save_figure", "summary_cell", "use_agg"]


def add_channel_pair(parser: argparse.ArgumentParser) -> None:
    """``--channels A B``: the two channels of a pair analysis."""
    parser.add_argument(
        "--channels",
        nargs=2,
        metavar=("A", "B"),
        default=["0", "1"],
        help="the two channels, by name or index (default 0 1)",
    )


def channel_pair(args: argparse.Namespace, image: Any) -> tuple[list[int], list[str]]:
    """The indices and names of the two different channels ``--channels`` names in ``image``
    (a colocalize.Image; one without a C axis has the one channel "C0")."""
    from colocalize._validation import channel_index

    names = list(image.channel_names) or ["C0"]
    index = [channel_index(c, image.n_channels, names, name="--channels") for c in args.channels]
    if index[0] == index[1]:
        raise ValueError(
            f"--channels names the same channel twice ({args.channels[0]!r}, "
            f"{args.channels[1]!r}); give two different channels"
        )
    return index, [names[i] for i in index]


def summary_cell(value: object) -> str:
    """A summary value as printed: floats to 6 significant digits ("nan"), the rest as text."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def use_agg() -> None:
    """Draw without a display (before pyplot is first imported)."""
    import matplotlib

    matplotlib.use("Agg")


def save_figure(path: Path, figure: Any, *, format: str = "png") -> None:
    """Write ``figure`` to ``path`` atomically (150 dpi, cropped to its content), then close
    it."""
    import matplotlib.pyplot as plt

    from colocalize._output import write_atomic

    save = functools.partial(figure.savefig, format=format, dpi=150, bbox_inches="tight")
    write_atomic(path, writer=save)
    plt.close(figure)
