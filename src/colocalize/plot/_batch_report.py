"""A self-contained HTML report of a finished batch: tables and figures in one file."""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["write_report"]

_GENERATOR = "<meta name='generator' content='colocalize report'>"
_STRIPS = ("pearson", "m1", "m2")
_SHOWN = ("pearson", "spearman", "overlap", "m1", "m2", "tm1", "tm2")
_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1.5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .err { color: #a00; } code { background: #f4f4f4; }
"""


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _formatted_summary(summary: Any) -> Any:
    import pandas as pd

    from colocalize.plot._batch import mean_sem, summary_keys

    out = summary[[*summary_keys(summary), "n_images"]].copy()
    for c in _SHOWN:
        if f"{c}_mean" not in summary.columns:
            continue
        cells = [mean_sem(m, s, 3) for m, s in zip(summary[f"{c}_mean"], summary[f"{c}_sem"])]
        out[c] = pd.Series(cells, index=summary.index)
    return out


def write_report(
    out: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    histograms: bool = True,
    nbins: int = 64,
    max_images: int | None = None,
) -> Path:
    """Write a self-contained HTML report of a :func:`colocalize.batch` output folder.

    The report holds the run's provenance and counts, the errors, the summary table (mean
    +/- standard error per condition, and the full table), coefficient strip plots (one point
    per replicate series, grouped by time) for every channel pair and threshold source, and the
    panel of pooled bivariate log-probability histograms (which reads the images again).
    Figures are embedded as PNG, so the file can be mailed or archived alone.

    Parameters
    ----------
    out : path
        The batch output folder.
    output : path, optional
        The HTML file to write (default ``out/report.html``). Never one of the report's inputs
        (the batch's tables, its images); an existing file only with ``overwrite`` or when it
        is a report written by this function.
    overwrite : bool, optional
        Replace an existing ``output`` that is not an input (default False).
    histograms : bool, optional
        Include the histogram panel (default True; False skips re-reading the images).
    nbins, max_images : int, optional
        Bins per channel (2 to 1024) and images per condition of the histogram panel.

    Returns
    -------
    Path
        The report file.

    Raises
    ------
    FileNotFoundError
        ``out`` is not a finished batch folder.
    ValueError
        Bad ``nbins``, ``max_images`` or ``output``, or the folder's files are not the ones
        its batch run committed (changed, truncated, or an interrupted run).
    """
    from matplotlib.figure import Figure

    from colocalize._batch._histograms import check_histogram_options, read_batch_folder
    from colocalize._output import check_output, write_atomic
    from colocalize.plot._batch import coefficient_strips, histogram_panel

    check_histogram_options(nbins, max_images)
    folder = Path(out)
    prov, table, summary, errors, inputs = read_batch_folder(folder)
    target = Path(output) if output is not None else folder / "report.html"
    check_output(target, inputs=inputs, overwrite=overwrite or _is_report(target), name="--output")
    params = prov.get("parameters", {})
    counts = prov.get("counts", {})
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>{_GENERATOR}",
        f"<title>colocalize batch report: {html.escape(str(params.get('root', '')))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Colocalization batch report</h1>",
        f"<p>colocalize {html.escape(str(prov.get('version')))}, run "
        f"{html.escape(str(prov.get('run_id')))} from {html.escape(str(prov.get('started')))}"
        f" to {html.escape(str(prov.get('finished')))}"
        f" ({prov.get('seconds')} s). Root <code>{html.escape(str(params.get('root')))}</code>"
        f", pattern <code>{html.escape(str(params.get('pattern')))}</code>.</p>",
        f"<p>{counts.get('n_images', 0)} images: {counts.get('n_computed', 0)} measured, "
        f"{counts.get('n_resumed', 0)} resumed, <span class='err'>{counts.get('n_failed', 0)}"
        f" failed</span>; {counts.get('n_rows', 0)} rows.</p>",
        "<details><summary>Parameters</summary><pre>"
        + html.escape(json.dumps(params, indent=1))
        + "</pre></details>",
    ]
    if prov.get("removed"):
        gone = ", ".join(f"{r['path']} ({r['reason']})" for r in prov["removed"])
        parts.append(
            f"<p class='err'>Inputs of the previous run missing from this one: "
            f"{html.escape(gone)}</p>"
        )
    if len(errors):
        parts += ["<h2>Errors</h2>", errors.to_html(index=False, escape=True)]
    parts += [
        "<h2>Summary (mean ± standard error)</h2>",
        _formatted_summary(summary).to_html(index=False, escape=True, na_rep=""),
    ]
    pair_rows = table[table["channel2"] == ""]
    if len(pair_rows):
        parts.append("<h2>Coefficients per series</h2>")
        pairs = list(dict.fromkeys(zip(pair_rows["channel0"], pair_rows["channel1"])))
        for source in dict.fromkeys(pair_rows["threshold_source"]):
            parts.append(f"<h3>Threshold source: {html.escape(str(source))}</h3>")
            fig = Figure(figsize=(4.2 * len(_STRIPS), 2.8 * len(pairs)))
            axes = fig.subplots(len(pairs), len(_STRIPS), squeeze=False)
            for row, pair in enumerate(pairs):
                for col, coefficient in enumerate(_STRIPS):
                    coefficient_strips(
                        table, coefficient, pair=pair, threshold_source=source, ax=axes[row, col]
                    )
            fig.tight_layout()
            parts.append(_png(fig))
    if histograms and len(pair_rows):
        parts.append("<h2>Bivariate histograms per condition</h2>")
        try:
            fig = histogram_panel(folder, fig=Figure(), nbins=nbins, max_images=max_images)
            n_rows, n_cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
            fig.set_size_inches(1.9 * n_cols + 1.2, 1.9 * n_rows + 0.8)
            parts.append(_png(fig))
        except (OSError, ValueError) as exc:
            parts.append(f"<p class='err'>Histograms unavailable: {html.escape(str(exc))}</p>")
    parts += [
        "<h2>All summary columns</h2><details><summary>show</summary>",
        summary.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep=""),
        "</details></body></html>",
    ]
    write_atomic(target, "\n".join(parts))
    return target


def _is_report(path: Path) -> bool:
    """True when ``path`` is a report written by :func:`write_report` (which may replace it)."""
    try:
        with open(path, "rb") as fh:
            return _GENERATOR.encode() in fh.read(512)
    except OSError:
        return False
