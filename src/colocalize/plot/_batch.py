"""Figures of a batch: the seed paper's histogram panel, coefficient strips, the summary table."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["coefficient_strips", "histogram_panel", "summary_table"]

_PERCENTILES = (10, 25, 50, 75, 90)


def _percentiles(counts: np.ndarray, centres: np.ndarray) -> list[float]:
    """The 10/25/50/75/90th percentiles of a marginal histogram (bin centres)."""
    total = counts.sum()
    if total == 0:
        return [float("nan")] * len(_PERCENTILES)
    cum = np.cumsum(counts) / total
    index = np.minimum(np.searchsorted(cum, np.array(_PERCENTILES) / 100), centres.size - 1)
    return [float(v) for v in centres[index]]


def _quick_box(ax: Any, values: list[float], *, vertical: bool) -> None:
    """Tufte's quick boxplot on an axis margin: thin 10-25 and 75-90, thick 25-75, gap at 50."""
    p10, p25, p50, p75, p90 = values
    if not np.isfinite(p50):
        return
    if vertical:
        transform, pos = ax.get_yaxis_transform(), -0.06

        def seg(a: float, b: float, **kw: Any) -> None:
            ax.plot([pos, pos], [a, b], transform=transform, clip_on=False, **kw)
    else:
        transform, pos = ax.get_xaxis_transform(), -0.06

        def seg(a: float, b: float, **kw: Any) -> None:
            ax.plot([a, b], [pos, pos], transform=transform, clip_on=False, **kw)

    seg(p10, p25, color="0.3", lw=0.8, solid_capstyle="butt")
    seg(p75, p90, color="0.3", lw=0.8, solid_capstyle="butt")
    seg(p25, p75, color="0.1", lw=2.5, solid_capstyle="butt")
    half = 0.006 * (ax.get_ylim()[1] if vertical else ax.get_xlim()[1])
    seg(p50 - half, p50 + half, color="white", lw=3.0, solid_capstyle="butt")


def histogram_panel(
    cells: Any,
    *,
    fig: Any = None,
    nbins: int = 64,
    max_images: int | None = None,
    cmap: str = "magma",
) -> Any:
    """The seed paper's Tufte-style panel of bivariate log-probability histograms.

    One row per channel pair, one column per condition (and per threshold source, side by side
    when the batch has several, e.g. manual and model). Each cell shows log10 of the fraction
    of the condition's pooled pixels in each bin, with zero-zero and saturated pixels removed,
    and quick boxplots of each channel on the margins (10th-25th and 75th-90th percentiles
    thin, 25th-75th thick, a white gap at the median).

    Parameters
    ----------
    cells : path, BatchResult or list of PanelCell
        A batch output folder (histograms are computed with ``nbins`` and ``max_images``), or
        cells from ``colocalize._batch._histograms.condition_histograms``.
    fig : matplotlib Figure, optional
        Where to draw (a new figure when None).
    nbins, max_images : int, optional
        Passed to the histogram computation when ``cells`` is a folder.
    cmap : str, optional
        Colour map of the log probabilities.

    Returns
    -------
    matplotlib Figure
        ``show()`` is never called.

    Examples
    --------
    >>> import numpy as np, colocalize
    >>> from colocalize._batch._histograms import PanelCell
    >>> a = np.arange(1, 200, dtype=np.uint8)
    >>> h = colocalize.bivariate_histogram(a, a[::-1])
    >>> cells = [PanelCell("red", "green", c, "none", h, 1) for c in ("t=5", "t=30")]
    >>> fig = histogram_panel(cells)
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['t=5', 't=30']
    """
    import matplotlib.pyplot as plt

    from colocalize._batch._histograms import condition_histograms

    if isinstance(cells, (str, os.PathLike)) or hasattr(cells, "provenance"):
        folder = cells.out if hasattr(cells, "out") else cells
        cells = condition_histograms(folder, nbins=nbins, max_images=max_images)
    cells = list(cells)
    if not cells:
        raise ValueError("no histograms to draw: the batch has no measured channel pair")
    pairs = list(dict.fromkeys((c.channel0, c.channel1) for c in cells))
    columns = list(dict.fromkeys((c.condition, c.threshold_source) for c in cells))
    sources = {c.threshold_source for c in cells}
    if fig is None:
        fig = plt.figure(figsize=(1.9 * len(columns) + 0.8, 1.9 * len(pairs) + 0.6))
    axes = fig.subplots(len(pairs), len(columns), squeeze=False)
    finite = [c.histogram.log_probability() for c in cells]
    values = np.concatenate([v[np.isfinite(v)] for v in finite])
    vmin, vmax = (float(values.min()), float(values.max())) if values.size else (-6.0, 0.0)
    mesh = None
    for cell, logp in zip(cells, finite):
        row = pairs.index((cell.channel0, cell.channel1))
        col = columns.index((cell.condition, cell.threshold_source))
        ax = axes[row, col]
        h = cell.histogram
        shown = np.where(np.isfinite(logp), logp, np.nan)
        mesh = ax.pcolormesh(
            h.edges0,
            h.edges1,
            shown.T,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            shading="flat",
            rasterized=True,
        )
        centres0 = 0.5 * (h.edges0[1:] + h.edges0[:-1])
        centres1 = 0.5 * (h.edges1[1:] + h.edges1[:-1])
        ax.set_xlim(h.edges0[0], h.edges0[-1])
        ax.set_ylim(h.edges1[0], h.edges1[-1])
        _quick_box(ax, _percentiles(h.counts.sum(axis=1), centres0), vertical=False)
        _quick_box(ax, _percentiles(h.counts.sum(axis=0), centres1), vertical=True)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_xticks([])
        ax.set_yticks([])
        if row == 0:
            title = cell.condition.replace(", ", "\n")
            if len(sources) > 1:
                title += f"\n{cell.threshold_source}"
            ax.set_title(title, fontsize=7)
        if col == 0:
            ax.set_ylabel(f"x: {cell.channel0}, y: {cell.channel1}", fontsize=7)
    for ax in axes.flat:
        if not ax.collections:
            ax.set_axis_off()
    if mesh is not None:
        fig.colorbar(mesh, ax=axes, label="log10 probability", shrink=0.8)
    return fig


def _metadata_fields(table: Any) -> list[str]:
    columns = list(table.columns)
    end = columns.index("threshold_source") if "threshold_source" in columns else len(columns)
    return [c for c in columns[:end] if c != "path"]


def _select(table: Any, pair: tuple[str, str] | None, source: str | None) -> tuple[Any, str, str]:
    rows = table[table["channel2"].fillna("") == ""] if "channel2" in table else table
    if rows.empty:
        raise ValueError("the table has no channel-pair rows")
    if pair is None:
        pair = (str(rows["channel0"].iloc[0]), str(rows["channel1"].iloc[0]))
    if source is None:
        source = str(rows["threshold_source"].iloc[0])
    chosen = rows[
        (rows["channel0"] == pair[0])
        & (rows["channel1"] == pair[1])
        & (rows["threshold_source"] == source)
    ]
    if chosen.empty:
        raise ValueError(
            f"no rows for pair {pair} with threshold source {source!r}; pairs are "
            f"{sorted(set(zip(rows['channel0'], rows['channel1'])))}, sources "
            f"{sorted(set(rows['threshold_source']))}"
        )
    return chosen, f"{pair[0]}-{pair[1]}", source


def coefficient_strips(
    table: Any,
    coefficient: str = "pearson",
    *,
    x: str | None = "time",
    replicate: str = "series",
    condition: Sequence[str] | None = None,
    pair: tuple[str, str] | None = None,
    threshold_source: str | None = None,
    ax: Any = None,
) -> Any:
    """Strip plot of a coefficient: one strip per condition, one point per series (Figure 3).

    Points are the mean over the images of each replicate series; strips are grouped along
    the x axis by ``x`` (e.g. treatment time) with one colour per condition, and a bar marks
    each strip's mean +/- standard error over its series.

    Parameters
    ----------
    table : pandas.DataFrame
        ``coefficients.csv`` of a batch (:meth:`BatchResult.read_coefficients`).
    coefficient : str, optional
        The column to plot (default ``"pearson"``).
    x : str or None, optional
        The metadata field along the x axis (default ``"time"``; None or absent: one group).
    replicate : str, optional
        The replicate field: one point per value (default ``"series"``; absent: one point per
        image).
    condition : sequence of str, optional
        Fields that make a strip's condition (default: every other metadata field).
    pair : (str, str), optional
        The channel pair (default the first in the table).
    threshold_source : str, optional
        The threshold source (default the first in the table).
    ax : matplotlib Axes, optional
        Where to draw (a new figure when None).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "path": list("abcd"), "organelle": "er", "time": [5, 5, 30, 30],
    ...     "series": [1, 2, 1, 2], "threshold_source": "none", "channel0": "red",
    ...     "channel1": "green", "channel2": "", "pearson": [0.1, 0.2, 0.5, 0.6]})
    >>> ax = coefficient_strips(table, "pearson")
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['5', '30']
    """
    import matplotlib.pyplot as plt

    rows, pair_label, source = _select(table, pair, threshold_source)
    fields = _metadata_fields(table)
    if coefficient not in rows.columns:
        raise ValueError(f"coefficient {coefficient!r} is not a column of the table")
    x_field = x if x in fields else None
    rep = replicate if replicate in fields else "path"
    cond_fields = (
        list(condition)
        if condition is not None
        else [f for f in fields if f not in (x_field, replicate)]
    )
    keys = [*cond_fields, *([x_field] if x_field else []), rep]
    points = rows.groupby(keys, sort=True, dropna=False)[coefficient].mean().reset_index()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.2))
    conditions = (
        list(dict.fromkeys(map(tuple, points[cond_fields].to_numpy().tolist())))
        if cond_fields
        else [()]
    )
    xs = sorted(points[x_field].unique()) if x_field else [None]
    width = 0.8 / max(len(conditions), 1)
    colours = plt.get_cmap("tab10")
    rng = np.random.default_rng(0)
    for ci, cond in enumerate(conditions):
        mask = np.ones(len(points), dtype=bool)
        for f, v in zip(cond_fields, cond):
            mask &= (points[f] == v).to_numpy()
        label = ", ".join(f"{f}={v}" for f, v in zip(cond_fields, cond)) or "all"
        labelled = False
        for xi, xv in enumerate(xs):
            sel = mask if x_field is None else mask & (points[x_field] == xv).to_numpy()
            values = points.loc[sel, coefficient].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            centre = xi - 0.4 + width * (ci + 0.5)
            jitter = rng.uniform(-0.15, 0.15, values.size) * width
            ax.plot(
                centre + jitter,
                values,
                "o",
                ms=3.5,
                color=colours(ci % 10),
                label=None if labelled else label,
                alpha=0.85,
            )
            labelled = True
            mean = values.mean()
            sem = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0.0
            ax.errorbar(centre + 0.3 * width, mean, yerr=sem, fmt="_", color="0.2", ms=8, lw=1)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels(["all" if v is None else str(v) for v in xs])
    ax.set_xlabel(x_field or "")
    ax.set_ylabel(f"{coefficient} ({pair_label}, {source})")
    if cond_fields:
        ax.legend(fontsize=7, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def summary_keys(summary: Any) -> list[str]:
    """The group columns of a batch summary (``channel2`` left out when no row has one)."""
    stats = ("_mean", "_sem", "_n")
    keys = [c for c in summary.columns if c != "n_images" and not c.endswith(stats)]
    return [k for k in keys if not (k == "channel2" and (summary[k].fillna("") == "").all())]


def mean_sem(mean: float, sem: float, digits: int) -> str:
    """``"mean ± sem"`` with ``digits`` decimals (``"NaN"`` mean, no ``± sem`` when NaN)."""
    text = f"{mean:.{digits}f}" if np.isfinite(mean) else "NaN"
    return text + (f" ± {sem:.{digits}f}" if np.isfinite(sem) else "")


def summary_table(
    summary: Any,
    *,
    coefficients: Sequence[str] = ("pearson", "overlap", "m1", "m2"),
    digits: int = 3,
    ax: Any = None,
) -> Any:
    """The batch summary (the seed paper's Table 1) as a figure: mean +/- SE (n) per cell.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``summary.csv`` of a batch (:meth:`BatchResult.read_summary`).
    coefficients : sequence of str, optional
        The coefficients to show (columns ``<coef>_mean``, ``_sem`` and ``_n``).
    digits : int, optional
        Decimals shown.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when None).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"time": [5], "threshold_source": "none", "channel0": "red",
    ...     "channel1": "green", "channel2": "", "n_images": [3], "pearson_mean": [0.5],
    ...     "pearson_sem": [0.05], "pearson_n": [3]})
    >>> ax = summary_table(summary, coefficients=["pearson"])
    >>> ax.tables[0][1, 4].get_text().get_text()
    '0.500 ± 0.050 (3)'
    """
    import matplotlib.pyplot as plt

    missing = [c for c in coefficients if f"{c}_mean" not in summary.columns]
    if missing:
        raise ValueError(f"the summary has no columns for {missing}")
    keys = summary_keys(summary)
    header = [*keys, *coefficients]
    cells = []
    for _, row in summary.iterrows():
        line = ["" if str(row[k]) == "nan" else str(row[k]) for k in keys]
        for c in coefficients:
            text = mean_sem(row[f"{c}_mean"], row[f"{c}_sem"], digits)
            line.append(f"{text} ({int(row[f'{c}_n'])})")
        cells.append(line)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.3 * len(header) + 1, 0.25 * len(cells) + 0.8))
    ax.set_axis_off()
    table = ax.table(
        cellText=cells or [[""] * len(header)], colLabels=header, loc="center", cellLoc="center"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.auto_set_column_width(list(range(len(header))))
    for (r, _), cell in table.get_celld().items():
        cell.set_edgecolor("0.85" if r else "0.4")
        cell.set_linewidth(0.4)
    ax.set_title("mean ± standard error (n)", fontsize=8)
    return ax
