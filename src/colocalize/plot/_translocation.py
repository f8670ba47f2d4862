"""Time courses of a translocation reporter, one line per cell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["translocation"]

_YLABELS = {
    "ratio": "cytoplasm / nucleus",
    "nuclear_mean": "nuclear mean intensity",
    "cytoplasm_mean": "cytoplasmic mean intensity",
    "pearson": "Pearson's r (reporter vs nuclear marker)",
}


def translocation(
    table: Any,
    ax: Any = None,
    *,
    value: str = "ratio",
    cells: Sequence[int] | None = None,
    median: bool = True,
    frame_interval: float | None = None,
    time_unit: str = "",
) -> Any:
    """Draw a per-cell time course from a :func:`colocalize.translocation` table.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`colocalize.translocation`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when None).
    value : {"ratio", "nuclear_mean", "cytoplasm_mean", "pearson"}
        The column to plot (default the cytoplasmic-to-nuclear ratio).
    cells : sequence of int, optional
        Cell (track) numbers to draw; default all.
    median : bool
        Also draw the median over the drawn cells per frame (a thick black line).
    frame_interval : float, optional
        Time between frames; the x axis is then time, else the frame number.
    time_unit : str
        Unit of ``frame_interval`` for the axis label.

    Returns
    -------
    matplotlib Axes
        The axes drawn on (``show()`` is never called). Lines are in cell order, the median last.

    Examples
    --------
    >>> import pandas as pd
    >>> from colocalize import plot
    >>> table = pd.DataFrame({"frame": [0, 1, 0, 1], "cell": [1, 1, 2, 2],
    ...                       "ratio": [0.5, 1.0, 0.4, 0.6]})
    >>> ax = plot.translocation(table)
    >>> len(ax.get_lines()), ax.get_xlabel()
    (3, 'frame')
    """
    import matplotlib.pyplot as plt

    if value not in _YLABELS:
        raise ValueError(f"value must be one of {list(_YLABELS)}, got {value!r}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    chosen = table if cells is None else table[table["cell"].isin(list(cells))]
    scale = 1.0 if frame_interval is None else float(frame_interval)
    for cell, rows in chosen.sort_values(["cell", "frame"]).groupby("cell", sort=True):
        ax.plot(rows["frame"] * scale, rows[value], lw=0.8, alpha=0.6, label=f"cell {cell}")
    if median and len(chosen):
        per_frame = chosen.groupby("frame")[value].median()
        ax.plot(
            np.asarray(per_frame.index) * scale,
            per_frame.to_numpy(),
            color="k",
            lw=2.0,
            label="median",
        )
    if frame_interval is None:
        ax.set_xlabel("frame")
    else:
        ax.set_xlabel(f"time ({time_unit})" if time_unit else "time")
    ax.set_ylabel(_YLABELS[value])
    return ax
